"""The dashboard session (Streamlit AppTest): nothing but the sign-in page for an anonymous visitor, no
loader run and no store read for them; sign-in and lockout; each role gets only its pages; sessions end when
idle, too old, or when the account is disabled."""
from __future__ import annotations

import sys
import time
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

sys.path.insert(0, str(Path(__file__).parent))
from app_session import APP, PASSWORD, ensure_accounts, signed_in_app  # noqa: E402

ALL_PAGES = ("overview", "bridging", "explorer", "outreach", "pipeline", "data", "accounts", "audit")
ADMIN_PAGES = ("accounts", "audit")


@pytest.fixture(scope="module")
def store_uri(app_store_uri):
    ensure_accounts(app_store_uri)
    return app_store_uri


def _store():
    from dashboard import data
    return data.get_store()


def _switchable(at: AppTest, page: str) -> bool:
    try:
        at.switch_page(f"dashboard/pages/{page}.py")
    except ValueError:          # not a page of this session's navigation
        return False
    return True


def test_anonymous_visitor_gets_the_sign_in_page_and_no_data(store_uri, monkeypatch):
    from dashboard import data
    from graph.store import SQLiteStore
    called = []
    loaders = [n for n in dir(data) if n.startswith("load_") and n != "load_package"]   # (that one writes the demo)
    for name in loaders + ["full_dataset", "audience_dataset",
                                                                    "site_dataset", "site_ids"]:
        original = getattr(data, name)
        monkeypatch.setattr(data, name, lambda *a, _n=name, _o=original, **k: called.append(_n) or _o(*a, **k))

    def no_read(self):
        raise AssertionError("an anonymous visitor made the app read the program's data")
    at = AppTest.from_file(APP, default_timeout=120)
    at.run()     # the first run may load the demo into the empty store: it writes, it does not read it back
    monkeypatch.setattr(SQLiteStore, "read_rows", no_read)
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    assert [t.value for t in at.title] == ["Civic Ties"]
    assert at.text_input(key="signin_username") and at.text_input(key="signin_password")
    assert not at.dataframe and not at.get("plotly_chart") and not at.metric
    for page in ALL_PAGES:
        assert not _switchable(at, page), f"{page} is reachable without signing in"
    assert called == [], called


def test_sign_in_with_a_password(store_uri):
    at = AppTest.from_file(APP, default_timeout=120)
    at.run()
    at.text_input(key="signin_username").input("t-evaluator")
    at.text_input(key="signin_password").input(PASSWORD)
    at.button[0].click().run()
    assert not at.exception
    assert at.title[0].value == "Overview"
    assert "t-evaluator** (evaluator)" in at.sidebar.markdown[0].value
    entry = _store().read_audit(action="signin", actor="t-evaluator", limit=1)[0]
    assert entry["role"] == "evaluator" and entry["detail"] == "password"
    at.button(key="signout").click().run()
    assert at.title[0].value == "Civic Ties" and any("signed out" in w.value for w in at.warning)
    assert _store().read_audit(action="signout", actor="t-evaluator", limit=1)


def test_wrong_password_five_times_locks_the_account(store_uri):
    from dashboard import accounts
    accounts.add_account(_store(), "t-locked", "funder", password=PASSWORD, actor="tests")
    at = AppTest.from_file(APP, default_timeout=120)
    at.run()
    for _ in range(5):
        at.text_input(key="signin_username").input("t-locked")
        at.text_input(key="signin_password").input("not the password")
        at.button[0].click().run()
        assert "not right" in at.error[0].value
    at.text_input(key="signin_password").input(PASSWORD)
    at.button[0].click().run()
    assert "Too many failed sign-ins" in at.error[0].value and at.title[0].value == "Civic Ties"


@pytest.mark.parametrize("role", ["admin", "coordinator", "evaluator", "funder"])
def test_each_role_gets_only_its_pages(store_uri, role):
    at = signed_in_app(role)
    at.run()
    assert not at.exception
    for page in ALL_PAGES:
        expected = role == "admin" or page not in ADMIN_PAGES
        assert _switchable(at, page) == expected, (role, page)


def test_admin_pages_list_accounts_and_the_audit_log(store_uri):
    at = signed_in_app("admin")
    at.run()
    at.switch_page("dashboard/pages/accounts.py").run()
    assert not at.exception and at.title[0].value == "Accounts"
    assert "t-coordinator" in set(at.dataframe[0].value["username"])
    assert "password_hash" not in at.dataframe[0].value.columns
    at.text_input(key="new_username").input("t-new")
    at.selectbox(key="new_role").set_value("funder")
    at.text_input(key="new_password").input(PASSWORD)
    at.button[0].click().run()      # the add form's submit
    assert any("Added t-new" in s.value for s in at.success)
    at.switch_page("dashboard/pages/audit.py").run()
    assert not at.exception and at.title[0].value == "Audit log"
    log = at.dataframe[0].value
    assert "account_created" in set(log["action"]) and PASSWORD not in log.to_csv()


@pytest.mark.parametrize("late", ["idle", "age"])
def test_an_expired_session_is_signed_out(store_uri, late, monkeypatch):
    from dashboard import session
    monkeypatch.setenv("CIVICTIES_SESSION_IDLE_SECONDS", "60")
    monkeypatch.setenv("CIVICTIES_SESSION_MAX_SECONDS", "3600")
    at = signed_in_app("coordinator")
    at.run()
    assert at.title[0].value == "Overview"
    state = at.session_state[session.KEY]
    if late == "idle":
        state["last_seen"] = time.time() - 61
    else:
        state["signed_in"] = time.time() - 3601
    at.session_state[session.KEY] = state
    at.run()
    assert at.title[0].value == "Civic Ties"
    assert any(("without activity" if late == "idle" else "maximum length") in w.value for w in at.warning)
    assert not at.dataframe


def test_a_disabled_account_is_signed_out_at_its_next_click(store_uri):
    from dashboard import accounts
    accounts.add_account(_store(), "t-leaver", "evaluator", password=PASSWORD, actor="tests")
    at = AppTest.from_file(APP, default_timeout=120)
    at.run()
    at.text_input(key="signin_username").input("t-leaver")
    at.text_input(key="signin_password").input(PASSWORD)
    at.button[0].click().run()
    assert at.title[0].value == "Overview"
    accounts.update_account(_store(), "t-leaver", actor="tests", disabled=True)
    at.run()
    assert at.title[0].value == "Civic Ties" and any("disabled" in w.value for w in at.warning)


def test_demo_sign_in_while_the_store_holds_the_demo(store_uri):
    at = AppTest.from_file(APP, default_timeout=120)
    at.run()
    assert any("generated demo network" in i.value for i in at.info)
    at.button(key="demo_funder").click().run()
    assert at.title[0].value == "Overview" and "demo-funder" in at.sidebar.markdown[0].value
