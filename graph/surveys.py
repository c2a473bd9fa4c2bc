"""Keeping survey waves, personal links, drafts and submitted answers, in either store.

What a survey needs beside the program's graph lives apart from it, as accounts do (graph/store.py): survey
waves, invitations (one per respondent and wave, with the SHA-256 hash of their link's token, never the token),
and drafts (half-finished answers, never ties). In SQLite they are the tables ``survey_waves``,
``survey_invites`` and ``survey_drafts``; in Neo4j the labels ``CivicTiesSurveyWave``, ``CivicTiesSurveyInvite``
and ``CivicTiesSurveyDraft``, outside the model's labels, so ``reset()`` and ``counts()`` leave them alone.
Each row is a JSON object (``props``) beside the few fields it is looked up by.

Submitted answers are ties of the graph model (REPORTED_TIE to a person, NAMED to an unmatched name), marked
with ``survey_wave_id``. ``write_answers`` writes them in ONE transaction with the invitation's new state:
first the respondent's earlier answers to the same wave go (a resubmission replaces them, no duplicates),
then the new ties, then the invitation is saved and the draft removed. A failure anywhere (a dropped
connection included) leaves the store as it was. ``write_records`` does the same for staff's everyday records
(a person whose family or site changed loses the old MEMBER_OF / BASED_AT first).

This module uses the stores' own connection helpers (``SQLiteStore._conn``, ``Neo4jStore._call``,
``Neo4jStore._write_batches``) so that a write here is exactly a ``Store.write`` plus what surveys add.
Cypher is fixed text; every value travels as a parameter.
"""
from __future__ import annotations

import json
import sqlite3
import weakref

from graph.errors import StoreError
from graph.model import GraphRecords
from graph.store import SQLiteStore, Store

__all__ = ["save_wave", "get_wave", "list_waves", "save_invites", "save_invite", "get_invite", "find_invite",
           "list_invites", "get_draft", "save_draft", "delete_draft", "write_answers", "write_records",
           "SURVEY_MARK"]

SURVEY_MARK = "survey_wave_id"      # the tie property that says which survey wave (by id) a tie came from


def _checkpoint(stage: str) -> None:
    """Called inside the write transactions between their steps (tests make it fail to prove all-or-nothing)."""


# -- SQLite -----------------------------------------------------------------------------------------------

_SQLITE_SCHEMA = """
CREATE TABLE IF NOT EXISTS survey_waves (id TEXT PRIMARY KEY, props TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS survey_invites (
    id TEXT PRIMARY KEY, wave_id TEXT NOT NULL, person_id TEXT NOT NULL, token_hash TEXT NOT NULL UNIQUE,
    props TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS survey_invites_wave ON survey_invites (wave_id);
CREATE INDEX IF NOT EXISTS survey_invites_person ON survey_invites (person_id);
CREATE TABLE IF NOT EXISTS survey_drafts (id TEXT PRIMARY KEY, props TEXT NOT NULL);
"""
_SQL_SAVE_WAVE = ("INSERT INTO survey_waves (id, props) VALUES (?, ?) "
                  "ON CONFLICT (id) DO UPDATE SET props = excluded.props")
_SQL_SAVE_INVITE = ("INSERT INTO survey_invites (id, wave_id, person_id, token_hash, props) VALUES (?, ?, ?, ?, ?) "
                    "ON CONFLICT (id) DO UPDATE SET wave_id = excluded.wave_id, person_id = excluded.person_id, "
                    "token_hash = excluded.token_hash, props = excluded.props")
_SQL_SAVE_DRAFT = ("INSERT INTO survey_drafts (id, props) VALUES (?, ?) "
                   "ON CONFLICT (id) DO UPDATE SET props = excluded.props")
# the respondent's earlier answers to this wave (matched ties and unmatched names alike)
_SQL_OLD_NAMES = ("SELECT DISTINCT dst_id FROM edges WHERE type = 'NAMED' AND src_label = 'Person' AND src_id = ? "
                  "AND json_extract(props, '$.survey_wave_id') = ?")
_SQL_DROP_ANSWERS = ("DELETE FROM edges WHERE type IN ('REPORTED_TIE', 'NAMED') AND src_label = 'Person' "
                     "AND src_id = ? AND json_extract(props, '$.survey_wave_id') = ?")
_SQL_DROP_ORPHAN_NAME = ("DELETE FROM nodes WHERE label = 'UnmatchedName' AND id = ? AND NOT EXISTS "
                         "(SELECT 1 FROM edges WHERE type = 'NAMED' AND dst_label = 'UnmatchedName' AND dst_id = ?)")
