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
    complete = {a: ds.people[a].notna().all() for a in data.ATTRIBUTES if a in ds.people}
    return {"overview": overview, "bridging": bridging, "mixing": mixing, "truth": truth, "waves": waves,
            "admin_tests": admin_tests, "complete": complete, "explorer": explorer, "people_truth": ds.people,
            "pipelines": pipelines, "quality": quality, "outreach": outreach, "sankey_truth": sankey_truth,
            "overview_truth": data.load_overview(admin), "bridging_truth": data.load_bridging(admin)}


def _outreach_truth(data):
    """Families to reach per site and reason among the consenting people, unsuppressed."""
    import pandas as pd

    from queries import outreach
    ds = data.analysis_dataset("funder", None, *data.data_key())
    table = outreach.outreach_families(ds, inactive_days=data.settings.get_int("CIVICTIES_OUTREACH_DAYS"))
    rows = [{"site_id": s, "reason": outreach.REASON_LABELS[r]} for s, rs in zip(table["site_id"], table["reason_codes"])
            for r in rs]
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
        values["within"] = values["across"] = values["known"] = values["unknown"] = None
        eqs += [within_eq, across_eq, {"known": -1.0, "within": 1.0, "across": 1.0}]
        # all ties (published as they are) = ties with the group known + ties with someone whose group is not
        wrow_truth = r["overview_truth"]["waves"]
        if w is None:
            all_ties = _num(r["overview"]["headline"]["ties"])
            true_all = int(r["overview_truth"]["headline"]["ties"])
        else:
            all_ties = _num(r["overview"]["waves"].loc[r["overview"]["waves"]["wave"] == w, "ties"].iloc[0])
            true_all = int(wrow_truth.loc[wrow_truth["wave"] == w, "ties"].iloc[0])
        truth["unknown"] = true_all - int(sum(truth.values()))
        if all_ties is not None:
            values["x_all"] = all_ties
            eqs.append({"x_all": -1.0, "known": 1.0, "unknown": 1.0})
            if r["complete"].get(attr):            # a stronger attacker than a real one, who cannot know that
                values["unknown"] = 0.0
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
                    if ties is not None:
                        eqs.append({"known": 1.0, "x_known": -1.0})
                        values["x_known"] = ties
                    if cross is not None:
                        eqs.append({"across": 1.0, "x_cross": -1.0})
                        values["x_cross"] = cross
                    if ei is not None:
                        eqs.append({"across": 1.0 - ei, "within": -(1.0 + ei)})
        targets = [c for c, v in values.items() if v is None and (isinstance(c, tuple) or c == "unknown")
                   and 1 <= truth[c] < K]
        for cell, (lo, hi) in audit(values, eqs, targets).items():
            if not hi - lo >= K:          # (NaN: the constraints contradict each other: the model is wrong)
                what = "ties with an unrecorded group" if cell == "unknown" else \
                    f"cell {groups[cell[0]]}/{groups[cell[1]]}"
                failures.append(f"{attr} wave {w}: {what} (true {truth[cell]}) narrowed to [{lo:g}, {hi:g}]")
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
    # -- the funnel by site, cohort, race and income: one LP per grouping over every stage: each column adds
    # up to the Overview's total, a group's stages are nested (civic, appointed <= graduated <= enrolled), and
    # a group's enrolled are at most its people (the explorer's group sizes, where shown)
    totals = r["overview"]["funnel"]
    explorer_sizes = {}
    for (attr, w), (published, _unused) in r["explorer"].items():
        if w is None:
            explorer_sizes[attr] = {("(not recorded)" if g == "not recorded" else g): _num(v)
                                    for g, v in published["people"].items()}
    for by, (shown, true) in r["pipelines"].items():
        f, t = shown["funnel"], true["funnel"]
        stages = [s_ for s_ in ("enrolled", "graduated", "civic", "appointed") if s_ in f]
        values, truth_cells, eqs, ineqs = {}, {}, [], []
        for stage in stages:
            for i in range(len(f)):
                values[stage, i] = _num(f[stage].iloc[i])
                truth_cells[stage, i] = int(t[stage].iloc[i])
            total = _num(totals.get(stage))
            if total is not None and sum(truth_cells[stage, i] for i in range(len(f))) == total:
                values[stage, "total"] = total         # (a person counted in two groups (cohorts): no equation)
                eqs.append({**{(stage, i): 1.0 for i in range(len(f))}, (stage, "total"): -1.0})
        for i, group in enumerate(t["group"]):
            for small, big in (("graduated", "enrolled"), ("civic", "graduated"), ("appointed", "graduated")):
                if small in f and big in f:
                    ineqs.append({(small, i): 1.0, (big, i): -1.0})
            cap = explorer_sizes.get(by, {}).get(str(group))
            if cap is not None:
                values["cap", i] = cap
                ineqs.append({("enrolled", i): 1.0, ("cap", i): -1.0})
        targets = [c for c in truth_cells if values[c] is None and 1 <= truth_cells[c] < K]
        for c, (lo, hi) in audit(values, eqs, targets, inequalities=ineqs).items():
            if not hi - lo >= K:
                failures.append(f"funnel by {by}, {c[0]}, group {t['group'].iloc[c[1]]} (true {truth_cells[c]}) "
                                f"narrowed to [{lo:g}, {hi:g}]")
        for rate, num, den in (("graduation_rate", "graduated", "enrolled"), ("appointment_rate", "appointed",
                                                                               "graduated")):
            for i in range(len(f)):
                shown_rate, n, d = _num(f[rate].iloc[i]), _num(f[num].iloc[i]), _num(f[den].iloc[i])
                if shown_rate is not None and (n is None or d is None):
                    failures.append(f"funnel by {by}: {rate} shown beside a hidden count (group {i})")
    # -- where alumni sit: a body's current members are some of its graduates; where nobody sits on two
    # bodies, the graduates add up to the people appointed (the Overview's funnel)
    shown_b, true_b = r["pipelines"]["site"][0]["bodies"], r["pipelines"]["site"][1]["bodies"]
    if len(true_b):
        values, truth_cells, eqs, ineqs = {}, {}, [], []
        for col in ("graduates", "current"):
            for i in range(len(true_b)):
                values[col, i] = _num(shown_b[col].iloc[i])
                truth_cells[col, i] = int(true_b[col].iloc[i])
        appointed = _num(totals.get("appointed"))
        if appointed is not None and int(true_b["graduates"].sum()) == appointed:
            values["appointed"] = appointed
            eqs.append({**{("graduates", i): 1.0 for i in range(len(true_b))}, "appointed": -1.0})
        ineqs += [{("current", i): 1.0, ("graduates", i): -1.0} for i in range(len(true_b))]
        targets = [c for c in truth_cells if values[c] is None and 1 <= truth_cells[c] < K]
        for c, (lo, hi) in audit(values, eqs, targets, inequalities=ineqs).items():
            if not hi - lo >= K:
                failures.append(f"bodies: {c[0]} of {true_b['body_id'].iloc[c[1]]} (true {truth_cells[c]}) "
                                f"narrowed to [{lo:g}, {hi:g}]")
    # -- the network at the end of each year: what one shown year adds to the one before, and the last shown
    # year against the whole network (the headline), is a count too
    years, years_truth = r["bridging"]["growth_by_year"], r["bridging_truth"]["growth_by_year"]
    headline = r["overview"]["headline"]
    for col in ("people", "ties", "isolates"):
        if col not in years:
            continue
        everyone = int(years_truth["people"].iloc[0]) if "people" in years_truth and len(years_truth) else 0
        last = everyone if col == "isolates" else 0
        points = [(p, _num(v)) for p, v in zip(years["period"], years[col])] + \
            ([("whole network", _num(headline.get(col)))] if col in ("people", "ties") else [])
        for period, v in points:
            if v is None:
                continue
            if 1 <= abs(v - last) < K:
                failures.append(f"growth by year: {col} changes by {abs(v - last):g} up to {period}")
            last = v
    # -- what changed since the last cohort: each "new" count beside its published total gives the old away
    change, change_truth = r["overview"]["change"], r["overview_truth"]["change"]
    if change:
        mixing_all = {"new_cross_race": ("race_ethnicity", None), "new_cross_class": ("income_band", None)}
        for key, total in (("new_ties", _num(headline["ties"])),
                           ("new_graduates", _num(totals.get("graduated"))),
                           *((k_, None) for k_ in mixing_all)):
            new = _num(change[key])
            if key in mixing_all:
                M = r["mixing"][mixing_all[key]]
                cells = [_num(M.iloc[i, j]) for i in range(len(M)) for j in range(i + 1, len(M))]
                total = sum(cells) if all(c is not None for c in cells) else None
            if new is not None and total is not None and 1 <= total - new < K:
                failures.append(f"since the last cohort: {key} {new:g} beside a total of {total:g}")
            if new is not None and key.startswith("new_cross"):
                all_new = _num(change["new_ties"])
                if all_new is not None and 1 <= all_new - new < K:
                    failures.append(f"since the last cohort: {key} {new:g} of {all_new:g} new ties")
        assert change_truth["cohort"] == change["cohort"]
    # -- the same respondents before and after: a wave's respondents minus those of both waves, and all
    # respondents' ties minus the panel's, are counts of the respondents of one wave only
    for c in (r["overview"]["comparison"], r["bridging"]["comparison"]):
        if not c:
            continue
        n = c["respondents"]
        for w in ("before", "after"):
            a, b = _num(n[w]), _num(n["both"])
            if a is not None and b is not None and 1 <= a - b < K:
                failures.append(f"comparison: {a - b:g} answered the {w} wave only")
        for attr, kinds in c["by_attribute"].items():
            for side in ("before", "after"):
                p_, a_ = kinds["panel"][side], kinds["all"][side]
                for field in ("ties", "cross"):
                    x, y = _num(a_[field]), _num(p_[field])
                    if x is not None and y is not None and 1 <= x - y < K:
                        failures.append(f"comparison {attr} {side}: all respondents' {field} minus the panel's "
                                        f"is {x - y:g}")
                pt, pc, at, ac = (_num(p_["ties"]), _num(p_["cross"]), _num(a_["ties"]), _num(a_["cross"]))
                for label, (t_, c_) in (("panel", (pt, pc)), ("all", (at, ac))):
                    if t_ is not None and c_ is not None and 1 <= t_ - c_ < K:
                        failures.append(f"comparison {attr} {side} {label}: within-group ties {t_ - c_:g}")
    cohort_panel = r["bridging"]["cohort_panel"]
    for _, row in cohort_panel.iterrows():
        b = _num(row["respondents_both"])
        for col in ("respondents_before", "respondents_after"):
            a = _num(row[col])
            if a is not None and b is not None and 1 <= a - b < K:
                failures.append(f"cohort {row['cohort']}: {a - b:g} answered one wave only ({col})")
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


