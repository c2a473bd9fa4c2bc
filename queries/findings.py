"""Plain-language findings: two to four sentences that open an analysis page, written from the numbers.

Pure functions of plain data (the dicts the analyses return, or the same shaped for a funder, where counts
may be "<10" and suppressed values None). The wording never claims more than the test shows: "more often
than random mixing would give" only with p < 0.05, "about as often" otherwise, "too few ... to tell" where
there is too little data, never "caused". Each finding names the figure that supports it (``anchor``).
"""
from __future__ import annotations

import math
from dataclasses import dataclass

__all__ = ["Finding", "mixing_sentence", "panel_sentence", "cohort_tests_sentence", "bridging_findings",
           "overview_findings", "pipeline_findings", "ALPHA"]

ALPHA = 0.05
_NAMES = {"race_ethnicity": ("race", "racial lines"), "income_band": ("class", "class lines (income bands)")}


@dataclass(frozen=True)
class Finding:
    """One sentence, and the id of the figure on the page that supports it (None: none)."""

    text: str
    anchor: str | None = None


def _num(value) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and not math.isnan(value)


def _p(p) -> str:
    return "p < 0.001" if p < 0.001 else f"p = {p:.3f}" if p < 0.01 else f"p = {p:.2f}"


def _count(value) -> str:
    return f"{value:,}" if _num(value) else str(value)


def mixing_sentence(attr: str, wave: str, observed, expected, p_value) -> str:
    """How often a wave's ties crossed group lines, against random mixing (a permutation test).

    >>> mixing_sentence("race_ethnicity", "post", -0.05, -0.03, 0.26)
    'In the post survey, ties crossed racial lines about as often as random mixing would give (E-I -0.05, expected -0.03, p = 0.26).'
    >>> mixing_sentence("race_ethnicity", "pre", -0.31, -0.02, 0.0001)
    'In the pre survey, ties crossed racial lines less often than random mixing would give (E-I -0.31, expected -0.02, p < 0.001).'
    >>> mixing_sentence("income_band", "pre", None, None, None)
    'In the pre survey there were too few ties between people with a known income band to test whether they crossed class lines (income bands).'
    """
    name, lines = _NAMES.get(attr, (attr, f"{attr} lines"))
    if not (_num(observed) and _num(expected) and _num(p_value)):
        what = "income band" if attr == "income_band" else "race/ethnicity" if attr == "race_ethnicity" else attr
        return (f"In the {wave} survey there were too few ties between people with a known {what} to test whether "
                f"they crossed {lines}.")
    if p_value >= ALPHA:
        how = "about as often as"
    else:
        how = "more often than" if observed > expected else "less often than"
    return (f"In the {wave} survey, ties crossed {lines} {how} random mixing would give "
            f"(E-I {observed:+.2f}, expected {expected:+.2f}, {_p(p_value)}).")


def panel_sentence(attr: str, comparison: dict) -> str:
    """What changed for the people who answered both surveys (queries.panel.wave_comparison), with the
    all-respondents comparison named for what it is.

    >>> c = {"before": "pre", "after": "post", "respondents": {"before": 575, "after": 199, "both": 198},
    ...      "too_few": False, "level": 0.95, "by_attribute": {"race_ethnicity": {
    ...      "panel": {"before": {"share": 0.34}, "after": {"share": 0.73},
    ...                "change": {"share": 0.39, "share_ci": [0.34, 0.45], "clear": True}},
    ...      "all": {"before": {"share": 0.35}, "after": {"share": 0.73}, "change": {"share": 0.38}}}}}
    >>> panel_sentence("race_ethnicity", c)
    'Among the 198 parents who answered both the pre and the post survey, the share of the people they named across racial lines went from 34% to 73% (+39 points; 95% interval +34 to +45). Counting everyone who answered each survey (575, then 199 respondents) gives 35% to 73%, which mixes a change in who answered with a change in ties.'
    """
    name, lines = _NAMES.get(attr, (attr, f"{attr} lines"))
    both = comparison["respondents"]["both"]
    before, after = comparison["before"], comparison["after"]
    r = comparison["by_attribute"].get(attr)
    if comparison.get("too_few") or not _num(both) or r is None:
        return (f"Only {_count(both)} people answered both the {before} and the {after} survey: too few to tell "
                f"whether their ties across {lines} changed.")
    p, everyone = r["panel"], r["all"]
    if not (_num(p["before"]["share"]) and _num(p["after"]["share"])):
        return (f"The {_count(both)} people who answered both surveys named too few people with a known {name} "
                "to compare.")
    ci = p["change"].get("share_ci")
    level = round(100 * comparison.get("level", 0.95))
    change = p["change"]["share"]
    text = (f"Among the {_count(both)} parents who answered both the {before} and the {after} survey, the share of "
            f"the people they named across {lines} went from {p['before']['share']:.0%} to {p['after']['share']:.0%} "
            f"({100 * change:+.0f} points")
    if ci and _num(ci[0]):
        text += f"; {level}% interval {100 * ci[0]:+.0f} to {100 * ci[1]:+.0f})"
        if not p["change"].get("clear"):
            text += ": the interval includes no change, so the surveys cannot tell this change from chance"
    else:
        text += ")"
    text += "."
    rb, ra = comparison["respondents"]["before"], comparison["respondents"]["after"]
    if _num(everyone["before"].get("share")) and _num(everyone["after"].get("share")):
        text += (f" Counting everyone who answered each survey ({_count(rb)}, then {_count(ra)} respondents) gives "
                 f"{everyone['before']['share']:.0%} to {everyone['after']['share']:.0%}, which mixes a change in "
                 "who answered with a change in ties.")
    return text


