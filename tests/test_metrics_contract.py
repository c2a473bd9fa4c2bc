"""The metrics contract on the hand-worked tiny package (tests/data/tiny).

Worked by hand. Tie network edges (all waves pooled, self-ties and unmatched names dropped):
  A-B (pre, reported both ways), A-C (post, by the name 'cy  park'), B-D (post), C-T (pre),
  E-F (post, by the name 'Fay   Moss'); 'ana NUNEZ' resolves to A herself (self-tie, dropped);
  'Zed Unknown' matches no one. People: A B C D E F G K T = 9 nodes, 5 edges.
Race: A Latino, B Black, C Asian, D White, E Black, F White, T White -> all 5 edges cross: share 1.0, E-I 1.0.
Income: A low, B low, C high, D high, E (none), F low, T middle -> 4 described edges, A-B same,
  A-C, B-D, C-T cross: share 3/4, E-I (3-1)/4 = 0.5.
Waves: pre = A-B, C-T (race 2/2 cross, class 1/2); post = A-C, B-D, E-F (race 3/3, class 2/2, E-F undescribed).
Isolated parents: G (K is a child, T a teacher).
Funnel: enrolled A B C D E = 5; graduated A B D = 3; appointed: A (2022-06-10 -> 2022-09-08, 90 days),
  D (2023-06-10 -> 2023-12-07, 180 days); B's seat began before graduating -> 2.
Median days to a seat, Kaplan-Meier: B (graduated 2022-06-10, no seat since) is censored at the latest date
  in the package, 2023-12-07 (D's seat start): 545 days. Ordered times 90 (A, seat), 180 (D, seat), 545 (B,
  censored). S(90) = 1 - 1/3 = 2/3 (3 at risk, 1 seated); S(180) = 2/3 * (1 - 1/2) = 1/3 (2 at risk,
  1 seated). The first day with S <= 1/2 is 180 -> median_days_to_seat = 180 (any censoring time of B
  after 180 gives the same). Seated only: median(90, 180) = 135 -> median_days_to_seat_seated_only = 135.
Betweenness on the chain D-B-A-C-T in 9 nodes (normalised by (n-1)(n-2)/2 = 28):
  A lies on 4 shortest paths (D-C, D-T, B-C, B-T) -> 4/28; B on 3 (D-A, D-C, D-T) -> 3/28; C on 3 -> 3/28.
"""
import json

import pytest

from civicties.cli import main
from graph.dataset import Dataset
from ingest.load import load_package
from queries.summary import headline_metrics, summary_metrics


@pytest.fixture
def tiny_metrics(tiny_dir, sqlite_store):
    load_package(tiny_dir, sqlite_store)
    return summary_metrics(sqlite_store.read())


def test_counts(tiny_metrics):
    assert tiny_metrics["people"] == 9
    assert tiny_metrics["ties"] == 5


def test_cross_race_and_class_shares(tiny_metrics):
    assert tiny_metrics["cross_race_tie_share"] == 1.0
    assert tiny_metrics["cross_class_tie_share"] == 0.75
    assert tiny_metrics["ei_index"] == {"race_ethnicity": 1.0, "income_band": 0.5}


def test_by_wave(tiny_metrics):
    assert tiny_metrics["by_wave"] == {
        "pre": {"ties": 2, "cross_race_tie_share": 1.0, "cross_class_tie_share": 0.5},
        "post": {"ties": 3, "cross_race_tie_share": 1.0, "cross_class_tie_share": 1.0},
    }


def test_isolated_parents_only(tiny_metrics):
    assert tiny_metrics["isolated"] == ["G"]


def test_funnel_and_time_to_seat(tiny_metrics):
    assert tiny_metrics["funnel"] == {"enrolled": 5, "graduated": 3, "appointed": 2}
    assert tiny_metrics["median_days_to_seat"] == 180.0               # Kaplan-Meier, B censored
    assert tiny_metrics["median_days_to_seat_seated_only"] == 135.0   # A and D only: biased low


def _without_seats_of(ds, person):
    app = ds.appointments
    return Dataset(tables={**ds.tables, "appointments": app[app["person_id"] != person].reset_index(drop=True)})


