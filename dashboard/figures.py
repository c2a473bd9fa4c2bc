"""Pure figure builders: plain data in, a plotly Figure out. No Streamlit, no store, so each is testable alone.

Counts may arrive already suppressed for funders: a value is then a label such as "<10" instead of a
number. Such a value is drawn as zero and labelled with its text, so the chart never shows more than
the table beside it.
"""
from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence

import pandas as pd
import plotly.graph_objects as go

__all__ = [
    "figure_wave_comparison", "comparison_rows", "figure_tie_composition", "figure_funnel", "figure_wave_change", "figure_permutation",
    "figure_cohort_tests",
    "figure_mixing_heatmap", "figure_growth", "figure_sankey", "figure_funnel_by", "figure_time_to_seat",
    "figure_seats_by_body", "figure_missing", "figure_counts", "number", "label", "hidden", "bodies_sentence",
    "rollup_by_level", "fill_years",
]

_SANKEY = ("#4E79A7", "#59A14F", "#F28E2B", "#B07AA1", "#76B7B2", "#EDC948", "#E15759", "#9C755F")
_COLORS = {"same": "#b0b7c3", "cross": "#1f77b4", "race": "#1f77b4", "class": "#ff7f0e",
           "expected": "#9aa5b1", "observed": "#d62728"}


def number(value) -> float:
    """The plotted value of a cell: a number, or 0 for a suppressed label ("<10") or a missing value."""
    if value is None or isinstance(value, str):
        return 0.0
    try:
        v = float(value)
    except (TypeError, ValueError):
        return 0.0
    return 0.0 if math.isnan(v) else v


def label(value) -> str:
    """The text shown for a cell: the label itself when suppressed, the count otherwise, '' when missing."""
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    v = float(value)
    if math.isnan(v):
        return ""
    return f"{int(v):,}" if v == int(v) else f"{v:.2f}"


def hidden(value) -> bool:
    """Whether a plotted value is a suppression label ("<10", "suppressed")."""
    return isinstance(value, str)


def _bars(values) -> dict:
    """Bar heights, hatching and labels for counts that may be suppressed: a suppressed count is drawn as a
    hatched, pale bar up to the threshold ("<10" may be anything below it; "suppressed" is hidden to protect
    another), labelled, never as a zero."""
    ceiling = next((int(v[1:]) for v in values if isinstance(v, str) and v.startswith("<") and v[1:].isdigit()), 10)
    return {"y": [ceiling if hidden(v) else number(v) for v in values],
            "text": [label(v) for v in values],
            "marker_pattern_shape": ["/" if hidden(v) else "" for v in values],
            "marker_opacity": [0.45 if hidden(v) else 1.0 for v in values]}


def _bar(**kw) -> go.Bar:
    """A bar trace of counts that may be suppressed (see :func:`_bars`); its numbers never turn sideways."""
    values = kw.pop("values")
    kw.setdefault("textangle", 0)
    b = _bars(values)
    return go.Bar(y=b["y"], text=b["text"], marker=dict(pattern_shape=b["marker_pattern_shape"],
                                                        opacity=b["marker_opacity"], **kw.pop("marker", {})), **kw)


def _layout(fig: go.Figure, title: str, **kw) -> go.Figure:
    kw.setdefault("margin", dict(l=10, r=10, t=50, b=10))
    fig.update_layout(title=title, legend_title_text="", **kw)
    return fig


def figure_tie_composition(composition: pd.DataFrame) -> go.Figure:
    """Stacked bars of ties within and across groups, one bar per (attribute, wave).

    `composition` columns: wave, attribute (e.g. "race", "class"), within, across (counts or labels).
    """
    df = composition.copy()
    x = [f"{a} · {w}" for a, w in zip(df["attribute"], df["wave"])]
    fig = go.Figure([
        _bar(name="within a group", x=x, values=list(df["within"]), marker={"color": _COLORS["same"]}),
        _bar(name="across groups", x=x, values=list(df["across"]), marker={"color": _COLORS["cross"]}),
    ])
    return _layout(fig, "Ties within and across groups, by survey wave", barmode="stack",
                   yaxis_title="ties", xaxis_title="")


