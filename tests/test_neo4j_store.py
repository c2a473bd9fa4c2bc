"""The Neo4j store against a real Neo4j server (scripts/neo4j start): same answers as the SQLite store,
schema before data, all-or-nothing packages, retries without duplicates, bounded waits, recovery.

Without a reachable server these tests skip ("start it with scripts/neo4j start"); in CI they fail.
"""
from __future__ import annotations

import os
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path
from urllib.parse import urlsplit

import pandas as pd
import pytest

from graph.errors import StoreError
from graph.model import NODE_LABELS, REL_TYPES, ROLE_LABELS, EdgeRecord, GraphRecords, to_graph_records
from graph.neo4j_store import Neo4jStore
from graph.store import SQLiteStore, Store, open_store
from ingest.load import check_package, load_package

if str(Path(__file__).parent) not in sys.path:       # --import-mode=importlib: tests/ is not on sys.path
    sys.path.insert(0, str(Path(__file__).parent))
from neo4j_fixtures import (START_HINT, admin_driver, drop_civicties_schema, in_ci, neo4j_server,  # noqa: F401
                            neo4j_store)

ROOT = Path(__file__).resolve().parents[1]


def _records(package_dir) -> GraphRecords:
    pkg = check_package(package_dir)
    assert pkg.ok, pkg.problems
    return to_graph_records(pkg.tables)


def _total(settings) -> tuple[int, int]:
    """All nodes (the tests' marker aside) and all relationships in the database, counted by the server."""
    with admin_driver(settings) as d:
        rec = d.execute_query("RETURN COUNT { (n) WHERE NOT n:CivicTiesTestMarker } AS n, COUNT { ()-[]->() } AS r",
                              database_=settings["database"]).records[0]
    return rec["n"], rec["r"]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


# --- same answers as SQLite -------------------------------------------------------------------------------

def test_is_a_store(neo4j_store):
    assert isinstance(neo4j_store, Store)
    assert neo4j_store.is_empty() and neo4j_store.counts() == {}


def test_round_trip_matches_the_sqlite_store(neo4j_store, sqlite_store, tiny_dir):
    a = load_package(tiny_dir, neo4j_store)
    b = load_package(tiny_dir, sqlite_store)
    assert a.written == b.written
    assert neo4j_store.counts() == sqlite_store.counts()
    assert neo4j_store.read_rows() == sqlite_store.read_rows()
    ours, theirs = neo4j_store.read(), sqlite_store.read()
    assert set(ours.tables) == set(theirs.tables)
    for name in theirs.tables:
        pd.testing.assert_frame_equal(ours.tables[name], theirs.tables[name], obj=name)
    assert not neo4j_store.is_empty()


def test_demo_package_round_trip_and_batched_queries(neo4j_store, demo_dir, tmp_path, monkeypatch):
    import neo4j
    runs = []
    original = neo4j.ManagedTransaction.run

    def counting_run(self, query, *args, **kwargs):
        runs.append(query)
        return original(self, query, *args, **kwargs)

    monkeypatch.setattr(neo4j.ManagedTransaction, "run", counting_run)
    records = _records(demo_dir)
    assert records.count() > 2000
    neo4j_store.write(records)
    writes = len(runs)
    assert writes < 100, f"{writes} queries for {records.count()} records: writes must be batched"
    runs.clear()
    rows = neo4j_store.read_rows()
    assert len(runs) == len(NODE_LABELS) + len(REL_TYPES), "one read query per label and per relationship type"
    sqlite = SQLiteStore(tmp_path / "demo.sqlite")
    sqlite.write(records)
    assert rows == sqlite.read_rows()
    sqlite.close()


def test_loading_again_changes_nothing(neo4j_store, neo4j_server, tiny_dir):
    load_package(tiny_dir, neo4j_store)
    counts, total, rows = neo4j_store.counts(), _total(neo4j_server), neo4j_store.read_rows()
    load_package(tiny_dir, neo4j_store)
    assert neo4j_store.counts() == counts
    assert _total(neo4j_server) == total
    assert neo4j_store.read_rows() == rows


