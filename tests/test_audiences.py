"""Each role sees only what it may: funders no person (name or id) and no count under the threshold,
evaluators no names, a coordinator of site S1 nobody of another site. Checked on everything every page puts
on screen (AppTest), and on the loaders."""
from __future__ import annotations

import sys
from pathlib import Path

import pandas as pd
import pytest

from graph.store import open_store

sys.path.insert(0, str(Path(__file__).parent))
from app_session import principal, signed_in_app  # noqa: E402
from whole_words import found as found_whole  # noqa: E402

PAGES = ("overview", "bridging", "explorer", "outreach", "pipeline", "data")


@pytest.fixture(scope="module")
def store_uri(app_store_uri):
    return app_store_uri


@pytest.fixture(scope="module")
def screens(store_uri) -> dict:
    """Everything each page shows, per audience, as one text (elements, tables as CSV, chart specs)."""
    out = {}
    for role in ("admin", "coordinator", "evaluator", "funder"):
        for page in PAGES:
            at = signed_in_app(role)
            at.run()
            if page != "overview":
                at.switch_page(f"dashboard/pages/{page}.py").run()
            assert not at.exception, (role, page, [e.value for e in at.exception])
            out[role, page] = _screen_text(at)
            if role == "coordinator" and page == "explorer":   # also a person's ego network
                options = at.selectbox[-1].options if at.selectbox else []
                if len(options) > 1:
                    at.selectbox[-1].set_value(at.selectbox[-1].options[1]).run()
                    out[role, "explorer-ego"] = _screen_text(at)
    return out


@pytest.fixture(scope="module")
def people(store_uri, screens) -> pd.DataFrame:
    store = open_store(store_uri)
    try:
        return store.read().people
    finally:
        store.close()


def _screen_text(at) -> str:
    parts = []

    def walk(node):
        proto = getattr(node, "proto", None)
        if proto is not None:
            parts.append(str(proto))
        for child in getattr(node, "children", {}).values():
            walk(child)

    walk(at.main)
    walk(at.sidebar)
    parts += [df.value.to_csv() for df in at.dataframe]
    return "\n".join(parts)


def _leaks(text: str, values) -> list[str]:
    return sorted({v for v in values if v and v in text})


def test_screens_are_not_empty(screens, people):
    # The leak checks below are only meaningful if admins' and coordinators' screens do show people.
    for role in ("admin", "coordinator"):
        text = "\n".join(t for (a, _), t in screens.items() if a == role)
        assert _leaks(text, people["name"].dropna())
        assert _leaks(text, people["person_id"])


def _other_sites(people: pd.DataFrame, site: str) -> dict[str, set]:
    """What a coordinator of `site` must never receive: other sites' names, ids, family ids, emails and phones
    (leaving out any value that also belongs to someone of `site`: two people may share a name)."""
    mine, others = people[people["site_id"] == site], people[people["site_id"] != site]
    out = {}
    for col in ("name", "person_id", "family_id", "email", "phone"):
        out[col] = set(others[col].dropna()) - set(mine[col].dropna())
    return out


@pytest.mark.parametrize("page", PAGES + ("explorer-ego",))
def test_coordinator_of_one_site_sees_no_one_of_another(screens, people, page):
    text = screens["coordinator", page]
    for col, values in _other_sites(people, "S1").items():
        found = sorted(found_whole(values, text, word=r"[\w-]"))
        assert not found, f"{page}: a coordinator of S1 received {col} of other sites: {found[:5]}"


def test_coordinator_sees_their_own_site(screens, people):
    text = "\n".join(t for (a, _), t in screens.items() if a == "coordinator")
    mine = people[people["site_id"] == "S1"]
    assert _leaks(text, mine["name"].dropna()) and _leaks(text, mine["person_id"])


@pytest.mark.parametrize("page", PAGES)
def test_funder_sees_no_person(screens, people, page):
    text = screens["funder", page]
    assert not _leaks(text, people["name"].dropna())
    assert not _leaks(text, people["person_id"])
    assert not _leaks(text, people["family_id"].dropna())


