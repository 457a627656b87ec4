"""What the browser tests share besides fixtures: the Chromium to launch, signing in and
switching language the way a person does, and the axe-core check."""

from __future__ import annotations

import os
import re

from axe_playwright_python.sync_playwright import Axe
from playwright.sync_api import Page

from tests.factories import PASSWORD

CHROMIUM = os.environ.get("VARN_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]
AXE = Axe()


def assert_accessible(page: Page, label: str) -> None:
    results = AXE.run(page)
    assert results.violations_count == 0, f"{label}:\n{results.generate_report()}"


def sign_in(page: Page, base: str, email: str, code: str) -> None:
    """Password, then a backup code, through the sign-in pages; ends on the landing page."""
    page.goto(f"{base}/login/")
    page.fill("input[name=username]", email)
    page.fill("input[name=password]", PASSWORD)
    page.click("main button[type=submit]")
    page.wait_for_url(re.compile(r"/login/verify/"))
    page.fill("input[name=token]", code)
    page.click("main button[type=submit]")
    page.wait_for_url(re.compile(r"/home/"))


def sign_out(page: Page, base: str) -> None:
    page.click("header form.inline-form button")
    page.wait_for_url(f"{base}/")


def switch_language(page: Page, to: str) -> None:
    page.click(f"form.language-form button[value={to}]")
    page.wait_for_load_state()
    assert page.get_attribute("html", "lang") == to
