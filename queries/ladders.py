"""Ladders of engagement: each program's stages, declared as data, and what people do on them.

PLTI's theory of change runs enrolled -> graduated -> civic activity -> a seat; Parent Teacher Home Visits'
runs from a visit to school events, to presenting, to training other parents and teachers as a certified
trainer, to a seat; transformative parent engagement (TPE) has many pathways side by side. A *ladder* says
which records put a person on each rung, in a small TOML file (``queries/ladder_files/*.toml`` ships PLTI, PTHV
and TPE; a program adds or replaces its own with a file of its own, see :func:`available_ladders`), so a
program changes a file, not the code. For any ladder this module computes the counts per stage (overall or
by site, cohort, school, race, income, language or neighborhood), the conversion from each stage to the
next, the time between stages (Kaplan-Meier, censored like the time to a seat in queries.pipeline) and who
is stuck at each stage; for a ladder with pathways (TPE), the order in which parents took them, which
pathways come before leading or a seat, and whether they reach the groups a school involves least; and the
two-generation comparison of PLTI families whose children take part in the children's track.

**Reaching a stage.** A stage lists the records that reach it (``reached_by``, any of them):

- ``enrolled`` (an enrollment; dated ``enrolled_on``, else the cohort's ``start_date``), ``graduated``
  (status graduated; dated ``completed_on``), both optionally only in cohorts of some ``programs``;
- ``home_visit``: the person's family was visited (dated ``visit_date``);
- ``attended``: an attendance, optionally only at events of some ``kinds`` and in some ``roles``
  (attendee when empty; presenter, facilitator and trainer say who led), dated by the event; undated
  events never count (as in queries.pipeline);
- ``appointed``: an appointment, optionally only to bodies of some ``levels``, dated ``start_date``
  (undated appointments never count).

A person reaches stage *i* when they reached stage *i - 1* and have such a record dated on or after the
day they reached the stage's ``after`` stage (default: stage *i - 1*); an enrollment, graduation or visit
without a date counts whatever the day, and any dated record counts when the ``after`` stage's day is not
known. The day they reach it is the earliest such record's (unknown when only undated ones qualify). So the
stages are nested: everyone counted at a stage is counted at every stage below it, and a person's *level*
is the highest stage they reached. The people on a ladder are those of the roles it names (default parents;
a missing role is a parent) who reached its first stage.
"""
from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

import numpy as np
import pandas as pd

from graph.dataset import Dataset
from graph.model import ATTENDANCE_ROLES, EVENT_KINDS, ROLES, TABLES
from queries.errors import QueryError
from queries.pipeline import _as_of, _civic_people, _dates, _enrollments, _graduates, km_curve

__all__ = [
    "Criterion", "Stage", "Ladder", "LadderError", "SHIPPED", "SOURCES", "GROUPINGS", "parse_ladder", "load_ladder",
    "available_ladders", "reach", "stage_counts", "time_between", "stuck", "pathway_firsts", "pathway_sequences",
    "sequence_table", "sequence_flows", "pathways_before", "pathway_reach", "two_generation",
]

#: The folder of the ladders shipped with Civic Ties (plti.toml, pthv.toml, tpe.toml).
SHIPPED = Path(__file__).resolve().parent / "ladder_files"
#: Where a stage's records come from.
SOURCES = ("enrolled", "graduated", "home_visit", "attended", "appointed")
#: What counts per stage can be grouped by.
GROUPINGS = ("site", "cohort", "school", "race_ethnicity", "income_band", "primary_language", "neighborhood")

_LEVELS = TABLES["bodies"].enums["level"]
_NOT_RECORDED = "(not recorded)"
_ALL = "All"
_ID = re.compile(r"^[a-z][a-z0-9_-]*$")


class LadderError(QueryError):
    """A ladder file that cannot be used: says which file, which key and what is wrong."""


@dataclass(frozen=True)
class Criterion:
    """One kind of record that reaches a stage (see the module docstring)."""

    source: str
    kinds: tuple[str, ...] = ()
    roles: tuple[str, ...] = ()
    programs: tuple[str, ...] = ()
    levels: tuple[str, ...] = ()


@dataclass(frozen=True)
class Stage:
    """A rung of a ladder (or a TPE pathway, or an outcome such as leading): reached by any of ``reached_by``."""

    id: str
    label: str
    reached_by: tuple[Criterion, ...]
    after: str | None = None


@dataclass(frozen=True)
class Ladder:
    """A program's ladder of engagement, as declared in its file."""

    id: str
    name: str
    stages: tuple[Stage, ...]
    program: str = ""
    description: str = ""
    people: tuple[str, ...] = ("parent",)
    pathways: tuple[Stage, ...] = ()
    outcomes: tuple[Stage, ...] = ()
    under_involved: dict[str, tuple[str, ...]] = field(default_factory=dict)
    source: str = ""

    def stage(self, stage_id: str) -> Stage:
        for s in self.stages:
            if s.id == stage_id:
                return s
        raise QueryError(f"ladder {self.id!r} has no stage {stage_id!r}; its stages are "
                         f"{', '.join(s.id for s in self.stages)}")


# -- reading ladder files --------------------------------------------------------------------------------

