"""Outreach: which families a coordinator should reach out to first, why, and who could connect them.

Programs work through families, so the unit here is the family (its parents together), not the person.
A family is flagged for each of these reasons, and ranked by the weighted sum of its reasons (``WEIGHTS``):

=================  ======  ================================================================================
code               weight  reason
=================  ======  ================================================================================
``no_ties``        3.0     no parent of the family has a tie to anyone (reported or named by others)
``family_only``    2.0     the parents' only ties are to each other (or others in their own family)
``inactive``       2.0     no event attended, home visit, enrollment or graduation in the last
                           ``inactive_days`` days before ``as_of`` (or none ever)
``withdrew``       1.5     a parent withdrew from a cohort and has not graduated from another
``language``       1.0     nobody the parents know outside the family shares a parent's primary
                           language (counted only among contacts whose language is known)
=================  ======  ================================================================================

The weights say that isolation is the strongest signal (the programs' theory of change rests on ties),
then being closed in on the family or drifting away, then a withdrawal or a language barrier. They are
a starting point for a coordinator's judgement, not a validated risk model.

A list that names most families tells nobody where to start, so each family also gets a **tier**, from
its reasons grouped into four plain **categories** (``CATEGORIES``): *isolated* (no ties, or ties only
inside the family), *not seen lately* (inactive), *left a cohort* (withdrew) and *language barrier*:

- **call now**: isolated *and* not seen lately or left a cohort: alone and drifting away;
- **this month**: isolated but still coming, or two other categories at once;
- **keep an eye on**: one category other than isolated (most often only not seen lately).

On the demo network (600 parents) this puts 8 of 227 flagged families in "call now" and 28 in "this
month"; at 10,000 parents 227 and 784 of 6,604.

A family a coordinator contacted waits at the bottom of the list (tier ``contacted``) until its follow-up
is due, ``follow_up_days`` after the contact (:func:`apply_contacts`, applied when the list is read, so a
contact never recomputes the network analysis).

Enrollment and graduation count as activity, next to attendance and home visits: a parent in a cohort
running now is in touch with the program even if no event is recorded yet.
"""
from __future__ import annotations

import math
import re
from datetime import date

import numpy as np
import pandas as pd

from graph.dataset import Dataset
from queries.arrays import ArrayNetwork
from queries.errors import QueryError
from queries.network import matched_ties
from queries.pipeline import _as_of, _dates

__all__ = ["outreach_families", "apply_contacts", "tier_of", "categories_of", "codes_from_reasons",
           "contact_note", "parse_note", "split_connectors", "WEIGHTS", "COLUMNS", "CATEGORIES", "REASON_LABELS", "TIERS",
           "CONTACTED"]

WEIGHTS = {"no_ties": 3.0, "family_only": 2.0, "inactive": 2.0, "withdrew": 1.5, "language": 1.0}
#: The plain category of each reason: what a coordinator filters by.
CATEGORIES = {"no_ties": "isolated", "family_only": "isolated", "inactive": "not seen lately",
              "withdrew": "left a cohort", "language": "language barrier"}
#: Each reason in a few words, for counts by reason (funders): no cohort or language names in them.
REASON_LABELS = {"no_ties": "no ties", "family_only": "ties only inside the family", "inactive": "not seen lately",
                 "withdrew": "left a cohort", "language": "language barrier"}
#: The tiers, most urgent first; CONTACTED (after them) holds families contacted until a follow-up is due.
TIERS = ("call now", "this month", "keep an eye on")
CONTACTED = "contacted"
COLUMNS = ["family_id", "site_id", "tier", "categories", "parents", "score", "reasons", "reason_codes",
           "last_activity", "last_contacted", "connectors"]
#: How many of the best-connected people of each pool (school, language, neighborhood) are considered.
_POOL_TOP = 10
_BY = re.compile(r"^\[by ([^\]]+)\] ?(.*)$", re.S)
_MAX_CONNECTORS = 3


