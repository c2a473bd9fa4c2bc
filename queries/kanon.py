"""k-anonymity for evaluators' per-person exports: no one stands out by who they are on paper.

A pseudonym hides a name, but not a person: "the one Somali-speaking grandmother in the 2025 cohort at
site S2" is one family even under ``p-3f...``. The columns that an outsider could know and link on are
the *quasi-identifiers* (``QUASI_IDENTIFIERS``: race/ethnicity, income band, language, site,
neighborhood, cohort, role). A table is *k-anonymous* when every combination of their values that
occurs is shared by at least k rows (Sweeney 2002): whoever knows a person's quasi-identifiers can
narrow them down to k rows, never to one.

:func:`k_anonymize` makes a people table k-anonymous by generalization and suppression (Samarati
2001; Sweeney 2002), column by column in a fixed order, deterministic so that the same input always
gives the same export:

1. *Rare values.* In each column, every value held by fewer than k people becomes ``"other"``.
   A missing value (None, NaN) is a value of its own, "unknown", throughout: it is never grouped
   as "other", and blanking makes a value missing.
2. *Generalization.* While some people are in a combination shared by fewer than k, one column is
   coarsened one step up its ladder, taking the first step, in ``COARSEN_ORDER`` (neighborhood,
   cohort, language, income band, race/ethnicity, site, role: the most identifying and least
   analysed first) and from fine to coarse, that leaves fewer people in such combinations: coarsened
   for those people only if that helps (local recoding, which keeps the most), or else for everyone
   (global recoding: blanking a language for the two people alone with it leaves them alone again,
   among the blanks, while blanking the column for all merges them with the rest), but only if
   that changes no more values than suppressing the people it rescues, and k others, would.
   Ladders: primary_language -> its most common value and "other"; cohort_id -> the steps given in
   ``hierarchies`` (:func:`k_anonymous_dataset` gives program at site, then program); every
   column's last step is *blanked* (None). If no single step helps, the first column left is
   coarsened for the people still alone.
3. *Suppression.* Coarsening the people still alone ends in blanking all their quasi-identifiers:
   they are *suppressed* and counted. If the rows with every quasi-identifier blank are fewer than
   k, more are blanked, taken from the largest combination (which keeps k or more), so that every
   combination in the result, "all unknown" included, has at least k rows.

Because a combination's people are always coarsened together and each step is a function of the one
before, combinations only ever merge: no one becomes more identifiable along the way. The report
says what was coarsened for how many people, how many were suppressed and the k reached
(:func:`smallest_class`: check it on the result). With fewer than k people in all no table can be
k-anonymous: every quasi-identifier is blanked and ``k_reached`` (the number of people) is below k.

What it does not do (docs/k-anonymity.md): a combination whose k people share a sensitive value still
discloses it (l-diversity, Machanavajjhala et al. 2007, is not applied), and the network's structure
(degree, neighbours) can single out a node whatever its labels say: a pseudonymized, k-anonymous network
is still sensitive data.

References: Sweeney, L. (2002). k-anonymity: a model for protecting privacy. International Journal
of Uncertainty, Fuzziness and Knowledge-Based Systems 10(5), 557-570. Sweeney, L. (2002). Achieving
k-anonymity privacy protection using generalization and suppression. IJUFKS 10(5), 571-588.
Samarati, P. (2001). Protecting respondents' identities in microdata release. IEEE Transactions on
Knowledge and Data Engineering 13(6), 1010-1027. Local recoding: Xu, J. et al. (2006). Utility-based
anonymization using local recoding. KDD 2006, 785-790.
"""
from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd

from graph.dataset import Dataset
from queries.errors import QueryError

__all__ = ["QUASI_IDENTIFIERS", "COARSEN_ORDER", "OTHER", "k_anonymize", "k_anonymous_dataset", "smallest_class",
           "first_cohort", "summary"]

#: The columns of the people table (and ``cohort_id``: a person's first cohort) an outsider could link on.
QUASI_IDENTIFIERS = ("race_ethnicity", "income_band", "primary_language", "site_id", "neighborhood", "cohort_id",
                     "role")
