"""A headless Chromium with no network but loopback, for the tests that load a page in a real browser
(the report, tests/reports/test_browser.py; the interactive API docs, tests/service/test_offline_docs.py).

Chromium is driven over the DevTools protocol on a pipe (``--remote-debugging-pipe``: fd 3 in, fd 4
out, messages ended by NUL), so that every network request, response and failure of a page is seen as
an event rather than guessed from logs. Every host but 127.0.0.1 is unreachable: names resolve to
nothing and every connection not to loopback goes to a proxy on a dead port, so that a page asking
for anything outside fails visibly, as on the closed networks the service runs on.
"""

from __future__ import annotations

import base64
import json
import os
import select
import shutil
import subprocess
import time
from pathlib import Path
from typing import Any

import pytest

CHROMIUM = shutil.which("chromium") or ("/usr/bin/chromium" if os.path.exists("/usr/bin/chromium") else None)
# Generous: the machine running the tests is shared, and Swagger UI's bundle alone is 1.5 MB of script.
TIMEOUT_SECONDS = 60

requires_chromium = pytest.mark.skipif(CHROMIUM is None, reason="Chromium is not installed (Debian package "
                                                                "'chromium', /usr/bin/chromium; .ci/run installs it)")

FLAGS = (
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
    "--disable-sync", "--no-first-run", "--disable-extensions", "--disable-default-apps",
    # No name resolves (but the loopback address, for the tests' own server) ...
    "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1",
    # ... and every connection but to loopback goes to a proxy on a port where nothing listens.
    "--proxy-server=127.0.0.1:9", "--proxy-bypass-list=127.0.0.1",
)


