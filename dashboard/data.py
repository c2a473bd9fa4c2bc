"""Where the dashboard's data comes from: the store, and cached loaders shaped for the signed-in principal.

Every loader takes the signed-in principal (dashboard.accounts.Principal: role and sites) and enforces it
here, where the data is fetched, so a page cannot show more than its reader may see:

- admin: everything, names included, every site;
- coordinator: names and contact details, but only of the sites of their account: every analysis runs on
  queries.privacy.restrict_to_sites, so another site's people never leave the server;
- evaluator: the same analyses on pseudonymized data (queries.privacy.for_audience): no names;
- funder: aggregates only, every count from 1 to CIVICTIES_MIN_COUNT - 1 shown as "<N"; never a
  person id, family id or name.

Cache keys hold the audience and site scope (never the page's say), the store URI and the store's data
version, so an upload or a recorded contact shows on the next run without restarting the app. On the first
run an empty store gets the demo network (CIVICTIES_DEMO_PARENTS parents) and the demo accounts.
"""
from __future__ import annotations

import math
import tempfile
import threading
import time
import weakref
from datetime import date

import networkx as nx
import numpy as np
import pandas as pd
import streamlit as st

from civicties import settings
from dashboard import accounts
from dashboard.accounts import Principal
from dashboard import analyses
from graph.contacts import read_contacts
from graph.dataset import Dataset
from graph.errors import StoreError
from graph.store import Store, default_store_uri, open_store
from ingest.demo import write_demo
from ingest.load import LoadReport, check_package, load_package, raw_from_uploads
from ingest.problems import IngestError, Problem
from queries import (disclosure, export, findings, formation, homophily, inference, kanon, outreach, panel, pipeline,
                     privacy)
from queries.network import snapshots_by_year, tie_arrays
from queries.summary import headline_metrics

__all__ = [
    "AUDIENCES", "ATTRIBUTES", "PERMUTATIONS", "get_store", "store_info", "min_count", "changed",
    "load_overview", "load_bridging", "load_mixing", "load_outreach", "record_contact", "load_pipeline",
    "load_data_quality", "check_upload", "load_upload", "load_graph_file", "data_key", "full_dataset",
    "audience_dataset", "site_dataset", "load_group_network", "prepare_store", "scope", "audit_download", "analysis_dataset",
    "readable_cohort_panel", "cohort_results_csv", "person_metrics_csv", "dictionary_csv",
]

AUDIENCES = tuple(privacy.AUDIENCES)
# Attributes a mixing matrix can be drawn for, with the words people use for them.
ATTRIBUTES = {"race_ethnicity": "race/ethnicity", "income_band": "income (class)",
              "primary_language": "primary language", "site_id": "site", "neighborhood": "neighborhood"}
PERMUTATIONS = 1000  # enough for p-values to two decimals; ~1 s per cohort table on the demo

_version_memo: dict = {}   # uri -> (monotonic time, version): the version is read at most every half second
_writes_lock = threading.Lock()


# -- the store --------------------------------------------------------------------------------------------

@st.cache_resource(show_spinner=False)
def _open(uri: str) -> Store:
    return open_store(uri)


@st.cache_resource(show_spinner="Loading the demo network into the empty store…")
def _ensure_data(uri: str) -> bool:
    """Load the demo into an empty store (once per store per process); True when the demo was loaded."""
    store = _open(uri)
    if not store.is_empty():
        return False
    with tempfile.TemporaryDirectory() as folder:
        write_demo(folder, parents=settings.get_int("CIVICTIES_DEMO_PARENTS"))
        load_package(folder, store, demo=True)
    analyses.bump(store)
    with _writes_lock:
        _version_memo.clear()
    return True


def get_store() -> Store:
    """The store in use, with data in it. Raises StoreError (shown by the page) when it cannot be opened."""
    uri = default_store_uri()
    store = _open(uri)
    _ensure_data(uri)
    return store


def prepare_store() -> Store:
    """The store, with the demo loaded into it if it was empty and the demo accounts in step with it
    (enabled while it holds only the demo, disabled once real data is loaded). Reads no program data."""
    store = get_store()
    accounts.sync_demo_accounts(store)
    _ensure_analysed(store)
    return store


_analysed: set = set()


def _ensure_analysed(store: Store) -> None:
    """Start computing the analyses of the current data version in the background, once per version and
    process, unless they are stored already (e.g. by `civicties analyse` or another app process)."""
    version = _version(store)
    if (store.uri, version) in _analysed or not background_enabled():
        return
    _analysed.add((store.uri, version))
    if analyses.status(store).get("state") != "running" and not analyses.stored(store, version):
        analyses.start_background(store)


def background_enabled() -> bool:
    return settings.get("CIVICTIES_BACKGROUND_ANALYSES") != "0"


def store_info() -> dict:
    """What the sidebar and the Data page say about the store: label, whether it holds the demo, counts."""
    store = get_store()
    return {"label": store.label, "demo": accounts.is_demo_store(store), "counts": analyses.store_counts(store)}


def scope(principal: Principal) -> tuple[str, tuple[str, ...] | None]:
    """(audience, sites) a principal's data is shaped by; refuses anything but a Principal."""
    if not isinstance(principal, Principal):
        raise TypeError(f"loaders take the signed-in Principal, not {type(principal).__name__}")
    return principal.audience, principal.site_scope


def site_ids() -> list[str]:
    """Every site of the store (for admins choosing sites for an account or a "view as")."""
    return _serve("sites", _site_ids, ())


def family_contacts(sites: tuple[str, ...] | None) -> dict:
    """family_id -> its parents as [{person_id, name, phone, email}] for some sites (None: all): the call
    list's phone book, stored with the analyses so that the Outreach page never reads the store for it.
    Whether a principal may see contact details is checked by its caller (dashboard.family)."""
    return _serve("family_contacts", _family_contacts, (sites,))


@st.cache_data(show_spinner=False, max_entries=8)
def _family_contacts(sites, uri: str, version: str) -> dict:
    from dashboard.family import contacts_of
    return contacts_of(site_dataset(sites, uri, version).people)


def load_unmatched_names(principal: Principal) -> pd.DataFrame:
    """The names written in the ties of the principal's sites that matched nobody, to fix at the source: name
    written, mentions, named by (person ids). Coordinators and admins only (their own sites' answers); stored
    with the analyses per site scope, so the Data page does not read the store for it."""
    if not principal.may("record_contact"):
        raise PermissionError("the names that matched nobody are for coordinators and admins")
    _audience, sites = scope(principal)
    return unmatched_names(sites)


def unmatched_names(sites: tuple[str, ...] | None) -> pd.DataFrame:
    """:func:`load_unmatched_names` for some sites (None: all); the caller checks who may see them."""
    return _serve("unmatched", _unmatched_names, (sites,))


@st.cache_data(show_spinner=False, max_entries=8)
def _unmatched_names(sites, uri: str, version: str) -> pd.DataFrame:
    ties = site_dataset(sites, uri, version).ties
    loose = ties[ties["to_person_id"].isna() & ties["to_name"].notna()]
    return (loose.groupby("to_name").agg(mentions=("from_person_id", "size"),
                                         named_by=("from_person_id", lambda s: ", ".join(sorted(set(s)))))
            .reset_index().rename(columns={"to_name": "name written", "named_by": "named by"})
            .sort_values(["mentions", "name written"], ascending=[False, True]).reset_index(drop=True))


@st.cache_data(show_spinner=False, max_entries=8)
def _families(sites, uri: str, version: str) -> list[str]:
    """The families of some sites (None: all): whom a coordinator may record a contact for."""
    return sorted(str(f) for f in site_dataset(sites, uri, version).people["family_id"].dropna().unique())


@st.cache_data(show_spinner=False, max_entries=4)
def _site_ids(uri: str, version: str) -> list[str]:
    return sorted(str(s) for s in full_dataset(uri, version).sites["site_id"].dropna())


def min_count() -> int:
    return settings.get_int("CIVICTIES_MIN_COUNT")


def changed(what: tuple[str, ...] = ("network",), *, raw: bool = True) -> None:
    """The program's data changed (a load, a record, a survey, an erasure: "network"; a contact: "contacts"):
    move the data version (kept in the store, so every app process sees it) and, for the network, start
    computing the analyses of the new version in the background (dashboard/analyses.py). ``raw=False``: a
    match decision, which leaves the records as loaded (and :func:`review_records`) as they were."""
    store = get_store()
    analyses.bump(store, what, raw=raw)
    with _writes_lock:
        _version_memo.clear()
    if "network" in what and background_enabled():
        analyses.start_background(store)


