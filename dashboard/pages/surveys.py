"""Surveys: open a survey wave for cohorts of your sites, send each member their personal link, follow who has
answered (per cohort: invited, started, submitted, declined), send a new link or revoke one, close the wave.
The answers become ties (dashboard/survey.py) that every analysis reads; names nobody on the list matched go to
the matching review."""
from datetime import date, timedelta

import pandas as pd
import streamlit as st

from dashboard import common, data, records, survey
from dashboard.i18n import languages, t
from dashboard.survey_page import escape
from graph.errors import StoreError
from queries.export import safe_frame

principal = common.principal()
st.title("Surveys")
if not survey.may_run(principal):
    st.error("Survey waves are run by coordinators and admins.")
    st.stop()
store = common.load(data.get_store)
ds = common.load(lambda: data.site_dataset(principal.site_scope, *data.data_key()))


def _base_url() -> str:
    try:
        url = st.context.url or ""
    except Exception:  # noqa: BLE001 - no browser context (tests)
        url = ""
    return url.split("?")[0].rstrip("/").removesuffix("/surveys") or "http://localhost:8501"


def _link(token: str) -> str:
    return f"{_base_url()}/?survey={token}"


def _show_links():
    links = st.session_state.get("survey_new_links")
    if not links:
        return
    st.success(f"{len(links)} personal link(s) made. Send each person their own link now: the links are not "
               "kept, only a fingerprint of each (a new link can be made at any time with **Send a new link**).")
    table = pd.DataFrame([{"name": row["name"], "cohort": row["cohort_id"], "link": _link(row["token"])} for row in links])
    st.dataframe(table, hide_index=True, width="stretch",
                 column_config={"link": st.column_config.LinkColumn("personal link")})
    st.download_button("Download the links (CSV)", safe_frame(table).to_csv(index=False).encode("utf-8"),
                       file_name="survey-links.csv", mime="text/csv", key="survey_links_csv",
                       on_click=data.audit_download, args=(principal, "survey links", len(table)))
    if st.button("I have sent them: hide the links", key="survey_links_hide"):
        st.session_state.pop("survey_new_links", None)
        st.rerun()


def _act(action, done: str | None = None):
    try:
        out = action()
    except (survey.SurveyError, PermissionError) as e:
        st.error(f"Nothing was changed: {e}.")
        return None
    except StoreError as e:
        st.error(f"Nothing was changed: the store cannot be written ({e}).")
        return None
    if done:
        st.session_state["survey_flash"] = done
    return True if out is None else out


flash = st.session_state.pop("survey_flash", None)
if flash:
    st.success(flash)
_show_links()

# -- open a wave -----------------------------------------------------------------------------------------------
cohorts = survey.cohorts_for(principal, ds)
with st.expander("Open a new wave", expanded=not survey.waves_for(store, principal)):
    if cohorts.empty:
        st.info("Your sites have no cohorts yet.")
    else:
        with st.form("survey_open"):
            left, right = st.columns(2)
            name = left.selectbox("Wave", [*survey.WAVE_NAMES, "other"], key="survey_name",
                                  help="The Bridging page compares pre with post on the same respondents.")
            other = right.text_input("Other name (when 'other')", key="survey_other", max_chars=40)
            labels = {c: f"{c} ({p or ''}, starts {s or '?'})" for c, p, s in
                      zip(cohorts["cohort_id"], cohorts["program"], cohorts["start_date"])}
            chosen = st.multiselect("Cohorts", list(labels), format_func=labels.get, key="survey_cohorts",
                                    placeholder="Type a cohort id…")
            left, right = st.columns(2)
            opens = left.date_input("Opens on", value=date.today(), key="survey_opens")
            closes = right.date_input("Closes on (links stop working after this day)",
                                      value=date.today() + timedelta(days=21), key="survey_closes")
            langs = languages()
            offered = st.multiselect("Languages", list(langs), default=[c for c in ("en", "es") if c in langs],
                                     format_func=langs.get, key="survey_langs")
            st.markdown("**Questions** (name generators; each becomes a tie type)")
            prompts = [p for p in survey.DEFAULT_PROMPTS
                       if st.checkbox(t(f"prompts.{p}", "en"), value=True, key=f"survey_prompt_{p}")]
            own_en = st.text_input("Your own question (English, optional)", key="survey_own_en", max_chars=300)
            own_es = st.text_input("The same in Spanish (optional)", key="survey_own_es", max_chars=300)
            consent = st.text_area("Consent text (English)", value=t("survey.consent.default_text", "en"),
                                   key="survey_consent_en", height=110)
            consent_es = st.text_area("Consent text (Spanish)", value=t("survey.consent.default_text", "es"),
                                      key="survey_consent_es", height=110)
            if st.form_submit_button("Open the wave and make the links", type="primary", key="survey_open_go"):
                wave_name = other if name == "other" else name
                if own_en.strip() or own_es.strip():
                    prompts = [*prompts, {"id": "own", "text": {"en": own_en, "es": own_es}}]
                made = _act(lambda: survey.open_wave(
                    store, principal, ds, name=wave_name, cohort_ids=chosen, opens_on=opens, closes_on=closes,
                    prompts=prompts, languages=offered, consent={"en": consent, "es": consent_es}))
                if made:
                    st.session_state["survey_new_links"] = made[1]
                    st.session_state["survey_wave"] = made[0]["id"]
                    st.rerun()

