"""Building networks from a Dataset: the tie network (union, mutual or directed) and the co-attendance network.

The tie network's nodes are all people; two different people are joined when any ties row links them
(by to_person_id or a matched to_name). Self-ties and unmatched names are left out. Each edge carries
`waves` and `tie_types` (sets of the values reported for it).
"""
from __future__ import annotations

from itertools import combinations

import networkx as nx
import pandas as pd

from graph.dataset import Dataset
from queries.errors import QueryError

__all__ = ["tie_network", "coattendance_network", "matched_ties", "VIEWS"]

VIEWS = ("union", "mutual", "directed")


def _add_people(G: nx.Graph, people: pd.DataFrame) -> None:
    cols = [c for c in people.columns if c != "person_id"]
    for row in people.itertuples(index=False):
        d = row._asdict()
        pid = d.pop("person_id")
        G.add_node(pid, **{k: v for k, v in d.items() if v is not None})


def matched_ties(ds: Dataset, *, waves: list[str] | None = None) -> pd.DataFrame:
    """Ties rows that link two different known people (optionally only the given waves)."""
    t = ds.ties
    t = t[t["to_person_id"].notna() & (t["to_person_id"] != t["from_person_id"])]
    if waves is not None:
        t = t[t["wave"].isin(waves)]
    return t


def tie_network(ds: Dataset, *, view: str = "union", waves: list[str] | None = None) -> nx.Graph:
    """The tie network of a dataset.

    view: "union" (undirected; joined when either named the other), "mutual" (undirected; both named
    each other), "directed" (one edge per distinct reporter -> named pair).
    """
    if view not in VIEWS:
        raise QueryError(f"unknown network view {view!r}; use one of {', '.join(VIEWS)}")
    t = matched_ties(ds, waves=waves)
    D = nx.DiGraph()
    _add_people(D, ds.people)
    for src, dst, wave, tie_type in zip(t["from_person_id"], t["to_person_id"], t["wave"], t["tie_type"]):
        if D.has_edge(src, dst):
            data = D.edges[src, dst]
        else:
            D.add_edge(src, dst, waves=set(), tie_types=set())
            data = D.edges[src, dst]
        if wave is not None:
            data["waves"].add(wave)
        if tie_type is not None:
            data["tie_types"].add(tie_type)
    if view == "directed":
        return D
    G = nx.Graph()
    G.add_nodes_from(D.nodes(data=True))
    for u, v, data in D.edges(data=True):
        mutual = D.has_edge(v, u)
        if view == "mutual" and not mutual:
            continue
        if G.has_edge(u, v):
            G.edges[u, v]["waves"] |= data["waves"]
            G.edges[u, v]["tie_types"] |= data["tie_types"]
        else:
            G.add_edge(u, v, waves=set(data["waves"]), tie_types=set(data["tie_types"]))
    return G


def coattendance_network(ds: Dataset, *, max_event_size: int | None = None) -> nx.Graph:
    """People joined by the events they attended together; edge `weight` = number of shared events.

    `max_event_size` leaves out events larger than that (a 500-person summit says little about ties
    and would add 125,000 pairs); None keeps every event.
    """
    G = nx.Graph()
    _add_people(G, ds.people)
    att = ds.attendance
    for _, group in att.groupby("event_id", sort=False):
        members = sorted(set(group["person_id"]))
        if max_event_size is not None and len(members) > max_event_size:
            continue
        for u, v in combinations(members, 2):
            if G.has_edge(u, v):
                G.edges[u, v]["weight"] += 1
            else:
                G.add_edge(u, v, weight=1)
    return G
