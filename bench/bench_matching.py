"""Matching people across sources on the labelled synthetic set (ingest/demo_matching.py): precision of the
automatic matches, recall of the true pairs (automatic + review), the share sent to review, and the time.

    .venv/bin/python bench/bench_matching.py                        # 1,000 / 10,000 / 100,000 people
    .venv/bin/python bench/bench_matching.py --people 10000 --lower 0.05 --json

Timed: `ingest.match.propose` on the dataset as a store reads it back (records, blocking, scoring, decisions);
not timed: generating the set. Each row gives the 1-minute load average when it finished (the machine may be
shared: a load above the number of cores slows it) and the CPU time of the process (rapidfuzz's threads
included), which other work changes less. The figures go in docs/matching.md.
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from ingest import match  # noqa: E402
from ingest.demo_matching import generate_labelled, labelled_dataset  # noqa: E402


def measure(people: int, *, upper: float, lower: float, seed: int = 5) -> dict:
    tables, truth = generate_labelled(people, seed=seed)
    ds = labelled_dataset(tables)
    t0, c0 = time.perf_counter(), time.process_time()
    proposal = match.propose(ds, upper=upper, lower=lower)
    seconds, cpu = time.perf_counter() - t0, time.process_time() - c0
    records = set(match.build_records(ds)["rid"])
    ident = truth["identity"]
    true = {k for k in truth["pairs"] if k[0] in records and k[1] in records}

    def is_true(pair) -> bool:
        return ident.get(pair[0]) is not None and ident.get(pair[0]) == ident.get(pair[1])

    auto = [(c["left"], c["right"]) for c in proposal.auto]
    review = [(c["left"], c["right"]) for c in proposal.review]
    found = set(auto) | set(review)
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else None      # other work sharing the cores
    out = {"people": proposal.people, "survey_names": proposal.names, "true_pairs": len(true),
           "pairs_compared": proposal.pairs_compared, "auto": len(auto), "review": len(review),
           "auto_precision": round(sum(map(is_true, auto)) / max(len(auto), 1), 4),
           "recall_auto_and_review": round(len(found & true) / max(len(true), 1), 4),
           "recall_auto": round(len(set(auto) & true) / max(len(true), 1), 4),
           "review_share_of_true_pairs": round(len(review) / max(len(true), 1), 3),
           "review_true_share": round(sum(map(is_true, review)) / max(len(review), 1), 3),
           "upper": upper, "lower": lower, "seconds": round(seconds, 1), "cpu_seconds": round(cpu, 1),
           "load_average_1min": None if load is None else round(load, 2)}
    try:
        import psutil
        out["peak_rss_mib"] = round(psutil.Process().memory_info().rss / 2**20)
    except ImportError:
        pass
    return out


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--people", type=int, action="append", help="size (repeatable; default 1000, 10000, 100000)")
    p.add_argument("--upper", type=float, default=match.DEFAULT_UPPER)
    p.add_argument("--lower", type=float, default=match.DEFAULT_LOWER)
    p.add_argument("--json", action="store_true")
    args = p.parse_args(argv)
    rows = [measure(n, upper=args.upper, lower=args.lower) for n in (args.people or [1000, 10000, 100000])]
    machine = f"{platform.processor() or platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}"
    if args.json:
        print(json.dumps({"machine": machine, "results": rows}, indent=2))
        return 0
    print(f"machine: {machine}")
    print("| people | survey names | true pairs | compared | auto | review | auto precision | recall (auto + review) "
          "| recall (auto) | review / true pairs | share of review that is true | seconds (load average) "
          "| CPU seconds |")
    print("|---|---|---|---|---|---|---|---|---|---|---|---|---|")
    for r in rows:
        print(f"| {r['people']:,} | {r['survey_names']:,} | {r['true_pairs']:,} | {r['pairs_compared']:,} | "
              f"{r['auto']:,} | {r['review']:,} | {r['auto_precision']:.1%} | {r['recall_auto_and_review']:.1%} | "
              f"{r['recall_auto']:.1%} | {r['review_share_of_true_pairs']:.2f} | {r['review_true_share']:.0%} | "
              f"{r['seconds']} ({r['load_average_1min']}) | {r['cpu_seconds']} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
