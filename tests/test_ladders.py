"""Ladders of engagement (queries/ladders.py) on hand-worked tiny datasets, with the shipped PLTI, PTHV and TPE
files; the ladder files' checks; the demo's three journeys; and what each role receives from the pathways
loaders (dashboard/pathways_data.py)."""
from __future__ import annotations

import math

import pandas as pd
import pytest

from graph.dataset import Dataset
from graph.model import TABLES
from queries import ladders as L
from queries.errors import QueryError
from queries.pipeline import funnel_by

SHIPPED = L.available_ladders()


def _ds(**tables) -> Dataset:
    def frame(table, rows):
        return pd.DataFrame(rows, columns=list(TABLES[table].columns), dtype=object)
    out = {t: frame(t, tables.get(t, [])) for t in TABLES}
    return Dataset(tables={t: df.where(df.notna(), None) for t, df in out.items()})


def _events(rows):
    """(event_id, kind, date) -> event rows."""
    return [{"event_id": e, "kind": k, "date": d, "site_id": "S1"} for e, k, d in rows]


def _att(rows):
    return [{"person_id": p, "event_id": e, "role": r} for p, e, r in rows]


# -- PTHV ---------------------------------------------------------------------------------------------------

def _pthv_ds() -> Dataset:
    """p1 climbs every rung; p2 stops at a school event; p3's school event came before the visit (does not
    count: stuck at visited); p4 facilitates and stops there; p5 was never visited (not on the ladder)."""
    people = [{"person_id": p, "role": "parent", "family_id": f"F{p}", "site_id": s, "primary_language": "English"}
              for p, s in (("p1", "S1"), ("p2", "S1"), ("p3", "S2"), ("p4", "S2"), ("p5", "S1"))]
    people.append({"person_id": "t", "role": "teacher", "site_id": "S1"})
    visits = [{"visit_id": f"V{p}", "teacher_id": "t", "family_id": f"F{p}", "school_id": sch, "visit_date": d}
              for p, d, sch in (("p1", "2021-01-01", "A"), ("p2", "2021-01-01", "A"), ("p3", "2021-06-01", "B"),
                                ("p4", "2021-03-01", "B"))]
    events = _events([("E1", "school_event", "2021-02-01"), ("E2", "school_event", "2021-01-15"),
                      ("E3", "school_event", "2021-05-01"), ("E4", "school_event", "2021-04-01"),
                      ("E5", "staff_workshop", "2021-03-01"), ("E6", "staff_workshop", "2021-04-15"),
                      ("E7", "trainer_certification", "2021-05-01")])
    attendance = _att([("p1", "E1", "attendee"), ("p1", "E5", "presenter"), ("p1", "E7", "attendee"),
                       ("p2", "E2", "attendee"), ("p3", "E3", "attendee"), ("p4", "E4", "attendee"),
                       ("p4", "E6", "facilitator"), ("p5", "E1", "attendee")])
    bodies = [{"body_id": "SC", "name": "School council", "level": "school", "kind": "council"}]
    appointments = [{"person_id": "p1", "body_id": "SC", "start_date": "2021-09-01"}]
    return _ds(people=people, home_visits=visits, events=events, attendance=attendance, bodies=bodies,
               appointments=appointments)


def test_pthv_counts_stuck_and_conversion_by_hand():
    c = L.stage_counts(_pthv_ds(), SHIPPED["pthv"])
    assert list(c["stage"]) == ["visited", "school_event", "led", "trainer", "seat"]
    assert list(c["reached"]) == [4, 3, 2, 1, 1]
    assert list(c["stuck"]) == [1, 1, 1, 0, 1]
    assert math.isnan(c["conversion"].iloc[0])
    assert list(c["conversion"].iloc[1:]) == pytest.approx([3 / 4, 2 / 3, 1 / 2, 1.0])


def test_pthv_by_site_and_school():
    by_site = L.stage_counts(_pthv_ds(), SHIPPED["pthv"], by="site")
    wide = by_site.pivot(index="group", columns="stage", values="reached")
    assert wide.loc["S1", ["visited", "school_event", "led", "trainer", "seat"]].tolist() == [2, 2, 1, 1, 1]
    assert wide.loc["S2", ["visited", "school_event", "led", "trainer", "seat"]].tolist() == [2, 1, 1, 0, 0]
    by_school = L.stage_counts(_pthv_ds(), SHIPPED["pthv"], by="school")     # the schools of the home visits
    assert set(by_school["group"]) == {"A", "B"}
    assert by_site.groupby("stage")["reached"].sum().to_dict() == \
        L.stage_counts(_pthv_ds(), SHIPPED["pthv"]).set_index("stage")["reached"].to_dict()


