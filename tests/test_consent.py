"""Consent: people without it are left out of evaluators' and funders' data, with every row about them."""
import csv
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))
from helpers_data import tiny_dataset  # noqa: E402
from neo4j_fixtures import neo4j_server, neo4j_store  # noqa: E402,F401

from graph.model import TABLES  # noqa: E402
from ingest.demo import generate_demo  # noqa: E402
from ingest.load import check_package, load_package  # noqa: E402
from queries.errors import QueryError  # noqa: E402
from queries.network import tie_network  # noqa: E402
from queries.privacy import for_audience, pseudonym, with_consent  # noqa: E402


def _dataset():
    """Y yes, N no (shares family F1 with Y), W withdrawn (alone in F2), E empty (alone in F3);
    teachers T (yes) and U (no)."""
    return tiny_dataset(
        people=[{"person_id": "Y", "name": "Yara", "family_id": "F1", "site_id": "S1", "consent": "yes"},
                {"person_id": "N", "name": "Noor", "family_id": "F1", "site_id": "S1", "consent": "no"},
                {"person_id": "W", "name": "Wim", "family_id": "F2", "site_id": "S1", "consent": "withdrawn"},
                {"person_id": "E", "name": "Emi", "family_id": "F3", "site_id": "S1", "consent": None},
                {"person_id": "T", "name": "Tess", "role": "teacher", "site_id": "S1", "consent": "yes"},
                {"person_id": "U", "name": "Uma", "role": "teacher", "site_id": "S1", "consent": "no"}],
        sites=[{"site_id": "S1", "name": "Riverside"}],
        cohorts=[{"cohort_id": "C1", "site_id": "S1"}],
        enrollments=[{"person_id": p, "cohort_id": "C1", "status": "graduated"} for p in "YNWE"],
        events=[{"event_id": "EV1", "kind": "forum", "site_id": "S1"}],
        attendance=[{"person_id": "Y", "event_id": "EV1"}, {"person_id": "W", "event_id": "EV1"}],
        ties=[{"from_person_id": "Y", "to_person_id": "E", "tie_type": "t1"},
              {"from_person_id": "Y", "to_person_id": "N", "tie_type": "t2"},      # names a non-consenting person
              {"from_person_id": "N", "to_person_id": "Y", "tie_type": "t3"},
              {"from_person_id": "W", "to_name": "Cousin Carla", "tie_type": "t4"},  # W's own unmatched name
              {"from_person_id": "Y", "to_name": "Aunt Bea", "tie_type": "t5"},
              {"from_person_id": "T", "to_person_id": "Y", "tie_type": "t6"},
              {"from_person_id": "E", "to_person_id": "T", "tie_type": "t7"}],
        schools=[{"school_id": "SC1"}],
        home_visits=[{"visit_id": "V1", "teacher_id": "T", "family_id": "F1"},     # F1 keeps Y
                     {"visit_id": "V2", "teacher_id": "T", "family_id": "F2"},     # all of F2 is out
                     {"visit_id": "V3", "teacher_id": "U", "family_id": "F1"},     # by a non-consenting teacher
                     {"visit_id": "V4", "teacher_id": "T", "family_id": "F3"}],    # E's family
        bodies=[{"body_id": "B1", "level": "city", "kind": "board"}],
        appointments=[{"person_id": "Y", "body_id": "B1", "seat": "member"},
                      {"person_id": "N", "body_id": "B1", "seat": "member"}],
        contacts=[{"id": "c1", "family_id": "F1"}, {"id": "c2", "family_id": "F2"}, {"id": "c3", "family_id": "F3"}])


def _snapshot(ds) -> dict:
    """Every row of every table, as comparable tuples."""
    out = {name: sorted(tuple(str(v) for v in row) for row in df.itertuples(index=False))
           for name, df in ds.tables.items()}
    out["contacts"] = sorted(tuple(str(v) for v in row) for row in ds.contacts.itertuples(index=False))
    return out


