"""Analyses computed once per data version and stored (dashboard/analyses.py, graph/results.py): versions by
dependency, pages reading stored results, the previous version shown (labelled) while a new one is computed,
the worker, role shaping of stored results, erasure, and Neo4j's stored results and written-back measures."""
from __future__ import annotations

import sys
import time
from pathlib import Path

import pandas as pd
import pytest

from dashboard import analyses
from dashboard.accounts import Principal
from graph.results import SQLiteResults, results_for
from graph.store import SQLiteStore

sys.path.insert(0, str(Path(__file__).parent))
from neo4j_fixtures import neo4j_server, neo4j_store  # noqa: E402,F401

FUNDER = Principal(username="f", role="funder")
ADMIN = Principal(username="a", role="admin")


@pytest.fixture
def demo_store(tmp_path, monkeypatch):
    """A SQLite store with a 150-parent demo, the dashboard's loaders pointed at it, the worker off."""
    from ingest.demo import write_demo
    from ingest.load import load_package
    write_demo(tmp_path / "demo", parents=150, seed=3)
    store = SQLiteStore(tmp_path / "store.sqlite")
    load_package(tmp_path / "demo", store)
    monkeypatch.setenv("CIVICTIES_STORE", store.uri)
    monkeypatch.setenv("CIVICTIES_PSEUDONYM_SALT", "analyses-test")
    monkeypatch.setenv("CIVICTIES_MIN_COUNT", "10")
    monkeypatch.setenv("CIVICTIES_BACKGROUND_ANALYSES", "0")
    analyses._memo.clear()
    yield store
    store.close()


def test_a_contact_or_an_account_change_does_not_move_the_network_version(demo_store):
    store = demo_store
    network = analyses.version_of(store, ("network",))
    contacts = analyses.version_of(store, ("contacts",))
    family = store.read().people["family_id"].dropna().iloc[0]
    store.add_contact(family, "2026-11-30", "called")
    store.set_meta("anything", "else")
    store.add_audit({"id": "x1", "at": "2026-11-30T00:00:00+00:00", "actor": "a", "action": "sign_in"})
    assert analyses.version_of(store, ("network",)) == network
    assert analyses.version_of(store, ("contacts",)) != contacts
    analyses.bump(store, ("network",))
    assert analyses.version_of(store, ("network",)) != network


def test_a_new_person_moves_the_network_version_even_without_a_bump(demo_store):
    from graph.model import GraphRecords
    before = analyses.version_of(demo_store)
    demo_store.write(GraphRecords(nodes={"Person": [{"id": "PNEW", "person_id": "PNEW", "role": "parent"}]}))
    assert analyses.version_of(demo_store) != before


def test_a_page_computes_once_and_every_later_process_reads_the_stored_result(demo_store, monkeypatch):
    from dashboard import data
    calls = []
    real = data._overview

    def counting(*args):
        calls.append(args)
        return real(*args)
    monkeypatch.setattr(data, "_overview", counting)
    first = data.load_overview(FUNDER)
    analyses._memo.clear()                     # another process: nothing in memory
    second = data.load_overview(FUNDER)
    assert len(calls) == 1
    assert second["headline"] == first["headline"]
    version = data._version(demo_store)
    assert SQLiteResults(f"{demo_store.path}.results").get(analyses.key("overview", ("funder", None)), version)


def test_stored_results_are_shaped_per_audience_and_a_funder_key_holds_no_name(demo_store):
    from dashboard import data
    data.load_outreach(ADMIN)
    data.load_outreach(FUNDER)
    results = results_for(demo_store)
    version = data._version(demo_store)
    names = [n for n in demo_store.read().people["name"].dropna() if len(n) > 5]
    coordinator = results.get(analyses.key("outreach", ("coordinator", None)), version)
    funder = results.get(analyses.key("outreach", ("funder", None)), version)
    assert any(n.encode() in coordinator for n in names)            # the coordinator's list has names...
    assert not any(n.encode() in funder for n in names)             # ...the funder's none
    # and a funder's loader never reads the coordinator's result
    assert set(analyses._unpack(funder).columns) == {"site_id", "reason", "families"}


