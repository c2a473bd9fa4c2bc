"""Validation problems: what is wrong, and where; and a collector that keeps a report readable.

A package with 200,000 bad rows has 200,000 problems, but nobody reads that many: `ProblemList` keeps the first
`per_kind` problems of each kind (the same file, column and message) and counts the rest, which it reports as one
line per kind ("... and 199,950 more rows like this"). The package stays invalid either way.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass

__all__ = ["Problem", "MoreProblems", "IngestError", "ProblemList", "DEFAULT_PER_KIND"]

DEFAULT_PER_KIND = 50


@dataclass(frozen=True)
class Problem:
    """One thing wrong with a package. `row` is the row a person sees: the line of a CSV file in a text editor, the
    row number of an Excel sheet (the header is row 1 when it is the first line); None for the whole file."""

    file: str
    row: int | None
    column: str | None
    value: str | None
    message: str
    fix: str = ""

    def __str__(self) -> str:
        where = self.file
        if self.row is not None:
            where += f", row {self.row}"
        if self.column:
            where += f", column {self.column}"
        text = f"{where}: {self.message}"
        if self.value is not None:
            text += f" (value {_shown(self.value)})"
        if self.fix:
            text += f". {self.fix}"
        return text

    def as_dict(self) -> dict:
        return asdict(self)


@dataclass(frozen=True)
class MoreProblems(Problem):
    """The line that counts the problems of one kind beyond those listed."""


def _shown(value: str, limit: int = 80) -> str:
    """A value as it appears in a message: quoted with escapes (control characters visible), and cut short."""
    text = repr(value)
    return text if len(text) <= limit else text[:limit - 4] + "...'"


class ProblemList:
    """Problems in the order found, at most `per_kind` of each kind; `total` counts them all.

    A kind is (file, column, kind): `kind` defaults to the message, so "duplicates row 5" and "duplicates row 9"
    should pass kind="duplicate" to share a cap.

    >>> found = ProblemList(per_kind=2)
    >>> for row in range(2, 7):
    ...     found.add(Problem("people.csv", row, "role", "x", "is not an allowed value"))
    >>> found.total, [p.row for p in found.listed()]
    (5, [2, 3, None])
    >>> print(found.listed()[-1])
    people.csv, column role: 3 more rows like this are not listed (is not an allowed value)
    """

    def __init__(self, per_kind: int = DEFAULT_PER_KIND):
        self.per_kind = max(1, int(per_kind))
        self._kept: list[Problem] = []
        self._count: dict[tuple, int] = {}
        self._first: dict[tuple, Problem] = {}

    def add(self, problem: Problem, kind: str | None = None) -> None:
        key = (problem.file, problem.column, kind or problem.message)
        n = self._count.get(key, 0)
        self._count[key] = n + 1
        if n < self.per_kind:
            self._kept.append(problem)
            self._first.setdefault(key, problem)

    def room(self, file: str, column: str | None, kind: str) -> int:
        """How many more problems of this kind would be listed."""
        return max(0, self.per_kind - self._count.get((file, column, kind), 0))

    def count_more(self, file: str, column: str | None, kind: str, n: int) -> None:
        """Count `n` more problems of a kind that already has `per_kind` listed, without making them."""
        key = (file, column, kind)
        if key not in self._first:
            raise ValueError("count_more() needs a listed problem of that kind first")
        self._count[key] += n

    def extend(self, problems) -> None:
        for p in problems:
            self.add(p)

    @property
    def total(self) -> int:
        return sum(self._count.values())

    def __len__(self) -> int:
        return self.total

    def __bool__(self) -> bool:
        return bool(self._count)

    def listed(self) -> list[Problem]:
        """The kept problems, then one line per kind that had more than `per_kind`."""
        more = []
        for key, n in self._count.items():
            if n > self.per_kind:
                first = self._first[key]
                more.append(MoreProblems(first.file, None, first.column, None,
                                         f"{n - self.per_kind:,} more rows like this are not listed ({key[2]})",
                                         first.fix))
        return self._kept + more


class IngestError(ValueError):
    """A package could not be loaded; `problems` lists the problems found (at most a few per kind), `total` counts
    every one. The message does not claim anything about a store: the command that writes adds that."""

    def __init__(self, problems: list[Problem], total: int | None = None):
        self.problems = problems
        self.total = len(problems) if total is None else total
        listed = [p for p in problems if not isinstance(p, MoreProblems)]
        lines = [f"  - {p}" for p in listed[:50]]
        if len(listed) > 50:
            lines.append(f"  ... and {len(listed) - 50} more (civicties check PACKAGE lists every kind)")
        lines += [f"  - {p}" for p in problems if isinstance(p, MoreProblems)]
        super().__init__(f"the package has {self.total:,} problem(s):\n" + "\n".join(lines))

    def describe(self, *, nothing_written: bool) -> str:
        """The message, saying (for a command that writes) that nothing was written."""
        text = str(self)
        if nothing_written:
            text = text.replace(" problem(s):\n", " problem(s); nothing was written:\n", 1)
        return text
