"""queries/supports.py: do families who need another language, or who have children, take part more in events
that offer translation, childcare or any support? Worked by hand on a tiny network; the funder's release
(dashboard/data.py) hides small counts and people; the events.csv column is validated and optional."""
from __future__ import annotations

import math
import sys
from pathlib import Path

import pandas as pd
import pytest

from graph.dataset import Dataset
from graph.model import TABLES
from queries import supports

sys.path.insert(0, str(Path(__file__).parent))
from app_session import principal  # noqa: E402
from neo4j_fixtures import neo4j_server, neo4j_store  # noqa: E402,F401

Z = 1.959963984540054


def _frame(table: str, rows: list[tuple], cols: list[str]) -> pd.DataFrame:
    df = pd.DataFrame(rows, columns=cols, dtype=object)
    for c in TABLES[table].columns:
        if c not in df:
            df[c] = None
    return df


def tiny() -> Dataset:
    """Site S1 records supports; S2 records none.

    S1 families: F1 (Spanish), F2 (Spanish, a child), F3 (English, a child), F4 (English). S2: F5 (Spanish).
    S1 forums: E1 translation, E2 translation+childcare, E3 nothing, E4 childcare; E5 a staff workshop with
    translation (not a family event). S2: E6, no supports.
    Who came: F1 to E1, E2, E3 (and E5, E6: not counted); F2 to E1; F3 to E2, E4; F4 to E3; F5 to E6.
    """
    people = _frame("people", [
        ("a1", "parent", "F1", "Spanish", "S1"), ("a2", "parent", "F2", "Spanish", "S1"),
        ("c2", "child", "F2", "Spanish", "S1"), ("b3", "parent", "F3", "English", "S1"),
        ("c3", "child", "F3", "English", "S1"), ("b4", "parent", "F4", "English", "S1"),
        ("s5", "parent", "F5", "Spanish", "S2"), ("t1", "teacher", None, "English", "S1")],
        ["person_id", "role", "family_id", "primary_language", "site_id"])
    events = _frame("events", [
        ("E1", "forum", "S1", "translation"), ("E2", "forum", "S1", "childcare;translation"),
        ("E3", "forum", "S1", None), ("E4", "forum", "S1", "childcare"),
        ("E5", "staff_workshop", "S1", "translation"), ("E6", "forum", "S2", None)],
        ["event_id", "kind", "site_id", "supports"])
    attendance = _frame("attendance", [
        ("a1", "E1"), ("a1", "E2"), ("a1", "E3"), ("a1", "E5"), ("a1", "E6"), ("a2", "E1"),
        ("b3", "E2"), ("b3", "E4"), ("b4", "E3"), ("s5", "E6"), ("t1", "E3")], ["person_id", "event_id"])
    tables = {t: _frame(t, [], list(TABLES[t].columns)) for t in TABLES}
    tables.update(people=people, events=events, attendance=attendance)
    return Dataset(tables=tables)


def _row(table: pd.DataFrame, group: str, support: str) -> dict:
    hit = table[(table["group"] == group) & (table["support"] == support)]
    assert len(hit) == 1, (group, support, table[["group", "support"]])
    return hit.iloc[0].to_dict()


def test_language_and_translation_worked_by_hand():
    r = _row(supports.support_effects(tiny()), "language", "translation")
    # F1 and F2 are invited to E1..E4 (S1's forums); F5's site records no supports; E5 is a staff workshop.
    assert (r["families"], r["events_with"], r["events_without"]) == (2, 2, 2)
    # with translation (E1, E2): E1 both came, E2 F1 came: 3 of 4 invitations; without (E3, E4): 1 of 4
    assert (r["invited_with"], r["took_part_with"], r["invited_without"], r["took_part_without"]) == (4, 3, 4, 1)
    assert r["rate_with"] == pytest.approx(0.75) and r["rate_without"] == pytest.approx(0.25)
    assert r["difference"] == pytest.approx(0.5)
    # clustered by event: with, residuals a_e - r m_e = 2 - 1.5, 1 - 1.5: var = 2/1 * 0.5 / 4**2 = 0.0625;
    # without, 1 - 0.5, 0 - 0.5: 0.0625 too; SE = sqrt(0.125); the upper end is clipped at 1
    half = Z * math.sqrt(0.125)
    assert r["ci_low"] == pytest.approx(0.5 - half) and r["ci_high"] == 1.0
    # the 6 ways to give translation to 2 of S1's 4 forums (a = 2, 1, 1, 0): differences
    # +.5 (E1E2), +.5 (E1E3), 0 (E1E4), 0 (E2E3), -.5 (E2E4), -.5 (E3E4): 4 of 6 as far from 0 as +.5
    assert r["p_value"] == pytest.approx(4 / 6)
    assert r["method"].startswith("exact permutation (6")


