"""The network explorer's pictures: which part of the network to show, where its people sit, and the HTML.

Pure functions from plain data (a Dataset, a networkx graph) to plain data or an HTML string, so the
explorer page stays a description of what the user sees and everything here is testable without a
running app.

Three promises the explorer makes, and where they are kept:

- It never sends the browser more people than it can lay out: `select_nodes` cuts any part of the
  network down to `cap` people (CIVICTIES_EXPLORER_MAX_NODES) and says what it showed.
- People stay put across reruns: `layout_positions` is a seeded Fruchterman-Reingold layout (per connected
  group, started from positions derived from each person's id; in two levels, communities then people, for
  groups of 2,000 or more), computed on the server and cached by the page (stored with the analyses for
  each audience's first view); the HTML gets x/y with physics off, so the browser never moves anyone.
- Nothing from the data can run in the browser, and nothing is fetched at view time: the HTML is built
  from our own template (dashboard/assets/network.html), not pyvis's. pyvis's template links Bootstrap
  from cdn.jsdelivr.net whatever `cdn_resources` says, and switches tooltips to `innerHTML` as soon as
  any title contains "href". Ours inlines vis-network 9.1.2 (bundled with pyvis), keeps tooltips as
  plain strings (vis-network 9 shows string titles with `innerText`), writes data as HTML-safe JSON,
  and pins a Content-Security-Policy that allows only its own two scripts (by hash) and no network.
"""
from __future__ import annotations

import base64
import hashlib
import math
import random
import re
from collections import deque
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import networkx as nx
import pandas as pd
from jinja2 import Environment, FileSystemLoader, select_autoescape
from jinja2.utils import htmlsafe_json_dumps

from graph.dataset import Dataset
from queries.network import tie_network

__all__ = [
    "Selection", "TimeSteps", "time_steps", "Picture", "person_picture", "VIS_MAX_NODES", "Aggregate", "COLOR_ATTRIBUTES", "AGGREGATE_ATTRIBUTES", "METRICS", "MISSING",
    "build_network", "node_metric", "community_of", "select_nodes", "ego_distances", "layout_positions",
    "scale_sizes", "color_map", "palette_for", "attribute_palette", "size_legend", "tooltip_text", "render_network_html", "aggregate_network",
    "render_aggregate_html", "remote_references",
]

#: Node attributes the explorer can colour by (people.csv columns plus those build_network adds).
COLOR_ATTRIBUTES = ("race_ethnicity", "income_band", "primary_language", "role", "site_id", "neighborhood",
                    "program", "cohort_id", "community")
#: Attributes a funder's group-level picture may be grouped by: categories, never people or families.
AGGREGATE_ATTRIBUTES = ("site_id", "race_ethnicity", "income_band", "primary_language", "role", "program")
#: Measures the explorer can size people by.
METRICS = ("degree", "betweenness", "closeness", "k-core", "none")
#: How a missing attribute value is shown.
MISSING = "not recorded"

ASSETS = Path(__file__).parent / "assets"
_TEMPLATE = "network.html"
# Tableau 10 without its grey, which is kept for "not recorded" and "other".
_PALETTE = ("#4E79A7", "#F28E2B", "#E15759", "#76B7B2", "#59A14F", "#EDC948", "#B07AA1", "#FF9DA7", "#9C755F")
_GREY = "#BAB0AC"
_DIM = "#E8E8E8"
_LABEL_LIMIT = 150      # above this many people, names go in tooltips only (labels would be unreadable)
_LABEL_TOP = 20         # at most this many labels are drawn: the largest people (and the chosen one); the
                        # rest show their name on hover, so labels never pile on each other
_EDGE_LIMIT = 20_000    # ties drawn at most; a cap of people can still hold a dense tangle of ties
#: Most people drawn with vis-network (canvas, one node at a time); larger pictures are drawn with WebGL
#: (dashboard/sigma_view.py), up to CIVICTIES_EXPLORER_MAX_NODES.
VIS_MAX_NODES = 1_500


@dataclass(frozen=True)
class Selection:
    """The people chosen for the picture and what that choice was.

    `nodes` are those to draw (at most the cap); `total` how many the chosen part held; `part` a phrase
    for the part ("the whole network", "cohort S1-PLTI-2024", ...); `ego` the centre person, if any.
    """

    nodes: list
    total: int
    part: str
    cap: int
    ego: object = None
    radius: int = 0

    @property
    def capped(self) -> bool:
        return len(self.nodes) < self.total

    def note(self) -> str:
        """One sentence for under the picture: what is shown, and why not everything."""
        what = (f"the people within {self.radius} step{'s' if self.radius != 1 else ''} of the selected person"
                if self.ego is not None else self.part)
        if not self.capped:
            return f"Showing {what}: {len(self.nodes):,} {'person' if len(self.nodes) == 1 else 'people'}."
        how = "nearest first" if self.ego is not None else "the best-connected first"
        return (f"Showing {len(self.nodes):,} of the {self.total:,} people in {what} ({how}); the explorer draws "
                f"at most {self.cap:,} at a time. Pick a site, cohort, community or person to see the rest.")


@dataclass
class Aggregate:
    """A group-level network for audiences that must not see individuals.

    `graph` nodes are group values with `people` (int) and `ties_within` (int); edges carry `ties`.
    `min_count` is the suppression threshold; `hidden_links` counts group pairs with 1..min_count-1 ties,
    which are not drawn.
    """

    graph: nx.Graph
    min_count: int
    hidden_links: int = 0


