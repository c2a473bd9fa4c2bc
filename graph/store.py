"""Stores keep the property graph: the embedded SQLite store (default) and Neo4j.

Both answer the same interface: `write(records)` upserts a whole package as one transaction (all or
nothing), `read()` returns the Dataset, `reset()` empties the store. `open_store(uri)` picks one by URI:
`sqlite:///path/to/file.sqlite` or `neo4j://host:port` (also bolt://, neo4j+s://).

Beside the program's data, a store keeps what a deployment needs to run (so one database is all there is to
back up): dashboard accounts (`get_account`, `save_account`, `list_accounts`), the audit log (`add_audit`,
`read_audit`) and a few facts about the store itself (`get_meta`, `set_meta`: e.g. whether it holds only the
demo network). `reset()` empties the program's data and keeps these.

`erase(person_ids, family_ids)` removes people or whole families with everything of theirs, in one transaction,
on request (docs/erasure.md); the SQLite store then overwrites the bytes they occupied in its files.

Provenance: `write(records, source=NAME)` marks every node and relationship it writes with the source it came from
and when (`loaded_at`); `replace=True` then removes, in the same transaction, what came from that source before
and is not in `records` (docs/data-format.md, "Replacing a source"). `dry_run=True` counts what a write would add,
change and remove and writes nothing.

SQLite URIs follow SQLAlchemy: `sqlite:///data/x.sqlite` (three slashes) is a path relative to the current folder,
`sqlite:////srv/x.sqlite` (four) an absolute one. Messages and labels show the absolute file path. A store is
created only by `open_store(uri, create=True)` (the default, for writers); readers pass create=False and get a
StoreError for a store that does not exist.
"""
from __future__ import annotations

import json
import os
import sqlite3
import uuid
from abc import ABC, abstractmethod
from datetime import datetime, timezone
from pathlib import Path

import orjson

from graph.dataset import Dataset
from graph.errors import StoreError
from graph.model import GraphRecords

__all__ = ["Store", "SQLiteStore", "UnknownIdError", "NoStoreError", "open_store", "default_store_uri",
           "ACCOUNT_FIELDS", "AUDIT_FIELDS", "ERASED_NODE_LABELS", "CHANGE_KINDS"]

ACCOUNT_FIELDS = ("username", "role", "sites", "email", "password_hash", "disabled", "demo", "created_at",
                  "updated_at")
AUDIT_FIELDS = ("id", "at", "actor", "role", "action", "target", "rows", "source", "detail")
# The node labels an erasure removes; relationships go by their ends (every one that touches an erased person or
# family), whatever their type.
ERASED_NODE_LABELS = ("Person", "Family", "UnmatchedName", "Contact")
# What a counted write reports per node label and relationship type (Store.write with replace or dry_run).
CHANGE_KINDS = ("added", "changed", "unchanged", "removed", "kept")
# Bookkeeping properties of the Neo4j store, never part of the data read back (graph/neo4j_store.py).
PROVENANCE = ("_source", "_loaded_at")


class NoStoreError(StoreError):
    """A command that only reads named a store that does not exist (nothing was created)."""


class UnknownIdError(StoreError):
    """An erasure named a person or family the store does not hold; nothing was changed."""

    def __init__(self, people: list[str], families: list[str]):
        self.people, self.families = list(people), list(families)
        what = ([f"no person with id {p!r}" for p in self.people]
                + [f"no family with id {f!r}" for f in self.families])
        super().__init__(f"{'; '.join(what)} in the store: nothing was changed (check the ids; an erasure "
                         f"names people by people.person_id and families by people.family_id)")


def default_store_uri() -> str:
    """The store the CLI and dashboard use: CIVICTIES_STORE, else NEO4J_URI, else a SQLite file in
    CIVICTIES_DATA_DIR (default ./data)."""
    uri = os.environ.get("CIVICTIES_STORE") or os.environ.get("NEO4J_URI")
    if uri:
        return uri
    data_dir = Path(os.environ.get("CIVICTIES_DATA_DIR", "data"))
    return f"sqlite:///{(data_dir / 'civicties.sqlite').resolve()}"