def cohort_tests_sentence(p_values, q_values) -> str | None:
    """How many per-cohort tests look significant, against how many would by chance alone.

    >>> cohort_tests_sentence([0.01, 0.04, 0.3, 0.002], [0.02, 0.053, 0.3, 0.008])
    'Of 4 cohort tests, 3 have p < 0.05, where about 0.2 would by chance alone; 2 remain when the false discovery rate is held at 5% (q < 0.05, Benjamini-Hochberg).'
    """
    ps = [p for p in p_values if _num(p)]
    if not ps:
        return None
    significant = sum(p < ALPHA for p in ps)
    kept = sum(q < ALPHA for q in q_values if _num(q))
    return (f"Of {len(ps):,} cohort tests, {significant:,} have p < 0.05, where about {ALPHA * len(ps):.1f} would by "
            f"chance alone; {kept:,} remain when the false discovery rate is held at 5% (q < 0.05, Benjamini-Hochberg).")


def bridging_findings(tests: list[dict], comparison: dict | None, *, cohort_p=(), cohort_q=()) -> list[Finding]:
    """The Bridging page's opening: mixing against chance in the first and last wave (race), the panel's
    change (race, then class), and the per-cohort tests against chance.

    ``tests``: rows of the all-participants permutation tests {wave, attribute (race|class), observed,
    expected, p_value}; ``comparison``: queries.panel.wave_comparison (or None).
    """
    out = []
    by = {(t["wave"], t["attribute"]): t for t in tests}
    waves = list(dict.fromkeys(t["wave"] for t in tests))
    shown = [waves[-1], waves[0]] if len(waves) > 1 else waves
    for i, w in enumerate(shown):
        t = by.get((w, "race"))
        if t:
            text = mixing_sentence("race_ethnicity", w, t.get("observed"), t.get("expected"), t.get("p_value"))
            out.append(Finding(text if i == 0 else "Before, " + text[0].lower() + text[1:], "all-participants"))
    if comparison:
        out.append(Finding(panel_sentence("race_ethnicity", comparison), "same-respondents"))
    sentence = cohort_tests_sentence(cohort_p, cohort_q)
    if sentence:
        out.append(Finding(sentence, "per-cohort"))
    return out[:4]


def overview_findings(headline: dict, comparison: dict | None) -> list[Finding]:
    """The Overview's opening: who is in the network, the same-respondent change across race and class."""
    out = [Finding(f"The network holds {_count(headline.get('parents'))} parents in {_count(headline.get('families'))} "
                   f"families; {_count(headline.get('isolated_families'))} families have no parent with any tie.",
                   "isolated-families")]
    if comparison:
        out.append(Finding(panel_sentence("race_ethnicity", comparison), "before-and-after"))
        text = panel_sentence("income_band", comparison)
        if not comparison.get("too_few"):
            out.append(Finding(text, "before-and-after"))
    out.append(Finding("These are associations in survey answers and program records; on their own they do not show "
                       "that the program caused the change."))
    return out


def pipeline_findings(funnel: dict, median_days) -> list[Finding]:
    """The Pipeline page's opening: how many graduates hold a seat, and how long it takes (Kaplan-Meier).

    >>> [f.text for f in pipeline_findings({"graduated": 200, "appointed": 50}, 296.0)]
    ['Of 200 graduates, 50 hold or have held a seat on a decision-making body.', 'Half of the graduates reach a seat within 296 days of graduating (Kaplan-Meier: graduates not yet seated count for as long as they have been watched).']
    >>> [f.text for f in pipeline_findings({"graduated": "<10", "appointed": "<10"}, None)][1]
    'Fewer than half of the graduates hold a seat so far, so the time by which half of them do is not known yet.'
    """
    out = [Finding(f"Of {_count(funnel.get('graduated'))} graduates, {_count(funnel.get('appointed'))} hold or have "
                   "held a seat on a decision-making body.", "sankey")]
    if _num(median_days):
        out.append(Finding(f"Half of the graduates reach a seat within {median_days:,.0f} days of graduating "
                           "(Kaplan-Meier: graduates not yet seated count for as long as they have been watched).",
                           "time-to-seat"))
    else:
        out.append(Finding("Fewer than half of the graduates hold a seat so far, so the time by which half of them do "
                           "is not known yet.", "time-to-seat"))
    return out