def outreach_families(ds: Dataset, *, as_of: date | str | None = None, inactive_days: int = 180,
                      G=None) -> pd.DataFrame:
    """Families to reach out to, most urgent first, with reasons and suggested connectors.

    For a coordinator: the families the program is losing or never reached, and for each up to three
    people who could introduce them (module docstring for the reasons and weights). One row per family
    with at least one reason (families with none are left out):

    - ``family_id``, ``site_id`` (the parents' site), ``parents`` (list of parent person_ids);
    - ``tier`` (one of ``TIERS``, :func:`tier_of`) and ``categories`` (the reasons' plain categories);
    - ``score`` = sum of ``WEIGHTS`` of its reasons; ``reasons`` (short sentences) and ``reason_codes``;
    - ``last_activity``: the latest event, home visit, enrollment or graduation up to ``as_of``
      (a ``datetime.date``; None when there is none);
    - ``last_contacted``: the latest outreach contact recorded for the family (``ds.contacts``), or None;
    - ``connectors``: up to 3 dicts ``{person_id, ties, why}``: parents outside the family who graduated
      or attended an event, have at least one tie, and share the family's school (from home visits),
      a parent's primary language or the neighborhood at the same site; those sharing more come
      first, then most ties. Only the 10 best-connected people of each school / language /
      neighborhood pool are considered, which keeps this fast for 100,000 parents.

    Ordered by tier, then score (highest first), then the longest without activity, then family_id.
    ``as_of`` defaults to the latest date in the data; ``G`` is the tie network to use (default: the
    union tie network of ``ds``, built here from the ties table).

    >>> from queries.outreach import _doc_dataset
    >>> out = outreach_families(_doc_dataset(), as_of="2024-06-30")
    >>> out[["family_id", "tier", "score", "reason_codes"]].to_dict("records")
    [{'family_id': 'F3', 'tier': 'call now', 'score': 5.0, 'reason_codes': ['no_ties', 'inactive']}]
    >>> for c in out.loc[0, "connectors"]: print(c)
    {'person_id': 'a', 'ties': 1, 'why': 'speaks Spanish; same neighborhood (Harbor); 1 tie'}
    {'person_id': 'b', 'ties': 1, 'why': 'speaks Spanish; 1 tie'}
    """
    if not isinstance(inactive_days, (int, np.integer)) or isinstance(inactive_days, bool) or inactive_days < 0:
        raise QueryError(f"inactive_days must be a whole number of days, 0 or more; got {inactive_days!r}")
    as_of_ts = _as_of(ds, as_of)
    people = ds.people
    is_parent = people["role"].isna() | (people["role"] == "parent")
    parents = people.loc[is_parent & people["family_id"].notna() & (people["family_id"] != ""),
                         ["person_id", "family_id", "site_id", "primary_language", "neighborhood"]]
    if parents.empty:
        return pd.DataFrame(columns=COLUMNS)
    fam = parents.groupby("family_id", sort=True).agg(site_id=("site_id", "first"))
    fam["parents"] = pd.Series(_lists(parents["family_id"], parents["person_id"]), dtype=object)
    family_of = pd.Series(people["family_id"].to_numpy(), index=people["person_id"].to_numpy())
    language_of = pd.Series(people["primary_language"].to_numpy(), index=people["person_id"].to_numpy())

    pairs = _pairs(ds, G)                       # undirected, each pair once: columns u, v
    both = pd.concat([pairs.rename(columns={"u": "me", "v": "other"}),
                      pairs.rename(columns={"v": "me", "u": "other"})], ignore_index=True)
    degree = both.groupby("me").size()
    mine = both.merge(parents[["person_id", "family_id"]], left_on="me", right_on="person_id")
    mine["other_family"] = mine["other"].map(family_of)
    outside = mine[mine["other_family"].isna() | (mine["other_family"] != mine["family_id"])]
    has_tie = fam.index.isin(mine["family_id"])
    has_outside = fam.index.isin(outside["family_id"])

    # language: outside contacts with a known language, none of them sharing a parent's language
    fam_lang = parents[["family_id", "primary_language"]].dropna().drop_duplicates()
    known = outside.assign(lang=outside["other"].map(language_of).astype(object))
    known = known[known["lang"].notna()]
    shared = known.merge(fam_lang, left_on=["family_id", "lang"], right_on=["family_id", "primary_language"])
    lang_flag = (fam.index.isin(known["family_id"]) & ~fam.index.isin(shared["family_id"])
                 & fam.index.isin(fam_lang["family_id"]))
    fam_lang_text = {f: " / ".join(sorted(v)) for f, v in _lists(fam_lang["family_id"],
                                                                   fam_lang["primary_language"]).items()}

    # activity
    last = _last_activity(ds, parents, as_of_ts)
    fam["last"] = last.reindex(fam.index)
    if as_of_ts is None:
        inactive = fam["last"].isna().to_numpy()
    else:
        cutoff = as_of_ts - pd.Timedelta(days=int(inactive_days))
        inactive = (fam["last"].isna() | (fam["last"] < cutoff)).to_numpy()

    # withdrew and never graduated
    enr = ds.enrollments
    graduated = set(enr.loc[enr["status"] == "graduated", "person_id"])
    wd = enr[(enr["status"] == "withdrawn") & ~enr["person_id"].isin(graduated)]
    wd = wd.merge(parents[["person_id", "family_id"]], on="person_id")
    wd_cohorts = {f: ", ".join(sorted(set(v))) for f, v in _lists(wd["family_id"], wd["cohort_id"]).items()}

    flags = pd.DataFrame({"no_ties": ~has_tie, "family_only": has_tie & ~has_outside, "inactive": inactive,
                          "withdrew": fam.index.isin(list(wd_cohorts)), "language": lang_flag}, index=fam.index)
    weights = pd.Series(WEIGHTS)
    fam["score"] = flags[list(WEIGHTS)].astype(float).to_numpy() @ weights[list(WEIGHTS)].to_numpy()
    fam = fam[fam["score"] > 0]
    flags = flags.loc[fam.index]
    if fam.empty:
        return pd.DataFrame(columns=COLUMNS)

    never = "no event, home visit or cohort activity on record"
    idle = f"no event, home visit or cohort activity in the last {int(inactive_days)} days"
    reasons, codes = [], []
    for fid, row, last_ts in zip(fam.index, flags.itertuples(index=False), fam["last"]):
        r, c = [], []
        if row.no_ties:
            r.append("no ties to anyone in the network")
            c.append("no_ties")
        if row.family_only:
            r.append("ties only inside their own family")
            c.append("family_only")
        if row.inactive:
            r.append(never if pd.isna(last_ts) else idle)
            c.append("inactive")
        if row.withdrew:
            r.append(f"withdrew from {wd_cohorts[fid]}")
            c.append("withdrew")
        if row.language:
            r.append(f"nobody they know speaks {fam_lang_text[fid]}")
            c.append("language")
        reasons.append(r)
        codes.append(c)
    fam["reasons"] = reasons
    fam["reason_codes"] = codes
    fam["tier"] = [tier_of(c) for c in codes]
    fam["categories"] = [categories_of(c) for c in codes]
    fam["_rank"] = [TIERS.index(t) for t in fam["tier"]]
    fam["last_activity"] = [None if pd.isna(t) else t.date() for t in fam["last"]]
    fam["last_contacted"] = _last_contacted(ds).reindex(fam.index).astype(object)
    fam["last_contacted"] = [None if pd.isna(t) else t.date() for t in fam["last_contacted"]]
    conn = _connectors(ds, parents, fam.index, degree)
    fam["connectors"] = [conn.get(f, []) for f in fam.index]
    fam = fam.reset_index()
    fam = fam.sort_values(["_rank", "score", "last", "family_id"], ascending=[True, False, True, True],
                          na_position="first", kind="stable").reset_index(drop=True)
    return fam[COLUMNS]


