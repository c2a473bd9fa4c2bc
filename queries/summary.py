"""The headline metrics of a loaded network: the `civicties metrics --json` contract (docs/metrics.md)."""
from __future__ import annotations

import math
from statistics import median

import networkx as nx  # noqa: F401  (the doctests build small graphs)
import numpy as np
import pandas as pd

from graph.dataset import Dataset
from queries.brokerage import betweenness, top_brokers
from queries.communities import louvain
from queries.arrays import as_arrays
from queries.homophily import cross_tie_counts, ei_index
from queries.network import coattendance_arrays, tie_arrays
from queries.pipeline import time_to_seat

__all__ = ["cross_tie_share", "isolated_parents", "funnel", "days_to_seat", "median_days_to_seat",
           "headline_metrics", "summary_metrics", "DEFAULT_ATTRIBUTES"]

DEFAULT_ATTRIBUTES = ("race_ethnicity", "income_band")


def cross_tie_share(G, attr: str) -> float | None:
    """Share of ties joining people of different `attr` values, among ties whose two ends both have one.

    For a program, the share of its relationships that bridge groups (race, income). None when no tie
    has both ends described. E-I index = 2 * share - 1 (Krackhardt & Stern 1988), so this is
    :func:`queries.homophily.ei_index` on the 0..1 scale (both from :func:`~queries.homophily.cross_tie_counts`).

    >>> G = nx.Graph([(1, 2), (2, 3), (3, 4)])
    >>> nx.set_node_attributes(G, {1: "a", 2: "a", 3: "b"}, "race")
    >>> cross_tie_share(G, "race")  # 1-2 same, 2-3 cross, 3-4 undescribed
    0.5
    """
    cross, total = cross_tie_counts(G, attr)
    return cross / total if total else None


def isolated_parents(G) -> list[str]:
    """Sorted ids of parents with no tie at all: the families a coordinator should reach first.

    People without a role count as parents.

    >>> G = nx.Graph([("a", "b")]); G.add_node("c", role="parent"); G.add_node("t", role="teacher")
    >>> isolated_parents(G)
    ['c']
    """
    net = as_arrays(G)
    role = net.column("role")
    parent = np.fromiter((r is None or r == "parent" for r in role), dtype=bool, count=net.n)
    return sorted(net.ids[parent & (net.degree() == 0)].tolist())


def days_to_seat(ds: Dataset) -> pd.DataFrame:
    """Per graduate: earliest completed_on, earliest appointment starting on or after it, days between.

    Columns person_id, completed_on, appointed_on (None if not yet), days (None if not yet).
    """
    enr = ds.enrollments
    grads = enr[enr["status"] == "graduated"]
    done = (grads.assign(completed=pd.to_datetime(grads["completed_on"], errors="coerce", format="ISO8601"))
            .groupby("person_id")["completed"].min().rename("completed").reset_index())
    app = ds.appointments.assign(start=pd.to_datetime(ds.appointments["start_date"], errors="coerce", format="ISO8601"))
    seats = done.merge(app[["person_id", "start"]], on="person_id", how="inner")
    seats = seats[seats["start"] >= seats["completed"]].groupby("person_id")["start"].min()
    out = done.assign(appointed=done["person_id"].map(seats)).sort_values("person_id")
    days = (out["appointed"] - out["completed"]).dt.days

    def iso(col):
        return [None if pd.isna(d) else d.date().isoformat() for d in col]

    return pd.DataFrame({"person_id": out["person_id"].tolist(), "completed_on": iso(out["completed"]),
                         "appointed_on": iso(out["appointed"]),
                         "days": [None if pd.isna(d) else int(d) for d in days]},
                        columns=["person_id", "completed_on", "appointed_on", "days"])


def funnel(ds: Dataset, seats: pd.DataFrame | None = None) -> dict:
    """Enrolled -> graduated -> appointed (graduates with a seat starting on or after their graduation).
    `seats`: ``days_to_seat(ds)`` if already computed."""
    enr = ds.enrollments
    seats = days_to_seat(ds) if seats is None else seats
    return {"enrolled": int(enr["person_id"].nunique()),
            "graduated": int(enr.loc[enr["status"] == "graduated", "person_id"].nunique()),
            "appointed": int(seats["days"].notna().sum())}


