"""Analyses computed once per data version, stored, and read by every page and app process.

After a change to the program's data (a load, a replace, a survey submission, a record entered, an
erasure), :func:`start_background` computes what the pages show, for every audience and site scope that
has an account, in a worker thread (the app's) or in the foreground (``civicties analyse``). Each result is
stored with the data version it belongs to (graph/results.py: beside a SQLite store, inside Neo4j), so a
page's first view reads it instead of computing it. While a new version is being computed, pages show the
previous one, labelled as such (:func:`stale_note`).

Each analysis declares what it depends on (:data:`DEPENDS`): a coordinator's contact changes the
"contacts" version only, which the outreach list depends on and no network analysis does; account changes
and the audit log are in no version at all.

Results are shaped for their audience before they are stored (the loaders of dashboard/data.py shape them,
as when they compute on a page view), and are keyed by audience and site scope: a funder's page reads only
what was computed for funders. Payloads are pickles signed with an HMAC (a key derived from the
deployment's pseudonym secret), so the store never hands a page a payload that this deployment did not
write.
"""
from __future__ import annotations

import hashlib
import hmac
import json
import multiprocessing
import os
import pickle
import queue
import sys
import threading
import time
import traceback
from collections import OrderedDict
from contextlib import contextmanager
from datetime import datetime, timezone

from civicties import settings
from graph.results import ResultStore, results_for, write_mark

__all__ = ["DEPENDS", "version_of", "store_counts", "bump", "serve", "start_background", "run", "status", "stale_note",
           "clear", "plan", "stored"]

#: What each stored analysis depends on (the versions its key carries).
DEPENDS = {
    "overview": ("network",), "bridging": ("network",), "mixing": ("network",), "pipeline": ("network",),
    "quality": ("network",), "group_network": ("network",), "outreach": ("network",), "sites": ("network",),
    "families": ("network",), "family_contacts": ("network",), "supports": ("network",), "unmatched": ("network",),
    "explorer": ("network",),
}
#: How long each analysis takes, roughly (the worker computes the quick ones first).
_COST = {"sites": 0, "families": 0, "family_contacts": 0, "unmatched": 0,
         "quality": 1, "mixing": 1, "outreach": 2, "pipeline": 3, "overview": 4,
         "supports": 4, "bridging": 5, "explorer": 6}
#: The store's node labels whose changes move each version.
_LABELS = {"contacts": ("Contact",)}
_STATUS_KEY = "analyses_status"

_memo: OrderedDict = OrderedDict()          # (key, version) -> value, this process's recent reads
_memo_lock = threading.Lock()
_MEMO_SIZE = 96
_local = threading.local()
_worker_lock = threading.Lock()
_worker: dict = {"thread": None}
_THREAD = "civicties-analyses"          # the app's worker thread


# -- versions ---------------------------------------------------------------------------------------------

def version_of(store, depends: tuple[str, ...] = ("network",)) -> str:
    """The data version an analysis depending on ``depends`` belongs to: per dependency, the counter that
    writes bump (kept in the store, so every process agrees) and the counts of what it covers (so a change
    written by a tool that does not bump is seen too). "raw" is the data as loaded (see :func:`bump`)."""
    counts = store_counts(store)
    contact_labels = set(_LABELS["contacts"])
    parts = []
    for dep in depends:
        if dep == "contacts":
            covered = {k: v for k, v in counts.items() if k in contact_labels}
        else:
            covered = {k: v for k, v in counts.items() if k not in contact_labels}
        digest = hashlib.sha256(json.dumps(sorted(covered.items())).encode()).hexdigest()[:12]
        parts.append(f"{dep}={store.get_meta(f'version:{dep}') or '0'}.{digest}")
    parts.append(f"settings={_settings_fingerprint()}")
    return "|".join(parts)


_counts_memo: dict = {}        # store uri -> (write mark, counts)
_counts_lock = threading.Lock()


def store_counts(store) -> dict[str, int]:
    """``store.counts()``, counted again only after something was written to the store (by any process;
    graph.results.write_mark), so a page's run, which asks for the data version, does not count 1.6
    million rows each time (about half a second at 100,000 parents). A store without a cheap mark of its
    writes (Neo4j) is counted each time."""
    mark = write_mark(store)
    if mark is not None:
        with _counts_lock:
            hit = _counts_memo.get(store.uri)
        if hit is not None and hit[0] == mark:
            return dict(hit[1])
    counts = store.counts()
    if mark is not None:
        with _counts_lock:
            _counts_memo[store.uri] = (mark, counts)
    return dict(counts)