class Store(ABC):
    """The interface every store answers."""

    uri: str

    @abstractmethod
    def write(self, records: GraphRecords, *, source: str | None = None, replace: bool = False,
              dry_run: bool = False) -> dict:
        """Upsert every node and relationship in one transaction; return counts written. All or nothing.

        `source` names where the records come from: each row written is marked with it and the time of this
        write (loaded_at); a row written again takes the new source (a row belongs to the source that wrote it
        last). `replace=True` (needs `source`) also removes, in the same transaction, every relationship of that
        source not in `records`, then every node of that source not in `records` that no relationship touches any
        more (one still used by another source's rows is kept, and counted as kept). `dry_run=True` does all that,
        counts it and rolls back: nothing is written.

        Returns {"nodes": n, "relationships": m}; with replace or dry_run also "changes": {label or type:
        {added, changed, unchanged, removed, kept}} (only kinds with some)."""

    @abstractmethod
    def read_rows(self) -> tuple[dict[str, list[dict]], dict[str, list[dict]]]:
        """All node properties by label and relationship properties by type."""

    @abstractmethod
    def counts(self) -> dict[str, int]:
        """Number of nodes per label and relationships per type (only those present)."""

    @abstractmethod
    def reset(self) -> None:
        """Delete everything in the store."""

    @abstractmethod
    def erase(self, person_ids: list[str], family_ids: list[str], *, dry_run: bool = False) -> dict[str, int]:
        """Remove people and whole families with everything of theirs, in ONE transaction (all or nothing);
        return how many nodes per label and relationships per type were removed (only kinds with some).

        What goes (docs/erasure.md): the people named, every member of the families named, and the families
        named; then every relationship that touches one of those people or families, in either direction
        (ties given and received, attendance, enrollments, appointments, membership, site, home visits by an
        erased teacher and to an erased family); a family whose last member goes; an unmatched name that no one
        else named; the contacts recorded for an erased family. Nothing else: other people's rows stay.

        An id the store does not hold raises UnknownIdError and nothing changes. `dry_run` counts what would
        go and writes nothing. Naming no one erases nothing ({}).
        """

    def close(self) -> None:
        """Release connections."""

    def read(self, raw: Dataset | None = None) -> Dataset:
        """The whole dataset, read in a few queries, with accepted matches applied (graph/matches.py).
        ``raw``: the data as loaded (graph.matches.read_raw), when the caller has read it already."""
        from graph import matches
        if raw is None:
            raw = Dataset.from_rows(*self.read_rows())
        return matches.resolve(raw, matches.accepted_pairs(self))

    def is_empty(self) -> bool:
        return not self.counts().get("Person", 0)

    @staticmethod
    def _check_write_args(source, replace) -> None:
        if replace and not source:
            raise StoreError("a replacing write needs the name of its source (what to replace); nothing was written")

    @staticmethod
    def _erase_ids(ids) -> list[str]:
        """The ids of an erasure request: text, stripped, each once."""
        if isinstance(ids, str):
            ids = [ids]
        return sorted({str(i).strip() for i in ids or () if i is not None and str(i).strip()})

    def add_contact(self, family_id: str, contacted_on: str, note: str = "") -> dict:
        """Record that a coordinator contacted a family (kept in the store, shown next time)."""
        node = {"id": uuid.uuid4().hex, "family_id": family_id, "contacted_on": contacted_on, "note": note,
                "recorded_at": datetime.now(timezone.utc).isoformat(timespec="seconds")}
        self.write(GraphRecords(nodes={"Contact": [node]}))
        return node

    # -- what a deployment keeps beside the data: accounts, the audit log, facts about the store ---------
    # An account is a dict: username (the key), role, sites (list), email, password_hash, disabled, demo,
    # created_at, updated_at. An audit entry: id, at (UTC ISO time), actor, role, action, target, rows,
    # source, detail. Both stores keep them apart from the program's data (tests/test_accounts.py).

    @abstractmethod
    def get_account(self, username: str) -> dict | None:
        """The account with this username, or None."""

    @abstractmethod
    def list_accounts(self) -> list[dict]:
        """Every account, by username."""

    @abstractmethod
    def save_account(self, account: dict) -> None:
        """Create or replace the account with account["username"]."""

    @abstractmethod
    def add_audit(self, entry: dict) -> None:
        """Append one entry to the audit log."""

    @abstractmethod
    def read_audit(self, *, since: str | None = None, action: str | None = None, actor: str | None = None,
                   source: str | None = None, limit: int = 1000) -> list[dict]:
        """Audit entries, newest first, filtered by time (ISO, inclusive), action, actor and source."""

    @abstractmethod
    def get_meta(self, key: str) -> str | None:
        """A fact about the store (e.g. "data_origin"), or None."""

    @abstractmethod
    def set_meta(self, key: str, value: str) -> None:
        """Record a fact about the store."""

    @property
    def label(self) -> str:
        """A short description of the store for people (no credentials)."""
        return self.uri

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


