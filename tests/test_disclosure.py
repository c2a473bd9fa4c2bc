"""An attacker with a solver: everything a funder receives about who is tied to whom, through the same loaders
the pages use, turned into linear constraints; every hidden small count must keep an interval at least as
wide as the threshold.

What the attacker reads (docs/privacy.md lists what it does not model yet):

- every mixing matrix (each attribute, all waves and each wave): shown cells are known, hidden ones unknown;
- the Overview's within- and across-group totals per wave (race, class): the diagonal's and one triangle's
  sums; its cross-race and cross-class shares per wave and over all waves: across = share x (within + across),
  i.e. (1 - share) across - share within = 0;
- the Bridging page's whole-network tests per wave: ties = within + across, cross-group ties = across,
  E-I = (across - within) / ties, i.e. (1 - E-I) across - (1 + E-I) within = 0; its growth-by-wave shares;
- every cohort's test: ties, cross-group ties and E-I, with the cohort's own unknown within and across;
- where every tie of a wave joins two people with the attribute recorded, all the wave's ties = within +
  across (a stronger attacker than a real one, who cannot know that).

For each hidden cell whose true value is from 1 to k - 1, the smallest and largest value consistent with all
of it (queries.disclosure.audit, linear programming) must be at least k apart.
"""
from __future__ import annotations

import os

import numpy as np
import pytest

from queries.disclosure import audit

K = 10


def _num(v):
    """A published number (numpy's included), or None for a suppression label, None or NaN."""
    if isinstance(v, (bool, np.bool_)) or not isinstance(v, (int, float, np.integer, np.floating)):
        return None
    return float(v) if v == v else None


def _release(uri: str) -> dict:
    """What a funder's loaders give, and the truth (an evaluator's numbers: the same consenting people, not
    suppressed) to know which hidden cells are small."""
    from dashboard import data
    from dashboard.accounts import Principal
    funder, admin = Principal(username="f", role="funder"), Principal(username="e", role="evaluator")
    overview, bridging = data.load_overview(funder), data.load_bridging(funder)
    waves = bridging["waves"]
    mixing, truth = {}, {}
    for attr in data.ATTRIBUTES:
        for w in [None] + list(waves):
            mixing[attr, w] = data.load_mixing(funder, attr, w)
            truth[attr, w] = data.load_mixing(admin, attr, w)
    admin_tests = data.load_bridging(admin)["tests"]
    pipelines = {by: (data.load_pipeline(funder, by), data.load_pipeline(admin, by)) for by in data.PIPELINE_BY}
    outreach = (data.load_outreach(funder), _outreach_truth(data))
    from queries.pipeline import sankey_flows
    sankey_truth = sankey_flows(data.analysis_dataset("funder", None, *data.data_key()))
    quality = (data.load_data_quality(funder), data.load_data_quality(admin))
    from dashboard.network_view import AGGREGATE_ATTRIBUTES
    explorer = {}
    for attr in AGGREGATE_ATTRIBUTES:
        for w in [None] + list(waves):
            facts = data.load_group_network(funder, attr, w, 400)[1]
            explorer[attr, w] = (facts["published"], None)
    ds = data.analysis_dataset("funder", None, *data.data_key())
    complete = {a: ds.people[a].notna().all() for a in ("race_ethnicity", "income_band")}
    return {"overview": overview, "bridging": bridging, "mixing": mixing, "truth": truth, "waves": waves,
            "admin_tests": admin_tests, "complete": complete, "explorer": explorer, "people_truth": ds.people,
            "pipelines": pipelines, "quality": quality, "outreach": outreach, "sankey_truth": sankey_truth}


def _outreach_truth(data):
    """Families to reach per site and reason among the consenting people, unsuppressed."""
    import pandas as pd

    from queries import outreach
    ds = data.analysis_dataset("funder", None, *data.data_key())
    table = outreach.outreach_families(ds, inactive_days=data.settings.get_int("CIVICTIES_OUTREACH_DAYS"))
    rows = [{"site_id": s, "reason": r} for s, rs in zip(table["site_id"], table["reasons"]) for r in rs]
    return pd.DataFrame(rows, columns=["site_id", "reason"]).groupby(["site_id", "reason"]).size() \
        .rename("families").reset_index()


