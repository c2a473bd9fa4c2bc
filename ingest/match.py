"""Matching people across sources: normalise, block, score, decide the clear cases, queue the rest.

What is matched (docs/matching.md):

- **people of different sources**: rows of people.csv whose `source` column differs (e.g. a PLTI roster and a
  home-visit log loaded into one store, each with its own ids). People of one source are never compared with
  each other: a source's own ids already tell its people apart. Without a `source` column no two people are
  compared.
- **survey names**: a tie's `to_name` that matched no one at ingest, as recalled by respondents of one site,
  against every person.

How (the Fellegi-Sunter model of record linkage, Fellegi & Sunter 1969, with rapidfuzz for the string
measures):

1. *Normalise* each name: accents dropped, case folded, "Family, Given" turned round, hyphens and particles
   (de, la, del...) split off, suffixes (Jr, Sr, II) kept aside; nicknames map to their names
   (ingest/nicknames.csv: Bob -> Robert, Lupe -> Guadalupe, Pepe -> José).
2. *Block*: only records that share a key are compared: a given-name initial with a whole other token
   (initials, swapped order, double surnames; an initial written last), and a given name (or its formal name)
   with a surname within one typing error (the surname's one-letter deletions). Email and phone are keys too.
   Keys are integers built per distinct name and joined across sources with numpy.
3. *Score*: each field's agreement level adds log2(m/u) to the match weight (m: how often true matches
   agree so; u: how often two random records do). Name agreement is adjusted for how common the name is
   (term frequency: a shared rare surname says more than a shared common one; so does a typo of a rare surname,
   and an initial of a rare letter). Survey names have their own m (recalled names are noisier). The weight and
   a prior of one match among the people a record may be (the larger source; everyone for a survey name) give
   a probability.
4. *Decide*: at or above `upper` a match is accepted automatically; from `lower` to `upper` it goes to review;
   below `lower` it stays unmatched. Ambiguity always goes to review: a record with two candidates (of one
   other source) whose weights are within `AMBIGUITY_MARGIN` bits, e.g. two different people of the same name.
   So does a pair whose given names agree only by an initial ("M. Lopez"), unless email or phone agree. And
   namesakes that are together at least `lower` likely though none alone is (`_jointly_likely`).
   Nothing is merged below `upper`.

Pairs with a decision (accepted, rejected, different people) are not proposed again, and a record already
accepted as someone of a source is not proposed with anyone else of that source.
"""
from __future__ import annotations

import csv
import math
import time
import unicodedata
from collections import Counter
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

import numpy as np
import pandas as pd
from rapidfuzz.distance import OSA, JaroWinkler
from rapidfuzz.process import cpdist

from graph import matches
from graph.dataset import Dataset
from ingest.problems import Problem

__all__ = ["DEFAULT_UPPER", "DEFAULT_LOWER", "AMBIGUITY_MARGIN", "NAMESAKE_MARGIN", "Proposal", "parse_name",
           "nicknames", "build_records", "propose", "run", "thresholds", "review_queue", "apply_resolutions", "read_decisions_csv",
           "DECISION_WORDS"]

DEFAULT_UPPER = 0.99      # at or above: accepted automatically (CIVICTIES_MATCH_AUTO)
DEFAULT_LOWER = 0.20      # below: left unmatched (CIVICTIES_MATCH_REVIEW)
AMBIGUITY_MARGIN = 4.0    # bits: a second candidate less than 2**4 = 16 times less likely makes a pair ambiguous
NAMESAKE_MARGIN = 2.0     # bits: namesakes together likely go to review when within 2**2 = 4 times the best's odds
MAX_BLOCK = 2000          # a blocking key shared by more records than this is skipped (it says nothing)

NICKNAMES_CSV = Path(__file__).with_name("nicknames.csv")
_PARTICLES = frozenset({"de", "del", "la", "las", "los", "y", "da", "das", "do", "dos", "di", "van", "von", "der",
                        "le", "st"})
_SUFFIXES = {"jr": "jr", "junior": "jr", "hijo": "jr", "sr": "sr", "senior": "sr", "padre": "sr", "ii": "ii",
             "iii": "iii", "iv": "iv"}
_FIELDS = ("site_id", "neighborhood", "family_id", "school_id", "email", "phone", "role")

# m and u probabilities per field and level (m: share of true matches at this level; u: share of random pairs).
# "tf" means u is the frequency of the agreeing value (term-frequency adjustment). Missing values weigh 0.
# A level's u is what chance gives for that level: for a nickname, that the other record is the same name
# written as a nickname (its frequency times the share of nicknames, 0.1); for an initial, that one side is
# an initial (0.05) times how common given names of that letter are; for a surname one typing error apart, how
# common the surname that is spelled right is (a misspelling is rare, so the more common of the two: a typo of
# "Garcia" says little, a typo of a surname three families carry says much).
_GIVEN = {"exact": (0.66, "tf"), "nickname": (0.13, "tf", 0.1), "initial": (0.09, "tf", 0.05),
          "typo": (0.10, 0.004), "disagree": (0.02, 0.92)}
_FAMILY = {"exact": (0.82, "tf"), "shares": (0.07, "tf"), "typo": (0.08, "tf"), "initial": (0.02, 0.002),
           "disagree": (0.01, 0.97)}
# A survey name is recalled from memory, not copied from a form: nicknames, initials and misspellings are far more
# common (m), what chance gives (u) is the same.
_M_SURVEY = {"given": {"exact": 0.40, "nickname": 0.22, "initial": 0.22, "typo": 0.14, "disagree": 0.02},
             "family": {"exact": 0.76, "shares": 0.08, "typo": 0.12, "initial": 0.02, "disagree": 0.02}}