_SQL_DROP_PERSON_LINKS = ("DELETE FROM edges WHERE type IN ('MEMBER_OF', 'BASED_AT') AND src_label = 'Person' "
                          "AND src_id = ?")
# the same two statements as SQLiteStore.write
_SQL_UPSERT_NODE = ("INSERT INTO nodes (label, id, props) VALUES (?, ?, ?) "
                    "ON CONFLICT (label, id) DO UPDATE SET props = excluded.props")
_SQL_UPSERT_EDGE = ("INSERT INTO edges (type, key, src_label, src_id, dst_label, dst_id, props) "
                    "VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (type, key) DO UPDATE SET "
                    "src_label = excluded.src_label, src_id = excluded.src_id, dst_label = excluded.dst_label, "
                    "dst_id = excluded.dst_id, props = excluded.props")

_sqlite_ready: "weakref.WeakSet[SQLiteStore]" = weakref.WeakSet()


def _sqlite(store: SQLiteStore) -> sqlite3.Connection:
    if store not in _sqlite_ready:
        try:
            store._conn.executescript(_SQLITE_SCHEMA)
        except sqlite3.Error as e:
            raise StoreError(f"preparing the survey tables in the SQLite store at {store.path} failed: {e}") from e
        _sqlite_ready.add(store)
    return store._conn


def _sqlite_rows(store: SQLiteStore, what: str, sql: str, params=()) -> list:
    _sqlite(store)
    return store._run(what, sql, params)


def _sqlite_transaction(store: SQLiteStore, what: str, fn) -> None:
    conn = _sqlite(store)
    try:
        conn.execute("BEGIN IMMEDIATE")
        try:
            fn(conn)
            conn.execute("COMMIT")
        except BaseException:
            conn.execute("ROLLBACK")
            raise
    except sqlite3.Error as e:
        raise StoreError(f"{what} in the SQLite store at {store.path} failed; nothing was written: {e}") from e


def _sqlite_upsert(conn: sqlite3.Connection, records: GraphRecords) -> None:
    conn.executemany(_SQL_UPSERT_NODE, [(label, str(n["id"]), json.dumps(n, ensure_ascii=False))
                                        for label, nodes in records.nodes.items() for n in nodes])
    conn.executemany(_SQL_UPSERT_EDGE, [(e.rel_type, e.key, e.src_label, str(e.src_id), e.dst_label, str(e.dst_id),
                                         json.dumps(e.props, ensure_ascii=False)) for e in records.edges])


def _invite_row(invite: dict) -> tuple:
    return (invite["id"], invite["wave_id"], invite["person_id"], invite["token_hash"],
            json.dumps(invite, ensure_ascii=False))


# -- Neo4j (fixed Cypher; labels outside the model) ---------------------------------------------------------

NEO4J_SCHEMA = (
    "CREATE CONSTRAINT civicties_survey_wave_id IF NOT EXISTS FOR (w:CivicTiesSurveyWave) REQUIRE w.id IS UNIQUE",
    "CREATE CONSTRAINT civicties_survey_invite_id IF NOT EXISTS FOR (i:CivicTiesSurveyInvite) REQUIRE i.id IS UNIQUE",
    "CREATE CONSTRAINT civicties_survey_invite_token IF NOT EXISTS FOR (i:CivicTiesSurveyInvite) "
    "REQUIRE i.token_hash IS UNIQUE",
    "CREATE INDEX civicties_survey_invite_wave IF NOT EXISTS FOR (i:CivicTiesSurveyInvite) ON (i.wave_id)",
    "CREATE INDEX civicties_survey_invite_person IF NOT EXISTS FOR (i:CivicTiesSurveyInvite) ON (i.person_id)",
    "CREATE CONSTRAINT civicties_survey_draft_id IF NOT EXISTS FOR (d:CivicTiesSurveyDraft) REQUIRE d.id IS UNIQUE",
)
CY_SAVE_WAVE = "MERGE (w:CivicTiesSurveyWave {id: $id}) SET w.props = $props"
CY_GET_WAVE = "MATCH (w:CivicTiesSurveyWave {id: $id}) RETURN w.props AS props"
CY_LIST_WAVES = "MATCH (w:CivicTiesSurveyWave) RETURN w.props AS props ORDER BY w.id"
CY_SAVE_INVITES = ("UNWIND $rows AS row MERGE (i:CivicTiesSurveyInvite {id: row.id}) "
                   "SET i.wave_id = row.wave_id, i.person_id = row.person_id, i.token_hash = row.token_hash, "
                   "i.props = row.props")
