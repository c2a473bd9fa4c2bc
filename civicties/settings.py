"""Every setting, declared once: name, default, help. Read from the environment, else Streamlit secrets.

README.md lists them (generated from SETTINGS by `python -m civicties.settings`).
"""
from __future__ import annotations

import os
import sys
from dataclasses import dataclass

__all__ = ["Setting", "SETTINGS", "get", "get_int", "get_float", "pseudonym_secret"]


@dataclass(frozen=True)
class Setting:
    name: str
    default: str | None
    help: str


SETTINGS = {s.name: s for s in [
    Setting("CIVICTIES_STORE", None, "Store URI: sqlite:///path.sqlite or neo4j://host:port. Default: NEO4J_URI "
            "if set, else the SQLite file in CIVICTIES_DATA_DIR."),
    Setting("CIVICTIES_DATA_DIR", "data", "Folder of the default SQLite store (data/civicties.sqlite)."),
    Setting("NEO4J_URI", None, "Neo4j server URI, e.g. neo4j://localhost:7687 (scripts/neo4j start prints it)."),
    Setting("NEO4J_USER", "neo4j", "Neo4j user name."),
    Setting("NEO4J_PASSWORD", "civicties-dev", "Neo4j password (the project's dev server uses this default)."),
    Setting("NEO4J_DATABASE", "neo4j", "Neo4j database name."),
    Setting("CIVICTIES_MIN_COUNT", "10", "Funder views show any count from 1 to this minus one as '<N'."),
    Setting("CIVICTIES_EXPLORER_MAX_NODES", "30000", "Most nodes the network explorer sends to the browser "
            "(above 1,500 it draws them with WebGL)."),
    Setting("CIVICTIES_OUTREACH_DAYS", "180", "Outreach flags families with no attendance or visit in this many days."),
    Setting("CIVICTIES_FOLLOW_UP_DAYS", "30", "Outreach: a family contacted this many days ago or less waits at the "
            "bottom of the call list; after that its follow-up is due and it returns to its tier."),
    Setting("CIVICTIES_IGRAPH_THRESHOLD", "2000", "Networks with at least this many people use python-igraph for "
            "betweenness, closeness, constraint, k-core and community detection."),
    Setting("CIVICTIES_SAMPLE_THRESHOLD", "50000", "Networks with at least this many people get betweenness "
            "estimated from sampled source people (pivots) instead of computed exactly."),
    Setting("CIVICTIES_SAMPLE_PIVOTS", "500", "Number of pivots for sampled betweenness."),
    Setting("CIVICTIES_DEMO_PARENTS", "600", "Parents in the demo network loaded on the dashboard's first run."),
    Setting("CIVICTIES_SESSION_IDLE_SECONDS", "1800", "A dashboard session with no activity for this long is signed "
            "out."),
    Setting("CIVICTIES_SESSION_MAX_SECONDS", "43200", "A dashboard session is signed out this long after sign-in, "
            "active or not."),
    Setting("CIVICTIES_SIGNIN_MAX_FAILURES", "5", "Failed sign-ins to one account (within the lockout window) "
            "before it is locked for a while."),
    Setting("CIVICTIES_SIGNIN_SOURCE_MAX_FAILURES", "20", "Failed sign-ins from one network address (any "
            "account, within the lockout window) before that address is locked for a while."),
    Setting("CIVICTIES_SIGNIN_LOCKOUT_SECONDS", "900", "The lockout window: failures older than this no longer "
            "count, and a lockout ends once fewer than the maximum remain within it."),
    Setting("CIVICTIES_MIN_PASSWORD_LENGTH", "12", "Shortest password an account may have."),
    Setting("CIVICTIES_CONSENT_DEFAULT", "yes", "Consent assumed for people whose consent cell is empty (yes or no). "
            "People without consent are left out of every evaluator and funder analysis and export."),
    Setting("CIVICTIES_K_ANONYMITY", "5", "Evaluators' per-person exports are k-anonymous for this k on the "
            "quasi-identifiers (race/ethnicity, income band, language, site, neighborhood, cohort, role)."),
    Setting("CIVICTIES_MAX_FILE_MB", "200", "Largest CSV file, workbook or uploaded file a package may hold (MB); "
            "a larger one is refused before it is read."),
    Setting("CIVICTIES_MAX_XLSX_PART_MB", "256", "Largest part of an .xlsx workbook (a sheet, its shared strings) "
            "once uncompressed (MB), checked before the workbook is opened."),
    Setting("CIVICTIES_MAX_XLSX_RATIO", "100", "Most a part of an .xlsx workbook larger than 50 MB uncompressed may "
            "expand (uncompressed size / compressed size): more is a zip bomb."),
    Setting("CIVICTIES_MAX_ROWS", "2000000", "Most rows one table of a package may have (also the used range an "
            "Excel sheet may declare)."),
    Setting("CIVICTIES_MAX_COLUMNS", "200", "Most columns one table of a package may have (also the used range an "
            "Excel sheet may declare)."),
    Setting("CIVICTIES_MAX_CELL_CHARS", "10000", "Most characters one cell of a package may hold."),
    Setting("CIVICTIES_MAX_PROBLEMS_PER_KIND", "50", "Validation lists this many problems of each kind (same file, "
            "column and problem) and counts the rest."),
    Setting("CIVICTIES_BACKGROUND_ANALYSES", "1", "1: after every change to the program's data the app computes "
            "the pages' analyses in a background thread and stores them (dashboard/analyses.py); 0: pages compute "
            "what they need on first view (and `civicties analyse` stores them)."),
    Setting("CIVICTIES_MATCH_AUTO", "0.99", "Matching people across sources: a candidate pair whose match probability "
            "is at least this is accepted automatically (unless another candidate scores close; docs/matching.md)."),
    Setting("CIVICTIES_MATCH_REVIEW", "0.2", "Matching people across sources: a candidate pair from this probability "
            "up to CIVICTIES_MATCH_AUTO goes to the review queue; below it the records stay unmatched."),
    Setting("CIVICTIES_PSEUDONYM_SALT", None, "Secret behind evaluators' pseudonymous ids. Default: a random "
            "secret kept in CIVICTIES_DATA_DIR/pseudonym.key (made on first use, never committed)."),
]}


