"""The embedded SQLite store and Neo4j give the same answers: the same scenarios on both stores.

For each package (the demo package with two seeds, tests/data/tiny, and two hand-made packages with edge cases
written below) the package is ingested through the CLI into a SQLite file and into Neo4j, and then:

* the load reports match, and so do the counts and the rows read back (`read_rows`);
* `civicties metrics --json` prints the same object on both stores, for the tie network, the co-attendance
  network, the directed E-I index and an extra attribute (`--attribute primary_language`);
* loading the same package again changes nothing, on either store;
* a bad package (invalid, or one the server refuses half-way through) leaves both stores exactly as they were.

Runs against a real Neo4j server (tests/neo4j_fixtures.py): skipped without one, failed in CI.
"""
from __future__ import annotations

import csv
import io
import json
import shutil
import sys
from contextlib import redirect_stderr, redirect_stdout
from pathlib import Path

import pytest

from civicties.cli import main as cli_main
from graph.errors import StoreError
from graph.model import EdgeRecord, to_graph_records
from graph.neo4j_store import Neo4jStore
from ingest.load import check_package

if str(Path(__file__).parent) not in sys.path:       # --import-mode=importlib: tests/ is not on sys.path
    sys.path.insert(0, str(Path(__file__).parent))
from neo4j_fixtures import admin_driver, neo4j_server, neo4j_store  # noqa: E402,F401

TINY = Path(__file__).parent / "data" / "tiny"

# The `civicties metrics` variants compared on every package.
METRIC_VARIANTS = {
    "ties": [],
    "co-attendance": ["--network", "co-attendance"],
    "directed": ["--directed"],
    "primary_language": ["--attribute", "primary_language"],
    "directed+attributes": ["--directed", "--attribute", "primary_language", "--attribute", "neighborhood"],
}


# --- hand-made packages -----------------------------------------------------------------------------------

def _write_csv(folder: Path, name: str, header: list[str], rows: list[list[str]]) -> None:
    with open(folder / f"{name}.csv", "w", newline="", encoding="utf-8") as f:
        w = csv.writer(f)
        w.writerow(header)
        w.writerows(rows)


