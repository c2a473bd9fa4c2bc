"""The explorer's WebGL picture: sigma.js (on graphology) draws the network on the graphics card, so a browser
can show tens of thousands of people where vis-network (dashboard/network_view.py) stops at about 1,500.

The page is a static HTML document shown in an iframe (as the vis-network one is): the server computes
everything (who is drawn, where they sit, colours, sizes, hover texts, when each person and tie first
appears) and sends it as one compact JSON payload; the browser only draws, filters by the time slider,
and highlights a clicked person's ego network. So the payload is exactly what the browser receives, and
the tests check it.

- Offline: sigma 3.0.3 and graphology 0.26.0 are vendored (minified UMD builds with their MIT licences in
  dashboard/assets/), inlined into the page, and pinned by hash in its Content-Security-Policy; the
  policy allows no network at all.
- Compact: people are numbered 0..n-1; columns are arrays (x, y, size, colour index, label); hover texts
  are split into a head and a body, and the bodies (role, site, groups, the measure) are sent once per
  distinct text; ties are one flat array of number pairs.
- Privacy: labels and hover texts are whatever the caller passes (the explorer builds them with
  :func:`dashboard.network_view.person_picture` from the audience's dataset: names for coordinators,
  pseudonyms for evaluators); nothing else about a person is sent.
- Time: each person and tie carries the step (year or wave) it first appears in
  (:func:`dashboard.network_view.time_steps`); the slider and its play button hide the rest in the
  browser, with no rerun of the page.
"""
from __future__ import annotations

import base64
import hashlib
from pathlib import Path

import networkx as nx
from jinja2 import Environment, FileSystemLoader, select_autoescape
from jinja2.utils import htmlsafe_json_dumps

from dashboard import network_view as nv

__all__ = ["SIGMA_VERSION", "GRAPHOLOGY_VERSION", "EDGE_LIMIT", "webgl_payload", "render_webgl_html"]

SIGMA_VERSION = "3.0.3"
GRAPHOLOGY_VERSION = "0.26.0"
#: Ties drawn at most. WebGL draws 100,000 lines without trouble; the payload (about 12 bytes a tie) is the limit.
EDGE_LIMIT = 150_000
ASSETS = Path(__file__).parent / "assets"
_TEMPLATE = "sigma.html"
_SIGMA = f"sigma-{SIGMA_VERSION}.min.js"
_GRAPHOLOGY = f"graphology-{GRAPHOLOGY_VERSION}.umd.min.js"
_LABEL_TOP = 20      # labels always drawn: the largest people and the chosen one; everyone else's on hover
_EDGE_COLOR = "#b8bec6"


def webgl_payload(G: nx.Graph, nodes, positions: dict, *, colors: dict | None = None, sizes: dict | None = None,
                  labels: dict | None = None, tooltips: dict | None = None, ego=None, radius: int = 1,
                  steps: nv.TimeSteps | None = None, hint: str | None = None,
                  edge_limit: int = EDGE_LIMIT) -> dict:
    """What the browser receives for the WebGL picture of the people `nodes` of G (a JSON-ready dict).

    colors/sizes/labels/tooltips map person -> value (defaults: blue, 4 px, no label, no hover text);
    a tooltip's first line is its head (drawn in bold by nobody: it is plain text), the rest its body.
    `steps` (from :func:`dashboard.network_view.time_steps`) gives each person and tie the index of the
    step it first appears in; -1 = not known (shown only at the slider's end).

    >>> p = webgl_payload(nx.path_graph(3), [0, 1, 2], {0: (0, 0), 1: (10, 5), 2: (20, 0)},
    ...                   colors={0: "#4E79A7", 1: "#4E79A7", 2: "#F28E2B"}, labels={1: "B"})
    >>> p["n"], p["x"], p["y"], p["color"], p["palette"], p["label"], p["edges"]
    (3, [0, 10, 20], [0, -5, 0], [0, 0, 1], ['#4E79A7', '#F28E2B'], ['', 'B', ''], [0, 1, 1, 2])
    """
    nodes = list(nodes)
    index = {n: i for i, n in enumerate(nodes)}
    colors, sizes, labels, tooltips = colors or {}, sizes or {}, labels or {}, tooltips or {}
    palette: dict[str, int] = {}
    color_idx = [palette.setdefault(colors.get(n, nv._PALETTE[0]), len(palette)) for n in nodes]
    label = [str(labels.get(n) or "") for n in nodes]
    bodies: dict[str, int] = {}
    heads, tip = [], []
    for n, lab in zip(nodes, label):
        head, _, body = str(tooltips.get(n, lab)).partition("\n")
        heads.append(head)
        tip.append(bodies.setdefault(body, len(bodies)))
    order = sorted(nodes, key=lambda n: (-float(sizes.get(n, 4.0)), nv._key(n)))
    forced = sorted({index[n] for n in order[:_LABEL_TOP] if label[index[n]]} |
                    ({index[ego]} if ego in index else set()))
    H = G.subgraph(nodes)
    pairs: dict[tuple, tuple] = {}
    for u, v in H.edges():
        if u == v:
            continue
        a, b = index[u], index[v]
        key = (a, b) if H.is_directed() else (min(a, b), max(a, b))
        pairs[key] = (u, v)
    keys = sorted(pairs)
    dropped = max(0, len(keys) - edge_limit)
    keys = keys[:edge_limit]
    payload = {
        "n": len(nodes),
        "x": [_num(positions[n][0]) for n in nodes],
        "y": [_num(-positions[n][1]) for n in nodes],     # sigma's y axis points up, the layout's down
        "size": [_num(sizes.get(n, 4.0)) for n in nodes],
        "color": color_idx, "palette": list(palette),
        "label": label,
        "head": None if heads == label else heads,
        "tip": tip, "tips": list(bodies),
        "forced": forced,
        "edges": [i for k in keys for i in k],
        "directed": G.is_directed(),
        "edge_color": _EDGE_COLOR, "dim": nv._DIM,
        "ego": index.get(ego), "radius": int(radius),
        "steps": None,
        "hint": hint or ("Hover over a person for details; click one to highlight everyone within "
                         f"{radius} step{'s' if radius != 1 else ''}; drag to pan, scroll to zoom."),
    }
    if dropped:
        payload["hint"] += f" {dropped:,} ties are not drawn (at most {edge_limit:,})."
    if steps is not None:
        def at(value):
            return -1 if value is None else int(value)
        edge_step = [at(steps.edge_step.get(pairs[k], steps.edge_step.get(pairs[k][::-1]))) for k in keys]
        payload["steps"] = {"unit": steps.unit, "labels": list(steps.labels),
                            "node": [at(steps.node_step.get(n)) for n in nodes], "edge": edge_step}
    return payload


