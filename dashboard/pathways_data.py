"""The Pipeline page's other programs: loaders for each ladder of engagement (PTHV, TPE, PLTI's ladder and any a
program defines), shaped for the signed-in principal here, where the data is fetched, as dashboard/data.py does:

- admin and coordinator: counts of their sites, and the people stuck at each stage by name;
- evaluator: the same counts on the people who consented, and the stuck list by pseudonym;
- funder: counts only, never a person. Every count from 1 to CIVICTIES_MIN_COUNT - 1 is hidden, and so is any
  count that could be worked out from the others of its table (queries.disclosure.protect: a stage's people
  are the people stuck there plus those at the next stage; the groups of a site, race, income, language or
  neighborhood grouping add up to the overall counts, which are one release with every grouping); a rate or
  share is shown only where the counts it is made of could be; the Kaplan-Meier curves only overall, from at
  least that many people, each drawn step pooling at least that many moves.

:func:`funder_tables` lists every number a funder receives from these views, for the disclosure tests.
Ladders: the shipped ones (queries/ladder_files/) and any ``*.toml`` in CIVICTIES_DATA_DIR/ladders/.
"""
from __future__ import annotations

import math
from pathlib import Path

import pandas as pd
import plotly.graph_objects as go
import streamlit as st

from civicties import settings
from dashboard import data
from dashboard.accounts import Principal
from queries import disclosure
from queries import ladders as L
from queries.privacy import SUPPRESSED

__all__ = ["PLTI_SEATS", "LADDER_BY", "ladder_folders", "ladders", "program_views", "load_ladder_view",
           "funder_tables", "figure_ladder", "figure_ladder_by", "figure_time_between", "figure_pathways_before",
           "figure_reach", "figure_two_generation"]

#: The Pipeline page's first view: PLTI's pipeline to seats (dashboard.data.load_pipeline).
PLTI_SEATS = "plti_seats"
#: What a ladder's counts can be grouped by on the page, with the words people use for them.
LADDER_BY = {"site": "site", "cohort": "cohort", "school": "school", "race_ethnicity": "race/ethnicity",
             "income_band": "income", "primary_language": "language", "neighborhood": "neighborhood"}
# Groupings where every person is in exactly one group, so the groups add up to the overall counts.
_PARTITIONS = {"site", "race_ethnicity", "income_band", "primary_language", "neighborhood"}


def ladder_folders() -> tuple[Path, ...]:
    """Where programs put their own ladder files (beside the default store): CIVICTIES_DATA_DIR/ladders."""
    return (Path(settings.get("CIVICTIES_DATA_DIR") or "data") / "ladders",)


def ladders() -> dict[str, L.Ladder]:
    """Every ladder: shipped, then the programs' own (a broken file raises queries.ladders.LadderError)."""
    return L.available_ladders(*ladder_folders())


def program_views() -> dict[str, str]:
    """The program selector's choices: PLTI seats first, then every ladder by its name."""
    return {PLTI_SEATS: "PLTI seats", **{lid: lad.name for lid, lad in ladders().items()}}


def load_ladder_view(principal: Principal, ladder_id: str, by: str = "site") -> dict:
    """Everything the page shows for one ladder, shaped for the principal.

    Keys: ladder (id, name, program, description, stages as [(id, label)]), overall (stage_counts of
    everyone), by (stage_counts per group of ``by``), km (time_between, every transition, overall), stuck
    (per person; None for funders), and where the ladder has pathways: flows, sequences, before, reach;
    for the PLTI ladder: two_generation.
    """
    if by not in LADDER_BY:
        raise ValueError(f"unknown grouping {by!r}; use one of {', '.join(LADDER_BY)}")
    if ladder_id not in ladders():
        raise ValueError(f"unknown ladder {ladder_id!r}; use one of {', '.join(ladders())}")
    audience, sites = data.scope(principal)
    return _ladder_view(audience, sites, ladder_id, by, *data.data_key())


