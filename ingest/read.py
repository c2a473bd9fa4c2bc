"""Reading a package: a folder of CSV files or one .xlsx workbook -> raw text tables. No validation here."""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from graph.model import TABLES
from ingest.problems import IngestError, Problem

__all__ = ["RawTable", "read_package", "read_csv_bytes"]


@dataclass
class RawTable:
    """One table as text: `frame` has every cell as str ('' for empty); `source` names the file (or sheet)."""

    name: str
    source: str
    frame: pd.DataFrame


def _normalize(df: pd.DataFrame) -> pd.DataFrame:
    df = df.copy()
    df.columns = [str(c).strip().lstrip("\ufeff").lower() for c in df.columns]
    return df.fillna("").astype(str).apply(lambda col: col.str.strip())


def read_csv_bytes(data: bytes | str | Path, name: str, source: str) -> RawTable:
    """Read one CSV (path or bytes) with every cell as text, so 'Null' or '02134' survive."""
    import io
    try:
        buf = io.BytesIO(data) if isinstance(data, bytes) else data
        df = pd.read_csv(buf, dtype=str, keep_default_na=False, na_filter=False, encoding="utf-8-sig")
    except UnicodeDecodeError as e:
        raise IngestError([Problem(source, None, None, None, f"is not UTF-8 text ({e.reason} at byte {e.start})",
                                   "Save the file as CSV UTF-8")]) from e
    except pd.errors.EmptyDataError as e:
        raise IngestError([Problem(source, None, None, None, "is empty: no header row",
                                   "Add a header row with the column names")]) from e
    except pd.errors.ParserError as e:
        raise IngestError([Problem(source, None, None, None, f"is not valid CSV: {e}",
                                   "Check quoting and the number of columns on each row")]) from e
    return RawTable(name, source, _normalize(df))


def _read_xlsx(path: Path) -> dict[str, RawTable]:
    try:
        sheets = pd.read_excel(path, sheet_name=None, dtype=str, keep_default_na=False, na_filter=False,
                               engine="openpyxl")
    except Exception as e:  # openpyxl raises many types for a broken workbook
        raise IngestError([Problem(path.name, None, None, None, f"cannot be read as an .xlsx workbook: {e}")]) from e
    out = {}
    for sheet, df in sheets.items():
        name = str(sheet).strip().lower().removesuffix(".csv")
        if name in TABLES:
            out[name] = RawTable(name, f"{path.name}[{sheet}]", _normalize(df))
    return out


def read_package(path: str | Path) -> dict[str, RawTable]:
    """Read a package: a folder of `<table>.csv` files, or an .xlsx workbook with a sheet per table.

    Files whose names are not tables of the contract are ignored. Raises IngestError when the package
    cannot be read at all (missing, not UTF-8, not CSV).
    """
    path = Path(path)
    if not path.exists():
        raise IngestError([Problem(str(path), None, None, None, "does not exist",
                                   "Give a folder of CSV files or an .xlsx workbook")])
    if path.is_file() and path.suffix.lower() == ".xlsx":
        return _read_xlsx(path)
    if path.is_file():
        raise IngestError([Problem(str(path), None, None, None, "is neither a folder nor an .xlsx workbook")])
    tables: dict[str, RawTable] = {}
    problems: list[Problem] = []
    for name in TABLES:
        f = path / f"{name}.csv"
        if f.exists():
            try:
                tables[name] = read_csv_bytes(f, name, f.name)
            except IngestError as e:
                problems.extend(e.problems)
    if problems:
        raise IngestError(problems)
    return tables
