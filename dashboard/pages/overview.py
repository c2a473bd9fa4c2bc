"""Overview: how connected the program's parents are, what the program changed, and who is still alone."""
import streamlit as st

from dashboard import common, data, figures

principal = common.principal()
audience = principal.audience
st.title("Overview")
common.store_caption()
overview = common.load(data.load_overview, principal)
head = overview["headline"]
waves = overview["waves"]

# Headline numbers; the bridging shares carry the change from the first survey wave to the last.
first, last = (waves.iloc[0], waves.iloc[-1]) if len(waves) > 1 else (None, None)


def _delta(col):
    if first is None or first[col] is None or last[col] is None:
        return None
    return f"{(last[col] - first[col]) * 100:+.0f} pts {first['wave']} → {last['wave']}"


row = st.columns(4)
row[0].metric("People", common.count(head["people"]))
row[1].metric("Parents", common.count(head["parents"]))
row[2].metric("Families", common.count(head["families"]))
row[3].metric("Ties", common.count(head["ties"]))
row = st.columns(4)
row[0].metric("Cross-race ties", common.share(head["cross_race_share"]), _delta("cross_race"),
              help="Share of ties joining people of different race/ethnicity (all waves).")
row[1].metric("Cross-class ties", common.share(head["cross_class_share"]), _delta("cross_class"),
              help="Share of ties joining people of different income bands (all waves).")
row[2].metric("Isolated families", common.count(head["isolated_families"]),
              help="Families in which no parent has a single tie.")
days = head["median_days_to_seat"]
row[3].metric("Median days to a seat", "–" if days is None else f"{days:,.0f}",
              help="Among graduates who took a seat, days from graduation to the seat.")

st.subheader("Before and after: ties by survey wave")
if waves.empty:
    st.info("The ties have no survey wave, so there is no before and after to compare.")
else:
    left, right = st.columns([2, 3])
    left.dataframe(waves.assign(ties=[common.count(v) for v in waves["ties"]],
                                cross_race=[common.share(v) for v in waves["cross_race"]],
                                cross_class=[common.share(v) for v in waves["cross_class"]])
                   .rename(columns={"cross_race": "cross-race share", "cross_class": "cross-class share"}),
                   hide_index=True, width="stretch")
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

st.subheader("Isolated families")
if audience == "funder":
    st.markdown(f"**{common.count(head['isolated_families'])}** families have no parent with any tie. "
                "Coordinators see who they are on the Outreach page.")
elif overview["isolated"] is None or overview["isolated"].empty:
    st.success("Every family has at least one parent with a tie.")
else:
    st.caption("Families in which no parent named anyone or was named by anyone."
               + (" Names are pseudonyms." if audience == "evaluator" else ""))
    st.dataframe(overview["isolated"], hide_index=True, width="stretch")
