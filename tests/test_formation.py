"""Tie formation between snapshots: hand-worked counts and E-I change, permutation significance, growth."""
from __future__ import annotations

import math
import random

import networkx as nx
import pytest

from queries.errors import QueryError
from queries.formation import growth, tie_change

PEOPLE = {  # person: (race, income)
    "a": ("x", "low"), "b": ("x", "high"), "c": ("y", "low"), "d": ("y", "high"), "e": (None, "low"),
}


def _graph(edges):
    G = nx.Graph()
    for v, (race, income) in PEOPLE.items():
        G.add_node(v, race_ethnicity=race, income_band=income)
    G.add_edges_from(edges)
    return G


@pytest.fixture
def before_after():
    """before: a-b, c-d, a-e.  after: a-b, c-d, b-c, a-d, b-e (a-e lapsed).

    new ties: b-c, a-d, b-e (3); lost: a-e (1).
    new cross-race: b-c (x-y), a-d (x-y); b-e not counted (e has no race) -> 2.
    new cross-class: b-c (high-low), a-d (low-high), b-e (high-low) -> 3.
    race E-I before: a-b, c-d internal -> -1; after: a-b, c-d internal, b-c, a-d external -> 0.
    class E-I before: a-b, c-d external, a-e internal -> 1/3; after: all 5 external -> 1.
    """
    return _graph([("a", "b"), ("c", "d"), ("a", "e")]), \
        _graph([("a", "b"), ("c", "d"), ("b", "c"), ("a", "d"), ("b", "e")])


def test_tie_change_hand_worked(before_after):
    before, after = before_after
    r = tie_change(before, after, n_permutations=50)
    assert (r["ties_before"], r["ties_after"], r["new_ties"], r["lost_ties"]) == (3, 5, 3, 1)
    assert (r["new_cross_race"], r["new_cross_class"]) == (2, 3)
    race = r["by_attribute"]["race_ethnicity"]
    assert (race["ei_before"], race["ei_after"], race["delta_ei"]) == (-1.0, 0.0, 1.0)
    cls = r["by_attribute"]["income_band"]
    assert cls["ei_before"] == pytest.approx(1 / 3)
    assert cls["ei_after"] == 1.0
    assert cls["delta_ei"] == pytest.approx(2 / 3)
    assert 0 < race["p_value"] <= 1 and r["n_permutations"] == 50


def test_tie_change_no_change_has_null_delta_exactly_zero(before_after):
    # Labels are shuffled jointly, so with identical snapshots every shuffled delta is 0:
    # independent shuffles of the two snapshots would not give this.
    before, _ = before_after
    r = tie_change(before, before.copy(), n_permutations=100)
    race = r["by_attribute"]["race_ethnicity"]
    assert race["delta_ei"] == 0.0 and race["expected_delta"] == 0.0 and race["sd_delta"] == 0.0
    assert race["p_value"] == 1.0
    assert r["new_ties"] == 0 and r["new_cross_race"] == 0


def _snapshots(baseline: str, additions: str, seed=3):
    """60 parents, two groups of 30; 90 baseline ties, 60 added later.

    ``baseline``/``additions``: "within" (only same-group ties), "across" (only cross-group)
    or "random" (ignoring group).
    """
    rng = random.Random(seed)
    groups = {v: ("x" if v < 30 else "y") for v in range(60)}

    def grow(G, target, kind):
        while G.number_of_edges() < target:
            u, v = rng.sample(range(60), 2)
            same = groups[u] == groups[v]
            if kind == "random" or (kind == "within") == same:
                G.add_edge(u, v)

    before = nx.Graph()
    for v, g in groups.items():
        before.add_node(v, race_ethnicity=g, income_band="low", cohort=v % 2)
    grow(before, 90, baseline)
    after = before.copy()
    grow(after, 150, additions)
    return before, after


