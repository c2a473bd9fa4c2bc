"""Building networks from a Dataset: the tie network (union, mutual or directed) and the co-attendance network.

The tie network's nodes are all people; two different people are joined when any ties row links them
(by to_person_id or a matched to_name). Self-ties and unmatched names are left out. Each edge carries
`waves` and `tie_types` (sets of the values reported for it).
"""
from __future__ import annotations

from itertools import combinations

import networkx as nx
import numpy as np
import pandas as pd

from graph.dataset import Dataset
from queries.arrays import ArrayNetwork
from queries.errors import QueryError

__all__ = ["tie_network", "coattendance_network", "tie_arrays", "coattendance_arrays", "snapshots_by_year",
           "matched_ties", "VIEWS"]

VIEWS = ("union", "mutual", "directed")


def _add_people(G: nx.Graph, people: pd.DataFrame) -> None:
    records = people.to_dict("records")
    G.add_nodes_from((r.pop("person_id"), {k: v for k, v in r.items() if v is not None}) for r in records)


def _sets(frame: pd.DataFrame, keys: list[str], column: str) -> dict[tuple, set]:
    """Per key pair, the set of non-missing values of `column`."""
    out: dict[tuple, set] = {}
    for x, y, value in zip(frame[keys[0]].to_numpy(), frame[keys[1]].to_numpy(), frame[column].to_numpy()):
        entry = out.setdefault((x, y), set())
        if value is not None:
            entry.add(value)
    return out


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
    t = matched_ties(ds, waves=waves)[["from_person_id", "to_person_id", "wave", "tie_type"]]
    if view == "directed":
        keys = ["from_person_id", "to_person_id"]
        G = nx.DiGraph()
    else:
        # one undirected pair per row, smaller id first; `both` marks pairs named from each side
        a, b = t["from_person_id"].to_numpy(), t["to_person_id"].to_numpy()
        t = t.assign(u=np.where(a < b, a, b), v=np.where(a < b, b, a))
        keys = ["u", "v"]
        G = nx.Graph()
    _add_people(G, ds.people)
    pairs = t[keys].drop_duplicates()
    if view == "mutual":
        directed = t[["from_person_id", "to_person_id"]].drop_duplicates()
        sides = directed.assign(u=np.where(directed["from_person_id"] < directed["to_person_id"],
                                           directed["from_person_id"], directed["to_person_id"]))
        sides = sides.assign(v=np.where(sides["u"] == sides["from_person_id"], sides["to_person_id"],
                                        sides["from_person_id"]))
        counts = sides.groupby(["u", "v"]).size()
        pairs = counts[counts == 2].reset_index()[["u", "v"]]
    waves_by = _sets(t, keys, "wave")
    types_by = _sets(t, keys, "tie_type")
    G.add_edges_from((x, y, {"waves": waves_by[x, y], "tie_types": types_by[x, y]})
                     for x, y in zip(pairs[keys[0]].to_numpy(), pairs[keys[1]].to_numpy()))
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


def _people_arrays(ds: Dataset) -> tuple[np.ndarray, pd.Index, dict]:
    people = ds.people
    ids = people["person_id"].to_numpy(dtype=object)
    columns = {c: people[c].to_numpy(dtype=object) for c in people.columns if c != "person_id"}
    return ids, pd.Index(ids, dtype=object), columns


def _tie_positions(ds: Dataset, index: pd.Index, waves):
    """The matched ties rows, and the positions of their two people among ``index`` (rows naming someone
    not in it left out): (rows, from positions, to positions, which rows were kept)."""
    t = matched_ties(ds, waves=waves)
    a = index.get_indexer(t["from_person_id"].to_numpy(dtype=object))
    b = index.get_indexer(t["to_person_id"].to_numpy(dtype=object))
    ok = (a >= 0) & (b >= 0)
    return t, a[ok].astype(np.int64), b[ok].astype(np.int64), ok


