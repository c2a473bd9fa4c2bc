"""Matches between records of people: candidates, decisions with provenance, and the resolved dataset.

The matcher (ingest/match.py) compares *records*: a person as one source listed them (`person:<person_id>`) and
a name recalled in a survey that matched no one at ingest, as recalled at one site (`name:<hash>`, see
`mention_record`). This module keeps what came of it, in the store beside the data (docs/matching.md):

- **candidates**: the pairs waiting for a person (score, evidence, why), replaced on every `civicties match
  propose`;
- **decisions**: accepted (the same person), rejected (not a match), different (known to be different
  people), each with who, when, how (automatic, review page, CSV) and the score and evidence it was taken on.
  A decision is never overwritten: undoing one marks it undone (who, when), and the pair's current decision
  is its latest decision not undone. In Neo4j a decision is a `SAME_AS` relationship between two
  `CivicTiesMatchRecord` nodes; in SQLite a row of the `match_decisions` table.

Decisions hold record ids, scores and which fields agreed: never a name or a contact detail. They are kept
apart from the program's data (like accounts and the audit log), so `reset` and loading the same sources
again keep them: a rejected pair is not proposed again, an accepted one is merged again.

`resolve(ds, accepted)` applies the accepted decisions to a Dataset: people found to be one person become the
person with the smallest id (their rows merged, every reference to the others moved to it) and a survey name
accepted as a person becomes a tie to that person. `Store.read()` returns the resolved dataset, so every
analysis uses the resolved identities; `read_raw(store)` gives the records as loaded (what the matcher and
the review page compare).

Every decision also appends an entry to the audit log (action `match_decision` or `match_undo`: the
decision and how many pairs, never whom).
"""
from __future__ import annotations

import hashlib
import json
import sqlite3
import unicodedata
import uuid
import weakref
from datetime import datetime, timezone

import pandas as pd

from graph.dataset import Dataset
from graph.errors import StoreError
from graph.model import TABLES

__all__ = ["DECISIONS", "person_record", "mention_record", "name_key", "pair_key", "is_person", "person_id",
           "save_candidates", "read_candidates", "record_decisions", "undo_decision", "decision_history",
           "current_decisions", "accepted_pairs", "resolve", "read_raw", "forget_people"]

#: What a reviewer (or the matcher, for "accepted") may decide about a pair.
DECISIONS = ("accepted", "rejected", "different")

# Columns holding a person id, per table (what moves when people are merged).
_PERSON_COLUMNS = {"ties": ("from_person_id", "to_person_id"), "enrollments": ("person_id",),
                   "attendance": ("person_id",), "home_visits": ("teacher_id",), "appointments": ("person_id",)}


# -- record ids ---------------------------------------------------------------------------------------------

def person_record(pid: str) -> str:
    """The record id of a person as a source listed them.

    >>> person_record("P0001")
    'person:P0001'
    """
    return f"person:{pid}"


def is_person(rid: str) -> bool:
    return rid.startswith("person:")


def person_id(rid: str) -> str:
    return rid[len("person:"):]


def name_key(name: str) -> str:
    """A name's exact key: accents removed, case folded, spacing dropped (as ingest matches names).

    >>> name_key(" María  López ") == name_key("maria lopez")
    True
    """
    decomposed = unicodedata.normalize("NFKD", name)
    bare = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    return "".join(bare.casefold().split())


def mention_record(name: str, site_id: str | None) -> str:
    """The record id of a survey name as recalled at one site (by respondents of that site): a hash, so that a
    stored decision holds no name.

    >>> mention_record("Bob Vosu", "S1") == mention_record("bob  VOSU", "S1") != mention_record("Bob Vosu", "S2")
    True
    """
    digest = hashlib.sha256(f"{name_key(name)}\x1f{site_id or ''}".encode("utf-8")).hexdigest()
    return f"name:{digest[:20]}"


def pair_key(a: str, b: str) -> tuple[str, str]:
    """The pair in its stored order: a survey name first, else the two person records sorted."""
    if is_person(a) and not is_person(b):
        return b, a
    if is_person(a) and is_person(b) and b < a:
        return b, a
    return a, b


# -- candidates ---------------------------------------------------------------------------------------------

