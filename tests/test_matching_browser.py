"""The Matching review page in a real browser (Chromium + Playwright): an admin and a coordinator see a pair side
by side with its evidence, decide with the keyboard (a: same person), the next pair appears, u undoes; the
decisions are stored with who and how. Roles that may not see the pairs receive none of their names: an evaluator
and a funder (not in their navigation, and the page's address shows them nothing), and a coordinator of another
site (only the pairs of their own site reach their browser).

The store holds the hard cases of tests/test_matching.py (a roster, a home-visit log and survey names at two
sites), every candidate sent to review. Needs Chromium (see tests/e2e_server.py); run under
`flock /tmp/browser.lock`.
"""
from __future__ import annotations

import re
import sys
import time
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))
from e2e_server import PASSWORD, DashboardServer, Received, chromium, require_browser, wait_quiet  # noqa: E402
from test_matching import PEOPLE, TIES, write_package  # noqa: E402

WAIT_S = 150

require_browser()
from playwright.sync_api import Page  # noqa: E402

# names of each site's records (people and the survey names recalled there)
SITE_OF = {row[0]: row[4] for row in PEOPLE}
NAMES = {site: {row[1] for row in PEOPLE if row[4] == site} | {name for who, name in TIES if SITE_OF[who] == site}
         for site in ("S1", "S2")}
ACCOUNTS = {"t-admin": ("admin", ["*"]), "t-coordinator": ("coordinator", ["S1"]),
            "t-coordinator-s2": ("coordinator", ["S2"]), "t-evaluator": ("evaluator", ["*"]),
            "t-funder": ("funder", ["*"])}


@pytest.fixture(scope="module")
def store_uri(tmp_path_factory):
    from dashboard import accounts
    from graph.store import SQLiteStore
    from ingest import match
    from ingest.load import load_package
    folder = tmp_path_factory.mktemp("matching-browser")
    with SQLiteStore(folder / "store.sqlite") as s:
        load_package(write_package(folder / "pkg"), s)
        match.run(s, upper=1.0, lower=0.05, actor="t-admin", role="admin")     # every candidate to review
        for username, (role, sites) in ACCOUNTS.items():
            accounts.add_account(s, username, role, sites=sites, password=PASSWORD, actor="tests")
        uri = s.uri
    return uri, folder


@pytest.fixture(scope="module")
def server(store_uri):
    uri, folder = store_uri
    with DashboardServer(uri, log=folder / "streamlit.log",
                         env={"CIVICTIES_BACKGROUND_ANALYSES": "0"}) as s:
        yield s


@pytest.fixture(scope="module")
def browser():
    with chromium() as b:
        yield b


@pytest.fixture
def page(browser):
    context = browser.new_context(viewport={"width": 1400, "height": 1400})
    p = context.new_page()
    p.watch = Received(p)
    yield p
    assert not p.watch.dialogs, p.watch.dialogs
    context.close()


def _quiet(page: Page) -> None:
    wait_quiet(page, WAIT_S)


def _see(page: Page, text: str | re.Pattern) -> None:
    page.get_by_text(text).first.wait_for(timeout=WAIT_S * 1000)
    _quiet(page)


def _sign_in(page: Page, base: str, username: str) -> None:
    page.goto(base)
    _see(page, "Sign in")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password", exact=True).fill(PASSWORD)
    page.get_by_role("button", name="Sign in", exact=True).click()
    page.locator('[data-testid="stSidebarNav"]').first.wait_for(timeout=WAIT_S * 1000)
    _quiet(page)


def _nav(page: Page) -> list[str]:
    return page.locator('[data-testid="stSidebarNav"] a').all_inner_texts()


def _open_matching(page: Page) -> None:
    page.locator('[data-testid="stSidebarNav"] a', has_text="Matching").first.click()
    page.locator("h1", has_text="Matching people").first.wait_for(timeout=WAIT_S * 1000)
    _quiet(page)


def _waiting(page: Page) -> int:
    header = page.locator("h3", has_text=re.compile(r"Pair 1 of \d+")).first
    header.wait_for(timeout=WAIT_S * 1000)
    page.locator('[data-testid="stDataFrame"]').first.wait_for(timeout=WAIT_S * 1000)
    return int(re.search(r"of (\d+)", header.inner_text()).group(1))


def _names_in(sent: str) -> set[str]:
    return {n for site in NAMES.values() for n in site if n in sent}


def _keyboard(page: Page, key: str) -> None:
    page.locator("h1", has_text="Matching people").first.click()      # focus on the page, not a field
    page.keyboard.press(key)