def test_upsert_replaces_properties_and_role_labels(neo4j_store, neo4j_server, tiny_dir):
    load_package(tiny_dir, neo4j_store)
    people = neo4j_store.read().people.set_index("person_id")
    roles = people["role"].value_counts().to_dict()
    with admin_driver(neo4j_server) as d:
        for role, label in ROLE_LABELS.items():
            n = d.execute_query("MATCH (n:Person) WHERE $label IN labels(n) RETURN count(n) AS n", label=label,
                                database_=neo4j_server["database"]).records[0]["n"]
            assert n == roles.get(role, 0), label
    person = people.index[0]
    old_role = people.at[person, "role"]
    new_role = "official" if old_role != "official" else "staff"
    text = (tiny_dir / "people.csv").read_text(encoding="utf-8").splitlines()
    header = text[0].split(",")
    for i, line in enumerate(text[1:], start=1):
        cells = line.split(",")
        if cells[0] == person:
            cells[header.index("role")] = new_role
            text[i] = ",".join(cells)
    (tiny_dir / "people.csv").write_text("\n".join(text) + "\n", encoding="utf-8")
    load_package(tiny_dir, neo4j_store)
    assert neo4j_store.read().people.set_index("person_id").at[person, "role"] == new_role
    with admin_driver(neo4j_server) as d:
        labels = d.execute_query("MATCH (n:Person {id: $id}) RETURN labels(n) AS l", id=person,
                                 database_=neo4j_server["database"]).records[0]["l"]
    assert ROLE_LABELS[new_role] in labels and ROLE_LABELS[old_role] not in labels


def test_moved_relationship_is_not_duplicated(neo4j_store):
    nodes = {"Person": [{"id": "T1", "person_id": "T1"}, {"id": "T2", "person_id": "T2"}],
             "Family": [{"id": "F1", "family_id": "F1"}]}
    visit = {"visit_id": "V1", "teacher_id": "T1", "family_id": "F1"}
    neo4j_store.write(GraphRecords(nodes, [EdgeRecord("VISITED", "Person", "T1", "Family", "F1", '["V1"]', visit)]))
    moved = dict(visit, teacher_id="T2")
    neo4j_store.write(GraphRecords(nodes, [EdgeRecord("VISITED", "Person", "T2", "Family", "F1", '["V1"]', moved)]))
    assert neo4j_store.counts()["VISITED"] == 1
    assert neo4j_store.read().home_visits["teacher_id"].tolist() == ["T2"]


def test_contacts_are_kept(neo4j_store):
    node = neo4j_store.add_contact("F1", "2024-05-01", "called about the forum")
    contacts = neo4j_store.read().contacts
    assert contacts["id"].tolist() == [node["id"]]
    assert contacts["note"].tolist() == ["called about the forum"]


def test_reset_empties_the_store(neo4j_store, neo4j_server, tiny_dir):
    load_package(tiny_dir, neo4j_store)
    neo4j_store.reset()
    assert neo4j_store.counts() == {} and neo4j_store.is_empty()
    assert neo4j_store.read().people.empty
    with admin_driver(neo4j_server) as d:                 # nodes that are not the model's stay
        assert d.execute_query("MATCH (m:CivicTiesTestMarker) RETURN count(m) AS n",
                               database_=neo4j_server["database"]).records[0]["n"] == 1


# --- schema -----------------------------------------------------------------------------------------------

def test_uniqueness_constraints_exist_before_the_first_load(neo4j_store, neo4j_server):
    drop_civicties_schema(neo4j_server)
    store = Neo4jStore(neo4j_server["uri"], neo4j_server["user"], neo4j_server["password"],
                       neo4j_server["database"])
    # the first package fails (a tie to nobody), yet the schema was made before any data was sent
    bad = GraphRecords({"Person": [{"id": "A", "person_id": "A"}]},
                       [EdgeRecord("REPORTED_TIE", "Person", "A", "Person", "NOBODY", "k", {})])
    with pytest.raises(StoreError):
        store.write(bad)
    store.close()
    with admin_driver(neo4j_server) as d:
        db = neo4j_server["database"]
        constraints = {r["labelsOrTypes"][0]: (r["type"], r["properties"]) for r in d.execute_query(
            "SHOW CONSTRAINTS YIELD name, type, labelsOrTypes, properties WHERE name STARTS WITH 'civicties_' "
            "RETURN labelsOrTypes, type, properties", database_=db).records}
        assert constraints == {label: ("UNIQUENESS", ["id"]) for label in NODE_LABELS} | {
            "CivicTiesAccount": ("UNIQUENESS", ["username"]), "CivicTiesMeta": ("UNIQUENESS", ["key"])}
        indexed = {r["t"] for r in d.execute_query(
            "SHOW INDEXES YIELD name, entityType, labelsOrTypes, properties, state "
            "WHERE name STARTS WITH 'civicties_' AND entityType = 'RELATIONSHIP' "
            "RETURN labelsOrTypes[0] AS t, properties, state", database_=db).records}
        assert indexed == set(REL_TYPES)
        import neo4j
        d.execute_query("CREATE (:Person {id: 'X'})", database_=db)
        with pytest.raises(neo4j.exceptions.ConstraintError):
            d.execute_query("CREATE (:Person {id: 'X'})", database_=db)


