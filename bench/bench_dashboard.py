"""How fast the dashboard answers, and how the network explorer copes with a very large network.

    python bench/bench_dashboard.py                 # pages on the default demo + explorer on 100,000 parents
    python bench/bench_dashboard.py --parents 20000 # a smaller large network
    python bench/bench_dashboard.py --skip-large    # pages only
    python bench/bench_dashboard.py --browser       # also time each page in headless Chromium

Part 1, pages: the default demo (CIVICTIES_DEMO_PARENTS parents) in a temporary SQLite store. Each page is
run once to fill the caches, then timed again: "cached" is what a user waits for on every later visit
(target < 2 s). Timed with Streamlit's AppTest (the server-side script run) and, with --browser, from a
click on the sidebar link until the page in Chromium has stopped running.

Part 2, explorer at scale: a demo package of --parents parents (default 100,000) is generated, loaded into
SQLite and read back; then each step the explorer takes is timed: build the tie network, choose the part
to draw (capped at CIVICTIES_EXPLORER_MAX_NODES), measure degree, lay out, render the HTML. It reports the
people and ties drawn and the HTML size the browser receives.
"""
from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))

PAGES = [("Overview", "dashboard/pages/overview.py", ""),
         ("Bridging and tie formation", "dashboard/pages/bridging.py", "bridging"),
         ("Network explorer", "dashboard/pages/explorer.py", "explorer"),
         ("Outreach", "dashboard/pages/outreach.py", "outreach"),
         ("Pipeline to seats", "dashboard/pages/pipeline.py", "pipeline"),
         ("Data", "dashboard/pages/data.py", "data")]


def _table(title: str, header: list[str], rows: list[list]) -> None:
    widths = [max(len(str(x)) for x in [h] + [r[i] for r in rows]) for i, h in enumerate(header)]
    print(f"\n{title}\n")
    print("| " + " | ".join(h.ljust(w) for h, w in zip(header, widths)) + " |")
    print("|" + "|".join("-" * (w + 2) for w in widths) + "|")
    for r in rows:
        print("| " + " | ".join(str(x).ljust(w) for x, w in zip(r, widths)) + " |")


def bench_pages(store_uri: str, audiences: list[str]) -> list[list]:
    """Each page for each audience with AppTest: first run (cold caches) and a second run (cached)."""
    from app_session import signed_in_app
    os.environ["CIVICTIES_STORE"] = store_uri
    rows = []
    for audience in audiences:
        for title, path, _url in PAGES:
            at = signed_in_app(audience, timeout=600)     # the test account of that role (coordinator: site S1)
            at.switch_page(path)
            t0 = time.perf_counter()
            at.run()
            cold = time.perf_counter() - t0
            t0 = time.perf_counter()
            at.run()
            warm = time.perf_counter() - t0
            errors = [e.value for e in at.exception]
            rows.append([title, audience, f"{cold:.2f}", f"{warm:.2f}",
                         "ok" if warm < 2 else "SLOW", "; ".join(map(str, errors))[:60] or "-"])
    return rows


def bench_browser(store_uri: str) -> list[list]:
    """Click each sidebar link in headless Chromium; time until the app has stopped running (caches warm)."""
    from e2e_server import DashboardServer
    from playwright.sync_api import sync_playwright
    from test_e2e_browser import ARGS, CHROMIUM, _sign_in, _wait_ready
    rows = []
    with DashboardServer(store_uri) as server, sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        page = browser.new_page(viewport={"width": 1400, "height": 1200})
        _sign_in(page, server.url, "t-admin")      # every site, names: the heaviest view
        for rounds in ("warm-up", "timed"):
            for title, _path, _url in PAGES[1:] + PAGES[:1]:
                t0 = time.perf_counter()
                page.locator('[data-testid="stSidebarNav"] a', has_text=title).first.click()
                page.locator("h1", has_text=title).first.wait_for(timeout=300_000)
                while (page.locator('[data-testid="stStatusWidget"]').count()
                       or page.locator('[data-testid="stSpinner"]').count()
                       or page.locator('[data-stale="true"]').count()):
                    time.sleep(0.05)
                elapsed = time.perf_counter() - t0
                _wait_ready(page, title)
                if rounds == "timed":
                    rows.append([title, "admin", f"{elapsed:.2f}", "ok" if elapsed < 2 else "SLOW"])
        browser.close()
    return rows


