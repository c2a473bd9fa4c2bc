"""The `civicties` command line: demo, check, ingest, metrics, report, export, reset."""
from __future__ import annotations

import argparse
import json
import os
import sys
import time

from graph.errors import StoreError
from graph.store import open_store
from ingest.problems import IngestError
from queries.errors import QueryError

__all__ = ["main"]


def _store_arg(p: argparse.ArgumentParser) -> None:
    p.add_argument("--store", default=None, metavar="URI",
                   help="sqlite:///path.sqlite (or just the path) or neo4j://host:port (default: CIVICTIES_STORE, NEO4J_URI, "
                        "else a SQLite file in CIVICTIES_DATA_DIR)")


def _cmd_ingest(args) -> int:
    from ingest.load import load_package
    t0 = time.perf_counter()
    with open_store(args.store) as store:
        report = load_package(args.package, store)
    out = report.as_dict() | {"store": store.label, "seconds": round(time.perf_counter() - t0, 2)}
    if args.json:
        print(json.dumps(out, indent=2, ensure_ascii=False))
    else:
        print(f"Loaded {sum(report.rows.values())} rows into {store.label} "
              f"({report.written['nodes']} nodes, {report.written['relationships']} relationships) "
              f"in {out['seconds']} s.")
        for w in report.warnings[:20]:
            print(f"  note: {w}")
        if len(report.warnings) > 20:
            print(f"  ... and {len(report.warnings) - 20} more notes")
    return 0


def _cmd_check(args) -> int:
    from ingest.load import check_package
    pkg = check_package(args.package)
    if args.json:
        print(json.dumps({"ok": pkg.ok, "rows": pkg.row_counts(), "problems": [p.as_dict() for p in pkg.problems],
                          "warnings": [w.as_dict() for w in pkg.warnings]}, indent=2, ensure_ascii=False))
    else:
        for p in pkg.problems:
            print(f"problem: {p}")
        for w in pkg.warnings:
            print(f"note: {w}")
        print("valid" if pkg.ok else f"{len(pkg.problems)} problem(s)")
    return 0 if pkg.ok else 1


def _read(args):
    """The whole dataset in the store the command names."""
    with open_store(args.store) as store:
        return store.read()


def _cmd_metrics(args) -> int:
    from queries.summary import summary_metrics
    ds = _read(args)
    result = summary_metrics(ds, network=args.network, attributes=tuple(args.attribute), directed=args.directed)
    if args.json:
        print(json.dumps(result, indent=2, ensure_ascii=False, sort_keys=True))
    else:
        for k, v in result.items():
            print(f"{k}: {v}")
    return 0


def _cmd_report(args) -> int:
    from queries.report import full_report
    ds = _read(args)
    result = full_report(ds, attributes=tuple(args.attribute), n_permutations=args.permutations, seed=args.seed,
                         inactive_days=args.inactive_days)
    text = json.dumps(result, indent=2 if args.json else None, ensure_ascii=False, sort_keys=True)
    if args.out:
        with open(args.out, "w", encoding="utf-8") as f:
            f.write(text)
        print(f"Wrote the report to {args.out}")
    else:
        print(text)
    return 0


def _cmd_export(args) -> int:
    from queries import export
    from queries.network import coattendance_network, tie_network
    ds = _read(args)
    if args.format == "csv":
        export.person_metrics_csv(ds, args.out)
    else:
        G = coattendance_network(ds) if args.network == "co-attendance" else tie_network(ds)
        (export.to_graphml if args.format == "graphml" else export.to_gexf)(G, args.out)
    print(f"Wrote {args.out}")
    return 0


def _cmd_demo(args) -> int:
    from ingest.demo import write_demo
    counts = write_demo(args.out, parents=args.parents, seed=args.seed)
    print(f"Wrote a synthetic demo package to {args.out}: " + ", ".join(f"{k} {v}" for k, v in counts.items()))
    return 0


def _cmd_reset(args) -> int:
    if not args.yes:
        print("reset deletes everything in the store; add --yes to confirm", file=sys.stderr)
        return 2
    with open_store(args.store) as store:
        store.reset()
        print(f"Emptied {store.label}")
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="civicties", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("ingest", help="validate a package and load it into the store (all or nothing)")
    p.add_argument("package", help="a folder of CSV files or an .xlsx workbook")
    _store_arg(p)
    p.add_argument("--json", action="store_true", help="print the load report as JSON")
    p.set_defaults(func=_cmd_ingest)
    p = sub.add_parser("check", help="validate a package without loading it")
    p.add_argument("package")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=_cmd_check)
    p = sub.add_parser("metrics", help="headline network metrics of the loaded data")
    _store_arg(p)
    p.add_argument("--json", action="store_true", help="print one JSON object (docs/metrics.md)")
    p.add_argument("--network", choices=["ties", "co-attendance"], default="ties")
    p.add_argument("--attribute", action="append", default=[], metavar="NAME",
                   help="also compute the E-I index for this people column (repeatable)")
    p.add_argument("--directed", action="store_true", help="E-I on the directed tie network")
    p.set_defaults(func=_cmd_metrics)
    p = sub.add_parser("report", help="the full analysis: homophily with significance, tie formation, brokerage, "
                                      "communities, outreach, pipeline to seats, home visits (docs/report.md)")
    _store_arg(p)
    p.add_argument("--json", action="store_true", help="pretty-print the JSON (it is JSON either way)")
    p.add_argument("--attribute", action="append", default=[], metavar="NAME",
                   help="also analyse homophily on this people column (repeatable)")
    p.add_argument("--permutations", type=int, default=1000, help="label permutations per significance test")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--inactive-days", type=int, default=180, help="outreach: days without activity to flag")
    p.add_argument("--out", help="write to this file instead of standard output")
    p.set_defaults(func=_cmd_report)
    p = sub.add_parser("export", help="export the network for Gephi (GraphML, GEXF) or per-person metrics (CSV)")
    _store_arg(p)
    p.add_argument("format", choices=["graphml", "gexf", "csv"])
    p.add_argument("out", help="file to write")
    p.add_argument("--network", choices=["ties", "co-attendance"], default="ties")
    p.set_defaults(func=_cmd_export)
    p = sub.add_parser("demo", help="write the synthetic demo package")
    p.add_argument("out", help="folder to write the CSV files into")
    p.add_argument("--parents", type=int, default=600)
    p.add_argument("--seed", type=int, default=7)
    p.set_defaults(func=_cmd_demo)
    p = sub.add_parser("reset", help="delete everything in a store")
    _store_arg(p)
    p.add_argument("--yes", action="store_true", help="confirm")
    p.set_defaults(func=_cmd_reset)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return args.func(args)
    except IngestError as e:
        print(f"error: {e}", file=sys.stderr)
        return 1
    except StoreError as e:
        print(f"error: {e}", file=sys.stderr)
        return 3
    except QueryError as e:
        print(f"error: {e}", file=sys.stderr)
        return 4
    except BrokenPipeError:  # the reader went away (e.g. `civicties report | head`): not an error
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0


if __name__ == "__main__":
    sys.exit(main())
