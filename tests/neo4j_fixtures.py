"""Fixtures for tests that need a real Neo4j server (never a mock).

Import them from conftest.py (or a test module):

    from neo4j_fixtures import neo4j_server, neo4j_store  # noqa: F401

Which server: NEO4J_TEST_URI / NEO4J_TEST_USER / NEO4J_TEST_PASSWORD / NEO4J_TEST_DATABASE, each falling back
to the NEO4J_* setting and then to the local server of scripts/neo4j (neo4j://localhost:7687, neo4j,
civicties-dev, neo4j).

When the server cannot be reached, the tests that need it SKIP ("start it with scripts/neo4j start"), except
in CI (CI=true), where they FAIL: CI must start the server first.

The tests empty the database before each test. To never wipe somebody's real data, they only touch a database
that is empty or that they marked as theirs (a :CivicTiesTestMarker node) -- or when NEO4J_TEST_WIPE=1.
"""
from __future__ import annotations

import os
import time

import pytest

__all__ = ["neo4j_settings", "in_ci", "neo4j_server", "neo4j_store", "admin_driver", "wipe_database",
           "drop_civicties_schema", "START_HINT"]

START_HINT = "start it with scripts/neo4j start"
_MARKER = "CivicTiesTestMarker"
_unreachable: str | None = None
_checked = False


def in_ci() -> bool:
    return os.environ.get("CI", "").strip().lower() in ("1", "true", "yes")


def neo4j_settings() -> dict:
    """uri, user, password, database of the test server."""
    def get(name: str, default: str) -> str:
        return os.environ.get(f"NEO4J_TEST_{name}") or os.environ.get(f"NEO4J_{name}") or default
    return {"uri": get("URI", "neo4j://localhost:7687"), "user": get("USER", "neo4j"),
            "password": get("PASSWORD", "civicties-dev"), "database": get("DATABASE", "neo4j")}


def admin_driver(settings: dict | None = None, **config):
    """A plain driver to the test server, for checks the store does not offer."""
    import neo4j
    s = settings or neo4j_settings()
    auth = None if s["password"] in ("", "none") else (s["user"], s["password"])
    config.setdefault("connection_timeout", 5)
    config.setdefault("max_transaction_retry_time", 5)
    return neo4j.GraphDatabase.driver(s["uri"], auth=auth, **config)


def _probe(settings: dict) -> str | None:
    """None when the server answers RETURN 1; else why not."""
    try:
        import neo4j  # noqa: F401
    except ImportError as e:
        return f"the neo4j driver is not installed ({e})"
    try:
        with admin_driver(settings, connection_timeout=3, max_transaction_retry_time=0) as driver:
            driver.execute_query("RETURN 1", database_=settings["database"])
        return None
    except Exception as e:  # noqa: BLE001 - any failure means: not usable
        return f"{type(e).__name__}: {e}"


def _unusable(reason: str) -> None:
    s = neo4j_settings()
    message = f"Neo4j is not reachable at {s['uri']} (database {s['database']}): {START_HINT}. [{reason}]"
    if in_ci():
        pytest.fail(message + " In CI the Neo4j tests must run: .ci/run has to start the server first.",
                    pytrace=False)
    pytest.skip(message)


@pytest.fixture(scope="session")
def neo4j_server() -> dict:
    """The test server's settings; skips (fails in CI) when it is not reachable. Checked once per session,
    with a bounded wait (NEO4J_TEST_WAIT seconds, default 0; CI: 60) for a server that is still starting."""
    global _unreachable, _checked
    settings = neo4j_settings()
    if not _checked:
        wait = float(os.environ.get("NEO4J_TEST_WAIT", "60" if in_ci() else "0"))
        deadline = time.monotonic() + wait
        while True:
            _unreachable = _probe(settings)
            if _unreachable is None or time.monotonic() >= deadline:
                break
            time.sleep(2)
        _checked = True
    if _unreachable is not None:
        _unusable(_unreachable)
    return settings


def wipe_database(settings: dict) -> None:
    """Delete every node of the test database, then mark it as the tests' own. Refuses to touch a database
    that holds data the tests did not make (unless NEO4J_TEST_WIPE=1)."""
    with admin_driver(settings) as driver:
        db = settings["database"]
        records, _, _ = driver.execute_query(
            "RETURN COUNT { (:" + _MARKER + ") } AS marked, COUNT { () } AS nodes", database_=db)
        marked, nodes = records[0]["marked"], records[0]["nodes"]
        if nodes and not marked and os.environ.get("NEO4J_TEST_WIPE") != "1":
            message = (f"the Neo4j database {db!r} at {settings['uri']} holds {nodes} nodes the tests did not "
                       f"make; the tests empty their database, so they leave this one alone. Point "
                       f"NEO4J_TEST_URI at a scratch server, or set NEO4J_TEST_WIPE=1 to allow wiping it.")
            if in_ci():
                pytest.fail(message, pytrace=False)
            pytest.skip(message)
        while True:
            records, _, _ = driver.execute_query(
                "MATCH (n) WITH n LIMIT 10000 DETACH DELETE n RETURN count(*) AS deleted", database_=db)
            if not records[0]["deleted"]:
                break
        driver.execute_query("MERGE (:" + _MARKER + " {id: 'pytest'})", database_=db)


def drop_civicties_schema(settings: dict) -> None:
    """Drop the constraints and indexes the store creates (names civicties_*)."""
    with admin_driver(settings) as driver:
        db = settings["database"]
        for kind in ("CONSTRAINTS", "INDEXES"):
            records, _, _ = driver.execute_query(
                f"SHOW {kind} YIELD name WHERE name STARTS WITH 'civicties_' RETURN name", database_=db)
            for rec in records:
                name = rec["name"]
                assert name.replace("_", "").isalnum(), name
                # constraint-backed indexes go with their constraint
                driver.execute_query(f"DROP {kind[:-1] if kind == 'CONSTRAINTS' else 'INDEX'} `{name}` IF EXISTS",
                                     database_=db)


@pytest.fixture
def neo4j_store(neo4j_server):
    """A Neo4jStore on an emptied test database (schema left as it is)."""
    from graph.neo4j_store import Neo4jStore
    wipe_database(neo4j_server)
    store = Neo4jStore(neo4j_server["uri"], neo4j_server["user"], neo4j_server["password"],
                       neo4j_server["database"])
    yield store
    store.close()
