"""One family on one page (the family card) and the families' phone numbers and e-mail addresses for the
call list: loaders shaped for the signed-in principal, and the pure function that builds the card.

Only the people who call families receive them: an admin (every site) and a coordinator, for the families
of their own sites (queries.privacy.restrict_to_sites: a family of another site is not in their data, so
asking for it gives None). Evaluators and funders never get a family card or a phone number: the loaders
refuse them (deny by default, dashboard.accounts.Principal.may("record_contact")).
"""
from __future__ import annotations

import pandas as pd

from dashboard import data
from dashboard.accounts import Principal
from graph.contacts import read_contacts
from graph.dataset import Dataset
from queries import outreach
from queries.network import matched_ties

__all__ = ["load_family", "load_family_contacts", "contacts_of", "family_ids", "build_card", "may_open"]


def may_open(principal: Principal) -> bool:
    """Whether this principal may see family cards and contact details (admins, coordinators)."""
    return isinstance(principal, Principal) and principal.may("record_contact")


def _dataset(principal: Principal) -> Dataset:
    if not may_open(principal):
        raise PermissionError("family cards and contact details are for coordinators and admins")
    _audience, sites = data.scope(principal)
    return data.site_dataset(sites, *data.data_key())


def family_ids(principal: Principal) -> list[str]:
    """The families this principal may open, by id."""
    people = _dataset(principal).people
    return sorted(str(f) for f in people["family_id"].dropna().unique() if str(f).strip())


def load_family_contacts(principal: Principal) -> dict:
    """family_id -> the family's parents as [{person_id, name, phone, email}] for the principal's sites
    (coordinators and admins only; stored with the analyses: data.family_contacts)."""
    if not may_open(principal):
        raise PermissionError("family cards and contact details are for coordinators and admins")
    _audience, sites = data.scope(principal)
    return data.family_contacts(sites)


def contacts_of(people: pd.DataFrame) -> dict:
    """family_id -> its parents as [{person_id, name, phone, email}], from a people table."""
    parents = people[people["family_id"].notna() & (people["role"].fillna("parent") == "parent")]
    out: dict = {}
    for r in parents[["family_id", "person_id", "name", "phone", "email"]].itertuples(index=False):
        out.setdefault(r.family_id, []).append({"person_id": r.person_id, "name": _text(r.name),
                                                "phone": _text(r.phone), "email": _text(r.email)})
    return out


def load_family(principal: Principal, family_id: str) -> dict | None:
    """The family card of ``family_id`` (``build_card``), or None when it is not one of the principal's
    sites' families. The call-list row (tier, reasons, connectors) comes from the outreach list."""
    ds = _dataset(principal)
    if family_id not in set(ds.people["family_id"].dropna()):
        return None
    contacts = read_contacts(data.get_store())
    card = build_card(ds, family_id, contacts=contacts)
    table = data.load_outreach(principal)
    row = table[table["family_id"] == family_id]
    card["outreach"] = None if row.empty else row.iloc[0].to_dict()
    return card


