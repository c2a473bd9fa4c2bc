"""Survey waves that parents answer with a personal link: the model behind the Surveys page and the
respondent's page (no Streamlit here; tests/test_survey.py runs it on both stores).

- A **wave** (``open_wave``) asks the members of one or more cohorts the same name-generator prompts between
  two dates: its ``name`` (pre, post, follow-up...) becomes the ties' ``wave``, so the Bridging page compares
  the waves on the same respondents (queries/panel.py orders baseline, pre, mid, post, follow-up).
- Each member gets an **invitation** with a personal link ``?survey=TOKEN``: the token is
  ``secrets.token_urlsafe(24)``, kept only as its SHA-256 hash, and works only while the wave is open (from
  ``opens_on`` to the end of ``closes_on``) and until it is revoked or replaced (``resend``). A token opens
  one respondent's survey and nothing else, and signs nobody into the dashboard.
- The respondent's **answers** (a dict, see ``empty_answers``) are kept as a draft while they go
  (``save_draft``: never ties) and on ``submit`` become ties in one transaction (graph/surveys.py): one per
  person named per prompt, ``tie_type`` = the prompt's id, the follow-up answers as properties, marked with
  the wave's id so that a resubmission replaces them. People picked from the roster are ties to a person;
  free-recalled names are kept as ``to_name`` (unmatched names, for the matching review), never guessed.
- Declining consent records the decision and nothing else (any earlier answers to the wave go).

Coordinators open waves, follow progress and manage links only for cohorts of their sites; admins for every
cohort (``may_run``).
"""
from __future__ import annotations

import hashlib
import re
import secrets
import unicodedata
import uuid
from dataclasses import dataclass, field
from datetime import date

import pandas as pd

from dashboard import accounts
from dashboard.accounts import Principal
from graph import surveys as persist
from graph.dataset import Dataset
from graph.model import to_graph_records
from graph.store import Store
from ingest.validate import normalize_name

__all__ = ["DEFAULT_PROMPTS", "FOLLOWUPS", "WAVE_NAMES", "NAME_MAX", "MAX_PER_PROMPT", "SurveyError",
           "TokenError", "AnswerProblem", "AnswersInvalid", "Respondent", "may_run", "hash_token",
           "cohorts_for", "open_wave", "waves_for", "progress", "invitees", "resend", "revoke", "close_wave",
           "open_link", "empty_answers", "save_draft", "decline", "check_answers", "submit", "prompt_text",
           "consent_text", "survey_ties", "erase_people"]

# Name generators drawn from the program's questions (texts in dashboard/locales, key prompts.<id>).
DEFAULT_PROMPTS = ("school", "help", "community", "bridging")
# Follow-up questions asked about each person named: id -> allowed answers (texts in the locales).
FOLLOWUPS = {"talk": ("daily", "weekly", "monthly", "less"), "known": ("under_1", "1_to_3", "over_3"),
             "met": ("yes", "no")}
# The tie properties the follow-up answers are kept in.
FOLLOWUP_PROPERTY = {"talk": "talk_often", "known": "known_for", "met": "met_through_program"}
# Wave names the Bridging page puts in order (queries/panel.py); others are ordered by name there.
WAVE_NAMES = ("pre", "mid", "post", "follow-up")
NAME_MAX = 80          # characters in a free-recalled name
MAX_PER_PROMPT = 30    # people named for one prompt
_WAVE_NAME = re.compile(r"[a-z0-9][a-z0-9 ._-]{0,39}")
_RUN_ROLES = ("admin", "coordinator")


class SurveyError(ValueError):
    """A survey action that cannot be done (bad wave settings, a cohort of another site...); the message says
    what and how to fix it."""


class TokenError(Exception):
    """A survey link that cannot be used: ``reason`` is unknown, expired, revoked, closed or not_yet."""

    def __init__(self, reason: str, wave: dict | None = None):
        self.reason, self.wave = reason, wave
        super().__init__(reason)


@dataclass(frozen=True)
class AnswerProblem:
    """One thing wrong with a respondent's answers: a translation key and its values (the page words it)."""

    key: str
    params: dict = field(default_factory=dict)


class AnswersInvalid(ValueError):
    def __init__(self, problems: list[AnswerProblem]):
        self.problems = problems
        super().__init__("; ".join(p.key for p in problems))


