"""The funder's one-page brief: built from the funder release only; no person's name or id and no count of
people below the threshold on it; suppressed values written as their labels; the CLI and who may get it."""
from __future__ import annotations

import re
import sys
from datetime import date
from pathlib import Path

import pandas as pd
import pytest

sys.path.insert(0, str(Path(__file__).parent))
from app_session import principal  # noqa: E402

from dashboard import brief  # noqa: E402

K = 25      # a high threshold, so that many of the small demo's counts are hidden


@pytest.fixture(scope="module")
def store(tmp_path_factory):
    from graph.store import SQLiteStore
    from ingest.demo import write_demo
    from ingest.load import load_package
    folder = tmp_path_factory.mktemp("brief")
    write_demo(folder / "demo", parents=150, seed=3)
    s = SQLiteStore(folder / "store.sqlite")
    load_package(folder / "demo", s)
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("CIVICTIES_STORE", s.uri)
        mp.setenv("CIVICTIES_PSEUDONYM_SALT", "brief-test")
        mp.setenv("CIVICTIES_MIN_COUNT", str(K))
        mp.setenv("CIVICTIES_BACKGROUND_ANALYSES", "0")
        yield s
    s.close()


def pdf_text(content: bytes) -> str:
    import pypdfium2 as pdfium
    doc = pdfium.PdfDocument(content)
    assert len(doc) == 1, "one page"
    return doc[0].get_textpage().get_text_range()


# numbers on the page that are not counts of people: shares, changes, dates, the threshold itself, bodies
_NOT_PEOPLE = r"(?!\s*(?:%|points|pts|bod(?:y|ies)|city|county|district|school|state|November|resamples|respondents\)))"


def people_counts(text: str) -> list[int]:
    body = text.split("Methods and small numbers")[0]            # the footnote states the threshold itself
    body = re.sub(r"\d{1,2} [A-Z][a-z]+ \d{4}", "", body)         # today's date
    found = re.findall(r"(?<![\d.,+\-−<%])(\d{1,3}(?:,\d{3})*|\d+)(?![\d.,%])" + _NOT_PEOPLE, body)
    return [int(n.replace(",", "")) for n in found]


def test_brief_holds_no_name_no_id_and_no_small_count(store):
    content, texts = brief.render_brief(brief.funder_release(principal("funder")), today=date(2026, 11, 30))
    assert content.startswith(b"%PDF")
    text = pdf_text(content)
    assert "Headline numbers" in text and "Where alumni sit" in text and "Methods and small numbers" in text
    people = store.read().people
    for value in list(people["name"].dropna()) + list(people["person_id"]) + list(people["family_id"].dropna()):
        assert str(value) not in text, value
    counts = people_counts(text)
    assert counts, "the brief has numbers on it"
    assert [n for n in counts if 0 < n < K] == []
    assert f"<{K}" in text or "suppressed" in text                   # the small demo has hidden counts


def test_suppressed_values_are_written_as_labels_never_as_zero():
    release = {"k": 10, "overview": {"headline": {"parents": 120, "families": "<10", "ties": "suppressed",
                                                  "isolated_families": "<10", "median_days_to_seat": None},
                                     "funnel": {"enrolled": 40, "graduated": "<10", "appointed": "suppressed"},
                                     "comparison": None},
               "bridging": {"comparison": None},
               "pipeline": {"flows": [("Enrolled", "Graduated", 30)], "hidden_flows": 2, "findings": [],
                            "bodies": pd.DataFrame({"body_id": ["B1", "B2"], "name": ["a", "b"],
                                                    "level": ["city", "state"], "graduates": ["<10", "<10"]})}}
    _pdf, texts = brief.render_brief(release)
    joined = "\n".join(texts)
    assert "<10" in texts and "suppressed" in texts and "not reached yet" in texts
    assert "Alumni sit on 2 bodies (1 city, 1 state); each has fewer than 10 alumni." in joined
    assert "2 paths are not drawn" in joined
    assert not any(t.strip() == "0" for t in texts)


def test_png_and_who_may_have_it(store):
    assert brief.build_brief(principal("admin"), "png").startswith(b"\x89PNG")
    for role in ("coordinator", "evaluator"):
        with pytest.raises(PermissionError):
            brief.funder_release(principal(role))
    with pytest.raises(ValueError):
        brief.render_brief(brief.funder_release(principal("funder")), fmt="docx")


def test_cli_writes_the_brief(store, tmp_path, capsys):
    from civicties.cli import main
    out = tmp_path / "brief.pdf"
    assert main(["brief", "--store", store.uri, "--out", str(out)]) == 0
    assert out.read_bytes().startswith(b"%PDF") and "Wrote the funder brief" in capsys.readouterr().out
    assert main(["brief", "--store", store.uri, "--out", str(tmp_path / "brief.docx")]) == 2
    assert "must end in .pdf or .png" in capsys.readouterr().err
