"""Validating a package: raw text tables -> clean records, or every problem found (file, row, column, value).

Checks: required files and columns, empty required cells, duplicate keys, enumerations, impossible dates,
end dates before start dates, references to unknown ids. Ties named by `to_name` are resolved against
people's names (case, accents and spacing ignored); a name matching no one or several people is reported
as unmatched, never guessed.
"""
from __future__ import annotations

import unicodedata
from dataclasses import dataclass, field

import pandas as pd

from graph.model import TABLE_ORDER, TABLES
from ingest.problems import Problem
from ingest.read import RawTable

__all__ = ["ValidatedPackage", "validate", "normalize_name"]

_DATE_RE = r"^\d{4}-\d{2}-\d{2}$"
_ROW_OFFSET = 2  # the header is spreadsheet row 1, the first record row 2


def normalize_name(name: str) -> str:
    """A name's matching key: accents removed, case folded, all spacing dropped.

    >>> normalize_name("  José  de la Cruz ") == normalize_name("jose DELA cruz")
    True
    """
    decomposed = unicodedata.normalize("NFKD", name)
    bare = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    return "".join(bare.casefold().split())


@dataclass
class ValidatedPackage:
    """The outcome of validation: clean rows per table (None for empty cells), problems and warnings."""

    tables: dict[str, list[dict]] = field(default_factory=dict)
    sources: dict[str, str] = field(default_factory=dict)
    problems: list[Problem] = field(default_factory=list)
    warnings: list[Problem] = field(default_factory=list)
    unmatched_names: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems

    def row_counts(self) -> dict[str, int]:
        return {t: len(rows) for t, rows in self.tables.items()}


def _rows(mask: pd.Series) -> list[int]:
    return [int(i) for i in mask[mask].index]


def _check_table(raw: RawTable, problems: list[Problem]) -> pd.DataFrame | None:
    spec = TABLES[raw.name]
    df = raw.frame
    src = raw.source
    missing = [c for c in spec.required if c not in df.columns]
    for c in missing:
        problems.append(Problem(src, None, c, None, "required column is missing",
                                f"Add a '{c}' column to the header row"))
    dup_cols = df.columns[df.columns.duplicated()].tolist()
    for c in dup_cols:
        problems.append(Problem(src, 1, c, None, "column appears twice in the header", "Keep one of them"))
    if missing or dup_cols:
        return None
    df = df.copy()
    for c in spec.columns:
        if c not in df.columns:
            df[c] = ""
    for c, default in spec.defaults.items():
        df[c] = df[c].mask(df[c] == "", default)
    for c in spec.required:
        for i in _rows(df[c] == ""):
            problems.append(Problem(src, i + _ROW_OFFSET, c, "", "required value is empty", f"Fill in '{c}'"))
    for c, allowed in spec.enums.items():
        lowered = df[c].str.lower()
        bad = (df[c] != "") & ~lowered.isin(allowed)
        for i in _rows(bad):
            problems.append(Problem(src, i + _ROW_OFFSET, c, df.at[i, c], "is not an allowed value",
                                    f"Use one of: {', '.join(allowed)}"))
        df[c] = lowered.where(~bad, df[c])
    parsed = {}
    for c in spec.dates:
        filled = df[c] != ""
        shaped = df[c].str.match(_DATE_RE)
        parsed[c] = pd.to_datetime(df[c].where(filled & shaped), format="%Y-%m-%d", errors="coerce")
        for i in _rows(filled & parsed[c].isna()):
            problems.append(Problem(src, i + _ROW_OFFSET, c, df.at[i, c], "is not a valid date",
                                    "Write dates as YYYY-MM-DD (ISO 8601), e.g. 2024-09-15"))
    for start, end in spec.date_order:
        for i in _rows(parsed[end] < parsed[start]):
            problems.append(Problem(src, i + _ROW_OFFSET, end, df.at[i, end],
                                    f"is before {start} ({df.at[i, start]})", "Check the two dates"))
    key = list(spec.key)
    complete = (df[list(spec.required)] != "").all(axis=1)
    dups = df.duplicated(subset=key, keep=False) & complete
    if dups.any():
        first_row = {}
        for i in _rows(dups):
            k = tuple(df.loc[i, key])
            if k in first_row:
                shown = "/".join(v for v in k if v)
                problems.append(Problem(src, i + _ROW_OFFSET, key[0] if len(key) == 1 else "+".join(key), shown,
                                        f"duplicates row {first_row[k]}",
                                        "Each row must be unique; remove or merge the duplicate"))
            else:
                first_row[k] = i + _ROW_OFFSET
    return df


