"""Homophily measures on hand-worked tiny graphs and classic networks (karate club, Newman 2003)."""
from __future__ import annotations

import time
from fractions import Fraction

import networkx as nx
import numpy as np
import pytest

from queries.errors import QueryError
from queries.homophily import (
    assortativity,
    coleman_homophily,
    ei_by_group,
    ei_by_node,
    ei_index,
    ei_permutation_test,
    mixing_matrix,
    network_views,
)


@pytest.fixture
def tiny():
    """Hand-worked: a(x) - b(x) - c(y) - d(y), plus e(y) - f(z), isolate g(x), h (no race).

    Ties: a-b internal, b-c external, c-d internal, e-f external, d-h undescribed (h has no race).
    """
    G = nx.Graph([("a", "b"), ("b", "c"), ("c", "d"), ("e", "f"), ("d", "h")])
    G.add_node("g")
    nx.set_node_attributes(G, {"a": "x", "b": "x", "c": "y", "d": "y", "e": "y", "f": "z", "g": "x"}, "race")
    G.nodes["h"]["race"] = None
    return G


def test_ei_index_hand_worked(tiny):
    # E = 2 (b-c, e-f), I = 2 (a-b, c-d); d-h ignored: (2 - 2) / 4
    assert ei_index(tiny, "race") == 0.0


def test_ei_index_restricted_to_nodes(tiny):
    # among a, b, c: a-b internal, b-c external -> 0; among a, b only -> -1
    assert ei_index(tiny, "race", nodes=["a", "b", "c"]) == 0.0
    assert ei_index(tiny, "race", nodes=["a", "b"]) == -1.0


def test_ei_index_all_same_group():
    G = nx.complete_graph(4)
    nx.set_node_attributes(G, "x", "race")
    assert ei_index(G, "race") == -1.0


def test_ei_index_undefined_is_none():
    G = nx.Graph([(1, 2)])
    G.add_node(3, race="x")
    assert ei_index(G, "race") is None
    assert ei_index(nx.Graph(), "race") is None


def test_ei_index_ignores_self_ties_and_nan():
    G = nx.Graph([(1, 1), (1, 2), (2, 3)])
    nx.set_node_attributes(G, {1: "x", 2: "y", 3: float("nan")}, "race")
    assert ei_index(G, "race") == 1.0  # only 1-2 counts


def test_ei_index_invalid_input():
    with pytest.raises(QueryError):
        ei_index(nx.Graph(), "")
    with pytest.raises(QueryError):
        ei_index(nx.path_graph(3), "race", nodes=[0, 99])


def test_ei_index_directed_counts_edges_as_they_are():
    # a->b, b->a (both internal), a->c (external): (1 - 2) / 3
    D = nx.DiGraph([("a", "b"), ("b", "a"), ("a", "c")])
    nx.set_node_attributes(D, {"a": "x", "b": "x", "c": "y"}, "race")
    assert ei_index(D, "race") == pytest.approx(-1 / 3)


def test_ei_index_karate_club_factions():
    # Zachary's karate club as shipped by networkx: 78 ties, 11 cross the 'club' split
    # (0-31, 1-30, 2-9, 2-27, 2-28, 2-32, 8-30, 8-32, 8-33, 13-33, 19-33), 67 inside:
    # E-I = (11 - 67) / 78 = -56/78.
    K = nx.karate_club_graph()
    assert ei_index(K, "club") == pytest.approx(-56 / 78, abs=1e-12)


def test_ei_by_group_hand_worked(tiny):
    # x: a-b internal, b-c external -> 0; y: c-d internal, b-c and e-f external -> (2-1)/3;
    # z: e-f external -> 1
    assert ei_by_group(tiny, "race") == pytest.approx({"x": 0.0, "y": 1 / 3, "z": 1.0})


def test_ei_by_group_group_without_ties_is_none():
    G = nx.Graph([(1, 2)])
    nx.set_node_attributes(G, {1: "x", 2: "x", 3: "y"}, "race")
    G.add_node(3, race="y")
    assert ei_by_group(G, "race") == {"x": -1.0, "y": None}


def test_ei_by_node_hand_worked(tiny):
    result = ei_by_node(tiny, "race")
    # d: c same, h unknown -> -1; g isolate and h missing -> None
    assert result == {"a": -1.0, "b": 0.0, "c": 0.0, "d": -1.0, "e": 1.0, "f": 1.0, "g": None, "h": None}


def test_mixing_matrix_hand_worked(tiny):
    M = mixing_matrix(tiny, "race")
    assert list(M.index) == ["x", "y", "z"]
    # x-x: a-b; x-y: b-c; y-y: c-d; y-z: e-f
    assert M.values.tolist() == [[1, 1, 0], [1, 1, 1], [0, 1, 0]]
    assert (M.values == M.values.T).all()


def test_mixing_matrix_directed_rows_are_senders():
    D = nx.DiGraph([("a", "c"), ("a", "b")])
    nx.set_node_attributes(D, {"a": "x", "b": "x", "c": "y"}, "race")
    assert mixing_matrix(D, "race").values.tolist() == [[1, 1], [0, 0]]


