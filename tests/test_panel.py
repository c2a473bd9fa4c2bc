"""Answers an evaluator can defend: same-respondent comparisons, bootstrap intervals, Benjamini-Hochberg
q-values and the plain-language findings, on hand-worked data and on the demo."""
from __future__ import annotations

import pandas as pd
import pytest

from graph.dataset import Dataset
from graph.model import TABLES
from queries import findings
from queries.inference import bh_qvalues, bootstrap_ratio_draws, expected_false_positives, percentile_interval
from queries.panel import cohort_wave_comparisons, respondent_counts, wave_comparison


def _dataset(people: dict[str, str], ties: list[tuple[str, str, str]], enrollments=()) -> Dataset:
    def frame(table, rows):
        return pd.DataFrame(rows, columns=list(TABLES[table].columns), dtype=object)
    tables = {t: frame(t, []) for t in TABLES}
    tables["people"] = frame("people", [{"person_id": p, "race_ethnicity": g, "income_band": "low"}
                                        for p, g in people.items()])
    tables["ties"] = frame("ties", [{"from_person_id": f, "to_person_id": t, "wave": w} for f, t, w in ties])
    tables["enrollments"] = frame("enrollments", [{"person_id": p, "cohort_id": c} for p, c in enrollments])
    return Dataset(tables={t: df.where(df.notna(), None) for t, df in tables.items()})


# a and b answer both waves. Before, they name each other (0 of 2 across); four others answered only the
# pre survey and each named someone of the other group (4 across). After, a names c (across) and b names a.
#   same respondents (a, b): 0/2 = 0%  ->  1/2 = 50%    up 50 points
#   all respondents:         4/6 = 67% ->  1/2 = 50%    down 17 points
PANEL = _dataset({"a": "x", "b": "x", "c": "y", "d": "y", "e": "y", "f": "x"},
                 [("a", "b", "pre"), ("b", "a", "pre"), ("c", "a", "pre"), ("d", "b", "pre"), ("e", "f", "pre"),
                  ("f", "c", "pre"), ("a", "c", "post"), ("b", "a", "post")])


def test_same_respondents_and_pooled_answers_differ_in_sign():
    c = wave_comparison(PANEL, attributes=("race_ethnicity",), n_boot=200)
    assert (c["before"], c["after"]) == ("pre", "post")
    assert c["respondents"] == {"before": 6, "after": 2, "both": 2}
    r = c["by_attribute"]["race_ethnicity"]
    assert (r["panel"]["before"]["share"], r["panel"]["after"]["share"]) == (0.0, 0.5)
    assert r["panel"]["change"]["share"] == pytest.approx(0.5)
    assert r["all"]["before"]["share"] == pytest.approx(4 / 6) and r["all"]["after"]["share"] == 0.5
    assert r["all"]["change"]["share"] == pytest.approx(0.5 - 4 / 6)
    assert r["panel"]["change"]["share"] > 0 > r["all"]["change"]["share"]
    assert r["panel"]["after"]["ei"] == pytest.approx(0.0)            # E-I = 2 x share - 1
    assert c["too_few"]                                                 # 2 people: too few to tell
    text = findings.panel_sentence("race_ethnicity", c)
    assert text.startswith("Only 2 people answered both") and "too few to tell" in text


def test_respondents_count_even_without_a_matched_tie():
    ds = _dataset({"a": "x", "b": "y"}, [("a", "b", "pre")])
    ds.tables["ties"].loc[len(ds.ties)] = {"from_person_id": "b", "to_person_id": None, "to_name": "Someone",
                                           "wave": "pre"}
    counts = respondent_counts(ds, "pre", "race_ethnicity")
    assert counts.to_dict("index") == {"a": {"ties": 1, "cross": 1}, "b": {"ties": 0, "cross": 0}}


def test_no_second_wave_means_no_comparison():
    assert wave_comparison(_dataset({"a": "x", "b": "y"}, [("a", "b", "pre")])) is None


def test_bootstrap_is_seeded_paired_and_brackets_the_estimate():
    num, den = [[0, 1], [1, 2], [0, 1], [2, 2]], [[2, 2], [2, 2], [1, 1], [3, 3]]
    a = bootstrap_ratio_draws(num, den, n_boot=500, seed=3)
    assert (a == bootstrap_ratio_draws(num, den, n_boot=500, seed=3)).all()
    assert not (a == bootstrap_ratio_draws(num, den, n_boot=500, seed=4)).all()
    lo, hi = percentile_interval(a[:, 1] - a[:, 0])
    estimate = 6 / 8 - 3 / 8
    assert lo <= estimate <= hi and lo > -1 and hi < 1


def test_benjamini_hochberg_changes_which_cohorts_look_significant():
    # m = 4: p x m / rank = 0.004, 0.04, 0.0533, 0.30 (already increasing) -> q as listed
    p = [0.001, 0.02, 0.04, 0.30]
    q = bh_qvalues(p)
    assert q == pytest.approx([0.004, 0.04, 0.04 * 4 / 3, 0.30])
    assert [x < 0.05 for x in p] == [True, True, True, False]
    assert [x < 0.05 for x in q] == [True, True, False, False]          # the third cohort drops out
    assert bh_qvalues([0.5, None, float("nan")]) == [0.5, None, None]
    # a later, larger p can pull an earlier q down (step-up): q never exceeds the next one
    assert bh_qvalues([0.04, 0.045]) == pytest.approx([0.045, 0.045])
    assert expected_false_positives(p) == pytest.approx(0.2)
    sentence = findings.cohort_tests_sentence(p, q)
    assert "3 have p < 0.05" in sentence and "about 0.2 would by chance alone" in sentence and "2 remain" in sentence


