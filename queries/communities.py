"""Communities: the circles the program network falls into, and how mixed each one is.

Community detection finds groups of parents more tied to each other than to the rest;
the Blau index then says whether those circles mix races, classes or languages, or
reproduce the divisions the program set out to bridge.
"""

from __future__ import annotations

from collections import Counter

import networkx as nx  # noqa: F401 - the doctests use it

from queries import kernels
from queries.arrays import ArrayNetwork
from queries.arrays import is_missing as _is_missing
from queries.arrays import sorted_groups as _sorted
from queries.errors import QueryError

__all__ = ["louvain", "blau_index", "community_diversity"]


def louvain(G, *, seed=0, weight="weight", method="auto", resolution=1.0) -> list:
    """Modularity communities of the network: list of communities, each a sorted list of ids.

    For an evaluator: the circles that have formed -- groups of parents with many ties
    among themselves and few to others. Communities are sorted largest first (ties broken
    by their first member); isolates come back as one-person communities.

    Method: networkx Louvain below ``CIVICTIES_IGRAPH_THRESHOLD`` people, igraph Leiden
    (modularity objective; guarantees connected communities) at or above it; both seeded.
    ``weight`` names the tie-strength attribute (co-attendance: shared events); ties without
    it count 1. Quality: modularity ``Q = sum_c [L_c/m - (d_c/2m)^2]``.

    References: Blondel, V. D. et al. (2008). Fast unfolding of communities in large
    networks. J. Stat. Mech. P10008. Traag, V. A., Waltman, L. & van Eck, N. J. (2019).
    From Louvain to Leiden. Scientific Reports 9, 5233. Newman, M. E. J. & Girvan, M.
    (2004) (modularity).

    >>> G = nx.barbell_graph(4, 0)   # two 4-cliques joined by one tie
    >>> louvain(G)
    [[0, 1, 2, 3], [4, 5, 6, 7]]
    """
    parts = kernels.communities(G, seed=seed, weight=weight, method=method, resolution=resolution).values
    ordered = [_sorted(p) for p in parts]
    ordered.sort(key=lambda c: (-len(c), str(c[0]) if c else ""))
    return ordered


def blau_index(values) -> float | None:
    """Blau's index of heterogeneity of a collection of categories.

    For an evaluator: the chance that two people drawn at random (with replacement) from
    the group differ on the attribute. 0 = everyone the same; the maximum is ``1 - 1/K``
    for K equally sized categories (0.5 for two, 0.75 for four).

    Formula: ``1 - sum_i p_i^2`` over category shares p_i; missing values (None, NaN) are
    left out. None when nothing is left.

    Reference: Blau, P. M. (1977). Inequality and Heterogeneity. Free Press.

    >>> blau_index(["Black", "Black", "Latino", "White"])  # 1 - (1/4 + 1/16 + 1/16)
    0.625
    >>> blau_index([None]) is None
    True
    """
    counts = Counter(v for v in values if not _is_missing(v))
    total = sum(counts.values())
    if total == 0:
        return None
    return 1.0 - sum((c / total) ** 2 for c in counts.values())


def community_diversity(G, communities, attr) -> list:
    """Size and mix of each community on one attribute: list of dicts, in the given order.

    For an evaluator: are the circles that formed mixed (high Blau) or do they mirror
    race/class lines (Blau near 0)? Compare each community's Blau with the whole
    program's (``blau_index`` of all participants).

    Each dict: ``community`` (position in ``communities``), ``size``, ``known`` (members
    with the attribute), ``blau`` (:func:`blau_index` of members' values, None if none
    known) and ``composition`` (value -> count, most common first; missing values are
    counted under None).

    >>> G = nx.Graph([("a", "b"), ("c", "d")])
    >>> nx.set_node_attributes(G, {"a": "low", "b": "high", "c": "low", "d": "low"}, "income_band")
    >>> community_diversity(G, [["a", "b"], ["c", "d"]], "income_band")[0]
    {'community': 0, 'size': 2, 'known': 2, 'blau': 0.5, 'composition': {'high': 1, 'low': 1}}
    """
    if not isinstance(attr, str) or not attr:
        raise QueryError(f"attr must be the name of a node attribute; got {attr!r}")
    lookup = dict(zip(G.ids.tolist(), G.column(attr).tolist())) if isinstance(G, ArrayNetwork) else None
    rows = []
    for i, members in enumerate(communities):
        members = list(members)
        missing = [v for v in members if (v not in lookup if lookup is not None else v not in G)]
        if missing:
            raise QueryError(f"community {i} has {len(missing)} member(s) not in the network, e.g. {missing[:3]!r}")
        values = [lookup[v] for v in members] if lookup is not None else [G.nodes[v].get(attr) for v in members]
        values = [None if _is_missing(x) else x for x in values]
        counts = Counter(values)
        composition = dict(sorted(counts.items(), key=lambda kv: (-kv[1], kv[0] is None, str(kv[0]))))
        known = sum(c for value, c in counts.items() if value is not None)
        rows.append({
            "community": i,
            "size": len(members),
            "known": known,
            "blau": blau_index(values),
            "composition": composition,
        })
    return rows
