"""Picking people or families out of many: one type-ahead box while the list is short, a search first when it is
long. Streamlit sends a select box's every option to the browser on every run: about 25 bytes a person, so a
list of 215,000 people is 5 MB per box per run (the record-entry page had six such boxes at 100,000 parents and
took 14 s to open). From SEARCH_FROM options a text box asks for part of a name or id first, and the box offers
only the matches (and what is already chosen, so a choice survives the next search).
"""
from __future__ import annotations

import streamlit as st

__all__ = ["SEARCH_FROM", "MATCHES_SHOWN", "find", "narrowed"]

#: From this many options the box is narrowed by a search first (below it, the box filters as you type:
#: docs/dashboard.md has the measurements at 10,000 and 21,000 people).
SEARCH_FROM = 20_000
#: The most matches offered for one search.
MATCHES_SHOWN = 200


def find(labels: dict, text: str, *, limit: int = MATCHES_SHOWN) -> list:
    """The keys whose label (a name and id, a pseudonym, a family and its members) holds `text`, any case:
    those that start with it first, each group by label; at most `limit`.

    >>> find({"P1": "Ana Ruiz (P1)", "P2": "Bo Anand (P2)", "P3": "Cy Lee (P3)"}, "an")
    ['P1', 'P2']
    """
    needle = text.strip().casefold()
    if not needle:
        return []
    hits = [(not label.casefold().startswith(needle), label, k) for k, label in labels.items()
            if needle in label.casefold()]
    return [k for _s, _l, k in sorted(hits)[:limit]]


def narrowed(labels: dict, *, key: str, what: str = "people", keep=(), container=None) -> dict:
    """The options to offer (key -> label): all of `labels` below SEARCH_FROM; otherwise a text box (session key
    `key`) and the matches of what is typed in it, plus `keep` (the choices already made). Place it outside a
    form: a text box inside one does not rerun the page until the form is sent."""
    if len(labels) < SEARCH_FROM:
        return labels
    box = container if container is not None else st
    text = box.text_input(f"Find {what} among {len(labels):,}: type part of a name or id, then Enter", key=key)
    kept = [k for k in keep if k is not None and k in labels]
    found = find(labels, text) if text else []
    if text and not found:
        box.caption(f"Nobody here matches '{text}'.")
    elif len(found) == MATCHES_SHOWN:
        box.caption(f"The first {MATCHES_SHOWN} matches are offered; type more to narrow them.")
    return {k: labels[k] for k in dict.fromkeys(kept + found)}