# -- the waves -------------------------------------------------------------------------------------------------
waves = survey.waves_for(store, principal)
if not waves:
    st.info("No survey wave yet. Open one above.")
    st.stop()
by_id = {w["id"]: w for w in waves}
names = {w["id"]: f"{w['name']} – {', '.join(w['my_cohort_ids'])} ({w['opens_on']} to {w['closes_on']}"
                  f"{', closed' if w.get('status') != 'open' else ''})" for w in reversed(waves)}
if st.session_state.get("survey_wave") not in names:
    st.session_state.pop("survey_wave", None)
wave_id = st.selectbox("Wave", list(names), format_func=names.get, key="survey_wave")
wave = by_id[wave_id]
st.subheader("Progress")
progress = common.load(survey.progress, store, principal, wave_id)
st.dataframe(progress, hide_index=True, width="stretch")
total = progress[["invited", "submitted"]].sum()
if total["invited"]:
    st.progress(float(total["submitted"] / total["invited"]),
                text=f"{int(total['submitted'])} of {int(total['invited'])} have sent their answers")

people = common.load(survey.invitees, store, principal, ds, wave_id)
st.subheader("Respondents")
st.dataframe(people.drop(columns=["invite_id"]), hide_index=True, width="stretch")
pick = {i: f"{n} ({c}, {s})" for i, n, c, s in zip(people["invite_id"], people["name"], people["cohort"],
                                                    people["status"])}
with st.form("survey_link_form"):
    who = st.selectbox("Respondent", list(pick), format_func=pick.get, key="survey_who", index=None,
                       placeholder="Type a name…")
    left, right = st.columns(2)
    again = left.form_submit_button("Send a new link", key="survey_resend",
                                    help="Makes a new personal link; the old one stops working.")
    stop = right.form_submit_button("Revoke the link", key="survey_revoke")
    if (again or stop) and not who:
        st.error("Choose a respondent first.")
    elif again:
        token = _act(lambda: survey.resend(store, principal, who))
        if token:
            row = people.set_index("invite_id").loc[who]
            st.session_state["survey_new_links"] = [{"name": row["name"], "cohort_id": row["cohort"], "token": token}]
            st.rerun()
    elif stop and _act(lambda: survey.revoke(store, principal, who), "The link is revoked."):
        st.rerun()

# -- the answers so far ----------------------------------------------------------------------------------------
st.subheader("Ties from this wave")
ties = survey.survey_ties(ds, wave_id)
label = dict(zip(ds.people["person_id"], ds.people["name"]))
if ties.empty:
    st.caption("No answers yet.")
else:
    shown = pd.DataFrame({
        "respondent": [label.get(p, p) for p in ties["from_person_id"]],
        "named": [label.get(p, p) if p else None for p in ties["to_person_id"]],
        "free recall (to the matching review)": list(ties["to_name"]),
        "question": list(ties["tie_type"]), "wave": list(ties["wave"]),
        **{col: list(ties[col]) if col in ties else None for col in ("talk_often", "known_for", "met_through_program")}})
    st.dataframe(shown, hide_index=True, width="stretch")
    unmatched = ties["to_person_id"].isna().sum()
    st.caption(f"{len(ties)} ties from {ties['from_person_id'].nunique()} respondents; {unmatched} name(s) not on "
               "the list wait for the matching review (never matched by guess).")

if wave.get("status") == "open":
    with st.expander("Close this wave"):
        st.write("Closing stops every link of the wave at once. Answers already sent stay.")
        if st.button("Close the wave", key="survey_close"):
            if _act(lambda: survey.close_wave(store, principal, wave_id), f"The wave {escape(wave['name'])} is closed."):
                records.refresh()
                st.rerun()
