"""The dashboard's key journeys in a real browser: headless Chromium (Playwright) against the app serving
the demo network, plus a parent named `<img src=x onerror=alert(1)> href`, with one account per role.

Signing in is the way in: an anonymous visitor gets the sign-in page and nothing else; each role signs in
and gets its pages; five wrong passwords lock an account; signing out and an idle session end it. Every
page renders without an error (screenshots in artifacts/screenshots/), the explorer draws its network, the
pipeline draws its Sankey, nothing is fetched from outside the app, no dialog ever opens. A funder's browser
never receives a name, person id, family id, email or phone, and a coordinator of site S1 none of another
site's: checked on every websocket frame of a whole tour (tables travel as Arrow data and are drawn on a
canvas, so the page's HTML alone would not show them) and on every download.

Needs Chromium at /usr/bin/chromium (or CIVICTIES_CHROMIUM): `apt-get install chromium`. Skipped when it
is missing, except under CI (CI=true), where a missing browser fails the run.
"""
from __future__ import annotations

import html as html_lib
import os
import re
import time
from pathlib import Path

import sys

import pytest

sys.path.insert(0, str(Path(__file__).parent))
from e2e_server import (ARGS, CHROMIUM, PASSWORD, ROOT, XSS_NAME, DashboardServer, chromium,  # noqa: E402,F401
                        demo_store, require_browser)
from whole_words import found as found_whole  # noqa: E402

SHOTS = ROOT / "artifacts" / "screenshots"
# (file name, url path, title in the navigation and the page's heading)
PAGES = [("overview", "", "Overview"), ("bridging", "bridging", "Bridging and tie formation"),
         ("explorer", "explorer", "Network explorer"), ("outreach", "outreach", "Outreach"),
         ("pipeline", "pipeline", "Pipeline to seats"), ("data", "data", "Data")]
ADMIN_PAGES = [("accounts", "accounts", "Accounts"), ("audit", "audit", "Audit log")]
PAGE_TIMEOUT_S = 150




require_browser()
from playwright.sync_api import Page  # noqa: E402


# -- fixtures -------------------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def demo(e2e_demo):
    return e2e_demo         # (tests/conftest.py: shared with test_e2e_actions and test_explorer_webgl)


@pytest.fixture(scope="module")
def server(e2e_server):
    return e2e_server


@pytest.fixture(scope="module")
def browser():
    with chromium() as b:
        yield b


class Watch:
    """What a page did that it must not: open a dialog, fetch from another host, raise in its scripts."""

    def __init__(self, page: Page, base: str):
        self.dialogs, self.external, self.received = [], [], []
        self.recording = False
        page.on("dialog", self._dialog)
        page.on("request", lambda r: self.external.append(r.url)
                if not r.url.startswith((base, "data:", "about:", "blob:")) else None)
        page.on("websocket", self._socket)

    def _dialog(self, dialog):
        self.dialogs.append(f"{dialog.type}: {dialog.message}")
        dialog.dismiss()

    def _socket(self, ws):
        def keep(payload):
            if self.recording:
                self.received.append(payload if isinstance(payload, bytes) else payload.encode("utf-8"))
        ws.on("framereceived", keep)

    def check(self):
        assert not self.dialogs, f"a dialog opened (script from the data ran?): {self.dialogs}"
        assert not self.external, f"the page fetched from outside the app: {self.external[:5]}"


@pytest.fixture
def page(browser, server):
    context = browser.new_context(viewport={"width": 1400, "height": 1900})
    p = context.new_page()
    p.watch = Watch(p, server.url)
    yield p
    p.watch.check()
    context.close()


def _wait_ready(page: Page, title: str) -> None:
    """Wait until the page shows its heading and Streamlit has finished running the script."""
    page.locator("h1", has_text=title).first.wait_for(timeout=PAGE_TIMEOUT_S * 1000)
    deadline, quiet_since = time.monotonic() + PAGE_TIMEOUT_S, None
    while time.monotonic() < deadline:
        busy = (page.locator('[data-testid="stStatusWidget"]').count()
                + page.locator('[data-testid="stSpinner"]').count()
                + page.locator('[data-stale="true"]').count())
        if busy:
            quiet_since = None
        elif quiet_since is None:
            quiet_since = time.monotonic()
        elif time.monotonic() - quiet_since > 1.0:
            return
        time.sleep(0.2)
    raise AssertionError(f"page {title!r} still running after {PAGE_TIMEOUT_S} s")


def _no_exception(page: Page, title: str) -> None:
    errors = page.locator('[data-testid="stException"]')
    assert errors.count() == 0, f"{title}: {errors.all_inner_texts()[:1]}"


