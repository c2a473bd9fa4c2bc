"""How fast a package loads into Neo4j: batched UNWIND against one statement per row, and batch sizes.

    python bench/bench_neo4j_load.py                              # 10,000 and 100,000 parents
    python bench/bench_neo4j_load.py --parents 10000 --batch-sizes 5000 --per-row-sample 500
    python bench/bench_neo4j_load.py --uri neo4j://localhost:7689 --json artifacts/neo4j-load.json

The server: --uri, else NEO4J_BENCH_URI, else NEO4J_URI, else neo4j://localhost:7687 (credentials from
NEO4J_USER / NEO4J_PASSWORD / NEO4J_DATABASE). The bench EMPTIES that database (the model's labels only) again
and again, so it runs only on a database that is empty or that it marked as its own (a :CivicTiesBenchMarker
node), unless --wipe. Best on a scratch server of its own:

    NEO4J_DIR=/tmp/neo4j-bench NEO4J_PORT=7689 NEO4J_HEAP=8g scripts/neo4j start
    python bench/bench_neo4j_load.py --uri neo4j://localhost:7689

For each size (a synthetic demo package of --parents parents, ingest/demo.py):

1. prep: generate the package, validate it, map it onto the graph model (what `civicties ingest` does before
   it writes; not part of the store's rates).
2. For each --batch-sizes B (Neo4jStore(batch_size=B), the store's own write path, one transaction each):
   * people: the Person nodes alone, into an empty database;
   * ties:   the ties table (REPORTED_TIE and NAMED relationships, UnmatchedName nodes) onto those people;
   * total:  the whole package (every node and relationship), into an empty database: what one
             `civicties ingest` writes.
   The uniqueness constraints and relationship indexes are made (and checked) before the first load.
3. reload: the whole package again onto itself at the store's default batch size (an idempotent upsert:
   nothing changes; checked).
4. per-row: one statement per row (the store's own Cypher with a one-row list, each statement's answer read
   before the next is sent, all in one transaction, which favours per-row) on --per-row-sample people and as
   many ties; and one transaction per row on a quarter of that sample. Rates are compared with the batched
   loads above (the "x" columns).

Prints markdown tables; --json writes every figure. Whether the neo4j-rust-ext driver extension is installed
is reported: run the bench once without and once with it to compare.
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from graph.model import NODE_LABELS, REL_TYPES, GraphRecords, to_graph_records  # noqa: E402
from graph.neo4j_store import (BATCH_SIZE, KEY_PROPERTY, MERGE_PEOPLE,  # noqa: E402
                               MERGE_PEOPLE_WITHOUT_ROLE, MERGE_RELS, Neo4jStore)
from ingest.demo import write_demo  # noqa: E402
from ingest.load import check_package  # noqa: E402

MARKER = "CivicTiesBenchMarker"
TIE_TYPES = ("REPORTED_TIE", "NAMED")


# --- environment ------------------------------------------------------------------------------------------

def rust_ext() -> str | None:
    from importlib.metadata import PackageNotFoundError, version
    try:
        version_ = version("neo4j-rust-ext")
    except PackageNotFoundError:
        return None
    try:
        import neo4j._rust  # noqa: F401
    except ImportError:
        return f"{version_} (installed, not loadable)"
    return version_


def machine() -> dict:
    mem = None
    try:
        with open("/proc/meminfo") as f:
            mem = round(int(f.readline().split()[1]) / 2**20, 1)
    except OSError:
        pass
    import neo4j
    return {"nproc": os.cpu_count(), "ram_gib": mem, "python": platform.python_version(),
            "neo4j_driver": neo4j.__version__, "neo4j_rust_ext": rust_ext(),
            "load_average": os.getloadavg() if hasattr(os, "getloadavg") else None}


def server_info(driver, db: str) -> dict:
    rec = driver.execute_query("CALL dbms.components() YIELD name, versions, edition "
                               "RETURN name, versions[0] AS version, edition", database_=db).records[0]
    out = {"server": f"{rec['name']} {rec['version']} {rec['edition']}"}
    try:
        rows = driver.execute_query("SHOW SETTINGS YIELD name, value WHERE name IN "
                                    "['server.memory.heap.max_size', 'server.memory.pagecache.size', "
                                    "'dbms.memory.transaction.total.max'] RETURN name, value",
                                    database_=db).records
        out.update({r["name"]: r["value"] for r in rows})
        heap = driver.execute_query("CALL dbms.queryJmx('java.lang:type=Memory') YIELD attributes "
                                    "RETURN attributes.HeapMemoryUsage.value.properties.max AS max",
                                    database_=db).records[0]["max"]
        out["jvm_max_heap"] = f"{heap / 2**30:.1f}GiB"
    except Exception:  # noqa: BLE001 - settings are informative only
        pass
    return out


# --- the database -----------------------------------------------------------------------------------------

def claim_database(driver, db: str, wipe: bool) -> None:
    """Refuse a database holding data the bench did not make (unless --wipe); mark it as the bench's."""
    labels = "|".join(NODE_LABELS)
    rec = driver.execute_query(f"RETURN COUNT {{ (:{MARKER}) }} AS marked, COUNT {{ (:{labels}) }} AS ours",
                               database_=db).records[0]
    if rec["ours"] and not rec["marked"] and not wipe:
        sys.exit(f"the database {db!r} holds {rec['ours']} Civic Ties nodes the bench did not make; the bench "
                 f"empties its database again and again. Use a scratch server (see --help) or pass --wipe.")
    driver.execute_query(f"MERGE (:{MARKER} {{id: 'bench'}})", database_=db)


