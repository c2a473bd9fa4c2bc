"""queries.pipeline: funnel, Kaplan-Meier time to seat, seats by body, Sankey flows, paths to a seat."""
import math
import sys
from pathlib import Path

import pandas as pd
import pytest

sys.path.insert(0, str(Path(__file__).parent))
from helpers_data import demo_dataset, tiny_dataset  # noqa: E402

from queries.errors import QueryError  # noqa: E402
from queries.network import tie_network  # noqa: E402
from queries.pipeline import (funnel_by, latest_date, paths_to_seat, sankey_flows, seats_by_body,  # noqa: E402
                              time_to_seat)
from queries.summary import funnel  # noqa: E402


def _grad(pid, completed, cohort="C1", enrolled="2019-01-01"):
    return {"person_id": pid, "cohort_id": cohort, "status": "graduated", "enrolled_on": enrolled,
            "completed_on": completed}


def km_dataset():
    """Durations 5, 10, 10 (censored) and 20 days from graduation to seat, as_of 2021-01-01."""
    people = [{"person_id": p, "role": "parent", "site_id": s, "race_ethnicity": r}
              for p, s, r in [("a", "S1", "Black"), ("b", "S1", "Black"), ("c", "S2", "White"), ("d", "S2", None)]]
    enrollments = [_grad("a", "2020-01-01"), _grad("b", "2020-01-01"), _grad("c", "2020-12-22"),
                   _grad("d", "2020-01-01")]
    appointments = [{"person_id": "a", "body_id": "B1", "start_date": "2020-01-06"},
                    {"person_id": "b", "body_id": "B1", "start_date": "2020-01-11"},
                    {"person_id": "d", "body_id": "B2", "start_date": "2020-01-21"},
                    {"person_id": "d", "body_id": "B1", "start_date": "2020-06-01"},   # a later seat: not first
                    {"person_id": "c", "body_id": "B1", "start_date": "2021-03-01"}]   # after as_of: censored
    bodies = [{"body_id": "B1", "name": "School council", "level": "school", "kind": "council"},
              {"body_id": "B2", "name": "City commission", "level": "city", "kind": "commission"}]
    cohorts = [{"cohort_id": "C1", "site_id": "S1", "start_date": "2019-01-01", "end_date": "2019-06-01"}]
    return tiny_dataset(people=people, enrollments=enrollments, appointments=appointments, bodies=bodies,
                        cohorts=cohorts)


def test_time_to_seat_matches_hand_worked_kaplan_meier():
    curve = time_to_seat(km_dataset(), as_of="2021-01-01")
    s = dict(zip(curve["timeline"], curve["survival"]))
    # S(5) = 3/4; S(10) = 3/4 * (1 - 1/3) = 1/2 (the censored 10 is still at risk at 10); S(20) = 0
    assert s == pytest.approx({0.0: 1.0, 5.0: 0.75, 10.0: 0.5, 20.0: 0.0})
    assert dict(zip(curve["timeline"], curve["at_risk"])) == {0.0: 4, 5.0: 4, 10.0: 3, 20.0: 1}
    assert curve["median_days"].iloc[0] == 10
    assert curve["graduates"].iloc[0] == 4 and curve["appointed"].iloc[0] == 3
    assert (curve["ci_lower"] <= curve["survival"] + 1e-12).all()
    assert (curve["survival"] <= curve["ci_upper"] + 1e-12).all()


def test_time_to_seat_as_of_censors_later_seats_and_drops_later_graduates():
    curve = time_to_seat(km_dataset(), as_of="2020-01-15")
    # c graduates after as_of (left out); d's seat on day 20 is after as_of: censored at day 14
    assert curve["graduates"].iloc[0] == 3 and curve["appointed"].iloc[0] == 2
    s = dict(zip(curve["timeline"], curve["survival"]))
    assert s[14.0] == pytest.approx(1 / 3)
    assert math.isclose(curve["median_days"].iloc[0], 10)


def test_time_to_seat_by_group_and_undefined_median():
    curve = time_to_seat(km_dataset(), by="site", as_of="2021-01-01")
    medians = curve.groupby("group")["median_days"].first()
    # S1 (cohort site): a, b, c, d all graduated from C1 held at S1 -> one group
    assert list(medians.index) == ["S1"]
    by_race = time_to_seat(km_dataset(), by="race_ethnicity", as_of="2021-01-01")
    m = by_race.groupby("group")["median_days"].first()
    assert m["Black"] == 5 and math.isnan(m["White"]) and m["(not recorded)"] == 20


def test_default_as_of_is_latest_date_in_data():
    ds = km_dataset()
    assert str(latest_date(ds)) == "2021-03-01"
    assert time_to_seat(ds).equals(time_to_seat(ds, as_of="2021-03-01"))