_OTHER = {  # field: (m agree, u agree, m disagree, u disagree)
    "site_id": (0.90, 0.20, 0.10, 0.80), "neighborhood": (0.85, 0.12, 0.15, 0.88),
    "family_id": (0.70, 0.0005, 0.30, 0.9995), "school_id": (0.80, 0.10, 0.20, 0.90),
    "email": (0.60, 0.00001, 0.40, 0.99999), "phone": (0.60, 0.00001, 0.40, 0.99999),
    "role": (0.97, 0.70, 0.03, 0.30)}
_SUFFIX_CLASH = (0.01, 0.5)        # Jr against Sr: m, u
_LEVELS = ("exact", "nickname", "initial", "typo", "disagree", "missing", "shares")
_CODE = {name: i for i, name in enumerate(_LEVELS)}
_OTHER_LEVELS = ("agree", "disagree", "missing")

DECISION_WORDS = {"accept": "accepted", "accepted": "accepted", "same": "accepted", "yes": "accepted",
                  "reject": "rejected", "rejected": "rejected", "no": "rejected",
                  "different": "different", "different people": "different"}


# -- names --------------------------------------------------------------------------------------------------

@lru_cache(maxsize=1)
def nicknames() -> dict[str, tuple[str, ...]]:
    """Nickname -> the names it stands for, from ingest/nicknames.csv (lines starting with # are comments)."""
    out: dict[str, set[str]] = {}
    with open(NICKNAMES_CSV, encoding="utf-8", newline="") as f:
        rows = csv.DictReader(line for line in f if not line.startswith("#"))
        for row in rows:
            nick, name = _fold(row["nickname"]), _fold(row["name"])
            if nick and name and nick != name:
                out.setdefault(nick, set()).add(name)
    return {k: tuple(sorted(v)) for k, v in out.items()}


def _fold(text: str) -> str:
    decomposed = unicodedata.normalize("NFKD", text or "")
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch)).casefold().strip()


def parse_name(name: str | None) -> tuple[tuple[str, ...], str]:
    """A name as (tokens, suffix): accents dropped, case folded, "Family, Given" turned round, hyphens and
    punctuation split, particles dropped, a generational suffix set aside. The first token is the given name.

    >>> parse_name("López-García, María de la Luz")
    (('maria', 'luz', 'lopez', 'garcia'), '')
    >>> parse_name("M. Vosu Jr.")
    (('m', 'vosu'), 'jr')
    """
    text = _fold(name or "")
    if "," in text:
        family, _, given = text.partition(",")
        text = f"{given} {family}"
    cleaned = "".join(ch if ch.isalnum() else ("" if ch == "'" else " ") for ch in text)
    words = cleaned.split()
    suffix = ""
    kept = []
    for w in words:
        if w in _SUFFIXES and kept:
            suffix = _SUFFIXES[w]
        else:
            kept.append(w)
    tokens = [w for w in kept if w not in _PARTICLES] or kept
    return tuple(tokens), suffix


def _canon(token: str) -> tuple[str, ...]:
    """The names a token may stand for: its formal names when it is a nickname, and itself."""
    return (token,) + nicknames().get(token, ())


def _deletions(token: str) -> set[str]:
    """The token and every way of dropping one letter: two words one typing error apart share one of these."""
    return {token} | {token[:i] + token[i + 1:] for i in range(len(token))}


# -- records ------------------------------------------------------------------------------------------------

def build_records(ds: Dataset) -> pd.DataFrame:
    """The records to compare: one per person (`person:<id>`) and one per survey name that matched no one, per
    respondents' site (`name:<hash>`); with the fields compared and what the review page shows."""
    people = ds.people
    cols = {c: (people[c] if c in people else pd.Series([None] * len(people), index=people.index, dtype=object))
            for c in ("name", "site_id", "neighborhood", "family_id", "email", "phone", "role", "source")}
    school = _family_school(ds)
    persons = pd.DataFrame({
        "rid": [matches.person_record(p) for p in people["person_id"]],
        "kind": "person", "person_id": people["person_id"].values, "name": cols["name"].values,
        "source": [s if s else "" for s in cols["source"]], "site_id": cols["site_id"].values,
        "neighborhood": cols["neighborhood"].values, "family_id": cols["family_id"].values,
        "school_id": [school.get(f) for f in cols["family_id"]],
        "email": [_email(e) for e in cols["email"]], "phone": [_phone(p) for p in cols["phone"]],
        "role": cols["role"].values, "mentions": 0})
    ties = ds.ties
    open_ties = ties[ties["to_person_id"].isna() & ties["to_name"].notna()]
    names = []
    if len(open_ties):
        site_of = dict(zip(people["person_id"], cols["site_id"]))
        hood_of = dict(zip(people["person_id"], cols["neighborhood"]))
        groups: dict[str, dict] = {}
        for to_name, who in zip(open_ties["to_name"], open_ties["from_person_id"]):
            site = site_of.get(who)
            rid = matches.mention_record(to_name, site)
            g = groups.setdefault(rid, {"names": Counter(), "hoods": Counter(), "site": site, "who": set()})
            g["names"][to_name] += 1
            g["who"].add(who)
            if hood_of.get(who):
                g["hoods"][hood_of[who]] += 1
        for rid, g in groups.items():
            names.append({"rid": rid, "kind": "name", "person_id": None, "name": g["names"].most_common(1)[0][0],
                          "source": "survey", "site_id": g["site"],
                          "neighborhood": g["hoods"].most_common(1)[0][0] if g["hoods"] else None,
                          "family_id": None, "school_id": None, "email": None, "phone": None, "role": None,
                          "mentions": len(g["who"])})
    out = pd.concat([persons, pd.DataFrame(names, columns=persons.columns)], ignore_index=True)
    return out.astype(object).where(out.notna(), None)


def _family_school(ds: Dataset) -> dict:
    visits = ds.tables.get("home_visits")
    if visits is None or not len(visits):
        return {}
    v = visits.dropna(subset=["family_id", "school_id"])
    return dict(zip(v["family_id"], v["school_id"]))


