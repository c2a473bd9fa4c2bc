"""Stored analyses: the results the dashboard's pages show, computed once per data version and kept where
every app process of a deployment reads them.

A result is an opaque payload (bytes) under a key (which analysis, for which audience and sites, with which
options) and the data version it was computed from. Payloads are signed by the caller
(dashboard/analyses.py); this module only keeps them.

Where they are kept, and why:

- **SQLite**: in a second SQLite file beside the store (``<store>.results``). Results are large blobs,
  rewritten for every data version; kept apart they never hold the data file's write lock (a coordinator's
  contact is not queued behind a background computation), never grow the data file, and are dropped as a
  whole (with a vacuum, so that no old page keeps a name) when people are erased. Every process on the
  machine that opens the store opens the same file (WAL mode: readers never wait for the writer).
- **Neo4j**: as ``CivicTiesResult`` nodes in the same database, so that every app process of a deployment,
  on any host, reads them; they are not program data (no count, read or export sees them) and ``reset()``
  deletes them with everything else.
"""
from __future__ import annotations

import sqlite3
import threading
from abc import ABC, abstractmethod
from datetime import datetime, timezone
from pathlib import Path

from graph.errors import StoreError

__all__ = ["ResultStore", "SQLiteResults", "Neo4jResults", "results_for", "write_mark"]


def _now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="microseconds")


class ResultStore(ABC):
    """Payloads by (key, version)."""

    @abstractmethod
    def get(self, key: str, version: str) -> bytes | None:
        """The payload stored for this key and data version, or None."""

    @abstractmethod
    def latest(self, key: str) -> tuple[str, bytes] | None:
        """(version, payload) most recently stored for the key, whatever its version, or None."""

    @abstractmethod
    def put(self, key: str, version: str, payload: bytes) -> None:
        """Store a payload (replacing one stored for the same key and version)."""

    @abstractmethod
    def prune(self, keep_versions: set[str]) -> int:
        """Delete results of every other data version; how many were deleted."""

    @abstractmethod
    def clear(self) -> None:
        """Delete every stored result, leaving nothing of them on disk (after an erasure)."""

    @abstractmethod
    def versions(self) -> dict[str, int]:
        """Data version -> how many results are stored for it."""


class SQLiteResults(ResultStore):
    """Results in a SQLite file of their own beside the store's."""

    def __init__(self, path: str | Path):
        self.path = Path(path)
        self._lock = threading.Lock()
        try:
            self._conn = sqlite3.connect(self.path, check_same_thread=False, isolation_level=None, timeout=30)
            self._conn.execute("PRAGMA journal_mode=WAL")
            self._conn.execute("PRAGMA secure_delete=ON")
            self._conn.execute("CREATE TABLE IF NOT EXISTS results (key TEXT NOT NULL, version TEXT NOT NULL, "
                               "stored_at TEXT NOT NULL, payload BLOB NOT NULL, PRIMARY KEY (key, version))")
        except sqlite3.Error as e:
            raise StoreError(f"cannot open the stored analyses at {self.path}: {e}") from e

    def _run(self, what: str, sql: str, params=()) -> list:
        try:
            with self._lock:
                return self._conn.execute(sql, params).fetchall()
        except sqlite3.Error as e:
            raise StoreError(f"{what} in the stored analyses at {self.path} failed: {e}") from e

    def get(self, key, version):
        rows = self._run("reading a result", "SELECT payload FROM results WHERE key = ? AND version = ?",
                         (key, version))
        return bytes(rows[0][0]) if rows else None

    def latest(self, key):
        rows = self._run("reading a result", "SELECT version, payload FROM results WHERE key = ? "
                         "ORDER BY stored_at DESC, rowid DESC LIMIT 1", (key,))
        return (rows[0][0], bytes(rows[0][1])) if rows else None

    def put(self, key, version, payload):
        self._run("storing a result", "INSERT OR REPLACE INTO results (key, version, stored_at, payload) "
                  "VALUES (?, ?, ?, ?)", (key, version, _now(), sqlite3.Binary(payload)))

    def prune(self, keep_versions):
        keep = sorted(keep_versions)
        marks = ", ".join("?" for _ in keep) or "''"
        before = self._run("counting results", "SELECT count(*) FROM results")[0][0]
        self._run("pruning results", f"DELETE FROM results WHERE version NOT IN ({marks})", keep)
        return before - self._run("counting results", "SELECT count(*) FROM results")[0][0]

    def clear(self):
        self._run("clearing results", "DELETE FROM results")
        self._run("checkpointing results", "PRAGMA wal_checkpoint(TRUNCATE)")
        self._run("vacuuming results", "VACUUM")

    def versions(self):
        return dict(self._run("counting results", "SELECT version, count(*) FROM results GROUP BY version"))

    def close(self):
        with self._lock:
            self._conn.close()


