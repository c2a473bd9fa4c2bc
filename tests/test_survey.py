"""Survey waves (dashboard/survey.py, graph/surveys.py) on both stores: links stored hashed that expire, can be
revoked and replaced; a link shows one respondent's survey with a roster of their cohort and site only; drafts
are never ties; a submission is ties in one transaction and a resubmission replaces them; declining keeps the
decision only; bad answers write nothing; coordinators run surveys for their sites' cohorts only; a pre and a
post wave give the Bridging page its same-respondent comparison."""
from __future__ import annotations

import hashlib
import sys
from datetime import date, timedelta
from pathlib import Path

import pytest

from dashboard import survey
from dashboard.accounts import Principal
from graph import surveys as persist
from graph.errors import StoreError
from graph.store import SQLiteStore
from ingest.load import load_package

sys.path.insert(0, str(Path(__file__).parent))
from neo4j_fixtures import neo4j_server, neo4j_store  # noqa: E402,F401

TODAY = date(2026, 11, 30)
ADMIN = Principal("t-admin", "admin")
COORD_S1 = Principal("t-coordinator", "coordinator", ("S1",))
COORD_S2 = Principal("t-coordinator-2", "coordinator", ("S2",))


@pytest.fixture(scope="module")
def small_demo(tmp_path_factory) -> Path:
    from ingest.demo import write_demo
    out = tmp_path_factory.mktemp("survey-demo")
    write_demo(out, parents=80, seed=5)
    return out


@pytest.fixture(params=["sqlite", "neo4j"])
def store(request, small_demo, tmp_path):
    if request.param == "sqlite":
        s = SQLiteStore(tmp_path / "store.sqlite")
    else:
        s = request.getfixturevalue("neo4j_store")
    load_package(small_demo, s, demo=True)
    yield s
    if request.param == "sqlite":
        s.close()


@pytest.fixture
def sqlite(small_demo, tmp_path):
    s = SQLiteStore(tmp_path / "store.sqlite")
    load_package(small_demo, s, demo=True)
    yield s
    s.close()


def _cohort(ds, site="S1"):
    """A cohort of `site` with at least four members who did not withdraw."""
    enr = ds.enrollments[ds.enrollments["status"] != "withdrawn"]
    sizes = enr.merge(ds.cohorts, on="cohort_id").query("site_id == @site").groupby("cohort_id").size()
    return str(sizes[sizes >= 4].index[0])


def _open(store, principal=ADMIN, *, name="pre", cohort=None, closes=TODAY + timedelta(days=14), **kw):
    ds = store.read()
    cohort = cohort or _cohort(ds)
    wave, links = survey.open_wave(store, principal, ds, name=name, cohort_ids=[cohort], opens_on=TODAY,
                                   closes_on=closes, today=TODAY, **kw)
    return ds, wave, links


def _answers(respondent, *, picks=2, recall=("Rosa Recalled",), lang="es"):
    first = respondent.wave["prompts"][0]["id"]
    named = list(respondent.roster)[:picks]
    a = survey.empty_answers()
    a.update(consent=True, lang=lang, named={first: named}, recalled={first: list(recall)},
             followups={f"p:{p}": {"talk": "weekly", "known": "1_to_3", "met": "yes"} for p in named[:1]})
    return a


def test_links_are_stored_hashed_and_open_one_respondents_survey(sqlite):
    ds, wave, links = _open(sqlite)
    assert len(links) >= 4 and len({link["token"] for link in links}) == len(links)
    raw = Path(sqlite.path).read_bytes() + (Path(f"{sqlite.path}-wal").read_bytes()
                                            if Path(f"{sqlite.path}-wal").exists() else b"")
    for link in links:
        assert link["token"].encode() not in raw, "a token is kept in the clear"
        invite = persist.get_invite(sqlite, link["invite_id"])
        assert invite["token_hash"] == hashlib.sha256(link["token"].encode()).hexdigest()
        assert len(link["token"]) >= 32
    r = survey.open_link(sqlite, ds, links[0]["token"], today=TODAY)
    assert r.invite["person_id"] == links[0]["person_id"] and r.wave["id"] == wave["id"]


