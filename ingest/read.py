"""Reading a package: a folder of CSV files or one .xlsx workbook -> raw text tables. No validation here.

What a file may cost is bounded before it is read (`Limits`, each a setting): its size, the uncompressed size and
the compression ratio of each part of a workbook, the used range a sheet declares, rows, columns and the length
of a cell. A file beyond a limit is refused with a message that names the setting. Links and anything that is not
a regular file (a folder, a device, a pipe) are refused: a package is plain files.

Every cell becomes text: "Null" and "02134" survive. Each row keeps the row number a person sees (`RawTable.lines`):
the line of a CSV file in a text editor (blank lines and cells that span lines counted), the row of an Excel sheet.
Excel cells are read as Excel shows them: a date cell (or a datetime at midnight) as YYYY-MM-DD, a number without
a spurious ".0", a formula as its saved result; a formula whose result was never saved, or an error value
(#N/A), is a problem rather than an empty cell.
"""
from __future__ import annotations

import csv
import io
import os
import re
import stat
import zipfile
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from pathlib import Path
from xml.etree import ElementTree

import numpy as np
import pandas as pd

from graph.model import TABLES
from ingest.problems import IngestError, Problem, ProblemList

__all__ = ["RawTable", "Limits", "read_package", "read_csv_bytes", "read_xlsx_bytes"]


@dataclass(frozen=True)
class Limits:
    """What one package may cost (settings: CIVICTIES_MAX_FILE_MB, ...; defaults below)."""

    file_mb: float = 200            # a CSV file, a workbook, an upload
    xlsx_part_mb: float = 256       # one part of a workbook (a sheet, its shared strings), uncompressed
    xlsx_ratio: float = 100         # uncompressed / compressed size of a part larger than 50 MB
    rows: int = 2_000_000           # rows of one table
    columns: int = 200              # columns of one table
    cell_chars: int = 10_000        # characters in one cell
    problems_per_kind: int = 50     # problems listed per kind (the rest are counted)

    @classmethod
    def from_settings(cls) -> "Limits":
        from civicties import settings
        return cls(file_mb=settings.get_float("CIVICTIES_MAX_FILE_MB"),
                   xlsx_part_mb=settings.get_float("CIVICTIES_MAX_XLSX_PART_MB"),
                   xlsx_ratio=settings.get_float("CIVICTIES_MAX_XLSX_RATIO"),
                   rows=settings.get_int("CIVICTIES_MAX_ROWS"), columns=settings.get_int("CIVICTIES_MAX_COLUMNS"),
                   cell_chars=settings.get_int("CIVICTIES_MAX_CELL_CHARS"),
                   problems_per_kind=settings.get_int("CIVICTIES_MAX_PROBLEMS_PER_KIND"))

    @property
    def file_bytes(self) -> int:
        return int(self.file_mb * 1024 * 1024)


_RATIO_FROM_BYTES = 50 * 1024 * 1024   # smaller parts cost little whatever their ratio


@dataclass
class RawTable:
    """One table as text: `frame` has every cell as str ('' for empty); `source` names the file (or sheet);
    `lines[i]` is the row number a person sees for frame row i (None: header row 1, records from row 2)."""

    name: str
    source: str
    frame: pd.DataFrame
    lines: np.ndarray | None = None
    workbook: str | None = field(default=None)
    header_row: int = 1

    def row_numbers(self) -> np.ndarray:
        if self.lines is None:
            return np.arange(2, len(self.frame) + 2)
        return self.lines


def _limit_problem(source: str, what: str, setting: str, fix: str, row: int | None = None,
                   column: str | None = None) -> IngestError:
    return IngestError([Problem(source, row, column, None, f"{what} (the limit is the setting {setting})", fix)])


# --- files --------------------------------------------------------------------------------------------------

