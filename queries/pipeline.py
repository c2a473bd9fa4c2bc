"""The leadership pipeline: from enrolling in a cohort to a seat where decisions are made.

A parent-leadership program's theory of change runs enrolled -> graduated -> civically active ->
appointed to a board, council or commission. This module counts people at each stage (overall or by
cohort, site, race or income), estimates how long graduates take to reach a first seat (Kaplan-Meier,
so that recent graduates who have not had time yet do not drag the estimate down), lists where alumni
sit, and tells each appointed graduate's path.

Definitions shared by every function (see docs/metrics-program.md):

- *graduate*: a person with an enrollment of status ``graduated``; their graduation date is their
  earliest ``completed_on``.
- *civic activity*: attending an event of kind forum, summit or civic_project, or presenting at any event,
  on or after the person's (earliest) ``enrolled_on`` (the cohort's start_date when enrolled_on is
  missing; any dated event when both are missing). Events without a date are not counted.
- *appointed*: a graduate with an appointment starting on or after their graduation date; their *first
  seat* is the earliest such appointment. This is the `appointed` of ``queries.summary.funnel``.
"""
from __future__ import annotations

import math
from datetime import date, datetime

import numpy as np
import pandas as pd

from graph.dataset import Dataset
from queries.errors import QueryError

__all__ = ["funnel_by", "time_to_seat", "seats_by_body", "sankey_flows", "paths_to_seat", "latest_date",
           "GROUPINGS", "CIVIC_KINDS", "SEAT_LEVELS"]

#: What funnel_by and time_to_seat can group by.
GROUPINGS = ("cohort", "site", "race_ethnicity", "income_band")
#: Event kinds whose attendance counts as civic activity (presenting at any event counts too).
CIVIC_KINDS = ("forum", "summit", "civic_project")
#: Body levels, from closest to the family to furthest.
SEAT_LEVELS = ("school", "district", "city", "county", "state", "national")

_NOT_RECORDED = "(not recorded)"
_ALL = "All"


def funnel_by(ds: Dataset, by: str | None = None) -> pd.DataFrame:
    """People at each stage of the pipeline, overall (``by=None``) or per group.

    For a program: where people drop out of the path to leadership, and whether that differs by
    cohort, site, race or income. Stages (people, each counted once per group):

    - ``enrolled``: people with an enrollment in the group;
    - ``graduated``: of those, people who graduated (for ``by="cohort"``: graduated from that cohort);
    - ``civic``: graduates with civic activity on or after enrolling (module docstring);
    - ``appointed``: graduates with a seat starting on or after graduation (not necessarily civic
      first, so that ``appointed`` equals ``queries.summary.funnel``'s).

    Also ``graduation_rate = graduated / enrolled`` and ``appointment_rate = appointed / graduated``
    (NaN when the denominator is 0). ``by``: None, "cohort", "site" (the cohort's site, else the
    person's), "race_ethnicity" or "income_band" (missing values form the group "(not recorded)").
    A person enrolled in two cohorts or sites is counted in both groups.

    >>> from queries.pipeline import _doc_dataset
    >>> funnel_by(_doc_dataset()).iloc[0].to_dict()  # a and b graduate; a presents at a forum and is seated
    {'group': 'All', 'enrolled': 3, 'graduated': 2, 'civic': 1, 'appointed': 1, 'graduation_rate': 0.666..., 'appointment_rate': 0.5}
    """
    _check_by(by)
    cols = ["group", "enrolled", "graduated", "civic", "appointed", "graduation_rate", "appointment_rate"]
    enr = _enrollments(ds)
    if enr.empty:
        return pd.DataFrame(columns=cols)
    enr["group"] = _group_of(ds, enr, by)
    grads = _graduates(ds)
    civic_people = _civic_people(ds, enr)
    appointed = set(grads.loc[grads["start"].notna(), "person_id"])
    per = (enr.assign(grad=enr["status"] == "graduated")
           .groupby(["group", "person_id"], sort=True)["grad"].any().reset_index())
    per["civic"] = per["grad"] & per["person_id"].isin(civic_people)
    per["appointed"] = per["grad"] & per["person_id"].isin(appointed)
    out = per.groupby("group", sort=True).agg(enrolled=("person_id", "size"), graduated=("grad", "sum"),
                                               civic=("civic", "sum"), appointed=("appointed", "sum"))
    out = out.reset_index()
    for c in ("enrolled", "graduated", "civic", "appointed"):
        out[c] = out[c].astype(int)
    out["graduation_rate"] = out["graduated"] / out["enrolled"].where(out["enrolled"] > 0)
    out["appointment_rate"] = out["appointed"] / out["graduated"].where(out["graduated"] > 0)
    return out[cols]