def save_candidates(store, candidates: list[dict]) -> int:
    """Replace the stored candidates (pairs waiting for review) with `candidates`, in one transaction.
    Each is a dict with `left`, `right` and anything JSON can hold (score, evidence, reasons)."""
    rows = []
    for c in candidates:
        left, right = pair_key(c["left"], c["right"])
        rows.append({"left": left, "right": right,
                     "data": json.dumps(dict(c, left=left, right=right), ensure_ascii=False, default=_plain)})
    if _is_neo4j(store):
        _neo4j_schema(store)
        store._call("saving match candidates", "write", _n_replace_candidates, rows, store.batch_size)
    else:
        _sqlite_schema(store)
        _sqlite_tx(store, "saving match candidates", [
            ("DELETE FROM match_candidates", [()]),
            ("INSERT INTO match_candidates (left_id, right_id, props) VALUES (?, ?, ?) "
             "ON CONFLICT (left_id, right_id) DO UPDATE SET props = excluded.props",
             [(r["left"], r["right"], r["data"]) for r in rows])])
    return len(rows)


def read_candidates(store) -> list[dict]:
    """The stored candidates (as saved), best score first."""
    if _is_neo4j(store):
        rows = store._call("reading match candidates", "read", _n_read, _N_READ_CANDIDATES)
        out = [json.loads(r["data"]) for r in rows]
    else:
        if not _sqlite_has(store, "match_candidates"):
            return []
        out = [json.loads(p) for (p,) in store._run("reading match candidates",
                                                      "SELECT props FROM match_candidates")]
    return sorted(out, key=lambda c: (-float(c.get("score") or 0), c["left"], c["right"]))


# -- decisions ----------------------------------------------------------------------------------------------

def record_decisions(store, decisions: list[dict], *, actor: str, role: str | None = None,
                     method: str = "review") -> list[dict]:
    """Store decisions (each: left, right, decision, and optionally score, evidence, note) in ONE transaction,
    then note them in the audit log. Returns the stored decisions (with id, who and when).

    Raises ValueError (nothing stored) for an unknown decision or a pair of a record with itself."""
    now = _now()
    stored = []
    for d in decisions:
        if d.get("decision") not in DECISIONS:
            raise ValueError(f"unknown decision {d.get('decision')!r}: use one of {', '.join(DECISIONS)}")
        left, right = pair_key(str(d["left"]), str(d["right"]))
        if left == right:
            raise ValueError(f"a record cannot be matched with itself ({left})")
        stored.append({"id": uuid.uuid4().hex, "left": left, "right": right, "decision": d["decision"],
                       "actor": actor, "role": role, "method": d.get("method") or method, "at": now,
                       "score": d.get("score"), "evidence": d.get("evidence"), "note": d.get("note"),
                       "undone_at": None, "undone_by": None})
    if not stored:
        return []
    if _is_neo4j(store):
        _neo4j_schema(store)
        rows = [_n_decision_row(s) for s in stored]
        store._call("recording match decisions", "write", _n_add_decisions, rows, store.batch_size)
    else:
        _sqlite_schema(store)
        _sqlite_tx(store, "recording match decisions", [(
            "INSERT INTO match_decisions (id, left_id, right_id, at, undone_at, undone_by, props) "
            "VALUES (?, ?, ?, ?, NULL, NULL, ?)",
            [(s["id"], s["left"], s["right"], s["at"], json.dumps(_data(s), ensure_ascii=False, default=_plain))
             for s in stored])])
    counts: dict[str, int] = {}
    for s in stored:
        counts[s["decision"]] = counts.get(s["decision"], 0) + 1
    for decision, n in sorted(counts.items()):
        _audit(store, actor, role, "match_decision", target=decision, rows=n,
               detail=f"{method}: {n} pair(s) {decision}")
    return stored


def undo_decision(store, left: str, right: str, *, actor: str, role: str | None = None) -> dict | None:
    """Undo the pair's current decision (it is kept, marked undone by `actor`); the decision before it, if any,
    becomes current again, else the pair is undecided (and proposed again). Returns the decision undone, or
    None when the pair has none."""
    left, right = pair_key(left, right)
    current = current_decisions(store).get((left, right))
    if current is None:
        return None
    now = _now()
    if _is_neo4j(store):
        store._call("undoing a match decision", "write", _n_undo, current["id"], now, actor)
    else:
        store._run("undoing a match decision", "UPDATE match_decisions SET undone_at = ?, undone_by = ? "
                   "WHERE id = ? AND undone_at IS NULL", (now, actor, current["id"]))
    _audit(store, actor, role, "match_undo", target=current["decision"], rows=1,
           detail=f"undid a {current['method']} decision")
    return dict(current, undone_at=now, undone_by=actor)