def funder_tables(principal: Principal) -> list[tuple[str, pd.DataFrame]]:
    """Every number the principal receives from the pathways views, as (table name, DataFrame) pairs.

    For a funder the cells are as published: ints, "<k" for a small count, "suppressed" for a count hidden to
    protect another, None for a rate or share not shown; for an evaluator the same tables unsuppressed (the
    truth on the same consenting people, to know which hidden cells are small). One entry per ladder and
    table: "<ladder> overall" and "<ladder> by <grouping>" (group, stage, reached, stuck, conversion; a
    stage's reached = its stuck + the next stage's reached; for site, race_ethnicity, income_band,
    primary_language and neighborhood the groups add up to the overall rows), "<ladder> time between stages"
    (from_stage, to_stage, timeline, survival, median_days; steps pooled to k moves), and for a ladder with
    pathways "<ladder> sequence flows" (source, target, people: only the flows drawn), "<ladder> sequences"
    (parents add up to the overall first stage's reached), "<ladder> pathways before outcomes" and
    "<ladder> reach of under-involved groups"; for the PLTI ladder "plti two generations".
    """
    out: list[tuple[str, pd.DataFrame]] = []
    for lid, lad in ladders().items():
        for by in LADDER_BY:
            view = load_ladder_view(principal, lid, by)
            if by == "site":
                out.append((f"{lid} overall", view["overall"]))
                out.append((f"{lid} time between stages", view["km"]))
                if "flows" in view:
                    out.append((f"{lid} sequence flows", pd.DataFrame(view["flows"],
                                                                      columns=["source", "target", "people"])))
                    out.append((f"{lid} sequences", view["sequences"]))
                    out.append((f"{lid} pathways before outcomes", view["before"]))
                    out.append((f"{lid} reach of under-involved groups", view["reach"]))
                if "two_generation" in view:
                    out.append((f"{lid} two generations", view["two_generation"]))
            out.append((f"{lid} by {by}", view["by"]))
    return out


# -- the cached computation ------------------------------------------------------------------------------

def _ladder_view(audience: str, sites, ladder_id: str, by: str, uri: str, version: str) -> dict:
    out = dict(_ladder_common(audience, sites, ladder_id, uri, version))
    out["by"] = _ladder_by(audience, sites, ladder_id, by, uri, version)
    return out


@st.cache_data(show_spinner="Following people up the ladder…", max_entries=24)
def _ladder_common(audience: str, sites, ladder_id: str, uri: str, version: str) -> dict:
    """What does not depend on the grouping: overall counts, curves, stuck people, pathways, two generations."""
    lad = ladders()[ladder_id]
    ds = data.analysis_dataset(audience, sites, uri, version)
    k = data.min_count()
    overall = L.stage_counts(ds, lad)
    km = L.time_between(ds, lad)
    out = {"ladder": {"id": lad.id, "name": lad.name, "program": lad.program, "description": lad.description,
                      "stages": [(s.id, s.label) for s in lad.stages]},
           "overall": overall, "km": km, "stuck": None}
    if audience == "funder":
        out["overall"], _hidden = _funder_counts(overall, None, k)
        out["km"] = _funder_km(km, k)
    else:
        people_ds = data.audience_dataset(audience, sites, uri, version)
        stuck = L.stuck(people_ds, lad)
        if audience == "coordinator":
            names = people_ds.people.set_index("person_id")["name"]
            stuck.insert(1, "name", stuck["person_id"].map(names))
        out["stuck"] = stuck
    if lad.pathways:
        flows = L.sequence_flows(ds, lad)
        sequences = L.sequence_table(ds, lad)
        before = L.pathways_before(ds, lad)
        reach = L.pathway_reach(ds, lad)
        if audience == "funder":
            flows, out["hidden_flows"] = disclosure.protect_flows(flows, k)
            first = out["overall"]["reached"].iloc[0] if len(out["overall"]) else None
            sequences = _funder_sequences(sequences, first, [o.id for o in lad.outcomes], k)
            before = _funder_before(before, k)
            reach = _funder_reach(reach, k)
        out.update(flows=flows, sequences=sequences, before=before, reach=reach,
                   outcomes=[(o.id, o.label) for o in lad.outcomes])
    if lad.id == "plti":
        two = L.two_generation(ds, programs=(lad.program.lower(),) if lad.program else ())
        out["two_generation"] = _funder_two_generation(two, k) if audience == "funder" else two
    return out


@st.cache_data(show_spinner="Counting each stage by group…", max_entries=48)
def _ladder_by(audience: str, sites, ladder_id: str, by: str, uri: str, version: str) -> pd.DataFrame:
    lad = ladders()[ladder_id]
    ds = data.analysis_dataset(audience, sites, uri, version)
    grouped = L.stage_counts(ds, lad, by=by)
    if audience != "funder":
        return grouped
    k = data.min_count()
    overall = L.stage_counts(ds, lad)
    _shaped, hidden_totals = _funder_counts(overall, None, k)
    return _funder_counts(grouped, overall if by in _PARTITIONS else None, k, hidden_totals)[0]


# -- shaping for funders ---------------------------------------------------------------------------------