def time_to_seat(ds: Dataset, *, by: str | None = None, as_of: date | str | None = None) -> pd.DataFrame:
    """Kaplan-Meier curve of the days from graduation to a first seat, overall or per group.

    For a program: the share of graduates still without a seat t days after graduating (``survival``),
    counting graduates who have no seat yet for as long as we have watched them (censored at
    ``as_of``, default the latest date in the data), so recent cohorts do not look like failures.
    ``median_days`` is the day by which half of the graduates have a seat (NaN when the curve never
    falls to 0.5: fewer than half are seated yet). Seats starting after ``as_of`` count as not yet.

    Formula: S(t) = prod over event times t_i <= t of (1 - d_i / n_i), d_i seats taken on day t_i,
    n_i graduates still at risk (Kaplan & Meier 1958); 95% confidence band by the exponential
    Greenwood formula (lifelines' default). Graduates without a completed_on date or graduating after
    ``as_of`` are left out. Columns: group ("All" when ``by`` is None), timeline (days), survival,
    ci_lower, ci_upper, at_risk (graduates not yet seated nor censored at the start of that day),
    median_days, graduates (n), appointed (events).

    >>> from queries.pipeline import _doc_dataset
    >>> time_to_seat(_doc_dataset(), as_of="2021-01-01")[["timeline", "survival", "at_risk"]]
       timeline  survival  at_risk
    0       0.0       1.0        2
    1      30.0       0.5        2
    2     214.0       0.5        1
    """
    _check_by(by)
    as_of_ts = _as_of(ds, as_of)
    cols = ["group", "timeline", "survival", "ci_lower", "ci_upper", "at_risk", "median_days", "graduates",
            "appointed"]
    g = _graduates(ds)
    g = g[g["completed"].notna()]
    if as_of_ts is not None:
        g = g[g["completed"] <= as_of_ts]
    if g.empty:
        return pd.DataFrame(columns=cols)
    event = g["start"].notna() & ((g["start"] <= as_of_ts) if as_of_ts is not None else True)
    end = g["start"].where(event, as_of_ts)
    g = g.assign(event=event, duration=(end - g["completed"]).dt.days.astype(float))
    g["group"] = _group_of(ds, g.rename(columns={"grad_cohort": "cohort_id"}), by)
    curves = km_curves(g["duration"], g["event"], g["group"])
    return curves.rename(columns={"units": "graduates", "events": "appointed"})[cols]


def km_curve(duration: pd.Series, event: pd.Series) -> pd.DataFrame:
    """One Kaplan-Meier curve (lifelines): timeline, survival, its 95% band (ci_lower, ci_upper), at_risk
    at each time and median_days (NaN when the curve never falls to 0.5). ``duration``: days watched;
    ``event``: whether the step happened (else censored)."""
    from lifelines import KaplanMeierFitter
    kmf = KaplanMeierFitter()
    kmf.fit(duration.astype(float), event_observed=event.astype(bool))
    sf = kmf.survival_function_.iloc[:, 0]
    ci = kmf.confidence_interval_
    at_risk = kmf.event_table["at_risk"].reindex(sf.index)
    median = float(kmf.median_survival_time_)
    return pd.DataFrame({
        "timeline": sf.index.astype(float), "survival": sf.to_numpy(dtype=float),
        "ci_lower": ci.iloc[:, 0].to_numpy(dtype=float), "ci_upper": ci.iloc[:, 1].to_numpy(dtype=float),
        "at_risk": at_risk.fillna(0).to_numpy(dtype=int),
        "median_days": median if math.isfinite(median) else float("nan")})