# --- all or nothing ---------------------------------------------------------------------------------------

def test_failed_package_writes_nothing(neo4j_store, neo4j_server, tiny_dir):
    neo4j_store.batch_size = 2                      # many batches: the failure comes after several succeeded
    records = _records(tiny_dir)
    records.edges.append(EdgeRecord("ATTENDED", "Person", "A", "Event", "NO-SUCH-EVENT", "zzz", {}))
    with pytest.raises(StoreError, match="NO-SUCH-EVENT.*Nothing was written"):
        neo4j_store.write(records)
    assert neo4j_store.counts() == {}
    assert _total(neo4j_server) == (0, 0)


def test_failed_package_leaves_the_previous_data_alone(neo4j_store, neo4j_server, tiny_dir):
    load_package(tiny_dir, neo4j_store)
    before, total = neo4j_store.read_rows(), _total(neo4j_server)
    neo4j_store.batch_size = 3
    records = _records(tiny_dir)
    for label in records.nodes:
        records.nodes[label] = [dict(n, note="changed") for n in records.nodes[label]]
    records.nodes["Person"].append({"id": "NEW", "person_id": "NEW"})
    records.nodes["Site"][-1]["bad"] = {"nested": "maps are not property values"}   # the server refuses
    with pytest.raises(StoreError, match="rolled back, nothing was written"):
        neo4j_store.write(records)
    assert neo4j_store.read_rows() == before
    assert _total(neo4j_server) == total


def test_retry_reruns_the_whole_package_without_duplicates(neo4j_store, neo4j_server, tiny_dir, sqlite_store):
    """A connection lost mid-package: the driver retries the transaction function, which re-sends every batch
    in a fresh transaction; MERGE means nothing is written twice."""
    import neo4j
    attempts = []

    class FlakyStore(Neo4jStore):
        def _write_tx(self, tx, nodes, rels):
            attempts.append(1)
            if len(attempts) == 1:
                runs = []
                original = tx.run

                def run(query, *args, **kwargs):
                    runs.append(query)
                    if len(runs) == 6:
                        raise neo4j.exceptions.SessionExpired("simulated: connection lost mid-package")
                    return original(query, *args, **kwargs)
                tx.run = run
            return super()._write_tx(tx, nodes, rels)

    store = FlakyStore(neo4j_server["uri"], neo4j_server["user"], neo4j_server["password"],
                       neo4j_server["database"], batch_size=2)
    try:
        written = store.write(_records(tiny_dir))
        assert len(attempts) == 2
        load_package(tiny_dir, sqlite_store)
        assert store.counts() == sqlite_store.counts()
        assert store.read_rows() == sqlite_store.read_rows()
        assert sum(_total(neo4j_server)) == written["nodes"] + written["relationships"]
    finally:
        store.close()


# --- settings, errors, bounded waits, recovery ------------------------------------------------------------

def test_open_store_takes_settings_from_the_environment(neo4j_server, monkeypatch):
    monkeypatch.setenv("NEO4J_USER", neo4j_server["user"])
    monkeypatch.setenv("NEO4J_PASSWORD", neo4j_server["password"])
    monkeypatch.setenv("NEO4J_DATABASE", neo4j_server["database"])
    with open_store(neo4j_server["uri"]) as store:
        assert isinstance(store, Neo4jStore)
        store.ping()
        assert neo4j_server["password"] not in store.label


