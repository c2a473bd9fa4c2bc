"""The Neo4j store: the property graph in a Neo4j 5 database (Community is enough).

Same interface as the SQLite store (graph/store.py). How it keeps its promises:

* Schema first: before its first write a store makes sure there is a uniqueness constraint on `id` for every
  node label of the model, and an index on the identity (`_key`) of every relationship type. Schema changes
  cannot share a transaction with data, so they run (idempotently, IF NOT EXISTS) before the load.
* All or nothing: `write()` runs every batch of a package (`UNWIND $rows ... MERGE ...`) inside ONE managed
  write transaction (`session.execute_write(fn)`). When the driver retries (a transient error, a lost
  connection), it re-runs the whole function; MERGE on the ids means a retry never duplicates anything.
  A relationship whose end node is missing aborts the whole package (nothing is written). One transaction
  holds the whole package in the server's memory, about 4 GiB per million rows (docs/performance.md): a
  server without enough is a clear StoreError, not retried.
* Fast loads: batches are pipelined (the next is sent before the answer to the previous one is read), people
  get their role label in the same statement as their properties, and the per-row lookup for relationships
  that moved is skipped for relationship types the store does not hold yet (a first load).
* Safe Cypher: every query is a module-level constant built at import from the model's labels and
  relationship types (graph/model.py); every value travels as a parameter (tests/test_cypher_safety.py).
* Reads: the whole dataset in one read transaction, one query per node label and per relationship type.
* Provenance (`write(records, source=...)`): every node and relationship written carries `_source` and
  `_loaded_at` (stripped on read, like `_key`); a write without a source keeps what a row had. `replace=True`
  removes, in the same transaction, that source's relationships the package no longer has, then its nodes that
  nothing touches any more; `dry_run=True` does the same in a transaction it rolls back, to count.
* Erasure (`erase`, docs/erasure.md): one write transaction finds who and what goes, deletes every relationship
  that touches an erased person or family, then the nodes with a plain DELETE, so a relationship that appeared
  meanwhile fails the transaction instead of being dropped uncounted.
* Bounded waits: a new driver checks the server at once (nothing listening: `StoreError` in well under a
  second); connection (5 s), acquisition (15 s) and retry (10 s) timeouts bound the rest, so a server that
  dies under an open driver is a clear `StoreError` within about 20 s. A driver that failed that way is
  dropped (and the schema checked again), so the same store recovers once the server is back.

Settings (`Neo4jStore.from_settings`): NEO4J_URI, NEO4J_USER (neo4j), NEO4J_PASSWORD (civicties-dev; "none"
for a server without auth), NEO4J_DATABASE (neo4j). See docs/neo4j.md.
"""
from __future__ import annotations

import os
import re
import threading
from urllib.parse import urlsplit, urlunsplit

from graph.errors import StoreError
from graph.model import DERIVED_EDGES, NODE_LABELS, REL_ENDS, REL_TYPES, ROLE_LABELS, ROLES, GraphRecords
from graph.store import (ACCOUNT_FIELDS, AUDIT_FIELDS, ERASED_NODE_LABELS, PROVENANCE, Store, UnknownIdError, _add_counts,
                         _now, _tally, _tidy_changes)

__all__ = ["Neo4jStore", "DEFAULT_URI", "DEFAULT_USER", "DEFAULT_PASSWORD", "DEFAULT_DATABASE"]

DEFAULT_URI = "neo4j://localhost:7687"
DEFAULT_USER = "neo4j"
DEFAULT_PASSWORD = "civicties-dev"
DEFAULT_DATABASE = "neo4j"

BATCH_SIZE = 5000                   # rows per UNWIND (bench/bench_neo4j_load.py, docs/performance.md)
CONNECTION_TIMEOUT_S = 5.0          # TCP connect + Bolt handshake
ACQUISITION_TIMEOUT_S = 15.0        # waiting for a pooled connection (includes connecting)
MAX_RETRY_TIME_S = 10.0             # total time execute_read/execute_write keep retrying
SCHEMA_AWAIT_S = 120                # waiting for new indexes to come online

KEY_PROPERTY = "_key"               # identity of a relationship (graph.model.edge_key); stripped on read
SOURCE_PROPERTY, LOADED_AT_PROPERTY = PROVENANCE    # which source wrote a row, and when; stripped on read
_HIDDEN = (KEY_PROPERTY, *PROVENANCE)


# ---------------------------------------------------------------------------------------------------------
# Cypher. Everything below is fixed text, built once at import from the model's constants: labels and
# relationship types pass `_ident()`, which admits only names the model declares. Values are parameters.
# ---------------------------------------------------------------------------------------------------------

_MODEL_NAMES = frozenset(NODE_LABELS) | frozenset(REL_TYPES) | frozenset(ROLE_LABELS.values())
_IDENT = re.compile(r"[A-Za-z][A-Za-z0-9_]*")