def test_pthv_time_between_stages_with_censoring():
    km = L.time_between(_pthv_ds(), SHIPPED["pthv"], transitions=[("visited", "school_event")], as_of="2022-01-01")
    # p2 moves on day 14, p1 and p4 on day 31; p3 waits 214 days and is censored
    assert km["timeline"].tolist() == [0.0, 14.0, 31.0, 214.0]
    assert km["survival"].tolist() == pytest.approx([1.0, 0.75, 0.25, 0.25])
    assert km["at_risk"].tolist() == [4, 4, 3, 1]
    assert km["median_days"].iloc[0] == 31.0
    assert (km["started"].iloc[0], km["moved"].iloc[0]) == (4, 3)


def test_time_between_counts_a_later_move_as_not_yet():
    km = L.time_between(_pthv_ds(), SHIPPED["pthv"], transitions=[("visited", "school_event")], as_of="2021-01-20")
    # as of Jan 20 only p2 has moved; p3 and p4 were visited later and are left out
    assert (km["started"].iloc[0], km["moved"].iloc[0]) == (2, 1)
    with pytest.raises(QueryError, match="not a stage above"):
        L.time_between(_pthv_ds(), SHIPPED["pthv"], transitions=[("led", "visited")])


def test_pthv_who_is_stuck():
    s = L.stuck(_pthv_ds(), SHIPPED["pthv"], as_of="2022-01-01")
    assert s[["person_id", "stage", "days_at_stage"]].values.tolist() == [
        ["p3", "visited", 214], ["p2", "school_event", 351], ["p4", "led", 261]]
    assert s["next_stage"].tolist() == ["Came to a school event", "Presented or facilitated", "Certified trainer"]


# -- PLTI --------------------------------------------------------------------------------------------------

def _plti_ds() -> Dataset:
    """a: graduates, forum, seat. b: graduates, seat without civic activity first. c: graduates, forum before
    enrolling (does not count). d: withdraws. e: enrolled in a TPE cohort only (not on the PLTI ladder)."""
    people = [{"person_id": p, "role": "parent", "family_id": f"F{p}", "site_id": "S1"} for p in "abcde"]
    cohorts = [{"cohort_id": "C1", "program": "PLTI", "site_id": "S1", "start_date": "2020-01-10",
                "end_date": "2020-06-01"},
               {"cohort_id": "T1", "program": "TPE", "site_id": "S1", "start_date": "2020-01-10"}]
    enr = [{"person_id": p, "cohort_id": "C1", "status": s, "enrolled_on": "2020-01-01",
            "completed_on": "2020-06-01" if s == "graduated" else None}
           for p, s in (("a", "graduated"), ("b", "graduated"), ("c", "graduated"), ("d", "withdrawn"))]
    enr.append({"person_id": "e", "cohort_id": "T1", "status": "graduated", "enrolled_on": "2020-01-01",
                "completed_on": "2020-06-01"})
    events = _events([("E1", "forum", "2020-07-01"), ("E0", "forum", "2019-06-01")])
    attendance = _att([("a", "E1", "attendee"), ("c", "E0", "attendee")])
    bodies = [{"body_id": "B", "name": "Board", "level": "district", "kind": "board"}]
    appointments = [{"person_id": "a", "body_id": "B", "start_date": "2020-09-01"},
                    {"person_id": "b", "body_id": "B", "start_date": "2020-10-01"}]
    return _ds(people=people, cohorts=cohorts, enrollments=enr, events=events, attendance=attendance,
               bodies=bodies, appointments=appointments)


def test_plti_ladder_by_hand_and_against_the_pipeline():
    ds = _plti_ds()
    c = L.stage_counts(ds, SHIPPED["plti"]).set_index("stage")
    assert c["reached"].to_dict() == {"enrolled": 4, "graduated": 3, "civic": 1, "seat": 1}
    assert c["stuck"].to_dict() == {"enrolled": 1, "graduated": 2, "civic": 0, "seat": 1}
    # the pipeline counts every program's cohorts and seats without civic activity first (b): the ladder, by
    # its file, only PLTI cohorts and a seat after civic activity
    f = funnel_by(ds).iloc[0]
    assert (f["enrolled"], f["graduated"], f["civic"], f["appointed"]) == (5, 4, 1, 2)
    km = L.time_between(ds, SHIPPED["plti"], transitions=[("enrolled", "graduated")], as_of="2021-01-01")
    assert km["timeline"].tolist() == [0.0, 152.0, 366.0]     # three graduate on day 152; d waits to as_of
    assert km["survival"].tolist() == pytest.approx([1.0, 0.25, 0.25])


