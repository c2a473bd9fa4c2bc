"""Brokerage: who connects otherwise separate parts of the program network?

Betweenness finds people on many shortest paths; Burt's constraint and effective size
find people whose contacts do not know each other (structural holes); Gould-Fernandez
roles say *which* groups a broker connects; bridges are the ties whose loss would split
the network. Heavy kernels are routed by size (see :mod:`queries.kernels`).
"""

from __future__ import annotations

from collections import defaultdict

import networkx as nx
import numpy as np

from queries import kernels
from queries.arrays import ArrayNetwork, as_arrays
from queries.errors import QueryError
from queries.kernels import MetricResult

__all__ = [
    "MetricResult",
    "GF_ROLES",
    "betweenness",
    "constraint",
    "effective_size",
    "gould_fernandez",
    "gould_fernandez_by_group",
    "bridges",
    "local_bridges",
    "top_brokers",
]

#: Gould-Fernandez roles, in the order of their paper: broker b on the path a -> b -> c.
GF_ROLES = ("coordinator", "itinerant", "representative", "gatekeeper", "liaison")


def betweenness(G, *, normalized=True, method="auto", k=None, seed=0, weight=None) -> MetricResult:
    """Betweenness centrality of each person, with the method that computed it.

    For an evaluator: the share of shortest paths between other people that run through
    this person -- the parents information must pass through to get from one part of the
    program to another. 0 = nobody depends on them; (normalized) 1 = every path passes
    through them (the centre of a star).

    Formula: ``b(v) = sum_{s != v != t} sigma_st(v) / sigma_st``, divided by the number of
    pairs ``(n-1)(n-2)/2`` (undirected) or ``(n-1)(n-2)`` (directed) when normalized.

    Returns a :class:`~queries.kernels.MetricResult`: ``.values`` (dict person -> value),
    ``.method`` (``"networkx"``/``"igraph"`` exact, or ``"sampled"``), ``.k`` pivots and
    ``.detail`` (e.g. ``"sampled: 500 pivots of 80000 people, seed 0 (igraph)"``).
    ``method="auto"`` picks by size; an explicit ``k`` smaller than the network samples.

    References: Freeman, L. C. (1977). A set of measures of centrality based on
    betweenness. Sociometry 40, 35-41. Brandes, U. (2001) (algorithm); Brandes, U. &
    Pich, C. (2007) (pivot sampling).

    >>> r = betweenness(nx.star_graph(3))   # hub 0 lies on all 3 leaf-leaf paths
    >>> r.values[0], r.values[1], r.method
    (1.0, 0.0, 'networkx')
    """
    return kernels.betweenness(G, normalized=normalized, method=method, k=k, seed=seed, weight=weight)


def constraint(G, *, method="auto", weight=None) -> dict:
    """Burt's constraint of each person: person -> value, NaN for isolates.

    For an evaluator: how much a parent's contacts are tied up with each other. Low
    constraint = contacts in separate circles (access to non-redundant information,
    brokerage opportunity); high constraint (up to about 1, or above with a single
    contact who has other ties) = a closed, dense circle.

    Formula: ``C_i = sum_{j in N(i)} (p_ij + sum_{q != i, j} p_iq p_qj)^2`` with ``p_ij``
    the share of i's tie strength invested in j. Isolates have no contacts: NaN.

    Reference: Burt, R. S. (1992). Structural Holes. Harvard University Press, p. 55.

    >>> c = constraint(nx.star_graph(2))    # hub: p = 1/2 to each leaf, no indirect paths
    >>> c[0], c[1]
    (0.5, 1.0)
    """
    return kernels.constraint(G, method=method, weight=weight).values


def effective_size(G, *, weight=None) -> dict:
    """Burt's effective size of each person's network: person -> value, NaN for isolates.

    For an evaluator: the number of a parent's contacts who are *non-redundant* -- not
    already tied to the parent's other contacts. A parent with 6 contacts who all know
    each other has an effective size near 1; with 6 unconnected contacts, 6.

    Formula (Borgatti's form for unweighted undirected ties): ``n - 2t / n``, n = number
    of contacts, t = ties among them; the general weighted form is Burt's
    ``sum_j (1 - sum_q p_iq m_jq)``.

    References: Burt (1992), p. 52; Borgatti, S. P. (1997). Structural holes: unpacking
    Burt's redundancy measures. Connections 20(1), 35-38.

    >>> G = nx.Graph([(0, 1), (0, 2), (0, 3), (1, 2)])  # n = 3, t = 1: 3 - 2/3
    >>> round(effective_size(G)[0], 6)
    2.333333
    """
    if isinstance(G, ArrayNetwork):
        G = G.to_networkx()
    if G.number_of_nodes() >= kernels.igraph_threshold() and weight is None and not G.is_directed() \
            and not G.is_multigraph() and kernels.igraph_available():
        return _effective_size_igraph(G)
    return nx.effective_size(G, weight=weight)