# -- hand-worked cases of the relations the attacker above models --------------------------------------------

def test_a_hidden_count_squeezed_between_a_total_and_its_rows_caps_gets_more_company():
    """Appointed by group: A 12, B 5, C 8 (total 25, published). Hiding B and C leaves B + C = 13: alone, B
    could be 0..13. But a group's appointed are at most its graduated (A 20, B 11, C 10, shown), so C <= 10
    gives B >= 3 and B <= 11: [3, 11], narrower than 10. protect() must hide more."""
    from queries.disclosure import protect
    values = {("app", "A"): 12, ("app", "B"): 5, ("app", "C"): 8, "total": 25,
              ("grad", "A"): 20, ("grad", "B"): 11, ("grad", "C"): 10}
    eqs = [{("app", "A"): 1, ("app", "B"): 1, ("app", "C"): 1, "total": -1}]
    ineqs = [{("app", g): 1, ("grad", g): -1} for g in "ABC"]
    shown = {c: (None if c in {("app", "B"), ("app", "C")} else v) for c, v in values.items()}
    lo, hi = audit(shown, eqs, [("app", "B")], inequalities=ineqs)[("app", "B")]
    assert (lo, hi) == (3.0, 11.0)                        # the attack, by hand
    hidden = protect(values, eqs, K, inequalities=ineqs, fixed=["total"])
    assert {("app", "B"), ("app", "C")} < hidden and "total" not in hidden
    bounds = audit({c: (None if c in hidden else v) for c, v in values.items()}, eqs,
                   [("app", "B"), ("app", "C")], inequalities=ineqs)
    assert all(hi - lo >= K for lo, hi in bounds.values()), bounds


