"""Everyday records (dashboard/records.py): each form is checked with ingest's rules, written in one
transaction on both stores, scoped to the staff member's sites, and the analyses see it on their next read.
The Records and Surveys pages open for coordinators and admins only (AppTest)."""
from __future__ import annotations

import sys
from datetime import date
from pathlib import Path

import pytest

from dashboard import records
from dashboard.accounts import Principal
from graph import surveys as persist
from graph.errors import StoreError
from graph.store import SQLiteStore
from ingest.load import load_package

sys.path.insert(0, str(Path(__file__).parent))
from neo4j_fixtures import neo4j_server, neo4j_store  # noqa: E402,F401

ADMIN = Principal("t-admin", "admin")
COORD_S1 = Principal("t-coordinator", "coordinator", ("S1",))


@pytest.fixture(scope="module")
def small_demo(tmp_path_factory) -> Path:
    from ingest.demo import write_demo
    out = tmp_path_factory.mktemp("records-demo")
    write_demo(out, parents=80, seed=5)
    return out


@pytest.fixture(params=["sqlite", "neo4j"])
def store(request, small_demo, tmp_path):
    s = SQLiteStore(tmp_path / "store.sqlite") if request.param == "sqlite" else request.getfixturevalue("neo4j_store")
    load_package(small_demo, s, demo=True)
    yield s
    if request.param == "sqlite":
        s.close()


def _at(ds, site, role="parent", n=3):
    p = ds.people[(ds.people["site_id"] == site) & (ds.people["role"] == role)]
    return list(p["person_id"][:n])


def test_an_event_with_check_ins_is_one_write(store):
    ds = store.read()
    a, b, c = _at(ds, "S1")
    eid = records.save_event(store, COORD_S1, ds, name="Spring forum <b>2027</b>", kind="forum",
                             when=date(2027, 3, 1), site_id="S1",
                             checkins={a: "attendee", b: "presenter", c: "facilitator"})
    after = store.read()
    ev = after.events[after.events["event_id"] == eid].iloc[0]
    assert (ev["name"], ev["kind"], ev["date"], ev["site_id"]) == ("Spring forum <b>2027</b>", "forum", "2027-03-01", "S1")
    att = after.attendance[after.attendance["event_id"] == eid]
    assert dict(zip(att["person_id"], att["role"])) == {a: "attendee", b: "presenter", c: "facilitator"}
    # more check-ins into the same event later; a role changed
    records.save_event(store, COORD_S1, after, event_id=eid, checkins={a: "presenter"})
    att = store.read().attendance.query("event_id == @eid")
    assert len(att) == 3 and dict(zip(att["person_id"], att["role"]))[a] == "presenter"


def test_records_break_no_rule_of_the_data_contract(store):
    ds = store.read()
    a = _at(ds, "S1")[0]
    counts = store.counts()
    bad = [
        (lambda: records.save_event(store, COORD_S1, ds, name="x", kind="party", when=date(2027, 1, 1), site_id="S1",
                                    checkins={a: "attendee"}), "kind"),
        (lambda: records.save_event(store, COORD_S1, ds, name="x", kind="forum", when=date(2027, 1, 1), site_id="S1",
                                    checkins={a: "guest"}), "role"),
        (lambda: records.save_event(store, COORD_S1, ds, name="", kind="forum", when=None, site_id="S1",
                                    checkins={}), "name"),
        (lambda: records.save_event(store, COORD_S1, ds, name="N" * 500, kind="forum", when=None, site_id="S1",
                                    checkins={}), "longer than"),
        (lambda: records.save_appointment(store, COORD_S1, ds, person_id=a, body_id="NO-SUCH-BODY",
                                          start_date=date(2027, 1, 1)), "unknown body"),
        (lambda: records.save_appointment(store, COORD_S1, ds, person_id=a, body_id=ds.bodies["body_id"][0],
                                          start_date=date(2027, 5, 1), end_date=date(2027, 1, 1)), "before start_date"),
        (lambda: records.save_person(store, COORD_S1, ds, {"name": "Nueva Persona", "role": "wizard",
                                                           "site_id": "S1"}), "role"),
        (lambda: records.save_person(store, COORD_S1, ds, {"name": "Nueva Persona", "consent": "maybe",
                                                           "site_id": "S1"}), "consent"),
    ]
    for action, words in bad:
        with pytest.raises(records.RecordInvalid) as e:
            action()
        assert words in str(e.value), (words, str(e.value))
    assert store.counts() == counts