def test_while_a_new_version_is_computed_pages_show_the_previous_one_labelled(demo_store):
    from dashboard import data
    old = data.load_overview(FUNDER)
    analyses.stale_note()
    data.changed()                               # new data version; the worker is off, so pretend it runs:
    new_version = data._version(demo_store)
    analyses._set_status(demo_store, state="running", version=new_version, done=0, total=10,
                         heartbeat=time.time())
    analyses._memo.clear()
    shown = data.load_overview(FUNDER)
    assert shown["headline"] == old["headline"]
    assert analyses.stale_note() == {"overview"}
    # a worker that stopped beating for 10 minutes is not waited for: the page computes
    analyses._set_status(demo_store, state="running", version=new_version, done=0, total=10,
                         heartbeat=time.time() - 3600)
    analyses._memo.clear()
    data.load_overview(FUNDER)
    assert analyses.stale_note() == set()


def test_the_worker_stores_every_planned_analysis_and_prunes_old_versions(demo_store, monkeypatch):
    """The app's worker thread, here also starting its second process (as from PARALLEL_FROM people)."""
    from dashboard import data
    monkeypatch.setenv("CIVICTIES_BACKGROUND_ANALYSES", "1")
    monkeypatch.setattr(analyses, "PARALLEL_FROM", 0)
    data.load_overview(FUNDER)                 # a result of this version
    data.changed()                               # a new version: the worker starts in the background
    for _ in range(600):
        state = analyses.status(demo_store)
        if state.get("state") in ("done", "failed") and analyses._core(state.get("version", "")) == \
                analyses._core(data._version(demo_store)):
            break
        time.sleep(0.5)
    assert state["state"] == "done", state
    assert state["processes"] == 2 and state["second_process"] == "ok", state
    jobs = analyses.plan(demo_store)
    assert state["total"] == len(jobs) > 20
    versions = results_for(demo_store).versions()
    assert list(versions) == [data._version(demo_store)]            # the old version is pruned
    stored = {k for (k,) in results_for(demo_store)._run("keys", "SELECT key FROM results")}
    assert {analyses.key(n, (() if p is None else (p.audience, p.site_scope)) + a) for n, p, a in jobs} <= stored


def test_a_contact_shows_at_once_without_recomputing_outreach(demo_store, monkeypatch):
    from datetime import date

    from dashboard import data
    table = data.load_outreach(ADMIN)
    family = table["family_id"].iloc[0]
    calls = []
    real = data._outreach
    monkeypatch.setattr(data, "_outreach", lambda *a: calls.append(a) or real(*a))
    data.record_contact(ADMIN, family, date(2026, 11, 30), "left a message")
    time.sleep(0.6)                                                 # the version memo's half second
    after = data.load_outreach(ADMIN)
    assert after.set_index("family_id").loc[family, "last_contacted"] == date(2026, 11, 30)
    assert calls == []


def test_a_result_shaped_under_another_threshold_is_never_served(demo_store, monkeypatch):
    """Raising the funder threshold gives a new version: nothing stored under the old one is shown, not even
    as the previous version while the worker computes."""
    from dashboard import data
    monkeypatch.setenv("CIVICTIES_MIN_COUNT", "40")
    loose_version = data._version(demo_store)
    loose = data.load_overview(FUNDER)
    monkeypatch.setenv("CIVICTIES_MIN_COUNT", "10")
    time.sleep(0.6)
    version = data._version(demo_store)
    assert version != loose_version
    analyses._set_status(demo_store, state="running", version=version, done=0, total=10, heartbeat=time.time())
    strict = data.load_overview(FUNDER)
    assert analyses.stale_note() == set()
    assert strict["headline"] == data._overview("funder", None, demo_store.uri, version)["headline"]
    assert strict["headline"] != loose["headline"]          # (at 40, the demo's small counts read "<40")


def test_settings_that_shape_no_analysis_leave_the_version_alone(demo_store, monkeypatch):
    """`civicties analyse` from cron may run with another environment than the app (the worker switched off,
    the store named by NEO4J_URI instead of CIVICTIES_STORE, other session limits): its results must still be
    the app's. A setting that shapes results (k, the explorer's cap) moves the version."""
    first = analyses.version_of(demo_store)
    for name, value in (("CIVICTIES_BACKGROUND_ANALYSES", "1"), ("CIVICTIES_SESSION_IDLE_SECONDS", "60"),
                        ("NEO4J_PASSWORD", "other"), ("CIVICTIES_MAX_ROWS", "10")):
        monkeypatch.setenv(name, value)
        assert analyses.version_of(demo_store) == first, name
    for name, value in (("CIVICTIES_K_ANONYMITY", "7"), ("CIVICTIES_EXPLORER_MAX_NODES", "50")):
        monkeypatch.setenv(name, value)
        assert analyses.version_of(demo_store) != first, name


