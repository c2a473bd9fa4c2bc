"""The family card: one family's people, cohorts, events, visits, ties, seats and contacts, for coordinators
of the family's site and admins only (a coordinator of another site, an evaluator and a funder get nothing)."""
from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))
from app_session import open_page, principal  # noqa: E402
from helpers_data import tiny_dataset  # noqa: E402

from dashboard.family import build_card  # noqa: E402


def small():
    people = [{"person_id": "a", "name": "Ana", "role": "parent", "family_id": "F1", "site_id": "S1",
               "phone": "555-0100", "email": "ana@example.org"},
              {"person_id": "k", "name": "Kid", "role": "child", "family_id": "F1", "site_id": "S1"},
              {"person_id": "b", "name": "Ben", "role": "parent", "family_id": "F2", "site_id": "S1"},
              {"person_id": "c", "name": "Cy", "role": "parent", "family_id": "F3", "site_id": "S1"},
              {"person_id": "t", "name": "Teach", "role": "teacher", "site_id": "S1"}]
    return tiny_dataset(
        people=people,
        ties=[{"from_person_id": "a", "to_person_id": "b", "wave": "pre"},
              {"from_person_id": "c", "to_person_id": "a", "wave": "post"},
              {"from_person_id": "b", "to_person_id": "c", "wave": "pre"}],
        cohorts=[{"cohort_id": "C1", "program": "PLTI", "site_id": "S1"}],
        enrollments=[{"person_id": "a", "cohort_id": "C1", "status": "graduated", "enrolled_on": "2024-01-01"}],
        events=[{"event_id": "E1", "name": "Forum", "kind": "forum", "date": "2024-03-01"}],
        attendance=[{"person_id": "a", "event_id": "E1", "role": "attendee"},
                    {"person_id": "b", "event_id": "E1", "role": "attendee"}],
        home_visits=[{"visit_id": "V1", "teacher_id": "t", "family_id": "F1", "visit_date": "2024-02-01"}],
        bodies=[{"body_id": "B1", "name": "School board", "level": "district"}],
        appointments=[{"person_id": "a", "body_id": "B1", "seat": "member", "start_date": "2024-06-01"}],
        contacts=[{"id": "1", "family_id": "F1", "contacted_on": "2024-05-01", "note": "[by ada] called"},
                  {"id": "2", "family_id": "F2", "contacted_on": "2024-05-02", "note": "not theirs"}])


def test_card_by_hand():
    ds = small()
    card = build_card(ds, "F1", contacts=ds.contacts)
    assert card["parents"][["person_id", "phone", "email"]].values.tolist() == [["a", "555-0100", "ana@example.org"]]
    assert card["children"]["person_id"].tolist() == ["k"]
    assert card["cohorts"][["who", "cohort_id", "status"]].values.tolist() == [["Ana (a)", "C1", "graduated"]]
    assert card["events"][["event", "who"]].values.tolist() == [["Forum", "Ana (a)"]]
    assert card["home_visits"]["teacher"].tolist() == ["Teach (t)"]
    ties = card["ties"][["member", "other", "direction"]].values.tolist()
    assert ties == [["Ana (a)", "Ben (b)", "named them"], ["Ana (a)", "Cy (c)", "named by them"]]
    assert card["seats"][["body", "level"]].values.tolist() == [["School board", "district"]]
    assert card["contacts"].to_dict("records") == [{"date": "2024-05-01", "by": "ada", "note": "called"}]


@pytest.fixture(scope="module")
def store_uri(app_store_uri):
    return app_store_uri


def _families_by_site():
    from dashboard import data
    people = data.full_dataset(*data.data_key()).people
    fam = people[people["family_id"].notna()]
    return fam.groupby("site_id")["family_id"].apply(lambda s: sorted(set(s))).to_dict()


def test_coordinator_of_another_site_and_funders_get_nothing(store_uri):
    from dashboard import data
    from dashboard import family as fd
    open_page("overview", "admin")                       # loads the demo into the module's store
    by_site = _families_by_site()
    mine, other = by_site["S1"][0], by_site["S2"][0]
    s1 = principal("coordinator", ["S1"])
    assert fd.load_family(s1, mine)["family_id"] == mine
    assert fd.load_family(s1, other) is None
    assert fd.load_family(principal("coordinator", ["S2"]), mine) is None
    assert set(fd.family_ids(s1)) == set(by_site["S1"])
    assert set(fd.load_family_contacts(s1)) <= set(by_site["S1"])
    assert fd.load_family(principal("admin"), other)["family_id"] == other
    for role in ("evaluator", "funder"):
        for call in (lambda p: fd.load_family(p, mine), fd.family_ids, fd.load_family_contacts):
            with pytest.raises(PermissionError):
                call(principal(role))
    # a contact of another site's family never reaches an S1 card
    data.record_contact(principal("admin"), other, __import__("datetime").date(2026, 11, 1), "other site")
    assert "other site" not in fd.load_family(s1, mine)["contacts"]["note"].tolist()


@pytest.mark.parametrize("role", ["admin", "coordinator"])
def test_family_page_renders(store_uri, role):
    at = open_page("family", role)
    assert not at.exception, [e.value for e in at.exception]
    assert at.title[0].value == "Family card"
    assert at.selectbox(key="family_pick").value


def test_family_page_is_not_in_evaluator_or_funder_navigation(store_uri):
    for role in ("evaluator", "funder"):
        at = open_page("overview", role)
        with pytest.raises(Exception):
            at.switch_page("dashboard/pages/family.py").run()