def _read_file(path: Path, source: str, limits: Limits) -> bytes:
    """The bytes of a regular file (never through a link), refused beyond the file size limit."""
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_NONBLOCK", 0))
    except OSError as e:
        if os.path.islink(path):
            raise IngestError([Problem(source, None, None, None, "is a link to another file; links are not "
                                       "followed (one could point anywhere on this machine)",
                                       "Copy the file itself into the package")]) from e
        raise IngestError([Problem(source, None, None, None, f"cannot be opened: {e.strerror}")]) from e
    try:
        st = os.fstat(fd)
        if stat.S_ISDIR(st.st_mode):
            raise IngestError([Problem(source, None, None, None, "is a folder, not a file",
                                       "Put the table in a file of that name")])
        if not stat.S_ISREG(st.st_mode):
            raise IngestError([Problem(source, None, None, None, "is not a regular file (a device, pipe or socket)",
                                       "A package holds plain CSV files or one .xlsx workbook")])
        _check_size(st.st_size, source, limits)
    except BaseException:
        os.close(fd)
        raise
    with os.fdopen(fd, "rb") as f:
        data = f.read(limits.file_bytes + 1)
    _check_size(len(data), source, limits)
    return data


def _check_size(size: int, source: str, limits: Limits) -> None:
    if size > limits.file_bytes:
        raise _limit_problem(source, f"is {size / 2**20:,.1f} MB, more than {limits.file_mb:g} MB",
                             "CIVICTIES_MAX_FILE_MB", "Split the package, or raise the limit")


# --- CSV ----------------------------------------------------------------------------------------------------

def _decode(data: bytes, source: str) -> str:
    nul = data.find(b"\0")
    if nul >= 0:
        line = data.count(b"\n", 0, nul) + 1
        raise IngestError([Problem(source, line, None, None, "contains a NUL byte (\\0): it is not a text file, "
                                   "or it was damaged or saved as UTF-16",
                                   "Save it as 'CSV UTF-8' from the spreadsheet program")])
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as e:
        line = data.count(b"\n", 0, e.start) + 1
        column = e.start - (data.rfind(b"\n", 0, e.start) + 1) + 1
        raise IngestError([Problem(source, line, None, None,
                                   f"is not UTF-8 text: byte 0x{data[e.start]:02X} at character {column} of line "
                                   f"{line} is not UTF-8 (the file was probably saved as Latin-1 or Windows-1252)",
                                   "Save the file as 'CSV UTF-8' (Excel: Save As > CSV UTF-8)")]) from e


def _parse_csv(text: str, source: str, limits: Limits) -> tuple[list[str], list[list[str]], list[int], int]:
    """Header, records, the line each record starts on and the header's line; blank lines and rows of empty
    cells are skipped."""
    old_limit = csv.field_size_limit(limits.cell_chars)     # the csv module refuses a longer cell for us
    try:
        return _parse_records(text, source, limits)
    finally:
        csv.field_size_limit(old_limit)


def _parse_records(text: str, source: str, limits: Limits):
    reader = csv.reader(io.StringIO(text, newline=""), strict=True)
    header: list[str] | None = None
    header_line = 1
    rows: list[list[str]] = []
    lines: list[int] = []
    end = 0
    try:
        for record in reader:
            start, end = end + 1, reader.line_num
            if not record or not "".join(record).strip():
                continue
            if header is None:
                header, header_line = record, start
                if len(header) > limits.columns:
                    raise _limit_problem(source, f"has {len(header):,} columns, more than {limits.columns:,}",
                                         "CIVICTIES_MAX_COLUMNS", "Remove the columns that are not needed", row=start)
                continue
            if len(rows) >= limits.rows:
                raise _limit_problem(source, f"has more than {limits.rows:,} rows", "CIVICTIES_MAX_ROWS",
                                     "Split the table into several packages, or raise the limit", row=start)
            rows.append(record)
            lines.append(start)
    except csv.Error as e:
        start = end + 1
        if "field larger than field limit" in str(e):
            raise _limit_problem(source, f"has a cell longer than {limits.cell_chars:,} characters",
                                 "CIVICTIES_MAX_CELL_CHARS", "Shorten the cell", row=start) from e
        if "unexpected end of data" in str(e):
            raise IngestError([Problem(source, start, None, None, "has a quote (\") that opens a cell on this line "
                                       "and is never closed, so the rest of the file would be one cell",
                                       "Close the quote, or double a quote that is part of the text (\"\")")]) from e
        raise IngestError([Problem(source, reader.line_num, None, None, f"is not valid CSV on this line ({e})",
                                   "A cell with a quote inside must be quoted as a whole, with the quote doubled: "
                                   "\"5\"\" screen\"")]) from e
    if header is None:
        raise IngestError([Problem(source, None, None, None, "is empty: no header row",
                                   "Add a header row with the column names")])
    return header, rows, lines, header_line


