"""A labelled synthetic set for measuring the matcher: true identities, then noisy copies of them.

Entirely invented: surnames are built from syllables, given names are common first names (the nickname table's),
emails use example.org and phones the fictional 555-01xx range. The set has two sources of people and a survey:

- **roster** (source `roster`, ids R...): the true identities, in families that share a surname, site and
  neighborhood; some children carry their parent's name (Jr); some different people share a name.
- **visits** (source `visits`, ids V...): noisy copies of some roster people (typos, nicknames, dropped
  accents, swapped order, "Family, Given", dropped or unhyphenated double surnames, initials), without the
  roster's family ids; plus people who are in no roster, some with exactly the name of a roster person.
- **survey names**: roster respondents recall people of their site by name (nicknames, initials, typos,
  dropped accents), and some names that are no one in the data.

`generate_labelled()` returns the tables and the truth: every pair of records that are one person
(graph.matches record ids), with the kind of noise that separates them.
"""
from __future__ import annotations

import csv
from pathlib import Path

import numpy as np

from graph import matches
from graph.dataset import Dataset
from ingest.match import _fold, nicknames

__all__ = ["generate_labelled", "labelled_dataset", "write_labelled", "GIVEN_NAMES"]

_SYL = ["ka", "lo", "mi", "ra", "ten", "vo", "su", "bel", "dar", "ni", "qua", "zem", "tor", "ly", "fen", "or",
        "pa", "shi", "ul", "gre", "ban", "ix", "mo", "we", "rú", "né", "gó", "lí"]
# Common first names (no surnames): each is the formal name of some nicknames in ingest/nicknames.csv, or common
# as it is. Accented ones lose their accents in some copies.
GIVEN_NAMES = ["María", "José", "Jesús", "Guadalupe", "Eduardo", "Francisco", "Robert", "William", "Elizabeth",
               "James", "Michael", "Katherine", "Thomas", "Richard", "Edward", "Anthony", "David", "Daniel",
               "Joseph", "Samuel", "Susan", "Margaret", "Jennifer", "Christopher", "Alexander", "Enrique",
               "Guillermo", "Luis", "Ignacio", "Rosario", "Concepción", "Dolores", "Antonio", "Alberto",
               "Gregorio", "Fernando", "Rafael", "Santiago", "Teresa", "Graciela", "Mercedes", "Patricia",
               "Isabel", "Alicia", "Nicolás", "Vicente", "Alfonso", "Ramón", "Manuel", "Gonzalo", "Inés",
               "Sofía", "Lucía", "Raúl", "Óscar", "Andrés", "Ana", "Carmen", "Juan", "Pedro", "Laura", "Linda",
               "Mary", "John", "Sarah", "Kevin", "Brian", "Angela", "Denise", "Keisha", "Tran", "Minh", "Hoa",
               "Amina", "Fatima", "Omar", "Yusuf", "Aaliyah", "Jamal", "Darnell", "Tanisha", "Wei", "Mei"]
_SITES = ["S1", "S2", "S3", "S4", "S5", "S6"]
_HOODS = ["North End", "South Side", "Harbor", "Hilltop", "Old Mill", "Westbank", "Midtown", "Parkside",
          "Riverside", "Elm Park", "Cannery", "Five Corners"]


def _zipf(rng, n: int, size: int, offset: float = 10.0) -> np.ndarray:
    w = 1.0 / (np.arange(n) + offset)
    return rng.choice(n, size=size, p=w / w.sum())


def _surnames(rng, n: int) -> list[str]:
    out, seen = [], set()
    while len(out) < n:
        word = "".join(rng.choice(_SYL, rng.integers(2, 4))).capitalize()
        if word not in seen and len(word) > 3:
            seen.add(word)
            out.append(word)
    return out


def _nick_of() -> dict[str, list[str]]:
    """Formal name -> its nicknames."""
    out: dict[str, list[str]] = {}
    for nick, names in nicknames().items():
        for name in names:
            out.setdefault(name, []).append(nick)
    return {k: sorted(v) for k, v in out.items()}


def _strip(text: str) -> str:
    import unicodedata
    return "".join(ch for ch in unicodedata.normalize("NFKD", text) if not unicodedata.combining(ch))


def _typo(rng, word: str) -> str:
    if len(word) < 4:
        return word
    i = int(rng.integers(1, len(word) - 1))
    kind = rng.integers(0, 4)
    letters = "aeioulnrstmdk"
    if kind == 0:
        return word[:i] + word[i + 1:]                                   # a letter dropped
    if kind == 1:
        return word[:i] + str(rng.choice(list(letters))) + word[i:]      # a letter added
    if kind == 2:
        return word[:i] + str(rng.choice(list(letters))) + word[i + 1:]  # a letter wrong
    return word[:i - 1] + word[i] + word[i - 1] + word[i + 1:]           # two letters swapped


def _family_text(surnames: list[str], hyphen: bool) -> str:
    return ("-" if hyphen else " ").join(surnames)


