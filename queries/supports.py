"""Do supports help under-involved families take part? (TPE: childcare, translation, food, transportation,
meeting times.)

For a group of families (those who need a language other than English; those with children), compare how
often they take part in their site's events that offer a support with how often they take part in those that
do not.

What "take part" means here. A family is *invited* to every event held at a site where one of its members is
based (people.site_id): the records hold no invitation list, so every family of the site counts, for every
event of the site. A family *took part* in an event when at least one of its members attended it. The
*attendance rate* of a group at a set of events is

    rate = (invited family-event pairs in which the family took part) / (invited family-event pairs)

that is, the share of the events they were invited to that the group's families came to (each family weighted
by how many events its site held). Counted only:

- events of the kinds families are invited to (not staff workshops, training of trainers, trainer
  certifications or the children's track: FAMILY_EVENT_KINDS);
- events of sites that record supports at all (at least one event of the site lists one): at a site that never
  fills the column in, "no support recorded" says nothing about what was offered.

The difference (with support minus without) comes with

- a 95% Wald interval whose standard errors are clustered by event: each side's rate is a ratio estimator
  over events, var(r) = n / (n - 1) * sum_e (a_e - r m_e)^2 / (sum_e m_e)^2, with a_e the group's families who
  took part in event e and m_e those invited, n the number of events (Cochran 1977, Sampling Techniques,
  section 6.11); the interval is clipped to [-1, 1]; none when a side has fewer than two events;
- a two-sided permutation p-value: which events offered the support is shuffled among the events of the same
  site (each event keeping its attendance), exact over every arrangement when there are at most
  `exact_max` of them, else `permutations` seeded shuffles, p = (1 + as extreme) / (1 + shuffles); with
  NORMAL_FROM events or more both with and without the support (large programs), from a normal with the
  shuffles' exact mean and variance (events drawn without replacement within each site: a sum of k of a
  site's N events has variance k (N - k) / N times their variance), which draws none.

This is an association, not an effect: schools may offer translation where they expect families who need it,
and events that offer supports may differ in other ways (the comparison group's rows show whether everyone
comes more often to those events). Who counts as in a group:

- *needs a language other than English*: a parent's primary_language is recorded and is not English (any
  parent; a family without parents on record is judged by its other members); per language the same with that
  language. Families with no language recorded are in neither this group nor the English one;
- *has children*: a member of the family has role "child". The data contract records children but not their
  ages, so "young children" is every child on record.

>>> import pandas as pd
>>> from graph.dataset import Dataset
>>> def frame(rows, cols): return pd.DataFrame(rows, columns=cols, dtype=object)
>>> ds = Dataset(tables={
...     "people": frame([("a", "parent", "F1", "Spanish", "S1"), ("b", "parent", "F2", "English", "S1")],
...                     ["person_id", "role", "family_id", "primary_language", "site_id"]),
...     "events": frame([("E1", "forum", "S1", "translation"), ("E2", "forum", "S1", None)],
...                     ["event_id", "kind", "site_id", "supports"]),
...     "attendance": frame([("a", "E1")], ["person_id", "event_id"])})
>>> row = support_effects(ds, groups=("language",), supports=("translation",)).iloc[0]
>>> [float(row[c]) for c in ("rate_with", "rate_without", "difference")]
[1.0, 0.0, 1.0]
"""
from __future__ import annotations

import itertools
import math

import numpy as np
import pandas as pd
from scipy.special import erfc

from graph.model import EVENT_KINDS, split_list

__all__ = ["SUPPORT_LABELS", "FAMILY_EVENT_KINDS", "GROUP_SUPPORT", "COLUMNS", "family_groups", "support_effects",
           "sentence", "percent", "points"]

SUPPORT_LABELS = {"childcare": "childcare", "translation": "translation", "food": "food",
                  "transportation": "transportation", "meeting_time": "a family-friendly meeting time",
                  "any": "any support"}
# Events for staff and trainers, and the children's own track, are not events families are invited to.
FAMILY_EVENT_KINDS = tuple(k for k in EVENT_KINDS if k not in ("staff_workshop", "training_of_trainers",
                                                               "trainer_certification", "children_track"))
