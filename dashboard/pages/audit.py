"""Audit log (admins): sign-ins, failures, sign-outs, data loads, downloads, contacts recorded, account changes."""
import pandas as pd
import streamlit as st

from dashboard import accounts, common, data, session

session.require_admin()
store = common.load(data.get_store)
st.title("Audit log")
st.markdown("Who did what and when, newest first. The log holds usernames, actions and row counts, never the "
            "names or contact details of families. `civicties audit` prints the same on the server.")
left, mid, right = st.columns(3)
actions = ["signin", "signin_failed", "signin_refused", "signout", "session_expired", "session_ended", "data_load",
           "download", "export", "contact_recorded", "account_created", "account_changed"]
action = left.selectbox("Action", [None] + actions, format_func=lambda a: "every action" if a is None else a,
                        key="audit_action")
actor = mid.text_input("User", key="audit_actor", placeholder="every user")
limit = right.select_slider("Entries", [50, 200, 1000, 5000], value=200, key="audit_limit")
entries = common.load(accounts.read_audit, store, action=action, actor=actor.strip().lower() or None, limit=limit)
frame = pd.DataFrame(entries, columns=["at", "actor", "role", "action", "target", "rows", "source", "detail"])
frame["at"] = frame["at"].str.slice(0, 19).str.replace("T", " ")
st.dataframe(frame, hide_index=True, width="stretch")
st.caption(f"{len(frame):,} entries shown (times in UTC).")
