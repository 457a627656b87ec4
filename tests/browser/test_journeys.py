"""The main journeys in a real browser (Debian's Chromium driven by Playwright), with axe-core.

A handler signs in with a password and a backup code, adds an authenticator app and signs
out; every page a person can reach, in Swedish and in English, has no axe-core violation.
"""

from __future__ import annotations

import base64
import re
import struct
import zlib

import pytest
from django_otp.oath import TOTP

from security_core import services
from security_core.roles import Role
from tests.browser.support import assert_accessible, sign_in, switch_language
from tests.factories import PASSWORD, UserFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_handler_signs_in_with_backup_code_enrols_totp_and_signs_out(live_server, page):
    handler = UserFactory(role=Role.HANDLER, email="hanna@example.se")
    codes = services.backup_codes_issue(user=handler)
    base = live_server.url

    page.goto(f"{base}/")
    assert page.get_attribute("html", "lang") == "sv"
    assert "112" in page.inner_text(".emergency")

    sign_in(page, base, handler.email, codes[0])
    page.click("a[href='/account/two-factor/enrol/']")
    page.wait_for_url(re.compile(r"/enrol/"))
    assert page.locator(".qr svg").count() == 1
    key = page.inner_text("code.key").replace(" ", "")
    secret = base64.b32decode(key + "=" * (-len(key) % 8))
    page.fill("input[name=token]", f"{TOTP(secret).token():06d}")
    page.click("main button[type=submit]")
    # The handler still has unused backup codes, so they are kept and not shown again.
    page.wait_for_url(re.compile(r"/home/"))
    assert page.locator(".message-success").count() == 1
    assert page.locator("aside.notice").count() == 0  # no more "add an app" prompt

    page.click("header form.inline-form button")
    page.wait_for_url(f"{base}/")
    assert page.locator(".message").count() == 1
    page.goto(f"{base}/home/")
    assert "/login/" in page.url


@pytest.mark.parametrize("language", ["sv", "en"])
def test_every_page_has_no_accessibility_violation(live_server, page, language):
    base = live_server.url
    page.goto(f"{base}/")
    if language == "en":
        switch_language(page, "en")
    assert_accessible(page, "start page")

    page.goto(f"{base}/login/")
    assert_accessible(page, "sign-in")
    page.fill("input[name=username]", "nobody@example.se")
    page.fill("input[name=password]", "wrong password here")
    page.click("main button[type=submit]")
    assert_accessible(page, "sign-in with an error")

    page.goto(f"{base}/no-such-page/")
    assert_accessible(page, "not found")

    # A new staff member: password, then enrolment of a first device.
    newcomer = UserFactory(role=Role.HANDLER, email=f"ny-{language}@example.se")
    page.goto(f"{base}/login/")
    page.fill("input[name=username]", newcomer.email)
    page.fill("input[name=password]", PASSWORD)
    page.click("main button[type=submit]")
    page.wait_for_url(re.compile(r"/enrol/"))
    assert_accessible(page, "enrolment")
    page.fill("input[name=token]", "000000")
    page.click("main button[type=submit]")
    assert_accessible(page, "enrolment with an error")
    page.wait_for_timeout(1500)  # one wrong code makes the device wait a second
    key = page.inner_text("code.key").replace(" ", "")
    secret = base64.b32decode(key + "=" * (-len(key) % 8))
    page.fill("input[name=token]", f"{TOTP(secret).token():06d}")
    page.click("main button[type=submit]")
    page.wait_for_selector("ul.codes")
    assert_accessible(page, "backup codes")
    page.goto(f"{base}/account/security/")
    assert_accessible(page, "account security")
    page.goto(f"{base}/logout/")
    assert_accessible(page, "sign-out question")
    page.click("main button[type=submit]")
    assert_accessible(page, "signed out")

    for role in Role:
        user = UserFactory(role=role, email=f"{role.value}-{language}@example.se")
        codes = services.backup_codes_issue(user=user)
        page.goto(f"{base}/login/")
        page.fill("input[name=username]", user.email)
        page.fill("input[name=password]", PASSWORD)
        page.click("main button[type=submit]")
        page.wait_for_url(re.compile(r"/login/verify/"))
        if role == Role.HANDLER:
            assert_accessible(page, "second factor")
            page.fill("input[name=token]", "ABCD-EFGH-JKMN")
            page.click("main button[type=submit]")
            assert_accessible(page, "second factor with an error")
            page.wait_for_timeout(1500)  # one wrong code makes the device wait a second
        page.fill("input[name=token]", codes[0])
        page.click("main button[type=submit]")
        page.wait_for_url(re.compile(r"/home/"))
        assert_accessible(page, f"landing page of {role.value}")
        page.click("header form.inline-form button")
        page.wait_for_url(f"{base}/")