def _version(store: Store, depends: tuple[str, ...] = ("network",)) -> str:
    """The data version of what depends on ``depends`` (dashboard/analyses.py): moved by every write of
    the program's data, not by sign-ins, the audit log or account changes."""
    now = time.monotonic()
    memo_key = (store.uri, depends)
    with _writes_lock:
        hit = _version_memo.get(memo_key)
    if hit is not None and now - hit[0] < 0.5:
        return hit[1]
    version = analyses.version_of(store, depends)
    with _writes_lock:
        _version_memo[memo_key] = (now, version)
    return version


def _serve(name: str, compute, args: tuple):
    """A page's analysis: stored for the current data version, or computed and stored (analyses.serve)."""
    store = get_store()
    return analyses.serve(store, name, compute, tuple(args), _version(store))


def family_ids(sites: tuple[str, ...] | None) -> list[str]:
    """The families of some sites (None: every site), stored with the analyses."""
    return _serve("families", _families, (sites,))


def review_records():
    """The matcher's records of everyone as loaded (ingest.match.build_records, indexed by record id), read
    once per version of the data as loaded: a match decision does not move it, so the review page reads the
    store once, not after every decision (7.5 s at 100,000 parents)."""
    store = get_store()
    return _review_records(store.uri, analyses.version_of(store, ("raw",)))


@st.cache_resource(show_spinner="Reading the records to compare…", max_entries=2)
def _review_records(uri: str, raw_version: str, _raw: Dataset | None = None):
    from graph import matches
    from ingest import match
    raw = matches.read_raw(_open(uri)) if _raw is None else _raw
    return match.build_records(raw).set_index("rid", drop=False)


@st.cache_resource(show_spinner=False, max_entries=8)
def record_choices(principal: Principal, uri: str, version: str):
    """What record entry's pickers offer a principal: their sites' people by name (a frame), their labels and
    the families with their members' names (dashboard.records), once per principal and data version (sorting
    215,000 people twice took 0.9 s of every rerun at 100,000 parents; staff sign-in computes it ahead)."""
    from dashboard import records
    site_ds = site_dataset(principal.site_scope, uri, version)
    people = records.people_at(principal, site_ds)
    labels = {p: f"{n or p} ({p})" for p, n in zip(people["person_id"], people["name"])}
    return people, labels, records.families_at(principal, site_ds)


_warm: set = set()      # (store, data version[, principal]) already read ahead in this process
_warm_lock = threading.Lock()


def warm_up(principal: Principal | None = None) -> None:
    """Read the whole dataset, what record entry offers `principal` and the matcher's records in a background
    thread, once per data version and process, when staff sign in. Their working pages (the family card,
    record entry, matching) need the data itself, not stored analyses; a process started on results stored by
    another (``civicties analyse``, a second app process) would otherwise read 1.6 million rows (7.5 s at
    100,000 parents) on the first of them.
    The caches lock per key, so a page that needs the data meanwhile waits for this read, not for a second.
    Off where the app does not compute analyses itself (CIVICTIES_BACKGROUND_ANALYSES=0: tests, benches)."""
    if not background_enabled():
        return
    try:
        uri, version = data_key()
    except StoreError:
        return
    data_key_, choices_key = (uri, version), (uri, version, principal)
    with _warm_lock:
        keys = [k for k in (data_key_, choices_key if principal is not None else None)
                if k is not None and k not in _warm]
        if not keys:
            return
        _warm.update(keys)

    def read() -> None:
        try:
            if data_key_ in keys:
                from graph import matches
                store = _open(uri)
                raw_version = analyses.version_of(store, ("raw",))
                raw = matches.read_raw(store)       # read once: the pages' dataset and the matcher's records
                full_dataset(uri, version, _raw=raw)
                _review_records(uri, raw_version, _raw=raw)
                del raw
            if choices_key in keys:
                record_choices(principal, uri, version)
        except Exception:                       # noqa: BLE001 -- a page that needs the data reports the problem
            with _warm_lock:
                _warm.difference_update(keys)
    threading.Thread(target=read, name="civicties-warm-up", daemon=True).start()


def wave_names() -> list[str]:
    """The survey waves of the data, in order."""
    return _waves(full_dataset(*data_key()))


def data_key() -> tuple[str, str]:
    store = get_store()
    return store.uri, _version(store)


@st.cache_resource(show_spinner="Reading the store…", max_entries=4)
def full_dataset(uri: str, version: str, _raw: Dataset | None = None) -> Dataset:
    """The full dataset (coordinator view). Shared, never mutated: loaders derive new frames from it.
    ``_raw``: the data as loaded, already read (:func:`warm_up`), to apply the accepted matches to."""
    return _open(uri).read(raw=_raw)


def site_dataset(sites: tuple[str, ...] | None, uri: str, version: str) -> Dataset:
    """The dataset of some sites (None: all), names included: what analyses run on before shaping."""
    if sites is None:
        return full_dataset(uri, version)
    return _site_dataset(tuple(sites), uri, version)


@st.cache_resource(show_spinner=False, max_entries=8)
def _site_dataset(sites: tuple[str, ...], uri: str, version: str) -> Dataset:
    return privacy.restrict_to_sites(full_dataset(uri, version), sites)


def analysis_dataset(audience: str, sites: tuple[str, ...] | None, uri: str, version: str) -> Dataset:
    """The dataset an audience's aggregate analyses run on, names still in (shaped afterwards): the sites'
    data for coordinators; for evaluators and funders without the people who did not consent (and
    everything about them), as if they were not in the data (queries.privacy.with_consent)."""
    if audience == "coordinator":
        return site_dataset(sites, uri, version)
    return _consented_dataset(sites, uri, version)


def consent_default() -> str:
    return settings.get("CIVICTIES_CONSENT_DEFAULT") or "yes"


@st.cache_resource(show_spinner=False, max_entries=4)
def _consented_dataset(sites: tuple[str, ...] | None, uri: str, version: str) -> Dataset:
    return privacy.with_consent(site_dataset(sites, uri, version), default=consent_default())


def audience_dataset(audience: str, sites: tuple[str, ...] | None, uri: str, version: str) -> Dataset:
    """The dataset an audience's per-person views run on: names for coordinators (of their sites),
    pseudonymized otherwise (evaluators and funders share one pseudonymized copy per scope; funders'
    aggregates are shaped later)."""
    if audience == "coordinator":
        return site_dataset(sites, uri, version)
    return _pseudonymized_dataset(sites, uri, version)


@st.cache_resource(show_spinner=False, max_entries=4)
def _pseudonymized_dataset(sites: tuple[str, ...] | None, uri: str, version: str) -> Dataset:
    return privacy.for_audience(site_dataset(sites, uri, version), "evaluator", salt=privacy.default_salt(uri),
                                consent_default=consent_default())


def _count(audience: str, n):
    """A count as the audience may see it: funders get small counts as '<N'."""
    if n is None or (isinstance(n, float) and math.isnan(n)):
        return None
    n = int(n)
    return privacy.suppress_small(n, min_count()) if audience == "funder" else n


def _waves(ds: Dataset) -> list[str]:
    """The survey waves in time order (queries.panel.wave_order: usual names, numbers, then by their dates);
    worked out once per dataset (it parses every tie's date)."""
    return list(_once_per_dataset("waves", ds, lambda d: panel.wave_order(d.ties["wave"], d.ties["observed_on"])))


def _with_ties(ds: Dataset, ties: pd.DataFrame) -> Dataset:
    return Dataset(tables={**ds.tables, "ties": ties}, contacts=ds.contacts)


_per_dataset: dict = {}          # (name, id(dataset)) -> (weak reference to the dataset, result)
_per_dataset_lock = threading.Lock()


def _once_per_dataset(name: str, ds: Dataset, compute):
    """``compute(ds)`` once per dataset object: the audiences whose analyses run on the same cached (never
    mutated) dataset share its audience-independent work (evaluators and funders; the Overview and the
    Bridging page of one scope), shaping it each afterwards. Callers do not mutate what it returns."""
    k = (name, id(ds))
    with _per_dataset_lock:
        hit = _per_dataset.get(k)
    if hit is not None and hit[0]() is ds:
        return hit[1]
    value = compute(ds)
    with _per_dataset_lock:
        for gone in [key for key, (ref, _v) in _per_dataset.items() if ref() is None]:
            del _per_dataset[gone]
        _per_dataset[k] = (weakref.ref(ds), value)
    return value


def _tie_arrays(ds: Dataset, waves: list[str] | None = None):
    """queries.network.tie_arrays of this dataset (all waves or some), built once per dataset: the Overview,
    the Bridging tests and every mixing matrix of a scope read the same networks (never mutated)."""
    return _once_per_dataset(f"tie_arrays:{waves!r}", ds, lambda d: tie_arrays(d, waves=waves))


# -- Overview ---------------------------------------------------------------------------------------------

def load_overview(principal: Principal) -> dict:
    """Headline numbers, the pre -> post change, tie composition, funnel, isolated families."""
    return _serve("overview", _overview, scope(principal))