def km_curves(duration: pd.Series, event: pd.Series, group: pd.Series) -> pd.DataFrame:
    """One Kaplan-Meier curve per group, all groups in one pass: the same frame as :func:`km_curve` for
    each group (tested against lifelines to 1e-12), with ``group``, ``units`` and ``events`` added, groups
    in sorted order.

    lifelines fits one curve in about 20 ms; a program's 2,224 cohorts took 45 s of every analysis at
    100,000 parents, so the grouped curves are computed here, by lifelines' own formulas: the timeline is
    every distinct duration of the group from min(0, shortest); S(t) = exp(cumsum(log(n - d) - log(n)));
    the band is the exponential Greenwood one (cumsum of d / (n (n - d)), 0 where n = d); the median is
    the first time with S(t) <= 0.5.
    """
    from statistics import NormalDist
    cols = ["group", "timeline", "survival", "ci_lower", "ci_upper", "at_risk", "median_days", "units", "events"]
    frame = pd.DataFrame({"group": group.to_numpy(), "t": duration.astype(float).to_numpy(),
                          "e": event.astype(bool).to_numpy()})
    if frame.empty:
        return pd.DataFrame(columns=cols)
    per_group = frame.groupby("group", sort=True).agg(units=("e", "size"), events=("e", "sum"), first=("t", "min"))
    per_group["first"] = np.minimum(per_group["first"], 0.0)
    table = frame.groupby(["group", "t"], sort=True).agg(removed=("e", "size"), observed=("e", "sum")).reset_index()
    # every group's timeline starts at min(0, its shortest duration), where everyone enters
    starts = pd.DataFrame({"group": per_group.index, "t": per_group["first"].to_numpy(), "removed": 0, "observed": 0})
    table = (pd.concat([starts, table], ignore_index=True)
             .groupby(["group", "t"], sort=True, as_index=False)[["removed", "observed"]].sum())
    units = table["group"].map(per_group["units"]).to_numpy(dtype=float)
    removed, d = table["removed"].to_numpy(dtype=float), table["observed"].to_numpy(dtype=float)
    gid = table.groupby("group", sort=True).ngroup().to_numpy()
    gone_before = _group_cumsum(removed, gid) - removed
    n = units - gone_before                                          # at risk at the start of each time
    with np.errstate(invalid="ignore", divide="ignore"):
        log_s = _group_cumsum(np.log(n - d) - np.log(n), gid)
        survival = np.exp(log_s)
        step_var = d / (n * (n - d))
        step_var[~np.isfinite(step_var)] = 0.0
        cum_sq = _group_cumsum(step_var, gid)
        z = NormalDist().inv_cdf(0.975)
        v = np.log(survival)
        lower = np.exp(-np.exp(np.log(-v) - z * np.sqrt(cum_sq) / v))
        upper = np.exp(-np.exp(np.log(-v) + z * np.sqrt(cum_sq) / v))
    lower, upper = np.where(np.isnan(lower), 1.0, lower), np.where(np.isnan(upper), 1.0, upper)
    out = pd.DataFrame({"group": table["group"], "timeline": table["t"].astype(float), "survival": survival,
                        "ci_lower": lower, "ci_upper": upper, "at_risk": n.astype(int)})
    reached = out[out["survival"] <= 0.5].groupby("group", sort=True)["timeline"].min()
    out["median_days"] = out["group"].map(reached).astype(float)
    out["units"] = out["group"].map(per_group["units"]).astype(int)
    out["events"] = out["group"].map(per_group["events"]).astype(int)
    return out[cols]


def _group_cumsum(x: np.ndarray, gid: np.ndarray) -> np.ndarray:
    """Running sums of ``x`` restarting at each group (an infinite term stays inside its group)."""
    return pd.Series(x).groupby(gid, sort=False).cumsum().to_numpy()