#: The order in which columns are coarsened: the most identifying and least analysed first, role (which
#: every analysis splits by) last. Quasi-identifiers not listed here come before all of these.
COARSEN_ORDER = ("neighborhood", "cohort_id", "primary_language", "income_band", "race_ethnicity", "site_id", "role")
#: What a rare value becomes.
OTHER = "other"

_RARE = "rare values (fewer than {k} people) grouped as 'other'"
_BLANKED = "blanked"
_TOP = "most common value ({top}) kept and the rest grouped as 'other'"


def k_anonymize(people: pd.DataFrame, *, k: int = 5, quasi: Sequence[str] = QUASI_IDENTIFIERS,
                hierarchies: Mapping[str, Sequence[tuple[str, Mapping]]] | None = None) -> tuple[pd.DataFrame, dict]:
    """A copy of ``people`` (one row per person) that is k-anonymous on the columns of ``quasi`` it has,
    and a report of what it took.

    The scheme (rare values -> "other", then coarsening column by column in ``COARSEN_ORDER``, for the
    people who need it or for everyone, then suppression of the few left) is described in the module
    docstring. ``hierarchies`` adds coarsening steps before blanking:
    ``{column: [(description, {value: coarser value}), ...]}``, finest first, each mapping applied to the
    values of the step before (a value it does not list becomes None; "other" and None stay as they are).

    The report: ``{"k", "k_reached" (the smallest combination after; 0 for no rows), "generalized"
    ({column: what was done, to how many people}), "changed" ({column: people whose value changed}),
    "suppressed_rows" (people whose quasi-identifiers were all blanked), "rows", "columns" (the
    quasi-identifiers checked)}``. Other columns and the row order are unchanged; the input is not.

    Twelve people, k = 5: two speak Spanish, a value fewer than 5 people hold, so it becomes "other";
    the two are then alone in their combination, and blanking the language of just those two would
    leave them alone again, so the language is blanked for everyone (7 + 5 people):

    >>> df = pd.DataFrame({"race_ethnicity": ["Black"] * 7 + ["White"] * 5,
    ...                    "primary_language": ["English"] * 5 + ["Spanish"] * 2 + ["English"] * 5})
    >>> out, report = k_anonymize(df, k=5)
    >>> out["primary_language"].unique().tolist(), out["race_ethnicity"].equals(df["race_ethnicity"])
    ([None], True)
    >>> report["generalized"], report["k_reached"], report["suppressed_rows"]
    ({'primary_language': 'blanked for 12 people'}, 5, 0)
    """
    k = _check_k(k)
    if not isinstance(people, pd.DataFrame):
        raise QueryError(f"k_anonymize needs a pandas DataFrame of people; got {type(people).__name__}")
    hierarchies = dict(hierarchies or {})
    cols = _present(people, quasi)
    n = len(people)
    out = people.copy()
    report = {"k": k, "k_reached": 0, "generalized": {}, "changed": {}, "suppressed_rows": 0, "rows": n,
              "columns": cols}
    if not cols or not n:
        report["k_reached"] = smallest_class(out, cols)
        return out, report

    original = {c: _clean(out[c]) for c in cols}
    ladders = {c: _Ladder(original[c], k, hierarchies.get(c, ()), top_value=(c == "primary_language"))
               for c in cols}
    order = ([c for c in cols if c not in COARSEN_ORDER] + [c for c in COARSEN_ORDER if c in cols])
    level = {c: np.zeros(n, dtype=np.int64) for c in cols}

    def sizes_with(c=None, lv=None) -> np.ndarray:
        return _class_sizes([ladders[x].codes_at(lv if x == c else level[x]) for x in cols], n)

    sizes = sizes_with()
    while True:
        small = sizes < k
        n_small = int(small.sum())
        if not n_small:
            break
        step = _helpful_step(order, ladders, level, small, n_small, k, sizes_with)
        if step is None:
            # no single step helps: coarsen the first column left for the people still alone; with every
            # column blanked this is suppression
            c = next((c for c in order if (small & (level[c] < ladders[c].top)).any()), None)
            if c is None:
                break
            t = int(level[c][small & (level[c] < ladders[c].top)].min()) + 1
            lv = np.where(small, np.maximum(level[c], t), level[c])
            step = (c, lv, sizes_with(c, lv))
        c, level[c], sizes = step

    was_blank = np.ones(n, dtype=bool)
    blank = np.ones(n, dtype=bool)
    for c in cols:
        was_blank &= pd.isna(original[c])
        blank &= pd.isna(ladders[c].values_at(level[c]))
    short = k - int(blank.sum())
    if 0 < short < k:
        # the people with every quasi-identifier blank are a combination of their own: fill it up to k with
        # people of the largest combination, which keeps k or more; if none can spare them, blank everyone
        free = np.where(blank, 0, sizes)
        donor = int(np.argmax(free))
        if free[donor] - short >= k:
            key = _row_keys([ladders[c].codes_at(level[c]) for c in cols], n)
            take = np.flatnonzero((key == key[donor]) & ~blank)[-short:]
        else:
            take = np.arange(n)
        for c in cols:
            level[c][take] = ladders[c].top
        blank[take] = True

    for c in cols:
        values = ladders[c].values_at(level[c])
        changed = np.array([a != b for a, b in zip(original[c], values)], dtype=bool)
        if changed.any():
            out[c] = pd.Series(values, index=out.index, dtype=object)
            report["changed"][c] = int(changed.sum())
            report["generalized"][c] = ladders[c].describe(level[c], changed)
    report["suppressed_rows"] = int((blank & ~was_blank).sum())
    report["k_reached"] = smallest_class(out, cols)
    return out, report