def _core(version: str) -> tuple[str, str]:
    """The network and settings parts of a version (what a worker's run and a page's result share)."""
    parts = version.split("|")
    return parts[0], parts[-1]


#: Settings that cannot change what an analysis holds (where the store is and how to reach it, sign-in and
#: sessions, what a file to load may hold, whether the app starts the worker): left out of the data version,
#: so that `civicties analyse` run from cron with another environment than the app's stores results the app
#: reads.
_NOT_SHAPING = frozenset({
    "CIVICTIES_STORE", "CIVICTIES_DATA_DIR", "NEO4J_URI", "NEO4J_USER", "NEO4J_PASSWORD", "NEO4J_DATABASE",
    "CIVICTIES_DEMO_PARENTS", "CIVICTIES_SESSION_IDLE_SECONDS", "CIVICTIES_SESSION_MAX_SECONDS",
    "CIVICTIES_SIGNIN_MAX_FAILURES", "CIVICTIES_SIGNIN_SOURCE_MAX_FAILURES", "CIVICTIES_SIGNIN_LOCKOUT_SECONDS",
    "CIVICTIES_MIN_PASSWORD_LENGTH", "CIVICTIES_MAX_FILE_MB", "CIVICTIES_MAX_XLSX_PART_MB",
    "CIVICTIES_MAX_XLSX_RATIO", "CIVICTIES_MAX_ROWS", "CIVICTIES_MAX_COLUMNS", "CIVICTIES_MAX_CELL_CHARS",
    "CIVICTIES_MAX_PROBLEMS_PER_KIND", "CIVICTIES_BACKGROUND_ANALYSES",
})


def _settings_fingerprint() -> str:
    """The settings the analyses are shaped by (the funder threshold, consent default, k, thresholds, the
    pseudonym secret...) and the code that computes them, hashed: a result computed under other settings, or
    by another release (whose results may differ or be shaped differently), is never served, not even as the
    previous version."""
    values = {name: settings.get(name) for name in sorted(settings.SETTINGS) if name not in _NOT_SHAPING}
    values["code"] = _code_fingerprint()
    return hashlib.sha256(json.dumps(values, sort_keys=True).encode()).hexdigest()[:12]


_CODE = ("queries", "graph", "ingest", "civicties", "dashboard")
_code_memo: list = []


def _code_fingerprint() -> str:
    """A hash of the source that computes and shapes the stored analyses (the packages above, the explorer's
    page templates; not the pages, which only show them), read once per process: the app and a cron
    `civicties analyse` of the same release agree, and an upgrade recomputes instead of unpickling results
    of another shape."""
    if not _code_memo:
        from pathlib import Path
        root = Path(__file__).resolve().parents[1]
        digest = hashlib.sha256()
        for folder in _CODE:
            for path in sorted((root / folder).rglob("*")):
                rel = path.relative_to(root).as_posix()
                if (path.is_file() and path.suffix in (".py", ".html", ".js") and "/pages/" not in f"/{rel}"
                        and "__pycache__" not in rel):
                    digest.update(rel.encode() + b"\0" + path.read_bytes() + b"\0")
        _code_memo.append(digest.hexdigest()[:12])
    return _code_memo[0]


def bump(store, changed: tuple[str, ...] = ("network",), *, raw: bool = True) -> None:
    """Record that the program's data changed (``changed``: which dependencies). A change of the network
    also moves the "raw" version (the data as loaded, before matches are applied) unless ``raw`` is False:
    a match decision changes the network the pages see, not the records the matcher compares."""
    deps = tuple(changed) + (("raw",) if raw and "network" in changed else ())
    for dep in deps:
        current = store.get_meta(f"version:{dep}") or "0"
        store.set_meta(f"version:{dep}", str(int(current) + 1 if current.isdigit() else 1))


# -- payloads ---------------------------------------------------------------------------------------------

def _hmac_key() -> bytes:
    return hmac.new(settings.pseudonym_secret().encode(), b"civicties stored analyses", hashlib.sha256).digest()


def _pack(value) -> bytes:
    body = pickle.dumps(value, protocol=pickle.HIGHEST_PROTOCOL)
    return hmac.new(_hmac_key(), body, hashlib.sha256).digest() + body


def _unpack(payload: bytes):
    mac, body = payload[:32], payload[32:]
    if not hmac.compare_digest(mac, hmac.new(_hmac_key(), body, hashlib.sha256).digest()):
        return None                     # not written by this deployment (or another secret): ignore it
    return pickle.loads(body)           # noqa: S301 -- signed by us, see above


def key(name: str, args: tuple) -> str:
    """The stored result's key: the analysis and its arguments (audience, sites, options)."""
    return name + ":" + json.dumps(list(args), default=str)


