"""The funder's protected funnel (dashboard/data.py ``_funder_funnel``, queries/disclosure.py ``protect``):
time and cells hidden per grouping, on a demo of each size.

    python bench/bench_disclosure.py                     # 600 and 10,000 parents, grouped by cohort
    python bench/bench_disclosure.py --parents 100000 --by cohort,site,race_ethnicity,income_band

For each size, a demo of that many parents is loaded into a temporary SQLite store; the funnel by each
grouping is computed once (as the Pipeline page does for a funder: the consenting people), then protected
and timed. Prints one line per size and grouping: groups, seconds, cells hidden for being small ("<k") and
cells hidden to protect them ("suppressed"), and the load average beside it (compare within one run).
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


def measure(parents: int, groupings: list[str], k: int = 10) -> list[dict]:
    from graph.store import SQLiteStore
    from ingest.demo import write_demo
    from ingest.load import load_package
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        write_demo(Path(tmp) / "demo", parents=parents)
        with SQLiteStore(Path(tmp) / "store.sqlite") as store:
            load_package(Path(tmp) / "demo", store)
            uri = store.uri
        os.environ["CIVICTIES_STORE"] = uri
        os.environ["CIVICTIES_BACKGROUND_ANALYSES"] = "0"
        from dashboard import data
        from queries import pipeline
        ds = data.analysis_dataset("funder", None, *data.data_key())
        by_site = pipeline.funnel_by(ds, "site")
        for by in groupings:
            funnel = pipeline.funnel_by(ds, by)
            caps = pipeline.people_per_group(ds, by) if by in ("race_ethnicity", "income_band") else None
            totals = ({s: int(by_site[s].sum()) for s in ("enrolled", "graduated", "appointed")}
                      if by != "cohort" and len(funnel) and funnel["enrolled"].sum() == by_site["enrolled"].sum()
                      else None)                         # as data._pipeline passes them
            t0 = time.perf_counter()
            out = data._funder_funnel(funnel, k, totals=totals, caps=caps)
            seconds = time.perf_counter() - t0
            labels = [v for s in ("enrolled", "graduated", "civic", "appointed") if s in out for v in out[s]
                      if isinstance(v, str)]
            rows.append({"parents": parents, "by": by, "groups": len(funnel), "seconds": round(seconds, 2),
                         "hidden_small": sum(v.startswith("<") for v in labels),
                         "hidden_complementary": sum(not v.startswith("<") for v in labels),
                         "load": os.getloadavg()[0]})
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--parents", default="600,10000", help="comma-separated demo sizes")
    parser.add_argument("--by", default="cohort", help="comma-separated groupings (data.PIPELINE_BY)")
    args = parser.parse_args()
    for parents in [int(p) for p in args.parents.split(",")]:
        for row in measure(parents, args.by.split(",")):
            print(row, flush=True)


if __name__ == "__main__":
    main()
