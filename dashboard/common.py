"""What every page shares: the sidebar (who is signed in, sign-out, store in use), the principal the page
shapes its data for, number formats, and showing expected problems as messages instead of tracebacks."""
from __future__ import annotations

import math

import streamlit as st

from dashboard import accounts, data, session
from dashboard.accounts import Principal
from graph.errors import StoreError
from queries.errors import QueryError

__all__ = ["sidebar", "principal", "load", "count", "share", "p_value", "store_caption"]


def sidebar(signed_in: Principal, shown: Principal) -> None:
    """Who is signed in, an admin's "view as", sign-out, and the store in use: drawn once for every page."""
    bar = st.sidebar
    bar.markdown(f"Signed in as **{signed_in.username}** ({signed_in.role})"
                 + (" · demo account" if signed_in.demo else ""))
    if shown is not signed_in:
        bar.warning(f"Viewing as **{shown.role}**"
                    + (f" of {', '.join(shown.site_scope)}" if shown.site_scope else "") + ". "
                    + accounts.ROLE_HELP[shown.role])
    else:
        bar.caption(accounts.ROLE_HELP[shown.role]
                    + (f" Sites: {', '.join(shown.site_scope)}." if shown.site_scope else ""))
    session.view_as_selector(signed_in)
    if bar.button("Sign out", key="signout"):
        session.sign_out("You are signed out.")
        st.rerun()
    if signed_in.is_admin:
        try:
            info = data.store_info()
        except StoreError as e:
            bar.error(f"The store cannot be opened: {e}")
            return
        bar.caption(f"Store: `{info['label']}`" + (" (demo network)" if info["demo"] else ""))


def principal() -> Principal:
    """The principal this page shapes its data for (set by streamlit_app.py; a page never runs without one)."""
    p = st.session_state.get(_SHOWN)
    if not isinstance(p, Principal):
        st.error("Sign in first.")
        st.stop()
    return p


_SHOWN = "_civicties_shown_principal"


def set_principal(p: Principal) -> None:
    st.session_state[_SHOWN] = p


def load(loader, *args, **kwargs):
    """Call a data loader; show an expected problem (store unreachable, bad input) and stop the page."""
    try:
        return loader(*args, **kwargs)
    except StoreError as e:
        st.error(f"The store cannot be read: {e}\n\nCheck CIVICTIES_STORE (or NEO4J_URI) and that the "
                 "database is running, then reload the page.")
    except QueryError as e:
        st.error(f"This view cannot be computed on the data in the store: {e}")
    st.stop()


def count(value) -> str:
    """A count for display: 1,234, or the suppression label ('<10') as it came."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "–"
    return value if isinstance(value, str) else f"{int(value):,}"


def share(value) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "–"
    return f"{value:.0%}"


def p_value(value) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "–"
    return "< 0.001" if value < 0.001 else f"{value:.3f}"


def p_phrase(value) -> str:
    """'p < 0.001' or 'p = 0.012', for a sentence."""
    text = p_value(value)
    return f"p {text}" if text.startswith("<") else f"p = {text}"


def store_caption() -> None:
    """One line saying where the page's numbers come from (the store's address for admins only)."""
    try:
        info = data.store_info()
    except StoreError:
        return
    if principal().role == "admin":
        st.caption(f"Numbers from the store `{info['label']}`" + (", holding the demo network." if info["demo"] else "."))
    elif info["demo"]:
        st.caption("Numbers from the generated demo network (invented people).")