def test_ties_with_an_unrecorded_group_are_protected_when_all_ties_are_published():
    """40 ties within a, 30 within b, 12 across: 82 known; 85 ties in all (published) leaves 3 ties with
    someone whose group is not recorded. Unprotected, 85 - 82 gives the 3 away; protected, the known total
    and enough cells are hidden that it stays at least 10 wide."""
    import pandas as pd

    from queries.disclosure import protect_mixing
    m = pd.DataFrame([[40, 12], [12, 30]], index=["a", "b"], columns=["a", "b"])
    _shaped, plain = protect_mixing(m, K)
    assert plain["known"] == 82                            # without all_ties: nothing to protect
    shaped, totals = protect_mixing(m, K, all_ties=85)
    assert not totals["known_shown"]
    cells = {(0, 0): shaped.iloc[0, 0], (0, 1): shaped.iloc[0, 1], (1, 1): shaped.iloc[1, 1]}
    values = {c: (v if not isinstance(v, str) else None) for c, v in cells.items()}
    values.update({"within": totals["within"] if totals["within_shown"] else None,
                   "across": totals["across"] if totals["across_shown"] else None,
                   "known": None, "unknown": None, "all": 85})
    eqs = [{(0, 0): 1, (1, 1): 1, "within": -1}, {(0, 1): 1, "across": -1},
           {"within": 1, "across": 1, "known": -1}, {"known": 1, "unknown": 1, "all": -1}]
    lo, hi = audit(values, eqs, ["unknown"])["unknown"]
    assert hi - lo >= K, (lo, hi)