def test_roster_holds_the_cohort_and_site_only(sqlite):
    ds, wave, links = _open(sqlite)
    r = survey.open_link(sqlite, ds, links[0]["token"], today=TODAY)
    people = ds.people.set_index("person_id")
    mates = set(ds.enrollments.loc[ds.enrollments["cohort_id"] == r.invite["cohort_id"], "person_id"])
    assert r.roster and links[0]["person_id"] not in r.roster
    for pid in r.roster:
        assert people.at[pid, "site_id"] == r.invite["site_id"] or pid in mates
        assert people.at[pid, "role"] != "child"
    others = set(people.index[people["site_id"] != r.invite["site_id"]]) - mates
    assert others and not others & set(r.roster)
    # cohort-mates come first
    order = list(r.roster)
    assert all(p in mates for p in order[:len(mates & set(order))])


def test_submission_writes_ties_and_a_resubmission_replaces_them(store):
    ds, wave, links = _open(store)
    token = links[0]["token"]
    r = survey.open_link(store, ds, token, today=TODAY)
    a = _answers(r)
    assert survey.submit(store, r, a, today=TODAY) == 3
    after = store.read()
    mine = survey.survey_ties(after, wave["id"], r.invite["person_id"])
    assert len(mine) == 3 and set(mine["wave"]) == {"pre"} and set(mine["observed_on"]) == {TODAY.isoformat()}
    matched = mine[mine["to_person_id"].notna()]
    assert sorted(matched["to_person_id"]) == sorted(a["named"][wave["prompts"][0]["id"]])
    free = mine[mine["to_person_id"].isna()]
    assert list(free["to_name"]) == ["Rosa Recalled"]                 # kept for the matching review, not guessed
    first = matched[matched["to_person_id"] == a["named"][wave["prompts"][0]["id"]][0]].iloc[0]
    assert (first["talk_often"], first["known_for"], first["met_through_program"]) == ("weekly", "1_to_3", "yes")
    assert store.counts().get("UnmatchedName", 0) >= 1
    # resubmission: one other person, no free recall -> exactly one tie, the unmatched name gone
    names_before = store.counts().get("UnmatchedName", 0)
    r2 = survey.open_link(store, after, token, today=TODAY)
    assert r2.submitted
    b = _answers(r2, picks=0, recall=())
    b["named"] = {wave["prompts"][1]["id"]: [list(r2.roster)[3]]}
    assert survey.submit(store, r2, b, today=TODAY + timedelta(days=1)) == 1
    again = survey.survey_ties(store.read(), wave["id"], r.invite["person_id"])
    assert len(again) == 1 and again.iloc[0]["to_person_id"] == list(r2.roster)[3]
    assert store.counts().get("UnmatchedName", 0) == names_before - 1
    invite = persist.get_invite(store, links[0]["invite_id"])
    assert invite["status"] == "submitted" and invite["submissions"] == 2


def test_a_draft_is_never_ties_and_counts_as_started(store):
    ds, wave, links = _open(store)
    r = survey.open_link(store, ds, links[1]["token"], today=TODAY)
    a = _answers(r)
    survey.save_draft(store, r, a)
    assert survey.survey_ties(store.read(), wave["id"]).empty
    again = survey.open_link(store, ds, links[1]["token"], today=TODAY)
    assert again.answers["named"] == a["named"] and again.answers["recalled"] == a["recalled"]
    p = survey.progress(store, ADMIN, wave["id"])
    assert p[["invited", "started", "submitted"]].iloc[0].tolist() == [len(links), 1, 0]
    survey.submit(store, again, again.answers, today=TODAY)
    p = survey.progress(store, ADMIN, wave["id"])
    assert p[["started", "submitted"]].iloc[0].tolist() == [0, 1]
    assert persist.get_draft(store, links[1]["invite_id"]) is None