def _funder_counts(counts: pd.DataFrame, totals: pd.DataFrame | None, k: int,
                   hidden_totals: set | None = None) -> tuple[pd.DataFrame, set]:
    """Stage counts as a funder may see them, and the total cells hidden (for the groupings' release).

    Cells: each group's reached and stuck per stage, tied by reached[s] = stuck[s] + reached[s + 1] (the top
    stage: reached = stuck); with ``totals`` (the overall counts, published on the same page) also each stage's
    groups adding up to its total. Totals the overall release hid stay hidden; if protecting the groups would
    need a total the overall release shows, or the audit still narrows a small cell, every group cell is
    hidden instead (the table then says only what the overall counts say)."""
    out = counts.copy().astype({"reached": object, "stuck": object, "conversion": object})
    if counts.empty:
        return out, set()
    values: dict = {}
    equations: list[dict] = []
    n_stages = int(counts["order"].max()) + 1

    def add(prefix, frame):
        for (group, order), row in frame.set_index(["group", "order"]).iterrows():
            values[(prefix, group, order, "reached")] = int(row["reached"])
            values[(prefix, group, order, "stuck")] = int(row["stuck"])
        for group in frame["group"].unique():
            for s in range(n_stages):
                eq = {(prefix, group, s, "reached"): 1.0, (prefix, group, s, "stuck"): -1.0}
                if s + 1 < n_stages:
                    eq[(prefix, group, s + 1, "reached")] = -1.0
                equations.append(eq)

    add("g", counts)
    fixed: set = set()
    if totals is not None and len(totals):
        add("t", totals)
        fixed = {c for c in values if c[0] == "t"}
        for s in range(n_stages):
            for kind in ("reached", "stuck"):
                eq = {c: 1.0 for c in values if c[0] == "g" and c[2] == s and c[3] == kind}
                eq[("t", _ALL, s, kind)] = -1.0
                equations.append(eq)
    forced = {c for c in fixed if (c[1:] in (hidden_totals or set()))}
    hidden = _protect(values, equations, k, fixed=fixed, hidden=forced)
    if hidden is None:
        hidden = {c for c, v in values.items() if c[0] == "g" and v > 0} | forced
    shown = {c: disclosure.shown_value(v, c in hidden, k) for c, v in values.items()}
    out["reached"] = [shown[("g", g, o, "reached")] for g, o in zip(counts["group"], counts["order"])]
    out["stuck"] = [shown[("g", g, o, "stuck")] for g, o in zip(counts["group"], counts["order"])]
    conversion = []
    for g, o, rate in zip(counts["group"], counts["order"], counts["conversion"]):
        ok = o > 0 and not ({("g", g, o, "reached"), ("g", g, o - 1, "reached")} & hidden)
        conversion.append(rate if ok and rate == rate else None)
    out["conversion"] = conversion
    return out, {c[1:] for c in hidden if c[0] == "g"}


_ALL = "All"


def _protect(values: dict, equations: list, k: int, *, fixed: set, hidden: set) -> set | None:
    """queries.disclosure.protect, except that the ``fixed`` cells (totals published by another table) keep
    the state they have there: hidden when in ``hidden``, shown otherwise, never chosen to hide. None when
    some small count cannot be protected without hiding a fixed cell.

    Hiding a cell only widens every other hidden cell's interval, so a small count once found safe stays
    safe: each round audits only the counts not yet found safe (far fewer linear programs than auditing all)."""
    hidden = set(hidden) | {c for c, v in values.items() if 1 <= v < k and c not in fixed}
    todo = sorted((c for c in hidden if 1 <= values[c] < k), key=str)
    while todo:
        shown = {c: (None if c in hidden else v) for c, v in values.items()}
        bounds = disclosure.audit(shown, equations, todo)
        todo = [c for c in todo if bounds[c][1] - bounds[c][0] < k]
        if not todo:
            return hidden
        options = [c for c in disclosure._candidates(todo[0], values, hidden, equations) if c not in fixed]
        if not options:
            return None
        hidden.add(options[0])
    return hidden


def _funder_km(km: pd.DataFrame, k: int) -> pd.DataFrame:
    """Overall curves from at least k people, each drawn step pooling at least k moves; no at-risk counts."""
    cols = ["from_stage", "to_stage", "group", "timeline", "survival", "ci_lower", "ci_upper", "median_days"]
    parts = []
    for _key, part in km.groupby(["from_stage", "to_stage"], sort=False):
        if int(part["started"].iloc[0]) < k:
            continue
        parts.append(disclosure.thin_curve(part.reset_index(drop=True), k))
    if not parts:
        return pd.DataFrame(columns=cols)
    return pd.concat(parts, ignore_index=True)[cols]


def _primary(v, k: int):
    return disclosure.shown_value(int(v), 1 <= int(v) < k, k)


