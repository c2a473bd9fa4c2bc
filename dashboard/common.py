"""What every page shares: the sidebar (who is signed in, sign-out, store in use), the principal the page
shapes its data for, number formats, and showing expected problems as messages instead of tracebacks."""
from __future__ import annotations

import math

import streamlit as st

from dashboard import accounts, analyses, data, session
from dashboard.accounts import Principal
from graph.errors import StoreError
from queries.errors import QueryError

__all__ = ["sidebar", "principal", "load", "all_hidden", "count", "share", "p_value", "store_caption", "show_findings", "glossary",
           "interval"]

GLOSSARY = """
**Tie.** One person named another in a survey wave and the name matched a person in the roster
(`to_person_id`). Names that matched nobody are kept in the data but are not ties.

**Ties (a count).** Unless a page says otherwise: pairs of people, counted once, where either named the
other (the *union* network), over all waves. *Per wave*, the same within that wave's answers: a pair tied in
two waves counts once in each, so the waves add up to more than the total. *Rows* on the Data page are lines of
the ties file: one per person named per wave, unmatched names included.

**Respondent.** Someone who named at least one person in a wave (someone who answered but named nobody is not
in the data). **Answered both** = a respondent of both waves compared: the *same-respondent* (panel)
comparison follows only them.

**Cross-group share.** Of the ties between two people whose group (race/ethnicity, or income band for class)
is recorded, the share that join two groups. **E-I index** = (across − within) / all = 2 × share − 1: −1 all
within groups, +1 all across.

**Expected (random mixing).** The same people and ties with group labels shuffled 1,000 times: what chance
alone would give. **p** = how often chance did at least as well; **q** = the same corrected for the many
cohorts tested at once (Benjamini–Hochberg). **95% interval** = bootstrap over respondents.
"""


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
    analyses.stale_note()                       # a new run: forget the last run's notes (threads are reused)
    if signed_in.may("record_contact"):
        data.warm_up(signed_in)                 # staff pages that need the data itself: read it now, once
    try:
        state = analyses.status(data.get_store())
    except StoreError:
        state = {}
    if state.get("state") == "running":
        bar.info(f"Updating the analyses for the newest data: {state.get('done', 0)} of {state.get('total', '?')} "
                 "done. Until then, pages may show the previous results (labelled).")
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


def stale_notice() -> None:
    """After a page has run: say so where it showed analyses of the previous data version."""
    notes = analyses.stale_note()
    if notes:
        st.sidebar.warning("This page shows the previous version of: " + ", ".join(sorted(notes))
                           + ". The newest data's analyses are being computed; reload the page in a minute.")


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


def show_findings(items) -> None:
    """A page's opening sentences (queries.findings), each linked to the figure that supports it."""
    if not items:
        return
    lines = [f"- {f.text}" + (f" [See the figure.](#{f.anchor})" if f.anchor else "") for f in items]
    st.info("\n".join(lines))


def glossary() -> None:
    """What the page's words and counts mean (one definition of a tie for every page)."""
    with st.expander("What the numbers mean"):
        st.markdown(GLOSSARY)


def interval(ci, *, points: bool = False) -> str:
    """A 95% interval as text: '31%–37%', or '+34 to +45 pts' for a change."""
    if not ci or ci[0] is None:
        return "–"
    if points:
        return f"{100 * ci[0]:+.0f} to {100 * ci[1]:+.0f} pts"
    return f"{ci[0]:.0%}–{ci[1]:.0%}"


def all_hidden(values) -> bool:
    """Whether every count of a chart is suppressed (then the page says so in words instead of a chart)."""
    values = [v for v in values if v is not None and v == v]
    return bool(values) and all(isinstance(v, str) for v in values)


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