def gould_fernandez(D, attr) -> dict:
    """Gould & Fernandez brokerage roles of each person in the directed naming network.

    For an evaluator: not just *whether* someone brokers, but *between whom*. For every
    open two-step path a -> b -> c (a named b, b named c, a did not name c) the broker b
    gets one count in one role, by the groups of a, b and c:

    - coordinator:    a, b, c all in the same group (brokers inside own group)
    - itinerant:      a and c in one group, b in another (outside consultant)
    - representative: a with b, c elsewhere (carries own group's word out)
    - gatekeeper:     b with c, a elsewhere (controls what comes into own group)
    - liaison:        a, b, c in three different groups

    Returns person -> {role: count, ..., "total": count}. Paths through someone whose
    attribute is missing are not counted. Raw counts; compare across people with care
    (they grow with degree).

    Reference: Gould, R. V. & Fernandez, R. M. (1989). Structures of mediation: a formal
    approach to brokerage in transaction networks. Sociological Methodology 19, 89-126.

    >>> D = nx.DiGraph([("a", "b"), ("b", "c")])
    >>> nx.set_node_attributes(D, {"a": "x", "b": "y", "c": "x"}, "race")
    >>> gould_fernandez(D, "race")["b"]
    {'coordinator': 0, 'itinerant': 1, 'representative': 0, 'gatekeeper': 0, 'liaison': 0, 'total': 1}
    """
    net, codes = _gf_input(D, attr)
    broker, role = _gf_paths(net, codes)
    counts = np.bincount(broker * len(GF_ROLES) + role, minlength=net.n * len(GF_ROLES)).reshape(net.n, len(GF_ROLES))
    result = {}
    for v, row in zip(net.ids.tolist(), counts.tolist()):
        entry = dict(zip(GF_ROLES, row))
        entry["total"] = sum(row)
        result[v] = entry
    return result


def gould_fernandez_by_group(D, attr) -> dict:
    """Gould-Fernandez role counts summed over the brokers of each group: group -> {role: count}.

    For an evaluator: which racial or income groups do the brokering, and in which roles (e.g. how
    often Latino parents are the gatekeepers into their own group). Every group found is listed, with
    every role and the ``total``. Same counts as summing :func:`gould_fernandez` by the broker's group,
    computed without a per-person table (fast on 100,000 people).

    >>> D = nx.DiGraph([("a", "b"), ("b", "c"), ("c", "d")])
    >>> nx.set_node_attributes(D, {"a": "x", "b": "y", "c": "x", "d": "x"}, "race")
    >>> {g: {r: c for r, c in roles.items() if c} for g, roles in gould_fernandez_by_group(D, "race").items()}
    {'x': {'gatekeeper': 1, 'total': 1}, 'y': {'itinerant': 1, 'total': 1}}
    """
    net, codes = _gf_input(D, attr)
    groups = net.codes(attr)[1]
    broker, role = _gf_paths(net, codes)
    k = len(GF_ROLES)
    table = np.bincount(codes[broker] * k + role, minlength=len(groups) * k).reshape(len(groups), k)
    return {str(g): {**dict(zip(GF_ROLES, row)), "total": sum(row)} for g, row in zip(groups, table.tolist())}


def bridges(G) -> list:
    """Ties whose removal would split a connected part of the network: list of (u, v).

    For an evaluator: the single threads holding parts of the program together; if that
    relationship lapses, two groups of parents lose all contact.

    Reference: standard graph theory (Tarjan 1974); Granovetter, M. (1973). The strength
    of weak ties. American Journal of Sociology 78(6), 1360-1380.

    >>> bridges(nx.Graph([("a", "b"), ("b", "c"), ("c", "a"), ("c", "d")]))
    [('c', 'd')]
    """
    _need_undirected(G, "bridges")
    net = as_arrays(G)
    u, v = _bridge_ends(net)
    return sorted((_sorted_pair(a, b) for a, b in zip(net.ids[u].tolist(), net.ids[v].tolist())), key=_pair_key)