def _shown(v) -> bool:
    return not isinstance(v, str)


def _funder_sequences(seq: pd.DataFrame, first_total, outcomes: list[str], k: int) -> pd.DataFrame:
    """Parents per sequence, protected with their total (everyone on a pathway: the ladder's first stage);
    the outcome columns with small counts hidden, shown only beside a shown count of parents."""
    out = seq.copy().astype(object)
    if seq.empty:
        return out
    values = {i: int(v) for i, v in enumerate(seq["parents"])}
    equations = []
    if isinstance(first_total, (int,)) and not isinstance(first_total, bool) \
            and int(seq["parents"].sum()) == int(first_total):
        values["total"] = int(first_total)
        equations.append({**{i: 1.0 for i in range(len(seq))}, "total": -1.0})
    hidden = disclosure.protect(values, equations, k)
    if "total" in hidden:
        hidden = set(range(len(seq))) | {"total"}
    out["parents"] = [disclosure.shown_value(values[i], i in hidden, k) for i in range(len(seq))]
    for o in outcomes:
        out[o] = [_primary(v, k) if _shown(p) else (SUPPRESSED if v else 0) for v, p in zip(seq[o], out["parents"])]
    return out


def _funder_before(before: pd.DataFrame, k: int) -> pd.DataFrame:
    out = before.copy().astype(object)
    for c in ("parents", "went_on", "reached_outcome"):
        out[c] = [_primary(v, k) for v in before[c]]
    out["share_went_on"] = [s if disclosure.ratio_publishable(w, n - w, k) else None
                            for s, w, n in zip(before["share_went_on"], before["went_on"], before["parents"])]
    out["share_of_outcome"] = [s if disclosure.ratio_publishable(w, t - w, k) else None
                               for s, w, t in zip(before["share_of_outcome"], before["went_on"],
                                                  before["reached_outcome"])]
    return out


def _funder_reach(reach: pd.DataFrame, k: int) -> pd.DataFrame:
    out = reach.copy().astype(object)
    for c in ("parents", "under_involved", "school_parents", "school_under_involved"):
        out[c] = [_primary(v, k) for v in reach[c]]
    share_ok = [disclosure.ratio_publishable(u, n - u, k) for u, n in zip(reach["under_involved"], reach["parents"])]
    school_ok = [disclosure.ratio_publishable(u, n - u, k)
                 for u, n in zip(reach["school_under_involved"], reach["school_parents"])]
    out["share"] = [s if ok else None for s, ok in zip(reach["share"], share_ok)]
    out["school_share"] = [s if ok else None for s, ok in zip(reach["school_share"], school_ok)]
    out["ratio"] = [r if a and b else None for r, a, b in zip(reach["ratio"], share_ok, school_ok)]
    return out


def _funder_two_generation(two: pd.DataFrame, k: int) -> pd.DataFrame:
    out = two.copy().astype(object)
    for c in ("families", "parents", "graduated", "civic", "seated"):
        out[c] = [_primary(v, k) for v in two[c]]
    for rate, c in (("graduation_rate", "graduated"), ("civic_rate", "civic"), ("seat_rate", "seated")):
        out[rate] = [r if disclosure.ratio_publishable(x, n - x, k) else None
                     for r, x, n in zip(two[rate], two[c], two["parents"])]
    out["events_per_parent"] = [m if n >= k else None for m, n in zip(two["events_per_parent"], two["parents"])]
    return out


# -- figures (pure: plain data in, a plotly Figure out) ----------------------------------------------------

def _num(v) -> float:
    if v is None or isinstance(v, str):
        return 0.0
    v = float(v)
    return 0.0 if math.isnan(v) else v


def _text(v) -> str:
    if v is None:
        return ""
    return v if isinstance(v, str) else f"{int(v):,}"


def _layout(fig: go.Figure, title: str, **kw) -> go.Figure:
    fig.update_layout(title=title, margin=dict(l=10, r=10, t=50, b=10), legend_title_text="", **kw)
    return fig


def figure_ladder(overall: pd.DataFrame, *, title: str = "People at each stage") -> go.Figure:
    """Horizontal bars, top rung at the top: people who reached each stage (hatched where a count is hidden)."""
    df = overall.iloc[::-1]
    hidden = [isinstance(v, str) for v in df["reached"]]
    ceiling = next((int(v[1:]) for v in df["reached"] if isinstance(v, str) and v[1:].isdigit()), 10)
    fig = go.Figure(go.Bar(
        y=list(df["label"]), x=[ceiling if h else _num(v) for v, h in zip(df["reached"], hidden)],
        text=[_text(v) for v in df["reached"]], orientation="h", textposition="auto",
        marker=dict(color="#1f77b4", pattern_shape=["/" if h else "" for h in hidden],
                    opacity=[0.45 if h else 1.0 for h in hidden])))
    return _layout(fig, title, xaxis_title="people who reached the stage", height=max(260, 56 * len(df) + 110))


