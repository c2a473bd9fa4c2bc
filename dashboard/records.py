"""Everyday records staff enter in the app (the Records page): an event with its check-ins, a home visit, an
appointment to a board or commission, a person or family added or edited. No Streamlit here
(tests/test_records.py).

Each form's rows are checked with ingest's own rules (ingest/validate.py: required values, allowed values,
dates, end before start, references to ids the store holds) and written in ONE transaction
(graph/surveys.write_records); then `refresh()` makes every loader read the store again, so the analyses show
the change on their next view. Staff may only record for their sites: the event's site, the people checked
in, the teacher and the family visited, the person appointed, the person added or edited. Admins for all.
"""
from __future__ import annotations

import uuid
from datetime import date

import pandas as pd

from dashboard import accounts
from dashboard.accounts import Principal
from graph import surveys as persist
from graph.dataset import Dataset
from graph.model import TABLES, split_list, to_graph_records
from graph.store import Store
from ingest.problems import Problem
from ingest.read import RawTable
from ingest.validate import validate

__all__ = ["RecordInvalid", "may_enter", "sites_for", "people_at", "families_at", "refresh", "save_event",
           "save_home_visit", "save_appointment", "save_person", "problem_text", "TEXT_MAX", "NOTE_MAX"]

TEXT_MAX = 120       # characters in a name, seat or other short text
NOTE_MAX = 2000      # characters in a note


class RecordInvalid(ValueError):
    """A record that breaks the data contract: every problem, nothing written."""

    def __init__(self, problems: list[Problem]):
        self.problems = problems
        super().__init__("; ".join(problem_text(p) for p in problems))


def problem_text(p: Problem) -> str:
    """A problem as a form shows it: the field, what is wrong, how to fix it (no file or row)."""
    text = f"{p.column or p.file}: {p.message}"
    if p.value not in (None, ""):
        text += f" (value {p.value!r})"
    return text + (f". {p.fix}" if p.fix else "")


def may_enter(principal: Principal) -> bool:
    return isinstance(principal, Principal) and principal.role in ("admin", "coordinator")


def _require(principal: Principal) -> None:
    if not may_enter(principal):
        raise PermissionError("only coordinators and admins enter records")


def _in_scope(principal: Principal, site) -> bool:
    scope = principal.site_scope
    return scope is None or site in scope


def sites_for(principal: Principal, ds: Dataset) -> list[str]:
    _require(principal)
    return [s for s in sorted(ds.sites["site_id"].dropna().astype(str)) if _in_scope(principal, s)]


def people_at(principal: Principal, ds: Dataset, *, roles=None) -> pd.DataFrame:
    """People of the principal's sites (of some roles), by name: person_id, name, role, site_id, family_id."""
    _require(principal)
    p = ds.people
    keep = p[[_in_scope(principal, s) for s in p["site_id"]]]
    if roles:
        keep = keep[keep["role"].fillna("parent").isin(roles)]
    return keep.sort_values(["name", "person_id"], na_position="last")


def families_at(principal: Principal, ds: Dataset) -> dict[str, str]:
    """Families with a member at the principal's sites: family_id -> 'F… – names'."""
    p = people_at(principal, ds)
    p = p[p["family_id"].notna()]
    # one pass over the rows, already in name order (a DataFrame per family took 12.8 s for 74,000 families)
    shown = p["name"].where(p["name"].notna(), p["person_id"]).astype(str)
    members: dict[str, list[str]] = {}
    for f, n in zip(p["family_id"], shown):
        members.setdefault(f, []).append(n)
    return {f: f"{f} – {', '.join(members[f])}" for f in sorted(members)}


def refresh() -> None:
    """Make every loader read the store again on its next run (dashboard/data.py keys its caches by a data
    version that this bumps)."""
    from dashboard import data
    data.changed()


# -- checking with ingest's rules ---------------------------------------------------------------------------

def _text(v) -> str:
    if v is None or (isinstance(v, float) and v != v):
        return ""
    if isinstance(v, date):
        return v.isoformat()
    return " ".join(str(v).split())


