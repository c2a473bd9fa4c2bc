"""The respondent's page, reached by a personal link ``?survey=TOKEN``: phone-sized, English or Spanish.

streamlit_app.py runs this page alone, before and independent of sign-in: it never signs anyone in and shows
nothing but this one respondent's survey (dashboard/survey.py checks the token on every run). Steps: consent,
the previous wave's names to keep or drop (when there are any), one step per prompt (a type-ahead pick-list
of the respondent's cohort and site plus free recall), follow-up questions per person named, check and
send. Each step's answers are saved as a draft when the respondent goes on; only "send" writes ties.
Every name is shown as text (never as markup).
"""
from __future__ import annotations

import streamlit as st

from dashboard import data, records, survey
from dashboard.i18n import languages, long_date, t
from graph.errors import StoreError
from ingest.validate import normalize_name

__all__ = ["render", "escape"]

_STATE = "_civicties_survey"        # {token_hash, answers, done}: this browser tab's survey only


def escape(text) -> str:
    """A name for st.markdown/st.write, shown exactly as typed: markdown and HTML characters escaped."""
    out = []
    for ch in str(text):
        if ch in "\\`*_{}[]()<>#+-.!|~$&\"':":
            out.append(f"&#{ord(ch)};")
        else:
            out.append(ch)
    return "".join(out)


def render(token: str) -> None:
    # a phone's screen is for the survey: no sidebar, no app toolbar, little space above the title
    st.markdown("<style>[data-testid='stSidebar'], [data-testid='stSidebarCollapsedControl'], "
                "[data-testid='stHeader'] {display: none;} "
                "[data-testid='stMainBlockContainer'] {padding-top: 1.5rem;}</style>", unsafe_allow_html=True)
    try:
        store = data.get_store()
        ds = data.full_dataset(*data.data_key())
        respondent = survey.open_link(store, ds, token)
    except survey.TokenError as e:
        _bad_link(e)
        return
    except StoreError:
        st.error("The survey cannot be opened right now. Please try again in a few minutes. / "
                 "La encuesta no se puede abrir ahora. Por favor intente otra vez en unos minutos.")
        return
    state = st.session_state.get(_STATE)
    if state is None or state.get("token_hash") != respondent.invite["token_hash"]:
        state = {"token_hash": respondent.invite["token_hash"], "answers": respondent.answers, "done": None}
        st.session_state[_STATE] = state
    answers = state["answers"]
    lang = _language(respondent, answers)
    st.title(t("survey.title", lang))
    if state["done"] == "submitted":
        st.success(f"**{t('survey.thanks_title', lang)}** {t('survey.thanks', lang, closes_on=long_date(respondent.wave['closes_on'], lang))}")
        return
    if state["done"] == "declined":
        st.info(f"**{t('survey.declined_title', lang)}** {t('survey.declined', lang)}")
        return
    steps = _steps(respondent)
    step = min(int(answers.get("step") or 0), len(steps) - 1)
    if not answers.get("consent"):
        step = 0
    st.caption(t("survey.step", lang, n=step + 1, total=len(steps)))
    st.progress((step + 1) / len(steps))
    kind, arg = steps[step]
    if kind == "consent":
        _consent(store, respondent, state, lang)
    elif kind == "previous":
        _previous(respondent, answers, lang)
    elif kind == "prompt":
        _prompt(respondent, answers, lang, arg, steps)
    elif kind == "followups":
        _followups(respondent, answers, lang)
    else:
        _review(store, respondent, state, lang)
    if kind != "consent":
        _nav(store, respondent, state, lang, step, len(steps), last=kind == "review")


def _bad_link(e: survey.TokenError) -> None:
    wave = e.wave or {}
    langs = wave.get("languages") or ["en", "es"]
    for lang in langs:
        st.subheader(t("survey.token.title", lang))
        st.error(t(f"survey.token.{e.reason}", lang, closes_on=long_date(wave.get("closes_on", ""), lang),
                   opens_on=long_date(wave.get("opens_on", ""), lang)))


