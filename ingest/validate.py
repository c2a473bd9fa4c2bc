"""Validating a package: raw text tables -> clean records, or every problem found (file, row, column, value).

Checks: required files and columns, a column named twice, empty required cells, duplicate keys, enumerations,
lists drawn from a fixed vocabulary (events.supports: `childcare;translation`), impossible dates, end dates before start dates, references to unknown ids, control characters (an error in an id,
a note in other text) and ids that mix in letters that look Latin but are not (a Cyrillic "Р" in "Р000001": a
note). Ties named by `to_name` are resolved against people's names (case, accents and spacing ignored); a name
matching no one or several people is reported as unmatched, never guessed.

Every check is a vectorised pass over a column; problems are listed at most `Limits.problems_per_kind` per kind
(ingest/problems.py: the rest are counted), so a package of 200,000 bad rows is judged in seconds.

Dates are checked as text (YYYY-MM-DD, a real day of a real month; `9999-12-31` is fine): nothing here depends on
the range of pandas' timestamps. A date cell of Excel at midnight (`2024-09-15 00:00:00`) is that date.
"""
from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from graph.model import LIST_SEPARATOR, TABLE_ORDER, TABLES, property_name
from ingest.problems import Problem, ProblemList
from ingest.read import Limits, RawTable

__all__ = ["ValidatedPackage", "validate", "normalize_name"]

_DATE_RE = r"^\d{4}-\d{2}-\d{2}$"
_MIDNIGHT = r"^(\d{4}-\d{2}-\d{2})[ T]00:00(?::00(?:\.0+)?)?$"
_DAYS = np.array([0, 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31])
# Invisible characters: control characters (C0, DEL, C1) and format characters that change how text shows
# (zero-width spaces and joiners, direction marks and overrides, the byte-order mark).
_FORMAT = "\u200b-\u200f\u202a-\u202e\u2060-\u2064\u2066-\u2069\ufeff"
_ID_BAD = re.compile(rf"[\x00-\x1f\x7f-\x9f{_FORMAT}]")
_TEXT_BAD = re.compile(rf"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f{_FORMAT}]")     # tab and line breaks are fine
# Letters of other scripts that look like Latin letters or digits (the common confusables of Unicode TR39).
_LOOKALIKES = dict(zip("АВЕЗІЈКМНОРСТУХЅаеіјорсухѕһԁԛԝ" "ΑΒΕΖΗΙΚΜΝΟΡΤΥΧοκνρτυχ",
                       "ABE3IJKMHOPCTYXSaeijopcyxshdqw" "ABEZHIKMNOPTYXoknptux"))


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
    """The outcome of validation: clean rows per table (None for empty cells), problems and warnings.

    `problems` and `warnings` list at most a few of each kind (with one line counting the rest);
    `problem_count` and `warning_count` count every one."""

    tables: dict[str, list[dict]] = field(default_factory=dict)
    sources: dict[str, str] = field(default_factory=dict)
    problems: list[Problem] = field(default_factory=list)
    warnings: list[Problem] = field(default_factory=list)
    unmatched_names: list[str] = field(default_factory=list)
    problem_count: int = 0
    warning_count: int = 0
    rows: dict[str, int] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return not self.problems

    def row_counts(self) -> dict[str, int]:
        return {t: len(rows) for t, rows in self.tables.items()} or dict(self.rows)


