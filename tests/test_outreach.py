"""queries.outreach: which families to reach, why, and who could connect them."""
import sys
from datetime import date
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))
from helpers_data import demo_dataset, tiny_dataset  # noqa: E402

from queries.errors import QueryError  # noqa: E402
from queries.network import tie_network  # noqa: E402
from queries.outreach import WEIGHTS, outreach_families  # noqa: E402


def five_families(**extra):
    """F1 (a1, a2) only know each other; F2 (b) knows no one and never came; F3 (c, Spanish) withdrew and
    knows only d (English); F4 (d) graduated recently and is fine; F5 (e) last came over a year ago."""
    def parent(pid, fam, lang, hood):
        return {"person_id": pid, "role": "parent", "family_id": fam, "primary_language": lang, "site_id": "S1",
                "neighborhood": hood}
    people = [parent("a1", "F1", "English", "Harbor"), parent("a2", "F1", "English", "Harbor"),
              parent("b", "F2", "English", "Harbor"), parent("c", "F3", "Spanish", "Midtown"),
              parent("d", "F4", "English", "Midtown"), parent("e", "F5", "English", "Harbor"),
              {"person_id": "t", "role": "teacher"}]
    ties = [{"from_person_id": "a1", "to_person_id": "a2"}, {"from_person_id": "c", "to_person_id": "d"},
            {"from_person_id": "d", "to_person_id": "e"}]
    events = [{"event_id": "E1", "kind": "forum", "date": "2024-05-01"},
              {"event_id": "E2", "kind": "workshop", "date": "2023-01-01"}]
    attendance = [{"person_id": "a1", "event_id": "E1"}, {"person_id": "e", "event_id": "E2"}]
    enrollments = [{"person_id": "c", "cohort_id": "C1", "status": "withdrawn", "enrolled_on": "2023-09-01"},
                   {"person_id": "d", "cohort_id": "C1", "status": "graduated", "enrolled_on": "2023-09-01",
                    "completed_on": "2024-02-01"}]
    visits = [{"visit_id": "V1", "teacher_id": "t", "family_id": "F3", "school_id": "SCH1", "visit_date": "2024-03-01"},
              {"visit_id": "V2", "teacher_id": "t", "family_id": "F5", "school_id": "SCH1", "visit_date": "2022-01-01"}]
    return tiny_dataset(people=people, ties=ties, events=events, attendance=attendance, enrollments=enrollments,
                        home_visits=visits, **extra)


def test_reasons_scores_and_order_by_hand():
    out = outreach_families(five_families(), as_of="2024-06-30", inactive_days=180)
    got = {r.family_id: (r.score, r.reason_codes, r.last_activity) for r in out.itertuples()}
    assert got == {
        "F2": (5.0, ["no_ties", "inactive"], None),
        "F3": (2.5, ["withdrew", "language"], date(2024, 3, 1)),
        "F5": (2.0, ["inactive"], date(2023, 1, 1)),
        "F1": (2.0, ["family_only"], date(2024, 5, 1)),
    }
    # tier first (F1: isolated but still coming -> this month; F5 only not seen lately -> keep an eye on),
    # then score, then longest without activity first
    assert list(out["family_id"]) == ["F2", "F3", "F1", "F5"]
    assert list(out["tier"]) == ["call now", "this month", "this month", "keep an eye on"]
    assert out.set_index("family_id").loc["F3", "categories"] == ["left a cohort", "language barrier"]
    f3 = out.set_index("family_id").loc["F3"]
    assert f3["reasons"] == ["withdrew from C1", "nobody they know speaks Spanish"]
    assert out.set_index("family_id").loc["F1", "parents"] == ["a1", "a2"]
    assert out.set_index("family_id").loc["F2", "reasons"][1] == "no event, home visit or cohort activity on record"
    assert out.set_index("family_id").loc["F5", "reasons"] == [
        "no event, home visit or cohort activity in the last 180 days"]
    assert (out["site_id"] == "S1").all()