def tie_arrays(ds: Dataset, *, view: str = "union", waves: list[str] | None = None) -> ArrayNetwork:
    """The tie network of :func:`tie_network` as an :class:`~queries.arrays.ArrayNetwork`, built from the
    tables without a networkx graph (the same people in the same order, the same edges).

    Union edges come in the order :func:`tie_network` adds them (first report of each pair; so
    ``to_networkx()`` rebuilds the very same graph, though ``G.edges()`` iterates in adjacency order), as
    (smaller id, larger id); directed edges are distinct (reporter, named) pairs; mutual edges are
    union pairs both people named.
    """
    if view not in VIEWS:
        raise QueryError(f"unknown network view {view!r}; use one of {', '.join(VIEWS)}")
    ids, index, columns = _people_arrays(ds)
    t, a, b, ok = _tie_positions(ds, index, waves)
    n = max(len(ids), 1)
    if view == "directed":
        _, first = np.unique(a * n + b, return_index=True)
        first.sort()
        return ArrayNetwork(ids, a[first], b[first], directed=True, columns=columns)
    # the smaller id first, as tie_network does (ids compare as text)
    swap = t["from_person_id"].to_numpy(dtype=object)[ok] > t["to_person_id"].to_numpy(dtype=object)[ok]
    u, v = np.where(swap, b, a), np.where(swap, a, b)
    key = u * n + v
    _, first = np.unique(key, return_index=True)
    first.sort()
    if view == "mutual":  # both directions reported
        named = np.unique(a * n + b)
        uu, vv = u[first], v[first]
        first = first[np.isin(uu * n + vv, named) & np.isin(vv * n + uu, named)]
    return ArrayNetwork(ids, u[first], v[first], directed=False, columns=columns)


def coattendance_arrays(ds: Dataset, *, max_event_size: int | None = None) -> ArrayNetwork:
    """The co-attendance network of :func:`coattendance_network` as arrays: one edge per pair of people who
    attended an event together (each pair once, smaller position first), ``weight`` = shared events."""
    ids, index, columns = _people_arrays(ds)
    att = ds.attendance
    person = index.get_indexer(att["person_id"].to_numpy(dtype=object))
    event = pd.factorize(att["event_id"].to_numpy(dtype=object))[0]
    ok = (person >= 0) & (event >= 0)
    n = max(len(ids), 1)
    pe = np.unique(event[ok].astype(np.int64) * n + person[ok])       # distinct (event, person)
    event, person = pe // n, pe % n
    sizes = np.bincount(event) if len(event) else np.zeros(0, dtype=np.int64)
    if max_event_size is not None:
        keep = sizes[event] <= max_event_size
        event, person = event[keep], person[keep]
    starts = np.r_[0, np.flatnonzero(np.diff(event)) + 1] if len(event) else np.zeros(0, dtype=np.int64)
    ends = np.r_[starts[1:], len(event)] if len(event) else starts
    keys = []
    for s, e in zip(starts, ends):
        if e - s < 2:
            continue
        members = person[s:e]                                         # sorted: (event, person) keys sorted
        i, j = np.triu_indices(e - s, k=1)
        keys.append(members[i] * n + members[j])
    if not keys:
        return ArrayNetwork(ids, [], [], directed=False, columns=columns, weight=np.zeros(0))
    key, weight = np.unique(np.concatenate(keys), return_counts=True)
    return ArrayNetwork(ids, key // n, key % n, directed=False, columns=columns, weight=weight.astype(float))


def snapshots_by_year(ds: Dataset, G: ArrayNetwork | None = None) -> dict:
    """The union tie network as it stood at the end of each year a matched tie was observed in:
    year (text) -> ArrayNetwork over every person. `G`: ``tie_arrays(ds)`` if already built."""
    G = tie_arrays(ds) if G is None else G
    t, a, b, ok = _tie_positions(ds, G.index(), None)
    years = pd.to_datetime(t["observed_on"], errors="coerce", format="ISO8601").dt.year.to_numpy()[ok]
    dated = ~np.isnan(years)
    a, b, years = a[dated], b[dated], years[dated].astype(int)
    n = max(G.n, 1)
    pairs, which = np.unique(np.minimum(a, b) * n + np.maximum(a, b), return_inverse=True)
    first = np.full(len(pairs), np.iinfo(np.int64).max)
    np.minimum.at(first, which, years)                 # the year each pair was first observed
    snapshots = {}
    for year in sorted(set(years.tolist())):
        k = pairs[first <= year]
        snapshots[str(year)] = G.on_edges(k // n, k % n)
    return snapshots