# -- serving a page ---------------------------------------------------------------------------------------

_results_cache: dict = {}
_results_lock = threading.Lock()


def _results(store) -> ResultStore:
    with _results_lock:
        r = _results_cache.get(id(store))
        if r is None or r[0] is not store:
            r = _results_cache[id(store)] = (store, results_for(store))
        return r[1]


def _remember(k: tuple, value) -> None:
    with _memo_lock:
        _memo[k] = value
        _memo.move_to_end(k)
        while len(_memo) > _MEMO_SIZE:
            _memo.popitem(last=False)


def serve(store, name: str, compute, args: tuple, version: str):
    """The result of ``compute(*args, uri, version)`` for this data version: from this process's memory,
    else the stored results, else -- while the worker computes this version -- the previous version's
    (noted for :func:`stale_note`), else computed now and stored."""
    k = f"{store.uri}\n{key(name, args)}"
    with _memo_lock:
        if (k, version) in _memo:
            _memo.move_to_end((k, version))
            return _memo[k, version]
    results = _results(store)
    stored_key = key(name, args)
    payload = results.get(stored_key, version)
    value = _unpack(payload) if payload is not None else None
    if value is not None:
        _remember((k, version), value)
        return value
    if not getattr(_local, "worker", False) and _computing(store, version):
        old = results.latest(stored_key)
        # only a result shaped under the same settings (a threshold raised since must never show the old)
        if old is not None and _core(old[0])[1] == _core(version)[1] and (previous := _unpack(old[1])) is not None:
            _note_stale(name)
            return previous
    value = compute(*args, store.uri, version)
    results.put(stored_key, version, _pack(value))
    _remember((k, version), value)
    return value


def keeps_memory() -> bool:
    """Whether what is computed now may be kept in this process's memory for the pages: on a page view or in
    the app's worker thread, not in `civicties analyse` or the second process, which no page reads (at 100,000
    parents the explorer's kept networks raised their peaks to 1.9 GiB each)."""
    return not getattr(_local, "worker", False) or threading.current_thread().name == _THREAD


def _note_stale(name: str) -> None:
    notes = getattr(_local, "stale", None)
    if notes is None:
        notes = _local.stale = set()
    notes.add(name)


def stale_note(reset: bool = True) -> set[str]:
    """The analyses this thread (one page run) showed from the previous data version; emptied when read."""
    notes = set(getattr(_local, "stale", None) or ())
    if reset:
        _local.stale = set()
    return notes


def stored(store, version: str) -> bool:
    """Whether any analysis of this (network) data version is stored."""
    return any(_core(v) == _core(version) for v in _results(store).versions())


def clear(store) -> None:
    """Forget every stored result (after an erasure: stored results may hold the erased people's names)."""
    _results(store).clear()
    with _memo_lock:
        _memo.clear()


# -- the worker -------------------------------------------------------------------------------------------

def status(store) -> dict:
    """The worker's last state: {state: idle|running|done|failed, version, done, total, started_at,
    finished_at, seconds, error}."""
    raw = store.get_meta(_STATUS_KEY)
    return json.loads(raw) if raw else {"state": "idle"}


def _set_status(store, **fields) -> None:
    store.set_meta(_STATUS_KEY, json.dumps(fields))


def _computing(store, version: str) -> bool:
    s = status(store)
    if s.get("state") != "running":
        return False
    fresh = time.time() - s.get("heartbeat", 0) < 600        # a worker that died is not waited for
    return fresh and _core(s.get("version", "")) == _core(version)


def plan(store, changed: tuple[str, ...] = ("network",)) -> list[tuple]:
    """What the pages show, for every audience and every coordinator's site scope: a list of
    (loader name, principal, extra args), only the analyses that depend on something in ``changed``."""
    from dashboard import accounts, data
    from dashboard.accounts import Principal
    principals = [Principal(username="analyses", role=r) for r in ("admin", "evaluator", "funder")]
    seen = {(p.audience, p.site_scope) for p in principals}
    for account in store.list_accounts():
        if account.get("disabled") or account.get("role") != "coordinator":
            continue
        p = Principal(username="analyses", role="coordinator", sites=tuple(account.get("sites") or ()))
        if (p.audience, p.site_scope) not in seen:
            seen.add((p.audience, p.site_scope))
            principals.append(p)
    waves = data.wave_names()
    jobs = [("sites", None, ())]
    for p in principals:
        jobs += [("overview", p, ()), ("bridging", p, ()), ("outreach", p, ()), ("quality", p, ()), ("explorer", p, ())]
        jobs.append(("supports", p, ()))
        if p.audience == "coordinator":
            jobs.append(("families", None, (p.site_scope,)))
        if p.audience in ("admin", "coordinator"):
            jobs.append(("family_contacts", None, (p.site_scope,)))
            jobs.append(("unmatched", None, (p.site_scope,)))
        jobs += [("pipeline", p, (by,)) for by in data.PIPELINE_BY]
        jobs += [("mixing", p, (attr, w)) for attr in data.ATTRIBUTES for w in [None] + waves]
    del accounts
    # the quick ones first, the permutation tests last: most pages are ready within seconds of a load
    jobs.sort(key=lambda j: _COST.get(j[0], 3))
    return [j for j in jobs if set(DEPENDS[j[0]]) & set(changed)]


