"""The signed-in session in the dashboard: who it is, sign-in, sign-out, timeouts, an admin's "view as".

The principal lives in Streamlit's server-side session state under a key no widget uses, so the browser can
never set it; it is set only by a successful sign-in here. Every run of the app:

1. `current()` re-reads the account from the store (a disabled account, a changed role, a demo account once
   real data is loaded take effect at once) and ends the session after CIVICTIES_SESSION_IDLE_SECONDS without
   activity or CIVICTIES_SESSION_MAX_SECONDS after sign-in;
2. without a principal only the sign-in page runs (streamlit_app.py): no loader runs, no data leaves the server.

A session is one browser tab's connection: reloading the page signs out (local accounts), while single
sign-on (`st.login`, an `[auth]` block in .streamlit/secrets.toml) keeps its identity in Streamlit's cookie and
maps it to an account again on each new connection.
"""
from __future__ import annotations

import time

import streamlit as st

from civicties import settings
from dashboard import accounts, data
from dashboard.accounts import ALL_SITES, Principal, SignInError

__all__ = ["KEY", "current", "signed_in", "require_admin", "effective", "sign_in", "sign_out", "signin_page", "sso_providers", "expiry_watch",
           "source_address", "view_as_selector"]

KEY = "_civicties_session"           # {principal, signed_in, last_seen}; no widget uses this key
_NOTICE = "_civicties_signin_notice"  # why the last session ended, shown on the sign-in page


def source_address() -> str | None:
    """The network address of the browser (for the audit log and per-address lockout)."""
    try:
        address = st.context.ip_address
    except Exception:  # noqa: BLE001 - not available in every context
        return None
    return address if isinstance(address, str) else None     # (AppTest has none)


def sign_in(principal: Principal) -> None:
    now = time.time()
    st.session_state[KEY] = {"principal": principal, "signed_in": now, "last_seen": now}
    st.session_state.pop("view_as_role", None)


def sign_out(reason: str | None = None, *, audit_action: str = "signout") -> None:
    """End the session (and the single-sign-on cookie); the sign-in page shows `reason`."""
    session = st.session_state.pop(KEY, None)
    st.session_state.pop("view_as_role", None)
    if reason:
        st.session_state[_NOTICE] = reason
    if session:
        p = session["principal"]
        try:
            accounts.audit(data.get_store(), p.username, audit_action, role=p.role, source=source_address())
        except Exception:  # noqa: BLE001 - signing out must work even when the store is down
            pass
        if p.method == "sso" and _sso_logged_in():
            st.logout()


def current(*, touch: bool = True) -> Principal | None:
    """The signed-in principal as the account stands now, or None (after ending an expired session)."""
    session = st.session_state.get(KEY)
    if session is None:
        return _from_sso()
    now = time.time()
    idle, most = (settings.get_int("CIVICTIES_SESSION_IDLE_SECONDS"), settings.get_int("CIVICTIES_SESSION_MAX_SECONDS"))
    if now - session["last_seen"] > idle:
        sign_out("You were signed out after a while without activity. Sign in again to go on.",
                 audit_action="session_expired")
        return None
    if now - session["signed_in"] > most:
        sign_out("Your session reached its maximum length. Sign in again to go on.", audit_action="session_expired")
        return None
    fresh = accounts.refresh(data.get_store(), session["principal"])
    if fresh is None:
        sign_out("Your account was disabled or changed, or the demo ended. Sign in again.",
                 audit_action="session_ended")
        return None
    session["principal"] = fresh
    if touch:
        session["last_seen"] = now
    return fresh


def signed_in() -> Principal | None:
    """The signed-in principal (an admin stays an admin while viewing as another role)."""
    session = st.session_state.get(KEY)
    return session["principal"] if session else None


def require_admin() -> Principal:
    """The signed-in admin, or stop the page with a message."""
    p = signed_in()
    if p is None or not p.is_admin:
        st.error("This page is for admins.")
        st.stop()
    return p


def effective(principal: Principal) -> Principal:
    """The principal the pages shape data for: an admin's "view as" choice (read from its widgets before they
    are drawn, so the choice applies to this very run), else the principal itself."""
    role = st.session_state.get("view_as_role")
    if not principal.is_admin or role in (None, "admin"):
        return principal
    sites = tuple(st.session_state.get("view_as_sites") or ()) if role == "coordinator" else (ALL_SITES,)
    if role == "coordinator" and not sites:
        sites = tuple(data.site_ids()[:1])
    return principal.view_as(role, sites)


def view_as_selector(principal: Principal) -> None:
    """Sidebar control for admins: see the dashboard as a coordinator of some sites, an evaluator or a funder."""
    if not principal.is_admin:
        return
    role = st.session_state.get("view_as_role")
    with st.sidebar.expander("View as another role", expanded=role not in (None, "admin")):
        role = st.selectbox("Role", accounts.ROLES, key="view_as_role", format_func=str.capitalize,
                            help="Check what others see: the data is shaped for that role, exactly as for them.")
        if role == "coordinator":
            site_ids = data.site_ids()
            st.multiselect("Sites", site_ids, default=site_ids[:1], key="view_as_sites")