def test_a_home_visit_an_appointment_and_a_new_family(store):
    ds = store.read()
    teacher = _at(ds, "S1", "teacher", 1)[0]
    family = next(iter(records.families_at(COORD_S1, ds)))
    vid = records.save_home_visit(store, COORD_S1, ds, teacher_id=teacher, family_id=family, visit_date=date(2026, 11, 2),
                                  school_id=ds.schools["school_id"][0], notes="Talked about the\nspring forum")
    parent = _at(ds, "S1")[0]
    body = ds.bodies["body_id"][0]
    records.save_appointment(store, COORD_S1, ds, person_id=parent, body_id=body, seat="Parent seat",
                             start_date=date(2026, 12, 1))
    pid = records.save_person(store, COORD_S1, ds, {"name": "Lua Nuevo", "role": "parent", "family_id": "new",
                                                     "site_id": "S1", "primary_language": "Spanish"})
    after = store.read()
    visit = after.home_visits[after.home_visits["visit_id"] == vid].iloc[0]
    assert (visit["teacher_id"], visit["family_id"], visit["notes"]) == (teacher, family, "Talked about the\nspring forum")
    appt = after.appointments[(after.appointments["person_id"] == parent) & (after.appointments["body_id"] == body)]
    assert "Parent seat" in set(appt["seat"])
    person = after.people[after.people["person_id"] == pid].iloc[0]
    assert person["name"] == "Lua Nuevo" and person["family_id"].startswith("F") and person["site_id"] == "S1"


def test_editing_a_person_moves_them_to_another_family_without_a_stale_link(store):
    ds = store.read()
    pid = _at(ds, "S1")[0]
    old = ds.people.set_index("person_id").at[pid, "family_id"]
    other = next(f for f in records.families_at(COORD_S1, ds) if f != old)
    records.save_person(store, COORD_S1, ds, {"family_id": other, "phone": "555-0142"}, person_id=pid)
    after = store.read()
    person = after.people.set_index("person_id").loc[pid]
    assert person["family_id"] == other and person["phone"] == "555-0142"
    assert person["name"] == ds.people.set_index("person_id").at[pid, "name"]        # the rest kept
    # the old family no longer counts them: an erasure of the old family would not take them along
    removed = store.erase([], [old], dry_run=True) if old else {}
    assert removed.get("Person", 0) == (ds.people["family_id"] == old).sum() - 1