@pytest.mark.parametrize("stage", ["answers removed", "ties written", "invitation saved"])
def test_a_failure_mid_submit_leaves_nothing_partial(store, monkeypatch, stage):
    ds, wave, links = _open(store)
    r = survey.open_link(store, ds, links[0]["token"], today=TODAY)
    survey.submit(store, r, _answers(r), today=TODAY)                 # earlier answers, to be replaced
    before_ties = survey.survey_ties(store.read(), wave["id"]).drop(columns=[]).to_dict("records")
    survey.save_draft(store, r, {**_answers(r, picks=1, recall=()), "step": 3})
    before_invite = persist.get_invite(store, links[0]["invite_id"])
    counts = store.counts()

    def cut(where):
        if where == stage:
            raise ConnectionError("connection dropped")
    monkeypatch.setattr(persist, "_checkpoint", cut)
    r = survey.open_link(store, store.read(), links[0]["token"], today=TODAY)
    with pytest.raises((ConnectionError, StoreError)):      # (the Neo4j store reports it as a StoreError)
        survey.submit(store, r, _answers(r, picks=1, recall=("Someone Else",)), today=TODAY)
    assert store.counts() == counts
    assert survey.survey_ties(store.read(), wave["id"]).to_dict("records") == before_ties
    assert persist.get_invite(store, links[0]["invite_id"]) == before_invite
    assert persist.get_draft(store, links[0]["invite_id"]) is not None


def test_expired_revoked_replaced_closed_and_unknown_links(sqlite):
    ds, wave, links = _open(sqlite, closes=TODAY + timedelta(days=3))
    with pytest.raises(survey.TokenError) as e:
        survey.open_link(sqlite, ds, links[0]["token"], today=TODAY + timedelta(days=4))
    assert e.value.reason == "expired"
    with pytest.raises(survey.TokenError) as e:
        survey.open_link(sqlite, ds, links[0]["token"], today=TODAY - timedelta(days=1))
    assert e.value.reason == "not_yet"
    survey.revoke(sqlite, ADMIN, links[0]["invite_id"])
    with pytest.raises(survey.TokenError) as e:
        survey.open_link(sqlite, ds, links[0]["token"], today=TODAY)
    assert e.value.reason == "revoked"
    new = survey.resend(sqlite, ADMIN, links[0]["invite_id"])
    assert survey.open_link(sqlite, ds, new, today=TODAY).invite["id"] == links[0]["invite_id"]
    with pytest.raises(survey.TokenError) as e:                      # the old link no longer works
        survey.open_link(sqlite, ds, links[0]["token"], today=TODAY)
    assert e.value.reason == "unknown"
    for bad in ("", "x", "A" * 32, links[1]["token"][:-1] + "?"):
        with pytest.raises(survey.TokenError):
            survey.open_link(sqlite, ds, bad, today=TODAY)
    # a link revoked while the respondent answers: the submission is refused, nothing written
    r = survey.open_link(sqlite, ds, links[1]["token"], today=TODAY)
    survey.revoke(sqlite, ADMIN, links[1]["invite_id"])
    with pytest.raises(survey.TokenError):
        survey.submit(sqlite, r, _answers(r), today=TODAY)
    survey.close_wave(sqlite, ADMIN, wave["id"])
    with pytest.raises(survey.TokenError) as e:
        survey.open_link(sqlite, ds, links[2]["token"], today=TODAY)
    assert e.value.reason == "closed"
    assert survey.survey_ties(sqlite.read(), wave["id"]).empty


def test_bad_answers_get_clear_problems_and_write_nothing(sqlite):
    ds, wave, links = _open(sqlite)
    r = survey.open_link(sqlite, ds, links[0]["token"], today=TODAY)
    first = wave["prompts"][0]["id"]
    cases = {
        "survey.error.empty": {"named": {}, "recalled": {first: ["   "]}},
        "survey.error.too_long": {"recalled": {first: ["A" * 500]}},
        "survey.error.control": {"recalled": {first: ["Ana\x00Lopez"]}},
        "survey.error.no_letters": {"recalled": {first: ["12345"]}},
        "survey.error.not_on_list": {"named": {first: ["P-NOT-ON-THE-LIST"]}},
        "survey.error.too_many": {"recalled": {first: [f"Person Number {'x' * (i % 7)} {chr(65 + i % 26)}{i}"
                                                       for i in range(40)]}},
        "survey.error.bad_answer": {"named": {first: [list(r.roster)[0]]},
                                    "followups": {f"p:{list(r.roster)[0]}": {"talk": "hourly"}}},
    }
    for key, change in cases.items():
        a = {**survey.empty_answers(), "consent": True, **change}
        with pytest.raises(survey.AnswersInvalid) as e:
            survey.submit(sqlite, r, a, today=TODAY)
        assert key in [p.key for p in e.value.problems], (key, e.value.problems)
    assert survey.survey_ties(sqlite.read(), wave["id"]).empty
    assert persist.get_invite(sqlite, links[0]["invite_id"])["status"] == "invited"