class _Checker:
    """One table's checks, reporting into the package's problem and note lists."""

    def __init__(self, raw: RawTable, found: ProblemList, notes: ProblemList):
        self.raw, self.src, self.found, self.notes = raw, raw.source, found, notes
        self.lines = raw.row_numbers()

    def report(self, mask, column: str | None, kind: str, message, fix: str, values=None, *, note: bool = False,
               value_col: str | None = None) -> None:
        """A problem (or note) for every row where `mask` holds; only the first few are made, the rest counted.
        `message` is text, or a function of the row position giving it."""
        target = self.notes if note else self.found
        positions = np.flatnonzero(np.asarray(mask, dtype=bool))
        if not len(positions):
            return
        room = target.room(self.src, column, kind)
        values = values if values is not None else (self.df[value_col or column] if column else None)
        for i in positions[:room]:
            value = None if values is None else values(i) if callable(values) else values.iloc[i]
            text = message(i) if callable(message) else message
            target.add(Problem(self.src, int(self.lines[i]), column, value, text, fix), kind=kind)
        if len(positions) > room:
            target.count_more(self.src, column, kind, len(positions) - room)

    def check(self) -> pd.DataFrame | None:
        spec = TABLES[self.raw.name]
        df = self.raw.frame
        src = self.src
        missing = [c for c in spec.required if c not in df.columns]
        for c in missing:
            self.found.add(Problem(src, None, c, None, "required column is missing",
                                   f"Add a '{c}' column to the header row"))
        dup_cols = sorted(set(df.columns[df.columns.duplicated()]))
        for c in dup_cols:
            self.found.add(Problem(src, self.raw.header_row, c, None, "column appears twice in the header (names are "
                                   "matched ignoring case and spaces)", "Keep one of them, or rename the other"))
        if missing or dup_cols:
            return None
        known = set(spec.columns)
        df = df.rename(columns={c: property_name(c) for c in df.columns if c not in known})
        df = df.copy()
        self.df = df
        for c in spec.columns:
            if c not in df.columns:
                df[c] = ""
        for c, default in spec.defaults.items():
            df[c] = df[c].mask(df[c] == "", default)
        self._invisible(spec)
        for c in spec.required:
            self.report(df[c] == "", c, "empty", "required value is empty", f"Fill in '{c}'")
        for c, allowed in spec.enums.items():
            lowered = df[c].str.lower()
            bad = (df[c] != "") & ~lowered.isin(allowed)
            self.report(bad, c, "enum", "is not an allowed value", f"Use one of: {', '.join(allowed)}")
            df[c] = lowered.where(~bad, df[c])
        for c, allowed in spec.lists.items():
            self._list(c, allowed)
        valid = {c: self._dates(c) for c in spec.dates}
        for start, end in spec.date_order:
            both = valid[start] & valid[end]
            before = both & (df[end].to_numpy(dtype=object) < df[start].to_numpy(dtype=object))
            self.report(before, end, "order", lambda i, s=start: f"is before {s} ({df[s].iloc[i]})",
                        "Check the two dates")
        self._duplicates(spec)
        return df

    def _dates(self, c: str) -> np.ndarray:
        """Check a date column as text; return where it holds a valid date. Excel's midnight datetimes become
        dates."""
        df = self.df
        col = df[c].str.replace(_MIDNIGHT, r"\1", regex=True)
        df[c] = col
        filled = (col != "").to_numpy()
        shaped = col.str.match(_DATE_RE).to_numpy(dtype=bool) & filled
        ok = shaped.copy()
        if shaped.any():
            parts = col[shaped]
            y = parts.str.slice(0, 4).astype(int).to_numpy()
            m = parts.str.slice(5, 7).astype(int).to_numpy()
            d = parts.str.slice(8, 10).astype(int).to_numpy()
            leap = (y % 4 == 0) & ((y % 100 != 0) | (y % 400 == 0))
            month_ok = (m >= 1) & (m <= 12)
            days = _DAYS[np.clip(m, 0, 12)] + ((m == 2) & leap)
            ok[shaped] = (y >= 1) & month_ok & (d >= 1) & (d <= days)
        self.report(filled & ~ok, c, "date", "is not a valid date",
                    "Write dates as YYYY-MM-DD (ISO 8601), e.g. 2024-09-15")
        return ok

    def _list(self, c: str, allowed: tuple[str, ...]) -> None:
        """A ;-separated list of values from `allowed` (case and spacing ignored; a space may stand for "_"):
        stored as its known values, once each, in the vocabulary's order; any other value is a problem."""
        df = self.df
        col = df[c]
        parsed = {v: _parse_list(v, allowed) for v in col[col != ""].unique()}
        if not parsed:
            return
        unknown = {v: bad for v, (_, bad) in parsed.items() if bad}
        mask = col.isin(list(unknown)).to_numpy()
        self.report(mask, c, "list", lambda i: "has " + ", ".join(repr(b) for b in unknown[col.iloc[i]])
                    + (", which is not an allowed value" if len(unknown[col.iloc[i]]) == 1
                       else ", which are not allowed values"),
                    f"Use values from: {', '.join(allowed)}, separated by '{LIST_SEPARATOR}'")
        clean = {v: norm for v, (norm, bad) in parsed.items() if not bad}
        df[c] = col.map(lambda v: clean.get(v, v))

    def _duplicates(self, spec) -> None:
        df = self.df
        key = list(spec.key)
        complete = (df[list(spec.required)] != "").all(axis=1).to_numpy()
        sub = df.loc[complete, key]
        dup = sub.duplicated(keep="first").to_numpy()
        if not dup.any():
            return
        groups = sub.groupby(key, sort=False).ngroup().to_numpy()
        positions = np.flatnonzero(complete)
        first = np.empty(groups.max() + 1, dtype=np.int64)
        first[groups[::-1]] = positions[::-1]                  # the last write wins: each group's first row
        first_of = np.full(len(df), -1, dtype=np.int64)
        first_of[positions] = first[groups]
        mask = np.zeros(len(df), dtype=bool)
        mask[positions[dup]] = True
        column = key[0] if len(key) == 1 else "+".join(key)
        keys = df[key]
        lines = self.lines

        def shown(i: int) -> str:
            return "/".join(v for v in keys.iloc[i] if v)
        self.report(mask, column, "duplicate", lambda i: f"duplicates row {int(lines[first_of[i]])}",
                    "Each row must be unique; remove or merge the duplicate", values=shown)

    def _invisible(self, spec) -> None:
        """Invisible characters: an error in ids (two ids that look equal would differ), a note elsewhere."""
        df = self.df
        ids = set(spec.required) | set(spec.refs) | (set(spec.key) if len(spec.key) == 1 else set())
        for c in df.columns:
            col = df[c]
            if not (_ID_BAD if c in ids else _TEXT_BAD).search(" ".join(col.tolist())):   # one pass over the column
                if c in ids:
                    self._lookalikes(c, col)
                continue
            if c in ids:
                bad = col.str.contains(_ID_BAD)
                if bad.any():
                    self.report(bad, c, "invisible id", lambda i, col=col: "contains an invisible character "
                                f"({_first_invisible(col.iloc[i], _ID_BAD)}), so ids that look the same differ",
                                "Retype the id without it")
                self._lookalikes(c, col)
            else:
                bad = col.str.contains(_TEXT_BAD)
                if bad.any():
                    self.report(bad, c, "invisible text", lambda i, col=col: "contains an invisible control "
                                f"character ({_first_invisible(col.iloc[i], _TEXT_BAD)}); it is kept as it is",
                                "Remove it unless it is meant to be there", note=True)

    def _lookalikes(self, c: str, col: pd.Series) -> None:
        non_ascii = ~col.map(str.isascii).to_numpy(dtype=bool)
        if not non_ascii.any():
            return
        skeletons = {v: _skeleton(v) for v in set(col[non_ascii])}
        flagged = {v: s for v, s in skeletons.items() if s is not None}
        if not flagged:
            return
        mask = non_ascii & col.isin(list(flagged)).to_numpy()
        self.report(mask, c, "look-alike", lambda i: f"looks like {flagged[col.iloc[i]]!r} but has "
                    f"{_foreign(col.iloc[i])}: it is a different id",
                    "Retype the id on a Latin keyboard if it is meant to be the same", note=True)


