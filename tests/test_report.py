"""The full report: every section present, consistent with the headline metrics, JSON-ready, seeded."""
import json

import pytest

from civicties.cli import main
from ingest.load import load_package
from queries.report import cohort_of, full_report, wave_pair


@pytest.fixture(scope="module")
def demo_report(demo_dir, tmp_path_factory):
    from graph.store import SQLiteStore
    store = SQLiteStore(tmp_path_factory.mktemp("rep") / "s.sqlite")
    load_package(demo_dir, store)
    ds = store.read()
    return ds, full_report(ds, n_permutations=200)


def test_sections(demo_report):
    _, r = demo_report
    assert set(r) == {"summary", "homophily", "formation", "panel", "brokerage", "communities", "outreach",
                      "pipeline", "home_visits", "pathways", "settings"}
    json.dumps(r)  # JSON-ready: no sets, numpy values or NaN objects left


def test_panel_section_and_q_values(demo_report):
    _, r = demo_report
    overall = r["panel"]["overall"]
    assert overall["before"] == "pre" and overall["after"] == "post"
    n = overall["respondents"]
    assert 0 < n["both"] <= min(n["before"], n["after"])
    change = overall["by_attribute"]["race_ethnicity"]["panel"]["change"]
    assert change["share_ci"][0] <= change["share"] <= change["share_ci"][1]
    assert {row["cohort"] for row in r["panel"]["by_cohort"]} <= {c["cohort_id"] for c in r["formation"]["by_cohort"]}
    tested = [c["by_attribute"]["race_ethnicity"] for c in r["formation"]["by_cohort"]]
    assert all((t["q_value"] is None) == (t["p_value"] is None) for t in tested)
    assert all(t["q_value"] >= t["p_value"] for t in tested if t["p_value"] is not None)


def test_report_agrees_with_headline_metrics(demo_report):
    _, r = demo_report
    s = r["summary"]
    assert r["homophily"]["race_ethnicity"]["ei_index"] == pytest.approx(s["ei_index"]["race_ethnicity"])
    assert r["pipeline"]["funnel"]["all"][0]["appointed"] == s["funnel"]["appointed"]
    perm = r["homophily"]["race_ethnicity"]["permutation_test"]
    assert perm["n_permutations"] == 200 and 0 < perm["p_value"] <= 1
    assert perm["observed"] == pytest.approx(s["ei_index"]["race_ethnicity"])


def test_cohorts_build_bridging_ties_in_the_demo(demo_report):
    _, r = demo_report
    assert r["formation"]["waves"] == ["pre", "post"]
    rows = r["formation"]["by_cohort"]
    assert rows and all(c["new_ties"] >= c["new_cross_race"] >= 0 for c in rows)
    rises = [c["by_attribute"]["race_ethnicity"]["delta_ei"] for c in rows
             if c["by_attribute"]["race_ethnicity"]["delta_ei"] is not None]
    assert sum(d > 0 for d in rises) > len(rises) / 2


def test_report_is_seeded(demo_report):
    ds, r = demo_report
    again = full_report(ds, n_permutations=200)
    assert again["homophily"] == r["homophily"]


def test_wave_pair_and_cohort_of(tiny_dir, sqlite_store):
    assert wave_pair(["post", "pre", None]) == ("pre", "post")
    assert wave_pair(["2024", "2023", "2025"]) == ("2023", "2025")
    assert wave_pair(["only"]) is None
    load_package(tiny_dir, sqlite_store)
    assert cohort_of(sqlite_store.read()) == {"A": "C1", "B": "C1", "C": "C1", "D": "C2", "E": "C2"}


def test_cli_report_and_export(tiny_dir, tmp_path, capsys):
    uri = f"sqlite:///{tmp_path / 's.sqlite'}"
    main(["ingest", str(tiny_dir), "--store", uri])
    capsys.readouterr()
    assert main(["report", "--store", uri, "--json", "--permutations", "50"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["summary"]["ties"] == 5 and out["settings"]["n_permutations"] == 50
    assert main(["export", "graphml", str(tmp_path / "g.graphml"), "--store", uri]) == 0
    import networkx as nx
    assert nx.read_graphml(tmp_path / "g.graphml").number_of_edges() == 5


def test_cli_output_cut_short_by_its_reader_is_not_an_error(demo_dir, tmp_path):
    """`civicties report | head` closes the pipe early: the command exits 0 without a traceback.
    (The demo's report is far larger than a pipe's buffer, so the write really meets the closed pipe.)"""
    import subprocess
    import sys

    store = tmp_path / "s.sqlite"
    run = [sys.executable, "-c", "import sys; from civicties.cli import main; sys.exit(main(sys.argv[1:]))"]
    assert subprocess.run(run + ["ingest", str(demo_dir), "--store", str(store)], capture_output=True).returncode == 0
    proc = subprocess.Popen(run + ["report", "--store", str(store), "--json"], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE)
    proc.stdout.read(10)
    proc.stdout.close()   # the reader goes away after 10 bytes
    err = proc.stderr.read().decode()
    assert proc.wait(timeout=120) == 0 and "Traceback" not in err