def _check_refs(name: str, df: pd.DataFrame, src: str, ids: dict[str, set], present: set,
                problems: list[Problem]) -> None:
    for col, target in TABLES[name].refs.items():
        known = ids.get(target, set())
        bad = (df[col] != "") & ~df[col].isin(known)
        for i in _rows(bad):
            if target == "families":
                msg, fix = "refers to an unknown family", "Use a family_id that appears in people.csv"
            elif target not in present:
                msg, fix = f"refers to {target}.csv, which is not in the package", f"Add {target}.csv"
            else:
                msg = f"refers to an unknown {TABLES[target].key[0].removesuffix('_id')}"
                fix = f"Use an id that appears in {target}.csv"
            problems.append(Problem(src, i + _ROW_OFFSET, col, df.at[i, col], msg, fix))


def _resolve_ties(df: pd.DataFrame, people: pd.DataFrame, src: str, out: ValidatedPackage) -> pd.DataFrame:
    no_target = (df["to_person_id"] == "") & (df["to_name"] == "")
    for i in _rows(no_target):
        out.problems.append(Problem(src, i + _ROW_OFFSET, "to_person_id", "", "names no one",
                                    "Give either to_person_id or to_name"))
    by_name: dict[str, list[str]] = {}
    if "name" in people:
        for pid, name in zip(people["person_id"], people["name"]):
            if name:
                by_name.setdefault(normalize_name(name), []).append(pid)
    df = df.copy()
    df["to_name_key"] = ""
    need = (df["to_person_id"] == "") & (df["to_name"] != "")
    unmatched = set()
    for i in _rows(need):
        key = normalize_name(df.at[i, "to_name"])
        hits = by_name.get(key, [])
        if len(hits) == 1:
            df.at[i, "to_person_id"] = hits[0]
        else:
            df.at[i, "to_name_key"] = key
            unmatched.add(df.at[i, "to_name"])
            why = "matches no one in people.csv" if not hits else f"matches {len(hits)} people in people.csv"
            out.warnings.append(Problem(src, i + _ROW_OFFSET, "to_name", df.at[i, "to_name"],
                                        f"{why}; kept as an unmatched name",
                                        "Give to_person_id to link this tie"))
    out.unmatched_names = sorted(unmatched)
    return df


def _records(df: pd.DataFrame) -> list[dict]:
    clean = df.astype(object).where(df != "", None)
    return clean.to_dict("records")


def validate(raw: dict[str, RawTable]) -> ValidatedPackage:
    """Validate every table of a package and resolve tie names; collect every problem."""
    out = ValidatedPackage()
    if "people" not in raw:
        out.problems.append(Problem("people.csv", None, None, None, "is missing; it is the one required table",
                                    "Add people.csv with at least a person_id column"))
        return out
    checked: dict[str, pd.DataFrame] = {}
    for name in TABLE_ORDER:
        if name in raw:
            df = _check_table(raw[name], out.problems)
            out.sources[name] = raw[name].source
            if df is not None:
                checked[name] = df
    ids = {name: set(df[TABLES[name].key[0]]) for name, df in checked.items() if len(TABLES[name].key) == 1}
    if "people" in checked:
        ids["families"] = set(checked["people"]["family_id"]) - {""}
    for name, df in checked.items():
        _check_refs(name, df, out.sources[name], ids, set(raw), out.problems)
    if "ties" in checked and "people" in checked:
        checked["ties"] = _resolve_ties(checked["ties"], checked["people"], out.sources["ties"], out)
    out.tables = {name: _records(df) for name, df in checked.items()}
    return out