# The support each group is compared on, besides "any support".
GROUP_SUPPORT = {"language": "translation", "children": "childcare"}
COLUMNS = ["group", "group_label", "comparison", "support", "families", "events_with", "events_without",
           "invited_with", "took_part_with", "rate_with", "invited_without", "took_part_without", "rate_without",
           "difference", "ci_low", "ci_high", "p_value", "method"]
_Z = 1.959963984540054
#: With at least this many events offering the support and as many not, the permutation p-value comes from the
#: shuffles' exact mean and variance (a normal approximation) instead of drawing them.
NORMAL_FROM = 100


def family_groups(ds) -> pd.DataFrame:
    """One row per family (index family_id): `languages` (the non-English languages its parents need),
    `language` ("other", "english" or None when none is recorded), `children` (a child on record)."""
    people = ds.people
    members = people[people["family_id"].notna()]
    if members.empty:
        return pd.DataFrame(columns=["languages", "language", "children"])
    role = members["role"].fillna("parent")
    lang = members["primary_language"] if "primary_language" in members else pd.Series(None, index=members.index)
    lang = lang.map(lambda v: v.strip() if isinstance(v, str) and v.strip() else None)
    is_parent = role == "parent"
    has_parent_lang = lang[is_parent].notna().groupby(members.loc[is_parent, "family_id"]).any()
    use = lang.notna() & (is_parent | ~members["family_id"].map(has_parent_lang.to_dict()).eq(True))
    out = pd.DataFrame(index=pd.Index(sorted(members["family_id"].unique()), name="family_id"))
    known = pd.DataFrame({"family_id": members.loc[use, "family_id"], "lang": lang[use]})
    other = known[known["lang"].str.casefold() != "english"]
    out["languages"] = other.groupby("family_id")["lang"].agg(lambda s: tuple(sorted(set(s)))).reindex(out.index)
    out["languages"] = [v if isinstance(v, tuple) else () for v in out["languages"]]
    recorded = set(known["family_id"])
    out["language"] = [("other" if langs else "english") if f in recorded else None
                       for f, langs in zip(out.index, out["languages"])]
    out["children"] = out.index.isin(set(members.loc[role == "child", "family_id"]))
    return out


def support_effects(ds, *, groups=("language", "languages", "children"), supports=None, comparisons: bool = True,
                    permutations: int = 2000, exact_max: int = 5000, seed: int = 0) -> pd.DataFrame:
    """Attendance rates of each group at events with and without a support, their difference, its 95%
    interval (clustered by event) and a permutation p-value (see the module's docstring). One row per
    (group, support), columns COLUMNS; `support` "any" means any of SUPPORTS.

    `groups`: "language" (a language other than English), "languages" (one row group per such language),
    "children". `supports`: the supports to compare on (default each group's own, GROUP_SUPPORT, and "any").
    `comparisons`: also the families outside the group (English speakers; families without children), marked
    `comparison` True, to see whether everyone comes more often to those events.
    """
    fams = family_groups(ds)
    events = _events(ds)
    if fams.empty or events.empty:
        return pd.DataFrame([], columns=COLUMNS)
    fam_site = _family_sites(ds)
    took = _took_part(ds, fam_site)
    at = fam_site[fam_site["site_id"].isin(set(events["site_id"]))]
    sites = events["site_id"].to_numpy()
    wanted = [(g, supports or (GROUP_SUPPORT[g[4]], "any")) for g in _groups(fams, groups, comparisons)]
    invited, came = {}, {}
    for (key, _label, members, _c, _b), _s in wanted:
        per_site = at[at["family_id"].isin(members)].groupby("site_id").size()
        invited[key] = events["site_id"].map(per_site).fillna(0).to_numpy(dtype=np.int64)
        came[key] = (took[took["family_id"].isin(members)].groupby("event_id").size()
                     .reindex(events["event_id"]).fillna(0).to_numpy(dtype=np.int64))
    results = {}
    for support in dict.fromkeys(s for _g, sups in wanted for s in sups):
        offered = np.array([bool(x) if support == "any" else support in x for x in events["supports"]], dtype=bool)
        keys = [g[0] for g, sups in wanted if support in sups]
        stats = {k: _compare(came[k], invited[k], offered) for k in keys}
        tested = [k for k in keys if stats[k]["difference"] is not None]
        if tested:
            ps, how = _permutation_ps(offered, sites, np.column_stack([came[k] for k in tested]),
                                      np.column_stack([invited[k] for k in tested]),
                                      np.array([stats[k]["difference"] for k in tested]),
                                      permutations=permutations, exact_max=exact_max, seed=seed)
            for k, p in zip(tested, ps):
                stats[k].update(p_value=float(p), method=how)
        results.update({(k, support): v for k, v in stats.items()})
    rows = []
    for (key, label, members, comparison, _base), sups in wanted:
        for support in sups:
            rows.append(results[key, support] | {"group": key, "group_label": label, "comparison": comparison,
                                                 "support": support,
                                                 "families": len(members & set(at["family_id"]))})
    return pd.DataFrame(rows, columns=COLUMNS)


