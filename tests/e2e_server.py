"""Run the dashboard for browser tests and benchmarks: the demo network (plus a person whose name is
markup) in a temporary SQLite store with one password account per role (t-admin, t-coordinator of site S1,
t-evaluator, t-funder; password PASSWORD) beside the one-click demo accounts, streamlit on a free local port,
stopped cleanly afterwards.

    with demo_store(tmp) as demo, DashboardServer(demo.uri) as server:
        page.goto(server.url + "/explorer")

Run by hand: `python tests/e2e_server.py` prints the URL and serves until Ctrl-C.
"""
from __future__ import annotations

import csv
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
XSS_NAME = "<img src=x onerror=alert(1)> href"
XSS_ID = "P990001"

PASSWORD = "correct horse battery staple"
ROLE_SITES = {"admin": ["*"], "coordinator": ["S1"], "evaluator": ["*"], "funder": ["*"]}

__all__ = ["ROOT", "XSS_NAME", "XSS_ID", "PASSWORD", "ROLE_SITES", "Demo", "demo_store", "DashboardServer",
           "free_port", "Received", "wait_quiet"]


@dataclass
class Demo:
    """The loaded demo: the store's URI and every person's id and name (to check what a page gives away)."""

    uri: str
    folder: Path
    person_ids: list[str]
    names: list[str]
    people: list[dict]          # person_id, name, family_id, email, phone, site_id of everyone


def _add_markup_person(folder: Path) -> None:
    """A parent named like an XSS probe, tied both ways to two demo parents so the explorer draws them."""
    from graph.model import TABLES
    with open(folder / "people.csv", encoding="utf-8") as f:
        first = next(csv.DictReader(f))
    with open(folder / "people.csv", "a", newline="", encoding="utf-8") as f:
        csv.DictWriter(f, fieldnames=list(TABLES["people"].columns)).writerow(
            {"person_id": XSS_ID, "name": XSS_NAME, "role": "parent", "family_id": "F990001",
             "race_ethnicity": first["race_ethnicity"], "income_band": first["income_band"],
             "primary_language": first["primary_language"], "site_id": first["site_id"],
             "neighborhood": first["neighborhood"], "email": "", "phone": ""})
    with open(folder / "ties.csv", "a", newline="", encoding="utf-8") as f:
        w = csv.DictWriter(f, fieldnames=list(TABLES["ties"].columns))
        w.writerow({"from_person_id": XSS_ID, "to_person_id": first["person_id"], "to_name": "",
                    "tie_type": "friend", "wave": "pre", "observed_on": "2019-01-20"})
        w.writerow({"from_person_id": first["person_id"], "to_person_id": XSS_ID, "to_name": "",
                    "tie_type": "friend", "wave": "pre", "observed_on": "2019-01-21"})


#: Debian's Chromium, driven by Playwright (a test tool's own browser download fails here).
CHROMIUM = os.environ.get("CIVICTIES_CHROMIUM", "/usr/bin/chromium")
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync"]


def require_browser() -> None:
    """Skip the calling test module when Playwright or Chromium is missing; in CI (CI=true), fail instead."""
    import pytest
    problem = None
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        problem = "the playwright package is not installed (pip install -e '.[test]')"
    if problem is None and not Path(CHROMIUM).exists():
        problem = f"Chromium is not at {CHROMIUM}: install it with `apt-get install chromium` (or set CIVICTIES_CHROMIUM)"
    if problem:
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(f"browser tests must run in CI, but {problem}", pytrace=False)
        pytest.skip(f"browser tests skipped: {problem}", allow_module_level=True)


@contextmanager
def chromium():
    """A headless Chromium launched through Playwright, closed afterwards."""
    from playwright.sync_api import sync_playwright
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        try:
            yield browser
        finally:
            browser.close()


