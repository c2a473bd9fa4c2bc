"""The network explorer's choices and its first view, shared by its page and the stored analyses.

The page (dashboard/pages/explorer.py) is a description of the widgets; what its filters offer, the
filters a first view starts from, and the picture drawn for a given choice are computed here, from plain
data, so that the background worker (dashboard/analyses.py) can compute each audience's first view once
per data version and the page can show it without building the network. At 100,000 parents reading the
dataset takes 7 s, building the network 9 s and laying out its 30,000 drawn people 7 s; the stored first view
opens in 0.1 s in Chromium (docs/performance.md).

Any other choice (a filter, a colour, a person) is computed on the page, as before; choices that keep the
first view's filters reuse its stored positions, so the people stay where they were.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

import networkx as nx

from dashboard import network_view as nv
from dashboard import sigma_view as sv
from graph.dataset import Dataset

__all__ = ["HEIGHT", "PARTS", "Options", "Drawn", "FirstView", "FunderFirstView", "options", "filters",
           "default_filters", "person_label", "draw", "first_view"]

HEIGHT = 620
PARTS = ("Everyone (filtered)", "One cohort", "One community")


@dataclass(frozen=True)
class Options:
    """What the explorer's filters offer, from the reader's whole data."""

    sites: list
    programs: list
    cohorts: list                   # [(cohort_id, site_id)], by cohort id
    roles: list
    roles_with_ties: list           # the roles chosen at first (children and others with no ties left out)
    waves: list
    first: date | None              # the earliest and latest day a tie was observed (None: no dates)
    last: date | None

    def cohorts_of(self, sites) -> list:
        return [c for c, s in self.cohorts if not sites or s in sites]


@dataclass
class Drawn:
    """A picture as the page shows it: the HTML and the sentences under it."""

    html: str
    note: str
    capped: bool
    metric_detail: str
    people: int
    webgl: bool


@dataclass
class FirstView:
    """A person audience's first view: the filters' options, the network's size, who can be picked (with their
    labels), the people drawn with their positions, and the picture."""

    options: Options
    filters: tuple
    people: int
    labels: dict = field(default_factory=dict)          # everyone who passes the filters, by id -> their label
    nodes: tuple = ()
    positions: dict = field(default_factory=dict)
    drawn: Drawn | None = None


@dataclass
class FunderFirstView:
    """A funder's first view: the survey waves to choose from and the group picture by the first attribute."""

    waves: list
    html: str
    facts: dict


def _options(values) -> list[str]:
    return sorted({str(v) for v in values if v is not None and str(v).strip()})


def options(ds: Dataset) -> Options:
    people, ties = ds.people, ds.ties
    with_ties = set(ties["from_person_id"]) | set(ties["to_person_id"].dropna())
    observed = [d for d in ties["observed_on"] if d]
    cohorts = sorted({(str(c), str(s)) for c, s in zip(ds.cohorts["cohort_id"], ds.cohorts["site_id"])
                      if c is not None and str(c).strip()})
    return Options(sites=_options(people["site_id"]), programs=_options(ds.cohorts["program"]), cohorts=cohorts,
                   roles=_options(people["role"].fillna("parent")),
                   roles_with_ties=_options(people.loc[people["person_id"].isin(with_ties), "role"]),
                   waves=_options(ties["wave"]),
                   first=date.fromisoformat(min(observed)) if observed else None,
                   last=date.fromisoformat(max(observed)) if observed else None)


def filters(*, view: str = "union", waves=(), sites=(), programs=(), cohorts=(), roles=(), date_from=None,
            date_to=None) -> tuple:
    """The filters as one hashable value (the page's cache key; build_network's keyword arguments)."""
    return (("view", view), ("waves", tuple(waves)), ("sites", tuple(sites)), ("programs", tuple(programs)),
            ("cohorts", tuple(cohorts)), ("roles", tuple(roles)), ("date_from", date_from), ("date_to", date_to))


def default_filters(opts: Options) -> tuple:
    return filters(roles=opts.roles_with_ties)


def person_label(G: nx.Graph, n, *, show_names: bool) -> str:
    name = G.nodes[n].get("name") if show_names else None
    return f"{name} ({n})" if name else str(n)


def draw(G: nx.Graph, selection: nv.Selection, *, show_names: bool, color_by: str, groups: dict, palette: dict,
         metric: str, values: dict, metric_detail: str, positions: dict, webgl: bool, ego=None,
         radius: int = 1, title: str = "Tie network") -> Drawn:
    """The picture of the selected people: vis-network, or WebGL (sigma.js) with its time slider."""
    picture = nv.person_picture(G, selection.nodes, show_names=show_names, color_by=color_by, groups=groups,
                                palette=palette, metric=metric, values=values, webgl=webgl)
    if webgl:
        payload = sv.webgl_payload(G, selection.nodes, positions, colors=picture.colors, sizes=picture.sizes,
                                   labels=picture.labels, tooltips=picture.tooltips, ego=ego, radius=radius,
                                   steps=nv.time_steps(G, selection.nodes))
        html = sv.render_webgl_html(payload, legend=picture.legend, sizes_legend=picture.sizes_legend,
                                    height=HEIGHT, title=title)
    else:
        html = nv.render_network_html(G, selection.nodes, positions, colors=picture.colors, sizes=picture.sizes,
                                      tooltips=picture.tooltips, labels=picture.labels, legend=picture.legend,
                                      ego=ego, radius=radius, height=HEIGHT, title=title,
                                      sizes_legend=picture.sizes_legend)
    return Drawn(html=html, note=selection.note(), capped=selection.capped, metric_detail=metric_detail,
                 people=len(selection.nodes), webgl=webgl)


def first_view(ds: Dataset, *, show_names: bool, cap: int, network=None) -> FirstView:
    """What the explorer shows before anything is chosen: the people with the roles that have ties, all
    sites, cohorts, programs, waves and dates; coloured by the first colour attribute, sized by the first
    measure, everyone (up to `cap`), nobody in focus; WebGL only where vis-network cannot draw that many.
    ``ds`` is the audience's dataset (names only for coordinators, pseudonyms otherwise); ``network(filters)``,
    if given, builds (or finds) the network of ``ds`` for those filters, as the page does."""
    opts = options(ds)
    start = default_filters(opts)
    G = network(start) if network is not None else nv.build_network(ds, **dict(start))
    view = FirstView(options=opts, filters=start, people=len(G))
    if len(G) == 0:
        return view
    view.labels = {n: person_label(G, n, show_names=show_names) for n in sorted(G, key=str)}
    selection = nv.select_nodes(G, cap=cap, part="everyone who passes the filters")
    color_by, metric = nv.COLOR_ATTRIBUTES[0], nv.METRICS[0]
    values, detail = nv.node_metric(G, metric)
    view.nodes = tuple(selection.nodes)
    view.positions = nv.layout_positions(G, selection.nodes)
    view.drawn = draw(G, selection, show_names=show_names, color_by=color_by,
                      groups={n: G.nodes[n].get(color_by) for n in selection.nodes},
                      palette=nv.attribute_palette(ds, color_by), metric=metric, values=values,
                      metric_detail=detail, positions=view.positions,
                      webgl=len(selection.nodes) > nv.VIS_MAX_NODES)
    return view