@st.cache_data(show_spinner="Computing the headline numbers…", max_entries=12)
def _overview(audience: str, sites, uri: str, version: str) -> dict:
    ds = audience_dataset(audience, sites, uri, version)
    m = _once_per_dataset("headline", ds, headline_metrics)
    people = ds.people
    parents = people[people["role"].fillna("parent") == "parent"]
    waves = _waves(ds)
    wave_rows, composition = [], []
    for w in waves:
        Gw = _tie_arrays(ds, [w])
        bw = m["by_wave"].get(w, {})
        row = {"wave": w, "ties": _count(audience, Gw.number_of_edges()),
               "cross_race": bw.get("cross_race_tie_share"), "cross_class": bw.get("cross_class_tie_share")}
        for attr, name in (("race_ethnicity", "race"), ("income_band", "class")):
            if audience == "funder":       # the same protected totals as the heatmap and the tests
                totals = _funder_mixing(sites, attr, w, uri, version)[1]
                within, across = totals["within"], totals["across"]
                if not _share_shown(totals):
                    row["cross_race" if name == "race" else "cross_class"] = None
            else:
                M = homophily.mixing_matrix(Gw, attr).to_numpy()
                within = int(M.trace())
                across = int((M.sum() - within) / 2)
            composition.append({"wave": w, "attribute": name, "within": within, "across": across})
        wave_rows.append(row)
    iso = set(m["isolated"])
    fam = parents[parents["family_id"].notna()]
    every_parent_isolated = fam.assign(isolated=fam["person_id"].isin(iso)).groupby("family_id")["isolated"].all()
    isolated_families = sorted(every_parent_isolated.index[every_parent_isolated])
    comparison = _comparison(ds, audience)
    out = {
        "comparison": comparison,
        "headline": {
            "people": _count(audience, m["people"]),
            "parents": _count(audience, len(parents)),
            "families": _count(audience, fam["family_id"].nunique()),
            "ties": _count(audience, m["ties"]),
            "cross_race_share": _funder_share(audience, sites, "race_ethnicity", uri, version,
                                              m["cross_race_tie_share"]),
            "cross_class_share": _funder_share(audience, sites, "income_band", uri, version,
                                               m["cross_class_tie_share"]),
            "isolated_families": _count(audience, len(isolated_families)),
            "median_days_to_seat": m["median_days_to_seat"],
        },
        "waves": pd.DataFrame(wave_rows, columns=["wave", "ties", "cross_race", "cross_class"]),
        "composition": pd.DataFrame(composition, columns=["wave", "attribute", "within", "across"]),
        "funnel": {k: _count(audience, v) for k, v in m["funnel"].items()},
        "change": _since_last_cohort(ds, audience, ei_shown=lambda attr: _share_shown(
            _funder_mixing(sites, attr, None, uri, version)[1])),
        "isolated": None,
    }
    out["findings"] = findings.overview_findings(out["headline"], comparison)
    if audience != "funder":
        fam_rows = fam[fam["family_id"].isin(isolated_families)]
        fam_rows = fam_rows.assign(who=fam_rows["name"].fillna(fam_rows["person_id"]))
        out["isolated"] = (fam_rows.groupby("family_id")
                           .agg(site_id=("site_id", "first"), parents=("who", ", ".join),
                                neighborhood=("neighborhood", "first"))
                           .reset_index())
    return out


def _since_last_cohort(ds: Dataset, audience: str, ei_shown=None) -> dict | None:
    """The network before the most recent cohort started, against the network now (formation.tie_change)."""
    cohorts = ds.cohorts.dropna(subset=["start_date"])
    ties = ds.ties
    if cohorts.empty or ties.empty:
        return None
    observed = pd.to_datetime(ties["observed_on"], errors="coerce")
    today = pd.Timestamp(date.today())
    started = cohorts[pd.to_datetime(cohorts["start_date"], errors="coerce") <= max(today, observed.max())]
    if started.empty:
        return None
    last = started.sort_values("start_date").iloc[-1]
    since = pd.Timestamp(last["start_date"])
    before_ties = ties[observed.notna() & (observed < since)]

    def tie_change(ds):                 # shared by the audiences whose Overview runs on the same dataset
        before, after = tie_arrays(_with_ties(ds, before_ties)), _tie_arrays(ds)
        return after, formation.tie_change(before, after, n_permutations=PERMUTATIONS, seed=0)
    after, change = _once_per_dataset(f"tie_change:{since.isoformat()}", ds, tie_change)
    enr = ds.enrollments
    grads = enr[(enr["status"] == "graduated")
                & (pd.to_datetime(enr["completed_on"], errors="coerce") >= since)]["person_id"].nunique()
    seats = (pd.to_datetime(ds.appointments["start_date"], errors="coerce") >= since).sum()
    by_attr = change.get("by_attribute", {})
    out = {"cohort": str(last["cohort_id"]),
           "since": since.date().isoformat(),
           "new_ties": _count(audience, change["new_ties"]),
           "new_cross_race": _count(audience, change.get("new_cross_race")),
           "new_cross_class": _count(audience, change.get("new_cross_class")),
           "new_graduates": _count(audience, grads), "new_seats": _count(audience, int(seats)),
           "ei": {a: {k: v.get(k) for k in ("ei_before", "ei_after", "delta_ei", "expected_delta", "p_value")}
                  for a, v in by_attr.items()}}
    if audience == "funder":
        # "new" beside a total gives the old (total - new) away: each shown only where both are 0 or >= k
        k = min_count()
        totals = {"new_ties": after.m,
                  "new_graduates": enr.loc[enr["status"] == "graduated", "person_id"].nunique(),
                  "new_seats": len(ds.appointments)}
        news = {"new_ties": change["new_ties"], "new_graduates": grads, "new_seats": int(seats)}
        for key, attr in (("new_cross_race", "race_ethnicity"), ("new_cross_class", "income_band")):
            cross, _known = homophily.cross_tie_counts(after, attr)
            new_cross = change.get(key) or 0
            totals[key], news[key] = cross, new_cross
            if not disclosure.ratio_publishable(new_cross, change["new_ties"] - new_cross, k):
                out[key] = _count(audience, new_cross) if new_cross < k else privacy.SUPPRESSED
            if ei_shown is not None and not ei_shown(attr):
                out["ei"].pop(attr, None)
        for key, new in news.items():
            if isinstance(out[key], int) and not disclosure.ratio_publishable(new, totals[key] - new, k):
                out[key] = privacy.SUPPRESSED
    return out


# -- Bridging and tie formation --------------------------------------------------------------------------

def load_bridging(principal: Principal) -> dict:
    """Permutation tests per cohort and wave, the whole network per wave, and growth over time."""
    return _serve("bridging", _bridging, scope(principal))


@st.cache_data(show_spinner="Comparing ties with random mixing (permutation tests)…", max_entries=12)
def _bridging(audience: str, sites, uri: str, version: str) -> dict:
    # Tests run on the sites' data with names and are shaped afterwards: pseudonyms do not change the numbers.
    ds = analysis_dataset(audience, sites, uri, version)
    waves = _waves(ds)
    # the tests do not depend on the audience: evaluators and funders (the same cached dataset) share them
    graphs, tests, cohort_panel = _once_per_dataset("bridging", ds, _bridging_tests)
    tests = tests.copy()
    if audience == "funder":
        tests = _funder_tests(tests, {(w, a): _funder_mixing(sites, attr, w, uri, version)[1]
                                      for w in waves for attr, a in (("race_ethnicity", "race"),
                                                                     ("income_band", "class"))})
        cohort_panel = _funder_cohort_panel(cohort_panel)
    comparison = _comparison(ds, audience)
    everyone = tests[tests["cohort"].isna()].to_dict("records")
    cohorts = tests[tests["cohort"].notna()]
    return {"tests": tests, "growth_by_wave": _growth(graphs, audience, protected=(sites, uri, version)),
            "comparison": comparison,
            "cohort_panel": cohort_panel,
            "findings": findings.bridging_findings(everyone, comparison, cohort_p=cohorts["p_value"].tolist(),
                                                   cohort_q=cohorts["q_value"].tolist()),
            "growth_by_year": _growth(snapshots_by_year(ds), audience,
                                      cumulative_totals={"people": len(ds.people), "ties": _tie_arrays(ds).m}),
            "waves": waves}


