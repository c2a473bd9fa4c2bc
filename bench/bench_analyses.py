"""Stored analyses (dashboard/analyses.py): what a page's first view costs before and after they are stored.

    python bench/bench_analyses.py                       # 1,000 and 10,000 parents
    python bench/bench_analyses.py --parents 100000      # the issue's target size
    python bench/bench_analyses.py --browser             # also each page's first view in headless Chromium
    python bench/bench_analyses.py --parents 100000 --no-before --browser   # skip computing on page views

For each size, a demo of that many parents is loaded into a temporary SQLite store, then, each in a fresh
process (nothing in memory):

- **before**: every page's loaders for admin, evaluator and funder with nothing stored (what a first view
  cost before this change: computed on the page view);
- **analyse**: `civicties analyse` (the background computation, here in the foreground): time and peak memory;
- **after**: the same loaders reading the stored results;
- **contact**: a coordinator records a contact and the outreach list shows it (no recompute);
- **browser** (--browser): a fresh app server on the stored results, set up as deployed (its worker finds
  the results stored and computes nothing; staff sign-in reads the data in the background); signed in as admin, each page's first
  view timed from the click on its sidebar link until the app has stopped running; then, in the network
  explorer, another colour chosen (the network is built on the page, the stored positions reused) and a
  second colour (the network now in the app's memory).

Times are wall-clock on whatever machine runs this; compare the columns within one run.
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from contextlib import contextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))

# page -> the loaders its first view calls (name, extra args)
PAGES = {
    "Overview": [("load_overview", ())],
    "Bridging": [("load_bridging", ()), ("load_mixing", ("race_ethnicity", None))],
    "Outreach": [("load_outreach", ())],
    "Pipeline": [("load_pipeline", ("site",))],
    "Data": [("load_data_quality", ())],
    "Network explorer": [("load_explorer", ())],
}
ROLES = ("admin", "evaluator", "funder")


def _child(mode: str, uri: str) -> dict:
    """Runs in a fresh process: time what `mode` asks for; return it as a dict."""
    import resource
    os.environ["CIVICTIES_STORE"] = uri
    os.environ["CIVICTIES_BACKGROUND_ANALYSES"] = "0"
    from dashboard import analyses, data
    from dashboard.accounts import Principal
    out: dict = {}
    if mode in ("before", "after"):
        for role in ROLES:
            p = Principal(username="bench", role=role, sites=("*",))
            for page, loaders in PAGES.items():
                t0 = time.perf_counter()
                for name, args in loaders:
                    getattr(data, name)(p, *args)
                out[f"{page}/{role}"] = round(time.perf_counter() - t0, 2)
    elif mode == "analyse":
        store = data.get_store()
        analyses.clear(store)        # what "before" stored on its page views is not the worker's to skip
        t0 = time.perf_counter()
        info = analyses.run(store)
        out = {"seconds": round(time.perf_counter() - t0, 1), "analyses": info["total"],
               "processes": info.get("processes", 1), "peak_mib_second": info.get("peak_mib_second_process")}
    elif mode == "contact":
        from datetime import date
        p = Principal(username="bench", role="admin")
        table = data.load_outreach(p)
        family = table["family_id"].iloc[0]
        t0 = time.perf_counter()
        data.record_contact(p, family, date.today(), "bench")
        time.sleep(0.5)              # the data version is re-read at most every half second
        shown = data.load_outreach(p).set_index("family_id").loc[family, "last_contacted"]
        out = {"seconds": round(time.perf_counter() - t0 - 0.5, 2), "shown": str(shown)}
    out["peak_mib"] = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)
    return out


def _run_child(mode: str, uri: str) -> dict:
    done = subprocess.run([sys.executable, __file__, "--child", mode, "--store", uri], capture_output=True,
                          text=True, cwd=ROOT, timeout=3600)
    if done.returncode != 0:
        raise SystemExit(f"{mode} failed:\n{done.stderr[-3000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


@contextmanager
def _browser_lock():
    """Hold /tmp/browser.lock (flock) while Chromium runs, so that two browser runs on a shared machine
    do not start Chromium at once (the tests take the same lock: `flock /tmp/browser.lock pytest ...`)."""
    import fcntl
    with open(os.environ.get("CIVICTIES_BROWSER_LOCK", "/tmp/browser.lock"), "a") as f:
        fcntl.flock(f, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(f, fcntl.LOCK_UN)


def _settled(page, quiet: float = 1.0) -> float:
    """When the app stopped running: the first moment after which neither its running indicator nor a
    spinner showed for ``quiet`` seconds (the indicator shows only some time after a run starts, so a page
    that draws its title first must not be taken as done at the first moment nothing shows)."""
    since = None
    while True:
        now = time.perf_counter()
        if (page.locator('[data-testid="stStatusWidget"]').count()
                or page.locator('[data-testid="stSpinner"]').count()):
            since = None
        elif since is None:
            since = now
        elif now - since >= quiet:
            return since
        time.sleep(0.05)


def _browser(uri: str) -> dict:
    from e2e_server import DashboardServer, chromium
    from test_e2e_browser import _sign_in
    titles = ["Bridging and tie formation", "Outreach", "Pipeline to seats", "Data", "Overview", "Family card",
              "Surveys", "Records", "Matching", "Accounts", "Audit log", "Network explorer"]
    out = {}
    with _browser_lock(), DashboardServer(uri, env={"CIVICTIES_BACKGROUND_ANALYSES": "1"}) as server, chromium() as browser:
        page = browser.new_page(viewport={"width": 1400, "height": 1200})
        t0 = time.perf_counter()
        _sign_in(page, server.url, "t-admin")
        out["Overview (sign-in)"] = round(time.perf_counter() - t0, 2)
        for title in titles:
            t0 = time.perf_counter()
            page.locator('[data-testid="stSidebarNav"] a', has_text=title).first.click()
            page.locator("h1", has_text=title).first.wait_for(timeout=600_000)
            out[title] = round(_settled(page) - t0, 2)
        for colour, label in (("income band", "explorer, first other colour"),
                              ("primary language", "explorer, second other colour")):
            t0 = time.perf_counter()
            page.get_by_role("combobox", name="Colour by").click()
            page.get_by_role("option", name=colour, exact=True).click()
            out[label] = round(_settled(page) - t0, 2)
    return out


def _load() -> str:
    """The 1, 5 and 15 minute load averages (the machine may be shared: note them beside each figure)."""
    return ", ".join(f"{v:.2f}" for v in os.getloadavg())


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--parents", type=int, nargs="+", default=[1000, 10000])
    ap.add_argument("--browser", action="store_true")
    ap.add_argument("--no-before", action="store_true",
                    help="skip the 'before' column (every page computed on its view: a quarter of an hour at 100,000)")
    ap.add_argument("--child", help=argparse.SUPPRESS)
    ap.add_argument("--store", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        print(json.dumps(_child(args.child, args.store)))
        return 0
    from e2e_server import demo_store
    for n in args.parents:
        with tempfile.TemporaryDirectory() as tmp, demo_store(Path(tmp) / "demo", parents=n) as demo:
            print(f"\n## {n:,} parents ({len(demo.person_ids):,} people)\n")
            before = {} if args.no_before else _run_child("before", demo.uri)
            print(f"(load average {_load()})")
            analyse = _run_child("analyse", demo.uri)
            second = (f" and {analyse['peak_mib_second']} MiB in its second process"
                      if analyse.get("processes") == 2 else "")
            print(f"civicties analyse: {analyse['analyses']} analyses in {analyse['seconds']} s, "
                  f"peak {analyse['peak_mib']} MiB{second} (load average {_load()})", flush=True)
            after = _run_child("after", demo.uri)
            contact = _run_child("contact", demo.uri)
            print("| page / role | first view before (s) | first view after (s) |")
            print("|---|---|---|")
            for k in after:
                if k != "peak_mib":
                    print(f"| {k} | {before.get(k, '-')} | {after[k]} |")
            print(f"\npeak memory: before {before.get('peak_mib', '-')} MiB, after {after['peak_mib']} MiB")
            print(f"a contact recorded and shown: {contact['seconds']} s (shown as {contact['shown']})")
            if args.browser:
                b = _browser(demo.uri)
                print(f"\nbrowser, first view of each page after the analyses are stored (s; load average {_load()}):")
                for k, v in b.items():
                    print(f"- {k}: {v}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