def _expect(ds, *, people, ties, enrollments, attendance, visits, appointments, contacts) -> dict:
    """The snapshot of `ds` with only the named rows kept in the person-related tables."""
    t = ds.tables
    people, enrollments, attendance, appointments = map(list, (people, enrollments, attendance, appointments))
    kept = dict(ds.tables)
    kept["people"] = t["people"][t["people"]["person_id"].isin(people)]
    kept["ties"] = t["ties"][t["ties"]["tie_type"].isin(ties)]
    kept["enrollments"] = t["enrollments"][t["enrollments"]["person_id"].isin(enrollments)]
    kept["attendance"] = t["attendance"][t["attendance"]["person_id"].isin(attendance)]
    kept["home_visits"] = t["home_visits"][t["home_visits"]["visit_id"].isin(visits)]
    kept["appointments"] = t["appointments"][t["appointments"]["person_id"].isin(appointments)]
    out = {name: sorted(tuple(str(v) for v in row) for row in df.itertuples(index=False)) for name, df in kept.items()}
    c = ds.contacts
    out["contacts"] = sorted(tuple(str(v) for v in row) for row in c[c["id"].isin(contacts)].itertuples(index=False))
    return out


def test_default_yes_keeps_the_empty_cell_and_drops_every_row_about_the_others():
    ds = _dataset()
    got = with_consent(ds)
    assert got.people["person_id"].tolist() == ["Y", "E", "T"]
    assert _snapshot(got) == _expect(ds, people="YET", ties=["t1", "t5", "t6", "t7"], enrollments="YE",
                                     attendance="Y", visits=["V1", "V4"], appointments="Y",
                                     contacts=["c1", "c3"])


def test_default_no_drops_the_empty_cell_too():
    ds = _dataset()
    got = with_consent(ds, default="no")
    assert got.people["person_id"].tolist() == ["Y", "T"]
    assert _snapshot(got) == _expect(ds, people="YT", ties=["t5", "t6"], enrollments="Y", attendance="Y",
                                     visits=["V1"], appointments="Y", contacts=["c1"])


def test_no_trace_of_a_removed_person_is_left():
    ds = _dataset()
    got = with_consent(ds)
    removed = {"N", "W", "U"}
    for name, df in got.tables.items():
        for col in df.columns:
            assert not set(df[col].dropna()) & removed, (name, col)
    assert "Cousin Carla" not in set(got.ties["to_name"].dropna())        # W's unmatched name went with W
    assert "F2" not in set(got.people["family_id"]) | set(got.home_visits["family_id"]) | set(got.contacts["family_id"])
    G = tie_network(got)
    assert not set(G.nodes) & removed and set(G.nodes) <= {"Y", "E", "T"}


def test_with_consent_matches_case_and_spaces_and_leaves_the_original_alone():
    ds = _dataset()
    before = _snapshot(ds)
    ds.people.loc[ds.people["person_id"] == "Y", "consent"] = " Yes "
    ds.people.loc[ds.people["person_id"] == "E", "consent"] = ""           # blank like empty
    got = with_consent(ds, default=" NO ")
    assert got.people["person_id"].tolist() == ["Y", "T"]
    ds.people.loc[ds.people["person_id"] == "Y", "consent"] = "yes"
    ds.people.loc[ds.people["person_id"] == "E", "consent"] = None
    assert _snapshot(ds) == before


def test_with_consent_when_everyone_consented_or_no_column():
    ds = _dataset()
    ds.people["consent"] = "yes"
    assert _snapshot(with_consent(ds)) == _snapshot(ds)
    no_column = tiny_dataset(people=[{"person_id": "A"}, {"person_id": "B"}],
                             ties=[{"from_person_id": "A", "to_person_id": "B"}])
    no_column.tables["people"] = no_column.people.drop(columns="consent")
    assert len(with_consent(no_column).people) == 2
    assert with_consent(no_column, default="no").people.empty and with_consent(no_column, default="no").ties.empty


@pytest.mark.parametrize("default", ["maybe", "", None])
def test_with_consent_rejects_an_unknown_default(default):
    with pytest.raises(QueryError, match="consent default"):
        with_consent(_dataset(), default=default)


@pytest.mark.parametrize("audience", ["evaluator", "funder"])
def test_evaluators_and_funders_do_not_see_people_without_consent(audience):
    ds = _dataset()
    got = for_audience(ds, audience, salt="s")
    assert sorted(got.people["person_id"]) == sorted(pseudonym(p, salt="s") for p in "YET")
    assert len(got.ties) == 4 and len(got.enrollments) == 2 and len(got.home_visits) == 2 and len(got.contacts) == 2
    stricter = for_audience(ds, audience, salt="s", consent_default="no")
    assert sorted(stricter.people["person_id"]) == sorted(pseudonym(p, salt="s") for p in "YT")