def _network_frame(page: Page):
    page.locator('iframe[data-testid="stIFrame"]').first.wait_for(timeout=30_000)
    frame = next(f for f in page.frames if f.url == "about:srcdoc")
    frame.wait_for_selector("body[data-drawn]", timeout=30_000)
    return frame


def _sign_in(page: Page, base: str, username: str, password: str = PASSWORD, *, expect: str = "Overview") -> None:
    """Open the app, sign in with a username and password, wait for `expect` (a page heading)."""
    page.goto(base)
    _wait_ready(page, "Civic Ties")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password", exact=True).fill(password)
    page.get_by_role("button", name="Sign in", exact=True).click()
    _wait_ready(page, expect)


def _nav_titles(page: Page) -> list[str]:
    return page.locator('[data-testid="stSidebarNav"] a').all_inner_texts()


def _go(page: Page, title: str) -> None:
    """Follow the sidebar link (same session: a new page load would be a new, signed-out session)."""
    page.locator('[data-testid="stSidebarNav"] a', has_text=title).first.click()
    _wait_ready(page, title)


def _everything_served(page: Page) -> str:
    return "\n".join([page.content()] + [f.content() for f in page.frames if f != page.main_frame])


# -- journeys ---------------------------------------------------------------------------------------------------

def _forbidden(demo, allowed_sites: set[str] | None) -> dict[str, set[str]]:
    """Names, person ids, family ids, emails and phones a reader may not receive: everyone's (funder,
    allowed_sites=None) or other sites' people's (a coordinator of allowed_sites), leaving out any value that
    also belongs to someone they may see (two people may share a name or a phone)."""
    mine = [p for p in demo.people if allowed_sites and p["site_id"] in allowed_sites]
    others = [p for p in demo.people if not (allowed_sites and p["site_id"] in allowed_sites)]
    out = {}
    for col in ("name", "person_id", "family_id", "email", "phone"):
        out[col] = {str(p[col]) for p in others if p[col]} - {str(p[col]) for p in mine if p[col]}
    return out


def _leaks(forbidden: dict[str, set[str]], texts: dict[str, str]) -> list[str]:
    found = []
    for where, text in texts.items():
        tokens = set(re.findall(r"[A-Za-z0-9_@.+-]+", text))
        for col, values in forbidden.items():
            if col == "name":      # a whole name ("Fen Pasu" is not in "Fen Pasuka"), as text or escaped
                forms = {v: {v, html_lib.escape(v), html_lib.escape(v, quote=False)} for v in values}
                shown = set(found_whole({f for fs in forms.values() for f in fs}, text))
                hits = [v for v in values if forms[v] & shown]
            else:
                hits = sorted(values & tokens)
            found += [f"{col} {v!r} in {where}" for v in hits[:3]]
    return found


def _download(page: Page, button_name: str) -> str:
    with page.expect_download(timeout=60_000) as info:
        page.get_by_role("button", name=button_name).click()
    return Path(info.value.path()).read_text(encoding="utf-8", errors="replace")


def _tour(page: Page, pages, *, shots: str | None = None) -> dict[str, str]:
    """Visit pages by the sidebar; what each served (HTML of the page and its frames)."""
    served = {}
    for name, _path, title in pages:
        _go(page, title)
        _no_exception(page, title)
        if name == "explorer":
            _network_frame(page)
        if shots:
            page.screenshot(path=str(SHOTS / f"{name}-{shots}.png"), full_page=True)
        served[name] = _everything_served(page)
    return served


def test_anonymous_visitor_gets_only_the_sign_in_page(page, server, demo):
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.watch.recording = True
    for path in ("", "bridging", "outreach", "accounts"):
        page.goto(f"{server.url}/{path}")
        _wait_ready(page, "Civic Ties")
        assert page.get_by_label("Username").count() == 1
        assert page.locator("h1", has_text="Overview").count() == 0
        assert not _nav_titles(page), "no page links before signing in"
    page.screenshot(path=str(SHOTS / "signin.png"), full_page=True)
    served = {"pages": _everything_served(page), "websocket": b"\n".join(page.watch.received).decode("utf-8", "replace")}
    assert len(served["websocket"]) > 500
    assert not _leaks(_forbidden(demo, None), served)


def test_each_role_signs_in_and_gets_its_pages(browser, server):
    for role in ("admin", "coordinator", "evaluator", "funder"):
        context = browser.new_context(viewport={"width": 1400, "height": 1000})
        p = context.new_page()
        _sign_in(p, server.url, f"t-{role}")
        titles = _nav_titles(p)
        assert [t for _n, _p, t in PAGES] == titles[:len(PAGES)], titles
        assert ("Accounts" in titles and "Audit log" in titles) == (role == "admin"), (role, titles)
        assert f"t-{role}" in p.locator('[data-testid="stSidebar"]').inner_text()
        context.close()