def _email(value) -> str | None:
    text = (value or "").strip().casefold()
    return text or None


def _phone(value) -> str | None:
    digits = "".join(ch for ch in (value or "") if ch.isdigit())
    return digits[-10:] if len(digits) >= 7 else None


# -- proposing ----------------------------------------------------------------------------------------------

@dataclass
class Proposal:
    """What the matcher found: candidates to accept automatically and to review, with counts and timing."""

    auto: list[dict] = field(default_factory=list)
    review: list[dict] = field(default_factory=list)
    records: int = 0
    people: int = 0
    names: int = 0
    pairs_compared: int = 0
    below_lower: int = 0
    seconds: float = 0.0
    upper: float = DEFAULT_UPPER
    lower: float = DEFAULT_LOWER

    def summary(self) -> dict:
        return {"records": self.records, "people": self.people, "survey_names": self.names,
                "pairs_compared": self.pairs_compared, "accepted_automatically": len(self.auto),
                "to_review": len(self.review), "left_unmatched_candidates": self.below_lower,
                "upper": self.upper, "lower": self.lower, "seconds": round(self.seconds, 2)}


def propose(ds: Dataset, *, upper: float = DEFAULT_UPPER, lower: float = DEFAULT_LOWER,
            decisions: dict | None = None, records: pd.DataFrame | None = None) -> Proposal:
    """Score the record pairs that share a blocking key; split them into automatic matches and review.

    `decisions`: the store's current decisions by pair (graph.matches.current_decisions); decided pairs are not
    proposed again. Raises ValueError unless 0 < lower <= upper <= 1.
    """
    if not (0.0 < lower <= upper <= 1.0):
        raise ValueError(f"the match thresholds must satisfy 0 < lower <= upper <= 1 (got lower {lower}, "
                         f"upper {upper}): check CIVICTIES_MATCH_REVIEW and CIVICTIES_MATCH_AUTO")
    t0 = time.perf_counter()
    recs = build_records(ds) if records is None else records
    out = Proposal(records=len(recs), people=int((recs["kind"] == "person").sum()),
                   names=int((recs["kind"] == "name").sum()), upper=upper, lower=lower)
    name_code, distinct = pd.factorize(recs["name"])
    parsed_distinct = [parse_name(n) for n in distinct]
    parsed = [parsed_distinct[c] if c >= 0 else ((), "") for c in name_code]
    left, right = _block(recs, parsed)
    out.pairs_compared = len(left)
    if not len(left):
        out.seconds = time.perf_counter() - t0
        return out
    weight, levels = _score(recs, parsed, left, right, n_people=max(out.people, 2))
    rid = recs["rid"].to_numpy()
    kind = recs["kind"].to_numpy()
    source = recs["source"].to_numpy()
    prior = _prior_bits(left, right, source, kind)
    prob = 1.0 / (1.0 + np.exp2(-(weight - prior)))
    jointly = _jointly_likely(left, right, weight, source, kind, prior=prior, lower=lower)
    keep = (prob >= lower) | jointly
    out.below_lower = int((~keep).sum())
    left, right, weight, prob, jointly = left[keep], right[keep], weight[keep], prob[keep], jointly[keep]
    levels = {k: v[keep] for k, v in levels.items()}
    decisions = decisions or {}
    taken = _taken(decisions, dict(zip(rid, source)))
    if decisions:
        rows = [(i, j, n) for n, (i, j) in enumerate(zip(left, right))
                if matches.pair_key(rid[i], rid[j]) not in decisions
                and (rid[i], source[j]) not in taken and (rid[j], source[i]) not in taken]
        frame = pd.DataFrame(rows, columns=["i", "j", "n"], dtype=np.int64)
    else:
        frame = pd.DataFrame({"i": left, "j": right, "n": np.arange(len(left))})
    if not len(frame):
        out.seconds = time.perf_counter() - t0
        return out
    frame["w"] = weight[frame["n"]]
    frame["p"] = prob[frame["n"]]
    frame["src_i"] = source[frame["i"]]
    frame["src_j"] = source[frame["j"]]
    ambiguous = _ambiguous(frame, kind)
    # each field's level as its name, looked up once per level rather than once per pair
    named_levels = {f: np.array([_level_name(f, c) for c in range(max(int(v.max(initial=0)), 1) + 1)],
                                dtype=object)[v.astype(np.int64)] for f, v in levels.items()}
    for k, r in enumerate(frame.itertuples(index=False)):
        i, j, n = int(r.i), int(r.j), int(r.n)
        left_id, right_id = matches.pair_key(rid[i], rid[j])
        reasons = []
        if ambiguous[k]:
            reasons.append("ambiguous: another candidate scores close")
        if jointly[n] and r.p < lower:
            reasons.append("ambiguous: namesakes that together are likely, none alone")
        cand = {"left": left_id, "right": right_id, "score": round(float(r.p), 6), "weight": round(float(r.w), 3),
                "evidence": {f: named_levels[f][n] for f in levels}, "reasons": reasons}
        weak = (levels["given"][n] in (_CODE["initial"], _CODE["missing"])
                and levels["email"][n] != 0 and levels["phone"][n] != 0)
        if weak and r.p >= upper:
            reasons.append("only an initial of the given name agrees: a person decides")
        if r.p >= upper and not ambiguous[k] and not weak:
            cand["band"] = "auto"
            out.auto.append(cand)
        else:
            cand["band"] = "review"
            if not reasons:
                reasons.append(f"score {r.p:.4f}: at least {lower}, below the automatic {upper}")
            out.review.append(cand)
    out.review.sort(key=lambda c: (-c["score"], c["left"], c["right"]))
    out.auto.sort(key=lambda c: (-c["score"], c["left"], c["right"]))
    out.seconds = time.perf_counter() - t0
    return out


