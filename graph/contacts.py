"""Coordinators' outreach contacts read on their own, without reading the whole store: the outreach list
shows a contact recorded a moment ago without recomputing any network analysis (dashboard/analyses.py)."""
from __future__ import annotations

import json

import pandas as pd

__all__ = ["read_contacts", "COLUMNS"]

COLUMNS = ["id", "family_id", "contacted_on", "note", "recorded_at"]


def read_contacts(store) -> pd.DataFrame:
    """Every recorded contact (columns COLUMNS), from a SQLite or Neo4j store."""
    if getattr(store, "path", None) is not None:
        rows = [json.loads(p) for (p,) in store._run("reading contacts",
                                                      "SELECT props FROM nodes WHERE label = 'Contact'")]
    else:
        def work(tx, _params):
            return [dict(r["c"]) for r in tx.run("MATCH (c:Contact) RETURN c")]
        rows = store._call("reading contacts", "read", work, {})
    return pd.DataFrame(rows, columns=COLUMNS) if rows else pd.DataFrame(columns=COLUMNS)
