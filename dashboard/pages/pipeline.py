"""Pipeline to seats: how parents move from enrollment to graduation, civic activity and decision-making seats;
and, with the program selector, each program's ladder of engagement (PTHV's, TPE's pathways, PLTI's as a ladder
with its children's track, and any ladder a program defined)."""
import streamlit as st

from dashboard import common, data, figures
from dashboard import pathways_data as pw



def show_ladder(principal, ladder_id: str) -> None:
    """One program's ladder: the stages, each by a grouping, the time between stages, who is stuck, and the
    pathway or two-generation views where the ladder has them."""
    k = data.min_count()
    funder = principal.audience == "funder"
    by = st.segmented_control("Break the stages down by", list(pw.LADDER_BY), format_func=pw.LADDER_BY.get,
                              default="site", key="ladder_by") or "site"
    view = common.load(pw.load_ladder_view, principal, ladder_id, by)
    lad = view["ladder"]
    st.header(lad["name"], anchor="ladder")
    if lad["description"]:
        st.caption(lad["description"])
    overall = view["overall"]
    if overall.empty:
        st.info("Nobody has reached this ladder's first stage yet: load the records it reads (home visits, "
                "attendance at its events, enrollments) on the Data page.")
        return
    left, right = st.columns([1, 1])
    left.plotly_chart(pw.figure_ladder(overall), width="stretch", key="ladder")
    table = overall[["label", "reached", "stuck", "conversion"]].assign(
        reached=[common.count(v) for v in overall["reached"]], stuck=[common.count(v) for v in overall["stuck"]],
        conversion=[common.share(v) for v in overall["conversion"]])
    right.dataframe(table.rename(columns={"label": "stage", "reached": "reached it", "stuck": "stopped here",
                                          "conversion": "conversion"}), hide_index=True, width="stretch")
    right.caption("*Stopped here*: reached this stage and no higher one yet. *Conversion*: the share of the "
                  "stage before who reached this one. Each stage needs the one before it; docs/metrics-program.md "
                  "says which records reach each.")
    if funder:
        right.caption(f"Counts under {k} show as '<{k}', and so does any count that could be worked out from "
                      "the others.")

    grouped = view["by"]
    st.subheader(f"Each stage by {pw.LADDER_BY[by]}")
    if grouped.empty:
        st.info("No groups to show.")
    elif common.all_hidden(list(grouped["reached"])):
        st.info(f"Every {pw.LADDER_BY[by]} has fewer than {k} people at each stage, so no count by "
                f"{pw.LADDER_BY[by]} can be shown.")
    else:
        st.plotly_chart(pw.figure_ladder_by(grouped, by_label=pw.LADDER_BY[by]), width="stretch", key="ladder_by_fig")
        wide = grouped.assign(cell=[f"{common.count(r)} (stopped: {common.count(s)})" if s not in (0, None) else
                                    common.count(r) for r, s in zip(grouped["reached"], grouped["stuck"])])
        wide = wide.pivot(index="group", columns="order", values="cell")
        wide.columns = [label for _id, label in lad["stages"]][:len(wide.columns)]
        st.dataframe(wide.reset_index().rename(columns={"group": pw.LADDER_BY[by]}), hide_index=True,
                     width="stretch")

    st.subheader("Time from one stage to the next", anchor="time-between")
    km = view["km"]
    if km.empty:
        st.info("Too few people to draw the curves." if funder else "Nobody with a known day at a stage yet.")
    else:
        st.plotly_chart(pw.figure_time_between(km, lad["stages"]), width="stretch", key="time_between")
        medians = km.groupby(["from_stage", "to_stage"], sort=False)["median_days"].first().reset_index()
        labels = dict(lad["stages"])
        st.caption("People who have not moved up yet count for as long as we have watched them (Kaplan-Meier). "
                   "Median days to move up: " + "; ".join(
                       f"{labels[a]} → {labels[b]}: " + ("not reached by half yet" if m != m else f"{m:,.0f}")
                       for a, b, m in medians.itertuples(index=False)) + ".")

    if view["stuck"] is not None:
        st.subheader("Who is stuck at each stage")
        stuck = view["stuck"]
        if stuck.empty:
            st.info("Nobody is waiting below the top stage.")
        else:
            stage = st.selectbox("Stage", list(dict.fromkeys(stuck["label"])), key="stuck_stage")
            part = stuck[stuck["label"] == stage].drop(columns=["stage", "label"])
            st.dataframe(part.rename(columns={"next_stage": "next step", "reached_on": "reached on",
                                              "days_at_stage": "days waiting"}), hide_index=True, width="stretch")
            st.caption("Longest waiting first: the people to invite to the next step.")

    if "flows" in view:
        show_pathways(view, k, funder)
    if "two_generation" in view:
        show_two_generation(view["two_generation"], k)


