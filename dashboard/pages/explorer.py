"""Network explorer: the tie network drawn person by person, coloured by a group and sized by a measure,
filtered by site, cohort, program, role, survey wave and date; pick a person to see their ego network.

Coordinators see names, evaluators pseudonyms; funders see groups, never people. The first view (the
filters' options, who can be picked, the picture) is stored with the analyses (dashboard/explorer_view.py),
so it opens without building the network; any other choice is computed here. However large the
network, the browser gets at most CIVICTIES_EXPLORER_MAX_NODES people, and the page says which part it shows.
Up to 1,500 people are drawn with vis-network (or WebGL, on request); more with WebGL (sigma.js), which
also has a time slider that shows the network growing, in the browser.
"""
from __future__ import annotations

import streamlit as st
import streamlit.components.v1 as components

from civicties import settings
from dashboard import common, data
from dashboard import explorer_view as ev
from dashboard import network_view as nv
from dashboard import pickers
from dashboard.explorer_view import HEIGHT, PARTS
from queries.network import VIEWS

LABELS = {"race_ethnicity": "race/ethnicity", "income_band": "income band", "primary_language": "primary language",
          "role": "role", "site_id": "site", "neighborhood": "neighborhood", "program": "program",
          "cohort_id": "cohort", "community": "community"}


# -- cached data: keyed by audience, store and its data version, and every choice that changes the result

@st.cache_resource(show_spinner="Measuring…", max_entries=8)
def _metric(audience: str, sites, uri: str, version: str, filters: tuple, metric: str):
    return nv.node_metric(data.explorer_network(audience, sites, uri, version, filters), metric)


@st.cache_resource(show_spinner="Finding communities…", max_entries=4)
def _communities(audience: str, sites, uri: str, version: str, filters: tuple) -> dict:
    return nv.community_of(data.explorer_network(audience, sites, uri, version, filters))


@st.cache_data(show_spinner=False, max_entries=32)
def _palette(audience: str, sites, uri: str, version: str, attr: str) -> dict:
    """One colour per value over the reader's whole data (not the filtered part): a group keeps its colour
    in every view and on every rerun."""
    return nv.attribute_palette(data.audience_dataset(audience, sites, uri, version), attr)


@st.cache_resource(show_spinner="Laying out the network…", max_entries=64)
def _positions(audience: str, sites, uri: str, version: str, filters: tuple, nodes: tuple) -> dict:
    return nv.layout_positions(data.explorer_network(audience, sites, uri, version, filters), nodes)


def _embed(html: str) -> None:
    """Show a network page. st.iframe where this Streamlit has it (it deprecates components.v1.html)."""
    if hasattr(st, "iframe"):
        st.iframe(html, height=HEIGHT + 80)
    else:
        components.html(html, height=HEIGHT + 80, scrolling=False)


# -- the page ---------------------------------------------------------------------------------------------

principal = common.principal()
audience, sites_scope = data.scope(principal)
st.title("Network explorer")
common.store_caption()
first = common.load(data.load_explorer, principal)     # stored with the analyses: no network is built for it
uri, version = common.load(data.data_key)

if audience == "funder":
    st.info("Funders see groups, not people: each circle is a group of participants and each line the ties "
            f"between two groups. Counts under {data.min_count()} are not shown.")
    left, mid = st.columns(2)
    attr = left.selectbox("Group people by", nv.AGGREGATE_ATTRIBUTES, format_func=lambda a: LABELS.get(a, a))
    wave = mid.selectbox("Survey waves", [None] + first.waves,
                         format_func=lambda w: "all waves" if w is None else f"wave {w}")
    if attr == nv.AGGREGATE_ATTRIBUTES[0] and wave is None:
        html, facts = first.html, first.facts
    else:
        html, facts = common.load(data.load_group_network, principal, attr, wave, HEIGHT)
    _embed(html)
    k = data.min_count()
    st.caption(f"{facts['groups']} groups; a tie joins two people when either named the other. Counts under {k} "
               f"read '<{k}', and some larger ones 'suppressed' so that a small one cannot be worked out from the "
               f"totals on other pages; {facts['hidden_links']} pairs of groups whose ties are hidden are not drawn.")
    common.stale_notice()
    st.stop()

opts = first.options
with st.expander("Filters", expanded=True):
    row = st.columns(4)
    sites = row[0].multiselect("Sites", opts.sites, placeholder="All sites")
    programs = row[1].multiselect("Programs", opts.programs, placeholder="All programs")
    chosen_cohorts = row[2].multiselect("Cohorts", opts.cohorts_of(sites), placeholder="All cohorts")
    roles = row[3].multiselect("Roles", opts.roles, default=opts.roles_with_ties,
                               help="Children and others with no ties are left out at first.")
    row = st.columns(4)
    view = row[0].selectbox("Ties", VIEWS, format_func=lambda v: {"union": "either named the other",
                                                                 "mutual": "both named each other",
                                                                 "directed": "who named whom"}[v])
    waves = row[1].multiselect("Survey waves", opts.waves, placeholder="All waves")
    date_from = date_to = None
    if opts.first is not None:
        span = row[2].date_input("Ties observed between", (opts.first, opts.last), min_value=opts.first,
                                 max_value=opts.last)
        date_from, date_to = (tuple(span) + (None, None))[:2] if isinstance(span, (tuple, list)) else (span, None)
        if (date_from, date_to) == (opts.first, opts.last):
            date_from = date_to = None

