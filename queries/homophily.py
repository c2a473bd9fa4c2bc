"""Homophily: do program ties stay inside groups (race, class, language) or cross them?

All measures take the tie network (``nx.Graph``) or the directed naming network
(``nx.DiGraph``, reporter -> named person; edges counted as they are) and the name of a
node attribute. People whose attribute is absent, None or NaN are left out of the counts
(their ties are neither internal nor external); a measure with nothing left to count is
undefined and returns None. Self-ties are ignored.
"""

from __future__ import annotations

import math
from collections.abc import Mapping

import networkx as nx
import numpy as np
import pandas as pd

from queries import joincount
from queries.arrays import ArrayNetwork, as_arrays
from queries.errors import QueryError
from queries.permutation import (GroupBlocks, Shuffler, check_permutations, cross_by_group, ei_from_counts,
                                 method_text, null_summary, small_codes, strata_layout)

__all__ = [
    "ei_index",
    "cross_tie_counts",
    "ei_by_group",
    "ei_by_node",
    "assortativity",
    "mixing_matrix",
    "coleman_homophily",
    "ei_permutation_test",
    "ei_permutation_tests",
    "group_ei_tests",
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
    cross, total = cross_tie_counts(G, attr, nodes=nodes)
    return _ei(cross, total - cross)


def cross_tie_counts(G, attr, *, nodes=None) -> tuple[int, int]:
    """(ties between people of different groups, ties whose two people both have the attribute), self-ties
    left out; ``nodes`` as in :func:`ei_index`. The counts behind E-I and the cross-group share.

    >>> cross_tie_counts(nx.Graph([("a", "b")]), "race")
    (0, 0)
    """
    net = as_arrays(G, weight=None)
    codes = net.codes(attr)[0]
    keep = _kept(net, codes)
    if nodes is not None:
        inside = np.zeros(net.n, dtype=bool)
        inside[net.positions(nodes)] = True
        keep &= inside[net.src] & inside[net.dst]
    return int((codes[net.src[keep]] != codes[net.dst[keep]]).sum()), int(keep.sum())


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
    net = as_arrays(G, weight=None)
    codes, groups = net.codes(attr)
    cu, cv = _edge_codes(net, codes)
    k = len(groups)
    cross = cu != cv
    internal = np.bincount(cu[~cross], minlength=k)
    external = np.bincount(cu[cross], minlength=k) + np.bincount(cv[cross], minlength=k)
    return {g: _ei(int(external[i]), int(internal[i])) for i, g in enumerate(groups)}


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
    net = as_arrays(G, weight=None)
    codes, _groups = net.codes(attr)
    keep = _kept(net, codes)
    u, v = net.src[keep], net.dst[keep]
    cross = codes[u] != codes[v]
    external = np.bincount(u[cross], minlength=net.n) + np.bincount(v[cross], minlength=net.n)
    internal = np.bincount(u[~cross], minlength=net.n) + np.bincount(v[~cross], minlength=net.n)
    return {node: (None if c < 0 else _ei(int(e), int(i)))
            for node, c, e, i in zip(net.ids.tolist(), codes, external, internal)}


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
    net = as_arrays(G, weight=None)
    codes, groups = net.codes(attr)
    if len(groups) < 2:
        return None
    cu, cv = _edge_codes(net, codes)
    if len(cu) == 0:
        return None
    k = len(groups)
    e = np.zeros((k, k))
    np.add.at(e, (cu, cv), 1.0)
    if not net.directed:
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
    net = as_arrays(G, weight=None)
    codes, groups = net.codes(attr)
    k = len(groups)
    cu, cv = _edge_codes(net, codes)
    counts = np.zeros((k, k), dtype=np.int64)
    np.add.at(counts, (cu, cv), 1)
    if not net.directed:
        counts = counts + counts.T - np.diag(np.diag(counts))
    return pd.DataFrame(counts, index=pd.Index(groups, name=attr), columns=pd.Index(groups, name=attr))


def coleman_homophily(G, attr) -> dict:
    """Coleman's homophily index per group: group -> index in [-1, 1], or None.

    For an evaluator: do a group's members name each other more than chance would give,
    given how many people in the program they could have named? 0 = as many own-group
    ties as random choice among the others would give; 1 = all of the group's ties stay
    inside it; negative = fewer own-group ties than chance (-1: none at all). Unlike E-I
    it corrects for group size, so a small group is not counted as "bridging" merely
    because it is small.

    Formula (as netseg computes it, the reference implementation): ``m`` = mixing matrix
    of arcs, ``m[i, j]`` = ties sent by members of group i to members of group j (an
    undirected tie counts as two arcs, one each way); ``d_i`` = row sum of m (all ties
    sent by group i); ``n_i`` = people in group i (isolates included), ``n = sum n_i``::

        E_i = d_i * (n_i - 1) / (n - 1)      expected own-group arcs (nobody names themselves)
        r_i = (m_ii - E_i) / (d_i - E_i)     when m_ii > E_i
        r_i = (m_ii - E_i) / E_i             otherwise

    None where that is 0/0 (netseg's NaN): a group that sends no ties, or a one-person group
    (it has nobody of its own to name, so E_i = m_ii = 0). A single group holding everyone
    gets 0 (all its ties stay inside, exactly as chance would have it).

    Coleman's 1958 paper used the approximation ``E_i = d_i * n_i / n`` (a group's share of
    all people), which counts each person as a possible contact of themselves. In a cohort of
    15-25 parents that is not negligible: with 5 Spanish speakers among 20, each can name 4
    of the 19 others (21%), not 25%. If 40% of their ties stay among themselves, the
    approximation gives (0.40 - 0.25) / 0.75 = 0.20, the exact share (0.40 - 4/19) / (15/19)
    = 0.24: the approximation understates homophily, most in the smallest groups. netseg, and
    this function, use the exact share (n_i - 1) / (n - 1).

    References: Coleman, J. S. (1958). Relational analysis: the study of social organizations
    with survey methods. Human Organization 17(4), 28-36. Bojanowski, M. & Corten, R. (2014).
    Measuring segregation in social networks. Social Networks 39, 14-32; R package netseg,
    ``coleman()`` (R/coleman.R), whose published examples the tests reproduce.

    >>> G = nx.path_graph(["a", "b", "c", "d"])
    >>> nx.set_node_attributes(G, {"a": "x", "b": "x", "c": "y", "d": "y"}, "race")
    >>> coleman_homophily(G, "race")  # x: d = 3 arcs, m = 2 (a-b both ways), E = 3 * 1/3 = 1: (2-1)/(3-1)
    {'x': 0.5, 'y': 0.5}
    """
    net = as_arrays(G, weight=None)
    codes, groups = net.codes(attr)
    k = len(groups)
    sizes = np.bincount(codes[codes >= 0], minlength=k)
    n = int(sizes.sum())
    cu, cv = _edge_codes(net, codes)
    m = np.bincount(cu[cu == cv], minlength=k)       # own-group arcs
    d = np.bincount(cu, minlength=k)                 # arcs sent
    if not net.directed:  # as netseg's as_directed(g, "mutual"): each tie is an arc each way
        m = 2 * m
        d = d + np.bincount(cv, minlength=k)
    result = {}
    for i, g in enumerate(groups):
        # Scaled by (n - 1) to stay in integers (one rounding, at the division): mm = m_ii (n-1),
        # e = E_i (n-1), dd = d_i (n-1).
        m_i, d_i, n_i = int(m[i]), int(d[i]), int(sizes[i])
        if d_i == 0:
            result[g] = None
            continue
        mm, e, dd = m_i * (n - 1), d_i * (n_i - 1), d_i * (n - 1)
        if mm > e:
            result[g] = (mm - e) / (dd - e)
        else:
            result[g] = None if e == 0 else (mm - e) / e
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
    return ei_permutation_tests(G, [attr], n_permutations=n_permutations, seed=seed, strata=strata)[attr]


def ei_permutation_tests(G, attrs, *, n_permutations=1000, seed=0, strata=None,
                         normal_from=joincount.NORMAL_FROM) -> dict:
    """:func:`ei_permutation_test` for several attributes at once: attribute -> result.

    Attributes known for exactly the same people share the shuffles (each attribute's test is
    then the same as run alone with this seed), which makes a report's four or five tests cost
    little more than one. From ``normal_from`` qualifying ties (and without strata) no shuffle is
    drawn: the shuffles' exact mean and variance give a normal p-value (queries/joincount.py), and
    ``n_permutations`` is None.

    >>> G = nx.path_graph(["a", "b", "c", "d"])
    >>> nx.set_node_attributes(G, {"a": "x", "b": "x", "c": "y", "d": "y"}, "race")
    >>> nx.set_node_attributes(G, {"a": "1", "b": "2", "c": "1", "d": "2"}, "income")
    >>> r = ei_permutation_tests(G, ["race", "income"], n_permutations=99)
    >>> r["race"]["observed"], r["income"]["observed"]
    (-0.3333333333333333, 1.0)
    """
    check_permutations(n_permutations)
    net = as_arrays(G, weight=None)
    attrs = list(dict.fromkeys((attrs,) if isinstance(attrs, str) else attrs))
    method = method_text(n_permutations, strata)
    codes = {a: net.codes(a)[0] for a in attrs}
    shared: dict[bytes, list[str]] = {}
    for a in attrs:
        shared.setdefault(np.packbits(codes[a] >= 0).tobytes(), []).append(a)
    out = {}
    for group in shared.values():
        known = codes[group[0]] >= 0
        people, local, shuffler = strata_layout(net, known, strata)
        keep = known[net.src] & known[net.dst] & (net.src != net.dst)
        u, v = local[net.src[keep]], local[net.dst[keep]]
        m = len(u)
        if m == 0:
            for a in group:
                out[a] = {"observed": None, "expected": None, "sd": None, "p_value": None,
                          "n_permutations": n_permutations, "n_ties": 0, "method": method}
            continue
        labels = np.stack([small_codes(codes[a][people]) for a in group])     # (attributes, people)
        if strata is None and not net.directed and not net.multigraph and m >= normal_from:
            # a big network: the shuffles' exact mean and variance, and the normal p-value (queries/joincount)
            for i, a in enumerate(group):
                mean, cov = joincount.cross_moments(labels[i], [(u, v)])
                cross_ties = np.count_nonzero(labels[i][u] != labels[i][v])
                sd = math.sqrt(max(cov[0, 0], 0.0))
                out[a] = {"observed": (2 * cross_ties - m) / m, "expected": (2 * mean[0] - m) / m,
                          "sd": 2 * sd / m, "p_value": float(joincount.normal_p(cross_ties, mean[0], sd)),
                          "n_permutations": None, "n_ties": m, "method": joincount.method_text(normal_from)}
            continue

        def cross(pos, labels=labels, u=u, v=v):
            out = []
            for row in labels:
                x = row.take(pos)
                out.append(np.count_nonzero(x.take(u) != x.take(v)))
            return np.array(out)

        observed = ei_from_counts(cross(np.arange(len(people))), m)
        expected, sd, p = null_summary(observed, ei_from_counts(shuffler.map(n_permutations, cross, seed=seed), m))
        for i, a in enumerate(group):
            out[a] = {"observed": float(observed[i]), "expected": float(expected[i]), "sd": float(sd[i]),
                      "p_value": float(p[i]), "n_permutations": n_permutations, "n_ties": m, "method": method}
    return {a: out[a] for a in attrs}


def group_ei_tests(G, members: Mapping, attrs, *, n_permutations=1000, seed=0,
                   normal_from=joincount.NORMAL_FROM) -> dict:
    """:func:`ei_permutation_test` on each group's own ties, for many groups at once: group -> attr -> result.

    For an evaluator: does each cohort's network mix more (or less) than chance? Group g's network is
    the ties touching its members (``members``: group -> person ids; a person may be in several), with
    the people at their ends (``G.edge_subgraph`` of those ties); each test shuffles labels among them.
    All groups are stacked as the blocks of one permutation, so 2,000 cohorts cost about what one does.
    A group with ``normal_from`` qualifying ties or more draws no shuffle: its p-value is the normal one
    from the shuffles' exact mean and variance (queries/joincount.py; ``n_permutations`` None), which
    also gives the false discovery rate over thousands of cohorts p-values finer than 1/1001.
    Undirected networks only. Each result has the keys of :func:`ei_permutation_test`.

    >>> G = nx.Graph([("a", "b"), ("b", "c"), ("c", "d")])
    >>> nx.set_node_attributes(G, {"a": "x", "b": "x", "c": "y", "d": "y"}, "race")
    >>> r = group_ei_tests(G, {"k1": ["a"], "k2": ["c"]}, ["race"], n_permutations=99)
    >>> r["k1"]["race"]["observed"], r["k2"]["race"]["n_ties"]   # k1: a-b only; k2: b-c and c-d
    (-1.0, 2)
    """
    check_permutations(n_permutations)
    net = as_arrays(G, weight=None)
    if net.directed or net.multigraph:
        raise QueryError("group_ei_tests needs an undirected simple network (collapse parallel ties with nx.Graph(G))")
    attrs = (attrs,) if isinstance(attrs, str) else attrs
    names = list(members)
    k = len(names)
    rows = [(p, i) for i, g in enumerate(names) for p in dict.fromkeys(members[g]) if p in net.index()]
    pos = net.positions([p for p, _ in rows])
    grp = np.array([i for _, i in rows], dtype=np.int64)
    keep = net.src != net.dst
    blocks = GroupBlocks(net.n, (pos, grp), k, [(net.src[keep], net.dst[keep])], with_members=False)
    shuffled = method_text(n_permutations, None) + ", per group"
    normal = joincount.method_text(normal_from) + ", per group"
    out: dict = {g: {} for g in names}
    for attr in dict.fromkeys(attrs):
        codes = net.codes(attr)[0]
        labels, _shuffler, ends = blocks.layout(codes)
        bounds, u, v = ends(blocks.entries[0])
        person_group = blocks.labelled_groups(codes)
        m = np.diff(bounds)                                                      # qualifying ties per group
        cross = cross_by_group(labels, [(bounds, u, v)])[0]
        observed = ei_from_counts(cross, m)
        # big groups: exact moments, normal p-value; the rest shuffled, stacked without the big ones
        mean, var = joincount.group_cross_moments(labels, person_group, k, bounds, u, v)
        big = m >= normal_from
        sd_cross = np.sqrt(var)
        with np.errstate(invalid="ignore", divide="ignore"):
            expected = np.where(big, (2 * mean - m) / np.where(m > 0, m, 1), np.nan)
            sd = np.where(big, 2 * sd_cross / np.where(m > 0, m, 1), np.nan)
        p = np.where(big, joincount.normal_p(cross, mean, sd_cross), np.nan)
        small = (m > 0) & ~big
        if small.any():
            people = small[person_group]
            local = np.cumsum(people) - 1
            tie_group = np.repeat(np.arange(k), m)
            ties = small[tie_group]
            sub_bounds = np.concatenate([[0], np.cumsum(np.where(small, m, 0))])
            sub_labels = labels[people]
            sub = [(sub_bounds, local[u[ties]], local[v[ties]])]
            shuffler = Shuffler(person_group[people])
            null = ei_from_counts(shuffler.map(n_permutations, lambda q: cross_by_group(sub_labels[q], sub)[0],
                                               seed=seed), m)
            e, s_, p_ = null_summary(observed, null)
            expected, sd, p = np.where(small, e, expected), np.where(small, s_, sd), np.where(small, p_, p)
        for i, g in enumerate(names):
            has = bool(m[i] > 0)
            out[g][attr] = {"observed": float(observed[i]) if has else None,
                            "expected": float(expected[i]) if has else None,
                            "sd": float(sd[i]) if has else None, "p_value": float(p[i]) if has else None,
                            "n_permutations": None if big[i] else n_permutations, "n_ties": int(m[i]),
                            "method": normal if big[i] else shuffled}
    return out


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


def _ei(external, internal):
    total = external + internal
    return None if total == 0 else (external - internal) / total


def _kept(net: ArrayNetwork, codes) -> np.ndarray:
    """Edges that count: not a self-loop, both people with the attribute."""
    return (codes[net.src] >= 0) & (codes[net.dst] >= 0) & (net.src != net.dst)


def _edge_codes(net: ArrayNetwork, codes):
    keep = _kept(net, codes)
    return codes[net.src[keep]], codes[net.dst[keep]]