def _attack(r: dict) -> list[str]:
    """Every hidden small count narrowed to an interval narrower than K, as text (empty: none)."""
    failures = []
    names = {"race_ethnicity": "race", "income_band": "class"}
    # -- the mixing families: one LP per (attribute, wave set) --------------------------------------------
    for (attr, w), M in r["mixing"].items():
        T = r["truth"][attr, w]
        groups = list(M.index)
        values, truth, eqs = {}, {}, []
        within_eq, across_eq = {"within": -1.0}, {"across": -1.0}
        for i in range(len(groups)):
            for j in range(i, len(groups)):
                cell = (i, j)
                values[cell] = _num(M.iloc[i, j])
                truth[cell] = int(T.iloc[i, j])
                assert values[cell] in (None, truth[cell]), (attr, w, cell, values[cell], truth[cell])
                (within_eq if i == j else across_eq)[cell] = 1.0
        values["within"] = values["across"] = None
        eqs += [within_eq, across_eq]
        name = names.get(attr)
        if name:
            def share_eq(s):
                eqs.append({"across": 1.0 - s, "within": -s})
            if w is None:
                s = _num(r["overview"]["headline"][f"cross_{name}_share"])
                if s is not None:
                    share_eq(s)
            else:
                comp = r["overview"]["composition"]
                row = comp[(comp["wave"] == w) & (comp["attribute"] == name)]
                if len(row):
                    values["within"] = _num(row["within"].iloc[0])
                    values["across"] = _num(row["across"].iloc[0])
                wrow = r["overview"]["waves"]
                s = _num(wrow.loc[wrow["wave"] == w, f"cross_{name}"].iloc[0])
                if s is not None:
                    share_eq(s)
                g = r["bridging"]["growth_by_wave"]
                s = _num(g.loc[g["period"] == w, f"cross_{name}_share"].iloc[0]) if len(g) else None
                if s is not None:
                    share_eq(s)
                tests = r["bridging"]["tests"]
                t = tests[(tests["cohort"].isna()) & (tests["wave"] == w) & (tests["attribute"] == name)]
                if len(t):
                    t = t.iloc[0]
                    ties, cross, ei = _num(t["ties"]), _num(t["cross_ties"]), _num(t["observed"])
                    values["known"] = ties
                    eqs.append({"known": -1.0, "within": 1.0, "across": 1.0})
                    if cross is not None:
                        eqs.append({"across": 1.0, "x_cross": -1.0})
                        values["x_cross"] = cross
                    if ei is not None:
                        eqs.append({"across": 1.0 - ei, "within": -(1.0 + ei)})
                    if r["complete"][attr]:
                        all_ties = _num(wrow.loc[wrow["wave"] == w, "ties"].iloc[0])
                        if all_ties is not None:
                            eqs.append({"known": 1.0, "x_all": -1.0})
                            values["x_all"] = all_ties
        targets = [c for c, v in values.items() if v is None and isinstance(c, tuple) and 1 <= truth[c] < K]
        for cell, (lo, hi) in audit(values, eqs, targets).items():
            if not hi - lo >= K:          # (NaN: the constraints contradict each other: the model is wrong)
                failures.append(f"{attr} wave {w}: cell {groups[cell[0]]}/{groups[cell[1]]} (true {truth[cell]}) "
                                f"narrowed to [{lo:g}, {hi:g}]")
    # -- the explorer's group picture ------------------------------------------------------------------------
    # group sizes with their total (everyone is in one group; the total is the Overview's people count), and
    # tie counts that must be the heatmap's where the attribute has one (a cell hidden there must stay hidden)
    people_total = _num(r["overview"]["headline"]["people"])
    truth_people = r["people_truth"]
    for (attr, w), (published, _unused) in r["explorer"].items():
        sizes = published["people"]
        if people_total is not None and sum(1 for _ in sizes) and attr in truth_people:
            values = {g: _num(v) for g, v in sizes.items()}
            values["total"] = people_total
            counts = truth_people[attr].map(lambda v: "not recorded" if v is None or v != v or str(v).strip() == ""
                                            else str(v)).value_counts()
            if int(counts.sum()) == people_total:
                eqs = [{**{g: 1.0 for g in sizes}, "total": -1.0}]
                targets = [g for g in sizes if values[g] is None and 1 <= int(counts.get(g, 0)) < K]
                for g, (lo, hi) in audit(values, eqs, targets).items():
                    if not hi - lo >= K:
                        failures.append(f"explorer {attr} wave {w}: group size {g} (true {int(counts[g])}) "
                                        f"narrowed to [{lo:g}, {hi:g}]")
        if (attr, w) in r["mixing"]:
            M = r["mixing"][attr, w]
            index = {str(g): g for g in M.index}
            pairs = [((g, g), v) for g, v in published["ties_within"].items()] + list(published["ties_between"].items())
            for (a, b), v in pairs:
                if _num(v) is not None and a in index and b in index:
                    heat = M.loc[index[a], index[b]]
                    if _num(heat) != _num(v):
                        failures.append(f"explorer {attr} wave {w}: ties {a}/{b} shown as {v} where the heatmap "
                                        f"shows {heat}")
    # -- the funnel by site, cohort, race and income, against the Overview's funnel totals -------------------
    totals = r["overview"]["funnel"]
    for by, (shown, true) in r["pipelines"].items():
        f, t = shown["funnel"], true["funnel"]
        for stage in ("enrolled", "graduated", "appointed"):
            total = _num(totals.get(stage))
            if total is None or stage not in f:
                continue
            values = {("g", i): _num(v) for i, v in enumerate(f[stage])}
            truth_col = {("g", i): int(v) for i, v in enumerate(t[stage])}
            if sum(truth_col.values()) != total:       # a person counted in two groups (cohorts): no equation
                continue
            values["total"] = total
            eqs = [{**{c: 1.0 for c in truth_col}, "total": -1.0}]
            # a rate shown beside its counts: rate x denominator = numerator
            targets = [c for c in truth_col if values[c] is None and 1 <= truth_col[c] < K]
            for c, (lo, hi) in audit(values, eqs, targets).items():
                if not hi - lo >= K:
                    failures.append(f"funnel by {by}, {stage}, group {t['group'].iloc[c[1]]} (true {truth_col[c]}) "
                                    f"narrowed to [{lo:g}, {hi:g}]")
        for rate, num, den in (("graduation_rate", "graduated", "enrolled"), ("appointment_rate", "appointed",
                                                                               "graduated")):
            for i in range(len(f)):
                shown_rate, n, d = _num(f[rate].iloc[i]), _num(f[num].iloc[i]), _num(f[den].iloc[i])
                if shown_rate is not None and (n is None or d is None):
                    failures.append(f"funnel by {by}: {rate} shown beside a hidden count (group {i})")
    # -- outreach: families per site and reason; those with no tie add up to the Overview's isolated families
    shown_o, true_o = r["outreach"]
    isolated = _num(r["overview"]["headline"]["isolated_families"])
    for reason, part in shown_o.groupby("reason"):
        truth_part = true_o[true_o["reason"] == reason].set_index("site_id")["families"]
        values = {site: _num(v) for site, v in zip(part["site_id"], part["families"])}
        if isolated is None or not str(reason).startswith("no ties") or int(truth_part.sum()) != isolated:
            continue
        values["total"] = isolated
        eqs = [{**{site: 1.0 for site in part["site_id"]}, "total": -1.0}]
        targets = [site for site in part["site_id"] if values[site] is None and 1 <= int(truth_part[site]) < K]
        for site, (lo, hi) in audit(values, eqs, targets).items():
            if not hi - lo >= K:
                failures.append(f"outreach {reason} at {site} (true {int(truth_part[site])}) narrowed to "
                                f"[{lo:g}, {hi:g}]")
    # -- the Sankey: every middle node's flows balance; the first node's out-flows add up to the people
    # enrolled and the flows into seats to the people appointed (the Overview's funnel)
    shown_flows = {(a, b): c for a, b, c in r["pipelines"]["site"][0]["flows"]}
    true_flows = {(a, b): int(c) for a, b, c in r["sankey_truth"]}
    values = {f: (float(shown_flows[f]) if f in shown_flows else None) for f in true_flows}
    nodes_in = {b for _a, b in true_flows}
    nodes_out = {a for a, _b in true_flows}
    eqs = [{f: (1.0 if f[1] == n else 0.0) - (1.0 if f[0] == n else 0.0) for f in true_flows if n in f}
           for n in nodes_in & nodes_out]
    for stage, members in (("enrolled", [f for f in true_flows if f[0] not in nodes_in]),
                           ("appointed", [f for f in true_flows if f[1].endswith(" seat")])):
        total = _num(totals.get(stage))
        if total is not None and members and sum(true_flows[f] for f in members) == total:
            values[stage] = total
            eqs.append({**{f: 1.0 for f in members}, stage: -1.0})
    targets = [f for f, v in values.items() if v is None and isinstance(f, tuple) and 1 <= true_flows[f] < K]
    for f, (lo, hi) in audit(values, eqs, targets).items():
        if not hi - lo >= K:
            failures.append(f"sankey {f[0]} -> {f[1]} (true {true_flows[f]}) narrowed to [{lo:g}, {hi:g}]")
    # -- data quality: a share of missing values times the rows shown gives a count ------------------------
    shown_q, true_q = r["quality"]
    rows = {t: _num(v) for t, v in zip(shown_q["rows"]["table"], shown_q["rows"]["rows"])}
    true_rows = dict(zip(true_q["rows"]["table"], true_q["rows"]["rows"]))
    for (_, m), (_, tm) in zip(shown_q["missing"].iterrows(), true_q["missing"].iterrows()):
        share = _num(m["missing_share"])
        if share is None or rows.get(m["table"]) is None:
            continue
        missing = round(float(tm["missing_share"]) * true_rows[m["table"]])
        present = true_rows[m["table"]] - missing
        if 1 <= missing < K or 1 <= present < K:
            failures.append(f"data quality: {m['table']}.{m['column']} missing share {share:.4f} x {rows[m['table']]} "
                            f"rows gives {missing} missing")
    # -- every cohort's test -------------------------------------------------------------------------------
    tests, truth_tests = r["bridging"]["tests"], r["admin_tests"]
    cohort_rows = tests[tests["cohort"].notna()]
    for (_, t), (_, a) in zip(cohort_rows.iterrows(), truth_tests[truth_tests["cohort"].notna()].iterrows()):
        ties, cross, ei = _num(t["ties"]), _num(t["cross_ties"]), _num(t["observed"])
        true_cross, true_ties = int(a["cross_ties"] or 0), int(a["ties"])
        values = {"cross": cross, "within": None, "ties": ties}
        eqs = [{"ties": -1.0, "cross": 1.0, "within": 1.0}]
        if ei is not None:
            eqs.append({"cross": 1.0 - ei, "within": -(1.0 + ei)})
        for cell, true in (("cross", true_cross), ("within", true_ties - true_cross)):
            if values[cell] is None and 1 <= true < K:
                lo, hi = audit(values, eqs, [cell])[cell]
                if not hi - lo >= K:
                    failures.append(f"cohort {t['cohort']} {t['wave']} {t['attribute']}: {cell} (true {true}) "
                                    f"narrowed to [{lo:g}, {hi:g}]")
    return failures