def figure_funnel(stages: Mapping[str, object]) -> go.Figure:
    """The program funnel: enrolled -> graduated -> appointed to a seat (a mapping stage -> count)."""
    names = [s.replace("_", " ") for s in stages]
    values = list(stages.values())
    fig = go.Figure(go.Funnel(y=names, x=[number(v) for v in values], text=[label(v) for v in values],
                              textinfo="text"))
    return _layout(fig, "From enrollment to a decision-making seat")


def figure_wave_change(waves: pd.DataFrame) -> go.Figure:
    """Cross-race and cross-class tie shares per wave (pre -> post): columns wave, cross_race, cross_class."""
    fig = go.Figure()
    for col, name, color in (("cross_race", "cross-race", _COLORS["race"]),
                             ("cross_class", "cross-class", _COLORS["class"])):
        vals = [None if v is None or isinstance(v, str) or math.isnan(v) else float(v) for v in waves[col]]
        fig.add_trace(go.Scatter(x=list(waves["wave"]), y=vals, mode="lines+markers+text", name=name,
                                 text=[f"{v:.0%}" if v is not None else "" for v in vals],
                                 textposition=_label_sides(vals, [_other(waves, col, o) for o in range(len(vals))]),
                                 line_color=color))
    return _layout(fig, "Share of ties that bridge groups, by wave", yaxis_tickformat=".0%",
                   yaxis_range=[0, 1.05], yaxis_title="share of ties", xaxis_title="survey wave",
                   legend=dict(orientation="h", yanchor="bottom", y=1.0, x=0))


def comparison_rows(comparison: dict) -> pd.DataFrame:
    """A wave comparison (queries.panel.wave_comparison) as rows: attribute, who (same respondents / all
    respondents), wave, share, low, high (the 95% interval; None where not shown)."""
    rows = []
    for attr, name in (("race_ethnicity", "cross-race"), ("income_band", "cross-class")):
        r = comparison["by_attribute"].get(attr)
        if not r:
            continue
        for kind, who in (("panel", "answered both"), ("all", "all respondents")):
            for side in ("before", "after"):
                v = r[kind][side]
                ci = v.get("share_ci") or [None, None]
                rows.append({"attribute": name, "who": who, "wave": comparison[side], "share": v.get("share"),
                             "low": ci[0], "high": ci[1]})
    return pd.DataFrame(rows, columns=["attribute", "who", "wave", "share", "low", "high"])


def figure_wave_comparison(comparison: dict) -> go.Figure:
    """Cross-race and cross-class shares before and after, for the people who answered both waves (solid, the
    main comparison) and for everyone who answered each wave (dotted), with 95% bootstrap intervals as bars.
    A share not shown (too few ties for a funder) is left out, never drawn as zero."""
    rows = comparison_rows(comparison)
    fig = go.Figure()
    for (attr, who), part in rows.groupby(["attribute", "who"], sort=False):
        part = part.dropna(subset=["share"])
        if part.empty:
            continue
        color = _COLORS["race"] if attr == "cross-race" else _COLORS["class"]
        up = [(h - v) if h is not None and h == h else 0 for v, h in zip(part["share"], part["high"])]
        down = [(v - lo) if lo is not None and lo == lo else 0 for v, lo in zip(part["share"], part["low"])]
        fig.add_trace(go.Scatter(
            x=list(part["wave"]), y=list(part["share"]), name=f"{attr}, {who}", mode="lines+markers",
            line=dict(color=color, dash="solid" if who == "answered both" else "dot"),
            marker=dict(size=9 if who == "answered both" else 6),
            error_y=dict(type="data", symmetric=False, array=up, arrayminus=down, thickness=1.5, width=6),
            hovertemplate="%{x}: %{y:.0%}<extra>" + f"{attr}, {who}" + "</extra>"))
    # the legend sits in its own band below the axis title, two entries a row, so nothing overlaps
    return _layout(fig, "Share of named people across group lines (bars: 95% intervals)", yaxis_tickformat=".0%",
                   yaxis_range=[0, 1.05], yaxis_title="share of the people named", xaxis_title="survey wave",
                   legend=dict(orientation="h", yanchor="top", y=-0.28, x=0, entrywidth=0.5,
                               entrywidthmode="fraction"),
                   margin=dict(l=10, r=10, t=50, b=110), height=460)