def test_funnel_counts_by_hand():
    people = [{"person_id": p, "role": "parent", "race_ethnicity": r, "site_id": "S9"}
              for p, r in [("a", "Black"), ("b", "Black"), ("c", "Latino"), ("d", "Latino"), ("e", None)]]
    enrollments = [_grad("a", "2020-06-01", enrolled="2020-01-01"),
                   _grad("b", "2020-06-01", enrolled="2020-01-01"),
                   _grad("c", "2020-06-01", enrolled="2020-01-01"),
                   {"person_id": "d", "cohort_id": "C1", "status": "withdrawn", "enrolled_on": "2020-01-01"},
                   {"person_id": "e", "cohort_id": "C2", "status": "enrolled", "enrolled_on": "2020-01-01"}]
    events = [{"event_id": "F", "kind": "forum", "date": "2020-03-01"},
              {"event_id": "OLD", "kind": "forum", "date": "2019-03-01"},
              {"event_id": "W", "kind": "workshop", "date": "2020-07-01"}]
    attendance = [{"person_id": "a", "event_id": "F", "role": "attendee"},      # civic
                  {"person_id": "b", "event_id": "OLD", "role": "attendee"},    # before enrolling: no
                  {"person_id": "b", "event_id": "W", "role": "attendee"},      # workshop: no
                  {"person_id": "c", "event_id": "W", "role": "presenter"},     # presenting counts
                  {"person_id": "d", "event_id": "F", "role": "attendee"}]      # not a graduate
    appointments = [{"person_id": "a", "body_id": "B", "start_date": "2021-01-01"},
                    {"person_id": "b", "body_id": "B", "start_date": "2020-05-01"},   # before graduating: no
                    {"person_id": "d", "body_id": "B", "start_date": "2021-01-01"}]   # not a graduate
    cohorts = [{"cohort_id": "C1", "site_id": "S1"}, {"cohort_id": "C2", "site_id": None}]
    ds = tiny_dataset(people=people, enrollments=enrollments, events=events, attendance=attendance,
                      appointments=appointments, cohorts=cohorts, bodies=[{"body_id": "B", "level": "city"}])
    f = funnel_by(ds).iloc[0]
    assert (f["enrolled"], f["graduated"], f["civic"], f["appointed"]) == (5, 3, 2, 1)
    assert f["graduation_rate"] == pytest.approx(0.6) and f["appointment_rate"] == pytest.approx(1 / 3)
    assert funnel(ds)["appointed"] == f["appointed"]
    by_race = funnel_by(ds, "race_ethnicity").set_index("group")
    assert by_race.loc["Black", ["enrolled", "graduated", "civic", "appointed"]].tolist() == [2, 2, 1, 1]
    assert by_race.loc["Latino", ["enrolled", "graduated", "civic", "appointed"]].tolist() == [2, 1, 1, 0]
    assert by_race.loc["(not recorded)", "enrolled"] == 1
    by_site = funnel_by(ds, "site").set_index("group")
    assert by_site.loc["S1", "enrolled"] == 4 and by_site.loc["S9", "enrolled"] == 1   # e: person's site
    by_cohort = funnel_by(ds, "cohort").set_index("group")
    assert by_cohort.loc["C2", "graduated"] == 0 and math.isnan(by_cohort.loc["C2", "appointment_rate"])

    flows = sankey_flows(ds)
    assert flows == [("Enrolled", "Graduated", 3), ("Enrolled", "Withdrawn", 1), ("Enrolled", "Still enrolled", 1),
                     ("Graduated", "Civic activity", 2), ("Graduated", "No civic activity", 1),
                     ("Civic activity", "City seat", 1), ("Civic activity", "No seat yet", 1),
                     ("No civic activity", "No seat yet", 1)]


def test_unknown_grouping_and_bad_as_of_raise():
    with pytest.raises(QueryError, match="cannot group by"):
        funnel_by(km_dataset(), "zodiac")
    with pytest.raises(QueryError, match="as_of"):
        time_to_seat(km_dataset(), as_of="last tuesday")


def test_seats_by_body_counts_graduates_and_current_seats():
    out = seats_by_body(km_dataset(), as_of="2021-01-01")
    rows = out.set_index("body_id")[["level", "graduates", "current"]].to_dict("index")
    # B1: a, b, d (d's later seat counts here too); c's seat starts after as_of -> counted, not current
    assert rows == {"B1": {"level": "school", "graduates": 4, "current": 3},
                    "B2": {"level": "city", "graduates": 1, "current": 1}}
    assert list(out["body_id"]) == ["B1", "B2"]


