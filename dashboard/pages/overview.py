"""Overview: how connected the program's parents are, what the program changed, and who is still alone."""
import streamlit as st

from dashboard import brief, common, data, figures
from dashboard.survey_page import escape
from queries import supports as support_queries

principal = common.principal()
audience = principal.audience
st.title("Overview")
common.store_caption()
overview = common.load(data.load_overview, principal)
head = overview["headline"]
waves = overview["waves"]

common.show_findings(overview["findings"])
comparison = overview["comparison"]

if brief.may_download(principal):
    # built on request (it reads three pages' analyses); always from the funder release, whoever asks
    with st.container(border=True):
        st.markdown("**A one-page brief to forward** — headline numbers, the before/after finding, the paths "
                    "from training to a seat and where alumni sit, from the funder view only (no names, small "
                    "counts hidden).")
        left, right = st.columns(2)
        fmt = left.radio("Format", ["PDF", "PNG"], horizontal=True, key="brief_format")
        if right.button("Prepare the brief", key="brief_prepare"):
            st.session_state["brief_ready"] = fmt
        if st.session_state.get("brief_ready") == fmt:
            ext = fmt.lower()
            st.download_button(f"Download the brief ({fmt})",
                               common.load(brief.build_brief, principal, ext),
                               file_name=f"civicties-brief.{ext}",
                               mime="application/pdf" if ext == "pdf" else "image/png", key="brief_download",
                               on_click=data.audit_download, args=(principal, f"funder brief ({fmt})"))


def _bridging(attr, pooled):
    """The headline share and its change: the last wave and the change among those who answered both waves
    (the pooled share of all waves when there is only one wave or too few answered both)."""
    if comparison is None or comparison.get("too_few"):
        return common.share(pooled), None, "all waves pooled"
    r = comparison["by_attribute"][attr]["panel"]
    if r["after"]["share"] is None or r["change"]["share"] is None:
        return common.share(pooled), None, "all waves pooled"
    n = common.count(comparison["respondents"]["both"])
    delta = f"{100 * r['change']['share']:+.0f} pts {comparison['before']} → {comparison['after']}, same people"
    return common.share(r["after"]["share"]), delta, (
        f"in the {comparison['after']} survey, among the {n} who answered both waves; 95% interval of the change "
        f"{common.interval(r['change']['share_ci'], points=True)}")


row = st.columns(4)
row[0].metric("People", common.count(head["people"]), help="Everyone in the roster: parents, children, staff.")
row[1].metric("Parents", common.count(head["parents"]))
row[2].metric("Families", common.count(head["families"]))
row[3].metric("Ties", common.count(head["ties"]),
              help="Pairs of people where either named the other, in any wave, counted once (see 'What the numbers mean').")
row = st.columns(4)
for col, attr, label, what in ((row[0], "race_ethnicity", "Cross-race ties", "race/ethnicity"),
                               (row[1], "income_band", "Cross-class ties", "income bands")):
    value, delta, basis = _bridging(attr, head["cross_race_share" if attr == "race_ethnicity" else "cross_class_share"])
    col.metric(label, value, delta, help=f"Share of the people named who are of different {what}: {basis}.")
row[2].metric("Isolated families", common.count(head["isolated_families"]),
              help="Families in which no parent has a single tie.")
days = head["median_days_to_seat"]
row[3].metric("Median days to a seat", "not reached" if days is None else f"{days:,.0f}",
              help="Kaplan–Meier median: the day by which half of the graduates hold a seat, counting graduates "
                   "not yet seated for as long as they have been watched. 'Not reached' while fewer than half "
                   "of the graduates hold a seat.")
common.glossary()

st.subheader("Before and after: ties by survey wave", anchor="before-and-after")
if waves.empty:
    st.info("The ties have no survey wave, so there is no before and after to compare.")
