"""The headline metrics of a loaded network: the `civicties metrics --json` contract (docs/metrics.md)."""
from __future__ import annotations

import math
from statistics import median

import networkx as nx
import numpy as np
import pandas as pd

from graph.dataset import Dataset
from queries.brokerage import betweenness
from queries.communities import louvain
from queries.network import coattendance_network, matched_ties, tie_network

__all__ = ["cross_tie_share", "isolated_parents", "funnel", "days_to_seat", "summary_metrics",
           "DEFAULT_ATTRIBUTES"]

DEFAULT_ATTRIBUTES = ("race_ethnicity", "income_band")


def _edge_pairs(G: nx.Graph, attr: str):
    values = {n: v for n, v in G.nodes(data=attr) if v is not None}
    return [(values[u], values[v]) for u, v in G.edges() if u in values and v in values]


def cross_tie_share(G: nx.Graph, attr: str) -> float | None:
    """Share of ties joining people of different `attr` values, among ties whose two ends both have one.

    For a program, the share of its relationships that bridge groups (race, income). None when no tie
    has both ends described. E-I index = 2 * share - 1 (Krackhardt & Stern 1988).

    >>> G = nx.Graph([(1, 2), (2, 3), (3, 4)])
    >>> nx.set_node_attributes(G, {1: "a", 2: "a", 3: "b"}, "race")
    >>> cross_tie_share(G, "race")  # 1-2 same, 2-3 cross, 3-4 undescribed
    0.5
    """
    pairs = _edge_pairs(G, attr)
    if not pairs:
        return None
    return sum(a != b for a, b in pairs) / len(pairs)


def _ei(share: float | None) -> float | None:
    return None if share is None else 2 * share - 1


def isolated_parents(G: nx.Graph) -> list[str]:
    """Sorted ids of parents with no tie at all: the families a coordinator should reach first."""
    return sorted(n for n, d in G.nodes(data=True) if d.get("role", "parent") == "parent" and G.degree(n) == 0)


def days_to_seat(ds: Dataset) -> pd.DataFrame:
    """Per graduate: earliest completed_on, earliest appointment starting on or after it, days between.

    Columns person_id, completed_on, appointed_on (None if not yet), days (None if not yet).
    """
    enr = ds.enrollments
    grads = enr[enr["status"] == "graduated"]
    done = (grads.assign(completed=pd.to_datetime(grads["completed_on"], errors="coerce"))
            .groupby("person_id")["completed"].min().rename("completed").reset_index())
    app = ds.appointments.assign(start=pd.to_datetime(ds.appointments["start_date"], errors="coerce"))
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


def funnel(ds: Dataset) -> dict:
    """Enrolled -> graduated -> appointed (graduates with a seat starting on or after their graduation)."""
    enr = ds.enrollments
    seats = days_to_seat(ds)
    return {"enrolled": int(enr["person_id"].nunique()),
            "graduated": int(enr.loc[enr["status"] == "graduated", "person_id"].nunique()),
            "appointed": int(seats["days"].notna().sum())}


def _top_brokers(G: nx.Graph, result=None, n: int = 10) -> tuple[list[dict], str]:
    result = result or betweenness(G, normalized=True)
    top = sorted(result.values.items(), key=lambda kv: (-kv[1], kv[0]))[:n]
    return [{"person_id": p, "betweenness": round(float(b), 6)} for p, b in top], result.detail or result.method


def _wave_composition(ds: Dataset, wave: str) -> dict:
    """Ties and cross-race/cross-class shares of the tie network reported in one wave (as tables, no graph)."""
    t = matched_ties(ds, waves=[wave])
    a, b = t["from_person_id"].to_numpy(), t["to_person_id"].to_numpy()
    pairs = pd.DataFrame({"u": np.where(a < b, a, b), "v": np.where(a < b, b, a)}).drop_duplicates()
    people = ds.people.set_index("person_id")
    out = {"ties": len(pairs)}
    for key, attr in (("cross_race_tie_share", "race_ethnicity"), ("cross_class_tie_share", "income_band")):
        x, y = pairs["u"].map(people[attr]), pairs["v"].map(people[attr])
        known = x.notna() & y.notna()
        out[key] = float((x[known] != y[known]).mean()) if known.any() else None
    return out


def _wave_order(w: str):
    return (0, float(w)) if w.replace(".", "", 1).isdigit() else (1, w)


def summary_metrics(ds: Dataset, *, network: str = "ties", attributes: tuple[str, ...] = (),
                    directed: bool = False, graph: nx.Graph | None = None, between=None) -> dict:
    """The metrics contract (docs/metrics.md) computed on the tie network (or the co-attendance network).

    `graph` and `between` (a betweenness MetricResult for it) pass in work already done by the caller.
    """
    G = graph if graph is not None else (coattendance_network(ds) if network == "co-attendance" else tie_network(ds))
    attrs = list(dict.fromkeys(DEFAULT_ATTRIBUTES + tuple(attributes)))
    ei_graph = tie_network(ds, view="directed") if directed and network != "co-attendance" else G
    by_wave = {}
    waves = sorted({w for w in ds.ties["wave"] if w is not None}, key=_wave_order)
    if network != "co-attendance":
        for w in waves:
            by_wave[w] = _wave_composition(ds, w)
    seats = days_to_seat(ds)
    days = [d for d in seats["days"] if d is not None and not (isinstance(d, float) and math.isnan(d))]
    brokers, method = _top_brokers(G, between)
    unmatched = ds.ties.loc[ds.ties["to_person_id"].isna() & ds.ties["to_name"].notna(), "to_name"]
    return {
        "network": network,
        "people": G.number_of_nodes(),
        "ties": G.number_of_edges(),
        "cross_race_tie_share": cross_tie_share(G, "race_ethnicity"),
        "cross_class_tie_share": cross_tie_share(G, "income_band"),
        "ei_index": {a: _ei(cross_tie_share(ei_graph, a)) for a in attrs},
        "by_wave": by_wave,
        "isolated": isolated_parents(G),
        "funnel": funnel(ds),
        "median_days_to_seat": float(median(days)) if days else None,
        "top_brokers": brokers,
        "betweenness_method": method,
        "unmatched_names": sorted(set(unmatched)),
        "communities": [c for c in louvain(G, seed=0) if len(c) > 1] if G.number_of_edges() else [],
    }
