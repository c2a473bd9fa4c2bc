"""Home visits (the Parent-Teacher Home Visit model): reach, repeat visits, visits across difference,
and whether visited families go on to enroll in a leadership cohort.

A visit row joins a teacher (``teacher_id``, a person) to a family (``family_id``). The family's race and
language are those of its parents (people with role parent, or no role, in that family).
"""
from __future__ import annotations

import pandas as pd

from graph.dataset import Dataset
from queries.pipeline import _dates

__all__ = ["home_visit_summary", "visited_then_enrolled"]


def home_visit_summary(ds: Dataset) -> dict:
    """Reach of home visiting and how often a visit crosses race or language.

    For a program: how many families teachers reached, how many they went back to (the model asks for
    a second visit), and how often the visit bridged a difference between teacher and family, which is
    where home visits are meant to change assumptions on both sides.

    Returns a dict: ``visits`` (rows), ``families_reached`` (distinct families), ``teachers`` (distinct),
    ``repeat_families`` (families visited at least twice), ``repeat_share`` (repeat / reached, None when
    no family), and for race and language each: ``cross_race_visits``, ``race_known_visits``,
    ``cross_race_share`` (``cross_language_...`` likewise).

    A visit *crosses race* when the teacher's race_ethnicity is not the race_ethnicity of any parent in
    the family (a family whose two parents differ crosses only if the teacher matches neither). Visits
    where the teacher's or every parent's value is missing are left out of the share (the ``*_known_visits``
    count is its denominator); the share is None when no visit has both. Shares are per visit, so a
    family visited twice by the same teacher counts twice.

    >>> from queries.home_visits import _doc_dataset
    >>> s = home_visit_summary(_doc_dataset())
    >>> s["families_reached"], s["repeat_families"], s["cross_race_share"], s["cross_language_share"]
    (2, 1, 0.6666666666666666, 0.0)
    """
    hv = ds.home_visits
    out = {"visits": int(len(hv)), "families_reached": int(hv["family_id"].nunique()),
           "teachers": int(hv["teacher_id"].nunique())}
    per_family = hv.groupby("family_id").size()
    out["repeat_families"] = int((per_family >= 2).sum())
    out["repeat_share"] = out["repeat_families"] / out["families_reached"] if out["families_reached"] else None
    parents = _parents(ds)
    people = ds.people
    for attr, name in (("race_ethnicity", "race"), ("primary_language", "language")):
        fam_values = parents[["family_id", attr]].dropna().drop_duplicates()
        v = hv[["visit_id", "teacher_id", "family_id"]].assign(
            teacher_value=hv["teacher_id"].map(pd.Series(people[attr].to_numpy(),
                                                         index=people["person_id"].to_numpy())).astype(object))
        v = v[v["teacher_value"].notna() & v["family_id"].isin(fam_values["family_id"])]
        same = v.merge(fam_values, left_on=["family_id", "teacher_value"], right_on=["family_id", attr])
        known = int(len(v))
        cross = known - int(same["visit_id"].nunique())
        out[f"cross_{name}_visits"] = cross
        out[f"{name}_known_visits"] = known
        out[f"cross_{name}_share"] = cross / known if known else None
    return out


def visited_then_enrolled(ds: Dataset) -> dict:
    """Visited families in which a parent enrolled in a cohort on or after the family's first visit.

    For a program that runs both home visits and a leadership institute: whether the visit is a door
    into leadership. Returns ``visited`` (families with a dated visit), ``enrolled_after`` (of those,
    families where a parent's enrollment date, or the cohort's start_date when enrolled_on is missing,
    falls on or after the first visit: signing up during the visit counts), ``share`` (None when no
    family was visited) and ``families``: a list of dicts ``{family_id, first_visit, enrolled_on,
    person_ids, cohort_ids}`` (first such enrollment; ISO dates), ordered by family_id.
    Enrollments before the first visit do not count: the visit cannot have led to them.

    >>> from queries.home_visits import _doc_dataset
    >>> r = visited_then_enrolled(_doc_dataset())
    >>> r["visited"], r["enrolled_after"], r["share"], r["families"][0]["family_id"]
    (2, 1, 0.5, 'F1')
    """
    hv = ds.home_visits.assign(when=_dates(ds.home_visits["visit_date"]))
    first = hv[hv["when"].notna()].groupby("family_id")["when"].min()
    enr = ds.enrollments.merge(ds.cohorts[["cohort_id", "start_date"]], on="cohort_id", how="left")
    start = _dates(enr["enrolled_on"])
    enr = enr.assign(when=start.where(start.notna(), _dates(enr["start_date"])))
    enr = enr.merge(_parents(ds)[["person_id", "family_id"]], on="person_id")
    enr = enr[enr["family_id"].isin(first.index) & enr["when"].notna()]
    enr = enr[enr["when"] >= enr["family_id"].map(first)]
    enr = enr.sort_values(["family_id", "when", "person_id", "cohort_id"], kind="stable")
    families = []
    for fid, part in enr.groupby("family_id", sort=True):
        families.append({"family_id": fid, "first_visit": first[fid].date().isoformat(),
                         "enrolled_on": part["when"].iloc[0].date().isoformat(),
                         "person_ids": sorted(set(part["person_id"])),
                         "cohort_ids": sorted(set(part["cohort_id"]))})
    visited = int(len(first))
    return {"visited": visited, "enrolled_after": len(families),
            "share": len(families) / visited if visited else None, "families": families}


# -- private helpers ---------------------------------------------------------------------


def _parents(ds: Dataset) -> pd.DataFrame:
    p = ds.people
    return p[(p["role"].isna() | (p["role"] == "parent")) & p["family_id"].notna()]


def _doc_dataset() -> Dataset:
    """F1 (parents a White, b Black) is visited by t (White: same race) and u (Latino: crosses);
    F2 (c, Black) by t (crosses). Everyone speaks English. a enrolls after F1's first visit, c before F2's."""
    from graph.model import TABLES

    def frame(table, rows):
        df = pd.DataFrame(rows, columns=list(TABLES[table].columns), dtype=object)
        return df.where(df.notna(), None)

    tables = {t: frame(t, []) for t in TABLES}
    tables["people"] = frame("people", [
        {"person_id": "t", "role": "teacher", "race_ethnicity": "White", "primary_language": "English"},
        {"person_id": "u", "role": "teacher", "race_ethnicity": "Latino", "primary_language": "English"},
        {"person_id": "a", "role": "parent", "family_id": "F1", "race_ethnicity": "White",
         "primary_language": "English"},
        {"person_id": "b", "role": "parent", "family_id": "F1", "race_ethnicity": "Black",
         "primary_language": "English"},
        {"person_id": "c", "role": "parent", "family_id": "F2", "race_ethnicity": "Black",
         "primary_language": "English"}])
    tables["home_visits"] = frame("home_visits", [
        {"visit_id": "V1", "teacher_id": "t", "family_id": "F1", "visit_date": "2022-09-01"},
        {"visit_id": "V2", "teacher_id": "u", "family_id": "F1", "visit_date": "2023-01-10"},
        {"visit_id": "V3", "teacher_id": "t", "family_id": "F2", "visit_date": "2022-10-01"}])
    tables["enrollments"] = frame("enrollments", [
        {"person_id": "a", "cohort_id": "C1", "status": "enrolled", "enrolled_on": "2022-12-01"},
        {"person_id": "c", "cohort_id": "C1", "status": "enrolled", "enrolled_on": "2022-01-01"}])
    return Dataset(tables=tables)
