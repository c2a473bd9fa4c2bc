"""The dashboard's figure builders: plain data in, the right plotly traces out (no Streamlit needed)."""
from __future__ import annotations

import pandas as pd
import plotly.graph_objects as go

from dashboard import figures


def test_suppressed_counts_plot_as_zero_and_keep_their_label():
    assert figures.number("<10") == 0 and figures.label("<10") == "<10"
    assert figures.number(None) == 0 and figures.label(None) == ""
    assert figures.number(12) == 12 and figures.label(1234) == "1,234"
    assert figures.number(float("nan")) == 0 and figures.label(float("nan")) == ""


def test_tie_composition_stacks_within_and_across():
    comp = pd.DataFrame({"wave": ["pre", "post"], "attribute": ["race", "race"], "within": [30, "<10"],
                         "across": [10, 20]})
    fig = figures.figure_tie_composition(comp)
    within, across = fig.data
    assert list(within.x) == ["race · pre", "race · post"]
    # a suppressed count is a hatched, pale bar up to the threshold with its label: never drawn as zero
    assert list(within.y) == [30, 10] and list(within.text) == ["30", "<10"]
    assert list(within.marker.pattern.shape) == ["", "/"]
    assert list(across.y) == [10, 20]
    assert fig.layout.barmode == "stack" and within.textangle == 0 == across.textangle  # numbers upright


def test_funnel_keeps_stage_order():
    fig = figures.figure_funnel({"enrolled": 240, "graduated": 200, "appointed": "<10"})
    trace = fig.data[0]
    assert isinstance(trace, go.Funnel)
    assert list(trace.y) == ["enrolled", "graduated", "appointed"]
    assert list(trace.x) == [240, 200, 0] and trace.text[2] == "<10"


def test_wave_change_draws_one_line_per_attribute():
    waves = pd.DataFrame({"wave": ["pre", "post"], "ties": [100, 50], "cross_race": [0.3, 0.7],
                          "cross_class": [0.4, None]})
    fig = figures.figure_wave_change(waves)
    assert [t.name for t in fig.data] == ["cross-race", "cross-class"]
    assert list(fig.data[0].y) == [0.3, 0.7] and fig.data[1].y[1] is None


def test_permutation_plot_skips_undefined_tests():
    results = pd.DataFrame({"group": ["all", "C1"], "attribute": ["race", "race"], "observed": [0.1, None],
                            "expected": [-0.2, None], "sd": [0.05, None], "p_value": [0.01, None]})
    fig = figures.figure_permutation(results)
    expected, observed = fig.data
    assert list(observed.x) == [0.1] and list(observed.y) == ["all · race"]
    assert list(expected.error_x.array) == [0.1]  # two standard deviations


def test_mixing_heatmap_labels_cells():
    m = pd.DataFrame([[5, "<10"], ["<10", 12]], index=pd.Index(["a", "b"], name="race"),
                     columns=pd.Index(["a", "b"], name="race"))
    trace = figures.figure_mixing_heatmap(m).data[0]
    assert [list(r) for r in trace.z] == [[5, None], [None, 12]]    # suppressed: a gap, never zero's colour
    assert [list(r) for r in trace.text] == [["5", "<10"], ["<10", "12"]]
    assert list(trace.x) == ["a", "b"]


def test_growth_puts_shares_on_a_second_axis():
    g = pd.DataFrame({"period": ["2019", "2020"], "ties": [10, 25], "cross_race_share": [0.2, 0.4]})
    fig = figures.figure_growth(g)
    assert [t.name for t in fig.data] == ["ties", "cross-race share"]
    assert fig.data[1].yaxis == "y2"
    assert list(fig.layout.yaxis2.tickvals) == [0, 0.25, 0.5, 0.75, 1.0]     # round ticks, not 0/20/41/61/82%
    assert fig.layout.xaxis.title.text == "year" and "period" not in fig.layout.yaxis.title.text


def test_growth_fills_a_year_without_new_ties_and_hatches_hidden_counts():
    g = pd.DataFrame({"period": ["2019", "2021"], "ties": [10, "<10"], "cross_race_share": [0.2, None]})
    bars = figures.figure_growth(g).data[0]
    assert list(bars.x) == ["2019", "2020", "2021"]
    assert list(bars.y) == [10, 10, 10] and list(bars.text) == ["10", "10", "<10"]
    assert list(bars.marker.pattern.shape) == ["", "", "/"]
    assert "no new tie" in bars.customdata[1] and bars.customdata[0] == ""
    waves = pd.DataFrame({"period": ["pre", "post"], "ties": [3, 4]})
    assert list(figures.figure_growth(waves).data[0].x) == ["pre", "post"]


def test_wave_labels_sit_apart():
    waves = pd.DataFrame({"wave": ["pre", "post"], "cross_race": [0.30, 0.50], "cross_class": [0.32, 0.40]})
    race, klass = figures.figure_wave_change(waves).data
    assert list(race.textposition) == ["bottom center", "top center"]
    assert list(klass.textposition) == ["top center", "bottom center"]