def build_network(ds: Dataset, *, view: str = "union", waves=None, sites=None, cohorts=None, programs=None,
                  roles=None, date_from: date | None = None, date_to: date | None = None) -> nx.Graph:
    """The tie network of the people who pass the filters, with `cohort_id` and `program` on each person.

    sites/cohorts/programs/roles keep people at those sites / enrolled in those cohorts / in cohorts of
    those programs / with those roles (None or empty = no filter; a missing role counts as parent).
    waves keeps ties reported in those survey waves. date_from / date_to keep ties observed in that
    range (inclusive); ties with no date are then left out.
    A person's `cohort_id` is their latest enrolment (by enrolled_on, then cohort id).
    """
    people = ds.people
    keep = pd.Series(True, index=people.index)
    if sites:
        keep &= people["site_id"].isin(list(sites))
    if roles:
        keep &= people["role"].fillna("parent").isin(list(roles))
    enr = ds.enrollments.merge(ds.cohorts[["cohort_id", "program"]], on="cohort_id", how="left")
    if cohorts:
        keep &= people["person_id"].isin(set(enr.loc[enr["cohort_id"].isin(list(cohorts)), "person_id"]))
    if programs:
        keep &= people["person_id"].isin(set(enr.loc[enr["program"].isin(list(programs)), "person_id"]))
    people = people[keep]
    ids = set(people["person_id"])
    ties = ds.ties
    ties = ties[ties["from_person_id"].isin(ids) & ties["to_person_id"].isin(ids)]
    if date_from is not None or date_to is not None:
        observed = ties["observed_on"].fillna("")
        inside = observed != ""
        if date_from is not None:
            inside &= observed >= date_from.isoformat()
        if date_to is not None:
            inside &= observed <= date_to.isoformat()
        ties = ties[inside]
    sub = Dataset(tables={**ds.tables, "people": people, "ties": ties}, contacts=ds.contacts)
    G = tie_network(sub, view=view, waves=list(waves) if waves else None)
    latest = (enr.assign(_on=enr["enrolled_on"].fillna(""))
              .sort_values(["person_id", "_on", "cohort_id"], kind="stable")
              .drop_duplicates("person_id", keep="last"))
    for pid, cid, program in zip(latest["person_id"], latest["cohort_id"], latest["program"]):
        if pid in G:
            G.nodes[pid]["cohort_id"] = cid
            if program is not None:
                G.nodes[pid]["program"] = program
    _first_seen(G, ties, enr, view=view, waves=waves, wave_names=ds.ties)
    return G


@dataclass(frozen=True)
class TimeSteps:
    """When each drawn person and tie first appears, as steps of a time slider.

    `labels` are the steps in order ("2019", "2020", ... every year from the first to the last, or the
    survey waves in wave order); `unit` is "year" or "wave"; `node_step` / `edge_step` map a person /
    a tie (u, v) to the index of the step it first appears in, or None when that is not known (no date,
    no wave): those are drawn only once the slider reaches its end ("everything").
    """

    unit: str
    labels: list
    node_step: dict
    edge_step: dict


def time_steps(G: nx.Graph, nodes=None, *, by: str = "auto") -> TimeSteps | None:
    """The time slider's steps for the people `nodes` of a network made by :func:`build_network`.

    A tie appears in the year it was first observed (``first_seen``; for "both named each other" the
    year the second side named the first); a person in the year they first enrolled in a cohort or
    first had a tie, whichever is earlier. by="year" steps through every year from the first to the
    last; by="wave" through the survey waves (a tie appears in the first wave it was reported in, a
    person in the first wave of any of their ties); "auto" uses years when any date is known, else
    waves. None when neither is known for anyone drawn.

    >>> G = nx.Graph([(1, 2, {"first_seen": "2019-03-01"}), (2, 3, {"first_seen": "2021-05-01"})])
    >>> nx.set_node_attributes(G, {1: "2019-03-01", 2: "2018-09-01", 3: "2021-05-01"}, "first_seen")
    >>> t = time_steps(G)
    >>> t.labels, t.node_step, t.edge_step
    (['2018', '2019', '2020', '2021'], {1: 1, 2: 0, 3: 3}, {(1, 2): 1, (2, 3): 3})
    """
    if by not in ("auto", "year", "wave"):
        raise ValueError(f"time steps go by 'year' or 'wave' (or 'auto'), not {by!r}")
    nodes = list(G if nodes is None else nodes)
    H = G.subgraph(nodes)
    if by in ("auto", "year"):
        def year(v):
            text = _text(v)
            return int(text[:4]) if text and text[:4].isdigit() else None
        ny = {n: year(H.nodes[n].get("first_seen")) for n in nodes}
        ey = {(u, v): year(d.get("first_seen")) for u, v, d in H.edges(data=True) if u != v}
        known = [y for y in list(ny.values()) + list(ey.values()) if y is not None]
        if known:
            lo, hi = min(known), max(known)
            return TimeSteps("year", [str(y) for y in range(lo, hi + 1)],
                             {n: None if y is None else y - lo for n, y in ny.items()},
                             {e: None if y is None else y - lo for e, y in ey.items()})
        if by == "year":
            return None
    order = list(G.graph.get("wave_order", ()))
    nw = {n: H.nodes[n].get("first_wave") for n in nodes}
    ew = {(u, v): d.get("first_wave") for u, v, d in H.edges(data=True) if u != v}
    present = sorted({r for r in list(nw.values()) + list(ew.values()) if r is not None})
    if not present:
        return None
    at = {r: i for i, r in enumerate(present)}
    return TimeSteps("wave", [order[r] if r < len(order) else str(r) for r in present],
                     {n: at.get(r) for n, r in nw.items()}, {e: at.get(r) for e, r in ew.items()})


def node_metric(G: nx.Graph, metric: str, *, seed: int = 0) -> tuple[dict, str]:
    """Values of one of METRICS for every person, and a line saying how they were computed.

    degree: number of people tied to them; betweenness: share of shortest paths between others that run
    through them (sampled on very large networks; the line says so); closeness: how near they are to
    everyone they can reach; k-core: the deepest k-core they belong to. "none" gives every person 1.
    Directed networks are measured as undirected (a tie is a tie for reach and brokerage).
    """
    from queries import brokerage, kernels
    U = G.to_undirected(as_view=True) if G.is_directed() else G
    if metric == "degree":
        return dict(U.degree()), "degree: number of people tied to them"
    if metric == "betweenness":
        r = brokerage.betweenness(U, seed=seed)
        return r.values, f"betweenness ({r.detail or r.method})"
    if metric == "closeness":
        r = kernels.closeness(U)
        return r.values, f"closeness ({r.detail or r.method})"
    if metric == "k-core":
        r = kernels.core_number(nx.Graph(U))
        return r.values, "k-core: the deepest core (everyone in it has at least k ties inside it)"
    if metric == "none":
        return {n: 1 for n in U}, ""
    raise ValueError(f"unknown metric {metric!r}; use one of {', '.join(METRICS)}")