@contextmanager
def demo_store(folder: str | Path, *, parents: int | None = None):
    """Write the demo package (CIVICTIES_DEMO_PARENTS parents unless given) plus the markup-named parent into
    `folder`, load it into `folder`/store.sqlite; yield a Demo."""
    from civicties import settings
    from graph.store import SQLiteStore
    from ingest.demo import write_demo
    from ingest.load import load_package
    folder = Path(folder)
    package = folder / "package"
    write_demo(package, parents=parents or settings.get_int("CIVICTIES_DEMO_PARENTS"))
    _add_markup_person(package)
    from dashboard import accounts
    store = SQLiteStore(folder / "store.sqlite")
    try:
        load_package(package, store, demo=True)        # generated data: demo sign-in stays on
        accounts.sync_demo_accounts(store)
        for role, sites in ROLE_SITES.items():
            accounts.add_account(store, f"t-{role}", role, sites=sites, password=PASSWORD, actor="tests")
        ds = store.read()
        cols = ["person_id", "name", "family_id", "email", "phone", "site_id"]
        yield Demo(uri=store.uri, folder=folder, person_ids=[str(p) for p in ds.people["person_id"]],
                   names=[str(n) for n in ds.people["name"] if n],
                   people=ds.people[cols].to_dict("records"))
    finally:
        store.close()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class DashboardServer:
    """`streamlit run streamlit_app.py` against one store, on a free port; a context manager.

    Started in its own process group so stop() ends streamlit and anything it started, and only those.
    """

    def __init__(self, store_uri: str, *, port: int | None = None, env: dict | None = None, log: Path | None = None):
        self.store_uri = store_uri
        self.port = port or free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.env = env or {}
        self.log = log
        self.proc: subprocess.Popen | None = None

    def start(self, timeout: float = 60.0) -> "DashboardServer":
        env = {**os.environ, "CIVICTIES_STORE": self.store_uri, "PYTHONUNBUFFERED": "1", **self.env}
        cmd = [sys.executable, "-m", "streamlit", "run", str(ROOT / "streamlit_app.py"),
               "--server.headless", "true", "--server.address", "127.0.0.1", "--server.port", str(self.port),
               "--browser.gatherUsageStats", "false", "--server.fileWatcherType", "none",
               "--server.runOnSave", "false", "--global.developmentMode", "false"]
        out = open(self.log, "wb") if self.log else subprocess.DEVNULL
        self.proc = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT,
                                     start_new_session=True)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"streamlit exited with code {self.proc.returncode} before it was healthy"
                                   + (f"; see {self.log}" if self.log else ""))
            try:
                with urllib.request.urlopen(self.url + "/_stcore/health", timeout=2) as r:
                    if r.status == 200 and r.read().strip() == b"ok":
                        return self
            except OSError:
                pass
            time.sleep(0.3)
        self.stop()
        raise RuntimeError(f"streamlit was not healthy at {self.url}/_stcore/health within {timeout:.0f} s")

    def stop(self) -> None:
        if self.proc is None or self.proc.poll() is not None:
            return
        pgid = os.getpgid(self.proc.pid)
        os.killpg(pgid, signal.SIGTERM)
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            os.killpg(pgid, signal.SIGKILL)
            self.proc.wait(timeout=10)

    def __enter__(self) -> "DashboardServer":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()


if __name__ == "__main__":
    sys.path.insert(0, str(ROOT))
    with tempfile.TemporaryDirectory() as tmp, demo_store(tmp) as demo, DashboardServer(demo.uri) as server:
        print(f"Dashboard on {server.url} (store {demo.uri}); Ctrl-C stops it.", flush=True)
        try:
            server.proc.wait()
        except KeyboardInterrupt:
            pass


class Received:
    """What reached a browser page: dialogs it opened (a script from the data ran?), dismissed, and every
    frame the server sent over the websocket (what the page received, shown or not)."""

    def __init__(self, page):
        self.dialogs, self.received = [], []
        page.on("dialog", lambda d: (self.dialogs.append(d.message), d.dismiss()))
        page.on("websocket", lambda ws: ws.on("framereceived", lambda payload: self.received.append(
            payload if isinstance(payload, bytes) else payload.encode("utf-8"))))

    def text(self) -> str:
        return b"\n".join(self.received).decode("utf-8", errors="replace")


def wait_quiet(page, timeout_s: float, what: str = "the app") -> None:
    """Wait until Streamlit has shown nothing running (status widget, spinner, stale elements) for a second."""
    deadline, since = time.monotonic() + timeout_s, None
    while time.monotonic() < deadline:
        busy = (page.locator('[data-testid="stStatusWidget"]').count()
                + page.locator('[data-testid="stSpinner"]').count() + page.locator('[data-stale="true"]').count())
        if busy:
            since = None
        elif since is None:
            since = time.monotonic()
        elif time.monotonic() - since > 1.0:
            return
        time.sleep(0.2)
    raise AssertionError(f"{what} still running after {timeout_s} s")
