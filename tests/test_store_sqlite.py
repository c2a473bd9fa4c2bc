"""The embedded store: idempotent reloads, updates, all-or-nothing writes, reset."""
import pytest

from graph.errors import StoreError
from graph.model import EdgeRecord, GraphRecords
from graph.store import SQLiteStore, open_store
from ingest.load import load_package


def test_reload_changes_nothing(tiny_dir, sqlite_store):
    load_package(tiny_dir, sqlite_store)
    first, counts = sqlite_store.read_rows(), sqlite_store.counts()
    load_package(tiny_dir, sqlite_store)
    assert sqlite_store.read_rows() == first
    assert sqlite_store.counts() == counts


def test_updated_package_updates_what_changed(tiny_dir, sqlite_store):
    load_package(tiny_dir, sqlite_store)
    counts = sqlite_store.counts()
    text = (tiny_dir / "people.csv").read_text(encoding="utf-8").replace("Cy Park,parent,F3,Asian,high",
                                                                         "Cy Park,parent,F3,Asian,middle")
    (tiny_dir / "people.csv").write_text(text, encoding="utf-8")
    load_package(tiny_dir, sqlite_store)
    people = sqlite_store.read().people.set_index("person_id")
    assert people.at["C", "income_band"] == "middle"
    assert sqlite_store.counts() == counts


def test_graph_model_counts(tiny_dir, sqlite_store):
    load_package(tiny_dir, sqlite_store)
    c = sqlite_store.counts()
    assert c["Person"] == 9 and c["Family"] == 6 and c["Site"] == 2 and c["Cohort"] == 2
    assert c["REPORTED_TIE"] == 7 and c["NAMED"] == 1 and c["UnmatchedName"] == 1
    assert c["MEMBER_OF"] == 8 and c["VISITED"] == 3 and c["APPOINTED_TO"] == 4 and c["ENROLLED_IN"] == 5


def test_failed_write_leaves_nothing(tmp_path):
    store = SQLiteStore(tmp_path / "s.sqlite")
    # a trigger that fails the write part-way, after the nodes went in
    store._conn.execute("CREATE TRIGGER boom BEFORE INSERT ON edges WHEN NEW.type = 'BOOM' "
                        "BEGIN SELECT RAISE(ABORT, 'injected failure'); END")
    records = GraphRecords(nodes={"Person": [{"id": "A"}, {"id": "B"}]},
                           edges=[EdgeRecord("REPORTED_TIE", "Person", "A", "Person", "B", "k1", {}),
                                  EdgeRecord("BOOM", "Person", "A", "Person", "B", "k2", {})])
    with pytest.raises(StoreError, match="nothing was written"):
        store.write(records)
    assert store.counts() == {}


def test_reset_empties(tiny_dir, sqlite_store):
    load_package(tiny_dir, sqlite_store)
    sqlite_store.reset()
    assert sqlite_store.counts() == {} and sqlite_store.is_empty()


def test_data_survives_reopening(tiny_dir, tmp_path):
    with SQLiteStore(tmp_path / "s.sqlite") as s:
        load_package(tiny_dir, s)
        rows = s.read_rows()
    with open_store(f"sqlite:///{tmp_path / 's.sqlite'}") as s:
        assert s.read_rows() == rows


def test_contacts_are_kept(sqlite_store):
    sqlite_store.add_contact("F1", "2026-11-20", "called; will come to the forum")
    contacts = sqlite_store.read().contacts
    assert list(contacts["family_id"]) == ["F1"] and contacts.iloc[0]["note"].startswith("called")


def test_unknown_uri():
    with pytest.raises(StoreError, match="unknown store URI"):
        open_store("postgres://x")
    with pytest.raises(StoreError, match="path of a .sqlite file"):
        open_store("/tmp/notes.txt")


def test_a_plain_sqlite_path_opens_the_same_store(tmp_path, tiny_dir):
    from ingest.load import load_package

    path = tmp_path / "plain.sqlite"
    with open_store(f"sqlite:///{path}") as store:
        load_package(tiny_dir, store)
    with open_store(str(path)) as store:
        assert store.counts()["Person"] == 9


def test_unwritable_path(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("x")
    with pytest.raises(StoreError, match="cannot open the SQLite store"):
        SQLiteStore(blocker / "sub" / "s.sqlite")