def test_findings_never_claim_more_than_the_test():
    assert "about as often as" in findings.mixing_sentence("race_ethnicity", "post", 0.3, 0.1, 0.051)
    assert "more often than" in findings.mixing_sentence("race_ethnicity", "post", 0.3, 0.1, 0.049)
    assert "less often than" in findings.mixing_sentence("income_band", "pre", -0.3, 0.1, 0.01)
    assert "too few ties" in findings.mixing_sentence("income_band", "pre", None, None, None)
    unclear = {"before": "pre", "after": "post", "respondents": {"before": 40, "after": 30, "both": 25},
               "too_few": False, "level": 0.95,
               "by_attribute": {"race_ethnicity": {
                   "panel": {"before": {"share": 0.30}, "after": {"share": 0.35},
                             "change": {"share": 0.05, "share_ci": [-0.03, 0.12], "clear": False}},
                   "all": {"before": {"share": 0.31}, "after": {"share": 0.36}, "change": {"share": 0.05}}}}}
    text = findings.panel_sentence("race_ethnicity", unclear)
    assert "cannot tell this change from chance" in text and "+5 points" in text
    for f in findings.overview_findings({"parents": 10, "families": 6, "isolated_families": 1}, unclear):
        assert "caused the" not in f.text.replace("do not show that the program caused the change", "")


def test_findings_read_correctly_on_the_demo(tmp_path):
    from graph.store import SQLiteStore
    from ingest.demo import write_demo
    from ingest.load import load_package
    write_demo(tmp_path / "p", parents=600)
    with SQLiteStore(tmp_path / "s.sqlite") as store:
        load_package(tmp_path / "p", store)
        ds = store.read()
    c = wave_comparison(ds)
    assert c["respondents"]["both"] >= 100 and not c["too_few"]
    text = findings.panel_sentence("race_ethnicity", c)
    r = c["by_attribute"]["race_ethnicity"]["panel"]
    assert f"Among the {c['respondents']['both']} parents who answered both the pre and the post survey" in text
    assert f"went from {r['before']['share']:.0%} to {r['after']['share']:.0%}" in text
    assert r["change"]["clear"] and "cannot tell" not in text
    table = cohort_wave_comparisons(ds, n_boot=100)
    assert set(table["attribute"]) == {"race_ethnicity", "income_band"}
    assert (table["respondents_both"] <= table[["respondents_before", "respondents_after"]].min(axis=1)).all()


def test_linearized_interval_agrees_with_the_bootstrap():
    import numpy as np

    from queries.inference import linearized_ratio_interval
    rng = np.random.default_rng(5)
    den = rng.integers(1, 6, size=(4000, 2)).astype(float)
    num = rng.binomial(den.astype(int), [0.35, 0.6]).astype(float)
    boot = bootstrap_ratio_draws(num, den, n_boot=2000, seed=1)
    for contrast in ([1, 0], [0, 1], [-1, 1]):
        lo_b, hi_b = percentile_interval(boot @ np.array(contrast, dtype=float))
        lo_l, hi_l = linearized_ratio_interval(num, den, contrast=contrast)
        assert abs(lo_b - lo_l) < 0.004 and abs(hi_b - hi_l) < 0.004, (contrast, lo_b, lo_l, hi_b, hi_l)


def test_cohort_table_is_wave_comparison_of_each_cohort():
    """The batched per-cohort table gives, row for row, what wave_comparison gives each cohort's members
    (the same seeds: the same panel interval), on the demo's cohorts."""
    import sys
    from pathlib import Path
    sys.path.insert(0, str(Path(__file__).parent))
    from helpers_data import demo_dataset
    ds = demo_dataset()
    table = cohort_wave_comparisons(ds, n_boot=150, seed=4)
    members = ds.enrollments.groupby("cohort_id")["person_id"].apply(set)
    assert len(table) == 2 * len(members) > 0
    for i, (cohort, people) in enumerate(sorted(members.items())):
        c = wave_comparison(ds, attributes=("race_ethnicity", "income_band"), people=people, n_boot=150,
                            seed=4 + 1000 * i)
        for attr, r in c["by_attribute"].items():
            row = table[(table["cohort"] == cohort) & (table["attribute"] == attr)].iloc[0]
            assert (row["respondents_before"], row["respondents_after"], row["respondents_both"]) == \
                (c["respondents"]["before"], c["respondents"]["after"], c["respondents"]["both"])
            expect = [r["panel"]["before"]["share"], r["panel"]["after"]["share"], r["panel"]["change"]["share"],
                      *(r["panel"]["change"]["share_ci"] or [None, None]), r["all"]["before"]["share"],
                      r["all"]["after"]["share"], r["all"]["change"]["share"]]
            got = [row[k] for k in ("panel_before", "panel_after", "panel_change", "panel_change_low",
                                    "panel_change_high", "all_before", "all_after", "all_change")]
            assert got == pytest.approx(expect, nan_ok=True, abs=1e-12), (cohort, attr)
