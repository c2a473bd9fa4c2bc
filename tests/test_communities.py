"""Communities: Davis's Southern Women split into the two known groups; karate modularity; Blau."""
from __future__ import annotations

import networkx as nx
import pytest
from networkx.algorithms import bipartite

from queries.communities import blau_index, community_diversity, louvain
from queries.errors import QueryError

# Davis, Gardner & Gardner (1941) Deep South; consensus of 21 analyses in Freeman (2003),
# "Finding social groups: a meta-analysis of the Southern Women data". Core members only;
# Pearl, Olivia, Flora, Ruth and Dorothy are placed differently by different analysts and
# may land on either side.
GROUP_1 = {"Evelyn Jefferson", "Laura Mandeville", "Theresa Anderson", "Brenda Rogers",
           "Charlotte McDowd", "Frances Anderson", "Eleanor Nye"}
GROUP_2 = {"Verne Sanderson", "Myra Liddel", "Katherina Rogers", "Sylvia Avondale",
           "Nora Fayette", "Helen Lloyd"}
AMBIGUOUS = {"Pearl Oglethorpe", "Olivia Carleton", "Flora Price", "Ruth DeSand", "Dorothy Murchison"}


def _coattendance():
    """Women tied by co-attending events, weight = number of shared events."""
    B = nx.davis_southern_women_graph()
    return bipartite.weighted_projected_graph(B, B.graph["top"])


@pytest.mark.parametrize("method", ["networkx", "igraph"])
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_davis_southern_women_two_groups(method, seed):
    if method == "igraph":
        pytest.importorskip("igraph")
    W = _coattendance()
    assert W.number_of_nodes() == 18 and W["Evelyn Jefferson"]["Laura Mandeville"]["weight"] == 6
    parts = louvain(W, seed=seed, method=method)
    assert len(parts) == 2
    assert sum(len(p) for p in parts) == 18
    sides = [set(p) for p in parts]
    side_1 = next(s for s in sides if "Evelyn Jefferson" in s)
    side_2 = next(s for s in sides if "Nora Fayette" in s)
    assert side_1 is not side_2
    assert GROUP_1 <= side_1 and GROUP_2 <= side_2
    assert (side_1 | side_2) - GROUP_1 - GROUP_2 <= AMBIGUOUS


def test_louvain_output_is_sorted():
    W = _coattendance()
    parts = louvain(W)
    assert [len(p) for p in parts] == sorted((len(p) for p in parts), reverse=True)
    assert all(p == sorted(p) for p in parts)


def test_karate_modularity_sanity():
    # Unweighted karate club: the best modularity known is 0.4198 (Brandes et al. 2008,
    # exact ILP); Louvain should come close and cannot exceed it.
    K = nx.karate_club_graph()
    parts = louvain(K, weight=None, seed=0)
    q = nx.community.modularity(K, parts, weight=None)
    assert 0.40 < q <= 0.41979 + 1e-9
    # communities nest inside the two factions: at most 3 members of any community on the
    # "wrong" side of the split
    club = nx.get_node_attributes(K, "club")
    for p in parts:
        counts = [sum(club[v] == c for v in p) for c in ("Mr. Hi", "Officer")]
        assert min(counts) <= 3


def test_louvain_isolates_are_singletons():
    G = nx.Graph([("a", "b")])
    G.add_node("c")
    assert louvain(G) == [["a", "b"], ["c"]]
    assert louvain(nx.Graph()) == []


def test_blau_index_by_hand():
    assert blau_index(["a", "a", "a"]) == 0.0
    assert blau_index(["a", "b"]) == 0.5
    # four equal groups: 1 - 4 * (1/4)^2 = 0.75
    assert blau_index(["a", "b", "c", "d"]) == 0.75
    # 3 a, 1 b, None ignored: 1 - (9/16 + 1/16) = 3/8
    assert blau_index(["a", "a", "a", "b", None, float("nan")]) == pytest.approx(3 / 8)
    assert blau_index([]) is None


def test_community_diversity_hand_worked():
    G = nx.Graph([("a", "b"), ("b", "c"), ("d", "e")])
    nx.set_node_attributes(G, {"a": "Black", "b": "Latino", "c": "Black", "d": "White"}, "race_ethnicity")
    rows = community_diversity(G, [["a", "b", "c"], ["d", "e"]], "race_ethnicity")
    # first: 2 Black, 1 Latino -> 1 - (4/9 + 1/9) = 4/9; second: one White known, e missing
    assert rows[0] == {"community": 0, "size": 3, "known": 3, "blau": pytest.approx(4 / 9),
                       "composition": {"Black": 2, "Latino": 1}}
    assert rows[1] == {"community": 1, "size": 2, "known": 1, "blau": 0.0,
                       "composition": {"White": 1, None: 1}}
    with pytest.raises(QueryError):
        community_diversity(G, [["a", "zz"]], "race_ethnicity")
