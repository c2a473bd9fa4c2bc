"""A parent answers a survey wave on a phone (Chromium + Playwright, 390 x 844): the personal link opens their
survey alone, they consent, name two people from the pick-list and one by free recall (a name written like a
script: shown as text everywhere), answer the follow-ups in Spanish and send; then the coordinator sees the
progress and the new ties. Expired, revoked and unknown links; a resubmission replaces the answers; a link
never signs anyone in and its page carries nobody from another site.

Screenshots of each step, in English and Spanish, go to artifacts/screenshots/survey-*.png (or
CIVICTIES_SURVEY_SHOTS). Needs Chromium (see tests/test_e2e_browser.py).
"""
from __future__ import annotations

import html as html_lib
import os
import re
import sys
import time
from datetime import date, timedelta
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))
from e2e_server import (PASSWORD, ROOT, DashboardServer, Received, chromium, demo_store,  # noqa: E402
                        require_browser, wait_quiet)
from whole_words import found as found_whole  # noqa: E402

SHOTS = Path(os.environ.get("CIVICTIES_SURVEY_SHOTS") or ROOT / "artifacts" / "screenshots")
PHONE = {"viewport": {"width": 390, "height": 844}, "device_scale_factor": 2, "is_mobile": True, "has_touch": True}
HOSTILE = "<script>alert(1)</script>"
WAIT_S = 90




require_browser()
from playwright.sync_api import Page  # noqa: E402


# -- the demo with survey waves -------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    from dashboard import survey
    from dashboard.accounts import Principal
    from graph import surveys as persist
    from graph.store import open_store
    with demo_store(tmp_path_factory.mktemp("survey-e2e"), parents=200) as d:
        admin = Principal("t-admin", "admin")
        with open_store(d.uri) as store:
            ds = store.read()
            enr = ds.enrollments[ds.enrollments["status"] != "withdrawn"].merge(ds.cohorts, on="cohort_id")
            sizes = enr[enr["site_id"] == "S1"].groupby("cohort_id").size()
            cohorts = [c for c in sizes.index if sizes[c] >= 5]
            today = date.today()
            wave, links = survey.open_wave(store, admin, ds, name="pre", cohort_ids=[cohorts[0]], opens_on=today,
                                           closes_on=today + timedelta(days=14))
            old, old_links = survey.open_wave(store, admin, ds, name="mid", cohort_ids=[cohorts[-1]], opens_on=today,
                                              closes_on=today + timedelta(days=1))
            persist.save_wave(store, {**old, "opens_on": (today - timedelta(days=30)).isoformat(),
                                      "closes_on": (today - timedelta(days=2)).isoformat()})
            survey.revoke(store, admin, links[2]["invite_id"])
            # an earlier wave the fifth member answered, naming two people: offered to keep or drop
            base, base_links = survey.open_wave(store, admin, ds, name="baseline", cohort_ids=[cohorts[0]],
                                                opens_on=today, closes_on=today + timedelta(days=1))
            fifth = next(b for b in base_links if b["person_id"] == links[4]["person_id"])
            r = survey.open_link(store, ds, fifth["token"])
            named = list(r.roster)[:2]
            answers = {**survey.empty_answers(), "consent": True, "named": {"school": named[:1], "help": named[1:]}}
            survey.submit(store, r, answers)
            persist.save_wave(store, {**persist.get_wave(store, base["id"]), "status": "closed",
                                      "opens_on": (today - timedelta(days=90)).isoformat(),
                                      "closes_on": (today - timedelta(days=80)).isoformat()})
            rosters = {link["token"]: survey.open_link(store, ds, link["token"]).roster for link in links[:2]}
            ds = store.read()
            earlier = [r.roster[p] for p in named]
        d.survey = {"wave": wave, "links": links, "expired": old_links[0]["token"], "rosters": rosters,
                    "cohort": cohorts[0], "earlier": earlier}
        yield d


