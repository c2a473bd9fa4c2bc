"""The network explorer's pure functions: the cap, ego networks, stable positions, escaping, no CDN."""
from __future__ import annotations

import json
import re
import sys
from pathlib import Path

import networkx as nx
import pytest

from dashboard import network_view as nv
from ingest.demo import generate_demo

XSS = "<img src=x onerror=alert(1)> href"


def _payload(html: str) -> dict:
    m = re.search(r'<script type="application/json" id="network-data">(.*?)</script>', html, flags=re.S)
    assert m, "the page carries its data in one JSON element"
    return json.loads(m.group(1))


def _scripts(html: str) -> list[str]:
    """Executable inline scripts (not the JSON data element)."""
    return re.findall(r"<script>(.*?)</script>", html, flags=re.S)


def _render(G, nodes=None, **kw):
    nodes = sorted(G) if nodes is None else nodes
    return nv.render_network_html(G, nodes, nv.layout_positions(G, nodes), **kw)


# -- the cap -----------------------------------------------------------------------------------------------

def test_cap_respected_on_a_20000_person_network():
    G = nx.barabasi_albert_graph(20_000, 2, seed=1)
    sel = nv.select_nodes(G, cap=500)
    assert len(sel.nodes) == 500 and sel.total == 20_000 and sel.capped
    assert "500 of the 20,000" in sel.note()
    html = _render(G, sel.nodes)
    payload = _payload(html)
    assert len(payload["nodes"]) == 500
    assert all(0 <= e["from"] < 500 and 0 <= e["to"] < 500 for e in payload["edges"])
    # a connected stretch around the best-connected person, not scattered hubs with few ties among them
    hub = max(G, key=lambda n: (G.degree(n), -n))
    assert hub in sel.nodes and nx.is_connected(G.subgraph(sel.nodes))


def test_cap_applies_to_a_chosen_part_and_an_ego_network():
    G = nx.star_graph(50)
    part = nv.select_nodes(G, cap=10, part_nodes=range(1, 31), part="cohort X")
    assert len(part.nodes) == 10 and part.total == 30 and "cohort X" in part.note()
    ego = nv.select_nodes(G, cap=10, ego=0, radius=1)
    assert ego.nodes[0] == 0 and len(ego.nodes) == 10 and ego.total == 51


def test_small_network_is_shown_whole_and_says_so():
    sel = nv.select_nodes(nx.path_graph(4), cap=1500)
    assert sel.nodes == [0, 1, 2, 3] and not sel.capped
    assert sel.note() == "Showing the whole network: 4 people."


def test_cap_below_one_is_refused():
    with pytest.raises(ValueError, match="at least 1"):
        nv.select_nodes(nx.path_graph(3), cap=0)


# -- ego networks --------------------------------------------------------------------------------------------

def _hand_made():
    #   a - b - c - d - e      f - g  (separate)
    #       |
    #       h - i
    return nx.Graph([("a", "b"), ("b", "c"), ("c", "d"), ("d", "e"), ("b", "h"), ("h", "i"), ("f", "g")])


def test_ego_network_radius_one_and_two_on_a_hand_made_graph():
    G = _hand_made()
    assert nv.ego_distances(G, "b", 1) == {"b": 0, "a": 1, "c": 1, "h": 1}
    assert nv.ego_distances(G, "b", 2) == {"b": 0, "a": 1, "c": 1, "h": 1, "d": 2, "i": 2}
    sel = nv.select_nodes(G, cap=100, ego="b", radius=2)
    assert sel.nodes[0] == "b" and set(sel.nodes) == {"a", "b", "c", "d", "h", "i"}
    assert sel.note() == "Showing the people within 2 steps of the selected person: 6 people."


def test_ego_network_follows_ties_in_either_direction():
    D = nx.DiGraph([("x", "y"), ("z", "y")])
    assert nv.ego_distances(D, "y", 1) == {"y": 0, "x": 1, "z": 1}


def test_ego_of_unknown_person_is_an_error():
    with pytest.raises(KeyError):
        nv.ego_distances(_hand_made(), "nobody", 1)