def test_another_release_of_the_code_never_reads_this_one_s_results(demo_store, monkeypatch):
    """The code that computes the analyses is part of the version: an upgrade recomputes (its results may be
    shaped differently), and the old results are not shown meanwhile as the previous version."""
    from dashboard import data
    data.load_overview(FUNDER)
    version = analyses.version_of(demo_store, ("network", "contacts"))
    assert analyses.stored(demo_store, version)
    monkeypatch.setattr(analyses, "_code_memo", ["another release"])
    upgraded = analyses.version_of(demo_store, ("network", "contacts"))
    assert upgraded != version and not analyses.stored(demo_store, upgraded)
    assert analyses._core(upgraded)[1] != analyses._core(version)[1]     # never served as the previous one
    with pytest.MonkeyPatch.context() as mp:                             # and the hash is of the source itself
        mp.setattr(analyses, "_code_memo", [])
        assert analyses._code_fingerprint() == analyses._code_fingerprint() != "another release"


def test_a_payload_this_deployment_did_not_sign_is_ignored(demo_store, monkeypatch):
    import pickle

    from dashboard import data
    version = data._version(demo_store)
    k = analyses.key("overview", ("funder", None))
    results_for(demo_store).put(k, version, b"\0" * 32 + pickle.dumps({"headline": "forged"}))
    assert data.load_overview(FUNDER)["headline"] != "forged"


def test_erasing_people_drops_every_stored_result_from_the_disk(demo_store, tmp_path):
    from civicties.cli import main
    from dashboard import data
    data.load_outreach(ADMIN)
    people = demo_store.read().people
    parent = people[people["name"].notna() & (people["role"] == "parent")].iloc[0]
    path = f"{demo_store.path}.results"
    assert parent["name"].encode() in open(path, "rb").read() + _wal(path)
    demo_store.close()
    assert main(["erase", "--person", parent["person_id"], "--yes", "--store", str(demo_store.path)]) == 0
    assert parent["name"].encode() not in open(path, "rb").read() + _wal(path)
    assert SQLiteResults(path).versions() == {}


def _wal(path: str) -> bytes:
    from pathlib import Path
    wal = Path(f"{path}-wal")
    return wal.read_bytes() if wal.exists() else b""


