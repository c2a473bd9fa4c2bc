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

Enrollment and graduation count as activity, next to attendance and home visits: a parent in a cohort
running now is in touch with the program even if no event is recorded yet.
"""
from __future__ import annotations

from datetime import date

import numpy as np
import pandas as pd

from graph.dataset import Dataset
from queries.arrays import ArrayNetwork
from queries.errors import QueryError
from queries.network import matched_ties
from queries.pipeline import _as_of, _dates

__all__ = ["outreach_families", "WEIGHTS", "COLUMNS"]

WEIGHTS = {"no_ties": 3.0, "family_only": 2.0, "inactive": 2.0, "withdrew": 1.5, "language": 1.0}
COLUMNS = ["family_id", "site_id", "parents", "score", "reasons", "reason_codes", "last_activity",
           "last_contacted", "connectors"]
#: How many of the best-connected people of each pool (school, language, neighborhood) are considered.
_POOL_TOP = 10
_MAX_CONNECTORS = 3


def outreach_families(ds: Dataset, *, as_of: date | str | None = None, inactive_days: int = 180,
                      G=None) -> pd.DataFrame:
    """Families to reach out to, most urgent first, with reasons and suggested connectors.

    For a coordinator: the families the program is losing or never reached, and for each up to three
    people who could introduce them (module docstring for the reasons and weights). One row per family
    with at least one reason (families with none are left out):

    - ``family_id``, ``site_id`` (the parents' site), ``parents`` (list of parent person_ids);
    - ``score`` = sum of ``WEIGHTS`` of its reasons; ``reasons`` (short sentences) and ``reason_codes``;
    - ``last_activity``: the latest event, home visit, enrollment or graduation up to ``as_of``
      (a ``datetime.date``; None when there is none);
    - ``last_contacted``: the latest outreach contact recorded for the family (``ds.contacts``), or None;
    - ``connectors``: up to 3 dicts ``{person_id, ties, why}``: parents outside the family who graduated
      or attended an event, have at least one tie, and share the family's school (from home visits),
      a parent's primary language or the neighborhood at the same site; those sharing more come
      first, then most ties. Only the 10 best-connected people of each school / language /
      neighborhood pool are considered, which keeps this fast for 100,000 parents.

    Ordered by score (highest first), then the longest without activity, then family_id.
    ``as_of`` defaults to the latest date in the data; ``G`` is the tie network to use (default: the
    union tie network of ``ds``, built here from the ties table).

    >>> from queries.outreach import _doc_dataset
    >>> out = outreach_families(_doc_dataset(), as_of="2024-06-30")
    >>> out[["family_id", "score", "reason_codes"]].to_dict("records")
    [{'family_id': 'F3', 'score': 5.0, 'reason_codes': ['no_ties', 'inactive']}]
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
    fam["last_activity"] = [None if pd.isna(t) else t.date() for t in fam["last"]]
    fam["last_contacted"] = _last_contacted(ds).reindex(fam.index).astype(object)
    fam["last_contacted"] = [None if pd.isna(t) else t.date() for t in fam["last_contacted"]]
    conn = _connectors(ds, parents, fam.index, degree)
    fam["connectors"] = [conn.get(f, []) for f in fam.index]
    fam = fam.reset_index()
    fam = fam.sort_values(["score", "last", "family_id"], ascending=[False, True, True], na_position="first",
                          kind="stable").reset_index(drop=True)
    return fam[COLUMNS]


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
