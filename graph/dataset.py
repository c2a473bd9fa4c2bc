"""A package's tables as read back from a store: what `queries/` computes on.

Every table is a pandas DataFrame of text (object dtype, None for missing) with at least the contract's
columns. `ties` holds matched and unmatched ties alike: `to_person_id` is None when the name matched no one.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import pandas as pd

from graph.model import EDGE_TABLES, NODE_TABLES, TABLES, column_name

__all__ = ["Dataset"]

_INTERNAL = {"id"}


def _frame(rows: list[dict], table: str, shared: dict) -> pd.DataFrame:
    columns = list(TABLES[table].columns)
    stored = sorted({k for r in rows for k in r} - set(columns) - _INTERNAL)
    extra = [column_name(k) for k in stored]          # a column stored under another name (graph/model.py)
    # Column by column (far faster than a frame from a million dicts), and each distinct text once
    # (`shared`, across tables): a person's id in ties is then the very object in people, so joins and
    # comparisons on 100,000 people take half the time they take on scattered copies.
    df = pd.DataFrame({c: pd.Series([shared.setdefault(v, v) if type(v) is str else v for v in (r.get(k) for r in rows)],
                                    dtype=object)
                       for c, k in zip(columns + extra, columns + stored)}, columns=columns + extra)
    df = df.where(df.notna(), None)
    if TABLES[table].key and len(df):
        df = df.sort_values(list(TABLES[table].key), na_position="first", kind="stable").reset_index(drop=True)
    return df


@dataclass
class Dataset:
    """The tables of one loaded network, keyed by table name (people, ties, cohorts, ...)."""

    tables: dict[str, pd.DataFrame] = field(default_factory=dict)
    contacts: pd.DataFrame = field(default_factory=lambda: pd.DataFrame(
        columns=["id", "family_id", "contacted_on", "note", "recorded_at"]))

    def __getattr__(self, name: str) -> pd.DataFrame:
        tables = self.__dict__.get("tables", {})
        if name in tables:
            return tables[name]
        raise AttributeError(name)

    @classmethod
    def from_rows(cls, nodes: dict[str, list[dict]], edges: dict[str, list[dict]]) -> "Dataset":
        """Build from node properties by label and relationship properties by type (as the stores read them)."""
        tables = {}
        shared: dict = {}
        for table, (label, _) in NODE_TABLES.items():
            tables[table] = _frame(nodes.get(label, []), table, shared)
        for table, (rel, *_rest) in EDGE_TABLES.items():
            tables[table] = _frame(edges.get(rel, []), table, shared)
        tables["ties"] = _frame(edges.get("REPORTED_TIE", []) + edges.get("NAMED", []), "ties", shared)
        contacts = pd.DataFrame(nodes.get("Contact", []),
                                columns=["id", "family_id", "contacted_on", "note", "recorded_at"])
        return cls(tables={t: tables[t] for t in TABLES}, contacts=contacts)