_SCHEMA = """
CREATE TABLE IF NOT EXISTS nodes (
    label TEXT NOT NULL, id TEXT NOT NULL, props TEXT NOT NULL, PRIMARY KEY (label, id));
CREATE TABLE IF NOT EXISTS edges (
    type TEXT NOT NULL, key TEXT NOT NULL, src_label TEXT NOT NULL, src_id TEXT NOT NULL,
    dst_label TEXT NOT NULL, dst_id TEXT NOT NULL, props TEXT NOT NULL, PRIMARY KEY (type, key));
CREATE INDEX IF NOT EXISTS edges_src ON edges (src_label, src_id);
CREATE INDEX IF NOT EXISTS edges_dst ON edges (dst_label, dst_id);
CREATE TABLE IF NOT EXISTS accounts (username TEXT PRIMARY KEY, props TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS audit (
    seq INTEGER PRIMARY KEY AUTOINCREMENT, at TEXT NOT NULL, action TEXT NOT NULL, actor TEXT,
    source TEXT, props TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS audit_at ON audit (at);
CREATE INDEX IF NOT EXISTS audit_action_actor ON audit (action, actor, at);
CREATE INDEX IF NOT EXISTS audit_action_source ON audit (action, source, at);
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT);
"""


class SQLiteStore(Store):
    """The embedded store: one SQLite file holding the property graph (nodes and edges tables, JSON properties).

    Durable (WAL journal, synchronous=FULL) and transactional: a package is written in one transaction.
    """

    def __init__(self, path: str | Path, *, create: bool = True):
        self.path = Path(path).absolute()
        self.uri = f"sqlite:///{self.path}"                  # four slashes: an absolute path
        if not create and not self.path.is_file():
            raise NoStoreError(f"there is no SQLite store at {self.path}{' (a folder)' if self.path.is_dir() else ''}: "
                               f"nothing was read or created. Check --store or CIVICTIES_STORE (sqlite:///a/b.sqlite "
                               f"is relative to the current folder, sqlite:////a/b.sqlite absolute); a store is made "
                               f"by the first `civicties ingest`")
        try:
            if create:
                self.path.parent.mkdir(parents=True, exist_ok=True)
                target, uri = self.path, False
            else:                                           # never create the file, even in a race
                target, uri = self.path.as_uri() + "?mode=rw", True
            self._conn = sqlite3.connect(target, isolation_level=None, check_same_thread=False, timeout=30, uri=uri)
            self._conn.execute("PRAGMA journal_mode=WAL")
            self._conn.execute("PRAGMA synchronous=FULL")
            self._conn.executescript(_SCHEMA)
        except (sqlite3.Error, OSError) as e:
            raise StoreError(f"cannot open the SQLite store at {self.path}: {e}") from e
        self._provenance_ready = False

    @property
    def label(self) -> str:
        return f"the SQLite store {self.path}"

    def _ensure_provenance(self) -> None:
        """Stores made before provenance existed get its two columns (inside the caller's transaction)."""
        if self._provenance_ready:
            return
        for table in ("nodes", "edges"):
            have = {row[1] for row in self._conn.execute(f"PRAGMA table_info({table})")}
            for column in ("source", "loaded_at"):
                if column not in have:
                    self._conn.execute(f"ALTER TABLE {table} ADD COLUMN {column} TEXT")
            self._conn.execute(f"CREATE INDEX IF NOT EXISTS {table}_source ON {table} (source, loaded_at)")
        self._provenance_ready = True

    def write(self, records: GraphRecords, *, source: str | None = None, replace: bool = False,
              dry_run: bool = False) -> dict:
        self._check_write_args(source, replace)
        loaded_at = _now() if source else None
        node_rows = [(label, str(n["id"]), json.dumps(n, ensure_ascii=False), source, loaded_at)
                     for label, nodes in records.nodes.items() for n in nodes]
        edge_rows = [(e.rel_type, e.key, e.src_label, str(e.src_id), e.dst_label, str(e.dst_id),
                      json.dumps(e.props, ensure_ascii=False), source, loaded_at) for e in records.edges]
        counted = replace or dry_run
        changes: dict[str, dict[str, int]] = {}
        try:
            self._conn.execute("BEGIN IMMEDIATE")
            try:
                self._ensure_provenance()
                if counted:
                    changes = self._compare(records)
                self._conn.executemany(
                    "INSERT INTO nodes (label, id, props, source, loaded_at) VALUES (?, ?, ?, ?, ?) "
                    "ON CONFLICT (label, id) DO UPDATE SET props = excluded.props, "
                    "source = coalesce(excluded.source, source), loaded_at = coalesce(excluded.loaded_at, loaded_at)",
                    node_rows)
                self._conn.executemany(
                    "INSERT INTO edges (type, key, src_label, src_id, dst_label, dst_id, props, source, loaded_at) "
                    "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (type, key) DO UPDATE SET "
                    "src_label = excluded.src_label, src_id = excluded.src_id, dst_label = excluded.dst_label, "
                    "dst_id = excluded.dst_id, props = excluded.props, source = coalesce(excluded.source, source), "
                    "loaded_at = coalesce(excluded.loaded_at, loaded_at)", edge_rows)
                if replace:
                    _add_counts(changes, "removed", self._conn.execute(_STALE_EDGES_COUNT, (source, loaded_at)))
                    self._conn.execute(_STALE_EDGES_DELETE, (source, loaded_at))
                    _add_counts(changes, "kept", self._conn.execute(_STALE_NODES_USED, (source, loaded_at)))
                    _add_counts(changes, "removed", self._conn.execute(_STALE_NODES_UNUSED, (source, loaded_at)))
                    self._conn.execute(_STALE_NODES_DELETE, (source, loaded_at))
                self._conn.execute("ROLLBACK" if dry_run else "COMMIT")
            except BaseException:
                # SQLite may have rolled back already (a full disk, an I/O error): a second ROLLBACK would hide
                # the real error behind "no transaction is active"
                if self._conn.in_transaction:
                    try:
                        self._conn.execute("ROLLBACK")
                    except sqlite3.Error:
                        pass
                raise
        except sqlite3.Error as e:
            raise StoreError(f"writing to the SQLite store at {self.path} failed; nothing was written: {e}") from e
        out = {"nodes": len(node_rows), "relationships": len(edge_rows)}
        if counted:
            out["changes"] = _tidy_changes(changes)
        return out

    def _compare(self, records: GraphRecords) -> dict[str, dict[str, int]]:
        """Added, changed and unchanged per label and type: the records against what the store holds."""
        changes: dict[str, dict[str, int]] = {}
        for label, nodes in records.nodes.items():
            ids = [str(n["id"]) for n in nodes]
            held = {i: p for i, p in self._conn.execute(
                f"SELECT id, props FROM nodes WHERE label = :label AND id {_in('ids')}",
                {"label": label, "ids": json.dumps(ids)})} if ids else {}
            _tally(changes, label, ((held.get(str(n["id"])), n) for n in nodes))
        by_type: dict[str, list] = {}
        for e in records.edges:
            by_type.setdefault(e.rel_type, []).append(e)
        for rel, edges in by_type.items():
            held = {k: (sl, si, dl, di, p) for k, sl, si, dl, di, p in self._conn.execute(
                f"SELECT key, src_label, src_id, dst_label, dst_id, props FROM edges WHERE type = :type AND key "
                f"{_in('keys')}", {"type": rel, "keys": json.dumps([e.key for e in edges])})}
            _tally(changes, rel, ((_held_edge(held.get(e.key)), _new_edge(e)) for e in edges))
        return changes

    def read_rows(self):
        # one query per label and type; orjson parses a million property rows in a few seconds
        nodes: dict[str, list[dict]] = {}
        edges: dict[str, list[dict]] = {}
        try:
            for table, kind, key, out in (("nodes", "label", "id", nodes), ("edges", "type", "key", edges)):
                kinds = [k for (k,) in self._conn.execute(f"SELECT DISTINCT {kind} FROM {table} ORDER BY {kind}")]
                for k in kinds:
                    rows = self._conn.execute(f"SELECT props FROM {table} WHERE {kind} = ? ORDER BY {key}", (k,))
                    out[k] = [_loads(p) for (p,) in rows]
        except sqlite3.Error as e:
            raise StoreError(f"reading the SQLite store at {self.path} failed: {e}") from e
        return nodes, edges

    def counts(self) -> dict[str, int]:
        out = dict(self._conn.execute("SELECT label, count(*) FROM nodes GROUP BY label").fetchall())
        out.update(self._conn.execute("SELECT type, count(*) FROM edges GROUP BY type").fetchall())
        return out

    def reset(self) -> None:
        self._conn.execute("BEGIN IMMEDIATE")
        self._conn.execute("DELETE FROM nodes")
        self._conn.execute("DELETE FROM edges")
        self._conn.execute("COMMIT")

    def erase(self, person_ids: list[str], family_ids: list[str], *, dry_run: bool = False) -> dict[str, int]:
        """See Store.erase. The erasure runs with secure_delete on (freed space is zeroed, not just unlinked);
        then `scrub()` rewrites the file (VACUUM) and empties the WAL, so that the files keep no copy of the
        erased rows."""
        people, families = self._erase_ids(person_ids), self._erase_ids(family_ids)
        if not people and not families:
            return {}
        try:
            secure = self._conn.execute("PRAGMA secure_delete").fetchone()[0]
            self._conn.execute("PRAGMA secure_delete=ON")
            try:
                self._conn.execute("BEGIN" if dry_run else "BEGIN IMMEDIATE")
                try:
                    removed = self._erase_in_transaction(people, families, dry_run=dry_run)
                    self._conn.execute("ROLLBACK" if dry_run else "COMMIT")
                except BaseException:
                    self._conn.execute("ROLLBACK")
                    raise
            finally:
                self._conn.execute(f"PRAGMA secure_delete={int(secure)}")
        except sqlite3.Error as e:
            raise StoreError(f"erasing from the SQLite store at {self.path} failed; nothing was changed: {e}") from e
        if not dry_run:
            self.scrub()
        return removed

    def _erase_in_transaction(self, people: list[str], families: list[str], *, dry_run: bool) -> dict[str, int]:
        def ids(sql: str, **params) -> list[str]:
            return [i for (i,) in self._conn.execute(
                sql, {k: json.dumps(v) if isinstance(v, list) else v for k, v in params.items()})]
        found_people = set(ids(_FIND_NODES, label="Person", ids=people))
        found_families = set(ids(_FIND_NODES, label="Family", ids=families))
        if len(found_people) < len(people) or len(found_families) < len(families):
            raise UnknownIdError([p for p in people if p not in found_people],
                                 [f for f in families if f not in found_families])
        people = sorted(found_people | set(ids(_FAMILY_MEMBERS, families=families)))
        families = sorted(found_families | set(ids(_EMPTIED_FAMILIES, people=people)))
        params = {"people": json.dumps(people), "families": json.dumps(families),
                  "names": json.dumps(ids(_ORPHANED_NAMES, people=people)),
                  "contacts": json.dumps(ids(_FAMILY_CONTACTS, families=families))}
        removed = dict(self._conn.execute(_ERASE_COUNT_NODES, params).fetchall())
        removed.update(self._conn.execute(_ERASE_COUNT_EDGES, params).fetchall())
        if not dry_run:
            self._conn.execute(_ERASE_DELETE_EDGES, params)
            self._conn.execute(_ERASE_DELETE_NODES, params)
        return {k: v for k, v in sorted(removed.items()) if v}

    def scrub(self) -> None:
        """Leave no copy of deleted rows in the files: rewrite the database without its free pages (VACUUM), copy
        the WAL into it and empty the WAL (a TRUNCATE checkpoint: it waits for readers up to the 30 s timeout)."""
        try:
            self._conn.execute("VACUUM")
            busy = self._conn.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()[0]
        except sqlite3.Error as e:
            raise StoreError(self._scrub_failed(str(e))) from e
        if busy:
            raise StoreError(self._scrub_failed("another program kept reading the store"))

    def _scrub_failed(self, why: str) -> str:
        return (f"the erasure in {self.path} is done (committed), but the bytes it freed could not be overwritten "
                f"yet ({why}). Stop the dashboard and run: sqlite3 {self.path} 'VACUUM; PRAGMA "
                f"wal_checkpoint(TRUNCATE);' (docs/erasure.md)")

    def close(self) -> None:
        self._conn.close()

    # -- accounts, audit, meta -------------------------------------------------------------------------

    def _run(self, what: str, sql: str, params=()) -> list:
        try:
            return self._conn.execute(sql, params).fetchall()
        except sqlite3.Error as e:
            raise StoreError(f"{what} in the SQLite store at {self.path} failed: {e}") from e

    def get_account(self, username: str) -> dict | None:
        rows = self._run("reading an account", "SELECT props FROM accounts WHERE username = ?", (username,))
        return json.loads(rows[0][0]) if rows else None

    def list_accounts(self) -> list[dict]:
        return [json.loads(p) for (p,) in self._run("listing accounts",
                                                     "SELECT props FROM accounts ORDER BY username")]

    def save_account(self, account: dict) -> None:
        self._run("saving an account", "INSERT INTO accounts (username, props) VALUES (?, ?) "
                  "ON CONFLICT (username) DO UPDATE SET props = excluded.props",
                  (account["username"], json.dumps(account, ensure_ascii=False)))

    def add_audit(self, entry: dict) -> None:
        self._run("writing the audit log", "INSERT INTO audit (at, action, actor, source, props) VALUES (?, ?, ?, ?, ?)",
                  (entry["at"], entry["action"], entry.get("actor"), entry.get("source"),
                   json.dumps(entry, ensure_ascii=False)))

    def read_audit(self, *, since=None, action=None, actor=None, source=None, limit=1000) -> list[dict]:
        rows = self._run("reading the audit log",
                         "SELECT props FROM audit WHERE (?1 IS NULL OR at >= ?1) AND (?2 IS NULL OR action = ?2) "
                         "AND (?3 IS NULL OR actor = ?3) AND (?4 IS NULL OR source = ?4) "
                         "ORDER BY at DESC, seq DESC LIMIT ?5", (since, action, actor, source, int(limit)))
        return [json.loads(p) for (p,) in rows]

    def get_meta(self, key: str) -> str | None:
        rows = self._run("reading the store's metadata", "SELECT value FROM meta WHERE key = ?", (key,))
        return rows[0][0] if rows else None

    def set_meta(self, key: str, value: str) -> None:
        self._run("writing the store's metadata", "INSERT INTO meta (key, value) VALUES (?, ?) "
                  "ON CONFLICT (key) DO UPDATE SET value = excluded.value", (key, value))