def test_a_hostile_name_is_kept_as_text_never_matched(sqlite):
    ds, wave, links = _open(sqlite)
    r = survey.open_link(sqlite, ds, links[0]["token"], today=TODAY)
    hostile = "<script>alert(1)</script>"
    survey.submit(sqlite, r, _answers(r, picks=0, recall=(hostile,)), today=TODAY)
    ties = survey.survey_ties(sqlite.read(), wave["id"])
    assert list(ties["to_name"]) == [hostile] and ties["to_person_id"].isna().all()


def test_declining_records_the_decision_and_nothing_else(store):
    ds, wave, links = _open(store)
    r = survey.open_link(store, ds, links[0]["token"], today=TODAY)
    survey.submit(store, r, _answers(r), today=TODAY)
    survey.save_draft(store, r, {**_answers(r), "step": 2})
    survey.decline(store, r)
    assert survey.survey_ties(store.read(), wave["id"]).empty
    invite = persist.get_invite(store, links[0]["invite_id"])
    assert invite["status"] == "declined" and invite["consent"] == "no"
    assert persist.get_draft(store, links[0]["invite_id"]) is None
    assert survey.progress(store, ADMIN, wave["id"])["declined"].iloc[0] == 1


def test_coordinators_run_surveys_only_for_their_sites(sqlite):
    ds = sqlite.read()
    s1, s2 = _cohort(ds, "S1"), _cohort(ds, "S2")
    assert set(survey.cohorts_for(COORD_S1, ds)["site_id"]) == {"S1"}
    with pytest.raises(PermissionError):
        survey.open_wave(sqlite, COORD_S1, ds, name="pre", cohort_ids=[s2], opens_on=TODAY,
                         closes_on=TODAY + timedelta(days=7), today=TODAY)
    for role in ("evaluator", "funder"):
        with pytest.raises(PermissionError):
            survey.open_wave(sqlite, Principal(f"t-{role}", role), ds, name="pre", cohort_ids=[s1],
                             opens_on=TODAY, closes_on=TODAY + timedelta(days=7), today=TODAY)
    _ds, w1, _l1 = _open(sqlite, COORD_S1, cohort=s1)
    _ds, w2, l2 = _open(sqlite, ADMIN, cohort=s2)
    assert [w["id"] for w in survey.waves_for(sqlite, COORD_S1)] == [w1["id"]]
    assert {w["id"] for w in survey.waves_for(sqlite, ADMIN)} == {w1["id"], w2["id"]}
    for action in (lambda: survey.progress(sqlite, COORD_S1, w2["id"]),
                   lambda: survey.invitees(sqlite, COORD_S1, ds, w2["id"]),
                   lambda: survey.resend(sqlite, COORD_S1, l2[0]["invite_id"]),
                   lambda: survey.revoke(sqlite, COORD_S1, l2[0]["invite_id"]),
                   lambda: survey.close_wave(sqlite, COORD_S1, w2["id"])):
        with pytest.raises(PermissionError):
            action()
    assert set(survey.invitees(sqlite, COORD_S2, ds, w2["id"])["cohort"]) == {s2}
    # the audit log says what happened, never a token or a name
    log = sqlite.read_audit(action="survey_opened", limit=10)
    assert len(log) == 2 and not any(link["token"] in str(log) for link in _l1)