def _bridging_tests(ds: Dataset) -> tuple[dict, pd.DataFrame, pd.DataFrame]:
    """Each wave's tie network, the permutation tests (whole network and every cohort, with q-values) and
    each cohort's same-respondent comparison, before any shaping."""
    waves = _waves(ds)
    graphs = {w: _tie_arrays(ds, [w]) for w in waves}
    members = {str(c): people for c, people in ds.enrollments.groupby("cohort_id")["person_id"].apply(set).items()}
    rows, by_cohort = [], []
    for w, G in graphs.items():
        rows += _tests(homophily.ei_permutation_tests(G, _TEST_ATTRS, n_permutations=PERMUTATIONS, seed=0),
                       group="all participants", cohort=None, wave=w)
        # every cohort's own ties (those touching a member), all cohorts in one batched pass
        per_cohort = homophily.group_ei_tests(G, members, _TEST_ATTRS, n_permutations=PERMUTATIONS, seed=0)
        degree = G.degree()
        by_cohort += [(c, w, results) for c, results in per_cohort.items() if _touches(G, members[c], degree)]
    for cohort_id, w, results in sorted(by_cohort, key=lambda x: (x[0], list(graphs).index(x[1]))):
        rows += _tests(results, group=cohort_id, cohort=cohort_id, wave=w)
    tests = pd.DataFrame(rows, columns=["group", "cohort", "wave", "attribute", "ties", "cross_ties",
                                        "expected_cross_ties", "observed", "expected", "sd", "p_value"])
    # many cohort tests at once: Benjamini-Hochberg q-values over the per-cohort table
    per_cohort = tests["cohort"].notna()
    tests["q_value"] = None
    tests.loc[per_cohort, "q_value"] = pd.Series(inference.bh_qvalues(tests.loc[per_cohort, "p_value"].tolist()),
                                                 index=tests.index[per_cohort], dtype=object)
    cohort_panel = (panel.cohort_wave_comparisons(ds, waves[0], waves[-1], n_boot=PANEL_BOOTSTRAP_COHORTS,
                                                  counts=_respondent_counts(ds))
                    if len(waves) >= 2 else panel.cohort_wave_comparisons(ds, n_boot=PANEL_BOOTSTRAP_COHORTS))
    return graphs, tests, cohort_panel


def readable_cohort_panel(table: pd.DataFrame) -> pd.DataFrame:
    """The per-cohort same-respondent table as people read it: shares as %, the change in points."""
    out = pd.DataFrame({
        "cohort": table["cohort"], "across": table["attribute"].map({"race_ethnicity": "race",
                                                                    "income_band": "class"}),
        "answered before": table["respondents_before"], "after": table["respondents_after"],
        "both": table["respondents_both"],
        "before (both)": [_pct(v) for v in table["panel_before"]], "after (both)": [_pct(v) for v in table["panel_after"]],
        "change (both)": [_pts(v) for v in table["panel_change"]],
        "95% interval": [f"{_pts(lo)} to {_pts(hi)}" if lo == lo and lo is not None else "–"
                         for lo, hi in zip(table["panel_change_low"], table["panel_change_high"])],
        "change (all respondents)": [_pts(v) for v in table["all_change"]]})
    for col in ("answered before", "after", "both"):
        out[col] = [v if isinstance(v, str) else f"{int(v):,}" for v in out[col]]
    return out


def _pct(v) -> str:
    return "–" if v is None or v != v else f"{v:.0%}"


def _pts(v) -> str:
    return "–" if v is None or v != v else f"{100 * v:+.0f} pts"


# What each column of the evaluator downloads means (the data dictionary).
DICTIONARY = [
    ("per-cohort results", "cohort", "Cohort id (cohorts.csv)."),
    ("per-cohort results", "wave", "Survey wave of the ties tested."),
    ("per-cohort results", "attribute", "race (race_ethnicity) or class (income_band)."),
    ("per-cohort results", "ties", "Ties touching a member of the cohort in that wave (union: either named the other)."),
    ("per-cohort results", "cross_ties", "Of those, ties between people of different groups."),
    ("per-cohort results", "expected_cross_ties", "Cross-group ties random mixing would give (mean of 1,000 label shuffles)."),
    ("per-cohort results", "observed", "E-I index of those ties: (across - within) / all, from -1 to +1."),
    ("per-cohort results", "expected", "E-I index random mixing would give."),
    ("per-cohort results", "sd", "Standard deviation of E-I under random mixing."),
    ("per-cohort results", "p_value", "Two-sided permutation p-value (Krackhardt & Stern 1988)."),
    ("per-cohort results", "q_value", "Benjamini-Hochberg q-value over all cohort tests shown together."),
    ("per-cohort results", "respondents_before / _after / _both", "Cohort members who named anyone in the first "
     "wave / the last wave / both."),
    ("per-cohort results", "panel_before / panel_after", "Share of the people named across group lines, by members "
     "who answered both waves."),
    ("per-cohort results", "panel_change, panel_change_low, panel_change_high", "Change in that share, with its 95% "
     "bootstrap interval over respondents (pairs resampled together)."),
    ("per-cohort results", "all_before / all_after / all_change", "The same over every member who answered each "
     "wave (mixes a change in who answered with a change in ties)."),
    ("per-person metrics", "person_id, family_id", "Pseudonyms for evaluators: p-/f- + 12 hex digits of "
     "HMAC-SHA256 (stable across downloads, not reversible without the program's secret)."),
    ("per-person metrics", "degree", "Number of people tied to the person (union network)."),
    ("per-person metrics", "betweenness", "Share of shortest paths between others through the person (Freeman 1977)."),
    ("per-person metrics", "constraint", "Burt's constraint: high = one's contacts all know each other (Burt 1992)."),
    ("per-person metrics", "effective_size", "Burt's effective size: non-redundant contacts (Burt 1992)."),
    ("per-person metrics", "ei_race_ethnicity, ei_income_band", "E-I of the person's own ties."),
    ("per-person metrics", "isolated", "No tie to anyone."),
    ("per-person metrics", "community", "Community found by Leiden/Louvain on the tie network."),
]


def dictionary_csv() -> bytes:
    return pd.DataFrame(DICTIONARY, columns=["file", "column", "meaning"]).to_csv(index=False).encode("utf-8")


def cohort_results_csv(principal: Principal) -> bytes:
    """Per-cohort results as one CSV: the permutation tests (with q-values) and each cohort's same-respondent
    comparison, for the principal's sites (no person in it)."""
    if not principal.may("download_people"):
        raise PermissionError("funders see the shaped tables on the page")
    result = load_bridging(principal)
    tests = result["tests"]
    tests = tests[tests["cohort"].notna()].drop(columns=["group"])
    tests = tests.assign(attribute=tests["attribute"].map({"race": "race_ethnicity", "class": "income_band"}))
    merged = tests.merge(result["cohort_panel"], on=["cohort", "attribute"], how="outer")
    return export.safe_frame(merged).to_csv(index=False).encode("utf-8")


def person_metrics_csv(principal: Principal) -> bytes:
    """Per-person network measures for the principal's sites: pseudonymized for evaluators (never funders)."""
    audience, sites = scope(principal)
    if not principal.may("download_people"):
        raise PermissionError("funders see aggregates only")
    return _person_metrics_csv(audience, sites, *data_key())


@st.cache_data(show_spinner="Measuring everyone…", max_entries=4)
def _person_metrics_csv(audience: str, sites, uri: str, version: str) -> bytes:
    ds, note = _export_dataset(audience, sites, uri, version)
    return export.person_metrics_csv(ds, note=note).encode("utf-8")


PANEL_BOOTSTRAP = 1000           # resamples for the whole network's same-respondent comparison
PANEL_BOOTSTRAP_COHORTS = 300    # per cohort (hundreds of cohorts at scale)


def _comparison(ds: Dataset, audience: str) -> dict | None:
    """The first and last survey waves compared on the same respondents (and on all), shaped for the audience."""
    def compare(d):
        waves = _waves(d)            # the first and the last, as panel.wave_pair picks them
        return panel.wave_comparison(d, waves[0], waves[-1], n_boot=PANEL_BOOTSTRAP,
                                     counts=_respondent_counts(d)) if len(waves) >= 2 else None
    comparison = _once_per_dataset("comparison", ds, compare)
    if comparison is not None and audience == "funder":
        comparison = _funder_comparison(comparison, min_count())
    return comparison


def _respondent_counts(ds: Dataset) -> dict:
    """Each respondent's ties and cross-group ties in the first and last waves (queries.panel), counted once per
    dataset for the whole-program comparison and every cohort's."""
    def count(d):
        waves = _waves(d)
        return {(w, attr): panel.respondent_counts(d, w, attr) for w in (waves[0], waves[-1]) for attr in _TEST_ATTRS}
    return _once_per_dataset("respondent_counts", ds, count)