# -- erasure (SQLiteStore.erase): lists of ids travel as JSON arrays, read with json_each -----------------------

def _in(param: str) -> str:
    return f"IN (SELECT value FROM json_each(:{param}))"


_FIND_NODES = f"SELECT id FROM nodes WHERE label = :label AND id {_in('ids')}"
# (A unary + keeps SQLite from choosing the index of a column that selects little: the ids should pick the rows.)
_FAMILY_MEMBERS = ("SELECT DISTINCT src_id FROM edges WHERE type = 'MEMBER_OF' AND +src_label = 'Person' "
                   f"AND dst_label = 'Family' AND dst_id {_in('families')}")
# a family whose every member is erased goes too
_EMPTIED_FAMILIES = ("SELECT DISTINCT m.dst_id FROM edges m WHERE m.type = 'MEMBER_OF' AND m.src_label = 'Person' "
                     f"AND +m.dst_label = 'Family' AND m.src_id {_in('people')} AND NOT EXISTS (SELECT 1 FROM edges o "
                     "WHERE o.type = 'MEMBER_OF' AND o.dst_label = 'Family' AND o.dst_id = m.dst_id "
                     f"AND o.src_label = 'Person' AND o.src_id NOT {_in('people')})")
# an unmatched name that only erased people gave goes too
_ORPHANED_NAMES = ("SELECT DISTINCT m.dst_id FROM edges m WHERE m.type = 'NAMED' AND m.src_label = 'Person' "
                   f"AND +m.dst_label = 'UnmatchedName' AND m.src_id {_in('people')} AND NOT EXISTS (SELECT 1 "
                   "FROM edges o WHERE o.type = 'NAMED' AND o.dst_label = 'UnmatchedName' AND o.dst_id = m.dst_id "
                   f"AND o.src_label = 'Person' AND o.src_id NOT {_in('people')})")
