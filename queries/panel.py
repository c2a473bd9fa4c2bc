"""Comparing survey waves on the same people: did the parents who answered both surveys name more people
across race and class lines afterwards?

For an evaluator, "cross-race ties rose from 35% to 73%" means little when the pre survey had 575
respondents and the post survey 199: the change mixes who answered with what changed. The main comparison
here is the **panel**: the respondents who answered both waves, their ties in each wave. The comparison of
all respondents of each wave is given beside it, labelled as such, with how many answered each wave.

Definitions (docs/metrics.md, "What a tie is"):

- a **respondent** of a wave is a person who named at least one person in that wave's survey (a row of
  ties.csv with that wave; someone who answered but named nobody is not in the data and cannot be counted);
- a respondent's **ties** in a wave are the people they named who matched a person (to_person_id), once
  each per wave, counted for an attribute only when both people have it recorded;
- the **cross-group share** is cross-group ties / ties; **E-I** = (cross - within) / ties = 2 x share - 1
  (Krackhardt & Stern 1988), so its interval is the share's, rescaled.

Uncertainty: a percentile bootstrap over respondents (their ties resampled together; the panel's two waves
resampled as pairs, so the interval of the change accounts for the pairing), seeded.
"""
from __future__ import annotations

import math

import numpy as np
import pandas as pd

from graph.dataset import Dataset
from queries.inference import (LINEARIZE_FROM, bootstrap_ratio_draws, linearized_ratio_interval,
                               percentile_interval)

__all__ = ["wave_order", "wave_pair", "respondent_counts", "wave_comparison", "cohort_wave_comparisons", "MIN_RESPONDENTS"]

_WAVE_RANK = {"baseline": 0, "pre": 1, "mid": 2, "post": 3, "follow-up": 4, "followup": 4}
#: Fewer respondents than this: the comparison is reported but called too small to tell.
MIN_RESPONDENTS = 10


def wave_order(waves, dates=None) -> list[str]:
    """The survey waves in time order: the usual names first (baseline, pre, mid, post, follow-up), then
    numbered waves by their number, then any other name by the median date of its ties (``dates``: the
    ties' observed_on, beside ``waves``), then by name.

    >>> wave_order(["post", "pre", "10", "9"]), wave_order(["fall", "spring"], ["2025-09-01", "2026-03-01"])
    (['pre', 'post', '9', '10'], ['fall', 'spring'])
    >>> wave_order(["spring", "fall"], ["2026-03-01", "2025-09-01"])
    ['fall', 'spring']
    """
    waves = list(waves)
    median = {}
    if dates is not None:
        frame = pd.DataFrame({"wave": waves, "when": pd.to_datetime(pd.Series(list(dates), dtype=object),
                                                                     errors="coerce", format="ISO8601")})
        frame = frame.dropna()
        if len(frame):
            median = frame.groupby("wave")["when"].median().to_dict()

    def key(w):
        name = str(w).lower()
        if name in _WAVE_RANK:
            return (0, _WAVE_RANK[name], "")
        try:
            return (1, float(name), "")
        except ValueError:
            when = median.get(w)
            return (2, when.value if when is not None and when == when else float("inf"), name)
    return sorted({w for w in waves if w is not None and w == w}, key=key)


def wave_pair(waves, dates=None) -> tuple[str, str] | None:
    """The (before, after) waves to compare: the first and last in :func:`wave_order` (pre and post when
    present).

    >>> wave_pair(["post", "pre", "pre"]), wave_pair(["2", "1", "3"]), wave_pair(["only"])
    (('pre', 'post'), ('1', '3'), None)
    """
    ordered = wave_order(waves, dates)
    return (ordered[0], ordered[-1]) if len(ordered) >= 2 else None


def respondent_counts(ds: Dataset, wave, attr: str) -> pd.DataFrame:
    """Per respondent of `wave`: ``ties`` (distinct matched people named, both with `attr` recorded) and
    ``cross`` (of those, people in another group). Indexed by person_id; respondents with no such tie are
    rows of zeros (they answered, so they count as respondents).

    >>> respondent_counts(_doc_dataset(), "post", "race_ethnicity").to_dict("index")
    {'a': {'ties': 2, 'cross': 1}, 'b': {'ties': 1, 'cross': 1}, 'e': {'ties': 1, 'cross': 0}}
    """
    ties = ds.ties
    in_wave = ties[ties["wave"] == wave]
    respondents = pd.Index(pd.unique(in_wave["from_person_id"].dropna()), name="person_id")
    named = in_wave.dropna(subset=["to_person_id"]).drop_duplicates(["from_person_id", "to_person_id"])
    named = named[named["from_person_id"] != named["to_person_id"]]
    # each person's group as an integer code (-1: not recorded, or not a person of the data)
    people = ds.people
    codes = (pd.factorize(people[attr], use_na_sentinel=True)[0] if attr in people
             else np.full(len(people), -1, dtype=np.int64))
    index = pd.Index(people["person_id"].to_numpy(dtype=object))
    codes = np.append(codes, -1)                 # position -1 (someone not in people) reads this: unknown
    g_from = codes[index.get_indexer(named["from_person_id"].to_numpy(dtype=object))]
    g_to = codes[index.get_indexer(named["to_person_id"].to_numpy(dtype=object))]
    known = (g_from >= 0) & (g_to >= 0)
    counts = pd.DataFrame({"person_id": named["from_person_id"].to_numpy(dtype=object)[known],
                           "cross": (g_from[known] != g_to[known]).astype(int)})
    agg = counts.groupby("person_id").agg(ties=("cross", "size"), cross=("cross", "sum"))
    return agg.reindex(respondents, fill_value=0).astype(int)[["ties", "cross"]]


