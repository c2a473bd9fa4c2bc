"""Smoke tests of every dashboard page in every audience (Streamlit AppTest), and the page journeys:
recording a contact, checking an upload."""
from __future__ import annotations

import sys
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

sys.path.insert(0, str(Path(__file__).parent))
from app_session import open_page  # noqa: E402

PAGES = {"overview": "Overview", "bridging": "Bridging and tie formation", "outreach": "Outreach",
         "pipeline": "Pipeline to seats", "data": "Data"}
ROLES = ("admin", "coordinator", "evaluator", "funder")
TINY = Path(__file__).parent / "data" / "tiny"


@pytest.fixture(scope="module")
def store_uri(app_store_uri):
    return app_store_uri


def charts(at: AppTest) -> list:
    return at.get("plotly_chart")


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("page", list(PAGES))
def test_page_renders_without_errors(store_uri, page, role):
    at = open_page(page, role)
    assert not at.exception, [e.value for e in at.exception]
    assert not at.error, [e.value for e in at.error]
    assert at.title[0].value == PAGES[page]
    assert f"t-{role}** ({role})" in at.sidebar.markdown[0].value


def test_sidebar_says_which_store_is_in_use(store_uri):
    at = open_page("overview", "admin")
    captions = " ".join(c.value for c in at.sidebar.caption)
    path = store_uri.split("sqlite:///", 1)[1]          # labels name the file by its absolute path
    assert path in captions and "demo" in captions


def test_admin_views_as_a_funder(store_uri):
    at = open_page("overview", "admin")
    assert at.dataframe, "admins see the isolated families listed"
    at.sidebar.selectbox(key="view_as_role").set_value("funder").run()
    assert not at.exception
    text = " ".join(m.value for m in at.markdown)
    assert "families have no parent with any tie" in text
    assert any("Viewing as **funder**" in w.value for w in at.sidebar.warning)
    at.sidebar.selectbox(key="view_as_role").set_value("admin").run()
    assert at.dataframe and not at.sidebar.warning


def test_overview_shows_headlines_change_and_charts(store_uri):
    at = open_page("overview", "coordinator")
    labels = [m.label for m in at.metric]
    for expected in ("People", "Parents", "Ties", "Cross-race ties", "Cross-class ties", "Isolated families"):
        assert expected in labels
    cross_race = next(m for m in at.metric if m.label == "Cross-race ties")
    assert "pre → post" in cross_race.delta  # the demo's post wave bridges more than its baseline
    assert cross_race.delta.startswith("+")
    assert any("Since cohort" in m.value for m in at.markdown)
    assert len(charts(at)) >= 3  # wave change, tie composition, funnel


def test_bridging_shows_tests_heatmap_and_growth(store_uri):
    at = open_page("bridging", "evaluator")
    table = at.dataframe[0].value
    assert set(table["wave"]) == {"pre", "post"}
    assert {"expected by chance", "p"} <= set(table.columns)
    assert len(charts(at)) >= 3
    at.selectbox(key="mixing_attr").set_value("income_band").run()
    at.radio(key="growth_by").set_value("by wave").run()
    assert not at.exception


def test_bridging_draws_every_cohort_in_one_figure_and_each_test_only_for_chosen_cohorts(store_uri):
    import json
    at = open_page("bridging", "evaluator")
    specs = [json.loads(c.proto.spec) for c in charts(at)]
    overview = [s for s in specs if any(t.get("type") == "histogram" for t in s["data"])]
    assert len(overview) == 1                         # every cohort at once, one histogram per attribute
    cohorts = at.multiselect(key="bridging_cohorts").options
    drawn = len(charts(at))
    at.multiselect(key="bridging_cohorts").set_value([cohorts[0]]).run()
    assert not at.exception
    assert len(charts(at)) == drawn + 1               # the chosen cohort's tests, row by row
    rows = [t["y"] for c in charts(at) for t in json.loads(c.proto.spec)["data"] if t.get("name") == "observed"]
    chosen = [r for r in rows if any(str(y).startswith(cohorts[0] + " · ") for y in r)]
    assert len(chosen) == 1 and all(y.startswith(cohorts[0] + " · ") for y in chosen[0])


