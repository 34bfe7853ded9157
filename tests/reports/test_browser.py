"""The report in a real browser (issue 12, Tests): headless Chromium with networking disabled loads the
HTML from a file:// path; no request leaves the file (none fails, none goes elsewhere), every section
is in the DOM, and a screenshot is not blank.

The browser is the shared harness of tests/browser.py (Chromium over the DevTools protocol on a pipe),
so that every network request and failure is seen as an event rather than guessed from logs. A control
page with an outside image checks that the harness sees failures.
"""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import pytest

from designs.reports import render
from tests.browser import Browser, requires_chromium
from tests.reports import bundles
from tests.reports.test_render import CLOSED_ORDER, OPEN_ORDER, as_open

pytestmark = requires_chromium


@pytest.fixture(scope="module")
def browser(tmp_path_factory):
    chromium = Browser(tmp_path_factory.mktemp("chromium-profile"))
    yield chromium
    chromium.close()


def load(browser: Browser, path: Path) -> dict[str, Any]:
    """Open ``path`` in a 1280×2000 page: its section ids, every request, every failure, a PNG screenshot."""
    page = browser.open(width=1280, height=2000)
    try:
        page.navigate(path.as_uri())
        sections = page.evaluate("[...document.querySelectorAll('section')].map(s => s.id)")
        return {"sections": sections, "requests": page.requests, "failed": page.failed, "png": page.screenshot()}
    finally:
        page.close()


def distinct_colours_and_ink(png: bytes) -> tuple[int, float]:
    """Distinct colours of a screenshot and its share of non-white pixels."""
    from PIL import Image

    image = Image.open(io.BytesIO(png)).convert("RGB")
    colours = image.getcolors(maxcolors=1 << 20) or []
    pixels = image.width * image.height
    white = sum(n for n, colour in colours if min(colour) >= 250)
    return len(colours), 1 - white / pixels


@pytest.mark.parametrize("report", ["closed", "open"])
def test_report_loads_in_chromium_without_any_request_and_shows_every_section(browser, tmp_path, report):
    bundle = bundles.with_next_look(bundles.with_design(bundles.stored(3)))
    path = tmp_path / f"{report}.html"
    path.write_text(render.render_html(bundle if report == "closed" else as_open(bundle)), encoding="utf-8")
    page = load(browser, path)
    assert page["failed"] == []
    assert page["requests"] == [path.as_uri()]  # the document itself, nothing else
    assert page["sections"] == (CLOSED_ORDER if report == "closed" else OPEN_ORDER)
    colours, ink = distinct_colours_and_ink(page["png"])
    assert colours > 16 and ink > 0.02, (colours, ink)


def test_the_harness_sees_a_request_outside_the_file_fail(browser, tmp_path):
    """Control: a page with an outside image is caught (so the test above can fail)."""
    path = tmp_path / "outside.html"
    path.write_text('<!DOCTYPE html><html><body><section id="a">a</section>'
                    '<img src="https://example.com/x.png"></body></html>', encoding="utf-8")
    page = load(browser, path)
    assert any("example.com" in url for url in page["requests"])
    assert page["failed"]