def parse_ladder(data: dict, source: str = "<ladder>") -> Ladder:
    """A ladder from the parsed TOML of its file; LadderError naming ``source`` and the key when it is wrong.

    >>> lad = parse_ladder({"id": "mini", "name": "Mini", "stages": [
    ...     {"id": "visited", "label": "Visited", "reached_by": [{"source": "home_visit"}]},
    ...     {"id": "led", "label": "Led", "reached_by": [{"source": "attended", "roles": ["presenter"]}]}]})
    >>> [s.id for s in lad.stages], lad.people
    (['visited', 'led'], ('parent',))
    >>> parse_ladder({"id": "x", "name": "X", "stages": [{"id": "a", "label": "A",
    ...                                                   "reached_by": [{"source": "atended"}]}]}, "x.toml")
    Traceback (most recent call last):
    queries.ladders.LadderError: x.toml: stages[1].reached_by[1].source: 'atended' is not one of enrolled, graduated, home_visit, attended, appointed
    """
    where = source
    if not isinstance(data, dict):
        raise LadderError(f"{where}: a ladder file is a table of keys (id, name, stages, ...)")
    _only(data, {"id", "name", "program", "description", "people", "stages", "pathways", "outcomes",
                 "under_involved"}, where, "")
    lid = _text(data, "id", where, "", required=True)
    if not _ID.match(lid):
        raise LadderError(f"{where}: id: {lid!r} must be lower-case letters, digits, '-' or '_' (e.g. 'pthv')")
    people = _texts(data, "people", where, "", allowed=ROLES) or ("parent",)
    stages = _stages(data.get("stages"), where, "stages", ladder=True)
    if not stages:
        raise LadderError(f"{where}: stages: a ladder needs at least one stage ([[stages]] tables)")
    pathways = _stages(data.get("pathways", []), where, "pathways", ladder=False)
    outcomes = _stages(data.get("outcomes", []), where, "outcomes", ladder=False)
    ui = data.get("under_involved", {})
    if not isinstance(ui, dict):
        raise LadderError(f"{where}: under_involved: give a table of people columns and their values, e.g. "
                          "income_band = [\"low\"]")
    under = {}
    for col, values in ui.items():
        if col not in TABLES["people"].columns:
            raise LadderError(f"{where}: under_involved.{col}: not a column of people.csv (use one of "
                              f"race_ethnicity, income_band, primary_language, neighborhood, site_id)")
        under[col] = _texts(ui, col, where, "under_involved.")
    return Ladder(id=lid, name=_text(data, "name", where, "", required=True), stages=stages,
                  program=_text(data, "program", where, ""), description=_text(data, "description", where, ""),
                  people=people, pathways=pathways, outcomes=outcomes, under_involved=under, source=source)


def load_ladder(path: str | Path) -> Ladder:
    """Read and check one ladder file (TOML); LadderError with the file, line or key when it is wrong."""
    path = Path(path)
    try:
        with open(path, "rb") as f:
            data = tomllib.load(f)
    except FileNotFoundError:
        raise LadderError(f"{path}: no such ladder file") from None
    except tomllib.TOMLDecodeError as e:
        raise LadderError(f"{path}: not valid TOML: {e}") from None
    return parse_ladder(data, str(path))


def available_ladders(*folders: str | Path) -> dict[str, Ladder]:
    """Every ladder: the shipped ones, then each ``*.toml`` file of ``folders`` (missing folders are skipped).

    A program's own file adds a ladder, or replaces a shipped one by using its id. Ordered by file name
    within each folder. A broken file raises LadderError (its name and what is wrong), never skipped quietly.

    >>> sorted(available_ladders())
    ['plti', 'pthv', 'tpe']
    """
    out: dict[str, Ladder] = {}
    for folder in (SHIPPED, *folders):
        folder = Path(folder)
        if not folder.is_dir():
            continue
        for path in sorted(folder.glob("*.toml")):
            lad = load_ladder(path)
            out[lad.id] = lad
    return out


def _only(d: dict, keys: set, where: str, prefix: str) -> None:
    unknown = sorted(set(d) - keys)
    if unknown:
        raise LadderError(f"{where}: {prefix}{unknown[0]}: unknown key (use {', '.join(sorted(keys))})")


def _text(d: dict, key: str, where: str, prefix: str, *, required: bool = False) -> str:
    v = d.get(key)
    if v is None or v == "":
        if required:
            raise LadderError(f"{where}: {prefix}{key}: missing (give it as text)")
        return ""
    if not isinstance(v, str):
        raise LadderError(f"{where}: {prefix}{key}: {v!r} must be text")
    return v


def _texts(d: dict, key: str, where: str, prefix: str, *, allowed=None) -> tuple[str, ...]:
    v = d.get(key, [])
    if isinstance(v, str):
        v = [v]
    if not isinstance(v, list) or not all(isinstance(x, str) for x in v):
        raise LadderError(f"{where}: {prefix}{key}: {v!r} must be a list of texts")
    if allowed is not None:
        for x in v:
            if x.strip().lower() not in allowed:
                raise LadderError(f"{where}: {prefix}{key}: {x!r} is not one of {', '.join(allowed)}")
        v = [x.strip().lower() for x in v]
    return tuple(v)


def _stages(items, where: str, name: str, *, ladder: bool) -> tuple[Stage, ...]:
    if not isinstance(items, list):
        raise LadderError(f"{where}: {name}: give a list of tables ([[{name}]])")
    out: list[Stage] = []
    for i, st in enumerate(items, 1):
        p = f"{name}[{i}]."
        if not isinstance(st, dict):
            raise LadderError(f"{where}: {name}[{i}]: must be a table with id, label and reached_by")
        _only(st, {"id", "label", "reached_by"} | ({"after"} if ladder else set()), where, p)
        sid = _text(st, "id", where, p, required=True)
        if not _ID.match(sid):
            raise LadderError(f"{where}: {p}id: {sid!r} must be lower-case letters, digits, '-' or '_'")
        if any(s.id == sid for s in out):
            raise LadderError(f"{where}: {p}id: {sid!r} is used twice")
        after = _text(st, "after", where, p) or None
        if after is not None and all(s.id != after for s in out):
            raise LadderError(f"{where}: {p}after: {after!r} is not an earlier stage (use one of "
                              f"{', '.join(s.id for s in out) or 'none: the first stage has no after'})")
        crit = st.get("reached_by")
        if not isinstance(crit, list) or not crit:
            raise LadderError(f"{where}: {p}reached_by: give at least one record, e.g. "
                              "[{ source = \"attended\", kinds = [\"school_event\"] }]")
        out.append(Stage(id=sid, label=_text(st, "label", where, p) or sid, after=after,
                         reached_by=tuple(_criterion(c, where, f"{p}reached_by[{j}].") for j, c in enumerate(crit, 1))))
    return tuple(out)