def test_records_stay_within_the_staff_members_sites(store):
    ds = store.read()
    s2_parent, s2_teacher = _at(ds, "S2")[0], _at(ds, "S2", "teacher", 1)[0]
    s1_parent = _at(ds, "S1")[0]
    s2_family = ds.people.set_index("person_id").at[s2_parent, "family_id"]
    counts = store.counts()
    for action in (
        lambda: records.save_event(store, COORD_S1, ds, name="x", kind="forum", when=None, site_id="S2", checkins={}),
        lambda: records.save_event(store, COORD_S1, ds, name="x", kind="forum", when=None, site_id="S1",
                                   checkins={s2_parent: "attendee"}),
        lambda: records.save_home_visit(store, COORD_S1, ds, teacher_id=s2_teacher, family_id=s2_family,
                                        visit_date=None),
        lambda: records.save_appointment(store, COORD_S1, ds, person_id=s2_parent, body_id=ds.bodies["body_id"][0]),
        lambda: records.save_person(store, COORD_S1, ds, {"name": "Moved"}, person_id=s2_parent),
        lambda: records.save_person(store, COORD_S1, ds, {"name": "Moved", "site_id": "S2"}, person_id=s1_parent),
        lambda: records.save_person(store, COORD_S1, ds, {"name": "Joined", "site_id": "S1", "family_id": s2_family}),
        lambda: records.save_person(store, Principal("t-evaluator", "evaluator"), ds, {"name": "X", "site_id": "S1"}),
    ):
        with pytest.raises(PermissionError):
            action()
    assert store.counts() == counts
    assert set(records.sites_for(COORD_S1, ds)) == {"S1"}
    assert set(records.people_at(COORD_S1, ds)["site_id"]) == {"S1"}
    assert all(f in set(ds.people.loc[ds.people["site_id"] == "S1", "family_id"]) for f in records.families_at(COORD_S1, ds))


def test_a_failure_mid_write_leaves_nothing(store, monkeypatch):
    ds = store.read()
    pid = _at(ds, "S1")[0]
    before = store.read().people.set_index("person_id").loc[pid].to_dict()
    counts = store.counts()

    def cut(where):
        if where == "records written":
            raise ConnectionError("connection dropped")
    monkeypatch.setattr(persist, "_checkpoint", cut)
    with pytest.raises((ConnectionError, StoreError)):
        records.save_person(store, COORD_S1, ds, {"family_id": "new", "name": "Renamed"}, person_id=pid)
    assert store.counts() == counts
    assert store.read().people.set_index("person_id").loc[pid].to_dict() == before


# -- the pages (AppTest) ------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def app_store(app_store_uri):
    from app_session import ensure_accounts
    from dashboard import data
    data._open.clear()                  # this module's store, not an earlier module's
    data._ensure_data.clear()
    ensure_accounts(app_store_uri)
    return app_store_uri


@pytest.mark.parametrize("role", ["admin", "coordinator", "evaluator", "funder"])
def test_records_and_surveys_pages_open_for_coordinators_and_admins_only(app_store, role):
    from app_session import signed_in_app
    at = signed_in_app(role)
    at.run()
    for page, title in (("records", "Records"), ("surveys", "Surveys")):
        try:
            at.switch_page(f"dashboard/pages/{page}.py").run()
        except ValueError:
            assert role in ("evaluator", "funder"), (role, page)
            continue
        assert role in ("admin", "coordinator"), (role, page)
        assert not at.exception, [e.value for e in at.exception]
        assert at.title[0].value == title
        if page == "surveys" and role == "coordinator":     # only their sites' cohorts to survey
            options = at.multiselect(key="survey_cohorts").options
            assert options and all(o.startswith("S1-") for o in options), options


def test_records_page_saves_an_event_and_the_analyses_see_it(app_store):
    from app_session import signed_in_app
    from dashboard import data
    at = signed_in_app("coordinator")
    at.run()
    at.switch_page("dashboard/pages/records.py").run()
    assert not at.exception, [e.value for e in at.exception]
    # a coordinator of S1 is offered S1's people only
    store = data.get_store()
    people = store.read().people.set_index("person_id")
    offered = at.multiselect(key="rec_attendee").options
    assert offered and len(offered) < len(people)
    s1_names = set(people.loc[people["site_id"] == "S1", "name"].dropna())
    others = set(people.loc[people["site_id"] != "S1", "name"].dropna()) - s1_names
    assert not [o for o in offered if o in others]
    before = len(data.full_dataset(*data.data_key()).events)
    at.text_input(key="rec_event_name").input("Budget forum")
    at.multiselect(key="rec_attendee").select(offered[0].rsplit("(", 1)[1].rstrip(")"))     # by person id
    at.button(key="rec_event_save").click().run()
    assert not at.exception, [e.value for e in at.exception]
    assert any("Saved" in s.value for s in at.success), [e.value for e in at.error]
    assert len(data.full_dataset(*data.data_key()).events) == before + 1


