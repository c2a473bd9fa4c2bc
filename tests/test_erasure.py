"""Erasure on request (`civicties erase`, docs/erasure.md), on both stores: the SQLite file and a real Neo4j
server (tests/neo4j_fixtures.py: skipped without one, failed in CI).

The same scenario runs on each store: the demo network, then a parent, a family or a teacher erased. What must
hold: every row that references them is gone and every other row is still there (the tables read back equal
the old ones less exactly those rows); the SQLite files and the Neo4j properties hold none of the person's name,
email, phone or id; an unknown id, a missing --yes and a dry run change nothing; the audit log records that an
erasure happened and not whom; and both stores remove the same counts.
"""
from __future__ import annotations

import io
import json
import sqlite3
import sys
from collections import defaultdict
from contextlib import redirect_stderr, redirect_stdout
from pathlib import Path

import pytest

from civicties.cli import main as cli_main
from graph.model import EdgeRecord, GraphRecords
from graph.store import SQLiteStore, UnknownIdError
from ingest.demo import write_demo
from ingest.load import load_package

sys.path.insert(0, str(Path(__file__).parent))
from neo4j_fixtures import admin_driver, neo4j_server, neo4j_store  # noqa: E402,F401

# Which columns of each table hold a person's id and a family's id: a row goes when one of them is erased.
PERSON_COLUMNS = {"people": ("person_id",), "ties": ("from_person_id", "to_person_id"), "attendance": ("person_id",),
                  "enrollments": ("person_id",), "appointments": ("person_id",), "home_visits": ("teacher_id",)}
FAMILY_COLUMNS = {"home_visits": ("family_id",), "contacts": ("family_id",)}