_FAMILY_CONTACTS = f"SELECT id FROM nodes WHERE label = 'Contact' AND json_extract(props, '$.family_id') {_in('families')}"
_ERASED_NODES = " OR ".join(f"(label = '{label}' AND id {_in(param)})" for label, param in
                            (("Person", "people"), ("Family", "families"), ("UnmatchedName", "names"),
                             ("Contact", "contacts")))
# every relationship that touches an erased person or family, whichever its type and direction
_ERASED_EDGES = " OR ".join(f"({end}_label = '{label}' AND {end}_id {_in(param)})"
                            for label, param in (("Person", "people"), ("Family", "families"))
                            for end in ("src", "dst"))
_ERASE_COUNT_NODES = f"SELECT label, count(*) FROM nodes WHERE {_ERASED_NODES} GROUP BY label"
_ERASE_COUNT_EDGES = f"SELECT type, count(*) FROM edges WHERE {_ERASED_EDGES} GROUP BY type"
_ERASE_DELETE_NODES = f"DELETE FROM nodes WHERE {_ERASED_NODES}"
_ERASE_DELETE_EDGES = f"DELETE FROM edges WHERE {_ERASED_EDGES}"


# -- provenance and replacing a source (SQLiteStore.write) -----------------------------------------------------

# what came from the source (?1) before this write (?2): its relationships, then its nodes nothing uses any more
_STALE_EDGES_COUNT = "SELECT type, count(*) FROM edges WHERE source = ?1 AND loaded_at <> ?2 GROUP BY type"
_STALE_EDGES_DELETE = "DELETE FROM edges WHERE source = ?1 AND loaded_at <> ?2"
_USED = ("EXISTS (SELECT 1 FROM edges e WHERE (e.src_label = n.label AND e.src_id = n.id) "
         "OR (e.dst_label = n.label AND e.dst_id = n.id))")