def figure_permutation(results: pd.DataFrame) -> go.Figure:
    """Observed E-I index against what random mixing would give (mean ± 2 sd), one row per test.

    `results` columns: group (e.g. "S1-PLTI-2022 · post"), attribute, observed, expected, sd, p_value.
    """
    df = results.dropna(subset=["observed"]).reset_index(drop=True)
    y = [f"{g} · {a}" for g, a in zip(df["group"], df["attribute"])]
    fig = go.Figure([
        go.Scatter(x=df["expected"], y=y, mode="markers", name="expected under random mixing",
                   marker=dict(color=_COLORS["expected"], size=9, symbol="line-ns-open"),
                   error_x=dict(type="data", array=[2 * (s or 0) for s in df["sd"]], color=_COLORS["expected"])),
        go.Scatter(x=df["observed"], y=y, mode="markers", name="observed",
                   marker=dict(color=_COLORS["observed"], size=10),
                   customdata=df["p_value"], hovertemplate="E-I %{x:.2f}, p = %{customdata:.3f}<extra></extra>"),
    ])
    return _layout(fig, "E-I index: observed vs random mixing (−1 all within groups, +1 all across)",
                   xaxis_range=[-1.05, 1.05], xaxis_title="E-I index", height=max(300, 26 * len(y) + 120))


def figure_cohort_tests(results: pd.DataFrame) -> go.Figure:
    """Every cohort's test in one light figure: how many cohorts (and waves) had each difference between
    the E-I index observed and the one random mixing would give, one histogram per attribute; right of
    zero a cohort's ties cross group lines more than chance would give. A few dozen bars whatever the
    number of cohorts (:func:`figure_permutation` draws a row per test, for a few chosen cohorts).

    `results` columns: cohort, wave, attribute ("race", "class"), observed, expected. Tests without an
    observed or expected E-I (no ties, or hidden from funders) are left out.
    """
    df = results.dropna(subset=["observed", "expected"]).reset_index(drop=True)
    traces = []
    for attr in dict.fromkeys(df["attribute"]):
        part = df[df["attribute"] == attr]
        traces.append(go.Histogram(x=(part["observed"].astype(float) - part["expected"].astype(float)).round(4),
                                   name=f"across {attr}", xbins=dict(start=-2, end=2, size=0.1), opacity=0.6,
                                   marker=dict(color=_COLORS.get(attr, _COLORS["observed"])),
                                   hovertemplate="%{x}: %{y} tests<extra></extra>"))
    fig = go.Figure(traces)
    fig.add_vline(x=0, line=dict(color=_COLORS["expected"], dash="dot"))
    return _layout(fig, f"{df['cohort'].nunique():,} cohorts: E-I observed minus what random mixing gives "
                   "(right of 0: more ties across groups than chance)", barmode="overlay",
                   xaxis_title="E-I observed − expected", yaxis_title="cohort tests (cohort × wave)", height=380)


def figure_mixing_heatmap(matrix: pd.DataFrame, *, title: str = "Who is tied to whom") -> go.Figure:
    """Heatmap of a mixing matrix (groups x groups, counts or suppressed labels)."""
    # a suppressed cell is left uncoloured (a gap), with its label: never the colour of zero
    z = [[None if hidden(v) else number(v) for v in row] for row in matrix.to_numpy()]
    text = [[label(v) for v in row] for row in matrix.to_numpy()]
    rows, cols = [str(i) for i in matrix.index], [str(c) for c in matrix.columns]
    fig = go.Figure(go.Heatmap(z=z, x=cols, y=rows, text=text, texttemplate="%{text}", colorscale="Blues",
                               hovertemplate="%{y} – %{x}: %{text} ties<extra></extra>"))
    return _layout(fig, title, yaxis_autorange="reversed", xaxis_title=matrix.columns.name or "",
                   yaxis_title=matrix.index.name or "")