def test_tie_change_bridging_is_significant():
    before, after = _snapshots("within", "across")
    r = tie_change(before, after, n_permutations=300, seed=1)
    race = r["by_attribute"]["race_ethnicity"]
    # before all internal (-1); after 90 internal + 60 external: (60 - 90) / 150 = -0.2
    assert race["ei_before"] == -1.0 and race["ei_after"] == pytest.approx(-0.2)
    assert race["delta_ei"] == pytest.approx(0.8)
    assert race["p_value"] == pytest.approx(1 / 301)  # no shuffle moves E-I that much
    # every new tie crosses (E-I 1); with random labels a tie crosses with probability
    # 2*30*30 / (60*59) = 30/59, so E-I is expected near 2 * 30/59 - 1 = 1/59
    assert race["ei_new_ties"] == 1.0 and race["expected_new_ties"] == pytest.approx(1 / 59, abs=0.03)
    assert race["p_value_new_ties"] == pytest.approx(1 / 301)
    assert r["new_cross_race"] == 60


def test_tie_change_label_blind_network_is_not_significant():
    # Both snapshots ignore race: the null hypothesis is true, p should not be small.
    before, after = _snapshots("random", "random")
    race = tie_change(before, after, n_permutations=300, seed=1)["by_attribute"]["race_ethnicity"]
    assert race["p_value"] > 0.05 and race["p_value_new_ties"] > 0.05


def test_tie_change_diluting_a_segregated_baseline():
    # Segregated baseline, new ties ignore race: the network does become more mixed (delta
    # significant), but the new ties themselves cross no more than chance.
    before, after = _snapshots("within", "random")
    race = tie_change(before, after, n_permutations=300, seed=1)["by_attribute"]["race_ethnicity"]
    assert race["delta_ei"] > 0 and race["p_value"] < 0.01
    assert race["p_value_new_ties"] > 0.05


def test_tie_change_strata_and_invalid_input():
    before, after = _snapshots("within", "across")
    r = tie_change(before, after, n_permutations=100, strata="cohort")
    assert "within strata" in r["method"]
    with pytest.raises(QueryError):
        tie_change(before, nx.DiGraph(after))
    with pytest.raises(QueryError):
        tie_change(before, after, n_permutations=-5)


def test_tie_change_undefined_ei_is_none():
    before = nx.empty_graph(["a", "b"])
    after = nx.Graph([("a", "b")])
    for G in (before, after):
        nx.set_node_attributes(G, {"a": "x", "b": "y"}, "race_ethnicity")
    race = tie_change(before, after, n_permutations=10)["by_attribute"]["race_ethnicity"]
    assert race["ei_before"] is None and race["ei_after"] == 1.0 and race["p_value"] is None
    assert race["ei_new_ties"] == 1.0


def test_growth_hand_worked(before_after):
    before, after = before_after
    frame = growth({"baseline": before, "follow-up": after})
    assert list(frame.index) == ["baseline", "follow-up"]
    b, a = frame.loc["baseline"], frame.loc["follow-up"]
    # baseline: 5 people, 3 ties; components {a,b,e}, {c,d}; density 3/10; mean degree 6/5
    assert (b["people"], b["ties"], b["isolates"], b["components"]) == (5, 3, 0, 2)
    assert b["largest_component_share"] == pytest.approx(3 / 5)
    assert b["density"] == pytest.approx(0.3) and b["mean_degree"] == pytest.approx(1.2)
    # race share = (E-I + 1) / 2: baseline 0 of 2 ties cross, follow-up 2 of 4
    assert b["cross_race_ethnicity_share"] == 0.0 and a["cross_race_ethnicity_share"] == 0.5
    # class: baseline 2 of 3 cross, follow-up 5 of 5
    assert b["cross_income_band_share"] == pytest.approx(2 / 3) and a["cross_income_band_share"] == 1.0
    assert (a["components"], a["largest_component_share"], a["mean_degree"]) == (1, 1.0, 2.0)


def test_growth_empty_and_directed():
    D = nx.DiGraph([("a", "b"), ("b", "a"), ("c", "a")])
    frame = growth({"empty": nx.Graph(), "named": D}, attrs="race_ethnicity")
    assert frame.loc["empty", "people"] == 0 and math.isnan(frame.loc["empty", "largest_component_share"])
    assert math.isnan(frame.loc["named", "cross_race_ethnicity_share"])
    # directed: mean number of people named = 3 ties / 3 people
    assert frame.loc["named", "mean_degree"] == 1.0 and frame.loc["named", "components"] == 1
    with pytest.raises(QueryError):
        growth([nx.Graph()])