def sentence(row) -> str:
    """A row in plain words.

    >>> sentence({"group_label": "Families who need Spanish", "support": "translation", "rate_with": 0.38,
    ...           "rate_without": 0.21, "difference": 0.17, "ci_low": 0.09, "ci_high": 0.25, "p_value": 0.002,
    ...           "events_with": 12, "events_without": 30})
    "Families who need Spanish took part in 38% of their site's events with translation and 21% of those without (difference +17 points, 95% CI 9 to 25; permutation p = 0.002)."
    """
    what = SUPPORT_LABELS.get(row["support"], row["support"])
    who = row["group_label"]
    if row.get("events_with") == 0:
        return f"{who}: no event at their sites recorded {what}, so there is nothing to compare."
    if row.get("events_without") == 0:
        return f"{who}: every event at their sites offered {what}, so there is nothing to compare."
    if not (_number(row.get("rate_with")) and _number(row.get("rate_without"))):
        return f"{who}: too few families or events to show how often they took part with and without {what}."
    text = (f"{who} took part in {percent(row['rate_with'])} of their site's events with {what} and "
            f"{percent(row['rate_without'])} of those without")
    details = []
    if _number(row.get("difference")):
        ends = [row[c] for c in ("ci_low", "ci_high") if _number(row.get(c))]
        places = 1 if max(abs(v) for v in [row["difference"], *ends]) < 0.02 else 0    # small rates: a decimal
        diff = f"difference {points(row['difference'], places, sign=True)} points"
        if len(ends) == 2:
            diff += f", 95% CI {points(ends[0], places)} to {points(ends[1], places)}"
        details.append(diff)
    if _number(row.get("p_value")):
        details.append(f"permutation p {_p(row['p_value'])}")
    return text + (f" ({'; '.join(details)})" if details else "") + "."


# -- helpers ------------------------------------------------------------------------------------------------

def _number(v) -> bool:
    return isinstance(v, (int, float, np.integer, np.floating)) and not isinstance(v, bool) and v == v


def points(share: float, places: int = 0, *, sign: bool = False) -> str:
    """A share in percentage points, to `places` decimals, never "-0".

    >>> points(-0.004), points(0.1234, sign=True), points(0.0031, 1)
    ('0', '+12', '0.3')
    """
    v = round(100 * float(share), places) + 0.0
    return f"{v:{'+' if sign else ''}.{places}f}"


def percent(share: float) -> str:
    """A rate as a whole percentage, with a decimal under 1% (0.4%, not 0%)."""
    return f"{100 * float(share):.{1 if share < 0.01 else 0}f}%"


def _p(p: float) -> str:
    """'p = 0.03', 'p = 0.004', 'p < 0.001'."""
    return "< 0.001" if p < 0.001 else f"= {p:.3f}" if p < 0.01 else f"= {p:.2f}"


