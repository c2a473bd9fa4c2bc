"""Family card: one family on one page. Its parents and children, cohorts, events, home visits, ties (who
they know, who could introduce them), seats and the contacts recorded with them (coordinators, admins)."""
import streamlit as st

from dashboard import common
from dashboard import family as family_data

principal = common.principal()
st.title("Family card")
common.store_caption()
if not family_data.may_open(principal):
    st.info("Family cards are for coordinators and admins.")
    st.stop()

ids = common.load(family_data.family_ids, principal)
if not ids:
    st.info("No family of your sites is on record.")
    st.stop()
wanted = st.session_state.pop("family_card", None) or st.query_params.get("family")
if wanted in ids:
    st.session_state["family_pick"] = wanted
family_id = st.selectbox("Family (type to search)", ids, key="family_pick")
card = common.load(family_data.load_family, principal, family_id)
if card is None:
    st.error("That family is not one of your sites' families.")
    st.stop()

row = card["outreach"]
st.subheader(f"{family_id}" + (f" · site {card['site_id']}" if card["site_id"] else ""))
if row is None:
    st.success("Not on the call list: no reason to reach out right now.")
else:
    st.markdown(f"On the call list: **{row['tier']}** — {row['reasons']}.")


def _table(title: str, frame, empty: str) -> None:
    st.markdown(f"**{title}**")
    if frame is None or frame.empty:
        st.caption(empty)
    else:
        st.dataframe(frame, hide_index=True, width="stretch")


left, right = st.columns(2)
with left:
    _table("Parents", card["parents"], "No parent on record.")
    _table("Children and others", card["children"], "No child on record.")
    _table("Cohorts", card["cohorts"], "Not enrolled in any cohort.")
    _table("Seats", card["seats"], "No seat on record.")
with right:
    _table("Contacts", card["contacts"], "Nobody has recorded a contact yet.")
    _table("Events attended", card["events"], "No event attended.")
    _table("Home visits", card["home_visits"], "No home visit on record.")
st.markdown("**Ties**")
if card["ties"].empty:
    st.caption("Nobody in the family named anyone, or was named by anyone.")
else:
    st.dataframe(card["ties"], hide_index=True, width="stretch")
if row is not None:
    from queries.outreach import split_connectors
    conn = split_connectors(row.get("connectors"))
    st.markdown("**Who could introduce them**" + ("".join(f"\n- {c}" for c in conn) if conn
                                                   else "\n\nNobody close enough on record."))
