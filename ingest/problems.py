"""Validation problems: what is wrong, and where."""
from __future__ import annotations

from dataclasses import asdict, dataclass

__all__ = ["Problem", "IngestError"]


@dataclass(frozen=True)
class Problem:
    """One thing wrong with a package. `row` is the spreadsheet row (the header is row 1), None for the file."""

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
            text += f" (value {self.value!r})"
        if self.fix:
            text += f". {self.fix}"
        return text

    def as_dict(self) -> dict:
        return asdict(self)


class IngestError(ValueError):
    """A package could not be loaded; `problems` lists every problem found."""

    def __init__(self, problems: list[Problem]):
        self.problems = problems
        head = "\n".join(f"  - {p}" for p in problems[:50])
        more = f"\n  ... and {len(problems) - 50} more" if len(problems) > 50 else ""
        super().__init__(f"the package has {len(problems)} problem(s); nothing was written:\n{head}{more}")