def _criterion(c, where: str, p: str) -> Criterion:
    if not isinstance(c, dict):
        raise LadderError(f"{where}: {p[:-1]}: must be a table like {{ source = \"attended\" }}")
    _only(c, {"source", "kinds", "roles", "programs", "levels"}, where, p)
    source = _text(c, "source", where, p, required=True)
    if source not in SOURCES:
        raise LadderError(f"{where}: {p}source: {source!r} is not one of {', '.join(SOURCES)}")
    fits = {"kinds": ("attended",), "roles": ("attended",), "programs": ("enrolled", "graduated"),
            "levels": ("appointed",)}
    for key, sources in fits.items():
        if key in c and source not in sources:
            raise LadderError(f"{where}: {p}{key}: only for source {' or '.join(sources)}, not {source}")
    return Criterion(source=source, kinds=_texts(c, "kinds", where, p, allowed=EVENT_KINDS),
                     roles=_texts(c, "roles", where, p, allowed=ATTENDANCE_ROLES),
                     programs=tuple(x.strip().lower() for x in _texts(c, "programs", where, p)),
                     levels=_texts(c, "levels", where, p, allowed=_LEVELS))


# -- who reached what, and when --------------------------------------------------------------------------

def reach(ds: Dataset, ladder: Ladder) -> pd.DataFrame:
    """Everyone on the ladder: the day they reached each stage and their level (highest stage reached).

    Columns person_id, family_id, site_id, level (0-based index of the highest stage), stage (its id), then
    one column per stage id holding the day it was reached (Timestamp; NaT when not reached or not known);
    ``reached_<id>`` says whether it was reached. Ordered by person_id.

    >>> from queries.ladders import _doc_dataset, _doc_ladder
    >>> reach(_doc_dataset(), _doc_ladder())[["person_id", "stage", "level"]]
      person_id    stage  level
    0         a     seat      2
    1         b  visited      0
    2         c      led      1
    """
    people = _population(ds, ladder)
    ids = pd.Index(people["person_id"])
    days: dict[str, pd.Series] = {}
    previous = None
    for i, st in enumerate(ladder.stages):
        recs = _stage_records(ds, st, ids)
        if i > 0:
            recs = recs[recs["person_id"].isin(days[previous].index)]
            anchor = recs["person_id"].map(days[st.after or previous])
            recs = recs[recs["when"].isna() | anchor.isna() | (recs["when"] >= anchor)]
        days[st.id] = recs.groupby("person_id", sort=True)["when"].min()
        previous = st.id
    first = days[ladder.stages[0].id]
    out = people[people["person_id"].isin(first.index)].sort_values("person_id", kind="stable")
    out = out[["person_id", "family_id", "site_id"]].reset_index(drop=True)
    level = np.zeros(len(out), dtype=int)
    for i, st in enumerate(ladder.stages):
        got = out["person_id"].isin(days[st.id].index).to_numpy()
        out[f"reached_{st.id}"] = got
        out[st.id] = pd.to_datetime(out["person_id"].map(days[st.id]))
        level = np.where(got, i, level)
    out.insert(3, "level", level)
    out.insert(4, "stage", [ladder.stages[i].id for i in level])
    return out


def stage_counts(ds: Dataset, ladder: Ladder, *, by: str | None = None) -> pd.DataFrame:
    """People at each stage, overall (``by=None``) or per group, with the conversion from the stage before.

    For a program: how many reach each rung and where they stop. Columns group, order (0-based), stage,
    label, reached (people who reached the stage), stuck (reached it and no higher: their level; the top
    stage's are those who reached it) and conversion = reached / reached at the stage before (NaN for the
    first stage or an empty denominator). ``reached`` at a stage = ``stuck`` there + ``reached`` at the next.

    ``by``: None, "site" (the person's site_id), "cohort" (each cohort the person enrolled in; never
    enrolled: "(not enrolled)"), "school" (a ``school_id`` people column when the package has one, else each
    school where the family had a home visit), "race_ethnicity", "income_band", "primary_language" or
    "neighborhood" (missing: "(not recorded)"). With cohort or school a person may count in several groups.

    >>> from queries.ladders import _doc_dataset, _doc_ladder
    >>> stage_counts(_doc_dataset(), _doc_ladder())[["stage", "reached", "stuck", "conversion"]]
         stage  reached  stuck  conversion
    0  visited        3      1         NaN
    1      led        2      1    0.666667
    2     seat        1      1    0.500000
    """
    _check_by(by)
    cols = ["group", "order", "stage", "label", "reached", "stuck", "conversion"]
    r = reach(ds, ladder)
    if r.empty:
        return pd.DataFrame(columns=cols)
    g = _groups(ds, r, by)
    rows = []
    for group, part in g.groupby("group", sort=True):
        levels = part["level"].to_numpy()
        before = None
        for i, st in enumerate(ladder.stages):
            reached = int((levels >= i).sum())
            rows.append({"group": group, "order": i, "stage": st.id, "label": st.label, "reached": reached,
                         "stuck": int((levels == i).sum()),
                         "conversion": reached / before if before else float("nan")})
            before = reached
    return pd.DataFrame(rows, columns=cols)


