"""The exact label-permutation moments behind the large-network tests (queries/joincount.py): checked against
every permutation of small networks, against many shuffles of bigger ones, and the switch between shuffles
and the normal p-value in the tests that use them."""
from __future__ import annotations

import itertools
import math

import networkx as nx
import numpy as np
import pytest

from queries import formation, homophily, joincount


def _all_labellings(labels, sets):
    """Cross-tie counts of each set under every permutation of the labels (the exact null)."""
    out = []
    for perm in itertools.permutations(range(len(labels))):
        x = labels[list(perm)]
        out.append([np.count_nonzero(x[u] != x[v]) for u, v in sets])
    return np.array(out, dtype=float)


def _random_sets(rng, n, k):
    pairs = [(i, j) for i in range(n) for j in range(i + 1, n)]
    sets = []
    for _ in range(k):
        chosen = rng.choice(len(pairs), size=rng.integers(1, len(pairs) + 1), replace=False)
        e = np.array([pairs[i] for i in chosen])
        sets.append((e[:, 0], e[:, 1]))
    return sets


def test_path_by_hand():
    # a-b-c-d, groups x x y y: the 6 labellings give 1, 2 or 3 cross ties, two each
    mean, cov = joincount.cross_moments(np.array([0, 0, 1, 1]), [(np.array([0, 1, 2]), np.array([1, 2, 3]))])
    assert mean[0] == pytest.approx(2.0) and cov[0, 0] == pytest.approx(2 / 3)


@pytest.mark.parametrize("seed", range(12))
def test_moments_equal_every_permutation(seed):
    rng = np.random.default_rng(seed)
    n = int(rng.integers(4, 8))
    labels = rng.integers(0, 3, n)
    sets = _random_sets(rng, n, 3)              # overlapping sets: the covariance between them counts
    exact = _all_labellings(labels, sets)
    mean, cov = joincount.cross_moments(labels, sets)
    assert mean == pytest.approx(exact.mean(axis=0), abs=1e-9)
    assert cov == pytest.approx(np.cov(exact.T, bias=True), abs=1e-9)


def test_group_moments_equal_every_permutation_within_each_group():
    rng = np.random.default_rng(3)
    labels, groups, us, vs, bounds = [], [], [], [], [0]
    exact = []
    for g, n in enumerate((5, 6, 4)):
        lab = rng.integers(0, 3, n)
        (u, v), = _random_sets(rng, n, 1)
        exact.append(_all_labellings(lab, [(u, v)])[:, 0])
        offset = len(labels)
        labels += lab.tolist()
        groups += [g] * n
        us += (u + offset).tolist()
        vs += (v + offset).tolist()
        bounds.append(bounds[-1] + len(u))
    mean, var = joincount.group_cross_moments(np.array(labels), np.array(groups), 3, np.array(bounds),
                                              np.array(us), np.array(vs))
    assert mean == pytest.approx([e.mean() for e in exact], abs=1e-9)
    assert var == pytest.approx([e.var() for e in exact], abs=1e-9)


def test_normal_p():
    p = joincount.normal_p([2.46, 0.0, 3.0, 3.0], [0.0, 0.0, 3.0, 1.0], [1.0, 1.0, 0.0, 0.0])
    assert p == pytest.approx([0.05, 1.0, 1.0, 0.0], abs=1e-3)
    assert float(joincount.normal_p(1.96, 0.0, 1.0, continuity=0.0)) == pytest.approx(0.05, abs=1e-3)


def _random_network(seed, people=600, ties=1500, shares=(0.5, 0.25, 0.15, 0.1)):
    rng = np.random.default_rng(seed)
    G = nx.gnm_random_graph(people, ties, seed=seed)
    groups = rng.choice(list("abcd"), size=people, p=list(shares))
    nx.set_node_attributes(G, dict(enumerate(groups)), "race")
    return G


def test_big_network_uses_the_moments_and_agrees_with_shuffles():
    G = _random_network(1)
    shuffled = homophily.ei_permutation_tests(G, ["race"], n_permutations=4000, seed=2, normal_from=math.inf)["race"]
    normal = homophily.ei_permutation_tests(G, ["race"], n_permutations=4000, seed=2)["race"]
    assert shuffled["n_permutations"] == 4000 and normal["n_permutations"] is None
    assert "normal approximation" in normal["method"] and "shuffles" in shuffled["method"]
    assert normal["observed"] == shuffled["observed"]
    assert normal["expected"] == pytest.approx(shuffled["expected"], abs=0.002)
    assert normal["sd"] == pytest.approx(shuffled["sd"], rel=0.05)
    assert normal["p_value"] == pytest.approx(shuffled["p_value"], abs=0.03)


def test_small_network_still_shuffles():
    G = _random_network(2, people=40, ties=60)
    r = homophily.ei_permutation_tests(G, ["race"], n_permutations=99, seed=0)["race"]
    assert r["n_permutations"] == 99 and r["n_ties"] < joincount.NORMAL_FROM


def test_cohort_tests_mix_shuffled_and_normal_groups():
    """Groups at or over the threshold get the normal p-value, smaller ones shuffles; both near the exact
    answer (many shuffles) for the big group."""
    G = _random_network(3, people=800, ties=1200)
    members = {"big": list(range(0, 120)), "small": [700, 701, 702]}
    r = homophily.group_ei_tests(G, members, ["race"], n_permutations=999, seed=0)
    ref = homophily.group_ei_tests(G, members, ["race"], n_permutations=4000, seed=1, normal_from=math.inf)
    big, small = r["big"]["race"], r["small"]["race"]
    assert big["n_ties"] >= joincount.NORMAL_FROM > small["n_ties"] > 0
    assert big["n_permutations"] is None and small["n_permutations"] == 999
    assert big["observed"] == ref["big"]["race"]["observed"]
    assert big["expected"] == pytest.approx(ref["big"]["race"]["expected"], abs=0.01)
    assert big["sd"] == pytest.approx(ref["big"]["race"]["sd"], rel=0.06)
    assert big["p_value"] == pytest.approx(ref["big"]["race"]["p_value"], abs=0.05)


def test_tie_change_from_moments_agrees_with_shuffles():
    after = _random_network(4, people=700, ties=1600)
    before = nx.Graph()
    before.add_nodes_from(after.nodes(data=True))
    before.add_edges_from(list(after.edges())[:900])
    normal = formation.tie_change(before, after, "race", None, n_permutations=3000, seed=0)
    shuffled = formation.tie_change(before, after, "race", None, n_permutations=3000, seed=0, normal_from=math.inf)
    assert normal["n_permutations"] is None and shuffled["n_permutations"] == 3000
    a, b = normal["by_attribute"]["race"], shuffled["by_attribute"]["race"]
    assert a["delta_ei"] == b["delta_ei"] and a["ei_new_ties"] == b["ei_new_ties"]
    assert a["expected_delta"] == pytest.approx(b["expected_delta"], abs=0.003)
    assert a["sd_delta"] == pytest.approx(b["sd_delta"], rel=0.06)
    assert a["expected_new_ties"] == pytest.approx(b["expected_new_ties"], abs=0.005)
    assert a["p_value"] == pytest.approx(b["p_value"], abs=0.04)
    assert a["p_value_new_ties"] == pytest.approx(b["p_value_new_ties"], abs=0.04)
