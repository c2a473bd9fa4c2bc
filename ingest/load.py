"""Loading: read -> validate -> map to the graph model -> one all-or-nothing write."""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from graph.model import TABLES, to_graph_records
from graph.store import Store
from ingest.problems import IngestError, Problem
from ingest.read import RawTable, read_csv_bytes, read_package, _read_xlsx
from ingest.validate import ValidatedPackage, validate

__all__ = ["LoadReport", "check_package", "load_package", "raw_from_uploads"]


@dataclass
class LoadReport:
    """What a load did: rows per table, nodes and relationships written, warnings (unmatched names)."""

    rows: dict[str, int] = field(default_factory=dict)
    written: dict[str, int] = field(default_factory=dict)
    warnings: list[Problem] = field(default_factory=list)
    unmatched_names: list[str] = field(default_factory=list)

    def as_dict(self) -> dict:
        return {"rows": self.rows, "written": self.written, "warnings": [w.as_dict() for w in self.warnings],
                "unmatched_names": self.unmatched_names}


def raw_from_uploads(files: list[tuple[str, bytes]]) -> dict[str, RawTable]:
    """Raw tables from uploaded files: several `<table>.csv` files, or one .xlsx workbook."""
    tables: dict[str, RawTable] = {}
    problems: list[Problem] = []
    for filename, data in files:
        stem, suffix = Path(filename).stem.lower(), Path(filename).suffix.lower()
        if suffix == ".xlsx":
            try:
                tables.update(_read_xlsx_bytes(data, filename))
            except IngestError as e:
                problems.extend(e.problems)
        elif suffix == ".csv" and stem in TABLES:
            try:
                tables[stem] = read_csv_bytes(data, stem, filename)
            except IngestError as e:
                problems.extend(e.problems)
        else:
            problems.append(Problem(filename, None, None, None, "is not a table of the data contract",
                                    f"Name CSV files after their table: {', '.join(t + '.csv' for t in TABLES)}"))
    if problems:
        raise IngestError(problems)
    return tables


def _read_xlsx_bytes(data: bytes, filename: str) -> dict[str, RawTable]:
    import tempfile
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / Path(filename).name
        path.write_bytes(data)
        return _read_xlsx(path)


def check_package(source: str | Path | dict[str, RawTable]) -> ValidatedPackage:
    """Read (if given a path) and validate a package without writing anything."""
    raw = read_package(source) if isinstance(source, (str, Path)) else source
    return validate(raw)


def load_package(source: str | Path | dict[str, RawTable], store: Store, *, demo: bool = False) -> LoadReport:
    """Validate a package and write it to the store in one transaction.

    Raises IngestError listing every problem when the package is invalid; the store is then untouched.
    Loading the same package again changes nothing (every node and relationship is upserted by its id).

    The store remembers where its data came from (meta `data_origin`): a real package marks it 'package'
    before anything is written (so a failed load can only err on the safe side); `demo=True` (the generated
    demo, into an empty store) marks it 'demo' afterwards. The dashboard offers demo sign-in only on 'demo'.
    """
    pkg = check_package(source)
    if not pkg.ok:
        raise IngestError(pkg.problems)
    records = to_graph_records(pkg.tables)
    was_empty = store.is_empty()
    if not demo:
        store.set_meta("data_origin", "package")
    written = store.write(records)
    if demo and was_empty:
        store.set_meta("data_origin", "demo")
    return LoadReport(rows=pkg.row_counts(), written=written, warnings=pkg.warnings,
                      unmatched_names=pkg.unmatched_names)