@dataclass
class Respondent:
    """What one link opens: the invitation, its wave, the pick-list and the previous wave's names."""

    invite: dict
    wave: dict
    roster: dict[str, str]                 # person_id -> label, the respondent's cohort and site only
    previous: list[dict]                   # [{key, label, prompts}] named in the person's previous wave
    answers: dict

    @property
    def submitted(self) -> bool:
        return self.invite.get("status") == "submitted"


# -- who may ------------------------------------------------------------------------------------------------

def may_run(principal: Principal) -> bool:
    """Whether a principal may open waves and follow them (admins; coordinators for their sites' cohorts)."""
    return isinstance(principal, Principal) and principal.role in _RUN_ROLES


def _require(principal: Principal) -> None:
    if not may_run(principal):
        raise PermissionError("only coordinators and admins run surveys")


def _in_scope(principal: Principal, site_id) -> bool:
    scope = principal.site_scope
    return scope is None or site_id in scope


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def _new_token() -> tuple[str, str]:
    token = secrets.token_urlsafe(24)
    return token, hash_token(token)


def _today(today: date | None) -> date:
    return today or date.today()


# -- waves --------------------------------------------------------------------------------------------------

def cohorts_for(principal: Principal, ds: Dataset) -> pd.DataFrame:
    """The cohorts a principal may survey (their sites'), newest first."""
    _require(principal)
    cohorts = ds.cohorts
    keep = cohorts[[_in_scope(principal, s) for s in cohorts["site_id"]]]
    return keep.sort_values(["start_date", "cohort_id"], ascending=[False, True], na_position="last")


def _clean_prompts(prompts) -> list[dict]:
    out, seen = [], set()
    for p in prompts or ():
        if isinstance(p, str):
            p = {"id": p}
        pid = str(p.get("id") or "").strip()
        texts = {k: str(v).strip() for k, v in (p.get("text") or {}).items() if v and str(v).strip()}
        if not pid:
            raise SurveyError("a prompt needs an id")
        if pid not in DEFAULT_PROMPTS and not texts:
            raise SurveyError(f"the prompt {pid!r} needs its question in at least one language")
        if any(len(v) > 300 for v in texts.values()):
            raise SurveyError(f"the prompt {pid!r} is longer than 300 characters; shorten the question")
        if not re.fullmatch(r"[a-z0-9_-]{1,40}", pid):
            raise SurveyError(f"the prompt id {pid!r} may use only a-z, 0-9, _ and - (it becomes the ties' tie_type)")
        if pid in seen:
            raise SurveyError(f"the prompt {pid!r} is asked twice")
        seen.add(pid)
        out.append({"id": pid, "text": texts})
    if not out:
        raise SurveyError("a wave needs at least one prompt")
    return out