class Neo4jResults(ResultStore):
    """Results as CivicTiesResult nodes in the store's Neo4j database."""

    LABEL = "CivicTiesResult"

    def __init__(self, store):
        self.store = store

    def _do(self, what: str, access: str, query: str, **params):
        def work(tx, params):
            return [dict(r) for r in tx.run(query, params)]
        return self.store._call(what, access, work, params)

    def get(self, key, version):
        rows = self._do("reading a result", "read", f"MATCH (r:{self.LABEL} {{key: $key, version: $version}}) "
                        "RETURN r.payload AS payload", key=key, version=version)
        return bytes(rows[0]["payload"]) if rows else None

    def latest(self, key):
        rows = self._do("reading a result", "read", f"MATCH (r:{self.LABEL} {{key: $key}}) RETURN r.version AS "
                        "version, r.payload AS payload ORDER BY r.stored_at DESC LIMIT 1", key=key)
        return (rows[0]["version"], bytes(rows[0]["payload"])) if rows else None

    def put(self, key, version, payload):
        self._do("storing a result", "write", f"MERGE (r:{self.LABEL} {{key: $key, version: $version}}) "
                 "SET r.payload = $payload, r.stored_at = $at", key=key, version=version, payload=payload,
                 at=_now())

    def prune(self, keep_versions):
        rows = self._do("pruning results", "write", f"MATCH (r:{self.LABEL}) WHERE NOT r.version IN $keep "
                        "DETACH DELETE r RETURN count(*) AS n", keep=sorted(keep_versions))
        return int(rows[0]["n"]) if rows else 0

    def clear(self):
        self._do("clearing results", "write", f"MATCH (r:{self.LABEL}) DETACH DELETE r")

    def versions(self):
        rows = self._do("counting results", "read", f"MATCH (r:{self.LABEL}) RETURN r.version AS version, "
                        "count(*) AS n")
        return {r["version"]: int(r["n"]) for r in rows}


def results_for(store) -> ResultStore:
    """The result store that goes with a data store (beside a SQLite file; inside a Neo4j database)."""
    path = getattr(store, "path", None)
    if path is not None:
        return SQLiteResults(f"{path}.results")
    if hasattr(store, "_call"):
        return Neo4jResults(store)
    raise StoreError(f"no place to keep stored analyses for {store.label}")


def write_mark(store):
    """A cheap value that changes whenever anything is committed to the store, by this process or any other
    (None where there is none): lets the caller keep what it counted in the store until the next write.

    SQLite: this connection's own changes (``total_changes``) and the file's ``PRAGMA data_version``, which
    moves when another connection commits. Counting every node and relationship takes about half a second
    at 100,000 parents; this takes microseconds. Neo4j: None (count each time)."""
    conn = getattr(store, "_conn", None)
    if getattr(store, "path", None) is None or conn is None or conn.in_transaction:
        return None                     # (inside a write, what is counted may yet be rolled back)
    try:
        return id(conn), conn.total_changes, conn.execute("PRAGMA data_version").fetchone()[0]
    except sqlite3.Error:
        return None
