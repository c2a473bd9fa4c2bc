"""The explorer's WebGL picture (dashboard/sigma_view.py): what the browser receives. Counts, colours fixed per
value, the years and waves the time slider steps through (hand-worked on tiny networks), no name for a
reader who may not see names, nothing fetched from elsewhere, nothing from the data that could run."""
from __future__ import annotations

import base64
import hashlib
import json
import re
import sys
from pathlib import Path

import networkx as nx
import pytest

from dashboard import network_view as nv
from dashboard import sigma_view as sv

sys.path.insert(0, str(Path(__file__).parent))
from helpers_data import demo_dataset, tiny_dataset  # noqa: E402
from test_network_view import _payload, _scripts  # noqa: E402  (how a network page carries its data and scripts)
from whole_words import found as found_whole  # noqa: E402

XSS = "<img src=x onerror=alert(1)> href"


def _tiny_ties():
    """Four parents. a-b named in 2019 (a) and 2021 (b); b-c in 2020 (b only); c-d in wave post, no date.
    d enrolled in 2018. Hand-worked: union ties a-b 2019, b-c 2020, c-d unknown year; mutual only a-b,
    from 2021 (when the second side named it)."""
    people = [{"person_id": p, "name": f"Name {p.upper()}", "role": "parent", "site_id": "S1",
               "race_ethnicity": r} for p, r in (("a", "X"), ("b", "Y"), ("c", "X"), ("d", "Z"))]
    ties = [{"from_person_id": "a", "to_person_id": "b", "wave": "pre", "observed_on": "2019-03-01"},
            {"from_person_id": "b", "to_person_id": "a", "wave": "post", "observed_on": "2021-02-01"},
            {"from_person_id": "b", "to_person_id": "c", "wave": "pre", "observed_on": "2020-05-01"},
            {"from_person_id": "c", "to_person_id": "d", "wave": "post", "observed_on": None}]
    cohorts = [{"cohort_id": "C1", "site_id": "S1", "program": "PLTI"}]
    enrollments = [{"person_id": "d", "cohort_id": "C1", "enrolled_on": "2018-09-01"}]
    return tiny_dataset(people=people, ties=ties, cohorts=cohorts, enrollments=enrollments)


# -- when people and ties appear (the time slider) --------------------------------------------------------------

def test_first_seen_and_year_steps_on_a_hand_made_network():
    G = nv.build_network(_tiny_ties())
    assert G.edges["a", "b"]["first_seen"] == "2019-03-01"          # union: the earlier side
    assert G.edges["b", "c"]["first_seen"] == "2020-05-01"
    assert "first_seen" not in G.edges["c", "d"]
    assert [G.nodes[n].get("first_seen") for n in "abcd"] == ["2019-03-01", "2019-03-01", "2020-05-01", "2018-09-01"]
    steps = nv.time_steps(G)
    assert steps.unit == "year" and steps.labels == ["2018", "2019", "2020"]
    assert steps.node_step == {"a": 1, "b": 1, "c": 2, "d": 0}
    assert {tuple(sorted(e)): s for e, s in steps.edge_step.items()} == {("a", "b"): 1, ("b", "c"): 2, ("c", "d"): None}


def test_mutual_ties_appear_when_the_second_side_names_them():
    G = nv.build_network(_tiny_ties(), view="mutual")
    assert list(G.edges()) in ([("a", "b")], [("b", "a")])
    assert G.edges["a", "b"]["first_seen"] == "2021-02-01"
    steps = nv.time_steps(G)
    assert steps.labels == ["2018", "2019", "2020", "2021"]
    assert steps.node_step["a"] == 3 and steps.node_step["d"] == 0 and steps.node_step["c"] is None


def test_waves_when_no_tie_has_a_date():
    ds = _tiny_ties()
    ds.ties["observed_on"] = None
    ds.enrollments["enrolled_on"] = None
    G = nv.build_network(ds)
    steps = nv.time_steps(G)
    assert steps.unit == "wave" and steps.labels == ["pre", "post"]
    assert steps.node_step == {"a": 0, "b": 0, "c": 0, "d": 1}
    assert nv.time_steps(G, by="year") is None
    with pytest.raises(ValueError, match="year"):
        nv.time_steps(G, by="month")