def open_wave(store: Store, principal: Principal, ds: Dataset, *, name: str, cohort_ids, opens_on: date,
              closes_on: date, prompts=DEFAULT_PROMPTS, languages=("en", "es"), consent: dict | None = None,
              today: date | None = None) -> tuple[dict, list[dict]]:
    """Open a wave for cohorts: one invitation per member (withdrawn members left out). Returns the wave and
    the new links as [{invite_id, person_id, name, cohort_id, token}] (the tokens are not kept: show them
    now, or make new ones later with `resend`)."""
    _require(principal)
    name = (name or "").strip().lower()
    if not _WAVE_NAME.fullmatch(name):
        raise SurveyError("the wave's name must be 1 to 40 letters, digits, spaces, '.', '_' or '-' (e.g. pre, "
                          "post, follow-up)")
    if not isinstance(opens_on, date) or not isinstance(closes_on, date) or closes_on < opens_on:
        raise SurveyError("the wave must close on or after the day it opens")
    if closes_on < _today(today):
        raise SurveyError("the closing date is in the past: links would not work")
    cohort_ids = sorted({str(c) for c in cohort_ids or ()})
    if not cohort_ids:
        raise SurveyError("choose at least one cohort")
    cohorts = ds.cohorts.set_index("cohort_id")
    unknown = [c for c in cohort_ids if c not in cohorts.index]
    if unknown:
        raise SurveyError(f"unknown cohort(s): {', '.join(unknown)}")
    foreign = [c for c in cohort_ids if not _in_scope(principal, cohorts.at[c, "site_id"])]
    if foreign:
        raise PermissionError(f"cohort(s) {', '.join(foreign)} are not at your sites")
    languages = [lang for lang in dict.fromkeys(languages or ()) if lang]
    if not languages:
        raise SurveyError("choose at least one language")
    taken = [w for w in persist.list_waves(store) if w["name"] == name and w.get("status") == "open"
             and set(w["cohort_ids"]) & set(cohort_ids)]
    if taken:
        raise SurveyError(f"a wave named {name!r} is already open for "
                          f"{', '.join(sorted(set(taken[0]['cohort_ids']) & set(cohort_ids)))}: close it first")
    now = accounts.now_iso()
    wave = {"id": uuid.uuid4().hex[:16], "name": name, "cohort_ids": cohort_ids,
            "site_ids": sorted({str(cohorts.at[c, "site_id"]) for c in cohort_ids}),
            "cohort_sites": {c: str(cohorts.at[c, "site_id"]) for c in cohort_ids},
            "opens_on": opens_on.isoformat(), "closes_on": closes_on.isoformat(), "prompts": _clean_prompts(prompts),
            "followups": list(FOLLOWUPS), "languages": languages,
            "consent": {k: v.strip() for k, v in (consent or {}).items() if v and v.strip()},
            "status": "open", "created_by": principal.username, "created_at": now}
    people = ds.people.set_index("person_id")
    enr = ds.enrollments[ds.enrollments["cohort_id"].isin(cohort_ids)
                         & (ds.enrollments["status"].fillna("enrolled") != "withdrawn")]
    invites, links = [], []
    for pid, cid in sorted(set(zip(enr["person_id"], enr["cohort_id"]))):
        if any(i["person_id"] == pid for i in invites):       # in two of the cohorts: one invitation
            continue
        token, digest = _new_token()
        site = people.at[pid, "site_id"] if pid in people.index and people.at[pid, "site_id"] else \
            cohorts.at[cid, "site_id"]
        invite = {"id": uuid.uuid4().hex[:16], "wave_id": wave["id"], "person_id": pid, "cohort_id": cid,
                  "site_id": str(site), "token_hash": digest, "issued_at": now, "links_sent": 1,
                  "status": "invited"}
        invites.append(invite)
        links.append({"invite_id": invite["id"], "person_id": pid, "name": _name(people, pid), "cohort_id": cid,
                      "token": token})
    if not invites:
        raise SurveyError("these cohorts have no members to invite (enrollments)")
    persist.save_invites(store, invites, wave=wave)
    accounts.audit(store, principal.username, "survey_opened", role=principal.role, target=wave["id"],
                   rows=len(invites), detail=f"wave {name}, cohorts {','.join(cohort_ids)}")
    return wave, links


def _name(people: pd.DataFrame, pid: str) -> str:
    if pid in people.index and people.at[pid, "name"]:
        return str(people.at[pid, "name"])
    return pid


def waves_for(store: Store, principal: Principal) -> list[dict]:
    """The waves with at least one cohort at the principal's sites (each with only those cohorts listed in
    `my_cohort_ids`)."""
    _require(principal)
    out = []
    for w in persist.list_waves(store):
        mine = [c for c, s in _wave_cohort_sites(store, w).items() if _in_scope(principal, s)]
        if mine:
            out.append({**w, "my_cohort_ids": mine})
    return out


def _wave_cohort_sites(store: Store, wave: dict) -> dict[str, str]:
    sites = wave.get("cohort_sites")
    if sites:
        return sites
    invites = persist.list_invites(store, wave_id=wave["id"])
    out = {i["cohort_id"]: i["site_id"] for i in invites}
    if len(wave.get("site_ids") or ()) == 1:
        out.update({c: wave["site_ids"][0] for c in wave["cohort_ids"]})
    return out


def _wave_in_scope(store: Store, principal: Principal, wave_id: str) -> tuple[dict, list[dict]]:
    _require(principal)
    wave = persist.get_wave(store, wave_id)
    if wave is None:
        raise SurveyError(f"there is no survey wave {wave_id!r}")
    invites = [i for i in persist.list_invites(store, wave_id=wave_id) if _in_scope(principal, i["site_id"])]
    if not invites:
        raise PermissionError("that wave has no cohort at your sites")
    return wave, invites