#: From this many people (and with two or more cores) the worker computes half of the analyses in a second
#: process: the two halves read different datasets (admins and coordinators; evaluators and funders), so
#: they share nothing, and at 100,000 parents each takes about half the time.
PARALLEL_FROM = 20_000


def _loaders() -> dict:
    from dashboard import data
    return {"overview": data.load_overview, "bridging": data.load_bridging, "outreach": data.load_outreach,
            "quality": data.load_data_quality, "pipeline": data.load_pipeline, "mixing": data.load_mixing,
            "sites": data.site_ids, "families": data.family_ids, "supports": data.load_supports,
            "family_contacts": data.family_contacts, "unmatched": data.unmatched_names,
            "explorer": data.load_explorer}


def _compute(jobs: list[tuple], done=None) -> list[tuple]:
    """Run the loaders of ``jobs`` (each stores its result through :func:`serve`); call ``done(i)`` after each.
    Returns (seconds, name, principal, args) per job."""
    loaders = _loaders()
    took = []
    _local.worker = True                 # the worker computes this version: never served the previous one
    try:
        for i, (name, principal, args) in enumerate(jobs, 1):
            t0 = time.perf_counter()
            if principal is None:
                loaders[name](*args)
            else:
                loaders[name](principal, *args)
            took.append((time.perf_counter() - t0, name, principal, args))
            if done is not None:
                done(i)
    finally:
        _local.worker = False
    return took


def _split(jobs: list[tuple]) -> tuple[list[tuple], list[tuple]]:
    """(this process's jobs, the second process's): evaluators' and funders' analyses (the consenting
    people's dataset) apart from the admins', the coordinators' and the audience-free ones (everyone's data)."""
    second = [j for j in jobs if j[1] is not None and j[1].audience in ("evaluator", "funder")]
    return [j for j in jobs if j not in second], second


def _parallel(store, jobs: list, processes: int | None) -> bool:
    if processes is not None:
        return processes > 1 and len(jobs) > 1
    return (os.cpu_count() or 1) >= 2 and store_counts(store).get("Person", 0) >= PARALLEL_FROM


_main_lock = threading.Lock()


@contextmanager
def _plain_main():
    """While a spawned process starts, a ``__main__`` with no file: spawn runs the parent's main script again in
    the child, and in the app that is streamlit_app.py (Streamlit installs each script run as ``__main__``),
    which fails there without a session, so the second process died at once and the app computed everything
    in one (measured: a test that ran the app first, then the worker). Restored as it was, unless a script run
    replaced it meanwhile."""
    import types
    with _main_lock:
        saved = sys.modules.get("__main__")
        stub = types.ModuleType("__main__")
        sys.modules["__main__"] = stub
        try:
            yield
        finally:
            if sys.modules.get("__main__") is stub:
                if saved is None:
                    del sys.modules["__main__"]
                else:
                    sys.modules["__main__"] = saved


def _child(uri: str, jobs: list[tuple], done, results) -> None:
    """The second process: compute ``jobs`` on the store at ``uri`` and store them (spawned: nothing is
    inherited but the environment, so it is safe from a threaded app server)."""
    os.environ["CIVICTIES_STORE"] = uri
    try:
        def count(_i):
            with done.get_lock():
                done.value += 1
        took = _compute(jobs, count)
        results.put(("ok", [(sec, name, p, args) for sec, name, p, args in took], _peak_mib()))
    except BaseException as e:          # noqa: BLE001 -- reported to the parent, which computes what is left
        results.put(("failed", f"{type(e).__name__}: {e}"))


def _peak_mib() -> int | None:
    """This process's peak resident memory (MiB), where the platform tells it."""
    try:
        import resource
    except ImportError:             # not on Windows
        return None
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return round(peak / (1024 * 1024 if sys.platform == "darwin" else 1024))