def _check(ds: Dataset, tables: dict[str, list[dict]], *, lengths: dict[str, int] | None = None) -> dict[str, list[dict]]:
    """Rows of some tables checked exactly as ingest checks a package (ingest.validate.validate): required values,
    allowed values, dates, dates in order, duplicates, references. The ids the rows refer to that the store
    holds go into the package as stubs (just their id), so a reference to anything else is refused as in an
    upload. Returns the clean rows of `tables`; raises RecordInvalid with every problem."""
    problems: list[Problem] = []
    for name, rows in tables.items():
        for col, most in (lengths or {}).items():
            for r in rows:
                v = _text(r.get(col))
                if len(v) > most:
                    problems.append(Problem(name, None, col, v[:30] + "…", f"is longer than {most} characters",
                                            "Shorten it"))
    stubs: dict[str, dict[str, dict]] = {}
    for name, rows in tables.items():
        for col, target in TABLES[name].refs.items():
            for r in rows:
                v = _text(r.get(col))
                if not v:
                    continue
                if target == "families":
                    members = ds.people.loc[ds.people["family_id"] == v, "person_id"]
                    if len(members):
                        stubs.setdefault("people", {})[str(members.iloc[0])] = {"person_id": str(members.iloc[0]),
                                                                               "family_id": v}
                    continue
                key = TABLES[target].key[0]
                if target in tables and any(_text(o.get(key)) == v for o in tables[target]):
                    continue
                if v in set(ds.tables[target][key].dropna().astype(str)):
                    stubs.setdefault(target, {})[v] = {key: v}
    raw = {}
    referenced = {t for name in tables for t in TABLES[name].refs.values() if t != "families"}
    for name in set(tables) | set(stubs) | referenced | {"people"}:
        rows = list(tables.get(name, [])) + [r for i, r in stubs.get(name, {}).items()
                                             if name not in tables or not any(_text(o.get(TABLES[name].key[0])) == i
                                                                              for o in tables[name])]
        cols = list(TABLES[name].columns) + sorted({k for r in rows for k in r} - set(TABLES[name].columns))
        frame = pd.DataFrame([{c: _text(r.get(c)) for c in cols} for r in rows], columns=cols, dtype=object)
        raw[name] = RawTable(name, f"the {name.replace('_', ' ')} form", frame)
    pkg = validate(raw)
    problems += list(pkg.problems)
    if problems:
        raise RecordInvalid(problems)
    out = {}
    for name, rows in tables.items():
        key = TABLES[name].key
        mine = {tuple(_text(r.get(c)) for c in key) for r in rows}
        out[name] = [r for r in pkg.tables[name] if tuple(_text(r.get(c)) for c in key) in mine]
    return out


def _write(store: Store, principal: Principal, tables: dict[str, list[dict]], what: str, *, relink=()) -> dict:
    records = to_graph_records(tables)
    records.nodes = {k: v for k, v in records.nodes.items() if v}
    persist.write_records(store, records, relink_people=relink)
    accounts.audit(store, principal.username, "record_saved", role=principal.role, target=what,
                   rows=sum(len(v) for v in tables.values()))
    refresh()
    return {"nodes": sum(len(v) for v in records.nodes.values()), "relationships": len(records.edges)}


def _person_site(ds: Dataset, person_id) -> str | None:
    hit = ds.people.loc[ds.people["person_id"] == person_id, "site_id"]
    return None if hit.empty else hit.iloc[0]


def _new_id(prefix: str) -> str:
    return f"{prefix}{uuid.uuid4().hex[:10].upper()}"


# -- the four records ---------------------------------------------------------------------------------------

def save_event(store: Store, principal: Principal, ds: Dataset, *, checkins: dict[str, str], event_id: str | None = None,
               name: str = "", kind: str = "", when: date | None = None, site_id: str = "",
               supports: list[str] | tuple[str, ...] | None = None) -> str:
    """A new event (no `event_id`) or an existing one, with people checked in: {person_id: role}. `supports`:
    what the event offered so that families can take part (graph.model.SUPPORTS: childcare, translation, ...),
    checked like events.csv's column; for an existing event, None leaves what it has. Returns the event's id."""
    _require(principal)
    events = ds.events.set_index("event_id")
    offered = None if supports is None else ";".join(_text(s) for s in supports if _text(s))
    if event_id:
        if event_id not in events.index:
            raise RecordInvalid([Problem("events", None, "event_id", event_id, "is not an event in the store",
                                         "Pick an event from the list")])
        site_id = events.at[event_id, "site_id"]
        rows = {}
        if offered is not None and set(split_list(offered)) != set(split_list(events.at[event_id, "supports"])):
            row = {k: v for k, v in events.loc[event_id].to_dict().items() if v is not None and v == v}
            rows["events"] = [row | {"event_id": event_id, "supports": offered}]
    else:
        event_id = _new_id("E")
        rows = {"events": [{"event_id": event_id, "name": name, "kind": kind, "date": when, "site_id": site_id,
                            "supports": offered or ""}]}
        if not _text(name):
            raise RecordInvalid([Problem("events", None, "name", "", "is empty", "Give the event a name")])
    if not _in_scope(principal, site_id):
        raise PermissionError("that event is not at your sites")
    foreign = [p for p in checkins if not _in_scope(principal, _person_site(ds, p))]
    if foreign:
        raise PermissionError("someone checked in is not one of your sites' people")
    rows["attendance"] = [{"person_id": p, "event_id": event_id, "role": role} for p, role in checkins.items()]
    tables = _check(ds, rows, lengths={"name": TEXT_MAX})
    _write(store, principal, tables, "event")
    return event_id