def tier_of(codes) -> str:
    """The tier of a family with these reason codes (module docstring): how soon to call.

    >>> tier_of(["no_ties", "inactive"]), tier_of(["family_only"]), tier_of(["inactive"])
    ('call now', 'this month', 'keep an eye on')
    """
    cats = set(categories_of(codes))
    if "isolated" in cats and cats & {"not seen lately", "left a cohort"}:
        return TIERS[0]
    if "isolated" in cats or len(cats) >= 2:
        return TIERS[1]
    return TIERS[2]


def categories_of(codes) -> list[str]:
    """The plain categories of reason codes, each once, in the order of ``CATEGORIES``.

    >>> categories_of(["inactive", "no_ties", "family_only"])
    ['isolated', 'not seen lately']
    """
    mine = {CATEGORIES[c] for c in codes if c in CATEGORIES}
    return [c for c in dict.fromkeys(CATEGORIES.values()) if c in mine]


_REASON_TEXT = (("no ties to anyone", "no_ties"), ("ties only inside", "family_only"),
                ("no event, home visit", "inactive"), ("withdrew from", "withdrew"),
                ("nobody they know speaks", "language"))


def codes_from_reasons(reasons) -> list[str]:
    """Reason codes from the reasons' sentences (a list, or one text joined with "; "): for a table whose
    codes were dropped when it was made readable.

    >>> codes_from_reasons("no ties to anyone in the network; withdrew from C1")
    ['no_ties', 'withdrew']
    """
    text = "; ".join(reasons) if isinstance(reasons, (list, tuple)) else str(reasons or "")
    return [code for phrase, code in _REASON_TEXT if phrase in text]