def _taken(decisions: dict, source_of: dict) -> set:
    """(record, other source) for every accepted pair: that record already is someone of that source."""
    out = set()
    for (a, b), d in decisions.items():
        if d.get("decision") == "accepted":
            out.add((a, source_of.get(b, "?")))
            out.add((b, source_of.get(a, "?")))
    return out


def _prior_bits(left: np.ndarray, right: np.ndarray, source: np.ndarray, kind: np.ndarray) -> np.ndarray:
    """-log2 of the prior odds that a pair is a match: one match among the people it may be: for two people, the
    larger of their two sources (each person of the smaller one is at most one of the larger); for a survey name,
    everyone (it may name a person of any source)."""
    is_person = kind == "person"
    people = max(int(is_person.sum()), 2)
    codes, uniques = pd.factorize(source)
    size = np.bincount(codes[is_person], minlength=len(uniques)).astype(float)
    larger = np.maximum(size[codes[left]], size[codes[right]])
    both = is_person[left] & is_person[right]
    return np.log2(np.where(both, np.maximum(larger, 2.0), people))


def _jointly_likely(left: np.ndarray, right: np.ndarray, weight: np.ndarray, source: np.ndarray, kind: np.ndarray,
                    *, prior: np.ndarray, lower: float) -> np.ndarray:
    """Pairs of a record whose candidates (of one other source) are together at least `lower` likely to hold its
    match, though each alone may be less: the record's best candidate and those within NAMESAKE_MARGIN bits of
    it. Namesakes split the probability between them ("Maria Loten" with three Maria Lotens at her site); a
    person decides which, if any, she is. A survey name is grouped from its side only."""
    out = np.zeros(len(left), dtype=bool)
    if not len(left):
        return out
    odds = np.exp2(weight - prior)         # prior: bits per pair
    frame = pd.DataFrame({"i": left, "j": right, "w": weight, "odds": odds,
                          "src_i": pd.factorize(source[left])[0], "src_j": pd.factorize(source[right])[0]})
    both = kind[left] == "person"
    for rec, other, rows in (("i", "src_j", slice(None)), ("j", "src_i", both)):
        sub = frame[rows]
        if not len(sub):
            continue
        groups = sub.groupby([rec, other], sort=False)
        total = groups["odds"].transform("sum").to_numpy()
        best = groups["w"].transform("max").to_numpy()
        hit = (total / (1.0 + total) >= lower) & (sub["w"].to_numpy() > best - NAMESAKE_MARGIN)
        out[np.flatnonzero(rows if isinstance(rows, np.ndarray) else np.ones(len(frame), bool))[hit]] = True
    return out


def _ambiguous(frame: pd.DataFrame, kind: np.ndarray) -> np.ndarray:
    """A pair is ambiguous when one of its records has another candidate (of the same other source) whose
    weight is within AMBIGUITY_MARGIN bits of the best. A survey name is checked from its side only (several
    names may stand for one person)."""
    flags = np.zeros(len(frame), dtype=bool)
    sides = [("i", "src_j")]
    both = kind[frame["i"].to_numpy()] == "person"
    if both.any():
        sides.append(("j", "src_i"))
    for rec, other in sides:
        sub = frame if rec == "i" else frame[both]
        if not len(sub):
            continue
        order = sub.sort_values([rec, other, "w"], ascending=[True, True, False])
        keys = [order[rec], order[other]]
        best = order.groupby(keys)["w"].transform("first")
        second = order["w"].where(order.groupby(keys).cumcount() == 1).groupby(keys).transform("max")
        close = second.notna() & ((best - second) < AMBIGUITY_MARGIN)
        # every candidate of that record within the margin of its best (and the best itself)
        flags[order.index[close & ((best - order["w"]) < AMBIGUITY_MARGIN)].to_numpy()] = True
    return flags


def _level_name(f: str, code) -> str:
    if f in ("given", "family"):
        return _LEVELS[int(code)]
    if f == "swapped":
        return "yes" if code else "no"
    if f == "suffix":
        return "clash" if code else "ok"
    return _OTHER_LEVELS[int(code)]


# -- blocking -----------------------------------------------------------------------------------------------

def _keys(tokens: tuple[str, ...]) -> frozenset[str]:
    """Blocking keys of a name, as text (for reading and tests; `_block` makes the same keys as integers): its
    given name's initial with each other token (initials, a typo in the given name; also an initial written last),
    and the first or last token (a given name, as written or turned round) or a formal name it stands for, with
    each other token within one dropped letter (nicknames, swapped order, a typo in a surname)."""
    out = set()
    for kind, a, b in _key_parts(tokens[:4]):
        if kind == "i":
            out.add(f"i|{a}|{b}")
        else:
            out.update(f"d|{c}|{d}" for c in _canon(a) for d in _deletions(b))
    return frozenset(out)


def _key_parts(toks: tuple[str, ...]) -> list[tuple[str, str, str]]:
    """("i", initial, token) and ("d", token, other token) of a name's first four tokens (see `_keys`)."""
    if len(toks) < 2:
        return []
    out = [("i", toks[0][0], t) for t in toks[1:] if len(t) > 1]
    if len(toks[-1]) == 1:                 # "Lopez M.": an initial written last
        out += [("i", toks[-1], t) for t in toks[:-1] if len(t) > 1]
    for a in {0, len(toks) - 1}:
        if len(toks[a]) < 2:
            continue
        out += [("d", toks[a], toks[b]) for b in range(len(toks)) if b != a and len(toks[b]) > 1]
    return out