# -- TPE ---------------------------------------------------------------------------------------------------

def _tpe_ds() -> Dataset:
    """q1 volunteers, then adult education, leads a staff workshop and takes a seat; q2 organizes, then takes a
    seat without leading; q3 (low income) adult education only; q4 volunteers and starts a curriculum project
    the same day; q5 (Spanish) takes no pathway."""
    people = [{"person_id": p, "role": "parent", "family_id": f"F{p}", "site_id": "S1", "primary_language": lang,
               "income_band": inc}
              for p, lang, inc in (("q1", "English", "middle"), ("q2", "Spanish", "middle"), ("q3", "English", "low"),
                                   ("q4", "English", "middle"), ("q5", "Spanish", "middle"))]
    events = _events([("V1", "volunteering", "2021-01-10"), ("A1", "adult_education", "2021-03-01"),
                      ("W1", "staff_workshop", "2021-05-01"), ("O1", "organizing", "2021-02-01"),
                      ("A2", "adult_education", "2021-01-05"), ("C1", "curriculum_project", "2021-02-10"),
                      ("V2", "volunteering", "2021-02-10")])
    attendance = _att([("q1", "V1", "attendee"), ("q1", "A1", "attendee"), ("q1", "W1", "presenter"),
                       ("q2", "O1", "attendee"), ("q3", "A2", "attendee"), ("q4", "C1", "attendee"),
                       ("q4", "V2", "attendee")])
    bodies = [{"body_id": "SC", "name": "School council", "level": "school", "kind": "council"}]
    appointments = [{"person_id": "q1", "body_id": "SC", "start_date": "2021-08-01"},
                    {"person_id": "q2", "body_id": "SC", "start_date": "2021-04-01"}]
    return _ds(people=people, events=events, attendance=attendance, bodies=bodies, appointments=appointments)


def test_tpe_sequences_first_second_pathway():
    s = L.pathway_sequences(_tpe_ds(), SHIPPED["tpe"])
    assert dict(zip(s["person_id"], s["sequence"])) == {
        "q1": ("volunteering", "adult_education"), "q2": ("organizing",), "q3": ("adult_education",),
        "q4": ("volunteering", "curriculum_project")}        # same day: the file's order decides
    t = L.sequence_table(_tpe_ds(), SHIPPED["tpe"]).set_index("sequence")
    assert t.loc["Volunteering in a classroom → Adult education or leadership training", ["parents", "lead", "seat"]] \
        .tolist() == [1, 1, 1]
    assert t.loc["Organizing school events", ["parents", "lead", "seat"]].tolist() == [1, 0, 1]
    assert t["parents"].sum() == 4


def test_tpe_sankey_flows():
    flows = set(L.sequence_flows(_tpe_ds(), SHIPPED["tpe"]))
    assert flows == {
        ("1st: Volunteering in a classroom", "2nd: Adult education or leadership training", 1),
        ("2nd: Adult education or leadership training", "Led and took a seat", 1),
        ("1st: Volunteering in a classroom", "2nd: A curriculum project", 1),
        ("2nd: A curriculum project", "Not leading yet", 1),
        ("1st: Organizing school events", "Took a seat", 1),
        ("1st: Adult education or leadership training", "Not leading yet", 1)}


def test_tpe_which_pathways_precede_leading_or_a_seat():
    b = L.pathways_before(_tpe_ds(), SHIPPED["tpe"]).set_index(["outcome", "pathway"])
    assert b.loc["lead", ["parents", "went_on", "reached_outcome"]].values.tolist() == [
        [2, 1, 1], [1, 0, 1], [2, 1, 1], [1, 0, 1]]          # volunteering, organizing, adult ed, curriculum
    assert b.loc[("seat", "organizing"), "share_of_outcome"] == 0.5    # q2 of the two seated
    assert b.loc[("seat", "volunteering"), "went_on"] == 1 and b.loc[("seat", "curriculum_project"), "went_on"] == 0


