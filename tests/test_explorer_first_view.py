"""The network explorer's stored first view (dashboard/explorer_view.py, data.load_explorer): the picture the
page would draw, shaped for each audience, and shown without building the network; the pick list's search."""
from __future__ import annotations

import pickle
import sys
from pathlib import Path

import pytest

from dashboard import analyses
from dashboard import explorer_view as ev
from dashboard import network_view as nv
from dashboard import pickers

sys.path.insert(0, str(Path(__file__).parent))
from app_session import open_page, principal  # noqa: E402


@pytest.fixture(scope="module")
def store_uri(app_store_uri):
    return app_store_uri


@pytest.fixture(scope="module")
def loaded(store_uri):
    """The app has loaded its demo into the store (its first run does), and the store's dataset."""
    at = open_page("overview", "admin")
    assert not at.exception, [e.value for e in at.exception]
    from dashboard import data
    return data.full_dataset(*data.data_key())


def test_the_stored_first_view_is_the_picture_the_page_would_draw(loaded):
    from dashboard import data
    first = data.load_explorer(principal("admin"))
    ds = data.audience_dataset("coordinator", None, *data.data_key())
    assert first.filters == ev.filters(roles=first.options.roles_with_ties)
    assert "child" in first.options.roles and "child" not in first.options.roles_with_ties
    G = nv.build_network(ds, **dict(first.filters))
    selection = nv.select_nodes(G, cap=30_000, part="everyone who passes the filters")
    assert first.people == len(G) and list(first.labels) == sorted(G, key=str)
    assert first.nodes == tuple(selection.nodes) and first.positions == nv.layout_positions(G, selection.nodes)
    values, detail = nv.node_metric(G, "degree")
    live = ev.draw(G, selection, show_names=True, color_by="race_ethnicity",
                   groups={n: G.nodes[n].get("race_ethnicity") for n in selection.nodes},
                   palette=nv.attribute_palette(ds, "race_ethnicity"), metric="degree", values=values,
                   metric_detail=detail, positions=first.positions, webgl=False)
    assert first.drawn == live
    assert first.drawn.people == len(G) <= nv.VIS_MAX_NODES and not first.drawn.webgl


def test_each_audience_s_first_view_holds_only_whom_it_may_see(loaded):
    from dashboard import data
    people = loaded.people
    names = [n for n in people["name"].dropna() if len(n) > 5]
    ids = set(people["person_id"])
    evaluator = data.load_explorer(principal("evaluator"))
    blob = pickle.dumps(evaluator)
    assert evaluator.people > 50
    assert not any(n.encode() in blob for n in names), "an evaluator's first view holds a name"
    assert not set(evaluator.labels) & ids, "an evaluator's first view holds a real person id"
    coordinator = data.load_explorer(principal("coordinator"))              # site S1 only
    s1 = set(people.loc[people["site_id"] == "S1", "person_id"])
    assert coordinator.labels and set(coordinator.labels) <= s1
    assert set(coordinator.nodes) <= s1 and coordinator.options.sites == ["S1"]
    others = people.loc[people["site_id"] != "S1"]
    blob = pickle.dumps(coordinator)
    assert not any(str(n).encode() in blob for n in others["name"].dropna() if len(str(n)) > 5)
    assert any(n.encode() in blob for n in people.loc[people["site_id"] == "S1", "name"].dropna())
    funder = data.load_explorer(principal("funder"))
    assert isinstance(funder, ev.FunderFirstView)
    blob = pickle.dumps(funder)
    assert not any(n.encode() in blob for n in names) and not any(f'"{i}"'.encode() in blob for i in ids)
    assert funder.facts["groups"] >= 2 and funder.waves == sorted({str(w) for w in loaded.ties["wave"].dropna()})


def test_the_explorer_opens_from_its_stored_first_view_without_building_the_network(loaded, monkeypatch):
    """The page reads the stored first view: no network is built and nobody laid out. Choosing another colour
    builds the network but keeps the stored positions (nobody is laid out again, nobody moves)."""
    from dashboard import data
    stored = data.load_explorer(principal("admin"))
    analyses._memo.clear()                               # another app process: nothing in memory

    def refuse(*_a, **_k):
        raise AssertionError("the explorer built its network for the first view")
    monkeypatch.setattr(nv, "build_network", refuse)
    monkeypatch.setattr(nv, "layout_positions", refuse)
    at = open_page("explorer", "admin")
    assert not at.exception, [e.value for e in at.exception]
    assert any(stored.drawn.note in c.value for c in at.caption)
    monkeypatch.undo()
    monkeypatch.setattr(nv, "layout_positions", refuse)
    colour = next(s for s in at.selectbox if s.label == "Colour by")
    colour.set_value("income_band").run()
    assert not at.exception, [e.value for e in at.exception]
    assert any("Colour: income band" in c.value for c in at.caption)


def test_find_matches_any_part_of_a_name_or_id_those_starting_with_it_first():
    labels = {"P1": "Ana Ruiz (P1)", "P2": "Bo Anand (P2)", "P3": "Cy Lee (P3)", "P10": "Dana Ng (P10)"}
    assert pickers.find(labels, "ana") == ["P1", "P2", "P10"]      # "Ana..." starts with it; then by label
    assert pickers.find(labels, "  P1") == ["P1", "P10"]
    assert pickers.find(labels, "zz") == [] and pickers.find(labels, " ") == []
    assert pickers.find(labels, "a", limit=2) == ["P1", "P2"]


def test_a_long_pick_list_becomes_a_search(loaded, monkeypatch):
    """From SEARCH_FROM people the page asks for part of a name first and lists only the matches."""
    from dashboard import data
    monkeypatch.setattr(pickers, "SEARCH_FROM", 10)
    first = data.load_explorer(principal("admin"))
    target = list(first.labels)[3]
    at = open_page("explorer", "admin")
    assert not at.exception, [e.value for e in at.exception]
    pick = next(s for s in at.selectbox if s.label.startswith("Focus on a person"))
    assert pick.options == ["Nobody: show the part chosen above"]
    at.text_input(key="explorer_find").set_value(str(target)).run()
    pick = next(s for s in at.selectbox if s.label.startswith("Focus on a person"))
    assert first.labels[target] in pick.options and len(pick.options) <= pickers.MATCHES_SHOWN + 1
    pick.set_value(target).run()
    assert not at.exception, [e.value for e in at.exception]
    assert any("within 1 step of the selected person" in c.value for c in at.caption)