def local_bridges(G, *, with_span: bool | None = None) -> list:
    """Ties that are the only short route between two circles: list of dicts.

    For an evaluator: a local bridge links two people who share no contacts; ``span`` is
    how far apart they would be without this tie (the larger, the more the tie reaches
    into a different part of the network). ``span`` is None and ``is_bridge`` True when
    there would be no path at all.

    Returns ``[{"u", "v", "span", "is_bridge"}]`` sorted by span (None first), then by ids.
    The span costs one shortest-path search per local bridge, so ``with_span=None`` (auto)
    computes it only below ``CIVICTIES_IGRAPH_THRESHOLD`` people; without it ``span`` is None
    for every tie and ``is_bridge`` still says which local bridges are full bridges.

    Reference: Granovetter (1973); Easley, D. & Kleinberg, J. (2010). Networks, Crowds,
    and Markets, ch. 3.

    >>> local_bridges(nx.Graph([("a", "b"), ("b", "c"), ("c", "d"), ("d", "a"), ("d", "e")]))[0]
    {'u': 'd', 'v': 'e', 'span': None, 'is_bridge': True}
    """
    _need_undirected(G, "local_bridges")
    net = as_arrays(G)
    if with_span is None:
        with_span = net.n < kernels.igraph_threshold()
    if not with_span:
        lo, hi = net.pairs()
        local = ~_in_triangle(net, lo, hi)
        bu, bv = _bridge_ends(net)
        n = max(net.n, 1)
        full = np.isin(lo * n + hi, np.minimum(bu, bv) * n + np.maximum(bu, bv))
        rows = []
        for a, b, is_bridge in zip(net.ids[lo[local]].tolist(), net.ids[hi[local]].tolist(), full[local].tolist()):
            a, b = _sorted_pair(a, b)
            rows.append({"u": a, "v": b, "span": None, "is_bridge": is_bridge})
        rows.sort(key=lambda r: _pair_key((r["u"], r["v"])))
        return rows
    H = nx.Graph(net.to_networkx() if not isinstance(G, nx.Graph) else G)
    H.remove_edges_from(list(nx.selfloop_edges(H)))
    rows = []
    for u, v, span in nx.local_bridges(H, with_span=True):
        u, v = _sorted_pair(u, v)
        infinite = span == float("inf")
        rows.append({"u": u, "v": v, "span": None if infinite else int(span), "is_bridge": infinite})
    rows.sort(key=lambda r: (r["span"] is not None, -(r["span"] or 0), _pair_key((r["u"], r["v"]))))
    return rows


def top_brokers(G, *, by=None, n=10, method="auto", k=None, seed=0, values: dict | None = None) -> dict:
    """The ``n`` people with the highest betweenness, overall or per group.

    For an evaluator: who the program's connectors are at each site (``by="site_id"``).
    Betweenness is measured on the whole network, so a parent who links two sites counts
    as a broker at her own site. Returns group -> ``[{"person_id", "betweenness"}]``,
    highest first (ties broken by person_id); with ``by=None`` the single group is
    ``"all"``; people without the ``by`` attribute are grouped under None. ``values``:
    betweenness already computed for ``G`` (saves computing it again on a large network).

    >>> top_brokers(nx.path_graph(["a", "b", "c"]), n=1)
    {'all': [{'person_id': 'b', 'betweenness': 1.0}]}
    """
    if not isinstance(n, int) or n < 1:
        raise QueryError(f"n must be a positive integer; got {n!r}")
    if values is None:
        values = kernels.betweenness(G, method=method, k=k, seed=seed).values
    group_of = {} if by is None else dict(zip(G.ids.tolist(), G.column(by).tolist())) \
        if isinstance(G, ArrayNetwork) else {v: d.get(by) for v, d in G.nodes(data=True)}
    groups = defaultdict(list)
    for v, b in values.items():
        key = "all" if by is None else group_of.get(v)
        groups[key].append((v, b))
    result = {}
    for key in sorted(groups, key=lambda x: (x is None, str(x))):
        ranked = sorted(groups[key], key=lambda vb: (-vb[1], str(vb[0])))[:n]
        result[key] = [{"person_id": v, "betweenness": b} for v, b in ranked]
    return result