def seats_by_body(ds: Dataset, *, as_of: date | str | None = None) -> pd.DataFrame:
    """Where alumni sit: per body, the graduates appointed to it on or after graduating.

    For a program and its funders: which tables graduates reached (school councils, district boards,
    city commissions, state councils). ``graduates`` counts distinct graduates with such a seat (any
    time since graduating); ``current`` those whose seat has no end_date or ends on/after ``as_of``
    (default the latest date in the data) and started by then. Bodies nobody reached are left out.
    Columns body_id, name, level, kind, graduates, current; most graduates first.

    >>> from queries.pipeline import _doc_dataset
    >>> seats_by_body(_doc_dataset())
      body_id                name     level   kind  graduates  current
    0     BOE  Board of Education  district  board          1        1
    """
    cols = ["body_id", "name", "level", "kind", "graduates", "current"]
    as_of_ts = _as_of(ds, as_of)
    app = _appointments(ds)
    grads = _graduates(ds)[["person_id", "completed"]]
    a = app.merge(grads, on="person_id", how="inner")
    a = a[a["completed"].notna() & a["start"].notna() & (a["start"] >= a["completed"])]
    if a.empty:
        return pd.DataFrame(columns=cols)
    if as_of_ts is None:
        a["is_current"] = a["end"].isna()
    else:
        a["is_current"] = (a["start"] <= as_of_ts) & (a["end"].isna() | (a["end"] >= as_of_ts))
    a["current_person"] = a["person_id"].where(a["is_current"])
    out = (a.groupby("body_id").agg(graduates=("person_id", "nunique"), current=("current_person", "nunique"))
           .reset_index())
    bodies = ds.bodies[["body_id", "name", "level", "kind"]]
    out = out.merge(bodies, on="body_id", how="left")
    out = out.sort_values(["graduates", "body_id"], ascending=[False, True], kind="stable").reset_index(drop=True)
    out[["graduates", "current"]] = out[["graduates", "current"]].astype(int)
    return out[cols].astype({"name": object, "level": object, "kind": object}).where(out[cols].notna(), None)


def sankey_flows(ds: Dataset) -> list[tuple[str, str, int]]:
    """Flows for a Sankey diagram of the pipeline: (source stage, target stage, people), zero flows left out.

    Enrolled -> Graduated / Withdrawn / Still enrolled (a person's best status: graduated beats
    still enrolled beats withdrawn); Graduated -> Civic activity / No civic activity; each of those ->
    "<Level> seat" (the level of the graduate's first seat: School, District, City, County, State,
    National; "Seat, level not recorded") or "No seat yet". Counts are consistent: what flows into a
    stage flows out of it, and the seats add up to ``funnel_by(ds)``'s ``appointed``.

    >>> from queries.pipeline import _doc_dataset
    >>> for flow in sankey_flows(_doc_dataset()): print(flow)
    ('Enrolled', 'Graduated', 2)
    ('Enrolled', 'Withdrawn', 1)
    ('Graduated', 'Civic activity', 1)
    ('Graduated', 'No civic activity', 1)
    ('Civic activity', 'District seat', 1)
    ('No civic activity', 'No seat yet', 1)
    """
    enr = _enrollments(ds)
    if enr.empty:
        return []
    rank = {"graduated": 0, "enrolled": 1, "withdrawn": 2}
    best = enr.assign(r=enr["status"].map(rank).fillna(1)).groupby("person_id")["r"].min()
    names = {0: "Graduated", 1: "Still enrolled", 2: "Withdrawn"}
    flows: list[tuple[str, str, int]] = []
    status_counts = best.map(names).value_counts()
    for stage in ("Graduated", "Withdrawn", "Still enrolled"):
        if status_counts.get(stage, 0):
            flows.append(("Enrolled", stage, int(status_counts[stage])))
    grads = _graduates(ds)
    civic = _civic_people(ds, enr)
    levels = grads["level"].where(grads["level"].notna(), None)
    seat = np.where(grads["start"].isna(), "No seat yet",
                    [f"{lv.capitalize()} seat" if isinstance(lv, str) else "Seat, level not recorded"
                     for lv in levels])
    g = pd.DataFrame({"civic": np.where(grads["person_id"].isin(civic), "Civic activity", "No civic activity"),
                      "seat": seat})
    for stage in ("Civic activity", "No civic activity"):
        n = int((g["civic"] == stage).sum())
        if n:
            flows.append(("Graduated", stage, n))
    order = [f"{lv.capitalize()} seat" for lv in SEAT_LEVELS] + ["Seat, level not recorded", "No seat yet"]
    counts = g.groupby(["civic", "seat"]).size()
    for stage in ("Civic activity", "No civic activity"):
        for target in order:
            n = int(counts.get((stage, target), 0))
            if n:
                flows.append((stage, target, n))
    return flows