def show_pathways(view: dict, k: int, funder: bool) -> None:
    st.header("Pathways", anchor="pathways")
    st.subheader("The order parents took them")
    if not view["flows"]:
        st.info("No parent is on a pathway yet." if not funder else f"Every sequence has fewer than {k} parents.")
    else:
        fig = figures.figure_sankey(view["flows"])
        fig.update_layout(title="First, second and third pathway, and where parents are now")
        st.plotly_chart(fig, width="stretch", key="pathway_sankey")
    if view.get("hidden_flows"):
        st.caption(f"{view['hidden_flows']} flows of fewer than {k} parents are not drawn.")
    seq = view["sequences"]
    if len(seq):
        outcomes = dict(view["outcomes"])
        shown = seq.assign(parents=[common.count(v) for v in seq["parents"]],
                           **{o: [common.count(v) for v in seq[o]] for o in outcomes})
        st.dataframe(shown.rename(columns={"sequence": "pathways, in order", **{o: f"then {lbl.lower()}"
                                                                              for o, lbl in outcomes.items()}}),
                     hide_index=True, width="stretch")
    st.subheader("Which pathways come before leading or a seat")
    before = view["before"]
    if len(before):
        st.plotly_chart(pw.figure_pathways_before(before), width="stretch", key="pathways_before")
        shown = before[["outcome_label", "label", "parents", "went_on", "share_went_on"]].assign(
            parents=[common.count(v) for v in before["parents"]], went_on=[common.count(v) for v in before["went_on"]],
            share_went_on=[common.share(v) for v in before["share_went_on"]])
        st.dataframe(shown.rename(columns={"outcome_label": "outcome", "label": "pathway", "parents": "parents on it",
                                           "went_on": "went on to the outcome", "share_went_on": "share"}),
                     hide_index=True, width="stretch")
    st.subheader("Do the pathways reach the families the school involves least?")
    reach = view["reach"]
    if reach.empty:
        st.info("This ladder names no under-involved groups (its [under_involved] table).")
    else:
        st.plotly_chart(pw.figure_reach(reach), width="stretch", key="reach")
        st.caption("Under-involved: the groups the ladder file names (here: a home language other than English, "
                   "or the lowest income band). A pathway below the grey bar reaches them less than their place "
                   "among the school's parents.")


def show_two_generation(two, k: int) -> None:
    st.header("Two generations", anchor="two-generations")
    if two.empty:
        st.info("No parent is enrolled in a PLTI cohort yet.")
        return
    st.plotly_chart(pw.figure_two_generation(two), width="stretch", key="two_generation")
    names = {"both": "parent and child", "parent_only": "parent only"}
    shown = two.assign(group=[names.get(g, g) for g in two["group"]],
                       **{c: [common.count(v) for v in two[c]] for c in ("families", "parents", "graduated", "civic",
                                                                          "seated")},
                       **{c: [common.share(v) for v in two[c]] for c in ("graduation_rate", "civic_rate",
                                                                          "seat_rate")},
                       events_per_parent=["–" if v is None or v != v else f"{v:.1f}" for v in two["events_per_parent"]])
    st.dataframe(shown.rename(columns={"group": "families where", "events_per_parent": "events per parent",
                                       "graduation_rate": "share graduated", "civic_rate": "share civic",
                                       "seat_rate": "share seated"}),
                 hide_index=True, width="stretch")
    st.caption("Both generations: a child of the family attended the children's track (events of kind "
               "children_track). An association, not an effect: families who bring their children may differ.")


principal = common.principal()
audience = principal.audience
st.title("Pipeline to seats")
common.store_caption()
views = common.load(pw.program_views)
program = st.selectbox("Program", list(views), format_func=views.get, key="pipeline_program") or pw.PLTI_SEATS
if program != pw.PLTI_SEATS:
    show_ladder(principal, program)
    st.stop()
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
    sentence = figures.bodies_sentence(bodies, k=data.min_count())
    if sentence:            # every count hidden: words and a roll-up by level, not a table of "<10"
        st.info(sentence)
        st.dataframe(figures.rollup_by_level(bodies), hide_index=True, width="stretch")
    else:
        st.plotly_chart(figures.figure_seats_by_body(bodies), width="stretch", key="bodies")
        shown = bodies.assign(graduates=[common.count(v) for v in bodies["graduates"]],
                              current=[common.count(v) for v in bodies["current"]])
        st.dataframe(shown.rename(columns={"graduates": "graduates seated", "current": "seated now"}),
                     hide_index=True, width="stretch")