def test_every_page_renders_and_is_screenshotted(page, server):
    SHOTS.mkdir(parents=True, exist_ok=True)
    _sign_in(page, server.url, "t-admin")
    for name, _path, title in PAGES + ADMIN_PAGES:
        _go(page, title)
        _no_exception(page, title)
        if name == "explorer":
            _network_frame(page)
        page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=True)
        assert (SHOTS / f"{name}.png").stat().st_size > 10_000


def test_explorer_draws_the_network_and_shows_markup_names_as_text(page, server):
    _sign_in(page, server.url, "t-admin")
    _go(page, "Network explorer")
    frame = _network_frame(page)
    assert frame.locator("#network canvas").count() >= 1
    drawn = int(frame.locator("body").get_attribute("data-drawn"))
    assert drawn > 100
    page.get_by_text("Showing everyone who passes the filters").wait_for(timeout=5_000)
    # zoom onto the markup-named person and hover: the tooltip shows the name as text, no element is made
    frame.locator("#network").scroll_into_view_if_needed()
    spot = frame.evaluate("""() => {
        const net = window.civictiesNetwork;
        const node = net.body.data.nodes.get().find(n => (n.title || '').startsWith('<img'));
        if (!node) return null;
        net.moveTo({position: net.getPositions([node.id])[node.id], scale: 3, animation: false});
        const at = net.canvasToDOM(net.getPositions([node.id])[node.id]);
        return {x: at.x, y: at.y};
    }""")
    assert spot, "the markup-named parent is in the picture"
    box = frame.locator("#network").bounding_box()
    page.mouse.move(box["x"] + spot["x"] - 30, box["y"] + spot["y"] - 30)
    page.mouse.move(box["x"] + spot["x"], box["y"] + spot["y"], steps=5)
    tooltip = frame.locator("div.vis-tooltip")
    tooltip.wait_for(state="visible", timeout=5_000)
    assert XSS_NAME in tooltip.inner_text()
    assert tooltip.locator("img").count() == 0 and frame.locator("img").count() == 0
    page.screenshot(path=str(SHOTS / "explorer-tooltip.png"))


def test_explorer_keeps_people_in_place_when_the_colouring_changes(page, server):
    _sign_in(page, server.url, "t-admin")
    _go(page, "Network explorer")
    where = "() => window.civictiesNetwork.getPositions()"
    before = _network_frame(page).evaluate(where)
    colour = page.get_by_role("combobox", name="Colour by")
    colour.click()
    page.get_by_role("option", name="income band", exact=True).click()
    _wait_ready(page, "Network explorer")
    frame = _network_frame(page)
    frame.wait_for_function("() => !document.getElementById('legend').textContent.includes('Latino')")
    after = frame.evaluate(where)
    assert before == after and len(after) > 100


def test_explorer_ego_network_of_a_picked_person(page, server):
    _sign_in(page, server.url, "t-admin")
    _go(page, "Network explorer")
    box = page.get_by_role("combobox", name="Focus on a person (their ego network)")
    box.click()
    box.fill(XSS_NAME[:12])
    page.get_by_role("option", name=XSS_NAME, exact=False).first.click()
    _wait_ready(page, "Network explorer")
    page.get_by_text("within 1 step of the selected person").wait_for(timeout=5_000)
    frame = _network_frame(page)
    assert int(frame.locator("body").get_attribute("data-drawn")) == 2   # them and the one parent they named


def test_pipeline_draws_a_sankey(page, server):
    _sign_in(page, server.url, "t-evaluator")
    _go(page, "Pipeline to seats")
    nodes = page.locator(".js-plotly-plot g.sankey .sankey-node")
    nodes.first.wait_for(timeout=30_000)
    assert nodes.count() >= 3


def test_funder_never_receives_a_name_id_or_contact(page, server, demo):
    page.watch.recording = True   # everything the server sends, from the sign-in page on
    page.goto(server.url)
    _wait_ready(page, "Civic Ties")
    page.get_by_role("button", name="Demo funder").click()      # the one-click demo account
    _wait_ready(page, "Overview")
    served = _tour(page, PAGES[1:] + PAGES[:1], shots="funder")
    assert page.get_by_role("button", name="Download the tie network (GraphML)").count() == 0
    assert page.get_by_role("button", name="Prepare the network file (GraphML)").count() == 0
    served["websocket"] = b"\n".join(page.watch.received).decode("utf-8", errors="replace")
    assert len(served["websocket"]) > 1000, "the websocket traffic was recorded"
    leaks = _leaks(_forbidden(demo, None), served)
    assert not leaks, leaks[:10]