def paths_to_seat(ds: Dataset, G=None) -> list[dict]:
    """Each appointed graduate's path: cohort, events attended and ties formed before the first seat.

    For a program: the stories behind the appointment numbers (which forums, which relationships came
    before a seat), to read next to the metrics. One dict per appointed graduate, ordered by seat start
    then person_id: ``person_id``, ``cohort_id`` (the cohort they graduated from first),
    ``completed_on``, ``seat`` (body_id, name, level, kind, seat, start_date), ``days`` (graduation to
    seat), ``events`` (event_id, name, kind, date, role: events dated before the seat started, in date
    order) and ``ties`` (person_id of the other person, direction "named" or "named by", tie_type, wave,
    observed_on: matched ties with observed_on on or before the seat's start, in date order).

    ``G``: optionally a tie network (e.g. ``tie_network(ds, view="mutual")``); then only ties whose two
    people are joined in ``G`` are listed. Dates are ISO strings.

    >>> from queries.pipeline import _doc_dataset
    >>> p = paths_to_seat(_doc_dataset())[0]
    >>> p["person_id"], p["seat"]["body_id"], [e["event_id"] for e in p["events"]], p["ties"][0]["person_id"]
    ('a', 'BOE', ['E1'], 'b')
    """
    if G is not None and not hasattr(G, "has_edge"):
        raise QueryError("G must be a networkx graph (e.g. tie_network(ds)) or None")
    grads = _graduates(ds)
    seated = grads[grads["start"].notna()].sort_values(["start", "person_id"], kind="stable")
    if seated.empty:
        return []
    when = seated[["person_id", "start"]]
    att = ds.attendance.merge(when, on="person_id").merge(ds.events[["event_id", "name", "kind", "date"]],
                                                          on="event_id", how="left")
    att = att.assign(when=_dates(att["date"]))
    att = att[att["when"].notna() & (att["when"] < att["start"])]
    att = att.sort_values(["person_id", "when", "event_id"], kind="stable")
    events: dict[str, list] = {}
    for pid, eid, name, kind, day, role in zip(att["person_id"], att["event_id"], att["name"], att["kind"],
                                               att["date"], att["role"]):
        events.setdefault(pid, []).append({"event_id": eid, "name": name, "kind": kind, "date": day, "role": role})
    t = ds.ties[ds.ties["to_person_id"].notna() & (ds.ties["to_person_id"] != ds.ties["from_person_id"])]
    cols = ["me", "other", "direction", "tie_type", "wave", "observed_on"]
    both = pd.concat([t.assign(me=t["from_person_id"], other=t["to_person_id"], direction="named")[cols],
                      t.assign(me=t["to_person_id"], other=t["from_person_id"], direction="named by")[cols]],
                     ignore_index=True)
    both = both.merge(when.rename(columns={"person_id": "me"}), on="me")
    both = both.assign(when=_dates(both["observed_on"]))
    both = both[both["when"].notna() & (both["when"] <= both["start"])]
    if G is not None and len(both):
        both = both[[G.has_edge(a, b) or G.has_edge(b, a) for a, b in zip(both["me"], both["other"])]]
    both = both.sort_values(["me", "when", "other", "direction"], kind="stable")
    ties: dict[str, list] = {}
    for me, other, direction, tie_type, wave, observed in zip(both["me"], both["other"], both["direction"],
                                                             both["tie_type"], both["wave"], both["observed_on"]):
        ties.setdefault(me, []).append({"person_id": other, "direction": direction, "tie_type": tie_type,
                                        "wave": wave, "observed_on": observed})
    paths = []
    for r in seated.itertuples(index=False):
        paths.append({
            "person_id": r.person_id, "cohort_id": r.grad_cohort, "completed_on": _iso(r.completed),
            "seat": {"body_id": r.body_id, "name": _none(r.body_name), "level": _none(r.level),
                     "kind": _none(r.kind), "seat": _none(r.seat), "start_date": _iso(r.start)},
            "days": int((r.start - r.completed).days),
            "events": events.get(r.person_id, []),
            "ties": ties.get(r.person_id, []),
        })
    return paths