def _queue(uri: str, sites) -> list[tuple[str, str]]:
    """The pairs the page offers, in its order: (first record's name, second record's name)."""
    from graph.store import open_store
    from ingest import match
    with open_store(uri) as s:
        return [(c["left_record"]["name"], c["right_record"]["name"]) for c in match.review_queue(s, sites=sites)]


def _decisions(uri: str) -> list[dict]:
    from graph import matches
    from graph.store import open_store
    with open_store(uri) as s:
        return [d for d in matches.decision_history(s) if d["method"] == "review"]


def _decide_and_undo(page: Page, uri: str, username: str, sites) -> str:
    """Open Matching, check the pair and its evidence, press a (the next pair appears), press u (it is back).
    Returns everything the server sent."""
    queue = _queue(uri, sites)
    assert len(queue) >= 2 and queue[0] != queue[1], "the test needs two different pairs"
    before = len(_decisions(uri))
    _open_matching(page)
    assert _waiting(page) == len(queue)
    # side by side with the evidence: both records, each field's agreement, the probability
    sent = page.watch.text()
    assert "Match probability" in page.locator('[data-testid="stMain"]').first.inner_text()
    for word in ("first record", "second record", "agreement", "given:", "family:", "site"):
        assert word in sent, f"{word!r} is not on the page"
    assert set(queue[0]) <= _names_in(sent), "the first pair's two names are not on the page"
    everything = sent

    page.watch.received.clear()
    _keyboard(page, "a")                                           # a: same person
    _see(page, "Saved: the same person.")
    page.locator("h3", has_text=f"Pair 1 of {len(queue) - 1}").first.wait_for(timeout=WAIT_S * 1000)
    _quiet(page)
    sent = page.watch.text()
    assert set(queue[1]) <= _names_in(sent), "the next pair did not appear"
    everything += sent
    decided = _decisions(uri)
    assert len(decided) == before + 1
    last = decided[-1]
    assert last["actor"] == username and last["decision"] == "accepted" and last["at"] and not last["undone_at"]

    page.watch.received.clear()
    _keyboard(page, "u")                                           # u: undo
    _see(page, "Undone: the pair is back in the queue.")
    page.locator("h3", has_text=f"Pair 1 of {len(queue)}").first.wait_for(timeout=WAIT_S * 1000)
    _quiet(page)
    everything += page.watch.text()
    undone = [d for d in _decisions(uri) if (d["left"], d["right"]) == (last["left"], last["right"])][-1]
    assert undone["undone_by"] == username and undone["undone_at"]
    assert _queue(uri, sites) == queue, "undo did not put the pair back"
    return everything


def test_an_admin_decides_with_the_keyboard_and_undoes(page, server, store_uri):
    uri, _ = store_uri
    _sign_in(page, server.url, "t-admin")
    sent = _decide_and_undo(page, uri, "t-admin", None)
    assert not page.locator('[data-testid="stException"]').count()
    assert "Look for new candidates" in sent                       # an admin may propose


def test_a_coordinator_decides_with_the_keyboard_and_receives_only_their_sites_names(page, server, store_uri):
    uri, _ = store_uri
    _sign_in(page, server.url, "t-coordinator")
    sent = _decide_and_undo(page, uri, "t-coordinator", ("S1",))
    assert not page.locator('[data-testid="stException"]').count()
    leaked = [n for n in NAMES["S2"] - NAMES["S1"] if n in sent]
    assert not leaked, leaked
    assert "Kalimbretu" not in sent             # V10 is at S1, but its candidate R10 is at S2: an admin's pair
    assert not re.search(r"person:(R7|R8|V7|R10)\b", sent), "ids of another site's people reached the browser"
    assert "Look for new candidates" not in sent


def test_a_coordinator_of_another_site_receives_none_of_the_first_sites_names(page, server, store_uri):
    _sign_in(page, server.url, "t-coordinator-s2")
    page.watch.received.clear()
    _open_matching(page)
    sent = page.watch.text()
    assert "Pair 1 of" in sent or "Nothing to review" in sent
    leaked = [n for n in NAMES["S1"] - NAMES["S2"] if n in sent]
    assert not leaked, leaked
    # V10 (a visit record at S1) is a typo of R10 (S2): a pair across sites is for an admin, not either site
    assert "Kalimbretu" not in sent


@pytest.mark.parametrize("username", ["t-evaluator", "t-funder"])
def test_evaluators_and_funders_receive_no_pair(page, server, username):
    _sign_in(page, server.url, username)
    assert "Matching" not in _nav(page)
    # its address opens a new session: the sign-in page, nothing of the pairs
    page.watch.received.clear()
    page.goto(server.url + "/matching")
    page.wait_for_timeout(1500)
    _quiet(page)
    sent = page.watch.text()
    assert not _names_in(sent), _names_in(sent)
    assert "Pair 1 of" not in sent and "Match probability" not in sent