@pytest.fixture
def store_for(tmp_path, monkeypatch):
    """A fresh store holding the demo with `parents` parents (the app's loaders read CIVICTIES_STORE)."""
    from graph.store import SQLiteStore
    from ingest.demo import write_demo
    from ingest.load import load_package

    def make(parents: int, seed: int = 7, edit=None) -> str:
        folder = tmp_path / f"demo-{parents}-{seed}"
        write_demo(folder, parents=parents, seed=seed)
        if edit:
            edit(folder)
        with SQLiteStore(tmp_path / f"store-{parents}-{seed}.sqlite") as store:
            load_package(folder, store)
            uri = store.uri
        monkeypatch.setenv("CIVICTIES_STORE", uri)
        monkeypatch.setenv("CIVICTIES_MIN_COUNT", str(K))
        monkeypatch.setenv("CIVICTIES_PSEUDONYM_SALT", "attack")
        return uri
    return make


@pytest.mark.parametrize("parents,seed", [(600, 7), (40, 3)], ids=["demo-600", "small-40"])
def test_no_hidden_small_count_can_be_narrowed(store_for, parents, seed):
    release = _release(store_for(parents, seed))
    hidden_small = sum(1 for (attr, w), M in release["mixing"].items() for v in M.to_numpy().ravel()
                       if isinstance(v, str) and v.startswith("<"))
    assert hidden_small, "the dataset has hidden small counts to attack"
    failures = _attack(release)
    assert not failures, f"{len(failures)} hidden counts recovered or narrowed, e.g. {failures[:5]}"