def progress(store: Store, principal: Principal, wave_id: str) -> pd.DataFrame:
    """Per cohort of the principal's sites: invited, started (opened the link and agreed, not yet sent),
    submitted, declined, and links revoked."""
    _wave, invites = _wave_in_scope(store, principal, wave_id)
    rows = {}
    for i in invites:
        r = rows.setdefault(i["cohort_id"], {"cohort": i["cohort_id"], "site": i["site_id"], "invited": 0,
                                             "started": 0, "submitted": 0, "declined": 0, "revoked": 0})
        r["invited"] += 1
        status = i.get("status")
        if status in ("started", "submitted", "declined"):
            r[status] += 1
        if i.get("revoked_at") and status != "submitted":
            r["revoked"] += 1
    return pd.DataFrame(sorted(rows.values(), key=lambda r: r["cohort"]),
                        columns=["cohort", "site", "invited", "started", "submitted", "declined", "revoked"])


def invitees(store: Store, principal: Principal, ds: Dataset, wave_id: str) -> pd.DataFrame:
    """The invitations of a wave at the principal's sites: who (names: coordinators and admins only run
    surveys), cohort, status, when sent, whether the link was revoked."""
    _wave, invites = _wave_in_scope(store, principal, wave_id)
    people = ds.people.set_index("person_id")
    rows = [{"invite_id": i["id"], "person_id": i["person_id"], "name": _name(people, i["person_id"]),
             "cohort": i["cohort_id"], "status": i.get("status", "invited"),
             "link": "revoked" if i.get("revoked_at") else "active", "links sent": i.get("links_sent", 1),
             "submitted_at": (i.get("submitted_at") or "")[:16].replace("T", " ")} for i in invites]
    return pd.DataFrame(rows, columns=["invite_id", "person_id", "name", "cohort", "status", "link", "links sent",
                                       "submitted_at"])


def _my_invite(store: Store, principal: Principal, invite_id: str) -> dict:
    _require(principal)
    invite = persist.get_invite(store, invite_id)
    if invite is None:
        raise SurveyError(f"there is no invitation {invite_id!r}")
    if not _in_scope(principal, invite["site_id"]):
        raise PermissionError("that invitation is not at your sites")
    return invite


def resend(store: Store, principal: Principal, invite_id: str) -> str:
    """A new link for one respondent (the old one stops working); returns the new token. Their draft and
    answers stay."""
    invite = _my_invite(store, principal, invite_id)
    token, digest = _new_token()
    invite.update(token_hash=digest, issued_at=accounts.now_iso(), links_sent=int(invite.get("links_sent", 1)) + 1)
    invite.pop("revoked_at", None)
    persist.save_invite(store, invite)
    accounts.audit(store, principal.username, "survey_link_resent", role=principal.role, target=invite_id)
    return token


def revoke(store: Store, principal: Principal, invite_id: str) -> None:
    """Stop one respondent's link from working (answers already sent stay; `resend` gives a new link)."""
    invite = _my_invite(store, principal, invite_id)
    invite["revoked_at"] = accounts.now_iso()
    persist.save_invite(store, invite)
    accounts.audit(store, principal.username, "survey_link_revoked", role=principal.role, target=invite_id)


def close_wave(store: Store, principal: Principal, wave_id: str) -> dict:
    """Close a wave: every link stops working; submitted answers stay. A coordinator may close a wave only
    when all its cohorts are at their sites."""
    wave, _mine = _wave_in_scope(store, principal, wave_id)
    everyone = persist.list_invites(store, wave_id=wave_id)
    if any(not _in_scope(principal, i["site_id"]) for i in everyone):
        raise PermissionError("that wave also runs at sites that are not yours: ask an admin to close it")
    wave.update(status="closed", closed_at=accounts.now_iso(), closed_by=principal.username)
    persist.save_wave(store, wave)
    accounts.audit(store, principal.username, "survey_closed", role=principal.role, target=wave_id)
    return wave


# -- the respondent's side ----------------------------------------------------------------------------------

