"""Homophily measures on hand-worked tiny graphs and classic networks (karate club, Newman 2003)."""
from __future__ import annotations

import time
from fractions import Fraction

import networkx as nx
import numpy as np
import pytest

from queries.arrays import ArrayNetwork
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


# Coleman's index as netseg computes it (Bojanowski & Corten 2014; R/coleman.R):
#   E_i = d_i (n_i - 1) / (n - 1); r_i = (m_ii - E_i) / (d_i - E_i) if m_ii > E_i else (m_ii - E_i) / E_i,
# m = mixing matrix of arcs (an undirected tie = two arcs), d_i = arcs sent by group i, n_i = group size.


def test_coleman_hand_worked(tiny):
    # People with race: a b g (x: 3), c d e (y: 3), f (z: 1) -> n = 7, n - 1 = 6; h (no race) and d-h left out.
    # Each undirected tie is two arcs.
    # x: arcs sent a->b, b->a, b->c: d = 3, m_xx = 2; E = 3 * 2/6 = 1; 2 > 1 -> (2 - 1) / (3 - 1) = 1/2
    # y: arcs sent c->b, c->d, d->c, e->f: d = 4, m_yy = 2; E = 4 * 2/6 = 4/3; 2 > 4/3
    #    -> (2 - 4/3) / (4 - 4/3) = (2/3) / (8/3) = 1/4
    # z: f alone (n_z = 1): d = 1, m_zz = 0, E = 1 * 0/6 = 0 -> (0 - 0) / 0: undefined, None
    #    (the approximation n_i/n of Coleman 1958 gave -1 here: f "failed" to name a fellow z who does not exist)
    assert coleman_homophily(tiny, "race") == {"x": 0.5, "y": 0.25, "z": None}


def test_coleman_directed_uses_out_ties():
    # a->b (x->x), a->c (x->y), c->d (y->y), d->c (y->y); n_x = n_y = 2, n - 1 = 3
    # x: d = 2, m_xx = 1, E = 2 * 1/3 = 2/3; 1 > 2/3 -> (1 - 2/3) / (2 - 2/3) = (1/3) / (4/3) = 1/4
    # y: d = 2, m_yy = 2, E = 2/3 -> (2 - 2/3) / (2 - 2/3) = 1 (a->c, received by y, is x's arc, not y's)
    D = nx.DiGraph([("a", "b"), ("a", "c"), ("c", "d"), ("d", "c")])
    nx.set_node_attributes(D, {"a": "x", "b": "x", "c": "y", "d": "y"}, "race")
    assert coleman_homophily(D, "race") == {"x": 0.25, "y": 1.0}


def test_coleman_below_chance_is_negative():
    # a(x) b(x) c(y) d(y), ties a-c, b-d only: x sends d = 2 arcs, m_xx = 0, E = 2 * 1/3 = 2/3
    # -> (0 - 2/3) / (2/3) = -1 (no own-group tie at all); the same for y
    G = nx.Graph([("a", "c"), ("b", "d")])
    nx.set_node_attributes(G, {"a": "x", "b": "x", "c": "y", "d": "y"}, "race")
    assert coleman_homophily(G, "race") == {"x": -1.0, "y": -1.0}


def test_coleman_single_group_is_zero_as_in_netseg():
    # Everyone in x (n_x = n = 3): d = 4 arcs, m_xx = 4, E = 4 * 2/2 = 4; m <= E -> (4 - 4) / 4 = 0:
    # all ties stay inside, exactly what chance gives when there is nobody else.
    G = nx.path_graph(3)
    nx.set_node_attributes(G, "x", "race")
    assert coleman_homophily(G, "race") == {"x": 0.0}


def test_coleman_undefined_is_none():
    # y sends no tie (d = 0, E = 0, m = 0: 0/0); z is a one-person group with a tie (E = 0, m = 0: 0/0)
    G = nx.Graph([(1, 2), (1, 4)])
    G.add_node(3)
    nx.set_node_attributes(G, {1: "x", 2: "x", 3: "y", 4: "z"}, "race")
    result = coleman_homophily(G, "race")
    assert result["y"] is None and result["z"] is None
    assert coleman_homophily(nx.empty_graph(1), "race") == {}
    assert coleman_homophily(nx.Graph(), "race") == {}


def test_coleman_netseg_directed_cycle():
    # netseg tests/testthat/test-coleman.R: the directed ring 1->2->...->6->1, colours 1 1 2 2 3 3.
    # Each group sends 2 arcs, 1 to itself; E = 2 * 1/5 = 0.4 -> (1 - 0.4) / (2 - 0.4) = 0.375
    D = nx.DiGraph([(1, 2), (2, 3), (3, 4), (4, 5), (5, 6), (6, 1)])
    nx.set_node_attributes(D, dict(zip(range(1, 7), [1, 1, 2, 2, 3, 3])), "color")
    assert coleman_homophily(D, "color") == pytest.approx({1: 0.375, 2: 0.375, 3: 0.375})


