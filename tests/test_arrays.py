"""The array engine (queries.arrays) against the networkx reference.

Every measure accepts a networkx graph or an ArrayNetwork; the report builds ArrayNetworks straight from
the tables. These tests hold the two paths to the same answers on the synthetic demo (1,000 parents:
large enough for the igraph routes at 2,000+ people), and check the pieces that only the array path has:
the batched per-cohort formation tests, the permutation engine, and the report's worker process.
"""
import json
import sys
from itertools import permutations
from pathlib import Path

import networkx as nx
import numpy as np
import pytest

from queries import brokerage, communities, formation, homophily
from queries.arrays import ArrayNetwork, as_arrays
from queries.errors import QueryError
from queries.network import coattendance_arrays, coattendance_network, tie_arrays, tie_network
from queries.permutation import Shuffler
from queries.report import cohort_of, full_report, wave_pair
from queries.summary import summary_metrics

sys.path.insert(0, str(Path(__file__).parent))
from helpers_data import demo_dataset  # noqa: E402

ATTRS = ("race_ethnicity", "income_band", "primary_language", "site_id")


@pytest.fixture(scope="module")
def ds():
    return demo_dataset(1000)


@pytest.mark.parametrize("view", ["union", "mutual", "directed"])
def test_tie_arrays_hold_the_same_network_as_tie_network(ds, view):
    G, A = tie_network(ds, view=view), tie_arrays(ds, view=view)
    assert list(A.ids) == list(G) and A.directed == G.is_directed()
    edges = list(zip(A.ids[A.src].tolist(), A.ids[A.dst].tolist()))
    key = (lambda e: e) if G.is_directed() else frozenset
    assert len(edges) == G.number_of_edges() and {key(e) for e in edges} == {key(e) for e in G.edges()}
    if view == "union":  # the same insertion order, so networkx rebuilds the very same graph
        assert list(A.to_networkx().edges()) == list(G.edges())


def test_coattendance_arrays_hold_the_same_weighted_network(ds):
    G, A = coattendance_network(ds, max_event_size=50), coattendance_arrays(ds, max_event_size=50)
    want = {frozenset((u, v)): d["weight"] for u, v, d in G.edges(data=True)}
    got = {frozenset((u, v)): w for u, v, w in zip(A.ids[A.src].tolist(), A.ids[A.dst].tolist(), A.weight)}
    assert got == want and len(want) > 1000


@pytest.mark.parametrize("view", ["union", "directed"])
def test_homophily_measures_agree_on_both_forms(ds, view):
    G, A = tie_network(ds, view=view), tie_arrays(ds, view=view)
    for attr in ATTRS:
        assert homophily.ei_index(A, attr) == pytest.approx(homophily.ei_index(G, attr), abs=1e-12)
        assert homophily.ei_by_group(A, attr) == homophily.ei_by_group(G, attr)
        assert homophily.ei_by_node(A, attr) == homophily.ei_by_node(G, attr)
        assert homophily.assortativity(A, attr) == pytest.approx(homophily.assortativity(G, attr), abs=1e-12)
        assert homophily.coleman_homophily(A, attr) == homophily.coleman_homophily(G, attr)
        assert homophily.mixing_matrix(A, attr).equals(homophily.mixing_matrix(G, attr))
    test_a = homophily.ei_permutation_test(A, "race_ethnicity", n_permutations=200, seed=3, strata="site_id")
    test_g = homophily.ei_permutation_test(G, "race_ethnicity", n_permutations=200, seed=3, strata="site_id")
    assert test_a == test_g  # same people, same order, same seed: the very same shuffles


def test_homophily_on_classic_values_through_arrays():
    K = nx.karate_club_graph()
    assert homophily.ei_index(as_arrays(K), "club") == pytest.approx(-56 / 78)
    assert homophily.assortativity(as_arrays(K), "club") == pytest.approx(nx.attribute_assortativity_coefficient(K, "club"))


def test_permutation_tests_share_shuffles_only_between_attributes_known_for_the_same_people(ds):
    A = tie_arrays(ds)
    together = homophily.ei_permutation_tests(A, ["race_ethnicity", "income_band", "site_id"], n_permutations=150,
                                              seed=2)
    for attr in ("race_ethnicity", "income_band", "site_id"):  # each equals its test run alone
        assert together[attr] == homophily.ei_permutation_test(A, attr, n_permutations=150, seed=2)