def contact_note(note: str, by: str | None) -> str:
    """The note stored with a contact, with who made it in front ("[by ada] left a message").

    >>> parse_note(contact_note("left a message", "ada"))
    ('ada', 'left a message')
    """
    note = (note or "").strip()
    return f"[by {by}] {note}".strip() if by else note


def parse_note(note) -> tuple[str | None, str]:
    """(who made the contact or None, the note) from a stored note (:func:`contact_note`)."""
    text = "" if note is None or (isinstance(note, float) and math.isnan(note)) else str(note)
    m = _BY.match(text)
    return (m.group(1), m.group(2)) if m else (None, text)


def split_connectors(text: str) -> list[str]:
    """The connectors of a readable outreach row ("who: why; why; who: why") one per item. A reason never
    holds ": ", so a new connector starts wherever the next piece does.

    >>> split_connectors("Ann (a): speaks English; 2 ties; Bo (b): 1 tie")
    ['Ann (a): speaks English; 2 ties', 'Bo (b): 1 tie']
    """
    if isinstance(text, (list, tuple)):
        return [str(t) for t in text]
    text = str(text or "").strip()
    return [part for part in re.split(r"; (?=[^;]*: )", text) if part] if text else []


def apply_contacts(table: pd.DataFrame, contacts: pd.DataFrame | None, *, today: date,
                   follow_up_days: int = 30) -> pd.DataFrame:
    """The outreach list as a coordinator works through it: contacts recorded so far applied.

    ``table`` is :func:`outreach_families`' (or its readable form); ``contacts`` has columns family_id,
    contacted_on (ISO date) and note (:func:`contact_note`). For every family of ``table`` this adds

    - ``last_contacted``: the latest contact (or the table's own, whichever is later);
    - ``follow_up_on``: ``follow_up_days`` after it (None when never contacted);
    - ``history``: the family's contacts, newest first, as dicts {date, by, note};
    - ``needs``: the family's tier by its reasons; ``tier`` becomes ``CONTACTED`` while today is before
      the follow-up date, so the family waits at the bottom, and returns to ``needs`` once it is due.

    Families are ordered by tier (``TIERS``, then ``CONTACTED`` by follow-up date), keeping the
    table's order inside a tier. Contacts of families not in ``table`` are ignored.

    >>> t = pd.DataFrame({"family_id": ["F1", "F2"], "tier": ["call now", "this month"]})
    >>> c = pd.DataFrame({"family_id": ["F1"], "contacted_on": ["2024-06-01"], "note": ["[by ada] left a message"]})
    >>> out = apply_contacts(t, c, today=date(2024, 6, 10), follow_up_days=30)
    >>> out[["family_id", "tier", "needs"]].to_dict("records")
    [{'family_id': 'F2', 'tier': 'this month', 'needs': 'this month'}, {'family_id': 'F1', 'tier': 'contacted', 'needs': 'call now'}]
    >>> out.loc[1, "follow_up_on"], out.loc[1, "history"]
    (datetime.date(2024, 7, 1), [{'date': datetime.date(2024, 6, 1), 'by': 'ada', 'note': 'left a message'}])
    """
    if not isinstance(follow_up_days, (int, np.integer)) or isinstance(follow_up_days, bool) or follow_up_days < 0:
        raise QueryError(f"follow_up_days must be a whole number of days, 0 or more; got {follow_up_days!r}")
    out = table.copy()
    if out.empty:
        return out.assign(needs=[], follow_up_on=[], history=[])
    if "tier" not in out:             # a table stored before tiers existed
        codes = out["reason_codes"] if "reason_codes" in out else [codes_from_reasons(r) for r in out["reasons"]]
        out["tier"] = [tier_of(c) for c in codes]
        out["categories"] = [categories_of(c) for c in codes]
    out["needs"] = out["tier"].where(out["tier"] != CONTACTED, None) if "needs" not in out else out["needs"]
    history: dict = {}
    if contacts is not None and len(contacts):
        c = contacts[contacts["family_id"].isin(set(out["family_id"]))]
        when = pd.to_datetime(c["contacted_on"], errors="coerce", format="ISO8601")
        order = c.assign(_when=when, _at=c["recorded_at"] if "recorded_at" in c else "").dropna(subset=["_when"])
        order = order.sort_values(["_when", "_at"], ascending=False, kind="stable")
        for fid, day, note in zip(order["family_id"], order["_when"], order["note"]):
            by, text = parse_note(note)
            history.setdefault(fid, []).append({"date": day.date(), "by": by, "note": text})
    out["history"] = [history.get(f, []) for f in out["family_id"]]
    own = out["last_contacted"] if "last_contacted" in out else [None] * len(out)
    last = []
    for h, mine in zip(out["history"], own):
        dates = [e["date"] for e in h] + ([mine] if isinstance(mine, date) else [])
        last.append(max(dates) if dates else None)
    out["last_contacted"] = pd.Series(last, index=out.index, dtype=object)
    gap = pd.Timedelta(days=int(follow_up_days))
    out["follow_up_on"] = pd.Series([None if d is None else (pd.Timestamp(d) + gap).date() for d in last],
                                    index=out.index, dtype=object)
    waiting = [f is not None and today < f for f in out["follow_up_on"]]
    out["tier"] = [CONTACTED if w else n for w, n in zip(waiting, out["needs"])]
    rank = {t: i for i, t in enumerate(TIERS + (CONTACTED,))}
    out["_rank"] = [rank.get(t, len(rank)) for t in out["tier"]]
    out["_next"] = [f if w else date.min for f, w in zip(out["follow_up_on"], waiting)]
    out = out.sort_values(["_rank", "_next"], kind="stable").drop(columns=["_rank", "_next"])
    return out.reset_index(drop=True)


