"""The full analysis report (`civicties report --json`): every measure of docs/metrics-network.md and
docs/metrics-program.md on one loaded network, as plain JSON-ready data.

Sections: homophily (per attribute and network view, with permutation baselines), formation (per cohort
between waves, and growth by year), brokerage, communities (tie and co-attendance networks), outreach,
pipeline, home visits, pathways (every ladder of engagement: queries/ladders.py). Each section says which
method ran where it depends on network size.
"""
from __future__ import annotations

import math
import multiprocessing
import os
import time
import traceback
from contextlib import contextmanager
from datetime import date

import numpy as np
import pandas as pd

from graph.dataset import Dataset
from queries import (brokerage, communities, formation, homophily, home_visits, inference, ladders, outreach, panel,
                     pipeline)
from queries.arrays import ArrayNetwork
from queries.errors import QueryError
from queries.network import coattendance_arrays, snapshots_by_year, tie_arrays
from queries.summary import DEFAULT_ATTRIBUTES, summary_metrics

__all__ = ["full_report", "pathways_section", "cohort_of", "wave_pair", "REPORT_ATTRIBUTES"]

REPORT_ATTRIBUTES = DEFAULT_ATTRIBUTES + ("primary_language", "site_id")
COHORT_TEST_LIMIT = 100  # above this many cohorts, each cohort's test uses 200 permutations


def cohort_of(ds: Dataset) -> dict[str, str]:
    """Each enrolled person's first cohort (by enrolled_on, then cohort id): the stratum for permutations."""
    enr = ds.enrollments.sort_values(["person_id", "enrolled_on", "cohort_id"], na_position="last")
    return dict(enr.drop_duplicates("person_id")[["person_id", "cohort_id"]].itertuples(index=False))


wave_pair = panel.wave_pair     # (kept here too: the report's callers import it from this module)


