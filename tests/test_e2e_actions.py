"""The pages people act on, in a real browser (headless Chromium, Playwright), on the demo network:

- a coordinator marks the top family of the call list contacted: it leaves the top of the list, waits
  among the contacted with its note and who made the contact, and the form moves to the next family;
- a funder downloads the one-page brief (a PDF);
- every changed page is screenshotted in each role (CIVICTIES_SHOTS, default artifacts/screenshots/actions).

Needs Chromium at /usr/bin/chromium (or CIVICTIES_CHROMIUM); skipped without it, except under CI.
"""
from __future__ import annotations

import os
import re
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))
from e2e_server import ROOT, chromium  # noqa: E402
from test_e2e_browser import (Watch, _go, _network_frame, _no_exception, _sign_in,  # noqa: E402
                              _wait_ready)


SHOTS = Path(os.environ.get("CIVICTIES_SHOTS") or ROOT / "artifacts" / "screenshots" / "actions")
CHANGED = {"admin": ["Overview", "Bridging and tie formation", "Network explorer", "Outreach", "Family card",
                     "Pipeline to seats", "Data"],
           "coordinator": ["Overview", "Bridging and tie formation", "Network explorer", "Outreach", "Family card",
                           "Data"],
           "evaluator": ["Overview", "Bridging and tie formation", "Network explorer", "Outreach", "Data"],
           "funder": ["Overview", "Bridging and tie formation", "Network explorer", "Outreach", "Pipeline to seats",
                      "Data"]}


@pytest.fixture(scope="module")
def server(e2e_server):
    return e2e_server       # (tests/conftest.py: shared with test_e2e_browser and test_explorer_webgl)


@pytest.fixture(scope="module")
def browser():
    with chromium() as b:
        yield b


@pytest.fixture
def page(browser, server):
    context = browser.new_context(viewport={"width": 1400, "height": 1900}, accept_downloads=True)
    p = context.new_page()
    p.watch = Watch(p, server.url)
    yield p
    p.watch.check()
    context.close()


def _cards(page) -> list[str]:
    """The family ids of the "Next to call" cards, top first."""
    text = page.locator('[data-testid="stMain"]').inner_text()
    return re.findall(r"^(F\d+) · (?:call now|this month|keep an eye on|contacted)", text, flags=re.M)


def _form_family(form) -> str:
    """What the form's family box shows (its text, or its input's value where it is a combobox)."""
    box = form.locator('[data-testid="stSelectbox"]')
    inputs = box.locator("input")
    return " ".join([box.inner_text()] + [inputs.nth(i).input_value() for i in range(inputs.count())]
                    + [inputs.nth(i).get_attribute("aria-label") or "" for i in range(inputs.count())])


def test_marking_contacted_moves_the_family_down_and_shows_the_note(page, server):
    _sign_in(page, server.url, "t-coordinator")
    _go(page, "Outreach")
    _no_exception(page, "Outreach")
    first = _cards(page)
    assert len(first) >= 2, first
    top = first[0]
    form = page.locator('[data-testid="stForm"]')
    assert top in _form_family(form), "the form opens on the top family"
    form.get_by_label("Note").fill("left a message about the forum")
    form.get_by_role("button", name="Save contact").click()
    _wait_ready(page, "Outreach")
    page.get_by_text("Saved:").first.wait_for(timeout=30_000)
    after = _cards(page)
    assert after[0] != top and top not in after, (top, after)
    assert after[0] in _form_family(form), "the form moved to the next family"
    page.screenshot(path=str(SHOTS / "outreach-after-contact-coordinator.png"), full_page=True)
    # the family waits among the contacted, with the note and who made the contact
    tiers = page.locator('[data-testid="stMultiSelect"]').filter(has_text="Tiers")
    tiers.locator("input").first.click()
    page.keyboard.type("contacted")
    page.keyboard.press("Enter")
    page.keyboard.press("Escape")
    _wait_ready(page, "Outreach")
    text = page.locator('[data-testid="stMain"]').inner_text()
    assert _cards(page)[0] == top
    assert "t-coordinator · left a message about the forum" in text
    assert "follow up on" in text


def test_funder_downloads_the_one_page_brief(page, server):
    _sign_in(page, server.url, "t-funder")
    page.get_by_role("button", name="Prepare the brief").click()
    _wait_ready(page, "Overview")
    with page.expect_download(timeout=120_000) as info:
        page.get_by_role("button", name="Download the brief (PDF)").click()
    content = Path(info.value.path()).read_bytes()
    assert content.startswith(b"%PDF") and info.value.suggested_filename == "civicties-brief.pdf"
    SHOTS.mkdir(parents=True, exist_ok=True)
    (SHOTS / "brief-downloaded.pdf").write_bytes(content)
    import pypdfium2 as pdfium
    doc = pdfium.PdfDocument(content)
    assert len(doc) == 1 and "Headline numbers" in doc[0].get_textpage().get_text_range()
    doc[0].render(scale=1.5).to_pil().save(SHOTS / "brief-downloaded.png")


@pytest.mark.parametrize("role", list(CHANGED))
def test_changed_pages_screenshotted(page, server, role):
    SHOTS.mkdir(parents=True, exist_ok=True)
    _sign_in(page, server.url, f"t-{role}")
    for title in CHANGED[role]:
        if title != "Overview":
            _go(page, title)
        _no_exception(page, title)
        if title == "Network explorer":
            _network_frame(page)
        name = title.split()[0].lower()
        page.screenshot(path=str(SHOTS / f"{name}-{role}.png"), full_page=True)
        assert (SHOTS / f"{name}-{role}.png").stat().st_size > 10_000