def test_a_year_that_adds_a_few_is_blanked_for_funders():
    """Ties at the end of each year 20, 25, 40, and 43 in the whole network: 2022 adds 5 (blanked); 2023
    adds 20 to 2021's 20 (kept), but the whole network then adds 3 to it, so 2023 is blanked as well."""
    import pandas as pd

    from dashboard.data import _pool_cumulative
    raw = pd.DataFrame({"people": [50, 50, 50, 50], "ties": [20, 25, 40, 41]})
    frame = raw.assign(period=["2021", "2022", "2023", "2024"])
    out = _pool_cumulative(frame, raw, K, {"people": 50, "ties": 43})
    assert list(out["ties"]) == [20, None, None, None]
    # 2024 adds 1 to 2023: one of them must go; the pass keeps 2023, which the whole network's 41 then undoes
    out = _pool_cumulative(frame, raw, K, {"people": 50, "ties": 41})
    assert list(out["ties"]) == [20, None, None, None]
    assert list(out["people"]) == [50, None, None, None]


# -- the pathways views (dashboard/pathways_data.py): every ladder's stage tables ----------------------------

_ADDITIVE = ("site", "race_ethnicity", "income_band", "primary_language", "neighborhood")


def _pathway_attack(shown: dict, truth: dict) -> list[str]:
    """Per ladder: one LP over the overall rows and every additive grouping's rows. A stage's reached is its
    stuck plus the next stage's reached; each grouping's groups add up to the overall row of the stage; the
    parents per TPE sequence add up to the first stage's reached."""
    failures = []
    ladders = sorted({name.split(" ")[0] for name in shown})
    for lid in ladders:
        values, true, eqs = {}, {}, []

        def cells(table_name, group_col=True):
            s_, t_ = shown[table_name], truth[table_name]
            for (_, a), (_, b) in zip(s_.iterrows(), t_.iterrows()):
                g = a["group"] if group_col and "group" in a else "All"
                for col in ("reached", "stuck"):
                    values[table_name, g, a["stage"], col] = _num(a[col])
                    true[table_name, g, a["stage"], col] = int(b[col])
            stages = list(dict.fromkeys(t_["stage"]))
            for g in dict.fromkeys(t_["group"] if group_col and "group" in t_ else ["All"]):
                for i, st_ in enumerate(stages):
                    eq = {(table_name, g, st_, "reached"): 1.0, (table_name, g, st_, "stuck"): -1.0}
                    if i + 1 < len(stages):
                        eq[(table_name, g, stages[i + 1], "reached")] = -1.0
                    eqs.append(eq)
            return stages

        overall = f"{lid} overall"
        if overall not in shown:
            continue
        stages = cells(overall, group_col=False)
        for by in _ADDITIVE:
            name = f"{lid} by {by}"
            if name not in shown:
                continue
            cells(name)
            groups = list(dict.fromkeys(truth[name]["group"]))
            for st_ in stages:
                for col in ("reached", "stuck"):
                    if all((name, g, st_, col) in true for g in groups):
                        if sum(true[name, g, st_, col] for g in groups) == true[overall, "All", st_, col]:
                            eqs.append({**{(name, g, st_, col): 1.0 for g in groups},
                                        (overall, "All", st_, col): -1.0})
        seq = f"{lid} sequences"
        if seq in shown and "parents" in shown[seq]:
            for i, (a, b) in enumerate(zip(shown[seq]["parents"], truth[seq]["parents"])):
                values[seq, i] = _num(a)
                true[seq, i] = int(b)
            if sum(true[seq, i] for i in range(len(shown[seq]))) == true[overall, "All", stages[0], "reached"]:
                eqs.append({**{(seq, i): 1.0 for i in range(len(shown[seq]))},
                            (overall, "All", stages[0], "reached"): -1.0})
        targets = [c for c, v in values.items() if v is None and 1 <= true[c] < K]
        for c, (lo, hi) in audit(values, eqs, targets).items():
            if not hi - lo >= K:
                failures.append(f"pathways {c} (true {true[c]}) narrowed to [{lo:g}, {hi:g}]")
        for c, v in values.items():
            if v is not None and v != true[c]:
                failures.append(f"pathways {c} shown as {v} where the truth is {true[c]}")
    return failures


