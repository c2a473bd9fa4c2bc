"""Hostile and faulty packages (issue 12): each is refused with a clear message, or accepted without losing or
changing anything. Every file is built here, in tmp_path; nothing large lives in the repository."""
from __future__ import annotations

import itertools
import os
import sqlite3
import sys
import time
import zipfile
from datetime import date, datetime
from pathlib import Path
from xml.sax.saxutils import escape

import pytest

from civicties.cli import main
from graph.errors import StoreError
from graph.model import EdgeRecord, GraphRecords, edge_key
from graph.store import NoStoreError, SQLiteStore, open_store
from ingest.load import check_package, load_package, raw_from_uploads
from ingest.problems import IngestError
from ingest.read import read_package

sys.path.insert(0, str(Path(__file__).parent))
from spreadsheets import row, workbook, write_xlsx  # noqa: E402


# --- helpers ------------------------------------------------------------------------------------------------

def write(folder: Path, name: str, text: str | bytes) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    if isinstance(text, bytes):
        path.write_bytes(text)
    else:
        path.write_text(text, encoding="utf-8", newline="")
    return path


def problems_of(package) -> list:
    try:
        pkg = check_package(package)
    except IngestError as e:
        return e.problems
    return pkg.problems


def refused(package, *words) -> str:
    """The package is refused; return its problems as text, checking each word appears."""
    found = problems_of(package)
    assert found, "expected the package to be refused"
    text = "\n".join(str(p) for p in found)
    for w in words:
        assert w in text, text
    return text


def loaded(package, tmp_path, name="store.sqlite"):
    with SQLiteStore(tmp_path / name) as store:
        load_package(package, store)
        return store.read(), store.counts()


# --- 1. keys unambiguous for any text -------------------------------------------------------------------------

def test_relationship_keys_are_unambiguous_for_any_text():
    alphabet = ["", "a", "\x1f", "\x1e", "a\x1fb", "\x1ea", "[\"a\"]", "\x1e[\"a\"]"]
    for n in (1, 2, 3):
        seen = {}
        for values in itertools.product(alphabet, repeat=n):
            key = edge_key(dict(zip("xyz", values)), tuple("xyz"[:n]))
            assert seen.setdefault(key, values) == values, (key, values, seen[key])


def test_unit_separator_in_ids_keeps_both_attendance_rows(tmp_path):
    """Before: ("P1\\x1fX", "E1") and ("P1", "X\\x1fE1") had the same key and SQLite kept one of the two."""
    rows = [{"person_id": "P1\x1fX", "event_id": "E1"}, {"person_id": "P1", "event_id": "X\x1fE1"}]
    records = GraphRecords(
        nodes={"Person": [{"id": "P1\x1fX"}, {"id": "P1"}], "Event": [{"id": "E1"}, {"id": "X\x1fE1"}]},
        edges=[EdgeRecord("ATTENDED", "Person", r["person_id"], "Event", r["event_id"],
                          edge_key(r, ("person_id", "event_id")), r) for r in rows])
    with SQLiteStore(tmp_path / "s.sqlite") as store:
        store.write(records)
        assert store.counts()["ATTENDED"] == 2
        assert sorted(r["person_id"] for r in store.read_rows()[1]["ATTENDED"]) == ["P1", "P1\x1fX"]


def test_unit_separator_in_tie_text_keeps_both_ties(tmp_path):
    pkg = tmp_path / "pkg"
    write(pkg, "people.csv", "person_id\nP1\nP2\n")
    write(pkg, "ties.csv", "from_person_id,to_person_id,tie_type,wave\nP1,P2,a\x1fb,c\nP1,P2,a,b\x1fc\n")
    ds, counts = loaded(pkg, tmp_path)
    assert counts["REPORTED_TIE"] == 2
    assert sorted(ds.ties["wave"]) == ["b\x1fc", "c"]
    assert any("invisible control character" in str(w) for w in check_package(pkg).warnings)


def test_control_character_in_an_id_is_an_error(tmp_path):
    pkg = tmp_path / "pkg"
    write(pkg, "people.csv", "person_id\nP1\x1fX\n")
    refused(pkg, "people.csv, row 2, column person_id", "invisible character", "U+001F")


def test_lookalike_id_gets_a_note(tmp_path):
    pkg = tmp_path / "pkg"
    write(pkg, "people.csv", "person_id\nP000001\n\u0420000001\n")     # a Cyrillic ER
    pkg_ok = check_package(pkg)
    assert pkg_ok.ok
    notes = "\n".join(str(w) for w in pkg_ok.warnings)
    assert "row 3, column person_id" in notes and "looks like 'P000001'" in notes and "CYRILLIC" in notes


