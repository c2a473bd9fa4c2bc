"""Per-person network measures written onto a Neo4j store's Person nodes (computed by dashboard/writeback.py),
as Neo4j's Graph Data Science library does in its write mode; measures of an older data version are removed."""
from __future__ import annotations

__all__ = ["write_person_measures"]

_WRITE = ("UNWIND $rows AS row MATCH (p:Person {id: row.id}) "
          "SET p.ct_degree = row.degree, p.ct_betweenness = row.betweenness, p.ct_constraint = row.constraint, "
          "p.ct_effective_size = row.effective_size, p.ct_community = row.community, "
          "p.ct_isolated = row.isolated, p.ct_version = $version RETURN count(p) AS n")
_CLEAR_OLD = ("MATCH (p:Person) WHERE p.ct_version IS NOT NULL AND p.ct_version <> $version "
              "REMOVE p.ct_degree, p.ct_betweenness, p.ct_constraint, p.ct_effective_size, p.ct_community, "
              "p.ct_isolated, p.ct_version RETURN count(p) AS n")


def write_person_measures(store, rows: list[dict], version: str, batch: int = 5000) -> int:
    """Set ct_<measure> and ct_version on each row's Person (rows: {id, degree, betweenness, constraint,
    effective_size, community, isolated}) in one transaction; returns how many people were written."""
    def work(tx, rows):
        written = 0
        for i in range(0, len(rows), batch):
            written += tx.run(_WRITE, rows=rows[i:i + batch], version=version).single()["n"]
        tx.run(_CLEAR_OLD, version=version).consume()
        return written

    return store._call("writing per-person measures back", "write", work, rows)