def test_wave_settings_are_checked(sqlite):
    ds = sqlite.read()
    c = _cohort(ds)
    base = dict(name="pre", cohort_ids=[c], opens_on=TODAY, closes_on=TODAY + timedelta(days=7), today=TODAY)
    for change, words in (({"name": "<b>pre</b>"}, "name"), ({"closes_on": TODAY - timedelta(days=1)}, "close"),
                          ({"cohort_ids": []}, "cohort"), ({"cohort_ids": ["NOPE"]}, "unknown cohort"),
                          ({"prompts": []}, "prompt"), ({"prompts": [{"id": "mine"}]}, "question"),
                          ({"prompts": ["school", "school"]}, "twice"), ({"languages": []}, "language")):
        with pytest.raises(survey.SurveyError, match=words):
            survey.open_wave(sqlite, ADMIN, ds, **{**base, **change})
    survey.open_wave(sqlite, ADMIN, ds, **base)
    with pytest.raises(survey.SurveyError, match="already open"):
        survey.open_wave(sqlite, ADMIN, ds, **base)
    custom = {"id": "church", "text": {"en": "Who do you see at church?", "es": "¿A quién ve en la iglesia?"}}
    wave, _ = survey.open_wave(sqlite, ADMIN, ds, **{**base, "name": "post", "prompts": ["school", custom]})
    assert survey.prompt_text(wave["prompts"][1], "es") == "¿A quién ve en la iglesia?"
    assert survey.prompt_text(wave["prompts"][0], "es").startswith("¿Con quién habla")


def test_a_pre_and_a_post_wave_give_the_same_respondent_comparison(sqlite):
    """Respondents of both waves are the panel queries/panel.py follows; the post wave shows the pre
    wave's names to keep or drop."""
    from queries import panel
    ds, pre, links = _open(sqlite, name="pre")
    for link in links[:4]:
        r = survey.open_link(sqlite, ds, link["token"], today=TODAY)
        survey.submit(sqlite, r, _answers(r, picks=1, recall=()), today=TODAY)
    survey.close_wave(sqlite, ADMIN, pre["id"])
    later = TODAY + timedelta(days=120)
    ds = sqlite.read()
    post, post_links = survey.open_wave(sqlite, ADMIN, ds, name="post", cohort_ids=pre["cohort_ids"], opens_on=later,
                                        closes_on=later + timedelta(days=10), today=later)
    for link in post_links[:3]:
        r = survey.open_link(sqlite, ds, link["token"], today=later)
        assert [p["key"] for p in r.previous] == [f"p:{list(r.roster)[0]}"]        # last time's name, to keep
        survey.submit(sqlite, r, _answers(r, picks=3, recall=()), today=later)
    ds = sqlite.read()
    both = {link["person_id"] for link in links[:4]} & {link["person_id"] for link in post_links[:3]}
    assert panel.wave_pair(ds.ties["wave"]) == ("pre", "post")
    c = panel.wave_comparison(ds, "pre", "post", people=both, n_boot=50)
    assert c["respondents"]["both"] == len(both) == 3
    table = panel.cohort_wave_comparisons(ds, n_boot=20)
    row = table[table["cohort"] == pre["cohort_ids"][0]]
    assert not row.empty and (row["respondents_both"] >= 3).all()