def fill_years(growth: pd.DataFrame, *, x: str = "period") -> pd.DataFrame:
    """Cumulative yearly snapshots with every year in between: a year with no new tie observed is the
    network as it stood the year before (so the axis skips no year). Other periods (waves) are returned as
    they are.

    >>> fill_years(pd.DataFrame({"period": ["2019", "2021"], "ties": [5, 9]}))["period"].tolist()
    ['2019', '2020', '2021']
    """
    periods = [str(v) for v in growth[x]]
    if len(periods) < 2 or not all(p.isdigit() for p in periods):
        return growth
    rows = growth.assign(**{x: periods}).set_index(x)
    years = [str(y) for y in range(int(periods[0]), int(periods[-1]) + 1)]
    last, at = 0, []
    for y in years:                        # the row of the latest year with a snapshot, up to y
        if y in rows.index:
            last = rows.index.get_loc(y)
        at.append(last)
    filled = rows.iloc[at].astype(object)
    filled.index = pd.Index(years, name=x)
    filled["new_ties_observed"] = [y in rows.index for y in years]
    return filled.reset_index(names=x)


def figure_growth(growth: pd.DataFrame, *, x: str = "period", x_title: str | None = None) -> go.Figure:
    """Ties over time: bars of ties (per period) and lines of the cross-race/cross-class shares.

    `growth` columns: `x` (wave or year), ties, and optionally cross_race_share, cross_class_share.
    Years are filled in (``fill_years``); suppressed counts are hatched bars with their label, never zero.
    """
    growth = fill_years(growth, x=x)
    years = all(str(v).isdigit() for v in growth[x])
    b = _bars(list(growth["ties"]))
    xs = [str(v) for v in growth[x]]
    new = list(growth["new_ties_observed"]) if "new_ties_observed" in growth else [True] * len(xs)
    fig = go.Figure(go.Bar(x=xs, y=b["y"], text=b["text"], name="ties", marker_color=_COLORS["same"],
                           marker_pattern_shape=b["marker_pattern_shape"], marker_opacity=b["marker_opacity"],
                           customdata=["" if n else " (no new tie observed this year)" for n in new],
                           hovertemplate="%{x}: %{text} ties%{customdata}<extra></extra>"))
    for col, name, color in (("cross_race_share", "cross-race share", _COLORS["race"]),
                             ("cross_class_share", "cross-class share", _COLORS["class"])):
        if col in growth:
            vals = [None if v is None or isinstance(v, str) or v != v else float(v) for v in growth[col]]
            fig.add_trace(go.Scatter(x=xs, y=vals, name=name, mode="lines+markers", yaxis="y2", line_color=color,
                                     hovertemplate="%{x}: %{y:.0%}<extra>" + name + "</extra>"))
    return _layout(fig, "Tie formation over time",
                   yaxis=dict(title="ties (the whole network at the end of the year)" if years else
                              "ties in the wave", rangemode="tozero", showgrid=False),
                   xaxis=dict(title=x_title or ("year" if years else "survey wave"), type="category"),
                   yaxis2=dict(title="share of ties across groups", overlaying="y", side="right", range=[0, 1],
                               tickmode="array", tickvals=[0, 0.25, 0.5, 0.75, 1.0], tickformat=".0%"),
                   legend=dict(orientation="h", yanchor="bottom", y=1.02, x=0),
                   margin=dict(l=10, r=10, t=80, b=10))


