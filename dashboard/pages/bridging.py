"""Bridging and tie formation: do the program's ties cross race and class lines more than chance would?"""
import streamlit as st

from dashboard import common, data, figures

principal = common.principal()
audience = principal.audience
st.title("Bridging and tie formation")
st.markdown(
    "For each survey wave, the whole network and each cohort's ties are compared with **random mixing**: "
    f"group labels are shuffled {data.PERMUTATIONS:,} times among the same people over the same ties. "
    "*Expected* is the number of cross-group ties chance alone would give; a small *p* says the difference "
    "is not chance.")
common.store_caption()
bridging = common.load(data.load_bridging, principal)
tests = bridging["tests"]
comparison = bridging["comparison"]
common.show_findings(bridging["findings"])
common.glossary()

GROWTH_COLUMNS = {"period": "year or wave", "people": "people", "ties": "ties", "density": "density",
                  "mean_degree": "ties per person", "isolates": "isolated people",
                  "components": "groups of connected people", "largest_component_share": "largest group's share",
                  "cross_race_share": "cross-race share", "cross_class_share": "cross-class share"}
MAX_DRAWN = 25          # cohorts drawn one by one (each a row per wave and attribute)
TABLE_ROWS = 1000       # rows of a per-cohort table drawn on the page (the CSV has every row)
TABLE_COLUMNS = {"group": "cohort", "wave": "wave", "attribute": "across", "ties": "ties",
                 "cross_ties": "cross-group ties", "expected_cross_ties": "expected by chance",
                 "observed": "E-I observed", "expected": "E-I expected", "p_value": "p", "q_value": "q"}


def _table(frame):
    shown = frame[list(TABLE_COLUMNS)].copy()
    for col in ("ties", "cross_ties"):
        shown[col] = [common.count(v) for v in shown[col]]
    shown["expected_cross_ties"] = ["–" if v is None or v != v else f"{v:,.1f}" for v in shown["expected_cross_ties"]]
    for col in ("observed", "expected"):
        shown[col] = ["–" if v is None or v != v else f"{v:+.2f}" for v in shown[col]]
    shown["p_value"] = [common.p_value(v) for v in shown["p_value"]]
    shown["q_value"] = [common.p_value(v) for v in shown["q_value"]]
    return shown.rename(columns=TABLE_COLUMNS)


if tests.empty:
    st.info("There are no ties between known people yet; load a package with a ties table on the Data page.")