# -- private helpers ---------------------------------------------------------------------


def _lists(keys: pd.Series, values: pd.Series) -> dict:
    """key -> list of its values, in the order given (a plain loop: far faster than groupby(...).agg(list))."""
    out: dict = {}
    for k, v in zip(keys, values):
        out.setdefault(k, []).append(v)
    return out


def _pairs(ds: Dataset, G) -> pd.DataFrame:
    """Undirected person pairs joined by a tie (self-ties left out), each once as (u, v) with u < v."""
    if G is None:
        t = matched_ties(ds)
        a, b = t["from_person_id"].astype(str), t["to_person_id"].astype(str)
    elif isinstance(G, ArrayNetwork):
        lo, hi = G.pairs()
        a = pd.Series(G.ids[lo], dtype=object).astype(str)
        b = pd.Series(G.ids[hi], dtype=object).astype(str)
    else:
        if not hasattr(G, "edges") or not hasattr(G, "nodes"):
            raise QueryError("G must be a networkx graph (e.g. tie_network(ds)) or None")
        edges = [(str(u), str(v)) for u, v in G.edges() if u != v]
        a = pd.Series([u for u, _ in edges], dtype=object)
        b = pd.Series([v for _, v in edges], dtype=object)
    u = np.where(a < b, a, b)
    v = np.where(a < b, b, a)
    return pd.DataFrame({"u": u, "v": v}, dtype=object).drop_duplicates(ignore_index=True)