def check_schema(driver, db: str) -> None:
    """The uniqueness constraints and relationship indexes exist and are online (before any load)."""
    constraints = driver.execute_query(
        "SHOW CONSTRAINTS YIELD name, type WHERE name STARTS WITH 'civicties_' AND type = 'UNIQUENESS' "
        "RETURN count(*) AS n", database_=db).records[0]["n"]
    indexes = driver.execute_query(
        "SHOW INDEXES YIELD name, entityType, state WHERE name STARTS WITH 'civicties_' "
        "AND entityType = 'RELATIONSHIP' AND state = 'ONLINE' RETURN count(*) AS n", database_=db).records[0]["n"]
    assert constraints == len(NODE_LABELS) and indexes == len(REL_TYPES), (constraints, indexes)


def expected_counts(records: GraphRecords) -> dict[str, int]:
    out: dict[str, int] = {}
    for label, rows in records.nodes.items():
        if rows:
            out[label] = out.get(label, 0) + len({str(r["id"]) for r in rows})
    for e in records.edges:
        out[e.rel_type] = out.get(e.rel_type, 0) + 1
    return out


# --- timing -----------------------------------------------------------------------------------------------

def timed_write(store: Neo4jStore, records: GraphRecords) -> float:
    t0 = time.perf_counter()
    store.write(records)
    return time.perf_counter() - t0


def timed_reset(store: Neo4jStore) -> float:
    t0 = time.perf_counter()
    store.reset()
    return time.perf_counter() - t0


def rate(rows: int, seconds: float) -> float:
    return rows / seconds if seconds > 0 else float("nan")


def people_part(records: GraphRecords) -> GraphRecords:
    return GraphRecords(nodes={"Person": records.nodes["Person"]})


def ties_part(records: GraphRecords) -> GraphRecords:
    return GraphRecords(nodes={"UnmatchedName": records.nodes.get("UnmatchedName", [])},
                        edges=[e for e in records.edges if e.rel_type in TIE_TYPES])


def _rel_row(e) -> dict:
    """A relationship as the store sends it (graph/neo4j_store.py Neo4jStore.write)."""
    return {"src": str(e.src_id), "dst": str(e.dst_id), "key": e.key, "props": {**e.props, KEY_PROPERTY: e.key}}


def _person_statement(row: dict) -> str:
    role = row.get("role")
    return MERGE_PEOPLE[role] if role in MERGE_PEOPLE else MERGE_PEOPLE_WITHOUT_ROLE