def test_any_support_with_one_event_without_has_no_interval():
    r = _row(supports.support_effects(tiny()), "language", "any")
    # with (E1, E2, E4): 2 + 1 + 0 of 6; without (E3): 1 of 2
    assert (r["rate_with"], r["rate_without"], r["difference"]) == pytest.approx((0.5, 0.5, 0.0))
    assert r["ci_low"] is None or math.isnan(r["ci_low"])       # one event without: no clustered variance
    assert r["p_value"] == pytest.approx(1.0)                   # |d*| >= 0 in all 4 arrangements


def test_children_and_childcare_worked_by_hand():
    r = _row(supports.support_effects(tiny()), "children", "childcare")
    # F2 and F3 have a child; childcare at E2 (F3 came) and E4 (F3): 2 of 4; without, E1 (F2) and E3: 1 of 4
    assert (r["families"], r["took_part_with"], r["took_part_without"]) == (2, 2, 1)
    assert r["difference"] == pytest.approx(0.25)
    # with: residuals 0, 0; without: .5, -.5 -> var 0.0625: SE 0.25
    assert (r["ci_low"], r["ci_high"]) == pytest.approx((0.25 - Z * 0.25, 0.25 + Z * 0.25))
    assert r["p_value"] == pytest.approx(1.0)     # every arrangement gives +-0.25


def test_comparison_groups_and_languages():
    table = supports.support_effects(tiny())
    english = _row(table, "english", "translation")
    # F3 came to E2 (translation), E4 and F4 to E3: with 1 of 4, without 2 of 4
    assert english["comparison"] and english["difference"] == pytest.approx(-0.25)
    spanish = _row(table, "language:Spanish", "translation")
    assert spanish["group_label"] == "Families who need Spanish"
    assert spanish["rate_with"] == pytest.approx(0.75)
    no_kids = _row(table, "no_children", "childcare")
    assert no_kids["families"] == 2                   # F1, F4 (F5's site records no supports)


def test_a_childs_attendance_counts_for_the_family():
    ds = tiny()
    ds.tables["attendance"] = pd.concat([ds.attendance, _frame("attendance", [("c2", "E4")],
                                                               ["person_id", "event_id"])], ignore_index=True)
    r = _row(supports.support_effects(ds), "children", "childcare")
    assert r["took_part_with"] == 3                   # F2 now came to E4 through its child


def test_monte_carlo_p_is_close_to_the_exact_one():
    r = _row(supports.support_effects(tiny(), exact_max=0, permutations=4000, seed=3), "language", "translation")
    assert r["method"].startswith("permutation (4000")
    assert abs(r["p_value"] - 4 / 6) < 0.03


def test_no_supports_recorded_gives_no_rows():
    ds = tiny()
    ds.tables["events"] = ds.events.assign(supports=None)
    assert supports.support_effects(ds).empty


def test_sentences():
    table = supports.support_effects(tiny())
    text = supports.sentence(_row(table, "language", "translation"))
    assert text.startswith("Families who need a language other than English took part in 75% of their site's "
                           "events with translation and 25% of those without (difference +50 points, 95% CI -19 to "
                           "100; permutation p = 0.67)")
    assert "nothing to compare" in supports.sentence({"group_label": "X", "support": "food", "events_with": 0})


# -- the funder's release ------------------------------------------------------------------------------------

def test_funder_release_hides_small_counts_and_shares_made_of_them():
    from dashboard.data import funder_supports
    table = supports.support_effects(tiny())
    out = funder_supports(table, 10)
    assert set(out["group"]) == {"language", "children"}       # no per-language or comparison rows
    assert not {"invited_with", "took_part_with", "invited_without", "took_part_without"} & set(out.columns)
    for c in ("families", "events_with", "events_without"):
        assert all(isinstance(v, str) or v == 0 or v >= 10 for v in out[c]), c
    assert out[["rate_with", "rate_without", "difference", "p_value"]].isna().all().all()   # 2 families < 10
    # with a threshold of 2, 3 of 4 invitations taken still gives away the 1 not taken; with 1 nothing is small
    assert math.isnan(_row(funder_supports(table, 2), "language", "translation")["rate_with"])
    shown = _row(funder_supports(table, 1), "language", "translation")
    assert shown["families"] == 2 and shown["rate_with"] == pytest.approx(0.75)


@pytest.fixture(scope="module")
def demo_store(app_store_uri):
    from dashboard import data
    data.get_store()                                  # loads the demo into the empty store
    return app_store_uri


def test_funder_loader_on_the_demo_has_no_small_count_and_no_person(demo_store):
    from dashboard import data
    out = data.load_supports(principal("funder"))
    assert not out.empty and out["rate_with"].notna().any()
    for c in ("families", "events_with", "events_without"):
        assert not [v for v in out[c] if not isinstance(v, str) and 0 < v < 10], c
    text = out.to_csv()
    people = data.full_dataset(*data.data_key()).people
    assert not [p for p in people["person_id"] if f",{p}," in text or f"{p}\n" in text]
    assert not [n for n in people["name"].dropna() if n in text]
    assert not [f for f in people["family_id"].dropna().unique() if f in text]


