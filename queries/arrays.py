"""Networks as integer arrays: the form the heavy measures compute on.

networkx is the API (every measure takes an ``nx.Graph``/``nx.DiGraph``) and the reference
implementation; but walking a 200,000-person graph edge by edge in Python costs seconds per
measure. An :class:`ArrayNetwork` holds the same network as numpy arrays -- node ids, the two
ends of every edge as positions, and the people's attributes as columns -- so each measure is a
few vectorised passes. Every measure in ``queries`` accepts either form (:func:`as_arrays`), and
the report builds the arrays straight from the dataset's tables (:mod:`queries.network`), never
building a networkx graph at all.

>>> G = nx.Graph([("a", "b"), ("b", "c")])
>>> nx.set_node_attributes(G, {"a": "x", "b": "x", "c": "y"}, "race")
>>> net = as_arrays(G)
>>> net.n, net.m, net.codes("race")[0].tolist(), net.codes("race")[1]
(3, 2, [0, 0, 1], ['x', 'y'])
"""
from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

import networkx as nx
import numpy as np
import pandas as pd

from queries.errors import QueryError

__all__ = ["ArrayNetwork", "as_arrays", "is_missing", "sorted_groups"]


def is_missing(value) -> bool:
    """None and NaN are missing attribute values (an empty string is a value)."""
    if value is None:
        return True
    try:
        return isinstance(value, float) and math.isnan(value)
    except TypeError:
        return False


def sorted_groups(values) -> list:
    """Distinct values sorted (by their text when they do not compare)."""
    values = set(values)
    try:
        return sorted(values)
    except TypeError:
        return sorted(values, key=str)