@pytest.fixture(scope="module")
def server(demo):
    with DashboardServer(demo.uri, log=demo.folder / "streamlit.log") as s:
        yield s


@pytest.fixture(scope="module")
def browser():
    with chromium() as b:
        yield b


def _phone(browser):
    context = browser.new_context(**PHONE)
    page = context.new_page()
    page.watch = Received(page)
    return context, page


def _quiet(page: Page) -> None:
    wait_quiet(page, WAIT_S)


def _see(page: Page, text: str, *, exact: bool = False) -> None:
    page.get_by_text(text, exact=exact).first.wait_for(timeout=WAIT_S * 1000)
    _quiet(page)


def _shot(page: Page, name: str) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / f"survey-{name}.png"), full_page=True)


def _click(page: Page, name: str) -> None:
    page.get_by_role("button", name=name, exact=True).click()


def _pick(page: Page, box: str, label: str) -> None:
    combo = page.get_by_role("combobox", name=box)
    combo.click()
    combo.fill(label[:5])
    page.get_by_role("option", name=label, exact=True).first.click()
    _quiet(page)
    page.keyboard.press("Escape")


def _forward(page: Page, lang: str, to: int, total: int) -> None:
    """Click Next and wait until the page shows step `to` (a click is never sent while the app still runs)."""
    from dashboard.i18n import t
    _click(page, t("survey.next", lang))
    _see(page, t("survey.step", lang, n=to, total=total), exact=True)


def _fits_the_phone(page: Page) -> None:
    width = page.evaluate("() => document.documentElement.scrollWidth")
    assert width <= 392, f"the page is {width}px wide on a 390px phone"


def _answer(page: Page, lang: str, token: str, roster: dict, *, recall: str, shots: str | None) -> None:
    """Go through the whole survey: consent, two people from the list and one by free recall for the first
    question, follow-ups for everyone, send."""
    es = lang == "es"
    T = {"title": ("A quién conoce", "Who you know"), "agree": ("Acepto participar", "I agree to take part"),
         "q1": ("¿Con quién habla sobre la escuela", "Who do you talk with about your children's school?"),
         "pick": ("Elija personas de la lista (escriba un nombre para buscar)",
                  "Choose people from the list (type a name to search)"),
         "recall": ("¿Alguien que no está en la lista? Escriba un nombre por línea.",
                    "Anyone not on the list? Write one name per line."),
         "next": ("Siguiente", "Next"), "followups": ("Un poco sobre cada persona", "A little about each person"),
         "options": (("Cada semana", "De 1 a 3 años", "Sí"), ("Every week", "1 to 3 years", "Yes")),
         "review": ("Revisar y enviar", "Check and send"), "send": ("Enviar mis respuestas", "Send my answers"),
         "thanks": ("¡Gracias!", "Thank you!")}
    T = {k: v[0 if es else 1] for k, v in T.items()}
    page.goto(f"{_base(page)}/?survey={token}")
    _see(page, "Who you know")
    if es:
        page.get_by_text("Español", exact=True).click()
        _see(page, T["title"])
    _fits_the_phone(page)
    assert page.get_by_label("Username").count() == 0, "a survey link never shows the sign-in form"
    if shots:
        _shot(page, f"{shots}-1-consent")
    _click(page, T["agree"])
    _see(page, T["q1"])
    first, second = list(roster.values())[:2]
    _pick(page, T["pick"], first)
    _pick(page, T["pick"], second)
    page.get_by_label(T["recall"]).fill(recall)
    page.get_by_label(T["recall"]).blur()
    _quiet(page)
    _fits_the_phone(page)
    if shots:
        _shot(page, f"{shots}-2-question")
    for n in range(3, 7):                       # the other three questions, then the follow-ups
        _forward(page, lang, n, 7)
    _see(page, T["followups"])
    groups = page.locator('[data-testid="stRadio"]')
    assert groups.count() == 9                   # three questions about each of three people
    for i in range(9):
        groups.nth(i).get_by_text(T["options"][i % 3], exact=True).click()
        _quiet(page)
    _fits_the_phone(page)
    if shots:
        page.get_by_text(T["followups"]).first.scroll_into_view_if_needed()
        _shot(page, f"{shots}-3-followups")
    _forward(page, lang, 7, 7)
    _see(page, T["review"])
    page.get_by_text(recall, exact=True).first.wait_for(timeout=5_000)     # the name as typed, as text
    if shots:
        _shot(page, f"{shots}-4-review")
    _click(page, T["send"])
    _see(page, T["thanks"])
    if shots:
        _shot(page, f"{shots}-5-thanks")