class Browser:
    """A headless Chromium spoken to over the DevTools protocol on a pipe; pages are opened with ``open``."""

    def __init__(self, profile: Path):
        to_browser_read, self._to_browser = os.pipe()
        self._from_browser, from_browser_write = os.pipe()
        # The browser reads commands on its fd 3 and writes answers on its fd 4.
        self.process = subprocess.Popen(
            [CHROMIUM, *FLAGS, f"--user-data-dir={profile}", "--remote-debugging-pipe", "about:blank"],
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
        """Send a command (to a page's ``session``, or to the browser) and return its result; events read
        meanwhile are kept in ``events``."""
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

    def wait_for(self, method: str, session: str | None = None, since: int = 0,
                 timeout: float = TIMEOUT_SECONDS) -> dict[str, Any]:
        """The first event ``method`` (of ``session``, if given) among ``events[since:]``, waiting for it if
        there is none yet."""
        def matches(event: dict[str, Any]) -> bool:
            return event.get("method") == method and (session is None or event.get("sessionId") == session)

        for event in self.events[since:]:
            if matches(event):
                return event
        deadline = time.monotonic() + timeout
        while True:
            event = self._read_message(deadline)
            self.events.append(event)
            if matches(event):
                return event

    def open(self, width: int = 1280, height: int = 2000) -> Page:
        """A new page (a tab) of ``width``×``height`` CSS pixels with its network events recorded."""
        target = self.send("Target.createTarget", url="about:blank")["targetId"]
        session = self.send("Target.attachToTarget", targetId=target, flatten=True)["sessionId"]
        for method in ("Network.enable", "Page.enable", "Runtime.enable"):
            self.send(method, session)
        self.send("Emulation.setDeviceMetricsOverride", session, width=width, height=height, deviceScaleFactor=1,
                  mobile=False)
        return Page(self, target, session)

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


class Page:
    """One tab of a ``Browser``: navigate, evaluate script, wait for the DOM, and read what it requested."""

    def __init__(self, browser: Browser, target: str, session: str):
        self.browser, self.target, self.session = browser, target, session
        self._since = len(browser.events)

    def send(self, method: str, **params: Any) -> dict[str, Any]:
        return self.browser.send(method, self.session, **params)

    @property
    def events(self) -> list[dict[str, Any]]:
        """This page's events since its last navigation."""
        return [e for e in self.browser.events[self._since:] if e.get("sessionId") == self.session]

    def navigate(self, url: str, timeout: float = TIMEOUT_SECONDS) -> None:
        """Go to ``url`` and wait for its load event; the events recorded start here."""
        self._since = len(self.browser.events)
        navigation = self.send("Page.navigate", url=url)
        if "errorText" in navigation:
            raise RuntimeError(f"{url}: {navigation['errorText']}")
        self.browser.wait_for("Page.loadEventFired", self.session, self._since, timeout)

    def evaluate(self, expression: str) -> Any:
        """The value of a script expression in the page (promises awaited); a thrown error fails."""
        answer = self.send("Runtime.evaluate", expression=expression, returnByValue=True, awaitPromise=True)
        if "exceptionDetails" in answer:
            raise RuntimeError(f"{expression!r} threw: {answer['exceptionDetails']}")
        return answer["result"].get("value")

    def wait_until(self, expression: str, timeout: float = TIMEOUT_SECONDS, interval: float = 0.25) -> Any:
        """Evaluate ``expression`` until its value is truthy, and return that value."""
        deadline = time.monotonic() + timeout
        while True:
            value = self.evaluate(expression)
            if value:
                return value
            if time.monotonic() > deadline:
                failed = [(f["url"], f["errorText"]) for f in self.failed]
                raise TimeoutError(f"{expression!r} still falsy after {timeout} s (failed requests: {failed})")
            time.sleep(interval)

    @property
    def pending(self) -> list[str]:
        """The URL of every request over the network that has neither finished nor failed yet (data: and
        blob: URLs are the page's own, and a worker's blob: script reports no end)."""
        started = {e["params"]["requestId"]: e["params"]["request"]["url"]
                   for e in self.events if e.get("method") == "Network.requestWillBeSent"
                   and not e["params"]["request"]["url"].startswith(("data:", "blob:"))}
        for e in self.events:
            if e.get("method") in ("Network.loadingFinished", "Network.loadingFailed"):
                started.pop(e["params"]["requestId"], None)
        return list(started.values())

    def wait_until_quiet(self, quiet: float = 1.0, timeout: float = TIMEOUT_SECONDS) -> None:
        """Wait until no request is pending and no new one has started for ``quiet`` seconds, so that
        what the page has asked for so far is all in ``requests``, ``failed`` and ``responses``."""
        deadline = time.monotonic() + timeout
        seen = -1
        while True:
            self.evaluate("0")  # reads the events that came meanwhile
            count = len(self.requests)
            if count == seen and not self.pending:
                return
            if time.monotonic() > deadline:
                raise TimeoutError(f"requests still pending after {timeout} s: {self.pending}")
            seen = count if not self.pending else -1
            time.sleep(quiet)

    def insert_text(self, text: str) -> None:
        """Type ``text`` where the focus is, as a user would (frameworks that watch input events see it)."""
        self.send("Input.insertText", text=text)

    def screenshot(self) -> bytes:
        return base64.b64decode(self.send("Page.captureScreenshot", format="png")["data"])

    @property
    def requests(self) -> list[str]:
        """The URL of every request the page made, in order."""
        return [e["params"]["request"]["url"] for e in self.events if e.get("method") == "Network.requestWillBeSent"]

    @property
    def failed(self) -> list[dict[str, Any]]:
        """Every request that got no response (refused, unresolved, blocked), with its URL."""
        urls = {e["params"]["requestId"]: e["params"]["request"]["url"]
                for e in self.events if e.get("method") == "Network.requestWillBeSent"}
        return [{**e["params"], "url": urls.get(e["params"]["requestId"])}
                for e in self.events if e.get("method") == "Network.loadingFailed"]

    @property
    def responses(self) -> list[tuple[str, int]]:
        """The URL and HTTP status of every response the page received."""
        return [(e["params"]["response"]["url"], e["params"]["response"]["status"])
                for e in self.events if e.get("method") == "Network.responseReceived"]

    def close(self) -> None:
        self.browser.send("Target.closeTarget", targetId=self.target)