def test_wrong_credentials_are_a_clear_error(neo4j_server):
    # a user that does not exist: failed logins of `neo4j` itself would lock it for a few seconds
    with Neo4jStore(neo4j_server["uri"], "civicties_nobody", "wrong-password", neo4j_server["database"]) as s:
        with pytest.raises(StoreError, match="NEO4J_PASSWORD"):
            s.counts()


def test_unknown_database_is_a_clear_error(neo4j_server):
    with Neo4jStore(neo4j_server["uri"], neo4j_server["user"], neo4j_server["password"], "nosuchdb") as s:
        with pytest.raises(StoreError, match="NEO4J_DATABASE"):
            s.counts()


def test_credentials_in_the_uri_stay_out_of_messages():
    store = Neo4jStore("neo4j://someone:s3cret@127.0.0.1:1")
    assert "s3cret" not in store.uri and "s3cret" not in store.label
    store.close()


def test_unreachable_server_is_a_clear_error_within_30_seconds():
    """Needs no server: nothing listens on the port."""
    uri = f"neo4j://127.0.0.1:{_free_port()}"
    with Neo4jStore(uri) as store:
        for operation in (store.counts, store.read_rows, lambda: store.write(GraphRecords({"Site": [{"id": "S"}]}))):
            started = time.monotonic()
            with pytest.raises(StoreError, match="cannot reach Neo4j.*scripts/neo4j start"):
                operation()
            assert time.monotonic() - started < 30


class _TcpProxy:
    """A TCP forwarder on 127.0.0.1 that can be switched off (connections refused, open ones cut) and on."""

    def __init__(self, target: tuple[str, int]):
        self.target = target
        self.port = _free_port()
        self._conns: list[socket.socket] = []
        self._lock = threading.Lock()
        self._listener: socket.socket | None = None
        self._thread: threading.Thread | None = None

    def start(self):
        ls = socket.socket()
        ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        ls.bind(("127.0.0.1", self.port))
        ls.listen(16)
        ls.settimeout(0.2)
        self._listener = ls
        self._thread = threading.Thread(target=self._accept, args=(ls,), daemon=True)
        self._thread.start()

    def _accept(self, ls):
        while self._listener is ls:
            try:
                client, _ = ls.accept()
            except socket.timeout:
                continue
            except OSError:
                return
            try:
                upstream = socket.create_connection(self.target, timeout=5)
            except OSError:
                client.close()
                continue
            client.settimeout(None)
            upstream.settimeout(None)
            with self._lock:
                self._conns += [client, upstream]
            for a, b in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pipe, args=(a, b), daemon=True).start()

    @staticmethod
    def _pipe(src, dst):
        try:
            while data := src.recv(65536):
                dst.sendall(data)
        except OSError:
            pass
        for s in (src, dst):
            try:
                s.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass

    def stop(self):
        ls, self._listener = self._listener, None
        if self._thread:
            self._thread.join(5)
        if ls:
            ls.close()
        with self._lock:
            conns, self._conns = self._conns, []
        for s in conns:
            try:
                s.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            s.close()


def test_store_recovers_when_the_server_is_back(neo4j_store, neo4j_server, tiny_dir):
    """The server goes away (a proxy in front of it stops) and comes back: the same store object works again."""
    load_package(tiny_dir, neo4j_store)
    expected = neo4j_store.read_rows()
    target = urlsplit(neo4j_server["uri"])
    proxy = _TcpProxy((target.hostname, target.port or 7687))
    proxy.start()
    # bolt:// (direct): neo4j:// would route to the server's own advertised address, around the proxy
    store = Neo4jStore(f"bolt://127.0.0.1:{proxy.port}", neo4j_server["user"], neo4j_server["password"],
                       neo4j_server["database"], max_retry_time=2)
    try:
        assert store.read_rows() == expected
        proxy.stop()
        started = time.monotonic()
        with pytest.raises(StoreError, match="cannot reach Neo4j"):
            store.read_rows()
        with pytest.raises(StoreError, match="cannot reach Neo4j"):
            store.add_contact("F1", "2024-01-01")
        assert time.monotonic() - started < 30
        proxy.start()
        assert store.read_rows() == expected
        store.add_contact("F1", "2024-01-02")
        assert store.counts()["Contact"] == 1
    finally:
        store.close()
        proxy.stop()