def test_the_pathways_views_keep_hidden_counts_hidden(store_for):
    from dashboard import pathways_data
    from dashboard.accounts import Principal
    store_for(600)
    shown = dict(pathways_data.funder_tables(Principal(username="f", role="funder")))
    truth = dict(pathways_data.funder_tables(Principal(username="e", role="evaluator")))
    hidden = sum(1 for t in shown.values() for v in t.to_numpy().ravel() if isinstance(v, str) and v.startswith("<"))
    assert hidden, "the demo's pathways have hidden small counts to attack"
    failures = _pathway_attack(shown, truth)
    assert not failures, f"{len(failures)} hidden pathway counts recovered or narrowed, e.g. {failures[:5]}"


# -- the audit's shortcuts give the answers of the plain method ------------------------------------------------

def test_independent_blocks_give_the_bounds_of_one_joint_problem():
    """Two tables that share no constraint: row 1 a + b + 12 = 20 (a, b hidden), row 2 d + e + 5 = 15 (d, e
    hidden), plus e <= d. By hand: a, b in [0, 8]; d in [5, 10] (d + e = 10 and e <= d), e in [0, 5]. Each
    block's programs hold only its own cells; the bounds are those of the joint problem and of each table
    audited alone."""
    from queries.disclosure import _System
    values = {"a": None, "b": None, "c": 12, "t1": 20, "d": None, "e": None, "f": 5, "t2": 15}
    eqs = [{"a": 1, "b": 1, "c": 1, "t1": -1}, {"d": 1, "e": 1, "f": 1, "t2": -1}]
    ineqs = [{"e": 1, "d": -1}]
    joint = audit(values, eqs, inequalities=ineqs)
    assert joint == {"a": (0.0, 8.0), "b": (0.0, 8.0), "d": (5.0, 10.0), "e": (0.0, 5.0)}
    first = audit({c: values[c] for c in ("a", "b", "c", "t1")}, eqs[:1])
    second = audit({c: values[c] for c in ("d", "e", "f", "t2")}, eqs[1:], inequalities=ineqs)
    assert joint == {**first, **second}
    system = _System(values, eqs, ineqs)
    blocks = {c: system.block[system.index[c]] for c in "abde"}
    assert blocks["a"] == blocks["b"] != blocks["d"] == blocks["e"]
    # a hidden total joins the two blocks into one: then b's row may take what d's row gives up
    values2 = {**values, "t1": None, "t2": None, "all": 35}
    eqs2 = eqs + [{"t1": 1, "t2": 1, "all": -1}]
    system2 = _System(values2, eqs2, ineqs)
    assert len({system2.block[i] for i in range(len(system2.hidden))}) == 1
    assert audit(values2, eqs2, ["a"], inequalities=ineqs)["a"] == (0.0, 18.0)   # 35 - 12 - 5