def figure_sankey(flows: Iterable[Sequence]) -> go.Figure:
    """A Sankey of (source, target, count) flows: enrollment -> graduation -> civic activity -> seats.

    Each stage is labelled with its people ("Graduated · 180": the larger of what flows in and out) and
    each flow's count shows on hover; labels are dark on white, large enough to read."""
    flows = [(str(s), str(t), number(c)) for s, t, c in flows if number(c) > 0]
    nodes = list(dict.fromkeys([n for s, t, _ in flows for n in (s, t)]))
    index = {n: i for i, n in enumerate(nodes)}
    into = {n: sum(c for _s, t, c in flows if t == n) for n in nodes}
    out = {n: sum(c for s, _t, c in flows if s == n) for n in nodes}
    totals = [max(into[n], out[n]) for n in nodes]
    fig = go.Figure(go.Sankey(
        node=dict(label=[f"{n} · {int(v):,}" for n, v in zip(nodes, totals)], pad=22, thickness=18,
                  color=[_SANKEY[i % len(_SANKEY)] for i in range(len(nodes))], line=dict(color="#444", width=0.5),
                  customdata=nodes, hovertemplate="%{customdata}: %{value:,.0f} people<extra></extra>"),
        link=dict(source=[index[s] for s, _, _ in flows], target=[index[t] for _, t, _ in flows],
                  value=[c for _, _, c in flows], color="rgba(120,130,145,0.35)",
                  customdata=[f"{s} → {t}" for s, t, _ in flows],
                  hovertemplate="%{customdata}: %{value:,.0f} people<extra></extra>"),
        textfont=dict(color="#111111", size=13, shadow="none")))
    return _layout(fig, "Pathways from enrollment to decision-making seats (people at each stage)")


def figure_funnel_by(table: pd.DataFrame, *, by: str = "group", title: str = "The funnel by group") -> go.Figure:
    """Grouped bars: enrolled, graduated, civic, appointed per group (`by` column; counts or suppressed labels).

    Labels are always upright: up to six groups the bars stand; with more (e.g. by cohort) they lie down, one
    row per group, so that neither the bars' numbers nor the group names have to turn sideways."""
    stages = [c for c in ("enrolled", "graduated", "civic", "appointed") if c in table]
    groups = [str(v) for v in table[by]]
    lying = len(groups) > 6
    bars = []
    for s in stages:
        b = _bars(list(table[s]))
        marker = dict(pattern_shape=b["marker_pattern_shape"], opacity=b["marker_opacity"])
        where = dict(x=b["y"], y=groups, orientation="h") if lying else dict(x=groups, y=b["y"])
        bars.append(go.Bar(name=s.replace("_", " "), text=b["text"], textangle=0, textposition="outside",
                           cliponaxis=False, marker=marker, **where))
    fig = go.Figure(bars)
    if lying:
        return _layout(fig, title, barmode="group", xaxis_title="people", height=max(400, 18 * len(stages) *
                       len(groups) + 140), yaxis=dict(autorange="reversed", type="category"))
    return _layout(fig, title, barmode="group", yaxis_title="people", xaxis_type="category")


def figure_time_to_seat(curve: pd.DataFrame) -> go.Figure:
    """Kaplan-Meier curve of the share of graduates holding a seat, by days since graduation.

    `curve` is queries.pipeline.time_to_seat's frame: group, timeline (days), survival (share still
    without a seat), optionally ci_lower/ci_upper. Drawn as 1 - survival, one line per group.
    """
    fig = go.Figure()
    for name, g in curve.groupby("group", sort=True):
        seated = 1 - g["survival"].astype(float)
        fig.add_trace(go.Scatter(x=g["timeline"], y=seated, mode="lines", line_shape="hv", name=str(name)))
    return _layout(fig, "Time from graduation to a first seat (Kaplan-Meier)", xaxis_title="days since graduation",
                   yaxis_title="share of graduates seated", yaxis_tickformat=".0%", yaxis_rangemode="tozero")


def figure_seats_by_body(table: pd.DataFrame) -> go.Figure:
    """Horizontal bars of graduates seated per body (queries.pipeline.seats_by_body's columns)."""
    df = table.iloc[::-1]
    b = _bars(list(df["graduates"]))
    fig = go.Figure(go.Bar(y=[str(b) for b in df["name"].fillna(df["body_id"])], x=b["y"], text=b["text"],
                           marker=dict(pattern_shape=b["marker_pattern_shape"], opacity=b["marker_opacity"]),
                           orientation="h", customdata=df["level"],
                           hovertemplate="%{y} (%{customdata}): %{text}<extra></extra>"))
    return _layout(fig, "Where alumni sit", xaxis_title="graduates seated", height=max(300, 24 * len(df) + 120))


