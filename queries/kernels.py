"""Heavy network kernels, routed by network size to networkx, python-igraph, or sampling.

Program networks run from a few dozen parents at one site to tens of thousands across
a whole portfolio. networkx is the reference implementation and is fast enough for a
site; igraph (C) gives the same numbers far faster on large networks; above a further
size exact betweenness is too slow even in C, so it is estimated from ``k`` randomly
chosen source people ("pivots", Brandes & Pich 2007). Every result says which method ran.

Routing (``method="auto"``), by number of people ``n``:

==========================  ==============  ==================================
kernel                      n < igraph thr  igraph thr <= n (< sample thr)
==========================  ==============  ==================================
betweenness                 networkx exact  igraph exact; sampled at n >= sample thr
closeness, constraint,      networkx        igraph (always exact)
k-core, communities
==========================  ==============  ==================================

Settings (read from the environment at call time; defaults are the module constants):

- ``CIVICTIES_IGRAPH_THRESHOLD`` (default 2,000 people): use igraph at or above this size.
- ``CIVICTIES_SAMPLE_THRESHOLD`` (default 50,000 people): estimate betweenness by sampling
  at or above this size.
- ``CIVICTIES_SAMPLE_PIVOTS`` (default 500): number of pivots when sampling and no ``k``
  is given.

Rank quality of sampled betweenness (measured; ``tests/test_kernels.py`` re-checks the
2,000-person case): on clustered scale-free networks (Holme-Kim, m=3, p=0.3) the Spearman
rank correlation between sampled and exact betweenness is 0.91 (2,000 people) and 0.92
(5,000) with 200 pivots, 0.95 and 0.93 with 500 pivots; 85-90% of the exact top 1% of
brokers are also in the sampled top 1%. The top of the ranking (the brokers an evaluator
looks at) is the stable part; treat the long tail of people near zero as ties.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass
from typing import Any

import networkx as nx
import numpy as np

from civicties import settings
from queries.errors import QueryError

__all__ = [
    "IGRAPH_THRESHOLD",
    "SAMPLE_THRESHOLD",
    "SAMPLE_PIVOTS",
    "MetricResult",
    "igraph_threshold",
    "sample_threshold",
    "sample_pivots",
    "igraph_available",
    "choose_backend",
    "to_igraph",
    "from_igraph",
    "betweenness",
    "closeness",
    "constraint",
    "core_number",
    "communities",
]

IGRAPH_THRESHOLD = 2_000
SAMPLE_THRESHOLD = 50_000
SAMPLE_PIVOTS = 500

_METHODS = ("auto", "exact", "networkx", "igraph", "sampled")


@dataclass(frozen=True)
class MetricResult:
    """A kernel's values plus how they were computed.

    ``values`` is what the kernel computes (dict node -> number, or a list of
    communities); ``method`` is ``"networkx"``, ``"igraph"`` or ``"sampled"``;
    ``exact`` is False only for sampled estimates; ``k`` is the number of pivots
    when sampled; ``detail`` is one human-readable line for a dashboard footnote.
    """

    values: Any
    method: str
    exact: bool = True
    k: int | None = None
    seed: int | None = None
    detail: str = ""

    def as_dict(self) -> dict:
        """Plain-data form (for the CLI's JSON output)."""
        return {
            "values": self.values,
            "method": self.method,
            "exact": self.exact,
            "k": self.k,
            "seed": self.seed,
            "detail": self.detail,
        }


def igraph_threshold() -> int:
    """Size (people) from which heavy kernels run in igraph; env ``CIVICTIES_IGRAPH_THRESHOLD``."""
    return _int_setting("CIVICTIES_IGRAPH_THRESHOLD")


def sample_threshold() -> int:
    """Size (people) from which betweenness is sampled; env ``CIVICTIES_SAMPLE_THRESHOLD``."""
    return _int_setting("CIVICTIES_SAMPLE_THRESHOLD")


def sample_pivots() -> int:
    """Default number of pivots for sampled betweenness; env ``CIVICTIES_SAMPLE_PIVOTS``."""
    return _int_setting("CIVICTIES_SAMPLE_PIVOTS")


def igraph_available() -> bool:
    """True when python-igraph can be imported."""
    try:
        import igraph  # noqa: F401
    except ImportError:
        return False
    return True


def choose_backend(G, *, method="auto", k=None, sampling=True) -> str:
    """Which implementation a kernel uses: ``"networkx"``, ``"igraph"`` or ``"sampled"``.

    ``method`` is ``"auto"`` (by size, see module docs), ``"exact"`` (networkx below
    the igraph threshold, igraph above; never sampled), or one backend by name. With
    ``method="auto"`` an explicit ``k`` smaller than the network asks for sampling.
    ``sampling=False`` is for kernels that have no sampled variant.

    >>> choose_backend(nx.path_graph(5))
    'networkx'
    >>> choose_backend(nx.path_graph(5), k=2)
    'sampled'
    """
    if method not in _METHODS:
        raise QueryError(f"method must be one of {', '.join(_METHODS)}; got {method!r}")
    n = G.number_of_nodes()
    if method == "sampled":
        if not sampling:
            raise QueryError("this measure has no sampled variant; use method='auto' or 'exact'")
        return "sampled"
    if method == "igraph":
        if not igraph_available():
            raise QueryError("method='igraph' needs python-igraph: pip install igraph")
        return "igraph"
    if method == "networkx":
        return "networkx"
    big = n >= igraph_threshold() and igraph_available()
    if method == "exact":
        return "igraph" if big else "networkx"
    if sampling and ((k is not None and k < n) or n >= sample_threshold()):
        return "sampled"
    return "igraph" if big else "networkx"


def to_igraph(G, *, weight=None):
    """Convert a networkx graph to python-igraph, keeping node ids.

    Vertex ``i`` of the result is ``list(G)[i]`` and carries the node id in the
    vertex attribute ``"name"``. When ``weight`` names an edge attribute it becomes
    the igraph edge attribute ``"weight"`` (missing values count as 1). Multigraphs
    are refused: collapse parallel ties first (e.g. ``nx.Graph(G)``).

    >>> g = to_igraph(nx.Graph([("ana", "ben")]))
    >>> g.vs["name"], g.ecount()
    (['ana', 'ben'], 1)
    """
    _need_igraph()
    import igraph as ig

    from queries.arrays import ArrayNetwork

    if G.is_multigraph():
        raise QueryError("multigraphs are not supported here; collapse parallel ties with nx.Graph(G)")
    if isinstance(G, ArrayNetwork):
        return G.to_igraph(weighted=weight is not None)
    nodes = list(G)
    index = {v: i for i, v in enumerate(nodes)}
    edges = [(index[u], index[v]) for u, v in G.edges()]
    g = ig.Graph(n=len(nodes), edges=edges, directed=G.is_directed())
    g.vs["name"] = nodes
    if weight is not None:
        g.es["weight"] = [d.get(weight, 1) for _, _, d in G.edges(data=True)]
    return g


def from_igraph(g):
    """Convert a python-igraph graph back to networkx, using the ``"name"`` attribute as node ids.

    Vertex and edge attributes are copied; vertices without names keep their index.

    >>> H = from_igraph(to_igraph(nx.Graph([("ana", "ben")])))
    >>> sorted(H.edges())
    [('ana', 'ben')]
    """
    H = nx.DiGraph() if g.is_directed() else nx.Graph()
    names = g.vs["name"] if "name" in g.vs.attributes() else list(range(g.vcount()))
    v_attrs = [a for a in g.vs.attributes() if a != "name"]
    for i, name in enumerate(names):
        H.add_node(name, **{a: g.vs[i][a] for a in v_attrs})
    e_attrs = g.es.attributes()
    for e in g.es:
        H.add_edge(names[e.source], names[e.target], **{a: e[a] for a in e_attrs})
    return H


def betweenness(G, *, normalized=True, method="auto", k=None, seed=0, weight=None) -> MetricResult:
    """Betweenness centrality, exact (networkx or igraph) or estimated from ``k`` pivots.

    Same definition and scaling as ``nx.betweenness_centrality`` (Brandes 2001); the
    sampled estimate uses the same pivots as networkx for the same ``seed``
    (``random.Random(seed).sample(list(G), k)``) and the same unbiased rescaling, so
    networkx and igraph agree on sampled values too. ``weight`` is an edge *distance*.

    >>> r = betweenness(nx.path_graph(3))
    >>> r.values, r.method
    ({0: 0.0, 1: 1.0, 2: 0.0}, 'networkx')
    """
    n = G.number_of_nodes()
    backend = choose_backend(G, method=method, k=k)
    if backend == "sampled":
        k = sample_pivots() if k is None else k
        if not isinstance(k, int) or k < 1:
            raise QueryError(f"k (number of pivots) must be a positive integer; got {k!r}")
        if k >= n or n < 3:
            backend = choose_backend(G, method="exact")
        else:
            return _sampled_betweenness(G, k=k, seed=seed, normalized=normalized, weight=weight)
    if backend == "networkx":
        values = nx.betweenness_centrality(_nx(G), normalized=normalized, weight=weight)
        return MetricResult(values, "networkx", detail="exact (networkx)")
    g = to_igraph(G, weight=weight)
    raw = g.betweenness(directed=G.is_directed(), weights="weight" if weight else None)
    scale = 1.0
    if normalized and n > 2:
        scale = (1.0 if G.is_directed() else 2.0) / ((n - 1) * (n - 2))
    values = {v: b * scale for v, b in zip(g.vs["name"], raw)}
    return MetricResult(values, "igraph", detail="exact (igraph)")


def closeness(G, *, method="auto", weight=None) -> MetricResult:
    """Closeness centrality as ``nx.closeness_centrality`` (Wasserman-Faust scaling for
    disconnected networks; isolates get 0.0; directed uses distances *to* the node).

    >>> closeness(nx.path_graph(3)).values[1]
    1.0
    """
    backend = choose_backend(G, method=method, sampling=False)
    if backend == "networkx":
        values = nx.closeness_centrality(_nx(G), distance=weight)
        return MetricResult(values, "networkx", detail="exact (networkx)")
    n = G.number_of_nodes()
    g = to_igraph(G, weight=weight)
    w = "weight" if weight else None
    norm = g.closeness(mode="in", weights=w, normalized=True)
    raw = g.closeness(mode="in", weights=w, normalized=False)
    values = {}
    for v, cn, cr in zip(g.vs["name"], norm, raw):
        if cr is None or math.isnan(cr) or cr == 0 or n < 2:
            values[v] = 0.0
            continue
        reach = cn / cr  # (reachable people - 1): igraph normalizes by it
        values[v] = cn * reach / (n - 1)
    return MetricResult(values, "igraph", detail="exact (igraph)")


def constraint(G, *, method="auto", weight=None) -> MetricResult:
    """Burt's constraint as ``nx.constraint``; NaN for isolates (undefined: no contacts).

    >>> constraint(nx.path_graph(3)).values[1]
    0.5
    """
    backend = choose_backend(G, method=method, sampling=False)
    if backend == "networkx":
        return MetricResult(nx.constraint(_nx(G), weight=weight), "networkx", detail="exact (networkx)")
    g = to_igraph(G, weight=weight)
    raw = g.constraint(weights="weight" if weight else None)
    values = {}
    for v, c, d in zip(g.vs["name"], raw, g.degree()):
        values[v] = float("nan") if d == 0 or c is None else float(c)
    return MetricResult(values, "igraph", detail="exact (igraph)")


def core_number(G, *, method="auto") -> MetricResult:
    """k-core number of each person as ``nx.core_number`` (self-ties ignored).

    >>> core_number(nx.complete_graph(3)).values
    {0: 2, 1: 2, 2: 2}
    """
    backend = choose_backend(G, method=method, sampling=False)
    G = _nx(G)
    if nx.number_of_selfloops(G):
        G = G.copy()
        G.remove_edges_from(list(nx.selfloop_edges(G)))
    if backend == "networkx":
        return MetricResult(nx.core_number(G), "networkx", detail="exact (networkx)")
    g = to_igraph(G)
    values = {v: int(c) for v, c in zip(g.vs["name"], g.coreness(mode="all"))}
    return MetricResult(values, "igraph", detail="exact (igraph)")


def communities(G, *, seed=0, weight="weight", method="auto", resolution=1.0) -> MetricResult:
    """Modularity communities: networkx Louvain below the igraph threshold, igraph Leiden
    (modularity objective, iterated until stable) above it. Values: list of sets.

    Directed networks are treated as undirected by the igraph path (tie weights summed
    over both directions). Both paths are seeded and repeatable.

    >>> r = communities(nx.disjoint_union(nx.complete_graph(3), nx.complete_graph(3)))
    >>> sorted(sorted(c) for c in r.values), r.method
    ([[0, 1, 2], [3, 4, 5]], 'networkx')
    """
    backend = choose_backend(G, method=method, sampling=False)
    if G.number_of_nodes() == 0:
        return MetricResult([], backend, seed=seed, detail="empty network")
    if backend == "networkx":
        parts = nx.community.louvain_communities(_nx(G), weight=weight, resolution=resolution, seed=seed)
        return MetricResult([set(p) for p in parts], "networkx", seed=seed, detail="Louvain (networkx)")
    import igraph as ig

    U = G
    from queries.arrays import ArrayNetwork

    if isinstance(G, ArrayNetwork):
        if G.directed and G.weight is None:   # each direction counts 1, as below
            G = ArrayNetwork(G.ids, G.src, G.dst, directed=True, weight=np.ones(G.m))
        U = G.simple() if G.directed or G.multigraph else G
        weight = "weight" if U.weight is not None else None
    elif G.is_directed():
        U = nx.Graph()
        U.add_nodes_from(G)
        for u, v, d in G.edges(data=True):
            w = d.get(weight, 1) if weight else 1
            if U.has_edge(u, v):
                U[u][v]["weight"] += w
            else:
                U.add_edge(u, v, weight=w)
        weight = "weight"
    g = to_igraph(U, weight=weight)
    rng = random.Random(seed)
    ig.set_random_number_generator(rng)
    try:
        clustering = g.community_leiden(
            objective_function="modularity",
            weights="weight" if weight else None,
            resolution=resolution,
            n_iterations=-1,
        )
    finally:
        ig.set_random_number_generator(random)
    names = g.vs["name"]
    parts = [{names[i] for i in members} for members in clustering]
    return MetricResult(parts, "igraph", seed=seed, detail="Leiden, modularity objective (igraph)")


# -- private helpers ---------------------------------------------------------------------


def _nx(G):
    """A networkx graph for the reference kernels (an ArrayNetwork is converted; small networks only)."""
    from queries.arrays import ArrayNetwork

    return G.to_networkx() if isinstance(G, ArrayNetwork) else G


def _int_setting(name: str) -> int:
    raw = settings.get(name)  # declared once, with its help, in civicties/settings.py
    if raw is None or raw.strip() == "":
        raw = settings.SETTINGS[name].default
    try:
        value = int(raw.replace("_", "").replace(",", ""))
    except ValueError:
        raise QueryError(f"setting {name} must be a whole number of people; got {raw!r}") from None
    if value < 0:
        raise QueryError(f"setting {name} must not be negative; got {raw!r}")
    return value


def _need_igraph():
    if not igraph_available():
        raise QueryError("this network size needs python-igraph: pip install igraph")


def _sampled_betweenness(G, *, k, seed, normalized, weight) -> MetricResult:
    n = G.number_of_nodes()
    directed = G.is_directed()
    pivots = random.Random(seed).sample(list(G.nodes()), k)
    detail = f"sampled: {k} pivots of {n} people, seed {seed}"
    if not igraph_available():
        values = nx.betweenness_centrality(_nx(G), k=k, seed=seed, normalized=normalized, weight=weight)
        return MetricResult(values, "sampled", exact=False, k=k, seed=seed, detail=detail + " (networkx)")
    g = to_igraph(G, weight=weight)
    index = {v: i for i, v in enumerate(g.vs["name"])}
    # igraph counts each undirected source-target pair once; Brandes' accumulation over
    # sources (which networkx rescales) counts it from the source side, i.e. twice.
    raw = g.betweenness(
        directed=directed,
        weights="weight" if weight else None,
        sources=[index[p] for p in pivots],
    )
    if not directed:
        raw = [2.0 * b for b in raw]
    # Unbiased rescaling as networkx (>= 3.5): a pivot cannot lie inside its own paths,
    # so its value is an average over the other k - 1 pivots.
    N = n - 1
    correction = 1 if directed else 2
    if normalized:
        s_src = 1 / ((k - 1) * (N - 1)) if k > 1 else float("nan")
        s_non = 1 / (k * (N - 1))
    else:
        s_src = N / ((k - 1) * correction) if k > 1 else float("nan")
        s_non = N / (k * correction)
    pivot_set = set(pivots)
    values = {
        v: b * (s_src if v in pivot_set else s_non) for v, b in zip(g.vs["name"], raw)
    }
    return MetricResult(values, "sampled", exact=False, k=k, seed=seed, detail=detail + " (igraph)")