def _last_activity(ds: Dataset, parents: pd.DataFrame, as_of_ts) -> pd.Series:
    """family_id -> latest attended event, home visit, enrollment or graduation date up to as_of."""
    pf = parents[["person_id", "family_id"]]
    att = ds.attendance[["person_id", "event_id"]].merge(ds.events[["event_id", "date"]], on="event_id")
    att = att.merge(pf, on="person_id")
    enr = ds.enrollments.merge(pf, on="person_id")
    hv = ds.home_visits
    parts = [pd.DataFrame({"family_id": att["family_id"], "when": _dates(att["date"])}),
             pd.DataFrame({"family_id": hv["family_id"], "when": _dates(hv["visit_date"])}),
             pd.DataFrame({"family_id": enr["family_id"], "when": _dates(enr["enrolled_on"])}),
             pd.DataFrame({"family_id": enr["family_id"], "when": _dates(enr["completed_on"])})]
    allp = pd.concat(parts, ignore_index=True)
    allp = allp[allp["when"].notna()]
    if as_of_ts is not None:
        allp = allp[allp["when"] <= as_of_ts]
    return allp.groupby("family_id")["when"].max()


def _last_contacted(ds: Dataset) -> pd.Series:
    c = ds.contacts
    if c is None or c.empty or "family_id" not in c:
        return pd.Series(dtype="datetime64[ns]")
    return c.assign(when=_dates(c["contacted_on"])).groupby("family_id")["when"].max()