def _noisy(rng, given: str, surnames: list[str], hyphen: bool, nick_of: dict, *, mention: bool = False
           ) -> tuple[str, str]:
    """A copy of a name with one or two kinds of noise; returns (name, what was done)."""
    kinds = ["typo", "nickname", "accents", "swapped", "comma", "double", "initial", "none"]
    p = [0.2, 0.15, 0.12, 0.1, 0.08, 0.15, 0.08, 0.12] if not mention else \
        [0.25, 0.25, 0.15, 0.0, 0.0, 0.15, 0.2, 0.0]
    chosen = {str(rng.choice(kinds, p=p))}
    if rng.random() < 0.25:
        chosen.add(str(rng.choice(kinds, p=p)))
    if len(chosen) > 1:
        chosen.discard("none")
    g, fam, hy = given, list(surnames), hyphen
    folded = _fold(given)
    if "nickname" in chosen and nick_of.get(folded):
        g = str(rng.choice(nick_of[folded])).capitalize()
    if "double" in chosen and len(fam) > 1:
        r = rng.random()
        if r < 0.5:
            fam = fam[:1]                       # second surname dropped
        else:
            hy = not hy                         # hyphen added or dropped
    if "typo" in chosen:
        if rng.random() < 0.5 or len(g) < 4:
            k = int(rng.integers(0, len(fam)))
            fam[k] = _typo(rng, fam[k])
        else:
            g = _typo(rng, g)
    if "initial" in chosen:
        g = g[0] + "."
    text_family = _family_text(fam, hy)
    if "swapped" in chosen:
        name = f"{text_family} {g}"
    elif "comma" in chosen:
        name = f"{text_family}, {g}"
    else:
        name = f"{g} {text_family}"
    if "accents" in chosen:
        name = _strip(name)
    if rng.random() < 0.1:
        name = name.upper() if rng.random() < 0.5 else name.lower()
    return name, "+".join(sorted(chosen))