def test_the_bridging_page_shows_the_same_respondent_change_from_a_pre_and_a_post_wave(tmp_path, monkeypatch):
    """A package with no ties at all: every tie the Bridging page compares comes from the two survey waves."""
    from ingest.demo import write_demo
    from app_session import ensure_accounts, signed_in_app
    from dashboard import data
    folder = tmp_path / "package"
    write_demo(folder, parents=60, seed=3)
    header = (folder / "ties.csv").read_text(encoding="utf-8").splitlines()[0]
    (folder / "ties.csv").write_text(header + "\n", encoding="utf-8")
    uri = f"sqlite:///{tmp_path / 'store.sqlite'}"
    with SQLiteStore(tmp_path / "store.sqlite") as store:
        load_package(folder, store, demo=True)
        ds = store.read()
        assert ds.ties.empty
        cohort = _cohort(ds)
        pre, links = survey.open_wave(store, ADMIN, ds, name="pre", cohort_ids=[cohort], opens_on=TODAY,
                                      closes_on=TODAY + timedelta(days=7), today=TODAY)
        for link in links:
            r = survey.open_link(store, ds, link["token"], today=TODAY)
            survey.submit(store, r, _answers(r, picks=2, recall=()), today=TODAY)
        survey.close_wave(store, ADMIN, pre["id"])
        later = TODAY + timedelta(days=100)
        post, post_links = survey.open_wave(store, ADMIN, ds, name="post", cohort_ids=[cohort], opens_on=later,
                                            closes_on=later + timedelta(days=7), today=later)
        for link in post_links:
            r = survey.open_link(store, store.read(), link["token"], today=later)
            assert r.previous, "the pre wave's names are offered to keep or drop"
            survey.submit(store, r, _answers(r, picks=4, recall=()), today=later)
    n = len(links)
    monkeypatch.setenv("CIVICTIES_STORE", uri)
    data._open.clear()
    data._ensure_data.clear()
    ensure_accounts(uri)
    at = signed_in_app("admin", timeout=300)
    at.run()
    at.switch_page("dashboard/pages/bridging.py").run()
    assert not at.exception, [e.value for e in at.exception]
    said = " ".join(m.value for m in at.markdown)
    assert f"**{n}** people answered both the pre ({n} respondents) and the post survey ({n})" in said
    panels = [df.value for df in at.dataframe if "both" in df.value.columns]
    assert panels and cohort in set(panels[0]["cohort"])
    assert panels[0].set_index("cohort").at[cohort, "both"].iloc[0] == f"{n:,}"
    data._open.clear()
    data._ensure_data.clear()


def test_translations_are_complete_and_a_program_can_extend_them(tmp_path, monkeypatch):
    import tomllib

    from dashboard import i18n

    def keys(path):
        with open(path, "rb") as f:
            return set(i18n._flatten(tomllib.load(f)))
    assert keys(i18n.BUILTIN / "en.toml") == keys(i18n.BUILTIN / "es.toml")
    for prompt in survey.DEFAULT_PROMPTS:
        assert i18n.t(f"prompts.{prompt}", "es") != i18n.t(f"prompts.{prompt}", "en")
    for q, options in survey.FOLLOWUPS.items():
        for o in options:
            assert i18n.t(f"survey.followup.{q}_options.{o}", "es") != f"survey.followup.{q}_options.{o}"
    monkeypatch.setenv("CIVICTIES_DATA_DIR", str(tmp_path))
    (tmp_path / "locales").mkdir()
    (tmp_path / "locales" / "es.toml").write_text('[survey]\ntitle = "Su red"\n', encoding="utf-8")
    (tmp_path / "locales" / "vi.toml").write_text('[language]\nname = "Tiếng Việt"\n[survey]\nnext = "Tiếp"\n',
                                                  encoding="utf-8")
    i18n.reload()
    try:
        assert i18n.t("survey.title", "es") == "Su red" and i18n.t("survey.next", "es") == "Siguiente"
        assert i18n.languages()["vi"] == "Tiếng Việt"
        assert i18n.t("survey.next", "vi") == "Tiếp" and i18n.t("survey.back", "vi") == "Back"   # English fallback
    finally:
        monkeypatch.undo()
        i18n.reload()


def test_a_link_carries_nothing_of_another_respondents_answers(sqlite):
    ds, wave, links = _open(sqlite)
    a = survey.open_link(sqlite, ds, links[0]["token"], today=TODAY)
    survey.submit(sqlite, a, _answers(a, recall=("Rosa Recalled",)), today=TODAY)
    b_draft = survey.open_link(sqlite, ds, links[1]["token"], today=TODAY)
    survey.save_draft(sqlite, b_draft, {**_answers(b_draft, recall=("Bea Drafted",)), "step": 2})
    c = survey.open_link(sqlite, sqlite.read(), links[2]["token"], today=TODAY)
    everything = repr((c.invite, c.wave, c.roster, c.previous, c.answers))
    assert "Rosa Recalled" not in everything and "Bea Drafted" not in everything
    assert c.answers == survey.empty_answers() and c.previous == []
    assert links[0]["invite_id"] not in everything and a.invite["token_hash"] not in everything