# --- 2-6. nothing lost or changed ---------------------------------------------------------------------------

def test_nul_byte_is_refused_not_cut(tmp_path):
    pkg = tmp_path / "pkg"
    write(pkg, "people.csv", b"person_id,name\nP1,Ana\x00Smith\nP2\x00X,Bo\n")
    refused(pkg, "people.csv, row 2", "NUL byte")


def test_a_column_named_twice_is_refused(tmp_path):
    pkg = tmp_path / "pkg"
    write(pkg, "people.csv", "person_id,name,name\nP1,Ana,Bo\n")
    refused(pkg, "people.csv, row 1, column name", "appears twice")
    write(pkg, "people.csv", "person_id,Name , name\nP1,Ana,Bo\n")
    refused(pkg, "column name", "appears twice")


def test_extra_columns_named_like_the_stores_own_are_kept(tmp_path):
    pkg = tmp_path / "pkg"
    write(pkg, "people.csv", "person_id,id,_key,_source,column:x\nP1,legacy-7,k,s,x\n")
    write(pkg, "events.csv", "event_id\nE1\n")
    write(pkg, "attendance.csv", "person_id,event_id,_key,_loaded_at\nP1,E1,mine,yesterday\n")
    write(pkg, "ties.csv", "from_person_id,to_name,to_name_key\nP1,Nobody,their-key\n")
    ds, _ = loaded(pkg, tmp_path)
    person = ds.people.iloc[0]
    assert person["person_id"] == "P1" and person["id"] == "legacy-7"
    assert (person["_key"], person["_source"], person["column:x"]) == ("k", "s", "x")
    assert ds.attendance.iloc[0][["_key", "_loaded_at"]].tolist() == ["mine", "yesterday"]
    assert ds.ties.iloc[0]["to_name_key"] == "their-key"


def test_formula_without_a_saved_result_is_refused(tmp_path):
    body = (row(1, "person_id", "name") + row(2, "P1", "Ana")
            + '<row r="3"><c r="A3" t="inlineStr"><is><t>P2</t></is></c><c r="B3"><f>UPPER("ana")</f></c></row>'
            + '<row r="4"><c r="A4"><f>"P"&amp;3</f></c></row>')
    book = write_xlsx(tmp_path / "book.xlsx", {"people": body})
    text = refused(book, "row 3, column name", "formula", "never saved", "row 4, column person_id")
    assert "required value is empty" not in text


def test_formula_with_a_saved_result_reads_the_result(tmp_path):
    body = (row(1, "person_id", "name")
            + '<row r="2"><c r="A2" t="str"><f>"P"&amp;1</f><v>P1</v></c>'
              '<c r="B2" t="str"><f>UPPER("ana")</f><v>ANA</v></c></row>')
    ds, _ = loaded(write_xlsx(tmp_path / "book.xlsx", {"people": body}), tmp_path)
    assert ds.people[["person_id", "name"]].values.tolist() == [["P1", "ANA"]]


def test_two_sheets_for_one_table_are_refused(tmp_path):
    book = workbook(tmp_path / "book.xlsx", {"people": [["person_id"], ["P1"]], "People ": [["person_id"], ["P2"]]})
    refused(book, "two sheets for the people table", "'people'", "'People '")


# --- 7-8. valid data accepted -------------------------------------------------------------------------------

def test_excel_dates_are_dates(tmp_path):
    book = workbook(tmp_path / "book.xlsx", {
        "people": [["person_id"], ["P1"]],
        "cohorts": [["cohort_id", "start_date", "end_date"],
                    ["C1", datetime(2024, 9, 15), date(2025, 6, 1)],
                    ["C2", "2024-01-01", datetime(9999, 12, 31)]],
    })
    ds, _ = loaded(book, tmp_path)
    assert ds.cohorts[["start_date", "end_date"]].values.tolist() == [["2024-09-15", "2025-06-01"],
                                                                      ["2024-01-01", "9999-12-31"]]


def test_a_datetime_with_a_time_of_day_is_not_a_date(tmp_path):
    book = workbook(tmp_path / "book.xlsx", {"people": [["person_id"], ["P1"]],
                                             "cohorts": [["cohort_id", "start_date"], ["C1", datetime(2024, 9, 15, 10, 30)]]})
    refused(book, "row 2, column start_date", "not a valid date", "2024-09-15 10:30:00")