def decision_history(store) -> list[dict]:
    """Every decision ever stored, undone ones included, oldest first."""
    if _is_neo4j(store):
        rows = store._call("reading match decisions", "read", _n_read, _N_READ_DECISIONS)
        out = [dict(json.loads(r["data"]), id=r["id"], left=r["left"], right=r["right"], at=r["at"],
                    undone_at=r.get("undone_at"), undone_by=r.get("undone_by"), _seq=r.get("seq") or 0)
               for r in rows]
    else:
        if not _sqlite_has(store, "match_decisions"):
            return []
        out = [dict(json.loads(p), id=i, left=lft, right=rgt, at=at, undone_at=ua, undone_by=ub, _seq=seq)
               for seq, i, lft, rgt, at, ua, ub, p in store._run(
                   "reading match decisions", "SELECT seq, id, left_id, right_id, at, undone_at, undone_by, props "
                   "FROM match_decisions")]
    out.sort(key=lambda d: (d["at"], d["_seq"], d["id"]))
    for d in out:
        d.pop("_seq", None)
    return out


def current_decisions(store) -> dict[tuple[str, str], dict]:
    """Each decided pair's current decision: its latest one not undone."""
    out: dict[tuple[str, str], dict] = {}
    for d in decision_history(store):
        if d.get("undone_at") is None:
            out[(d["left"], d["right"])] = d
    return out


def accepted_pairs(store) -> list[tuple[str, str]]:
    """The pairs whose current decision is: the same person."""
    return sorted(k for k, d in current_decisions(store).items() if d["decision"] == "accepted")


def forget_people(store, person_ids) -> int:
    """Remove every candidate and decision about these people (after an erasure); returns how many went."""
    rids = sorted({person_record(str(p)) for p in person_ids})
    if not rids:
        return 0
    if _is_neo4j(store):
        return store._call("forgetting match decisions", "write", _n_forget, rids)
    if not _sqlite_has(store, "match_decisions"):
        return 0
    ids = json.dumps(rids)
    where = "left_id IN (SELECT value FROM json_each(?1)) OR right_id IN (SELECT value FROM json_each(?1))"
    n = store._run("forgetting match decisions", f"SELECT count(*) FROM match_decisions WHERE {where}", (ids,))[0][0]
    _sqlite_tx(store, "forgetting match decisions", [(f"DELETE FROM match_decisions WHERE {where}", [(ids,)]),
                                                     (f"DELETE FROM match_candidates WHERE {where}", [(ids,)])])
    return int(n)


# -- the resolved dataset -----------------------------------------------------------------------------------

def read_raw(store) -> Dataset:
    """The dataset as loaded, before any match is applied (what the matcher and the review page compare)."""
    nodes, edges = store.read_rows()
    return Dataset.from_rows(nodes, edges)


def resolve(ds: Dataset, accepted: list[tuple[str, str]]) -> Dataset:
    """The dataset with accepted matches applied; `ds` itself is not changed.

    - People accepted as one person (directly or through others) become the one with the smallest person_id:
      its row keeps its values and takes the others' where it has none; every tie, enrollment, attendance,
      home visit and appointment of the others moves to it (rows that become identical are kept once).
    - A survey name accepted as a person: ties from respondents of that site naming it get `to_person_id`.

    >>> from graph.dataset import Dataset
    >>> ds = Dataset.from_rows({"Person": [{"person_id": "A1", "name": "Ana Vosu", "site_id": "S1"},
    ...                                    {"person_id": "B7", "name": "Ana Vosú", "email": "a@example.org"}]},
    ...                        {"NAMED": [{"from_person_id": "B7", "to_name": "Ani V"}]})
    >>> out = resolve(ds, [("person:A1", "person:B7"), (mention_record("Ani V", None), "person:B7")])
    >>> out.people[["person_id", "site_id", "email"]].values.tolist()
    [['A1', 'S1', 'a@example.org']]
    >>> out.ties[["from_person_id", "to_person_id"]].values.tolist()
    [['A1', 'A1']]
    """
    if not accepted:
        return ds
    people = ds.people
    known = set(people["person_id"])
    parent: dict[str, str] = {}

    def find(x: str) -> str:
        root = x
        while parent.get(root, root) != root:
            root = parent[root]
        while parent.get(x, x) != root:
            parent[x], x = root, parent[x]
        return root

    mention_to: dict[str, str] = {}
    for left, right in accepted:
        if is_person(left) and is_person(right):
            a, b = person_id(left), person_id(right)
            if a in known and b in known:
                ra, rb = find(a), find(b)
                if ra != rb:
                    parent[max(ra, rb)] = min(ra, rb)       # the smallest id stands for the group
        elif is_person(right) and person_id(right) in known:
            mention_to[left] = person_id(right)
    moved = {p: find(p) for p in list(parent)}
    moved = {p: r for p, r in moved.items() if p != r}
    if not moved and not mention_to:
        return ds
    tables = dict(ds.tables)
    ties = ds.ties
    if mention_to and len(ties):
        site_of = dict(zip(people["person_id"], people["site_id"]))
        open_ties = ties["to_person_id"].isna() & ties["to_name"].notna()
        if open_ties.any():
            ties = ties.copy()
            idx = ties.index[open_ties]
            targets = [mention_to.get(mention_record(n, site_of.get(f)))
                       for n, f in zip(ties.loc[idx, "to_name"], ties.loc[idx, "from_person_id"])]
            ties.loc[idx, "to_person_id"] = pd.Series(targets, index=idx, dtype=object)
        tables["ties"] = ties
    if moved:
        tables["people"] = _merge_people(people, moved)
        for table, cols in _PERSON_COLUMNS.items():
            df = tables[table]
            if not len(df) or not any(df[c].isin(moved.keys()).any() for c in cols):
                continue
            df = df.copy()
            for c in cols:
                df[c] = pd.Series([moved.get(v, v) for v in df[c]], index=df.index, dtype=object)
            tables[table] = df.drop_duplicates(subset=list(TABLES[table].key)).reset_index(drop=True)
    return Dataset(tables=tables, contacts=ds.contacts)


