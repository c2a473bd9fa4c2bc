"""Per-person network measures written back onto Neo4j's Person nodes, as Neo4j's Graph Data Science
library does in its write mode: people who use Neo4j Browser, Bloom or their own Cypher can query and style
by them (docs/neo4j.md has examples).

Properties (prefixed ``ct_`` so that they never collide with a column a program loads): ``ct_degree``,
``ct_betweenness``, ``ct_constraint``, ``ct_effective_size``, ``ct_community``, ``ct_isolated`` and
``ct_version`` (the data version they were computed from). Measures of people no longer in the network are
removed. Every consenting and non-consenting person is measured on the whole network (this is the store's
own copy of its data, read by whoever holds the database's credentials, as the admin's view is).
"""
from __future__ import annotations

import math

__all__ = ["MEASURES", "write_person_measures", "person_measures"]

MEASURES = ("degree", "betweenness", "constraint", "effective_size", "community", "isolated")


def _plain(v):
    if v is None:
        return None
    if isinstance(v, float) and math.isnan(v):
        return None
    if hasattr(v, "item"):
        v = v.item()
    return v


def person_measures(ds) -> list[dict]:
    """One dict per person of the tie network: id and the measures (None where undefined)."""
    from queries.export import person_metrics
    table = person_metrics(ds)
    rows = []
    for r in table.itertuples(index=False):
        d = r._asdict()
        rows.append({"id": str(d["person_id"]),
                     **{m: _plain(d.get(m)) for m in MEASURES}})
    for row in rows:
        row["isolated"] = bool(row["isolated"]) if row["isolated"] is not None else None
        if row["community"] is not None:
            row["community"] = int(row["community"])
    return rows


def write_person_measures(store, version: str, ds=None) -> int:
    """Write the measures of the store's current data (``ds``: that data, if already read) onto its Person
    nodes in one transaction (graph/measures.py); returns how many people were written."""
    from graph.measures import write_person_measures as write
    return write(store, person_measures(store.read() if ds is None else ds), version)