def expiry_watch() -> None:
    """Ends an idle session even when nobody clicks: a small fragment checks every so often and sends the
    browser back to the sign-in page once the session has expired."""
    idle = settings.get_int("CIVICTIES_SESSION_IDLE_SECONDS")
    every = max(2.0, min(60.0, idle / 3))

    @st.fragment(run_every=every)
    def _watch():
        session = st.session_state.get(KEY)
        if session is None:
            st.rerun(scope="app")
        if time.time() - session["last_seen"] > idle or \
                time.time() - session["signed_in"] > settings.get_int("CIVICTIES_SESSION_MAX_SECONDS"):
            st.rerun(scope="app")      # current() then signs out, with the reason
    _watch()


# -- single sign-on ----------------------------------------------------------------------------------------

def sso_providers() -> list[str]:
    """The OIDC providers configured in .streamlit/secrets.toml [auth] ([] when none: local accounts only).
    One provider at [auth] itself gives [""]; named ones ([auth.google], [auth.microsoft]) give their names."""
    try:
        auth = st.secrets.get("auth")
    except Exception:  # noqa: BLE001 - no secrets.toml at all
        return []
    if not auth:
        return []
    named = [k for k, v in auth.items() if hasattr(v, "keys") and "client_id" in v]
    return named or ([""] if "client_id" in auth else [])


def _sso_logged_in() -> bool:
    try:
        return bool(st.user.is_logged_in)
    except Exception:  # noqa: BLE001 - no auth configured
        return False


def _from_sso() -> Principal | None:
    """A new connection of someone signed in with single sign-on: map the verified email to an account."""
    if not sso_providers() or not _sso_logged_in():
        return None
    claims = st.user.to_dict() if hasattr(st.user, "to_dict") else dict(st.user)
    try:
        principal = accounts.principal_for_email(data.get_store(), claims.get("email"),
                                                 verified=claims.get("email_verified"), source=source_address())
    except SignInError as e:
        st.session_state[_NOTICE] = str(e)
        return None
    sign_in(principal)
    return principal


# -- the sign-in page --------------------------------------------------------------------------------------

def signin_page() -> None:
    """The only page an anonymous visitor gets: sign in, or (on the demo) pick a demo account."""
    st.title("Civic Ties")
    notice = st.session_state.pop(_NOTICE, None)
    if notice:
        st.warning(notice)
    store = data.prepare_store()
    demo = accounts.is_demo_store(store)
    left, right = st.columns([3, 2], gap="large")
    with left:
        st.subheader("Sign in")
        with st.form("signin", clear_on_submit=False, enter_to_submit=True):
            username = st.text_input("Username", key="signin_username", autocomplete="username")
            password = st.text_input("Password", type="password", key="signin_password",
                                     autocomplete="current-password")
            submitted = st.form_submit_button("Sign in", type="primary")
        if submitted:
            try:
                principal = accounts.authenticate(store, username, password, source=source_address())
            except SignInError as e:
                st.error(str(e))
            else:
                sign_in(principal)
                st.session_state.pop("signin_password", None)
                st.rerun()
        for provider in sso_providers():
            label = f"Sign in with {provider.capitalize()}" if provider else "Sign in with your organisation"
            if st.button(label, key=f"sso_{provider or 'default'}"):
                st.login(provider) if provider else st.login()
        if _sso_logged_in() and st.session_state.get(KEY) is None:
            if st.button("Sign out of your organisation's account", key="sso_logout"):
                st.logout()
    with right:
        if demo:
            st.subheader("Demo network")
            st.info("This store holds only the **generated demo network**: invented people, no real family. "
                    "Try each role with one click. Demo sign-in turns off as soon as real data is loaded.")
            for role in accounts.ROLES:
                if st.button(f"Demo {role}", key=f"demo_{role}", help=accounts.ROLE_HELP[role],
                             width="stretch"):
                    try:
                        sign_in(accounts.demo_principal(store, role, source=source_address()))
                    except SignInError as e:
                        st.error(str(e))
                    else:
                        st.rerun()
        elif not store.list_accounts():
            st.subheader("First start")
            st.info("This store holds data but no account yet. On the server, create the first admin:\n\n"
                    "`civicties users add YOUR-NAME --role admin`\n\n(it asks for a password), then sign in here. "
                    "(A demo network loaded by an earlier version counts as data: `civicties reset --yes` "
                    "empties the store, and the next start loads the demo with its demo accounts.)")
        else:
            st.caption("Accounts are managed by your program's admin. Forgot your password? Ask them to reset it.")