def test_tpe_reach_of_under_involved_groups():
    r = L.pathway_reach(_tpe_ds(), SHIPPED["tpe"]).set_index("pathway")
    # under-involved: q2, q5 (Spanish) and q3 (low income): 3 of the school's 5 parents
    assert (r["school_parents"].iloc[0], r["school_under_involved"].iloc[0]) == (5, 3)
    assert r.loc["volunteering", ["parents", "under_involved"]].tolist() == [2, 0]
    assert r.loc["organizing", "share"] == 1.0 and r.loc["organizing", "ratio"] == pytest.approx(1 / 0.6)
    assert r.loc["adult_education", "share"] == 0.5


def test_tpe_ladder_counts():
    c = L.stage_counts(_tpe_ds(), SHIPPED["tpe"]).set_index("stage")
    assert c["reached"].to_dict() == {"pathway": 4, "lead": 1, "seat": 1}   # q2's seat came without leading
    assert c["stuck"].to_dict() == {"pathway": 3, "lead": 0, "seat": 1}


# -- two generations ------------------------------------------------------------------------------------------

def test_two_generation_comparison_by_hand():
    """Fa: parent graduates and is seated, child in the children's track. Fb: parent graduates, child never in
    the track. Fc: parent withdraws, no child. Fd: child in the track but no parent in a PLTI cohort."""
    people = [{"person_id": p, "role": r, "family_id": f, "site_id": "S1"}
              for p, r, f in (("a", "parent", "Fa"), ("ka", "child", "Fa"), ("b", "parent", "Fb"),
                              ("kb", "child", "Fb"), ("c", "parent", "Fc"), ("kd", "child", "Fd"))]
    cohorts = [{"cohort_id": "C1", "program": "PLTI", "site_id": "S1", "start_date": "2020-01-10"}]
    enr = [{"person_id": p, "cohort_id": "C1", "status": s, "enrolled_on": "2020-01-01",
            "completed_on": "2020-06-01" if s == "graduated" else None}
           for p, s in (("a", "graduated"), ("b", "graduated"), ("c", "withdrawn"))]
    events = _events([("K1", "children_track", "2020-02-01"), ("F1", "forum", "2020-07-01")])
    attendance = _att([("ka", "K1", "attendee"), ("kd", "K1", "attendee"), ("a", "F1", "attendee"),
                       ("b", "F1", "attendee")])
    bodies = [{"body_id": "B", "name": "Board", "level": "district", "kind": "board"}]
    ds = _ds(people=people, cohorts=cohorts, enrollments=enr, events=events, attendance=attendance, bodies=bodies,
             appointments=[{"person_id": "a", "body_id": "B", "start_date": "2020-09-01"}])
    t = L.two_generation(ds).set_index("group")
    assert t.loc["both", ["families", "parents", "graduated", "civic", "seated"]].tolist() == [1, 1, 1, 1, 1]
    assert t.loc["parent_only", ["families", "parents", "graduated", "civic", "seated"]].tolist() == [2, 2, 1, 1, 0]
    assert t.loc["parent_only", "graduation_rate"] == 0.5 and t.loc["both", "seat_rate"] == 1.0
    assert t.loc["parent_only", "events_per_parent"] == 0.5


# -- ladder files -------------------------------------------------------------------------------------------

def test_shipped_ladders_load():
    assert set(SHIPPED) == {"plti", "pthv", "tpe"}
    assert [s.id for s in SHIPPED["pthv"].stages] == ["visited", "school_event", "led", "trainer", "seat"]
    assert len(SHIPPED["tpe"].pathways) == 4 and [o.id for o in SHIPPED["tpe"].outcomes] == ["lead", "seat"]


@pytest.mark.parametrize("text,problem", [
    ('id = "x"\nname = "X"\n[[stages]]\nid = "a"\nreached_by = [{ source = "attended", kinds = ["picnic"] }]',
     "stages[1].reached_by[1].kinds: 'picnic' is not one of"),
    ('id = "x"\nname = "X"\n[[stages]]\nid = "a"\nreached_by = [{ source = "home_visit" }]\n'
     '[[stages]]\nid = "b"\nafter = "c"\nreached_by = [{ source = "appointed" }]', "stages[2].after: 'c'"),
    ('id = "x"\nname = "X"\nstagez = []', "stagez: unknown key"),
    ('id = "x"\nname = "X"\n[[stages]]\nid = "a"\nreached_by = [{ source = "home_visit", levels = ["city"] }]',
     "levels: only for source appointed"),
    ('id = "x"\nname = "X"\n[[stages]]\nid = "a"\n', "stages[1].reached_by: give at least one record"),
    ('id = "x"\nname = \n', "not valid TOML"),
])
def test_a_broken_ladder_file_says_where_and_what(tmp_path, text, problem):
    path = tmp_path / "mine.toml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(L.LadderError) as e:
        L.available_ladders(tmp_path)
    assert str(path) in str(e.value) and problem in str(e.value)