def smallest_class(people: pd.DataFrame, quasi: Sequence[str] = QUASI_IDENTIFIERS) -> int:
    """The size of the smallest group of rows sharing one combination of the ``quasi`` columns present
    (None and NaN count as one value, "unknown"): the k for which the table is k-anonymous. 0 for a
    table with no rows; the number of rows when none of the columns is present.

    >>> smallest_class(pd.DataFrame({"role": ["parent", "parent", "child"], "site_id": ["S1", "S1", None]}))
    1
    """
    if not isinstance(people, pd.DataFrame):
        raise QueryError(f"smallest_class needs a pandas DataFrame; got {type(people).__name__}")
    n = len(people)
    if not n:
        return 0
    cols = _present(people, quasi)
    sizes = _class_sizes([_codes(people[c].to_numpy(dtype=object)) for c in cols], n)
    return int(sizes.min())


def k_anonymous_dataset(ds: Dataset, *, k: int = 5) -> tuple[Dataset, dict]:
    """A copy of a (pseudonymized) dataset whose people table is k-anonymous on ``QUASI_IDENTIFIERS``,
    and the report of :func:`k_anonymize`.

    Each person's cohort is their first enrollment (:func:`first_cohort`); it is coarsened, when needed,
    to the program at its site, then to the program, then blanked (from ``ds.cohorts``). The results are
    written back into the people table's columns, and the (coarsened) cohort as a new people column
    ``cohort_id``, which the exports carry; ``enrollments`` and every other table are left as they are, so
    this protects the per-person exports (``queries.export``), not the whole dataset. A people table that
    already has a ``cohort_id`` column (a dataset made k-anonymous before) keeps it.

    >>> from queries.export import _doc_dataset
    >>> safe, report = k_anonymous_dataset(_doc_dataset(), k=2)
    >>> safe.people["race_ethnicity"].tolist(), report["k_reached"]
    (['x', 'x', 'y', 'y'], 2)
    """
    people = ds.people.copy()
    if "cohort_id" not in people.columns:
        people["cohort_id"] = people["person_id"].map(first_cohort(ds)).astype(object)
        people["cohort_id"] = people["cohort_id"].where(people["cohort_id"].notna(), None)
    out, report = k_anonymize(people, k=k, hierarchies={"cohort_id": _cohort_steps(ds)})
    return Dataset(tables={**ds.tables, "people": out}, contacts=ds.contacts), report


