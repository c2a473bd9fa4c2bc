"""Network explorer: the tie network drawn person by person, coloured by a group and sized by a measure,
filtered by site, cohort, program, role, survey wave and date; pick a person to see their ego network.

Coordinators see names, evaluators pseudonyms; funders see groups, never people. However large the
network, the browser gets at most CIVICTIES_EXPLORER_MAX_NODES people, and the page says which part it shows.
Up to 1,500 people are drawn with vis-network (or WebGL, on request); more with WebGL (sigma.js), which
also has a time slider that shows the network growing, in the browser.
"""
from __future__ import annotations

from datetime import date

import streamlit as st
import streamlit.components.v1 as components

from civicties import settings
from dashboard import common, data
from dashboard import network_view as nv
from dashboard import sigma_view as sv
from queries.network import VIEWS

HEIGHT = 620
LABELS = {"race_ethnicity": "race/ethnicity", "income_band": "income band", "primary_language": "primary language",
          "role": "role", "site_id": "site", "neighborhood": "neighborhood", "program": "program",
          "cohort_id": "cohort", "community": "community"}
PARTS = ("Everyone (filtered)", "One cohort", "One community")


# -- cached data: keyed by audience, store and its data version, and every choice that changes the result

def _dataset(audience: str, sites):
    """The dataset this audience's analyses run on (names only for coordinators, of their sites)."""
    uri, version = data.data_key()
    return data.audience_dataset(audience, sites, uri, version)


@st.cache_resource(show_spinner="Building the network…", max_entries=4)  # a 100,000-parent graph is large
def _network(audience: str, sites, uri: str, version: str, filters: tuple):
    ds = data.audience_dataset(audience, sites, uri, version)
    return nv.build_network(ds, **dict(filters))


@st.cache_resource(show_spinner="Measuring…", max_entries=8)
def _metric(audience: str, sites, uri: str, version: str, filters: tuple, metric: str):
    return nv.node_metric(_network(audience, sites, uri, version, filters), metric)


@st.cache_resource(show_spinner="Finding communities…", max_entries=4)
def _communities(audience: str, sites, uri: str, version: str, filters: tuple) -> dict:
    return nv.community_of(_network(audience, sites, uri, version, filters))


@st.cache_data(show_spinner=False, max_entries=32)
def _palette(audience: str, sites, uri: str, version: str, attr: str) -> dict:
    """One colour per value over the reader's whole data (not the filtered part): a group keeps its colour
    in every view and on every rerun."""
    return nv.attribute_palette(data.audience_dataset(audience, sites, uri, version), attr)


@st.cache_resource(show_spinner="Laying out the network…", max_entries=64)
def _positions(audience: str, sites, uri: str, version: str, filters: tuple, nodes: tuple) -> dict:
    return nv.layout_positions(_network(audience, sites, uri, version, filters), nodes)


def _embed(html: str) -> None:
    """Show a network page. st.iframe where this Streamlit has it (it deprecates components.v1.html)."""
    if hasattr(st, "iframe"):
        st.iframe(html, height=HEIGHT + 80)
    else:
        components.html(html, height=HEIGHT + 80, scrolling=False)


def _options(values) -> list[str]:
    return sorted({str(v) for v in values if v is not None and str(v).strip()})


# -- the page ---------------------------------------------------------------------------------------------

principal = common.principal()
audience, sites_scope = data.scope(principal)
st.title("Network explorer")
common.store_caption()
ds = common.load(_dataset, audience, sites_scope)
uri, version = common.load(data.data_key)

if audience == "funder":
    st.info("Funders see groups, not people: each circle is a group of participants and each line the ties "
            f"between two groups. Counts under {data.min_count()} are not shown.")
    left, mid = st.columns(2)
    attr = left.selectbox("Group people by", nv.AGGREGATE_ATTRIBUTES, format_func=lambda a: LABELS.get(a, a))
    wave = mid.selectbox("Survey waves", [None] + _options(ds.ties["wave"]),
                         format_func=lambda w: "all waves" if w is None else f"wave {w}")
    html, facts = common.load(data.load_group_network, principal, attr, wave, HEIGHT)
    _embed(html)
    k = data.min_count()
    st.caption(f"{facts['groups']} groups; a tie joins two people when either named the other. Counts under {k} "
               f"read '<{k}', and some larger ones 'suppressed' so that a small one cannot be worked out from the "
               f"totals on other pages; {facts['hidden_links']} pairs of groups whose ties are hidden are not drawn.")
    st.stop()

people, enr, cohorts = ds.people, ds.enrollments, ds.cohorts
roles_with_ties = _options(people.loc[people["person_id"].isin(set(ds.ties["from_person_id"]) |
                                                               set(ds.ties["to_person_id"].dropna())), "role"])
observed = [d for d in ds.ties["observed_on"] if d]

