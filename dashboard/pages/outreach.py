"""Outreach: a call list. The families to call now, this month, or keep an eye on, why, how to reach them and
who could introduce them; mark a family contacted and it waits at the bottom until its follow-up is due."""
from datetime import date

import pandas as pd
import streamlit as st

from dashboard import common, data, figures
from dashboard import family as families_data
from dashboard.survey_page import escape
from queries import outreach
from queries import supports as support_queries
from queries.export import safe_frame

principal = common.principal()
audience = principal.audience
st.title("Outreach")
common.store_caption()
families = common.load(data.load_outreach, principal)
TIER_HELP = {"call now": "isolated and drifting away (not seen lately, or left a cohort)",
             "this month": "isolated but still coming, or two other reasons at once",
             "keep an eye on": "one reason other than isolation, most often not seen lately",
             outreach.CONTACTED: "contacted recently; back on the list when the follow-up is due"}

TABLE_ROWS = 1000        # rows of the whole list drawn on the page (the download has every row)
FORM_FAMILIES = 2000     # families the contact form offers (the list as filtered, in call order)


def _supports_section() -> None:
    """Do the supports schools offer (childcare, translation, food, transportation, meeting times) go with
    under-involved families taking part more? (queries.supports)"""
    table = common.load(data.load_supports, principal)
    st.subheader("Do supports help families take part?", anchor="supports")
    if table is None or table.empty:
        st.info("No event records the supports it offered (childcare, translation, food, transportation, a "
                "family-friendly meeting time). Add a 'supports' column to events.csv, or tick them when you add "
                "an event on the Records page, to see whether families come more when they are offered.")
        return
    st.markdown(
        "How often families took part in their site's events (a member came) when the event offered a support, "
        "and when it did not. Every family of a site counts as invited to the site's family events; only sites "
        "that record supports count. An association, not proof: schools may offer translation where they "
        "expect families who need it." + (" Counts under {0} show as '<{0}'; a share made of small counts is "
                                          "not shown.".format(data.min_count()) if audience == "funder" else ""))
    own = table[~table["comparison"].astype(bool) & table["group"].isin(["language", "children"])]
    said = own[own["support"] != "any"]
    languages = table[table["group"].str.startswith("language:") & (table["support"] != "any")]
    if audience != "funder" and not languages.empty:      # the most common language other than English
        said = pd.concat([said.iloc[:1], languages.iloc[:1], said.iloc[1:]])
    for _, r in said.iterrows():
        st.markdown("- " + escape(support_queries.sentence(r)))   # labels hold the data's languages
    rows = table if audience != "funder" else own
    shown = pd.DataFrame({
        "families": [SHORT.get(g, g.replace("language:", "need ")) for g in rows["group"]],
        "support": [support_queries.SUPPORT_LABELS[s] for s in rows["support"]],
        "n": [common.count(v) for v in rows["families"]],
        "events with / without": [f"{common.count(w)} / {common.count(wo)}"
                                  for w, wo in zip(rows["events_with"], rows["events_without"])],
        "took part with / without": [f"{_rate(w)} / {_rate(wo)}" for w, wo in zip(rows["rate_with"],
                                                                                rows["rate_without"])],
        "difference": [_points(d, (d, lo, hi), sign=True)
                       for d, lo, hi in zip(rows["difference"], rows["ci_low"], rows["ci_high"])],
        "95% CI": [f"{_points(lo, (d, lo, hi), sign=True)} to {_points(hi, (d, lo, hi), sign=True)}"
                   if _shown(lo) else "–" for d, lo, hi in zip(rows["difference"], rows["ci_low"], rows["ci_high"])],
        "p": [common.p_value(v) for v in rows["p_value"]]})
    st.dataframe(shown, hide_index=True, width="stretch", key="supports_table",
                 column_config={"families": st.column_config.TextColumn(width="medium"),
                                "n": st.column_config.TextColumn(help="families in the group")})
    st.caption("Intervals: 95% Wald, standard errors clustered by event. p: which events offered the support "
               "shuffled among each site's events (permutation test)."
               + ("" if audience == "funder" else " The comparison rows show whether everyone else also came more "
                  "often to those events.")
               + " Families with children: every child on record counts (the records hold no ages). Method: "
                 "docs/metrics-program.md, 'Supports'.")



SHORT = {"language": "need another language", "english": "speak English (comparison)",
         "children": "with children", "no_children": "no children (comparison)"}


def _shown(v) -> bool:
    return v is not None and v == v


def _rate(v) -> str:
    return support_queries.percent(v) if _shown(v) else "–"


def _points(v, row=(), *, sign: bool = False) -> str:
    """Percentage points, with a decimal when the row's numbers are all small (as its sentence has them)."""
    if not _shown(v):
        return "–"
    places = 1 if max(abs(x) for x in (v, *row) if _shown(x)) < 0.02 else 0
    return f"{support_queries.points(v, places, sign=sign)} pts"