def empty_answers() -> dict:
    """Answers as the page keeps them: `named` prompt -> [person_id], `recalled` prompt -> [name],
    `followups` person key ('p:<id>' or 'n:<name key>') -> {talk, known, met}, `kept` previous-wave keys kept,
    `consent` None/True, `lang`, `step`."""
    return {"consent": None, "lang": None, "step": 0, "named": {}, "recalled": {}, "followups": {}, "kept": None}


def _check_token(store: Store, token: str, today: date | None) -> tuple[dict, dict]:
    token = (token or "").strip()
    invite = persist.find_invite(store, hash_token(token)) if 16 <= len(token) <= 100 else None
    if invite is None:
        raise TokenError("unknown")
    wave = persist.get_wave(store, invite["wave_id"])
    if wave is None:
        raise TokenError("unknown")
    if invite.get("revoked_at"):
        raise TokenError("revoked", wave)
    if wave.get("status") != "open":
        raise TokenError("closed", wave)
    day = _today(today).isoformat()
    if day < wave["opens_on"]:
        raise TokenError("not_yet", wave)
    if day > wave["closes_on"]:
        raise TokenError("expired", wave)
    return invite, wave


def open_link(store: Store, ds: Dataset, token: str, *, today: date | None = None) -> Respondent:
    """What a personal link opens, or TokenError. Only this respondent's invitation, draft and previous
    answers, and a pick-list of their cohort and site."""
    invite, wave = _check_token(store, token, today)
    draft = persist.get_draft(store, invite["id"])
    if draft is not None:
        answers = {**empty_answers(), **draft.get("answers", {})}
    elif invite.get("status") == "submitted":          # to change what they sent: their answers as sent
        answers = _sent_answers(ds, invite)
    else:
        answers = empty_answers()
    return Respondent(invite=invite, wave=wave, roster=_roster(ds, invite),
                      previous=_previous(store, ds, invite, wave), answers=answers)


def _sent_answers(ds: Dataset, invite: dict) -> dict:
    answers = {**empty_answers(), "consent": True, "lang": invite.get("language"), "kept": []}
    ties = survey_ties(ds, invite["wave_id"], invite["person_id"])
    for row in ties.to_dict("records"):
        prompt = row["tie_type"]
        if row.get("to_person_id"):
            key = f"p:{row['to_person_id']}"
            answers["named"].setdefault(prompt, []).append(row["to_person_id"])
        else:
            key = f"n:{normalize_name(str(row['to_name']))}"
            answers["recalled"].setdefault(prompt, []).append(row["to_name"])
        answers["followups"][key] = {q: row.get(prop) for q, prop in FOLLOWUP_PROPERTY.items()
                                     if isinstance(row.get(prop), str)}
    return answers


def _roster(ds: Dataset, invite: dict) -> dict[str, str]:
    """People the respondent may pick: their cohort's members and the people of their site (no children),
    cohort-mates first, then by name; two people with one name get a number to tell them apart."""
    people = ds.people
    mates = set(ds.enrollments.loc[ds.enrollments["cohort_id"] == invite["cohort_id"], "person_id"])
    pick = people[(people["site_id"] == invite["site_id"]) | people["person_id"].isin(mates)]
    pick = pick[(pick["role"].fillna("parent") != "child") & pick["name"].notna()
                & (pick["person_id"] != invite["person_id"])]
    rows = sorted(zip(pick["person_id"], pick["name"]), key=lambda r: (r[0] not in mates, str(r[1]).casefold(), r[0]))
    seen: dict[str, int] = {}
    out = {}
    for pid, name in rows:
        label = " ".join(str(name).split())
        seen[label] = seen.get(label, 0) + 1
        out[pid] = label if seen[label] == 1 else f"{label} ({seen[label]})"
    return out


def survey_ties(ds: Dataset, wave_id: str, person_id: str | None = None) -> pd.DataFrame:
    """The ties a survey wave wrote (one respondent's, when given)."""
    ties = ds.ties
    if persist.SURVEY_MARK not in ties:
        return ties.iloc[0:0]
    keep = ties[persist.SURVEY_MARK] == wave_id
    if person_id is not None:
        keep &= ties["from_person_id"] == person_id
    return ties[keep]