@pytest.fixture(scope="module")
def demo150(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("demo150")
    write_demo(out, parents=150)
    return out


@pytest.fixture(params=["sqlite", "neo4j"])
def store(request, tmp_path, demo150):
    """A store of each kind holding the 150-parent demo."""
    if request.param == "sqlite":
        s = SQLiteStore(tmp_path / "store.sqlite")
        load_package(demo150, s)
        _checkpoint(s.path)
        yield s
        s.close()
    else:
        s = request.getfixturevalue("neo4j_store")
        load_package(demo150, s)
        yield s


def _checkpoint(path: Path) -> None:
    """Copy the WAL into the database file, as SQLite does on its own once the WAL grows: the data loaded long
    ago lives in the file, where deleting a row leaves its bytes unless the erasure overwrites them."""
    conn = sqlite3.connect(path)
    try:
        assert conn.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()[0] == 0
    finally:
        conn.close()


# -- what an erasure must remove, worked out from the tables -------------------------------------------------

def _tables(store) -> dict[str, list[dict]]:
    ds = store.read()
    out = {name: frame.to_dict("records") for name, frame in ds.tables.items()}
    out["contacts"] = ds.contacts.to_dict("records")
    return out


def _members(tables) -> dict[str, set[str]]:
    members = defaultdict(set)
    for p in tables["people"]:
        if p.get("family_id"):
            members[p["family_id"]].add(p["person_id"])
    return members


def _erased(tables, people, families) -> tuple[set[str], set[str]]:
    """The people and families an erasure removes: those named, the members of the families named, and a
    family whose last member goes."""
    members = _members(tables)
    people = set(people) | {p for f in families for p in members[f]}
    families = set(families) | {f for f, m in members.items() if m <= people}
    return people, families


def _kept(tables, people, families) -> dict[str, list[dict]]:
    """The rows that reference none of the erased people and families."""
    def keep(name, row):
        return (not any(row.get(c) in people for c in PERSON_COLUMNS.get(name, ()))
                and not any(row.get(c) in families for c in FAMILY_COLUMNS.get(name, ())))
    return {name: [r for r in rows if keep(name, r)] for name, rows in tables.items()}


def _canonical(tables) -> dict[str, list[str]]:
    return {name: sorted(json.dumps(r, sort_keys=True, default=str) for r in rows) for name, rows in tables.items()}


def _a_parent_to_erase(tables) -> dict:
    """A parent with ties, attendance, an enrollment and home visits (to their family, of which they are the only
    member, so the visits go with them), whose name, email, phone and id appear in no row that stays: finding
    one of them in the store afterwards would be a leak."""
    in_ties = {t["from_person_id"] for t in tables["ties"]} | {t["to_person_id"] for t in tables["ties"]}
    attended = {a["person_id"] for a in tables["attendance"]}
    enrolled = {e["person_id"] for e in tables["enrollments"]}
    visited = {v["family_id"] for v in tables["home_visits"]}
    members = _members(tables)
    for p in sorted(tables["people"], key=lambda p: p["person_id"]):
        pid = p["person_id"]
        if not (p["role"] == "parent" and pid in in_ties and pid in attended and pid in enrolled
                and p["family_id"] in visited and members[p["family_id"]] == {pid}):
            continue
        kept = json.dumps(_kept(tables, *_erased(tables, {pid}, set())), ensure_ascii=False, default=str)
        if all(v and v not in kept for v in _personal(p)):
            return p
    pytest.fail("the demo has no parent to erase with ties, attendance, an enrollment and visits: has "
                "ingest/demo.py changed?")


def _personal(person: dict) -> list[str]:
    return [person["name"], person["email"], person["phone"], person["person_id"]]


def _counts_drop(before: dict[str, int], after: dict[str, int]) -> dict[str, int]:
    return {k: before.get(k, 0) - after.get(k, 0) for k in sorted(set(before) | set(after))
            if before.get(k, 0) != after.get(k, 0)}


# -- where an erased value could still be ----------------------------------------------------------------------

def _leftovers(store, values: list[str]) -> list[str]:
    """The values still found in the store: in the bytes of the SQLite file and its WAL, or in any property of
    any node or relationship of the Neo4j database (accounts and the audit log included)."""
    if isinstance(store, SQLiteStore):
        files = [Path(f"{store.path}{suffix}") for suffix in ("", "-wal")]
        data = b"".join(f.read_bytes() for f in files if f.exists())
        return [v for v in values if v.encode("utf-8") in data]
    with admin_driver() as driver:
        texts = []
        for query in ("MATCH (n) RETURN properties(n) AS p", "MATCH ()-[r]->() RETURN properties(r) AS p"):
            records, _, _ = driver.execute_query(query, database_=store.database)
            texts += [json.dumps(rec["p"], ensure_ascii=False, default=str) for rec in records]
    everything = "\n".join(texts)
    return [v for v in values if v in everything]


def _cli(*args) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    with redirect_stdout(out), redirect_stderr(err):
        code = cli_main(list(args))
    return code, out.getvalue(), err.getvalue()


# -- the tests ---------------------------------------------------------------------------------------------------

def test_erasing_a_parent_removes_them_and_everything_of_theirs(store):
    before, counts = _tables(store), store.counts()
    parent = _a_parent_to_erase(before)
    pid = parent["person_id"]
    assert _leftovers(store, _personal(parent)) == _personal(parent)          # the search finds them before
    code, out, err = _cli("erase", "--store", store.uri, "--person", pid, "--yes", "--json")
    assert code == 0, err
    result = json.loads(out)
    after = _tables(store)
    people, families = _erased(before, {pid}, set())
    assert people == {pid} and families == {parent["family_id"]}
    assert _canonical(after) == _canonical(_kept(before, people, families))
    # gone: the person, ties given and received, attendance, enrollment, visits to their family
    assert not any(pid in (t["from_person_id"], t["to_person_id"]) for t in after["ties"])
    assert not [v for v in after["home_visits"] if v["family_id"] == parent["family_id"]]
    for name in ("ties", "attendance", "enrollments", "home_visits"):
        assert len(after[name]) < len(before[name]), name
    # the store says what it removed, and that is exactly what the counts lost
    assert result["removed"] == _counts_drop(counts, store.counts())
    assert result["removed"]["Person"] == 1 and result["removed"]["Family"] == 1
    assert result["rows"] == sum(result["removed"].values()) and not result["dry_run"]
    assert _leftovers(store, _personal(parent)) == []
    # the audit log says that an erasure happened, how big, by whom; never whom it erased
    log = store.read_audit(action="erasure")
    assert len(log) == 1 and log[0]["target"] == "person" and log[0]["rows"] == result["rows"]
    assert log[0]["actor"].startswith("cli:")
    assert not [v for v in _personal(parent) + [parent["family_id"]] if v in json.dumps(store.read_audit())]


def test_erasing_a_family_removes_all_its_members_and_visits_to_it(store):
    tables = _tables(store)
    members = _members(tables)
    visited = {v["family_id"] for v in tables["home_visits"]}
    family = next(f for f in sorted(members) if len(members[f]) >= 3 and f in visited)
    other = next(f for f in sorted(members) if f != family)
    store.add_contact(family, "2024-03-01", "called about the forum")
    store.add_contact(other, "2024-03-02", "left a message")
    before, counts = _tables(store), store.counts()
    removed = store.erase([], [family])
    after = _tables(store)
    people, families = _erased(before, set(), {family})
    assert people == members[family] and families == {family}
    assert _canonical(after) == _canonical(_kept(before, people, families))
    assert not [p for p in after["people"] if p["family_id"] == family]
    assert not [v for v in after["home_visits"] if v["family_id"] == family]
    assert [c["family_id"] for c in after["contacts"]] == [other]
    assert removed == _counts_drop(counts, store.counts())
    assert removed["Person"] == len(members[family]) and removed["Family"] == 1 and removed["Contact"] == 1
    assert removed["VISITED"] == len([v for v in before["home_visits"] if v["family_id"] == family])


def test_erasing_a_teacher_removes_their_visits_and_keeps_the_families(store):
    before, counts = _tables(store), store.counts()
    teacher = sorted(v["teacher_id"] for v in before["home_visits"])[0]
    removed = store.erase([teacher], [])
    after = _tables(store)
    assert _canonical(after) == _canonical(_kept(before, {teacher}, set()))
    assert not [v for v in after["home_visits"] if v["teacher_id"] == teacher]
    assert "Family" not in removed and removed == _counts_drop(counts, store.counts())


def test_an_unmatched_name_goes_with_the_last_person_who_named_it(store):
    nodes, edges = store.read_rows()
    named = edges["NAMED"][0]
    name_ids = {n["to_name"]: n["id"] for n in nodes["UnmatchedName"]}
    first = named["from_person_id"]
    second = next(p["id"] for p in nodes["Person"] if p["id"] != first and p.get("role") == "parent")
    tie = dict(named, from_person_id=second)
    store.write(GraphRecords(edges=[EdgeRecord("NAMED", "Person", second, "UnmatchedName",
                                               name_ids[named["to_name"]], f"{second}\x1fextra", tie)]))
    assert "UnmatchedName" not in store.erase([first], [])                  # someone else named it too: it stays
    assert name_ids[named["to_name"]] in {n["id"] for n in store.read_rows()[0]["UnmatchedName"]}
    removed = store.erase([second], [])
    assert removed["UnmatchedName"] == 1 and removed["NAMED"] == 1
    assert name_ids[named["to_name"]] not in {n["id"] for n in store.read_rows()[0].get("UnmatchedName", [])}


def test_an_unknown_id_is_refused_and_nothing_changes(store):
    parent = _a_parent_to_erase(_tables(store))
    rows, counts = store.read_rows(), store.counts()
    with pytest.raises(UnknownIdError, match="no person with id 'P999999'.*nothing was changed"):
        store.erase([parent["person_id"], "P999999"], [])
    with pytest.raises(UnknownIdError, match="no family with id 'F999999'"):
        store.erase([], [parent["family_id"], "F999999"])
    code, _out, err = _cli("erase", "--store", store.uri, "--person", parent["person_id"], "--family", "nope",
                           "--yes")
    assert code == 2 and "no family with id 'nope'" in err and "nothing was changed" in err
    assert store.read_rows() == rows and store.counts() == counts
    assert store.read_audit(action="erasure") == []


def test_a_dry_run_and_a_missing_yes_write_nothing(store):
    parent = _a_parent_to_erase(_tables(store))
    rows, counts = store.read_rows(), store.counts()
    code, out, err = _cli("erase", "--store", store.uri, "--person", parent["person_id"], "--dry-run", "--json")
    assert code == 0, err
    planned = json.loads(out)
    assert planned["dry_run"] and planned["removed"]["Person"] == 1
    code, out, _ = _cli("erase", "--store", store.uri, "--person", parent["person_id"], "--dry-run")
    assert code == 0 and "Nothing was changed" in out and parent["name"] not in out
    code, _out, err = _cli("erase", "--store", store.uri, "--person", parent["person_id"])
    assert code == 2 and "--yes" in err and "nothing was changed" in err
    assert _cli("erase", "--store", store.uri, "--yes")[0] == 2                       # naming no one
    assert store.read_rows() == rows and store.counts() == counts
    assert store.read_audit(action="erasure") == []
    # what the dry run promised is what the erasure does
    assert store.erase([parent["person_id"]], []) == planned["removed"]


def test_both_stores_remove_the_same(tmp_path, demo150, neo4j_store):
    sqlite = SQLiteStore(tmp_path / "parity.sqlite")
    try:
        stores = (sqlite, neo4j_store)
        for s in stores:
            load_package(demo150, s)
        tables = _tables(sqlite)
        members = _members(tables)
        parent = _a_parent_to_erase(tables)
        families = [f for f in sorted(members) if f != parent["family_id"]]
        two = sorted(members[families[2]])[:2]                  # two people of a family, then another family
        for request in (([parent["person_id"]], [], True), ([parent["person_id"]], [], False),
                        ([], [families[0]], False), (two, [families[1]], False)):
            people, families, dry_run = request
            answers = [s.erase(people, families, dry_run=dry_run) for s in stores]
            assert answers[0] == answers[1], request
            assert sqlite.counts() == neo4j_store.counts()
        assert sqlite.read_rows() == neo4j_store.read_rows()
    finally:
        sqlite.close()
