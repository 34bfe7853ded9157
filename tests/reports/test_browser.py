"""The report in a real browser (issue 12, Tests): headless Chromium with networking disabled loads the
HTML from a file:// path; no request leaves the file (none fails, none goes elsewhere), every section
is in the DOM, and a screenshot is not blank.

Chromium is driven over the DevTools protocol on a pipe (``--remote-debugging-pipe``: fd 3 in, fd 4
out, messages ended by NUL), so that every network request and failure is seen as an event rather
than guessed from logs. A control page with an outside image checks that the harness sees failures.
"""

from __future__ import annotations

import base64
import io
import json
import os
import select
import shutil
import subprocess
import time
from pathlib import Path
from typing import Any

import pytest

from designs.reports import render
from tests.reports import bundles
from tests.reports.test_render import CLOSED_ORDER, OPEN_ORDER, as_open

CHROMIUM = shutil.which("chromium") or ("/usr/bin/chromium" if os.path.exists("/usr/bin/chromium") else None)
TIMEOUT_SECONDS = 30

pytestmark = pytest.mark.skipif(CHROMIUM is None, reason="Chromium is not installed (Debian package 'chromium', "
                                                         "/usr/bin/chromium; .ci/run installs it)")


class Browser:
    """A headless Chromium with no network, spoken to over the DevTools protocol on a pipe."""

    def __init__(self, profile: Path):
        to_browser_read, self._to_browser = os.pipe()
        self._from_browser, from_browser_write = os.pipe()
        # The browser reads commands on its fd 3 and writes answers on its fd 4.
        self.process = subprocess.Popen(
            [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
             "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-extensions",
             "--disable-default-apps", f"--user-data-dir={profile}", '--host-resolver-rules=MAP * ~NOTFOUND',
             "--proxy-server=127.0.0.1:9", "--remote-debugging-pipe", "about:blank"],
            pass_fds=(3, 4), stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
            preexec_fn=lambda: (os.dup2(to_browser_read, 3), os.dup2(from_browser_write, 4)),
        )
        os.close(to_browser_read)
        os.close(from_browser_write)
        self._buffer = b""
        self._next_id = 0
        self.events: list[dict[str, Any]] = []

    def _read_message(self, deadline: float) -> dict[str, Any]:
        while b"\0" not in self._buffer:
            ready, _, _ = select.select([self._from_browser], [], [], max(0.0, deadline - time.monotonic()))
            if not ready:
                raise TimeoutError("Chromium did not answer in time")
            chunk = os.read(self._from_browser, 1 << 16)
            if not chunk:
                raise RuntimeError("Chromium closed the DevTools pipe")
            self._buffer += chunk
        message, self._buffer = self._buffer.split(b"\0", 1)
        return json.loads(message)

    def send(self, method: str, session: str | None = None, **params: Any) -> dict[str, Any]:
        self._next_id += 1
        command = {"id": self._next_id, "method": method, "params": params}
        if session:
            command["sessionId"] = session
        os.write(self._to_browser, json.dumps(command).encode() + b"\0")
        deadline = time.monotonic() + TIMEOUT_SECONDS
        while True:
            message = self._read_message(deadline)
            if message.get("id") == self._next_id:
                if "error" in message:
                    raise RuntimeError(f"{method}: {message['error']}")
                return message["result"]
            self.events.append(message)

    def wait_for(self, method: str) -> dict[str, Any]:
        deadline = time.monotonic() + TIMEOUT_SECONDS
        for event in self.events:
            if event.get("method") == method:
                return event
        while True:
            event = self._read_message(deadline)
            self.events.append(event)
            if event.get("method") == method:
                return event

    def load(self, path: Path) -> dict[str, Any]:
        """Open ``path`` in a 1280×2000 page: its section ids, every request, every failure, a PNG screenshot."""
        target = self.send("Target.createTarget", url="about:blank")["targetId"]
        session = self.send("Target.attachToTarget", targetId=target, flatten=True)["sessionId"]
        for method in ("Network.enable", "Page.enable"):
            self.send(method, session)
        self.send("Emulation.setDeviceMetricsOverride", session, width=1280, height=2000, deviceScaleFactor=1, mobile=False)
        self.events.clear()
        self.send("Page.navigate", session, url=path.as_uri())
        self.wait_for("Page.loadEventFired")
        sections = self.send("Runtime.evaluate", session, returnByValue=True,
                             expression="[...document.querySelectorAll('section')].map(s => s.id)")["result"]["value"]
        png = base64.b64decode(self.send("Page.captureScreenshot", session, format="png")["data"])
        requests = [e["params"]["request"]["url"] for e in self.events if e.get("method") == "Network.requestWillBeSent"]
        failed = [e["params"] for e in self.events if e.get("method") == "Network.loadingFailed"]
        return {"sections": sections, "requests": requests, "failed": failed, "png": png}

    def close(self) -> None:
        try:
            self.send("Browser.close")
        except (RuntimeError, TimeoutError, OSError):
            pass
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        os.close(self._to_browser)
        os.close(self._from_browser)


@pytest.fixture(scope="module")
def browser(tmp_path_factory):
    chromium = Browser(tmp_path_factory.mktemp("chromium-profile"))
    yield chromium
    chromium.close()


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
    page = browser.load(path)
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
    page = browser.load(path)
    assert any("example.com" in url for url in page["requests"])
    assert page["failed"]
