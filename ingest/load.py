"""Loading: read -> validate -> map to the graph model -> one all-or-nothing write."""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from graph.model import TABLES, to_graph_records
from graph.store import Store
from ingest.problems import IngestError, Problem
from ingest.read import Limits, RawTable, read_csv_bytes, read_package, read_xlsx_bytes
from ingest.validate import ValidatedPackage, validate

__all__ = ["LoadReport", "check_package", "load_package", "raw_from_uploads", "default_source_name"]


@dataclass
class LoadReport:
    """What a load did: rows per table, nodes and relationships written, warnings (unmatched names); the source
    it was marked with; for a replacing or dry-run load, what was added, changed, unchanged, removed and kept per
    node label and relationship type (`changes`)."""

    rows: dict[str, int] = field(default_factory=dict)
    written: dict[str, int] = field(default_factory=dict)
    warnings: list[Problem] = field(default_factory=list)
    unmatched_names: list[str] = field(default_factory=list)
    source: str | None = None
    changes: dict[str, dict[str, int]] | None = None
    dry_run: bool = False
    warning_count: int = 0

    def as_dict(self) -> dict:
        out = {"rows": self.rows, "written": self.written, "warnings": [w.as_dict() for w in self.warnings],
               "unmatched_names": self.unmatched_names, "source": self.source}
        if self.changes is not None:
            out["changes"] = self.changes
        if self.dry_run:
            out["dry_run"] = True
        return out


def raw_from_uploads(files: list[tuple[str, bytes]], limits: Limits | None = None) -> dict[str, RawTable]:
    """Raw tables from uploaded files: several `<table>.csv` files, or one .xlsx workbook. Each file is checked
    against the limits (ingest/read.py) before it is parsed."""
    limits = limits or Limits.from_settings()
    tables: dict[str, RawTable] = {}
    problems: list[Problem] = []
    total = 0
    for filename, data in files:
        stem, suffix = Path(filename).stem.lower(), Path(filename).suffix.lower()
        try:
            if suffix == ".xlsx":
                for name, table in read_xlsx_bytes(data, Path(filename).name, limits).items():
                    if name in tables:
                        raise IngestError([Problem(filename, None, None, None, f"has a {name} sheet, and "
                                                   f"{tables[name].source} is the {name} table too",
                                                   "Upload one of them")])
                    tables[name] = table
            elif suffix == ".csv" and stem in TABLES:
                if stem in tables:
                    raise IngestError([Problem(filename, None, None, None, f"is the {stem} table, and so is "
                                               f"{tables[stem].source}", "Upload one of them")])
                tables[stem] = read_csv_bytes(data, stem, filename, limits)
            else:
                raise IngestError([Problem(filename, None, None, None, "is not a table of the data contract",
                                           "Name CSV files after their table: "
                                           f"{', '.join(t + '.csv' for t in TABLES)}")])
        except IngestError as e:
            problems.extend(e.problems)
            total += e.total
    if problems:
        raise IngestError(problems, total)
    return tables


def check_package(source: str | Path | dict[str, RawTable], limits: Limits | None = None) -> ValidatedPackage:
    """Read (if given a path) and validate a package without writing anything."""
    limits = limits or Limits.from_settings()
    raw = read_package(source, limits) if isinstance(source, (str, Path)) else source
    return validate(raw, limits)


def default_source_name(source) -> str:
    """The source a package is marked with when none is given: the folder or workbook name; "upload" for uploaded
    files."""
    if isinstance(source, (str, Path)):
        return Path(source).absolute().name
    return "upload"


def load_package(source: str | Path | dict[str, RawTable] | ValidatedPackage, store: Store, *, demo: bool = False,
                 source_name: str | None = None, replace: bool = False, dry_run: bool = False) -> LoadReport:
    """Validate a package and write it to the store in one transaction.

    Raises IngestError listing the problems when the package is invalid; the store is then untouched.
    Loading the same package again changes nothing (every node and relationship is upserted by its id).
    Every row written is marked with `source_name` (default: the folder or workbook name) and the time;
    `replace=True` also removes what that source loaded before and the package no longer holds (Store.write);
    `dry_run=True` only counts what would be added, changed and removed (`LoadReport.changes`).

    The store remembers where its data came from (meta `data_origin`): a real package marks it 'package'
    before anything is written (so a failed load can only err on the safe side); `demo=True` (the generated
    demo, into an empty store) marks it 'demo' afterwards. The dashboard offers demo sign-in only on 'demo'.
    """
    pkg = source if isinstance(source, ValidatedPackage) else check_package(source)
    if not pkg.ok:
        raise IngestError(pkg.problems, pkg.problem_count)
    name = source_name or (default_source_name(source) if not isinstance(source, ValidatedPackage) else "package")
    records = to_graph_records(pkg.tables)
    if dry_run:
        written = store.write(records, source=name, replace=replace, dry_run=True)
    else:
        was_empty = store.is_empty()
        if not demo:
            store.set_meta("data_origin", "package")
        written = store.write(records, source=name, replace=replace)
        if demo and was_empty:
            store.set_meta("data_origin", "demo")
    changes = written.pop("changes", None)
    return LoadReport(rows=pkg.row_counts(), written=written, warnings=pkg.warnings,
                      unmatched_names=pkg.unmatched_names, source=name, changes=changes, dry_run=dry_run,
                      warning_count=pkg.warning_count)