def _previous(store: Store, ds: Dataset, invite: dict, wave: dict) -> list[dict]:
    """The names this person gave in their latest earlier wave they submitted, each with its prompts."""
    earlier = {w["id"]: w for w in persist.list_waves(store) if w["id"] != wave["id"]
               and (w["opens_on"], w["created_at"]) < (wave["opens_on"], wave["created_at"])}
    done = [i for i in persist.list_invites(store, person_id=invite["person_id"])
            if i["wave_id"] in earlier and i.get("status") == "submitted"]
    if not done:
        return []
    last = max(done, key=lambda i: (earlier[i["wave_id"]]["opens_on"], earlier[i["wave_id"]]["created_at"]))
    ties = survey_ties(ds, last["wave_id"], invite["person_id"])
    names = ds.people.set_index("person_id")["name"]
    out: dict[str, dict] = {}
    for to_pid, to_name, prompt in zip(ties["to_person_id"], ties["to_name"], ties["tie_type"]):
        if to_pid:
            key, label = f"p:{to_pid}", str(names.get(to_pid) or to_pid)
        else:
            key, label = f"n:{normalize_name(str(to_name))}", str(to_name)
        entry = out.setdefault(key, {"key": key, "label": label, "prompts": []})
        if prompt not in entry["prompts"]:
            entry["prompts"].append(prompt)
    return sorted(out.values(), key=lambda e: e["label"].casefold())


def prompt_text(prompt: dict, lang: str) -> str:
    """A prompt's question in a language: the wave's own text, else the catalog's for a default prompt."""
    from dashboard.i18n import t
    texts = prompt.get("text") or {}
    if texts.get(lang):
        return texts[lang]
    if prompt["id"] in DEFAULT_PROMPTS:
        return t(f"prompts.{prompt['id']}", lang)
    return texts.get("en") or next(iter(texts.values()), prompt["id"])


def consent_text(wave: dict, lang: str) -> str:
    from dashboard.i18n import t
    return (wave.get("consent") or {}).get(lang) or t("survey.consent.default_text", lang)


def save_draft(store: Store, respondent: Respondent, answers: dict) -> None:
    """Keep the answers so far (never as ties); the invitation counts as started once consent is given."""
    invite = dict(respondent.invite)
    if answers.get("consent") and invite.get("status") in (None, "invited", "declined"):
        invite.update(status="started", started_at=invite.get("started_at") or accounts.now_iso())
    persist.save_draft(store, invite, {"answers": answers, "saved_at": accounts.now_iso()})
    respondent.invite, respondent.answers = invite, answers


def decline(store: Store, respondent: Respondent) -> None:
    """The respondent said no: record that, and nothing else (any draft and earlier answers to this wave
    go)."""
    invite = {**respondent.invite, "status": "declined", "consent": "no", "declined_at": accounts.now_iso()}
    persist.write_answers(store, invite, to_graph_records({"ties": []}))
    accounts.audit(store, "survey-link", "survey_declined", target=invite["wave_id"])
    respondent.invite = invite


_CONTROL = re.compile(r"[\x00-\x1f\x7f\u2028\u2029]")


def _clean_name(text: str) -> str:
    return " ".join(unicodedata.normalize("NFC", text).split())


