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

TABLE_COLUMNS = {"group": "cohort", "wave": "wave", "attribute": "across", "ties": "ties",
                 "cross_ties": "cross-group ties", "expected_cross_ties": "expected by chance",
                 "observed": "E-I observed", "expected": "E-I expected", "p_value": "p"}


def _table(frame):
    shown = frame[list(TABLE_COLUMNS)].copy()
    for col in ("ties", "cross_ties"):
        shown[col] = [common.count(v) for v in shown[col]]
    shown["expected_cross_ties"] = ["–" if v is None or v != v else f"{v:,.1f}" for v in shown["expected_cross_ties"]]
    for col in ("observed", "expected"):
        shown[col] = ["–" if v is None or v != v else f"{v:+.2f}" for v in shown[col]]
    shown["p_value"] = [common.p_value(v) for v in shown["p_value"]]
    return shown.rename(columns=TABLE_COLUMNS)


if tests.empty:
    st.info("There are no ties between known people yet; load a package with a ties table on the Data page.")
else:
    st.subheader("All participants, by wave")
    everyone = tests[tests["group"] == "all participants"]
    st.dataframe(_table(everyone), hide_index=True, width="stretch")
    st.plotly_chart(figures.figure_permutation(everyone.assign(group=everyone["wave"])), width="stretch",
                    key="permutation_all")

    st.subheader("Per cohort and wave")
    cohorts = tests[tests["group"] != "all participants"]
    chosen = st.multiselect("Cohorts", sorted(cohorts["group"].unique()), placeholder="All cohorts",
                            key="bridging_cohorts")
    if chosen:
        cohorts = cohorts[cohorts["group"].isin(chosen)]
    if audience == "funder":
        st.caption(f"Cohorts with fewer than {data.min_count()} ties in a wave show no test: too few ties to share.")
    st.dataframe(_table(cohorts), hide_index=True, width="stretch")
    with st.expander("Observed against random mixing, per cohort"):
        st.plotly_chart(figures.figure_permutation(cohorts.assign(group=cohorts["group"] + " · " + cohorts["wave"])),
                        width="stretch", key="permutation_cohorts")

st.subheader("Who is tied to whom")
left, right = st.columns(2)
attr = left.selectbox("Group people by", list(data.ATTRIBUTES), format_func=data.ATTRIBUTES.get, key="mixing_attr")
wave = right.selectbox("Ties from", [None] + bridging["waves"], key="mixing_wave",
                       format_func=lambda w: "all waves" if w is None else f"wave {w}")
matrix = common.load(data.load_mixing, principal, attr, wave)
if matrix.empty:
    st.info(f"No ties join two people who both have a {data.ATTRIBUTES[attr]} recorded.")
else:
    st.plotly_chart(figures.figure_mixing_heatmap(matrix, title=f"Ties by {data.ATTRIBUTES[attr]}"),
                    width="stretch", key="mixing")
    st.caption("The diagonal counts ties within a group; every other cell ties between two groups.")

st.subheader("Growth over time")
by = st.radio("Snapshots", ["by year (cumulative)", "by wave"], horizontal=True, key="growth_by")
growth = bridging["growth_by_year" if by.startswith("by year") else "growth_by_wave"]
if growth.empty:
    st.info("The ties carry no dates or waves to follow over time.")
else:
    st.plotly_chart(figures.figure_growth(growth), width="stretch", key="growth")
    with st.expander("The numbers"):
        st.dataframe(growth, hide_index=True, width="stretch")
