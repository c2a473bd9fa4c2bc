"""Shared fixtures: the hand-worked tiny package, temporary stores, a small demo package."""
from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

import pytest

from graph.store import SQLiteStore

TINY = Path(__file__).parent / "data" / "tiny"

# Tests never touch a developer's data folder (the default store, the pseudonym key).
os.environ["CIVICTIES_DATA_DIR"] = tempfile.mkdtemp(prefix="civicties-test-data-")
os.environ.pop("CIVICTIES_STORE", None)
# Pages compute what is not stored yet on first view and store it; the background worker is started by the
# tests that are about it (tests/test_analyses.py), not by every page test.
os.environ.setdefault("CIVICTIES_BACKGROUND_ANALYSES", "0")


@pytest.fixture
def tiny_dir(tmp_path) -> Path:
    """A writable copy of the hand-worked tiny package (tests/data/tiny, worked out in tests/test_metrics_contract.py)."""
    dst = tmp_path / "tiny"
    shutil.copytree(TINY, dst)
    return dst


@pytest.fixture
def sqlite_store(tmp_path):
    store = SQLiteStore(tmp_path / "store.sqlite")
    yield store
    store.close()


@pytest.fixture(scope="session")
def demo_dir(tmp_path_factory) -> Path:
    from ingest.demo import write_demo
    out = tmp_path_factory.mktemp("demo")
    write_demo(out, parents=300, seed=11)
    return out


@pytest.fixture(scope="module")
def app_store_uri(tmp_path_factory):
    """A fresh SQLite store for one dashboard test module; the app loads a small demo into it on first run."""
    uri = f"sqlite:///{tmp_path_factory.mktemp('app') / 'store.sqlite'}"
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("CIVICTIES_STORE", uri)
        mp.setenv("CIVICTIES_DEMO_PARENTS", "150")
        mp.setenv("CIVICTIES_PSEUDONYM_SALT", "test-salt")
        mp.setenv("CIVICTIES_MIN_COUNT", "10")
        yield uri


# -- the browser tests' demo app (tests/e2e_server.py), shared ------------------------------------------------

@pytest.fixture(scope="session")
def e2e_demo(tmp_path_factory):
    """The demo network plus the markup-named parent, with one password account per role, in a SQLite store:
    written and loaded once for the browser tests that read it (test_e2e_browser, test_explorer_webgl) or
    change it only where the others do not look (test_e2e_actions records one contact; test_e2e_browser adds
    and locks an extra account)."""
    import sys
    sys.path.insert(0, str(Path(__file__).parent))
    from e2e_server import demo_store
    with demo_store(tmp_path_factory.mktemp("e2e")) as demo:
        yield demo


@pytest.fixture(scope="session")
def e2e_server(e2e_demo):
    """One Streamlit server on the shared demo store (started once; each test opens its own browser
    context, i.e. its own Streamlit session, so no sign-in or page state passes from test to test)."""
    from e2e_server import DashboardServer
    with DashboardServer(e2e_demo.uri, log=e2e_demo.folder / "streamlit.log") as server:
        yield server