def _funder_comparison(c: dict, k: int) -> dict:
    """Funders: respondent and tie counts suppressed; a share (and its interval, E-I and the change) only
    where its ties, cross-group ties and within-group ties are all at least k (none can be worked out).

    Counts that differ by a few give the few away: the respondents of one wave only (a wave's count minus
    those who answered both) and the ties of those respondents (all respondents' ties minus the panel's).
    A wave's respondent count is shown only where it differs from the panel's by 0 or at least k, and the
    all-respondents comparison only where its ties, cross- and within-group ties each differ from the
    panel's by 0 or at least k."""
    n = c["respondents"]
    resp = {w: disclosure.shown_value(int(v), 1 <= v < k or (w != "both" and 1 <= v - n["both"] < k), k)
            for w, v in n.items()}
    out = {**c, "respondents": resp, "by_attribute": {}}
    out["too_few"] = n["both"] < k
    for attr, kinds in c["by_attribute"].items():
        shaped = {}
        for kind, r in kinds.items():
            sides = {}
            for side in ("before", "after"):
                v = r[side]
                safe = min(v["ties"], v["cross"], v["ties"] - v["cross"]) >= k
                if kind != "panel":
                    p = kinds["panel"][side]
                    gaps = (v["ties"] - p["ties"], v["cross"] - p["cross"],
                            (v["ties"] - v["cross"]) - (p["ties"] - p["cross"]))
                    safe = safe and all(g == 0 or g >= k for g in gaps)
                shown_ties = privacy.suppress_small(v["ties"], k) if safe or v["ties"] < k else privacy.SUPPRESSED
                shown_cross = privacy.suppress_small(v["cross"], k) if safe or v["cross"] < k else privacy.SUPPRESSED
                sides[side] = {"ties": shown_ties, "cross": shown_cross,
                               **{f: (v[f] if safe else None) for f in ("share", "share_ci", "ei", "ei_ci")}}
            both_safe = sides["before"]["share"] is not None and sides["after"]["share"] is not None
            sides["change"] = {f: (v if both_safe else None) for f, v in r["change"].items()}
            shaped[kind] = sides
        out["by_attribute"][attr] = shaped
    return out


def _funder_cohort_panel(table: pd.DataFrame) -> pd.DataFrame:
    """Funders: a cohort's row only where both its respondent counts reach the threshold; counts suppressed."""
    k = min_count()
    keep = (table["respondents_both"] >= k) if len(table) else table.index == table.index
    out = table[keep].copy().astype(object)
    # a wave's respondents minus those of both waves are the respondents of that wave only: shown only
    # where that count is 0 or at least k
    for col in ("respondents_before", "respondents_after"):
        out[col] = [v if (int(v) - int(b) == 0 or int(v) - int(b) >= k) else privacy.SUPPRESSED
                    for v, b in zip(out[col], out["respondents_both"])]
    return out.reset_index(drop=True)


_TEST_ATTRS = ("race_ethnicity", "income_band")


def _touches(G, people: set, degree) -> bool:
    """Whether any tie of G has a member of `people` at an end (`degree`: G.degree())."""
    pos = G.index().get_indexer(pd.Index(list(people), dtype=object))
    return bool((degree[pos[pos >= 0]] > 0).any())


def _tests(results: dict, *, group: str, cohort: str | None, wave: str) -> list[dict]:
    rows = []
    for attr, name in (("race_ethnicity", "race"), ("income_band", "class")):
        r = results[attr]
        n = r["n_ties"]
        obs, exp = r["observed"], r["expected"]
        rows.append({"group": group, "cohort": cohort, "wave": wave, "attribute": name, "ties": n,
                     "cross_ties": None if obs is None else round((obs + 1) / 2 * n),
                     "expected_cross_ties": None if exp is None else round((exp + 1) / 2 * n, 1),
                     "observed": obs, "expected": exp, "sd": r["sd"], "p_value": r["p_value"]})
    return rows


def _funder_tests(tests: pd.DataFrame, protected: dict) -> pd.DataFrame:
    """Funders see small counts as '<N', and no result computed on counts that could give one away.

    The whole network's rows take their counts from the protected mixing release of that wave (the same
    numbers as the heatmap and the Overview). A cohort's row shows its E-I, cross-group ties and p-value
    only where both its cross-group and its within-group ties are 0 or at least the threshold: E-I times
    ties would otherwise give the hidden count ((E-I + 1) / 2 x ties)."""
    k = min_count()
    out = tests.copy().astype(object)
    for i, r in out.iterrows():
        ties, cross = int(r["ties"]), r["cross_ties"]
        if r["cohort"] is None or r["cohort"] != r["cohort"]:
            totals = protected.get((r["wave"], r["attribute"]))
            ok = totals is not None and _share_shown(totals)
            shown_ties = totals["known"] if totals is not None else privacy.suppress_small(ties, k)
            shown_cross = totals["across"] if totals is not None else None
        else:
            ok = cross is not None and cross == cross and ties >= k and \
                disclosure.ratio_publishable(int(cross), ties - int(cross), k)
            shown_ties = privacy.suppress_small(ties, k)
            shown_cross = int(cross) if ok else None
        out.at[i, "ties"] = shown_ties
        out.at[i, "cross_ties"] = shown_cross if ok or isinstance(shown_cross, str) else None
        for col in ("observed", "sd", "p_value", "q_value"):
            if not ok:
                out.at[i, col] = None
        if not (isinstance(shown_ties, int) and shown_ties >= k):
            out.at[i, "expected"] = out.at[i, "expected_cross_ties"] = None
    return out


def _growth_frame(frame: pd.DataFrame, audience: str) -> pd.DataFrame:
    g = frame.rename(columns={"cross_race_ethnicity_share": "cross_race_share",
                              "cross_income_band_share": "cross_class_share"})
    g = g.reset_index(names="period")
    if audience == "funder":
        for col in ("people", "ties", "isolates", "components"):
            if col in g:
                g[col] = [_count(audience, v) for v in g[col]]
        # density and mean degree are the ties over a known number of people: only beside a shown count
        for col in ("density", "mean_degree"):
            if col in g and "ties" in g:
                g[col] = [d if not isinstance(t, str) else None for d, t in zip(g[col], g["ties"])]
    return g


def _pool_cumulative(frame: pd.DataFrame, raw: pd.DataFrame, k: int, totals: dict) -> pd.DataFrame:
    """Funders: a cumulative count (the network at the end of each year) minus the one before it is what was
    added that year; a year's counts are shown only where what was added since the last shown year is 0 or
    at least k (as the time-to-seat curve pools its steps), and the last shown year against the totals
    published elsewhere (``totals``: column -> the whole network's count) likewise. Others are blanked."""
    cols = [c for c in ("people", "ties", "isolates") if c in raw]
    if frame.empty or not cols:
        return frame
    out = frame.copy().astype(object)
    true = {c: [int(v) for v in raw[c]] for c in cols}

    def ok(a, b):
        return abs(b - a) == 0 or abs(b - a) >= k

    # before the first year nobody has a tie: no people counted, no ties, everyone isolated
    everyone = int(raw["people"].iloc[0]) if "people" in raw else 0
    kept, last = [], {c: (everyone if c == "isolates" else 0) for c in cols}
    for i in range(len(frame)):
        if all(ok(last[c], true[c][i]) for c in cols):
            kept.append(i)
            last = {c: true[c][i] for c in cols}
    while kept and not all(totals.get(c) is None or ok(true[c][kept[-1]], totals[c]) for c in cols):
        kept.pop()
    for i in range(len(frame)):
        if i not in kept:
            for c in cols + [c for c in ("density", "mean_degree", "isolates", "components") if c in out]:
                out.at[i, c] = None
    return out


def _growth(snapshots: dict, audience: str, *, protected: tuple | None = None,
            cumulative_totals: dict | None = None) -> pd.DataFrame:
    """Growth over snapshots (by wave, or the cumulative network at the end of each year).

    Funders: a cross-group share only where its counts could be shown (for waves, exactly where the
    protected mixing release shows them; for years, where both cross- and within-group ties are 0 or at
    least the threshold); the largest component's share only where its size could."""
    if not snapshots:
        return pd.DataFrame(columns=["period", "ties"])
    raw = formation.growth(snapshots)
    frame = _growth_frame(raw, audience)
    if audience != "funder":
        return frame
    k = min_count()
    frame = frame.astype(object)
    if cumulative_totals is not None:
        frame = _pool_cumulative(frame, raw.reset_index(drop=True), k, cumulative_totals)
    for i, (period, G) in enumerate(snapshots.items()):
        for attr, col in (("race_ethnicity", "cross_race_share"), ("income_band", "cross_class_share")):
            if col not in frame:
                continue
            if protected is not None:
                ok = _share_shown(_funder_mixing(protected[0], attr, period, protected[1], protected[2])[1])
            else:
                cross, known = homophily.cross_tie_counts(G, attr)
                ok = disclosure.ratio_publishable(cross, known - cross, k)
            if not ok:
                frame.at[i, col] = None
        if "largest_component_share" in frame:
            size = round(float(frame.at[i, "largest_component_share"] or 0) * G.n)
            if not (size == 0 or size >= k):
                frame.at[i, "largest_component_share"] = None
    return frame


def load_mixing(principal: Principal, attr: str, wave: str | None = None) -> pd.DataFrame:
    """Mixing matrix (groups x groups tie counts) for an attribute, all waves or one."""
    if attr not in ATTRIBUTES:
        raise ValueError(f"unknown attribute {attr!r}; use one of {', '.join(ATTRIBUTES)}")
    audience, sites = scope(principal)
    return _serve("mixing", _mixing, (audience, sites, attr, wave))