# -- private helpers ---------------------------------------------------------------------


def _gf_input(D, attr):
    if not D.is_directed():
        raise QueryError("gould_fernandez needs the directed naming network (nx.DiGraph, reporter -> named)")
    if not isinstance(attr, str) or not attr:
        raise QueryError(f"attr must be the name of a node attribute; got {attr!r}")
    net = as_arrays(D)
    return net, net.codes(attr)[0]


def _gf_paths(net, codes):
    """Every open two-step path a -> b -> c among labelled people: (broker b, role index) arrays."""
    n = max(net.n, 1)
    keep = (net.src != net.dst) & (codes[net.src] >= 0) & (codes[net.dst] >= 0)
    key = np.unique(net.src[keep] * n + net.dst[keep])       # distinct named pairs
    a, b = key // n, key % n
    order = np.argsort(a, kind="stable")                      # out-lists: edges sorted by sender
    out_start = np.searchsorted(a[order], np.arange(n + 1))
    out_deg = np.diff(out_start)
    # pair each edge a -> b with each edge b -> c: repeat it once per edge leaving b
    reps = out_deg[b]
    first = np.repeat(np.arange(len(a)), reps)
    offset = np.arange(len(first)) - np.repeat(np.cumsum(reps) - reps, reps)
    second = order[out_start[b[first]] + offset]
    pa, pb, pc = a[first], b[first], b[second]
    keep = (pa != pc) & ~np.isin(pa * n + pc, key)            # open: a did not name c
    pa, pb, pc = pa[keep], pb[keep], pc[keep]
    ga, gb, gc = codes[pa], codes[pb], codes[pc]
    role = np.full(len(pb), 4, dtype=np.int64)                # liaison unless below
    role[gb == gc] = 3                                        # gatekeeper
    role[ga == gb] = 2                                        # representative
    role[ga == gc] = 1                                        # itinerant
    role[(ga == gb) & (gb == gc)] = 0                         # coordinator
    return pb, role


def _bridge_ends(net):
    """The bridges of the simple undirected network, as (u, v) position arrays."""
    lo, hi = net.pairs()
    if kernels.igraph_available() and len(lo):
        import igraph as ig

        g = ig.Graph(n=net.n)
        g.add_edges(np.column_stack([lo, hi]))
        which = np.asarray(g.bridges(), dtype=np.int64)
        return lo[which], hi[which]
    H = nx.Graph()
    H.add_nodes_from(range(net.n))
    H.add_edges_from(zip(lo.tolist(), hi.tolist()))
    found = np.array(list(nx.bridges(H)), dtype=np.int64).reshape(-1, 2)
    return found[:, 0], found[:, 1]


def _in_triangle(net, lo, hi):
    """For each pair (lo, hi) of the simple network: do the two share a contact?"""
    if not len(lo):
        return np.zeros(0, dtype=bool)
    A = net.adjacency()
    common = np.asarray(A[lo].multiply(A[hi]).sum(axis=1)).ravel()
    return common > 0


def _need_undirected(G, name):
    if G.is_directed():
        raise QueryError(f"{name} needs an undirected tie network; use network_views(D)['union'] for a DiGraph")


def _sorted_pair(u, v):
    try:
        return (u, v) if u <= v else (v, u)
    except TypeError:
        return (u, v) if str(u) <= str(v) else (v, u)


def _pair_key(pair):
    return (str(pair[0]), str(pair[1]))


def _effective_size_igraph(G):
    # Borgatti's n - 2t/n with t = triangles through the node = C_i * n(n-1)/2, where the
    # local clustering C_i comes from igraph in C (exact for simple undirected graphs).
    H = G
    if nx.number_of_selfloops(G):
        H = G.copy()
        H.remove_edges_from(list(nx.selfloop_edges(H)))
    g = kernels.to_igraph(H)
    clustering = g.transitivity_local_undirected(mode="zero")
    values = {}
    for v, d, c in zip(g.vs["name"], g.degree(), clustering):
        if d == 0:
            values[v] = float("nan")
        else:
            t = round(c * d * (d - 1) / 2)
            values[v] = d - 2 * t / d
    return values