def run(store, changed: tuple[str, ...] = ("network",), *, progress=None, processes: int | None = None) -> dict:
    """Compute and store every planned analysis for the current data version (foreground). Returns the
    final status. ``progress(done, total)`` is called after each. ``processes``: 2 to compute half of them in a
    second process, 1 for none; None: two from :data:`PARALLEL_FROM` people on two or more cores."""
    from dashboard import data
    version = version_of(store, ("network", "contacts"))
    jobs = plan(store, changed)
    started = time.time()
    info = {"state": "running", "version": version, "done": 0, "total": len(jobs), "changed": list(changed),
            "started_at": datetime.now(timezone.utc).isoformat(timespec="seconds"), "heartbeat": started}
    _set_status(store, **info)
    try:
        mine, theirs = _split(jobs) if _parallel(store, jobs, processes) else (jobs, [])
        info["processes"] = 2 if theirs else 1
        child = None
        if theirs:
            ctx = multiprocessing.get_context("spawn")
            done_there, results = ctx.Value("i", 0), ctx.Queue()
            child = ctx.Process(target=_child, args=(store.uri, theirs, done_there, results), daemon=True,
                                name="civicties-analyses-2")
            with _plain_main():
                child.start()
        done_here = [0]

        def tick(i):
            done_here[0] = i
            total_done = i + (done_there.value if child is not None else 0)
            info.update(done=total_done, heartbeat=time.time())
            if i % 5 == 0:
                _set_status(store, **info)
            if progress is not None:
                progress(total_done, len(jobs))

        took = _compute(mine, tick)
        if child is not None:
            outcome = None
            while outcome is None:
                try:
                    outcome = results.get(timeout=5)
                except queue.Empty:
                    if not child.is_alive() and results.empty():
                        outcome = ("failed", f"the second process ended with exit code {child.exitcode}")
                    else:
                        tick(done_here[0])       # its progress and a heartbeat while waiting
            child.join(timeout=30)
            info["second_process"] = "ok" if outcome[0] == "ok" else outcome[1]
            if outcome[0] == "ok":
                took += outcome[1]
                info["peak_mib_second_process"] = outcome[2]
            else:                            # compute here whatever it did not store (stored ones are read back)
                print(f"civicties: the second analysis process failed ({outcome[1]}); computing its part here",
                      file=sys.stderr)
                took += _compute(theirs)
        info.update(done=len(jobs), heartbeat=time.time())
        _set_status(store, **info)
        if progress is not None:
            progress(len(jobs), len(jobs))
        kept = {version_of(store, DEPENDS[n]) for n in DEPENDS}
        _results(store).prune(kept)
        info.update(state="done", seconds=round(time.time() - started, 1), peak_mib=_peak_mib(),
                    finished_at=datetime.now(timezone.utc).isoformat(timespec="seconds"),
                    slowest=_slowest(took))
    except Exception as e:          # noqa: BLE001 -- recorded for the sidebar and the CLI, then re-raised
        info.update(state="failed", error=f"{type(e).__name__}: {e}", seconds=round(time.time() - started, 1))
        _set_status(store, **info)
        traceback.print_exc()
        raise
    _set_status(store, **info)
    if hasattr(store, "_call"):
        from dashboard import writeback
        info["written_back"] = writeback.write_person_measures(store, version.split("|")[0],
                                                               data.full_dataset(*data.data_key()))
    return info


def _slowest(took: list, n: int = 8) -> list[dict]:
    """The n analyses that took longest (what to make faster next): analysis, audience, sites, options,
    seconds. Work shared between audiences is counted where it ran first."""
    return [{"analysis": name, "audience": None if p is None else p.audience,
             "sites": None if p is None else p.site_scope, "options": list(args), "seconds": round(sec, 2)}
            for sec, name, p, args in sorted(took, key=lambda t: -t[0])[:n]]


def start_background(store, changed: tuple[str, ...] = ("network",)) -> bool:
    """Start the worker thread for the current data version (False when one is already running in this
    process: it picks the newest version up when it starts its next run)."""
    with _worker_lock:
        t = _worker.get("thread")
        if t is not None and t.is_alive():
            _worker["again"] = tuple(sorted(set(_worker.get("again", ())) | set(changed)))
            return False

        def work(changed=changed):
            while True:
                try:
                    run(store, changed)
                except Exception:        # noqa: BLE001 -- recorded in the status by run()
                    pass
                with _worker_lock:
                    again = _worker.pop("again", None)
                    if not again:
                        _worker["thread"] = None
                        return
                    changed = again

        t = threading.Thread(target=work, name=_THREAD, daemon=True)
        _worker["thread"] = t
        t.start()
        return True