with st.expander("Filters", expanded=True):
    row = st.columns(4)
    sites = row[0].multiselect("Sites", _options(people["site_id"]), placeholder="All sites")
    programs = row[1].multiselect("Programs", _options(cohorts["program"]), placeholder="All programs")
    cohort_choices = _options(cohorts.loc[cohorts["site_id"].isin(sites) if sites else cohorts.index, "cohort_id"])
    chosen_cohorts = row[2].multiselect("Cohorts", cohort_choices, placeholder="All cohorts")
    roles = row[3].multiselect("Roles", _options(people["role"].fillna("parent")), default=roles_with_ties,
                               help="Children and others with no ties are left out at first.")
    row = st.columns(4)
    view = row[0].selectbox("Ties", VIEWS, format_func=lambda v: {"union": "either named the other",
                                                                 "mutual": "both named each other",
                                                                 "directed": "who named whom"}[v])
    waves = row[1].multiselect("Survey waves", _options(ds.ties["wave"]), placeholder="All waves")
    if observed:
        first, last = date.fromisoformat(min(observed)), date.fromisoformat(max(observed))
        span = row[2].date_input("Ties observed between", (first, last), min_value=first, max_value=last)
        date_from, date_to = (tuple(span) + (None, None))[:2] if isinstance(span, (tuple, list)) else (span, None)
        whole_span = (date_from, date_to) == (first, last)
    else:
        date_from = date_to = None
        whole_span = True

filters = (("view", view), ("waves", tuple(waves)), ("sites", tuple(sites)), ("programs", tuple(programs)),
           ("cohorts", tuple(chosen_cohorts)), ("roles", tuple(roles)),
           ("date_from", None if whole_span else date_from), ("date_to", None if whole_span else date_to))
G = common.load(_network, audience, sites_scope, uri, version, filters)
if len(G) == 0:
    st.info("Nobody passes these filters. Widen the sites, cohorts, programs or roles above.")
    st.stop()

row = st.columns(4)
color_by = row[0].selectbox("Colour by", nv.COLOR_ATTRIBUTES, format_func=lambda a: LABELS.get(a, a))
metric = row[1].selectbox("Size by", nv.METRICS, format_func=lambda m: "same size" if m == "none" else m)
show = row[2].selectbox("Show", PARTS, help="On a large network, choose a part to see all of its people.")
part_nodes, part = None, "everyone who passes the filters"
if show == "One cohort":
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


def _who(n) -> str:
    name = G.nodes[n].get("name") if show_names else None
    return f"{name} ({n})" if name else str(n)


row = st.columns([3, 1])
candidates = sorted(G if part_nodes is None else part_nodes, key=str)
# One step: Streamlit's selectbox filters its options as you type, and stays quick at 21,000 people
# (docs/dashboard.md gives the measurements).
ego = row[0].selectbox("Focus on a person (their ego network)", [None] + candidates,
                       format_func=lambda n: "Nobody: show the part chosen above" if n is None else _who(n))
radius = row[1].radio("Steps from them", (1, 2), horizontal=True, disabled=ego is None)

cap = settings.get_int("CIVICTIES_EXPLORER_MAX_NODES")
selection = nv.select_nodes(G, cap=cap, part_nodes=part_nodes, part=part, ego=ego, radius=radius)
if len(selection.nodes) > nv.VIS_MAX_NODES:
    webgl = True
else:
    webgl = st.radio("Draw with", (False, True), horizontal=True, key="explorer_webgl",
                     format_func=lambda w: "WebGL, with a time slider" if w else "vis-network",
                     help=f"Pictures of more than {nv.VIS_MAX_NODES:,} people are always drawn with WebGL "
                          "(sigma.js), which also shows the network growing year by year.")
values, metric_detail = common.load(_metric, audience, sites_scope, uri, version, filters, metric)
if color_by == "community":
    groups = common.load(_communities, audience, sites_scope, uri, version, filters)
else:
    groups = {n: G.nodes[n].get(color_by) for n in selection.nodes}
picture = nv.person_picture(G, selection.nodes, show_names=show_names, color_by=color_by, groups=groups,
                            palette=common.load(_palette, audience, sites_scope, uri, version, color_by),
                            metric=metric, values=values, webgl=webgl)
positions = common.load(_positions, audience, sites_scope, uri, version, filters, tuple(selection.nodes))
if webgl:
    payload = sv.webgl_payload(G, selection.nodes, positions, colors=picture.colors, sizes=picture.sizes,
                               labels=picture.labels, tooltips=picture.tooltips, ego=ego, radius=radius,
                               steps=nv.time_steps(G, selection.nodes))
    html = sv.render_webgl_html(payload, legend=picture.legend, sizes_legend=picture.sizes_legend, height=HEIGHT,
                                title="Tie network")
else:
    html = nv.render_network_html(G, selection.nodes, positions, colors=picture.colors, sizes=picture.sizes,
                                  tooltips=picture.tooltips, labels=picture.labels, legend=picture.legend, ego=ego,
                                  radius=radius, height=HEIGHT, title="Tie network",
                                  sizes_legend=picture.sizes_legend)
if selection.capped:
    st.warning(selection.note())
else:
    st.caption(selection.note())
_embed(html)
notes = [f"Colour: {LABELS.get(color_by, color_by)} (each group keeps its colour in every view)."]
if metric_detail:
    notes.append(f"Size: {metric_detail}.")
if len(selection.nodes) > 20:
    notes.append("Names are drawn for the 20 largest people; hover over anyone for theirs.")
if webgl:
    notes.append("Drawn with WebGL (sigma.js): the slider under the picture shows the network as it stood at the "
                 "end of each year (a tie from when it was first reported, a person from their first enrolment "
                 "or tie).")
if not show_names:
    notes.append("People are shown by pseudonym.")
st.caption(" ".join(notes))