def time_between(ds: Dataset, ladder: Ladder, *, transitions: list[tuple[str, str]] | None = None,
                 by: str | None = None, as_of: date | str | None = None) -> pd.DataFrame:
    """Kaplan-Meier curves of the days from reaching one stage to reaching the next (or given pairs).

    For a program: how long people take to move up a rung, counting those who have not moved yet for as
    long as we have watched them (censored at ``as_of``, default the latest date in the data), so recent
    arrivals do not look stuck. People whose day at the lower stage is unknown or after ``as_of``, and
    people who reached the higher stage on an unknown day, are left out; a higher stage reached after
    ``as_of`` counts as not yet; a stage whose ``after`` is an earlier one can be reached before the lower
    stage, which counts as day 0. Formula and band as queries.pipeline.time_to_seat (Kaplan & Meier 1958,
    exponential Greenwood).

    ``transitions``: (from stage id, to stage id) pairs, default each stage to the next. Columns from_stage,
    to_stage, group, timeline, survival (share not yet moved up), ci_lower, ci_upper, at_risk, median_days
    (NaN when never reached by half), started (people timed), moved (people who moved up by ``as_of``).

    >>> from queries.ladders import _doc_dataset, _doc_ladder
    >>> km = time_between(_doc_dataset(), _doc_ladder(), transitions=[("visited", "led")], as_of="2021-01-01")
    >>> km[["timeline", "survival", "at_risk", "started", "moved"]]
       timeline  survival  at_risk  started  moved
    0       0.0  1.000000        3        3      2
    1      30.0  0.666667        3        3      2
    2      60.0  0.333333        2        3      2
    3     366.0  0.333333        1        3      2
    """
    _check_by(by)
    as_of_ts = _as_of(ds, as_of)
    cols = ["from_stage", "to_stage", "group", "timeline", "survival", "ci_lower", "ci_upper", "at_risk",
            "median_days", "started", "moved"]
    ids = [s.id for s in ladder.stages]
    if transitions is None:
        transitions = list(zip(ids, ids[1:]))
    for a, b in transitions:
        ladder.stage(a), ladder.stage(b)
        if ids.index(b) <= ids.index(a):
            raise QueryError(f"time_between: {b!r} is not a stage above {a!r} on ladder {ladder.id!r}")
    r = reach(ds, ladder)
    frames = []
    for a, b in transitions:
        part = r[r[a].notna()]
        if as_of_ts is not None:
            part = part[part[a] <= as_of_ts]
        part = part[~(part[f"reached_{b}"] & part[b].isna())]
        if part.empty:
            continue
        moved = part[b].notna() & ((part[b] <= as_of_ts) if as_of_ts is not None else True)
        end = part[b].where(moved, as_of_ts)
        duration = (end - part[a]).dt.days.astype(float).clip(lower=0)
        t = pd.DataFrame({"person_id": part["person_id"].to_numpy(), "level": part["level"].to_numpy(),
                          "duration": duration.to_numpy(), "event": moved.to_numpy()})
        t = _groups(ds, t, by)
        for group, g in t.groupby("group", sort=True):
            km = _km(g["duration"], g["event"])
            frames.append(km.assign(from_stage=a, to_stage=b, group=group))
    if not frames:
        return pd.DataFrame(columns=cols)
    return pd.concat(frames, ignore_index=True)[cols]


def stuck(ds: Dataset, ladder: Ladder, *, as_of: date | str | None = None) -> pd.DataFrame:
    """Who is stuck at each stage: people whose highest stage is below the top, longest waiting first.

    For a coordinator: whom to invite to the next rung. Columns person_id, family_id, site_id, stage,
    label, next_stage (the label of the rung above), reached_on (ISO date or None), days_at_stage (days
    from reaching it to ``as_of``; None when the day is unknown). Ordered by stage, then longest first.
    Per person: never for funders (the dashboard gives them the counts of stage_counts only).

    >>> from queries.ladders import _doc_dataset, _doc_ladder
    >>> stuck(_doc_dataset(), _doc_ladder(), as_of="2021-01-01")[["person_id", "stage", "days_at_stage"]]
      person_id    stage  days_at_stage
    0         b  visited            366
    1         c      led            306
    """
    as_of_ts = _as_of(ds, as_of)
    cols = ["person_id", "family_id", "site_id", "stage", "label", "next_stage", "reached_on", "days_at_stage"]
    r = reach(ds, ladder)
    top = len(ladder.stages) - 1
    r = r[r["level"] < top]
    if r.empty:
        return pd.DataFrame(columns=cols)
    day = pd.Series([r.at[i, ladder.stages[lv].id] for i, lv in zip(r.index, r["level"])], index=r.index,
                    dtype="datetime64[ns]")
    days = (as_of_ts - day).dt.days if as_of_ts is not None else pd.Series(np.nan, index=r.index)
    out = pd.DataFrame({
        "person_id": r["person_id"], "family_id": r["family_id"], "site_id": r["site_id"], "stage": r["stage"],
        "label": [ladder.stages[lv].label for lv in r["level"]],
        "next_stage": [ladder.stages[lv + 1].label for lv in r["level"]],
        "reached_on": [None if pd.isna(d) else d.date().isoformat() for d in day],
        "days_at_stage": [None if pd.isna(d) else int(d) for d in days], "_level": r["level"],
        "_sort": days.fillna(-1)})
    out = out.sort_values(["_level", "_sort", "person_id"], ascending=[True, False, True], kind="stable")
    return out[cols].reset_index(drop=True)


# -- pathways (TPE) --------------------------------------------------------------------------------------

def pathway_firsts(ds: Dataset, ladder: Ladder) -> pd.DataFrame:
    """The first day each person took each pathway of the ladder (its ``[[pathways]]``), and each outcome.

    Columns person_id, kind ("pathway" or "outcome"), id, label, order (as declared), first (Timestamp;
    NaT when only undated records exist). People of the ladder's roles only.
    """
    ids = pd.Index(_population(ds, ladder)["person_id"])
    rows = []
    for kind, items in (("pathway", ladder.pathways), ("outcome", ladder.outcomes)):
        for i, st in enumerate(items):
            recs = _stage_records(ds, st, ids)
            if recs.empty:
                continue
            first = recs.groupby("person_id", sort=True)["when"].min().reset_index()
            rows.append(first.rename(columns={"when": "first"}).assign(kind=kind, id=st.id, label=st.label,
                                                                          order=i))
    cols = ["person_id", "kind", "id", "label", "order", "first"]
    if not rows:
        return pd.DataFrame(columns=cols)
    return pd.concat(rows, ignore_index=True)[cols]


