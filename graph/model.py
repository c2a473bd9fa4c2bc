"""The data contract and the property-graph model that both stores share.

A data package is a set of tables (docs/data-format.md). Each entity table becomes nodes of one label;
each link table becomes relationships of one type. Every node and relationship keeps all the columns of
its source row as properties (extra columns included), so the tables can be read back exactly.

Nodes:  Person (also labelled by role: Parent, Child, Teacher, Staff, Official), Family, Site, Cohort,
        Event, School, Body, UnmatchedName, Contact
Edges:  (Person)-[:MEMBER_OF]->(Family)          people.family_id
        (Person)-[:BASED_AT]->(Site)             people.site_id
        (Cohort)-[:HELD_AT]->(Site)              cohorts.site_id
        (Event)-[:HELD_AT]->(Site)               events.site_id
        (Person)-[:ENROLLED_IN]->(Cohort)        enrollments
        (Person)-[:ATTENDED]->(Event)            attendance
        (Person)-[:REPORTED_TIE]->(Person)       ties (matched)
        (Person)-[:NAMED]->(UnmatchedName)       ties whose to_name matched no one or several people
        (Person)-[:VISITED]->(Family)            home_visits (teacher visits family)
        (Person)-[:APPOINTED_TO]->(Body)         appointments
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field

__all__ = [
    "TableSpec", "TABLES", "TABLE_ORDER", "ROLES", "ROLE_LABELS", "CONSENT_VALUES", "EVENT_KINDS",
    "ATTENDANCE_ROLES", "SUPPORTS", "LIST_SEPARATOR", "split_list", "NODE_LABELS", "REL_TYPES",
    "EdgeRecord", "GraphRecords", "to_graph_records", "edge_key", "RESERVED_COLUMNS", "COLUMN_PREFIX",
    "property_name", "column_name",
]


@dataclass(frozen=True)
class TableSpec:
    """One table of the data contract."""

    name: str
    columns: tuple[str, ...]            # known columns, in order
    required: tuple[str, ...]           # columns that must exist and be non-empty
    key: tuple[str, ...]                # what makes a row unique
    enums: dict[str, tuple[str, ...]] = field(default_factory=dict)
    dates: tuple[str, ...] = ()
    refs: dict[str, str] = field(default_factory=dict)        # column -> referenced table ("families" special)
    date_order: tuple[tuple[str, str], ...] = ()              # (start, end): end must not precede start
    defaults: dict[str, str] = field(default_factory=dict)
    lists: dict[str, tuple[str, ...]] = field(default_factory=dict)   # column -> vocabulary of a ;-separated list


ROLES = ("parent", "child", "teacher", "staff", "official")
ROLE_LABELS = {r: r.capitalize() for r in ROLES}
# people.consent: only "yes" lets a person into evaluators' and funders' data (docs/consent.md). An empty cell
# means the program's default (the setting CIVICTIES_CONSENT_DEFAULT), so it has no default here.
CONSENT_VALUES = ("yes", "no", "withdrawn")
# events.kind. The first six are the original contract; the rest are the pathways of home visiting and school
# engagement (docs/data-format.md, "Pathways"): a trainer's certification is attendance at a
# trainer_certification event (its date is the certification's), and the children's track of a leadership
# program is children's attendance at children_track sessions.
EVENT_KINDS = ("forum", "summit", "civic_project", "workshop", "training", "meeting",
               "volunteering", "organizing", "adult_education", "curriculum_project", "school_event",
               "staff_workshop", "training_of_trainers", "trainer_certification", "children_track")
# attendance.role: who led says presenter, facilitator or trainer (trains others, e.g. in home visiting).
ATTENDANCE_ROLES = ("attendee", "presenter", "facilitator", "trainer")
# events.supports: what a school or site offered so that under-involved families can take part (TPE), a
# ;-separated list of these (docs/data-format.md). Stored as validated: known values, once each, in this order.
SUPPORTS = ("childcare", "translation", "food", "transportation", "meeting_time")
LIST_SEPARATOR = ";"


def split_list(value) -> list[str]:
    """The values of a ;-separated list cell (empty or missing: none).

    >>> split_list("childcare;translation"), split_list(None), split_list("")
    (['childcare', 'translation'], [], [])
    """
    if not isinstance(value, str):
        return []
    return [v.strip() for v in value.split(LIST_SEPARATOR) if v.strip()]


TABLES: dict[str, TableSpec] = {t.name: t for t in [
    TableSpec("people",
              ("person_id", "name", "role", "family_id", "race_ethnicity", "income_band", "primary_language",
               "site_id", "neighborhood", "email", "phone", "consent"),
              required=("person_id",), key=("person_id",), enums={"role": ROLES, "consent": CONSENT_VALUES},
              refs={"site_id": "sites"}, defaults={"role": "parent"}),
    TableSpec("sites", ("site_id", "name", "state"), required=("site_id",), key=("site_id",)),
    TableSpec("cohorts", ("cohort_id", "program", "site_id", "start_date", "end_date"),
              required=("cohort_id",), key=("cohort_id",), dates=("start_date", "end_date"),
              refs={"site_id": "sites"}, date_order=(("start_date", "end_date"),)),
    TableSpec("enrollments", ("person_id", "cohort_id", "status", "enrolled_on", "completed_on"),
              required=("person_id", "cohort_id"), key=("person_id", "cohort_id"),
              enums={"status": ("enrolled", "graduated", "withdrawn")}, dates=("enrolled_on", "completed_on"),
              refs={"person_id": "people", "cohort_id": "cohorts"},
              date_order=(("enrolled_on", "completed_on"),)),
    TableSpec("events", ("event_id", "name", "kind", "date", "site_id", "supports"), required=("event_id",),
              key=("event_id",), enums={"kind": EVENT_KINDS}, lists={"supports": SUPPORTS},
              dates=("date",), refs={"site_id": "sites"}),
    TableSpec("attendance", ("person_id", "event_id", "role"), required=("person_id", "event_id"),
              key=("person_id", "event_id"), enums={"role": ATTENDANCE_ROLES},
              refs={"person_id": "people", "event_id": "events"}),
    TableSpec("ties", ("from_person_id", "to_person_id", "to_name", "tie_type", "wave", "observed_on"),
              required=("from_person_id",),
              key=("from_person_id", "to_person_id", "to_name", "tie_type", "wave", "observed_on"),
              dates=("observed_on",), refs={"from_person_id": "people", "to_person_id": "people"}),
    TableSpec("schools", ("school_id", "name", "district"), required=("school_id",), key=("school_id",)),
    TableSpec("home_visits", ("visit_id", "teacher_id", "family_id", "school_id", "visit_date"),
              required=("visit_id", "teacher_id", "family_id"), key=("visit_id",), dates=("visit_date",),
              refs={"teacher_id": "people", "family_id": "families", "school_id": "schools"}),
    TableSpec("bodies", ("body_id", "name", "level", "kind"), required=("body_id",), key=("body_id",),
              enums={"level": ("school", "district", "city", "county", "state", "national"),
                     "kind": ("board", "commission", "council", "committee", "advisory")}),
    TableSpec("appointments", ("person_id", "body_id", "seat", "start_date", "end_date"),
              required=("person_id", "body_id"), key=("person_id", "body_id", "seat", "start_date"),
              dates=("start_date", "end_date"), refs={"person_id": "people", "body_id": "bodies"},
              date_order=(("start_date", "end_date"),)),
]}
# Order in which tables are validated and written (referenced tables first).
TABLE_ORDER = ("sites", "people", "cohorts", "enrollments", "events", "attendance", "ties", "schools",
               "home_visits", "bodies", "appointments")

# Entity tables -> node label and id column.
NODE_TABLES = {"people": ("Person", "person_id"), "sites": ("Site", "site_id"), "cohorts": ("Cohort", "cohort_id"),
               "events": ("Event", "event_id"), "schools": ("School", "school_id"), "bodies": ("Body", "body_id")}
# Link tables -> (relationship type, source label, source column, target label, target column).
EDGE_TABLES = {
    "enrollments": ("ENROLLED_IN", "Person", "person_id", "Cohort", "cohort_id"),
    "attendance": ("ATTENDED", "Person", "person_id", "Event", "event_id"),
    "home_visits": ("VISITED", "Person", "teacher_id", "Family", "family_id"),
    "appointments": ("APPOINTED_TO", "Person", "person_id", "Body", "body_id"),
}
# Relationships derived from a column of an entity table (they carry no properties of their own).
DERIVED_EDGES = (
    ("people", "MEMBER_OF", "Person", "person_id", "Family", "family_id"),
    ("people", "BASED_AT", "Person", "person_id", "Site", "site_id"),
    ("cohorts", "HELD_AT", "Cohort", "cohort_id", "Site", "site_id"),
    ("events", "HELD_AT", "Event", "event_id", "Site", "site_id"),
)
NODE_LABELS = ("Person", "Family", "Site", "Cohort", "Event", "School", "Body", "UnmatchedName", "Contact")
REL_TYPES = ("MEMBER_OF", "BASED_AT", "HELD_AT", "ENROLLED_IN", "ATTENDED", "REPORTED_TIE", "NAMED", "VISITED",
             "APPOINTED_TO")
# The relationship type endpoints, for stores that need them (Neo4j MATCHes the ends by label and id).
REL_ENDS = {
    "MEMBER_OF": ("Person", "Family"), "BASED_AT": ("Person", "Site"), "ENROLLED_IN": ("Person", "Cohort"),
    "ATTENDED": ("Person", "Event"), "REPORTED_TIE": ("Person", "Person"), "NAMED": ("Person", "UnmatchedName"),
    "VISITED": ("Person", "Family"), "APPOINTED_TO": ("Person", "Body"),
    # HELD_AT has two source labels; it is written per source label.
}


def edge_key(row: dict, columns: tuple[str, ...]) -> str:
    """A stable identity for a relationship row, unambiguous for any text: two rows share it only when every
    key column is equal.

    The key columns joined by the ASCII unit separator (U+001F), as stores written before keep them; when a value
    could make that ambiguous (it holds U+001F, or the first value starts with U+001E), U+001E and the values as
    a JSON array instead. A joined key never starts with U+001E, so the two forms cannot meet.

    >>> edge_key({"a": "P1\x1fX", "b": "E1"}, ("a", "b")) == edge_key({"a": "P1", "b": "X\x1fE1"}, ("a", "b"))
    False
    >>> edge_key({"a": "P1", "b": "E1"}, ("a", "b")) == "P1\x1fE1"
    True
    """
    return _join_key([row.get(c) or "" for c in columns])


def _join_key(values: list[str]) -> str:
    if any("\x1f" in v for v in values) or (values and values[0].startswith("\x1e")):
        return "\x1e" + json.dumps(values, ensure_ascii=False)
    return "\x1f".join(values)


# A package's column is stored under its own name, except a name the stores use themselves (a node's `id`, the
# resolved `to_name_key` of a tie) or one that starts with "_" (the stores' bookkeeping: `_key`, `_source`,
# `_loaded_at`) or with COLUMN_PREFIX: those are stored as COLUMN_PREFIX + name and read back under their own
# name (graph/dataset.py), so no column can overwrite what a store keeps.
RESERVED_COLUMNS = ("id", "to_name_key")
COLUMN_PREFIX = "column:"


def property_name(column: str) -> str:
    """The property a package column is stored as.

    >>> property_name("id"), property_name("note"), column_name(property_name("_key"))
    ('column:id', 'note', '_key')
    """
    if column in RESERVED_COLUMNS or column.startswith(("_", COLUMN_PREFIX)):
        return COLUMN_PREFIX + column
    return column


def column_name(prop: str) -> str:
    """The package column a stored property holds (property_name's inverse)."""
    return prop[len(COLUMN_PREFIX):] if prop.startswith(COLUMN_PREFIX) else prop


@dataclass(frozen=True)
class EdgeRecord:
    """One relationship to upsert: endpoints by (label, id), identity `key`, properties."""

    rel_type: str
    src_label: str
    src_id: str
    dst_label: str
    dst_id: str
    key: str
    props: dict


@dataclass
class GraphRecords:
    """Everything a package writes: nodes by label (each a dict with an `id`), relationships."""

    nodes: dict[str, list[dict]] = field(default_factory=dict)
    edges: list[EdgeRecord] = field(default_factory=list)

    def count(self) -> int:
        return sum(len(v) for v in self.nodes.values()) + len(self.edges)


def _clean(row: dict) -> dict:
    """Drop missing values: neither store keeps nulls as properties."""
    return {k: v for k, v in row.items() if v is not None and v == v}


def to_graph_records(tables: dict[str, list[dict]]) -> GraphRecords:
    """Map validated, resolved table rows onto nodes and relationships of the model.

    `tables["ties"]` rows carry the resolved `to_person_id` (None when the name was not matched).
    """
    out = GraphRecords()
    for table, (label, id_col) in NODE_TABLES.items():
        out.nodes[label] = [dict(_clean(r), id=r[id_col]) for r in tables.get(table, [])]
    families = sorted({r["family_id"] for r in tables.get("people", []) if r.get("family_id")})
    out.nodes["Family"] = [{"id": f, "family_id": f} for f in families]
    unmatched: dict[str, dict] = {}
    for table, rel, src_label, src_col, dst_label, dst_col in DERIVED_EDGES:
        for r in tables.get(table, []):
            if r.get(dst_col):
                # the source label is part of the key: a cohort and an event may share an id
                out.edges.append(EdgeRecord(rel, src_label, r[src_col], dst_label, r[dst_col],
                                            _join_key([src_label, r[src_col] or "", r[dst_col]]), {}))
    for table, (rel, src_label, src_col, dst_label, dst_col) in EDGE_TABLES.items():
        key_cols = TABLES[table].key
        for r in tables.get(table, []):
            out.edges.append(EdgeRecord(rel, src_label, r[src_col], dst_label, r[dst_col],
                                        edge_key(r, key_cols), _clean(r)))
    key_cols = TABLES["ties"].key
    for r in tables.get("ties", []):
        if r.get("to_person_id"):
            out.edges.append(EdgeRecord("REPORTED_TIE", "Person", r["from_person_id"], "Person",
                                        r["to_person_id"], edge_key(r, key_cols), _clean(r)))
        else:
            name_id = r["to_name_key"]
            unmatched.setdefault(name_id, {"id": name_id, "to_name": r.get("to_name")})
            out.edges.append(EdgeRecord("NAMED", "Person", r["from_person_id"], "UnmatchedName", name_id,
                                        edge_key(r, key_cols), _clean({k: v for k, v in r.items()
                                                                       if k != "to_name_key"})))
    out.nodes["UnmatchedName"] = list(unmatched.values())
    return out
