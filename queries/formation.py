"""Tie formation: did the program create new ties, and did they cross race and class lines?

Compares snapshots of the tie network (e.g. baseline and follow-up survey waves).
"""

from __future__ import annotations

import math

import networkx as nx
import numpy as np
import pandas as pd

from queries.errors import QueryError
from queries.homophily import (
    _check_permutations,
    _ei_from_codes,
    _is_missing,
    _label_permutations,
    _method_text,
    _prepare,
    _two_sided_p,
    ei_index,
)

__all__ = ["tie_change", "growth"]


def tie_change(before, after, attr_race="race_ethnicity", attr_class="income_band", *,
               n_permutations=1000, seed=0, strata=None) -> dict:
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
    (two-sided). Null hypothesis: who is in which group is unrelated to the ties in both
    snapshots. So a small ``p_value`` says the network's mixing really changed -- note
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
    for name, G in (("before", before), ("after", after)):
        if not isinstance(G, nx.Graph):
            raise QueryError(f"{name} must be a networkx graph; got {type(G).__name__}")
    if before.is_directed() != after.is_directed():
        raise QueryError("before and after must both be directed or both undirected")
    _check_permutations(n_permutations)
    e_before, e_after = _edge_set(before), _edge_set(after)
    new = e_after - e_before
    new_graph = nx.DiGraph() if after.is_directed() else nx.Graph()
    new_graph.add_edges_from(tuple(e) for e in new)
    result = {
        "ties_before": len(e_before),
        "ties_after": len(e_after),
        "new_ties": len(new),
        "lost_ties": len(e_before - e_after),
    }
    rng_seed = np.random.SeedSequence(seed)
    by_attribute = {}
    for key, attr in (("race", attr_race), ("class", attr_class)):
        if attr is None:
            continue
        labels = _joint_labels(before, after, attr)
        result[f"new_cross_{key}"] = sum(
            1 for u, v in map(tuple, new)
            if u in labels and v in labels and labels[u] != labels[v]
        )
        rng = np.random.default_rng(rng_seed.spawn(1)[0])
        by_attribute[attr] = _delta_test(before, after, new_graph, labels, n_permutations, rng, strata)
    result["by_attribute"] = by_attribute
    result["n_permutations"] = n_permutations
    result["method"] = _method_text(n_permutations, strata) + ", same labels in both snapshots"
    return result


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
        raise QueryError("snapshots must be a dict: label -> networkx graph")
    if isinstance(attrs, str):
        attrs = (attrs,)
    rows = []
    for label, G in snapshots.items():
        if not isinstance(G, nx.Graph):
            raise QueryError(f"snapshot {label!r} is not a networkx graph")
        n, m = G.number_of_nodes(), G.number_of_edges()
        if n:
            comps = list(nx.weakly_connected_components(G) if G.is_directed() else nx.connected_components(G))
            largest = max(len(c) for c in comps) / n
        else:
            comps, largest = [], math.nan
        row = {
            "people": n,
            "ties": m,
            "isolates": nx.number_of_isolates(G),
            "components": len(comps),
            "largest_component_share": largest,
            "density": nx.density(G) if n > 1 else math.nan,
            "mean_degree": (m if G.is_directed() else 2 * m) / n if n else math.nan,
        }
        for attr in attrs:
            ei = ei_index(G, attr)
            row[f"cross_{attr}_share"] = math.nan if ei is None else (ei + 1) / 2
        rows.append(row)
    frame = pd.DataFrame(rows, index=pd.Index(list(snapshots), name="snapshot"))
    frame.index.name = None
    return frame


# -- private helpers ---------------------------------------------------------------------


def _edge_set(G):
    if G.is_directed():
        return {(u, v) for u, v in G.edges() if u != v}
    return {frozenset((u, v)) for u, v in G.edges() if u != v}


def _joint_labels(before, after, attr):
    labels = {}
    for G in (before, after):
        for v, d in G.nodes(data=True):
            value = d.get(attr)
            if not _is_missing(value):
                labels[v] = value
    return labels


def _delta_test(before, after, new_graph, labels, n_permutations, rng, strata):
    out = {"ei_before": None, "ei_after": None, "delta_ei": None, "expected_delta": None,
           "sd_delta": None, "p_value": None, "ei_new_ties": None, "expected_new_ties": None,
           "p_value_new_ties": None}
    if not labels:
        return out
    _order, us, vs, codes, strata_codes = _prepare(labels, [before, after, new_graph], strata)
    (ub, ua, un), (vb, va, vn) = us, vs
    observed_codes = codes[None, :]
    if len(ub):
        out["ei_before"] = float(_ei_from_codes(observed_codes, ub, vb)[0])
    if len(ua):
        out["ei_after"] = float(_ei_from_codes(observed_codes, ua, va)[0])
    if len(un):
        out["ei_new_ties"] = float(_ei_from_codes(observed_codes, un, vn)[0])
    has_delta = out["ei_before"] is not None and out["ei_after"] is not None
    if has_delta:
        out["delta_ei"] = out["ei_after"] - out["ei_before"]
    if not has_delta and not len(un):
        return out
    null_delta, null_new = [], []
    for batch in _label_permutations(codes, strata_codes, n_permutations, rng, len(ua) + len(ub)):
        if has_delta:
            null_delta.append(_ei_from_codes(batch, ua, va) - _ei_from_codes(batch, ub, vb))
        if len(un):
            null_new.append(_ei_from_codes(batch, un, vn))
    if has_delta:
        null = np.concatenate(null_delta)
        expected = float(null.mean())
        out["expected_delta"] = expected
        out["sd_delta"] = float(null.std(ddof=1)) if len(null) > 1 else 0.0
        out["p_value"] = _two_sided_p(null, out["delta_ei"], expected)
    if len(un):
        null = np.concatenate(null_new)
        expected = float(null.mean())
        out["expected_new_ties"] = expected
        out["p_value_new_ties"] = _two_sided_p(null, out["ei_new_ties"], expected)
    return out
