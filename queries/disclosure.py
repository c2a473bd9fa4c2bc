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
from scipy import sparse
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

    Shown cells are constants; only hidden cells are variables, and each cell's two linear programs hold
    only its *block*: the hidden cells linked to it through constraints (cells of different blocks share no
    constraint, so the other blocks cannot move its bounds). The matrices are sparse (HiGHS).

    >>> # a row of three cells and its total 20, two cells hidden: each lies in [0, 20 - 12]
    >>> values = {"a": 12, "b": None, "c": None, "total": 20}
    >>> audit(values, [{"a": 1, "b": 1, "c": 1, "total": -1}])
    {'b': (0.0, 8.0), 'c': (0.0, 8.0)}
    """
    system = _System(values, equations, inequalities)
    out = {}
    for c in (targets if targets is not None else system.hidden):
        if c in system.index:
            out[c] = (system.bound(c, 1.0)[0], system.bound(c, -1.0)[0])
    return out


def protect(values: Mapping[Hashable, int], equations: Sequence[Equation], k: int, *,
            inequalities: Sequence[Equation] = (), fixed: Collection[Hashable] = ()) -> set:
    """The cells to hide so that no count from 1 to k-1 is shown or can be narrowed to fewer than k values.

    Primary: every count 1..k-1. Then, while the audit narrows some hidden small count to an interval
    narrower than k (max - min < k), hide the smallest non-zero shown cell of an equation (or inequality) it
    is in (zeros stay shown: they single no one out, and hiding them protects nothing). ``fixed``: cells
    published elsewhere that stay shown (e.g. the number of ties, on every page). A cell that can be hidden
    in no equation leaves the loop with what it has (the audit in the tests then fails loudly).

    The small counts are audited in a fixed order (by name) and the first too narrow one gets company, as a
    full audit each round would do, with less work: hiding a cell only widens every interval (a shown
    constant becomes a variable), so a count once found safe stays safe and is not audited again; and every
    solution found is a release consistent with what is shown, as are the true values, so a count that two
    of them already set at least k apart is safe without its own linear programs. Such releases come first
    from a few solves that each lift many counts at once (:meth:`_System.spread`), so that only the counts
    left get their own two programs (on their block only: cells that share no constraint are solved apart).
    The cells hidden are those the plain method (audit every small count every round) would hide.

    >>> sorted(protect({"a": 3, "b": 12, "c": 30, "total": 45}, [{"a": 1, "b": 1, "c": 1, "total": -1}], 10))
    ['a', 'b']
    """
    hidden = {c for c, v in values.items() if 1 <= v < k}
    primary = sorted(hidden, key=str)
    linked = list(equations) + list(inequalities)
    by_cell = _by_cell(linked)
    # the range of each small count over the consistent releases seen so far (the truth is one of them)
    position = {c: j for j, c in enumerate(primary)}
    low = np.array([float(values[c]) for c in primary])
    high = low.copy()
    safe = np.zeros(len(primary), dtype=bool)

    def seen(point, where) -> None:
        if point is not None:
            members, x = point
            j = where[members]
            x, j = x[j >= 0], j[j >= 0]
            low[j], high[j] = np.minimum(low[j], x), np.maximum(high[j], x)
            safe[j] |= high[j] - low[j] >= k + _WITNESS_MARGIN     # a margin: a solver's tolerance never decides

    while True:
        system = _System({c: (None if c in hidden else v) for c, v in values.items()}, equations, inequalities)
        where = np.array([position.get(c, -1) for c in system.hidden], dtype=int)
        # several counts per solve: lift as many counts not yet safe as the constraints allow to k above the
        # lowest value seen (in order of priority), then those left, until a solve lifts none; then sink
        # those left as low as they go together (a lower floor) and lift again, until that helps no more
        sunk = False
        for _ in range(_SPREAD_ROUNDS):
            if safe.all():
                break
            before = int(safe.sum())
            for point in system.spread({primary[j]: low[j] + k + 2 * _WITNESS_MARGIN for j in np.flatnonzero(~safe)}):
                seen(point, where)
            if int(safe.sum()) > before:
                sunk = False
            elif sunk:
                break
            else:
                for point in system.spread({primary[j]: 0.0 for j in np.flatnonzero(~safe)}, sink=True):
                    seen(point, where)
                sunk = True
        weak = None
        for j, c in enumerate(primary):  # in order: the first too narrow one gets company
            if safe[j]:
                continue
            bounds = {}
            for sign in (-1.0, 1.0):     # the largest value first: the smallest is often seen already
                if safe[j]:
                    break
                bounds[sign], point = system.bound(c, sign)
                if sign < 0 and bounds[sign] == float("inf"):
                    high[j], safe[j] = float("inf"), True
                seen(point, where)
            if safe[j] or not bounds[-1.0] - bounds[1.0] < k:
                safe[j] = True
                continue
            weak = c
            break
        if weak is None:
            return hidden
        candidates = [c for c in _candidates(weak, values, hidden, linked, by_cell=by_cell) if c not in fixed]
        if not candidates:
            return hidden
        hidden.add(candidates[0])


#: how much further apart than k two consistent releases must set a count for it to be safe without its own
#: linear programs (solutions are feasible up to the solver's tolerance, about 1e-7)
_WITNESS_MARGIN = 1e-4
#: at most this many solves per round that lift many counts at once
_SPREAD_ROUNDS = 20


class _System:
    """The constraints on the hidden cells of a release: shown cells are constants (moved to the right-hand
    side), hidden cells the variables (>= 0), split into blocks (hidden cells joined by a shared constraint,
    transitively). Each block's sparse matrices are built once, when first needed."""

    def __init__(self, values: Mapping[Hashable, float | None], equations: Sequence[Equation],
                 inequalities: Sequence[Equation]):
        self.hidden = [c for c, v in values.items() if v is None]
        self.index = {c: i for i, c in enumerate(self.hidden)}
        parent = list(range(len(self.hidden)))

        def root(i):
            while parent[i] != i:
                parent[i] = parent[parent[i]]
                i = parent[i]
            return i

        rows = []                        # (is an equation, columns, coefficients, right-hand side)
        for is_eq, eqs in ((True, equations), (False, inequalities)):
            for eq in eqs:
                cols, coefs, constant = [], [], 0.0
                for c, coef in eq.items():
                    i = self.index.get(c)
                    if i is None:
                        constant += coef * float(values[c])
                    else:
                        cols.append(i)
                        coefs.append(float(coef))
                if not cols:
                    continue
                rows.append((is_eq, cols, coefs, -constant))
                for i in cols[1:]:
                    parent[root(i)] = root(cols[0])
        self.block = [root(i) for i in range(len(self.hidden))]
        self._rows: dict = {}
        for row in rows:
            self._rows.setdefault(self.block[row[1][0]], []).append(row)
        self._members: dict = {}
        for i, b in enumerate(self.block):
            self._members.setdefault(b, []).append(i)
        self._built: dict = {}

    def _matrices(self, b):
        if b not in self._built:
            members = self._members[b]
            local = {i: j for j, i in enumerate(members)}
            parts = {}
            for is_eq in (True, False):
                rows = [r for r in self._rows.get(b, []) if r[0] == is_eq]
                if not rows:
                    parts[is_eq] = (None, None)
                    continue
                data = [coef for r in rows for coef in r[2]]
                row_ids = [n for n, r in enumerate(rows) for _ in r[1]]
                col_ids = [local[i] for r in rows for i in r[1]]
                A = sparse.csr_array((data, (row_ids, col_ids)), shape=(len(rows), len(members)))
                parts[is_eq] = (A, np.array([r[3] for r in rows]))
            self._built[b] = (members, local, parts[True], parts[False])
        return self._built[b]

    def bound(self, cell, sign: float) -> tuple[float, tuple | None]:
        """The smallest (sign 1) or largest (sign -1) value of a hidden cell, and the solution: (the indices
        in ``hidden`` of its block's cells, their values), or None (unbounded, or no constraint)."""
        members, local, (A_eq, b_eq), (A_ub, b_ub) = self._matrices(self.block[self.index[cell]])
        if A_eq is None and A_ub is None:
            return (0.0 if sign > 0 else float("inf")), None
        cost = np.zeros(len(members))
        cost[local[self.index[cell]]] = sign
        res = linprog(cost, A_eq=A_eq, b_eq=b_eq, A_ub=A_ub, b_ub=b_ub, bounds=(0, None), method="highs")
        if res.status == 3:              # unbounded
            return (float("inf") if sign < 0 else 0.0), None
        if res.status != 0:
            return float("nan"), None
        return float(sign * res.fun), (np.asarray(members), res.x)

    def spread(self, caps: Mapping[Hashable, float], *, sink: bool = False) -> list[tuple]:
        """Consistent values that lift many of the given hidden cells to their caps (cell -> cap) at once:
        per block, the largest sum of w x min(cell, cap), the weights falling in the order given (2 to 1), so
        that the first cells are filled up to their caps before the later ones get anything (with equal
        weights, moving a count from one cell to another would change nothing and the solver could fill
        few). A linear program with one more variable per cell: t <= cell, 0 <= t <= cap. ``sink``: the
        smallest sum of the cells instead (caps unused). Returns each block's solution, as :meth:`bound`
        does."""
        by_block: dict = {}
        for c, cap in caps.items():
            by_block.setdefault(self.block[self.index[c]], []).append((c, cap))
        out = []
        for b, cells in by_block.items():
            members, local, (A_eq, b_eq), (A_ub, b_ub) = self._matrices(b)
            if A_eq is None and A_ub is None:
                continue
            n, m = len(members), len(cells)
            rows = np.arange(m)
            cols = [local[self.index[c]] for c, _cap in cells]
            if sink:
                cost = np.zeros(n)
                cost[cols] = 1.0
                res = linprog(cost, A_eq=A_eq, b_eq=b_eq, A_ub=A_ub, b_ub=b_ub, bounds=(0, None), method="highs")
                if res.status == 0:
                    out.append((np.asarray(members), res.x))
                continue
            under = sparse.csr_array((np.concatenate([np.ones(m), -np.ones(m)]),
                                      (np.concatenate([rows, rows]), np.concatenate([n + rows, cols]))),
                                     shape=(m, n + m))           # t - cell <= 0
            A_ub2 = under if A_ub is None else sparse.vstack([_widen(A_ub, m), under]).tocsr()
            b_ub2 = np.zeros(m) if b_ub is None else np.concatenate([b_ub, np.zeros(m)])
            cost = np.concatenate([np.zeros(n), -(2.0 - rows / m)])
            bounds = [(0, None)] * n + [(0, cap) for _c, cap in cells]
            res = linprog(cost, A_eq=_widen(A_eq, m), b_eq=b_eq, A_ub=A_ub2, b_ub=b_ub2, bounds=bounds,
                          method="highs")
            if res.status == 0:
                out.append((np.asarray(members), res.x[:n]))
        return out


