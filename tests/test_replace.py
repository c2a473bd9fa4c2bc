"""Replacing a source (`civicties ingest PKG --replace`): what the source no longer sends goes, in the same
transaction; other sources' rows stay; a dry run counts and writes nothing. The same scenario runs on SQLite and
on Neo4j and must end in the same state with the same counts (Neo4j: tests/neo4j_fixtures.py)."""
from __future__ import annotations

import sqlite3
import sys
from pathlib import Path

import pytest

from civicties.cli import main
from graph.errors import StoreError
from graph.model import GraphRecords
from graph.store import SQLiteStore
from ingest.load import load_package

if str(Path(__file__).parent) not in sys.path:       # --import-mode=importlib: tests/ is not on sys.path
    sys.path.insert(0, str(Path(__file__).parent))
from neo4j_fixtures import neo4j_server, neo4j_store  # noqa: E402,F401


def package(folder: Path, people: list[tuple[str, str]], attendance: list[tuple[str, str]],
            events=("E1", "E2")) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "people.csv").write_text("person_id,family_id\n" + "".join(f"{p},{f}\n" for p, f in people))
    (folder / "events.csv").write_text("event_id\n" + "".join(f"{e}\n" for e in events))
    (folder / "attendance.csv").write_text("person_id,event_id\n" + "".join(f"{p},{e}\n" for p, e in attendance))
    return folder


def scenario(tmp_path: Path, store) -> list[dict]:
    """Roster v1 (source "roster"), another source's package, then roster v2 replacing v1 (dry run first).
    Returns the change counts of each step."""
    v1 = package(tmp_path / "v1", [("P1", "F1"), ("P2", "F1"), ("P3", "F3")],
                 [("P1", "E1"), ("P2", "E1"), ("P3", "E2")])
    other = package(tmp_path / "other", [("P9", "F9")], [("P9", "E2")], events=("E2",))
    v2 = package(tmp_path / "v2", [("P1", "F1"), ("P2", "F2")], [("P1", "E1"), ("P2", "E1")], events=("E1",))
    steps = []
    steps.append(load_package(v1, store, source_name="roster", replace=True).changes)
    load_package(other, store, source_name="site-b")
    before = store.read_rows()
    steps.append(load_package(v2, store, source_name="roster", replace=True, dry_run=True).changes)
    assert store.read_rows() == before                          # the dry run wrote nothing
    steps.append(load_package(v2, store, source_name="roster", replace=True).changes)
    steps.append(load_package(v2, store, source_name="roster", replace=True).changes)     # again: nothing
    return steps


EXPECTED_REPLACE = {
    # P3 withdrew: P3, its family F3, its attendance and membership go; P2 moved from F1 to F2
    "Person": {"added": 0, "changed": 1, "unchanged": 1, "removed": 1, "kept": 0},
    "Family": {"added": 1, "changed": 0, "unchanged": 1, "removed": 1, "kept": 0},
    # E2 is no longer in the roster, but site-b's attendance still uses it (site-b loaded it last anyway)
    "Event": {"added": 0, "changed": 0, "unchanged": 1, "removed": 0, "kept": 0},
    "ATTENDED": {"added": 0, "changed": 0, "unchanged": 2, "removed": 1, "kept": 0},
    "MEMBER_OF": {"added": 1, "changed": 0, "unchanged": 1, "removed": 2, "kept": 0},
}


def check_end_state(store) -> None:
    ds = store.read()
    assert sorted(ds.people["person_id"]) == ["P1", "P2", "P9"]
    assert sorted(map(tuple, ds.attendance[["person_id", "event_id"]].values.tolist())) == [
        ("P1", "E1"), ("P2", "E1"), ("P9", "E2")]
    assert sorted(ds.events["event_id"]) == ["E1", "E2"]
    assert dict(ds.people[["person_id", "family_id"]].values.tolist()) == {"P1": "F1", "P2": "F2", "P9": "F9"}
    counts = store.counts()
    assert counts["Family"] == 3 and counts["MEMBER_OF"] == 3