def test_connectors_share_school_language_or_neighborhood():
    out = outreach_families(five_families(), as_of="2024-06-30").set_index("family_id")["connectors"]
    # b (English, Harbor): a1 and e share both (1 tie each), d shares the language (2 ties)
    assert [c["person_id"] for c in out["F2"]] == ["a1", "e", "d"]
    assert out["F2"][0] == {"person_id": "a1", "ties": 1, "why": "speaks English; same neighborhood (Harbor); 1 tie"}
    # c (Spanish, Midtown, visited at SCH1): d by neighborhood (2 ties) before e by school (1 tie);
    # a2 never attended or graduated, c herself withdrew: neither is a connector
    assert out["F3"] == [{"person_id": "d", "ties": 2, "why": "same neighborhood (Midtown); 2 ties"},
                         {"person_id": "e", "ties": 1, "why": "same school (SCH1); 1 tie"}]
    # nobody from the family itself
    assert [c["person_id"] for c in out["F1"]] == ["e", "d"]
    assert [c["person_id"] for c in out["F5"]] == ["a1", "d"]


def test_as_of_default_and_activity_after_as_of_ignored():
    ds = five_families()
    # latest date in the data is E1 (2024-05-01)
    assert outreach_families(ds).equals(outreach_families(ds, as_of=date(2024, 5, 1)))
    early = outreach_families(ds, as_of="2024-04-01").set_index("family_id")
    # a1's forum on 2024-05-01 has not happened yet: F1 has no activity on record
    assert early.loc["F1", "reason_codes"] == ["family_only", "inactive"]
    assert early.loc["F1", "last_activity"] is None
    late = outreach_families(ds, as_of="2026-01-01")
    assert "F4" in set(late["family_id"])   # d's graduation is now long ago


def test_last_contacted_from_contacts():
    ds = five_families(contacts=[{"id": "1", "family_id": "F2", "contacted_on": "2024-06-01"},
                                 {"id": "2", "family_id": "F2", "contacted_on": "2024-02-01"}])
    out = outreach_families(ds, as_of="2024-06-30").set_index("family_id")
    assert out.loc["F2", "last_contacted"] == date(2024, 6, 1)
    assert out.loc["F3", "last_contacted"] is None


def test_given_network_is_used():
    ds = five_families()
    same = outreach_families(ds, as_of="2024-06-30", G=tie_network(ds))
    assert same.equals(outreach_families(ds, as_of="2024-06-30"))
    G = tie_network(ds)
    G.remove_edge("c", "d")
    f3 = outreach_families(ds, as_of="2024-06-30", G=G).set_index("family_id").loc["F3"]
    assert f3["reason_codes"] == ["no_ties", "withdrew"]


def test_invalid_options_raise():
    with pytest.raises(QueryError, match="inactive_days"):
        outreach_families(five_families(), inactive_days=-1)
    with pytest.raises(QueryError, match="as_of"):
        outreach_families(five_families(), as_of="soon")
    with pytest.raises(QueryError, match="networkx"):
        outreach_families(five_families(), G=[("a", "b")])


def test_no_parents_gives_empty_table():
    out = outreach_families(tiny_dataset(people=[{"person_id": "t", "role": "teacher"}]))
    assert out.empty and "connectors" in out.columns


def test_demo_outreach_is_consistent():
    ds = demo_dataset()
    out = outreach_families(ds)
    assert len(out) > 0 and out["family_id"].is_unique
    rank = out["tier"].map({"call now": 0, "this month": 1, "keep an eye on": 2})
    assert (rank.diff().dropna() >= 0).all()
    assert all((part["score"].diff().dropna() <= 0).all() for _t, part in out.groupby("tier"))
    family_of = dict(zip(ds.people["person_id"], ds.people["family_id"]))
    for r in out.itertuples():
        assert r.score == pytest.approx(sum(WEIGHTS[c] for c in r.reason_codes))
        assert len(r.reasons) == len(r.reason_codes) > 0
        assert all(family_of[p] == r.family_id for p in r.parents)
        assert len(r.connectors) <= 3
        assert all(family_of[c["person_id"]] != r.family_id and c["ties"] > 0 for c in r.connectors)
    assert {"no_ties", "inactive", "withdrew"} <= set(out["reason_codes"].explode())


def test_bare_parents_without_any_other_data():
    ds = tiny_dataset(people=[{"person_id": "a", "family_id": "F1"}, {"person_id": "b", "family_id": "F2"}],
                      ties=[{"from_person_id": "a", "to_person_id": "b"}])
    out = outreach_families(ds)   # no dates at all: as_of is undefined, every family lacks activity
    assert out["reason_codes"].tolist() == [["inactive"], ["inactive"]]
    assert out["connectors"].tolist() == [[], []]