def test_a_program_adds_or_replaces_a_ladder_with_its_own_file(tmp_path):
    (tmp_path / "homework.toml").write_text(
        'id = "homework"\nname = "Homework club"\n[[stages]]\nid = "came"\nlabel = "Came"\n'
        'reached_by = [{ source = "attended", kinds = ["school_event"] }]\n'
        '[[stages]]\nid = "led"\nlabel = "Led"\nreached_by = [{ source = "attended", roles = ["presenter", "facilitator"] }]\n',
        encoding="utf-8")
    (tmp_path / "pthv.toml").write_text(
        'id = "pthv"\nname = "Our PTHV"\n[[stages]]\nid = "visited"\nreached_by = [{ source = "home_visit" }]\n',
        encoding="utf-8")
    found = L.available_ladders(tmp_path, tmp_path / "missing")
    assert set(found) == {"plti", "pthv", "tpe", "homework"} and found["pthv"].name == "Our PTHV"
    c = L.stage_counts(_pthv_ds(), found["homework"]).set_index("stage")["reached"].to_dict()
    assert c == {"came": 5, "led": 2}       # p5 came to a school event without a visit; p1 presented, p4 led


def test_unknown_grouping_is_refused():
    with pytest.raises(QueryError, match="cannot group a ladder"):
        L.stage_counts(_pthv_ds(), SHIPPED["pthv"], by="shoe_size")


# -- the demo ---------------------------------------------------------------------------------------------

def test_the_demo_has_all_three_journeys(demo_dir, sqlite_store):
    from ingest.load import load_package
    load_package(demo_dir, sqlite_store)
    ds = sqlite_store.read()
    pthv = L.stage_counts(ds, SHIPPED["pthv"]).set_index("stage")["reached"]
    assert pthv["visited"] > pthv["school_event"] > pthv["led"] > pthv["trainer"] > 0
    seqs = L.pathway_sequences(ds, SHIPPED["tpe"])
    assert (seqs["sequence"].map(len) >= 2).sum() >= 5 and seqs["lead"].notna().any()
    two = L.two_generation(ds).set_index("group")
    assert {"both", "parent_only"} <= set(two.index) and two.loc["both", "families"] > 0
    assert (ds.attendance["role"] == "trainer").any()


# -- what each role receives -------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def demo_store_uri(tmp_path_factory):
    from graph.store import SQLiteStore
    from ingest.demo import write_demo
    from ingest.load import load_package
    folder = tmp_path_factory.mktemp("pathways")
    write_demo(folder / "pkg", parents=300, seed=11)
    with SQLiteStore(folder / "s.sqlite") as store:
        load_package(folder / "pkg", store)
        uri = store.uri
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("CIVICTIES_STORE", uri)
        mp.setenv("CIVICTIES_MIN_COUNT", "10")
        mp.setenv("CIVICTIES_PSEUDONYM_SALT", "ladders")
        mp.setenv("CIVICTIES_DATA_DIR", str(folder / "data"))
        yield uri


_COUNT_COLUMNS = {"reached", "stuck", "parents", "went_on", "reached_outcome", "under_involved", "school_parents",
                  "school_under_involved", "families", "graduated", "civic", "seated", "lead", "seat", "people"}


def test_a_funder_gets_no_count_below_the_threshold(demo_store_uri):
    from dashboard import pathways_data as pw
    from dashboard.accounts import Principal
    tables = pw.funder_tables(Principal(username="f", role="funder"))
    names = {n for n, _ in tables}
    assert {"pthv overall", "tpe sequences", "plti two generations", "tpe by neighborhood"} <= names
    hidden = 0
    for name, df in tables:
        assert "person_id" not in df and "name" not in df and "family_id" not in df, name
        for col in _COUNT_COLUMNS & set(df.columns):
            for v in df[col]:
                if isinstance(v, str):
                    assert v in ("<10", "suppressed"), (name, col, v)
                    hidden += 1
                else:
                    assert v == 0 or v >= 10, (name, col, v)
    assert hidden, "the demo has small counts to hide"
    view = pw.load_ladder_view(Principal(username="f", role="funder"), "pthv", "site")
    assert view["stuck"] is None
    assert "at_risk" not in view["km"] and "started" not in view["km"]