def test_assortativity_perfect_nx_docs_example():
    # networkx docs example: two groups, each tie inside a group -> r = 1
    G = nx.Graph([(0, 1), (2, 3)])
    nx.set_node_attributes(G, {0: "red", 1: "red", 2: "blue", 3: "blue"}, "color")
    assert assortativity(G, "color") == pytest.approx(1.0)


def test_assortativity_karate_club_by_hand():
    # Tie-ends: Mr. Hi-Mr. Hi 2*35, Officer-Officer 2*32, cross 2*11 of 156; group degree sums
    # 81 (Mr. Hi) and 75. r = (134/156 - (81/156)^2 - (75/156)^2) / (1 - (81/156)^2 - (75/156)^2)
    e = Fraction(134, 156)
    a1, a2 = Fraction(81, 156), Fraction(75, 156)
    expected = (e - a1 * a1 - a2 * a2) / (1 - a1 * a1 - a2 * a2)
    assert expected == Fraction(1453, 2025)
    assert assortativity(nx.karate_club_graph(), "club") == pytest.approx(float(expected), abs=1e-12)


def test_assortativity_newman_2003_race_mixing():
    # Newman (2003) Phys. Rev. E 67, 026126, Table I: sexual partnerships by race (rows men,
    # columns women; Catania et al. San Francisco data), published r = 0.621. The published
    # matrix sums to 0.997 (rounding), so r from the shares normalised to 1 is 0.623.
    e = [[0.258, 0.016, 0.035, 0.013],
         [0.012, 0.157, 0.058, 0.019],
         [0.013, 0.023, 0.306, 0.035],
         [0.005, 0.007, 0.024, 0.016]]
    groups = ["black", "hispanic", "white", "other"]
    D = nx.DiGraph()
    k = 0
    for i, row in enumerate(e):
        for j, share in enumerate(row):
            for _ in range(round(share * 1000)):
                D.add_node(f"m{k}", race=groups[i])
                D.add_node(f"w{k}", race=groups[j])
                D.add_edge(f"m{k}", f"w{k}")
                k += 1
    assert assortativity(D, "race") == pytest.approx(0.621, abs=0.003)


def test_assortativity_undefined():
    G = nx.complete_graph(3)
    nx.set_node_attributes(G, "x", "race")
    assert assortativity(G, "race") is None  # one group only
    H = nx.empty_graph(3)
    nx.set_node_attributes(H, {0: "x", 1: "y"}, "race")
    assert assortativity(H, "race") is None  # no ties


def test_coleman_hand_worked(tiny):
    # people with race: a b g (x: 3), c d e (y: 3), f (z: 1) -> n = 7
    # x: tie-ends a-b twice, b-c once -> s = 2/3, w = 3/7 -> (2/3 - 3/7) / (4/7) = 5/12
    # y: c-d twice, b-c, e-f -> s = 2/4, w = 3/7 -> (1/2 - 3/7) / (4/7) = 1/8
    # z: e-f only -> s = 0, w = 1/7 -> (0 - 1/7) / (1/7) = -1
    assert coleman_homophily(tiny, "race") == pytest.approx({"x": 5 / 12, "y": 1 / 8, "z": -1.0})


def test_coleman_directed_uses_out_ties():
    # a->b (x->x), a->c (x->y), c->d (y->y), d->c (y->y); n_x = n_y = 2
    # x: s = 1/2 = w -> 0; y: s = 2/2 = 1 -> (1 - 1/2) / (1/2) = 1
    D = nx.DiGraph([("a", "b"), ("a", "c"), ("c", "d"), ("d", "c")])
    nx.set_node_attributes(D, {"a": "x", "b": "x", "c": "y", "d": "y"}, "race")
    assert coleman_homophily(D, "race") == {"x": 0.0, "y": 1.0}


def test_coleman_single_group_is_none():
    G = nx.path_graph(3)
    nx.set_node_attributes(G, "x", "race")
    assert coleman_homophily(G, "race") == {"x": None}


def _two_cohorts(n=10):
    """Cohort 1 (all group x) and cohort 2 (all y): each a clique, no ties between them."""
    G = nx.disjoint_union(nx.complete_graph(n), nx.complete_graph(n))
    for v in G:
        G.nodes[v]["race"] = "x" if v < n else "y"
        G.nodes[v]["cohort"] = 1 if v < n else 2
    return G


def test_permutation_segregated_network_is_significant():
    G = _two_cohorts()
    r = ei_permutation_test(G, "race", n_permutations=400, seed=1)
    assert r["observed"] == -1.0
    # Under random labels a tie crosses with probability 2*10*10 / (20*19) = 10/19,
    # so E-I is expected at 2 * 10/19 - 1 = 1/19.
    assert r["expected"] == pytest.approx(1 / 19, abs=0.03)
    assert r["sd"] > 0
    # none of 400 shuffles is as extreme -> (0 + 1) / 401
    assert r["p_value"] == pytest.approx(1 / 401)
    assert r["n_permutations"] == 400 and r["n_ties"] == 90