def _language(respondent: survey.Respondent, answers: dict) -> str:
    offered = [lang for lang in respondent.wave.get("languages") or ["en"] if lang in languages()] or ["en"]
    asked = st.query_params.get("lang")
    current = answers.get("lang") or (asked if asked in offered else offered[0])
    if len(offered) > 1:
        names = languages()
        chosen = st.segmented_control(t("survey.language", current), offered, default=current,
                                      format_func=lambda c: names.get(c, c), key="survey_lang",
                                      label_visibility="collapsed")
        current = chosen or current
    answers["lang"] = current
    return current


def _steps(respondent: survey.Respondent) -> list[tuple[str, object]]:
    steps: list[tuple[str, object]] = [("consent", None)]
    if respondent.previous:
        steps.append(("previous", None))
    steps += [("prompt", i) for i in range(len(respondent.wave["prompts"]))]
    return steps + [("followups", None), ("review", None)]


def _save(store, respondent, state) -> None:
    try:
        survey.save_draft(store, respondent, state["answers"])
    except StoreError:
        st.warning("Your answers could not be saved just now; keep this page open and try again.")


def _consent(store, respondent, state, lang) -> None:
    st.write(t("survey.intro", lang))
    st.subheader(t("survey.consent.title", lang))
    st.write(survey.consent_text(respondent.wave, lang))
    answers = state["answers"]
    if st.button(t("survey.consent.agree", lang), type="primary", width="stretch", key="survey_agree"):
        answers["consent"] = True
        answers["step"] = 1
        if respondent.previous and answers.get("kept") is None:
            answers["kept"] = [p["key"] for p in respondent.previous]
            _carry_forward(respondent, answers)
        _save(store, respondent, state)
        st.rerun()
    if st.button(t("survey.consent.decline", lang), width="stretch", key="survey_decline"):
        try:
            survey.decline(store, respondent)
        except StoreError:
            st.error("Your answer could not be saved just now; please try again.")
            return
        records.refresh()
        state["done"] = "declined"
        state["answers"] = survey.empty_answers()
        st.info(f"**{t('survey.declined_title', lang)}** {t('survey.declined', lang)}")
        st.stop()


def _carry_forward(respondent, answers) -> None:
    """The previous wave's names the respondent keeps start selected under the prompts they came from."""
    prompts = [p["id"] for p in respondent.wave["prompts"]]
    kept = set(answers.get("kept") or ())
    for person in respondent.previous:
        targets = [p for p in person["prompts"] if p in prompts] or prompts[:1]
        for prompt in targets:
            if person["key"].startswith("p:"):
                pid = person["key"][2:]
                chosen = answers["named"].setdefault(prompt, [])
                if pid in respondent.roster and pid not in chosen and person["key"] in kept:
                    chosen.append(pid)
                if person["key"] not in kept and pid in chosen:
                    chosen.remove(pid)
            else:
                names = answers["recalled"].setdefault(prompt, [])
                present = [n for n in names if f"n:{normalize_name(n)}" == person["key"]]
                if person["key"] in kept and not present:
                    names.append(person["label"])
                if person["key"] not in kept:
                    for n in present:
                        names.remove(n)


def _previous(respondent, answers, lang) -> None:
    st.subheader(t("survey.previous.title", lang))
    st.write(t("survey.previous.help", lang))
    kept = set(answers.get("kept") or ())
    now = []
    for i, person in enumerate(respondent.previous):
        if st.checkbox(escape(person["label"]), value=person["key"] in kept, key=f"survey_keep_{lang}_{i}"):
            now.append(person["key"])
    if now != answers.get("kept"):
        answers["kept"] = now
        _carry_forward(respondent, answers)