def _base(page: Page) -> str:
    return page.context.server_url


def _ties(demo, token_index: int):
    from dashboard import survey
    from graph.store import open_store
    with open_store(demo.uri) as store:
        ds = store.read()
    person = demo.survey["links"][token_index]["person_id"]
    return survey.survey_ties(ds, demo.survey["wave"]["id"], person), ds


def test_a_parent_answers_on_a_phone_in_spanish_and_the_coordinator_sees_it(browser, server, demo):
    token = demo.survey["links"][0]["token"]
    roster = demo.survey["rosters"][token]
    context, page = _phone(browser)
    context.server_url = server.url
    _answer(page, "es", token, roster, recall=HOSTILE, shots="es")
    assert not page.watch.dialogs, page.watch.dialogs
    assert page.locator("script", has_text="alert(1)").count() == 0
    ties, ds = _ties(demo, 0)
    assert len(ties) == 3 and set(ties["wave"]) == {"pre"}
    assert sorted(ties["to_name"].dropna()) == [HOSTILE] and ties["to_person_id"].notna().sum() == 2
    assert set(ties["talk_often"]) == {"weekly"} and set(ties["known_for"]) == {"1_to_3"}
    assert set(ties["met_through_program"]) == {"yes"}
    # the link's page carried this respondent's cohort and site only: nobody from elsewhere
    people = ds.people
    mates = set(ds.enrollments.loc[ds.enrollments["cohort_id"] == demo.survey["cohort"], "person_id"])
    allowed = people[(people["site_id"] == "S1") | people["person_id"].isin(mates)]
    others = set(people.loc[~people["person_id"].isin(allowed["person_id"]), "name"].dropna()) - set(allowed["name"])
    sent = page.watch.text()
    assert len(sent) > 1000 and first_name_in(sent, roster)
    leaks = found_whole(others, sent)
    assert not leaks, leaks[:5]
    plain = {pid for pid in people["person_id"] if re.fullmatch(r"\w+", pid)}  # \bPID\b is (?<!\w)PID(?!\w)
    assert not found_whole(plain, sent) and not [pid for pid in set(people["person_id"]) - plain
                                                 if re.search(rf"\b{pid}\b", sent)], "person ids reach the browser"
    context.close()

    # the coordinator of S1 sees the progress and the new ties
    context = browser.new_context(viewport={"width": 1400, "height": 1400})
    page = context.new_page()
    page.watch = Received(page)
    page.goto(server.url)
    _see(page, "Sign in")
    page.get_by_label("Username").fill("t-coordinator")
    page.get_by_label("Password", exact=True).fill(PASSWORD)
    _click(page, "Sign in")
    _see(page, "Overview")
    page.locator('[data-testid="stSidebarNav"] a', has_text="Surveys").first.click()
    _see(page, "Progress")
    invited = len(demo.survey["links"])
    _see(page, f"1 of {invited} have sent their answers")
    _see(page, "3 ties from 1 respondents")
    _shot(page, "coordinator")
    assert not page.watch.dialogs
    context.close()


def first_name_in(text: str, roster: dict) -> bool:
    return any(name in text or html_lib.escape(name) in text for name in list(roster.values())[:2])