if audience == "funder":
    k = data.min_count()
    st.markdown("How many families the program should reach, by site and reason. Families are not named here; "
                f"counts under {k} show as '<{k}'. A family with two reasons counts under each.")
    if families.empty:
        st.success("No family needs outreach right now.")
    else:
        if common.all_hidden(list(families["families"])):
            reasons = ", ".join(sorted(families["reason"].unique()))
            st.info(f"Families to reach fall under {families['reason'].nunique()} reasons ({reasons}) at "
                    f"{families['site_id'].nunique()} sites; each site has fewer than {k} families for each reason, "
                    "so the counts are not shown.")
        else:
            st.plotly_chart(figures.figure_counts(families, x="site_id", y="families", color="reason",
                                                  title="Families to reach, by site and reason",
                                                  x_title="site", y_title="families"),
                            width="stretch", key="outreach_counts")
        table = families.assign(families=[common.count(v) for v in families["families"]])
        st.dataframe(table.pivot(index="site_id", columns="reason", values="families").fillna("0")
                     .reset_index().rename(columns={"site_id": "site"}), hide_index=True, width="stretch")
    _supports_section()
    st.stop()

may_call = families_data.may_open(principal)
days = data.settings.get_int("CIVICTIES_OUTREACH_DAYS")
follow = data.settings.get_int("CIVICTIES_FOLLOW_UP_DAYS")
st.markdown(
    "A call list: **call now** families are alone in the network and drifting away; **this month** families are "
    "isolated but still coming, or have two other reasons; **keep an eye on** families have one (most often no "
    f"event, visit or cohort activity in {days} days). *Connectors* are people who share the family's school, "
    "language or neighborhood and could make an introduction."
    + (f" A family you mark contacted waits at the bottom for {follow} days, then comes back for a follow-up."
       if may_call else "")
    + (" Names are pseudonyms." if audience == "evaluator" else ""))
if families.empty:
    st.success("No family needs outreach right now.")
    st.stop()
if "tier" not in families:             # a list stored before tiers (evaluators get no contacts applied)
    families = outreach.apply_contacts(families, None, today=date.today(), follow_up_days=follow)
if "categories" not in families:
    families = families.assign(categories=[outreach.categories_of(outreach.codes_from_reasons(r))
                                           for r in families["reasons"]])

tiers = [t for t in outreach.TIERS + (outreach.CONTACTED,) if t in set(families["tier"]) or t != outreach.CONTACTED]
counts = families["tier"].value_counts()
row = st.columns(len(tiers))
for col, tier in zip(row, tiers):
    col.metric(tier.capitalize(), f"{int(counts.get(tier, 0)):,}", help=TIER_HELP[tier])

left, mid, right = st.columns(3)
sites = sorted(s for s in families["site_id"].dropna().unique())
chosen = left.multiselect("Sites", sites, placeholder="All sites", key="outreach_sites")
all_categories = list(dict.fromkeys(outreach.CATEGORIES.values()))
wanted = mid.multiselect("Reasons", all_categories, placeholder="Any reason", key="outreach_reasons")
picked_tiers = right.multiselect("Tiers", tiers, placeholder="Every tier", key="outreach_tiers")
shown = families
if chosen:
    shown = shown[shown["site_id"].isin(chosen)]
if wanted:
    shown = shown[[bool(set(c) & set(wanted)) for c in shown["categories"]]]
if picked_tiers:
    shown = shown[shown["tier"].isin(picked_tiers)]
shown = shown.reset_index(drop=True)
phones = common.load(families_data.load_family_contacts, principal) if may_call else {}


def _last_contact(history) -> str:
    if not isinstance(history, list) or not history:
        return ""
    e = history[0]
    return f"{e['date']:%Y-%m-%d}" + (f" by {e['by']}" if e["by"] else "") + (f": {e['note']}" if e["note"] else "")


def _reach(fid) -> str:
    parts = []
    for p in phones.get(fid, []):
        how = " · ".join(x for x in (p["phone"], p["email"]) if x)
        parts.append(f"{p['name'] or p['person_id']}: {how or 'no phone or e-mail on record'}")
    return "; ".join(parts)


def _readable(frame: pd.DataFrame) -> pd.DataFrame:
    cols = {"tier": "tier", "family_id": "family_id", "site_id": "site_id", "parents": "parents",
            "categories": "reasons", "last_activity": "last_activity"}
    out = frame[list(cols)].rename(columns=cols)
    out["reasons"] = [", ".join(c) for c in frame["categories"]]
    if may_call:
        out.insert(4, "phone and e-mail", [_reach(f) for f in frame["family_id"]])
    if "history" in frame:
        out["last_contacted"] = frame["last_contacted"]
        out["follow_up_on"] = frame["follow_up_on"]
        out["last contact"] = [_last_contact(h) for h in frame["history"]]
    return out