def check_answers(respondent: Respondent, answers: dict) -> tuple[list[dict], list[AnswerProblem]]:
    """The ties the answers make ({prompt, to_person_id | to_name, followups}) and every problem found."""
    problems: list[AnswerProblem] = []
    people: list[dict] = []
    for n, prompt in enumerate(respondent.wave["prompts"], start=1):
        pid = prompt["id"]
        named = list(dict.fromkeys(answers.get("named", {}).get(pid) or ()))
        if any(p not in respondent.roster for p in named):
            problems.append(AnswerProblem("survey.error.not_on_list"))
            named = [p for p in named if p in respondent.roster]
        recalled, keys = [], set()
        for raw in answers.get("recalled", {}).get(pid) or ():
            raw = str(raw)
            if not raw.strip():
                continue
            if _CONTROL.search(raw.strip()):
                problems.append(AnswerProblem("survey.error.control", {"name": _CONTROL.sub(" ", raw)[:40]}))
                continue
            name = _clean_name(raw)
            if len(name) > NAME_MAX:
                problems.append(AnswerProblem("survey.error.too_long", {"name": name[:30], "max": NAME_MAX}))
                continue
            if not any(ch.isalpha() for ch in name):
                problems.append(AnswerProblem("survey.error.no_letters", {"name": name}))
                continue
            key = normalize_name(name)
            if key not in keys:
                keys.add(key)
                recalled.append(name)
        if len(named) + len(recalled) > MAX_PER_PROMPT:
            problems.append(AnswerProblem("survey.error.too_many", {"n": n, "max": MAX_PER_PROMPT}))
        people += [{"prompt": pid, "to_person_id": p, "key": f"p:{p}", "label": respondent.roster[p]} for p in named]
        people += [{"prompt": pid, "to_name": r, "key": f"n:{normalize_name(r)}", "label": r} for r in recalled]
    follow = answers.get("followups") or {}
    for person in people:
        given = follow.get(person["key"]) or {}
        person["followups"] = {}
        for q, allowed in FOLLOWUPS.items():
            value = given.get(q)
            if value in (None, ""):
                continue
            if value not in allowed:
                problems.append(AnswerProblem("survey.error.bad_answer", {"name": person["label"]}))
                continue
            person["followups"][q] = value
    if not people and not problems:
        problems.append(AnswerProblem("survey.error.empty"))
    unique = {(p.key, tuple(sorted(p.params.items()))): p for p in problems}
    return people, list(unique.values())


def submit(store: Store, respondent: Respondent, answers: dict, *, today: date | None = None) -> int:
    """Write the answers as ties in one transaction (replacing this respondent's earlier answers to the
    wave); raises AnswersInvalid (nothing written) or TokenError. Returns the number of ties written."""
    if not answers.get("consent"):
        raise AnswersInvalid([AnswerProblem("survey.error.empty")])
    # the link may have been revoked or the wave closed while the respondent was answering
    current = persist.get_invite(store, respondent.invite["id"])
    wave = persist.get_wave(store, respondent.wave["id"])
    if current is None or wave is None:
        raise TokenError("unknown")
    if current.get("revoked_at") or current["token_hash"] != respondent.invite["token_hash"]:
        raise TokenError("revoked", wave)
    if wave.get("status") != "open":
        raise TokenError("closed", wave)
    if _today(today).isoformat() > wave["closes_on"]:
        raise TokenError("expired", wave)
    people, problems = check_answers(respondent, answers)
    if problems:
        raise AnswersInvalid(problems)
    day = _today(today).isoformat()
    rows = []
    for p in people:
        row = {"from_person_id": current["person_id"], "to_person_id": p.get("to_person_id"),
               "to_name": p.get("to_name"), "tie_type": p["prompt"], "wave": wave["name"], "observed_on": day,
               persist.SURVEY_MARK: wave["id"], "source": "survey"}
        row.update({FOLLOWUP_PROPERTY[q]: v for q, v in p["followups"].items()})
        if not row["to_person_id"]:
            row["to_name_key"] = normalize_name(row["to_name"])
        rows.append(row)
    now = accounts.now_iso()
    invite = {**current, "status": "submitted", "consent": "yes", "submitted_at": now,
              "started_at": current.get("started_at") or now, "language": answers.get("lang"),
              "submissions": int(current.get("submissions", 0)) + 1}
    invite.pop("declined_at", None)
    persist.write_answers(store, invite, to_graph_records({"ties": rows}))
    accounts.audit(store, "survey-link", "survey_submitted", target=wave["id"], rows=len(rows))
    respondent.invite = invite
    return len(rows)


def erase_people(store: Store, person_ids) -> int:
    """Remove every invitation and draft of these people (for an erasure: docs/erasure.md). Their ties go
    with Store.erase. Returns how many invitations were removed."""
    removed = 0
    for pid in {str(p) for p in person_ids}:
        for invite in persist.list_invites(store, person_id=pid):
            persist.delete_draft(store, invite["id"])
            invite = {k: invite[k] for k in ("id", "wave_id", "token_hash", "cohort_id", "site_id")} | {
                "person_id": "erased", "status": "erased", "revoked_at": accounts.now_iso()}
            persist.save_invite(store, invite)
            removed += 1
    return removed