def _events(ds) -> pd.DataFrame:
    """Family events of sites that record supports: event_id, site_id, supports (a frozenset)."""
    ev = ds.events
    if "supports" not in ev:
        return pd.DataFrame(columns=["event_id", "site_id", "supports"])
    ev = ev[ev["site_id"].notna() & ev["kind"].fillna("").isin(FAMILY_EVENT_KINDS)]
    ev = ev.assign(supports=[frozenset(split_list(v)) for v in ev["supports"]])[["event_id", "site_id", "supports"]]
    recording = set(ev.loc[[bool(s) for s in ev["supports"]], "site_id"])
    return ev[ev["site_id"].isin(recording)].reset_index(drop=True)


def _family_sites(ds) -> pd.DataFrame:
    """(family_id, site_id) for every site a member of the family is based at."""
    p = ds.people
    return p.loc[p["family_id"].notna() & p["site_id"].notna(), ["family_id", "site_id"]].drop_duplicates()


def _took_part(ds, fam_site: pd.DataFrame) -> pd.DataFrame:
    """(event_id, family_id): a member attended and the family is invited (based at the event's site)."""
    p = ds.people[["person_id", "family_id"]].dropna()
    att = ds.attendance[["person_id", "event_id"]].merge(p, on="person_id")
    att = att.merge(ds.events[["event_id", "site_id"]], on="event_id")
    att = att.merge(fam_site, on=["family_id", "site_id"])
    return att[["event_id", "family_id"]].drop_duplicates()


def _groups(fams: pd.DataFrame, groups, comparisons: bool):
    """(key, label, member family ids, is a comparison group, the base group its support comes from)."""
    for g in groups:
        if g == "language":
            yield ("language", "Families who need a language other than English",
                   set(fams.index[fams["language"] == "other"]), False, "language")
            if comparisons:
                yield ("english", "Families who speak English (for comparison)",
                       set(fams.index[fams["language"] == "english"]), True, "language")
        elif g == "languages":
            counts = pd.Series([lang for langs in fams["languages"] for lang in langs], dtype=object).value_counts()
            for lang in sorted(counts.index, key=lambda v: (-counts[v], v)):
                yield (f"language:{lang}", f"Families who need {lang}",
                       set(fams.index[[lang in langs for langs in fams["languages"]]]), False, "language")
        elif g == "children":
            yield ("children", "Families with children", set(fams.index[fams["children"]]), False, "children")
            if comparisons:
                yield ("no_children", "Families without children (for comparison)",
                       set(fams.index[~fams["children"].astype(bool)]), True, "children")
        else:
            raise ValueError(f"unknown group {g!r}; use language, languages or children")


def _compare(a: np.ndarray, m: np.ndarray, offered: np.ndarray) -> dict:
    """Counts, rates, difference and interval of one group for one support (events of sites with none of the
    group's families left out)."""
    keep = m > 0
    a, m, offered = a[keep], m[keep], offered[keep]
    out = {"events_with": int(offered.sum()), "events_without": int((~offered).sum()),
           "invited_with": int(m[offered].sum()), "took_part_with": int(a[offered].sum()),
           "invited_without": int(m[~offered].sum()), "took_part_without": int(a[~offered].sum()),
           "rate_with": None, "rate_without": None, "difference": None, "ci_low": None, "ci_high": None,
           "p_value": None, "method": None}
    if not offered.any() or offered.all():
        return out
    r_w, var_w = _ratio(a[offered], m[offered])
    r_n, var_n = _ratio(a[~offered], m[~offered])
    diff = r_w - r_n
    out.update(rate_with=r_w, rate_without=r_n, difference=diff)
    if var_w is not None and var_n is not None:
        half = _Z * math.sqrt(var_w + var_n)
        out.update(ci_low=max(-1.0, diff - half), ci_high=min(1.0, diff + half))
    return out


def _ratio(a: np.ndarray, m: np.ndarray) -> tuple[float, float | None]:
    """The pooled rate sum(a) / sum(m) and its variance clustered by event (None with one event)."""
    total = float(m.sum())
    r = float(a.sum()) / total
    n = len(a)
    if n < 2:
        return r, None
    resid = a - r * m
    return r, n / (n - 1) * float((resid ** 2).sum()) / total ** 2