def _ident(name: str) -> str:
    """A label or relationship type of the model, checked, for use in Cypher text."""
    if name not in _MODEL_NAMES or not _IDENT.fullmatch(name):
        raise ValueError(f"{name!r} is not a label or relationship type of graph.model")
    return name


def _cypher_node_constraint(label: str) -> str:
    return (f"CREATE CONSTRAINT civicties_{_ident(label).lower()}_id IF NOT EXISTS "
            f"FOR (n:{_ident(label)}) REQUIRE n.id IS UNIQUE")


def _cypher_rel_index(rel: str) -> str:
    return (f"CREATE INDEX civicties_{_ident(rel).lower()}_key IF NOT EXISTS "
            f"FOR ()-[r:{_ident(rel)}]-() ON (r._key)")


# SET n = row replaces every property (an upsert keeps no stale columns), as the SQLite store does; a row without
# provenance (a contact, a survey answer) keeps the provenance the node had.
def _cypher_keep_provenance() -> str:
    return ("WITH n, row, n._source AS old_source, n._loaded_at AS old_loaded_at SET n = row "
            "SET n._source = coalesce(row._source, old_source), "
            "n._loaded_at = coalesce(row._loaded_at, old_loaded_at) ")


def _cypher_merge_nodes(label: str) -> str:
    return (f"UNWIND $rows AS row "
            f"MERGE (n:{_ident(label)} {{id: row.id}}) "
            f"{_cypher_keep_provenance()}"
            f"RETURN count(n) AS written")


def _cypher_role_labels() -> str:
    return ":".join(_ident(ROLE_LABELS[role]) for role in ROLES)           # Parent:Child:Teacher:Staff:Official


def _cypher_merge_people(role_label: str) -> str:
    # People of one role: properties and role label in one pass (the label is kept in step with `role`).
    return (f"UNWIND $rows AS row "
            f"MERGE (n:{_ident('Person')} {{id: row.id}}) "
            f"{_cypher_keep_provenance()}"
            f"REMOVE n:{_cypher_role_labels()} "
            f"SET n:{_ident(role_label)} "
            f"RETURN count(n) AS written")


def _cypher_merge_people_without_role() -> str:
    return (f"UNWIND $rows AS row "
            f"MERGE (n:{_ident('Person')} {{id: row.id}}) "
            f"{_cypher_keep_provenance()}"
            f"REMOVE n:{_cypher_role_labels()} "
            f"RETURN count(n) AS written")


def _cypher_drop_moved_rels(rel: str, src: str, dst: str) -> str:
    # A relationship is identified by (type, source label, key). When a re-load moves it to other end nodes
    # (e.g. a home visit now names another teacher), the old one goes, so MERGE below cannot duplicate it.
    return (f"UNWIND $rows AS row "
            f"MATCH (s:{_ident(src)})-[r:{_ident(rel)} {{_key: row.key}}]->(d) "
            f"WHERE s.id <> row.src OR d.id <> row.dst OR NOT d:{_ident(dst)} "
            f"DELETE r")


def _cypher_merge_rels(rel: str, src: str, dst: str) -> str:
    return (f"UNWIND $rows AS row "
            f"MATCH (s:{_ident(src)} {{id: row.src}}) "
            f"MATCH (d:{_ident(dst)} {{id: row.dst}}) "
            f"MERGE (s)-[r:{_ident(rel)} {{_key: row.key}}]->(d) "
            f"WITH r, row, r._source AS old_source, r._loaded_at AS old_loaded_at SET r = row.props "
            f"SET r._source = coalesce(row.props._source, old_source), "
            f"r._loaded_at = coalesce(row.props._loaded_at, old_loaded_at) "
            f"RETURN count(r) AS written")


def _cypher_missing_ends(src: str, dst: str) -> str:
    return (f"UNWIND $rows AS row "
            f"OPTIONAL MATCH (s:{_ident(src)} {{id: row.src}}) "
            f"OPTIONAL MATCH (d:{_ident(dst)} {{id: row.dst}}) "
            f"WITH row, s, d WHERE s IS NULL OR d IS NULL "
            f"RETURN row.src AS src, s IS NOT NULL AS src_found, row.dst AS dst, d IS NOT NULL AS dst_found "
            f"LIMIT 5")


def _cypher_read_nodes(label: str) -> str:
    return f"MATCH (n:{_ident(label)}) RETURN properties(n) AS p ORDER BY n.id"


def _cypher_read_rels(rel: str) -> str:
    return f"MATCH ()-[r:{_ident(rel)}]->() RETURN properties(r) AS p ORDER BY r._key"


def _cypher_held_nodes(label: str) -> str:
    return f"UNWIND $ids AS id MATCH (n:{_ident(label)} {{id: id}}) RETURN n.id AS id, properties(n) AS p"