CY_GET_INVITE = "MATCH (i:CivicTiesSurveyInvite {id: $id}) RETURN i.props AS props"
CY_FIND_INVITE = "MATCH (i:CivicTiesSurveyInvite {token_hash: $token_hash}) RETURN i.props AS props"
CY_LIST_INVITES = ("MATCH (i:CivicTiesSurveyInvite) WHERE ($wave_id IS NULL OR i.wave_id = $wave_id) "
                   "AND ($person_id IS NULL OR i.person_id = $person_id) RETURN i.props AS props ORDER BY i.id")
CY_SAVE_DRAFT = "MERGE (d:CivicTiesSurveyDraft {id: $id}) SET d.props = $props"
CY_GET_DRAFT = "MATCH (d:CivicTiesSurveyDraft {id: $id}) RETURN d.props AS props"
CY_DELETE_DRAFT = "MATCH (d:CivicTiesSurveyDraft {id: $id}) DELETE d"
CY_DROP_ANSWERS = ("MATCH (p:Person {id: $person_id})-[r:REPORTED_TIE|NAMED]->(d) WHERE r.survey_wave_id = $wave_id "
                   "WITH r, CASE WHEN d:UnmatchedName THEN d.id END AS name_id DELETE r "
                   "RETURN collect(DISTINCT name_id) AS names")
CY_DROP_ORPHAN_NAMES = ("UNWIND $ids AS name_id MATCH (u:UnmatchedName {id: name_id}) "
                        "WHERE NOT EXISTS { MATCH ()-[:NAMED]->(u) } DELETE u")
CY_DROP_PERSON_LINKS = ("UNWIND $ids AS person_id MATCH (p:Person {id: person_id})-[r:MEMBER_OF|BASED_AT]->() "
                        "DELETE r")

_neo4j_ready: "weakref.WeakSet[Store]" = weakref.WeakSet()


def _is_neo4j(store: Store) -> bool:
    return type(store).__name__ == "Neo4jStore"


def _neo4j(store) -> None:
    if store not in _neo4j_ready:
        store.ensure_schema()

        def create(tx):
            for query in NEO4J_SCHEMA:
                tx.run(query).consume()
        store._call("creating the survey schema", "write", create)
        _neo4j_ready.add(store)


def _neo4j_read(store, what: str, query: str, **params) -> list[dict]:
    _neo4j(store)

    def read(tx):
        return [json.loads(rec["props"]) for rec in tx.run(query, params)]
    return store._call(what, "read", read)


def _neo4j_write(store, what: str, fn) -> None:
    _neo4j(store)
    store._call(what, "write", fn)


def _neo4j_package(records: GraphRecords) -> tuple[dict, dict]:
    """Records in the shape Neo4jStore._write_batches takes (as Neo4jStore.write prepares them)."""
    from graph.neo4j_store import KEY_PROPERTY, MERGE_NODES, MERGE_RELS
    nodes = {}
    for label, rows in records.nodes.items():
        if label not in MERGE_NODES:
            raise StoreError(f"cannot write nodes labelled {label!r}: not a label of the model")
        if rows:
            nodes[label] = [dict(r, id=str(r["id"])) for r in rows]
    rels: dict = {}
    for e in records.edges:
        shape = (e.rel_type, e.src_label, e.dst_label)
        if shape not in MERGE_RELS:
            raise StoreError(f"cannot write ({e.src_label})-[:{e.rel_type}]->({e.dst_label}): not a relationship "
                             f"of the model")
        rels.setdefault(shape, []).append({"src": str(e.src_id), "dst": str(e.dst_id), "key": e.key,
                                           "props": {**e.props, KEY_PROPERTY: e.key}})
    return nodes, rels


# -- the interface ------------------------------------------------------------------------------------------

def _unsupported(store: Store):
    return StoreError(f"surveys are not supported on the store {store.label}")


def save_wave(store: Store, wave: dict) -> None:
    """Create or replace a survey wave (a dict with an `id`)."""
    props = json.dumps(wave, ensure_ascii=False)
    if isinstance(store, SQLiteStore):
        _sqlite_rows(store, "saving a survey wave", _SQL_SAVE_WAVE, (wave["id"], props))
    elif _is_neo4j(store):
        _neo4j_write(store, "saving a survey wave", lambda tx: tx.run(CY_SAVE_WAVE, id=wave["id"], props=props).consume())
    else:
        raise _unsupported(store)