def test_coordinators_see_everyone():
    ds = _dataset()
    assert for_audience(ds, "coordinator") is ds
    assert for_audience(ds, "coordinator", consent_default="no") is ds
    assert len(ds.people) == 6


def _add_consent(folder: Path, values: dict[str, str]) -> None:
    """Add a consent column to people.csv, with `values` by person_id (others empty)."""
    path = folder / "people.csv"
    with open(path, newline="", encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    fields = list(rows[0].keys()) + ["consent"]
    with open(path, "w", newline="", encoding="utf-8") as f:
        w = csv.DictWriter(f, fieldnames=fields)
        w.writeheader()
        w.writerows([dict(r, consent=values.get(r["person_id"], "")) for r in rows])


def test_consent_is_an_optional_people_column():
    spec = TABLES["people"]
    assert "consent" in spec.columns and "consent" not in spec.required
    assert spec.enums["consent"] == ("yes", "no", "withdrawn") and "consent" not in spec.defaults


def test_a_package_without_consent_stays_valid(tiny_dir):
    pkg = check_package(tiny_dir)
    assert pkg.ok, pkg.problems
    assert all(r["consent"] is None for r in pkg.tables["people"])


def test_an_unknown_consent_value_is_a_problem(tiny_dir):
    _add_consent(tiny_dir, {"A": "yes", "B": "maybe", "C": "no"})
    pkg = check_package(tiny_dir)
    found = [(p.file, p.row, p.column, p.value) for p in pkg.problems]
    assert found == [("people.csv", 3, "consent", "maybe")]              # B is the second record: row 3
    assert "not an allowed value" in pkg.problems[0].message
    assert "yes, no, withdrawn" in pkg.problems[0].fix


def test_consent_values_ignore_case_and_spaces(tiny_dir):
    _add_consent(tiny_dir, {"A": " YES ", "B": "No", "C": "Withdrawn"})
    pkg = check_package(tiny_dir)
    assert pkg.ok, pkg.problems
    got = {r["person_id"]: r["consent"] for r in pkg.tables["people"]}
    assert (got["A"], got["B"], got["C"], got["D"]) == ("yes", "no", "withdrawn", None)


@pytest.mark.parametrize("which", ["sqlite", "neo4j"])
def test_consent_is_stored_and_read_back(tiny_dir, sqlite_store, which, request):
    store = sqlite_store if which == "sqlite" else request.getfixturevalue("neo4j_store")
    _add_consent(tiny_dir, {"A": "yes", "B": "no", "C": "withdrawn"})
    load_package(tiny_dir, store)
    people = store.read().people.set_index("person_id")
    assert people.loc[["A", "B", "C", "D"], "consent"].tolist() == ["yes", "no", "withdrawn", None]
    kept = with_consent(store.read())
    assert "B" not in set(kept.people["person_id"]) and "C" not in set(kept.people["person_id"])
    assert not {"B", "C"} & (set(kept.ties["from_person_id"]) | set(kept.ties["to_person_id"].dropna()))


def test_consent_gives_the_same_dataset_on_both_stores(tiny_dir, sqlite_store, neo4j_store):
    _add_consent(tiny_dir, {"A": "yes", "B": "no", "C": "withdrawn"})
    views = []
    for store in (sqlite_store, neo4j_store):
        load_package(tiny_dir, store)
        kept = with_consent(store.read())
        views.append({t: df.sort_values(list(df.columns)).reset_index(drop=True).to_dict("records")
                      for t, df in kept.tables.items()})
    assert views[0] == views[1]


def test_the_demo_has_a_few_parents_without_consent():
    people = generate_demo(300, seed=11)["people"]
    refusing = [p for p in people if p["consent"] != "yes"]
    assert {p["role"] for p in refusing} == {"parent"}
    assert {p["consent"] for p in refusing} == {"no", "withdrawn"}
    assert 0.01 < len(refusing) / 300 < 0.05
    assert refusing == [p for p in generate_demo(300, seed=11)["people"] if p["consent"] != "yes"]