def first_cohort(ds: Dataset) -> pd.Series:
    """Each enrolled person's first cohort: the enrollment with the earliest ``enrolled_on`` (missing dates
    last, then by cohort id), as a Series of cohort ids indexed by person_id.

    >>> from queries.export import _doc_dataset
    >>> first_cohort(_doc_dataset()).empty
    True
    """
    e = ds.tables.get("enrollments")
    if e is None or e.empty:
        return pd.Series(dtype=object)
    e = e[e["person_id"].notna() & e["cohort_id"].notna()]
    when = e["enrolled_on"] if "enrolled_on" in e else pd.Series(None, index=e.index, dtype=object)
    order = e.assign(_missing=when.isna(), _when=when.fillna("").astype(str), _cohort=e["cohort_id"].astype(str))
    order = order.sort_values(["person_id", "_missing", "_when", "_cohort"], kind="stable")
    return order.drop_duplicates("person_id").set_index("person_id")["cohort_id"].astype(object)


def summary(report: Mapping) -> list[str]:
    """The report of :func:`k_anonymize` as short lines of text, without commas (so that a spreadsheet
    shows each line in one cell), for the head of a CSV export.

    >>> summary({"k": 5, "k_reached": 7, "generalized": {"neighborhood": "blanked"}, "suppressed_rows": 3,
    ...          "rows": 120, "columns": ["neighborhood", "role"]})
    ['k-anonymity: k=5 reached 7 on neighborhood; role (120 people)', 'generalized: neighborhood (blanked)', \
'suppressed: 3 people (all quasi-identifiers blanked)']
    """
    columns = "; ".join(report.get("columns", ())) or "no quasi-identifier columns"
    lines = [f"k-anonymity: k={report.get('k')} reached {report.get('k_reached')} on {columns}"
             + (f" ({report['rows']} people)" if "rows" in report else "")]
    generalized = report.get("generalized") or {}
    lines.append("generalized: " + ("; ".join(f"{c} ({how})" for c, how in generalized.items()) or "nothing"))
    lines.append(f"suppressed: {report.get('suppressed_rows', 0)} people (all quasi-identifiers blanked)")
    return [line.replace(",", ";") for line in lines]


# -- private helpers ---------------------------------------------------------------------


def _check_k(k) -> int:
    if isinstance(k, bool) or not isinstance(k, (int, np.integer)) or k < 1:
        raise QueryError(f"k must be a whole number of 1 or more; got {k!r}")
    return int(k)


def _present(people: pd.DataFrame, quasi) -> list[str]:
    if isinstance(quasi, str):
        raise QueryError("quasi must be a list of column names, not one text")
    return [c for c in dict.fromkeys(quasi) if c in people.columns]


def _missing(v) -> bool:
    return v is None or (isinstance(v, float) and v != v) or v is pd.NA or v is pd.NaT


def _codes(values: np.ndarray) -> np.ndarray:
    """Integer codes of a column's values, missing values sharing one code."""
    clean = np.array([None if _missing(v) else v for v in values], dtype=object)
    codes, _ = pd.factorize(clean, use_na_sentinel=False)
    return codes.astype(np.int64)


def _row_keys(codes: list[np.ndarray], n: int) -> np.ndarray:
    """One integer per row, equal for rows with the same codes in every column."""
    key = np.zeros(n, dtype=np.int64)
    for c in codes:
        key = key * (int(c.max()) + 1) + c
        key = np.unique(key, return_inverse=True)[1].astype(np.int64)  # compact: no overflow
    return key


def _class_sizes(codes: list[np.ndarray], n: int) -> np.ndarray:
    """For each row, how many rows share its combination of codes."""
    key = _row_keys(codes, n)
    return np.bincount(key)[key]


def _clean(column: pd.Series) -> np.ndarray:
    """A column's values as an object array, every kind of missing value as None."""
    return np.array([None if _missing(v) else v for v in column.to_numpy(dtype=object)], dtype=object)