def latest_date(ds: Dataset) -> date | None:
    """The latest date on which something was recorded: an event, home visit, enrollment, graduation,
    tie observation or seat start (planned cohort dates and seat end dates are not activity).

    The default "as of" date of time-based measures, so a demo or an archived export does not go stale.

    >>> from queries.pipeline import _doc_dataset
    >>> latest_date(_doc_dataset())
    datetime.date(2020, 8, 20)
    """
    candidates = []
    for table, col in (("events", "date"), ("home_visits", "visit_date"), ("enrollments", "enrolled_on"),
                       ("enrollments", "completed_on"), ("ties", "observed_on"), ("appointments", "start_date")):
        df = ds.tables.get(table)
        if df is not None and col in df and len(df):
            m = _dates(df[col]).max()
            if pd.notna(m):
                candidates.append(m)
    return max(candidates).date() if candidates else None


# -- private helpers ---------------------------------------------------------------------


def _dates(s: pd.Series) -> pd.Series:
    """ISO date text -> Timestamps (NaT for missing or unreadable)."""
    return pd.to_datetime(pd.Series(s, dtype=object), errors="coerce", format="ISO8601")


def _none(value):
    """NaN (left by a merge that found nothing) -> None."""
    return None if value is None or (isinstance(value, float) and math.isnan(value)) else value


def _iso(ts) -> str | None:
    return None if ts is None or pd.isna(ts) else ts.date().isoformat()


def _as_of(ds: Dataset, as_of) -> pd.Timestamp | None:
    """A user's as_of (date, datetime, ISO text or None) as a Timestamp; None -> the latest date in the data."""
    if as_of is None:
        d = latest_date(ds)
        return None if d is None else pd.Timestamp(d)
    if isinstance(as_of, (date, datetime)):
        return pd.Timestamp(as_of).normalize()
    if isinstance(as_of, str):
        ts = pd.to_datetime(as_of, errors="coerce", format="ISO8601")
        if pd.notna(ts):
            return ts.normalize()
    raise QueryError(f"as_of must be a date or an ISO date text like '2024-06-30'; got {as_of!r}")


def _check_by(by) -> None:
    if by is not None and by not in GROUPINGS:
        raise QueryError(f"cannot group by {by!r}; use None or one of {', '.join(GROUPINGS)}")


def _enrollments(ds: Dataset) -> pd.DataFrame:
    """Enrollments with parsed dates and the cohort's site and start (used when enrolled_on is missing)."""
    enr = ds.enrollments[["person_id", "cohort_id", "status", "enrolled_on", "completed_on"]]
    coh = ds.cohorts[["cohort_id", "site_id", "start_date"]].rename(columns={"site_id": "cohort_site"})
    enr = enr.merge(coh, on="cohort_id", how="left")
    start = _dates(enr["enrolled_on"])
    start = start.where(start.notna(), _dates(enr["start_date"]))
    return enr.assign(start=start, completed=_dates(enr["completed_on"]))


def _graduates(ds: Dataset) -> pd.DataFrame:
    """One row per graduate: graduation date, cohort, and first seat on/after it (NaT/None if none).

    Columns person_id, completed, grad_cohort, cohort_site, start, end, body_id, seat, body_name, level, kind.
    """
    enr = _enrollments(ds)
    g = enr[enr["status"] == "graduated"].sort_values(["person_id", "completed", "cohort_id"],
                                                      na_position="last", kind="stable")
    g = g.drop_duplicates("person_id")[["person_id", "completed", "cohort_id", "cohort_site"]]
    g = g.rename(columns={"cohort_id": "grad_cohort"})
    app = _appointments(ds)
    a = app.merge(g[["person_id", "completed"]], on="person_id", how="inner")
    a = a[a["completed"].notna() & a["start"].notna() & (a["start"] >= a["completed"])]
    a = a.sort_values(["person_id", "start", "body_id"], kind="stable").drop_duplicates("person_id")
    a = a.merge(ds.bodies[["body_id", "name", "level", "kind"]].rename(columns={"name": "body_name"}),
                on="body_id", how="left")
    out = g.merge(a[["person_id", "start", "end", "body_id", "seat", "body_name", "level", "kind"]],
                  on="person_id", how="left")
    return out.reset_index(drop=True)


def _appointments(ds: Dataset) -> pd.DataFrame:
    app = ds.appointments[["person_id", "body_id", "seat", "start_date", "end_date"]]
    return app.assign(start=_dates(app["start_date"]), end=_dates(app["end_date"]))


