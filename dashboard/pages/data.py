"""Data: which store is in use, loading a new package (checked first), data quality, and the network for Gephi."""
import streamlit as st

from dashboard import common, data, figures

# Columns that are blank for a reason (not missing data): shown apart from the missing-values chart.
EXPECTED_BLANKS = {("ties", "to_name"): "blank when the person named was matched",
                   ("ties", "to_person_id"): "blank for a name that matched nobody",
                   ("cohorts", "end_date"): "blank while the cohort runs",
                   ("enrollments", "completed_on"): "blank while enrolled",
                   ("appointments", "end_date"): "blank while the seat is held"}

principal = common.principal()
audience = principal.audience
st.title("Data")
info = common.load(data.store_info)
if principal.is_admin:
    st.markdown(f"Store in use: `{info['label']}`" + (" — holding the **demo network** (invented people)."
                                                       if info["demo"] else "."))
    st.caption("Set CIVICTIES_STORE (sqlite:///path.sqlite or neo4j://host:port) to use another store.")
elif info["demo"]:
    st.markdown("The store holds the **demo network** (invented people).")

st.subheader("Load a data package")
if not principal.may("load_data"):
    st.info("Loading data is for admins. Ask your program's admin to load a new package.")
else:
    st.markdown("Upload the package's CSV files (named after their tables: `people.csv`, `ties.csv`, …) or one "
                "Excel workbook with a sheet per table. Everything is checked before anything is written.")
    uploads = st.file_uploader("Package files", type=["csv", "xlsx"], accept_multiple_files=True, key="uploads")
    flash = st.session_state.pop("data_flash", None)
    if flash:
        st.success(flash)
    if uploads:
        report = data.check_upload([(f.name, f.getvalue()) for f in uploads])
        if report["ok"]:
            rows = ", ".join(f"{n:,} {t}" for t, n in report["rows"].items() if n)
            st.success(f"The package is valid: {rows}.")
        else:
            st.error(f"{report['problem_count']:,} problem(s) found; nothing can be loaded until they are fixed. "
                     "Each row says where, what is wrong and how to fix it (the first few of each kind, with a "
                     "count of the rest).")
            st.dataframe(report["problems"], hide_index=True, width="stretch")
        if not report["warnings"].empty:
            st.warning(f"{len(report['warnings'])} warning(s): the package can load, but check these.")
            st.dataframe(report["warnings"], hide_index=True, width="stretch")
        if report["ok"]:
            left, right = st.columns([2, 3])
            source = left.text_input("Source name", key="upload_source",
                                     help="Rows are marked with it; another source's rows are never removed by this "
                                          "one. Default: \"upload\".")
            replace = right.checkbox("Replace what this source loaded before (rows it no longer has are removed)",
                                     key="upload_replace")
            preview = common.load(data.preview_upload, principal, [(f.name, f.getvalue()) for f in uploads],
                                  source.strip(), replace)
            if not preview.empty:
                st.caption("What loading would do, per kind (nothing is written yet):")
                st.dataframe(preview, hide_index=True, width="stretch")
        if report["ok"] and st.button("Load into the store", type="primary", key="load"):
            try:
                loaded = data.load_upload(principal, [(f.name, f.getvalue()) for f in uploads],
                                          source_name=st.session_state.get("upload_source", "").strip() or None,
                                          replace=bool(st.session_state.get("upload_replace")))
            except Exception as e:  # a store failure mid-write: the write was rolled back
                st.error(f"Loading failed and nothing was written: {e}")
            else:
                written = loaded.written
                st.session_state["data_flash"] = (
                    f"Loaded: {written.get('nodes', 0):,} nodes and {written.get('relationships', 0):,} "
                    "relationships written. Every page now shows the new data.")
                st.rerun()

st.subheader("Data quality")
quality = common.load(data.load_data_quality, principal)
left, right = st.columns([1, 2])
with left:
    st.dataframe(quality["rows"].assign(rows=[common.count(v) for v in quality["rows"]["rows"]]),
                 hide_index=True, width="stretch")
    st.caption("Rows of each file as loaded. The ties file has a row per person named per wave, unmatched "
               "names included; the Overview counts pairs of matched people once (see 'What the numbers mean').")
    st.metric("Names in ties that matched nobody", common.count(quality["unmatched_names"]),
              help="Names written in the ties table that matched no person, or several; fix them in the "
                   "ties file (to_person_id) so those ties count.")
    if principal.may("record_contact") and quality["unmatched_names"]:
        # coordinators and admins: the names themselves (their own sites' answers), to fix at the source
        loose = common.load(data.load_unmatched_names, principal)
        with st.expander(f"The names that matched nobody ({len(loose):,})"):
            st.dataframe(loose, hide_index=True, width="stretch")
            st.caption("Add the person to people.csv, or write their person_id in the ties file's to_person_id.")
with right:
    missing = quality["missing"]
    expected = missing[[(t, c) in EXPECTED_BLANKS for t, c in zip(missing["table"], missing["column"])]]
    missing = missing[(missing["missing_share"] > 0) & ~missing.index.isin(expected.index)]
    if missing.empty:
        st.success("No missing values in the optional columns.")
    else:
        st.plotly_chart(figures.figure_missing(missing), width="stretch", key="missing")
    st.caption("Blank by design, so not counted as missing: "
               + "; ".join(f"{t}.{c} ({why})" for (t, c), why in EXPECTED_BLANKS.items()) + ".")

st.subheader("The network for Gephi")
if audience == "funder":
    st.info("The network file has one node per person, so it is not part of the funder view.")
else:
    fmt = st.radio("Format", list(data.GRAPH_FORMATS), horizontal=True, key="graph_format")
    ext, mime = data.GRAPH_FORMATS[fmt]
    # built on request, not on every view of the page (a large network's file takes seconds to write)
    if st.button(f"Prepare the network file ({fmt})", key="graph_prepare"):
        st.session_state["graph_ready"] = fmt
    if st.session_state.get("graph_ready") == fmt:
        st.download_button(f"Download the tie network ({fmt})", common.load(data.load_graph_file, principal, fmt),
                           file_name=f"civicties.{ext}", mime=mime, key="graph_download",
                           on_click=data.audit_download, args=(principal, f"tie network ({fmt})"))
    if audience == "evaluator":
        st.caption(f"People appear under pseudonyms, and the file is {data.settings.get_int('CIVICTIES_K_ANONYMITY')}"
                   "-anonymous on race/ethnicity, income band, language, site, neighborhood, cohort and role: "
                   "rare combinations are coarsened, and the file says what was coarsened and the k it reached.")
    st.subheader("Per-person network measures")
    st.markdown("Degree, betweenness, constraint, effective size, E-I of one's own ties, isolation and community, "
                "one row per person" + (" (pseudonyms)." if audience == "evaluator" else "."))
    if st.button("Prepare the per-person file", key="person_prepare"):
        st.session_state["person_ready"] = True
    if st.session_state.get("person_ready"):
        st.download_button("Download per-person metrics (CSV)", common.load(data.person_metrics_csv, principal),
                           file_name="civicties-person-metrics.csv", mime="text/csv", key="person_csv",
                           on_click=data.audit_download, args=(principal, "per-person metrics"))
    st.download_button("Data dictionary (CSV)", data.dictionary_csv(), file_name="civicties-data-dictionary.csv",
                       mime="text/csv", key="dictionary_csv_data")