def write_edge_case_package(folder: Path) -> Path:
    """Unicode everywhere (accents, CJK, Arabic, an emoji), ambiguous and unmatched `to_name`s, extra columns
    (one with a space and capitals, one non-ASCII), empty optional cells, people with no family, no site or
    no role (defaulted), ids that look like numbers, a comma and quotes inside a cell."""
    folder.mkdir(parents=True, exist_ok=True)
    _write_csv(folder, "sites", ["site_id", "name", "state", "Opened Year"], [
        ["S1", "Ñandú Center", "NM", "1999"],
        ["S2", "北区 Hub", "", ""],
    ])
    people_header = ["person_id", "name", "role", "family_id", "race_ethnicity", "income_band", "primary_language",
                     "site_id", "neighborhood", "email", "phone", " Favorite Color ", "língua_materna"]
    _write_csv(folder, "people", people_header, [
        ["P1", "José Álvarez", "parent", "FAM-1", "Latino", "low", "Spanish", "S1", "Norte", "jose@example.org",
         "555-0101", "rojo", "español"],
        ["P2", "Jose Alvarez", "parent", "FAM-2", "Latino", "middle", "English", "S1", "Norte", "", "", "", ""],
        ["P3", "李小龍", "parent", "", "Asian", "high", "Cantonese", "S2", "", "", "", "", "粵語"],
        ["P4", "Zoë 🌱 Quinn", "parent", "FAM-3", "White", "", "English", "S2", "02134", "", "", "green 🌱", ""],
        ["P5", "O'Brien, Seán \"Shay\"", "teacher", "", "White", "middle", "Irish", "S1", "", "", "", "", ""],
        ["P6", "محمد علي", "parent", "FAM-3", "Black", "low", "Arabic", "S2", "Harbor", "", "", "", "العربية"],
        ["P7", "No Role Given", "", "", "", "", "", "", "", "", "", "", ""],
        ["P8", "Kid Álvarez", "child", "FAM-1", "Latino", "low", "Spanish", "S1", "Norte", "", "", "", ""],
        ["P9", "Ana-María Ñúñez", "official", "FAM-4", "Latino", "upper", "Spanish", "S1", "", "", "", "", ""],
        ["007", "Bond Numeric", "parent", "FAM-5", "White", "low", "English", "S2", "", "", "", "", ""],
        ["7", "Seven Numeric", "parent", "FAM-5", "White", "low", "English", "S2", "", "", "", "", ""],
        ["P10", "Isolated Parent", "parent", "FAM-6", "Multiracial", "lower-middle", "", "", "", "", "", "", ""],
    ])
    _write_csv(folder, "ties", ["from_person_id", "to_person_id", "to_name", "tie_type", "wave", "observed_on",
                                "confidence"], [
        ["P1", "P2", "", "friend", "pre", "2022-01-05", "high"],
        ["P2", "P1", "", "friend", "pre", "2022-01-05", ""],
        ["P1", "", "jose alvarez", "advice", "post", "2022-06-20", ""],          # ambiguous: P1 and P2
        ["P3", "", "zoë 🌱  QUINN", "friend", "post", "2022-06-20", "low"],       # matches P4
        ["P4", "", "Nobody Known", "friend", "post", "2023-06-20", ""],          # matches no one
        ["P4", "", "nobody   known", "advice", "post", "2023-06-20", ""],        # the same unmatched name
        ["P6", "P3", "", "advice", "pre", "2022-01-05", ""],
        ["P5", "", "ANA-MARÍA  ÑÚÑEZ", "advice", "post", "2022-06-20", ""],      # matches P9
        ["P8", "", "🌱", "friend", "", "", ""],                                   # unmatched, no wave, no date
        ["007", "7", "", "family", "pre", "", ""],
        ["7", "007", "Bond Numeric", "family", "post", "2022-06-20", ""],        # both id and name given
        ["P6", "", "李小龍", "friend", "post", "2023-06-20", ""],                 # matches P3 by name
        ["P9", "P1", "", "advice", "2", "2023-06-20", ""],                       # a numeric wave
    ])
    _write_csv(folder, "events", ["event_id", "name", "kind", "date", "site_id"], [
        ["E1", "Foro de presupuesto", "forum", "2022-09-01", "S1"],
        ["E2", "Proyecto cívico", "civic_project", "2023-03-01", "S2"],
        ["E3", "No date, no site", "meeting", "", ""],
    ])
    _write_csv(folder, "attendance", ["person_id", "event_id", "role", "note"], [
        ["P1", "E1", "presenter", "habló primero"],
        ["P2", "E1", "", ""],
        ["P3", "E1", "attendee", ""],
        ["P4", "E2", "facilitator", ""],
        ["P6", "E2", "attendee", ""],
        ["P3", "E2", "attendee", ""],
        ["007", "E3", "", ""],
        ["7", "E3", "", ""],
        ["P10", "E3", "", ""],
    ])
    _write_csv(folder, "cohorts", ["cohort_id", "program", "site_id", "start_date", "end_date"], [
        ["C1", "PLTI", "S1", "2022-01-01", "2022-06-10"],
        ["E1", "PLTI", "S2", "2023-01-01", ""],              # a cohort sharing an id with an event
    ])
    _write_csv(folder, "enrollments", ["person_id", "cohort_id", "status", "enrolled_on", "completed_on"], [
        ["P1", "C1", "graduated", "2022-01-01", "2022-06-10"],
        ["P2", "C1", "withdrawn", "2022-01-01", ""],
        ["P6", "E1", "graduated", "2023-01-01", "2023-06-10"],
        ["P3", "E1", "", "", ""],
    ])
    _write_csv(folder, "bodies", ["body_id", "name", "level", "kind"], [
        ["B1", "Junta escolar", "district", "board"],
        ["B2", "Comisión de parques", "city", ""],
    ])
    _write_csv(folder, "appointments", ["person_id", "body_id", "seat", "start_date", "end_date"], [
        ["P1", "B1", "vocal", "2022-09-08", ""],
        ["P6", "B2", "", "2023-09-01", "2024-09-01"],
        ["P9", "B2", "chair", "2020-01-01", ""],
    ])
    _write_csv(folder, "schools", ["school_id", "name", "district"], [["SC1", "Escuela Núñez", ""]])
    _write_csv(folder, "home_visits", ["visit_id", "teacher_id", "family_id", "school_id", "visit_date"], [
        ["V1", "P5", "FAM-3", "SC1", "2022-10-01"],
        ["V2", "P5", "FAM-1", "", ""],
    ])
    return folder


def write_minimal_package(folder: Path) -> Path:
    """The least a package may be: people.csv (only person_id required) and ties.csv, no other table."""
    folder.mkdir(parents=True, exist_ok=True)
    _write_csv(folder, "people", ["person_id", "name", "family_id"], [
        ["001", "Ada", "F"], ["01", "", "F"], ["1", "Ada", ""], ["x", "", ""],
    ])
    _write_csv(folder, "ties", ["from_person_id", "to_person_id", "to_name"], [
        ["001", "01", ""], ["01", "1", ""], ["x", "", "ada"], ["1", "", "Grace"],
    ])
    return folder