def test_english_on_a_phone_and_a_resubmission_replaces_the_answers(browser, server, demo):
    token = demo.survey["links"][1]["token"]
    roster = demo.survey["rosters"][token]
    context, page = _phone(browser)
    context.server_url = server.url
    _answer(page, "en", token, roster, recall="Rosa Recalled", shots="en")
    assert len(_ties(demo, 1)[0]) == 3
    # the same link again: the answers as sent, changed (the free-recalled name dropped), sent again
    page.goto(f"{server.url}/?survey={token}")
    _see(page, "Who you know")
    _click(page, "I agree to take part")
    _see(page, "Who do you talk with about your children's school?")
    box = page.get_by_label("Anyone not on the list? Write one name per line.")
    assert box.input_value() == "Rosa Recalled"
    box.fill("")
    box.blur()
    _quiet(page)
    for n in range(3, 8):
        _forward(page, "en", n, 7)
    _see(page, "You already sent answers for this survey")
    _shot(page, "en-6-resubmit")
    _click(page, "Send my answers")
    _see(page, "Thank you!")
    ties = _ties(demo, 1)[0]
    assert len(ties) == 2 and ties["to_person_id"].notna().all(), ties[["to_person_id", "to_name"]]
    context.close()


def test_an_empty_submission_gets_a_clear_message(browser, server, demo):
    token = demo.survey["links"][3]["token"]
    context, page = _phone(browser)
    page.goto(f"{server.url}/?survey={token}")
    _see(page, "Who you know")
    _click(page, "I agree to take part")
    _see(page, "Step 2 of 7", exact=True)
    for n in range(3, 8):
        _forward(page, "en", n, 7)
    _click(page, "Send my answers")
    _see(page, "Name at least one person")
    _shot(page, "en-7-empty")
    assert _ties(demo, 3)[0].empty
    context.close()


@pytest.mark.parametrize("which, words", [("revoked", "This link was replaced by a newer one"),
                                          ("expired", "This survey closed on"),
                                          ("unknown", "This survey link is not valid")])
def test_links_that_cannot_be_used_say_why_and_show_nothing_else(browser, server, demo, which, words):
    token = {"revoked": demo.survey["links"][2]["token"], "expired": demo.survey["expired"],
             "unknown": "x" * 32}[which]
    context, page = _phone(browser)
    page.goto(f"{server.url}/bridging?survey={token}")
    _see(page, words)
    assert page.get_by_label("Username").count() == 0
    assert page.locator('[data-testid="stSidebarNav"] a').count() == 0
    assert page.get_by_role("combobox").count() == 0
    _shot(page, f"link-{which}")
    # a link never signs anyone in: the app itself still asks for a sign-in
    page.goto(server.url)
    _see(page, "Sign in")
    assert page.get_by_label("Username").count() == 1
    context.close()


def test_names_from_the_previous_wave_are_kept_or_dropped(browser, server, demo):
    token = demo.survey["links"][4]["token"]
    kept, dropped = demo.survey["earlier"]
    context, page = _phone(browser)
    page.goto(f"{server.url}/?survey={token}")
    _see(page, "Who you know")
    _click(page, "I agree to take part")
    _see(page, "People you named last time")
    _shot(page, "en-1b-previous")
    page.get_by_text("Español", exact=True).click()
    _see(page, "Personas que nombró la vez pasada")
    _shot(page, "es-1b-previous")
    page.get_by_text(dropped, exact=True).click()           # untick: no longer in touch
    _quiet(page)
    _forward(page, "es", 3, 8)
    _see(page, "¿Con quién habla sobre la escuela")
    assert page.get_by_text(kept, exact=True).count() >= 1       # kept: already chosen under its question
    _forward(page, "es", 4, 8)
    _see(page, "¿A quién le pediría ayuda")
    assert page.get_by_text(dropped, exact=True).count() == 0    # dropped: not carried forward
    context.close()