def _cypher_held_rels(rel: str) -> str:
    # the end labels of the model (a person also has a role label)
    return (f"UNWIND $keys AS key MATCH (s)-[r:{_ident(rel)} {{_key: key}}]->(d) "
            f"RETURN r._key AS key, properties(r) AS p, [l IN labels(s) WHERE l IN $labels][0] AS sl, s.id AS si, "
            f"[l IN labels(d) WHERE l IN $labels][0] AS dl, d.id AS di")


def _cypher_stale_rels(rel: str) -> str:
    # a source's relationships from before this write ($loaded_at): not in the package any more
    return (f"MATCH ()-[r:{_ident(rel)}]->() WHERE r._source = $source AND r._loaded_at <> $loaded_at "
            f"DELETE r RETURN count(*) AS n")


def _cypher_stale_nodes(label: str, *, delete: bool) -> str:
    # a source's nodes from before this write: removed when nothing touches them any more, else kept
    stale = f"MATCH (n:{_ident(label)}) WHERE n._source = $source AND n._loaded_at <> $loaded_at "
    if delete:
        return stale + "AND NOT EXISTS { (n)--() } DELETE n RETURN count(*) AS n"
    return stale + "AND EXISTS { (n)--() } RETURN count(n) AS n"


def _cypher_counts() -> str:
    nodes = ", ".join(f"COUNT {{ (:{_ident(label)}) }}" for label in NODE_LABELS)
    rels = ", ".join(f"COUNT {{ ()-[:{_ident(rel)}]->() }}" for rel in REL_TYPES)
    return f"RETURN [{nodes}] AS nodes, [{rels}] AS rels"


def _cypher_erase_find(label: str) -> str:
    return f"UNWIND $ids AS id MATCH (n:{_ident(label)} {{id: id}}) RETURN n.id AS id"


def _cypher_erase_rels(*, delete: bool) -> str:
    # Every relationship that touches an erased person or family, whatever its type and direction, once.
    # (Collected rather than a CALL {} UNION, whose syntax changed within Neo4j 5.)
    rels = (f"OPTIONAL MATCH (p:{_ident('Person')})-[r]-() WHERE p.id IN $people WITH collect(r) AS mine "
            f"OPTIONAL MATCH (f:{_ident('Family')})-[r]-() WHERE f.id IN $families "
            f"WITH mine, collect(r) AS theirs UNWIND mine + theirs AS r WITH DISTINCT r ")
    if delete:
        return rels + "WITH r, type(r) AS kind DELETE r RETURN kind, count(*) AS n"
    return rels + "RETURN type(r) AS kind, count(r) AS n"


def _cypher_erase_nodes(label: str) -> str:
    # A plain DELETE: the relationships went first (ERASE_RELS); one that is left fails the transaction.
    return f"MATCH (n:{_ident(label)}) WHERE n.id IN $ids DELETE n RETURN count(*) AS deleted"


def _cypher_delete_some() -> str:
    # Only the model's nodes: anything else sharing the database is left alone.
    labels = "|".join(_ident(label) for label in NODE_LABELS)
    return f"MATCH (n:{labels}) WITH n LIMIT $limit DETACH DELETE n RETURN count(*) AS deleted"


# Every (relationship type, source label, target label) the model writes.
_REL_SHAPES = tuple(sorted({(rel, ends[0], ends[1]) for rel, ends in REL_ENDS.items()}
                           | {(rel, src, dst) for _table, rel, src, _sc, dst, _dc in DERIVED_EDGES}))

SCHEMA_QUERIES = (tuple(_cypher_node_constraint(label) for label in NODE_LABELS)
                  + tuple(_cypher_rel_index(rel) for rel in REL_TYPES))
AWAIT_INDEXES = "CALL db.awaitIndexes($seconds)"
MERGE_NODES = {label: _cypher_merge_nodes(label) for label in NODE_LABELS}
MERGE_PEOPLE = {role: _cypher_merge_people(ROLE_LABELS[role]) for role in ROLES}
MERGE_PEOPLE_WITHOUT_ROLE = _cypher_merge_people_without_role()
DROP_MOVED_RELS = {shape: _cypher_drop_moved_rels(*shape) for shape in _REL_SHAPES}
MERGE_RELS = {shape: _cypher_merge_rels(*shape) for shape in _REL_SHAPES}
MISSING_ENDS = {shape: _cypher_missing_ends(shape[1], shape[2]) for shape in _REL_SHAPES}
HELD_NODES = {label: _cypher_held_nodes(label) for label in NODE_LABELS}
HELD_RELS = {rel: _cypher_held_rels(rel) for rel in REL_TYPES}
STALE_RELS = {rel: _cypher_stale_rels(rel) for rel in REL_TYPES}
STALE_NODES_KEPT = {label: _cypher_stale_nodes(label, delete=False) for label in NODE_LABELS}
STALE_NODES_DELETE = {label: _cypher_stale_nodes(label, delete=True) for label in NODE_LABELS}
READ_NODES = {label: _cypher_read_nodes(label) for label in NODE_LABELS}
READ_RELS = {rel: _cypher_read_rels(rel) for rel in REL_TYPES}
COUNTS = _cypher_counts()
DELETE_SOME = _cypher_delete_some()
PING = "RETURN 1 AS one"