def median_days_to_seat(ds: Dataset) -> float | None:
    """Kaplan-Meier median of the days from graduation to a first seat: the headline "median days to a seat".

    For a program and its funders: the day by which half of the graduates hold a seat, counting the
    graduates not seated yet for as long as they have been watched (censored at the latest date in the
    data) instead of leaving them out. The median over seated graduates only is biased low: recent
    cohorts have had time only for quick appointments, and graduates still waiting are not in it at all.
    None when there are no graduates, or fewer than half of them are seated yet (the curve has not
    reached 0.5).

    Formula: S(t) = prod over seat days t_i <= t of (1 - d_i / n_i); median = the first day with
    S(t) <= 0.5 (Kaplan & Meier 1958), as :func:`queries.pipeline.time_to_seat` computes it.

    Reference: Kaplan, E. L. & Meier, P. (1958). Nonparametric estimation from incomplete observations.
    JASA 53(282), 457-481.

    >>> from queries.pipeline import _doc_dataset
    >>> median_days_to_seat(_doc_dataset())  # a seated after 30 days, b not yet (censored at 80): S(30) = 1/2
    30.0
    """
    curve = time_to_seat(ds, by=None)
    if curve.empty:
        return None
    value = float(curve["median_days"].iloc[0])
    return value if math.isfinite(value) else None


def _top_brokers(G, result=None, n: int = 10) -> tuple[list[dict], str]:
    result = result or betweenness(G, normalized=True)
    top = top_brokers(G, n=n, values=result.values).get("all", [])
    return [{"person_id": r["person_id"], "betweenness": round(float(r["betweenness"]), 6)} for r in top], \
        result.detail or result.method


def _wave_composition(ds: Dataset, wave: str) -> dict:
    """Ties and cross-race/cross-class shares of the tie network reported in one wave."""
    Gw = tie_arrays(ds, waves=[wave])
    return {"ties": Gw.m, "cross_race_tie_share": cross_tie_share(Gw, "race_ethnicity"),
            "cross_class_tie_share": cross_tie_share(Gw, "income_band")}


def _wave_order(w: str):
    return (0, float(w)) if w.replace(".", "", 1).isdigit() else (1, w)


def headline_metrics(ds: Dataset, *, network: str = "ties", graph=None) -> dict:
    """The contract's headline numbers, without the costly network measures (brokers, communities, E-I
    by attribute): network, people, ties, cross-race and cross-class shares, by_wave, isolated, funnel,
    median_days_to_seat (Kaplan-Meier, :func:`median_days_to_seat`) and median_days_to_seat_seated_only
    (the plain median over seated graduates). ``graph`` as in :func:`summary_metrics`. For pages that
    show only these.
    """
    return _headline(ds, network, graph)[0]


def _headline(ds: Dataset, network: str, graph) -> tuple[dict, object]:
    if graph is not None:
        G = as_arrays(graph, weight="weight")
    else:
        G = coattendance_arrays(ds) if network == "co-attendance" else tie_arrays(ds)
    by_wave = {}
    if network != "co-attendance":
        for w in sorted({w for w in ds.ties["wave"] if w is not None}, key=_wave_order):
            by_wave[w] = _wave_composition(ds, w)
    seats = days_to_seat(ds)
    days = [d for d in seats["days"] if d is not None and not (isinstance(d, float) and math.isnan(d))]
    return {
        "network": network,
        "people": G.number_of_nodes(),
        "ties": G.number_of_edges(),
        "cross_race_tie_share": cross_tie_share(G, "race_ethnicity"),
        "cross_class_tie_share": cross_tie_share(G, "income_band"),
        "by_wave": by_wave,
        "isolated": isolated_parents(G),
        "funnel": funnel(ds, seats),
        "median_days_to_seat": median_days_to_seat(ds),
        "median_days_to_seat_seated_only": float(median(days)) if days else None,
    }, G


def summary_metrics(ds: Dataset, *, network: str = "ties", attributes: tuple[str, ...] = (),
                    directed: bool = False, graph=None, between=None, communities: list | None = None) -> dict:
    """The metrics contract (docs/metrics.md) computed on the tie network (or the co-attendance network).

    `graph` (a networkx graph or an ArrayNetwork), `between` (a betweenness MetricResult for it) and
    `communities` (``louvain(graph, seed=0)``) pass in work already done by the caller.
    """
    head, G = _headline(ds, network, graph)
    attrs = list(dict.fromkeys(DEFAULT_ATTRIBUTES + tuple(attributes)))
    ei_graph = tie_arrays(ds, view="directed") if directed and network != "co-attendance" else G
    brokers, method = _top_brokers(G, between)
    unmatched = ds.ties.loc[ds.ties["to_person_id"].isna() & ds.ties["to_name"].notna(), "to_name"]
    return {
        **{k: head[k] for k in ("network", "people", "ties", "cross_race_tie_share", "cross_class_tie_share")},
        "ei_index": {a: ei_index(ei_graph, a) for a in attrs},
        **{k: head[k] for k in ("by_wave", "isolated", "funnel", "median_days_to_seat",
                                "median_days_to_seat_seated_only")},
        "top_brokers": brokers,
        "betweenness_method": method,
        "unmatched_names": sorted(set(unmatched)),
        "communities": [c for c in (communities if communities is not None else louvain(G, seed=0)) if len(c) > 1]
        if G.number_of_edges() else [],
    }