def figure_missing(quality: pd.DataFrame) -> go.Figure:
    """Share of missing values per table column (columns table, column, missing_share)."""
    df = quality.sort_values("missing_share")
    fig = go.Figure(go.Bar(y=[f"{t}.{c}" for t, c in zip(df["table"], df["column"])], x=df["missing_share"],
                           orientation="h", text=[f"{v:.0%}" for v in df["missing_share"]]))
    return _layout(fig, "Missing values per column", xaxis_tickformat=".0%", xaxis_range=[0, 1],
                   height=max(300, 22 * len(df) + 120))


def figure_counts(table: pd.DataFrame, *, x: str, y: str = "families", color: str | None = None,
                  title: str = "", x_title: str | None = None, y_title: str | None = None) -> go.Figure:
    """Bars of counts (or suppressed labels) per category, optionally split by `color`."""
    parts = table.groupby(color, sort=True) if color else [("", table)]
    fig = go.Figure([_bar(name=str(name), x=[str(v) for v in g[x]], values=list(g[y]), textposition="outside")
                     for name, g in parts])
    return _layout(fig, title, barmode="group", yaxis_title=y_title or y, xaxis_title=x_title or "",
                   showlegend=bool(color), legend=dict(orientation="h", yanchor="bottom", y=1.02, x=0),
                   margin=dict(l=10, r=10, t=90, b=10))


def bodies_sentence(table: pd.DataFrame, *, k: int = 10) -> str | None:
    """Where alumni sit in words when no body's count may be shown (every count hidden): "Alumni sit on
    18 bodies (8 city, 10 school district); each has fewer than 10 alumni." None when some count shows
    (then draw the bars). Only the number of bodies, which the table lists anyway, is told.

    >>> bodies_sentence(pd.DataFrame({"level": ["city", "city"], "graduates": ["<10", "<10"]}))
    'Alumni sit on 2 bodies (2 city); each has fewer than 10 alumni.'
    """
    if table is None or table.empty or not all(hidden(v) for v in table["graduates"]):
        return None
    levels = table["level"].fillna("level not recorded").value_counts() if "level" in table else pd.Series()
    parts = ", ".join(f"{n:,} {lvl}" for lvl, n in levels.sort_index().items())
    small = all(str(v).startswith("<") for v in table["graduates"])
    tail = f"each has fewer than {k} alumni" if small else "their counts are not shown (too few alumni to share)"
    return (f"Alumni sit on {len(table):,} bod{'y' if len(table) == 1 else 'ies'}"
            + (f" ({parts})" if parts else "") + f"; {tail}.")


def rollup_by_level(table: pd.DataFrame) -> pd.DataFrame:
    """Bodies per level with how many show a count: level, bodies, graduates (sum of shown counts, or the
    label when any is hidden: a sum of hidden counts is never computed from labels)."""
    rows = []
    for lvl, g in table.groupby(table["level"].fillna("level not recorded"), sort=True):
        vals = list(g["graduates"])
        rows.append({"level": lvl, "bodies": len(g),
                     "graduates": (f"{sum(int(number(v)) for v in vals):,}" if not any(hidden(v) for v in vals)
                                   else "some hidden")})
    return pd.DataFrame(rows, columns=["level", "bodies", "graduates"])


def _other(waves: pd.DataFrame, col: str, i: int):
    """The other line's value at point i (for placing labels apart)."""
    other = "cross_class" if col == "cross_race" else "cross_race"
    if other not in waves:
        return None
    v = waves[other].iloc[i]
    return None if v is None or isinstance(v, str) or v != v else float(v)


def _label_sides(vals, others) -> list[str]:
    """Each point's label above its marker when it is the higher of the two lines there, below otherwise."""
    return ["top center" if v is None or o is None or v >= o else "bottom center" for v, o in zip(vals, others)]
