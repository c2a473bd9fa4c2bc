"""Small datasets for tests: hand-made tables, and the demo network loaded through the real store.

Test files import this with ``sys.path`` pointing at ``tests/`` (pytest runs with --import-mode=importlib,
which does not add test folders to the path).
"""
from __future__ import annotations

import functools
import tempfile
from pathlib import Path

import pandas as pd

from graph.dataset import Dataset
from graph.model import TABLES

__all__ = ["tiny_dataset", "demo_dataset"]

CONTACT_COLUMNS = ["id", "family_id", "contacted_on", "note", "recorded_at"]


def tiny_dataset(contacts: list[dict] | None = None, **tables: list[dict]) -> Dataset:
    """A Dataset from lists of row dicts per table (missing tables empty, missing columns None).

    >>> tiny_dataset(people=[{"person_id": "a"}]).people.loc[0, "role"] is None
    True
    """
    unknown = set(tables) - set(TABLES)
    if unknown:
        raise KeyError(f"not tables of the data contract: {sorted(unknown)}")
    frames = {}
    for name, spec in TABLES.items():
        rows = tables.get(name, [])
        extra = sorted({k for r in rows for k in r} - set(spec.columns))
        df = pd.DataFrame(rows, columns=list(spec.columns) + extra, dtype=object)
        frames[name] = df.astype(object).where(df.notna(), None)
    c = pd.DataFrame(contacts or [], columns=CONTACT_COLUMNS, dtype=object)
    return Dataset(tables=frames, contacts=c.astype(object).where(c.notna(), None))


@functools.lru_cache(maxsize=2)
def demo_dataset(parents: int = 300) -> Dataset:
    """The synthetic demo network (ingest.demo), validated and loaded into a temporary SQLite store and
    read back, exactly as the dashboard sees it. Cached: treat the result as read-only."""
    from graph.store import SQLiteStore
    from ingest.demo import write_demo
    from ingest.load import load_package

    folder = Path(tempfile.mkdtemp(prefix="civicties-demo-"))
    write_demo(folder / "package", parents=parents)
    store = SQLiteStore(folder / "demo.sqlite")
    try:
        load_package(folder / "package", store)
        return store.read()
    finally:
        store.close()
