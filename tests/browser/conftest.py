"""Browser tests reuse the web fixtures (the app on the test database and the world of
denials), serve the app on a free port, and drive Debian's chromium logged in as a persona.

Every page fails its test on a script error or a console error (a Content-Security-Policy
violation among them); `check_accessibility` runs the vendored axe-core on the page as it is.
"""

from __future__ import annotations

import shutil
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from flask import Flask

from tests.web.conftest import PASSWORD, World, app, cheap_password_hashing, world  # noqa: F401

CHROMIUM = "/usr/bin/chromium"
AXE = Path(__file__).resolve().parent / "vendor" / "axe.min.js"
WIDE = {"width": 1280, "height": 900}
PHONE = {"width": 390, "height": 844}
ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


@pytest.fixture
def live_server(app: Flask, world: World) -> Iterator[str]:  # noqa: F811
    from werkzeug.serving import make_server

    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        thread.join(5)


# Chromium logs every 4xx answer as a console error. A 422 is how the app answers a form with
# errors beside its fields (htmx swaps it in, see `responseHandling` in base.html): expected.
EXPECTED_STATUS = "the server responded with a status of 422"


def console_error(message: Any) -> bool:
    """A console error the page should not have: a script error, a CSP violation, a failed load
    (but the 422 of a form shown again with its errors)."""
    return message.type == "error" and EXPECTED_STATUS not in message.text


@contextmanager
def logged_in(base: str, username: str, **context_options: Any) -> Iterator[Any]:
    """A chromium page logged in as `username`; fails the test if the page threw an error."""
    if not Path(CHROMIUM).exists() and not shutil.which("chromium"):
        pytest.skip("Debian's chromium is not installed")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        context = browser.new_context(**context_options)
        page = context.new_page()
        page.set_default_timeout(10_000)
        problems: list[str] = []
        page.on("pageerror", lambda error: problems.append(str(error)))
        page.on(
            "console",
            lambda message: problems.append(message.text) if console_error(message) else None,
        )
        page.goto(f"{base}/auth/login")
        page.fill("input[name=username]", username)
        page.fill("input[name=password]", PASSWORD)
        page.click("button[type=submit]")
        page.wait_for_url("**/queue")
        yield page
        context.close()
        browser.close()
        assert problems == []


AXE_RUN = """async () => {
  const result = await axe.run(document, {resultTypes: ["violations"]});
  return result.violations
    .filter(v => v.impact === "serious" || v.impact === "critical")
    .map(v => {
      const where = v.nodes.slice(0, 3).map(n => n.target.join(" ")).join("; ");
      return `${v.impact} ${v.id}: ${v.help} (${where})`;
    });
}"""


def check_accessibility(page: Any) -> None:
    """Run axe-core (vendored) on the page; fails on any serious or critical violation.

    The script is evaluated through the DevTools protocol, which the page's CSP does not
    govern, so the app's policy stays as strict as it is and its violations are still seen.
    """
    if not page.evaluate("() => typeof window.axe === 'object'"):
        page.evaluate(AXE.read_text(encoding="utf-8") + "\n;void 0")
    violations = page.evaluate(AXE_RUN)
    assert violations == [], f"{page.url}: " + "\n".join(violations)


def page_width(page: Any) -> int:
    """How wide the page's content is (wider than the viewport means the page scrolls sideways)."""
    return int(page.evaluate("() => document.documentElement.scrollWidth"))