def test_excel_numbers_read_as_shown(tmp_path):
    book = workbook(tmp_path / "book.xlsx", {"people": [["person_id", "score", "ratio"], [7, 3.0, 0.1 + 0.2]]})
    ds, _ = loaded(book, tmp_path)
    assert ds.people[["person_id", "score", "ratio"]].values.tolist() == [["7", "3", "0.3"]]


@pytest.mark.parametrize("value", ["9999-12-31", "0001-01-01", "2400-02-29", "1677-09-21", "2262-04-12"])
def test_dates_outside_pandas_range_are_valid(tmp_path, value):
    pkg = tmp_path / "pkg"
    write(pkg, "people.csv", "person_id\nP1\n")
    write(pkg, "cohorts.csv", f"cohort_id,start_date,end_date\nC1,2020-01-01,{value}\n")
    pkg_ok = check_package(pkg)
    if value < "2020-01-01":
        assert [p.message for p in pkg_ok.problems] == ["is before start_date (2020-01-01)"]
    else:
        assert pkg_ok.ok, pkg_ok.problems


@pytest.mark.parametrize("value", ["2023-02-29", "2100-02-29", "2024-04-31", "2024-00-10", "0000-01-01",
                                   "2024-1-05", "15/01/2024"])
def test_impossible_dates_are_still_refused(tmp_path, value):
    pkg = tmp_path / "pkg"
    write(pkg, "people.csv", "person_id\nP1\n")
    write(pkg, "cohorts.csv", f"cohort_id,start_date\nC1,{value}\n")
    refused(pkg, "cohorts.csv, row 2, column start_date", "not a valid date")


# --- 9. limits ------------------------------------------------------------------------------------------------

def test_a_declared_used_range_beyond_the_limits_is_refused_at_once(tmp_path):
    book = write_xlsx(tmp_path / "book.xlsx", {"people": row(1, "person_id") + row(2, "P1")},
                      dimensions={"people": "A1:XFD1048576"})
    t0 = time.perf_counter()
    refused(book, "XFD", "CIVICTIES_MAX_COLUMNS")
    assert time.perf_counter() - t0 < 30          # not a timing target: only "it did not read 17 billion cells"


def test_a_far_cell_without_a_declared_range_is_refused(tmp_path):
    body = row(1, "person_id") + '<row r="1048576"><c r="XFD1048576" t="inlineStr"><is><t>x</t></is></c></row>'
    refused(write_xlsx(tmp_path / "book.xlsx", {"people": body}), "column XFD", "CIVICTIES_MAX_COLUMNS")


def test_a_sheet_too_large_once_uncompressed_is_refused(tmp_path, monkeypatch):
    monkeypatch.setenv("CIVICTIES_MAX_XLSX_PART_MB", "0.05")
    body = row(1, "person_id", "name") + "".join(row(i, f"P{i}", "x" * 50) for i in range(2, 2000))
    refused(write_xlsx(tmp_path / "book.xlsx", {"people": body}), "uncompressed", "CIVICTIES_MAX_XLSX_PART_MB")


def test_a_zip_bomb_sheet_is_refused_by_its_ratio(tmp_path, monkeypatch):
    import ingest.read
    monkeypatch.setattr(ingest.read, "_RATIO_FROM_BYTES", 1000)
    body = row(1, "person_id") + row(2, "P1") + "<row/>" * 200_000
    refused(write_xlsx(tmp_path / "book.xlsx", {"people": body}), "expands", "CIVICTIES_MAX_XLSX_RATIO")


@pytest.mark.parametrize("setting, value, text", [
    ("CIVICTIES_MAX_CELL_CHARS", "100", "person_id,name\nP1," + "x" * 101 + "\n"),
    ("CIVICTIES_MAX_ROWS", "3", "person_id\nP1\nP2\nP3\nP4\n"),
    ("CIVICTIES_MAX_COLUMNS", "3", "person_id,a,b,c\nP1,,,\n"),
    ("CIVICTIES_MAX_FILE_MB", "0.0001", "person_id,name\n" + "P1,Ana\n" * 100),
])
def test_csv_limits_are_refused_naming_the_setting(tmp_path, monkeypatch, setting, value, text):
    monkeypatch.setenv(setting, value)
    pkg = tmp_path / "pkg"
    write(pkg, "people.csv", text)
    refused(pkg, setting)
    with pytest.raises(IngestError, match=setting):
        raw_from_uploads([("people.csv", text.encode())])