_STALE_NODES_USED = (f"SELECT n.label, count(*) FROM nodes n WHERE n.source = ?1 AND n.loaded_at <> ?2 AND {_USED} "
                     "GROUP BY n.label")
_STALE_NODES_UNUSED = (f"SELECT n.label, count(*) FROM nodes n WHERE n.source = ?1 AND n.loaded_at <> ?2 "
                       f"AND NOT {_USED} GROUP BY n.label")
_STALE_NODES_DELETE = f"DELETE FROM nodes AS n WHERE n.source = ?1 AND n.loaded_at <> ?2 AND NOT {_USED}"


def _now() -> str:
    """This write's time, to the microsecond: it also tells this write's rows from a source's older ones."""
    return datetime.now(timezone.utc).isoformat(timespec="microseconds")


def _tally(changes: dict, kind: str, pairs) -> None:
    """Count (held, new) pairs of one label or type: added (nothing held), changed or unchanged."""
    counts = changes.setdefault(kind, {})
    for held, new in pairs:
        if held is None:
            what = "added"
        else:
            what = "unchanged" if (_loads(held) if isinstance(held, str) else held) == new else "changed"
        counts[what] = counts.get(what, 0) + 1


def _held_edge(row):
    if row is None:
        return None
    src_label, src_id, dst_label, dst_id, props = row
    return {"ends": [src_label, src_id, dst_label, dst_id], "props": _loads(props)}