def test_paths_to_seat_lists_events_and_ties_before_the_seat():
    ds = tiny_dataset(
        people=[{"person_id": p} for p in "abc"],
        enrollments=[_grad("a", "2020-06-01")],
        events=[{"event_id": "E2", "name": "Forum", "kind": "forum", "date": "2020-09-01"},
                {"event_id": "E1", "name": "Summit", "kind": "summit", "date": "2020-03-01"},
                {"event_id": "E3", "name": "Late", "kind": "forum", "date": "2021-02-01"}],
        attendance=[{"person_id": "a", "event_id": e, "role": "attendee"} for e in ("E1", "E2", "E3")],
        ties=[{"from_person_id": "a", "to_person_id": "b", "tie_type": "friend", "observed_on": "2020-12-01"},
              {"from_person_id": "c", "to_person_id": "a", "tie_type": "advice", "observed_on": "2021-01-01"},
              {"from_person_id": "a", "to_person_id": "c", "tie_type": "advice", "observed_on": "2021-05-01"},
              {"from_person_id": "a", "to_person_id": None, "to_name": "Someone", "observed_on": "2020-01-01"}],
        appointments=[{"person_id": "a", "body_id": "B", "seat": "member", "start_date": "2021-01-01"}],
        bodies=[{"body_id": "B", "name": "Board", "level": "district", "kind": "board"}])
    [p] = paths_to_seat(ds)
    assert p["cohort_id"] == "C1" and p["days"] == 214 and p["seat"]["level"] == "district"
    assert [e["event_id"] for e in p["events"]] == ["E1", "E2"]
    assert [(t["person_id"], t["direction"]) for t in p["ties"]] == [("b", "named"), ("c", "named by")]
    # only ties present in the given network
    G = tie_network(ds)
    G.remove_edge("a", "b")
    assert [t["person_id"] for t in paths_to_seat(ds, G)[0]["ties"]] == ["c"]


def test_demo_pipeline_is_consistent():
    ds = demo_dataset()
    overall = funnel_by(ds).iloc[0]
    assert overall["appointed"] == funnel(ds)["appointed"] > 0
    assert overall["enrolled"] >= overall["graduated"] >= overall["civic"]
    flows = sankey_flows(ds)
    inflow, outflow = {}, {}
    for s, t, n in flows:
        outflow[s] = outflow.get(s, 0) + n
        inflow[t] = inflow.get(t, 0) + n
    assert outflow["Enrolled"] == overall["enrolled"]
    for middle in ("Graduated", "Civic activity", "No civic activity"):
        assert inflow.get(middle, 0) == outflow.get(middle, 0)
    seats = sum(n for s, t, n in flows if t.endswith("seat"))
    assert seats == overall["appointed"] == len(paths_to_seat(ds))
    by_site = funnel_by(ds, "site")
    assert by_site["enrolled"].sum() >= overall["enrolled"]
    curve = time_to_seat(ds)
    assert curve["survival"].is_monotonic_decreasing
    assert curve["survival"].between(0, 1).all()
    assert seats_by_body(ds)["graduates"].sum() >= overall["appointed"]
    assert isinstance(curve, pd.DataFrame)


def test_empty_dataset_and_unknown_body():
    empty = tiny_dataset()
    assert funnel_by(empty).empty and time_to_seat(empty).empty and seats_by_body(empty).empty
    assert sankey_flows(empty) == [] and paths_to_seat(empty) == [] and latest_date(empty) is None
    ds = tiny_dataset(people=[{"person_id": "a"}], enrollments=[_grad("a", "2020-01-01")],
                      appointments=[{"person_id": "a", "body_id": "NOPE", "start_date": "2020-01-01"}])
    [p] = paths_to_seat(ds)
    assert p["days"] == 0 and p["seat"] == {"body_id": "NOPE", "name": None, "level": None, "kind": None,
                                            "seat": None, "start_date": "2020-01-01"}
    assert sankey_flows(ds)[-1] == ("No civic activity", "Seat, level not recorded", 1)


def test_grouped_kaplan_meier_equals_lifelines_per_group():
    """km_curves (all groups in one pass) gives lifelines' curve, band, at-risk counts and median for each
    group: ties, seats on graduation day, negative durations, groups with no seat or all seated."""
    import numpy as np

    from queries.pipeline import km_curve, km_curves
    rng = np.random.default_rng(0)
    for trial in range(60):
        n = int(rng.integers(1, 40))
        frame = pd.DataFrame({"d": rng.integers(-3 if trial % 5 == 0 else 0, 30, n).astype(float),
                              "e": rng.random(n) < [0.0, 1.0, rng.random()][trial % 3],
                              "g": rng.integers(0, int(rng.integers(1, 6)), n).astype(str)})
        got = km_curves(frame["d"], frame["e"], frame["g"])
        assert list(pd.unique(got["group"])) == sorted(frame["g"].unique())
        for name, part in frame.groupby("g"):
            ref = km_curve(part["d"], part["e"])
            mine = got[got["group"] == name].reset_index(drop=True)
            assert (mine["units"] == len(part)).all() and (mine["events"] == part["e"].sum()).all()
            for col in ref.columns:
                assert np.allclose(mine[col].to_numpy(float), ref[col].to_numpy(float), rtol=1e-12, atol=1e-12,
                                   equal_nan=True), (trial, name, col)