else:
    left, right = st.columns([2, 3])
    if comparison is not None:
        n = comparison["respondents"]
        left.markdown(f"Respondents: **{common.count(n['before'])}** answered the {comparison['before']} survey, "
                      f"**{common.count(n['after'])}** the {comparison['after']} survey, **{common.count(n['both'])}** "
                      "both. The solid lines follow those who answered both; the dotted lines everyone who answered "
                      "each wave, which mixes a change in who answered with a change in ties.")
    left.dataframe(waves.assign(ties=[common.count(v) for v in waves["ties"]],
                                cross_race=[common.share(v) for v in waves["cross_race"]],
                                cross_class=[common.share(v) for v in waves["cross_class"]])
                   .rename(columns={"ties": "ties (pairs, this wave)", "cross_race": "cross-race share",
                                    "cross_class": "cross-class share"}),
                   hide_index=True, width="stretch")
    left.caption("Ties per wave count each pair once within that wave's answers; a pair tied in both waves "
                 "counts in each, so the waves add up to more than the headline total.")
    if comparison is not None:
        right.plotly_chart(figures.figure_wave_comparison(comparison), width="stretch", key="wave_change")
    else:
        right.plotly_chart(figures.figure_wave_change(waves), width="stretch", key="wave_change")

st.subheader("What changed since the last cohort")
change = overview["change"]
if change is None:
    st.info("No cohort with a start date yet, so there is no 'since the last cohort' to compare.")
else:
    st.markdown(
        f"Since cohort **{change['cohort']}** started on {change['since']}: "
        f"**{common.count(change['new_ties'])}** new ties, of which **{common.count(change['new_cross_race'])}** "
        f"cross race and **{common.count(change['new_cross_class'])}** cross class; "
        f"**{common.count(change['new_graduates'])}** graduates and **{common.count(change['new_seats'])}** "
        "new seats.")
    for attr, name in (("race_ethnicity", "race"), ("income_band", "class")):
        ei = change["ei"].get(attr)
        if ei and ei.get("ei_before") is not None and ei.get("ei_after") is not None:
            st.markdown(f"- Mixing by {name} (E-I index, −1 all within groups, +1 all across): "
                        f"{ei['ei_before']:+.2f} → {ei['ei_after']:+.2f} "
                        f"({common.p_phrase(ei['p_value'])} against shuffled group labels)")

left, right = st.columns(2)
with left:
    st.subheader("Tie composition")
    if overview["composition"].empty:
        st.info("No ties with a survey wave to break down.")
    else:
        st.plotly_chart(figures.figure_tie_composition(overview["composition"]), width="stretch", key="composition")
with right:
    st.subheader("Funnel")
    st.plotly_chart(figures.figure_funnel(overview["funnel"]), width="stretch", key="funnel")

st.subheader("Supports and who takes part", anchor="supports")
supports = common.load(data.load_supports, principal)
if supports is None or supports.empty:
    st.info("No event records the supports it offered (childcare, translation, food, transportation, meeting "
            "times), so there is nothing to compare yet.")
else:
    main = supports[~supports["comparison"].astype(bool) & supports["group"].isin(["language", "children"])
                    & (supports["support"] != "any")]
    st.markdown("\n".join("- " + escape(support_queries.sentence(r)) for _, r in main.iterrows()))
    st.caption("Share of their site's family events that the group's families came to, with and without the "
               "support; an association, not proof. Every language, the 'any support' comparison and the "
               "comparison groups are on the Outreach page.")

st.subheader("Isolated families", anchor="isolated-families")
if audience == "funder":
    st.markdown(f"**{common.count(head['isolated_families'])}** families have no parent with any tie. "
                "Coordinators see who they are on the Outreach page.")
elif overview["isolated"] is None or overview["isolated"].empty:
    st.success("Every family has at least one parent with a tie.")
else:
    st.caption("Families in which no parent named anyone or was named by anyone."
               + (" Names are pseudonyms." if audience == "evaluator" else ""))
    st.dataframe(overview["isolated"], hide_index=True, width="stretch")