def _frame(header: list, rows: list[list[str]], lines: list[int], source: str, found: ProblemList,
           header_row: int) -> tuple[pd.DataFrame, np.ndarray]:
    """The table as text, stripped; cells beyond the header are problems unless empty; a column without a name
    is a problem unless it is empty (a spreadsheet's trailing comma)."""
    width = len(header)
    ragged = set(map(len, rows)) - {width}
    for record, line in zip(rows, lines) if ragged else ():
        if len(record) > width:
            if any(c.strip() for c in record[width:]):
                found.add(Problem(source, line, None, None, f"has {len(record)} cells but the header has {width} "
                                  "columns", "Remove the extra cells, or name their column in the header"),
                          kind="extra cells")
            del record[width:]
        elif len(record) < width:
            record.extend([""] * (width - len(record)))
    columns = list(zip(*rows)) if rows else [()] * width
    names, data = [], {}
    for i, (name, values) in enumerate(zip(header, columns)):
        name = str(name).strip().lstrip("\ufeff").strip().lower()
        values = [v.strip() for v in values]
        if not name:
            filled = next((j for j, v in enumerate(values) if v), None)
            if filled is None:
                continue
            found.add(Problem(source, lines[filled], f"#{i + 1}", values[filled], f"column {i + 1} has values but "
                              "no name in the header", f"Name it in row {header_row}, or delete the column"))
            continue
        names.append(name)
        data[len(data)] = values
    frame = pd.DataFrame(data, dtype=object) if rows else pd.DataFrame({i: [] for i in range(len(names))},
                                                                        dtype=object)
    frame.columns = names
    return frame, np.asarray(lines, dtype=np.int64)


def read_csv_bytes(data: bytes | str | Path, name: str, source: str, limits: Limits | None = None) -> RawTable:
    """Read one CSV (a path or its bytes) with every cell as text, so 'Null' or '02134' survive."""
    limits = limits or Limits.from_settings()
    if isinstance(data, (str, Path)):
        data = _read_file(Path(data), source, limits)
    else:
        _check_size(len(data), source, limits)
    header, rows, lines, first_line = _parse_csv(_decode(data, source), source, limits)
    found = ProblemList(limits.problems_per_kind)
    frame, line_array = _frame(header, rows, lines, source, found, header_row=first_line)
    if found:
        raise IngestError(found.listed(), found.total)
    return RawTable(name, source, frame, line_array, header_row=first_line)


# --- Excel --------------------------------------------------------------------------------------------------

_OLE2 = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
_NS = "{http://schemas.openxmlformats.org/spreadsheetml/2006/main}"
_ROW, _CELL, _SHEET_DATA = f"{_NS}row", f"{_NS}c", f"{_NS}sheetData"
_V, _F, _IS, _T, _R = f"{_NS}v", f"{_NS}f", f"{_NS}is", f"{_NS}t", f"{_NS}r"
_REF = re.compile(r"([A-Z]{1,3})(\d+)$")


def _column_number(letters: str) -> int:
    n = 0
    for ch in letters:
        n = n * 26 + ord(ch) - 64
    return n


def _column_letters(n: int) -> str:
    out = ""
    while n:
        n, r = divmod(n - 1, 26)
        out = chr(65 + r) + out
    return out