def pathway_sequences(ds: Dataset, ladder: Ladder) -> pd.DataFrame:
    """Each parent's pathways in the order they took them (first, second, ...), and when they reached each
    outcome (leading a workshop, a seat).

    Order: by the first day on each pathway; a tie (or an undated pathway, which comes last) by the order
    the file declares. Columns person_id, sequence (tuple of pathway ids), then one column per outcome id
    with its first day (NaT when not reached). People on at least one pathway, by person_id.

    >>> from queries.ladders import _doc_dataset, _doc_ladder
    >>> pathway_sequences(_doc_dataset(), _doc_ladder())[["person_id", "sequence"]]
      person_id             sequence
    0         a  (volunteer, events)
    1         b          (volunteer,)
    2         c             (events,)
    """
    f = pathway_firsts(ds, ladder)
    outcome_ids = [o.id for o in ladder.outcomes]
    cols = ["person_id", "sequence", *outcome_ids]
    paths = f[f["kind"] == "pathway"].sort_values(["person_id", "first", "order"], na_position="last",
                                                   kind="stable")
    if paths.empty:
        return pd.DataFrame(columns=cols)
    seq = paths.groupby("person_id", sort=True)["id"].agg(tuple)
    out = pd.DataFrame({"person_id": seq.index, "sequence": list(seq)})
    outs = f[f["kind"] == "outcome"]
    for oid in outcome_ids:
        day = outs[outs["id"] == oid].set_index("person_id")["first"]
        out[oid] = pd.to_datetime(out["person_id"].map(day))
    return out[cols]


def sequence_table(ds: Dataset, ladder: Ladder, *, max_steps: int = 3) -> pd.DataFrame:
    """How many parents took each sequence of pathways (its first ``max_steps`` steps), and how many of them
    went on to each outcome after their first pathway.

    Columns sequence (labels joined by " → ", "…" when it went on further), steps, parents, then per outcome
    id the parents who reached it on or after the day of their first pathway (an undated day counts).
    Most parents first.

    >>> from queries.ladders import _doc_dataset, _doc_ladder
    >>> sequence_table(_doc_dataset(), _doc_ladder())
                                  sequence  steps  parents  lead
    0  Volunteering → School events            2        1     1
    1                         School events            1        1     0
    2                          Volunteering            1        1     0
    """
    outcome_ids = [o.id for o in ladder.outcomes]
    cols = ["sequence", "steps", "parents", *outcome_ids]
    s = pathway_sequences(ds, ladder)
    if s.empty:
        return pd.DataFrame(columns=cols)
    labels = {p.id: p.label for p in ladder.pathways}
    s = s.assign(text=[" → ".join(labels[p] for p in q[:max_steps]) + (" → …" if len(q) > max_steps else "")
                       for q in s["sequence"]], steps=[min(len(q), max_steps) for q in s["sequence"]])
    first = _first_pathway_day(ds, ladder)
    start = s["person_id"].map(first)
    for oid in outcome_ids:
        s[oid] = s[oid].notna() & (start.isna() | (s[oid] >= start))
    out = s.groupby(["text", "steps"], sort=False).agg(parents=("person_id", "size"),
                                                       **{o: (o, "sum") for o in outcome_ids}).reset_index()
    out = out.rename(columns={"text": "sequence"})
    out = out.sort_values(["parents", "steps", "sequence"], ascending=[False, False, True], kind="stable")
    out[["parents", *outcome_ids]] = out[["parents", *outcome_ids]].astype(int)
    return out[cols].reset_index(drop=True)


def sequence_flows(ds: Dataset, ladder: Ladder, *, max_steps: int = 3) -> list[tuple[str, str, int]]:
    """Flows for a Sankey of the pathway sequences: "1st: <pathway>" -> "2nd: <pathway>" -> ... -> where the
    parent is now ("Led and took a seat", "Led a workshop", "Took a seat", "Not leading yet": outcomes reached
    on or after their first pathway; with other outcome ids, "Reached <label>"). Zero flows left out; the
    flows out of the first steps add up to the parents on any pathway.

    >>> from queries.ladders import _doc_dataset, _doc_ladder
    >>> for f in sequence_flows(_doc_dataset(), _doc_ladder()): print(f)
    ('1st: School events', 'Not leading yet', 1)
    ('1st: Volunteering', '2nd: School events', 1)
    ('1st: Volunteering', 'Not leading yet', 1)
    ('2nd: School events', 'Led a workshop', 1)
    """
    s = pathway_sequences(ds, ladder)
    if s.empty:
        return []
    labels = {p.id: p.label for p in ladder.pathways}
    start = s["person_id"].map(_first_pathway_day(ds, ladder))
    reached = {o.id: (s[o.id].notna() & (start.isna() | (s[o.id] >= start))).to_numpy() for o in ladder.outcomes}
    counts: dict[tuple[str, str], int] = {}
    for i, q in enumerate(s["sequence"]):
        nodes = [f"{_ordinal(j + 1)}: {labels[p]}" for j, p in enumerate(q[:max_steps])]
        nodes.append(_terminal(ladder, {o: bool(v[i]) for o, v in reached.items()}))
        for a, b in zip(nodes, nodes[1:]):
            counts[(a, b)] = counts.get((a, b), 0) + 1
    return [(a, b, n) for (a, b), n in sorted(counts.items())]


def pathways_before(ds: Dataset, ladder: Ladder) -> pd.DataFrame:
    """Which pathways come before each outcome (leading a workshop, a seat).

    For a program: which doors lead parents to deliver information rather than receive it, or to a
    decision-making table. Per (outcome, pathway): ``parents`` on the pathway, ``went_on``: of them, those
    who reached the outcome on or after the first day on the pathway (either day unknown counts),
    ``share_went_on`` = went_on / parents, ``reached_outcome``: everyone on a pathway who reached the outcome
    (any day), ``share_of_outcome`` = went_on / reached_outcome (NaN when 0).

    >>> from queries.ladders import _doc_dataset, _doc_ladder
    >>> pathways_before(_doc_dataset(), _doc_ladder())[["pathway", "parents", "went_on", "share_of_outcome"]]
         pathway  parents  went_on  share_of_outcome
    0  volunteer        2        1               1.0
    1     events        2        1               1.0
    """
    cols = ["outcome", "outcome_label", "pathway", "label", "parents", "went_on", "share_went_on",
            "reached_outcome", "share_of_outcome"]
    f = pathway_firsts(ds, ladder)
    paths = f[f["kind"] == "pathway"]
    on_any = set(paths["person_id"])
    rows = []
    for o in ladder.outcomes:
        od = f[(f["kind"] == "outcome") & (f["id"] == o.id)].set_index("person_id")["first"]
        total = int(len(set(od.index) & on_any))
        for p in ladder.pathways:
            part = paths[paths["id"] == p.id]
            day = part["person_id"].map(od)
            has = part["person_id"].isin(od.index)
            went = int((has & (day.isna() | part["first"].isna() | (day >= part["first"]))).sum())
            n = int(len(part))
            rows.append({"outcome": o.id, "outcome_label": o.label, "pathway": p.id, "label": p.label,
                         "parents": n, "went_on": went, "share_went_on": went / n if n else float("nan"),
                         "reached_outcome": total, "share_of_outcome": went / total if total else float("nan")})
    return pd.DataFrame(rows, columns=cols)


