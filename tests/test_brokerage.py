"""Brokerage measures: Florentine families (Padgett), a hand-worked structural-holes ego
network (Burt 1992 / Borgatti 1997 formulas), a hand-worked Gould-Fernandez digraph."""
from __future__ import annotations

import math

import networkx as nx
import pytest

from queries.brokerage import (
    GF_ROLES,
    betweenness,
    bridges,
    constraint,
    effective_size,
    gould_fernandez,
    local_bridges,
    top_brokers,
)
from queries.errors import QueryError


def test_betweenness_florentine_medici():
    # Padgett's Florentine marriage network (15 families with ties; Pucci omitted): the
    # Medici lie on 47.5 of the 14*13/2 = 91 pairs' shortest paths -> 0.522 (as networkx
    # and UCINET report).
    r = betweenness(nx.florentine_families_graph())
    assert r.values["Medici"] == pytest.approx(47.5 / 91, abs=1e-12)
    assert round(r.values["Medici"], 3) == 0.522
    assert max(r.values, key=r.values.get) == "Medici"
    assert r.method == "networkx" and r.exact and r.k is None


def test_betweenness_unnormalized_path():
    # path a-b-c-d: b is between a-c and a-d -> 2
    r = betweenness(nx.path_graph(["a", "b", "c", "d"]), normalized=False)
    assert r.values == {"a": 0.0, "b": 2.0, "c": 2.0, "d": 0.0}


def test_betweenness_sampled_reports_pivots():
    r = betweenness(nx.karate_club_graph(), k=10, seed=3)
    assert r.method == "sampled" and not r.exact and r.k == 10
    assert "10 pivots" in r.detail
    assert r.as_dict()["method"] == "sampled"


def test_betweenness_bad_method():
    with pytest.raises(QueryError):
        betweenness(nx.path_graph(3), method="fast")


@pytest.fixture
def ego_network():
    """Ego with six alters A-F; ties among alters: A-B, A-C, B-C (a closed triad) and D-E; F alone.

    Worked by hand (unweighted, so p_ij = 1 / degree(i)):
      effective size of ego (Borgatti 1997: n - 2t/n) with n = 6, t = 4: 6 - 8/6 = 14/3.
      constraint of ego (Burt 1992): every p_ego,j = 1/6.
        j = A (degree 3: ego, B, C): indirect via B and C, each (1/6)(1/3) = 1/18
            -> (1/6 + 2/18)^2 = (5/18)^2 = 25/324; same for B and C.
        j = D (degree 2: ego, E): via E (1/6)(1/2) = 1/12 -> (1/6 + 1/12)^2 = 1/16; same for E.
        j = F (degree 1): (1/6)^2 = 1/36.
        total = 75/324 + 2/16 + 1/36 = 7/27 + 1/8 = 83/216.
      alter D: contacts ego and E, who are tied: effective size 2 - 2*1/2 = 1;
        constraint: j = ego: 1/2 + via E (1/2)(1/2) -> (3/4)^2 = 81/144;
        j = E: 1/2 + via ego (1/2)(1/6) -> (7/12)^2 = 49/144; total 130/144 = 65/72.
      alter F: one contact -> effective size 1, constraint 1.
    """
    G = nx.Graph()
    G.add_edges_from(("ego", alter) for alter in "ABCDEF")
    G.add_edges_from([("A", "B"), ("A", "C"), ("B", "C"), ("D", "E")])
    G.add_node("loner")
    return G


def test_effective_size_hand_worked(ego_network):
    es = effective_size(ego_network)
    assert es["ego"] == pytest.approx(14 / 3, abs=1e-12)
    assert es["D"] == pytest.approx(1.0)
    assert es["F"] == pytest.approx(1.0)
    assert math.isnan(es["loner"])


def test_constraint_hand_worked(ego_network):
    c = constraint(ego_network)
    assert c["ego"] == pytest.approx(83 / 216, abs=1e-12)
    assert c["D"] == pytest.approx(65 / 72, abs=1e-12)
    assert c["F"] == pytest.approx(1.0)
    assert math.isnan(c["loner"])


def test_structural_holes_florentine_medici():
    # Medici's 6 contacts: Acciaiuoli, Albizzi, Barbadori, Ridolfi, Salviati, Tornabuoni;
    # one tie among them (Ridolfi-Tornabuoni): effective size 6 - 2/6 = 17/3.
    # Constraint: Ridolfi and Tornabuoni (degree 3) give (1/6 + (1/6)(1/3))^2 = 16/324 each,
    # the other four (1/6)^2 = 9/324 each: 68/324 = 17/81 (UCINET: 0.210).
    G = nx.florentine_families_graph()
    assert effective_size(G)["Medici"] == pytest.approx(17 / 3, abs=1e-12)
    assert constraint(G)["Medici"] == pytest.approx(17 / 81, abs=1e-12)


def test_effective_size_igraph_path_matches_networkx(monkeypatch):
    G = nx.powerlaw_cluster_graph(300, 3, 0.4, seed=2)
    G.add_node("iso")
    expected = nx.effective_size(G)
    monkeypatch.setenv("CIVICTIES_IGRAPH_THRESHOLD", "10")
    got = effective_size(G)
    assert math.isnan(got["iso"])
    assert max(abs(got[v] - expected[v]) for v in G if v != "iso") < 1e-9