# Erasure (Neo4jStore.erase): the same sets as the SQLite store's (graph/store.py), found the same way.
ERASE_FIND = {label: _cypher_erase_find(label) for label in ("Person", "Family")}
ERASE_FAMILY_MEMBERS = ("MATCH (p:Person)-[:MEMBER_OF]->(f:Family) WHERE f.id IN $families "
                        "RETURN DISTINCT p.id AS id")
ERASE_EMPTIED_FAMILIES = ("MATCH (p:Person)-[:MEMBER_OF]->(f:Family) WHERE p.id IN $people WITH DISTINCT f "
                          "WHERE NOT EXISTS { MATCH (o:Person)-[:MEMBER_OF]->(f) WHERE NOT o.id IN $people } "
                          "RETURN f.id AS id")
ERASE_ORPHANED_NAMES = ("MATCH (p:Person)-[:NAMED]->(u:UnmatchedName) WHERE p.id IN $people WITH DISTINCT u "
                        "WHERE NOT EXISTS { MATCH (o:Person)-[:NAMED]->(u) WHERE NOT o.id IN $people } "
                        "RETURN u.id AS id")
ERASE_FAMILY_CONTACTS = "MATCH (c:Contact) WHERE c.family_id IN $families RETURN c.id AS id"
ERASE_COUNT_RELS = _cypher_erase_rels(delete=False)
ERASE_RELS = _cypher_erase_rels(delete=True)
ERASE_NODES = {label: _cypher_erase_nodes(label) for label in ERASED_NODE_LABELS}

# What a deployment keeps beside the data (graph/store.py): accounts, the audit log, facts about the store.
# Their labels are not the model's, so reset() (DELETE_SOME) and counts() leave them alone.
DEPLOYMENT_LABELS = ("CivicTiesAccount", "CivicTiesAudit", "CivicTiesMeta")
ACCOUNT_SCHEMA = (
    "CREATE CONSTRAINT civicties_account_username IF NOT EXISTS FOR (a:CivicTiesAccount) REQUIRE a.username IS UNIQUE",
    "CREATE INDEX civicties_audit_at IF NOT EXISTS FOR (e:CivicTiesAudit) ON (e.at)",
    "CREATE CONSTRAINT civicties_meta_key IF NOT EXISTS FOR (m:CivicTiesMeta) REQUIRE m.key IS UNIQUE",
)
GET_ACCOUNT = "MATCH (a:CivicTiesAccount {username: $username}) RETURN properties(a) AS p"
LIST_ACCOUNTS = "MATCH (a:CivicTiesAccount) RETURN properties(a) AS p ORDER BY a.username"
SAVE_ACCOUNT = "MERGE (a:CivicTiesAccount {username: $row.username}) SET a = $row"
ADD_AUDIT = "CREATE (e:CivicTiesAudit) SET e = $row"
READ_AUDIT = ("MATCH (e:CivicTiesAudit) WHERE ($since IS NULL OR e.at >= $since) "
              "AND ($action IS NULL OR e.action = $action) AND ($actor IS NULL OR e.actor = $actor) "
              "AND ($source IS NULL OR e.source = $source) "
              "RETURN properties(e) AS p ORDER BY e.at DESC, e.id DESC LIMIT $limit")
GET_META = "MATCH (m:CivicTiesMeta {key: $key}) RETURN m.value AS value"
SET_META = "MERGE (m:CivicTiesMeta {key: $key}) SET m.value = $value"


# ---------------------------------------------------------------------------------------------------------

def _batches(rows: list, size: int):
    for i in range(0, len(rows), size):
        yield rows[i:i + size]


def _public_uri(uri: str) -> str:
    """The URI without user:password@ (for messages and labels)."""
    parts = urlsplit(uri)
    if parts.username is None and parts.password is None:
        return uri
    host = parts.hostname or ""
    if parts.port:
        host = f"{host}:{parts.port}"
    return urlunsplit((parts.scheme, host, parts.path, parts.query, parts.fragment))