def get_wave(store: Store, wave_id: str) -> dict | None:
    if isinstance(store, SQLiteStore):
        rows = _sqlite_rows(store, "reading a survey wave", "SELECT props FROM survey_waves WHERE id = ?", (wave_id,))
        return json.loads(rows[0][0]) if rows else None
    if _is_neo4j(store):
        rows = _neo4j_read(store, "reading a survey wave", CY_GET_WAVE, id=wave_id)
        return rows[0] if rows else None
    raise _unsupported(store)


def list_waves(store: Store) -> list[dict]:
    """Every survey wave, oldest first (by opening date, then id)."""
    if isinstance(store, SQLiteStore):
        waves = [json.loads(p) for (p,) in _sqlite_rows(store, "listing survey waves",
                                                         "SELECT props FROM survey_waves ORDER BY id")]
    elif _is_neo4j(store):
        waves = _neo4j_read(store, "listing survey waves", CY_LIST_WAVES)
    else:
        raise _unsupported(store)
    return sorted(waves, key=lambda w: (str(w.get("opens_on") or ""), str(w.get("created_at") or ""), w["id"]))


def save_invites(store: Store, invites: list[dict], *, wave: dict | None = None) -> None:
    """Save invitations (and their wave, when given) in one transaction."""
    if isinstance(store, SQLiteStore):
        def fn(conn):
            if wave is not None:
                conn.execute(_SQL_SAVE_WAVE, (wave["id"], json.dumps(wave, ensure_ascii=False)))
            conn.executemany(_SQL_SAVE_INVITE, [_invite_row(i) for i in invites])
        _sqlite_transaction(store, "saving survey invitations", fn)
    elif _is_neo4j(store):
        rows = [{"id": i["id"], "wave_id": i["wave_id"], "person_id": i["person_id"], "token_hash": i["token_hash"],
                 "props": json.dumps(i, ensure_ascii=False)} for i in invites]

        def fn(tx):
            if wave is not None:
                tx.run(CY_SAVE_WAVE, id=wave["id"], props=json.dumps(wave, ensure_ascii=False)).consume()
            tx.run(CY_SAVE_INVITES, rows=rows).consume()
        _neo4j_write(store, "saving survey invitations", fn)
    else:
        raise _unsupported(store)


def save_invite(store: Store, invite: dict) -> None:
    save_invites(store, [invite])


def get_invite(store: Store, invite_id: str) -> dict | None:
    if isinstance(store, SQLiteStore):
        rows = _sqlite_rows(store, "reading a survey invitation", "SELECT props FROM survey_invites WHERE id = ?",
                            (invite_id,))
        return json.loads(rows[0][0]) if rows else None
    if _is_neo4j(store):
        rows = _neo4j_read(store, "reading a survey invitation", CY_GET_INVITE, id=invite_id)
        return rows[0] if rows else None
    raise _unsupported(store)


def find_invite(store: Store, token_hash: str) -> dict | None:
    """The invitation whose link's token has this hash, or None."""
    if isinstance(store, SQLiteStore):
        rows = _sqlite_rows(store, "looking up a survey link",
                            "SELECT props FROM survey_invites WHERE token_hash = ?", (token_hash,))
        return json.loads(rows[0][0]) if rows else None
    if _is_neo4j(store):
        rows = _neo4j_read(store, "looking up a survey link", CY_FIND_INVITE, token_hash=token_hash)
        return rows[0] if rows else None
    raise _unsupported(store)


def list_invites(store: Store, *, wave_id: str | None = None, person_id: str | None = None) -> list[dict]:
    """Invitations of a wave and/or a person."""
    if isinstance(store, SQLiteStore):
        rows = _sqlite_rows(store, "listing survey invitations",
                            "SELECT props FROM survey_invites WHERE (?1 IS NULL OR wave_id = ?1) "
                            "AND (?2 IS NULL OR person_id = ?2) ORDER BY id", (wave_id, person_id))
        return [json.loads(p) for (p,) in rows]
    if _is_neo4j(store):
        return _neo4j_read(store, "listing survey invitations", CY_LIST_INVITES, wave_id=wave_id, person_id=person_id)
    raise _unsupported(store)


def get_draft(store: Store, invite_id: str) -> dict | None:
    if isinstance(store, SQLiteStore):
        rows = _sqlite_rows(store, "reading a survey draft", "SELECT props FROM survey_drafts WHERE id = ?",
                            (invite_id,))
        return json.loads(rows[0][0]) if rows else None
    if _is_neo4j(store):
        rows = _neo4j_read(store, "reading a survey draft", CY_GET_DRAFT, id=invite_id)
        return rows[0] if rows else None
    raise _unsupported(store)


