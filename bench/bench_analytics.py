"""Benchmark the analysis suite at several network sizes: load, read, headline metrics, full report.

Each size runs in a fresh subprocess so its peak memory (ru_maxrss) is its own. Timings on a shared
machine are noisy: compare stages within one run. Usage:

    .venv/bin/python bench/bench_analytics.py --parents 1000 10000 100000 [--permutations 1000]
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
        full_report(ds, n_permutations=permutations)
        out["report_s"] = time.perf_counter() - t
    out["peak_rss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--parents", type=int, nargs="+", default=[1000, 10000, 100000])
    ap.add_argument("--permutations", type=int, default=1000)
    ap.add_argument("--one", type=int, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.one:
        print(json.dumps(one(args.one, args.permutations)))
        return
    print(f"machine: {os.cpu_count()} cores; permutations {args.permutations}")
    print("| parents | rows | people | ties | ingest s | read s | metrics s | report s | metrics+report s | "
          "peak MB | betweenness |")
    print("|---|---|---|---|---|---|---|---|---|---|---|")
    for n in args.parents:
        res = subprocess.run([sys.executable, __file__, "--one", str(n), "--permutations", str(args.permutations)],
                             capture_output=True, text=True, check=True)
        r = json.loads(res.stdout.strip().splitlines()[-1])
        print(f"| {n:,} | {r['rows']:,} | {r['people']:,} | {r['ties']:,} | {r['ingest_s']:.1f} | {r['read_s']:.1f} "
              f"| {r['metrics_s']:.1f} | {r['report_s']:.1f} | {r['metrics_s'] + r['report_s']:.1f} "
              f"| {r['peak_rss_mb']:.0f} | {r['betweenness']} |", flush=True)


if __name__ == "__main__":
    main()