def generate_labelled(people: int = 1000, seed: int = 3) -> tuple[dict[str, list[dict]], dict]:
    """Tables (sites, people with a `source` column, ties with to_name) of about `people` people, and the truth:
    {"pairs": {(left, right): noise} (each copy and survey name with the roster person it was made from),
    "identity": {record id: roster person_id} (records of one person share it), "roster", "visits", "mentions"}.
    Two records are one person exactly when both have the same identity."""
    rng = np.random.default_rng(seed)
    nick_of = _nick_of()
    n_roster = max(2, round(people * 0.6))
    n_visits = max(1, people - n_roster)
    pool = _surnames(rng, max(200, people // 8))
    given_idx = _zipf(rng, len(GIVEN_NAMES), n_roster + n_visits, offset=8.0)
    sites = _SITES[:3 if people < 300 else 6]

    roster = []
    k = 0
    fam_no = 0
    while k < n_roster:
        fam_no += 1
        size = int(min(n_roster - k, rng.choice([1, 2, 3, 4], p=[0.45, 0.3, 0.15, 0.1])))
        surnames = [pool[int(i)] for i in _zipf(rng, len(pool), 2 if rng.random() < 0.3 else 1)]
        hyphen = bool(rng.random() < 0.5)
        site = str(rng.choice(sites))
        hood = str(rng.choice(_HOODS))
        family = f"F{fam_no:06d}"
        first_given, named_after = None, False
        for m in range(size):
            role = "parent" if m < 2 else "child"
            given = GIVEN_NAMES[int(given_idx[k])]
            suffix = ""
            if role == "child" and first_given and not named_after and rng.random() < 0.3:   # after a parent
                given, suffix, named_after = first_given, " Jr", True
            first_given = first_given or given
            pid = f"R{k + 1:06d}"
            roster.append({"person_id": pid, "name": f"{given} {_family_text(surnames, hyphen)}{suffix}",
                           "role": role, "family_id": family, "site_id": site, "neighborhood": hood,
                           "email": f"{pid.lower()}@example.org" if role == "parent" and rng.random() < 0.5 else "",
                           "phone": f"555-01{k % 100:02d}" if rng.random() < 0.3 else "",
                           "source": "roster", "_given": given, "_surnames": surnames, "_hyphen": hyphen})
            k += 1

    truth: dict[tuple[str, str], str] = {}
    visits = []
    copied = rng.choice(n_roster, size=min(n_roster, round(n_visits * 0.85)), replace=False)
    for v, i in enumerate(copied):
        src = roster[int(i)]
        name, noise = _noisy(rng, src["_given"], src["_surnames"], src["_hyphen"], nick_of)
        if src["name"].endswith(" Jr"):
            name, noise = name + " Jr", noise + "+shared-name-in-family"
        pid = f"V{v + 1:06d}"
        visits.append({"person_id": pid, "name": name, "role": src["role"], "family_id": "",
                       "site_id": src["site_id"] if rng.random() < 0.95 else str(rng.choice(sites)),
                       "neighborhood": src["neighborhood"] if rng.random() < 0.85 else "",
                       "email": src["email"] if src["email"] and rng.random() < 0.5 else "",
                       "phone": src["phone"] if src["phone"] and rng.random() < 0.5 else "", "source": "visits"})
        truth[matches.pair_key(matches.person_record(src["person_id"]), matches.person_record(pid))] = noise
    for v in range(len(visits), n_visits):                  # people in no roster
        pid = f"V{v + 1:06d}"
        if rng.random() < 0.15:                             # with exactly the name of a roster person
            name = roster[int(rng.integers(0, n_roster))]["name"]
        else:
            name = (f"{GIVEN_NAMES[int(given_idx[n_roster + v])]} "
                    f"{pool[int(_zipf(rng, len(pool), 1)[0])]}")
        visits.append({"person_id": pid, "name": name, "role": "parent", "family_id": "",
                       "site_id": str(rng.choice(sites)), "neighborhood": str(rng.choice(_HOODS)),
                       "email": "", "phone": "", "source": "visits"})

    by_site: dict[str, list[int]] = {}
    for i, r in enumerate(roster):
        by_site.setdefault(r["site_id"], []).append(i)
    ties = []
    n_mentions = max(1, round(people * 0.1))
    for _ in range(n_mentions):
        who = roster[int(rng.integers(0, n_roster))]
        if rng.random() < 0.85:
            mates = by_site[who["site_id"]]
            target = roster[int(mates[int(rng.integers(0, len(mates)))])]
            if target is who:
                continue
            name, noise = _noisy(rng, target["_given"], target["_surnames"], target["_hyphen"], nick_of,
                                 mention=True)
            ties.append({"from_person_id": who["person_id"], "to_person_id": "", "to_name": name,
                         "tie_type": "named", "wave": "post", "observed_on": "", "_target": target["person_id"],
                         "_noise": noise})
        else:
            name = f"{GIVEN_NAMES[int(rng.integers(0, len(GIVEN_NAMES)))]} {_surnames(rng, 1)[0]}"
            ties.append({"from_person_id": who["person_id"], "to_person_id": "", "to_name": name,
                         "tie_type": "named", "wave": "post", "observed_on": "", "_target": None, "_noise": ""})
    # a survey name is one record per respondents' site: true when it names the person it was made from
    site_of = {r["person_id"]: r["site_id"] for r in roster}
    for t in ties:
        if t["_target"]:
            rid = matches.mention_record(t["to_name"], site_of[t["from_person_id"]])
            truth.setdefault((rid, matches.person_record(t["_target"])), "survey:" + t["_noise"])
    # who each record is: roster people are themselves, a copy its original, a survey name whom it names
    identity = {matches.person_record(r["person_id"]): r["person_id"] for r in roster}
    identity.update({a if a.startswith("person:V") else b: identity[b if a.startswith("person:V") else a]
                     for a, b in truth if a.startswith("person:")})
    identity.update({a: person_id for (a, b), _ in truth.items() if a.startswith("name:")
                     for person_id in [identity[b]]})
    people_rows = [{k: v for k, v in r.items() if not k.startswith("_")} for r in roster + visits]
    tie_rows = [{k: v for k, v in t.items() if not k.startswith("_")} for t in ties]
    tables = {"sites": [{"site_id": s, "name": f"Site {s}", "state": "CT"} for s in sites],
              "people": people_rows, "ties": tie_rows}
    return tables, {"pairs": truth, "identity": identity, "roster": n_roster, "visits": n_visits,
                    "mentions": len(ties)}


def labelled_dataset(tables: dict[str, list[dict]]) -> Dataset:
    """The tables as a store would read them back after ingest: empty cells missing, and a survey name equal to
    exactly one person's name (case, accents and spacing aside) already linked to that person."""
    people = [{k: v for k, v in r.items() if v not in ("", None)} for r in tables["people"]]
    by_key: dict[str, list[str]] = {}
    for r in people:
        by_key.setdefault(matches.name_key(r.get("name", "")), []).append(r["person_id"])
    ties = []
    for t in tables.get("ties", []):
        row = {k: v for k, v in t.items() if v not in ("", None)}
        hits = by_key.get(matches.name_key(row.get("to_name", "")), [])
        if not row.get("to_person_id") and len(hits) == 1:
            row["to_person_id"] = hits[0]
        ties.append(row)
    nodes = {"Person": people, "Site": tables.get("sites", [])}
    edges = {"REPORTED_TIE": [t for t in ties if t.get("to_person_id")],
             "NAMED": [t for t in ties if not t.get("to_person_id")]}
    return Dataset.from_rows(nodes, edges)


def write_labelled(folder: str | Path, people: int = 1000, seed: int = 3) -> dict:
    """Write the set as a data package (sites.csv, people.csv with a source column, ties.csv); return the truth."""
    tables, truth = generate_labelled(people, seed)
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    for name, rows in tables.items():
        with open(folder / f"{name}.csv", "w", encoding="utf-8", newline="") as f:
            w = csv.DictWriter(f, fieldnames=list(rows[0]))
            w.writeheader()
            w.writerows(rows)
    return truth