def _block(recs: pd.DataFrame, parsed: list) -> tuple[np.ndarray, np.ndarray]:
    """Pairs (left, right) of record positions to compare: records sharing a key, of different sources or a
    survey name against a person; a survey name is always on the left.

    The keys of `_keys`, as integers: made once per distinct name from per-token tables (formal names, one-letter
    deletions) joined with numpy, then joined across each pair of groups (sources, survey names), so no pair of
    one source is ever made."""
    n = len(recs)
    name_code, distinct = pd.factorize(pd.Series([p[0][:4] for p in parsed], dtype=object))
    # per distinct name: its key parts, as token codes
    token: dict[str, int] = {}
    part_name, part_kind, part_a, part_b = [], [], [], []
    for u, toks in enumerate(distinct):
        for kind, a, b in _key_parts(toks):
            part_name.append(u)
            part_kind.append(kind == "d")
            part_a.append(token.setdefault(a, len(token)))
            part_b.append(token.setdefault(b, len(token)))
    keys_u, keys_k = [np.empty(0, dtype=np.int64)], [np.empty(0, dtype=np.int64)]
    if part_name:
        words = list(token)
        # per token: the names it may stand for, and its one-letter deletions, as codes (CSR tables)
        names: dict[str, int] = {}
        dels: dict[str, int] = {}
        canon = [[names.setdefault(c, len(names)) for c in _canon(w)] for w in words]
        deleted = [[dels.setdefault(d, len(dels)) for d in _deletions(w)] for w in words]
        c_ptr, c_val = _csr(canon)
        d_ptr, d_val = _csr(deleted)
        part_name, part_kind = np.asarray(part_name, dtype=np.int64), np.asarray(part_kind, dtype=bool)
        part_a, part_b = np.asarray(part_a, dtype=np.int64), np.asarray(part_b, dtype=np.int64)
        n_tok, n_del = len(words), max(len(dels), 1)
        # "i" keys: (initial's token, other token); "d" keys: (formal name, deletion), after the "i" ones
        i = ~part_kind
        keys_u.append(part_name[i])
        keys_k.append(part_a[i] * n_tok + part_b[i])
        d = np.flatnonzero(part_kind)
        rows, c = _expand(c_ptr, c_val, part_a[d])
        rows2, dl = _expand(d_ptr, d_val, part_b[d][rows])
        keys_u.append(part_name[d][rows][rows2])
        keys_k.append(n_tok * n_tok + c[rows2] * n_del + dl)
    ku, kk = np.concatenate(keys_u), np.concatenate(keys_k)
    # per record: the keys of its name
    order = np.argsort(name_code, kind="stable")
    r_ptr = np.concatenate(([0], np.cumsum(np.bincount(name_code[name_code >= 0], minlength=len(distinct)))))
    rows, r = _expand(r_ptr, order[name_code[order] >= 0], ku)
    k = pd.factorize(kk[rows])[0].astype(np.int64)
    r = r.astype(np.int64)
    offset = int(k.max()) + 1 if len(k) else 0
    for col, tag in (("email", "e|"), ("phone", "p|")):
        values = recs[col].to_numpy(dtype=object)
        has = np.flatnonzero(pd.notna(values) & (values != ""))
        if len(has):
            codes = pd.factorize(np.array([str(v) for v in values[has]], dtype=object))[0].astype(np.int64)
            k = np.concatenate((k, offset + codes))
            r = np.concatenate((r, has.astype(np.int64)))
            offset += int(codes.max()) + 1
    if not len(k):
        return np.empty(0, dtype=np.int64), np.empty(0, dtype=np.int64)
    # one row per (key, record); keys shared by one record only, or by too many, are dropped
    code = _unique(k * n + r)
    k, r = code // n, code % n
    size = np.bincount(k)
    keep = (size[k] > 1) & (size[k] <= MAX_BLOCK)
    k, r = k[keep], r[keep]
    is_name = (recs["kind"] == "name").to_numpy()
    group = np.where(is_name, -1, pd.factorize(recs["source"])[0])[r]
    parts = []
    groups = np.unique(group)
    for x, gx in enumerate(groups):
        for gy in groups[x + 1:]:
            a, b = _join(k[group == gx], r[group == gx], k[group == gy], r[group == gy])
            parts.append(np.where(is_name[b], b, a) * n + np.where(is_name[b], a, b))   # a survey name left
    code = _unique(np.concatenate(parts)) if parts else np.empty(0, dtype=np.int64)
    return code // n, code % n


def _csr(lists: list[list[int]]) -> tuple[np.ndarray, np.ndarray]:
    """Lists of ints as (pointers, values): list i is values[pointers[i]:pointers[i + 1]]."""
    ptr = np.zeros(len(lists) + 1, dtype=np.int64)
    ptr[1:] = np.cumsum([len(x) for x in lists])
    return ptr, np.fromiter((v for x in lists for v in x), dtype=np.int64, count=int(ptr[-1]))