def save_draft(store: Store, invite: dict, draft: dict) -> None:
    """Keep a half-finished survey (never as ties) with the invitation's new state, in one transaction."""
    props = json.dumps({**draft, "id": invite["id"]}, ensure_ascii=False)
    if isinstance(store, SQLiteStore):
        def fn(conn):
            conn.execute(_SQL_SAVE_DRAFT, (invite["id"], props))
            conn.execute(_SQL_SAVE_INVITE, _invite_row(invite))
        _sqlite_transaction(store, "saving a survey draft", fn)
    elif _is_neo4j(store):
        row = {"id": invite["id"], "wave_id": invite["wave_id"], "person_id": invite["person_id"],
               "token_hash": invite["token_hash"], "props": json.dumps(invite, ensure_ascii=False)}

        def fn(tx):
            tx.run(CY_SAVE_DRAFT, id=invite["id"], props=props).consume()
            tx.run(CY_SAVE_INVITES, rows=[row]).consume()
        _neo4j_write(store, "saving a survey draft", fn)
    else:
        raise _unsupported(store)


def delete_draft(store: Store, invite_id: str) -> None:
    if isinstance(store, SQLiteStore):
        _sqlite_rows(store, "deleting a survey draft", "DELETE FROM survey_drafts WHERE id = ?", (invite_id,))
    elif _is_neo4j(store):
        _neo4j_write(store, "deleting a survey draft", lambda tx: tx.run(CY_DELETE_DRAFT, id=invite_id).consume())
    else:
        raise _unsupported(store)


def write_answers(store: Store, invite: dict, records: GraphRecords) -> None:
    """In ONE transaction: remove the respondent's earlier answers to the invitation's wave (ties marked with
    its survey_wave_id, and unmatched names nobody else gave), write `records` (the new ties; none for a
    respondent who declined), save the invitation and remove its draft. All or nothing."""
    person, wave_id = invite["person_id"], invite["wave_id"]
    if isinstance(store, SQLiteStore):
        def fn(conn):
            names = [i for (i,) in conn.execute(_SQL_OLD_NAMES, (person, wave_id))]
            conn.execute(_SQL_DROP_ANSWERS, (person, wave_id))
            _checkpoint("answers removed")
            _sqlite_upsert(conn, records)
            _checkpoint("ties written")
            for name_id in names:
                conn.execute(_SQL_DROP_ORPHAN_NAME, (name_id, name_id))
            conn.execute(_SQL_SAVE_INVITE, _invite_row(invite))
            conn.execute("DELETE FROM survey_drafts WHERE id = ?", (invite["id"],))
            _checkpoint("invitation saved")
        _sqlite_transaction(store, "saving survey answers", fn)
    elif _is_neo4j(store):
        nodes, rels = _neo4j_package(records)
        row = {"id": invite["id"], "wave_id": wave_id, "person_id": person, "token_hash": invite["token_hash"],
               "props": json.dumps(invite, ensure_ascii=False)}

        def fn(tx):
            names = tx.run(CY_DROP_ANSWERS, person_id=person, wave_id=wave_id).single()["names"]
            _checkpoint("answers removed")
            store._write_batches(tx, nodes, rels)
            _checkpoint("ties written")
            tx.run(CY_DROP_ORPHAN_NAMES, ids=[n for n in names if n]).consume()
            tx.run(CY_SAVE_INVITES, rows=[row]).consume()
            tx.run(CY_DELETE_DRAFT, id=invite["id"]).consume()
            _checkpoint("invitation saved")
        _neo4j_write(store, "saving survey answers", fn)
    else:
        raise _unsupported(store)


def write_records(store: Store, records: GraphRecords, *, relink_people=()) -> None:
    """Write staff's records in ONE transaction, like Store.write; people in `relink_people` (an edited person)
    first lose their MEMBER_OF and BASED_AT relationships, which `records` gives anew."""
    people = sorted({str(p) for p in relink_people})
    if isinstance(store, SQLiteStore):
        def fn(conn):
            conn.executemany(_SQL_DROP_PERSON_LINKS, [(p,) for p in people])
            _checkpoint("links removed")
            _sqlite_upsert(conn, records)
            _checkpoint("records written")
        _sqlite_transaction(store, "saving a record", fn)
    elif _is_neo4j(store):
        nodes, rels = _neo4j_package(records)

        def fn(tx):
            if people:
                tx.run(CY_DROP_PERSON_LINKS, ids=people).consume()
            _checkpoint("links removed")
            store._write_batches(tx, nodes, rels)
            _checkpoint("records written")
        _neo4j_write(store, "saving a record", fn)
    else:
        raise _unsupported(store)
