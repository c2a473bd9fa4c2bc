"""Civic Ties dashboard: the navigation, and the sidebar every page shares. Run: streamlit run streamlit_app.py"""
import streamlit as st

from dashboard import common

st.set_page_config(page_title="Civic Ties", layout="wide")
page = st.navigation([
    st.Page("dashboard/pages/overview.py", title="Overview", default=True),
    st.Page("dashboard/pages/bridging.py", title="Bridging and tie formation", url_path="bridging"),
    st.Page("dashboard/pages/explorer.py", title="Network explorer", url_path="explorer"),
    st.Page("dashboard/pages/outreach.py", title="Outreach", url_path="outreach"),
    st.Page("dashboard/pages/pipeline.py", title="Pipeline to seats", url_path="pipeline"),
    st.Page("dashboard/pages/data.py", title="Data", url_path="data"),
])
common.sidebar()
page.run()
