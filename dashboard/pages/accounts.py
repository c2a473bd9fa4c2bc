"""Accounts (admins): who may sign in, with which role and sites; add, change, disable, reset a password."""
import pandas as pd
import streamlit as st

from dashboard import accounts, common, data, session
from dashboard.accounts import AccountError

admin = session.require_admin()
store = common.load(data.get_store)
st.title("Accounts")
st.markdown("Each account has one role and, for coordinators, the sites whose families they may see. "
            "Changes take effect on the person's next click. The same is possible on the server with "
            "`civicties users`.")
flash = st.session_state.pop("accounts_flash", None)
if flash:
    st.success(flash)

rows = common.load(store.list_accounts)
table = pd.DataFrame([{"username": a["username"], "role": a["role"], "sites": ", ".join(a.get("sites") or []),
                       "email": a.get("email") or "", "status": "disabled" if a.get("disabled") else "enabled",
                       "demo": "yes" if a.get("demo") else "", "password": "set" if a.get("password_hash") else "—",
                       "changed": (a.get("updated_at") or "")[:16].replace("T", " ")} for a in rows])
st.dataframe(table, hide_index=True, width="stretch")
site_ids = sorted(str(s) for s in data.site_ids())


def _done(message: str) -> None:
    st.session_state["accounts_flash"] = message
    st.rerun()


left, right = st.columns(2, gap="large")
with left:
    st.subheader("Add an account")
    with st.form("add_account", clear_on_submit=True):
        username = st.text_input("Username (or email address)", key="new_username")
        role = st.selectbox("Role", accounts.ROLES, index=1, key="new_role", format_func=str.capitalize)
        sites = st.multiselect("Sites (coordinators; empty: every site for other roles)", site_ids, key="new_sites")
        email = st.text_input("Email for single sign-on (optional)", key="new_email")
        password = st.text_input("Password", type="password", key="new_password",
                                 help="Leave empty for single sign-on only.")
        if st.form_submit_button("Add account", type="primary"):
            try:
                accounts.add_account(store, username, role, sites=sites, password=password or None,
                                     email=email or None, actor=admin.username)
            except AccountError as e:
                st.error(str(e))
            else:
                _done(f"Added {username.strip().lower()} ({role}).")
with right:
    st.subheader("Change an account")
    names = [a["username"] for a in rows if not a.get("demo")]
    if not names:
        st.info("No account to change yet.")
    else:
        who = st.selectbox("Account", names, key="edit_username")
        account = next(a for a in rows if a["username"] == who)
        with st.form("edit_account"):
            role = st.selectbox("Role", accounts.ROLES, index=accounts.ROLES.index(account["role"]),
                                key=f"edit_role_{who}", format_func=str.capitalize)
            current_sites = [s for s in account.get("sites") or [] if s in site_ids]
            sites = st.multiselect("Sites", site_ids, default=current_sites, key=f"edit_sites_{who}")
            enabled = st.checkbox("Enabled", value=not account.get("disabled"), key=f"edit_enabled_{who}")
            password = st.text_input("New password (leave empty to keep)", type="password", key=f"edit_password_{who}")
            if st.form_submit_button("Save changes"):
                if who == admin.username and (role != "admin" or not enabled):
                    st.error("You cannot remove your own admin role or disable yourself; ask another admin.")
                else:
                    try:
                        accounts.update_account(store, who, actor=admin.username, role=role,
                                                sites=sites or None, disabled=not enabled)
                        if password:
                            accounts.set_password(store, who, password, actor=admin.username)
                    except AccountError as e:
                        st.error(str(e))
                    else:
                        _done(f"Saved {who}.")