def pathway_reach(ds: Dataset, ladder: Ladder, *, by: str | None = None) -> pd.DataFrame:
    """Do the pathways reach the families a school involves least? Per pathway, the share of its parents
    from the ladder's under-involved groups (its ``[under_involved]`` table: a parent belongs when any of
    their listed columns has a listed value, e.g. a home language other than English, a low income), beside
    the same share among all the school community's parents (every parent of the ladder's roles in the
    data, or of the group's site).

    ``by``: None (everyone), or "site" / "school" (each group against its own parents; "school" uses a
    ``school_id`` people column when the package has one, else the schools of the family's home visits).
    Columns group, pathway, label, parents, under_involved, share (under_involved / parents),
    school_parents, school_under_involved, school_share, ratio (share / school_share: above 1 the pathway
    reaches them more than their place in the school). Empty when the ladder names no under-involved groups.

    >>> from queries.ladders import _doc_dataset, _doc_ladder
    >>> pathway_reach(_doc_dataset(), _doc_ladder())[["pathway", "parents", "under_involved", "school_share"]]
         pathway  parents  under_involved  school_share
    0  volunteer        2               0      0.333333
    1     events        2               1      0.333333
    """
    if by not in (None, "site", "school"):
        raise QueryError(f"pathway_reach groups by None, 'site' or 'school', not {by!r}")
    cols = ["group", "pathway", "label", "parents", "under_involved", "share", "school_parents",
            "school_under_involved", "school_share", "ratio"]
    if not ladder.under_involved:
        return pd.DataFrame(columns=cols)
    people = _population(ds, ladder)
    flag = pd.Series(False, index=people.index)
    for col, values in ladder.under_involved.items():
        if col in people:
            wanted = {v.strip().lower() for v in values}
            flag |= people[col].map(lambda v: isinstance(v, str) and v.strip().lower() in wanted).astype(bool)
    base = pd.DataFrame({"person_id": people["person_id"].to_numpy(), "under": flag.to_numpy()})
    base = _groups(ds, base, by)
    f = pathway_firsts(ds, ladder)
    f = f[f["kind"] == "pathway"]
    rows = []
    for group, part in base.groupby("group", sort=True):
        n_school, u_school = len(part), int(part["under"].sum())
        under = part.set_index("person_id")["under"]
        for p in ladder.pathways:
            on = f.loc[(f["id"] == p.id) & f["person_id"].isin(under.index), "person_id"]
            n, u = int(len(on)), int(on.map(under).sum())
            share = u / n if n else float("nan")
            school_share = u_school / n_school if n_school else float("nan")
            rows.append({"group": group, "pathway": p.id, "label": p.label, "parents": n, "under_involved": u,
                         "share": share, "school_parents": n_school, "school_under_involved": u_school,
                         "school_share": school_share,
                         "ratio": share / school_share if school_share and n else float("nan")})
    return pd.DataFrame(rows, columns=cols)


# -- two generations (PLTI's children's track) ------------------------------------------------------------

def two_generation(ds: Dataset, *, programs: tuple[str, ...] = ("plti",),
                   child_kinds: tuple[str, ...] = ("children_track",)) -> pd.DataFrame:
    """Families where a parent is in leadership training and a child in the children's track, against families
    where only the parent takes part.

    For a program with a two-generation curriculum: whether families where both generations take part go
    further. A family is in ``both`` when a parent enrolled in a cohort of ``programs`` (case-insensitive;
    empty: any) and a person of role child of the same family attended an event of ``child_kinds``;
    ``parent_only`` otherwise. Per group: families, parents (enrolled parents of those families), graduated,
    civic (civic activity on or after enrolling, queries.pipeline's definition, graduates or not), seated (a
    seat starting on or after graduating), the rates of each over parents, and events_per_parent (mean
    events attended on or after enrolling; NaN without parents). Children's attendance is counted whatever
    its date: a track that ran before the parent's cohort still makes a two-generation family.

    >>> from queries.ladders import _doc_dataset
    >>> two_generation(_doc_dataset())[["group", "families", "parents", "graduated", "seated"]]
             group  families  parents  graduated  seated
    0         both         1        1          1       1
    1  parent_only         1        1          0       0
    """
    cols = ["group", "families", "parents", "graduated", "civic", "seated", "graduation_rate", "civic_rate",
            "seat_rate", "events_per_parent"]
    enr = _enrollments(ds)
    wanted = {p.strip().lower() for p in programs}
    if wanted:
        prog = ds.cohorts.set_index("cohort_id")["program"].map(lambda v: str(v).strip().lower() if v else "")
        enr = enr[enr["cohort_id"].map(prog).isin(wanted)]
    people = ds.people
    role = people["role"].fillna("parent")
    fam = pd.Series(people["family_id"].to_numpy(), index=people["person_id"].to_numpy())
    parents = set(people.loc[(role == "parent") & people["family_id"].notna(), "person_id"])
    enr = enr[enr["person_id"].isin(parents)]
    groups = []
    if not enr.empty:
        kids = set(people.loc[role == "child", "person_id"])
        att = ds.attendance.merge(ds.events[["event_id", "kind"]], on="event_id", how="left")
        track = set(att.loc[att["kind"].isin(child_kinds) & att["person_id"].isin(kids), "person_id"].map(fam))
        per = enr.groupby("person_id").agg(start=("start", "min"),
                                           graduated=("status", lambda s: bool((s == "graduated").any())))
        per["family_id"] = per.index.map(fam)
        per["group"] = np.where(per["family_id"].isin(track), "both", "parent_only")
        per["civic"] = per.index.isin(_civic_people(ds, enr))
        grads = _graduates(ds)
        seated = set(grads.loc[grads["start"].notna(), "person_id"])
        per["seated"] = per["graduated"] & per.index.isin(seated)
        dated = ds.attendance.merge(ds.events[["event_id", "date"]], on="event_id", how="left")
        dated = dated.assign(when=_dates(dated["date"]))
        dated = dated[dated["person_id"].isin(per.index) & dated["when"].notna()]
        since = dated["person_id"].map(per["start"])
        dated = dated[since.isna() | (dated["when"] >= since)]
        per["events"] = dated.groupby("person_id").size().reindex(per.index, fill_value=0)
        groups = list(per.groupby("group", sort=True))
    rows = []
    for name, part in groups:
        n = len(part)
        row = {"group": name, "families": int(part["family_id"].nunique()), "parents": n,
               "graduated": int(part["graduated"].sum()), "civic": int(part["civic"].sum()),
               "seated": int(part["seated"].sum()), "events_per_parent": float(part["events"].mean())}
        for rate, c in (("graduation_rate", "graduated"), ("civic_rate", "civic"), ("seat_rate", "seated")):
            row[rate] = row[c] / n
        rows.append(row)
    return pd.DataFrame(rows, columns=cols)