class _Ladder:
    """One column's coarsening steps, finest (rare values grouped) first, blanked last, as values and codes
    per row. Each step is a function of the one before ("other" stays "other", None stays None), so
    coarsening a whole combination of people keeps them together."""

    def __init__(self, original: np.ndarray, k: int, extra: Sequence[tuple[str, Mapping]], *, top_value: bool):
        present = pd.Series(original).dropna()
        counts = present.value_counts(sort=True)
        rare = set(counts.index[counts < k])
        first = np.array([OTHER if v is not None and v in rare else v for v in original], dtype=object)
        self.labels = [_RARE.format(k=k)]
        steps = [first]
        for desc, mapping in extra:
            steps.append(np.array([v if v is None or v == OTHER else mapping.get(v) for v in steps[-1]],
                                  dtype=object))
            self.labels.append(str(desc))
        if top_value and len(counts) > 2:
            top = counts.index[0]
            steps.append(np.array([v if v is None or v == top else OTHER for v in steps[-1]], dtype=object))
            self.labels.append(_TOP.format(top=top))
        steps.append(np.full(len(original), None, dtype=object))
        self.labels.append(_BLANKED)
        kept = [0]  # a step that changes nothing (blanking an empty column) is no step
        for i in range(1, len(steps)):
            if not all(a == b for a, b in zip(steps[i], steps[kept[-1]])):
                kept.append(i)
        self.steps = [steps[i] for i in kept]
        self.labels = [self.labels[i] for i in kept]
        self.top = len(self.steps) - 1
        self.values = np.vstack(self.steps) if self.steps else np.empty((0, len(original)), dtype=object)
        codes, _ = pd.factorize(self.values.ravel(), use_na_sentinel=False)
        self.codes = codes.reshape(self.values.shape).astype(np.int64)
        self._rows = np.arange(len(original))

    def codes_at(self, level: np.ndarray) -> np.ndarray:
        return self.codes[level, self._rows]

    def values_at(self, level: np.ndarray) -> np.ndarray:
        return self.values[level, self._rows]

    def describe(self, level: np.ndarray, changed: np.ndarray) -> str:
        parts = []
        for i, label in enumerate(self.labels):
            m = int((changed & (level == i)).sum())
            if m:
                parts.append(f"{label} for {m} people")
        return "; ".join(parts)


def _helpful_step(order, ladders, level, small, n_small, k, sizes_with):
    """The first step, in column order and then from fine to coarse, that leaves fewer people alone in a
    combination of under k: coarsening the column for those people only, or else for everyone, if that
    changes no more values than suppressing the people it rescues and k others would (so that three
    people alone are not rescued by blanking everyone's role)."""
    everyone = np.ones(len(small), dtype=bool)
    width = len(order)
    for c in order:
        lv = level[c]
        below = small & (lv < ladders[c].top)
        if not below.any():
            continue
        for t in range(int(lv[below].min()) + 1, ladders[c].top + 1):
            for scope in (small, everyone):
                new = np.where(scope, np.maximum(lv, t), lv)
                if np.array_equal(new, lv):
                    continue
                trial = sizes_with(c, new)
                rescued = n_small - int((trial < k).sum())
                if rescued <= 0:
                    continue
                if scope is everyone:
                    changed = int((ladders[c].codes_at(new) != ladders[c].codes_at(lv)).sum())
                    if changed > width * (rescued + k):
                        continue
                return c, new, trial
    return None


def _cohort_steps(ds: Dataset) -> list[tuple[str, dict]]:
    """cohort -> its program at its site -> its program, from the cohorts table."""
    cohorts = ds.tables.get("cohorts")
    if cohorts is None or cohorts.empty or "program" not in cohorts:
        return []
    sites = cohorts["site_id"] if "site_id" in cohorts else pd.Series(None, index=cohorts.index, dtype=object)
    at_site, program = {}, {}
    for cid, prog, site in zip(cohorts["cohort_id"], cohorts["program"], sites):
        if _missing(cid) or _missing(prog):
            continue
        program[cid] = prog
        at_site[cid] = prog if _missing(site) else f"{prog} at {site}"
    return [("cohort generalized to its program at its site", at_site),
            ("cohort generalized to its program", {at_site[c]: p for c, p in program.items()})]
