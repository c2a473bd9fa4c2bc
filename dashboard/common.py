"""What every page shares: the sidebar (audience, store in use), number formats, and showing expected
problems as messages instead of tracebacks."""
from __future__ import annotations

import math

import streamlit as st

from dashboard import data
from graph.errors import StoreError
from queries.errors import QueryError

__all__ = ["AUDIENCE_HELP", "sidebar", "audience", "load", "count", "share", "p_value", "store_caption"]

AUDIENCE_HELP = {
    "coordinator": "Coordinator: everything, with names (to call families and plan cohorts).",
    "evaluator": "Evaluator: the same analyses with pseudonyms instead of names.",
    "funder": "Funder: totals and shares only; counts under the privacy threshold are hidden.",
}


def sidebar() -> None:
    """The audience selector and the store in use, drawn once for every page."""
    st.sidebar.selectbox("Who is looking?", data.AUDIENCES, key="audience",
                         format_func=lambda a: a.capitalize(), help="\n\n".join(AUDIENCE_HELP.values()))
    st.sidebar.caption(AUDIENCE_HELP[audience()])
    try:
        info = data.store_info()
    except StoreError as e:
        st.sidebar.error(f"The store cannot be opened: {e}")
        return
    st.sidebar.caption(f"Store: `{info['label']}`" + (" (demo network)" if info["demo"] else ""))


def audience() -> str:
    """The audience chosen in the sidebar (coordinator until someone picks another)."""
    value = st.session_state.get("audience")
    return value if value in data.AUDIENCES else data.AUDIENCES[0]


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
    """One line saying which store the page's numbers come from."""
    try:
        info = data.store_info()
    except StoreError:
        return
    st.caption(f"Numbers from the store `{info['label']}`" + (", holding the demo network." if info["demo"] else "."))