@pytest.fixture
def naming_network():
    """Hand-worked digraph around broker B (group x).

    Senders to B: A (x), D (y), G (x). B names C (x), E (y), F (z). A also names C directly.
    Open two-paths through B and their roles (a, b, c groups):
      A->B->C closed by A->C: not counted
      A->B->E  x,x,y  representative      A->B->F  x,x,z  representative
      G->B->C  x,x,x  coordinator         G->B->E  x,x,y  representative
      G->B->F  x,x,z  representative      D->B->C  y,x,x  gatekeeper
      D->B->E  y,x,y  itinerant           D->B->F  y,x,z  liaison
    B: coordinator 1, itinerant 1, representative 4, gatekeeper 1, liaison 1, total 8.
    A brokers nothing (no one names A). H (no group) names B: its paths are not counted.
    """
    D = nx.DiGraph([("A", "B"), ("D", "B"), ("G", "B"), ("B", "C"), ("B", "E"), ("B", "F"),
                    ("A", "C"), ("H", "B")])
    nx.set_node_attributes(D, {"A": "x", "B": "x", "C": "x", "D": "y", "E": "y", "F": "z", "G": "x"}, "race")
    return D


def test_gould_fernandez_hand_worked(naming_network):
    roles = gould_fernandez(naming_network, "race")
    assert roles["B"] == {"coordinator": 1, "itinerant": 1, "representative": 4,
                          "gatekeeper": 1, "liaison": 1, "total": 8}
    for other in "ACDEFGH":
        assert roles[other]["total"] == 0


def test_gould_fernandez_mutual_ties_count_both_ways():
    # a<->b<->c, all different groups, no a-c tie: a->b->c and c->b->a are both liaison paths
    D = nx.DiGraph([("a", "b"), ("b", "a"), ("b", "c"), ("c", "b")])
    nx.set_node_attributes(D, {"a": 1, "b": 2, "c": 3}, "g")
    assert gould_fernandez(D, "g")["b"]["liaison"] == 2
    assert set(GF_ROLES) < set(gould_fernandez(D, "g")["b"])


def test_gould_fernandez_needs_directed():
    with pytest.raises(QueryError):
        gould_fernandez(nx.path_graph(3), "race")


def test_bridges_and_local_bridges():
    # triangle a-b-c, tail c-d, and a square d-e-f-g-d
    G = nx.Graph([("a", "b"), ("b", "c"), ("c", "a"), ("c", "d"),
                  ("d", "e"), ("e", "f"), ("f", "g"), ("g", "d")])
    assert bridges(G) == [("c", "d")]
    lb = local_bridges(G)
    # c-d: no other path; square ties: ends share no contact, other route has 3 steps
    assert lb[0] == {"u": "c", "v": "d", "span": None, "is_bridge": True}
    assert {(r["u"], r["v"]) for r in lb[1:]} == {("d", "e"), ("e", "f"), ("f", "g"), ("d", "g")}
    assert all(r["span"] == 3 and not r["is_bridge"] for r in lb[1:])
    # triangle ties are not local bridges (ends share a contact)
    assert not {("a", "b"), ("b", "c"), ("a", "c")} & {(r["u"], r["v"]) for r in lb}
    with pytest.raises(QueryError):
        bridges(nx.DiGraph(G))


def test_top_brokers_per_site():
    # two stars joined hub to hub: h1 (site 1) and h2 (site 2) broker everything
    G = nx.Graph([("h1", "a"), ("h1", "b"), ("h1", "h2"), ("h2", "c"), ("h2", "d")])
    nx.set_node_attributes(G, {"h1": 1, "a": 1, "b": 1, "h2": 2, "c": 2, "d": 2}, "site_id")
    top = top_brokers(G, by="site_id", n=2)
    assert list(top) == [1, 2]
    # h1 lies on the paths a-b, a-h2, a-c, a-d, b-h2, b-c, b-d: 7 pairs; normalised by
    # (n-1)(n-2)/2 = 5*4/2 = 10 -> 0.7 (h2 the same by symmetry)
    assert top[1][0] == {"person_id": "h1", "betweenness": pytest.approx(0.7)}
    assert top[1][1] == {"person_id": "a", "betweenness": 0.0}
    assert top[2][0]["person_id"] == "h2"
    assert list(top_brokers(G, n=1)) == ["all"]
    with pytest.raises(QueryError):
        top_brokers(G, n=0)


def test_local_bridges_without_span_find_the_same_ties():
    import networkx as nx
    from queries.brokerage import local_bridges
    G = nx.karate_club_graph()
    G.add_edge(33, 99)  # a pendant: a full bridge
    with_span = local_bridges(G, with_span=True)
    without = local_bridges(G, with_span=False)
    assert {(r["u"], r["v"]) for r in with_span} == {(r["u"], r["v"]) for r in without}
    bridges = {(r["u"], r["v"]) for r in without if r["is_bridge"]}
    assert bridges == {(r["u"], r["v"]) for r in with_span if r["is_bridge"]} == {(0, 11), (33, 99)}  # pendants
    assert all(r["span"] is None for r in without)
