"""Disclosure control that a reader with a pencil (or a linear-programming solver) cannot undo.

Hiding a small count is not enough when its row, its column, a total or a statistic derived from it gives it
away. Here a set of published numbers is described as *cells* (counts, totals included) tied by linear
*equations* (a total is the sum of its parts), and:

- :func:`audit` computes, for each hidden cell, the smallest and largest value consistent with every shown
  cell and every equation (two linear programs per cell; counts are non-negative);
- :func:`protect` hides every count from 1 to k-1 (primary suppression), then hides further cells
  (complementary suppression) until no hidden small count can be narrowed to an interval narrower than k;
- :func:`protect_mixing` applies it to a mixing matrix (ties between groups) with the totals the dashboard
  publishes beside it: ties within groups (the diagonal), across groups, and all ties with a known group;
- :func:`ratio_publishable`: a share or E-I index is shown only where the counts it is made of could be.

References: Hundepool, A. et al. (2012). *Statistical Disclosure Control*, Wiley, ch. 4 (cell suppression,
the audit of suppression patterns by linear programming); Cox, L. H. (1980). Suppression methodology and
statistical disclosure control. JASA 75(370), 377-385; NCES Statistical Standard 4-2 (small cells).
"""
from __future__ import annotations

from collections.abc import Collection, Hashable, Mapping, Sequence

import numpy as np
import pandas as pd
from scipy.optimize import linprog

from queries.privacy import SUPPRESSED, suppress_small

__all__ = ["audit", "protect", "protect_mixing", "protect_flows", "thin_curve", "ratio_publishable",
           "shown_value", "Equation"]

#: An equation: {cell: coefficient}, meaning sum(coefficient x value) == 0.
Equation = Mapping[Hashable, float]


def audit(values: Mapping[Hashable, float | None], equations: Sequence[Equation],
          targets: Sequence[Hashable] | None = None, *,
          inequalities: Sequence[Equation] = ()) -> dict[Hashable, tuple[float, float]]:
    """Smallest and largest value of each hidden cell (value None) consistent with the shown cells, the
    equations and the ``inequalities`` ({cell: coefficient} meaning sum(coefficient x value) <= 0, e.g. a
    group's graduates are at most its enrolled), every cell being a count (>= 0). ``targets``: the hidden
    cells to bound (default all).

    >>> # a row of three cells and its total 20, two cells hidden: each lies in [0, 20 - 12]
    >>> values = {"a": 12, "b": None, "c": None, "total": 20}
    >>> audit(values, [{"a": 1, "b": 1, "c": 1, "total": -1}])
    {'b': (0.0, 8.0), 'c': (0.0, 8.0)}
    """
    hidden = [c for c, v in values.items() if v is None]
    index = {c: i for i, c in enumerate(hidden)}

    def linear(eqs):
        rows, rhs = [], []
        for eq in eqs:
            if not any(c in index for c in eq):
                continue
            row = np.zeros(len(hidden))
            constant = 0.0
            for c, coef in eq.items():
                if c in index:
                    row[index[c]] += coef
                else:
                    constant += coef * float(values[c])
            rows.append(row)
            rhs.append(-constant)
        return (np.array(rows), np.array(rhs)) if rows else (None, None)

    A_eq, b_eq = linear(equations)
    A_ub, b_ub = linear(inequalities)
    out = {}
    for c in (targets if targets is not None else hidden):
        if c not in index:
            continue
        if A_eq is None and A_ub is None:
            out[c] = (0.0, float("inf"))
            continue
        cost = np.zeros(len(hidden))
        cost[index[c]] = 1.0
        bounds = []
        for sign in (1.0, -1.0):
            res = linprog(sign * cost, A_eq=A_eq, b_eq=b_eq, A_ub=A_ub, b_ub=b_ub, bounds=(0, None),
                          method="highs")
            if res.status == 3:          # unbounded
                bounds.append(float("inf") if sign < 0 else 0.0)
            elif res.status != 0:
                bounds.append(float("nan"))
            else:
                bounds.append(float(sign * res.fun))
        out[c] = (bounds[0], bounds[1])
    return out