else:
    st.subheader("All participants, by wave", anchor="all-participants")
    everyone = tests[tests["group"] == "all participants"]
    st.dataframe(_table(everyone).drop(columns=["q"]), hide_index=True, width="stretch")
    st.plotly_chart(figures.figure_permutation(everyone.assign(group=everyone["wave"])), width="stretch",
                    key="permutation_all")

    if comparison is not None:
        st.subheader("The same respondents, before and after", anchor="same-respondents")
        n = comparison["respondents"]
        st.markdown(f"**{common.count(n['both'])}** people answered both the {comparison['before']} "
                    f"({common.count(n['before'])} respondents) and the {comparison['after']} survey "
                    f"({common.count(n['after'])}). The main comparison follows them; everyone who answered each "
                    "wave is shown beside it, labelled as such.")
        rows = figures.comparison_rows(comparison)
        left, right = st.columns([2, 3])
        left.dataframe(rows.assign(share=[common.share(v) for v in rows["share"]],
                                   interval=[common.interval([lo, hi]) if lo is not None and lo == lo else "–"
                                             for lo, hi in zip(rows["low"], rows["high"])])
                       .drop(columns=["low", "high"]).rename(columns={"interval": "95% interval"}),
                       hide_index=True, width="stretch")
        changes = [{"across": name, "who": who, "change": "–" if r[k]["change"]["share"] is None
                    else f"{100 * r[k]['change']['share']:+.0f} pts",
                    "95% interval": common.interval(r[k]["change"]["share_ci"], points=True)}
                   for attr, name in (("race_ethnicity", "race"), ("income_band", "class"))
                   if (r := comparison["by_attribute"].get(attr))
                   for k, who in (("panel", "answered both"), ("all", "all respondents"))]
        left.dataframe(changes, hide_index=True, width="stretch")
        right.plotly_chart(figures.figure_wave_comparison(comparison), width="stretch", key="same_respondents")
        st.caption(f"Intervals: {comparison['method']}.")

    st.subheader("Per cohort and wave", anchor="per-cohort")
    cohorts = tests[tests["group"] != "all participants"]
    chosen = st.multiselect("Cohorts", sorted(cohorts["group"].unique()), placeholder="All cohorts",
                            key="bridging_cohorts")
    if chosen:
        cohorts = cohorts[cohorts["group"].isin(chosen)]
    if audience == "funder":
        st.caption(f"Cohorts with fewer than {data.min_count()} ties in a wave show no test: too few ties to share.")
    if len(cohorts) > TABLE_ROWS:
        st.caption(f"The first {TABLE_ROWS:,} of {len(cohorts):,} tests: choose cohorts above to see others here, or "
                   "download the per-cohort results.")
    st.dataframe(_table(cohorts.head(TABLE_ROWS)), hide_index=True, width="stretch")
    all_cohorts = tests[tests["group"] != "all participants"]
    shown_p = [p for p in all_cohorts["p_value"] if p is not None and p == p]
    if shown_p:
        st.caption(f"{len(shown_p):,} cohort tests are shown at once: about {0.05 * len(shown_p):.1f} of them would "
                   "have p < 0.05 by chance alone. *q* holds the false discovery rate (Benjamini–Hochberg): read "
                   "a cohort as different from random mixing when q < 0.05.")
    cohort_panel = bridging["cohort_panel"]
    if not cohort_panel.empty:
        st.markdown("**Each cohort's members who answered both surveys** (shares of the people they named across "
                    "group lines; the change with its 95% interval; all respondents beside it):")
        panel_shown = cohort_panel if not chosen else cohort_panel[cohort_panel["cohort"].isin(chosen)]
        if len(panel_shown) > TABLE_ROWS:
            st.caption(f"The first {TABLE_ROWS:,} of {len(panel_shown):,} rows: choose cohorts above to see others "
                       "here, or download the per-cohort results.")
        st.dataframe(data.readable_cohort_panel(panel_shown.head(TABLE_ROWS)), hide_index=True, width="stretch")
    if principal.may("download_people"):
        # written when clicked, not on every view (thousands of cohorts at scale)
        st.download_button("Download per-cohort results (CSV)", lambda: data.cohort_results_csv(principal),
                           file_name="civicties-cohort-results.csv", mime="text/csv", key="cohort_csv",
                           on_click=data.audit_download, args=(principal, "per-cohort results"))
        st.download_button("Data dictionary (CSV)", data.dictionary_csv(), file_name="civicties-data-dictionary.csv",
                           mime="text/csv", key="dictionary_csv")
    # One light figure of every cohort (thousands at scale: a chart row per cohort and wave took seconds to
    # draw); each test against its random-mixing band only for the cohorts chosen above.
    if (cohorts["observed"].notna() & cohorts["expected"].notna()).any():
        st.plotly_chart(figures.figure_cohort_tests(cohorts), width="stretch", key="cohort_tests")
    if chosen:
        drawn = cohorts[cohorts["group"].isin(chosen[:MAX_DRAWN])]
        st.plotly_chart(figures.figure_permutation(drawn.assign(group=drawn["group"] + " · " + drawn["wave"])),
                        width="stretch", key="permutation_cohorts")
        if len(chosen) > MAX_DRAWN:
            st.caption(f"The first {MAX_DRAWN} cohorts chosen are drawn; the table above holds every one.")
    else:
        st.caption("Choose cohorts above to draw each one's test against the band random mixing gives.")

st.subheader("Who is tied to whom")
left, right = st.columns(2)
attr = left.selectbox("Group people by", list(data.ATTRIBUTES), format_func=data.ATTRIBUTES.get, key="mixing_attr")
wave = right.selectbox("Ties from", [None] + bridging["waves"], key="mixing_wave",
                       format_func=lambda w: "all waves" if w is None else f"wave {w}")
matrix = common.load(data.load_mixing, principal, attr, wave)
if matrix.empty:
    st.info(f"No ties join two people who both have a {data.ATTRIBUTES[attr]} recorded.")
elif common.all_hidden(matrix.to_numpy().ravel().tolist()):
    st.info(f"Every pair of groups has fewer than {data.min_count()} ties here (or a count that would give one "
            "away), so none is shown.")
else:
    st.plotly_chart(figures.figure_mixing_heatmap(matrix, title=f"Ties by {data.ATTRIBUTES[attr]}"),
                    width="stretch", key="mixing")
    st.caption("The diagonal counts ties within a group; every other cell ties between two groups."
               + (f" Blank cells are hidden: '<{data.min_count()}' is a small count, 'suppressed' a larger one "
                  "hidden so that a small one cannot be worked out from the totals." if audience == "funder" else ""))

st.subheader("Growth over time")
by = st.radio("Snapshots", ["by year (cumulative)", "by wave"], horizontal=True, key="growth_by")
growth = bridging["growth_by_year" if by.startswith("by year") else "growth_by_wave"]
if growth.empty:
    st.info("The ties carry no dates or waves to follow over time.")
else:
    st.plotly_chart(figures.figure_growth(growth), width="stretch", key="growth")
    if by.startswith("by year"):
        st.caption("Each year shows the whole network as it stood at the end of that year; a year in which no "
                   "new tie was observed repeats the year before.")
    with st.expander("The numbers"):
        readable = growth.rename(columns=GROWTH_COLUMNS)
        for col in ("ties", "people", "isolated people", "groups of connected people"):
            if col in readable:
                readable[col] = [common.count(v) for v in readable[col]]
        for col in ("cross-race share", "cross-class share", "largest group's share"):
            if col in readable:
                readable[col] = [common.share(v) for v in readable[col]]
        st.dataframe(readable, hide_index=True, width="stretch")