def _one_cohort(folder) -> None:
    """Keep only the first cohort (and its enrollments)."""
    import pandas as pd
    cohorts = pd.read_csv(folder / "cohorts.csv", dtype=str, keep_default_na=False)
    first = cohorts["cohort_id"].iloc[0]
    cohorts[cohorts["cohort_id"] == first].to_csv(folder / "cohorts.csv", index=False)
    enr = pd.read_csv(folder / "enrollments.csv", dtype=str, keep_default_na=False)
    enr[enr["cohort_id"] == first].to_csv(folder / "enrollments.csv", index=False)


def _group_of_one(folder) -> None:
    """One parent with a race/ethnicity nobody else has (a group of 1) who named and was named by others."""
    import pandas as pd
    people = pd.read_csv(folder / "people.csv", dtype=str, keep_default_na=False)
    ties = pd.read_csv(folder / "ties.csv", dtype=str, keep_default_na=False)
    busy = ties["from_person_id"].value_counts().index[0]
    people.loc[people["person_id"] == busy, "race_ethnicity"] = "Pacific Islander"
    people.to_csv(folder / "people.csv", index=False)


@pytest.mark.parametrize("edit", [_one_cohort, _group_of_one], ids=["one-cohort", "group-of-one"])
def test_edge_cases(store_for, edit):
    failures = _attack(_release(store_for(120, 5, edit)))
    assert not failures, f"{len(failures)} hidden counts recovered or narrowed, e.g. {failures[:5]}"