def test_replace_on_sqlite(tmp_path, sqlite_store):
    steps = scenario(tmp_path, sqlite_store)
    assert steps[1] == steps[2] == EXPECTED_REPLACE
    assert all(c["added"] == c["changed"] == c["removed"] == 0 for c in steps[3].values())    # loaded again
    check_end_state(sqlite_store)


def test_replace_keeps_a_node_another_source_still_uses(tmp_path, sqlite_store):
    (tmp_path / "ties").mkdir()
    (tmp_path / "ties" / "people.csv").write_text("person_id\nP2\nP7\n")
    (tmp_path / "ties" / "ties.csv").write_text("from_person_id,to_person_id\nP7,P2\n")
    load_package(tmp_path / "ties", sqlite_store, source_name="survey")         # P7 names P2
    roster = package(tmp_path / "roster", [("P1", "F1"), ("P2", "F2")], [])
    load_package(roster, sqlite_store, source_name="roster")                    # P2 is the roster's now
    roster_v2 = package(tmp_path / "roster2", [("P1", "F1")], [])
    changes = load_package(roster_v2, sqlite_store, source_name="roster", replace=True).changes
    assert changes["Person"] == {"added": 0, "changed": 0, "unchanged": 1, "removed": 0, "kept": 1}
    assert "P2" in set(sqlite_store.read().people["person_id"])                   # the survey's tie still names P2


def test_provenance_is_kept_per_row(tmp_path, sqlite_store):
    scenario(tmp_path, sqlite_store)
    con = sqlite3.connect(sqlite_store.path)
    rows = dict(con.execute("SELECT id, source FROM nodes WHERE label = 'Person'").fetchall())
    assert rows == {"P1": "roster", "P2": "roster", "P9": "site-b"}
    assert con.execute("SELECT count(*) FROM nodes WHERE loaded_at IS NULL").fetchone() == (0,)
    con.close()


def test_replace_without_a_source_is_refused(sqlite_store):
    with pytest.raises(StoreError, match="needs the name of its source"):
        sqlite_store.write(GraphRecords(), replace=True)


def test_cli_replace_and_dry_run(tmp_path, capsys):
    uri = f"sqlite:///{tmp_path / 'store.sqlite'}"
    v1 = package(tmp_path / "roster", [("P1", "F1"), ("P2", "F1")], [("P1", "E1"), ("P2", "E1")])
    assert main(["ingest", str(tmp_path / "nowhere"), "--dry-run", "--store", uri]) == 1
    assert main(["ingest", str(v1), "--dry-run", "--store", uri]) == 0          # no store yet: none is made
    assert not (tmp_path / "store.sqlite").exists()
    assert "Person" in capsys.readouterr().out
    assert main(["ingest", str(v1), "--store", uri]) == 0
    package(tmp_path / "roster", [("P1", "F1")], [("P1", "E1")])                # the same folder, one withdrawn
    capsys.readouterr()
    assert main(["ingest", str(v1), "--replace", "--dry-run", "--store", uri]) == 0
    out = capsys.readouterr().out
    assert "Dry run" in out and "nothing was written" in out
    person = next(line for line in out.splitlines() if line.strip().startswith("Person "))
    assert "1 unchanged" in " ".join(person.split()) and "1 removed" in " ".join(person.split())
    with SQLiteStore(tmp_path / "store.sqlite") as store:
        assert store.counts()["Person"] == 2
    assert main(["ingest", str(v1), "--replace", "--store", uri]) == 0
    with SQLiteStore(tmp_path / "store.sqlite") as store:
        assert store.counts()["Person"] == 1 and store.counts()["ATTENDED"] == 1


def test_replace_parity_between_the_stores(tmp_path, sqlite_store, neo4j_store):
    sqlite_steps = scenario(tmp_path / "a", sqlite_store)
    neo4j_steps = scenario(tmp_path / "b", neo4j_store)
    assert neo4j_steps == sqlite_steps
    assert neo4j_steps[2] == EXPECTED_REPLACE
    check_end_state(neo4j_store)
    assert neo4j_store.read_rows() == sqlite_store.read_rows()
    assert neo4j_store.counts() == sqlite_store.counts()