def per_row(driver, db: str, store: Neo4jStore, records: GraphRecords, sample: int) -> dict:
    """One statement per row: `sample` people, then `sample` ties (REPORTED_TIE) onto their people; one
    transaction for all (each answer read before the next statement), and one transaction per row on a quarter
    of the sample. Also the same samples batched, on the same starting state."""
    people = [dict(r, id=str(r["id"])) for r in records.nodes["Person"][:sample]]
    ties = [e for e in records.edges if e.rel_type == "REPORTED_TIE"][:sample]
    tie_people_ids = {str(e.src_id) for e in ties} | {str(e.dst_id) for e in ties}
    tie_people = [r for r in records.nodes["Person"] if str(r["id"]) in tie_people_ids]
    quarter = max(1, sample // 4)
    out = {}

    def people_in_one_tx(tx, rows):
        for row in rows:
            tx.run(_person_statement(row), rows=[row]).consume()

    def ties_in_one_tx(tx, rows):
        for e in rows:
            tx.run(MERGE_RELS[(e.rel_type, e.src_label, e.dst_label)], rows=[_rel_row(e)]).consume()

    with driver.session(database=db) as session:
        # people
        timed_reset(store)
        t0 = time.perf_counter()
        session.execute_write(people_in_one_tx, people)
        out["people_per_row_one_tx"] = rate(len(people), time.perf_counter() - t0)
        timed_reset(store)
        t0 = time.perf_counter()
        for row in people[:quarter]:
            session.execute_write(people_in_one_tx, [row])
        out["people_per_row_tx_each"] = rate(quarter, time.perf_counter() - t0)
        timed_reset(store)
        out["people_batched_same_sample"] = rate(len(people), timed_write(store, GraphRecords({"Person": people})))
        # ties, onto their people (no REPORTED_TIE in the store before each run)
        timed_reset(store)
        store.write(GraphRecords({"Person": tie_people}))

        def drop_ties():
            driver.execute_query("MATCH ()-[r:REPORTED_TIE]->() DELETE r", database_=db)
        t0 = time.perf_counter()
        session.execute_write(ties_in_one_tx, ties)
        out["ties_per_row_one_tx"] = rate(len(ties), time.perf_counter() - t0)
        drop_ties()
        t0 = time.perf_counter()
        for e in ties[:quarter]:
            session.execute_write(ties_in_one_tx, [e])
        out["ties_per_row_tx_each"] = rate(quarter, time.perf_counter() - t0)
        drop_ties()
        out["ties_batched_same_sample"] = rate(len(ties), timed_write(store, GraphRecords(edges=ties)))
    out["sample"] = {"people": len(people), "ties": len(ties), "tx_each": quarter}
    timed_reset(store)
    return out


def bench_size(parents: int, args, driver, db: str, store: Neo4jStore) -> dict:
    work = Path(args.workdir)
    folder = work / f"demo-{parents}-seed{args.seed}"
    t0 = time.perf_counter()
    if not (folder / "people.csv").exists():
        write_demo(folder, parents=parents, seed=args.seed)
    generated = time.perf_counter() - t0
    t0 = time.perf_counter()
    pkg = check_package(folder)
    assert pkg.ok, pkg.problems[:5]
    records = to_graph_records(pkg.tables)
    prep = time.perf_counter() - t0
    expected = expected_counts(records)
    people, ties = people_part(records), ties_part(records)
    n_people = len(people.nodes["Person"])
    n_ties = len(ties.edges)
    n_total = records.count()
    result = {"parents": parents, "rows": {"people": n_people, "ties": n_ties, "total": n_total,
                                           "nodes": sum(len(v) for v in records.nodes.values()),
                                           "relationships": len(records.edges),
                                           "package_rows": sum(pkg.row_counts().values())},
              "generate_s": round(generated, 2), "validate_and_map_s": round(prep, 2), "batched": [], "resets_s": []}
    print(f"\n{parents:,} parents: {n_people:,} people, {n_ties:,} ties, {n_total:,} rows in all "
          f"(validate + map {prep:.1f} s)", flush=True)
    for batch in args.batch_sizes:
        store.batch_size = batch
        result["resets_s"].append(round(timed_reset(store), 2))
        t_people = timed_write(store, people)
        t_ties = timed_write(store, ties)
        result["resets_s"].append(round(timed_reset(store), 2))
        t_total = timed_write(store, records)
        counts = store.counts()
        assert counts == expected, f"counts after the load differ: {counts} != {expected}"
        row = {"batch_size": batch, "people_s": t_people, "ties_s": t_ties, "total_s": t_total,
               "people_rows_per_s": rate(n_people, t_people), "ties_rows_per_s": rate(n_ties, t_ties),
               "total_rows_per_s": rate(n_total, t_total)}
        result["batched"].append(row)
        print(f"  batch {batch:>6}: people {row['people_rows_per_s']:>8,.0f}/s  ties {row['ties_rows_per_s']:>8,.0f}/s"
              f"  total {row['total_rows_per_s']:>8,.0f}/s ({t_total:.1f} s)", flush=True)
        if batch == args.batch_sizes[-1] and not args.no_reload:
            store.batch_size = BATCH_SIZE
            before = store.counts()
            t_reload = timed_write(store, records)
            assert store.counts() == before, "reloading changed the counts"
            result["reload"] = {"batch_size": BATCH_SIZE, "seconds": t_reload, "rows_per_s": rate(n_total, t_reload)}
            print(f"  reload (batch {BATCH_SIZE}): {rate(n_total, t_reload):,.0f} rows/s ({t_reload:.1f} s)", flush=True)
    store.batch_size = BATCH_SIZE
    if args.per_row_sample:
        result["per_row"] = per_row(driver, db, store, records, args.per_row_sample)
        pr = result["per_row"]
        print(f"  per row (one tx): people {pr['people_per_row_one_tx']:,.0f}/s, ties {pr['ties_per_row_one_tx']:,.0f}/s;"
              f" a tx per row: people {pr['people_per_row_tx_each']:,.0f}/s, ties {pr['ties_per_row_tx_each']:,.0f}/s",
              flush=True)
    result["resets_s"].append(round(timed_reset(store), 2))
    return result


# --- report -----------------------------------------------------------------------------------------------

def _table(header: list[str], rows: list[list]) -> str:
    widths = [max(len(str(x)) for x in [h] + [r[i] for r in rows]) for i, h in enumerate(header)]
    lines = ["| " + " | ".join(str(h).ljust(w) for h, w in zip(header, widths)) + " |",
             "|" + "|".join("-" * (w + 2) for w in widths) + "|"]
    lines += ["| " + " | ".join(str(x).ljust(w) for x, w in zip(r, widths)) + " |" for r in rows]
    return "\n".join(lines)


def report(results: list[dict], env: dict) -> str:
    def n(x):
        return f"{x:,.0f}"
    out = [f"Machine: {env['nproc']} CPUs, {env['ram_gib']} GiB RAM; Python {env['python']}, driver neo4j "
           f"{env['neo4j_driver']}, neo4j-rust-ext: {env['neo4j_rust_ext'] or 'not installed'}; "
           f"{env.get('server', '')} (JVM heap {env.get('jvm_max_heap', '?')}, page cache "
           f"{env.get('server.memory.pagecache.size', '?')}, tx memory max "
           f"{env.get('dbms.memory.transaction.total.max', '?')})", ""]
    rows = []
    for r in results:
        for b in r["batched"]:
            rows.append([f"{r['parents']:,}", f"{r['rows']['people']:,} / {r['rows']['ties']:,} / {r['rows']['total']:,}",
                         b["batch_size"], n(b["people_rows_per_s"]), n(b["ties_rows_per_s"]), n(b["total_rows_per_s"]),
                         f"{b['total_s']:.1f}"])
    out.append("Batched UNWIND (one transaction per load; rows per second):\n")
    out.append(_table(["parents", "rows: people / ties / total", "batch", "people/s", "ties/s", "total/s",
                       "total s"], rows))
    rows = []
    for r in results:
        if "reload" in r:
            rows.append([f"{r['parents']:,}", r["reload"]["batch_size"], n(r["reload"]["rows_per_s"]),
                         f"{r['reload']['seconds']:.1f}"])
    if rows:
        out.append("\nReloading the same package onto itself (idempotent upsert, nothing changes):\n")
        out.append(_table(["parents", "batch", "total/s", "s"], rows))
    rows = []
    for r in results:
        pr = r.get("per_row")
        if not pr:
            continue
        best = {k: max(b[f"{k}_rows_per_s"] for b in r["batched"]) for k in ("people", "ties")}
        default = {k: next((b[f"{k}_rows_per_s"] for b in r["batched"] if b["batch_size"] == BATCH_SIZE),
                           best[k]) for k in ("people", "ties")}
        for k in ("people", "ties"):
            one = pr[f"{k}_per_row_one_tx"]
            rows.append([f"{r['parents']:,}", k, f"{pr['sample'][k]:,}", n(one), n(pr[f"{k}_per_row_tx_each"]),
                         n(pr[f"{k}_batched_same_sample"]), f"{pr[f'{k}_batched_same_sample'] / one:.0f}x",
                         n(default[k]), f"{default[k] / one:.0f}x"])
    if rows:
        out.append(f"\nOne statement per row vs batched (same run; the batched figure is the full load at batch "
                   f"{BATCH_SIZE}; 'tx each': one transaction per row, on a quarter of the sample):\n")
        out.append(_table(["parents", "rows", "sample", "per-row/s", "tx each/s", "batched sample/s", "x",
                           "batched full/s", "x"], rows))
    return "\n".join(out)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--parents", type=int, nargs="+", default=[10_000, 100_000])
    p.add_argument("--batch-sizes", type=int, nargs="+", default=[1000, 5000, 20000])
    p.add_argument("--per-row-sample", type=int, default=2000, help="rows per kind for per-row (0: skip)")
    p.add_argument("--seed", type=int, default=7)
    p.add_argument("--uri", default=os.environ.get("NEO4J_BENCH_URI") or os.environ.get("NEO4J_URI")
                   or "neo4j://localhost:7687")
    p.add_argument("--workdir", default=str(Path(tempfile.gettempdir()) / "civicties-bench-neo4j"),
                   help="where the demo packages are written (kept, reused)")
    p.add_argument("--json", default=None, help="write every figure to this file")
    p.add_argument("--no-reload", action="store_true")
    p.add_argument("--wipe", action="store_true", help="allow emptying a database with data the bench did not make")
    args = p.parse_args(argv)
    import logging
    logging.getLogger("neo4j.notifications").setLevel(logging.ERROR)    # "label does not exist" on a new database

    store = Neo4jStore.from_settings(args.uri)
    driver = store._get_driver()
    db = store.database
    env = machine() | server_info(driver, db)
    print(f"Neo4j load bench: {store.label}; {env['nproc']} CPUs, {env['ram_gib']} GiB; neo4j-rust-ext "
          f"{env['neo4j_rust_ext'] or 'not installed'}", flush=True)
    claim_database(driver, db, args.wipe)
    timed_reset(store)
    store.ensure_schema()                                 # constraints and indexes before any data
    check_schema(driver, db)
    results = []
    t0 = time.perf_counter()
    try:
        for parents in args.parents:
            results.append(bench_size(parents, args, driver, db, store))
    finally:
        store.close()
    env["bench_s"] = round(time.perf_counter() - t0, 1)
    text = report(results, env)
    print("\n" + text)
    if args.json:
        Path(args.json).parent.mkdir(parents=True, exist_ok=True)
        Path(args.json).write_text(json.dumps({"env": env, "results": results}, indent=2, default=str))
    return 0


if __name__ == "__main__":
    sys.exit(main())
