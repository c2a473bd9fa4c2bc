"""Brokerage: who connects otherwise separate parts of the program network?

Betweenness finds people on many shortest paths; Burt's constraint and effective size
find people whose contacts do not know each other (structural holes); Gould-Fernandez
roles say *which* groups a broker connects; bridges are the ties whose loss would split
the network. Heavy kernels are routed by size (see :mod:`queries.kernels`).
"""

from __future__ import annotations

from collections import defaultdict

import networkx as nx

from queries import kernels
from queries.errors import QueryError
from queries.kernels import MetricResult

__all__ = [
    "MetricResult",
    "GF_ROLES",
    "betweenness",
    "constraint",
    "effective_size",
    "gould_fernandez",
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
    if not D.is_directed():
        raise QueryError("gould_fernandez needs the directed naming network (nx.DiGraph, reporter -> named)")
    if not isinstance(attr, str) or not attr:
        raise QueryError(f"attr must be the name of a node attribute; got {attr!r}")
    labels = {v: d[attr] for v, d in D.nodes(data=True) if d.get(attr) is not None and d.get(attr) == d.get(attr)}
    result = {}
    for b in D:
        counts = dict.fromkeys(GF_ROLES, 0)
        if b in labels:
            gb = labels[b]
            senders = [a for a in D.predecessors(b) if a != b and a in labels]
            receivers = [c for c in D.successors(b) if c != b and c in labels]
            for a in senders:
                ga = labels[a]
                for c in receivers:
                    if c == a or D.has_edge(a, c):
                        continue
                    gc = labels[c]
                    counts[_gf_role(ga, gb, gc)] += 1
        counts["total"] = sum(counts[r] for r in GF_ROLES)
        result[b] = counts
    return result


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
    return sorted((tuple(_sorted_pair(u, v)) for u, v in nx.bridges(nx.Graph(G))), key=_pair_key)


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
    H = nx.Graph(G)
    H.remove_edges_from(list(nx.selfloop_edges(H)))
    if with_span is None:
        with_span = H.number_of_nodes() < kernels.igraph_threshold()
    rows = []
    if not with_span:
        full = {_sorted_pair(u, v) for u, v in nx.bridges(H)}
        for u, v in nx.local_bridges(H, with_span=False):
            pair = _sorted_pair(u, v)
            rows.append({"u": pair[0], "v": pair[1], "span": None, "is_bridge": pair in full})
        rows.sort(key=lambda r: _pair_key((r["u"], r["v"])))
        return rows
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
    groups = defaultdict(list)
    for v, b in values.items():
        key = "all" if by is None else G.nodes[v].get(by)
        groups[key].append((v, b))
    result = {}
    for key in sorted(groups, key=lambda x: (x is None, str(x))):
        ranked = sorted(groups[key], key=lambda vb: (-vb[1], str(vb[0])))[:n]
        result[key] = [{"person_id": v, "betweenness": b} for v, b in ranked]
    return result


# -- private helpers ---------------------------------------------------------------------


def _gf_role(ga, gb, gc):
    if ga == gb == gc:
        return "coordinator"
    if ga == gc:
        return "itinerant"
    if ga == gb:
        return "representative"
    if gb == gc:
        return "gatekeeper"
    return "liaison"


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