st.caption(f"{len(shown):,} of {len(families):,} families" + (" (filtered)." if len(shown) < len(families) else "."))
st.subheader("Next to call")
if shown.empty:
    st.info("No family matches these filters.")
else:
    many = st.number_input("Families shown here", min_value=1, max_value=max(1, len(shown)),
                           value=min(5, len(shown)), key="outreach_cards")
    for i, r in shown.head(int(many)).iterrows():
        with st.container(border=True):
            head = f"**{r['family_id']}** · {r['tier']}" + (f" · site {r['site_id']}" if r["site_id"] else "")
            if r["tier"] == outreach.CONTACTED:
                head += f" · follow up on {r['follow_up_on']:%Y-%m-%d}"
            elif isinstance(r.get("history"), list) and r["history"]:
                head += " · follow-up due"
            st.markdown(head)
            a, b = st.columns([3, 2])
            a.markdown(f"Parents: {r['parents']}")
            if may_call:
                a.markdown("Reach them: " + (_reach(r["family_id"]) or "no parent on record"))
            a.markdown("Why: " + (r["reasons"] if isinstance(r["reasons"], str) else "; ".join(r["reasons"])))
            history = r.get("history") if isinstance(r.get("history"), list) else []
            if history:
                a.markdown("Contacts: " + "  \n".join(
                    f"- {e['date']:%Y-%m-%d} · {e['by'] or 'not recorded'}" + (f" · {e['note']}" if e["note"] else "")
                    for e in history[:5]))
            conn = outreach.split_connectors(r["connectors"])
            b.markdown("**Could introduce them**" + ("".join(f"\n- {c}" for c in conn) if conn
                                                      else "\n\nNobody close enough on record."))
            if may_call and b.button("Open the family card", key=f"card_{i}_{r['family_id']}"):
                st.session_state["family_card"] = r["family_id"]
                st.switch_page("dashboard/pages/family.py")

st.subheader("The whole list")
if len(shown) > TABLE_ROWS:
    st.caption(f"The first {TABLE_ROWS:,} of {len(shown):,}, in call order: filter by site, reason or tier to see "
               "others here, or download the whole list.")
st.dataframe(_readable(shown.head(TABLE_ROWS)), hide_index=True, width="stretch",
             column_config={"parents": st.column_config.TextColumn(width="medium"),
                            "phone and e-mail": st.column_config.TextColumn(width="medium"),
                            "last contact": st.column_config.TextColumn(width="medium")})
# written when asked for, not on every view (135,000 families at 100,000 parents: seconds of CSV per rerun)
if st.button("Prepare the list for download (CSV)", key="outreach_prepare"):
    st.session_state["outreach_csv_ready"] = True
if st.session_state.get("outreach_csv_ready"):
    st.download_button("Download this list (CSV)",
                       safe_frame(shown.drop(columns=["history"], errors="ignore")).to_csv(index=False).encode("utf-8"),
                       file_name="outreach.csv", mime="text/csv", key="outreach_csv",
                       on_click=data.audit_download, args=(principal, "outreach list", len(shown)))

_supports_section()

if not principal.may("record_contact"):
    st.stop()

st.subheader("Mark a family contacted")
flash = st.session_state.pop("outreach_flash", None)
if flash:
    st.success(flash)
# the list as ordered: the family just saved has moved down, so the form opens on the next one
order = (shown if not shown.empty else families).head(FORM_FAMILIES)
if len(shown if not shown.empty else families) > FORM_FAMILIES:
    st.caption(f"The form offers the first {FORM_FAMILIES:,} families of the list as filtered above; filter by "
               "site, reason or tier to reach the others.")
labels = {f: f"{f} – {t} – {p}" for f, t, p in zip(order["family_id"], order["tier"], order["parents"])}
with st.form("contact", clear_on_submit=True):
    # a new key after each save: the browser would otherwise send back the family just saved
    family = st.selectbox("Family", list(labels), format_func=labels.get,
                          key=f"contact_family_{st.session_state.get('outreach_saved', 0)}")
    when = st.date_input("Contacted on", value=date.today(), max_value=date.today(), key="contact_date")
    note = st.text_input("Note", placeholder="e.g. invited to the March forum", key="contact_note")
    if st.form_submit_button("Save contact"):
        common.load(data.record_contact, principal, family, when, note.strip())
        st.session_state["outreach_flash"] = (f"Saved: {family} contacted on {when.isoformat()}. It waits at the "
                                              f"bottom of the list for {follow} days.")
        st.session_state["outreach_saved"] = st.session_state.get("outreach_saved", 0) + 1
        st.rerun()
