"""Every validation problem in the data contract, found in one pass with file, row, column and value."""
import csv
from pathlib import Path

import pytest

from civicties.cli import main
from ingest.load import check_package, load_package
from ingest.problems import IngestError


def _edit(folder: Path, table: str, row: int | None = None, column: str | None = None, value: str | None = None,
          append: dict | None = None, drop_column: str | None = None):
    """Change one cell (row = spreadsheet row, header is 1), append a row, or drop a column of a CSV."""
    path = folder / f"{table}.csv"
    with open(path, newline="", encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    fields = list(rows[0].keys())
    if row is not None:
        rows[row - 2][column] = value
    if append:
        rows.append({k: append.get(k, "") for k in fields})
    if drop_column:
        fields.remove(drop_column)
        rows = [{k: v for k, v in r.items() if k != drop_column} for r in rows]
    with open(path, "w", newline="", encoding="utf-8") as f:
        w = csv.DictWriter(f, fieldnames=fields)
        w.writeheader()
        w.writerows(rows)


def _problems(folder):
    pkg = check_package(folder)
    return [(p.file, p.row, p.column, p.value) for p in pkg.problems], pkg


def test_tiny_package_is_valid(tiny_dir):
    pkg = check_package(tiny_dir)
    assert pkg.ok, pkg.problems


def test_missing_people_file(tiny_dir):
    (tiny_dir / "people.csv").unlink()
    found, pkg = _problems(tiny_dir)
    assert found == [("people.csv", None, None, None)]
    assert "required" in pkg.problems[0].message


def test_missing_required_column(tiny_dir):
    _edit(tiny_dir, "enrollments", drop_column="cohort_id")
    found, pkg = _problems(tiny_dir)
    assert ("enrollments.csv", None, "cohort_id", None) in found
    assert "missing" in pkg.problems[0].message


def test_empty_required_value(tiny_dir):
    _edit(tiny_dir, "people", 3, "person_id", "")
    found, _ = _problems(tiny_dir)
    assert ("people.csv", 3, "person_id", "") in found


def test_duplicate_id(tiny_dir):
    _edit(tiny_dir, "people", 3, "person_id", "A")
    found, pkg = _problems(tiny_dir)
    assert ("people.csv", 3, "person_id", "A") in found
    assert any("duplicates row 2" in p.message for p in pkg.problems)


def test_duplicate_composite_key(tiny_dir):
    _edit(tiny_dir, "attendance", append={"person_id": "A", "event_id": "E1", "role": "attendee"})
    found, _ = _problems(tiny_dir)
    assert ("attendance.csv", 5, "person_id+event_id", "A/E1") in found


@pytest.mark.parametrize("table,row,column,value", [
    ("enrollments", 2, "person_id", "NOBODY"),         # unknown person
    ("enrollments", 2, "cohort_id", "C9"),             # unknown cohort
    ("attendance", 2, "event_id", "E9"),               # unknown event
    ("home_visits", 2, "family_id", "F99"),            # unknown family
    ("home_visits", 2, "school_id", "SC9"),            # unknown school
    ("appointments", 2, "body_id", "B9"),              # unknown body
    ("ties", 2, "to_person_id", "Q"),                  # unknown person named in a tie
    ("people", 2, "site_id", "S9"),                    # unknown site
])
def test_unknown_reference(tiny_dir, table, row, column, value):
    _edit(tiny_dir, table, row, column, value)
    found, pkg = _problems(tiny_dir)
    assert (f"{table}.csv", row, column, value) in found
    assert any("unknown" in p.message for p in pkg.problems)


def test_reference_to_a_file_not_in_the_package(tiny_dir):
    (tiny_dir / "bodies.csv").unlink()
    found, pkg = _problems(tiny_dir)
    assert ("appointments.csv", 2, "body_id", "B1") in found
    assert "bodies.csv, which is not in the package" in str(pkg.problems[0])


@pytest.mark.parametrize("value", ["2024-13-45", "2024-02-30", "15/01/2024", "20240115", "soon"])
def test_impossible_date(tiny_dir, value):
    _edit(tiny_dir, "cohorts", 3, "start_date", value)
    found, pkg = _problems(tiny_dir)
    assert ("cohorts.csv", 3, "start_date", value) in found
    assert "YYYY-MM-DD" in str(pkg.problems[0])


def test_end_before_start(tiny_dir):
    _edit(tiny_dir, "appointments", 2, "end_date", "2020-01-01")
    found, pkg = _problems(tiny_dir)
    assert found == [("appointments.csv", 2, "end_date", "2020-01-01")]
    assert "before start_date" in pkg.problems[0].message


@pytest.mark.parametrize("table,column,value", [
    ("people", "role", "grandparent"), ("enrollments", "status", "dropped"), ("events", "kind", "party"),
    ("attendance", "role", "guest"), ("bodies", "level", "planet"), ("bodies", "kind", "club")])
def test_value_outside_enumeration(tiny_dir, table, column, value):
    _edit(tiny_dir, table, 2, column, value)
    found, pkg = _problems(tiny_dir)
    assert (f"{table}.csv", 2, column, value) in found
    assert "Use one of" in str(pkg.problems[0])


def test_enumeration_ignores_case(tiny_dir):
    _edit(tiny_dir, "enrollments", 2, "status", "Graduated")
    assert check_package(tiny_dir).ok


def test_tie_naming_no_one(tiny_dir):
    _edit(tiny_dir, "ties", append={"from_person_id": "A", "wave": "pre"})
    found, _ = _problems(tiny_dir)
    assert ("ties.csv", 10, "to_person_id", "") in found


def test_every_problem_is_reported_at_once(tiny_dir):
    _edit(tiny_dir, "people", 3, "role", "wizard")
    _edit(tiny_dir, "cohorts", 2, "end_date", "2024-13-45")
    _edit(tiny_dir, "attendance", 3, "event_id", "E404")
    found, _ = _problems(tiny_dir)
    assert {("people.csv", 3, "role", "wizard"), ("cohorts.csv", 2, "end_date", "2024-13-45"),
            ("attendance.csv", 3, "event_id", "E404")} <= set(found)


def test_not_utf8(tiny_dir):
    (tiny_dir / "sites.csv").write_bytes("site_id,name\nS1,Caf\xe9\n".encode("latin-1"))
    with pytest.raises(IngestError) as e:
        check_package(tiny_dir)
    assert e.value.problems[0].file == "sites.csv" and "UTF-8" in e.value.problems[0].message


def test_bad_package_leaves_store_unchanged(tiny_dir, sqlite_store, tmp_path):
    load_package(tiny_dir, sqlite_store)
    before = sqlite_store.read_rows()
    _edit(tiny_dir, "people", 2, "name", "Changed Name")         # a valid change...
    _edit(tiny_dir, "appointments", 2, "body_id", "B9")          # ...and an invalid one
    with pytest.raises(IngestError):
        load_package(tiny_dir, sqlite_store)
    assert sqlite_store.read_rows() == before


def test_cli_ingest_bad_package_exits_nonzero_and_writes_nothing(tiny_dir, tmp_path, capsys):
    uri = f"sqlite:///{tmp_path / 's.sqlite'}"
    _edit(tiny_dir, "cohorts", 3, "start_date", "2024-13-45")
    assert main(["ingest", str(tiny_dir), "--store", uri]) == 1
    err = capsys.readouterr().err
    assert "cohorts.csv, row 3, column start_date" in err and "nothing was written" in err
    from graph.store import open_store
    with open_store(uri) as s:
        assert s.counts() == {}


def test_cli_check(tiny_dir, capsys):
    assert main(["check", str(tiny_dir)]) == 0
    _edit(tiny_dir, "events", 2, "kind", "party")
    assert main(["check", str(tiny_dir)]) == 1
    assert "events.csv, row 2, column kind" in capsys.readouterr().out