def _script_manages(settings) -> bool:
    """True when the test server is the one scripts/neo4j runs (so the test may kill and restart it)."""
    port = urlsplit(settings["uri"]).port or 7687
    try:
        out = subprocess.run([str(ROOT / "scripts" / "neo4j"), "status"], capture_output=True, text=True,
                             timeout=30)
    except (OSError, subprocess.TimeoutExpired):
        return False
    return out.returncode == 0 and f":{port}" in out.stdout


def _require_script_managed(settings) -> None:
    if not _script_manages(settings):
        message = "the test server is not the one scripts/neo4j runs; not killing it"
        if in_ci():
            pytest.fail(message + " (in CI, scripts/test starts it with scripts/neo4j)")
        pytest.skip(message)


def _kill_and_restart(settings) -> dict:
    env = dict(os.environ, NEO4J_PASSWORD=settings["password"], NEO4J_PORT=str(urlsplit(settings["uri"]).port or 7687))
    subprocess.run([str(ROOT / "scripts" / "neo4j"), "kill"], env=env, check=True, timeout=60,
                   stdout=subprocess.DEVNULL)
    return env


def test_a_crash_keeps_every_committed_package_and_all_or_nothing_of_the_one_in_flight(neo4j_store, neo4j_server,
                                                                                      tiny_dir, tmp_path):
    """kill -9 the server (scripts/neo4j kill) while a large package is being written, start it again:

    - while it is down, the same store object says it cannot reach Neo4j;
    - every committed package is there (here the tiny package, loaded before the kill);
    - of the large one, the store holds either the whole package or none of it (usually none: the kill comes
      in the middle of its transaction);
    - the same store object carries on: the committed package loads again without a change, and the large one
      loads whole.

    (One kill and restart for all of it: a restart takes half a minute. Runs only against the server
    scripts/neo4j manages.)"""
    _require_script_managed(neo4j_server)
    from ingest.demo import write_demo
    load_package(tiny_dir, neo4j_store)
    before = neo4j_store.read_rows()
    big = tmp_path / "big"
    write_demo(big, parents=4000, seed=3)
    records = _records(big)
    writing, outcome = threading.Event(), {}
    real_write = neo4j_store.write

    def write_and_signal(recs):
        writing.set()
        return real_write(recs)

    def load():
        try:
            outcome["written"] = write_and_signal(records)
        except BaseException as e:  # noqa: BLE001 - the error is the point: the server died under it
            outcome["error"] = e

    worker = threading.Thread(target=load, daemon=True)
    worker.start()
    assert writing.wait(60)
    time.sleep(1.0)  # well inside a write of ~50,000 rows (several seconds here)
    env = _kill_and_restart(neo4j_server)
    worker.join(120)
    assert not worker.is_alive()
    try:
        with pytest.raises(StoreError, match="cannot reach Neo4j"):
            neo4j_store.counts()
    finally:
        subprocess.run([str(ROOT / "scripts" / "neo4j"), "start"], env=env, check=True, timeout=300,
                       stdout=subprocess.DEVNULL)
    after = neo4j_store.read_rows()
    full = SQLiteStore(tmp_path / "expected.sqlite")
    full.write(_records(tiny_dir))
    full.write(records)
    print("crash test outcome:", "killed mid-transaction" if "error" in outcome else "commit beat the kill")
    mirror = SQLiteStore(tmp_path / "mirror.sqlite")      # what the Neo4j store went through, on SQLite
    load_package(tiny_dir, mirror)
    if "error" in outcome:   # the usual case: the transaction never committed
        assert isinstance(outcome["error"], StoreError), outcome["error"]
        assert after == before, "a crash mid-load left part of the package behind (or lost the committed one)"
    else:                    # the commit beat the kill: then all of it must be there
        assert after == full.read_rows()
        mirror.write(records)
    # and the store carries on: the committed package loads again without a change, the large one loads whole
    load_package(tiny_dir, neo4j_store)
    load_package(tiny_dir, mirror)
    assert neo4j_store.read_rows() == mirror.read_rows()
    if "error" in outcome:
        assert neo4j_store.read_rows() == before
    neo4j_store.write(records)
    assert neo4j_store.read_rows() == full.read_rows()
    mirror.close()
    full.close()