def bench_large(parents: int, folder: Path) -> list[list]:
    """The explorer's steps on a network of `parents` parents."""
    from civicties import settings
    from dashboard import network_view as nv
    from graph.store import SQLiteStore
    from ingest.demo import write_demo
    from ingest.load import load_package
    rows = []

    def step(name, fn, note=lambda r: ""):
        t0 = time.perf_counter()
        result = fn()
        rows.append([name, f"{time.perf_counter() - t0:.2f}", note(result)])
        print(f"  {name}: {rows[-1][1]} s {rows[-1][2]}", flush=True)
        return result

    store = SQLiteStore(folder / "large.sqlite")
    counts = step(f"generate the demo package ({parents:,} parents)",
                  lambda: write_demo(folder / "large", parents=parents),
                  lambda c: f"{c['people']:,} people, {c['ties']:,} ties")
    step("load it into SQLite (validate + write)", lambda: load_package(folder / "large", store))
    ds = step("read the store", store.read)
    G = step("build the tie network (all filters open)", lambda: nv.build_network(ds),
             lambda g: f"{len(g):,} people, {g.number_of_edges():,} ties")
    cap = settings.get_int("CIVICTIES_EXPLORER_MAX_NODES")
    sel = step(f"choose the part to draw (cap {cap:,})", lambda: nv.select_nodes(G, cap=cap),
               lambda s: f"{len(s.nodes):,} of {s.total:,} people")
    values, _ = step("degree of everyone", lambda: nv.node_metric(G, "degree"))
    pos = step("lay out the people drawn", lambda: nv.layout_positions(G, sel.nodes))
    colors, legend = nv.color_map({n: G.nodes[n].get("race_ethnicity") for n in sel.nodes})
    tips = {n: nv.tooltip_text(G, n, show_names=True, metric="degree", value=values[n]) for n in sel.nodes}
    if len(sel.nodes) > nv.VIS_MAX_NODES:      # what the page does: WebGL (sigma.js) above vis-network's size
        from dashboard import sigma_view as sv
        payload = step("build the WebGL payload (with the time slider's steps)", lambda: sv.webgl_payload(
            G, sel.nodes, pos, colors=colors, sizes=nv.scale_sizes({n: values[n] for n in sel.nodes}),
            tooltips=tips, steps=nv.time_steps(G, sel.nodes)))
        step("render the HTML (WebGL)", lambda: sv.render_webgl_html(payload, legend=legend),
             lambda h: f"{len(h) / 1e6:.2f} MB")
        sent = (len(sel.nodes), G.subgraph(sel.nodes).number_of_edges())
    else:
        html = step("render the HTML (vis-network)", lambda: nv.render_network_html(
            G, sel.nodes, pos, colors=colors, sizes=nv.scale_sizes({n: values[n] for n in sel.nodes}),
            tooltips=tips, labels={}, legend=legend), lambda h: f"{len(h) / 1e6:.2f} MB")
        import json
        import re
        payload = json.loads(re.search(r'id="network-data">(.*?)</script>', html, flags=re.S).group(1))
        sent = (len(payload["nodes"]), len(payload["edges"]))
    rows.append(["sent to the browser", "-", f"{sent[0]:,} people, {sent[1]:,} ties"])
    cohort = next(c for c in ds.cohorts["cohort_id"])
    members = [n for n, d in G.nodes(data=True) if d.get("cohort_id") == cohort]
    sel = step("choose one cohort", lambda: nv.select_nodes(G, cap=cap, part_nodes=members, part=cohort),
               lambda s: f"{len(s.nodes):,} people")
    ego = max(G, key=G.degree)
    sel = step("choose an ego network (radius 2, best-connected person)",
               lambda: nv.select_nodes(G, cap=cap, ego=ego, radius=2),
               lambda s: f"{len(s.nodes):,} of {s.total:,} people")
    step("lay out and render the ego network", lambda: nv.render_network_html(
        G, sel.nodes, nv.layout_positions(G, sel.nodes), ego=ego, radius=2))
    b = step("betweenness of everyone (size by betweenness)", lambda: nv.node_metric(G, "betweenness"),
             lambda r: r[1])
    del counts, b
    store.close()
    return rows


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--parents", type=int, default=100_000, help="parents in the large network (default 100,000)")
    ap.add_argument("--skip-large", action="store_true", help="time the pages only")
    ap.add_argument("--skip-pages", action="store_true", help="time the large explorer only")
    ap.add_argument("--browser", action="store_true", help="also time the pages in headless Chromium")
    ap.add_argument("--audiences", default="coordinator,funder", help="audiences to time the pages for")
    args = ap.parse_args()
    from civicties import settings
    import platform
    print(f"Python {platform.python_version()} on {platform.machine()}, {os.cpu_count()} CPUs; "
          f"CIVICTIES_EXPLORER_MAX_NODES={settings.get_int('CIVICTIES_EXPLORER_MAX_NODES')}, "
          f"CIVICTIES_DEMO_PARENTS={settings.get_int('CIVICTIES_DEMO_PARENTS')}")
    with tempfile.TemporaryDirectory() as tmp:
        if not args.skip_pages:
            from e2e_server import demo_store
            with demo_store(Path(tmp) / "demo") as demo:
                rows = bench_pages(demo.uri, args.audiences.split(","))
                _table("Pages on the default demo (AppTest script run, seconds; target < 2 s once cached)",
                       ["page", "audience", "first run", "cached", "target", "errors"], rows)
                if args.browser:
                    rows = bench_browser(demo.uri)
                    _table("Pages in headless Chromium, caches warm (click to idle, seconds)",
                           ["page", "audience", "seconds", "target"], rows)
        if not args.skip_large:
            print(f"\nExplorer on {args.parents:,} parents:", flush=True)
            rows = bench_large(args.parents, Path(tmp))
            _table(f"Network explorer on {args.parents:,} parents (seconds)", ["step", "seconds", "result"], rows)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
