"""Building the tie network's three views and the co-attendance network from the tiny package."""
import pytest

from ingest.load import load_package
from queries.errors import QueryError
from queries.network import coattendance_network, tie_network


@pytest.fixture
def ds(tiny_dir, sqlite_store):
    load_package(tiny_dir, sqlite_store)
    return sqlite_store.read()


def test_union_view(ds):
    G = tie_network(ds)
    assert sorted(tuple(sorted(e)) for e in G.edges()) == [("A", "B"), ("A", "C"), ("B", "D"), ("C", "T"), ("E", "F")]
    assert G.edges["A", "B"]["waves"] == {"pre"} and G.edges["A", "B"]["tie_types"] == {"friend"}
    assert G.nodes["E"]["neighborhood"] == "02134" and "income_band" not in G.nodes["E"]


def test_mutual_view_keeps_pairs_named_both_ways(ds):
    G = tie_network(ds, view="mutual")
    assert list(G.edges()) == [("A", "B")] and G.number_of_nodes() == 9


def test_directed_view_one_edge_per_reporter_pair(ds):
    D = tie_network(ds, view="directed")
    assert sorted(D.edges()) == [("A", "B"), ("A", "C"), ("B", "A"), ("B", "D"), ("C", "T"), ("E", "F")]


def test_waves_filter(ds):
    assert sorted(tuple(sorted(e)) for e in tie_network(ds, waves=["pre"]).edges()) == [("A", "B"), ("C", "T")]


def test_unknown_view(ds):
    with pytest.raises(QueryError, match="unknown network view"):
        tie_network(ds, view="sideways")


def test_coattendance_weights(ds):
    G = coattendance_network(ds)
    assert list(G.edges(data="weight")) == [("A", "B", 1)]