class Neo4jStore(Store):
    """The property graph in Neo4j."""

    def __init__(self, uri: str = DEFAULT_URI, user: str | None = DEFAULT_USER,
                 password: str | None = DEFAULT_PASSWORD, database: str = DEFAULT_DATABASE, *,
                 batch_size: int = BATCH_SIZE, connection_timeout: float = CONNECTION_TIMEOUT_S,
                 acquisition_timeout: float = ACQUISITION_TIMEOUT_S, max_retry_time: float = MAX_RETRY_TIME_S):
        parts = urlsplit(uri)
        if parts.username:                                   # neo4j://user:password@host:port
            user, password = parts.username, parts.password or ""
        self.uri = _public_uri(uri)
        self.database = database or DEFAULT_DATABASE
        self.batch_size = max(1, int(batch_size))
        self._auth = (user, password) if user and password not in (None, "", "none") else None
        self._driver_config = {
            "connection_timeout": connection_timeout,
            "connection_acquisition_timeout": acquisition_timeout,
            "max_transaction_retry_time": max_retry_time,
            "user_agent": "civicties",
        }
        self._driver = None
        self._lock = threading.Lock()
        self._schema_ready = False
        self._closed = False

    @classmethod
    def from_settings(cls, uri: str | None = None) -> "Neo4jStore":
        """A store configured from NEO4J_URI, NEO4J_USER, NEO4J_PASSWORD and NEO4J_DATABASE."""
        return cls(uri or os.environ.get("NEO4J_URI") or DEFAULT_URI,
                   os.environ.get("NEO4J_USER", DEFAULT_USER),
                   os.environ.get("NEO4J_PASSWORD", DEFAULT_PASSWORD),
                   os.environ.get("NEO4J_DATABASE") or DEFAULT_DATABASE)

    # -- connection --------------------------------------------------------------------------------------

    @property
    def label(self) -> str:
        """A short description for people (no credentials)."""
        return f"Neo4j {self.uri} (database {self.database})"

    def _get_driver(self):
        with self._lock:
            if self._closed:
                raise StoreError(f"the Neo4j store {self.uri} is closed")
            if self._driver is None:
                import neo4j
                try:
                    driver = neo4j.GraphDatabase.driver(self.uri, auth=self._auth, **self._driver_config)
                except (ValueError, neo4j.exceptions.ConfigurationError) as e:     # a malformed URI
                    raise StoreError(f"cannot use the Neo4j URI {self.uri!r}: {e}") from e
                try:
                    # Fails at once when nothing listens (the transaction functions would keep retrying for
                    # max_retry_time); bounded by the connection timeout otherwise.
                    driver.verify_connectivity()
                except BaseException:
                    driver.close()
                    raise
                self._driver = driver
            return self._driver

    def _drop_driver(self) -> None:
        """Forget a driver that failed to reach the server; the next call builds a fresh one."""
        with self._lock:
            driver, self._driver = self._driver, None
            self._schema_ready = False         # the server may come back as a new, empty one
        if driver is not None:
            try:
                driver.close()
            except Exception:  # noqa: BLE001 - closing a broken driver may fail too; nothing to do
                pass

    def _call(self, what: str, access: str, fn, *args):
        """Run fn(tx, *args) in one managed transaction (retried by the driver as a whole); translate
        failures into StoreError."""
        from neo4j import exceptions as nx
        try:
            driver = self._get_driver()
            with driver.session(database=self.database) as session:
                if access == "write":
                    return session.execute_write(fn, *args)
                return session.execute_read(fn, *args)
        except StoreError:
            raise
        except nx.AuthError as e:
            self._drop_driver()
            user = self._auth[0] if self._auth else "(no auth)"
            raise StoreError(f"Neo4j at {self.uri} refused the credentials of user {user!r} while {what}: "
                             f"check NEO4J_USER and NEO4J_PASSWORD ({e.message or e})") from e
        except nx.IncompleteCommit as e:                      # (a ServiceUnavailable: test it first)
            self._drop_driver()
            raise StoreError(f"the connection to Neo4j at {self.uri} broke while committing ({what}): the "
                             f"server may or may not have kept the change. Doing it again is safe (a package "
                             f"load never duplicates anything).") from e
        except (nx.ServiceUnavailable, nx.SessionExpired, nx.ConnectionPoolError, OSError) as e:
            self._drop_driver()
            raise StoreError(f"cannot reach Neo4j at {self.uri} while {what}"
                             f"{'; nothing was written' if access == 'write' else ''}. Is the server running? "
                             f"(scripts/neo4j start, or check NEO4J_URI) [{type(e).__name__}: {e}]") from e
        except nx.Neo4jError as e:
            if e.code and "MemoryPoolOutOfMemoryError" in e.code and access == "write":     # at commit
                raise StoreError(self._too_big_message(e)) from e
            if e.code and "Database.DatabaseNotFound" in e.code:
                raise StoreError(f"Neo4j at {self.uri} has no database {self.database!r}: check NEO4J_DATABASE"
                                 ) from e
            outcome = "the transaction was rolled back, nothing was written" if access == "write" else "no result"
            raise StoreError(f"Neo4j at {self.uri} failed while {what}; {outcome}: {e.code}: {e.message}") from e
        except nx.DriverError as e:
            self._drop_driver()
            raise StoreError(f"the Neo4j driver failed while {what} ({self.uri}): {type(e).__name__}: {e}") from e

    def ping(self) -> None:
        """Raise StoreError unless the server answers a query."""
        self._call("checking the connection", "read", lambda tx: tx.run(PING).single())

    def close(self) -> None:
        with self._lock:
            self._closed = True
        self._drop_driver()

    # -- schema ------------------------------------------------------------------------------------------

    def ensure_schema(self) -> None:
        """Uniqueness constraint on `id` per node label, index on `_key` per relationship type (idempotent)."""
        if self._schema_ready:
            return
        self._call("creating the schema", "write", _create_schema)
        self._call("waiting for the indexes to come online", "read", _await_indexes)
        self._schema_ready = True

    # -- writes ------------------------------------------------------------------------------------------

    def write(self, records: GraphRecords, *, source: str | None = None, replace: bool = False,
              dry_run: bool = False) -> dict:
        """Upsert every node and relationship of `records` in ONE transaction; all or nothing (Store.write)."""
        self._check_write_args(source, replace)
        mark = {SOURCE_PROPERTY: source, LOADED_AT_PROPERTY: _now()} if source else {}
        nodes: dict[str, list[dict]] = {}
        for label, rows in records.nodes.items():
            if label not in MERGE_NODES:
                raise StoreError(f"cannot write nodes labelled {label!r}: not a label of the model")
            if rows:
                nodes[label] = [dict(r, id=str(r["id"]), **mark) for r in rows]
        rels: dict[tuple[str, str, str], list[dict]] = {}
        for e in records.edges:
            shape = (e.rel_type, e.src_label, e.dst_label)
            if shape not in MERGE_RELS:
                raise StoreError(f"cannot write ({e.src_label})-[:{e.rel_type}]->({e.dst_label}): "
                                 f"not a relationship of the model")
            rels.setdefault(shape, []).append(
                {"src": str(e.src_id), "dst": str(e.dst_id), "key": e.key,
                 "props": {**e.props, KEY_PROPERTY: e.key, **mark}})
        self.ensure_schema()
        out = {"nodes": sum(len(v) for v in nodes.values()), "relationships": sum(len(v) for v in rels.values())}
        if not (replace or dry_run):
            self._call("writing a package", "write", self._write_tx, nodes, rels)
            return out
        try:
            changes = self._call("writing a package" if not dry_run else "counting what a load would change",
                                 "write", self._counted_write_tx, records, nodes, rels, mark, replace, dry_run)
        except _RolledBack as rolled:
            changes = rolled.changes
        return out | {"changes": _tidy_changes(changes)}

    def _counted_write_tx(self, tx, records, nodes, rels, mark, replace: bool, dry_run: bool) -> dict:
        changes = _compare_tx(tx, records)
        self._write_tx(tx, nodes, rels)
        if replace:
            params = {"source": mark[SOURCE_PROPERTY], "loaded_at": mark[LOADED_AT_PROPERTY]}
            _add_counts(changes, "removed", ((rel, tx.run(q, params).single()["n"]) for rel, q in STALE_RELS.items()))
            _add_counts(changes, "kept", ((label, tx.run(q, params).single()["n"])
                                          for label, q in STALE_NODES_KEPT.items()))
            _add_counts(changes, "removed", ((label, tx.run(q, params).single()["n"])
                                             for label, q in STALE_NODES_DELETE.items()))
        if dry_run:
            raise _RolledBack(changes)            # the driver rolls the transaction back
        return changes

    def _write_tx(self, tx, nodes: dict[str, list[dict]], rels: dict[tuple[str, str, str], list[dict]]) -> None:
        """The whole package, batch by batch, in the one transaction `tx` (re-run whole on retry).

        Batches are pipelined: a batch is sent before the answer to the previous one is read (the driver reads
        answers in order), so the client prepares batch n+1 while the server works on batch n. Every answer is
        checked before the function returns, i.e. before the commit."""
        from neo4j.exceptions import TransientError
        try:
            self._write_batches(tx, nodes, rels)
        except TransientError as e:
            if e.code and "MemoryPoolOutOfMemoryError" in e.code:     # retrying the same package cannot help
                raise StoreError(self._too_big_message(e)) from e
            raise

    def _write_batches(self, tx, nodes, rels) -> None:
        # Relationship types the store holds before this package. Where it holds none, no relationship can have
        # moved, so DROP_MOVED_RELS (a lookup per row) is skipped: the first load of a type only MERGEs.
        present = _counts(tx)
        for label, rows in nodes.items():
            if label == "Person":
                by_role: dict[str | None, list[dict]] = {}
                for r in rows:
                    by_role.setdefault(r.get("role") if r.get("role") in ROLES else None, []).append(r)
                for role, group in by_role.items():
                    for batch in _batches(group, self.batch_size):
                        if role is None:
                            tx.run(MERGE_PEOPLE_WITHOUT_ROLE, rows=batch)
                        else:
                            tx.run(MERGE_PEOPLE[role], rows=batch)
                continue
            for batch in _batches(rows, self.batch_size):
                tx.run(MERGE_NODES[label], rows=batch)
        unchecked = []              # relationship batches whose answer (rows written) is still to be read
        for shape, rows in rels.items():
            for batch in _batches(rows, self.batch_size):
                if present.get(shape[0]):
                    tx.run(DROP_MOVED_RELS[shape], rows=batch)
                unchecked.append((tx.run(MERGE_RELS[shape], rows=batch), shape, batch))
                if len(unchecked) > 1:                  # the previous answer has arrived by now
                    self._check_written(tx, *unchecked.pop(0))
        for item in unchecked:
            self._check_written(tx, *item)

    def _check_written(self, tx, result, shape, batch) -> None:
        written = result.single()["written"]
        if written != len(batch):
            raise StoreError(self._missing_message(tx, shape, batch, written))

    def _too_big_message(self, e) -> str:
        return (f"Neo4j at {self.uri} ran out of transaction memory while writing a package; the transaction was "
                f"rolled back, nothing was written. A package is written in one transaction (all or nothing), "
                f"which needs about 4 GiB of transaction memory per million rows (by default Neo4j lets transactions "
                f"use 70% of its heap): give the server a larger heap (scripts/neo4j: NEO4J_HEAP=8g for 1.4 million "
                f"rows; a Neo4j server: server.memory.heap.max_size, dbms.memory.transaction.total.max). "
                f"[{e.code}: {e.message}]")

    def _missing_message(self, tx, shape, batch, written) -> str:
        rel, src, dst = shape
        missing = [f"{'' if r['src_found'] else 'missing '}{src} {r['src']!r} -> "
                   f"{'' if r['dst_found'] else 'missing '}{dst} {r['dst']!r}"
                   for r in tx.run(MISSING_ENDS[shape], rows=batch)]
        return (f"cannot write the package to Neo4j at {self.uri}: {len(batch) - written} {rel} relationship(s) "
                f"name a node that is neither in the package nor in the store ({'; '.join(missing)}). "
                f"Nothing was written.")

    def reset(self) -> None:
        """Delete every node of the model's labels, with its relationships (in batches of separate
        transactions, so a large graph never needs one huge transaction). Other nodes, constraints and
        indexes stay."""
        while self._call("emptying the database", "write", _delete_some, 10_000):
            pass

    def erase(self, person_ids: list[str], family_ids: list[str], *, dry_run: bool = False) -> dict[str, int]:
        """See Store.erase: one write transaction (a read one for a dry run)."""
        people, families = self._erase_ids(person_ids), self._erase_ids(family_ids)
        if not people and not families:
            return {}
        self.ensure_schema()
        if dry_run:
            return self._call("counting what an erasure would remove", "read", _erase_tx, people, families, False)
        return self._call("erasing people and families", "write", _erase_tx, people, families, True)

    # -- reads -------------------------------------------------------------------------------------------

    def read_rows(self) -> tuple[dict[str, list[dict]], dict[str, list[dict]]]:
        """Node properties by label and relationship properties by type, in one read transaction."""
        return self._call("reading the dataset", "read", _read_all)

    def counts(self) -> dict[str, int]:
        return self._call("counting nodes and relationships", "read", _counts)

    # -- accounts, audit, meta ---------------------------------------------------------------------------

    def _one(self, what: str, access: str, query_fn, **params):
        self.ensure_schema()
        return self._call(what, access, query_fn, params)

    def get_account(self, username: str) -> dict | None:
        rows = self._one("reading an account", "read", _get_account_tx, username=username)
        return _account(rows[0]) if rows else None

    def list_accounts(self) -> list[dict]:
        return [_account(p) for p in self._one("listing accounts", "read", _list_accounts_tx)]

    def save_account(self, account: dict) -> None:
        self._one("saving an account", "write", _save_account_tx, row=_no_nulls(account))

    def add_audit(self, entry: dict) -> None:
        self._one("writing the audit log", "write", _add_audit_tx, row=_no_nulls(entry))

    def read_audit(self, *, since=None, action=None, actor=None, source=None, limit=1000) -> list[dict]:
        rows = self._one("reading the audit log", "read", _read_audit_tx, since=since, action=action,
                         actor=actor, source=source, limit=int(limit))
        return [{k: row.get(k) for k in AUDIT_FIELDS} | row for row in rows]

    def get_meta(self, key: str) -> str | None:
        return self._one("reading the store's metadata", "read", _get_meta_tx, key=key)

    def set_meta(self, key: str, value: str) -> None:
        self._one("writing the store's metadata", "write", _set_meta_tx, key=key, value=value)


