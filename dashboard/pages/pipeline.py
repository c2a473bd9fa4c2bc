"""Pipeline to seats: how parents move from enrollment to graduation, civic activity and decision-making seats."""
import streamlit as st

from dashboard import common, data, figures

principal = common.principal()
audience = principal.audience
st.title("Pipeline to seats")
common.store_caption()
by = st.segmented_control("Break the funnel down by", list(data.PIPELINE_BY), format_func=data.PIPELINE_BY.get,
                          default="site", key="pipeline_by") or "site"
pipe = common.load(data.load_pipeline, principal, by)
common.show_findings(pipe["findings"])

st.subheader("From enrollment to a seat", anchor="sankey")
if not pipe["flows"]:
    st.info("No enrollments yet: load enrollments (and appointments) on the Data page.")
else:
    st.plotly_chart(figures.figure_sankey(pipe["flows"]), width="stretch", key="sankey")
if pipe["hidden_flows"]:
    st.caption(f"{pipe['hidden_flows']} flows of fewer than {data.min_count()} people are not drawn.")

st.subheader(f"The funnel by {data.PIPELINE_BY[by]}")
funnel = pipe["funnel"]
if funnel.empty:
    st.info("Nobody is enrolled yet.")
else:
    stage_values = [v for c in ("enrolled", "graduated", "civic", "appointed") if c in funnel for v in funnel[c]]
    if common.all_hidden(stage_values):
        st.info(f"Every group has fewer than {data.min_count()} people at each stage, so no count by "
                f"{data.PIPELINE_BY[by]} can be shown. The totals are on the Overview.")
    else:
        st.plotly_chart(figures.figure_funnel_by(funnel, title=f"The funnel by {data.PIPELINE_BY[by]}"),
                        width="stretch", key="funnel_by")
    shown = funnel.copy()
    for col in ("enrolled", "graduated", "civic", "appointed"):
        shown[col] = [common.count(v) for v in shown[col]]
    for col in ("graduation_rate", "appointment_rate"):
        shown[col] = [common.share(v) for v in shown[col]]
    st.dataframe(shown.rename(columns={"group": data.PIPELINE_BY[by], "civic": "civic activity"}),
                 hide_index=True, width="stretch")
    if audience == "funder":
        st.caption(f"Counts under {data.min_count()} show as '<{data.min_count()}', and so does any count that "
                   "could be worked out from the totals.")

st.subheader("Time from graduation to a seat", anchor="time-to-seat")
km = pipe["km"]
if km.empty:
    st.info("Too few graduates to draw the curve." if audience == "funder" else "No graduates with a date yet.")
else:
    st.plotly_chart(figures.figure_time_to_seat(km), width="stretch", key="time_to_seat")
    st.caption("Graduates without a seat yet count for as long as we have watched them (Kaplan-Meier), so "
               "recent cohorts do not look like failures.")

st.subheader("Where alumni sit")
bodies = pipe["bodies"]
if bodies.empty:
    st.info("No graduate holds a seat yet.")
else:
    if common.all_hidden(list(bodies["graduates"])):
        st.info(f"Alumni sit on {len(bodies):,} bodies; each has fewer than {data.min_count()} alumni, so the "
                "counts per body are not shown.")
    else:
        st.plotly_chart(figures.figure_seats_by_body(bodies), width="stretch", key="bodies")
    shown = bodies.assign(graduates=[common.count(v) for v in bodies["graduates"]],
                          current=[common.count(v) for v in bodies["current"]])
    st.dataframe(shown.rename(columns={"graduates": "graduates seated", "current": "seated now"}),
                 hide_index=True, width="stretch")