def test_a_cell_beyond_the_limit_in_a_workbook_is_refused(tmp_path, monkeypatch):
    monkeypatch.setenv("CIVICTIES_MAX_CELL_CHARS", "100")
    refused(write_xlsx(tmp_path / "book.xlsx", {"people": row(1, "person_id", "name") + row(2, "P1", "x" * 500)}),
            "CIVICTIES_MAX_CELL_CHARS")


def test_links_and_special_files_are_refused(tmp_path):
    pkg = tmp_path / "pkg"
    pkg.mkdir()
    (pkg / "people.csv").symlink_to("/dev/zero")
    refused(pkg, "people.csv", "link")
    (pkg / "people.csv").unlink()
    os.mkfifo(pkg / "people.csv")
    refused(pkg, "people.csv", "not a regular file")
    (pkg / "people.csv").unlink()
    (pkg / "people.csv").mkdir()
    refused(pkg, "people.csv", "is a folder")
    book = tmp_path / "book.xlsx"
    book.symlink_to("/dev/zero")
    refused(book, "link")


# --- 10. a report that stays readable --------------------------------------------------------------------------

def test_many_problems_are_capped_but_counted(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("CIVICTIES_MAX_PROBLEMS_PER_KIND", "5")
    pkg = tmp_path / "pkg"
    write(pkg, "people.csv", "person_id,role\n" + "".join(f"P{i // 2},wizard\n" for i in range(2000)))
    result = check_package(pkg)
    assert result.problem_count == 1000 + 2000          # 1000 duplicates, 2000 bad roles
    assert len(result.problems) == 5 + 5 + 2
    assert sum("more rows like this" in p.message for p in result.problems) == 2
    dup = [p for p in result.problems if p.message.startswith("duplicates row")]
    assert [(p.row, p.message) for p in dup[:2]] == [(3, "duplicates row 2"), (5, "duplicates row 4")]
    assert main(["check", str(pkg)]) == 1
    out = capsys.readouterr().out
    assert out.strip().endswith("3,000 problem(s)") and len(out) < 5000


# --- 11. messages, not tracebacks -------------------------------------------------------------------------------

def test_people_csv_that_is_a_folder_is_a_message(tmp_path, capsys):
    (tmp_path / "pkg" / "people.csv").mkdir(parents=True)
    assert main(["ingest", str(tmp_path / "pkg"), "--store", str(tmp_path / "s.sqlite")]) == 1
    err = capsys.readouterr().err
    assert "people.csv: is a folder" in err and "Traceback" not in err


def test_ctrl_c_is_a_message(tmp_path, monkeypatch, capsys, tiny_dir):
    import ingest.load

    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt
    monkeypatch.setattr(ingest.load, "to_graph_records", interrupted)
    assert main(["ingest", str(tiny_dir), "--store", str(tmp_path / "s.sqlite")]) == 130
    assert "interrupted; nothing was written" in capsys.readouterr().err


def test_a_full_disk_says_so(tmp_path):
    """Before: SQLite had rolled back already, and the second ROLLBACK's "no transaction is active" hid why."""
    store = SQLiteStore(tmp_path / "s.sqlite")
    store._conn.execute("PRAGMA max_page_count = 20")
    with pytest.raises(StoreError) as e:
        store.write(GraphRecords(nodes={"Person": [{"id": f"P{i}", "name": "x" * 500} for i in range(2000)]}))
    assert "full" in str(e.value) and "no transaction is active" not in str(e.value)
    store._conn.execute("PRAGMA max_page_count = 1073741823")
    assert store.counts() == {}
    store.close()


# --- 12. the row a person sees ------------------------------------------------------------------------------------

def test_rows_count_blank_lines_and_cells_over_several_lines(tmp_path):
    pkg = tmp_path / "pkg"
    write(pkg, "people.csv", 'person_id,role,note\n\nP1,parent,"two\nlines"\n\nP2,wizard,\n')
    refused(pkg, "people.csv, row 6, column role")


def test_an_unbalanced_quote_names_the_line_it_opens_on(tmp_path):
    pkg = tmp_path / "pkg"
    write(pkg, "people.csv", 'person_id,name\nP1,Ana\nP2,"Bo\nP3,Cy\n')
    refused(pkg, "people.csv, row 3", "never closed")


def test_a_latin1_byte_names_line_and_character(tmp_path):
    pkg = tmp_path / "pkg"
    write(pkg, "people.csv", "person_id,name\nP1,Ana\nP2,Caf\xe9\n".encode("latin-1"))
    refused(pkg, "people.csv, row 3", "0xE9", "character 7 of line 3", "UTF-8")


def test_extra_cells_beyond_the_header(tmp_path):
    pkg = tmp_path / "pkg"
    write(pkg, "people.csv", "person_id,name\nP1,Ana,,\nP2,Bo,surplus\n")
    refused(pkg, "people.csv, row 3", "3 cells but the header has 2")
    write(pkg, "people.csv", "person_id,name,\nP1,Ana,\n")           # a trailing comma everywhere is fine
    assert check_package(pkg).ok


def test_rows_of_a_sheet_are_its_row_numbers(tmp_path):
    body = row(1, "person_id", "role") + row(2, "P1", "parent") + row(5, "P2", "wizard")
    refused(write_xlsx(tmp_path / "book.xlsx", {"people": body}), "book.xlsx[people], row 5, column role")


# --- 13. messages that say what is wrong --------------------------------------------------------------------------

def test_a_workbook_without_a_people_sheet(tmp_path):
    book = workbook(tmp_path / "book.xlsx", {"ties": [["from_person_id"], ["P1"]]})
    text = refused(book, "book.xlsx", "no sheet named 'people'")
    assert "people.csv" not in text
    book = workbook(tmp_path / "other.xlsx", {"Sheet1": [["person_id"], ["P1"]]})
    refused(book, "no sheet named after a table", "'Sheet1'")


def test_a_password_protected_workbook(tmp_path):
    book = write(tmp_path, "book.xlsx", b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 600)
    refused(book, "password-protected")
    book = write(tmp_path, "text.xlsx", b"not a zip at all")
    refused(book, "not an .xlsx workbook")


def test_check_does_not_claim_a_write(tmp_path, capsys):
    pkg = tmp_path / "pkg"
    write(pkg, "people.csv", b"person_id\nP\xe9\n")
    assert main(["check", str(pkg)]) == 1
    captured = capsys.readouterr()
    assert "nothing was written" not in captured.out + captured.err


# --- 14-15. no store made by mistake; which file a URI names ---------------------------------------------------------

def test_a_rejected_ingest_creates_no_store(tmp_path):
    pkg = tmp_path / "pkg"
    write(pkg, "people.csv", "person_id,role\nP1,wizard\n")
    target = tmp_path / "new" / "store.sqlite"
    assert main(["ingest", str(pkg), "--store", f"sqlite:///{target}"]) == 1
    assert not (tmp_path / "new").exists()


@pytest.mark.parametrize("command", [["metrics", "--json"], ["report"], ["export", "graphml", "out.graphml"],
                                     ["audit"], ["reset", "--yes"], ["erase", "--person", "P1", "--yes"],
                                     ["users", "list"]])
def test_read_commands_never_create_a_store(tmp_path, monkeypatch, capsys, command):
    monkeypatch.chdir(tmp_path)
    assert main([*command, "--store", "sqlite:///missing/store.sqlite"]) == 3
    err = capsys.readouterr().err
    assert f"no SQLite store at {tmp_path / 'missing' / 'store.sqlite'}" in err
    assert not (tmp_path / "missing").exists() and not (tmp_path / "out.graphml").exists()


def test_three_slashes_are_relative_four_absolute(tmp_path, monkeypatch, tiny_dir):
    monkeypatch.chdir(tmp_path)
    with open_store("sqlite:///rel/s.sqlite") as store:
        assert store.path == tmp_path / "rel" / "s.sqlite"
        assert str(tmp_path / "rel" / "s.sqlite") in store.label
        load_package(tiny_dir, store)
        uri = store.uri
    assert uri == f"sqlite:///{tmp_path}/rel/s.sqlite" and uri.startswith("sqlite:////")
    with open_store(uri, create=False) as store:                   # the printed URI opens the same store
        assert store.counts()["Person"] == 9
    meant_absolute = "sqlite:///" + str(tmp_path / "rel" / "s.sqlite").lstrip("/")     # three slashes: relative
    with pytest.raises(NoStoreError, match=f"did you mean sqlite:///{tmp_path}/rel/s.sqlite"):
        open_store(meant_absolute, create=False)


def test_a_missing_absolute_path_hints_at_the_relative_one(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    SQLiteStore(tmp_path / "data" / "x.sqlite").close()
    with pytest.raises(NoStoreError, match="did you mean sqlite:///data/x.sqlite"):
        open_store("sqlite:////data/x.sqlite", create=False)


def test_a_store_that_is_not_sqlite_is_a_message(tmp_path, capsys):
    (tmp_path / "notes.sqlite").write_text("not a database")
    assert main(["metrics", "--store", str(tmp_path / "notes.sqlite")]) == 3
    assert "not a database" in capsys.readouterr().err
