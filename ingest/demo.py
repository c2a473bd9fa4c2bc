"""The demo network: a realistic, entirely synthetic data package.

Names are built from invented syllables, emails use example.org and phones the fictional 555-01xx range,
so nothing here can be a real family. The story the data tells is the programs' theory of change:
parents start with ties inside their own race and income group; PLTI cohorts add ties across both
(the post-survey wave); graduates attend forums and civic projects, some present, and over the years some
take seats on school boards and city commissions. PTHV teachers visit families; a few families stay isolated.
Visited families climb PTHV's ladder (school events, presenting, certified trainers, seats), parents take TPE's
pathways one after another, and children of PLTI parents attend the children's track (see _journeys).
About 3% of parents have not given (or have withdrawn) consent to evaluation, so that the evaluator and
funder views have someone to leave out. Events record the supports offered (TPE: childcare, translation, food,
transportation, meeting times; see _supports): translation and childcare lean toward the events that more families
who need another language, or who have children, came to, so the Outreach page's comparison has something to find.
"""
from __future__ import annotations

import bisect
import csv
from datetime import date, timedelta
from pathlib import Path

import numpy as np

__all__ = ["generate_demo", "write_demo", "DEMO_PARENTS"]

DEMO_PARENTS = 600

_SITES = [("S1", "Riverside", "CT"), ("S2", "Northgate", "CT"), ("S3", "Eastfield", "CA"), ("S4", "Lakeview", "WA"),
          ("S5", "Millbrook", "TX"), ("S6", "Cedar Flats", "NM")]
_RACES = ["Black", "Latino", "White", "Asian", "Multiracial", "Native American"]
_RACE_P = [0.28, 0.30, 0.24, 0.09, 0.07, 0.02]
_INCOMES = ["low", "lower-middle", "middle", "upper"]
_LANG_BY_RACE = {"Latino": (["Spanish", "English"], [0.6, 0.4]), "Asian": (["Vietnamese", "English", "Mandarin"],
                 [0.35, 0.45, 0.2]), "Black": (["English", "Somali", "Haitian Creole"], [0.85, 0.08, 0.07])}
_SYL = ["ka", "lo", "mi", "ra", "ten", "vo", "su", "bel", "dar", "ni", "qua", "zem", "tor", "ly", "fen", "or",
        "pa", "shi", "ul", "gre", "ban", "ix", "mo", "we"]
_NEIGHBORHOODS = ["North End", "South Side", "Harbor", "Hilltop", "Old Mill", "Westbank", "Midtown", "Parkside"]


def _name(rng: np.random.Generator) -> str:
    def word(n):
        return "".join(rng.choice(_SYL, n)).capitalize()
    return f"{word(rng.integers(1, 3))} {word(rng.integers(2, 4))}"


def _iso(d: date) -> str:
    return d.isoformat()