def protect(values: Mapping[Hashable, int], equations: Sequence[Equation], k: int, *,
            inequalities: Sequence[Equation] = (), fixed: Collection[Hashable] = ()) -> set:
    """The cells to hide so that no count from 1 to k-1 is shown or can be narrowed to fewer than k values.

    Primary: every count 1..k-1. Then, while the audit narrows some hidden small count to an interval
    narrower than k (max - min < k), hide the smallest non-zero shown cell of an equation (or inequality) it
    is in (zeros stay shown: they single no one out, and hiding them protects nothing). ``fixed``: cells
    published elsewhere that stay shown (e.g. the number of ties, on every page). A cell that can be hidden
    in no equation leaves the loop with what it has (the audit in the tests then fails loudly).

    >>> sorted(protect({"a": 3, "b": 12, "c": 30, "total": 45}, [{"a": 1, "b": 1, "c": 1, "total": -1}], 10))
    ['a', 'b']
    """
    hidden = {c for c, v in values.items() if 1 <= v < k}
    primary = set(hidden)
    linked = list(equations) + list(inequalities)
    while True:
        shown = {c: (None if c in hidden else v) for c, v in values.items()}
        bounds = audit(shown, equations, sorted(primary, key=str), inequalities=inequalities)
        weak = [c for c in sorted(primary, key=str) if bounds[c][1] - bounds[c][0] < k]
        if not weak:
            return hidden
        candidates = [c for c in _candidates(weak[0], values, hidden, linked) if c not in fixed]
        if not candidates:
            return hidden
        hidden.add(candidates[0])


def _candidates(cell, values, hidden: set, equations) -> list:
    """Shown non-zero cells that could widen `cell`'s interval, smallest first: those of its equations, and
    of the equations of the hidden cells it is linked to (a hidden total makes its parts' equations count)."""
    seen, todo, found = {cell}, [cell], set()
    while todo:
        current = todo.pop()
        for eq in equations:
            if current not in eq:
                continue
            for other in eq:
                if other in hidden:
                    if other not in seen:
                        seen.add(other)
                        todo.append(other)
                elif values[other] > 0:
                    found.add(other)
    return sorted(found, key=lambda o: (values[o], str(o)))


def shown_value(value: int, hidden: bool, k: int):
    """A count as published: itself, "<k" when hidden for being small, "suppressed" when hidden to protect
    another.

    >>> shown_value(12, False, 10), shown_value(3, True, 10), shown_value(40, True, 10)
    (12, '<10', 'suppressed')
    """
    if not hidden:
        return value
    return suppress_small(value, k) if 1 <= value < k else SUPPRESSED


def ratio_publishable(part: int, rest: int, k: int) -> bool:
    """Whether a share part / (part + rest) (or an E-I index) may be shown: both counts 0 or at least k,
    so that the share and its denominator cannot give a small count away.

    >>> ratio_publishable(12, 30, 10), ratio_publishable(3, 30, 10), ratio_publishable(0, 30, 10)
    (True, False, True)
    """
    return all(v == 0 or v >= k for v in (int(part), int(rest)))