def _merge_people(people: pd.DataFrame, moved: dict[str, str]) -> pd.DataFrame:
    gone = people["person_id"].isin(moved.keys())
    merged = people[~gone].copy().set_index("person_id", drop=False)
    for _, row in people[gone].iterrows():
        target = moved[row["person_id"]]
        for col, value in row.items():
            if col != "person_id" and value is not None and merged.at[target, col] is None:
                merged.at[target, col] = value
    return merged.reset_index(drop=True)


# -- storage ------------------------------------------------------------------------------------------------

def _is_neo4j(store) -> bool:
    return type(store).__name__ == "Neo4jStore"


def _now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="microseconds")


def _plain(value):
    """JSON for numpy numbers and the like."""
    if hasattr(value, "item"):
        return value.item()
    raise TypeError(f"cannot store {type(value).__name__} in a match record")


def _data(decision: dict) -> dict:
    return {k: v for k, v in decision.items() if k not in ("id", "left", "right", "at", "undone_at", "undone_by")}


def _audit(store, actor: str, role: str | None, action: str, *, target: str, rows: int, detail: str) -> None:
    # the entry dashboard.accounts.audit writes (graph/ does not import the dashboard)
    store.add_audit({"id": uuid.uuid4().hex, "at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
                     "actor": actor, "role": role, "action": action, "target": target, "rows": int(rows),
                     "source": None, "detail": detail})


# SQLite: two tables of its own, beside the graph (reset leaves them, like accounts and the audit log).
_SQLITE_SCHEMA = """
CREATE TABLE IF NOT EXISTS match_decisions (
    seq INTEGER PRIMARY KEY AUTOINCREMENT, id TEXT NOT NULL UNIQUE, left_id TEXT NOT NULL, right_id TEXT NOT NULL,
    at TEXT NOT NULL, undone_at TEXT, undone_by TEXT, props TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS match_decisions_pair ON match_decisions (left_id, right_id);
CREATE INDEX IF NOT EXISTS match_decisions_right ON match_decisions (right_id);
CREATE TABLE IF NOT EXISTS match_candidates (
    left_id TEXT NOT NULL, right_id TEXT NOT NULL, props TEXT NOT NULL, PRIMARY KEY (left_id, right_id));
"""


def _sqlite_schema(store) -> None:
    try:
        store._conn.executescript(_SQLITE_SCHEMA)
    except sqlite3.Error as e:
        raise StoreError(f"creating the match tables in the SQLite store at {store.path} failed: {e}") from e


def _sqlite_has(store, table: str) -> bool:
    return bool(store._run("reading the store's tables", "SELECT 1 FROM sqlite_master WHERE type = 'table' "
                           "AND name = ?", (table,)))


