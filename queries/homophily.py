"""Homophily: do program ties stay inside groups (race, class, language) or cross them?

All measures take the tie network (``nx.Graph``) or the directed naming network
(``nx.DiGraph``, reporter -> named person; edges counted as they are) and the name of a
node attribute. People whose attribute is absent, None or NaN are left out of the counts
(their ties are neither internal nor external); a measure with nothing left to count is
undefined and returns None. Self-ties are ignored.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Mapping

import networkx as nx
import numpy as np
import pandas as pd

from queries.errors import QueryError

__all__ = [
    "ei_index",
    "ei_by_group",
    "ei_by_node",
    "assortativity",
    "mixing_matrix",
    "coleman_homophily",
    "ei_permutation_test",
    "network_views",
]


def ei_index(G, attr, *, nodes=None) -> float | None:
    """Krackhardt & Stern's E-I index of the whole network for one attribute.

    For an evaluator: -1 means every tie is inside a group (no bridging), +1 means every
    tie crosses groups, 0 means as many crossing as internal ties. It ignores group
    sizes: compare with :func:`ei_permutation_test` for what chance alone would give.

    Formula: ``(E - I) / (E + I)``, E = ties between people of different groups,
    I = ties within a group, over ties where both people have the attribute.
    ``nodes`` restricts the count to the sub-network among those people (e.g. one site).
    Returns None when no tie qualifies.

    Reference: Krackhardt, D. & Stern, R. N. (1988). Informal networks and
    organizational crises. Social Psychology Quarterly 51(2), 123-140.

    >>> G = nx.path_graph(["a", "b", "c", "d"])
    >>> nx.set_node_attributes(G, {"a": "x", "b": "x", "c": "y", "d": "y"}, "race")
    >>> ei_index(G, "race")   # a-b internal, b-c external, c-d internal: (1 - 2) / 3
    -0.3333333333333333
    >>> ei_index(G, "race", nodes=["a", "b"]) # only the a-b tie
    -1.0
    """
    labels = _labels(G, attr)
    H = G if nodes is None else G.subgraph(_check_nodes(G, nodes))
    external = internal = 0
    for u, v in H.edges():
        if u == v or u not in labels or v not in labels:
            continue
        if labels[u] == labels[v]:
            internal += 1
        else:
            external += 1
    return _ei(external, internal)


def ei_by_group(G, attr) -> dict:
    """E-I index of the ties touching each group's members: group -> E-I (None if no ties).

    For an evaluator: which groups reach out and which stay among themselves. A group
    with E-I near -1 is socially enclosed within the program.

    Formula per group g: ``(E_g - I_g) / (E_g + I_g)`` where I_g = ties between two members
    of g (counted once) and E_g = ties between a member of g and a member of another
    group. In a directed network both sent and received ties count.

    Reference: Krackhardt & Stern (1988).

    >>> G = nx.path_graph(["a", "b", "c", "d"])
    >>> nx.set_node_attributes(G, {"a": "x", "b": "x", "c": "y", "d": "y"}, "race")
    >>> ei_by_group(G, "race")   # x: a-b internal, b-c external -> (1 - 1) / 2
    {'x': 0.0, 'y': 0.0}
    """
    labels = _labels(G, attr)
    external: Counter = Counter()
    internal: Counter = Counter()
    for u, v in G.edges():
        if u == v or u not in labels or v not in labels:
            continue
        a, b = labels[u], labels[v]
        if a == b:
            internal[a] += 1
        else:
            external[a] += 1
            external[b] += 1
    return {g: _ei(external[g], internal[g]) for g in _sorted(set(labels.values()))}


def ei_by_node(G, attr) -> dict:
    """Each person's E-I index over their own ties: node -> E-I, or None.

    For an evaluator: who in the program has ties across groups (+1: all their ties
    cross) and who only knows people like themselves (-1). None for isolates, people
    whose attribute is missing, and people whose contacts all lack the attribute.

    Formula: ``(E_i - I_i) / (E_i + I_i)`` over i's contacts with the attribute; in a
    directed network both people i named and people who named i count.

    Reference: Krackhardt & Stern (1988).

    >>> G = nx.path_graph(["a", "b", "c", "d"])
    >>> nx.set_node_attributes(G, {"a": "x", "b": "x", "c": "y", "d": "y"}, "race")
    >>> G.add_node("e", race="y")
    >>> ei_by_node(G, "race")
    {'a': -1.0, 'b': 0.0, 'c': 0.0, 'd': -1.0, 'e': None}
    """
    labels = _labels(G, attr)
    result = {}
    for v in G:
        if v not in labels:
            result[v] = None
            continue
        external = internal = 0
        for u in _contacts(G, v):
            if u == v or u not in labels:
                continue
            if labels[u] == labels[v]:
                internal += 1
            else:
                external += 1
        result[v] = _ei(external, internal)
    return result


def assortativity(G, attr) -> float | None:
    """Newman's attribute assortativity coefficient r.

    For an evaluator: like a correlation between the groups of tied people, corrected
    for group sizes. r = 1: ties only within groups; r = 0: groups mix as if ties were
    random given each group's number of ties; r < 0: ties prefer other groups. Unlike
    E-I it does not fall just because one group is large.

    Formula: ``r = (sum_i e_ii - sum_i a_i b_i) / (1 - sum_i a_i b_i)`` where e is the
    share of tie-ends between groups (mixing matrix), a, b its row and column sums.
    Computed from the mixing matrix of the people who have the attribute (the same value as
    ``nx.attribute_assortativity_coefficient``, which the tests compare against, in a fraction
    of the time). None when undefined (no ties, or everyone in one group).

    Reference: Newman, M. E. J. (2003). Mixing patterns in networks. Phys. Rev. E 67, 026126.

    >>> G = nx.path_graph(["a", "b", "c", "d"])
    >>> nx.set_node_attributes(G, {"a": "x", "b": "x", "c": "y", "d": "y"}, "race")
    >>> round(assortativity(G, "race"), 6)  # e = [[2, 1], [1, 2]] / 6 -> (2/3 - 1/2) / (1/2)
    0.333333
    """
    labels = _labels(G, attr)
    if len(set(labels.values())) < 2:
        return None
    groups = {g: i for i, g in enumerate(_sorted(set(labels.values())))}
    pairs = np.array([(groups[labels[u]], groups[labels[v]]) for u, v in G.edges()
                      if u != v and u in labels and v in labels], dtype=np.int64).reshape(-1, 2)
    if len(pairs) == 0:
        return None
    k = len(groups)
    e = np.zeros((k, k))
    np.add.at(e, (pairs[:, 0], pairs[:, 1]), 1.0)
    if not G.is_directed():
        e = e + e.T  # each undirected tie has two ends
    e /= e.sum()
    ab = float(e.sum(axis=1) @ e.sum(axis=0))
    if ab >= 1.0:
        return None
    r = (float(np.trace(e)) - ab) / (1.0 - ab)
    return r if math.isfinite(r) else None


def mixing_matrix(G, attr) -> pd.DataFrame:
    """Counts of ties between and within groups: DataFrame groups x groups.

    For an evaluator: the raw table behind every homophily number -- how many ties link
    Black and Latino parents, low- and middle-income parents, and so on.

    Undirected: the diagonal cell [g, g] is the number of ties within g; the off-diagonal
    cells [g, h] and [h, g] both hold the number of ties between g and h (symmetric; the
    total number of ties is the sum of the upper triangle). Directed: rows are the group
    of the person naming, columns the group of the person named. Groups are the sorted
    attribute values found; people without the attribute are left out.

    Reference: Newman (2003), mixing matrix e_ij (here as counts, not shares).

    >>> G = nx.path_graph(["a", "b", "c", "d"])
    >>> nx.set_node_attributes(G, {"a": "x", "b": "x", "c": "y", "d": "y"}, "race")
    >>> mixing_matrix(G, "race").values.tolist()
    [[1, 1], [1, 1]]
    """
    labels = _labels(G, attr)
    groups = _sorted(set(labels.values()))
    M = pd.DataFrame(0, index=pd.Index(groups, name=attr), columns=pd.Index(groups, name=attr))
    counts: Counter = Counter()
    for u, v in G.edges():
        if u == v or u not in labels or v not in labels:
            continue
        counts[(labels[u], labels[v])] += 1
    directed = G.is_directed()
    for (a, b), c in counts.items():
        M.loc[a, b] += c
        if not directed and a != b:
            M.loc[b, a] += c
    return M


def coleman_homophily(G, attr) -> dict:
    """Coleman's homophily index per group: group -> index in [-1, 1], or None.

    For an evaluator: does a group's share of own-group ties exceed what its size would
    give by chance? 0 = as expected from group size; 1 = all ties within the group;
    negative = fewer own-group ties than its size predicts (-1: none at all). Unlike E-I
    it corrects for group size, so small groups are not penalised for being small.

    Formula: ``s_i`` = share of the ties of group i's members that go to group i (directed:
    ties sent; undirected: each tie counted from both ends), ``w_i`` = group i's share of
    the people with the attribute (isolates included). Index = ``(s_i - w_i) / (1 - w_i)``
    when ``s_i >= w_i``, else ``(s_i - w_i) / w_i``. None when the group has no ties, or
    when it is the whole population (w_i = 1).

    Reference: Coleman, J. S. (1958). Relational analysis. Human Organization 17(4), 28-36;
    as formulated in Bojanowski, M. & Corten, R. (2014). Measuring segregation in social
    networks. Social Networks 39, 14-32.

    >>> G = nx.path_graph(["a", "b", "c", "d"])
    >>> nx.set_node_attributes(G, {"a": "x", "b": "x", "c": "y", "d": "y"}, "race")
    >>> {g: round(c, 6) for g, c in coleman_homophily(G, "race").items()}  # s=2/3, w=1/2
    {'x': 0.333333, 'y': 0.333333}
    """
    labels = _labels(G, attr)
    sizes = Counter(labels.values())
    n = sum(sizes.values())
    same: Counter = Counter()
    total: Counter = Counter()
    directed = G.is_directed()
    for u, v in G.edges():
        if u == v or u not in labels or v not in labels:
            continue
        a, b = labels[u], labels[v]
        total[a] += 1
        same[a] += a == b
        if not directed:
            total[b] += 1
            same[b] += a == b
    result = {}
    for g in _sorted(sizes):
        w = sizes[g] / n
        if total[g] == 0:
            result[g] = None
            continue
        s = same[g] / total[g]
        if s >= w:
            result[g] = None if w == 1 else (s - w) / (1 - w)
        else:
            result[g] = (s - w) / w
    return result


def ei_permutation_test(G, attr, *, n_permutations=1000, seed=0, strata=None) -> dict:
    """Is the network's E-I index different from what random group labels would give?

    For an evaluator: the raw E-I index depends on group sizes (with one large group most
    ties are internal even among strangers). This test keeps the network and the group
    sizes fixed, shuffles who belongs to which group, and reports where the observed E-I
    falls. ``observed`` above ``expected`` with a small ``p_value`` means more
    cross-group ties than chance; below means more segregated than chance.

    With ``strata`` (a node -> stratum mapping, or the name of a node attribute, e.g.
    cohort or site) labels are shuffled only within each stratum, so the comparison holds
    each cohort's composition fixed; people without a stratum form one stratum together.

    Returns ``{observed, expected, sd, p_value, n_permutations, n_ties, method}``:
    ``expected`` and ``sd`` are the mean and standard deviation of E-I under the null;
    ``p_value`` is two-sided with the +1 correction,
    ``(#{|null - expected| >= |observed - expected|} + 1) / (n_permutations + 1)``.
    ``observed``, ``expected``, ``sd`` and ``p_value`` are None when no tie qualifies.

    Reference: Krackhardt & Stern (1988) (E-I with a permutation benchmark); Good, P.
    (2005) Permutation, Parametric, and Bootstrap Tests of Hypotheses (+1 correction).

    >>> G = nx.path_graph(["a", "b", "c", "d"])
    >>> nx.set_node_attributes(G, {"a": "x", "b": "x", "c": "y", "d": "y"}, "race")
    >>> r = ei_permutation_test(G, "race", n_permutations=200)
    >>> r["observed"], r["n_permutations"], 0 < r["p_value"] <= 1
    (-0.3333333333333333, 200, True)
    """
    _check_permutations(n_permutations)
    labels = _labels(G, attr)
    order, u_idx, v_idx, codes, strata_codes = _prepare(labels, [G], strata)[0:5]
    u_idx, v_idx = u_idx[0], v_idx[0]
    m = len(u_idx)
    method = _method_text(n_permutations, strata)
    if m == 0:
        return {"observed": None, "expected": None, "sd": None, "p_value": None,
                "n_permutations": n_permutations, "n_ties": 0, "method": method}
    observed = float(_ei_from_codes(codes[None, :], u_idx, v_idx)[0])
    rng = np.random.default_rng(seed)
    null = np.concatenate([
        _ei_from_codes(batch, u_idx, v_idx)
        for batch in _label_permutations(codes, strata_codes, n_permutations, rng, m)
    ])
    expected = float(null.mean())
    p = _two_sided_p(null, observed, expected)
    return {"observed": observed, "expected": expected, "sd": float(null.std(ddof=1)) if len(null) > 1 else 0.0,
            "p_value": p, "n_permutations": n_permutations, "n_ties": m, "method": method}


def network_views(D) -> dict:
    """Undirected views of the directed naming network: ``{"union": G, "mutual": G}``.

    For an evaluator: "union" is a tie if either person named the other (who is in
    contact); "mutual" only if both named each other (the stronger, confirmed ties).
    Both keep every person (isolates too) and their attributes. Union edges carry
    ``reciprocated`` (bool); set-valued edge attributes (``waves``, ``tie_types``) are
    merged over both directions, other attributes are taken from one direction.

    >>> D = nx.DiGraph([("a", "b"), ("b", "a"), ("b", "c")])
    >>> views = network_views(D)
    >>> sorted(views["union"].edges()), sorted(views["mutual"].edges())
    ([('a', 'b'), ('b', 'c')], [('a', 'b')])
    """
    if not D.is_directed():
        raise QueryError("network_views needs the directed naming network (nx.DiGraph)")
    union = nx.Graph()
    union.add_nodes_from(D.nodes(data=True))
    union.graph.update(D.graph)
    for u, v, d in D.edges(data=True):
        if u == v:
            continue
        if union.has_edge(u, v):
            data = union[u][v]
            for key, value in d.items():
                if isinstance(value, (set, frozenset)) and isinstance(data.get(key), (set, frozenset)):
                    data[key] = set(data[key]) | set(value)
                else:
                    data.setdefault(key, value)
        else:
            union.add_edge(u, v, **{k: (set(x) if isinstance(x, (set, frozenset)) else x) for k, x in d.items()})
        union[u][v]["reciprocated"] = D.has_edge(v, u)
    mutual = nx.Graph()
    mutual.add_nodes_from(D.nodes(data=True))
    mutual.graph.update(D.graph)
    mutual.add_edges_from((u, v, d) for u, v, d in union.edges(data=True) if d["reciprocated"])
    return {"union": union, "mutual": mutual}


# -- private helpers ---------------------------------------------------------------------


def _is_missing(value) -> bool:
    if value is None:
        return True
    try:
        return isinstance(value, float) and math.isnan(value)
    except TypeError:
        return False


def _labels(G, attr) -> dict:
    if not isinstance(attr, str) or not attr:
        raise QueryError(f"attr must be the name of a node attribute, e.g. 'race_ethnicity'; got {attr!r}")
    if not isinstance(G, nx.Graph):
        raise QueryError(f"expected a networkx graph; got {type(G).__name__}")
    return {v: d[attr] for v, d in G.nodes(data=True) if not _is_missing(d.get(attr))}


def _check_nodes(G, nodes):
    nodes = list(nodes)
    missing = [v for v in nodes if v not in G]
    if missing:
        raise QueryError(f"{len(missing)} node(s) not in the network, e.g. {missing[:3]!r}")
    return nodes


def _contacts(G, v):
    if G.is_directed():
        yield from G.successors(v)
        yield from G.predecessors(v)
    elif G.is_multigraph():
        for _, u in G.edges(v):
            yield u
    else:
        yield from G.neighbors(v)


def _ei(external, internal):
    total = external + internal
    return None if total == 0 else (external - internal) / total


def _sorted(values):
    try:
        return sorted(values)
    except TypeError:
        return sorted(values, key=str)


def _check_permutations(n_permutations):
    if not isinstance(n_permutations, (int, np.integer)) or isinstance(n_permutations, bool) or n_permutations < 1:
        raise QueryError(f"n_permutations must be a positive integer; got {n_permutations!r}")


def _method_text(n_permutations, strata):
    where = ""
    if strata is not None:
        where = f" within strata ({strata!r})" if isinstance(strata, str) else " within strata"
    return f"label permutation, {n_permutations} shuffles{where}"


def _prepare(labels, graphs, strata):
    """Index the labelled people (sorted by stratum) and each graph's qualifying ties.

    Returns (order, [u_idx per graph], [v_idx per graph], codes, strata_codes): people in
    ``order`` are sorted by stratum so every stratum is a contiguous block, which is what
    :func:`_label_permutations` shuffles within.
    """
    people = list(labels)
    if strata is None:
        stratum_of = dict.fromkeys(people, 0)
    else:
        if isinstance(strata, str):
            source = {}
            for G in graphs:
                for v, d in G.nodes(data=True):
                    if v not in source or _is_missing(source[v]):
                        source[v] = d.get(strata)
        elif isinstance(strata, Mapping):
            source = strata
        else:
            raise QueryError("strata must be a node -> stratum mapping or a node attribute name")
        raw = {v: source.get(v) for v in people}
        keys = {s: i for i, s in enumerate(_sorted({s for s in raw.values() if not _is_missing(s)}))}
        missing_code = len(keys)
        stratum_of = {v: (missing_code if _is_missing(s) else keys[s]) for v, s in raw.items()}
    order = sorted(people, key=lambda v: stratum_of[v]) if strata is not None else people
    index = {v: i for i, v in enumerate(order)}
    group_codes = {g: i for i, g in enumerate(_sorted(set(labels.values())))}
    codes = np.array([group_codes[labels[v]] for v in order], dtype=np.int32)
    strata_codes = np.array([stratum_of[v] for v in order], dtype=np.int64)
    us, vs = [], []
    for G in graphs:
        pairs = [(index[u], index[v]) for u, v in G.edges() if u != v and u in index and v in index]
        arr = np.array(pairs, dtype=np.int64).reshape(-1, 2)
        us.append(arr[:, 0])
        vs.append(arr[:, 1])
    return order, us, vs, codes, strata_codes


def _label_permutations(codes, strata_codes, n_permutations, rng, m):
    """Yield batches (rows = permutations) of group codes shuffled within strata.

    People are sorted by stratum, so each stratum is a contiguous block. Large blocks are
    shuffled in place with ``rng.permuted`` (linear time); all the small blocks together
    by sorting ``stratum + U(0,1)`` per row, which orders each small block at random.
    """
    n = len(codes)
    batch = max(1, min(n_permutations, int(4_000_000 // max(n, m, 1))))
    done = 0
    starts = np.r_[0, np.flatnonzero(np.diff(strata_codes)) + 1] if n else np.zeros(0, dtype=np.int64)
    ends = np.r_[starts[1:], n] if n else starts
    large = [(a, b) for a, b in zip(starts, ends) if b - a >= _LARGE_STRATUM]
    small = np.concatenate([np.arange(a, b) for a, b in zip(starts, ends) if b - a < _LARGE_STRATUM] or
                           [np.zeros(0, dtype=np.int64)])
    while done < n_permutations:
        b = min(batch, n_permutations - done)
        out = np.empty((b, n), dtype=codes.dtype)
        for a, e in large:
            out[:, a:e] = rng.permuted(np.broadcast_to(codes[a:e], (b, e - a)), axis=1)
        if len(small):
            keys = strata_codes[small][None, :] + rng.random((b, len(small)))
            out[:, small] = codes[small][np.argsort(keys, axis=1)]
        yield out
        done += b


_LARGE_STRATUM = 256  # blocks at least this big are shuffled with rng.permuted, the rest by one sort


def _ei_from_codes(code_rows, u_idx, v_idx):
    m = len(u_idx)
    external = (code_rows[:, u_idx] != code_rows[:, v_idx]).sum(axis=1)
    return (2.0 * external - m) / m


def _two_sided_p(null, observed, expected):
    # A small tolerance so that ties with the observed value (exact in theory, off by
    # rounding in floating point) count as "at least as extreme".
    extreme = np.abs(null - expected) >= abs(observed - expected) - 1e-12
    return float((extreme.sum() + 1) / (len(null) + 1))