def test_coleman_netseg_coleman_1958_example():
    # netseg tests/testthat/test-coleman.R, Coleman's own example: mixing matrix [[45, 15], [20, 20]], group sizes 60 and 40.
    # Group 1: d = 60, E = 60 * 59/99; (45 - E) / (60 - E) = (45*99 - 60*59) / (60*99 - 60*59) = 915/2400 = 0.38125
    # Group 2: d = 40, E = 40 * 39/99; (20 - E) / (40 - E) = (20*99 - 40*39) / (40*99 - 40*39) = 420/2400 = 0.175
    # (Coleman's paper, with the approximation n_i/n, published 0.375 and 0.167.)
    D = nx.DiGraph()
    one = [f"p{i}" for i in range(60)]
    two = [f"q{i}" for i in range(40)]
    D.add_nodes_from(one, group=1)
    D.add_nodes_from(two, group=2)
    D.add_edges_from((one[i], one[i + 1]) for i in range(45))    # 45 arcs within group 1
    D.add_edges_from((one[i], two[i]) for i in range(15))        # 15 from 1 to 2
    D.add_edges_from((two[i], one[i]) for i in range(20))        # 20 from 2 to 1
    D.add_edges_from((two[i], two[i + 1]) for i in range(20))    # 20 within group 2
    assert mixing_matrix(D, "group").values.tolist() == [[45, 15], [20, 20]]
    assert coleman_homophily(D, "group") == {1: 0.38125, 2: 0.175}


# netseg's Classroom data (R package netseg, Bojanowski & Corten 2014): "with whom do you like to play?"
# in a class of 9-year-olds, 26 pupils, 88 arcs; copied from netseg's data-raw/classroom-edb.csv (arcs) and
# classroom-vdb.csv (gender). netseg's README reports coleman(Classroom, "gender") = Boy 0.9084249, Girl 0.7909699.
CLASSROOM_GIRLS = [1006, 1009, 1012, 1015, 1021, 1027, 1030, 1057, 1063, 1066, 1069, 1075, 1078]
CLASSROOM_BOYS = [1003, 1018, 1024, 1033, 1036, 1039, 1042, 1045, 1048, 1051, 1054, 1060, 1072]  # 1024: isolate
CLASSROOM_ARCS = {
    1003: [1018, 1051, 1072], 1006: [1009, 1042, 1057, 1078], 1009: [1006, 1057, 1078],
    1012: [1015, 1021, 1075], 1015: [1012, 1021, 1078], 1018: [1042, 1048, 1051, 1060, 1072],
    1021: [1006, 1009, 1012, 1057, 1078], 1027: [1006, 1009, 1048, 1051, 1057, 1078], 1030: [1009, 1078],
    1033: [1051], 1036: [1006, 1033, 1042], 1039: [1018, 1042], 1042: [1006, 1018, 1039, 1051],
    1045: [1018, 1042], 1048: [1018, 1042, 1045, 1051, 1054], 1051: [1018, 1042, 1045, 1048, 1054],
    1054: [1018, 1039, 1048, 1051, 1072], 1057: [1009, 1078], 1060: [1003, 1018, 1042, 1051],
    1063: [1006, 1042, 1066, 1069], 1066: [1027, 1063, 1069, 1075], 1069: [1051, 1063, 1066],
    1072: [1003, 1018, 1051], 1075: [1009, 1027, 1057, 1078], 1078: [1006, 1009, 1057],
}


def _classroom():
    D = nx.DiGraph()
    D.add_nodes_from(CLASSROOM_BOYS, gender="Boy")
    D.add_nodes_from(CLASSROOM_GIRLS, gender="Girl")
    D.add_edges_from((u, v) for u, named in CLASSROOM_ARCS.items() for v in named)
    return D


def test_coleman_netseg_classroom_readme():
    # Mixing matrix (Boy, Girl) [[40, 2], [5, 41]], n_boy = n_girl = 13, n - 1 = 25:
    # Boy:  E = 42 * 12/25 = 20.16 -> (40 - 20.16) / (42 - 20.16) = 496/546 = 0.9084249...
    # Girl: E = 46 * 12/25 = 22.08 -> (41 - 22.08) / (46 - 22.08) = 473/598 = 0.7909699...
    D = _classroom()
    assert D.number_of_nodes() == 26 and D.number_of_edges() == 88 and D.degree(1024) == 0
    assert mixing_matrix(D, "gender").values.tolist() == [[40, 2], [5, 41]]
    result = coleman_homophily(D, "gender")
    assert result == pytest.approx({"Boy": 0.9084249, "Girl": 0.7909699}, abs=1e-7)
    assert result == {"Boy": 496 / 546, "Girl": 473 / 598}


def test_coleman_netseg_classroom_through_arrays():
    # The same network built as arrays straight from the table (no networkx): the same answer.
    ids = CLASSROOM_BOYS + CLASSROOM_GIRLS
    pos = {p: i for i, p in enumerate(ids)}
    arcs = [(pos[u], pos[v]) for u, named in CLASSROOM_ARCS.items() for v in named]
    A = ArrayNetwork(ids, [u for u, _ in arcs], [v for _, v in arcs], directed=True,
                     columns={"gender": ["Boy"] * 13 + ["Girl"] * 13})
    assert coleman_homophily(A, "gender") == coleman_homophily(_classroom(), "gender") \
        == {"Boy": 496 / 546, "Girl": 473 / 598}


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