@pytest.fixture(scope="module")
def packages(tmp_path_factory) -> dict[str, Path]:
    from ingest.demo import write_demo
    root = tmp_path_factory.mktemp("parity")
    out = {"tiny": TINY,
           "edge-cases": write_edge_case_package(root / "edge"),
           "minimal": write_minimal_package(root / "minimal")}
    for seed in (11, 5):
        write_demo(root / f"demo-{seed}", parents=300, seed=seed)
        out[f"demo-300-seed{seed}"] = root / f"demo-{seed}"
    return out


PACKAGES = ["tiny", "edge-cases", "minimal", "demo-300-seed11", "demo-300-seed5"]


# --- helpers ----------------------------------------------------------------------------------------------

@pytest.fixture
def neo4j_env(neo4j_server, monkeypatch) -> str:
    """The test server's settings in NEO4J_* (the CLI opens the store from its URI and these); its URI."""
    monkeypatch.setenv("NEO4J_USER", neo4j_server["user"])
    monkeypatch.setenv("NEO4J_PASSWORD", neo4j_server["password"])
    monkeypatch.setenv("NEO4J_DATABASE", neo4j_server["database"])
    return neo4j_server["uri"]


def _cli(*args: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    with redirect_stdout(out), redirect_stderr(err):
        code = cli_main(list(args))
    return code, out.getvalue(), err.getvalue()


def ingest(package: Path, uri: str) -> dict:
    code, out, err = _cli("ingest", str(package), "--store", uri, "--json")
    assert code == 0, err
    report = json.loads(out)
    report.pop("seconds")
    report.pop("store")
    return report


def metrics(uri: str, variant: list[str]) -> str:
    """`civicties metrics --store URI --json ...`: the printed JSON text."""
    code, out, err = _cli("metrics", "--store", uri, "--json", *variant)
    assert code == 0, err
    json.loads(out)
    return out


def all_metrics(uri: str) -> dict[str, str]:
    return {name: metrics(uri, variant) for name, variant in METRIC_VARIANTS.items()}


def assert_same_metrics(sqlite_uri: str, neo4j_uri: str) -> dict[str, str]:
    ours = all_metrics(sqlite_uri)
    theirs = all_metrics(neo4j_uri)
    for name in METRIC_VARIANTS:
        assert json.loads(theirs[name]) == json.loads(ours[name]), f"metrics {name}: Neo4j differs from SQLite"
        assert theirs[name] == ours[name], f"metrics {name}: same object, different JSON text"
    return ours


def _neo4j_totals(settings) -> tuple[int, int]:
    with admin_driver(settings) as d:
        # the program's data only: not the test marker, nor accounts, the audit log (a new entry per load) or meta
        rec = d.execute_query("RETURN COUNT { (n) WHERE NOT (n:CivicTiesTestMarker OR n:CivicTiesAccount OR "
                              "n:CivicTiesAudit OR n:CivicTiesMeta) } AS n, COUNT { ()-[]->() } AS r",
                              database_=settings["database"]).records[0]
    return rec["n"], rec["r"]


@pytest.fixture
def stores(neo4j_store, neo4j_env, sqlite_store):
    """(SQLite store, its URI, emptied Neo4j store, its URI)."""
    return sqlite_store, sqlite_store.uri, neo4j_store, neo4j_env


# --- the scenarios ----------------------------------------------------------------------------------------

@pytest.mark.parametrize("name", PACKAGES)
def test_same_rows_and_metrics_on_both_stores(name, packages, stores):
    sqlite_store, sqlite_uri, neo4j_store, neo4j_uri = stores
    package = packages[name]
    report = ingest(package, sqlite_uri)
    assert ingest(package, neo4j_uri) == report
    assert neo4j_store.counts() == sqlite_store.counts()
    assert neo4j_store.read_rows() == sqlite_store.read_rows()
    assert_same_metrics(sqlite_uri, neo4j_uri)


@pytest.mark.parametrize("name", ["tiny", "edge-cases", "demo-300-seed11"])
def test_loading_again_changes_nothing_on_either_store(name, packages, stores, neo4j_server):
    sqlite_store, sqlite_uri, neo4j_store, neo4j_uri = stores
    package = packages[name]
    first = {}
    for store, uri in ((sqlite_store, sqlite_uri), (neo4j_store, neo4j_uri)):
        report = ingest(package, uri)
        first[uri] = (report, store.counts(), store.read_rows())
    totals = _neo4j_totals(neo4j_server)
    before = assert_same_metrics(sqlite_uri, neo4j_uri)
    for store, uri in ((sqlite_store, sqlite_uri), (neo4j_store, neo4j_uri)):
        assert (ingest(package, uri), store.counts(), store.read_rows()) == first[uri], uri
    assert _neo4j_totals(neo4j_server) == totals
    assert assert_same_metrics(sqlite_uri, neo4j_uri) == before


def test_edge_cases_are_kept(packages, stores):
    """What the edge-case package is about, checked on the Neo4j side (the SQLite side is the same, above)."""
    _sqlite_store, _sqlite_uri, neo4j_store, neo4j_uri = stores
    report = ingest(packages["edge-cases"], neo4j_uri)
    assert report["unmatched_names"] == ["Nobody Known", "jose alvarez", "nobody   known", "🌱"]
    ds = neo4j_store.read()
    people = ds.people.set_index("person_id")
    assert people.at["P3", "name"] == "李小龍" and people.at["P3", "língua_materna"] == "粵語"
    assert people.at["P4", "favorite color"] == "green 🌱"
    assert people.at["P7", "role"] == "parent"                     # defaulted
    assert people.at["P4", "neighborhood"] == "02134"               # text stays text
    assert people.at["P5", "name"] == "O'Brien, Seán \"Shay\""
    assert {"007", "7"} <= set(people.index)
    ties = ds.ties
    matched = ties[ties["from_person_id"] == "P3"]["to_person_id"].tolist()
    assert matched == ["P4"]
    assert neo4j_store.counts()["UnmatchedName"] == 3                # "Nobody Known" twice is one name
    data = metrics(neo4j_uri, METRIC_VARIANTS["primary_language"])
    assert "primary_language" in json.loads(data)["ei_index"]


def _broken_records(package: Path, server_refuses: bool):
    """The package's records, made to fail in the store after many batches have gone through."""
    pkg = check_package(package)
    assert pkg.ok
    records = to_graph_records(pkg.tables)
    for label in records.nodes:                                   # every node changed: a partial write would show
        records.nodes[label] = [dict(n, note="changed") for n in records.nodes[label]]
    records.nodes["Person"].append({"id": "NEW", "person_id": "NEW"})
    if server_refuses:                                            # a property value the server refuses
        records.nodes["UnmatchedName"][-1]["bad"] = {"nested": "maps are not property values"}
    else:                                                         # a relationship to nobody, written last
        records.edges.append(EdgeRecord("NAMED", "Person", "P1", "UnmatchedName", "NO-SUCH-NAME", "zzz", {}))
    return records


def test_a_bad_package_leaves_both_stores_as_they_were(packages, stores, neo4j_server, tmp_path):
    sqlite_store, sqlite_uri, neo4j_store, neo4j_uri = stores
    for uri in (sqlite_uri, neo4j_uri):
        ingest(packages["demo-300-seed11"], uri)
    before = {uri: (store.counts(), store.read_rows()) for store, uri in
              ((sqlite_store, sqlite_uri), (neo4j_store, neo4j_uri))}
    totals = _neo4j_totals(neo4j_server)
    metrics_before = assert_same_metrics(sqlite_uri, neo4j_uri)

    # 1. An invalid package (a duplicate person, a tie to nobody known, a bad date): refused before any write.
    bad = shutil.copytree(packages["edge-cases"], tmp_path / "bad")
    with open(bad / "people.csv", "a", encoding="utf-8", newline="") as f:
        f.write("P1,Duplicate,parent,,,,,,,,,,\n")
    with open(bad / "ties.csv", "a", encoding="utf-8", newline="") as f:
        f.write("P1,NOBODY,,friend,pre,2022-13-45,\n")
    for store, uri in ((sqlite_store, sqlite_uri), (neo4j_store, neo4j_uri)):
        code, out, err = _cli("ingest", str(bad), "--store", uri, "--json")
        assert code == 1 and "duplicates row" in err and "not a valid date" in err, (uri, err)
        assert (store.counts(), store.read_rows()) == before[uri], uri

    # 2. Valid tables whose write fails on the server half-way through (small batches: many went through first).
    for server_refuses in (False, True):
        store = Neo4jStore(neo4j_server["uri"], neo4j_server["user"], neo4j_server["password"],
                           neo4j_server["database"], batch_size=7)
        try:
            expected = "rolled back, nothing was written" if server_refuses else "NO-SUCH-NAME.*Nothing was written"
            with pytest.raises(StoreError, match=expected):
                store.write(_broken_records(packages["edge-cases"], server_refuses))
        finally:
            store.close()
        assert (neo4j_store.counts(), neo4j_store.read_rows()) == before[neo4j_uri]
        assert _neo4j_totals(neo4j_server) == totals

    assert assert_same_metrics(sqlite_uri, neo4j_uri) == metrics_before