def generate_demo(parents: int = DEMO_PARENTS, seed: int = 7) -> dict[str, list[dict]]:
    """Generate the demo tables (lists of row dicts of text) for `parents` parents."""
    rng = np.random.default_rng(seed)
    n_sites = 3 if parents < 200 else (4 if parents < 2000 else len(_SITES))
    sites = [{"site_id": s, "name": n, "state": st} for s, n, st in _SITES[:n_sites]]
    site_ids = [s["site_id"] for s in sites]

    people: list[dict] = []
    # --- families and parents
    p_site = rng.choice(n_sites, parents)
    p_race = rng.choice(len(_RACES), parents, p=_RACE_P)
    # income correlates with race in the data the programs serve; that is what makes bridging hard
    income_shift = np.array([0.0, 0.0, 1.1, 0.6, 0.4, -0.2])[p_race]
    p_income = np.clip(np.round(rng.normal(1.0 + income_shift, 0.9)), 0, 3).astype(int)
    family_of = np.empty(parents, dtype=int)
    fam, i = 0, 0
    while i < parents:  # one or two parents per family
        size = 2 if rng.random() < 0.35 and i + 1 < parents else 1
        family_of[i:i + size] = fam
        if size == 2:  # co-parents share site, and usually race and income
            p_site[i + 1] = p_site[i]
            p_income[i + 1] = p_income[i]
            if rng.random() < 0.8:
                p_race[i + 1] = p_race[i]
        fam += 1
        i += size
    n_families = fam
    hoods = rng.choice(len(_NEIGHBORHOODS), n_families)
    for k in range(parents):
        race = _RACES[p_race[k]]
        langs, lp = _LANG_BY_RACE.get(race, (["English"], [1.0]))
        pid = f"P{k + 1:06d}"
        people.append({"person_id": pid, "name": _name(rng), "role": "parent",
                       "family_id": f"F{family_of[k] + 1:06d}", "race_ethnicity": race,
                       "income_band": _INCOMES[p_income[k]], "primary_language": str(rng.choice(langs, p=lp)),
                       "site_id": site_ids[p_site[k]], "neighborhood": _NEIGHBORHOODS[hoods[family_of[k]]],
                       "email": f"{pid.lower()}@example.org", "phone": f"555-01{k % 100:02d}"})
    # a few attributes left blank, as real survey data has
    for k in rng.choice(parents, max(1, parents // 50), replace=False):
        people[k]["income_band"] = ""
    # children
    child_no = 0
    for f in range(n_families):
        src = people[int(np.searchsorted(family_of, f))]          # the family's first parent (family_of sorted)
        for _ in range(rng.integers(0, 4)):
            child_no += 1
            people.append({"person_id": f"C{child_no:06d}", "name": _name(rng), "role": "child",
                           "family_id": src["family_id"], "race_ethnicity": src["race_ethnicity"],
                           "income_band": src["income_band"], "primary_language": src["primary_language"],
                           "site_id": src["site_id"], "neighborhood": src["neighborhood"], "email": "", "phone": ""})
    # teachers, staff, officials
    n_teachers = max(3, parents // 25)
    teachers = []
    for k in range(n_teachers):
        tid = f"T{k + 1:05d}"
        teachers.append(tid)
        people.append({"person_id": tid, "name": _name(rng), "role": "teacher", "family_id": "",
                       "race_ethnicity": str(rng.choice(_RACES, p=[0.15, 0.12, 0.6, 0.07, 0.05, 0.01])),
                       "income_band": "middle", "primary_language": str(rng.choice(["English", "Spanish"], p=[.8, .2])),
                       "site_id": site_ids[k % n_sites], "neighborhood": "", "email": f"{tid.lower()}@example.org",
                       "phone": ""})
    for k in range(max(2, n_sites * 2)):
        sid = f"ST{k + 1:04d}"
        people.append({"person_id": sid, "name": _name(rng), "role": "staff", "family_id": "", "race_ethnicity":
                       str(rng.choice(_RACES, p=_RACE_P)), "income_band": "middle", "primary_language": "English",
                       "site_id": site_ids[k % n_sites], "neighborhood": "", "email": f"{sid.lower()}@example.org",
                       "phone": ""})
    # a few parents said no, or later withdrew, to their data being used in evaluations (docs/consent.md).
    # Drawn from a generator of their own so that everything else stays as it was for the same seed.
    for person in people:
        person["consent"] = "yes"
    refusing = np.random.default_rng([seed, 1]).choice(parents, max(1, round(parents * 0.03)), replace=False)
    for j, k in enumerate(sorted(int(k) for k in refusing)):
        people[k]["consent"] = "withdrawn" if j % 3 == 2 else "no"

    # --- schools and bodies
    schools, bodies = [], []
    for s in sites:
        for j in range(3):
            schools.append({"school_id": f"{s['site_id']}-SCH{j + 1}", "name": f"{s['name']} {['Elementary', 'Middle', 'High'][j]}",
                            "district": f"{s['name']} Public Schools"})
        bodies += [{"body_id": f"{s['site_id']}-BOE", "name": f"{s['name']} Board of Education", "level": "district",
                    "kind": "board"},
                   {"body_id": f"{s['site_id']}-SC", "name": f"{s['name']} Elementary School Council", "level": "school",
                    "kind": "council"},
                   {"body_id": f"{s['site_id']}-CYC", "name": f"{s['name']} Commission on Children and Youth",
                    "level": "city", "kind": "commission"},
                   {"body_id": f"{s['site_id']}-PKS", "name": f"{s['name']} Parks Advisory Committee", "level": "city",
                    "kind": "advisory"}]
    states = sorted({s["state"] for s in sites})
    for st in states:
        bodies.append({"body_id": f"{st}-ECC", "name": f"{st} Early Childhood Council", "level": "state", "kind": "council"})
    bodies.append({"body_id": "CO-HHS", "name": "County Health and Human Services Advisory Board", "level": "county",
                   "kind": "advisory"})

    # --- cohorts and enrollments
    years = list(range(2019, 2027))
    per_cohort = 12 if parents < 2000 else 20
    cohorts, enrollments = [], []
    pool = {s: list(rng.permutation(np.flatnonzero(p_site == si))) for si, s in enumerate(site_ids)}
    enrolled_in: dict[int, tuple[str, str]] = {}
    for si, s in enumerate(site_ids):
        n_site_parents = len(pool[s])
        n_cohorts_site = max(1, int(0.45 * n_site_parents / per_cohort))
        cohorts_per_year = max(1, n_cohorts_site // len(years))
        k = 0
        for y in years[-min(len(years), n_cohorts_site):]:
            for c in range(cohorts_per_year):
                program = "PLTI" if (k % 3) != 2 else "TPE"
                k += 1
                cid = f"{s}-{program}-{y}{'' if cohorts_per_year == 1 else f'-{c + 1:02d}'}"
                start = date(y, 1, 15) + timedelta(days=int(rng.integers(0, 20)) + 180 * (c % 2))
                end = start + timedelta(weeks=20)
                cohorts.append({"cohort_id": cid, "program": program, "site_id": s, "start_date": _iso(start),
                                "end_date": _iso(end)})
                for _ in range(per_cohort):
                    if not pool[s]:
                        break
                    p = int(pool[s].pop())
                    if end > date(2026, 11, 1):
                        status, completed = "enrolled", ""
                    else:
                        r = rng.random()
                        status = "graduated" if r < 0.82 else "withdrawn"
                        completed = _iso(end) if status == "graduated" else ""
                    enrolled_in[p] = (cid, status)
                    enrollments.append({"person_id": people[p]["person_id"], "cohort_id": cid, "status": status,
                                        "enrolled_on": _iso(start - timedelta(days=int(rng.integers(7, 40)))),
                                        "completed_on": completed})
    cohort_by_id = {c["cohort_id"]: c for c in cohorts}

    # --- ties: a homophilous baseline (wave "pre"), then new bridging ties inside cohorts (wave "post")
    isolated = set(int(k) for k in rng.choice(parents, max(1, parents // 14), replace=False)
                   if int(k) not in enrolled_in)
    by_group: dict[tuple, list[int]] = {}
    by_site: dict[int, list[int]] = {}
    for k in range(parents):
        if k in isolated:
            continue
        by_group.setdefault((p_site[k], p_race[k]), []).append(k)
        by_group.setdefault((p_site[k], "inc", p_income[k]), []).append(k)
        by_site.setdefault(p_site[k], []).append(k)
    ties: list[dict] = []
    seen = set()
    names = [p["name"] for p in people]

    def add_tie(a: int, b: int, wave: str, kind: str, when: date) -> None:
        if a == b or (a, b) in seen:
            return
        seen.add((a, b))
        row = {"from_person_id": people[a]["person_id"], "to_person_id": people[b]["person_id"], "to_name": "",
               "tie_type": kind, "wave": wave, "observed_on": _iso(when)}
        r = rng.random()
        if r < 0.06:  # named in the survey, not linked by staff: exercise name matching
            row["to_person_id"] = ""
            nm = names[b]
            row["to_name"] = nm.upper() if r < 0.02 else ("  " + nm.lower().replace(" ", "  ") if r < 0.04 else nm)
        ties.append(row)

    for k in range(parents):
        if k in isolated:
            continue
        base = date(2019, 1, 5)
        for _ in range(rng.integers(2, 6)):
            r = rng.random()
            if r < 0.55:
                cands = by_group[(p_site[k], p_race[k])]
            elif r < 0.85:
                cands = by_group[(p_site[k], "inc", p_income[k])]
            else:
                cands = by_site[p_site[k]]
            add_tie(k, int(cands[rng.integers(len(cands))]), "pre", str(rng.choice(["friend", "neighbor", "advice"])),
                    base + timedelta(days=int(rng.integers(0, 60))))
    members: dict[str, list[int]] = {}
    for p, (cid, status) in enrolled_in.items():
        members.setdefault(cid, []).append(p)
    for cid, ms in members.items():
        end = date.fromisoformat(cohort_by_id[cid]["end_date"])
        if end > date(2026, 11, 1):
            continue
        for p in ms:
            if enrolled_in[p][1] == "withdrawn":
                continue
            for _ in range(rng.integers(2, 5)):
                q = ms[rng.integers(len(ms))]
                add_tie(p, q, "post", str(rng.choice(["advice", "collaborator", "friend"])),
                        end + timedelta(days=int(rng.integers(0, 30))))
    # a handful of names nobody can match: misspelt, or a relative outside the program
    for j in range(max(2, parents // 100)):
        k = int(rng.integers(parents))
        if k in isolated:
            continue
        ties.append({"from_person_id": people[k]["person_id"], "to_person_id": "", "to_name":
                     f"{_name(rng)} (cousin)" if j % 2 else "Ms. " + _name(rng).split()[1],
                     "tie_type": "family", "wave": "pre", "observed_on": "2019-02-01"})

    # --- events and attendance
    events, attendance = [], []
    kinds = ["forum", "summit", "civic_project", "workshop", "meeting"]
    ev_no = 0
    # graduates keep coming to forums and civic projects after graduating; that is where seats come from
    grads_by_site: dict[str, list[tuple[date, int]]] = {}
    for p, (cid, status) in enrolled_in.items():
        if status == "graduated":
            c = cohort_by_id[cid]
            grads_by_site.setdefault(c["site_id"], []).append((date.fromisoformat(c["end_date"]), p))
    for grads in grads_by_site.values():
        grads.sort()
    civic_after: set[int] = set()
    for si, s in enumerate(site_ids):
        site_people = by_site.get(si, [])
        n_events = max(12, len(site_people) // 15)
        grads = grads_by_site.get(s, [])
        for _ in range(n_events):
            ev_no += 1
            kind = str(rng.choice(kinds, p=[0.35, 0.1, 0.25, 0.2, 0.1]))
            when = date(2019, 3, 1) + timedelta(days=int(rng.integers(0, 2800)))
            eid = f"E{ev_no:05d}"
            events.append({"event_id": eid, "name": f"{sites[si]['name']} {kind.replace('_', ' ')} {when.year}",
                           "kind": kind, "date": _iso(when), "site_id": s})
            size = int(min(len(site_people), rng.integers(8, 30)))
            chosen = set(rng.choice(site_people, size, replace=False).tolist()) if site_people else set()
            eligible = [p for done, p in grads if done < when]
            recent = eligible[-300:]  # the last few cohorts are the ones still showing up
            if recent:
                chosen |= set(rng.choice(recent, min(len(recent), int(rng.integers(3, 12))), replace=False).tolist())
            graduated_before = set(eligible) if len(eligible) < 5000 else set(recent)
            for p in sorted(chosen):
                role = "presenter" if p in graduated_before and rng.random() < 0.2 else "attendee"
                if p in graduated_before and (role == "presenter" or kind in ("forum", "summit", "civic_project")):
                    civic_after.add(p)
                attendance.append({"person_id": people[p]["person_id"], "event_id": eid, "role": role})

    # --- home visits (PTHV): teachers visit families at their site, some twice
    visits = []
    v_no = 0
    fam_site = {}
    for k in range(parents):
        fam_site.setdefault(f"F{family_of[k] + 1:06d}", site_ids[p_site[k]])
    teachers_by_site: dict[str, list[str]] = {}
    for idx, t in enumerate(teachers):
        teachers_by_site.setdefault(site_ids[idx % n_sites], []).append(t)
    for f, s in fam_site.items():
        if rng.random() < 0.3 and teachers_by_site.get(s):
            t = str(rng.choice(teachers_by_site[s]))
            school = f"{s}-SCH{int(rng.integers(1, 4))}"
            first = date(2020, 9, 1) + timedelta(days=int(rng.integers(0, 2200)))
            for n in range(1 + int(rng.random() < 0.35)):
                v_no += 1
                visits.append({"visit_id": f"V{v_no:06d}", "teacher_id": t, "family_id": f, "school_id": school,
                               "visit_date": _iso(first + timedelta(days=120 * n))})

    # --- appointments: some graduates take seats, months to years after graduating
    appointments = []
    level_bodies = {b["body_id"]: b for b in bodies}
    for p, (cid, status) in sorted(enrolled_in.items()):
        if status != "graduated":
            continue
        c = cohort_by_id[cid]
        if rng.random() < (0.3 if p in civic_after else 0.06):
            s = c["site_id"]
            options = [f"{s}-SC", f"{s}-SC", f"{s}-BOE", f"{s}-CYC", f"{s}-PKS", "CO-HHS",
                       f"{[x for x in sites if x['site_id'] == s][0]['state']}-ECC"]
            body = options[int(rng.integers(len(options)))]
            start = date.fromisoformat(c["end_date"]) + timedelta(days=int(rng.gamma(2.0, 220)))
            if start > date(2026, 11, 1):
                continue
            appointments.append({"person_id": people[p]["person_id"], "body_id": body,
                                 "seat": "parent representative" if level_bodies[body]["level"] == "school" else "member",
                                 "start_date": _iso(start), "end_date": _iso(start + timedelta(days=730))
                                 if rng.random() < 0.5 else ""})
    _journeys(np.random.default_rng([seed, 2]), people=people, parents=parents, site_ids=site_ids, sites=sites,
              p_site=p_site, visits=visits, cohorts=cohorts, enrollments=enrollments, events=events,
              attendance=attendance, appointments=appointments, teachers_by_site=teachers_by_site)
    _supports(np.random.default_rng([seed, 3]), people=people, events=events, attendance=attendance)
    return {"sites": sites, "people": people, "cohorts": cohorts, "enrollments": enrollments, "events": events,
            "attendance": attendance, "ties": ties, "schools": schools, "home_visits": visits, "bodies": bodies,
            "appointments": appointments}


_LAST_DAY = date(2026, 10, 25)   # the journeys' events end before the demo's latest recorded day
_TPE_PATHWAYS = ("volunteering", "organizing", "adult_education", "curriculum_project")


def _journeys(rng: np.random.Generator, *, people, parents, site_ids, sites, p_site, visits, cohorts, enrollments,
              events, attendance, appointments, teachers_by_site) -> None:
    """The other two programs' journeys and PLTI's children's track, appended to the tables (drawn from a
    generator of their own, so every row made before stays as it was for the same seed):

    - PTHV: parents of visited families come to school events after the visit; some present or facilitate;
      some are certified as home-visit trainers and go on to train others; some join a school council or the
      board of education;
    - TPE: a quarter of the parents take one to four pathways (volunteering, organizing, adult education,
      a curriculum project), one after the other; adult education and curriculum work lead more often to
      leading a staff workshop, organizing to a seat; under-involved families (home language other than
      English, low income) are a little less likely to start;
    - PLTI's children's track: children of parents in a PLTI cohort attend its sessions, more often in the
      families whose parent graduates.
    """
    names = {s["site_id"]: s["name"] for s in sites}
    counter = [len(events)]
    by_kind: dict[tuple[str, str], list[tuple[date, str]]] = {}

    def new_event(site: str, kind: str, day: date) -> str:
        counter[0] += 1
        eid = f"E{counter[0]:05d}"
        events.append({"event_id": eid, "name": f"{names[site]} {kind.replace('_', ' ')} {day.year}", "kind": kind,
                       "date": _iso(day), "site_id": site})
        by_kind.setdefault((site, kind), []).append((day, eid))
        return eid

    site_parents = {s: int((p_site == i).sum()) for i, s in enumerate(site_ids)}
    span = (_LAST_DAY - date(2020, 9, 1)).days
    for s in site_ids:
        for kind, per in (("school_event", 10), ("staff_workshop", 25), ("trainer_certification", 20),
                          ("training_of_trainers", 30), ("volunteering", 20), ("organizing", 30),
                          ("adult_education", 30), ("curriculum_project", 40)):
            for _ in range(max(3, site_parents[s] // per)):
                new_event(s, kind, date(2020, 9, 1) + timedelta(days=int(rng.integers(0, span))))
    for v in by_kind.values():
        v.sort()
    seen: set[tuple[str, str]] = set()

    def attend(pid: str, site: str, kind: str, after: date, role: str = "attendee") -> date | None:
        """`pid` attends one of the next few `kind` events at `site` after `after`; the event's day (None if none)."""
        options = by_kind.get((site, kind), [])
        i = bisect.bisect_right(options, (after, "\uffff"))
        nxt = [(d, e) for d, e in options[i:i + 8] if (pid, e) not in seen][:4]
        if not nxt:
            return None
        d, e = nxt[int(rng.integers(len(nxt)))]
        seen.add((pid, e))
        attendance.append({"person_id": pid, "event_id": e, "role": role})
        return d

    seats: set[tuple[str, str]] = {(a["person_id"], a["body_id"]) for a in appointments}

    def seat(pid: str, site: str, after: date) -> None:
        body = f"{site}-SC" if rng.random() < 0.7 else f"{site}-BOE"
        start = after + timedelta(days=int(rng.integers(30, 400)))
        if start <= _LAST_DAY and (pid, body) not in seats:
            seats.add((pid, body))
            appointments.append({"person_id": pid, "body_id": body,
                                 "seat": "parent representative" if body.endswith("-SC") else "member",
                                 "start_date": _iso(start), "end_date": ""})

    parent_rows = people[:parents]
    by_family: dict[str, list[dict]] = {}
    for person in people:
        if person["family_id"]:
            by_family.setdefault(person["family_id"], []).append(person)
    # -- PTHV: from a home visit up the ladder
    first_visit: dict[str, date] = {}
    for v in visits:
        d = date.fromisoformat(v["visit_date"])
        first_visit[v["family_id"]] = min(first_visit.get(v["family_id"], d), d)
    for fam, visited_on in sorted(first_visit.items()):
        for person in by_family.get(fam, []):
            if person["role"] != "parent" or rng.random() >= 0.65:
                continue
            pid, site = person["person_id"], person["site_id"]
            day = attend(pid, site, "school_event", visited_on)
            if day is None or rng.random() >= 0.45:
                continue
            day = attend(pid, site, "school_event" if rng.random() < 0.6 else "staff_workshop", day,
                         role=str(rng.choice(["presenter", "facilitator"])))
            if day is None or rng.random() >= 0.6:
                continue
            day = attend(pid, site, "trainer_certification", day)
            if day is None:
                continue
            if rng.random() < 0.6:
                attend(pid, site, "training_of_trainers", day, role="trainer")
            if rng.random() < 0.4:
                seat(pid, site, day)
    # -- TPE: pathways side by side
    weights = np.array([0.4, 0.25, 0.2, 0.15])
    for person in parent_rows:
        under = person["primary_language"] != "English" or person["income_band"] == "low"
        if rng.random() >= (0.2 if under else 0.28):
            continue
        pid, site = person["person_id"], person["site_id"]
        day = date(2020, 9, 1) + timedelta(days=int(rng.integers(0, span - 400)))
        taken: list[str] = []
        order = list(rng.choice(len(_TPE_PATHWAYS), len(_TPE_PATHWAYS), replace=False, p=weights))
        for k, j in enumerate(order):
            if k and rng.random() >= 0.55:
                break
            got = attend(pid, site, _TPE_PATHWAYS[j], day)
            if got is None:
                break
            taken.append(_TPE_PATHWAYS[j])
            day = got
        if not taken:
            continue
        lead = 0.06 + 0.2 * ("adult_education" in taken) + 0.15 * ("curriculum_project" in taken)
        if rng.random() < lead:
            led = attend(pid, site, "staff_workshop", day, role=str(rng.choice(["presenter", "facilitator"])))
            day = led or day
        if rng.random() < 0.04 + 0.15 * ("organizing" in taken) + 0.05 * len(taken):
            seat(pid, site, day)
        for t in teachers_by_site.get(site, [])[:2]:    # staff come to the workshops parents lead
            for d, e in by_kind.get((site, "staff_workshop"), [])[:1]:
                if (t, e) not in seen:
                    seen.add((t, e))
                    attendance.append({"person_id": t, "event_id": e, "role": "attendee"})
    # -- PLTI's children's track: sessions beside each PLTI cohort, attended by children of its parents
    cohort_of = {c["cohort_id"]: c for c in cohorts}
    sessions: dict[str, list[str]] = {}
    for e in enrollments:
        c = cohort_of[e["cohort_id"]]
        if c["program"] != "PLTI":
            continue
        person = people[int(e["person_id"][1:]) - 1]           # parents are P000001... in order
        kids = [p for p in by_family.get(person["family_id"], []) if p["role"] == "child"]
        if not kids or rng.random() >= (0.5 if e["status"] == "graduated" else 0.2):
            continue
        if c["cohort_id"] not in sessions:
            start = date.fromisoformat(c["start_date"])
            sessions[c["cohort_id"]] = []
            for w in (1, 6, 12, 18):
                counter[0] += 1
                eid = f"E{counter[0]:05d}"
                events.append({"event_id": eid, "name": f"{names[c['site_id']]} children's track {start.year}",
                               "kind": "children_track", "date": _iso(start + timedelta(weeks=w)),
                               "site_id": c["site_id"]})
                sessions[c["cohort_id"]].append(eid)
        for kid in kids:
            for eid in sessions[c["cohort_id"]]:
                if rng.random() < 0.8 and (kid["person_id"], eid) not in seen:
                    seen.add((kid["person_id"], eid))
                    attendance.append({"person_id": kid["person_id"], "event_id": eid, "role": "attendee"})


_SUPPORT_P = {"food": 0.45, "transportation": 0.15, "meeting_time": 0.3}


def _supports(rng: np.random.Generator, *, people, events, attendance) -> None:
    """The supports each event offered (events' `supports`), drawn after everything else from a generator of
    their own, so every other row stays as it was for the same seed.

    Translation is likelier where more of the parents who came need a language other than English than is
    usual at the site, childcare where more came from families with children: the synthetic counterpart of
    "families come more when the support is offered" (noisy: a probability, not a rule). Food, transportation
    and a family-friendly meeting time are offered at random. Staff and trainers' events offer none.
    """
    by_id = {p["person_id"]: p for p in people}
    with_children = {p["family_id"] for p in people if p["role"] == "child"}
    parents = [p for p in people if p["role"] == "parent"]

    def shares(group: list[dict]) -> tuple[float, float]:
        if not group:
            return 0.0, 0.0
        other = sum(p["primary_language"] != "English" for p in group) / len(group)
        kids = sum(p["family_id"] in with_children for p in group) / len(group)
        return other, kids

    base = {}
    for s in {p["site_id"] for p in parents}:
        base[s] = shares([p for p in parents if p["site_id"] == s])
    came: dict[str, list[dict]] = {}
    for a in attendance:
        p = by_id[a["person_id"]]
        if p["role"] == "parent":
            came.setdefault(a["event_id"], []).append(p)
    for e in events:
        if e["kind"] in ("staff_workshop", "training_of_trainers", "trainer_certification"):
            e["supports"] = ""
            continue
        other, kids = shares(came.get(e["event_id"], []))
        base_other, base_kids = base.get(e["site_id"], (0.0, 0.0))
        offered = []
        if rng.random() < float(np.clip(0.3 + 15 * (kids - base_kids), 0.05, 0.95)) or e["kind"] == "children_track":
            offered.append("childcare")
        if rng.random() < float(np.clip(0.3 + 5 * (other - base_other), 0.05, 0.95)):
            offered.append("translation")
        offered += [s for s, p in _SUPPORT_P.items() if rng.random() < p]
        e["supports"] = ";".join(offered)


def write_demo(out: str | Path, *, parents: int = DEMO_PARENTS, seed: int = 7) -> dict[str, int]:
    """Write the demo package as CSV files into folder `out`; return the row count of each file."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    tables = generate_demo(parents, seed)
    from graph.model import TABLES
    for name, rows in tables.items():
        with open(out / f"{name}.csv", "w", newline="", encoding="utf-8") as f:
            w = csv.DictWriter(f, fieldnames=list(TABLES[name].columns))
            w.writeheader()
            w.writerows(rows)
    return {name: len(rows) for name, rows in tables.items()}