@st.cache_data(show_spinner=False, max_entries=64)
def _mixing(audience: str, sites, attr: str, wave: str | None, uri: str, version: str) -> pd.DataFrame:
    if audience == "funder":
        return _funder_mixing(sites, attr, wave, uri, version)[0]
    ds = analysis_dataset(audience, sites, uri, version)
    return homophily.mixing_matrix(_tie_arrays(ds, None if wave is None else [wave]), attr)


@st.cache_data(show_spinner=False, max_entries=64)
def _funder_mixing(sites, attr: str, wave: str | None, uri: str, version: str) -> tuple[pd.DataFrame, dict]:
    """One protected release of a mixing matrix and its totals (within, across, known) for funders: every
    page that shows any of them (the heatmap, the Overview's composition and shares, the Bridging tests and
    growth) takes them from here, so complementary suppression holds across pages (queries.disclosure)."""
    ds = analysis_dataset("funder", sites, uri, version)
    G = _tie_arrays(ds, None if wave is None else [wave])
    M = homophily.mixing_matrix(G, attr)
    # all ties are published as they are (Overview), so ties with an unrecorded group (all - known) count too
    return disclosure.protect_mixing(M, min_count(), all_ties=G.number_of_edges())


def _share_shown(totals: dict) -> bool:
    """A share (or E-I) of a protected mixing release may be shown only where its counts are shown."""
    return totals["within_shown"] and totals["across_shown"] and totals["known_shown"]


def _funder_share(audience: str, sites, attr: str, uri: str, version: str, share):
    if audience != "funder":
        return share
    return share if _share_shown(_funder_mixing(sites, attr, None, uri, version)[1]) else None


# -- Outreach ---------------------------------------------------------------------------------------------

def load_outreach(principal: Principal) -> pd.DataFrame:
    """Families to reach: ranked with reasons and connectors (coordinator names, evaluator pseudonyms);
    for funders only the number of families per site and reason."""
    audience, sites = scope(principal)
    table = _serve("outreach", _outreach, (audience, sites))
    if audience == "coordinator" and "last_contacted" in table:
        # contacts are read as they are now (cheap), not with the network analyses: a contact recorded a
        # moment ago shows at once (the family waits at the bottom until its follow-up is due, with its
        # history), and recomputes nothing
        store = get_store()
        table = outreach.apply_contacts(table, _contacts(store.uri, _version(store, ("contacts",))),
                                        today=date.today(), follow_up_days=settings.get_int("CIVICTIES_FOLLOW_UP_DAYS"))
    return table


@st.cache_data(show_spinner=False, max_entries=4)
def _contacts(uri: str, contacts_version: str) -> pd.DataFrame:
    """Every recorded contact (graph/contacts.py); only those of the reader's families are applied."""
    return read_contacts(_open(uri))


@st.cache_data(show_spinner="Ranking families for outreach…", max_entries=12)
def _outreach(audience: str, sites, uri: str, version: str) -> pd.DataFrame:
    days = settings.get_int("CIVICTIES_OUTREACH_DAYS")
    if audience != "funder":
        ds = audience_dataset(audience, sites, uri, version)
        return _readable(outreach.outreach_families(ds, inactive_days=days), ds)
    table = outreach.outreach_families(analysis_dataset(audience, sites, uri, version), inactive_days=days)
    rows = [{"site_id": site, "reason": outreach.REASON_LABELS[code]}      # a few reasons, no cohort names
            for site, codes in zip(table["site_id"], table["reason_codes"]) for code in codes]
    counts = (pd.DataFrame(rows, columns=["site_id", "reason"]).groupby(["site_id", "reason"]).size()
              .rename("families").reset_index())
    # each reason's families add up to a total a funder may see elsewhere (e.g. the Overview's isolated
    # families): protected with it, reason by reason (queries.disclosure.protect)
    k = min_count()
    shown = []
    for _reason, part in counts.groupby("reason", sort=False):
        values = {i: int(v) for i, v in zip(part.index, part["families"])}
        values["total"] = sum(values.values())
        hidden = disclosure.protect(values, [{**{i: 1.0 for i in part.index}, "total": -1.0}], k)
        shown += [(i, disclosure.shown_value(v, i in hidden, k)) for i, v in values.items() if i != "total"]
    out = counts.astype(object)
    for i, v in shown:
        out.at[i, "families"] = v
    return out


def _readable(table: pd.DataFrame, ds: Dataset) -> pd.DataFrame:
    """People as 'name (id)' and lists as text, for a table a coordinator reads and downloads."""
    names = dict(zip(ds.people["person_id"], ds.people["name"]))

    def who(pid):
        return f"{names[pid]} ({pid})" if names.get(pid) else str(pid)

    out = table.drop(columns=["reason_codes"], errors="ignore").copy()
    out["parents"] = [", ".join(who(p) for p in ps) for ps in out["parents"]]
    out["reasons"] = ["; ".join(rs) for rs in out["reasons"]]
    out["connectors"] = ["; ".join(f"{who(c['person_id'])}: {c['why']}" for c in cs) for cs in out["connectors"]]
    return out


def record_contact(principal: Principal, family_id: str, contacted_on: date, note: str = "") -> dict:
    """Store that a coordinator contacted a family of their sites; the outreach list shows it from the next
    run. The audit log records that a contact was recorded (not which family, not the note)."""
    audience, sites = scope(principal)
    if not principal.may("record_contact"):
        raise PermissionError("only coordinators and admins record contacts")
    if family_id not in set(family_ids(sites)):
        raise PermissionError("that family is not one of your sites' families")
    store = get_store()
    node = store.add_contact(family_id, contacted_on.isoformat(), outreach.contact_note(note, principal.username))
    accounts.audit(store, principal.username, "contact_recorded", role=principal.role, rows=1)
    changed(("contacts",))
    return node


# -- Pipeline to seats ------------------------------------------------------------------------------------

PIPELINE_BY = {"site": "site", "cohort": "cohort", "race_ethnicity": "race/ethnicity", "income_band": "income"}


def load_pipeline(principal: Principal, by: str = "site") -> dict:
    """Sankey flows, the funnel by a grouping, the time-to-seat curve and the bodies where alumni sit."""
    if by not in PIPELINE_BY:
        raise ValueError(f"unknown grouping {by!r}; use one of {', '.join(PIPELINE_BY)}")
    audience, sites = scope(principal)
    return _serve("pipeline", _pipeline, (audience, sites, by))


@st.cache_data(show_spinner="Following graduates to their seats…", max_entries=24)
def _pipeline(audience: str, sites, by: str, uri: str, version: str) -> dict:
    ds = analysis_dataset(audience, sites, uri, version)
    k = min_count()
    # what does not depend on the grouping or the audience is computed once per dataset (_once_per_dataset)
    flows = [(s, t, int(c)) for s, t, c in _once_per_dataset("sankey", ds, pipeline.sankey_flows)]
    funnel = _once_per_dataset(f"funnel:{by}", ds, lambda d: pipeline.funnel_by(d, by))
    # Funders get the overall curve only: a small group's curve steps by 1/n and gives its counts away.
    overall = _once_per_dataset("time_to_seat", ds, lambda d: pipeline.time_to_seat(d, by=None))
    km = overall if audience == "funder" else _once_per_dataset(f"time_to_seat:{by}", ds,
                                                                lambda d: pipeline.time_to_seat(d, by=by))
    bodies = _once_per_dataset("bodies", ds, pipeline.seats_by_body)
    hidden_flows = 0
    by_site = _once_per_dataset("funnel:site", ds, lambda d: pipeline.funnel_by(d, "site"))
    totals = {stage: _count(audience, int(by_site[stage].sum()) if len(by_site) else 0)
              for stage in ("graduated", "appointed")}
    median = float(overall["median_days"].iloc[0]) if len(overall) else None
    if audience == "funder" and (overall.empty or int(overall["graduates"].iloc[0]) < k):
        median = None
    pipeline_findings = findings.pipeline_findings(totals, median)
    if audience == "funder":
        flows, hidden_flows = disclosure.protect_flows(flows, k)
        caps = None
        if by in ("race_ethnicity", "income_band"):
            caps = pipeline.people_per_group(ds, by)
        exact = int(by_site["enrolled"].sum()) if len(by_site) else 0
        # the Overview's funnel totals are the columns' sums where every person is in one group
        overview_totals = ({stage: int(by_site[stage].sum()) for stage in ("enrolled", "graduated", "appointed")}
                           if by != "cohort" and len(funnel) and int(funnel["enrolled"].sum()) == exact else None)
        funnel = _funder_funnel(funnel, k, totals=overview_totals, caps=caps)
        if km.empty or int(km["graduates"].iloc[0]) < k:
            km = km.iloc[0:0]
        km = disclosure.thin_curve(km, k).drop(columns=["at_risk", "graduates", "appointed"])
        bodies = _funder_bodies(bodies, k)
    return {"flows": flows, "hidden_flows": hidden_flows, "funnel": funnel, "km": km, "bodies": bodies,
            "findings": pipeline_findings}


