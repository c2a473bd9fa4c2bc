"""Parsing the data contract: text survives, BOMs, .xlsx workbooks, extra columns, name matching."""
import pandas as pd
import pytest

from ingest.load import check_package, load_package, raw_from_uploads
from ingest.problems import IngestError
from ingest.validate import normalize_name


def _people(ds):
    return ds.people.set_index("person_id")


def test_cells_stay_text(tiny_dir, sqlite_store):
    load_package(tiny_dir, sqlite_store)
    people = _people(sqlite_store.read())
    assert people.at["B", "name"] == "Ben Null"           # not a missing value
    assert people.at["E", "neighborhood"] == "02134"      # leading zero kept
    assert people.at["E", "income_band"] is None          # empty cell -> missing


def test_extra_columns_are_kept(tiny_dir, sqlite_store):
    load_package(tiny_dir, sqlite_store)
    people = _people(sqlite_store.read())
    assert people.at["A", "favorite_color"] == "red"
    assert people.at["B", "favorite_color"] is None


def test_role_defaults_to_parent(tiny_dir, sqlite_store):
    text = (tiny_dir / "people.csv").read_text(encoding="utf-8").replace("G,Gia Rivers,parent,", "G,Gia Rivers,,")
    (tiny_dir / "people.csv").write_text(text, encoding="utf-8")
    load_package(tiny_dir, sqlite_store)
    assert _people(sqlite_store.read()).at["G", "role"] == "parent"


def test_byte_order_mark_is_fine(tiny_dir):
    path = tiny_dir / "sites.csv"
    path.write_bytes(b"\xef\xbb\xbf" + path.read_bytes())
    pkg = check_package(tiny_dir)
    assert pkg.ok and pkg.tables["sites"][0]["site_id"] == "S1"


def test_only_people_is_required(tmp_path, sqlite_store):
    (tmp_path / "people.csv").write_text("person_id\nX1\nX2\n", encoding="utf-8")
    report = load_package(tmp_path, sqlite_store)
    assert report.rows == {"people": 2}
    assert list(sqlite_store.read().people["person_id"]) == ["X1", "X2"]


def test_xlsx_workbook_loads_like_the_csv_folder(tiny_dir, tmp_path, sqlite_store):
    from graph.store import SQLiteStore
    book = tmp_path / "package.xlsx"
    with pd.ExcelWriter(book, engine="openpyxl") as xw:
        for f in sorted(tiny_dir.glob("*.csv")):
            pd.read_csv(f, dtype=str, keep_default_na=False).to_excel(xw, sheet_name=f.stem, index=False)
    load_package(book, sqlite_store)
    other = SQLiteStore(tmp_path / "csv.sqlite")
    load_package(tiny_dir, other)
    assert sqlite_store.read_rows() == other.read_rows()
    assert _people(sqlite_store.read()).at["E", "neighborhood"] == "02134"


def test_uploads_of_csv_files(tiny_dir):
    files = [(f.name, f.read_bytes()) for f in tiny_dir.glob("*.csv")]
    assert check_package(raw_from_uploads(files)).ok


def test_upload_with_an_unknown_file_name(tiny_dir):
    with pytest.raises(IngestError) as e:
        raw_from_uploads([("people.csv", (tiny_dir / "people.csv").read_bytes()), ("notes.txt", b"hi")])
    assert e.value.problems[0].file == "notes.txt"


def test_names_match_ignoring_case_accents_and_spacing():
    assert normalize_name("Ana Núñez") == normalize_name("  ana NUNEZ ") == normalize_name("AnaNunez")
    assert normalize_name("Ana Núñez") != normalize_name("Ana Nunes")


def test_to_name_resolution(tiny_dir, sqlite_store):
    report = load_package(tiny_dir, sqlite_store)
    assert report.unmatched_names == ["Zed Unknown"]
    ties = sqlite_store.read().ties
    resolved = ties.set_index("to_name")["to_person_id"].to_dict()
    assert resolved["cy  park"] == "C" and resolved["Fay   Moss"] == "F"
    assert resolved["Zed Unknown"] is None


def test_ambiguous_name_is_unmatched_not_guessed(tiny_dir, sqlite_store):
    with open(tiny_dir / "people.csv", "a", encoding="utf-8") as f:
        f.write("H,Cy Park,parent,F8,Asian,high,English,S1,,,,\n")
    report = load_package(tiny_dir, sqlite_store)
    assert "cy  park" in report.unmatched_names
    assert any("matches 2 people" in w.message for w in report.warnings)