def test_brokerage_agrees_on_both_forms(ds):
    D, A = tie_network(ds, view="directed"), tie_arrays(ds, view="directed")
    for attr in ("race_ethnicity", "income_band"):
        per_person = brokerage.gould_fernandez(D, attr)
        assert brokerage.gould_fernandez(A, attr) == per_person
        summed: dict = {}
        for person, counts in per_person.items():
            group = D.nodes[person].get(attr)
            if group is not None:
                row = summed.setdefault(str(group), dict.fromkeys(list(brokerage.GF_ROLES) + ["total"], 0))
                for role, n in counts.items():
                    row[role] += n
        assert brokerage.gould_fernandez_by_group(A, attr) == summed
    G, U = tie_network(ds), tie_arrays(ds)
    reference = {(min(u, v), max(u, v)) for u, v in nx.local_bridges(G, with_span=False)}
    rows = brokerage.local_bridges(U, with_span=False)
    assert {(r["u"], r["v"]) for r in rows} == reference
    assert {(r["u"], r["v"]) for r in rows if r["is_bridge"]} == {tuple(sorted(e)) for e in nx.bridges(G)}
    assert brokerage.bridges(U) == brokerage.bridges(G)
    values = brokerage.betweenness(G).values
    assert brokerage.top_brokers(U, by="site_id", n=3, values=values) == \
        brokerage.top_brokers(G, by="site_id", n=3, values=values)


def test_kernels_and_communities_agree_on_both_forms(ds):
    G, A = tie_network(ds), tie_arrays(ds)
    assert A.n >= 2000  # the igraph routes
    bg, ba = brokerage.betweenness(G), brokerage.betweenness(A)
    assert ba.method == bg.method == "igraph"
    assert max(abs(ba.values[v] - bg.values[v]) for v in bg.values) < 1e-12
    assert communities.louvain(A, seed=0) == communities.louvain(G, seed=0)
    parts = communities.louvain(A, seed=0)[:5]
    assert communities.community_diversity(A, parts, "race_ethnicity") == \
        communities.community_diversity(G, parts, "race_ethnicity")
    assert summary_metrics(ds, graph=A) == summary_metrics(ds, graph=G) == summary_metrics(ds)


def test_growth_agrees_on_both_forms(ds):
    G, A = tie_network(ds), tie_arrays(ds)
    H = nx.Graph(G.edges())  # fewer people, several components
    a = formation.growth({"all": A, "tied": as_arrays(H)})
    b = formation.growth({"all": G, "tied": H})
    assert a.equals(b) or np.allclose(a.to_numpy(float), b.to_numpy(float), equal_nan=True)


def test_cohort_changes_match_tie_change_cohort_by_cohort(ds):
    cohorts = cohort_of(ds)
    pair = wave_pair(ds.ties["wave"])
    batched = formation.cohort_changes(tie_arrays(ds, waves=[pair[0]]), tie_arrays(ds, waves=list(pair)), cohorts,
                                       n_permutations=2000, seed=0)
    before_all, after_all = tie_network(ds, waves=[pair[0]]), tie_network(ds, waves=list(pair))
    members: dict = {}
    for person, cohort in cohorts.items():
        members.setdefault(cohort, set()).add(person)
    assert [r["cohort_id"] for r in batched] == sorted(members)
    for row in batched[:12]:
        people = members[row["cohort_id"]]
        before, after = nx.Graph(before_all.edges(people)), nx.Graph(after_all.edges(people))
        for H in (before, after):
            H.add_nodes_from(people)
            H.add_nodes_from((p, after_all.nodes[p]) for p in list(H))
        # the per-cohort test's exact null means (joincount), against which the 2,000 shuffles are checked
        one = formation.tie_change(before, after, n_permutations=400, seed=0, normal_from=0)
        assert row["members"] == len(people)
        for key in ("ties_before", "ties_after", "new_ties", "lost_ties", "new_cross_race", "new_cross_class"):
            assert row[key] == one[key], key
        for attr, want in one["by_attribute"].items():
            got = row["by_attribute"][attr]
            for key in ("ei_before", "ei_after", "delta_ei", "ei_new_ties"):
                assert (got[key] is None) == (want[key] is None)
                assert got[key] is None or got[key] == pytest.approx(want[key], abs=1e-12), key
            for key in ("expected_delta", "expected_new_ties"):  # 2,000 shuffles' mean against the exact one
                assert got[key] is None or got[key] == pytest.approx(want[key], abs=0.04), key