def build_card(ds: Dataset, family_id: str, *, contacts: pd.DataFrame | None = None) -> dict:
    """Everything the data says about one family, as tables a page shows as they are.

    Keys: family_id, site_id; parents and children (people of the family by role: name, id, language,
    neighborhood, phone, email); cohorts (each member's enrollments: cohort, program, status, dates);
    events (attended: date, event, kind, who, their role); home_visits (date, school, teacher); ties
    (who a member named or was named by: member, other person, direction, wave); seats (appointments:
    who, body, level, seat, dates); contacts (date, by, note; newest first).

    >>> from queries.outreach import _doc_dataset
    >>> card = build_card(_doc_dataset(), "F1")
    >>> card["parents"]["person_id"].tolist(), card["ties"][["member", "other", "direction"]].to_dict("records")
    (['a'], [{'member': 'a', 'other': 'b', 'direction': 'named them'}])
    """
    people = ds.people
    members = people[people["family_id"] == family_id]
    ids = set(members["person_id"])
    names = {p: _text(n) for p, n in zip(people["person_id"], people["name"])}

    def who(pid) -> str:
        return f"{names[pid]} ({pid})" if names.get(pid) else str(pid)

    role = members["role"].fillna("parent")
    cols = ["person_id", "name", "role", "primary_language", "neighborhood", "phone", "email"]
    parents = members.loc[role == "parent", cols].reset_index(drop=True)
    children = members.loc[role != "parent", ["person_id", "name", "role"]].reset_index(drop=True)
    enr = ds.enrollments[ds.enrollments["person_id"].isin(ids)]
    cohorts = (enr.merge(ds.cohorts[["cohort_id", "program", "start_date"]], on="cohort_id", how="left")
               .assign(who=lambda f: [who(p) for p in f["person_id"]])
               [["who", "cohort_id", "program", "status", "enrolled_on", "completed_on"]]
               .sort_values(["enrolled_on", "cohort_id"], na_position="last").reset_index(drop=True))
    att = ds.attendance[ds.attendance["person_id"].isin(ids)]
    events = (att.merge(ds.events[["event_id", "name", "kind", "date"]], on="event_id", how="left")
              .assign(who=lambda f: [who(p) for p in f["person_id"]])
              .rename(columns={"name": "event", "role": "as"})
              [["date", "event", "kind", "who", "as"]]
              .sort_values("date", ascending=False, na_position="last").reset_index(drop=True))
    hv = ds.home_visits[ds.home_visits["family_id"] == family_id]
    schools = dict(zip(ds.schools["school_id"], ds.schools["name"]))
    visits = pd.DataFrame({"date": hv["visit_date"],
                           "school": [schools.get(s) or s for s in hv["school_id"]],
                           "teacher": [who(t) for t in hv["teacher_id"]]}).sort_values(
        "date", ascending=False, na_position="last").reset_index(drop=True)
    t = matched_ties(ds)
    mine = t[t["from_person_id"].isin(ids) | t["to_person_id"].isin(ids)]
    rows = []
    for a, b, wave in zip(mine["from_person_id"], mine["to_person_id"], mine["wave"]):
        if a in ids:
            rows.append({"member": who(a), "other": who(b), "direction": "named them", "wave": wave})
        if b in ids and a not in ids:
            rows.append({"member": who(b), "other": who(a), "direction": "named by them", "wave": wave})
    ties = pd.DataFrame(rows, columns=["member", "other", "direction", "wave"]).drop_duplicates()
    ap = ds.appointments[ds.appointments["person_id"].isin(ids)]
    seats = (ap.merge(ds.bodies[["body_id", "name", "level"]], on="body_id", how="left")
             .assign(who=lambda f: [who(p) for p in f["person_id"]], body=lambda f: f["name"].fillna(f["body_id"]))
             [["who", "body", "level", "seat", "start_date", "end_date"]].reset_index(drop=True))
    history = []
    if contacts is not None and len(contacts):
        c = contacts[contacts["family_id"] == family_id]
        for day, note in zip(c["contacted_on"], c["note"]):
            by, text = outreach.parse_note(note)
            history.append({"date": day, "by": by or "not recorded", "note": text})
    history.sort(key=lambda e: str(e["date"]), reverse=True)
    return {"family_id": family_id, "site_id": _text(members["site_id"].dropna().iloc[0])
            if members["site_id"].notna().any() else None,
            "parents": parents, "children": children, "cohorts": cohorts, "events": events,
            "home_visits": visits, "ties": ties, "seats": seats,
            "contacts": pd.DataFrame(history, columns=["date", "by", "note"])}


def _text(v) -> str | None:
    if v is None or (isinstance(v, float) and v != v):
        return None
    s = str(v).strip()
    return s or None