def _get_account_tx(tx, params):
    return [dict(rec["p"]) for rec in tx.run(GET_ACCOUNT, params)]


def _list_accounts_tx(tx, params):
    return [dict(rec["p"]) for rec in tx.run(LIST_ACCOUNTS, params)]


def _save_account_tx(tx, params):
    tx.run(SAVE_ACCOUNT, params).consume()


def _add_audit_tx(tx, params):
    tx.run(ADD_AUDIT, params).consume()


def _read_audit_tx(tx, params):
    return [dict(rec["p"]) for rec in tx.run(READ_AUDIT, params)]


def _get_meta_tx(tx, params):
    rec = tx.run(GET_META, params).single()
    return None if rec is None else rec["value"]


def _set_meta_tx(tx, params):
    tx.run(SET_META, params).consume()


def _no_nulls(row: dict) -> dict:
    """Neo4j stores no null properties: leave them out (reading back gives the same dict via .get)."""
    return {k: v for k, v in row.items() if v is not None}


def _account(props: dict) -> dict:
    """An account as the SQLite store gives it back: every field, None where Neo4j kept no property."""
    out = {k: props.get(k) for k in ACCOUNT_FIELDS} | dict(props)
    out["sites"] = list(out.get("sites") or [])
    return out



def _create_schema(tx) -> None:
    for query in SCHEMA_QUERIES:
        tx.run(query).consume()
    for query in ACCOUNT_SCHEMA:
        tx.run(query).consume()