def test_cohort_figure_puts_each_test_at_expected_and_observed():
    import pandas as pd
    from dashboard import figures
    results = pd.DataFrame({"cohort": ["C1", "C1", "C2", "C3"], "wave": ["pre", "pre", "post", "post"],
                            "attribute": ["race", "class", "race", "race"], "observed": [0.5, -0.2, None, 0.1],
                            "expected": [0.1, -0.1, None, 0.3], "p_value": [0.01, 0.4, None, 0.2],
                            "q_value": [0.02, 0.4, None, 0.3]})
    fig = figures.figure_cohort_tests(results)
    race, klass = fig.data
    assert list(race.x) == [0.4, -0.2]                # observed - expected; C2 has no test: left out
    assert list(klass.x) == [-0.1]
    assert fig.layout.shapes[0].x0 == 0 and "2 cohorts" in fig.layout.title.text


def test_pipeline_regroups_the_funnel(store_uri):
    at = open_page("pipeline", "coordinator")
    assert len(charts(at)) >= 3  # sankey, funnel, time to seat (bodies when anyone is seated)
    at.segmented_control(key="pipeline_by").set_value("race_ethnicity").run()
    assert not at.exception
    assert "race/ethnicity" in at.dataframe[0].value.columns


def _family_box(at):
    return next(s for s in at.selectbox if s.label == "Family")   # its key changes after each save


def test_marking_a_family_contacted_shows_next_time(store_uri):
    at = open_page("outreach", "coordinator")
    family = _family_box(at).value
    at.text_input(key="contact_note").input("called about the spring forum")
    at.button(key="FormSubmitter:contact-Save contact").click().run()  # the form's submit button
    assert not at.exception
    assert any("Saved" in s.value for s in at.success)
    table = at.dataframe[0].value
    assert table.loc[table["family_id"] == family, "last_contacted"].notna().all()


def test_outreach_filters_by_site(store_uri):
    at = open_page("outreach", "coordinator")
    sites = at.multiselect(key="outreach_sites").options
    at.multiselect(key="outreach_sites").set_value([sites[0]]).run()
    assert set(at.dataframe[0].value["site_id"]) == {sites[0]}


def test_upload_with_problems_shows_the_report_and_no_load_button(store_uri):
    at = open_page("data", "admin")
    bad = (TINY / "people.csv").read_bytes().replace(b"parent", b"grandparent", 1)
    at.file_uploader(key="uploads").set_value([("people.csv", bad, "text/csv")]).run()
    assert not at.exception
    assert at.error, "the problems are announced"
    report = at.dataframe[0].value
    assert list(report.columns) == ["file", "row", "column", "value", "message", "fix"]
    assert not [b for b in at.button if b.key == "load"]


def test_valid_upload_loads_and_refreshes(store_uri):
    at = open_page("data", "admin")
    files = [(p.name, p.read_bytes(), "text/csv") for p in sorted(TINY.glob("*.csv"))]
    at.file_uploader(key="uploads").set_value(files).run()
    assert any("valid" in s.value for s in at.success)
    at.button(key="load").click().run()
    assert not at.exception
    assert any("Loaded" in s.value for s in at.success)


def test_funders_get_no_network_file_and_cannot_upload(store_uri):
    at = open_page("data", "funder")
    assert not at.get("download_button")
    assert not at.get("file_uploader")


@pytest.mark.parametrize("role", ["coordinator", "evaluator"])
def test_only_admins_load_data(store_uri, role):
    at = open_page("data", role)
    assert not at.get("file_uploader")
    assert any("for admins" in i.value for i in at.info)