@pytest.mark.parametrize("page", PAGES)
def test_evaluator_sees_no_names(screens, people, page):
    text = screens["evaluator", page]
    assert not _leaks(text, people["name"].dropna())
    assert not _leaks(text, people["email"].dropna())


def test_evaluator_sees_pseudonyms_where_coordinator_sees_people(screens):
    assert "p-" in screens["evaluator", "outreach"]


def _small_counts(frame: pd.DataFrame, columns) -> list:
    return [v for c in columns for v in frame[c] if not isinstance(v, str) and v is not None and 0 < v < 10]


def test_funder_loaders_hide_small_counts(store_uri, screens):
    from dashboard import data
    overview = data.load_overview(principal("funder"))
    counts = [v for v in overview["headline"].values() if isinstance(v, int)] + list(overview["funnel"].values())
    assert not [v for v in counts if isinstance(v, int) and 0 < v < 10]
    assert not _small_counts(overview["composition"], ["within", "across"])
    assert overview["isolated"] is None
    for by in data.PIPELINE_BY:
        pipe = data.load_pipeline(principal("funder"), by)
        assert not _small_counts(pipe["funnel"], ["enrolled", "graduated", "civic", "appointed"])
        assert all(c >= 10 for *_, c in pipe["flows"])
        assert not _small_counts(pipe["bodies"], ["graduates", "current"])
    assert not _small_counts(data.load_outreach(principal("funder")), ["families"])
    tests = data.load_bridging(principal("funder"))["tests"]
    assert not _small_counts(tests, ["ties", "cross_ties"])
    assert tests.loc[tests["ties"].map(lambda v: isinstance(v, str)), "p_value"].isna().all()
    matrix = data.load_mixing(principal("funder"), "race_ethnicity")
    assert not [v for row in matrix.to_numpy() for v in row if not isinstance(v, str) and 0 < v < 10]


def test_funder_comparisons_and_findings_hide_small_counts(store_uri, screens):
    from dashboard import data
    for loaded in (data.load_overview(principal("funder")), data.load_bridging(principal("funder"))):
        c = loaded["comparison"]
        assert all(isinstance(n, str) or n == 0 or n >= 10 for n in c["respondents"].values())
        for kinds in c["by_attribute"].values():
            for r in kinds.values():
                for side in ("before", "after"):
                    assert all(isinstance(r[side][k], str) or r[side][k] == 0 or r[side][k] >= 10
                               for k in ("ties", "cross"))
                    if isinstance(r[side]["ties"], str) or isinstance(r[side]["cross"], str):
                        assert r[side]["share"] is None and r["change"]["share"] is None
        for f in [f for f in loaded["findings"] if f.anchor != "per-cohort"]:   # (that one counts tests, not people)
            import re
            assert not [n for n in re.findall(r"(?<![\w.,+-])(\d+)(?![\w.%,])", f.text) if 0 < int(n) < 10], f.text


def test_funder_funnel_hides_cells_derivable_from_totals(store_uri, screens):
    from dashboard import data
    funnel = data.load_pipeline(principal("funder"), "site")["funnel"]
    for col in ("enrolled", "graduated", "civic", "appointed"):
        hidden = [v for v in funnel[col] if isinstance(v, str)]
        shown = [v for v in funnel[col] if not isinstance(v, str)]
        # A lone hidden cell beside non-zero shown cells is the total minus those cells. (Beside zeros
        # it equals the total, which is itself below the threshold and hidden.)
        assert len(hidden) != 1 or not any(shown), f"the hidden {col} cell can be worked out from the total"


def test_loaders_take_only_a_principal(store_uri, screens):
    from dashboard import data
    from dashboard.accounts import AccountError, Principal
    for audience in ("coordinator", "public"):       # a page cannot name its own audience
        with pytest.raises(TypeError):
            data.load_overview(audience)
    with pytest.raises(AccountError):
        Principal(username="x", role="public")
    with pytest.raises(PermissionError):
        data.load_graph_file(principal("funder"), "GraphML")
    with pytest.raises(PermissionError):
        data.load_upload(principal("coordinator"), [])
    with pytest.raises(PermissionError):
        data.record_contact(principal("evaluator"), "F000001", __import__("datetime").date.today())