def _prompt(respondent, answers, lang, index, steps) -> None:
    prompt = respondent.wave["prompts"][index]
    total = len(respondent.wave["prompts"])
    st.caption(t("survey.prompt.counter", lang, n=index + 1, total=total))
    st.subheader(survey.prompt_text(prompt, lang))
    pid = prompt["id"]
    roster = respondent.roster
    chosen = [p for p in answers["named"].get(pid, []) if p in roster]
    picked = st.multiselect(t("survey.prompt.pick", lang), list(roster), default=chosen,
                            format_func=roster.get, placeholder=t("survey.prompt.pick_placeholder", lang),
                            key=f"survey_pick_{lang}_{pid}")
    answers["named"][pid] = list(picked)
    typed = st.text_area(t("survey.prompt.recall", lang), value="\n".join(answers["recalled"].get(pid, [])),
                         placeholder=t("survey.prompt.recall_placeholder", lang), height=110,
                         key=f"survey_recall_{lang}_{pid}")
    answers["recalled"][pid] = [line for line in typed.splitlines() if line.strip()]


def _people(respondent, answers) -> list[tuple[str, str]]:
    """Everyone named so far, once each: (key, label)."""
    out = {}
    for prompt in respondent.wave["prompts"]:
        for p in answers["named"].get(prompt["id"], []):
            if p in respondent.roster:
                out.setdefault(f"p:{p}", respondent.roster[p])
        for name in answers["recalled"].get(prompt["id"], []):
            clean = " ".join(str(name).split())
            if clean:
                out.setdefault(f"n:{normalize_name(clean)}", clean[:survey.NAME_MAX])
    return list(out.items())


def _followups(respondent, answers, lang) -> None:
    st.subheader(t("survey.followup.title", lang))
    people = _people(respondent, answers)
    if not people:
        st.info(t("survey.review.none", lang))
        return
    st.write(t("survey.followup.help", lang))
    for i, (key, label) in enumerate(people):
        given = answers["followups"].setdefault(key, {})
        with st.container(border=True):
            st.markdown(f"**{escape(label)}**")
            for q, options in survey.FOLLOWUPS.items():
                value = given.get(q)
                picked = st.radio(t(f"survey.followup.{q}", lang), options,
                                  index=options.index(value) if value in options else None,
                                  format_func=lambda o, q=q: t(f"survey.followup.{q}_options.{o}", lang),
                                  horizontal=True, key=f"survey_fu_{lang}_{i}_{q}")
                if picked is not None:
                    given[q] = picked


def _review(store, respondent, state, lang) -> None:
    answers = state["answers"]
    st.subheader(t("survey.review.title", lang))
    people = _people(respondent, answers)
    if people:
        st.write(t("survey.review.named", lang, count=len(people)))
        st.markdown("\n".join(f"- {escape(label)}" for _key, label in people))
    else:
        st.info(t("survey.review.none", lang))
    if respondent.submitted:
        st.caption(t("survey.review.resubmit", lang))
    problems = state.pop("problems", None)
    if problems:
        st.error(t("survey.error.title", lang) + "\n\n" + "\n".join(
            f"- {escape(t(p.key, lang, **p.params))}" for p in problems))
    if st.button(t("survey.review.submit", lang), type="primary", width="stretch", key="survey_submit"):
        try:
            with st.spinner(t("survey.submitting", lang)):
                survey.submit(store, respondent, answers)
        except survey.AnswersInvalid as e:
            state["problems"] = e.problems
            st.rerun()
        except survey.TokenError as e:
            _bad_link(e)
            st.stop()
        except StoreError:
            st.error("Your answers could not be saved just now; nothing was kept. Please try again. / "
                     "No se pudieron guardar sus respuestas; no se guardó nada. Por favor intente otra vez.")
            st.stop()
        records.refresh()
        state["done"] = "submitted"
        st.rerun()


def _nav(store, respondent, state, lang, step, total, *, last: bool) -> None:
    answers = state["answers"]
    # stacked, the way forward first (as on the last step, where "send" comes before "back")
    if not last and st.button(t("survey.next", lang), type="primary", width="stretch", key=f"survey_next_{step}"):
        answers["step"] = step + 1
        _save(store, respondent, state)
        st.rerun()
    if st.button(t("survey.back", lang), width="stretch", key=f"survey_back_{step}"):
        answers["step"] = max(0, step - 1)
        _save(store, respondent, state)
        st.rerun()
    if step > 0:
        st.caption(t("survey.draft_saved", lang))
