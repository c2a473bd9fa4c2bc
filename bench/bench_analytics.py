"""Benchmark the analysis suite at several network sizes: load, read, headline metrics, full report.

Each size runs in a fresh subprocess so its peak memory is its own: ``peak MB`` is the process's
ru_maxrss, ``worker MB`` the report's forked worker process (queries.report: the table-heavy parts run
beside the network-heavy ones from 20,000 people), ``sum MB`` both together (an upper bound: the two share
memory copy-on-write). "suite" is what ``civicties report`` does: read the store, compute every measure
and make it JSON. Timings on a shared machine are noisy: compare stages within one run. Usage:

    .venv/bin/python bench/bench_analytics.py --parents 1000 10000 100000 [--permutations 1000] [--sections]
"""
from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path


def one(parents: int, permutations: int) -> dict:
    from graph.store import SQLiteStore
    from ingest.demo import write_demo
    from ingest.load import load_package
    from queries.report import full_report
    from queries.summary import summary_metrics

    out = {"parents": parents}
    with tempfile.TemporaryDirectory() as tmp:
        t = time.perf_counter()
        counts = write_demo(Path(tmp) / "pkg", parents=parents)
        out["rows"] = sum(counts.values())
        out["ties_rows"] = counts["ties"]
        out["demo_s"] = time.perf_counter() - t
        store = SQLiteStore(Path(tmp) / "s.sqlite")
        t = time.perf_counter()
        load_package(Path(tmp) / "pkg", store)
        out["ingest_s"] = time.perf_counter() - t
        t = time.perf_counter()
        ds = store.read()
        out["read_s"] = time.perf_counter() - t
        t = time.perf_counter()
        m = summary_metrics(ds)
        out["metrics_s"] = time.perf_counter() - t
        out["people"], out["ties"], out["betweenness"] = m["people"], m["ties"], m["betweenness_method"]
        t = time.perf_counter()
        timings: dict = {}
        report = full_report(ds, n_permutations=permutations, timings=timings)
        json.dumps(report, sort_keys=True)
        out["report_s"] = time.perf_counter() - t
        out["sections"] = timings
    out["peak_rss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    out["worker_rss_mb"] = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--parents", type=int, nargs="+", default=[1000, 10000, 100000])
    ap.add_argument("--permutations", type=int, default=1000)
    ap.add_argument("--sections", action="store_true", help="also print the report's parts, per size")
    ap.add_argument("--one", type=int, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.one:
        print(json.dumps(one(args.one, args.permutations)))
        return
    print(f"machine: {os.cpu_count()} cores; permutations {args.permutations}")
    print("| parents | rows | people | ties | ingest s | read s | metrics s | report s | suite (read + report) s "
          "| peak MB | worker MB | sum MB | betweenness |")
    print("|---|---|---|---|---|---|---|---|---|---|---|---|---|")
    details = []
    for n in args.parents:
        res = subprocess.run([sys.executable, __file__, "--one", str(n), "--permutations", str(args.permutations)],
                             capture_output=True, text=True, check=True)
        r = json.loads(res.stdout.strip().splitlines()[-1])
        details.append(r)
        print(f"| {n:,} | {r['rows']:,} | {r['people']:,} | {r['ties']:,} | {r['ingest_s']:.1f} | {r['read_s']:.1f} "
              f"| {r['metrics_s']:.1f} | {r['report_s']:.1f} | {r['read_s'] + r['report_s']:.1f} "
              f"| {r['peak_rss_mb']:.0f} | {r['worker_rss_mb']:.0f} | {r['peak_rss_mb'] + r['worker_rss_mb']:.0f} "
              f"| {r['betweenness']} |", flush=True)
    if args.sections:
        for r in details:
            print(f"\nReport parts at {r['parents']:,} parents (s; '(worker)' ran beside the rest):\n")
            print("| part | s |\n|---|---|")
            for name, seconds in r["sections"].items():
                print(f"| {name} | {seconds:.1f} |")


if __name__ == "__main__":
    main()