def render_webgl_html(payload: dict, *, legend=(), sizes_legend=(), height: int = 620,
                      title: str = "Network") -> str:
    """The self-contained page drawing `payload` (:func:`webgl_payload`) with sigma.js: legend, picture,
    time slider (when the payload has steps) and a line of help. Nothing is fetched from anywhere."""
    data_json = htmlsafe_json_dumps(payload)   # <, >, & and ' become \u escapes: data cannot close the tag
    graphology_js, sigma_js = nv._read(ASSETS / _GRAPHOLOGY), nv._read(ASSETS / _SIGMA)  # read once per process
    hashes = " ".join(f"'sha256-{base64.b64encode(hashlib.sha256(s.encode()).digest()).decode()}'"
                      for s in (graphology_js, sigma_js, _APP_JS))
    env = Environment(loader=FileSystemLoader(str(ASSETS)), autoescape=select_autoescape(default=True))
    return env.get_template(_TEMPLATE).render(
        title=title, height=height, legend=[(str(label), color) for label, color in legend],
        sizes=[(str(label), round(float(px), 1)) for label, px in sizes_legend],
        graphology_js=graphology_js, sigma_js=sigma_js, app_js=_APP_JS, data_json=data_json,
        script_hashes=hashes)


# ----------------------------------------------------------------------------------------------- helpers