# -- positions ----------------------------------------------------------------------------------------------

def test_positions_are_the_same_on_two_calls_and_in_the_html():
    G = nx.connected_watts_strogatz_graph(300, 4, 0.1, seed=3)
    first, second = nv.layout_positions(G), nv.layout_positions(G)
    assert first == second
    spread = max(abs(c) for xy in first.values() for c in xy)
    assert spread > 50, "people are spread out, not piled on one point"
    html1, html2 = _render(G), _render(G)
    assert html1 == html2, "a rerun sends the browser exactly the same page"
    assert not _payload(html1)["options"]["physics"]["enabled"], "physics off: vis-network must not move anyone"


def test_positions_do_not_depend_on_node_order():
    G = nx.karate_club_graph()
    H = nx.Graph()
    H.add_nodes_from(sorted(G, reverse=True))
    H.add_edges_from(G.edges())
    assert nv.layout_positions(G) == nv.layout_positions(H)


def test_a_large_group_is_laid_out_by_communities_and_keeps_each_community_together():
    """Above MULTILEVEL_FROM people a connected group is laid out in two levels. On 60 caves of 40 people
    (a few ties rewired between caves), a person sits nearer their own cave's centre than any other cave's
    for nearly everyone, the picture is the same on two calls, and people keep the usual spacing."""
    G = nx.relaxed_caveman_graph(60, 40, 0.03, seed=3)
    assert nx.is_connected(G) and len(G) >= nv.MULTILEVEL_FROM
    pos = nv.layout_positions(G)
    assert pos == nv.layout_positions(G) and set(pos) == set(G)
    cave = {n: n // 40 for n in G}
    centre = {}
    for c in range(60):
        xs = [pos[n] for n in G if cave[n] == c]
        centre[c] = (sum(x for x, _ in xs) / len(xs), sum(y for _, y in xs) / len(xs))

    def nearest(n):
        return min(centre, key=lambda c: (pos[n][0] - centre[c][0]) ** 2 + (pos[n][1] - centre[c][1]) ** 2)

    assert sum(nearest(n) == cave[n] for n in G) / len(G) > 0.95
    spread = (sum(x * x + y * y for x, y in pos.values()) / len(pos)) ** 0.5
    assert spread == pytest.approx(40.0 * len(G) ** 0.5 / 2, rel=0.05), "the same spacing as a one-level layout"


# -- escaping and privacy -------------------------------------------------------------------------------------

def test_a_name_with_markup_and_href_stays_text():
    G = nx.Graph([("P1", "P2")])
    G.nodes["P1"].update(name=XSS, role="parent", site_id="S1")
    G.nodes["P2"].update(name="Ana Vo", role="parent", site_id="</script><script>alert(2)</script>")
    tips = {n: nv.tooltip_text(G, n, show_names=True) for n in G}
    labels = {n: G.nodes[n]["name"] for n in G}
    colors, legend = nv.color_map({n: G.nodes[n]["site_id"] for n in G})
    html = _render(G, tooltips=tips, labels=labels, colors=colors, legend=legend)
    # nowhere in the page is the markup in a form a browser would parse as a tag
    assert "<img" not in html.lower()
    assert "</script><script>alert(2)" not in html
    assert "&lt;/script&gt;&lt;script&gt;alert(2)&lt;/script&gt;" in html   # the legend shows it as text
    # the tooltip and label carry the exact name, as a plain string for vis-network's innerText
    by_title = {n["title"].split(" · ")[0]: n for n in _payload(html)["nodes"]}
    assert by_title[XSS]["label"] == XSS
    # pyvis's "href" switch to an innerHTML popup is not in our page, nor anything that writes HTML
    assert "innerHTML" not in html and "div.popup" not in html and "insertAdjacentHTML" not in html
    # and a policy allows only our own two scripts, so an injected handler could not run anyway
    assert "Content-Security-Policy" in html and "'unsafe-inline'" not in html.split("script-src")[1].split(";")[0]
    assert len(_scripts(html)) == 2


def test_scripts_match_the_hashes_the_policy_allows():
    import base64
    import hashlib
    html = _render(nx.path_graph(3))
    policy = re.search(r"script-src ([^;]+);", html).group(1)
    for script in _scripts(html):
        digest = base64.b64encode(hashlib.sha256(script.encode()).digest()).decode()
        assert f"'sha256-{digest}'" in policy


def test_no_script_or_style_from_a_cdn():
    html = _render(nx.path_graph(3))
    assert nv.remote_references(html) == []
    assert not re.search(r"<(script|link)\b[^>]*(src|href)\s*=\s*[\"']?(https?:)?//", html, flags=re.I)
    assert "cdn.jsdelivr" not in html and "cdnjs" not in html
    assert "vis.Network" in html, "vis-network itself is inlined"


def test_remote_references_finds_what_pyvis_would_fetch():
    from pyvis.network import Network
    net = Network(cdn_resources="in_line")
    net.add_node(1)
    assert any("jsdelivr" in u for u in nv.remote_references(net.generate_html())), \
        "pyvis's own template links Bootstrap from a CDN even in_line: why we use our own template"


def test_person_ids_never_reach_the_page():
    G = nx.Graph([("P000123", "P000456")])
    html = _render(G, tooltips={n: "someone" for n in G})
    assert "P000123" not in html and "P000456" not in html


def test_evaluator_tooltips_have_no_name():
    G = nx.Graph()
    G.add_node("ev-7f3a", name="Ana Vo", role="parent", email="a@example.org")
    assert nv.tooltip_text(G, "ev-7f3a", show_names=False).splitlines()[0] == "ev-7f3a"
    tip = nv.tooltip_text(G, "ev-7f3a", show_names=True)
    assert "Ana Vo" in tip and "example.org" not in tip


# -- the funder's group-level picture ---------------------------------------------------------------------------

def test_aggregate_suppresses_small_counts_and_names_nobody():
    tables = generate_demo(200, seed=5)
    G = nx.Graph()
    for p in tables["people"]:
        G.add_node(p["person_id"], **p)
    for t in tables["ties"]:
        if t["to_person_id"]:
            G.add_edge(t["from_person_id"], t["to_person_id"])
    agg = nv.aggregate_network(G, "race_ethnicity", min_count=10)
    for _, _, d in agg.graph.edges(data=True):
        assert d["ties"] >= 10
    html = nv.render_aggregate_html(agg)
    for p in tables["people"]:
        assert p["person_id"] not in html
        assert p["name"] not in html
    payload = _payload(html)
    for node in payload["nodes"]:
        people = re.search(r"people: (\S+)", node["title"]).group(1)
        assert people.startswith("<") or int(people.replace(",", "")) >= 10
    assert len(payload["edges"]) == agg.graph.number_of_edges() > 0
    for e in payload["edges"]:
        assert int(re.search(r": ([\d,]+) ties", e["title"]).group(1).replace(",", "")) >= 10 and e["width"] >= 1
    assert nv.remote_references(html) == []


def test_aggregate_refuses_grouping_by_person_level_columns():
    with pytest.raises(ValueError, match="group by"):
        nv.aggregate_network(nx.path_graph(3), "family_id", min_count=10)


def test_small_group_is_drawn_no_smaller_than_the_threshold():
    G = nx.Graph()
    G.add_nodes_from(range(30), race_ethnicity="a")
    G.add_nodes_from(range(30, 33), race_ethnicity="b")
    G.add_nodes_from(range(33, 43), race_ethnicity="c")
    agg = nv.aggregate_network(G, "race_ethnicity", min_count=10)
    nodes = {n["label"].split("\n")[0]: n for n in _payload(nv.render_aggregate_html(agg))["nodes"]}
    assert nodes["b"]["label"].startswith("b\n<10 people")
    assert nodes["b"]["size"] == nodes["c"]["size"] < nodes["a"]["size"], "a size must not give away a suppressed count"


# -- building the network from a dataset ----------------------------------------------------------------------

def test_build_network_filters_by_site_role_and_date(sqlite_store, tiny_dir):
    from ingest.load import load_package
    load_package(tiny_dir, sqlite_store)
    ds = sqlite_store.read()
    G = nv.build_network(ds)
    site = next(s for s in ds.people["site_id"] if s)
    H = nv.build_network(ds, sites=[site])
    assert set(H) == set(ds.people.loc[ds.people["site_id"] == site, "person_id"])
    assert all(u in H and v in H for u, v in H.edges())
    parents = nv.build_network(ds, roles=["parent"])
    assert all(d.get("role", "parent") == "parent" for _, d in parents.nodes(data=True))
    dated = ds.ties["observed_on"].dropna()
    if len(dated):
        from datetime import date
        first = date.fromisoformat(min(dated))
        J = nv.build_network(ds, date_from=first, date_to=first)
        assert J.number_of_edges() <= G.number_of_edges()


def test_colors_and_sizes():
    colors, legend = nv.color_map({i: f"g{i % 12}" for i in range(24)})
    assert len(legend) == 10 and legend[-1][0] == "other (3 more)"
    assert len(set(colors.values())) == 10
    sizes = nv.scale_sizes({"a": 1.0, "b": 1.0})
    assert sizes["a"] == sizes["b"] == 16.0
    assert nv.scale_sizes({"a": float("nan"), "b": 2.0})["a"] == 6.0


def test_a_group_keeps_its_colour_in_every_view():
    everyone = {i: ("a" if i < 6 else "b" if i < 10 else "c") for i in range(12)}
    palette = nv.palette_for(everyone.values())
    full, _ = nv.color_map(everyone, palette=palette)
    ego = {10: "c", 11: "c", 9: "b"}                  # a part where "c" is the most common group
    part, legend = nv.color_map(ego, palette=palette)
    assert all(part[n] == full[n] for n in ego)
    assert [v for v, _c in legend] == ["b", "c"]       # the legend lists what is drawn, in palette order
    # ranked within the part alone, "c" would take the first colour: the bug this prevents
    assert nv.color_map(ego)[0][10] != full[10]


def test_attribute_palette_over_the_whole_dataset():
    sys.path.insert(0, str(Path(__file__).parent))
    from helpers_data import tiny_dataset
    ds = tiny_dataset(people=[{"person_id": p, "race_ethnicity": r, "role": role} for p, r, role in
                              (("a", "X", None), ("b", "Y", "parent"), ("c", "Y", "child"))])
    assert list(nv.attribute_palette(ds, "race_ethnicity")) == ["Y", "X"]
    assert list(nv.attribute_palette(ds, "role")) == ["parent", "child"]
    assert nv.attribute_palette(ds, "community")["1"] == nv.palette_for(["x"])["x"]


def test_labels_only_for_the_largest_and_a_size_legend():
    G = nx.star_graph(40)
    sizes = nv.scale_sizes(dict(G.degree()))
    labels = {n: f"person {n}" for n in G}
    html = _render(G, sizes=sizes, labels=labels, ego=7,
                   sizes_legend=nv.size_legend(sizes, dict(G.degree()), "degree"))
    drawn = set(re.findall(r'"label": ?"(person \d+)"', html))
    assert "person 0" in drawn and "person 7" in drawn and len(drawn) <= 21
    assert "degree 1" in html and "degree 40" in html


def test_a_small_picture_is_spread_wider_than_a_large_one():
    """An ego network of 9 people is spread 110/40 times wider than at the large pictures' spacing (it fills
    the frame, its names stand apart); a picture of 400 people keeps 40."""
    star, big = nx.star_graph(8), nx.cycle_graph(400)

    def neighbour_gap(G, **kw):
        pos = nv.layout_positions(G, **kw)
        gaps = [((pos[u][0] - pos[v][0]) ** 2 + (pos[u][1] - pos[v][1]) ** 2) ** 0.5 for u, v in G.edges]
        return sum(gaps) / len(gaps)

    assert neighbour_gap(star) == pytest.approx(neighbour_gap(star, spacing=40.0) * 110 / 40, rel=0.01)
    assert neighbour_gap(big) == pytest.approx(neighbour_gap(big, spacing=40.0), rel=0.01)
