"""The coordinator's call list: tiers, contacts applied when the list is read (a contacted family waits at the
bottom until its follow-up is due, with its history: date, who, note), and the page's journey."""
from __future__ import annotations

import sys
import time
from datetime import date
from pathlib import Path

import pandas as pd
import pytest

sys.path.insert(0, str(Path(__file__).parent))
from app_session import open_page  # noqa: E402

from queries.errors import QueryError  # noqa: E402
from queries.outreach import CONTACTED, apply_contacts, contact_note, parse_note, split_connectors, tier_of  # noqa: E402


def table():
    return pd.DataFrame({"family_id": ["F1", "F2", "F3", "F4"],
                         "tier": ["call now", "call now", "this month", "keep an eye on"],
                         "last_contacted": [None, None, None, None]})


def contacts(*rows):
    return pd.DataFrame([{"family_id": f, "contacted_on": d, "note": n, "recorded_at": f"{d}T12:00:00"}
                         for f, d, n in rows], columns=["family_id", "contacted_on", "note", "recorded_at"])


def test_tiers_by_hand():
    assert tier_of(["no_ties", "inactive"]) == "call now"
    assert tier_of(["family_only", "withdrew"]) == "call now"
    assert tier_of(["no_ties"]) == "this month"
    assert tier_of(["inactive", "withdrew"]) == "this month"
    assert tier_of(["no_ties", "family_only"]) == "this month"        # both "isolated": one category
    assert tier_of(["inactive"]) == "keep an eye on"
    assert tier_of(["language"]) == "keep an eye on"


def test_a_contacted_family_waits_at_the_bottom_with_its_history():
    c = contacts(("F1", "2026-11-20", contact_note("left a message", "ada")),
                 ("F1", "2026-10-01", contact_note("", "bo")),
                 ("F3", "2026-09-01", "an old note without its author"))
    out = apply_contacts(table(), c, today=date(2026, 11, 30), follow_up_days=30)
    assert list(out["family_id"]) == ["F2", "F3", "F4", "F1"]
    f1 = out.set_index("family_id").loc["F1"]
    assert f1["tier"] == CONTACTED and f1["needs"] == "call now"
    assert f1["last_contacted"] == date(2026, 11, 20) and f1["follow_up_on"] == date(2026, 12, 20)
    assert f1["history"] == [{"date": date(2026, 11, 20), "by": "ada", "note": "left a message"},
                             {"date": date(2026, 10, 1), "by": "bo", "note": ""}]
    # F3's follow-up (2026-10-01) is due: back in its own tier, its history kept
    f3 = out.set_index("family_id").loc["F3"]
    assert f3["tier"] == "this month" and f3["history"][0]["by"] is None
    assert f3["follow_up_on"] == date(2026, 10, 1)


def test_follow_up_due_the_day_it_falls_and_contacted_ordered_by_follow_up():
    c = contacts(("F1", "2026-11-01", ""), ("F2", "2026-10-15", ""))
    out = apply_contacts(table(), c, today=date(2026, 11, 13), follow_up_days=30)
    assert list(out["family_id"]) == ["F3", "F4", "F2", "F1"]           # F2 is due first (11-14, F1 12-01)
    due = apply_contacts(table(), c, today=date(2026, 11, 14), follow_up_days=30)
    assert list(due["family_id"]) == ["F2", "F3", "F4", "F1"]           # due on the day: back on top
    assert apply_contacts(table(), c, today=date(2026, 11, 14), follow_up_days=0)["tier"].tolist() == \
        ["call now", "call now", "this month", "keep an eye on"]


def test_contacts_of_families_not_on_the_list_are_left_out():
    out = apply_contacts(table(), contacts(("F9", "2026-11-20", "another site's family")),
                         today=date(2026, 11, 30), follow_up_days=30)
    assert all(h == [] for h in out["history"]) and "F9" not in set(out["family_id"])


def test_a_table_stored_before_tiers_gets_them_from_its_reasons():
    old = pd.DataFrame({"family_id": ["F1", "F2"], "reasons": [
        "no event, home visit or cohort activity in the last 180 days",
        "no ties to anyone in the network; no event, home visit or cohort activity on record"],
        "last_contacted": [None, None]})
    out = apply_contacts(old, None, today=date(2026, 11, 30))
    assert out[["family_id", "tier"]].values.tolist() == [["F2", "call now"], ["F1", "keep an eye on"]]


def test_bad_follow_up_days_raise():
    with pytest.raises(QueryError, match="follow_up_days"):
        apply_contacts(table(), None, today=date(2026, 11, 30), follow_up_days=-3)


def test_notes_and_connectors_read_back():
    assert parse_note(contact_note("called [twice]", "t-coordinator")) == ("t-coordinator", "called [twice]")
    assert parse_note("plain") == (None, "plain") and parse_note(None) == (None, "")
    assert split_connectors("Ann Lee (P1): same school (SCH1); speaks English; 4 ties; p-ab12: 1 tie") == \
        ["Ann Lee (P1): same school (SCH1); speaks English; 4 ties", "p-ab12: 1 tie"]
    assert split_connectors("") == []


def _family_box(at):
    """The contact form's family box (its key changes after each save)."""
    return next(s for s in at.selectbox if s.label == "Family")


@pytest.fixture(scope="module")
def store_uri(app_store_uri):
    return app_store_uri


def test_marking_contacted_moves_the_family_down_and_shows_who_and_the_note(store_uri):
    at = open_page("outreach", "coordinator")
    assert not at.exception
    labels = [m.label for m in at.metric]
    assert labels[:3] == ["Call now", "This month", "Keep an eye on"]
    first = at.dataframe[0].value["family_id"].iloc[0]
    assert _family_box(at).value == first             # the form opens on the top family
    at.text_input(key="contact_note").input("called about the spring forum")
    at.button(key="FormSubmitter:contact-Save contact").click().run()
    assert not at.exception, [e.value for e in at.exception]
    time.sleep(0.6)                                                       # the version memo's half second
    at.run()
    listed = at.dataframe[0].value.set_index("family_id")
    assert listed.index[0] != first and listed.index[-1] == first
    assert listed.loc[first, "tier"] == "contacted"
    assert listed.loc[first, "last contact"].endswith("by t-coordinator: called about the spring forum")
    assert _family_box(at).value == listed.index[0]   # the form moved to the next family
    assert listed.loc[first, "follow_up_on"] == listed.loc[first, "last_contacted"] + pd.Timedelta(days=30)


def test_tier_and_reason_filters(store_uri):
    at = open_page("outreach", "coordinator")
    at.multiselect(key="outreach_tiers").set_value(["keep an eye on"]).run()
    assert set(at.dataframe[0].value["tier"]) == {"keep an eye on"}
    at.multiselect(key="outreach_tiers").set_value([]).run()
    at.multiselect(key="outreach_reasons").set_value(["isolated"]).run()
    assert all("isolated" in r for r in at.dataframe[0].value["reasons"])


def test_evaluators_get_no_phone_numbers_and_funders_get_categories(store_uri):
    at = open_page("outreach", "evaluator")
    assert not at.exception and "phone and e-mail" not in at.dataframe[0].value.columns
    at = open_page("outreach", "funder")
    assert not at.exception
    reasons = set(at.dataframe[0].value.columns) - {"site"}
    assert reasons <= {"no ties", "ties only inside the family", "not seen lately", "left a cohort",
                       "language barrier"}
