"""Outreach: the families to reach first, why, and who could introduce them; mark a family contacted."""
from datetime import date

import streamlit as st

from dashboard import common, data, figures
from queries.export import safe_frame

principal = common.principal()
audience = principal.audience
st.title("Outreach")
common.store_caption()
families = common.load(data.load_outreach, principal)


if audience == "funder":
    st.markdown("How many families the program should reach, by site and reason. Families are not named here; "
                f"counts under {data.min_count()} show as '<{data.min_count()}'.")
    if families.empty:
        st.success("No family needs outreach right now.")
    else:
        if common.all_hidden(list(families["families"])):
            st.info(f"Each site has fewer than {data.min_count()} families for each reason, so the counts are "
                    "not shown.")
        else:
            st.plotly_chart(figures.figure_counts(families, x="site_id", y="families", color="reason",
                                                  title="Families to reach, by site and reason"),
                            width="stretch", key="outreach_counts")
        st.dataframe(families.assign(families=[common.count(v) for v in families["families"]]),
                     hide_index=True, width="stretch")
    st.stop()

st.markdown(
    "Families ranked by how much a call would matter: isolated parents, no attendance or home visit in "
    f"{data.settings.get_int('CIVICTIES_OUTREACH_DAYS')} days, and the like. *Connectors* are people already "
    "tied to the family's neighbors or site who could make the introduction."
    + (" Names are pseudonyms." if audience == "evaluator" else ""))
if families.empty:
    st.success("No family needs outreach right now.")
    st.stop()

sites = sorted(s for s in families["site_id"].dropna().unique())
chosen = st.multiselect("Sites", sites, placeholder="All sites", key="outreach_sites")
shown = families[families["site_id"].isin(chosen)] if chosen else families
st.dataframe(shown, hide_index=True, width="stretch",
             column_config={"score": st.column_config.ProgressColumn(
                 "score", min_value=0.0, max_value=float(max(families["score"].max(), 1e-9)), format="%.2f")})
st.download_button("Download this list (CSV)", safe_frame(shown).to_csv(index=False).encode("utf-8"),
                   file_name="outreach.csv", mime="text/csv", key="outreach_csv",
                   on_click=data.audit_download, args=(principal, "outreach list", len(shown)))

if not principal.may("record_contact"):
    st.stop()

st.subheader("Mark a family contacted")
flash = st.session_state.pop("outreach_flash", None)
if flash:
    st.success(flash)
labels = {f: f"{f} – {p}" for f, p in zip(shown["family_id"], shown["parents"])}
with st.form("contact", clear_on_submit=True):
    family = st.selectbox("Family", list(labels), format_func=labels.get, key="contact_family")
    when = st.date_input("Contacted on", value=date.today(), max_value=date.today(), key="contact_date")
    note = st.text_input("Note", placeholder="e.g. invited to the March forum", key="contact_note")
    if st.form_submit_button("Save contact"):
        common.load(data.record_contact, principal, family, when, note.strip())
        st.session_state["outreach_flash"] = f"Saved: {labels[family]} contacted on {when.isoformat()}."
        st.rerun()