# -- private helpers -------------------------------------------------------------------------------------

def _check_by(by) -> None:
    if by is not None and by not in GROUPINGS:
        raise QueryError(f"cannot group a ladder by {by!r}; use None or one of {', '.join(GROUPINGS)}")


def _population(ds: Dataset, ladder: Ladder) -> pd.DataFrame:
    people = ds.people
    role = people["role"].fillna("parent").astype(str).str.lower()
    return people[role.isin(ladder.people)]


def _stage_records(ds: Dataset, st: Stage, ids: pd.Index) -> pd.DataFrame:
    frames = [_records(ds, c) for c in st.reached_by]
    recs = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(columns=["person_id", "when"])
    recs = recs[recs["person_id"].isin(ids)]
    return recs.assign(when=pd.to_datetime(recs["when"]))


def _records(ds: Dataset, c: Criterion) -> pd.DataFrame:
    """(person_id, when) of every record matching the criterion; when is NaT where the record has no date."""
    if c.source in ("enrolled", "graduated"):
        enr = _enrollments(ds)
        if c.programs:
            prog = ds.cohorts.set_index("cohort_id")["program"].map(lambda v: str(v).strip().lower() if v else "")
            enr = enr[enr["cohort_id"].map(prog).isin(c.programs)]
        if c.source == "graduated":
            enr = enr[enr["status"] == "graduated"]
            return pd.DataFrame({"person_id": enr["person_id"], "when": enr["completed"]})
        return pd.DataFrame({"person_id": enr["person_id"], "when": enr["start"]})
    if c.source == "home_visit":
        hv = ds.home_visits[["family_id", "visit_date"]]
        people = ds.people[ds.people["family_id"].notna()][["person_id", "family_id"]]
        m = hv.merge(people, on="family_id")
        return pd.DataFrame({"person_id": m["person_id"], "when": _dates(m["visit_date"])})
    if c.source == "attended":
        att = ds.attendance[["person_id", "event_id", "role"]].merge(ds.events[["event_id", "kind", "date"]],
                                                                     on="event_id", how="left")
        if c.kinds:
            att = att[att["kind"].isin(c.kinds)]
        if c.roles:
            att = att[att["role"].fillna("attendee").isin(c.roles)]
        when = _dates(att["date"])
        return pd.DataFrame({"person_id": att["person_id"], "when": when})[when.notna().to_numpy()]
    app = ds.appointments[["person_id", "body_id", "start_date"]]
    if c.levels:
        level = ds.bodies.set_index("body_id")["level"]
        app = app[app["body_id"].map(level).isin(c.levels)]
    when = _dates(app["start_date"])
    return pd.DataFrame({"person_id": app["person_id"], "when": when})[when.notna().to_numpy()]


def _groups(ds: Dataset, rows: pd.DataFrame, by: str | None) -> pd.DataFrame:
    """``rows`` (with person_id) with a ``group`` column; a person in several groups gets a row per group."""
    if by is None:
        return rows.assign(group=_ALL)
    people = ds.people
    if by == "cohort":
        enr = ds.enrollments[["person_id", "cohort_id"]].drop_duplicates()
        out = rows.merge(enr.rename(columns={"cohort_id": "group"}), on="person_id", how="left")
        return out.assign(group=out["group"].where(out["group"].notna(), "(not enrolled)").astype(object))
    if by == "school" and not ("school_id" in people and people["school_id"].notna().any()):
        hv = ds.home_visits[["family_id", "school_id"]].dropna().drop_duplicates()
        fam = people[["person_id", "family_id"]].dropna()
        ps = fam.merge(hv, on="family_id")[["person_id", "school_id"]].drop_duplicates()
        out = rows.merge(ps.rename(columns={"school_id": "group"}), on="person_id", how="left")
        return out.assign(group=out["group"].where(out["group"].notna(), _NOT_RECORDED).astype(object))
    column = {"site": "site_id", "school": "school_id"}.get(by, by)
    values = rows["person_id"].map(pd.Series(people[column].to_numpy(), index=people["person_id"].to_numpy()))
    values = values.astype(object)
    return rows.assign(group=values.where(values.notna() & (values != ""), _NOT_RECORDED))


def _km(duration: pd.Series, event: pd.Series) -> pd.DataFrame:
    """A Kaplan-Meier curve with its band, at-risk counts and median (queries.pipeline.km_curve), with how many
    started and moved up."""
    return km_curve(duration, event).assign(started=len(duration), moved=int(event.astype(bool).sum()))