def test_permutation_within_strata_holds_cohort_composition():
    # Each cohort is one group, so shuffling within cohorts changes nothing: every null
    # E-I equals the observed -1 and p = (400 + 1) / (400 + 1).
    G = _two_cohorts()
    r = ei_permutation_test(G, "race", n_permutations=400, seed=1, strata="cohort")
    assert r["expected"] == -1.0 and r["sd"] == 0.0 and r["p_value"] == 1.0
    mapping = {v: G.nodes[v]["cohort"] for v in G}
    assert ei_permutation_test(G, "race", n_permutations=50, strata=mapping)["p_value"] == 1.0


def test_permutation_strata_shuffle_only_within_blocks():
    # Cohort 1 holds x, x, y; cohort 2 holds y, y, y. Within-cohort shuffles can only move
    # the one y inside cohort 1, so a tie inside cohort 2 is always internal.
    G = nx.Graph([(3, 4), (4, 5)])
    G.add_nodes_from([0, 1, 2])
    nx.set_node_attributes(G, {0: "x", 1: "x", 2: "y", 3: "y", 4: "y", 5: "y"}, "race")
    nx.set_node_attributes(G, {0: 1, 1: 1, 2: 1, 3: 2, 4: 2, 5: 2}, "cohort")
    r = ei_permutation_test(G, "race", n_permutations=100, strata="cohort")
    assert r["expected"] == -1.0


def test_permutation_no_ties_is_none():
    G = nx.empty_graph(3)
    nx.set_node_attributes(G, "x", "race")
    r = ei_permutation_test(G, "race", n_permutations=10)
    assert r["observed"] is None and r["p_value"] is None and r["n_ties"] == 0


def test_permutation_is_seeded():
    G = nx.karate_club_graph()
    a = ei_permutation_test(G, "club", n_permutations=200, seed=7)
    b = ei_permutation_test(G, "club", n_permutations=200, seed=7)
    assert a == b


def test_permutation_invalid_count():
    with pytest.raises(QueryError):
        ei_permutation_test(nx.karate_club_graph(), "club", n_permutations=0)


def test_permutation_fast_on_100k_ties():
    G = nx.gnm_random_graph(20_000, 100_000, seed=1)
    rng = np.random.default_rng(0)
    nx.set_node_attributes(G, dict(zip(G, rng.choice(["a", "b", "c"], size=20_000))), "race")
    start = time.perf_counter()
    r = ei_permutation_test(G, "race", n_permutations=1000)
    assert time.perf_counter() - start < 30  # about 1-2 s on two cores
    assert r["n_ties"] == 100_000
    # random labels on a random graph: observed sits inside the null
    assert r["p_value"] > 0.01


def test_network_views_union_and_mutual():
    D = nx.DiGraph()
    D.add_node("z", race="x")  # isolate stays in both views
    D.add_edge("a", "b", waves={"pre"})
    D.add_edge("b", "a", waves={"post"})
    D.add_edge("b", "c", waves={"pre"})
    views = network_views(D)
    union, mutual = views["union"], views["mutual"]
    assert sorted(map(sorted, union.edges())) == [["a", "b"], ["b", "c"]]
    assert union["a"]["b"]["waves"] == {"pre", "post"} and union["a"]["b"]["reciprocated"]
    assert not union["b"]["c"]["reciprocated"]
    assert sorted(map(sorted, mutual.edges())) == [["a", "b"]]
    assert "z" in union and "z" in mutual and union.nodes["z"]["race"] == "x"
    with pytest.raises(QueryError):
        network_views(nx.Graph())


def test_assortativity_matches_networkx_reference():
    import random

    import networkx as nx
    from queries.homophily import assortativity
    G = nx.gnm_random_graph(300, 900, seed=4)
    rnd = random.Random(4)
    nx.set_node_attributes(G, {n: rnd.choice("abc") for n in G if n % 7}, "g")  # every 7th person unlabelled
    H = G.subgraph([n for n in G if n % 7])
    assert assortativity(G, "g") == pytest.approx(nx.attribute_assortativity_coefficient(H, "g"), abs=1e-12)
    K = nx.karate_club_graph()
    assert assortativity(K, "club") == pytest.approx(nx.attribute_assortativity_coefficient(K, "club"), abs=1e-12)


def test_shuffles_keep_each_stratum_composition_large_and_small_blocks():
    import numpy as np
    from queries.permutation import _LARGE, Shuffler
    rng = np.random.default_rng(1)
    sizes = [3, _LARGE + 40, 5, 1, 70]  # small, large, small, single, small of another width
    strata = np.repeat(np.arange(len(sizes)), sizes)
    codes = rng.integers(0, 4, strata.size).astype(np.int32)
    rows = np.vstack([codes[p] for p in Shuffler(strata).batches(120, seed=2)])
    assert rows.shape == (120, strata.size)
    again = np.vstack([codes[p] for p in Shuffler(strata).batches(120, seed=2, workers=1)])
    assert (rows == again).all()  # the same shuffles whatever the number of threads
    for s in range(len(sizes)):
        block = strata == s
        assert all(sorted(r[block]) == sorted(codes[block]) for r in rows)
    large = strata == 1
    assert len({tuple(r[large]) for r in rows}) > 40  # the large block really is shuffled