def test_a_funder_cannot_recover_a_hidden_stage_count(demo_store_uri):
    """The attacker: every published stage count and total, reached = stuck + next stage's reached, and the
    groups of a partition adding up to the overall counts; every hidden small count keeps an interval >= k."""
    from dashboard import pathways_data as pw
    from dashboard.accounts import Principal
    from queries.disclosure import audit
    funder, truth_p = Principal(username="f", role="funder"), Principal(username="e", role="evaluator")
    failures = []
    for lid in ("plti", "pthv", "tpe"):
        for by in ("site", "race_ethnicity", "neighborhood"):
            shown, truth = pw.load_ladder_view(funder, lid, by), pw.load_ladder_view(truth_p, lid, by)
            values, true, eqs = {}, {}, []
            for prefix, s_df, t_df in (("g", shown["by"], truth["by"]), ("t", shown["overall"], truth["overall"])):
                for (_, s), (_, t) in zip(s_df.iterrows(), t_df.iterrows()):
                    for kind in ("reached", "stuck"):
                        cell = (prefix, t["group"], t["order"], kind)
                        values[cell] = None if isinstance(s[kind], str) else float(s[kind])
                        true[cell] = int(t[kind])
            n = int(truth["overall"]["order"].max()) + 1
            for prefix, df in (("g", truth["by"]), ("t", truth["overall"])):
                for g in df["group"].unique():
                    for o in range(n):
                        eq = {(prefix, g, o, "reached"): 1.0, (prefix, g, o, "stuck"): -1.0}
                        if o + 1 < n:
                            eq[(prefix, g, o + 1, "reached")] = -1.0
                        eqs.append(eq)
            for o in range(n):
                for kind in ("reached", "stuck"):
                    eqs.append({**{c: 1.0 for c in values if c[0] == "g" and c[2] == o and c[3] == kind},
                                ("t", "All", o, kind): -1.0})
            targets = [c for c, v in values.items() if v is None and 1 <= true[c] < 10]
            for c, (lo, hi) in audit(values, eqs, targets).items():
                if hi - lo < 10:
                    failures.append(f"{lid} by {by} {c} (true {true[c]}) narrowed to [{lo:g}, {hi:g}]")
    assert not failures, failures[:5]


def test_a_coordinator_sees_only_their_sites(demo_store_uri):
    from dashboard import pathways_data as pw
    from dashboard.accounts import Principal
    from graph.store import open_store
    coordinator = Principal(username="c", role="coordinator", sites=("S1",))
    with open_store(demo_store_uri) as store:
        people = store.read().people
    s1 = set(people.loc[people["site_id"] == "S1", "person_id"])
    for lid in ("plti", "pthv", "tpe"):
        view = pw.load_ladder_view(coordinator, lid, "site")
        assert set(view["by"]["group"]) <= {"S1"}
        stuck = view["stuck"]
        assert len(stuck) and set(stuck["person_id"]) <= s1 and set(stuck["site_id"]) == {"S1"}
        assert stuck["name"].notna().all()
    # an evaluator's stuck list has pseudonyms, never a real id or a name
    evaluator = pw.load_ladder_view(Principal(username="e", role="evaluator"), "pthv", "site")["stuck"]
    assert len(evaluator) and not set(evaluator["person_id"]) & set(people["person_id"])
    assert "name" not in evaluator


# -- the page ---------------------------------------------------------------------------------------------

@pytest.mark.parametrize("role", ["coordinator", "funder"])
def test_pipeline_page_shows_each_program(app_store_uri, role):
    import sys
    from pathlib import Path
    sys.path.insert(0, str(Path(__file__).parent))
    from app_session import open_page
    at = open_page("pipeline", role)
    assert not at.exception
    for program in ("pthv", "tpe", "plti"):
        at.selectbox(key="pipeline_program").set_value(program).run()
        assert not at.exception, (program, at.exception)
        assert any(h.value.startswith(("PTHV", "TPE", "PLTI")) for h in at.header), program
        assert len(at.get("plotly_chart")) >= 2
