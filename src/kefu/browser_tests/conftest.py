"""Fixtures for the browser tests: one chromium for the session, a fresh page per test.

Playwright's own browser download is not reachable here, so the tests drive Debian's chromium
package (``make chromium`` installs it, with the CJK fonts the screenshots need). A missing
binary is a failure with instructions, never a silent skip: a skipped browser suite looks green.
"""

import os
from pathlib import Path

import pytest

from kefu.conftest import PASSWORD

# Playwright's sync API runs an asyncio event loop in the test thread; Django would otherwise
# refuse the ORM calls the tests make to set up data and check the database afterwards.
os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"

CHROMIUM = Path(os.environ.get("KEFU_CHROMIUM", "/usr/bin/chromium"))
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
VIEWPORT = {"width": 1400, "height": 900}
SCREENSHOTS = Path(__file__).resolve().parents[3] / "docs" / "screenshots"
TIMEOUT_MS = 10_000


@pytest.fixture(scope="session")
def browser():
    if not CHROMIUM.exists():
        pytest.fail(
            f"chromium not found at {CHROMIUM}: the browser tests need Debian's chromium "
            "package. Run `make chromium` (it installs chromium and fonts-noto-cjk with apt-get).",
            pytrace=False,
        )
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(
            executable_path=str(CHROMIUM), args=CHROMIUM_ARGS, headless=True
        )
        try:
            yield chromium
        finally:
            chromium.close()


@pytest.fixture
def new_page(browser):
    """A factory of pages, each in its own context (its own cookies: a separate login)."""
    contexts = []

    def make():
        context = browser.new_context(
            viewport=VIEWPORT, locale="zh-CN", timezone_id="Asia/Shanghai"
        )
        context.set_default_timeout(TIMEOUT_MS)
        contexts.append(context)
        return context.new_page()

    yield make
    for context in contexts:
        context.close()


@pytest.fixture
def page(new_page):
    return new_page()


def login(page, live_server, username, password=PASSWORD):
    """Sign in through the login form and wait for the page it lands on."""
    page.goto(f"{live_server.url}/accounts/login/")
    page.fill("#id_username", username)
    page.fill("#id_password", password)
    with page.expect_navigation():
        page.click("#login-submit")
    assert "/accounts/login/" not in page.url, f"login as {username} failed: {page.url}"
    return page


def screenshot(page, name):
    """Write docs/screenshots/<name> (overwritten on every run: the README shows them)."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / name), full_page=True)
