"""Civic Ties dashboard: sign-in, then the pages the signed-in role may open. Run: streamlit run streamlit_app.py

Nothing but the sign-in page runs until someone is signed in (dashboard/session.py); the role and sites come
from the account, and every loader shapes its data for them (dashboard/data.py).
"""
import streamlit as st

from dashboard import common, session

# A personal survey link (?survey=TOKEN) runs the respondent's page alone, before and apart from sign-in: it
# signs nobody in and shows nothing but that one survey (dashboard/survey_page.py).
if st.query_params.get("survey") is not None:
    from dashboard import survey_page
    st.set_page_config(page_title="Survey", layout="centered", initial_sidebar_state="collapsed")
    survey_page.render(st.query_params.get("survey") or "")
    st.stop()

st.set_page_config(page_title="Civic Ties", layout="wide")

URL_PATHS = ("bridging", "explorer", "outreach", "family", "pipeline", "data", "surveys", "records", "matching",
             "accounts", "audit")

signed_in = common.load(session.current)
if signed_in is None:
    # Every page's address answers with the sign-in page (a bookmark opens that page after signing in).
    st.navigation([st.Page(session.signin_page, title="Sign in", url_path="signin", default=True)]
                  + [st.Page(session.signin_page, title="Sign in", url_path=path) for path in URL_PATHS],
                  position="hidden").run()
    st.stop()

shown = session.effective(signed_in)
common.set_principal(shown)
pages = [
    st.Page("dashboard/pages/overview.py", title="Overview", default=True),
    st.Page("dashboard/pages/bridging.py", title="Bridging and tie formation", url_path="bridging"),
    st.Page("dashboard/pages/explorer.py", title="Network explorer", url_path="explorer"),
    st.Page("dashboard/pages/outreach.py", title="Outreach", url_path="outreach"),
    st.Page("dashboard/pages/pipeline.py", title="Pipeline to seats", url_path="pipeline"),
    st.Page("dashboard/pages/data.py", title="Data", url_path="data"),
]
if signed_in.role in ("admin", "coordinator"):
    pages += [st.Page("dashboard/pages/family.py", title="Family card", url_path="family"),
              st.Page("dashboard/pages/surveys.py", title="Surveys", url_path="surveys"),
              st.Page("dashboard/pages/records.py", title="Records", url_path="records"),
              st.Page("dashboard/pages/matching.py", title="Matching", url_path="matching")]
if signed_in.is_admin:
    pages += [st.Page("dashboard/pages/accounts.py", title="Accounts", url_path="accounts"),
              st.Page("dashboard/pages/audit.py", title="Audit log", url_path="audit")]
page = st.navigation(pages)
common.sidebar(signed_in, shown)
session.expiry_watch()
page.run()
common.stale_notice()