def _widen(A, m: int):
    """A sparse matrix with m more columns of zeros (None stays None)."""
    return None if A is None else sparse.hstack([A, sparse.csr_array((A.shape[0], m))]).tocsr()


def _candidates(cell, values, hidden: set, equations: Sequence[Equation], *, by_cell: Mapping | None = None) -> list:
    """Shown non-zero cells that could widen `cell`'s interval, smallest first: those of its equations, and
    of the equations of the hidden cells it is linked to (a hidden total makes its parts' equations count).
    ``by_cell``: cell -> the equations it is in, if already made from ``equations`` (else made here)."""
    if by_cell is None:
        by_cell = _by_cell(equations)
    seen, todo, found = {cell}, [cell], set()
    while todo:
        current = todo.pop()
        for eq in by_cell.get(current, ()):
            for other in eq:
                if other in hidden:
                    if other not in seen:
                        seen.add(other)
                        todo.append(other)
                elif values[other] > 0:
                    found.add(other)
    return sorted(found, key=lambda o: (values[o], str(o)))


def _by_cell(equations: Sequence[Equation]) -> dict:
    """cell -> the equations (or inequalities) it is in."""
    out: dict = {}
    for eq in equations:
        for c in eq:
            out.setdefault(c, []).append(eq)
    return out


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
