"""`civicties analyse`: compute and store what the dashboard's pages show, for the store's current data
(dashboard/analyses.py), from cron or after a load; and the hooks other commands use when they change data."""
from __future__ import annotations

import json
import os
import sys
import time

__all__ = ["register", "data_changed", "forget_results"]


def register(sub, store_arg) -> None:
    p = sub.add_parser("analyse", help="compute and store the dashboard's analyses for the current data (every "
                       "audience and coordinator scope); pages then open without computing")
    store_arg(p)
    p.add_argument("--quiet", action="store_true", help="print only the summary")
    p.add_argument("--json", action="store_true", help="print the result as JSON")
    p.set_defaults(func=_cmd_analyse)


def _cmd_analyse(args) -> int:
    from graph.store import open_store
    with open_store(args.store, create=False) as store:
        return run_for(store, quiet=args.quiet, as_json=args.json)


def run_for(store, *, quiet: bool = False, as_json: bool = False, out=None) -> int:
    """Run the analyses for this store in the foreground and print how it went."""
    from dashboard import analyses
    os.environ["CIVICTIES_STORE"] = store.uri        # the dashboard's loaders read the store from here
    t0 = time.perf_counter()

    def progress(done, total):
        if not quiet and not as_json and (done % 10 == 0 or done == total):
            print(f"  {done} of {total} analyses stored", file=sys.stderr)

    info = analyses.run(store, progress=progress)
    info["seconds"] = round(time.perf_counter() - t0, 1)
    out = out or sys.stdout
    if as_json:
        print(json.dumps(info, indent=2), file=out)
    else:
        extra = f"; per-person measures written to {info['written_back']} Person nodes" if "written_back" in info \
            else ""
        processes = (f" in two processes (peak memory {info.get('peak_mib')} and "
                     f"{info.get('peak_mib_second_process')} MiB)" if info.get("processes") == 2 else
                     f" (peak memory {info.get('peak_mib')} MiB)" if info.get("peak_mib") else "")
        print(f"Stored {info['total']} analyses for data version {info['version']} of {store.label} in "
              f"{info['seconds']} s{processes}{extra}.", file=out)
        if not quiet and info.get("slowest"):
            print("Slowest (seconds; work shared between audiences counted where it ran first):", file=out)
            for t in info["slowest"]:
                options = ", ".join(str(o) for o in t["options"] if o is not None)
                who = t["audience"] or "every audience"
                sites = f" of {', '.join(t['sites'])}" if t["sites"] else ""
                print(f"  {t['seconds']:>8.2f}  {t['analysis']}{f' ({options})' if options else ''}, "
                      f"{who}{sites}", file=out)
    return 0


def data_changed(store) -> None:
    """A command changed the program's data: move the data version so that every app process recomputes."""
    from dashboard import analyses
    analyses.bump(store, ("network",))


def forget_results(store) -> None:
    """People were erased or the store emptied: drop every stored result (they may hold names)."""
    from dashboard import analyses
    analyses.bump(store, ("network",))
    analyses.clear(store)
