"""Signed-in AppTest sessions for dashboard tests: one account per role in the test store, and an AppTest
whose server-side session holds that account's principal (as a successful sign-in leaves it).

    at = open_page("outreach", "coordinator")       # demo network, coordinator of S1
"""
from __future__ import annotations

import os
import time
from pathlib import Path

from streamlit.testing.v1 import AppTest

APP = str(Path(__file__).resolve().parent.parent / "streamlit_app.py")
# The test accounts (not demo accounts, so they outlive a real upload in the same store).
ROLE_SITES = {"admin": ["*"], "coordinator": ["S1"], "evaluator": ["*"], "funder": ["*"]}
PASSWORD = "correct horse battery staple"

__all__ = ["APP", "ROLE_SITES", "PASSWORD", "ensure_accounts", "principal", "signed_in_app", "open_page"]


def ensure_accounts(uri: str | None = None) -> None:
    """Create t-admin, t-coordinator (site S1), t-evaluator and t-funder in the store, if missing."""
    from dashboard import accounts
    from graph.store import open_store
    with open_store(uri or os.environ["CIVICTIES_STORE"]) as store:
        for role, sites in ROLE_SITES.items():
            if store.get_account(f"t-{role}") is None:
                accounts.add_account(store, f"t-{role}", role, sites=sites, password=PASSWORD, actor="tests")


def principal(role: str, sites=None):
    from dashboard.accounts import Principal
    return Principal(username=f"t-{role}", role=role, sites=tuple(sites or ROLE_SITES[role]))


def signed_in_app(role: str | None, *, timeout: float = 120) -> AppTest:
    """An AppTest (not yet run) signed in as the test account of `role` (None: anonymous)."""
    from dashboard import session
    at = AppTest.from_file(APP, default_timeout=timeout)
    if role is not None:
        ensure_accounts()
        now = time.time()
        at.session_state[session.KEY] = {"principal": principal(role), "signed_in": now, "last_seen": now}
    return at


def open_page(page: str, role: str) -> AppTest:
    at = signed_in_app(role)
    at.run()
    if page != "overview":
        at.switch_page(f"dashboard/pages/{page}.py").run()
    return at