def test_records_page_searches_first_when_there_are_many_to_pick_from(app_store, monkeypatch):
    """From pickers.SEARCH_FROM people (20,000; here 5) the boxes offer nobody until a search, then its matches;
    a person picked stays offered through the next search, and the event saves with them."""
    from app_session import signed_in_app
    from dashboard import data, pickers
    monkeypatch.setattr(pickers, "SEARCH_FROM", 5)
    at = signed_in_app("coordinator")
    at.run()
    at.switch_page("dashboard/pages/records.py").run()
    assert not at.exception, [e.value for e in at.exception]
    assert at.multiselect(key="rec_attendee").options == []
    assert at.selectbox(key="rec_visit_family").options == [] and at.selectbox(key="rec_seat_person").options == []
    people = data.full_dataset(*data.data_key()).people
    s1 = people[(people["site_id"] == "S1") & people["name"].notna()].sort_values("person_id")
    first, second = s1.iloc[0], s1.iloc[-1]
    at.text_input(key="rec_find_attendees").input(first["person_id"]).run()
    offered = at.multiselect(key="rec_attendee").options
    assert f"{first['name']} ({first['person_id']})" in offered and len(offered) <= pickers.MATCHES_SHOWN
    assert all(first["person_id"].casefold() in o.casefold() for o in offered)
    at.multiselect(key="rec_attendee").select(first["person_id"]).run()
    at.text_input(key="rec_find_attendees").input(second["person_id"]).run()
    offered = at.multiselect(key="rec_attendee").options
    assert f"{first['name']} ({first['person_id']})" in offered          # picked before: still offered
    assert at.multiselect(key="rec_attendee").value == [first["person_id"]]
    other = people[people["site_id"] != "S1"]["person_id"].iloc[0]
    at.text_input(key="rec_find_attendees").input(other).run()
    assert [o for o in at.multiselect(key="rec_attendee").options if f"({other})" in o] == []   # not their site
    before = len(data.full_dataset(*data.data_key()).attendance)
    at.text_input(key="rec_event_name").input("Search test forum")
    at.button(key="rec_event_save").click().run()
    assert not at.exception, [e.value for e in at.exception]
    assert any("1 people checked in" in s.value for s in at.success), [e.value for e in at.error]
    assert len(data.full_dataset(*data.data_key()).attendance) == before + 1


def test_an_event_records_its_supports_checked_like_events_csv(store):
    ds = store.read()
    a, b = _at(ds, "S1", n=2)
    eid = records.save_event(store, COORD_S1, ds, name="Forum with childcare", kind="forum", when=date(2027, 4, 1),
                             site_id="S1", checkins={a: "attendee"}, supports=["translation", "childcare"])
    after = store.read()
    assert after.events.set_index("event_id").at[eid, "supports"] == "childcare;translation"
    # an unknown support is refused with the column named, and nothing is written
    counts = store.counts()
    with pytest.raises(records.RecordInvalid) as err:
        records.save_event(store, COORD_S1, after, name="x", kind="forum", when=date(2027, 4, 2), site_id="S1",
                           checkins={a: "attendee"}, supports=["babysitting"])
    assert err.value.problems[0].column == "supports" and "babysitting" in err.value.problems[0].message
    assert store.counts() == counts
    # an event already recorded: the supports are replaced, the rest of it stays
    records.save_event(store, COORD_S1, after, event_id=eid, checkins={b: "attendee"}, supports=["food"])
    ev = store.read().events.set_index("event_id").loc[eid]
    assert (ev["supports"], ev["name"], ev["date"], ev["site_id"]) == ("food", "Forum with childcare", "2027-04-01",
                                                                       "S1")
    att = store.read().attendance.query("event_id == @eid")
    assert set(att["person_id"]) == {a, b}