def _funder_bodies(bodies: pd.DataFrame, k: int) -> pd.DataFrame:
    """Where alumni sit, for funders: each column adds up to a total that other pages give (the people
    appointed, where nobody sits on two bodies), and a body's current members are some of its graduates;
    protected as one release (queries.disclosure.protect), hidden counts labelled."""
    if bodies.empty:
        return bodies
    values, equations, inequalities, fixed = {}, [], [], []
    for col in ("graduates", "current"):
        for i, v in enumerate(bodies[col]):
            values[col, i] = int(v)
        values[col, "total"] = int(bodies[col].sum())
        fixed.append((col, "total"))                    # as if published: the attacker may know it
        equations.append({**{(col, i): 1.0 for i in range(len(bodies))}, (col, "total"): -1.0})
    inequalities += [{("current", i): 1.0, ("graduates", i): -1.0} for i in range(len(bodies))]
    hidden = disclosure.protect(values, equations, k, inequalities=inequalities, fixed=fixed)
    out = bodies.copy().astype(object)
    for col in ("graduates", "current"):
        out[col] = [disclosure.shown_value(values[col, i], (col, i) in hidden, k) for i in range(len(bodies))]
    return out


def _funder_funnel(funnel: pd.DataFrame, k: int, *, totals: dict | None = None,
                   caps: dict | None = None) -> pd.DataFrame:
    """Counts suppressed (with the cells that would give them away); rates only where both counts show.

    The whole table is one release, protected by LP-audited complementary suppression
    (queries.disclosure.protect): each stage's column adds up to its total (``totals``: the Overview's
    funnel, published as is, where every person is in one group; else the column's sum, which may be
    hidden); a group's stages are nested (civic and appointed <= graduated <= enrolled); and ``caps``
    (group -> people in it, as the explorer shows them) bound a group's enrolled from above. Two small
    groups hidden side by side are not safe when their sum is small too, nor a hidden count squeezed
    between a total and its row's shown neighbours."""
    stages = [st_ for st_ in ("enrolled", "graduated", "civic", "appointed") if st_ in funnel]
    out = funnel.copy().astype(object)
    values, equations, fixed = {}, [], []
    for stage in stages:
        for i, v in enumerate(funnel[stage]):
            values[stage, i] = int(v)
        total = (totals or {}).get(stage)
        values[stage, "total"] = int(total) if total is not None else int(funnel[stage].sum())
        if total is not None:
            fixed.append((stage, "total"))
        equations.append({**{(stage, i): 1.0 for i in range(len(funnel))}, (stage, "total"): -1.0})
    inequalities = []
    nested = [("graduated", "enrolled"), ("civic", "graduated"), ("appointed", "graduated")]
    for i, group in enumerate(funnel["group"] if "group" in funnel else []):
        for small, big in nested:
            if small in funnel and big in funnel:
                inequalities.append({(small, i): 1.0, (big, i): -1.0})
        if caps is not None and "enrolled" in funnel:
            values["cap", i] = int(caps.get(group, 0))
            fixed.append(("cap", i))
            inequalities.append({("enrolled", i): 1.0, ("cap", i): -1.0})
    hidden = disclosure.protect(values, equations, k, inequalities=inequalities, fixed=fixed) if values else set()
    for stage in stages:
        out[stage] = [disclosure.shown_value(values[stage, i], (stage, i) in hidden, k) for i in range(len(funnel))]
    for rate, num, den in (("graduation_rate", "graduated", "enrolled"), ("appointment_rate", "appointed", "graduated")):
        shown = [not isinstance(a, str) and not isinstance(b, str) for a, b in zip(out[num], out[den])]
        out[rate] = out[rate].astype(object).where(shown, None)
    return out


# -- Data -------------------------------------------------------------------------------------------------

def load_data_quality(principal: Principal) -> dict:
    """Rows per table, share of missing values per column, unmatched names count."""
    return _serve("quality", _quality, scope(principal))


@st.cache_data(show_spinner=False, max_entries=12)
def _quality(audience: str, sites, uri: str, version: str) -> dict:
    from graph.model import TABLES
    ds = analysis_dataset(audience, sites, uri, version)
    rows, missing = [], []
    for name, spec in TABLES.items():
        df = ds.tables[name]
        rows.append({"table": name, "rows": _count(audience, len(df))})
        if len(df):
            for col in spec.columns:
                if col in spec.required or col not in df:
                    continue
                share = float(df[col].isna().mean())
                if audience == "funder":      # the share times the rows shown would give the count missing
                    gone = int(df[col].isna().sum())
                    share = share if disclosure.ratio_publishable(gone, len(df) - gone, min_count()) else float("nan")
                missing.append({"table": name, "column": col, "missing_share": share})
    ties = ds.ties
    unmatched = ties.loc[ties["to_person_id"].isna() & ties["to_name"].notna(), "to_name"]
    return {"rows": pd.DataFrame(rows), "missing": pd.DataFrame(missing, columns=["table", "column", "missing_share"]),
            "unmatched_names": _count(audience, unmatched.nunique()),
            "unmatched_ties": _count(audience, len(unmatched))}


def check_upload(files: list[tuple[str, bytes]]) -> dict:
    """Validate uploaded files without writing: {ok, problems, warnings, rows} (problems as DataFrames)."""
    return _check_upload(tuple(files))


@st.cache_data(show_spinner="Checking the files…", max_entries=4)
def _check_upload(files: tuple[tuple[str, bytes], ...]) -> dict:
    try:
        pkg = check_package(raw_from_uploads(list(files)))
        problems, warnings, rows = pkg.problems, pkg.warnings, pkg.row_counts()
        total = pkg.problem_count or len(problems)
    except IngestError as e:
        problems, warnings, rows, total = e.problems, [], {}, e.total
    # the lists are capped per kind (CIVICTIES_MAX_PROBLEMS_PER_KIND); `problem_count` counts every one
    return {"ok": not problems, "problems": _problem_frame(problems), "warnings": _problem_frame(warnings),
            "rows": rows, "problem_count": total}


def preview_upload(principal: Principal, files: list[tuple[str, bytes]], source_name: str,
                   replace: bool) -> pd.DataFrame:
    """What loading this upload would add, change, leave and (replacing) remove, per kind, written nowhere."""
    if not principal.may("load_data"):
        raise PermissionError("only admins load data")
    report = load_package(raw_from_uploads(list(files)), get_store(), source_name=source_name or None,
                          replace=replace, dry_run=True)
    rows = [{"kind": kind, **counts} for kind, counts in (report.changes or {}).items()]
    return pd.DataFrame(rows)


def _problem_frame(problems: list[Problem]) -> pd.DataFrame:
    return pd.DataFrame([p.as_dict() for p in problems],
                        columns=["file", "row", "column", "value", "message", "fix"])


def load_upload(principal: Principal, files: list[tuple[str, bytes]], *, source_name: str | None = None,
                replace: bool = False) -> LoadReport:
    """Write a valid upload to the store (all or nothing; admins only); later runs read the new data.
    Rows are marked with ``source_name``; ``replace`` also removes what that source loaded before and the
    upload no longer has, in the same transaction (docs/data-format.md). Real data ends the demo: demo
    sign-in goes off and the demo accounts are disabled."""
    if not principal.may("load_data"):
        raise PermissionError("only admins load data")
    store = get_store()
    report = load_package(raw_from_uploads(list(files)), store, source_name=source_name or None, replace=replace)
    accounts.sync_demo_accounts(store)
    accounts.audit(store, principal.username, "data_load", role=principal.role, rows=sum(report.rows.values()),
                   detail=f"upload of {len(files)} file(s), source {report.source}"
                          + (", replacing" if replace else ""))
    changed()
    return report


GRAPH_FORMATS = {"GraphML": ("graphml", "application/xml"), "GEXF": ("gexf", "application/xml")}


def load_graph_file(principal: Principal, fmt: str) -> bytes:
    """The tie network as a Gephi file (GraphML or GEXF) of the principal's sites; evaluators get pseudonyms;
    never for funders."""
    audience, sites = scope(principal)
    if not principal.may("download_people"):
        raise PermissionError("funders see aggregates only; the network file holds one node per person")
    if fmt not in GRAPH_FORMATS:
        raise ValueError(f"unknown format {fmt!r}; use one of {', '.join(GRAPH_FORMATS)}")
    return _graph_file(audience, sites, fmt, *data_key())


def audit_download(principal: Principal, what: str, rows: int | None = None) -> None:
    """Note in the audit log that the principal downloaded something (what kind, how many rows)."""
    accounts.audit(get_store(), principal.username, "download", role=principal.role, target=what, rows=rows)