def protect_mixing(matrix: pd.DataFrame, k: int, all_ties: int | None = None) -> tuple[pd.DataFrame, dict]:
    """A symmetric mixing matrix (ties between groups, the diagonal within a group) and its totals, with
    small counts hidden so that they cannot be worked out from the totals.

    The totals are those published beside the matrix: ``within`` (the diagonal), ``across`` (one triangle)
    and ``known`` (within + across: ties whose two people have the attribute). ``all_ties``: the number of
    ties of the same network, published elsewhere as it is; then the ties with someone whose group is not
    recorded (all - known) are a count of the release too, protected like the others. Returns the shaped
    matrix (ints, "<k" for primary, "suppressed" for complementary) and the totals shaped the same way, with
    a ``<name>_shown`` flag for each.

    With 3 ties inside group a and the within-group total 43 published, the 40 inside b is hidden too:

    >>> m = pd.DataFrame([[3, 12], [12, 40]], index=["a", "b"], columns=["a", "b"])
    >>> shaped, totals = protect_mixing(m, 10)
    >>> shaped.to_numpy().tolist(), totals["within"], totals["across"]
    ([['<10', 12], [12, 'suppressed']], 43, 12)
    """
    groups = list(matrix.index)
    values = {}
    within_eq, across_eq = {("within",): -1.0}, {("across",): -1.0}
    for i in range(len(groups)):
        for j in range(i, len(groups)):
            cell = ("cell", i, j)
            values[cell] = int(matrix.iloc[i, j])
            (within_eq if i == j else across_eq)[cell] = 1.0
    values[("within",)] = int(sum(values[("cell", i, i)] for i in range(len(groups))))
    values[("across",)] = int(sum(v for c, v in values.items() if c[0] == "cell" and c[1] != c[2]))
    values[("known",)] = values[("within",)] + values[("across",)]
    equations = [within_eq, across_eq, {("known",): -1.0, ("within",): 1.0, ("across",): 1.0}]
    fixed = ()
    if all_ties is not None:
        values[("all",)] = int(all_ties)
        values[("unknown",)] = int(all_ties) - values[("known",)]
        equations.append({("all",): -1.0, ("known",): 1.0, ("unknown",): 1.0})
        fixed = (("all",),)
    hidden = protect(values, equations, k, fixed=fixed)

    def label(cell):
        return shown_value(values[cell], cell in hidden, k)

    shaped = pd.DataFrame(index=matrix.index, columns=matrix.columns, dtype=object)
    for i in range(len(groups)):
        for j in range(i, len(groups)):
            shaped.iloc[i, j] = shaped.iloc[j, i] = label(("cell", i, j))
    totals = {name: label((name,)) for name in ("within", "across", "known")}
    totals.update({f"{name}_shown": (name,) not in hidden for name in ("within", "across", "known")})
    return shaped, totals


def protect_flows(flows: list[tuple], k: int) -> tuple[list[tuple], int]:
    """Flows a funder may see, and how many are left out (dropped from the drawing).

    A node's flows balance (in = out for every middle node), the flows out of the first node add up to the
    people enrolled and those into seats to the people appointed (both on the Overview): all of it is one
    set of equations, protected by LP-audited complementary suppression (:func:`protect`)."""
    values = {i: int(c) for i, (_s, _t, c) in enumerate(flows)}
    sources, targets = {s for s, _t, _c in flows}, {t for _s, t, _c in flows}
    equations = []
    for node in sources & targets:                       # in = out
        eq = {i: (1.0 if t == node else 0.0) - (1.0 if s == node else 0.0) for i, (s, t, _c) in enumerate(flows)
              if node in (s, t)}
        equations.append(eq)
    for name, members in (("first_total", [i for i, (s, _t, _c) in enumerate(flows) if s not in targets]),
                          ("seat_total", [i for i, (_s, t, _c) in enumerate(flows) if t.endswith(" seat")])):
        if members:
            values[name] = sum(values[i] for i in members)
            equations.append({**{i: 1.0 for i in members}, name: -1.0})
    hidden = protect(values, equations, k)
    shown = [(s, t, int(c)) for i, (s, t, c) in enumerate(flows) if i not in hidden]
    return shown, len(flows) - len(shown)


def thin_curve(km: pd.DataFrame, k: int) -> pd.DataFrame:
    """A Kaplan-Meier curve whose every drawn step holds at least k seatings: each step of the full curve is
    1/n of the people still waiting, so it gives away how many were seated that day. Steps are pooled: a
    point is kept when the seatings since the last kept point reach k (the first point always)."""
    if km.empty:
        return km
    survival = km["survival"].to_numpy(dtype=float)
    at_risk = km["at_risk"].to_numpy(dtype=float)
    previous = np.concatenate([[1.0], survival[:-1]])
    events = np.rint(at_risk * (1 - np.divide(survival, previous, out=np.ones_like(survival), where=previous > 0)))
    keep, since = [0], 0.0
    for i in range(1, len(km)):
        since += events[i]
        if since >= k:
            keep.append(i)
            since = 0.0
    return km.iloc[keep].reset_index(drop=True)