def _new_edge(e) -> dict:
    return {"ends": [e.src_label, str(e.src_id), e.dst_label, str(e.dst_id)], "props": e.props}


def _add_counts(changes: dict, what: str, rows) -> None:
    for kind, n in rows:
        if n:
            counts = changes.setdefault(kind, {})
            counts[what] = counts.get(what, 0) + n


def _tidy_changes(changes: dict) -> dict:
    """Every kind with its five counts (zeros included), sorted; kinds where nothing happened are left out."""
    return {kind: {k: counts.get(k, 0) for k in CHANGE_KINDS}
            for kind, counts in sorted(changes.items()) if any(counts.values())}


def _slash_hint(uri: str, path: str) -> str:
    """A hint for the URI a user probably meant (three slashes: relative; four: absolute)."""
    if not uri.startswith("sqlite:///"):
        return ""
    other = Path("/" + path) if not path.startswith("/") else Path(path.lstrip("/"))
    if other.is_file():
        slashes = "sqlite:////" if other.is_absolute() else "sqlite:///"
        return f". There is one at {other.absolute()}: did you mean {slashes}{str(other).lstrip('/')}?"
    return ""


def _loads(text: str):
    """One row's properties: orjson, or the standard library for what orjson refuses (NaN, huge ints)."""
    try:
        return orjson.loads(text)
    except orjson.JSONDecodeError:
        return json.loads(text)