def _await_indexes(tx) -> None:
    tx.run(AWAIT_INDEXES, seconds=SCHEMA_AWAIT_S).consume()


def _delete_some(tx, limit: int) -> int:
    return tx.run(DELETE_SOME, limit=limit).single()["deleted"]


def _erase_tx(tx, people: list[str], families: list[str], delete: bool) -> dict[str, int]:
    found_people = set(_ids(tx.run(ERASE_FIND["Person"], ids=people)))
    found_families = set(_ids(tx.run(ERASE_FIND["Family"], ids=families)))
    if len(found_people) < len(people) or len(found_families) < len(families):
        raise UnknownIdError([p for p in people if p not in found_people],
                             [f for f in families if f not in found_families])
    people = sorted(found_people | set(_ids(tx.run(ERASE_FAMILY_MEMBERS, families=families))))
    families = sorted(found_families | set(_ids(tx.run(ERASE_EMPTIED_FAMILIES, people=people))))
    nodes = {"Person": people, "Family": families,
             "UnmatchedName": _ids(tx.run(ERASE_ORPHANED_NAMES, people=people)),
             "Contact": _ids(tx.run(ERASE_FAMILY_CONTACTS, families=families))}
    if not delete:
        removed = {rec["kind"]: rec["n"] for rec in tx.run(ERASE_COUNT_RELS, people=people, families=families)}
        removed.update({label: len(label_ids) for label, label_ids in nodes.items()})
    else:
        removed = {rec["kind"]: rec["n"] for rec in tx.run(ERASE_RELS, people=people, families=families)}
        for label, label_ids in nodes.items():
            removed[label] = tx.run(ERASE_NODES[label], ids=label_ids).single()["deleted"]
    return {k: v for k, v in sorted(removed.items()) if v}