def _parse_list(value: str, allowed: tuple[str, ...]) -> tuple[str, list[str]]:
    """(the list as stored, the values not in `allowed`).

    >>> _parse_list(" Translation ; childcare;translation", ("childcare", "translation"))
    ('childcare;translation', [])
    >>> _parse_list("food;babysitting", ("childcare", "food"))
    ('food;babysitting', ['babysitting'])
    """
    items = [v.strip() for v in value.split(LIST_SEPARATOR)]
    keys = ["_".join(v.lower().split()) for v in items if v]
    bad = [v for v, k in zip((v for v in items if v), keys) if k not in allowed]
    if bad:
        return value, bad
    return LIST_SEPARATOR.join(a for a in allowed if a in keys), []


def _first_invisible(value: str, pattern: re.Pattern) -> str:
    m = pattern.search(value)
    if not m:
        return "?"
    ch = m.group(0)
    return f"U+{ord(ch):04X} {unicodedata.name(ch, 'a control character')}"


def _skeleton(value: str) -> str | None:
    """The all-ASCII id a value looks like when its only non-ASCII characters are look-alikes of Latin ones."""
    out = []
    for ch in value:
        if ch.isascii():
            out.append(ch)
        elif ch in _LOOKALIKES:
            out.append(_LOOKALIKES[ch])
        else:
            return None
    return "".join(out)


def _foreign(value: str) -> str:
    chars = [ch for ch in value if not ch.isascii()]
    names = sorted({unicodedata.name(ch, "?") for ch in chars})
    return ", ".join(names[:3])