def open_store(uri: str | None = None, *, create: bool = True) -> Store:
    """Open the store a URI names (default: `default_store_uri()`).

    `create=False` (commands that only read) never creates a store: a SQLite file that does not exist is a
    NoStoreError, with a hint when the other slash count would have named an existing file."""
    uri = uri or default_store_uri()
    path = None
    if uri.startswith("sqlite:///"):
        path = uri[len("sqlite:///"):]
    elif "://" not in uri and uri.lower().endswith((".sqlite", ".sqlite3", ".db")):
        path = uri                          # a plain path to a SQLite file
    if path is not None:
        try:
            return SQLiteStore(path, create=create)
        except NoStoreError as e:
            raise NoStoreError(str(e) + _slash_hint(uri, path)) from None
    if uri.split("://", 1)[0] in ("neo4j", "neo4j+s", "neo4j+ssc", "bolt", "bolt+s", "bolt+ssc"):
        # The driver is imported only when Neo4j is used. from_settings(uri) takes user, password and
        # database from NEO4J_USER, NEO4J_PASSWORD, NEO4J_DATABASE.
        from graph.neo4j_store import Neo4jStore
        return Neo4jStore.from_settings(uri)
    raise StoreError(f"unknown store URI {uri!r}: use sqlite:///path/to/file.sqlite (or the path of a .sqlite "
                     f"file) or neo4j://host:port")