def community_of(G: nx.Graph, *, seed: int = 0) -> dict:
    """Person -> community number (1 = largest), from queries.communities.louvain on the undirected ties."""
    from queries.communities import louvain
    U = nx.Graph(G.to_undirected(as_view=True)) if G.is_directed() else G
    return {n: i for i, members in enumerate(louvain(U, seed=seed), start=1) for n in members}


def ego_distances(G: nx.Graph, center, radius: int) -> dict:
    """Person -> number of steps from `center`, for everyone within `radius` steps (ties in either direction).

    >>> ego_distances(nx.path_graph(5), 2, 1)
    {2: 0, 1: 1, 3: 1}
    """
    if center not in G:
        raise KeyError(f"{center!r} is not in the network")
    U = G.to_undirected(as_view=True) if G.is_directed() else G
    return dict(nx.single_source_shortest_path_length(U, center, cutoff=radius))


def select_nodes(G: nx.Graph, *, cap: int, part_nodes=None, part: str = "the whole network", ego=None,
                 radius: int = 1) -> Selection:
    """Choose at most `cap` people to draw.

    With `ego`: everyone within `radius` steps of that person, nearest first (then most ties, then id).
    Otherwise the people of the chosen part (`part_nodes`, default all); when there are more than `cap`,
    the neighbourhood of its best-connected person, grown outwards (breadth first, better-connected
    neighbours first) and, once that runs out, from the next best-connected person not yet drawn. So the
    picture is a connected stretch of the network rather than scattered hubs with few ties among them.
    The order is deterministic, so the same choice always draws the same people.

    >>> s = select_nodes(nx.path_graph(6), cap=3)   # grows from 1 (most ties, lowest id): 1, 0, 2
    >>> s.nodes, s.total, s.capped
    ([0, 1, 2], 6, True)
    """
    if cap < 1:
        raise ValueError("the explorer's cap (CIVICTIES_EXPLORER_MAX_NODES) must be at least 1")
    U = G.to_undirected(as_view=True) if G.is_directed() else G
    if ego is not None:
        dist = ego_distances(U, ego, radius)
        order = sorted(dist, key=lambda n: (dist[n], -U.degree(n), _key(n)))
        return Selection(nodes=order[:cap], total=len(order), part=part, cap=cap, ego=ego, radius=radius)
    candidates = list(G) if part_nodes is None else [n for n in dict.fromkeys(part_nodes) if n in G]
    total = len(candidates)
    if total > cap:
        candidates = _grow(U, candidates, cap)
    return Selection(nodes=sorted(candidates, key=_key), total=total, part=part, cap=cap)