def _check_refs(chk: _Checker, name: str, df: pd.DataFrame, ids: dict[str, set], present: set) -> None:
    for col, target in TABLES[name].refs.items():
        known = ids.get(target, set())
        bad = (df[col] != "") & ~df[col].isin(known)
        if target == "families":
            msg, fix = "refers to an unknown family", "Use a family_id that appears in people.csv"
        elif target not in present:
            msg, fix = f"refers to {target}.csv, which is not in the package", f"Add {target}.csv"
        else:
            msg = f"refers to an unknown {TABLES[target].key[0].removesuffix('_id')}"
            fix = f"Use an id that appears in {target}.csv"
        chk.report(bad, col, "reference", msg, fix)


def _resolve_ties(chk: _Checker, df: pd.DataFrame, people: pd.DataFrame, out: ValidatedPackage) -> pd.DataFrame:
    no_target = (df["to_person_id"] == "") & (df["to_name"] == "")
    chk.report(no_target, "to_person_id", "names no one", "names no one", "Give either to_person_id or to_name")
    df = df.copy()
    df["to_name_key"] = ""
    need = ((df["to_person_id"] == "") & (df["to_name"] != "")).to_numpy()
    if not need.any():
        out.unmatched_names = []
        return df
    by_name: dict[str, list[str]] = {}
    if "name" in people:
        named = people[people["name"] != ""]
        keys = named["name"].map(_cached_normalize())
        for pid, key in zip(named["person_id"], keys):
            by_name.setdefault(key, []).append(pid)
    names = df.loc[need, "to_name"]
    keys = names.map(_cached_normalize())
    hits = keys.map(lambda k: by_name.get(k, ()))
    n_hits = hits.map(len).to_numpy()
    matched = n_hits == 1
    positions = np.flatnonzero(need)
    df.iloc[positions[matched], df.columns.get_loc("to_person_id")] = [h[0] for h in hits[matched]]
    df.iloc[positions[~matched], df.columns.get_loc("to_name_key")] = keys[~matched].to_numpy()
    out.unmatched_names = sorted(set(names[~matched]))
    counts = np.zeros(len(df), dtype=np.int64)
    counts[positions] = n_hits
    unmatched = np.zeros(len(df), dtype=bool)
    unmatched[positions[~matched]] = True
    chk.report(unmatched, "to_name", "unmatched",
               lambda i: ("matches no one in people.csv" if not counts[i] else
                          f"matches {counts[i]} people in people.csv") + "; kept as an unmatched name",
               "Give to_person_id to link this tie", note=True)
    return df


def _cached_normalize():
    cache: dict[str, str] = {}

    def key(name: str) -> str:
        k = cache.get(name)
        if k is None:
            k = cache[name] = normalize_name(name)
        return k
    return key


def _records(df: pd.DataFrame) -> list[dict]:
    clean = df.astype(object).where(df != "", None)
    return clean.to_dict("records")


def validate(raw: dict[str, RawTable], limits: Limits | None = None) -> ValidatedPackage:
    """Validate every table of a package and resolve tie names; collect every problem."""
    limits = limits or Limits.from_settings()
    out = ValidatedPackage()
    found, notes = ProblemList(limits.problems_per_kind), ProblemList(limits.problems_per_kind)
    if "people" not in raw:
        workbooks = sorted({t.workbook for t in raw.values() if t.workbook})
        if workbooks:
            problem = Problem(workbooks[0], None, None, None, "has no sheet named 'people'; it is the one required "
                              "table", "Name the sheet of people 'people' (with at least a person_id column)")
        else:
            problem = Problem("people.csv", None, None, None, "is missing; it is the one required table",
                              "Add people.csv with at least a person_id column")
        out.problems, out.problem_count = [problem], 1
        return out
    checked: dict[str, pd.DataFrame] = {}
    checkers: dict[str, _Checker] = {}
    for name in TABLE_ORDER:
        if name in raw:
            chk = checkers[name] = _Checker(raw[name], found, notes)
            df = chk.check()
            out.sources[name] = raw[name].source
            if df is not None:
                checked[name] = df
    ids = {name: set(df[TABLES[name].key[0]]) for name, df in checked.items() if len(TABLES[name].key) == 1}
    if "people" in checked:
        ids["families"] = set(checked["people"]["family_id"]) - {""}
    for name, df in checked.items():
        _check_refs(checkers[name], name, df, ids, set(raw))
    if "ties" in checked and "people" in checked:
        checked["ties"] = _resolve_ties(checkers["ties"], checked["ties"], checked["people"], out)
    out.rows = {name: len(df) for name, df in checked.items()}
    out.problems, out.problem_count = found.listed(), found.total
    out.warnings, out.warning_count = notes.listed(), notes.total
    if out.problems:
        return out                      # nothing will be written: no need to build the records
    out.tables = {name: _records(df) for name, df in checked.items()}
    return out