def _civic_people(ds: Dataset, enr: pd.DataFrame) -> set:
    """People with civic activity (CIVIC_KINDS attendance or presenting) on/after their earliest enrollment."""
    att = ds.attendance[["person_id", "event_id", "role"]].merge(ds.events[["event_id", "kind", "date"]],
                                                                 on="event_id", how="left")
    att = att[att["kind"].isin(CIVIC_KINDS) | (att["role"] == "presenter")]
    att = att.assign(when=_dates(att["date"]))
    att = att[att["when"].notna()]
    first = enr.groupby("person_id")["start"].min()
    since = att["person_id"].map(first)
    ok = att["person_id"].isin(first.index) & (since.isna() | (att["when"] >= since))
    return set(att.loc[ok, "person_id"])


def people_per_group(ds: Dataset, by: str) -> dict[str, int]:
    """How many people (anyone in the data, not only enrolled) each group of :func:`funnel_by` has, for a
    grouping by a person's attribute ("race_ethnicity", "income_band"): an upper bound on its enrolled.

    >>> from queries.pipeline import _doc_dataset
    >>> people_per_group(_doc_dataset(), "race_ethnicity")
    {'(not recorded)': 3}
    """
    values = ds.people[by].astype(object)
    values = values.where(values.notna() & (values != ""), _NOT_RECORDED)
    return {str(g): int(n) for g, n in values.value_counts().items()}


def _group_of(ds: Dataset, rows: pd.DataFrame, by: str | None) -> pd.Series:
    """The group label of each row (rows have person_id, cohort_id and cohort_site)."""
    if by is None:
        return pd.Series(_ALL, index=rows.index, dtype=object)
    if by == "cohort":
        values = rows["cohort_id"]
    elif by == "site":
        person_site = _column_by_person(ds, "site_id")
        values = rows["cohort_site"].where(rows["cohort_site"].notna(), rows["person_id"].map(person_site))
    else:
        values = rows["person_id"].map(_column_by_person(ds, by))
    values = values.astype(object)
    return values.where(values.notna() & (values != ""), _NOT_RECORDED)


def _column_by_person(ds: Dataset, column: str) -> pd.Series:
    """person_id -> a people column, without copying the whole people table."""
    people = ds.people
    return pd.Series(people[column].to_numpy(), index=people["person_id"].to_numpy())


def _doc_dataset() -> Dataset:
    """A three-person example for the doctests: a graduates, presents at a forum and joins the school board;
    b graduates with no seat yet; c withdraws."""
    from graph.model import TABLES

    def frame(table, rows):
        return pd.DataFrame(rows, columns=list(TABLES[table].columns), dtype=object)

    tables = {t: frame(t, []) for t in TABLES}
    tables["people"] = frame("people", [{"person_id": p, "role": "parent", "family_id": f"F{p}"} for p in "abc"])
    tables["cohorts"] = frame("cohorts", [{"cohort_id": "C1", "site_id": "S1", "start_date": "2020-01-10",
                                           "end_date": "2020-06-01"}])
    tables["enrollments"] = frame("enrollments", [
        {"person_id": "a", "cohort_id": "C1", "status": "graduated", "enrolled_on": "2020-01-01",
         "completed_on": "2020-06-01"},
        {"person_id": "b", "cohort_id": "C1", "status": "graduated", "enrolled_on": "2020-01-01",
         "completed_on": "2020-06-01"},
        {"person_id": "c", "cohort_id": "C1", "status": "withdrawn", "enrolled_on": "2020-01-01"}])
    tables["events"] = frame("events", [{"event_id": "E1", "kind": "forum", "date": "2020-06-15"}])
    tables["attendance"] = frame("attendance", [{"person_id": "a", "event_id": "E1", "role": "presenter"}])
    tables["ties"] = frame("ties", [{"from_person_id": "a", "to_person_id": "b", "observed_on": "2020-05-01"}])
    tables["bodies"] = frame("bodies", [{"body_id": "BOE", "name": "Board of Education", "level": "district",
                                         "kind": "board"}])
    tables["appointments"] = frame("appointments", [{"person_id": "a", "body_id": "BOE", "seat": "member",
                                                     "start_date": "2020-07-01"}])
    tables["home_visits"] = frame("home_visits", [{"visit_id": "V1", "teacher_id": "a", "family_id": "Fb",
                                                   "visit_date": "2020-08-20"}])
    return Dataset(tables={t: df.where(df.notna(), None) for t, df in tables.items()})