def _number_text(v: str) -> str:
    """A number as Excel shows it: 7 not 7.0, at most 15 significant digits."""
    if v.lstrip("-").isdigit():
        return v
    try:
        x = float(v)
    except ValueError:
        return v
    if x.is_integer() and abs(x) < 1e15:
        return str(int(x))
    return f"{x:.15g}"


def _date_text(value) -> str:
    """A date cell as YYYY-MM-DD; a datetime at midnight is a date (Excel's dates are datetimes)."""
    if isinstance(value, datetime):
        if value.time() == time(0):
            return value.date().isoformat()
        return value.isoformat(sep=" ")
    if isinstance(value, (date, time)):
        return value.isoformat()
    if isinstance(value, timedelta):
        return str(value)
    return str(value)


def _check_workbook_zip(data: bytes, filename: str, limits: Limits) -> zipfile.ZipFile:
    if data[:8] == _OLE2:
        raise IngestError([Problem(filename, None, None, None, "is password-protected (encrypted), or an old .xls "
                                   "workbook: neither can be read",
                                   "In Excel: File > Info > Protect Workbook > remove the password, then save as "
                                   "Excel Workbook (.xlsx)")])
    try:
        zf = zipfile.ZipFile(io.BytesIO(data))
        parts = zf.infolist()
    except (zipfile.BadZipFile, OSError, ValueError, EOFError) as e:
        raise IngestError([Problem(filename, None, None, None, f"is not an .xlsx workbook (not a zip file: {e})",
                                   "Save it from the spreadsheet program as Excel Workbook (.xlsx)")]) from e
    part_bytes = int(limits.xlsx_part_mb * 1024 * 1024)
    for info in parts:
        if info.file_size > part_bytes:
            raise _limit_problem(filename, f"has a part ({info.filename}) of {info.file_size / 2**20:,.0f} MB once "
                                 f"uncompressed, more than {limits.xlsx_part_mb:g} MB", "CIVICTIES_MAX_XLSX_PART_MB",
                                 "Delete the unused rows and columns of its sheets, or send CSV files")
        ratio = info.file_size / max(info.compress_size, 1)
        if info.file_size > _RATIO_FROM_BYTES and ratio > limits.xlsx_ratio:
            raise _limit_problem(filename, f"has a part ({info.filename}) that expands {ratio:,.0f} times when "
                                 f"uncompressed, more than {limits.xlsx_ratio:g}", "CIVICTIES_MAX_XLSX_RATIO",
                                 "Delete the unused rows and columns of its sheets, or send CSV files")
    return zf


def read_xlsx_bytes(data: bytes, filename: str, limits: Limits | None = None) -> dict[str, RawTable]:
    """The tables of an .xlsx workbook (one sheet per table, named after it; other sheets are ignored)."""
    import openpyxl
    limits = limits or Limits.from_settings()
    _check_size(len(data), filename, limits)
    _check_workbook_zip(data, filename, limits)
    try:
        wb = openpyxl.load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except Exception as e:  # openpyxl raises many types for a broken workbook
        raise IngestError([Problem(filename, None, None, None, f"cannot be read as an .xlsx workbook: {e}",
                                   "Open it in the spreadsheet program and save it again as .xlsx")]) from e
    try:
        sheets: dict[str, str] = {}
        found = ProblemList(limits.problems_per_kind)
        out: dict[str, RawTable] = {}
        titles = [ws.title for ws in wb.worksheets]
        for ws in wb.worksheets:
            name = str(ws.title).strip().lower().removesuffix(".csv")
            if name not in TABLES:
                continue
            if name in sheets:
                found.add(Problem(filename, None, None, None, f"has two sheets for the {name} table: "
                                  f"{sheets[name]!r} and {ws.title!r}", "Keep one of them (rename or delete the "
                                  "other)"))
                continue
            sheets[name] = ws.title
            source = f"{filename}[{ws.title}]"
            _check_dimension(ws, source, limits)
            header, rows, lines, header_row = _read_sheet(wb, ws, source, limits, found)
            if header is None:
                found.add(Problem(source, None, None, None, "is empty: no header row",
                                  "Add a header row with the column names"))
                continue
            frame, line_array = _frame(header, rows, lines, source, found, header_row)
            out[name] = RawTable(name, source, frame, line_array, workbook=filename, header_row=header_row)
    finally:
        wb.close()
    if found:
        raise IngestError(found.listed(), found.total)
    if not out:
        raise IngestError([Problem(filename, None, None, None, "has no sheet named after a table of the data "
                                   f"contract (its sheets: {', '.join(repr(t) for t in titles)})",
                                   "Name the sheet of people 'people', the ties 'ties', and so on "
                                   "(docs/data-format.md)")])
    return out