filters = ev.filters(view=view, waves=waves, sites=sites, programs=programs, cohorts=chosen_cohorts, roles=roles,
                     date_from=date_from, date_to=date_to)
as_first = filters == first.filters          # the stored first view's network: built only when it is needed
graph = {}


def network():
    if "G" not in graph:
        graph["G"] = common.load(data.explorer_network, audience, sites_scope, uri, version, filters)
    return graph["G"]


people_shown = first.people if as_first else len(network())
if people_shown == 0:
    st.info("Nobody passes these filters. Widen the sites, cohorts, programs or roles above.")
    st.stop()

row = st.columns(4)
color_by = row[0].selectbox("Colour by", nv.COLOR_ATTRIBUTES, format_func=lambda a: LABELS.get(a, a))
metric = row[1].selectbox("Size by", nv.METRICS, format_func=lambda m: "same size" if m == "none" else m)
show = row[2].selectbox("Show", PARTS, help="On a large network, choose a part to see all of its people.")
part_nodes, part = None, "everyone who passes the filters"
if show == "One cohort":
    G = network()
    in_network = sorted({d.get("cohort_id") for _, d in G.nodes(data=True) if d.get("cohort_id")})
    if in_network:
        cohort = row[3].selectbox("Cohort", in_network)
        part_nodes, part = [n for n, d in G.nodes(data=True) if d.get("cohort_id") == cohort], f"cohort {cohort}"
    else:
        row[3].info("Nobody here is enrolled in a cohort.")
elif show == "One community":
    communities = common.load(_communities, audience, sites_scope, uri, version, filters)
    sizes = {}
    for c in communities.values():
        sizes[c] = sizes.get(c, 0) + 1
    community = row[3].selectbox("Community", sorted(sizes),
                                 format_func=lambda c: f"Community {c} ({sizes[c]:,} people)")
    part_nodes, part = [n for n, c in communities.items() if c == community], f"community {community}"

show_names = audience == "coordinator"
if as_first and part_nodes is None:
    labels = first.labels
else:
    G = network()
    labels = {n: ev.person_label(G, n, show_names=show_names)
              for n in sorted(G if part_nodes is None else part_nodes, key=str)}

row = st.columns([3, 1])
nobody = "Nobody: show the part chosen above"
# One type-ahead box (it filters as you type); from 20,000 people a search first (dashboard/pickers.py).
# A new search offers new matches: the person chosen from the last one is let go.
offer = pickers.narrowed(labels, key="explorer_find", container=row[0])
ego = row[0].selectbox("Focus on a person (their ego network)", [None] + list(offer),
                       format_func=lambda n: nobody if n is None else labels[n])
radius = row[1].radio("Steps from them", (1, 2), horizontal=True, disabled=ego is None)

chosen = (color_by, metric, show, ego) == (nv.COLOR_ATTRIBUTES[0], nv.METRICS[0], PARTS[0], None)
stored = first.drawn if as_first and chosen else None      # the stored first view's picture, if it is this one
selection = None
if stored is None:
    selection = nv.select_nodes(network(), cap=settings.get_int("CIVICTIES_EXPLORER_MAX_NODES"),
                                part_nodes=part_nodes, part=part, ego=ego, radius=radius)
if (stored.people if stored is not None else len(selection.nodes)) > nv.VIS_MAX_NODES:
    webgl = True
else:
    webgl = st.radio("Draw with", (False, True), horizontal=True, key="explorer_webgl",
                     format_func=lambda w: "WebGL, with a time slider" if w else "vis-network",
                     help=f"Pictures of more than {nv.VIS_MAX_NODES:,} people are always drawn with WebGL "
                          "(sigma.js), which also shows the network growing year by year.")
if stored is not None and stored.webgl == webgl:
    drawn = stored
else:
    G = network()
    if selection is None:
        selection = nv.select_nodes(G, cap=settings.get_int("CIVICTIES_EXPLORER_MAX_NODES"),
                                    part_nodes=part_nodes, part=part, ego=ego, radius=radius)
    values, metric_detail = common.load(_metric, audience, sites_scope, uri, version, filters, metric)
    if color_by == "community":
        groups = common.load(_communities, audience, sites_scope, uri, version, filters)
    else:
        groups = {n: G.nodes[n].get(color_by) for n in selection.nodes}
    if as_first and tuple(selection.nodes) == first.nodes:
        positions = first.positions             # the stored first view's: nobody moves, nothing is laid out
    else:
        positions = common.load(_positions, audience, sites_scope, uri, version, filters, tuple(selection.nodes))
    drawn = ev.draw(G, selection, show_names=show_names, color_by=color_by, groups=groups,
                    palette=common.load(_palette, audience, sites_scope, uri, version, color_by), metric=metric,
                    values=values, metric_detail=metric_detail, positions=positions, webgl=webgl, ego=ego,
                    radius=radius)
if drawn.capped:
    st.warning(drawn.note)
else:
    st.caption(drawn.note)
_embed(drawn.html)
notes = [f"Colour: {LABELS.get(color_by, color_by)} (each group keeps its colour in every view)."]
if drawn.metric_detail:
    notes.append(f"Size: {drawn.metric_detail}.")
if drawn.people > 20:
    notes.append("Names are drawn for the 20 largest people; hover over anyone for theirs.")
if drawn.webgl:
    notes.append("Drawn with WebGL (sigma.js): the slider under the picture shows the network as it stood at the "
                 "end of each year (a tie from when it was first reported, a person from their first enrolment "
                 "or tie).")
if not show_names:
    notes.append("People are shown by pseudonym.")
st.caption(" ".join(notes))