def _sqlite_tx(store, what: str, statements: list[tuple[str, list[tuple]]]) -> None:
    """Run statements (each with its rows of parameters) in one transaction: all or nothing."""
    conn = store._conn
    try:
        conn.execute("BEGIN IMMEDIATE")
        try:
            for sql, rows in statements:
                conn.executemany(sql, rows)
            conn.execute("COMMIT")
        except BaseException:
            conn.execute("ROLLBACK")
            raise
    except sqlite3.Error as e:
        raise StoreError(f"{what} in the SQLite store at {store.path} failed; nothing was written: {e}") from e


# Neo4j: decisions are SAME_AS relationships between CivicTiesMatchRecord nodes (one per record id), candidates
# MATCH_CANDIDATE relationships. Not labels of the model, so reset() and counts() leave them alone.
_N_SCHEMA = ("CREATE CONSTRAINT civicties_match_record_id IF NOT EXISTS "
             "FOR (n:CivicTiesMatchRecord) REQUIRE n.id IS UNIQUE")
_N_ADD_DECISIONS = ("UNWIND $rows AS row "
                    "MERGE (l:CivicTiesMatchRecord {id: row.left}) "
                    "MERGE (r:CivicTiesMatchRecord {id: row.right}) "
                    "CREATE (l)-[s:SAME_AS]->(r) SET s = row.props")
_N_READ_DECISIONS = ("MATCH (l:CivicTiesMatchRecord)-[s:SAME_AS]->(r:CivicTiesMatchRecord) "
                     "RETURN l.id AS left, r.id AS right, s.id AS id, s.at AS at, s.seq AS seq, "
                     "s.undone_at AS undone_at, s.undone_by AS undone_by, s.data AS data")
_N_UNDO = ("MATCH (:CivicTiesMatchRecord)-[s:SAME_AS {id: $id}]->(:CivicTiesMatchRecord) "
           "WHERE s.undone_at IS NULL SET s.undone_at = $at, s.undone_by = $by")
_N_CLEAR_CANDIDATES = ("MATCH (:CivicTiesMatchRecord)-[c:MATCH_CANDIDATE]->(:CivicTiesMatchRecord) "
                       "WITH c LIMIT $limit DELETE c RETURN count(*) AS deleted")
_N_ADD_CANDIDATES = ("UNWIND $rows AS row "
                     "MERGE (l:CivicTiesMatchRecord {id: row.left}) "
                     "MERGE (r:CivicTiesMatchRecord {id: row.right}) "
                     "CREATE (l)-[c:MATCH_CANDIDATE]->(r) SET c.data = row.data")
_N_READ_CANDIDATES = ("MATCH (:CivicTiesMatchRecord)-[c:MATCH_CANDIDATE]->(:CivicTiesMatchRecord) "
                      "RETURN c.data AS data")
_N_FORGET = ("MATCH (n:CivicTiesMatchRecord) WHERE n.id IN $ids "
             "OPTIONAL MATCH (n)-[s:SAME_AS]-() WITH n, count(s) AS decisions "
             "DETACH DELETE n RETURN sum(decisions) AS n")

_neo4j_ready: "weakref.WeakSet" = weakref.WeakSet()


def _neo4j_schema(store) -> None:
    if store in _neo4j_ready:
        return
    store.ensure_schema()
    store._call("creating the match schema", "write", lambda tx: tx.run(_N_SCHEMA).consume())
    _neo4j_ready.add(store)


def _n_decision_row(s: dict) -> dict:
    props = {"id": s["id"], "at": s["at"], "seq": 0, "data": json.dumps(_data(s), ensure_ascii=False, default=_plain)}
    return {"left": s["left"], "right": s["right"], "props": props}


def _n_add_decisions(tx, rows: list[dict], batch: int) -> None:
    for i, row in enumerate(rows):
        row["props"]["seq"] = i                       # order of decisions made at the same instant
    for i in range(0, len(rows), batch):
        tx.run(_N_ADD_DECISIONS, rows=rows[i:i + batch]).consume()


def _n_replace_candidates(tx, rows: list[dict], batch: int) -> None:
    while tx.run(_N_CLEAR_CANDIDATES, limit=10_000).single()["deleted"]:
        pass
    for i in range(0, len(rows), batch):
        tx.run(_N_ADD_CANDIDATES, rows=rows[i:i + batch]).consume()


def _n_read(tx, query: str) -> list[dict]:
    return [dict(rec) for rec in tx.run(query)]


def _n_undo(tx, decision_id: str, at: str, by: str) -> None:
    tx.run(_N_UNDO, id=decision_id, at=at, by=by).consume()


def _n_forget(tx, ids: list[str]) -> int:
    rec = tx.run(_N_FORGET, ids=ids).single()
    return int(rec["n"] or 0) if rec else 0