def _clean(obj):
    """Make results JSON-ready: DataFrames to records, numpy scalars to Python, NaN to None, sets sorted."""
    if isinstance(obj, pd.DataFrame):
        return [_clean(r) for r in obj.to_dict("records")]
    if isinstance(obj, pd.Series):
        return _clean(obj.to_dict())
    if isinstance(obj, dict):
        return {str(k): _clean(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_clean(v) for v in obj]
    if isinstance(obj, (set, frozenset)):
        return sorted(_clean(v) for v in obj)
    if isinstance(obj, (np.integer,)):
        return int(obj)
    if isinstance(obj, (np.floating, float)):
        return None if math.isnan(obj) else float(obj)
    if isinstance(obj, (pd.Timestamp, date)):
        return obj.isoformat()[:10]
    if obj is pd.NaT:
        return None
    return obj


def _homophily(G: ArrayNetwork, views: dict, attrs, strata, n_permutations: int, seed: int,
               tied: ArrayNetwork) -> dict:
    tests = homophily.ei_permutation_tests(tied, attrs, n_permutations=n_permutations, seed=seed, strata=strata)
    out = {}
    for attr in attrs:
        out[attr] = {"by_view": {name: homophily.ei_index(H, attr) for name, H in views.items()},
                     "ei_index": homophily.ei_index(G, attr),
                     "ei_by_group": homophily.ei_by_group(G, attr),
                     "assortativity": homophily.assortativity(G, attr),
                     "coleman": homophily.coleman_homophily(G, attr),
                     "mixing_matrix": homophily.mixing_matrix(G, attr).to_dict(),
                     "permutation_test": tests[attr]}
    return out


def _formation(ds: Dataset, G: ArrayNetwork, cohorts: dict[str, str], n_permutations: int, seed: int) -> dict:
    pair = wave_pair(ds.ties["wave"], ds.ties["observed_on"])
    per_cohort = []
    # hundreds of cohorts: 200 shuffles each keeps each p-value within about 0.015 of its exact value near
    # 0.05 (Monte Carlo error), and the whole report within a minute at 100,000 parents
    n_cohorts = len(set(cohorts.values()))
    cohort_permutations = n_permutations if n_cohorts <= COHORT_TEST_LIMIT else min(n_permutations, 200)
    if pair is not None and cohorts:
        per_cohort = formation.cohort_changes(tie_arrays(ds, waves=[pair[0]]), tie_arrays(ds, waves=list(pair)),
                                              cohorts, n_permutations=cohort_permutations, seed=seed)
    growth = formation.growth(snapshots_by_year(ds, G))
    # hundreds of cohort tests at once: Benjamini-Hochberg q-values beside the p-values, per attribute and test
    for attr in sorted({a for r in per_cohort for a in r["by_attribute"]}):
        rows = [r["by_attribute"][attr] for r in per_cohort if attr in r["by_attribute"]]
        for key in ("p_value", "p_value_new_ties"):
            for row, q in zip(rows, inference.bh_qvalues([row.get(key) for row in rows])):
                row[key.replace("p_value", "q_value")] = q
    return {"waves": list(pair) if pair else None, "by_cohort": per_cohort,
            "growth_by_year": growth if len(growth) else pd.DataFrame(), "cohort_permutations": cohort_permutations}


def _brokerage(G: ArrayNetwork, D: ArrayNetwork, attrs, between) -> dict:
    roles = {attr: brokerage.gould_fernandez_by_group(D, attr) for attr in attrs[:2]}
    local = brokerage.local_bridges(G)  # every bridge is a local bridge: count both from one pass
    return {"betweenness_method": between.detail or between.method,
            "top_brokers_by_site": brokerage.top_brokers(G, by="site_id", n=5, values=between.values),
            "gould_fernandez_by_group": roles,
            "bridges": sum(r["is_bridge"] for r in local),
            "local_bridges": len(local)}


def _community_part(H: ArrayNetwork, found: list) -> dict:
    """Communities of more than one person: count, sizes and each one's diversity (Blau)."""
    parts = [c for c in found if len(c) > 1]
    return {"count": len(parts), "sizes": [len(c) for c in parts],
            "diversity": {a: communities.community_diversity(H, parts, a) for a in DEFAULT_ATTRIBUTES}}


def full_report(ds: Dataset, *, attributes: tuple[str, ...] = (), n_permutations: int = 1000, seed: int = 0,
                inactive_days: int = 180, max_event_size: int = 200, timings: dict | None = None,
                parallel: bool | None = None, ladder_set: dict | None = None) -> dict:
    """Every measure on one dataset, JSON-ready. `attributes` adds people columns to the homophily section.

    `timings`, when given a dict, receives the seconds each part took (for bench/bench_analytics.py).
    `parallel`: compute the table-heavy parts (outreach, co-attendance communities, pipeline, home
    visits) in a forked worker process beside the network-heavy ones; None (auto) does so from
    ``PARALLEL_FROM`` people on a machine with two or more cores where processes can fork. The result
    is the same either way. ``ladder_set``: the ladders of the pathways section (id -> queries.ladders.Ladder;
    default the shipped ones, queries.ladders.available_ladders()).
    """
    clock = _Clock(timings)
    ladder_set = ladders.available_ladders() if ladder_set is None else ladder_set
    attrs = tuple(dict.fromkeys(REPORT_ATTRIBUTES + tuple(attributes)))
    # every network as arrays built from the tables (queries.arrays): no networkx graph at any size
    with clock("networks"):
        D = tie_arrays(ds, view="directed")
        G = tie_arrays(ds)
        views = {"union": G, "mutual": tie_arrays(ds, view="mutual"), "directed": D}
        C = coattendance_arrays(ds, max_event_size=max_event_size)
        cohorts = cohort_of(ds)
        # the permutation baseline shuffles labels among the people who have ties (children and isolated
        # parents cannot move a tie's ends), within each person's first cohort
        tied = G.induced(G.degree() > 0)
        strata = {p: cohorts.get(p, "") for p in tied.ids.tolist()}

    def tables_part() -> dict:
        side = _Clock({})
        with side("outreach"):
            families = outreach.outreach_families(ds, inactive_days=inactive_days, G=G)
            out = {"outreach": {"families": len(families), "top": families.head(25)}}
        with side("communities"):
            out["co_attendance"] = _community_part(C, communities.louvain(C, seed=seed) if C.number_of_edges()
                                                   else [])
        with side("pipeline and home visits"):
            out["pipeline"] = {"funnel": {by or "all": pipeline.funnel_by(ds, by) for by in
                                          (None, "site", "cohort", "race_ethnicity", "income_band")},
                               "time_to_seat": pipeline.time_to_seat(ds),
                               "seats_by_body": pipeline.seats_by_body(ds),
                               "sankey": [list(f) for f in pipeline.sankey_flows(ds)],
                               "paths_to_seat": pipeline.paths_to_seat(ds, G)}
            out["home_visits"] = {"summary": home_visits.home_visit_summary(ds),
                                  "visited_then_enrolled": home_visits.visited_then_enrolled(ds)}
        with side("pathways"):
            out["pathways"] = pathways_section(ds, ladder_set)
        with side("to JSON-ready data"):
            out = _clean(out)
        out["timings"] = side.timings
        return out

    if parallel is None:
        parallel = G.n >= PARALLEL_FROM and (os.cpu_count() or 1) >= 2
    wait = _beside(tables_part) if parallel and hasattr(os, "fork") else None
    with clock("betweenness"):
        between = brokerage.betweenness(G)
    with clock("communities"):
        tie_parts = communities.louvain(G, seed=seed) if G.number_of_edges() else []
        ties_found = _community_part(G, tie_parts)
    with clock("summary"):
        summary = summary_metrics(ds, graph=G, between=between, communities=tie_parts if seed == 0 else None)
    with clock("homophily"):
        homophily_part = _homophily(G, views, attrs, strata, n_permutations, seed, tied)
    with clock("formation"):
        formation_part = _formation(ds, G, cohorts, n_permutations, seed)
    with clock("brokerage"):
        brokerage_part = _brokerage(G, D, attrs, between)
    with clock("panel"):
        # the first and last survey waves on the same respondents (the main comparison) and on all
        panel_part = {"overall": panel.wave_comparison(ds, n_boot=1000, seed=seed),
                      "by_cohort": panel.cohort_wave_comparisons(ds, n_boot=300, seed=seed)}
    if wait:
        with clock("waiting for the worker process"):
            side = wait()
    else:
        side = tables_part()
    for name, seconds in side.pop("timings").items():
        if timings is not None:
            key = f"{name} (worker)" if wait else name
            timings[key] = timings.get(key, 0.0) + seconds
    report = {
        "summary": summary,
        "homophily": homophily_part,
        "formation": formation_part,
        "panel": panel_part,
        "brokerage": brokerage_part,
        "communities": {"ties": ties_found, "co_attendance": side["co_attendance"]},
        "outreach": side["outreach"],
        "pipeline": side["pipeline"],
        "home_visits": side["home_visits"],
        "pathways": side["pathways"],
        "settings": {"n_permutations": n_permutations, "seed": seed, "inactive_days": inactive_days,
                     "co_attendance_max_event_size": max_event_size},
    }
    with clock("to JSON-ready data"):
        return _clean(report)


def pathways_section(ds: Dataset, ladder_set: dict) -> dict:
    """The report's ``pathways`` section: per ladder its stages, the counts per stage overall and by each
    grouping, the time between stages, and for a ladder with pathways the sequence view; for the PLTI ladder
    the two-generation comparison. Counts only (the stuck people are on the dashboard, by name for
    coordinators)."""
    out = {}
    for lid, lad in ladder_set.items():
        part = {"name": lad.name, "program": lad.program, "stages": [{"id": s.id, "label": s.label} for s in lad.stages],
                "counts": ladders.stage_counts(ds, lad),
                "counts_by": {by: ladders.stage_counts(ds, lad, by=by) for by in ladders.GROUPINGS},
                "time_between": ladders.time_between(ds, lad)}
        if lad.pathways:
            part["sequences"] = ladders.sequence_table(ds, lad)
            part["sequence_flows"] = [list(f) for f in ladders.sequence_flows(ds, lad)]
            part["pathways_before"] = ladders.pathways_before(ds, lad)
            part["reach"] = ladders.pathway_reach(ds, lad)
        if lid == "plti":
            part["two_generation"] = ladders.two_generation(ds, programs=(lad.program.lower(),) if lad.program else ())
        out[lid] = part
    return out


#: From this many people (all roles) the report runs its table-heavy parts in a worker process.
PARALLEL_FROM = 20_000


def _beside(fn):
    """Run ``fn()`` in a forked child process; return a function that waits for and returns its result.

    The child shares the parent's memory copy-on-write (nothing is pickled on the way in) and sends its
    JSON-ready result back through a pipe. An error in the child is raised again in the parent.
    """
    ctx = multiprocessing.get_context("fork")
    receive, send = ctx.Pipe(duplex=False)

    def child():
        try:
            payload = ("ok", fn())
        except BaseException as e:  # noqa: BLE001 -- everything goes back to the parent
            payload = ("error", e, traceback.format_exc())
        try:
            send.send(payload)
        except Exception:  # the error itself would not pickle: send its text
            send.send(("error", None, payload[-1] if payload[0] == "error" else traceback.format_exc()))
        finally:
            send.close()

    process = ctx.Process(target=child, name="civicties-report-worker", daemon=True)
    process.start()
    send.close()

    def wait():
        try:
            payload = receive.recv()
        except EOFError:
            process.join()
            raise QueryError(f"the report's worker process stopped without a result (exit code "
                             f"{process.exitcode}; out of memory?)") from None
        finally:
            receive.close()
        process.join()
        if payload[0] == "error":
            if payload[1] is not None:
                raise payload[1]
            raise QueryError(f"the report's worker process failed:\n{payload[2]}")
        return payload[1]

    return wait


class _Clock:
    """Adds each timed block's seconds to a dict (or does nothing without one)."""

    def __init__(self, timings: dict | None):
        self.timings = timings

    @contextmanager
    def __call__(self, name: str):
        start = time.perf_counter()
        try:
            yield
        finally:
            if self.timings is not None:
                self.timings[name] = self.timings.get(name, 0.0) + time.perf_counter() - start