def test_civicties_analyse_stores_the_analyses(demo_store, capsys):
    from civicties.cli import main
    assert main(["analyse", "--store", str(demo_store.path), "--quiet"]) == 0
    out = capsys.readouterr().out
    assert "Stored" in out and "analyses" in out
    assert analyses.status(demo_store)["state"] == "done"
    assert sum(results_for(demo_store).versions().values()) >= len(analyses.plan(demo_store))
    assert "Slowest" not in out                                     # --quiet: the summary only
    slowest = analyses.status(demo_store)["slowest"]
    assert len(slowest) == 8 and [t["seconds"] for t in slowest] == sorted((t["seconds"] for t in slowest),
                                                                           reverse=True)
    assert {t["analysis"] for t in slowest} <= set(analyses.DEPENDS)
    assert main(["analyse", "--store", str(demo_store.path)]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[1].startswith("Slowest") and len(lines) == 10      # the summary, the heading, eight rows


# -- Neo4j ------------------------------------------------------------------------------------------------

def test_neo4j_keeps_results_in_the_database_and_writes_measures_back(neo4j_store, tmp_path):  # noqa: F811
    from ingest.demo import write_demo
    from ingest.load import load_package
    write_demo(tmp_path / "demo", parents=60, seed=2)
    load_package(tmp_path / "demo", neo4j_store)
    results = results_for(neo4j_store)
    results.put("k", "v1", b"one")
    results.put("k", "v2", b"two")
    assert results.get("k", "v1") == b"one" and results.latest("k") == ("v2", b"two")
    assert results.prune({"v2"}) == 1 and results.versions() == {"v2": 1}
    before = neo4j_store.counts()
    from dashboard import writeback
    n = writeback.write_person_measures(neo4j_store, "v2")
    assert n == len(neo4j_store.read().people) or n > 0
    assert neo4j_store.counts() == before                          # results and measures are not program data

    def rows(tx, _):
        return [dict(r) for r in tx.run("MATCH (p:Person) WHERE p.ct_version = 'v2' RETURN p.id AS id, "
                                        "p.ct_degree AS degree, p.ct_isolated AS isolated")]
    written = neo4j_store._call("reading", "read", rows, {})
    assert written and all((r["degree"] == 0) == bool(r["isolated"]) for r in written)
    from queries.export import person_metrics
    expected = person_metrics(neo4j_store.read()).set_index("person_id")["degree"]
    assert all(int(expected[r["id"]]) == r["degree"] for r in written)
    results.clear()
    assert results.versions() == {}


def test_the_store_is_counted_again_only_after_a_write_by_any_process(demo_store, monkeypatch):
    from graph.model import GraphRecords
    calls = []
    real = SQLiteStore.counts
    monkeypatch.setattr(SQLiteStore, "counts", lambda self: calls.append(1) or real(self))
    first = analyses.version_of(demo_store)
    for _ in range(3):
        assert analyses.version_of(demo_store) == first
    assert len(calls) == 1                          # nothing written: counted once
    other = SQLiteStore(demo_store.path)            # another process's connection writes, without a bump
    try:
        other.write(GraphRecords(nodes={"Person": [{"id": "PNEW", "person_id": "PNEW", "role": "parent"}]}))
    finally:
        other.close()
    assert analyses.version_of(demo_store) != first
    assert len(calls) == 2


def test_the_worker_computes_the_quick_analyses_first_and_the_permutation_tests_last(demo_store):
    """...then the explorer's first view (a network built and laid out per audience), the slowest of all."""
    names = [name for name, _p, _a in analyses.plan(demo_store)]
    assert names[0] == "sites"
    assert names.index("bridging") > max(i for i, n in enumerate(names) if n in ("overview", "pipeline", "mixing"))
    last = [i for i, n in enumerate(names) if n == "explorer"]
    assert last and len(last) == names.count("overview")         # one per audience and scope
    assert last == list(range(len(names) - len(last), len(names)))


def test_audiences_on_the_same_data_share_the_work_and_are_each_shaped(demo_store, monkeypatch):
    from dashboard import data
    from queries import pipeline
    evaluator = Principal(username="e", role="evaluator")
    counted = {"tests": 0, "sankey": 0}
    real_tests, real_sankey = data._bridging_tests, pipeline.sankey_flows

    def tests(ds):
        counted["tests"] += 1
        return real_tests(ds)

    def sankey(ds):
        counted["sankey"] += 1
        return real_sankey(ds)
    monkeypatch.setattr(data, "_bridging_tests", tests)
    monkeypatch.setattr(pipeline, "sankey_flows", sankey)
    shown = {p.role: data.load_bridging(p)["tests"] for p in (evaluator, FUNDER)}
    assert counted["tests"] == 1                    # evaluators and funders: the same consenting people
    # each shaped for its reader: the funder's small counts hidden, the evaluator's not
    assert all(isinstance(v, (int, float)) or v is None for v in shown["evaluator"]["ties"])
    hidden = shown["funder"]["p_value"].isna() & shown["evaluator"]["p_value"].notna()
    assert hidden.any() and not shown["evaluator"]["p_value"].isna().equals(shown["funder"]["p_value"].isna())
    for by in data.PIPELINE_BY:
        for p in (evaluator, FUNDER):
            data.load_pipeline(p, by)
    assert counted["sankey"] == 1                   # four groupings, two audiences: one Sankey


def test_the_call_lists_phone_book_is_stored_per_site_scope_and_read_without_the_store(demo_store, monkeypatch):
    """Outreach's phone and email column: computed once per site scope with the analyses; a later process
    reads it without reading the store; a coordinator gets only their sites' families; evaluators and funders
    are refused (family.load_family_contacts)."""
    from dashboard import data
    from dashboard import family as fd
    s1 = Principal(username="c", role="coordinator", sites=("S1",))
    people = data.full_dataset(*data.data_key()).people
    s1_families = set(people.loc[people["site_id"] == "S1", "family_id"].dropna())
    first = fd.load_family_contacts(s1)
    assert first and set(first) <= s1_families
    assert any(p["phone"] for members in first.values() for p in members)
    analyses._memo.clear()                                          # another process: nothing in memory

    def no_read(*a, **k):
        raise AssertionError("the store was read although the phone book is stored")
    monkeypatch.setattr(data, "site_dataset", no_read)
    monkeypatch.setattr(data, "full_dataset", no_read)
    assert fd.load_family_contacts(s1) == first
    for role in ("evaluator", "funder"):
        with pytest.raises(PermissionError):
            fd.load_family_contacts(Principal(username="x", role=role))


def _same(a, b, where="") -> None:
    """Two stored results are equal (frames, dicts, lists, numbers; NaN equal to NaN)."""
    import pandas as pd
    if isinstance(a, pd.DataFrame):
        pd.testing.assert_frame_equal(a, b, obj=where)
    elif isinstance(a, pd.Series):
        pd.testing.assert_series_equal(a, b, obj=where)
    elif isinstance(a, dict):
        assert a.keys() == b.keys(), where
        for k in a:
            _same(a[k], b[k], f"{where}.{k}")
    elif isinstance(a, (list, tuple)):
        assert len(a) == len(b), where
        for i, (x, y) in enumerate(zip(a, b)):
            _same(x, y, f"{where}[{i}]")
    elif isinstance(a, float) and a != a:
        assert isinstance(b, float) and b != b, where
    else:
        assert a == b, where


def test_two_processes_store_the_same_results_as_one(demo_store):
    """Above PARALLEL_FROM people the worker computes the evaluators' and funders' analyses in a second
    (spawned) process: every planned result is stored, equal to what one process computes."""
    one = analyses.run(demo_store, processes=1)
    store = results_for(demo_store)
    keys = [k for (k,) in store._run("keys", "SELECT key FROM results")]
    first = {k: analyses._unpack(store.latest(k)[1]) for k in keys}
    analyses.clear(demo_store)
    two = analyses.run(demo_store, processes=2)
    assert (one["processes"], two["processes"]) == (1, 2) and two["second_process"] == "ok"
    assert two["state"] == "done" and two["done"] == two["total"]
    assert two["version"] == one["version"] and len(keys) == one["total"]
    second = {k: analyses._unpack(store.latest(k)[1]) for k in keys}
    assert any('"evaluator"' in k for k in keys) and any('"funder"' in k for k in keys)
    assert all(v is not None for v in first.values())
    for k in keys:
        _same(first[k], second[k], k)


def test_the_second_process_starts_when_the_app_script_is_main(demo_store, monkeypatch, tmp_path):
    """In the app, Streamlit installs each script run as ``__main__``; spawn would run that script again in the
    second process, which fails there. The worker starts it without a main script: both processes compute."""
    import types
    app = tmp_path / "app_script.py"
    app.write_text("raise SystemExit('the app script ran in the second process')\n")
    main = types.ModuleType("__main__")
    main.__file__ = str(app)
    monkeypatch.setitem(sys.modules, "__main__", main)
    two = analyses.run(demo_store, processes=2)
    assert two["processes"] == 2 and two["second_process"] == "ok", two
    assert sys.modules["__main__"] is main                        # given back as it was


def test_the_names_that_matched_nobody_are_stored_per_site_scope_and_only_for_staff(demo_store, monkeypatch):
    """The Data page's list of unmatched names: stored per site scope with the analyses (a later process reads
    no store); a coordinator gets only names written by their sites' people; evaluators and funders get none."""
    from dashboard import data
    s1 = Principal(username="c", role="coordinator", sites=("S1",))
    ds = data.full_dataset(*data.data_key())
    site_of = dict(zip(ds.people["person_id"], ds.people["site_id"]))
    loose = ds.ties[ds.ties["to_person_id"].isna() & ds.ties["to_name"].notna()]
    everyone = data.load_unmatched_names(ADMIN)
    assert set(everyone["name written"]) == set(loose["to_name"]) and len(everyone) > 0
    assert int(everyone["mentions"].sum()) == len(loose)
    mine = data.load_unmatched_names(s1)
    writers = {p for cell in mine["named by"] for p in cell.split(", ")}
    assert writers and {site_of[p] for p in writers} == {"S1"}
    assert set(mine["name written"]) == set(loose.loc[loose["from_person_id"].map(site_of) == "S1", "to_name"])
    analyses._memo.clear()                                          # another process: nothing in memory

    def no_read(*a, **k):
        raise AssertionError("the store was read although the names are stored")
    monkeypatch.setattr(data, "site_dataset", no_read)
    monkeypatch.setattr(data, "full_dataset", no_read)
    assert data.load_unmatched_names(s1).equals(mine)
    for role in ("evaluator", "funder"):
        with pytest.raises(PermissionError):
            data.load_unmatched_names(Principal(username="x", role=role))


def test_a_match_decision_keeps_the_records_to_compare_and_a_load_does_not(demo_store, monkeypatch):
    """The review page's records (the data as loaded) are read once per version of the data as loaded: a match
    decision (data.changed(raw=False)) moves the network version but not theirs; any other change moves both."""
    from dashboard import data
    from graph import matches
    reads = []
    real = matches.read_raw
    monkeypatch.setattr(matches, "read_raw", lambda s: reads.append(1) or real(s))
    network = analyses.version_of(demo_store)
    first = data.review_records()
    assert len(first) >= len(demo_store.read().people) and first.index.name == "rid"
    data.changed(raw=False)
    assert analyses.version_of(demo_store) != network
    assert data.review_records() is first and len(reads) == 1
    data.changed()
    assert data.review_records() is not first and len(reads) == 2


def test_staff_sign_in_reads_the_data_once_in_the_background(demo_store, monkeypatch):
    """data.warm_up (called when staff are signed in): one background read of the store per data version and
    process gives both the pages' dataset (matches applied, as store.read()) and the matcher's records; the
    pages that need them then find them read."""
    import threading
    from dashboard import data
    from graph import matches
    monkeypatch.setenv("CIVICTIES_BACKGROUND_ANALYSES", "1")
    data._warm.clear()
    reads = []
    real_read, real_raw = type(demo_store).read, matches.read_raw
    monkeypatch.setattr(type(demo_store), "read",              # a read of the store's rows, not of given ones
                        lambda self, raw=None: (raw is None and reads.append("read")) or real_read(self, raw))
    monkeypatch.setattr(matches, "read_raw", lambda s: reads.append("raw") or real_raw(s))
    data.full_dataset.clear()
    data._review_records.clear()

    def wait():
        for t in threading.enumerate():
            if t.name == "civicties-warm-up":
                t.join(timeout=60)
    data.warm_up()
    wait()
    assert reads == ["raw"]
    data.warm_up()                                        # same version: nothing read again
    wait()
    ds = data.full_dataset(*data.data_key())
    data.review_records()
    assert reads == ["raw"]
    expected = real_read(demo_store)
    for table in ("people", "ties", "enrollments"):
        pd.testing.assert_frame_equal(getattr(ds, table), getattr(expected, table))
    coordinator = Principal(username="c", role="coordinator", sites=("S1",))
    data.record_choices.clear()
    data.warm_up(coordinator)                             # and what record entry offers this principal
    wait()
    from dashboard import records

    def refuse(*_a, **_k):
        raise AssertionError("record entry's choices were not read ahead")
    monkeypatch.setattr(records, "people_at", refuse)
    people, labels, families = data.record_choices(coordinator, *data.data_key())
    assert set(people["site_id"]) == {"S1"} and len(labels) == len(people) and families
    assert reads == ["raw"]                               # the dataset itself was not read again
    monkeypatch.setenv("CIVICTIES_BACKGROUND_ANALYSES", "0")
    data._warm.clear()
    data.warm_up()                                        # off where the app computes nothing itself
    assert not any(t.name == "civicties-warm-up" for t in threading.enumerate())


def test_the_explorer_keeps_its_network_only_where_pages_can_use_it(demo_store, monkeypatch):
    """The app's worker keeps the explorer's first-view network for the page's next choice; `civicties analyse`
    (no page reads its memory) does not hold it."""
    from dashboard import data
    calls = []
    real = data.explorer_network
    monkeypatch.setattr(data, "explorer_network", lambda *a: calls.append(a[0]) or real(*a))
    analyses.run(demo_store, processes=1)
    assert calls == []
    analyses.clear(demo_store)
    import threading
    assert analyses.start_background(demo_store)
    deadline = time.time() + 300
    while any(t.name == analyses._THREAD for t in threading.enumerate()) and time.time() < deadline:
        time.sleep(0.1)
    assert sorted(calls) == ["coordinator", "evaluator"]           # admin (all sites) and evaluator; funders none
    assert analyses.status(demo_store)["state"] == "done"