def test_payload_carries_the_steps_of_every_person_and_tie():
    G = nv.build_network(_tiny_ties())
    nodes = ["a", "b", "c", "d"]
    p = sv.webgl_payload(G, nodes, nv.layout_positions(G, nodes), steps=nv.time_steps(G, nodes))
    assert p["steps"]["labels"] == ["2018", "2019", "2020"]
    assert p["steps"]["node"] == [1, 1, 2, 0]
    pairs = [tuple(sorted((nodes[p["edges"][2 * k]], nodes[p["edges"][2 * k + 1]]))) for k in range(len(p["edges"]) // 2)]
    assert dict(zip(pairs, p["steps"]["edge"])) == {("a", "b"): 1, ("b", "c"): 2, ("c", "d"): -1}


# -- counts, colours, sizes ----------------------------------------------------------------------------------------

def test_payload_counts_and_positions_match_the_selection():
    G = nx.barabasi_albert_graph(3_000, 2, seed=4)
    sel = nv.select_nodes(G, cap=2_500)
    pos = nv.layout_positions(G, sel.nodes)
    p = sv.webgl_payload(G, sel.nodes, pos)
    assert p["n"] == 2_500 == len(p["x"]) == len(p["y"]) == len(p["size"]) == len(p["color"]) == len(p["label"])
    assert len(p["edges"]) // 2 == G.subgraph(sel.nodes).number_of_edges()
    assert all(0 <= i < 2_500 for i in p["edges"])
    first = sel.nodes[0]
    assert (p["x"][0], p["y"][0]) == (pos[first][0], -pos[first][1])   # sigma's y axis points up
    assert sv.webgl_payload(G, sel.nodes, pos, edge_limit=100)["hint"].endswith("(at most 100).")


def test_a_group_keeps_its_colour_in_the_webgl_picture():
    ds = demo_dataset(150)
    G = nv.build_network(ds)
    palette = nv.attribute_palette(ds, "race_ethnicity")
    values = dict(G.degree())

    def colours(nodes):
        pic = nv.person_picture(G, nodes, show_names=False, color_by="race_ethnicity",
                                groups={n: G.nodes[n].get("race_ethnicity") for n in nodes}, palette=palette,
                                metric="degree", values=values, webgl=True)
        p = sv.webgl_payload(G, nodes, nv.layout_positions(G, nodes), colors=pic.colors)
        return {n: p["palette"][c] for n, c in zip(nodes, p["color"])}

    everyone = sorted(G)
    a_site = sorted(n for n in G if G.nodes[n].get("site_id") == G.nodes[everyone[-1]].get("site_id"))
    whole, part = colours(everyone), colours(a_site)
    assert all(part[n] == whole[n] for n in a_site)
    by_value = {}
    for n, c in whole.items():
        by_value.setdefault(G.nodes[n].get("race_ethnicity"), set()).add(c)
    assert all(len(c) == 1 for c in by_value.values()), "one colour per value"
    assert len({c.pop() for v, c in by_value.items() if v}) == len([v for v in by_value if v])


def test_largest_people_get_labels_and_webgl_sizes_are_small():
    G = nx.star_graph(60)
    values = dict(G.degree())
    pic = nv.person_picture(G, list(G), show_names=False, color_by="role", groups={}, palette=None,
                            metric="degree", values=values, webgl=True)
    assert min(pic.sizes.values()) == 1.5 and pic.sizes[0] == 8.0
    assert pic.sizes_legend == [("degree 1", 3.0), ("degree 60", 16.0)]
    p = sv.webgl_payload(G, list(G), nv.layout_positions(G), sizes=pic.sizes, labels=pic.labels, ego=33)
    assert 0 in p["forced"] and 33 in p["forced"] and len(p["forced"]) <= 21


# -- privacy, escaping, offline ------------------------------------------------------------------------------------

def _page_for(ds, *, show_names: bool) -> str:
    """The WebGL page as the explorer builds it for a reader of `ds` (everyone, coloured by race, sized by degree)."""
    G = nv.build_network(ds)
    nodes = sorted(G, key=str)
    values = dict(G.degree())
    pic = nv.person_picture(G, nodes, show_names=show_names, color_by="race_ethnicity",
                            groups={n: G.nodes[n].get("race_ethnicity") for n in nodes},
                            palette=nv.attribute_palette(ds, "race_ethnicity"), metric="degree", values=values,
                            webgl=True)
    p = sv.webgl_payload(G, nodes, nv.layout_positions(G, nodes), colors=pic.colors, sizes=pic.sizes,
                         labels=pic.labels, tooltips=pic.tooltips, steps=nv.time_steps(G, nodes))
    return sv.render_webgl_html(p, legend=pic.legend, sizes_legend=pic.sizes_legend)


def test_an_evaluator_receives_no_name_and_no_real_id():
    from queries import privacy
    ds = demo_dataset(150)
    names = {n for n in ds.people["name"] if n}
    ids = set(ds.people["person_id"])
    coordinator = _page_for(ds, show_names=True)
    assert sum(1 for n in names if n in coordinator) > 100, "a coordinator's picture names people (the test can fail)"
    evaluator_ds = privacy.for_audience(ds, "evaluator", salt="test-salt")
    html = _page_for(evaluator_ds, show_names=False)
    p = _payload(html)
    assert p["n"] > 100 and p["head"] is None
    found_names = found_whole(names, html)
    found_ids = found_whole(ids, html)
    assert not found_names and not found_ids, (found_names[:3], found_ids[:3])
    # even given a dataset with names, show_names=False keeps them out
    assert not found_whole(names, _page_for(ds, show_names=False))


def test_markup_in_a_name_stays_text_and_only_our_scripts_run():
    G = nx.Graph([("P1", "P2")])
    G.nodes["P1"].update(name=XSS, role="parent", site_id="S1")
    G.nodes["P2"].update(name="Ana Vo", role="parent", site_id="</script><script>alert(2)</script>")
    pic = nv.person_picture(G, ["P1", "P2"], show_names=True, color_by="site_id",
                            groups={n: G.nodes[n]["site_id"] for n in G}, palette=None, metric="none",
                            values={}, webgl=True)
    p = sv.webgl_payload(G, ["P1", "P2"], nv.layout_positions(G), labels=pic.labels, tooltips=pic.tooltips)
    html = sv.render_webgl_html(p, legend=pic.legend)
    assert "<img" not in html.lower() and "</script><script>alert(2)" not in html
    assert _payload(html)["label"][0] == XSS and _payload(html)["head"][0] == f"{XSS} · P1"
    assert "innerHTML" not in html.split("<script>")[-1], "our script writes text only (textContent)"
    policy = re.search(r"script-src ([^;]+);", html).group(1)
    scripts = _scripts(html)
    assert len(scripts) == 3 and "'unsafe-inline'" not in policy
    for script in scripts:
        assert f"'sha256-{base64.b64encode(hashlib.sha256(script.encode()).digest()).decode()}'" in policy


def test_webgl_page_fetches_nothing_and_ships_the_licences():
    html = sv.render_webgl_html(sv.webgl_payload(nx.path_graph(3), [0, 1, 2], {0: (0, 0), 1: (1, 1), 2: (2, 0)}))
    assert nv.remote_references(html) == []
    assert "connect-src 'none'" in html and "cdn" not in html.lower().replace("cdn.jsdelivr", "")
    for lib in ("sigma", "graphology"):
        licence = (sv.ASSETS / f"{lib}-LICENSE.txt").read_text(encoding="utf-8")
        assert "MIT" in licence or "Permission is hereby granted" in licence
    assert (sv.ASSETS / f"sigma-{sv.SIGMA_VERSION}.min.js").stat().st_size > 100_000


def test_sigma_view_examples_run():
    import doctest
    result = doctest.testmod(sv, optionflags=doctest.NORMALIZE_WHITESPACE)
    assert result.attempted > 0 and result.failed == 0