def test_median_days_to_seat_none_while_fewer_than_half_are_seated(tiny_dir, sqlite_store):
    # Without A's seats: the latest date is still D's seat start 2023-12-07; A and B (graduated 2022-06-10)
    # are censored at 545 days, D seated at 180. S(180) = 1 - 1/3 = 2/3 and no later seat: the curve never
    # reaches 1/2, so the Kaplan-Meier median is undefined (None); seated only: D's 180.
    load_package(tiny_dir, sqlite_store)
    m = headline_metrics(_without_seats_of(sqlite_store.read(), "A"))
    assert m["median_days_to_seat"] is None and m["median_days_to_seat_seated_only"] == 180.0


def test_median_days_to_seat_censors_recent_graduates(tiny_dir, sqlite_store):
    # Without D's seat: the latest date becomes 2023-06-20 (post-wave ties observed), so D (graduated
    # 2023-06-10) is censored at 10 days, A seated at 90, B censored at 2022-06-10 -> 2023-06-20 = 375.
    # At day 90 only A and B are still at risk (D left the risk set at day 10): S(90) = 1 - 1/2 = 1/2 -> 90.
    load_package(tiny_dir, sqlite_store)
    m = headline_metrics(_without_seats_of(sqlite_store.read(), "D"))
    assert m["median_days_to_seat"] == 90.0 and m["median_days_to_seat_seated_only"] == 90.0


def test_top_brokers(tiny_metrics):
    top = tiny_metrics["top_brokers"]
    assert top[0] == {"person_id": "A", "betweenness": round(4 / 28, 6)}
    assert top[1:3] == [{"person_id": "B", "betweenness": round(3 / 28, 6)},
                        {"person_id": "C", "betweenness": round(3 / 28, 6)}]
    assert len(top) <= 10


def test_unmatched_names(tiny_metrics):
    assert tiny_metrics["unmatched_names"] == ["Zed Unknown"]


def test_empty_store_gives_nulls(sqlite_store):
    m = summary_metrics(sqlite_store.read())
    assert m["people"] == 0 and m["ties"] == 0
    assert m["cross_race_tie_share"] is None
    assert m["ei_index"]["race_ethnicity"] is None
    assert m["median_days_to_seat"] is None and m["median_days_to_seat_seated_only"] is None


def test_cli_metrics_json(tiny_dir, tmp_path, capsys):
    uri = f"sqlite:///{tmp_path / 's.sqlite'}"
    assert main(["ingest", str(tiny_dir), "--store", uri]) == 0
    capsys.readouterr()
    assert main(["metrics", "--store", uri, "--json", "--attribute", "primary_language"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["ties"] == 5
    assert out["median_days_to_seat"] == 180.0 and out["median_days_to_seat_seated_only"] == 135.0
    # language: A Spanish, everyone else English -> A-B and A-C cross, B-D C-T E-F same: (2-3)/5
    assert out["ei_index"]["primary_language"] == pytest.approx(-0.2)


def test_cli_metrics_directed(tiny_dir, tmp_path, capsys):
    uri = f"sqlite:///{tmp_path / 's.sqlite'}"
    main(["ingest", str(tiny_dir), "--store", uri])
    capsys.readouterr()
    main(["metrics", "--store", uri, "--json", "--directed", "--attribute", "primary_language"])
    out = json.loads(capsys.readouterr().out)
    # directed pairs: A->B, B->A, A->C, B->D, C->T, E->F; language crosses on A->B, B->A, A->C: (3-3)/6 = 0
    assert out["ei_index"]["primary_language"] == 0.0


def test_cli_metrics_coattendance(tiny_dir, tmp_path, capsys):
    uri = f"sqlite:///{tmp_path / 's.sqlite'}"
    main(["ingest", str(tiny_dir), "--store", uri])
    capsys.readouterr()
    main(["metrics", "--store", uri, "--json", "--network", "co-attendance"])
    out = json.loads(capsys.readouterr().out)
    # E1 brought A and B together; D attended E2 alone: one edge, A-B, same income, cross race
    assert out["ties"] == 1
    assert out["cross_race_tie_share"] == 1.0 and out["cross_class_tie_share"] == 0.0
    assert "G" in out["isolated"] and "A" not in out["isolated"]