def _connectors(ds: Dataset, parents: pd.DataFrame, families: pd.Index, degree: pd.Series) -> dict:
    """family_id -> up to 3 connector dicts, by pools of the best-connected active parents."""
    enr, att = ds.enrollments, ds.attendance
    active = set(enr.loc[enr["status"] == "graduated", "person_id"]) | set(att["person_id"])
    cand = parents[parents["person_id"].isin(active)].copy()
    cand["degree"] = cand["person_id"].map(degree).fillna(0).astype(int)
    cand = cand[cand["degree"] > 0]
    if cand.empty:
        return {}
    visits = ds.home_visits[["family_id", "school_id"]].dropna().drop_duplicates()

    def keys(frame: pd.DataFrame, with_person: bool) -> pd.DataFrame:
        cols = ["family_id"] + (["person_id", "degree"] if with_person else [])
        lang = frame[cols + ["site_id", "primary_language"]].dropna(subset=["primary_language"])
        lang = lang.rename(columns={"primary_language": "value"}).assign(kind="language")
        hood = frame[cols + ["site_id", "neighborhood"]].dropna(subset=["neighborhood"])
        hood = hood.rename(columns={"neighborhood": "value"}).assign(kind="neighborhood")
        school = frame[cols].merge(visits, on="family_id").rename(columns={"school_id": "value"})
        school = school.assign(kind="school", site_id="")
        out = pd.concat([lang, hood, school], ignore_index=True)
        out["site_id"] = out["site_id"].fillna("")
        return out.drop_duplicates(subset=cols[:2] + ["kind", "site_id", "value"] if with_person
                                   else ["family_id", "kind", "site_id", "value"])

    # Families with the same pool keys get the same suggestions, so rank once per distinct key set
    # ("signature"); there are a few thousand of them even for 100,000 parents.
    ckeys = keys(cand, True)
    ckeys["key"] = list(zip(ckeys["kind"], ckeys["site_id"], ckeys["value"]))
    pool = ckeys.sort_values(["degree", "person_id"], ascending=[False, True], kind="stable")
    pool = pool.groupby(["kind", "site_id", "value"], sort=False).head(_POOL_TOP)
    top = _lists(pool["key"], pool["person_id"])
    cand_keys = {p: set(k) for p, k in _lists(ckeys["person_id"], ckeys["key"]).items()}
    cand_degree = dict(zip(cand["person_id"], cand["degree"]))
    cand_family = dict(zip(cand["person_id"], cand["family_id"]))
    need = keys(parents[parents["family_id"].isin(families)], False)
    need_keys = _lists(need["family_id"], list(zip(need["kind"], need["site_id"], need["value"])))
    room = _MAX_CONNECTORS + int(parents.groupby("family_id").size().max())   # own family is skipped later
    ranked: dict[tuple, list] = {}
    out: dict[str, list] = {}
    for fid, fkeys in need_keys.items():
        sig = tuple(sorted(set(fkeys)))
        if sig not in ranked:
            sig_set = set(sig)
            people = {p for k in sig for p in top.get(k, ())}
            scored = sorted(((-len(sig_set & cand_keys[p]), -cand_degree[p], p) for p in people))[:room]
            ranked[sig] = [_connector(p, -d, sig_set & cand_keys[p]) for _, d, p in scored]
        picks = [c for c in ranked[sig] if cand_family[c["person_id"]] != fid][:_MAX_CONNECTORS]
        if picks:
            out[fid] = [dict(c) for c in picks]
    return out


def _connector(person_id: str, degree: int, matched: set) -> dict:
    """A connector suggestion: who, how many ties, and why them (shared school, language, neighborhood)."""
    first = {}
    for kind, _site, value in sorted(matched):
        first.setdefault(kind, value)
    why = ([f"same school ({first['school']})"] if "school" in first else []) + \
          ([f"speaks {first['language']}"] if "language" in first else []) + \
          ([f"same neighborhood ({first['neighborhood']})"] if "neighborhood" in first else []) + \
          [f"{degree} tie{'s' if degree != 1 else ''}"]
    return {"person_id": person_id, "ties": int(degree), "why": "; ".join(why)}


def _doc_dataset() -> Dataset:
    """Three families: F1 (a, graduate, tied to b of F2) and F2 active; F3 (c) never reached."""
    from graph.model import TABLES

    def frame(table, rows):
        df = pd.DataFrame(rows, columns=list(TABLES[table].columns), dtype=object)
        return df.where(df.notna(), None)

    tables = {t: frame(t, []) for t in TABLES}
    tables["people"] = frame("people", [
        {"person_id": "a", "role": "parent", "family_id": "F1", "primary_language": "Spanish", "site_id": "S1",
         "neighborhood": "Harbor"},
        {"person_id": "b", "role": "parent", "family_id": "F2", "primary_language": "Spanish", "site_id": "S1",
         "neighborhood": "Midtown"},
        {"person_id": "c", "role": "parent", "family_id": "F3", "primary_language": "Spanish", "site_id": "S1",
         "neighborhood": "Harbor"}])
    tables["ties"] = frame("ties", [{"from_person_id": "a", "to_person_id": "b", "observed_on": "2024-01-01"}])
    tables["enrollments"] = frame("enrollments", [
        {"person_id": "a", "cohort_id": "C1", "status": "graduated", "enrolled_on": "2024-01-01",
         "completed_on": "2024-05-01"},
        {"person_id": "b", "cohort_id": "C1", "status": "graduated", "enrolled_on": "2024-01-01",
         "completed_on": "2024-05-01"}])
    return Dataset(tables=tables)