@pytest.mark.skipif(os.environ.get("CIVICTIES_SKIP_LARGE") == "1", reason="CIVICTIES_SKIP_LARGE=1")
def test_no_hidden_small_count_can_be_narrowed_at_10000_parents(store_for):
    failures = _attack(_release(store_for(10_000)))
    assert not failures, f"{len(failures)} hidden counts recovered or narrowed, e.g. {failures[:5]}"


def test_the_time_to_seat_curve_steps_by_at_least_k_seatings(store_for):
    """Each step of a Kaplan-Meier curve is 1/n of those still waiting: a funder's curve pools them so that
    every drawn step holds at least K seatings."""
    from dashboard import data
    from dashboard.accounts import Principal
    from queries.pipeline import time_to_seat
    store_for(600)
    full = time_to_seat(data.analysis_dataset("funder", None, *data.data_key()), by=None)
    previous = np.concatenate([[1.0], full["survival"].to_numpy()[:-1]])
    events = np.rint(full["at_risk"].to_numpy() * (1 - full["survival"].to_numpy() / previous))
    shown = data.load_pipeline(Principal(username="f", role="funder"))["km"]
    assert 2 <= len(shown) < len(full)
    times = list(shown["timeline"])
    for before, after in zip(times, times[1:]):
        between = (full["timeline"] > before) & (full["timeline"] <= after)
        assert events[between.to_numpy()].sum() >= K, (before, after)
    assert set(shown["survival"]) <= set(full["survival"])          # the same curve, fewer steps