def _protect_plainly(values, equations, k, *, inequalities=(), fixed=()):
    """The method as first written: every round, audit every small count (two programs each, one joint
    problem) and give the first too narrow one (by name) the smallest shown non-zero cell linked to it."""
    hidden = {c for c, v in values.items() if 1 <= v < k}
    primary = sorted(hidden, key=str)
    linked = list(equations) + list(inequalities)
    while True:
        bounds = audit({c: (None if c in hidden else v) for c, v in values.items()}, equations, primary,
                       inequalities=inequalities)
        weak = [c for c in primary if bounds[c][1] - bounds[c][0] < k]
        if not weak:
            return hidden
        seen, todo, found = {weak[0]}, [weak[0]], set()
        while todo:
            current = todo.pop()
            for eq in linked:
                if current in eq:
                    for other in eq:
                        if other in hidden and other not in seen:
                            seen.add(other)
                            todo.append(other)
                        elif other not in hidden and values[other] > 0:
                            found.add(other)
        candidates = [c for c in sorted(found, key=lambda o: (values[o], str(o))) if c not in fixed]
        if not candidates:
            return hidden
        hidden.add(candidates[0])


def _funnel_release(rows, caps=None, fixed_totals=False):
    """A funnel table (group -> enrolled, graduated, appointed) as cells, column totals and nesting."""
    values, eqs, ineqs, fixed = {}, [], [], []
    for s, stage in enumerate(("enrolled", "graduated", "appointed")):
        for g, row in enumerate(rows):
            values[stage, g] = row[s]
        values[stage, "total"] = sum(row[s] for row in rows)
        eqs.append({**{(stage, g): 1 for g in range(len(rows))}, (stage, "total"): -1})
        if fixed_totals:
            fixed.append((stage, "total"))
    for g in range(len(rows)):
        ineqs += [{("graduated", g): 1, ("enrolled", g): -1}, {("appointed", g): 1, ("graduated", g): -1}]
        if caps:
            values["cap", g] = caps[g]
            fixed.append(("cap", g))
            ineqs.append({("enrolled", g): 1, ("cap", g): -1})
    return values, eqs, ineqs, fixed


@pytest.mark.parametrize("rows,caps,fixed_totals", [
    ([(40, 20, 12), (25, 11, 5), (30, 10, 8)], None, True),              # the squeezed case above
    ([(40, 30, 3), (25, 12, 8), (60, 50, 20)], [41, 25, 70], True),      # enrolled capped by the people
    ([(12, 9, 2), (30, 22, 15), (8, 6, 1), (50, 41, 30)], [14, 30, 18, 55], False),
    ([(5, 3, 1), (7, 2, 0), (90, 80, 12), (11, 10, 4), (33, 21, 9)], None, False),
    ([(15, 12, 11), (14, 13, 12), (16, 15, 3)], [15, 14, 16], True),     # caps pin the enrolled: many rounds
], ids=["squeezed", "capped", "capped-free-totals", "many-small", "pinned"])
def test_protect_hides_what_the_plain_method_hides(rows, caps, fixed_totals):
    """Blocks, sparse programs, counts found safe not audited again and counts two known releases already
    set k apart: the same cells hidden as by re-auditing every small count every round, and the result
    passes that audit."""
    from queries.disclosure import protect
    values, eqs, ineqs, fixed = _funnel_release(rows, caps, fixed_totals)
    expected = _protect_plainly(values, eqs, K, inequalities=ineqs, fixed=fixed)
    got = protect(values, eqs, K, inequalities=ineqs, fixed=fixed)
    assert got == expected
    small = [c for c, v in values.items() if 1 <= v < K]
    bounds = audit({c: (None if c in got else v) for c, v in values.items()}, eqs, small, inequalities=ineqs)
    assert all(hi - lo >= K for lo, hi in bounds.values()), bounds