def _intervals(num: np.ndarray, den: np.ndarray, contrasts, n_boot: int, seed: int, level: float) -> list:
    """Intervals for contrasts of the columns' ratios over the same units: the bootstrap (percentile), or
    from LINEARIZE_FROM units its large-sample equivalent by linearization (seconds saved at 100,000)."""
    if len(num) >= LINEARIZE_FROM:
        return [linearized_ratio_interval(num, den, contrast=c, level=level) for c in contrasts]
    draws = bootstrap_ratio_draws(num, den, n_boot=n_boot, seed=seed)
    return [percentile_interval(draws @ np.asarray(c, dtype=float), level) for c in contrasts]


def _independent_change(b: pd.DataFrame, a: pd.DataFrame, n_boot: int, seed: int, level: float):
    """The interval of the change between two independent samples of respondents."""
    if min(len(b), len(a)) >= LINEARIZE_FROM:
        lb = linearized_ratio_interval(b[["cross"]].to_numpy(), b[["ties"]].to_numpy(), level=level)
        la = linearized_ratio_interval(a[["cross"]].to_numpy(), a[["ties"]].to_numpy(), level=level)
        if lb[0] is None or la[0] is None:
            return None, None
        from statistics import NormalDist
        zq = NormalDist().inv_cdf(0.5 + level / 2)
        se = math.hypot((lb[1] - lb[0]) / (2 * zq), (la[1] - la[0]) / (2 * zq))
        delta = (la[0] + la[1]) / 2 - (lb[0] + lb[1]) / 2
        return delta - zq * se, delta + zq * se
    db = bootstrap_ratio_draws(b["cross"].to_numpy(), b["ties"].to_numpy(), n_boot=n_boot, seed=seed)
    da = bootstrap_ratio_draws(a["cross"].to_numpy(), a["ties"].to_numpy(), n_boot=n_boot, seed=seed + 1)
    return percentile_interval(da[:, 0] - db[:, 0], level)


def _summary(cross: float, ties: float, interval, level: float) -> dict:
    share = float(cross / ties) if ties else None
    lo, hi = interval
    return {"ties": int(ties), "cross": int(cross), "share": share,
            "share_ci": [lo, hi] if lo is not None else None,
            "ei": None if share is None else 2 * share - 1,
            "ei_ci": [2 * lo - 1, 2 * hi - 1] if lo is not None else None}


def _change(before: dict, after: dict, interval) -> dict:
    delta = None if before["share"] is None or after["share"] is None else float(after["share"] - before["share"])
    lo, hi = interval
    return {"share": delta, "share_ci": [lo, hi] if lo is not None else None,
            "ei": None if delta is None else 2 * delta,
            "ei_ci": [2 * lo, 2 * hi] if lo is not None else None,
            "clear": None if lo is None else bool(lo > 0 or hi < 0)}