@pytest.mark.parametrize("role", [Role.ADMIN, Role.AUDITOR])
def test_admin_pages_have_no_accessibility_violation(live_server, browser, role):
    # Django's admin sets a few inline styles that our CSP blocks (cosmetic only), so this
    # test uses its own page without the CSP console check of the `page` fixture.
    context = browser.new_context(locale="sv-SE")
    page = context.new_page()
    user = UserFactory(role=role, email=f"{role.value}-admin@example.se")
    codes = services.backup_codes_issue(user=user)
    sign_in(page, live_server.url, user.email, codes[0])
    pages = (
        ["/admin/", "/admin/security_core/user/", "/admin/security_core/user/add/"]
        if role == Role.ADMIN
        else ["/admin/", "/admin/auditlog/logentry/", "/admin/security_core/securityevent/"]
    )
    for path in pages:
        response = page.goto(f"{live_server.url}{path}")
        assert response is not None
        assert response.status == 200
        assert_accessible(page, f"{role.value} at {path}")
    context.close()


def _png() -> bytes:
    """A real 4 by 4 PNG (a red square), made here so the test needs no image library."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    rows = b"".join(b"\x00" + b"\xcc\x00\x00" * 4 for _ in range(4))
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", struct.pack(">IIBBBBB", 4, 4, 8, 2, 0, 0, 0))
        + chunk(b"IDAT", zlib.compress(rows))
        + chunk(b"IEND", b"")
    )


PDF = (
    b"%PDF-1.4\n1 0 obj<</Type/Catalog/Pages 2 0 R>>endobj\n"
    b"2 0 obj<</Type/Pages/Kids[3 0 R]/Count 1>>endobj\n"
    b"3 0 obj<</Type/Page/Parent 2 0 R/MediaBox[0 0 200 200]>>endobj\n"
    b"trailer<</Root 1 0 R>>\n%%EOF\n"
)


def test_reporter_files_a_report_with_two_files_finds_it_and_downloads_the_same_bytes(
    live_server, page, settings, tmp_path
):
    settings.VARN_MEDIA_ROOT = tmp_path / "media"
    reporter = UserFactory(role=Role.REPORTER, email="rut-rapport@example.se")
    codes = services.backup_codes_issue(user=reporter)
    png, pdf = tmp_path / "skärmdump.png", tmp_path / "brevet.pdf"
    png.write_bytes(_png())
    pdf.write_bytes(PDF)
    description = "Han skrev i en Facebookgrupp att han vet var jag bor och att jag ska rösta nej."
    base = live_server.url

    sign_in(page, base, reporter.email, codes[0])
    page.click("main a[href='/reports/new/']")
    page.wait_for_url(re.compile(r"/reports/new/$"))
    assert page.get_attribute("html", "lang") == "sv"
    assert "112" in page.inner_text(".emergency")
    assert_accessible(page, "report form")

    # Sent without a category: the form comes back with the error and keeps what was typed.
    page.fill("textarea[name=description]", description)
    page.select_option("select[name=reporter_role]", "elected_part_time")
    page.select_option("select[name=police_reported]", "no")
    page.click("form.report-form button[type=submit]")
    page.wait_for_selector(".error-summary")
    assert page.locator("fieldset.field-error input[name=categories]").count() > 0
    assert page.input_value("textarea[name=description]") == description
    assert page.input_value("select[name=reporter_role]") == "elected_part_time"
    assert_accessible(page, "report form with an error")

    page.check("input[name=categories][value=threat]")
    page.check("input[name=categories][value=harassment]")
    page.set_input_files("input[name=evidence]", [png, pdf])
    page.click("form.report-form button[type=submit]")
    page.wait_for_url(re.compile(r"/reports/[0-9a-f-]{36}/receipt/$"))
    reference = page.inner_text(".reference").strip()
    assert re.fullmatch(r"VN-[2-9A-Z]{4}-[2-9A-Z]{4}", reference)
    assert "112" in page.inner_text("main")
    assert_accessible(page, "receipt")

    page.click("main a[href='/reports/']")
    page.wait_for_url(re.compile(r"/reports/$"))
    assert page.locator("main table a", has_text=reference).count() == 1
    assert_accessible(page, "my reports")

    page.click(f"main table a:text-is('{reference}')")
    page.wait_for_url(re.compile(r"/reports/[0-9a-f-]{36}/$"))
    assert description in page.inner_text("main")
    assert page.locator("main a[href^='/attachments/']").count() == 2
    assert_accessible(page, "report detail")

    with page.expect_download() as download_info:
        page.click("main a[href^='/attachments/']:has-text('skärmdump.png')")
    download = download_info.value
    assert download.suggested_filename == "skärmdump.png"
    saved = tmp_path / "downloaded.png"
    download.save_as(saved)
    assert saved.read_bytes() == png.read_bytes()

    page.goto(f"{base}/reports/new/")
    switch_language(page, "en")
    assert page.url.endswith("/reports/new/")
    assert page.locator("h1", has_text="Report an incident").count() == 1
    assert_accessible(page, "report form in English")