def _permutation_ps(offered, sites, A, M, observed, *, permutations: int, exact_max: int, seed: int,
                    normal_from: int | None = None):
    """Two-sided p-values of several groups' differences (columns of A: took part, M: invited, per event) with
    the support's labels shuffled among the events of each site; one set of shuffles serves every group.

    Within a site every event has the same invited count, so the invited sums with and without the support
    do not move under the shuffles: only the took-part sum with the support does."""
    m_w, m_all = M[offered].sum(axis=0).astype(float), M.sum(axis=0).astype(float)
    a_all = A.sum(axis=0).astype(float)
    site_idx = [np.flatnonzero(sites == s) for s in dict.fromkeys(sites)]
    counts = [int(offered[idx].sum()) for idx in site_idx]
    arrangements = 1
    for idx, k in zip(site_idx, counts):
        arrangements *= math.comb(len(idx), k)
        if arrangements > exact_max:
            break

    def diffs(labels: np.ndarray) -> np.ndarray:
        a_w = labels.astype(np.float64) @ A
        return a_w / m_w - (a_all - a_w) / (m_all - m_w)

    normal_from = NORMAL_FROM if normal_from is None else normal_from
    if arrangements > exact_max and min(int(offered.sum()), int((~offered).sum())) >= normal_from:
        # many events on both sides: the shuffles' exact mean and variance (sampling events without replacement
        # within each site), and a normal p-value for the same "at least as far from 0" as the shuffles count
        mean, var = np.zeros(A.shape[1]), np.zeros(A.shape[1])
        for idx, k in zip(site_idx, counts):
            values = A[idx].astype(float)
            n_s = len(idx)
            mean += k * values.mean(axis=0)
            if n_s > 1:
                var += k * (n_s - k) / n_s * values.var(axis=0, ddof=1)
        scale = 1 / m_w + 1 / (m_all - m_w)                  # difference = scale * a_w - a_all / (m_all - m_w)
        mu = scale * mean - a_all / (m_all - m_w)
        sd = scale * np.sqrt(var)
        far = np.abs(observed) - 1e-12
        with np.errstate(invalid="ignore", divide="ignore"):
            p = np.where(sd > 0, 0.5 * (erfc((far - mu) / (sd * math.sqrt(2))) + erfc((far + mu) / (sd * math.sqrt(2)))),
                         (np.abs(mu) >= far).astype(float))
        return np.minimum(p, 1.0), (f"normal approximation with the exact mean and variance of the shuffles within "
                                    f"sites (from {normal_from} events on each side)")
    if arrangements <= exact_max:
        choices = [[np.isin(idx, np.array(c)) for c in itertools.combinations(idx, k)]
                   for idx, k in zip(site_idx, counts)]
        labels = np.zeros((arrangements, len(offered)), dtype=bool)
        for row, combo in enumerate(itertools.product(*choices)):
            for idx, chosen in zip(site_idx, combo):
                labels[row, idx] = chosen
        extreme = (np.abs(diffs(labels)) >= np.abs(observed) - 1e-12).mean(axis=0)
        return extreme, f"exact permutation ({arrangements} arrangements)"
    rng = np.random.default_rng(seed)
    extreme = np.zeros(A.shape[1])
    chunk = max(1, min(permutations, 2_000_000 // max(1, len(offered))))     # ~16 MB of labels at a time
    for start in range(0, permutations, chunk):
        n = min(chunk, permutations - start)
        labels = np.empty((n, len(offered)), dtype=bool)
        for idx in site_idx:
            labels[:, idx] = rng.permuted(np.tile(offered[idx], (n, 1)), axis=1)
        extreme += (np.abs(diffs(labels)) >= np.abs(observed) - 1e-12).sum(axis=0)
    return (1 + extreme) / (1 + permutations), f"permutation ({permutations} shuffles within sites, seed {seed})"
