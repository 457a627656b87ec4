"""The reporter's side of the thread in a real browser, with axe-core on every page on the way.

An anonymous reporter files from the start page, writes down the receipt code, comes back
with it (after a wrong code and a wrong passphrase get the same neutral answer), reads a
handler's reply, downloads the handler's file and answers with more evidence; a signed-in
reporter reads a reply through "My reports" and answers it from the report page. The
browser asks for Swedish, so the checks are Swedish.
"""

from __future__ import annotations

import re

import pytest
from django.db import transaction
from playwright.sync_api import Page

from influence_reports import evidence
from influence_reports.models import Attachment, Message, Report
from influence_reports.services import messages as messages_services
from influence_reports.services.reports import ReportData, report_submit
from security_core import services
from security_core.models import User
from security_core.roles import Role
from tests.browser.support import assert_accessible, sign_in
from tests.factories import UserFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

DETAIL_URL = re.compile(r"/reports/[0-9a-f-]{36}/(#messages)?$")
PASSPHRASE = "blåbär i skogen 1975"
NEUTRAL_ERROR = "Det öppnade ingen rapport. Kontrollera koden och lösenfrasen och försök igen."
SENT = "Ditt meddelande är skickat till säkerhetsfunktionen."


def _fact(page: Page, term: str) -> str:
    return page.locator("dl.facts").first.locator(f"dt:text-is('{term}') + dd").inner_text()


def _thread(page: Page) -> list[str]:
    return [text.strip() for text in page.locator("ol.thread > li").all_inner_texts()]


def _senders(page: Page) -> list[str]:
    """Who wrote each message of the thread, as the reader sees it (after the time)."""
    lines = page.locator("ol.thread > li > p.muted").all_inner_texts()
    return [line.split("·", 1)[1].strip() for line in lines]


def _open_with_code(page: Page, code: str, passphrase: str) -> None:
    page.get_by_label("Kvittokod").fill(code)
    page.get_by_label("Lösenfras (om du valde en)").fill(passphrase)
    with page.expect_navigation():
        page.get_by_role("button", name="Öppna", exact=True).click()


def test_anonymous_reporter_files_returns_with_the_code_reads_the_reply_and_answers(
    live_server, page
):
    base = live_server.url
    handler = UserFactory(role=Role.HANDLER, email="hanna-h@example.se")
    description = "Någon lade ett brev i min brevlåda om hur jag ska rösta i byggnadsnämnden."

    # From the start page to the intake without an account.
    page.goto(f"{base}/")
    page.get_by_role("link", name="Rapportera utan konto").click()
    page.wait_for_url(re.compile(r"/anonymous/$"))
    assert page.locator("h1", has_text="Rapportera en händelse").count() == 1
    assert page.locator(".notice h2", has_text="Utan konto").count() == 1
    assert "112" in page.inner_text(".emergency")
    assert_accessible(page, "anonymous intake")

    # The least the form asks for, and a passphrase typed twice.
    page.check("input[name=categories][value=threat]")
    page.fill("textarea[name=description]", description)
    page.select_option("select[name=reporter_role]", "elected_part_time")
    page.select_option("select[name=police_reported]", "no")
    page.get_by_label("En egen lösenfras (frivillig)").fill(PASSPHRASE)
    page.get_by_label("Lösenfrasen igen").fill(PASSPHRASE)
    with page.expect_navigation():
        page.get_by_role("button", name="Skicka rapporten").click()
    assert page.locator(".error-summary").count() == 0, page.inner_text("main")
    assert page.locator("h1", has_text="Din rapport är skickad").count() == 1, page.inner_text(
        "main"
    )
    assert page.locator("h2", has_text="Skriv ner din kvittokod nu").count() == 1
    code = page.inner_text(".receipt-code").strip()
    assert re.fullmatch(r"\d{4} \d{4} \d{4} \d{4}", code), code
    assert "Du behöver också lösenfrasen du valde." in page.inner_text("main")
    assert_accessible(page, "anonymous receipt")

    report = Report.objects.select_related("case").get(reporter__isnull=True)
    assert report.description == description
    assert report.case.status == "received"

    # A handler answers, as the case page would.
    reply = "Tack för din rapport. Minns du ungefär vilken dag brevet kom?"
    guide = b"%PDF-1.7\nRad om din sakerhet\n%%EOF\n"
    messages_services.message_send(
        case=report.case,
        author=handler,
        side=Message.Side.CASE_WORKER,
        body=reply,
        uploads=[evidence.store_bytes("Säkerhetsråd.pdf", guide, report_id=report.pk)],
    )

    # Back through the receipt page's link. A wrong code, and the right code with a wrong
    # passphrase, get the same neutral answer; then the code as written down, with spaces.
    page.get_by_role("link", name="Öppna min rapport med koden").click()
    page.wait_for_url(re.compile(r"/anonymous/return/$"))
    assert page.locator("h1", has_text="Öppna din rapport").count() == 1
    assert_accessible(page, "receipt code form")
    _open_with_code(page, "1234 5678 9012 3456", PASSPHRASE)
    assert page.inner_text(".error-summary").strip() == NEUTRAL_ERROR
    assert page.locator("h1", has_text="Öppna din rapport").count() == 1
    assert page.get_by_label("Kvittokod").input_value() == ""  # nothing typed is echoed
    assert_accessible(page, "receipt code refused")
    _open_with_code(page, code, "fel lösenfras")
    assert page.inner_text(".error-summary").strip() == NEUTRAL_ERROR
    assert reply not in page.inner_text("main")
    _open_with_code(page, code, PASSPHRASE)
    assert page.locator(".error-summary").count() == 0, page.inner_text("main")
    assert page.locator("h1", has_text="Din rapport").count() == 1
    assert _fact(page, "Status") == "Mottagen"
    thread = _thread(page)
    assert len(thread) == 1, thread
    assert _senders(page) == ["Säkerhetsfunktionen"]
    assert reply in thread[0]
    assert handler.email not in page.inner_text("main")  # the reporter is not told who wrote
    assert code.replace(" ", "") not in page.url
    assert_accessible(page, "anonymous report with the handler's reply")
    # The handler's file downloads through a form that carries the access token.
    with page.expect_download() as download:
        page.get_by_role("button", name="Säkerhetsråd.pdf").click()
    with open(download.value.path(), "rb") as downloaded:
        assert downloaded.read() == guide
    assert download.value.suggested_filename == "Säkerhetsråd.pdf"

    # The answer brings more evidence: a photo of the letter.
    answer = "Det var i måndags, strax efter sammanträdet."
    photo = b"\x89PNG\r\n\x1a\n" + bytes(200)
    page.get_by_label("Skriv till säkerhetsfunktionen").fill(answer)
    page.get_by_label("Bifoga filer eller mer bevis (frivilligt)").set_input_files(
        files=[{"name": "brevet.png", "mimeType": "image/png", "buffer": photo}]
    )
    with page.expect_navigation():
        page.get_by_role("button", name="Skicka meddelandet").click()
    assert page.inner_text(".message-success").strip() == SENT
    assert page.locator(".error-summary").count() == 0
    thread = _thread(page)
    assert len(thread) == 2, thread
    assert reply in thread[0]
    assert answer in thread[1]
    assert _senders(page) == ["Säkerhetsfunktionen", "Du"]
    assert page.get_by_label("Skriv till säkerhetsfunktionen").input_value() == ""
    assert_accessible(page, "anonymous report after answering")

    assert page.get_by_role("button", name="brevet.png").count() == 1
    sent = Message.objects.get(case=report.case, side=Message.Side.REPORTER)
    assert sent.author is None
    assert sent.body == answer
    (added,) = Attachment.objects.filter(message=sent)
    assert (added.report_id, added.filename, added.content_type) == (
        report.pk,
        "brevet.png",
        "image/png",
    )
    assert Message.objects.filter(case=report.case).count() == 2