def test_coordinator_loader_counts_only_their_sites(demo_store):
    from dashboard import data
    everyone = data.load_supports(principal("admin"))
    mine = data.load_supports(principal("coordinator"))        # site S1
    assert not mine.empty
    a, m = _row(everyone, "language", "translation"), _row(mine, "language", "translation")
    assert m["families"] < a["families"] and m["events_with"] + m["events_without"] < a["events_with"] + a["events_without"]
    ds = data.site_dataset(("S1",), *data.data_key())
    assert _row(supports.support_effects(ds), "language", "translation")["families"] == m["families"]


# -- the events.csv column -----------------------------------------------------------------------------------


def _with_supports(folder: Path, cells: dict[str, str]) -> None:
    """Add a supports column to the tiny package's events.csv: {event_id: cell}."""
    lines = (folder / "events.csv").read_text(encoding="utf-8").splitlines()
    out = [lines[0] + ",supports"]
    for line in lines[1:]:
        cell = cells.get(line.split(",")[0], "")
        out.append(line + "," + (f'"{cell}"' if cell else ""))
    (folder / "events.csv").write_text("\n".join(out) + "\n", encoding="utf-8")


def test_supports_are_validated_and_normalised(tiny_dir):
    from ingest.load import check_package
    _with_supports(tiny_dir, {"E1": " Translation ; childcare;meeting time", "E2": "food"})
    pkg = check_package(tiny_dir)
    assert pkg.ok, [str(p) for p in pkg.problems]
    by_id = {r["event_id"]: r.get("supports") for r in pkg.tables["events"]}
    assert by_id["E1"] == "childcare;translation;meeting_time" and by_id["E2"] == "food"


def test_an_unknown_support_is_an_error_with_file_row_and_column(tiny_dir):
    from ingest.load import check_package
    _with_supports(tiny_dir, {"E2": "food;babysitting"})
    pkg = check_package(tiny_dir)
    assert not pkg.ok
    [p] = [p for p in pkg.problems if p.column == "supports"]
    assert (p.file, p.row, p.value) == ("events.csv", 3, "food;babysitting")
    assert "'babysitting'" in p.message and "childcare" in p.fix


def test_an_old_package_without_the_column_still_loads(tiny_dir, sqlite_store):
    from ingest.load import load_package
    assert "supports" not in (tiny_dir / "events.csv").read_text(encoding="utf-8")
    load_package(tiny_dir, sqlite_store)
    assert sqlite_store.read().events["supports"].isna().all()


@pytest.mark.parametrize("kind", ["sqlite", "neo4j"])
def test_supports_travel_through_both_stores(kind, tiny_dir, request):
    from graph.store import SQLiteStore
    from ingest.load import load_package
    store = SQLiteStore(tiny_dir / "s.sqlite") if kind == "sqlite" else request.getfixturevalue("neo4j_store")
    try:
        _with_supports(tiny_dir, {"E1": "translation;childcare"})
        load_package(tiny_dir, store)
        events = store.read().events.set_index("event_id")
        assert events.at["E1", "supports"] == "childcare;translation"
        assert events.at["E2", "supports"] is None
    finally:
        if kind == "sqlite":
            store.close()


def test_many_events_normal_p_agrees_with_shuffles():
    """With 100 or more events on each side the p-value comes from the shuffles' exact mean and variance
    (no shuffle drawn): within 0.02 of 20,000 shuffles within sites, on unequal sites, rates and effects."""
    import numpy as np
    rng = np.random.default_rng(0)
    sites = np.repeat(np.array(["S1", "S2", "S3"]), [200, 250, 150])
    invited = np.column_stack([np.where(sites == "S1", 40, np.where(sites == "S2", 60, 30))] * 2)
    for _ in range(4):
        took = rng.binomial(invited, np.column_stack([rng.uniform(0.05, 0.2, 600), rng.uniform(0.1, 0.3, 600)]))
        offered = rng.random(600) < 0.45
        took[offered & (rng.random(600) < 0.3), 0] += 1             # a small real difference in the first group
        m_w, m_all = invited[offered].sum(0), invited.sum(0)
        a_w, a_all = took[offered].sum(0), took.sum(0)
        observed = a_w / m_w - (a_all - a_w) / (m_all - m_w)
        normal, how = supports._permutation_ps(offered, sites, took, invited, observed, permutations=20000,
                                               exact_max=5000, seed=1)
        assert how.startswith("normal approximation")
        shuffled, how = supports._permutation_ps(offered, sites, took, invited, observed, permutations=20000,
                                                 exact_max=5000, seed=1, normal_from=10**9)
        assert how.startswith("permutation (20000 shuffles")
        assert normal == pytest.approx(shuffled, abs=0.02)