def _first_pathway_day(ds: Dataset, ladder: Ladder) -> pd.Series:
    f = pathway_firsts(ds, ladder)
    return f[f["kind"] == "pathway"].groupby("person_id")["first"].min()


def _ordinal(n: int) -> str:
    return f"{n}{'th' if 10 <= n % 100 <= 20 else {1: 'st', 2: 'nd', 3: 'rd'}.get(n % 10, 'th')}"


def _terminal(ladder: Ladder, reached: dict[str, bool]) -> str:
    """Where a parent's sequence ends in the Sankey: the outcomes they reached after their first pathway."""
    ids = {o.id for o in ladder.outcomes}
    if ids == {"lead", "seat"} or ids == {"lead"} or ids == {"seat"}:
        lead, seat = reached.get("lead", False), reached.get("seat", False)
        if lead and seat:
            return "Led and took a seat"
        if lead:
            return "Led a workshop"
        if seat:
            return "Took a seat"
        return "Not leading yet"
    got = [o.label for o in ladder.outcomes if reached.get(o.id)]
    return "Reached " + " and ".join(got) if got else "None of the outcomes yet"


def _doc_ladder() -> Ladder:
    """A three-stage ladder for the doctests: visited -> led (presented) -> seat, with two pathways."""
    return parse_ladder({
        "id": "doc", "name": "Doc", "under_involved": {"primary_language": ["Spanish"]},
        "stages": [{"id": "visited", "label": "Visited", "reached_by": [{"source": "home_visit"}]},
                   {"id": "led", "label": "Led", "reached_by": [{"source": "attended", "roles": ["presenter"]}]},
                   {"id": "seat", "label": "Seat", "after": "visited",
                    "reached_by": [{"source": "appointed"}]}],
        "pathways": [{"id": "volunteer", "label": "Volunteering",
                      "reached_by": [{"source": "attended", "kinds": ["volunteering"]}]},
                     {"id": "events", "label": "School events",
                      "reached_by": [{"source": "attended", "kinds": ["school_event"]}]}],
        "outcomes": [{"id": "lead", "label": "Led a workshop",
                      "reached_by": [{"source": "attended", "kinds": ["staff_workshop"],
                                      "roles": ["presenter", "facilitator"]}]}]})


def _doc_dataset() -> Dataset:
    """Three parents in three families, all visited on 2020-01-01.

    a: presents on 2020-01-31, joins a board on 2020-03-01; volunteers (2020-02-01), comes to a school event
       (2020-03-01), leads a staff workshop (2020-04-01); enrolled in PLTI and graduated, and a's child k
       attends the children's track. b: volunteers (2020-05-01). c (Spanish-speaking): presents on
       2020-03-01; school event 2020-02-01; enrolled in PLTI, withdrew.
    """
    def frame(table, rows):
        return pd.DataFrame(rows, columns=list(TABLES[table].columns), dtype=object)

    tables = {t: frame(t, []) for t in TABLES}
    tables["people"] = frame("people", [
        {"person_id": "a", "role": "parent", "family_id": "Fa", "site_id": "S1", "primary_language": "English"},
        {"person_id": "b", "role": "parent", "family_id": "Fb", "site_id": "S1", "primary_language": "English"},
        {"person_id": "c", "role": "parent", "family_id": "Fc", "site_id": "S1", "primary_language": "Spanish"},
        {"person_id": "k", "role": "child", "family_id": "Fa", "site_id": "S1"},
        {"person_id": "t", "role": "teacher", "site_id": "S1"}])
    tables["home_visits"] = frame("home_visits", [
        {"visit_id": f"V{f}", "teacher_id": "t", "family_id": f"F{f}", "school_id": "SCH1",
         "visit_date": "2020-01-01"} for f in "abc"])
    tables["cohorts"] = frame("cohorts", [{"cohort_id": "C1", "program": "PLTI", "site_id": "S1",
                                           "start_date": "2019-09-01", "end_date": "2019-12-01"}])
    tables["enrollments"] = frame("enrollments", [
        {"person_id": "a", "cohort_id": "C1", "status": "graduated", "enrolled_on": "2019-09-01",
         "completed_on": "2019-12-01"},
        {"person_id": "c", "cohort_id": "C1", "status": "withdrawn", "enrolled_on": "2019-09-01"}])
    tables["events"] = frame("events", [
        {"event_id": "E1", "kind": "forum", "date": "2020-01-31"},
        {"event_id": "E2", "kind": "school_event", "date": "2020-03-01"},
        {"event_id": "E3", "kind": "volunteering", "date": "2020-02-01"},
        {"event_id": "E4", "kind": "staff_workshop", "date": "2020-04-01"},
        {"event_id": "E5", "kind": "volunteering", "date": "2020-05-01"},
        {"event_id": "E6", "kind": "school_event", "date": "2020-02-01"},
        {"event_id": "E7", "kind": "children_track", "date": "2019-10-01"}])
    tables["attendance"] = frame("attendance", [
        {"person_id": "a", "event_id": "E1", "role": "presenter"},
        {"person_id": "a", "event_id": "E3", "role": "attendee"},
        {"person_id": "a", "event_id": "E2", "role": "attendee"},
        {"person_id": "a", "event_id": "E4", "role": "facilitator"},
        {"person_id": "b", "event_id": "E5", "role": "attendee"},
        {"person_id": "c", "event_id": "E2", "role": "presenter"},
        {"person_id": "c", "event_id": "E6", "role": "attendee"},
        {"person_id": "k", "event_id": "E7", "role": "attendee"}])
    tables["bodies"] = frame("bodies", [{"body_id": "BOE", "name": "Board", "level": "district", "kind": "board"}])
    tables["appointments"] = frame("appointments", [{"person_id": "a", "body_id": "BOE",
                                                     "start_date": "2020-03-01"}])
    return Dataset(tables={t: df.where(df.notna(), None) for t, df in tables.items()})