def _report(reporter: User, description: str) -> Report:
    data = ReportData(
        description=description,
        reporter_role="elected_part_time",
        categories=["harassment"],
        is_acute=False,
        perpetrator_kind="unknown",
        encrypted={},
    )
    with transaction.atomic():  # as the filing view runs it: one transaction
        return report_submit(reporter=reporter, data=data)


def test_signed_in_reporter_reads_the_reply_in_my_reports_and_answers(live_server, page):
    base = live_server.url
    handler = UserFactory(role=Role.HANDLER, email="hugo-h@example.se")
    reporter = UserFactory(role=Role.REPORTER, email="rut-r@example.se")
    codes = services.backup_codes_issue(user=reporter)
    report = _report(reporter, "Hatiska kommentarer under varje inlägg jag gör om skolan.")
    reply = "Vi har sett kommentarerna. Vill du att vi hjälper dig att anmäla dem?"
    messages_services.message_send(
        case=report.case, author=handler, side=Message.Side.CASE_WORKER, body=reply
    )

    sign_in(page, base, reporter.email, codes[0])
    page.get_by_role("link", name="Mina rapporter").click()
    page.wait_for_url(re.compile(r"/reports/$"))
    row = page.locator("main table tbody tr", has_text=report.reference)
    assert row.locator("a.unread").inner_text().strip() == "1 nytt meddelande"
    assert "Mottagen" in row.inner_text()
    assert_accessible(page, "my reports with an unread message")

    page.click(f"main table a:text-is('{report.reference}')")
    page.wait_for_url(DETAIL_URL)
    assert report.reference in page.inner_text("h1")
    thread = _thread(page)
    assert len(thread) == 1, thread
    assert _senders(page) == ["Säkerhetsfunktionen"]
    assert reply in thread[0]
    assert_accessible(page, "report detail with the handler's reply")

    answer = "Ja, gärna. Jag har sparat skärmdumpar."
    page.get_by_label("Skriv till säkerhetsfunktionen").fill(answer)
    with page.expect_navigation():
        page.get_by_role("button", name="Skicka meddelandet").click()
    page.wait_for_url(DETAIL_URL)
    assert page.inner_text(".message-success").strip() == SENT
    thread = _thread(page)
    assert len(thread) == 2, thread
    assert answer in thread[1]
    assert _senders(page) == ["Säkerhetsfunktionen", "Du"]
    assert_accessible(page, "report detail after answering")

    sent = Message.objects.get(case=report.case, side=Message.Side.REPORTER)
    assert sent.author == reporter
    assert sent.body == answer

    # Read and answered: My reports has nothing new to show.
    page.goto(f"{base}/reports/")
    row = page.locator("main table tbody tr", has_text=report.reference)
    assert row.locator("a.unread").count() == 0
    assert_accessible(page, "my reports, everything read")
