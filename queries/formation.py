"""Tie formation: did the program create new ties, and did they cross race and class lines?

Compares snapshots of the tie network (e.g. baseline and follow-up survey waves).
"""

from __future__ import annotations

import math
from collections.abc import Mapping

import networkx as nx
import numpy as np
import pandas as pd

from queries import joincount
from queries.arrays import ArrayNetwork, is_missing
from queries.errors import QueryError
from queries.homophily import ei_index
from queries.permutation import (GroupBlocks, check_permutations, cross_by_group, ei_from_counts, method_text,
                                 null_summary, small_codes, strata_layout)

__all__ = ["tie_change", "cohort_changes", "growth"]


def tie_change(before, after, attr_race="race_ethnicity", attr_class="income_band", *,
               n_permutations=1000, seed=0, strata=None, normal_from=joincount.NORMAL_FROM) -> dict:
    """What changed between two snapshots of the tie network, and is the shift in mixing real?

    For an evaluator: how many ties the program added (and lost), how many new ties cross
    race and class lines, and whether the network became more mixed (E-I rose) by more
    than a network that changed the same way but ignored race and class would have.

    Returns a dict:

    - ``ties_before``, ``ties_after``, ``new_ties`` (in after, not before), ``lost_ties``
      (in before, not after), ``new_cross_race``, ``new_cross_class`` (new ties between
      people of different groups; both people must have the attribute);
    - ``by_attribute``: attribute name -> ``{ei_before, ei_after, delta_ei, expected_delta,
      sd_delta, p_value, ei_new_ties, expected_new_ties, p_value_new_ties}``;
    - ``n_permutations``, ``method``.

    Significance: group labels are shuffled among people (jointly: a person keeps the same
    shuffled label in both snapshots; within ``strata`` if given, a node -> stratum mapping
    or attribute name), E-I is recomputed on the unchanged before/after ties, and
    ``p_value = (#{|null - mean| >= |observed - mean|} + 1) / (n_permutations + 1)``
    (two-sided). Undirected snapshots whose every non-empty tie set has ``normal_from`` ties or
    more (and no strata) draw no shuffle: the same test from the shuffles' exact means and
    covariances, with a normal p-value (queries/joincount.py; ``n_permutations`` None). Null
    hypothesis: who is in which group is unrelated to the ties in both snapshots. So a small ``p_value`` says the network's mixing really changed -- note
    that a segregated baseline diluted by new ties that ignore race also changes it.
    ``p_value_new_ties`` asks the narrower question "did the *new* ties cross group lines
    more (or less) than ties among randomly labelled people would?" (``ei_new_ties`` vs
    ``expected_new_ties``). Values are None where undefined (no qualifying ties). A
    person's attribute is read from ``after`` (``before`` if absent there).

    References: Krackhardt & Stern (1988) (E-I); permutation inference on networks as in
    Krackhardt, D. (1988). Predicting with networks: QAP. Social Networks 10, 359-381.

    >>> before = nx.Graph([("a", "b"), ("c", "d")])
    >>> after = nx.Graph([("a", "b"), ("c", "d"), ("b", "c")])
    >>> groups = {"a": "x", "b": "x", "c": "y", "d": "y"}
    >>> for G in (before, after):
    ...     nx.set_node_attributes(G, groups, "race_ethnicity")
    ...     nx.set_node_attributes(G, "low", "income_band")
    >>> r = tie_change(before, after, n_permutations=99)
    >>> r["new_ties"], r["new_cross_race"], r["new_cross_class"]
    (1, 1, 0)
    >>> r["by_attribute"]["race_ethnicity"]["delta_ei"]   # -1 -> (1 - 2) / 3
    0.6666666666666667
    """
    check_permutations(n_permutations)
    attrs = [a for a in (attr_race, attr_class) if a is not None]
    if isinstance(before, ArrayNetwork) and isinstance(after, ArrayNetwork):
        if before.n != after.n or (before.ids != after.ids).any() or before.directed != after.directed:
            raise QueryError("before and after must be ArrayNetworks over the same people, both directed or not")
        directed, net = after.directed, after                     # attributes as in `after`
        kb, ka = _array_keys(before), _array_keys(after)
    else:
        for name, G in (("before", before), ("after", after)):
            if not isinstance(G, nx.Graph):
                raise QueryError(f"{name} must be a networkx graph; got {type(G).__name__}")
        if before.is_directed() != after.is_directed():
            raise QueryError("before and after must both be directed or both undirected")
        directed = after.is_directed()
        ids = list(before) + [v for v in after if v not in before]
        index = {v: i for i, v in enumerate(ids)}
        columns = {a: _joint_column(before, after, ids, a)
                   for a in attrs + ([strata] if isinstance(strata, str) else [])}
        net = ArrayNetwork(ids, [], [], directed=directed, columns=columns)
        kb, ka = _keys(before, index, directed), _keys(after, index, directed)
    kn = np.setdiff1d(ka, kb)
    result = {"ties_before": len(kb), "ties_after": len(ka), "new_ties": len(kn),
              "lost_ties": len(np.setdiff1d(kb, ka))}
    n = max(net.n, 1)
    by_attribute = {}
    for key, attr in (("race", attr_race), ("class", attr_class)):
        if attr is None:
            continue
        codes = net.codes(attr)[0]
        cu, cv = codes[kn // n], codes[kn % n]
        result[f"new_cross_{key}"] = int(((cu >= 0) & (cv >= 0) & (cu != cv)).sum())
        by_attribute[attr] = _delta_test(net, codes, [kb, ka, kn], n_permutations, seed, strata,
                                         normal_from=normal_from if not directed else math.inf)
    result["by_attribute"] = by_attribute
    normal = bool(by_attribute) and all(r.get("normal") for r in by_attribute.values())
    for r in by_attribute.values():
        r.pop("normal", None)
    result["n_permutations"] = None if normal else n_permutations
    result["method"] = (joincount.method_text() if normal else method_text(n_permutations, strata)) + \
        ", same labels in both snapshots"
    return result


def cohort_changes(before: ArrayNetwork, after: ArrayNetwork, cohort_of: Mapping, *,
                   attrs=("race_ethnicity", "income_band"), n_permutations=1000, seed=0) -> list[dict]:
    """:func:`tie_change` for every cohort at once, on two undirected snapshots over the same people.

    For an evaluator: did each cohort's members form new ties, across race and class, and did the
    mixing of their ties change by more than chance? Cohort k's snapshots are the ties with at least
    one member of k at either end (``cohort_of``: person -> cohort; each person counts in one cohort),
    and its test shuffles labels among the people in those snapshots (members and their contacts), as
    :func:`tie_change` does on the cohort's own graphs. All cohorts are tested in the same pass: one
    shuffle draws a permutation inside every cohort, so 2,000 cohorts cost about what one does.

    Returns one dict per cohort (sorted by cohort id): ``cohort_id``, ``members`` and the keys of
    :func:`tie_change` (the race and class attributes are ``attrs[0]`` and ``attrs[1]``).
    """
    check_permutations(n_permutations)
    attrs = (attrs,) if isinstance(attrs, str) else tuple(attrs)
    if before.directed or after.directed or before.n != after.n or (before.ids != after.ids).any():
        raise QueryError("cohort_changes needs two undirected snapshots over the same people")
    n = max(after.n, 1)
    pos = after.positions(list(cohort_of))
    names = sorted({str(c) for c in cohort_of.values()})
    cohort_index = {c: i for i, c in enumerate(names)}
    K = len(names)
    groups = np.array([cohort_index[str(c)] for c in cohort_of.values()], dtype=np.int64)
    members = np.bincount(groups, minlength=K)
    blocks = GroupBlocks(after.n, (pos, groups), K, [before.pairs(), after.pairs()])
    B, A = blocks.entries
    New, lost = np.setdiff1d(A, B, assume_unique=True), np.setdiff1d(B, A, assume_unique=True)
    count = {name: np.bincount(blocks.group_of(x), minlength=K) for name, x in
             (("ties_before", B), ("ties_after", A), ("new_ties", New), ("lost_ties", lost))}
    method = method_text(n_permutations, None) + ", same labels in both snapshots, per cohort"
    results = [{"cohort_id": name, "members": int(members[i]),
                **{k: int(v[i]) for k, v in count.items()}, "by_attribute": {},
                "n_permutations": n_permutations, "method": method} for i, name in enumerate(names)]
    nn = n * n
    for key, attr in zip(("race", "class"), attrs):
        codes = after.codes(attr)[0]
        k_new = New % nn
        cu, cv = codes[k_new // n], codes[k_new % n]
        cross_new = np.bincount(blocks.group_of(New)[(cu >= 0) & (cv >= 0) & (cu != cv)], minlength=K)
        labels, shuffler, ends = blocks.layout(codes)
        # three disjoint sets: kept (before and after), lost (before only) and new (after only)
        sets = [ends(np.intersect1d(B, A, assume_unique=True)), ends(lost), ends(New)]
        part = np.stack([np.diff(bounds) for bounds, _, _ in sets])               # (3, K) qualifying ties
        combine = np.array([[1, 1, 0], [1, 0, 1], [0, 0, 1]])                    # before, after, new
        totals = combine @ part

        def stat(p, sets=sets, labels=labels):
            return combine @ cross_by_group(labels[p], sets)

        observed = ei_from_counts(stat(np.arange(len(labels))), totals)
        null = ei_from_counts(shuffler.map(n_permutations, stat, seed=seed), totals)     # (perms, 3, K)
        stats = _delta_stats(observed, null, totals)
        for i, r in enumerate(results):
            r[f"new_cross_{key}"] = int(cross_new[i])
            r["by_attribute"][attr] = {k: v[i] for k, v in stats.items()}
    for r in results:   # the order of tie_change's keys
        r["by_attribute"] = r.pop("by_attribute")
        r["n_permutations"] = r.pop("n_permutations")
        r["method"] = r.pop("method")
    return results


def growth(snapshots, attrs=("race_ethnicity", "income_band")) -> pd.DataFrame:
    """How the network grows over snapshots: one row per snapshot, in the given order.

    For an evaluator: the program's network at a glance over time -- more people tied in
    (fewer isolates, fewer components, a larger main component) and a rising share of
    ties that cross race and class lines.

    Columns: ``people``, ``ties``, ``isolates``, ``components`` (weakly connected for a
    directed network), ``largest_component_share`` (people in the largest component /
    people), ``density`` (ties / possible ties), ``mean_degree`` (undirected: 2 ties /
    people; directed: ties / people, i.e. mean number of people named), and for each
    attribute ``cross_<attr>_share`` = share of ties between people with different values
    (ties where either person lacks the attribute are left out). Undefined cells are NaN.

    >>> t0 = nx.Graph(); t0.add_nodes_from("abc", race_ethnicity="x")
    >>> t1 = nx.Graph([("a", "b"), ("b", "c")]); nx.set_node_attributes(t1, {"a": "x", "b": "x", "c": "y"}, "race_ethnicity")
    >>> growth({"fall": t0, "spring": t1}, attrs=("race_ethnicity",))[["ties", "components", "cross_race_ethnicity_share"]]
            ties  components  cross_race_ethnicity_share
    fall       0           3                         NaN
    spring     2           1                         0.5
    """
    if not isinstance(snapshots, dict):
        raise QueryError("snapshots must be a dict: label -> networkx graph (or ArrayNetwork)")
    if isinstance(attrs, str):
        attrs = (attrs,)
    from scipy import sparse
    from scipy.sparse.csgraph import connected_components

    rows = []
    for label, G in snapshots.items():
        if not isinstance(G, (nx.Graph, ArrayNetwork)):
            raise QueryError(f"snapshot {label!r} is not a networkx graph")
        net = G if isinstance(G, ArrayNetwork) else ArrayNetwork.from_networkx(G)
        n, m = net.n, net.m
        if n:
            links = sparse.csr_matrix((np.ones(m, dtype=np.int8), (net.src, net.dst)), shape=(n, n))
            ncomp, which = connected_components(links, directed=False)
            largest = np.bincount(which).max() / n
        else:
            ncomp, largest = 0, math.nan
        possible = n * (n - 1) if net.directed else n * (n - 1) / 2
        row = {
            "people": n,
            "ties": m,
            "isolates": int((net.degree() == 0).sum()),
            "components": int(ncomp),
            "largest_component_share": largest,
            "density": m / possible if n > 1 else math.nan,
            "mean_degree": (m if net.directed else 2 * m) / n if n else math.nan,
        }
        for attr in attrs:
            ei = ei_index(net, attr)
            row[f"cross_{attr}_share"] = math.nan if ei is None else (ei + 1) / 2
        rows.append(row)
    frame = pd.DataFrame(rows, index=pd.Index(list(snapshots), name="snapshot"))
    frame.index.name = None
    return frame


# -- private helpers ---------------------------------------------------------------------


def _joint_column(before, after, ids, attr):
    """A person's attribute from ``after``, from ``before`` where ``after`` lacks it."""
    values = {}
    for G in (before, after):
        for v, d in G.nodes(data=True):
            value = d.get(attr)
            if not is_missing(value):
                values[v] = value
    return [values.get(v) for v in ids]


def _keys(G, index, directed):
    """Distinct edges as int64 keys (``u * n + v``; undirected: smaller position first), self-ties left out."""
    n = max(len(index), 1)
    pairs = np.array([(index[u], index[v]) for u, v in G.edges() if u != v], dtype=np.int64).reshape(-1, 2)
    u, v = pairs[:, 0], pairs[:, 1]
    if not directed:
        u, v = np.minimum(u, v), np.maximum(u, v)
    return np.unique(u * n + v)


def _array_keys(net):
    """Distinct edges of an ArrayNetwork as int64 keys, as :func:`_keys` gives them."""
    if net.directed:
        keep = net.src != net.dst
        return np.unique(net.src[keep] * max(net.n, 1) + net.dst[keep])
    lo, hi = net.pairs()
    return lo * max(net.n, 1) + hi


def _delta_stats(observed, null, totals):
    """Per column: E-I before/after/new ties, the change and their permutation baselines.

    ``observed``: (3, K) E-I of before, after and new ties; ``null``: (permutations, 3, K).
    """
    has_delta = (totals[0] > 0) & (totals[1] > 0)
    has_new = totals[2] > 0
    delta, null_delta = observed[1] - observed[0], null[:, 1] - null[:, 0]
    exp_d, sd_d, p_d = null_summary(delta, null_delta)
    exp_n, _sd_n, p_n = null_summary(observed[2], null[:, 2])

    def col(x, ok):
        return [float(v) if k and not math.isnan(v) else None for v, k in zip(x, ok)]

    return {"ei_before": col(observed[0], totals[0] > 0), "ei_after": col(observed[1], totals[1] > 0),
            "delta_ei": col(delta, has_delta), "expected_delta": col(exp_d, has_delta),
            "sd_delta": col(sd_d, has_delta), "p_value": col(p_d, has_delta),
            "ei_new_ties": col(observed[2], has_new), "expected_new_ties": col(exp_n, has_new),
            "p_value_new_ties": col(p_n, has_new)}


def _delta_normal(labels, sets, cross, m, observed) -> dict:
    """:func:`_delta_stats`'s keys from the shuffles' exact means and covariances (queries/joincount.py): the
    change's p-value from a normal with that mean and variance, the new ties' from their count's."""
    mean, cov = joincount.cross_moments(labels, sets)
    ok = m > 0
    out = {"normal": True, "ei_before": float(observed[0]) if ok[0] else None, "ei_after": float(observed[1]) if ok[1] else None,
           "delta_ei": None, "expected_delta": None, "sd_delta": None, "p_value": None,
           "ei_new_ties": float(observed[2]) if ok[2] else None, "expected_new_ties": None,
           "p_value_new_ties": None}
    if ok[0] and ok[1]:
        w = np.array([-2 / m[0], 2 / m[1], 0.0])                 # E-I after - E-I before = w . cross + const
        expected = float(w @ mean)
        sd = math.sqrt(max(float(w @ cov @ w), 0.0))
        out.update(delta_ei=float(observed[1] - observed[0]), expected_delta=expected, sd_delta=sd,
                   p_value=float(joincount.normal_p(observed[1] - observed[0], expected, sd, continuity=0.0)))
    if ok[2]:
        sd_new = math.sqrt(max(float(cov[2, 2]), 0.0))
        out.update(expected_new_ties=float(2 * mean[2] / m[2] - 1),
                   p_value_new_ties=float(joincount.normal_p(cross[2], mean[2], sd_new)))
    return out


def _delta_test(net, codes, key_sets, n_permutations, seed, strata, normal_from=joincount.NORMAL_FROM):
    """The E-I change test of :func:`tie_change` for one attribute (keys: before, after, new ties). When every
    non-empty set has ``normal_from`` qualifying ties (and no strata), from the exact moments (joincount)."""
    n = max(net.n, 1)
    known = codes >= 0
    people, local, shuffler = strata_layout(net, known, strata)
    sets = []
    for keys in key_sets:
        u, v = keys // n, keys % n
        ok = known[u] & known[v]
        sets.append((local[u[ok]], local[v[ok]]))
    totals = np.array([[len(u)] for u, _ in sets])                       # (3, 1)
    labels = small_codes(codes[people])

    def stat(p):
        x = labels[p]
        return np.array([[np.count_nonzero(x[u] != x[v])] for u, v in sets])

    cross = stat(np.arange(len(people)))
    observed = ei_from_counts(cross, totals)
    if strata is None and len(people) and all(t == 0 or t >= normal_from for t in totals[:, 0]):
        return _delta_normal(labels, sets, cross[:, 0], totals[:, 0], observed[:, 0])
    has_any = (totals[:2].min() > 0) or totals[2, 0] > 0
    null = ei_from_counts(shuffler.map(n_permutations, stat, seed=seed), totals) if has_any and len(people) else \
        np.zeros((0, 3, 1))
    return {k: v[0] for k, v in _delta_stats(observed, null, totals).items()}