class ArrayNetwork:
    """A network as arrays: node ``i`` is ``ids[i]``; edge ``e`` joins ``src[e]`` and ``dst[e]``.

    ``directed``: whether edges have a direction (reporter -> named). Edges are kept as given
    (self-loops and, for a multigraph, parallel edges included); each measure decides what to
    ignore, as its networkx form does. Attributes come from ``columns`` (attribute -> sequence
    aligned with ``ids``) or, for a network made from networkx, from its node data.
    ``weight``: optional edge weights (e.g. shared events in the co-attendance network).
    """

    def __init__(self, ids, src, dst, *, directed: bool = False, columns: Mapping | None = None,
                 node_data: Sequence[Mapping] | None = None, weight=None, multigraph: bool = False):
        self.ids = np.asarray(ids, dtype=object) if not isinstance(ids, np.ndarray) else ids
        self.src = np.asarray(src, dtype=np.int64)
        self.dst = np.asarray(dst, dtype=np.int64)
        if self.src.shape != self.dst.shape:
            raise QueryError("src and dst must have the same length")
        self.directed = bool(directed)
        self.multigraph = bool(multigraph)
        self.weight = None if weight is None else np.asarray(weight, dtype=float)
        self._columns = {k: np.asarray(v, dtype=object) for k, v in (columns or {}).items()}
        self._node_data = node_data
        self._codes: dict[str, tuple[np.ndarray, list]] = {}
        self._index = None
        self._pairs = None

    # -- construction -----------------------------------------------------------------

    @classmethod
    def from_networkx(cls, G, *, weight: str | None = None) -> ArrayNetwork:
        """The arrays of a networkx graph: nodes in ``list(G)`` order, edges in ``G.edges()`` order."""
        if not isinstance(G, nx.Graph):
            raise QueryError(f"expected a networkx graph; got {type(G).__name__}")
        nodes = list(G)
        index = {v: i for i, v in enumerate(nodes)}
        m = G.number_of_edges()
        src = np.empty(m, dtype=np.int64)
        dst = np.empty(m, dtype=np.int64)
        w = np.ones(m) if weight is not None else None
        for e, (u, v, d) in enumerate(G.edges(data=True)):
            src[e], dst[e] = index[u], index[v]
            if w is not None:
                w[e] = d.get(weight, 1)
        ids = np.empty(len(nodes), dtype=object)
        ids[:] = nodes
        if w is not None and not any(weight in d for _, _, d in G.edges(data=True)):
            w = None                                   # no edge carries it: unweighted
        return cls(ids, src, dst, directed=G.is_directed(), node_data=[d for _, d in G.nodes(data=True)],
                   weight=w, multigraph=G.is_multigraph())

    def to_networkx(self) -> nx.Graph:
        """The same network in networkx (small networks: the reference kernels run on it), with the
        node data of a network made from networkx."""
        G = (nx.MultiDiGraph() if self.directed else nx.MultiGraph()) if self.multigraph else \
            (nx.DiGraph() if self.directed else nx.Graph())
        if self._node_data is not None:
            G.add_nodes_from(zip(self.ids.tolist(), self._node_data))
        else:
            G.add_nodes_from(self.ids.tolist())
        ids = self.ids
        if self.weight is None:
            G.add_edges_from(zip(ids[self.src].tolist(), ids[self.dst].tolist()))
        else:
            G.add_weighted_edges_from(zip(ids[self.src].tolist(), ids[self.dst].tolist(), self.weight.tolist()))
        return G

    # -- basic facts ------------------------------------------------------------------

    @property
    def n(self) -> int:
        return len(self.ids)

    @property
    def m(self) -> int:
        return len(self.src)

    # the few networkx-style questions the size routing in queries.kernels asks
    def number_of_nodes(self) -> int:
        return self.n

    def number_of_edges(self) -> int:
        return self.m

    def is_directed(self) -> bool:
        return self.directed

    def is_multigraph(self) -> bool:
        return self.multigraph

    def nodes(self) -> list:
        return self.ids.tolist()

    def __len__(self) -> int:
        return self.n

    def __iter__(self):
        return iter(self.ids.tolist())

    def index(self) -> pd.Index:
        """Node ids as a pandas Index (position lookups with ``get_indexer``)."""
        if self._index is None:
            self._index = pd.Index(self.ids, dtype=object)
        return self._index

    def positions(self, nodes) -> np.ndarray:
        """Positions of the given node ids; a QueryError names any not in the network."""
        nodes = list(nodes)
        pos = self.index().get_indexer(pd.Index(nodes, dtype=object)) if nodes else np.zeros(0, dtype=np.int64)
        if (pos < 0).any():
            missing = [v for v, p in zip(nodes, pos) if p < 0]
            raise QueryError(f"{len(missing)} node(s) not in the network, e.g. {missing[:3]!r}")
        return pos.astype(np.int64)

    def column(self, attr: str) -> np.ndarray:
        """One attribute of every node (object array; None where missing)."""
        if not isinstance(attr, str) or not attr:
            raise QueryError(f"attr must be the name of a node attribute, e.g. 'race_ethnicity'; got {attr!r}")
        if attr not in self._columns:
            out = np.empty(self.n, dtype=object)
            if self._node_data is not None:
                out[:] = [d.get(attr) for d in self._node_data]
            self._columns[attr] = out
        return self._columns[attr]

    def codes(self, attr: str) -> tuple[np.ndarray, list]:
        """Group codes of one attribute: (int32 array, -1 where missing; the sorted group values)."""
        if attr not in self._codes:
            values = self.column(attr)
            missing = pd.isna(values)                  # None and NaN (an empty string is a value)
            inverse, distinct = pd.factorize(values[~missing])
            groups = sorted_groups(distinct.tolist())
            rank = {g: i for i, g in enumerate(groups)}
            codes = np.full(self.n, -1, dtype=np.int32)
            codes[~missing] = np.array([rank[g] for g in distinct.tolist()], dtype=np.int32)[inverse] \
                if len(distinct) else []
            self._codes[attr] = (codes, groups)
        return self._codes[attr]

    def loops(self) -> np.ndarray:
        """True for each self-loop edge."""
        return self.src == self.dst

    def degree(self) -> np.ndarray:
        """Edges at each node (in + out when directed; a self-loop counts twice, as in networkx)."""
        return np.bincount(self.src, minlength=self.n) + np.bincount(self.dst, minlength=self.n)

    def _pair_keys(self):
        """(edges that are not self-loops, the distinct pair keys ``lower * n + higher``, each such edge's
        pair), computed once per network."""
        if self._pairs is None:
            keep = ~self.loops()
            a, b = self.src[keep], self.dst[keep]
            key, inverse = np.unique(np.minimum(a, b) * max(self.n, 1) + np.maximum(a, b), return_inverse=True)
            self._pairs = (keep, key, inverse)
        return self._pairs

    def pairs(self) -> tuple[np.ndarray, np.ndarray]:
        """Each pair of different people joined by at least one edge, once, as (lower, higher) positions."""
        key = self._pair_keys()[1]
        return key // max(self.n, 1), key % max(self.n, 1)

    def simple(self) -> ArrayNetwork:
        """The undirected simple graph: one edge per pair of different people (weights summed)."""
        keep, key, inverse = self._pair_keys()
        n = max(self.n, 1)
        weight = None
        if self.weight is not None:
            weight = np.bincount(inverse, weights=self.weight[keep], minlength=len(key))
        return ArrayNetwork(self.ids, key // n, key % n, directed=False, columns=self._columns,
                            node_data=self._node_data, weight=weight)

    def on_edges(self, src, dst, *, directed: bool | None = None) -> ArrayNetwork:
        """The same people (and attributes) joined by other edges."""
        other = ArrayNetwork(self.ids, src, dst, directed=self.directed if directed is None else directed,
                             columns=self._columns, node_data=self._node_data)
        other._codes, other._index = self._codes, self._index   # the same people: share what was computed
        return other

    def induced(self, keep) -> ArrayNetwork:
        """The sub-network among the people where ``keep`` (a boolean array) is True."""
        keep = np.asarray(keep, dtype=bool)
        new = np.full(self.n, -1, dtype=np.int64)
        new[keep] = np.arange(int(keep.sum()))
        e = keep[self.src] & keep[self.dst]
        data = None if self._node_data is None else [d for d, k in zip(self._node_data, keep) if k]
        return ArrayNetwork(self.ids[keep], new[self.src[e]], new[self.dst[e]], directed=self.directed,
                            columns={a: c[keep] for a, c in self._columns.items()}, node_data=data,
                            weight=None if self.weight is None else self.weight[e], multigraph=self.multigraph)

    def has_edge(self, u, v) -> bool:
        """Whether an edge joins u to v (either way round when undirected), as ``nx.Graph.has_edge``."""
        if not hasattr(self, "_edge_keys"):
            n = max(self.n, 1)
            keys = self.src * n + self.dst
            self._edge_keys = set((keys if self.directed else np.r_[keys, self.dst * n + self.src]).tolist())
            self._position = {v: i for i, v in enumerate(self.ids.tolist())}
        i, j = self._position.get(u), self._position.get(v)
        return i is not None and j is not None and i * max(self.n, 1) + j in self._edge_keys

    def adjacency(self):
        """The simple undirected graph as a symmetric 0/1 scipy CSR matrix."""
        from scipy import sparse

        u, v = self.pairs()
        data = np.ones(2 * len(u), dtype=np.int32)
        return sparse.csr_matrix((data, (np.r_[u, v], np.r_[v, u])), shape=(self.n, self.n))

    def to_igraph(self, *, weighted: bool = False):
        """The network in python-igraph; vertex ``i`` is ``ids[i]`` (vertex attribute ``name``)."""
        import igraph as ig

        g = ig.Graph(n=self.n, directed=self.directed)
        g.add_edges(np.column_stack([self.src, self.dst]))     # numpy straight in: no million-pair list
        g.vs["name"] = self.ids.tolist()
        if weighted and self.weight is not None:
            g.es["weight"] = self.weight.tolist()
        return g


def as_arrays(G, *, weight: str | None = "weight") -> ArrayNetwork:
    """An :class:`ArrayNetwork` as it is, or a networkx graph converted (with the ``weight`` edge
    attribute as weights when any edge has it, as networkx's community detection reads it)."""
    if isinstance(G, ArrayNetwork):
        return G
    return ArrayNetwork.from_networkx(G, weight=weight)