def test_cohort_changes_refuses_mismatched_snapshots(ds):
    with pytest.raises(QueryError, match="same people"):
        formation.cohort_changes(tie_arrays(ds, view="directed"), tie_arrays(ds), cohort_of(ds))


def test_shuffles_are_uniform_within_a_block():
    """Each of the 3! orders of a three-person block comes up about 1/6 of the time (and a 200-person
    block beside it stays inside its block)."""
    strata = np.repeat([0, 1], [3, 200])
    perms = np.vstack(list(Shuffler(strata).batches(6000, seed=9)))
    counts = {p: 0 for p in permutations(range(3))}
    for row in perms[:, :3]:
        counts[tuple(row.tolist())] += 1
    expected = len(perms) / 6
    chi2 = sum((c - expected) ** 2 / expected for c in counts.values())
    assert chi2 < 20.5  # 5 degrees of freedom: p < 0.001 only if the shuffle is biased
    assert (np.sort(perms[:, 3:], axis=1) == np.arange(3, 203)).all()


def test_report_worker_process_gives_the_same_report(ds):
    a = full_report(ds, n_permutations=50, parallel=True)
    b = full_report(ds, n_permutations=50, parallel=False)
    assert json.dumps(a, sort_keys=True) == json.dumps(b, sort_keys=True)


def test_report_worker_error_reaches_the_caller(ds, monkeypatch):
    from queries import outreach

    def broken(*args, **kwargs):
        raise QueryError("outreach broke on purpose")

    monkeypatch.setattr(outreach, "outreach_families", broken)
    with pytest.raises(QueryError, match="broke on purpose"):
        full_report(ds, n_permutations=20, parallel=True)


def test_array_network_checks_its_input():
    with pytest.raises(QueryError, match="same length"):
        ArrayNetwork(["a", "b"], [0], [0, 1])
    net = ArrayNetwork(["a", "b", "c"], [0, 1], [1, 2], columns={"race": ["x", None, float("nan")]})
    assert net.codes("race")[0].tolist() == [0, -1, -1]
    with pytest.raises(QueryError, match="not in the network"):
        net.positions(["a", "zz"])
    assert net.has_edge("b", "a") and not net.has_edge("a", "c") and not net.has_edge("a", "zz")
    sub = net.induced(np.array([True, True, False]))
    assert sub.ids.tolist() == ["a", "b"] and sub.m == 1 and sub.column("race").tolist() == ["x", None]


def test_group_ei_tests_match_each_groups_own_test(ds):
    G = tie_network(ds, waves=["post"]) if "post" in set(ds.ties["wave"]) else tie_network(ds)
    A = tie_arrays(ds, waves=["post"]) if "post" in set(ds.ties["wave"]) else tie_arrays(ds)
    members = {str(c): set(p) for c, p in ds.enrollments.groupby("cohort_id")["person_id"]}
    batched = homophily.group_ei_tests(A, members, ["race_ethnicity", "income_band"], n_permutations=400, seed=0)
    assert set(batched) == set(members)
    checked = 0
    for cohort_id in sorted(members)[:10]:
        edges = [(u, v) for u, v in G.edges() if u in members[cohort_id] or v in members[cohort_id]]
        if not edges:
            assert all(r["n_ties"] == 0 and r["observed"] is None for r in batched[cohort_id].values())
            continue
        H = G.edge_subgraph(edges)
        for attr in ("race_ethnicity", "income_band"):
            want = homophily.ei_permutation_test(H, attr, n_permutations=400, seed=0)
            got = batched[cohort_id][attr]
            assert got["n_ties"] == want["n_ties"]
            assert got["observed"] == pytest.approx(want["observed"], abs=1e-12)
            assert got["expected"] == pytest.approx(want["expected"], abs=0.05)  # two 400-shuffle estimates
            checked += 1
    assert checked >= 10
    with pytest.raises(QueryError, match="undirected"):
        homophily.group_ei_tests(tie_arrays(ds, view="directed"), members, ["race_ethnicity"])