def layout_positions(G: nx.Graph, nodes=None, *, seed: int = 7, spacing: float | None = None) -> dict:
    """Screen positions {person: (x, y)} for the subgraph of `nodes`: the same input always gives the same picture.

    Each connected group is laid out on its own with Fruchterman-Reingold (igraph, its random numbers
    seeded), started from a position derived from each person's id, and scaled so people sit about
    `spacing` pixels apart (by default :func:`picture_spacing`: wider for a small picture such as an ego
    network, so that it fills the frame and its names do not pile up). A group of MULTILEVEL_FROM people or
    more is laid out in two levels, its communities first (:func:`_multilevel_layout`). The groups are then packed in rows,
    largest first, with people who have no tie in a grid below them. (One layout of everything would push the
    groups far apart and crush each.)
    """
    nodes = sorted(G if nodes is None else nodes, key=_key)
    if not nodes:
        return {}
    spacing = picture_spacing(len(nodes)) if spacing is None else spacing
    H = G.subgraph(nodes)
    U = H.to_undirected(as_view=True) if H.is_directed() else H
    groups = sorted((sorted(c, key=_key) for c in nx.connected_components(U) if len(c) > 1),
                    key=lambda c: (-len(c), _key(c[0])))
    isolates = [n for n in nodes if U.degree(n) == 0 or all(v == n for v in U[n])]
    boxes = [_component_layout(U, c, seed=seed, spacing=spacing) for c in groups]
    if isolates:
        per_row = max(1, math.ceil(math.sqrt(len(isolates) * 2)))
        boxes.append({n: ((i % per_row) * spacing * 0.8, (i // per_row) * spacing * 0.8)
                      for i, n in enumerate(isolates)})
    return _pack(boxes, gap=spacing * 1.5)


def picture_spacing(people: int) -> float:
    """Pixels between neighbours in a picture of `people`: 110 up to 30 people (an ego network fills the frame
    and its names stand apart; the frame is never zoomed in past 100%, so a small, tight picture would stay a
    speck), 40 from 300 on, in between a straight line.

    >>> picture_spacing(9), picture_spacing(165), picture_spacing(5000)
    (110.0, 75.0, 40.0)
    """
    return float(110 - 70 * min(1.0, max(0.0, (people - 30) / 270)))


def scale_sizes(values: dict, *, smallest: float = 6.0, largest: float = 26.0) -> dict:
    """Node sizes in pixels: the square root of each value, stretched from `smallest` to `largest`.

    Missing or NaN values get `smallest`; when all values are equal everyone gets the middle size.

    >>> scale_sizes({"a": 0, "b": 4, "c": None})
    {'a': 6.0, 'b': 26.0, 'c': 6.0}
    """
    def ok(v):
        return v is not None and isinstance(v, (int, float)) and not math.isnan(v) and v >= 0
    roots = {n: math.sqrt(v) for n, v in values.items() if ok(v)}
    if not roots:
        return {n: smallest for n in values}
    lo, hi = min(roots.values()), max(roots.values())
    if hi == lo:
        return {n: (smallest + largest) / 2 if n in roots else smallest for n in values}
    return {n: round(smallest + (largest - smallest) * (roots[n] - lo) / (hi - lo), 2) if n in roots else smallest
            for n in values}


def palette_for(values, *, max_colors: int = len(_PALETTE), weights=None) -> dict:
    """One colour per value of an attribute, fixed for a whole dataset: the most common values (over
    ``values``, e.g. every person of the reader's sites, whatever the filters; ``weights``: value -> count
    instead) get the palette in order of frequency, ties broken by value; the rest are left out (grey).
    Pass it to :func:`color_map` so that a group keeps its colour in every view and on every rerun.

    >>> palette_for(["b", "a", "b", None])
    {'b': '#4E79A7', 'a': '#F28E2B'}
    """
    counts: dict[str, float] = {}
    if weights is not None:
        for v, w in weights.items():
            if _text(v) is not None:
                counts[_text(v)] = counts.get(_text(v), 0) + float(w)
    else:
        for v in values:
            v = _text(v)
            if v is not None:
                counts[v] = counts.get(v, 0) + 1
    ranked = sorted(counts, key=lambda v: (-counts[v], v))
    return {v: _PALETTE[i] for i, v in enumerate(ranked[:max_colors])}


def attribute_palette(ds: Dataset, attr: str) -> dict:
    """The fixed palette (:func:`palette_for`) of a colour attribute over a whole dataset: people's
    columns by people, cohorts and programs by enrollments, communities by number (1 = largest)."""
    if attr == "community":
        return {str(i): _PALETTE[i - 1] for i in range(1, len(_PALETTE) + 1)}
    if attr == "role":
        return palette_for(ds.people["role"].fillna("parent"))
    if attr in ds.people:
        return palette_for(ds.people[attr])
    enr = ds.enrollments.merge(ds.cohorts[["cohort_id", "program"]], on="cohort_id", how="left")
    if attr in enr:
        return palette_for(enr[attr])
    raise ValueError(f"no palette for {attr!r}; use one of {', '.join(COLOR_ATTRIBUTES)}")


def color_map(values: dict, *, max_colors: int = len(_PALETTE), palette: dict | None = None) -> tuple[dict, list]:
    """Colours for a categorical attribute: ({person: colour}, legend [(label, colour), ...]).

    With ``palette`` (:func:`palette_for` over the whole dataset) every value keeps its colour whatever part
    is drawn; values outside it are grey, "other". Without it, the most common values here get the palette
    (ties broken by value). Missing values are grey too and listed as "not recorded". The legend lists the
    values drawn, in palette order.

    >>> colors, legend = color_map({1: "a", 2: "a", 3: "b", 4: None})
    >>> legend
    [('a', '#4E79A7'), ('b', '#F28E2B'), ('not recorded', '#BAB0AC')]
    >>> color_map({3: "b"}, palette={"a": "#4E79A7", "b": "#F28E2B"})[1]
    [('b', '#F28E2B')]
    """
    labels = {n: _text(v) for n, v in values.items()}
    counts: dict[str, int] = {}
    for v in labels.values():
        if v is not None:
            counts[v] = counts.get(v, 0) + 1
    if palette is None:
        palette = palette_for((), weights=counts, max_colors=max_colors)
    order = {v: i for i, v in enumerate(palette)}
    drawn = sorted((v for v in counts if v in palette), key=order.get)
    others = [v for v in counts if v not in palette]
    colors = {n: palette.get(v, _GREY) for n, v in labels.items()}
    legend = [(v, palette[v]) for v in drawn]
    if others:
        legend.append((f"other ({len(others)} more)", _GREY))
    if any(v is None for v in labels.values()):
        legend.append((MISSING, _GREY))
    return colors, legend


def size_legend(sizes: dict, values: dict, measure: str) -> list[tuple[str, float]]:
    """Two or three reference circles for the size legend: [(label, diameter px)], smallest to largest
    value drawn (empty when everyone is the same size).

    >>> size_legend({"a": 6.0, "b": 26.0}, {"a": 0, "b": 4}, "degree")
    [('degree 0', 6.0), ('degree 4', 26.0)]
    """
    known = [(sizes[n], values[n]) for n in sizes if isinstance(values.get(n), (int, float))
             and not (isinstance(values.get(n), float) and math.isnan(values[n]))]
    if not known or min(s for s, _ in known) == max(s for s, _ in known):
        return []
    lo, hi = min(known), max(known)
    return [(f"{measure} {_fmt(lo[1])}", lo[0]), (f"{measure} {_fmt(hi[1])}", hi[0])]


def tooltip_text(G: nx.Graph, n, *, show_names: bool, color_by: str | None = None, metric: str | None = None,
                 value=None) -> str:
    """A person's hover text, plain text (shown with innerText, never parsed as HTML).

    Coordinators (show_names) see the name and id; others see the id only, which for evaluators is the
    pseudonym the data loader gave. Contact details are never included.
    """
    d = G.nodes[n]
    head = f"{_text(d.get('name')) or '(no name)'} · {n}" if show_names else str(n)
    lines = [head]
    facts = [_text(d.get(k)) for k in ("role", "site_id", "cohort_id")]
    lines.append(" · ".join(f for f in facts if f))
    groups = [_text(d.get(k)) for k in ("race_ethnicity", "income_band", "primary_language")]
    lines.append(" · ".join(g for g in groups if g))
    if color_by and color_by not in ("role", "site_id", "cohort_id", "race_ethnicity", "income_band",
                                     "primary_language"):
        lines.append(f"{color_by}: {_text(d.get(color_by)) or MISSING}")
    if metric and metric != "none" and value is not None:
        lines.append(f"{metric}: {_fmt(value)}")
    return "\n".join(line for line in lines if line)


@dataclass
class Picture:
    """What is drawn for each person of a selection, for either renderer (see :func:`person_picture`)."""

    colors: dict
    legend: list
    sizes: dict
    sizes_legend: list
    tooltips: dict
    labels: dict


def person_picture(G: nx.Graph, nodes, *, show_names: bool, color_by: str, groups: dict, palette: dict | None,
                   metric: str, values: dict, webgl: bool = False) -> Picture:
    """Colours, sizes, hover texts and labels of the people `nodes`, as the explorer draws them.

    Names appear only with show_names (coordinators); otherwise a person is their id, which in an
    evaluator's dataset is a pseudonym. groups: person -> value of `color_by`; palette: the fixed one
    (:func:`attribute_palette`); values: the `metric` per person. WebGL pictures hold many more people,
    so their circles are smaller (radius 1.5 to 8 px instead of 6 to 26).
    """
    nodes = list(nodes)
    colors, legend = color_map({n: groups.get(n) for n in nodes}, palette=palette)
    sizes = scale_sizes({n: values.get(n) for n in nodes}, **({"smallest": 1.5, "largest": 8.0} if webgl else {}))
    tooltips = {n: tooltip_text(G, n, show_names=show_names, color_by=color_by, metric=metric, value=values.get(n))
                for n in nodes}
    labels = {n: (_text(G.nodes[n].get("name")) if show_names else str(n)) for n in nodes}
    sizes_legend = size_legend(sizes, values, metric) if metric != "none" else []
    if webgl:      # the legend draws diameters; sigma's sizes are radii in screen pixels
        sizes_legend = [(label, px * 2) for label, px in sizes_legend]
    return Picture(colors, legend, sizes, sizes_legend, tooltips, labels)


def render_network_html(G: nx.Graph, nodes, positions: dict, *, colors: dict | None = None,
                        sizes: dict | None = None, tooltips: dict | None = None, labels: dict | None = None,
                        legend=(), ego=None, radius: int = 1, height: int = 620, title: str = "Network",
                        hint: str | None = None, edge_styles: dict | None = None,
                        sizes_legend=()) -> str:
    """A self-contained HTML page drawing the people `nodes` of G at `positions`, with physics off.

    colors/sizes/tooltips/labels map person -> value (defaults: blue, 12 px, no tooltip, no label);
    edge_styles maps a pair (u, v) -> extra vis-network edge options such as width and title.
    Labels are drawn only for pictures of at most 150 people, and then only for the 20 largest (and the
    chosen person): the rest show on hover, so labels do not pile up. Clicking a person greys out everyone more
    than `radius` steps away (their ego network); clicking empty space clears it. Person ids never reach
    the page: people are numbered 0..n-1 in the HTML.
    """
    from pyvis.network import Network
    nodes = list(nodes)
    index = {n: i for i, n in enumerate(nodes)}
    colors, sizes, tooltips, labels = colors or {}, sizes or {}, tooltips or {}, labels or {}
    show_labels = len(nodes) <= _LABEL_LIMIT
    labelled = set(sorted(nodes, key=lambda n: (-float(sizes.get(n, 12.0)), _key(n)))[:_LABEL_TOP]) | {ego}
    net = Network(height=f"{height}px", width="100%", directed=G.is_directed(), cdn_resources="in_line")
    for n in nodes:
        x, y = positions[n]
        options = {"x": x, "y": y, "color": colors.get(n, _PALETTE[0]), "size": sizes.get(n, 12.0),
                   "borderWidth": 3 if n == ego else 1}
        if n in tooltips:
            options["title"] = str(tooltips[n])
        net.add_node(index[n], label=" ", shape="dot", **options)
        if show_labels and labels.get(n) and n in labelled:
            net.nodes[-1]["label"] = str(labels[n])
        else:
            del net.nodes[-1]["label"]
    # pyvis's add_edge scans every edge already added (quadratic); the dicts it would build are these.
    H = G.subgraph(nodes)
    pairs = sorted({(index[u], index[v]) for u, v in H.edges() if u != v})
    dropped = max(0, len(pairs) - _EDGE_LIMIT)
    net.edges = [{"id": i, "from": a, "to": b} for i, (a, b) in enumerate(pairs[:_EDGE_LIMIT])]
    if edge_styles:
        for e in net.edges:
            u, v = nodes[e["from"]], nodes[e["to"]]
            e.update(edge_styles.get((u, v)) or edge_styles.get((v, u)) or {})
    net.options = _options(G.is_directed())
    vis_nodes, vis_edges, *_rest = net.get_network_data()
    payload = {"nodes": vis_nodes, "edges": vis_edges, "options": net.options, "radius": int(radius),
               "dim": _DIM, "ego": index.get(ego),
               "hint": hint or "Hover over a person for details; click one to highlight everyone within "
                               f"{radius} step{'s' if radius != 1 else ''}; drag to pan, scroll to zoom."}
    if dropped:
        payload["hint"] += f" {dropped:,} ties are not drawn (at most {_EDGE_LIMIT:,})."
    return _page(payload, legend=legend, height=height, title=title, sizes_legend=sizes_legend)


def aggregate_network(G: nx.Graph, attr: str, *, min_count: int) -> Aggregate:
    """Groups of people (by `attr`) and the ties between groups, with small counts suppressed.

    For audiences that see no individuals (funders). Nodes are the values of `attr` (missing values form
    "not recorded"); each carries `people` and `ties_within`; an edge carries `ties` between two groups.
    A count from 1 to min_count-1 is never shown: such group pairs are not drawn (`hidden_links` counts
    them) and such group sizes are shown as "<min_count" by `render_aggregate_html`.

    >>> G = nx.Graph([(1, 2), (2, 3)])
    >>> nx.set_node_attributes(G, {1: "a", 2: "a", 3: "b"}, "race_ethnicity")
    >>> a = aggregate_network(G, "race_ethnicity", min_count=1)
    >>> sorted(a.graph.nodes(data="people")), a.graph.edges["a", "b"]["ties"]
    ([('a', 2), ('b', 1)], 1)
    """
    if attr not in AGGREGATE_ATTRIBUTES:
        raise ValueError(f"group-level pictures group by one of {', '.join(AGGREGATE_ATTRIBUTES)}, not {attr!r}")
    group = {n: _text(d.get(attr)) or MISSING for n, d in G.nodes(data=True)}
    A = nx.Graph()
    for g in sorted(set(group.values())):
        A.add_node(g, people=0, ties_within=0)
    for g in group.values():
        A.nodes[g]["people"] += 1
    between: dict[tuple, int] = {}
    U = G.to_undirected(as_view=True) if G.is_directed() else G
    for u, v in U.edges():
        a, b = sorted((group[u], group[v]))
        if a == b:
            A.nodes[a]["ties_within"] += 1
        else:
            between[(a, b)] = between.get((a, b), 0) + 1
    hidden = 0
    for (a, b), k in between.items():
        if k >= min_count:
            A.add_edge(a, b, ties=k)
        else:
            hidden += 1
    return Aggregate(graph=A, min_count=min_count, hidden_links=hidden)


def render_aggregate_html(agg: Aggregate, *, height: int = 560) -> str:
    """The group-level picture: one circle per group (size by people, never below the suppression size),
    one line per pair of groups with at least min_count ties; counts under min_count read "<min_count"."""
    A, m = agg.graph, agg.min_count
    groups = sorted(A, key=str)
    k = len(groups)
    radius = 60.0 * max(2, k)
    positions = {g: (round(radius * math.cos(2 * math.pi * i / k), 1), round(radius * math.sin(2 * math.pi * i / k), 1))
                 for i, g in enumerate(groups)}

    def shown(count) -> str:
        if isinstance(count, str):            # already a suppression label ("<10", "suppressed")
            return count
        return f"<{m}" if 0 < count < m else f"{count:,}"

    def drawn(count) -> int:                  # a suppressed group is drawn as if it had min_count people
        return m if isinstance(count, str) else max(count, m)
    # the most people first, as the person-level explorer ranks its palette (a hidden count as the threshold)
    colors, legend = color_map({g: g for g in groups}, palette=palette_for(
        (), weights={g: drawn(A.nodes[g]["people"]) for g in groups}))
    # area proportional to people
    biggest = max([drawn(A.nodes[g]["people"]) for g in groups] + [1])
    sizes = {g: round(max(8.0, 48 * math.sqrt(drawn(A.nodes[g]["people"]) / biggest)), 2) for g in groups}
    tooltips = {g: f"{g}\npeople: {shown(A.nodes[g]['people'])}\nties within the group: "
                   f"{shown(A.nodes[g]['ties_within'])}" for g in groups}
    labels = {g: f"{g}\n{shown(A.nodes[g]['people'])} people · {shown(A.nodes[g]['ties_within'])} ties within"
              for g in groups}
    top = max((d["ties"] for *_e, d in A.edges(data=True)), default=1)
    edge_styles = {(u, v): {"width": round(1 + 9 * d["ties"] / top, 2), "title": f"{u} – {v}: {d['ties']:,} ties"}
                   for u, v, d in A.edges(data=True)}
    return render_network_html(A, groups, positions, colors=colors, sizes=sizes, tooltips=tooltips, labels=labels,
                               legend=legend, height=height, title="Group-level network", edge_styles=edge_styles,
                               hint="Hover over a group for its counts; click one to highlight the groups tied "
                                    "to it. Line width: ties between the two groups.")


def remote_references(html: str) -> list[str]:
    """Every script, stylesheet, image, frame or CSS import the page would fetch from elsewhere (should be [])."""
    tag_src = re.findall(r"<(?:script|img|iframe|embed|source|audio|video)\b[^>]*\bsrc\s*=\s*[\"']?([^\"'\s>]+)",
                         html, flags=re.I)
    link_href = re.findall(r"<link\b[^>]*\bhref\s*=\s*[\"']?([^\"'\s>]+)", html, flags=re.I)
    css = re.findall(r"@import\s+(?:url\()?[\"']?([^\"')\s;]+)|url\(\s*[\"']?((?:https?:)?//[^\"')\s]+)", html, flags=re.I)
    found = tag_src + link_href + [a or b for a, b in css]
    return [u for u in found if not u.startswith("data:")]


# ----------------------------------------------------------------------------------------------- helpers

_APP_JS = r"""
(function () {
  var D = JSON.parse(document.getElementById("network-data").textContent);
  var nodes = new vis.DataSet(D.nodes);
  var edges = new vis.DataSet(D.edges);
  var container = document.getElementById("network");
  var network = new vis.Network(container, {nodes: nodes, edges: edges}, D.options);
  window.civictiesNetwork = network;
  var info = document.getElementById("info");
  var adjacency = {};
  D.edges.forEach(function (e) {
    (adjacency[e.from] = adjacency[e.from] || []).push(e.to);
    (adjacency[e.to] = adjacency[e.to] || []).push(e.from);
  });
  var original = {};
  D.nodes.forEach(function (n) { original[n.id] = n.color; });
  function reset() {
    nodes.update(D.nodes.map(function (n) { return {id: n.id, color: original[n.id]}; }));
    edges.update(D.edges.map(function (e) { return {id: e.id, hidden: false}; }));
    info.textContent = D.hint;
  }
  function highlight(start) {
    var dist = {}; dist[start] = 0;
    var queue = [start];
    while (queue.length) {
      var u = queue.shift();
      if (dist[u] >= D.radius) continue;
      (adjacency[u] || []).forEach(function (v) {
        if (!(v in dist)) { dist[v] = dist[u] + 1; queue.push(v); }
      });
    }
    nodes.update(D.nodes.map(function (n) { return {id: n.id, color: (n.id in dist) ? original[n.id] : D.dim}; }));
    edges.update(D.edges.map(function (e) { return {id: e.id, hidden: !((e.from in dist) && (e.to in dist))}; }));
    var count = Object.keys(dist).length;
    info.textContent = "Ego network: " + count + (count === 1 ? " person" : " people") + " (the person clicked " +
      "and everyone within " + D.radius + (D.radius === 1 ? " step" : " steps") + "). Click empty space to clear.";
  }
  network.on("click", function (p) { if (p.nodes.length) { highlight(p.nodes[0]); } else { reset(); } });
  network.once("afterDrawing", function () { document.body.setAttribute("data-drawn", String(D.nodes.length)); });
  info.textContent = D.hint;
  network.fit();
  if (D.ego !== null && D.ego !== undefined) { highlight(D.ego); }
})();
"""


def _options(directed: bool) -> dict:
    return {
        "physics": {"enabled": False},
        "layout": {"improvedLayout": False},
        "interaction": {"hover": True, "tooltipDelay": 120, "hideEdgesOnDrag": True, "hideEdgesOnZoom": True,
                        "navigationButtons": False, "keyboard": False},
        "nodes": {"shape": "dot", "font": {"size": 14, "face": "sans-serif"}, "color": {"border": "#333333"}},
        "edges": {"color": {"color": "#7d848c", "opacity": 0.7}, "width": 1, "smooth": False,
                  "arrows": {"to": {"enabled": directed, "scaleFactor": 0.4}}},
    }


def _page(payload: dict, *, legend, height: int, title: str, sizes_legend=()) -> str:
    data_json = htmlsafe_json_dumps(payload)   # <, >, & and ' become \u escapes: data cannot close the tag
    vis_dir = Path(__import__("pyvis").__file__).parent / "lib" / "vis-9.1.2"
    vis_js = _read(vis_dir / "vis-network.min.js")
    vis_css = _read(vis_dir / "vis-network.css")
    hashes = " ".join(f"'sha256-{base64.b64encode(hashlib.sha256(s.encode()).digest()).decode()}'"
                      for s in (vis_js, _APP_JS))
    env = Environment(loader=FileSystemLoader(str(ASSETS)), autoescape=select_autoescape(default=True))
    return env.get_template(_TEMPLATE).render(
        title=title, height=height, legend=[(str(label), color) for label, color in legend], vis_css=vis_css,
        sizes=[(str(label), round(float(px), 1)) for label, px in sizes_legend],
        vis_js=vis_js, app_js=_APP_JS, data_json=data_json, script_hashes=hashes)


def _first_seen(G: nx.Graph, ties: pd.DataFrame, enr: pd.DataFrame, *, view: str, waves, wave_names) -> None:
    """Mark when each tie and person first appears (for :func:`time_steps`).

    A tie's ``first_seen`` is the earliest observed_on of the reports that make it: in the union view
    the earlier side's first report, in the mutual view the later one (it is mutual from then on), in
    the directed view the reporter's. ``first_wave`` likewise, as a position in the wave order
    (G.graph["wave_order"]). A person's ``first_seen`` is their earliest enrolment or tie,
    ``first_wave`` the first wave of their ties. Unknown stays unset.
    """
    from queries import panel
    t = ties[ties["to_person_id"].notna() & (ties["to_person_id"] != ties["from_person_id"])]
    if waves:
        t = t[t["wave"].isin(list(waves))]
    known = wave_names[wave_names["wave"].notna()]
    order = panel.wave_order(known["wave"], known["observed_on"]) if len(known) else []
    G.graph["wave_order"] = list(order)
    rank = {w: i for i, w in enumerate(order)}
    frame = pd.DataFrame({"a": t["from_person_id"].to_numpy(), "b": t["to_person_id"].to_numpy(),
                          "on": pd.to_datetime(t["observed_on"].replace("", None), errors="coerce",
                                               format="ISO8601").to_numpy(),
                          "w": t["wave"].map(rank).astype(float).to_numpy()})
    first = frame.groupby(["a", "b"], sort=False).agg(on=("on", "min"), w=("w", "min"))
    edges = pd.DataFrame(list(G.edges()), columns=["u", "v"], dtype=object)
    if edges.empty:
        return
    same = edges.join(first, on=["u", "v"])
    if view == "directed":
        on, w = same["on"], same["w"]
    else:
        other = edges.join(first, on=["v", "u"])
        if view == "mutual":            # mutual once both have named each other: the later first report
            on = same["on"].where(same["on"] > other["on"], other["on"]).where(same["on"].notna() & other["on"].notna())
            w = same["w"].where(same["w"] > other["w"], other["w"]).where(same["w"].notna() & other["w"].notna())
        else:
            on = same["on"].where(same["on"] <= other["on"], other["on"]).fillna(same["on"])
            w = same["w"].where(same["w"] <= other["w"], other["w"]).fillna(same["w"])
    edges = edges.assign(on=on.dt.strftime("%Y-%m-%d"), w=w)
    nx.set_edge_attributes(G, {(u, v): d for u, v, d in zip(edges["u"], edges["v"], edges["on"]) if isinstance(d, str)},
                           "first_seen")
    nx.set_edge_attributes(G, {(u, v): int(r) for u, v, r in zip(edges["u"], edges["v"], edges["w"]) if not pd.isna(r)},
                           "first_wave")
    enrolled = pd.DataFrame({"n": enr["person_id"], "on": pd.to_datetime(enr["enrolled_on"].replace("", None),
                                                                          errors="coerce", format="ISO8601")})
    ends = pd.concat([edges[["u", "on", "w"]].rename(columns={"u": "n"}), edges[["v", "on", "w"]].rename(columns={"v": "n"})])
    seen = pd.concat([ends[["n", "on"]], enrolled.assign(on=enrolled["on"].dt.strftime("%Y-%m-%d"))])
    # each person's earliest ISO date: sorted and deduplicated (a string groupby min runs in Python: 3.7 s
    # at 100,000 parents, this 0.2 s)
    seen = (seen[seen["on"].notna() & seen["n"].isin(set(G))].sort_values(["n", "on"], kind="stable")
            .drop_duplicates("n"))
    nx.set_node_attributes(G, dict(zip(seen["n"], seen["on"])), "first_seen")
    ranks = ends[ends["w"].notna()].groupby("n")["w"].min()
    nx.set_node_attributes(G, {n: int(r) for n, r in ranks.items()}, "first_wave")


def _grow(U: nx.Graph, candidates: list, cap: int) -> list:
    """Up to `cap` of `candidates`, grown breadth first from the best-connected (see select_nodes)."""
    inside = set(candidates)
    seeds = iter(sorted(candidates, key=lambda n: (-U.degree(n), _key(n))))
    chosen: dict = {}
    while len(chosen) < cap:
        seed = next(s for s in seeds if s not in chosen)
        chosen[seed] = None
        queue = deque([seed])
        while queue and len(chosen) < cap:
            u = queue.popleft()
            fresh = (v for v in U[u] if v in inside and v not in chosen)
            for v in sorted(fresh, key=lambda n: (-U.degree(n), _key(n))):
                chosen[v] = None
                queue.append(v)
                if len(chosen) >= cap:
                    break
    return list(chosen)


#: From this many people, a connected group is laid out in two levels (:func:`_multilevel_layout`): one
#: Fruchterman-Reingold layout over 15,000 people takes 30 s on this project's 2-core machine, the two levels 3.6 s.
MULTILEVEL_FROM = 2_000


def _component_layout(U: nx.Graph, members: list, *, seed: int, spacing: float) -> dict:
    """Positions for one connected group, centred on (0, 0), people about `spacing` apart."""
    if len(members) == 2:
        return {members[0]: (-spacing / 2, 0.0), members[1]: (spacing / 2, 0.0)}
    import igraph as ig
    index = {n: i for i, n in enumerate(members)}
    edges = sorted({tuple(sorted((index[u], index[v]))) for u, v in U.subgraph(members).edges() if u != v})
    g = ig.Graph(n=len(members), edges=edges)
    start = [_hash_point(n, seed) for n in members]
    ig.set_random_number_generator(random.Random(seed))
    try:
        if len(members) >= MULTILEVEL_FROM:
            coords = _multilevel_layout(g, start)
        else:
            coords = g.layout_fruchterman_reingold(seed=start, niter=150 if len(members) > 500 else 300).coords
    finally:
        ig.set_random_number_generator(random)
    cx = sum(c[0] for c in coords) / len(coords)
    cy = sum(c[1] for c in coords) / len(coords)
    spread = math.sqrt(sum((x - cx) ** 2 + (y - cy) ** 2 for x, y in coords) / len(coords)) or 1.0
    scale = spacing * math.sqrt(len(members)) / 2 / spread
    return {n: ((x - cx) * scale, (y - cy) * scale) for n, (x, y) in zip(members, coords)}


def _multilevel_layout(g, start: list) -> list:
    """A large connected group laid out in two levels: its communities (igraph's Louvain) as one weighted
    network, laid out with Fruchterman-Reingold; then each community's people laid out on their own around
    their community's place, in a disc whose area grows with its size. Ties between communities pull
    communities together, so bridges show as communities side by side; within a community, its own ties
    decide who sits where. Deterministic: igraph's random numbers are seeded by the caller, and each level
    starts from given positions."""
    membership = g.community_multilevel().membership
    k = max(membership) + 1
    members: list[list[int]] = [[] for _ in range(k)]
    for v, c in enumerate(membership):
        members[c].append(v)
    coarse = g.copy()
    coarse.contract_vertices(membership)
    coarse.es["ties"] = 1
    coarse.simplify(combine_edges={"ties": "sum"})
    centre_start = [[sum(start[v][0] for v in m) / len(m), sum(start[v][1] for v in m) / len(m)] for m in members]
    centres = coarse.layout_fruchterman_reingold(weights="ties" if coarse.ecount() else None, niter=500,
                                                 seed=centre_start).coords
    radius = [math.sqrt(len(m)) for m in members]
    scale = 1.0
    if k > 1:   # communities' discs side by side: the typical gap to the nearest centre, two typical radii
        from scipy.spatial import cKDTree
        gaps = sorted(cKDTree(centres).query(centres, k=2)[0][:, 1])
        typical = gaps[len(gaps) // 2]
        scale = 2.2 * sorted(radius)[k // 2] / typical if typical > 0 else 1.0
    coords = [[0.0, 0.0] for _ in range(g.vcount())]
    for c, vs in enumerate(members):
        cx, cy = centres[c][0] * scale, centres[c][1] * scale
        if len(vs) == 1:
            coords[vs[0]] = [cx, cy]
            continue
        inner = g.subgraph(vs).layout_fruchterman_reingold(niter=300, seed=[start[v] for v in vs]).coords
        mx = sum(p[0] for p in inner) / len(inner)
        my = sum(p[1] for p in inner) / len(inner)
        spread = math.sqrt(sum((x - mx) ** 2 + (y - my) ** 2 for x, y in inner) / len(inner)) or 1.0
        f = 0.5 * radius[c] / spread
        for v, (x, y) in zip(vs, inner):
            coords[v] = [cx + (x - mx) * f, cy + (y - my) * f]
    return coords


def _pack(boxes: list[dict], *, gap: float) -> dict:
    """Place groups of positions in rows (shelf packing), left to right, wrapping at a width that keeps
    the whole picture roughly square; return positions centred on (0, 0), rounded to 0.1 px."""
    placed: dict = {}
    sized = []
    for box in boxes:
        xs, ys = [p[0] for p in box.values()], [p[1] for p in box.values()]
        sized.append((box, min(xs), min(ys), max(xs) - min(xs), max(ys) - min(ys)))
    area = sum((w + gap) * (h + gap) for *_b, w, h in sized)
    width = max([math.sqrt(area) * 1.5] + [w for *_b, w, _h in sized])  # the frame is wider than tall
    x = y = row_height = 0.0
    for box, x0, y0, w, h in sized:
        if x > 0 and x + w > width:
            x, y, row_height = 0.0, y + row_height + gap, 0.0
        for n, (px, py) in box.items():
            placed[n] = (px - x0 + x, py - y0 + y)
        x += w + gap
        row_height = max(row_height, h)
    xs, ys = [p[0] for p in placed.values()], [p[1] for p in placed.values()]
    cx, cy = (min(xs) + max(xs)) / 2, (min(ys) + max(ys)) / 2
    return {n: (round(px - cx, 1), round(py - cy, 1)) for n, (px, py) in placed.items()}


_FILE_CACHE: dict[Path, str] = {}


def _read(path: Path) -> str:
    if path not in _FILE_CACHE:
        _FILE_CACHE[path] = path.read_text(encoding="utf-8")
    return _FILE_CACHE[path]


def _hash_point(n, seed: int) -> tuple[float, float]:
    """A starting position in [-1, 1)^2 that depends only on the person's id (stable across processes)."""
    h = hashlib.blake2b(f"{seed}:{n}".encode(), digest_size=8).digest()
    return (int.from_bytes(h[:4], "big") / 2**31 - 1.0, int.from_bytes(h[4:], "big") / 2**31 - 1.0)


def _key(n) -> tuple:
    return (str(type(n).__name__), str(n))


def _text(v) -> str | None:
    if v is None or (isinstance(v, float) and math.isnan(v)):
        return None
    s = str(v).strip()
    return s or None


def _fmt(v) -> str:
    if isinstance(v, float):
        return "–" if math.isnan(v) else f"{v:.3g}"
    return str(v)