def save_home_visit(store: Store, principal: Principal, ds: Dataset, *, teacher_id: str, family_id: str,
                    visit_date: date | None, school_id: str | None = None, notes: str = "") -> str:
    """A teacher's visit to a family (both of the principal's sites). Returns the visit's id."""
    _require(principal)
    if not _in_scope(principal, _person_site(ds, teacher_id)):
        raise PermissionError("that teacher is not at your sites")
    if family_id not in families_at(principal, ds):
        raise PermissionError("that family is not one of your sites' families")
    visit_id = _new_id("HV")
    row = {"visit_id": visit_id, "teacher_id": teacher_id, "family_id": family_id, "school_id": school_id or "",
           "visit_date": visit_date}
    if notes and notes.strip():
        row["notes"] = notes.strip()
    tables = _check(ds, {"home_visits": [row]}, lengths={"notes": NOTE_MAX})
    if "notes" in row:       # a note keeps its line breaks
        tables["home_visits"][0]["notes"] = row["notes"]
    _write(store, principal, tables, "home_visit")
    return visit_id


def save_appointment(store: Store, principal: Principal, ds: Dataset, *, person_id: str, body_id: str, seat: str = "",
                     start_date: date | None = None, end_date: date | None = None) -> None:
    """A person of the principal's sites appointed to a board, commission or council."""
    _require(principal)
    if not _in_scope(principal, _person_site(ds, person_id)):
        raise PermissionError("that person is not at your sites")
    row = {"person_id": person_id, "body_id": body_id, "seat": seat, "start_date": start_date, "end_date": end_date}
    _write(store, principal, _check(ds, {"appointments": [row]}, lengths={"seat": TEXT_MAX}), "appointment")


PERSON_FIELDS = ("name", "role", "family_id", "race_ethnicity", "income_band", "primary_language", "site_id",
                 "neighborhood", "email", "phone", "consent")


def save_person(store: Store, principal: Principal, ds: Dataset, values: dict, *, person_id: str | None = None) -> str:
    """Add a person (no `person_id`) or edit one; `values` holds PERSON_FIELDS (family_id "new" makes a new
    family). Returns the person's id."""
    _require(principal)
    people = ds.people.set_index("person_id")
    if person_id:
        if person_id not in people.index:
            raise RecordInvalid([Problem("people", None, "person_id", person_id, "is not a person in the store",
                                         "Pick a person from the list")])
        if not _in_scope(principal, people.at[person_id, "site_id"]):
            raise PermissionError("that person is not at your sites")
        row = {k: v for k, v in people.loc[person_id].to_dict().items() if v is not None and v == v}
    else:
        row = {}
    row.update({k: values.get(k) for k in PERSON_FIELDS if k in values})
    row["person_id"] = person_id or _new_id("P")
    if not _in_scope(principal, row.get("site_id")):
        raise PermissionError("a person you add or edit must be at one of your sites")
    family = _text(row.get("family_id"))
    if family == "new":
        row["family_id"] = _new_id("F")
    elif family and family not in families_at(principal, ds) and not (person_id and family == _text(
            people.at[person_id, "family_id"])):
        raise PermissionError("that family is not one of your sites' families")
    if not _text(row.get("name")):
        raise RecordInvalid([Problem("people", None, "name", "", "is empty", "Write the person's name")])
    tables = _check(ds, {"people": [row]}, lengths={c: TEXT_MAX for c in PERSON_FIELDS})
    _write(store, principal, tables, "person", relink=[row["person_id"]] if person_id else ())
    return row["person_id"]