def wave_comparison(ds: Dataset, before=None, after=None, *, attributes=("race_ethnicity", "income_band"),
                    people=None, n_boot: int = 1000, seed: int = 0, level: float = 0.95,
                    counts: dict | None = None) -> dict | None:
    """Two waves compared on the same respondents (``panel``) and on all respondents (``all``).

    ``before``/``after`` default to :func:`wave_pair` of the data's waves; ``people`` restricts respondents
    (e.g. one cohort's members); ``counts`` may hold :func:`respondent_counts` already computed, keyed by
    (wave, attribute) (many cohorts compared at once). Returns None when there are not two waves. Otherwise::

        {"before": "pre", "after": "post",
         "respondents": {"before": 575, "after": 199, "both": 198},
         "by_attribute": {attr: {"panel": {"before": S, "after": S, "change": C},
                                 "all": {"before": S, "after": S, "change": C}}},
         "too_few": bool, "level": 0.95, "n_boot": 1000, "method": "..."}

    with S = {ties, cross, share, share_ci, ei, ei_ci} and C = {share, share_ci, ei, ei_ci, clear}
    (``clear``: the interval of the change excludes 0). ``too_few`` when fewer than MIN_RESPONDENTS
    answered both waves. Shares are None where there are no ties.

    In the example, a and b answered both waves; c only the first, e only the second. The panel's share of
    cross-race ties went from 0 of 2 to 2 of 3; all respondents' from 1 of 3 to 2 of 4:

    >>> c = wave_comparison(_doc_dataset(), attributes=("race_ethnicity",), n_boot=200)
    >>> c["respondents"]
    {'before': 3, 'after': 3, 'both': 2}
    >>> r = c["by_attribute"]["race_ethnicity"]
    >>> [round(r[k][w]["share"], 3) for k in ("panel", "all") for w in ("before", "after")]
    [0.0, 0.667, 0.333, 0.5]
    """
    if before is None or after is None:
        pair = wave_pair(ds.ties["wave"], ds.ties["observed_on"])
        if pair is None:
            return None
        before, after = pair
    keep = None if people is None else set(people)
    out = {"before": before, "after": after, "by_attribute": {}, "level": level, "n_boot": n_boot,
           "method": (f"percentile bootstrap over respondents ({n_boot} resamples, seed {seed}; from "
                      f"{LINEARIZE_FROM:,} respondents its large-sample equivalent by linearization); the panel's "
                      "two waves resampled as pairs")}
    for k, attr in enumerate(attributes):
        counts = counts if counts is not None else {}
        b = counts[(before, attr)] if (before, attr) in counts else respondent_counts(ds, before, attr)
        a = counts[(after, attr)] if (after, attr) in counts else respondent_counts(ds, after, attr)
        if keep is not None:
            b, a = _rows_of(b, keep), _rows_of(a, keep)
        both = b.index.intersection(a.index)
        out["respondents"] = {"before": len(b), "after": len(a), "both": len(both)}
        # the panel: the same people, paired
        pb, pa = b.loc[both], a.loc[both]
        num = np.column_stack([pb["cross"], pa["cross"]])
        den = np.column_stack([pb["ties"], pa["ties"]])
        iv = _intervals(num, den, [[1, 0], [0, 1], [-1, 1]], n_boot, seed + k, level)
        panel_before = _summary(pb["cross"].sum(), pb["ties"].sum(), iv[0], level)
        panel_after = _summary(pa["cross"].sum(), pa["ties"].sum(), iv[1], level)
        panel = {"before": panel_before, "after": panel_after, "change": _change(panel_before, panel_after, iv[2])}
        # everyone who answered each wave: two independent samples
        ib = _intervals(b[["cross"]].to_numpy(), b[["ties"]].to_numpy(), [[1]], n_boot, seed + 100 + k, level)[0]
        ia = _intervals(a[["cross"]].to_numpy(), a[["ties"]].to_numpy(), [[1]], n_boot, seed + 200 + k, level)[0]
        all_before = _summary(b["cross"].sum(), b["ties"].sum(), ib, level)
        all_after = _summary(a["cross"].sum(), a["ties"].sum(), ia, level)
        change_iv = _independent_change(b, a, n_boot, seed + 300 + k, level)
        everyone = {"before": all_before, "after": all_after, "change": _change(all_before, all_after, change_iv)}
        out["by_attribute"][attr] = {"panel": panel, "all": everyone}
    out.setdefault("respondents", {"before": 0, "after": 0, "both": 0})
    out["too_few"] = out["respondents"]["both"] < MIN_RESPONDENTS
    return out


def _rows_of(frame: pd.DataFrame, people) -> pd.DataFrame:
    """The rows of ``frame`` (indexed by unique person ids) of ``people``, in the frame's order: a lookup per
    person in the index's hash table, built once, rather than a scan of every respondent for each of
    hundreds of cohorts (81 of 130 s of the cohort comparisons at 100,000 parents)."""
    if not frame.index.is_unique:
        return frame[frame.index.isin(people)]
    pos = frame.index.get_indexer(pd.Index(list(people), dtype=object))
    return frame.iloc[np.sort(pos[pos >= 0])]