def _check_dimension(ws, source: str, limits: Limits) -> None:
    """Refuse a sheet whose declared used range is beyond the limits before reading a row of it."""
    rows, cols = ws.max_row, ws.max_column
    if rows is None or cols is None:
        return
    if cols > limits.columns:
        raise _limit_problem(source, f"declares a used range up to column {_column_letters(cols)} ({cols:,} columns), "
                             f"more than {limits.columns:,}", "CIVICTIES_MAX_COLUMNS",
                             "Delete the columns beyond the data (select them, Delete), save, and try again")
    if rows > limits.rows + 1:
        raise _limit_problem(source, f"declares a used range down to row {rows:,}, more than {limits.rows:,} rows",
                             "CIVICTIES_MAX_ROWS", "Delete the rows below the data (select them, Delete), save, "
                             "and try again")


def _read_sheet(wb, ws, source: str, limits: Limits, found: ProblemList):
    """Stream one sheet's XML: (header, rows, row numbers, header row number). Each cell is checked against the
    limits as it is read, so a sheet can never cost more than its limits."""
    from openpyxl.utils.datetime import from_excel, from_ISO8601
    shared = wb.shared_strings
    date_styles, timedelta_styles = wb._date_formats, wb._timedelta_formats
    header: list[str] | None = None
    header_row = 1
    rows: list[list[str]] = []
    lines: list[int] = []
    names: dict[int, str] = {}
    row_number = 0
    cells: dict[int, str] = {}
    col = 0
    sheet_data = row_el = None
    with wb._archive.open(ws._worksheet_path) as src:
        for event, el in ElementTree.iterparse(src, events=("start", "end")):
            tag = el.tag
            if event == "start":
                if tag == _ROW:
                    row_el = el
                    r = el.get("r")
                    row_number = int(r) if r and r.isdigit() else row_number + 1
                    cells, col = {}, 0
                    if row_number > limits.rows + 1:
                        raise _limit_problem(source, f"has data in row {row_number:,}, more than {limits.rows:,} "
                                             "rows", "CIVICTIES_MAX_ROWS", "Delete the rows below the data")
                elif tag == _SHEET_DATA:
                    sheet_data = el
                continue
            if tag == _CELL:
                m = _REF.match(el.get("r") or "")
                col = _column_number(m.group(1)) if m else col + 1
                if col > limits.columns:
                    raise _limit_problem(source, f"has data in column {_column_letters(col)} ({col:,}), more than "
                                         f"{limits.columns:,} columns", "CIVICTIES_MAX_COLUMNS",
                                         "Delete the columns beyond the data", row=row_number)
                text = _cell_text(el, shared, date_styles, timedelta_styles, wb.epoch, from_excel, from_ISO8601,
                                  source, row_number, col, names, found)
                if len(text) > limits.cell_chars:
                    raise _limit_problem(source, f"has a cell longer than {limits.cell_chars:,} characters",
                                         "CIVICTIES_MAX_CELL_CHARS", "Shorten the cell", row=row_number,
                                         column=names.get(col, _column_letters(col)))
                if text:
                    cells[col] = text
                if row_el is not None:
                    row_el.remove(el)
            elif tag == _ROW:
                if sheet_data is not None:
                    sheet_data.remove(el)
                row_el = None
                if not any(v.strip() for v in cells.values()):
                    continue
                width = max(cells)
                record = [""] * width
                for c, v in cells.items():
                    record[c - 1] = v
                if header is None:
                    header, header_row = record, row_number
                    names = {i + 1: str(h).strip().lower() or _column_letters(i + 1) for i, h in enumerate(header)}
                    continue
                rows.append(record)
                lines.append(row_number)
    return header, rows, lines, header_row