def test_tie_change_takes_array_snapshots_too(ds):
    pair = wave_pair(ds.ties["wave"])
    a = formation.tie_change(tie_arrays(ds, waves=[pair[0]]), tie_arrays(ds, waves=list(pair)),
                             n_permutations=200, seed=1)
    b = formation.tie_change(tie_network(ds, waves=[pair[0]]), tie_network(ds, waves=list(pair)),
                             n_permutations=200, seed=1)
    assert a == b   # the same people in the same order: the very same shuffles
    with pytest.raises(QueryError, match="same people"):
        formation.tie_change(tie_arrays(ds), tie_arrays(ds, view="directed"))


def test_edge_cases_found_in_review():
    """Each of these once went wrong on the array path (a review of the array engine found them)."""
    from helpers_data import tiny_dataset

    # a directed multigraph is refused by igraph routes, as a networkx multigraph always was
    M = nx.MultiDiGraph([("a", "b"), ("a", "b"), ("c", "b")])
    with pytest.raises(QueryError, match="multigraphs"):
        brokerage.betweenness(as_arrays(M), method="igraph")
    assert brokerage.betweenness(as_arrays(M), method="networkx").values["b"] == 0.0
    # edge weights of a networkx graph are kept (communities read them)
    W = nx.Graph()
    W.add_weighted_edges_from([("a", "b", 1), ("b", "c", 1), ("a", "c", 1), ("d", "e", 1), ("e", "f", 1),
                               ("d", "f", 1), ("c", "d", 50)])
    assert communities.louvain(as_arrays(W)) == communities.louvain(W)
    ds = tiny_dataset(people=[{"person_id": p, "role": "parent"} for p in "abcdef"])
    assert summary_metrics(ds, graph=W)["communities"] == [c for c in communities.louvain(W) if len(c) > 1]
    # one attribute name is one attribute, not its letters
    P = nx.path_graph(["a", "b", "c"])
    nx.set_node_attributes(P, {"a": "x", "b": "x", "c": "y"}, "race")
    assert list(homophily.ei_permutation_tests(P, "race", n_permutations=9)) == ["race"]
    assert list(homophily.group_ei_tests(P, {"k": ["a"]}, "race", n_permutations=9)["k"]) == ["race"]
    with pytest.raises(QueryError, match="simple network"):
        homophily.group_ei_tests(nx.MultiGraph([("a", "b"), ("a", "b")]), {"k": ["a"]}, "race")
    # empty and degenerate inputs
    assert brokerage.gould_fernandez(nx.DiGraph(), "race") == {}
    K = nx.karate_club_graph()
    assert brokerage.constraint(as_arrays(K)) == pytest.approx(brokerage.constraint(K), nan_ok=True)
    assert brokerage.effective_size(as_arrays(K)) == pytest.approx(brokerage.effective_size(K), nan_ok=True)
    from queries import kernels
    assert kernels.core_number(as_arrays(K)).values == kernels.core_number(K).values
    # an attendance row without an event is left out, not a crash
    ds = tiny_dataset(people=[{"person_id": "a"}, {"person_id": "b"}],
                      attendance=[{"person_id": "a", "event_id": "E1"}, {"person_id": "b", "event_id": None}])
    assert coattendance_arrays(ds).m == 0


def test_store_reads_back_values_orjson_refuses(tmp_path):
    from graph.model import GraphRecords
    from graph.store import SQLiteStore

    with SQLiteStore(tmp_path / "s.sqlite") as store:
        store.write(GraphRecords(nodes={"Person": [{"id": "a", "person_id": "a", "score": float("nan")},
                                                   {"id": "b", "person_id": "b", "big": 2 ** 70}]}))
        nodes, _ = store.read_rows()
    people = {r["id"]: r for r in nodes["Person"]}
    assert people["b"]["big"] == 2 ** 70 and people["a"]["score"] != people["a"]["score"]  # NaN