def test_a_coordinator_cannot_record_a_contact_for_another_site(store_uri, screens, people):
    from datetime import date

    from dashboard import data
    other = people.loc[(people["site_id"] != "S1") & people["family_id"].notna(), "family_id"].iloc[0]
    with pytest.raises(PermissionError, match="not one of your sites"):
        data.record_contact(principal("coordinator"), other, date.today())


def test_loaders_for_a_coordinator_hold_only_their_sites(store_uri, screens, people):
    from dashboard import data
    p = principal("coordinator")
    audience, sites = data.scope(p)
    ds = data.audience_dataset(audience, sites, *data.data_key())
    assert set(ds.people["site_id"]) == {"S1"}
    s1 = set(people.loc[people["site_id"] == "S1", "person_id"])
    assert set(ds.ties["from_person_id"]) <= s1 and set(ds.ties["to_person_id"].dropna()) <= s1
    assert set(ds.enrollments["person_id"]) <= s1 and set(ds.attendance["person_id"]) <= s1
    assert set(ds.home_visits["teacher_id"]) <= s1
    assert set(data.load_outreach(p)["site_id"]) <= {"S1"}
    graph = data.load_graph_file(p, "GraphML").decode("utf-8")
    others = people.loc[people["site_id"] != "S1", "person_id"]
    assert not [pid for pid in others if f'"{pid}"' in graph]


def test_funder_sankey_hides_no_lone_flow(store_uri, screens):
    from dashboard import data
    from queries.pipeline import sankey_flows
    full = sankey_flows(data.full_dataset(*data.data_key()))
    shown = set(data.load_pipeline(principal("funder"))["flows"])
    for source in {s for s, _, _ in full}:
        hidden = [(s, t, c) for s, t, c in full if s == source and (s, t, c) not in shown and c]
        # One hidden flow from a node would be its in-flow minus the flows drawn beside it.
        assert len(hidden) != 1 or hidden[0][2] >= 10 or len([f for f in full if f[0] == source]) == 1


def test_evaluators_and_funders_leave_out_people_without_consent(store_uri, screens, people):
    from dashboard import data
    from queries.privacy import pseudonym
    refused = people[people["consent"].isin(["no", "withdrawn"])]
    assert len(refused), "the demo has people who did not consent"
    parents = people[people["role"].fillna("parent") == "parent"]
    consenting_parents = parents[~parents["person_id"].isin(refused["person_id"])]
    assert data.load_overview(principal("admin"))["headline"]["parents"] == len(parents)
    assert data.load_overview(principal("evaluator"))["headline"]["parents"] == len(consenting_parents)
    funder = data.load_overview(principal("funder"))["headline"]["parents"]
    assert funder == len(consenting_parents) or isinstance(funder, str)
    salt = data.privacy.default_salt(store_uri)
    gone = {pseudonym(p, salt=salt) for p in refused["person_id"]}
    evaluator = "\n".join(t for (role, _page), t in screens.items() if role == "evaluator")
    assert not [p for p in gone if p in evaluator]
    graph = data.load_graph_file(principal("evaluator"), "GraphML").decode("utf-8")
    assert not [p for p in gone if p in graph]


def test_evaluator_downloads_are_k_anonymous(store_uri, screens):
    import io
    import json

    import networkx as nx

    from dashboard import data
    from queries.kanon import smallest_class
    graph = data.load_graph_file(principal("evaluator"), "GraphML")
    G = nx.read_graphml(io.BytesIO(graph))
    note = json.loads(G.graph["k_anonymity"])
    assert note["k"] == 5 and note["k_reached"] >= 5
    quasi = ["race_ethnicity", "income_band", "primary_language", "site_id", "neighborhood", "cohort_id", "role"]
    nodes = pd.DataFrame([{q: d.get(q) for q in quasi} for _, d in G.nodes(data=True)])
    assert smallest_class(nodes, [q for q in quasi if q in nodes]) >= 5
    text = data.person_metrics_csv(principal("evaluator")).decode("utf-8")
    assert text.startswith("# ") and "k-anonymity" in text.splitlines()[0].lower().replace("_", "-")