def test_coordinator_of_one_site_receives_nobody_of_another(page, server, demo):
    page.watch.recording = True
    _sign_in(page, server.url, "t-coordinator")
    served = _tour(page, PAGES[1:] + PAGES[:1], shots="coordinator-S1")
    # a person's ego network in the explorer
    _go(page, "Network explorer")
    box = page.get_by_role("combobox", name="Focus on a person (their ego network)")
    box.click()
    page.get_by_role("option").nth(1).click()
    _wait_ready(page, "Network explorer")
    _network_frame(page)
    served["explorer-ego"] = _everything_served(page)
    # every download the coordinator can make
    _go(page, "Outreach")
    page.get_by_role("button", name="Prepare the list for download (CSV)").click()
    served["outreach.csv"] = _download(page, "Download this list (CSV)")
    _go(page, "Data")
    page.get_by_role("button", name="Prepare the network file (GraphML)").click()
    served["network.graphml"] = _download(page, "Download the tie network (GraphML)")
    served["websocket"] = b"\n".join(page.watch.received).decode("utf-8", errors="replace")
    leaks = _leaks(_forbidden(demo, {"S1"}), served)
    assert not leaks, leaks[:10]
    # and the check is meaningful: their own site's families are there, with names and phones
    own = [p for p in demo.people if p["site_id"] == "S1" and p["name"] and p["family_id"]]
    assert any(p["name"] in served["outreach.csv"] for p in own)
    assert any(p["person_id"] in served["network.graphml"] for p in own)


def test_evaluator_explorer_shows_pseudonyms_not_names(page, server, demo):
    page.goto(server.url)
    _wait_ready(page, "Civic Ties")
    page.get_by_role("button", name="Demo evaluator").click()
    _wait_ready(page, "Overview")
    _go(page, "Network explorer")
    frame = _network_frame(page)
    content = frame.content()
    titles = frame.evaluate("() => window.civictiesNetwork.body.data.nodes.get().map(n => n.title)")
    assert titles and all(t.startswith("p-") for t in titles), titles[:3]
    for name in demo.names:
        assert name not in content and html_lib.escape(name) not in content


def test_wrong_password_five_times_locks_the_account(page, server, demo):
    from dashboard import accounts
    from graph.store import open_store
    with open_store(demo.uri) as store:
        accounts.add_account(store, "t-lockme", "evaluator", password=PASSWORD, actor="tests")
    page.goto(server.url)
    _wait_ready(page, "Civic Ties")
    for attempt in range(5):
        page.get_by_label("Username").fill("t-lockme")
        page.get_by_label("Password", exact=True).fill(f"wrong password {attempt}")
        page.get_by_role("button", name="Sign in", exact=True).click()
        page.get_by_text("The username or password is not right").wait_for(timeout=30_000)
        _wait_ready(page, "Civic Ties")
    page.get_by_label("Password", exact=True).fill(PASSWORD)
    page.get_by_role("button", name="Sign in", exact=True).click()
    page.get_by_text("Too many failed sign-ins for this account").wait_for(timeout=30_000)
    page.screenshot(path=str(SHOTS / "signin-locked.png"), full_page=True)
    assert page.locator("h1", has_text="Overview").count() == 0
    with open_store(demo.uri) as store:
        log = store.read_audit(actor="t-lockme", limit=20)
    assert [e["action"] for e in log].count("signin_failed") == 5 and log[0]["action"] == "signin_refused"
    assert not any("wrong password" in str(e) for e in log)


def test_sign_out(page, server):
    _sign_in(page, server.url, "t-coordinator")
    page.get_by_role("button", name="Sign out").click()
    _wait_ready(page, "Civic Ties")
    page.get_by_text("You are signed out.").wait_for(timeout=10_000)
    assert not _nav_titles(page)


def test_an_idle_session_expires(browser, demo):
    log = demo.folder / "streamlit-idle.log"
    with DashboardServer(demo.uri, log=log, env={"CIVICTIES_SESSION_IDLE_SECONDS": "6"}) as server:
        context = browser.new_context(viewport={"width": 1400, "height": 1000})
        page = context.new_page()
        _sign_in(page, server.url, "t-evaluator")
        # no clicks: the session's watch sends the browser back to the sign-in page by itself
        page.get_by_text("signed out after a while without activity").wait_for(timeout=40_000)
        assert page.locator("h1", has_text="Civic Ties").count() == 1 and not _nav_titles(page)
        page.screenshot(path=str(SHOTS / "signin-expired.png"), full_page=True)
        context.close()