def figure_ladder_by(grouped: pd.DataFrame, *, by_label: str) -> go.Figure:
    """Grouped bars: per group, people at each stage (stages in ladder order)."""
    fig = go.Figure()
    for (_order, label), part in grouped.groupby(["order", "label"], sort=True):
        hidden = [isinstance(v, str) for v in part["reached"]]
        fig.add_trace(go.Bar(name=str(label), x=[str(g) for g in part["group"]],
                             y=[10 if h else _num(v) for v, h in zip(part["reached"], hidden)],
                             text=[_text(v) for v in part["reached"]],
                             marker=dict(pattern_shape=["/" if h else "" for h in hidden],
                                         opacity=[0.45 if h else 1.0 for h in hidden])))
    return _layout(fig, f"Each stage by {by_label}", barmode="group", yaxis_title="people",
                   legend=dict(orientation="h", yanchor="bottom", y=1.0, x=0))


def figure_time_between(km: pd.DataFrame, stages: list[tuple[str, str]]) -> go.Figure:
    """Kaplan-Meier curves: the share who moved up a rung, by days since reaching the one below."""
    labels = dict(stages)
    fig = go.Figure()
    for (a, b), part in km.groupby(["from_stage", "to_stage"], sort=False):
        fig.add_trace(go.Scatter(x=part["timeline"], y=1 - part["survival"].astype(float), mode="lines",
                                 line_shape="hv", name=f"{labels.get(a, a)} → {labels.get(b, b)}"))
    return _layout(fig, "Time from one stage to the next (Kaplan-Meier)", xaxis_title="days since reaching the stage",
                   yaxis_title="share who moved up", yaxis_tickformat=".0%", yaxis_rangemode="tozero",
                   legend=dict(orientation="h", yanchor="top", y=-0.2, x=0))


def figure_pathways_before(before: pd.DataFrame) -> go.Figure:
    """Per outcome, the share of the parents who reached it that took each pathway first."""
    fig = go.Figure()
    for outcome, part in before.groupby("outcome_label", sort=False):
        fig.add_trace(go.Bar(name=str(outcome), y=list(part["label"]), orientation="h",
                             x=[_num(v) for v in part["share_of_outcome"]],
                             text=["not shown" if v is None or v != v else f"{v:.0%}" for v in part["share_of_outcome"]]))
    return _layout(fig, "Which pathways came first, for the parents who led or took a seat", barmode="group",
                   xaxis_tickformat=".0%", xaxis_title="share of those who reached the outcome",
                   height=max(300, 70 * before["pathway"].nunique() + 140))


def figure_reach(reach: pd.DataFrame) -> go.Figure:
    """Per pathway, the share of its parents from under-involved groups, beside their share of the school."""
    df = reach[reach["group"] == reach["group"].iloc[0]] if len(reach) else reach
    fig = go.Figure([
        go.Bar(name="parents on the pathway", y=list(df["label"]), x=[_num(v) for v in df["share"]], orientation="h",
               text=["not shown" if v is None or v != v else f"{v:.0%}" for v in df["share"]]),
        go.Bar(name="all the school's parents", y=list(df["label"]), x=[_num(v) for v in df["school_share"]],
               orientation="h", marker_color="#b0b7c3",
               text=["not shown" if v is None or v != v else f"{v:.0%}" for v in df["school_share"]])])
    return _layout(fig, "Share from the groups the school involves least", barmode="group", xaxis_tickformat=".0%",
                   height=max(300, 70 * len(df) + 140))


def figure_two_generation(two: pd.DataFrame) -> go.Figure:
    """Rates of graduating, civic activity and a seat for two-generation and parent-only families."""
    names = {"both": "parent and child take part", "parent_only": "only the parent takes part"}
    fig = go.Figure()
    for _, row in two.iterrows():
        rates = [row["graduation_rate"], row["civic_rate"], row["seat_rate"]]
        fig.add_trace(go.Bar(name=names.get(row["group"], row["group"]), x=["graduated", "civic activity", "took a seat"],
                             y=[_num(v) for v in rates],
                             text=["not shown" if v is None or v != v else f"{v:.0%}" for v in rates]))
    return _layout(fig, "Families where both generations take part", barmode="group", yaxis_tickformat=".0%",
                   yaxis_title="share of the parents")