def test_bodies_all_hidden_become_a_sentence():
    t = pd.DataFrame({"body_id": ["B1", "B2", "B3"], "name": ["a", "b", "c"], "level": ["city", "state", "city"],
                      "graduates": ["<10", "<10", "<10"]})
    assert figures.bodies_sentence(t) == "Alumni sit on 3 bodies (2 city, 1 state); each has fewer than 10 alumni."
    assert figures.bodies_sentence(t.assign(graduates=["<10", 12, "<10"])) is None
    roll = figures.rollup_by_level(t.assign(graduates=[3, 4, 5]))
    assert roll.to_dict("records") == [{"level": "city", "bodies": 2, "graduates": "8"},
                                       {"level": "state", "bodies": 1, "graduates": "4"}]
    assert figures.rollup_by_level(t)["graduates"].tolist() == ["some hidden", "some hidden"]


def test_sankey_indexes_nodes_and_drops_empty_flows():
    flows = [("Enrolled", "Graduated", 20), ("Enrolled", "Withdrawn", 0), ("Graduated", "City seat", 3)]
    trace = figures.figure_sankey(flows).data[0]
    # every stage carries its people (the larger of what flows in and out), so the picture has numbers
    assert list(trace.node.label) == ["Enrolled · 20", "Graduated · 20", "City seat · 3"]
    assert trace.textfont.color == "#111111"
    assert list(trace.link.source) == [0, 1] and list(trace.link.target) == [1, 2]
    assert list(trace.link.value) == [20, 3]


def test_funnel_by_draws_a_bar_per_stage():
    table = pd.DataFrame({"group": ["S1", "S2"], "enrolled": [40, 12], "graduated": [30, "<10"],
                          "civic": [10, "suppressed"], "appointed": ["<10", 0]})
    fig = figures.figure_funnel_by(table)
    assert [t.name for t in fig.data] == ["enrolled", "graduated", "civic", "appointed"]
    assert list(fig.data[1].y) == [30, 10] and list(fig.data[2].text) == ["10", "suppressed"]
    assert list(fig.data[2].marker.pattern.shape) == ["", "/"]
    assert all(t.textangle == 0 for t in fig.data)  # numbers never turn sideways
    assert fig.data[0].orientation is None and list(fig.data[0].x) == ["S1", "S2"]


def test_funnel_by_many_groups_lies_down_with_upright_labels():
    cohorts = [f"C{i:02d}" for i in range(12)]
    table = pd.DataFrame({"cohort": cohorts, "enrolled": list(range(20, 32)), "graduated": ["<10"] * 12})
    fig = figures.figure_funnel_by(table, by="cohort")
    assert [t.orientation for t in fig.data] == ["h", "h"]
    assert list(fig.data[0].y) == cohorts and list(fig.data[0].x) == list(range(20, 32))
    assert list(fig.data[1].x) == [10] * 12 and list(fig.data[1].text) == ["<10"] * 12
    assert all(t.textangle == 0 for t in fig.data) and fig.layout.yaxis.autorange == "reversed"
    assert fig.layout.height >= 18 * 2 * 12


def test_time_to_seat_plots_share_seated():
    curve = pd.DataFrame({"group": ["All"] * 3, "timeline": [0.0, 30.0, 90.0], "survival": [1.0, 0.75, 0.5]})
    trace = figures.figure_time_to_seat(curve).data[0]
    assert list(trace.y) == [0.0, 0.25, 0.5] and trace.line.shape == "hv"


def test_seats_by_body_lists_most_seats_on_top():
    table = pd.DataFrame({"body_id": ["B1", "B2"], "name": ["School board", None], "level": ["district", "city"],
                          "graduates": [5, "<10"]})
    trace = figures.figure_seats_by_body(table).data[0]
    assert list(trace.y) == ["B2", "School board"]  # plotly draws the first bar at the bottom
    assert list(trace.x) == [10, 5] and list(trace.marker.pattern.shape) == ["/", ""]


def test_missing_values_sorted_by_share():
    q = pd.DataFrame({"table": ["people", "people"], "column": ["email", "race_ethnicity"],
                      "missing_share": [0.5, 0.1]})
    trace = figures.figure_missing(q).data[0]
    assert list(trace.y) == ["people.race_ethnicity", "people.email"]


def test_counts_split_by_color():
    t = pd.DataFrame({"site_id": ["S1", "S1", "S2"], "reason": ["isolated", "inactive", "isolated"],
                      "families": [12, "<10", 15]})
    fig = figures.figure_counts(t, x="site_id", color="reason")
    assert sorted(tr.name for tr in fig.data) == ["inactive", "isolated"]
    isolated = next(tr for tr in fig.data if tr.name == "isolated")
    assert list(isolated.x) == ["S1", "S2"] and list(isolated.y) == [12, 15]