_APP_JS = r"""
(function () {
  var D = JSON.parse(document.getElementById("network-data").textContent);
  var info = document.getElementById("info"), tip = document.getElementById("tip");
  var container = document.getElementById("network");
  var steps = D.steps, last = steps ? steps.labels.length : 0;   // slider at `last`: everything
  var state = {step: last, focus: null};
  var forced = {};
  D.forced.forEach(function (i) { forced[i] = true; });
  var graph = new graphology.Graph({type: D.directed ? "directed" : "undirected", multi: false,
                                    allowSelfLoops: false});
  for (var i = 0; i < D.n; i++) {
    // only the largest people (and the chosen one) carry a drawn label, and sigma's label grid keeps those
    // from piling on each other; everyone's name and details show on hover
    graph.addNode(String(i), {x: D.x[i], y: D.y[i], size: D.size[i], color: D.palette[D.color[i]],
                              label: forced[i] ? D.label[i] || null : null, zIndex: forced[i] ? 1 : 0});
  }
  for (var k = 0; k < D.edges.length / 2; k++) {
    graph.addEdgeWithKey(String(k), String(D.edges[2 * k]), String(D.edges[2 * k + 1]), {size: 0.6, color: D.edge_color});
  }
  function visible(node) {
    if (!steps || state.step >= last) return true;
    var s = steps.node[+node];
    return s >= 0 && s <= state.step;
  }
  function edgeVisible(edge) {
    if (!steps || state.step >= last) return true;
    var s = steps.edge[+edge];
    return s >= 0 && s <= state.step;
  }
  var renderer;
  try {
    renderer = new Sigma(graph, container, {
      zIndex: true, renderEdgeLabels: false, labelRenderedSizeThreshold: 0, labelDensity: 0.5,
      labelGridCellSize: 120, labelSize: 13,
      labelFont: "sans-serif", defaultEdgeType: D.directed ? "arrow" : "line", hideEdgesOnMove: D.edges.length > 20000,
      nodeReducer: function (node, data) {
        if (!visible(node)) return Object.assign({}, data, {hidden: true});
        if (state.focus && !(node in state.focus)) return Object.assign({}, data, {color: D.dim, label: null, zIndex: 0});
        if (state.focus) return Object.assign({}, data, {zIndex: 2});
        return data;
      },
      edgeReducer: function (edge, data) {
        if (!edgeVisible(edge)) return Object.assign({}, data, {hidden: true});
        if (state.focus) {
          var ends = graph.extremities(edge);
          if (!((ends[0] in state.focus) && (ends[1] in state.focus))) return Object.assign({}, data, {hidden: true});
        }
        return data;
      }
    });
  } catch (err) {
    info.textContent = "This browser could not start WebGL, so the network cannot be drawn here (" + err.message +
      "). Turn on hardware acceleration, or choose a smaller part of the network to draw it with vis-network.";
    document.body.setAttribute("data-error", "webgl");
    return;
  }
  window.civictiesSigma = renderer;
  renderer.once("afterRender", function () {
    document.body.setAttribute("data-first-draw-ms", String(Math.round(performance.now())));
    document.body.setAttribute("data-drawn", String(D.n));
  });
  function ego(start) {
    var dist = {}; dist[start] = 0;
    var queue = [start];
    while (queue.length) {
      var u = queue.shift();
      if (dist[u] >= D.radius) continue;
      graph.forEachNeighbor(u, function (v) {
        if (!(v in dist) && visible(v)) { dist[v] = dist[u] + 1; queue.push(v); }
      });
    }
    return dist;
  }
  function highlight(node) {
    state.focus = ego(node);
    var count = Object.keys(state.focus).length;
    info.textContent = "Ego network: " + count + (count === 1 ? " person" : " people") + " (the person clicked " +
      "and everyone within " + D.radius + (D.radius === 1 ? " step" : " steps") + "). Click empty space to clear.";
    renderer.refresh();
  }
  function reset() { state.focus = null; info.textContent = D.hint; renderer.refresh(); }
  renderer.on("clickNode", function (e) { highlight(e.node); });
  renderer.on("clickStage", reset);
  renderer.on("enterNode", function (e) {
    var i = +e.node;
    var body = D.tips[D.tip[i]];
    tip.textContent = (D.head ? D.head[i] : D.label[i]) + (body ? "\n" + body : "");
    var at = e.event || {x: 0, y: 0};
    tip.style.left = Math.max(0, Math.min(at.x + 12, container.clientWidth - 240)) + "px";
    tip.style.top = (at.y + 12) + "px";
    tip.style.display = "block";
  });
  renderer.on("leaveNode", function () { tip.style.display = "none"; });
  info.textContent = D.hint;
  // the time slider: shows the network as it stood at the end of each year (or wave), in the browser
  if (steps) {
    var box = document.getElementById("time"), slider = document.getElementById("step");
    var label = document.getElementById("step-label"), play = document.getElementById("play");
    var nodesAt = [], edgesAt = [];
    for (var s = 0; s <= last; s++) { nodesAt.push(0); edgesAt.push(0); }
    steps.node.forEach(function (v) { for (var s = Math.max(v, 0); s <= last; s++) { if (v >= 0 || s === last) nodesAt[s]++; } });
    steps.edge.forEach(function (v) { for (var s = Math.max(v, 0); s <= last; s++) { if (v >= 0 || s === last) edgesAt[s]++; } });
    var unknownNodes = steps.node.filter(function (v) { return v < 0; }).length;
    var unknownEdges = steps.edge.filter(function (v) { return v < 0; }).length;
    slider.max = String(last);
    slider.value = String(last);
    box.hidden = false;
    var show = function (s) {
      state.step = s;
      var what = s >= last ? "Everyone drawn" + ((unknownNodes || unknownEdges) ? " (including " + unknownNodes +
        " people and " + unknownEdges + " ties with no " + (steps.unit === "year" ? "date" : "wave") + ")" : "")
        : (steps.unit === "year" ? "By the end of " : "Up to wave ") + steps.labels[s];
      label.textContent = what + ": " + nodesAt[s].toLocaleString("en-US") + " people, " +
        edgesAt[s].toLocaleString("en-US") + " ties";
      document.body.setAttribute("data-step", String(s));
      document.body.setAttribute("data-shown", String(nodesAt[s]));
      if (state.focus) { state.focus = null; info.textContent = D.hint; }
      renderer.refresh();
    };
    slider.addEventListener("input", function () { show(+slider.value); });
    var timer = null;
    var stop = function () { clearInterval(timer); timer = null; play.textContent = "\u25B6 Play"; };
    play.addEventListener("click", function () {
      if (timer) { stop(); return; }
      if (+slider.value >= last) { slider.value = "0"; show(0); }
      play.textContent = "\u275A\u275A Pause";
      timer = setInterval(function () {
        var next = +slider.value + 1;
        slider.value = String(next); show(next);
        if (next >= last) stop();
      }, 900);
    });
    show(last);
  }
  if (D.ego !== null && D.ego !== undefined) { highlight(String(D.ego)); }
})();
"""


def _num(v) -> float | int:
    """A coordinate or size as short JSON: whole numbers without '.0', others to 0.1."""
    v = round(float(v), 1)
    return int(v) if v.is_integer() else v