def _expand(ptr: np.ndarray, values: np.ndarray, which: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """For each position p of `which`, every member of list which[p]: (p repeated, the members)."""
    lo = ptr[which]
    count = ptr[which + 1] - lo
    total = int(count.sum())
    start = np.cumsum(count) - count
    pos = np.arange(total, dtype=np.int64) + np.repeat(lo - start, count)
    return np.repeat(np.arange(len(which), dtype=np.int64), count), values[pos]


def _unique(x: np.ndarray) -> np.ndarray:
    """Sorted distinct values of an integer array (by sorting: faster here than numpy's hash-based unique)."""
    x = np.sort(x)
    if len(x) < 2:
        return x
    return x[np.concatenate(([True], x[1:] != x[:-1]))]


def _join(ka: np.ndarray, ra: np.ndarray, kb: np.ndarray, rb: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Every (ra, rb) whose keys are equal (an inner join of two key columns, without pandas' copies)."""
    order = np.argsort(kb, kind="stable")
    kb, rb = kb[order], rb[order]
    lo = np.searchsorted(kb, ka, side="left")
    count = np.searchsorted(kb, ka, side="right") - lo
    total = int(count.sum())
    if not total:
        return np.empty(0, dtype=np.int64), np.empty(0, dtype=np.int64)
    start = np.cumsum(count) - count
    pos = np.arange(total) + np.repeat(lo - start, count)
    return np.repeat(ra, count), rb[pos]


# -- scoring ------------------------------------------------------------------------------------------------

class _Tokens:
    """Every name token of the records as an integer code, with what scoring needs per token."""

    def __init__(self, parsed: list, kind: np.ndarray):
        vocab: dict[str, int] = {"": 0}
        for tokens, _sfx in parsed:
            for t in tokens[:4]:
                vocab.setdefault(t, len(vocab))
        words = list(vocab)
        self.text = np.array(words, dtype=object)
        self.length = np.array([len(w) for w in words])
        self.first = np.array([ord(w[0]) if w else -1 for w in words])
        # the formal names a token may stand for (itself included), as codes of a vocabulary of names
        names: dict[str, int] = {}
        canon = np.full((len(words), 3), -1, dtype=np.int64)
        for code, w in enumerate(words):
            for k, c in enumerate(_canon(w)[:3] if w else ()):
                canon[code, k] = names.setdefault(c, len(names))
        self.canon = canon
        # how common each token is among people: as a given name (by the names it stands for) and a surname
        given, family = Counter(), Counter()
        n = 0
        for (tokens, _sfx), k in zip(parsed, kind):
            if k != "person" or not tokens:
                continue
            n += 1
            given.update(set(_canon(tokens[0])))
            family.update(set(tokens[1:4]))
        n = max(n, 1)
        floor = 1.0 / max(n, 1000)
        self.given_tf = np.array([max([given.get(c, 0) / n for c in _canon(w)] + [floor]) if w else 1.0
                                  for w in words])
        self.family_tf = np.array([max(family.get(w, 0) / n, floor) if w else 1.0 for w in words])
        # how common a given name's first letter is (given names written out): what an initial agrees with by chance
        letters = Counter()
        for (tokens, _sfx), k in zip(parsed, kind):
            if k == "person" and tokens and len(tokens[0]) > 1:
                letters[tokens[0][0]] += 1
        total = max(sum(letters.values()), 1)
        self.initial_tf = np.array([max(letters.get(w[0], 0) / total, floor) if w else 1.0 for w in words])
        self.vocab = vocab

    def codes(self, parsed: list) -> dict[str, np.ndarray]:
        """Per record: the given name and up to three family tokens as written, and turned round."""
        n = len(parsed)
        given = np.zeros(n, dtype=np.int64)
        family = np.zeros((n, 3), dtype=np.int64)
        given_turned = np.zeros(n, dtype=np.int64)
        family_turned = np.zeros((n, 3), dtype=np.int64)
        v = self.vocab
        for r, (tokens, _sfx) in enumerate(parsed):
            toks = tokens[:4]
            if not toks:
                continue
            given[r] = v[toks[0]]
            for k, t in enumerate(toks[1:4]):
                family[r, k] = v[t]
            if len(toks) > 1:
                given_turned[r] = v[toks[-1]]
                for k, t in enumerate(toks[:-1][:3]):
                    family_turned[r, k] = v[t]
            else:
                given_turned[r] = given[r]
        return {"given": given, "family": family, "given_turned": given_turned, "family_turned": family_turned}


def _score(recs: pd.DataFrame, parsed: list, left: np.ndarray, right: np.ndarray, *, n_people: int):
    """Match weight (bits) of each pair and the agreement level of each field (vectorised over the pairs)."""
    kind = recs["kind"].to_numpy()
    tok = _Tokens(parsed, kind)
    codes = tok.codes(parsed)
    suffix = np.array([p[1] for p in parsed], dtype=object)
    # the left record as written; the right one as written and turned round (family given -> given family)
    lg, lf = codes["given"][left], codes["family"][left]
    named = (kind == "name")[left]
    gl, gw = _given(tok, lg, codes["given"][right], named)
    fl, fw = _family(tok, lf, codes["family"][right], named)
    # turned round only where the names do not already agree in full as written (most pairs of namesakes do)
    turn = np.flatnonzero(~((gl == _CODE["exact"]) & (fl == _CODE["exact"])))
    rt = right[turn]
    gl2, gw2 = _given(tok, lg[turn], codes["given_turned"][rt], named[turn])
    fl2, fw2 = _family(tok, lf[turn], codes["family_turned"][rt], named[turn])
    swapped = np.zeros(len(left), dtype=bool)
    swapped[turn] = (gw2 + fw2) > (gw[turn] + fw[turn]) + 1e-9
    s = swapped[turn]
    weight = gw + fw
    weight[turn[s]] = gw2[s] + fw2[s]
    gl, fl = gl.copy(), fl.copy()
    gl[turn[s]], fl[turn[s]] = gl2[s], fl2[s]
    levels = {"given": gl, "family": fl, "swapped": swapped}
    # a survey name's neighborhood is its respondents': neighbors name people of other neighborhoods too
    for f in _FIELDS:
        # values as codes (-1: missing or empty), compared as integers
        col, distinct = pd.factorize(recs[f].to_numpy(dtype=object))
        empty = np.flatnonzero(np.asarray([v == "" for v in distinct], dtype=bool))
        if len(empty):
            col = np.where(np.isin(col, empty), -1, col)
        a, b = col[left], col[right]
        missing = (a < 0) | (b < 0)
        if f == "neighborhood":
            missing = missing | named
        agree = (~missing) & (a == b)
        m_a, u_a, m_d, u_d = _OTHER[f]
        agree_w = np.full(len(a), math.log2(m_a / u_a))
        if f in ("email", "phone"):
            # a shared household phone or a placeholder says less than a personal one: u is its frequency
            freq = np.bincount(col[col >= 0], minlength=len(distinct) + 1) / max(len(recs), 1)
            u = np.maximum(np.where(a >= 0, freq[np.maximum(a, 0)], 0.0), u_a)
            agree_w = np.log2(m_a / u)
        weight = weight + np.where(missing, 0.0, np.where(agree, agree_w, math.log2(m_d / u_d)))
        levels[f] = np.where(missing, 2, np.where(agree, 0, 1))
    sa, sb = suffix[left], suffix[right]
    clash = (sa != "") & (sb != "") & (sa != sb)
    weight = weight + np.where(clash, math.log2(_SUFFIX_CLASH[0] / _SUFFIX_CLASH[1]), 0.0)
    levels["suffix"] = clash
    return weight, levels


def _log2(x) -> np.ndarray:
    return np.log2(np.asarray(x, dtype=float))


def _typos(tok: _Tokens, x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Whether two tokens are within one typing error (two for long words), or Jaro-Winkler >= 0.9."""
    out = np.zeros(len(x), dtype=bool)
    both = (tok.length[x] >= 3) & (tok.length[y] >= 3) & (x != y)
    if not both.any():
        return out
    # each distinct pair of tokens once (names repeat: far fewer than the pairs of records)
    codes, distinct = pd.factorize(x[both] * len(tok.text) + y[both])
    ux, uy = distinct // len(tok.text), distinct % len(tok.text)
    xs, ys = list(tok.text[ux]), list(tok.text[uy])
    jw = cpdist(xs, ys, scorer=JaroWinkler.normalized_similarity, workers=-1)
    edits = cpdist(xs, ys, scorer=OSA.distance, workers=-1)
    shortest = np.minimum(tok.length[ux], tok.length[uy])
    near = (jw >= 0.9) | ((shortest >= 4) & (edits <= np.where(shortest >= 8, 2, 1)))
    out[both] = near[codes]
    return out


def _m(field: str, level: str, named: np.ndarray) -> np.ndarray:
    """m of a name field's level per pair: a survey name's (`named`) or a record's."""
    table = _GIVEN if field == "given" else _FAMILY
    return np.where(named, _M_SURVEY[field][level], table[level][0])


def _given(tok: _Tokens, x: np.ndarray, y: np.ndarray, named: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Level and weight of two given names (token codes; 0: none); `named`: the pair's left record is a survey
    name."""
    missing = (x == 0) | (y == 0)
    exact = (x == y) & (tok.length[x] > 1) & ~missing
    short = ((tok.length[x] == 1) | (tok.length[y] == 1)) & ~missing & ~exact
    initial = short & (tok.first[x] == tok.first[y])
    cx, cy = tok.canon[x], tok.canon[y]
    nick = np.zeros(len(x), dtype=bool)
    for p in range(3):
        for q in range(3):
            nick |= (cx[:, p] >= 0) & (cx[:, p] == cy[:, q])
    nick &= ~missing & ~exact & ~short
    typo = _typos(tok, x, y) & ~missing & ~exact & ~short & ~nick
    tf = np.maximum(tok.given_tf[x], tok.given_tf[y])
    share = _GIVEN["nickname"][2]
    level = np.select([missing, exact, initial, nick, typo],
                      [_CODE["missing"], _CODE["exact"], _CODE["initial"], _CODE["nickname"], _CODE["typo"]],
                      _CODE["disagree"]).astype(np.int8)
    weight = np.select(
        [missing, exact, initial, nick, typo],
        [0.0, _log2(_m("given", "exact", named) / tok.given_tf[x]),
         _log2(_m("given", "initial", named) / (_GIVEN["initial"][2] * tok.initial_tf[x])),
         _log2(_m("given", "nickname", named) / (share * tf)), _log2(_m("given", "typo", named) / _GIVEN["typo"][1])],
        _log2(_m("given", "disagree", named) / _GIVEN["disagree"][1]))
    return level, weight


def _family(tok: _Tokens, fx: np.ndarray, fy: np.ndarray, named: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Level and weight of two sets of family names (up to three token codes each; 0: none); `named`: the pair's
    left record is a survey name."""
    nx, ny = (fx > 0).sum(axis=1), (fy > 0).sum(axis=1)
    missing = (nx == 0) | (ny == 0)
    matched_x = np.zeros(len(fx), dtype=np.int64)
    matched_y = np.zeros(len(fx), dtype=np.int64)
    rarest = np.full(len(fx), np.inf)
    typo = np.zeros(len(fx), dtype=bool)
    typo_tf = np.ones(len(fx))
    initial = np.zeros(len(fx), dtype=bool)
    hit_y = np.zeros((len(fx), 3), dtype=bool)
    for p in range(3):
        hit_x = np.zeros(len(fx), dtype=bool)
        for q in range(3):
            a, b = fx[:, p], fy[:, q]
            valid = (a > 0) & (b > 0)
            eq = valid & (a == b) & (tok.length[a] > 1)
            hit_x |= eq
            hit_y[:, q] |= eq
            rarest = np.where(eq, np.minimum(rarest, tok.family_tf[a]), rarest)
            if valid.any():
                near = np.zeros(len(fx), dtype=bool)
                near[valid] = _typos(tok, a[valid], b[valid])
                typo |= near
                typo_tf = np.where(near, np.minimum(typo_tf, np.maximum(tok.family_tf[a], tok.family_tf[b])), typo_tf)
            initial |= valid & ((tok.length[a] == 1) | (tok.length[b] == 1)) & (tok.first[a] == tok.first[b])
        matched_x += hit_x
    matched_y = hit_y.sum(axis=1)
    common = (matched_x > 0) & ~missing
    full = common & (((matched_x == nx) & (matched_y == ny)) | ((matched_x >= np.minimum(nx, ny)) & (matched_x > 1)))
    shares = common & ~full
    typo &= ~missing & ~common
    initial &= ~missing & ~common & ~typo
    rarest = np.where(np.isfinite(rarest), rarest, 1.0)
    level = np.select([missing, full, shares, typo, initial],
                      [_CODE["missing"], _CODE["exact"], _CODE["shares"], _CODE["typo"], _CODE["initial"]],
                      _CODE["disagree"]).astype(np.int8)
    weight = np.select(
        [missing, full, shares, typo, initial],
        [0.0, _log2(_m("family", "exact", named) / rarest), _log2(_m("family", "shares", named) / rarest),
         _log2(_m("family", "typo", named) / typo_tf), _log2(_m("family", "initial", named) / _FAMILY["initial"][1])],
        _log2(_m("family", "disagree", named) / _FAMILY["disagree"][1]))
    return level, weight


def thresholds() -> tuple[float, float]:
    """(upper, lower) from the settings CIVICTIES_MATCH_AUTO and CIVICTIES_MATCH_REVIEW; ValueError when they are
    not numbers with 0 < lower <= upper <= 1."""
    from civicties import settings
    values = []
    for name in ("CIVICTIES_MATCH_AUTO", "CIVICTIES_MATCH_REVIEW"):
        text = settings.get(name)
        try:
            values.append(float(text))
        except (TypeError, ValueError) as e:
            raise ValueError(f"setting {name} must be a probability between 0 and 1, got {text!r}") from e
    upper, lower = values
    if not (0.0 < lower <= upper <= 1.0):
        raise ValueError(f"the match thresholds must satisfy 0 < CIVICTIES_MATCH_REVIEW ({lower}) <= "
                         f"CIVICTIES_MATCH_AUTO ({upper}) <= 1")
    return upper, lower


# -- with a store -------------------------------------------------------------------------------------------

def run(store, *, upper: float = DEFAULT_UPPER, lower: float = DEFAULT_LOWER, actor: str,
        role: str | None = None) -> Proposal:
    """Propose on the store's data as loaded: accept the clear matches (stored as decisions made by the
    matcher, on behalf of `actor`), and replace the review queue with the uncertain ones."""
    ds = matches.read_raw(store)
    proposal = propose(ds, upper=upper, lower=lower, decisions=matches.current_decisions(store))
    matches.record_decisions(store, [dict(c, decision="accepted", method="auto",
                                          note=f"score {c['score']:.4f} >= {upper}") for c in proposal.auto],
                             actor=actor, role=role, method="auto")
    matches.save_candidates(store, proposal.review)
    return proposal


def review_queue(store, ds: Dataset | None = None, *, sites: tuple[str, ...] | None = None,
                 records: pd.DataFrame | None = None) -> list[dict]:
    """The stored candidates still undecided, each with its two records (`left_record`, `right_record`: the
    fields compared, name included). With `sites` (a coordinator's), only pairs whose two records both belong to
    those sites: a person by their site, a survey name by its respondents' site. None: every pair (admins).
    `records`: build_records of the data as loaded, indexed by rid, where the caller keeps them (the app)."""
    if records is None:
        records = build_records(matches.read_raw(store) if ds is None else ds).set_index("rid", drop=False)
    recs = records
    decided = matches.current_decisions(store)
    allowed = None if sites is None else {str(s) for s in sites}
    out = []
    for c in matches.read_candidates(store):
        key = (c["left"], c["right"])
        if key in decided or c["left"] not in recs.index or c["right"] not in recs.index:
            continue
        left, right = recs.loc[c["left"]].to_dict(), recs.loc[c["right"]].to_dict()
        if allowed is not None and not (left.get("site_id") in allowed and right.get("site_id") in allowed):
            continue
        out.append(dict(c, left_record=left, right_record=right))
    return out


#: Applying the decisions to a dataset lives beside the stores that read it (graph/matches.py).
apply_resolutions = matches.resolve


def read_decisions_csv(path: str | Path, known: set[str] | None = None) -> tuple[list[dict], list[Problem]]:
    """Decisions from a CSV file (columns left_id, right_id, decision, note; decision: accept, reject or
    different), and every problem found (file, row, column). `known`: the record ids that exist."""
    path = Path(path)
    problems: list[Problem] = []
    try:
        text = path.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as e:
        return [], [Problem(str(path), None, None, None, f"cannot be read: {e}", "Give a UTF-8 CSV file")]
    reader = csv.DictReader(text.splitlines())
    header = [(h or "").strip().lower() for h in (reader.fieldnames or [])]
    for col in ("left_id", "right_id", "decision"):
        if col not in header:
            problems.append(Problem(path.name, 1 if header else None, col, None, "required column is missing",
                                    "The header needs left_id, right_id, decision (and optionally note)"))
    if problems:
        return [], problems
    rows, seen = [], {}
    for n, raw in enumerate(reader, start=2):
        row = {(k or "").strip().lower(): (v or "").strip() for k, v in raw.items() if k is not None}
        left, right, word = row.get("left_id", ""), row.get("right_id", ""), row.get("decision", "").lower()
        for col, value in (("left_id", left), ("right_id", right)):
            if not value:
                problems.append(Problem(path.name, n, col, "", "required value is empty", f"Fill in {col}"))
            elif not (value.startswith("person:") or value.startswith("name:")):
                problems.append(Problem(path.name, n, col, value, "is not a record id",
                                        "Use the ids `civicties match queue` lists (person:... or name:...)"))
            elif known is not None and value not in known:
                problems.append(Problem(path.name, n, col, value, "is not a record in the store",
                                        "Check the id against `civicties match queue`"))
        if word not in DECISION_WORDS:
            problems.append(Problem(path.name, n, "decision", row.get("decision", ""), "is not a decision",
                                    "Use accept, reject or different"))
        if left and right and left == right:
            problems.append(Problem(path.name, n, "right_id", right, "is the same record as left_id",
                                    "A pair needs two records"))
        if left and right:
            key = matches.pair_key(left, right)
            if key in seen:
                problems.append(Problem(path.name, n, "left_id", left, f"the same pair as row {seen[key]}",
                                        "Keep one decision per pair"))
            seen.setdefault(key, n)
        rows.append({"left": left, "right": right, "decision": DECISION_WORDS.get(word),
                     "note": row.get("note") or None})
    return ([] if problems else rows), problems