def _cell_text(el, shared, date_styles, timedelta_styles, epoch, from_excel, from_iso, source, row, col, names,
               found: ProblemList) -> str:
    kind = el.get("t", "n")
    formula = el.find(_F)
    if kind == "inlineStr":
        inline = el.find(_IS)
        if inline is None:
            return ""
        return "".join(t.text or "" for t in inline.iter(_T) if t not in _phonetic(inline))
    value = el.findtext(_V)
    if value is None or value == "":
        if formula is not None:
            shown = "=" + formula.text if formula.text else "(a formula shared with the cells above)"
            found.add(Problem(source, row, names.get(col, _column_letters(col)), shown,
                              "is a formula whose result was never saved in the file, so its value is unknown",
                              "Open the workbook in Excel or LibreOffice and save it (that stores the results), "
                              "or replace the formulas by their values (Paste Special > Values)"), kind="formula")
        return ""
    if kind == "s":
        try:
            text = shared[int(value)]
        except (ValueError, IndexError):
            return ""
        return text if isinstance(text, str) else str(text)
    if kind in ("str", "inlineStr"):
        return value
    if kind == "b":
        return "TRUE" if value.strip() in ("1", "true") else "FALSE"
    if kind == "e":
        found.add(Problem(source, row, names.get(col, _column_letters(col)), value,
                          "is an Excel error value", "Fix the formula or type the value"), kind="error value")
        return ""
    if kind == "d":
        try:
            return _date_text(from_iso(value))
        except ValueError:
            return value
    style = int(el.get("s", 0) or 0)
    if style in date_styles:
        try:
            return _date_text(from_excel(float(value), epoch, timedelta=style in timedelta_styles))
        except (OverflowError, ValueError):
            return _number_text(value)
    return _number_text(value)


def _phonetic(inline) -> set:
    """The text elements of phonetic guides (ruby text) in an inline string: not part of the value."""
    return {t for ph in inline.iter(f"{_NS}rPh") for t in ph.iter(_T)}


# --- packages -----------------------------------------------------------------------------------------------

def read_package(path: str | Path, limits: Limits | None = None) -> dict[str, RawTable]:
    """Read a package: a folder of `<table>.csv` files, or an .xlsx workbook with a sheet per table.

    Files whose names are not tables of the contract are ignored. Raises IngestError when the package cannot be
    read (missing, not a regular file, beyond a limit, not UTF-8, not CSV, a broken workbook).
    """
    limits = limits or Limits.from_settings()
    path = Path(path)
    if not path.exists() and not path.is_symlink():
        raise IngestError([Problem(str(path), None, None, None, "does not exist",
                                   "Give a folder of CSV files or an .xlsx workbook")])
    if path.suffix.lower() == ".xlsx" and not path.is_dir():
        return read_xlsx_bytes(_read_file(path, path.name, limits), path.name, limits)
    if not path.is_dir():
        raise IngestError([Problem(str(path), None, None, None, "is neither a folder nor an .xlsx workbook")])
    tables: dict[str, RawTable] = {}
    problems: list[Problem] = []
    total = 0
    for name in TABLES:
        f = path / f"{name}.csv"
        if f.exists() or f.is_symlink():
            try:
                tables[name] = read_csv_bytes(f, name, f.name, limits)
            except IngestError as e:
                problems.extend(e.problems)
                total += e.total
    if problems:
        raise IngestError(problems, total)
    return tables