def cohort_wave_comparisons(ds: Dataset, before=None, after=None, *, attributes=("race_ethnicity", "income_band"),
                            n_boot: int = 500, seed: int = 0, level: float = 0.95,
                            counts: dict | None = None) -> pd.DataFrame:
    """:func:`wave_comparison` for each cohort's members, as one row per cohort and attribute: cohort,
    attribute, respondents before/after/both, panel shares before/after, change and its interval, and the
    all-respondents shares and change beside them.

    The same numbers as calling :func:`wave_comparison` per cohort (tested), with only the interval that the
    table shows (the panel's change) drawn: each wave's respondents are counted once, a cohort's rows are
    picked by position, and nothing else is resampled (2,224 cohorts at 100,000 parents). ``counts``: as for
    :func:`wave_comparison` (the respondents' counts, shared with the whole-program comparison).
    """
    cols = ["cohort", "attribute", "respondents_before", "respondents_after", "respondents_both",
            "panel_before", "panel_after", "panel_change", "panel_change_low", "panel_change_high",
            "all_before", "all_after", "all_change"]
    if before is None or after is None:
        pair = wave_pair(ds.ties["wave"], ds.ties["observed_on"])
        if pair is None:
            return pd.DataFrame(columns=cols)
        before, after = pair
    # each wave's respondents counted once, as arrays; every cohort's rows found by position in one pass
    counts = {(w, attr): (counts or {}).get((w, attr)) for w in (before, after) for attr in attributes}
    counts = {key: frame if frame is not None else respondent_counts(ds, *key) for key, frame in counts.items()}
    arrays = {key: (frame["cross"].to_numpy(dtype=float), frame["ties"].to_numpy(dtype=float))
              for key, frame in counts.items()}
    index = {w: counts[(w, attributes[0])].index for w in (before, after)} if attributes else {}
    member_rows = ds.enrollments[["cohort_id", "person_id"]].dropna().drop_duplicates()
    cohorts, code = np.unique(member_rows["cohort_id"].to_numpy(dtype=object).astype(str), return_inverse=True) \
        if len(member_rows) else (np.array([], dtype=object), np.array([], dtype=np.int64))
    people = member_rows["person_id"].to_numpy(dtype=object)
    where = {w: _cohort_positions(code, index[w].get_indexer(people), len(cohorts)) for w in index}
    b_to_a = index[after].get_indexer(index[before]) if attributes else None
    rows = []
    for i, cohort in enumerate(cohorts):
        if not attributes:
            break
        pb, pa = where[before][i], where[after][i]
        if not len(pb) and not len(pa):
            continue
        # the panel: the cohort's respondents of both waves, in the before wave's order, paired
        both_b = pb[b_to_a[pb] >= 0]
        both_a = b_to_a[both_b]
        for k, attr in enumerate(attributes):
            (cb, tb), (ca, ta) = arrays[(before, attr)], arrays[(after, attr)]
            num = np.column_stack([cb[both_b], ca[both_a]])
            den = np.column_stack([tb[both_b], ta[both_a]])
            lo, hi = _intervals(num, den, [[-1, 1]], n_boot, seed + 1000 * i + k, level)[0]
            share = [_share(num[:, j].sum(), den[:, j].sum()) for j in (0, 1)]
            every = [_share(cb[pb].sum(), tb[pb].sum()), _share(ca[pa].sum(), ta[pa].sum())]
            rows.append([cohort, attr, len(pb), len(pa), len(both_b), share[0], share[1],
                         _delta(share[0], share[1]), lo, hi, every[0], every[1], _delta(every[0], every[1])])
    return pd.DataFrame(rows, columns=cols)


def _cohort_positions(code: np.ndarray, pos: np.ndarray, k: int) -> list[np.ndarray]:
    """Per cohort (``code`` per membership row), the sorted positions ``pos`` of its members among a wave's
    respondents (members who did not answer left out)."""
    kept = pos >= 0
    code, pos = code[kept], pos[kept]
    order = np.lexsort((pos, code))
    code, pos = code[order], pos[order]
    return np.split(pos, np.searchsorted(code, np.arange(1, k)))


def _share(cross: float, ties: float) -> float | None:
    return float(cross / ties) if ties else None


def _delta(before: float | None, after: float | None) -> float | None:
    return None if before is None or after is None else float(after - before)


def _doc_dataset() -> Dataset:
    """Five people for the doctests: a, b (group x), c, d (group y), e (x). Pre: a->b, b->a, c->a. Post:
    a->c, a->b, b->d, e->a."""
    from graph.model import TABLES

    def frame(table, rows):
        return pd.DataFrame(rows, columns=list(TABLES[table].columns), dtype=object)

    tables = {t: frame(t, []) for t in TABLES}
    tables["people"] = frame("people", [{"person_id": p, "race_ethnicity": g} for p, g in zip("abcde", "xxyyx")])
    tables["ties"] = frame("ties", [{"from_person_id": f, "to_person_id": t, "wave": w} for f, t, w in
                                    [("a", "b", "pre"), ("b", "a", "pre"), ("c", "a", "pre"), ("a", "c", "post"),
                                     ("a", "b", "post"), ("b", "d", "post"), ("e", "a", "post")]])
    return Dataset(tables={t: df.where(df.notna(), None) for t, df in tables.items()})