def _ids(result) -> list[str]:
    return [rec["id"] for rec in result]


def _read_all(tx):
    nodes: dict[str, list[dict]] = {}
    edges: dict[str, list[dict]] = {}
    for label, query in READ_NODES.items():
        rows = [_visible(rec["p"]) for rec in tx.run(query)]
        if rows:
            nodes[label] = rows
    for rel, query in READ_RELS.items():
        rows = [_visible(rec["p"]) for rec in tx.run(query)]
        if rows:
            edges[rel] = rows
    return nodes, edges


def _visible(props) -> dict:
    """A row's properties without the store's bookkeeping (relationship key, provenance)."""
    out = dict(props)
    for k in _HIDDEN:
        out.pop(k, None)
    return out


class _RolledBack(StoreError):
    """Raised at the end of a dry run's transaction function so that the driver rolls it back; carries the counts."""

    def __init__(self, changes: dict):
        super().__init__("dry run: rolled back")
        self.changes = changes


def _compare_tx(tx, records: GraphRecords) -> dict:
    """Added, changed and unchanged per label and type (as the SQLite store counts them)."""
    changes: dict = {}
    for label, rows in records.nodes.items():
        if not rows or label not in HELD_NODES:
            continue
        held = {rec["id"]: _visible(rec["p"]) for rec in tx.run(HELD_NODES[label], ids=[str(r["id"]) for r in rows])}
        _tally(changes, label, ((held.get(str(n["id"])), dict(n, id=str(n["id"]))) for n in rows))
    by_type: dict[str, list] = {}
    for e in records.edges:
        by_type.setdefault(e.rel_type, []).append(e)
    for rel, edges in by_type.items():
        held = {rec["key"]: {"ends": [rec["sl"], rec["si"], rec["dl"], rec["di"]], "props": _visible(rec["p"])}
                for rec in tx.run(HELD_RELS[rel], keys=[e.key for e in edges], labels=list(NODE_LABELS))}
        _tally(changes, rel, ((held.get(e.key), {"ends": [e.src_label, str(e.src_id), e.dst_label, str(e.dst_id)],
                                                 "props": e.props}) for e in edges))
    return changes


def _counts(tx) -> dict[str, int]:
    rec = tx.run(COUNTS).single()
    out = {label: n for label, n in zip(NODE_LABELS, rec["nodes"]) if n}
    out.update({rel: n for rel, n in zip(REL_TYPES, rec["rels"]) if n})
    return out