@st.cache_data(show_spinner="Writing the network file…", max_entries=8)
def _graph_file(audience: str, sites, fmt: str, uri: str, version: str) -> bytes:
    writer = export.to_graphml if fmt == "GraphML" else export.to_gexf
    ds, note = _export_dataset(audience, sites, uri, version)
    return writer(ds, note=note)   # no path: the file's bytes


def _export_dataset(audience: str, sites, uri: str, version: str):
    """The dataset a per-person download is written from, and its note: for evaluators pseudonymized and
    k-anonymous on the quasi-identifiers (CIVICTIES_K_ANONYMITY; queries.kanon); coordinators' as it is."""
    ds = audience_dataset(audience, sites, uri, version)
    if audience != "evaluator":
        return ds, None
    return kanon.k_anonymous_dataset(ds, k=settings.get_int("CIVICTIES_K_ANONYMITY"))


@st.cache_data(show_spinner="Counting ties between groups…", max_entries=32)
def _group_network(sites, attr: str, wave: str | None, height: int, uri: str, version: str) -> tuple[str, dict]:
    from dashboard import network_view as nv
    G = nv.build_network(analysis_dataset("funder", sites, uri, version), view="union",
                         waves=() if wave is None else (wave,))
    agg = _protected_aggregate(nv.aggregate_network(G, attr, min_count=1), attr, sites, wave, uri, version)
    published = {"people": {g: d["people"] for g, d in agg.graph.nodes(data=True)},
                 "ties_within": {g: d["ties_within"] for g, d in agg.graph.nodes(data=True)},
                 "ties_between": {(u, v): d["ties"] for u, v, d in agg.graph.edges(data=True)}}
    return nv.render_aggregate_html(agg, height=height), {"hidden_links": agg.hidden_links, "groups": len(agg.graph),
                                                          "published": published}


def _protected_aggregate(agg, attr: str, sites, wave, uri: str, version: str):
    """The group picture as one release with the rest of the funder's pages: group sizes protected with
    their total (every person is in one group); ties within and between groups taken from the protected
    mixing release where the attribute has one (the heatmap's), else protected here the same way. Groups
    with no value recorded show no tie counts (their total is the difference of two published totals)."""
    from dashboard.network_view import MISSING, Aggregate
    k = min_count()
    A = agg.graph
    groups = sorted(A, key=str)
    people = {("people", g): int(A.nodes[g]["people"]) for g in groups}
    total_eq = {c: 1.0 for c in people} | {("people_total",): -1.0}
    people[("people_total",)] = sum(people.values())
    hidden = disclosure.protect(people, [total_eq], k)
    if attr in ATTRIBUTES:
        shaped = _funder_mixing(sites, attr, wave, uri, version)[0]
        index = {str(g): g for g in shaped.index}

        def cell(a, b):
            if a == MISSING or b == MISSING or a not in index or b not in index:
                return None
            return shaped.loc[index[a], index[b]]
    else:
        raw = pd.DataFrame(0, index=groups, columns=groups, dtype=np.int64)
        for g in groups:
            raw.loc[g, g] = int(A.nodes[g]["ties_within"])
        for u, v, d in A.edges(data=True):
            raw.loc[u, v] = raw.loc[v, u] = int(d["ties"])
        shaped = disclosure.protect_mixing(raw, k)[0]

        def cell(a, b):
            return shaped.loc[a, b]
    out = nx.Graph()
    for g in groups:
        size = people[("people", g)]
        within = cell(g, g)
        out.add_node(g, people=disclosure.shown_value(size, ("people", g) in hidden, k),
                     ties_within=privacy.SUPPRESSED if within is None else within)
    hidden_links = 0
    for u, v, d in A.edges(data=True):
        shown = cell(u, v)
        if isinstance(shown, (int, np.integer)) and shown > 0:
            out.add_edge(u, v, ties=int(shown))
        else:
            hidden_links += 1
    return Aggregate(graph=out, min_count=k, hidden_links=hidden_links)


def load_group_network(principal: Principal, attr: str, wave: str | None, height: int) -> tuple[str, dict]:
    """The funder's network picture: groups (by `attr`) and the ties between them (either named the other;
    all waves or one), protected as one release with the heatmap and the totals on the other pages.

    Built from the principal's sites (people who consented), but only protected counts leave this function.
    """
    _audience, sites = scope(principal)
    return _group_network(sites, attr, wave, height, *data_key())


def load_explorer(principal: Principal):
    """The network explorer's first view for this principal (dashboard.explorer_view), stored with the
    analyses: for coordinators (names, their sites) and evaluators (pseudonyms) the filters' options, who can
    be picked and the drawn picture with its positions; for funders the survey waves and the group picture
    by the first attribute (protected, as :func:`load_group_network`)."""
    return _serve("explorer", _explorer, scope(principal))


def _explorer(audience: str, sites, uri: str, version: str):
    from dashboard import explorer_view
    from dashboard import network_view as nv
    if audience == "funder":
        waves = explorer_view.options(analysis_dataset(audience, sites, uri, version)).waves
        html, facts = _group_network(sites, nv.AGGREGATE_ATTRIBUTES[0], None, explorer_view.HEIGHT, uri, version)
        return explorer_view.FunderFirstView(waves=waves, html=html, facts=facts)
    return explorer_view.first_view(audience_dataset(audience, sites, uri, version),
                                    show_names=audience == "coordinator",
                                    cap=settings.get_int("CIVICTIES_EXPLORER_MAX_NODES"),
                                    network=(lambda filters: explorer_network(audience, sites, uri, version, filters))
                                    if analyses.keeps_memory() else None)


@st.cache_resource(show_spinner="Building the network…", max_entries=4)  # a 100,000-parent graph is large
def explorer_network(audience: str, sites, uri: str, version: str, filters: tuple):
    """The explorer's network of the people who pass `filters` (explorer_view.filters), for an audience's
    dataset (names for coordinators, pseudonyms otherwise). Kept per process: when the app's worker has
    computed the first view, the page's next choice on the same filters (a colour, a size, a person) finds
    the network built (at 100,000 parents 8.6 s)."""
    from dashboard import network_view as nv
    return nv.build_network(audience_dataset(audience, sites, uri, version), **dict(filters))


# -- Supports (TPE): do families come more when childcare, translation... are offered? -----------------------

def load_supports(principal: Principal) -> pd.DataFrame:
    """Whether families who need a language other than English, or who have children, take part more in
    their site's events that offer translation, childcare or any support (queries.supports: rates with and
    without, the difference, its interval and p-value). Coordinators: their sites; evaluators: everyone who
    consented; funders: the two groups only (no per-language or comparison rows), every count from 1 to
    CIVICTIES_MIN_COUNT - 1 as "<N", a rate only where the counts it is made of could be shown, and no
    family-event counts. No person or family id in any of them."""
    return _serve("supports", _supports, scope(principal))


@st.cache_data(show_spinner="Comparing events with and without supports…", max_entries=12)
def _supports(audience: str, sites, uri: str, version: str) -> pd.DataFrame:
    from queries import supports as support_queries
    table = _once_per_dataset("supports", analysis_dataset(audience, sites, uri, version),
                              support_queries.support_effects)
    return funder_supports(table, min_count()) if audience == "funder" else table


def funder_supports(table: pd.DataFrame, k: int) -> pd.DataFrame:
    """The funder's release of queries.supports.support_effects: the groups of interest only; families and
    events as shown counts; each rate only when ratio_publishable(took part, did not) and the group has at
    least k families; the difference, interval and p-value only when both rates are shown."""
    rows = []
    for r in table[~table["comparison"].astype(bool) & table["group"].isin(["language", "children"])].to_dict("records"):
        big = int(r["families"]) >= k
        shown = {side: big and disclosure.ratio_publishable(r[f"took_part_{side}"],
                                                             r[f"invited_{side}"] - r[f"took_part_{side}"], k)
                 for side in ("with", "without")}
        both = shown["with"] and shown["without"]
        rows.append({"group": r["group"], "group_label": r["group_label"], "comparison": False,
                     "support": r["support"],
                     "families": privacy.suppress_small(int(r["families"]), k),
                     "events_with": privacy.suppress_small(int(r["events_with"]), k),
                     "events_without": privacy.suppress_small(int(r["events_without"]), k),
                     "rate_with": r["rate_with"] if shown["with"] else None,
                     "rate_without": r["rate_without"] if shown["without"] else None,
                     **{c: r[c] if both else None for c in ("difference", "ci_low", "ci_high", "p_value", "method")}})
    return pd.DataFrame(rows, columns=["group", "group_label", "comparison", "support", "families", "events_with",
                                       "events_without", "rate_with", "rate_without", "difference", "ci_low",
                                       "ci_high", "p_value", "method"])
