"""Matching people: pairs of records that may be one person, side by side with the evidence; same person, not a
match, different people, undo. Keyboard: a, n, d, s (skip), u (undo). Coordinators see the pairs of their sites
only; admins every pair, and may look for new candidates."""
import pandas as pd
import streamlit as st

from dashboard import accounts, common, data
from graph import matches
from ingest import match

principal = common.principal()
st.title("Matching people")
if principal.role not in ("admin", "coordinator"):
    st.error("Only coordinators and admins review matches between records.")
    st.stop()
_audience, sites = data.scope(principal)
store = common.load(data.get_store)

st.markdown("Records from different sources (a roster, a home-visit log, a survey's recalled names) that may be the "
            "same person. Clear matches were accepted automatically; these are the uncertain ones. Nothing is "
            "merged until someone says so. Keys: **a** same person, **n** not a match, **d** different people, "
            "**s** skip, **u** undo the last decision.")

flash = st.session_state.pop("matching_flash", None)
if flash:
    st.success(flash)

if principal.is_admin:
    with st.expander("Look for new candidates"):
        upper, lower = common.load(match.thresholds)
        st.caption(f"Pairs scoring at least {upper} are accepted automatically (unless another candidate is close); "
                   f"from {lower} they come here (CIVICTIES_MATCH_AUTO, CIVICTIES_MATCH_REVIEW).")
        if st.button("Find candidates", key="matching_propose"):
            proposal = common.load(match.run, store, upper=upper, lower=lower, actor=principal.username,
                                   role=principal.role)
            accounts.audit(store, principal.username, "match_propose", role=principal.role,
                           rows=len(proposal.review),
                           detail=f"{len(proposal.auto)} accepted automatically, {len(proposal.review)} to review")
            data.changed(raw=False)
            st.session_state["matching_flash"] = (f"{len(proposal.auto)} matches accepted automatically, "
                                                  f"{len(proposal.review)} pairs to review.")
            st.rerun()

queue = common.load(match.review_queue, store, sites=sites, records=common.load(data.review_records))
skipped = st.session_state.setdefault("matching_skipped", [])
waiting = [c for c in queue if (c["left"], c["right"]) not in skipped] or queue
last = st.session_state.get("matching_last")

if not queue:
    st.info("Nothing to review" + (" for your sites." if sites else ".")
            + (" An admin looks for new candidates here or with `civicties match propose`." if not principal.is_admin
               else ""))
else:
    pair = waiting[0]
    a, b = pair["left_record"], pair["right_record"]
    st.subheader(f"Pair 1 of {len(waiting)}")
    st.metric("Match probability", f"{pair['score']:.1%}")
    for reason in pair.get("reasons") or []:
        st.caption(reason)
    marks = {"exact": "✓ same", "nickname": "✓ nickname", "initial": "~ initial", "typo": "~ one typing error",
             "shares": "~ shares a surname", "agree": "✓ same", "disagree": "✗ differs", "missing": "–"}
    evidence = pair["evidence"]
    rows = [{"": "name", "first record": a.get("name"), "second record": b.get("name"),
             "agreement": f"given: {marks.get(evidence['given'], evidence['given'])}; family: "
                          f"{marks.get(evidence['family'], evidence['family'])}"
                          + ("; order turned round" if evidence.get("swapped") == "yes" else "")}]
    for field, label in (("source", "source"), ("role", "role"), ("site_id", "site"), ("neighborhood", "neighborhood"),
                         ("family_id", "family"), ("school_id", "school"), ("email", "email"), ("phone", "phone")):
        rows.append({"": label, "first record": a.get(field), "second record": b.get(field),
                     "agreement": marks.get(evidence.get(field), "") if field in evidence else ""})
    if a.get("kind") == "name":
        rows.append({"": "recalled by", "first record": f"{a.get('mentions')} respondent(s) of site {a.get('site_id')}",
                     "second record": "", "agreement": ""})
    st.dataframe(pd.DataFrame(rows).astype(str).replace({"None": ""}), hide_index=True, width="stretch",
                 key="matching_pair")

    def decide(decision: str) -> None:
        matches.record_decisions(store, [{"left": pair["left"], "right": pair["right"], "decision": decision,
                                          "score": pair["score"], "evidence": pair["evidence"]}],
                                 actor=principal.username, role=principal.role, method="review")
        st.session_state["matching_last"] = (pair["left"], pair["right"])
        st.session_state["matching_flash"] = {"accepted": "Saved: the same person.", "rejected": "Saved: not a match.",
                                              "different": "Saved: different people."}[decision]
        data.changed(raw=False)

    cols = st.columns(4)
    if cols[0].button("Same person", key="matching_accept", shortcut="a", type="primary"):
        decide("accepted")
        st.rerun()
    if cols[1].button("Not a match", key="matching_reject", shortcut="n"):
        decide("rejected")
        st.rerun()
    if cols[2].button("Different people", key="matching_different", shortcut="d"):
        decide("different")
        st.rerun()
    if cols[3].button("Skip", key="matching_skip", shortcut="s"):
        skipped.append((pair["left"], pair["right"]))
        st.rerun()

if last and st.button("Undo the last decision", key="matching_undo", shortcut="u"):
    undone = matches.undo_decision(store, *last, actor=principal.username, role=principal.role)
    st.session_state.pop("matching_last", None)
    st.session_state["matching_flash"] = ("Undone: the pair is back in the queue." if undone
                                          else "That decision was already undone.")
    data.changed(raw=False)
    st.rerun()