def get(name: str) -> str | None:
    """A setting's value: the environment, else Streamlit secrets (when running in Streamlit), else its default."""
    if name not in SETTINGS:
        raise KeyError(f"unknown setting {name}")
    if name in os.environ:
        return os.environ[name]
    if "streamlit" in sys.modules:  # inside the app (the CLI never imports Streamlit just to look)
        try:
            st = sys.modules["streamlit"]
            if name in st.secrets:
                return str(st.secrets[name])
        except Exception:  # no secrets.toml: Streamlit raises rather than answering "not there"
            pass
    return SETTINGS[name].default


def pseudonym_secret() -> str:
    """The pseudonym secret: the setting, else one made once and kept beside the default store (mode 0600)."""
    value = get("CIVICTIES_PSEUDONYM_SALT")
    if value:
        return value
    import secrets
    from pathlib import Path
    path = Path(get("CIVICTIES_DATA_DIR") or "data") / "pseudonym.key"
    try:
        return path.read_text(encoding="utf-8").strip()
    except FileNotFoundError:
        path.parent.mkdir(parents=True, exist_ok=True)
        value = secrets.token_hex(32)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(value)
        return value


def get_int(name: str) -> int:
    value = get(name)
    try:
        return int(value)
    except (TypeError, ValueError) as e:
        raise ValueError(f"setting {name} must be a whole number, got {value!r}") from e


def get_float(name: str) -> float:
    value = get(name)
    try:
        number = float(value)
    except (TypeError, ValueError) as e:
        raise ValueError(f"setting {name} must be a number, got {value!r}") from e
    if not number > 0:
        raise ValueError(f"setting {name} must be above 0, got {value!r}")
    return number


if __name__ == "__main__":
    for s in SETTINGS.values():
        print(f"| `{s.name}` | {s.default if s.default is not None else ''} | {s.help} |")
