"""A case worked from start to end in a real browser, with axe-core on every page on the way.

A handler takes an acute report from the queue, acknowledges it, assesses the risk, adds a
measure and a police referral, gives feedback and closes the case; the duty officer then
sees the other acute report, still unacknowledged, on the situation page and the rota on
the roster page. The browser asks for Swedish, so the pages (and the checks) are Swedish.
"""

from __future__ import annotations

import re
from datetime import time, timedelta

import pytest
from django.db import transaction
from django.utils import timezone
from playwright.sync_api import Locator, Page

from influence_reports.models import Report, RosterEntry
from influence_reports.services.reports import ReportData, report_submit
from influence_reports.services.roster import roster_entry_add
from security_core import services
from security_core.models import User
from security_core.roles import Role
from tests.browser.support import assert_accessible, sign_in, sign_out
from tests.factories import UserFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

CASE_URL = re.compile(r"/cases/[0-9a-f-]{36}/$")


def _report(reporter: User, description: str, *, is_acute: bool, days_ago: int = 0) -> Report:
    data = ReportData(
        description=description,
        reporter_role="elected_part_time",
        categories=["threat"],
        is_acute=is_acute,
        perpetrator_kind="unknown",
        encrypted={"location_details": "Utanför kommunhuset"},
    )
    with transaction.atomic():  # as the filing view runs it: one transaction
        return report_submit(
            reporter=reporter,
            data=data,
            submitted_at=timezone.now() - timedelta(days=days_ago) if days_ago else None,
        )


def _round_the_clock_rota(duty_officer: User) -> None:
    lead = UserFactory(role=Role.SECURITY_LEAD, email="sara-sak@example.se")
    for weekday in RosterEntry.Weekday.values:
        for starts, ends in ((time(7), time(19)), (time(19), time(7))):
            roster_entry_add(
                actor=lead,
                duty=RosterEntry.Duty.TIB,
                weekday=weekday,
                starts=starts,
                ends=ends,
                user=duty_officer,
            )


def _act(page: Page, button: Locator) -> str:
    """Click a button that posts and comes back to the case; the success message shown."""
    with page.expect_navigation():
        button.click()
    assert page.locator(".message-error").count() == 0, page.inner_text(".messages")
    page.wait_for_url(CASE_URL)
    return page.inner_text(".message-success").strip()


def _move_to(page: Page, status: str) -> str:
    return _act(page, page.get_by_role("button", name=f"Flytta till: {status}", exact=True))


def _fact(page: Page, term: str) -> str:
    return page.locator("dl.facts").first.locator(f"dt:text-is('{term}') + dd").inner_text()


def _open_every_details(page: Page) -> None:
    page.eval_on_selector_all("details", "all => all.forEach(d => { d.open = true; })")


def _queue_references(page: Page) -> list[str]:
    return [
        text.strip() for text in page.locator("main table tbody td:first-child a").all_inner_texts()
    ]


def test_handler_works_an_acute_case_to_closed_and_the_duty_officer_sees_the_situation(
    live_server, page
):
    base = live_server.url
    handler = UserFactory(role=Role.HANDLER, email="hanna-h@example.se", display_name="Hanna Hed")
    duty_officer = UserFactory(
        role=Role.DUTY_OFFICER, email="tor-tib@example.se", display_name="Tor Tibell"
    )
    reporter = UserFactory(role=Role.REPORTER, email="rut-r@example.se")
    _round_the_clock_rota(duty_officer)
    calm = _report(reporter, "Ett otrevligt mejl efter sammanträdet.", is_acute=False)
    late = _report(reporter, "Klotter på partilokalen.", is_acute=False, days_ago=10)
    worked = _report(
        reporter, "Han står utanför mitt hus och säger att han ska döda mig.", is_acute=True
    )
    waiting = _report(reporter, "Någon har ringt tio gånger i natt och hotat.", is_acute=True)
    handler_codes = services.backup_codes_issue(user=handler)
    duty_codes = services.backup_codes_issue(user=duty_officer)
    today = timezone.localdate()

    # The queue, filtered to the acute reports.
    sign_in(page, base, handler.email, handler_codes[0])
    page.click("main a[href='/cases/']")
    page.wait_for_url(re.compile(r"/cases/$"))
    assert page.locator("h1", has_text="Ärendekö").count() == 1
    assert set(_queue_references(page)) == {
        calm.reference,
        late.reference,
        worked.reference,
        waiting.reference,
    }
    page.get_by_label("Bara akuta").check()
    page.click("form.filters button[type=submit]")
    page.wait_for_url(re.compile(r"/cases/\?.*acute=on"))
    assert page.get_by_label("Bara akuta").is_checked()
    assert set(_queue_references(page)) == {worked.reference, waiting.reference}
    row = page.locator("main table tbody tr", has_text=worked.reference)
    assert row.locator(".badge-acute").inner_text() == "Akut"
    assert "Mottagen" in row.inner_text()
    assert row.locator(".deadline").inner_text() in {"I tid", "Går snart ut"}
    assert_accessible(page, "case queue, only acute")

    # The case: taken, acknowledged, being assessed.
    page.click(f"main table a:text-is('{worked.reference}')")
    page.wait_for_url(CASE_URL)
    assert worked.reference in page.inner_text("h1")
    assert "Akut" in page.inner_text("h1")
    assert "Han står utanför mitt hus" in page.inner_text("main")
    assert _fact(page, "Status") == "Mottagen"
    _open_every_details(page)
    assert_accessible(page, "case just received, every details element open")
    assert _act(page, page.get_by_role("button", name="Tilldela mig")) == (
        f"Ärendet är tilldelat {handler.email}."
    )
    assert _fact(page, "Handläggare") == handler.email
    assert page.get_by_role("button", name="Tilldela mig").count() == 0
    assert _move_to(page, "bekräftat") == "Ärendet är nu: bekräftat."
    assert _fact(page, "Status") == "Bekräftat"
    assert _move_to(page, "bedöms") == "Ärendet är nu: bedöms."
    assert _fact(page, "Status") == "Bedöms"

    # The risk: a credible threat from someone known for violence is at least high.
    page.locator("summary", has_text="Bedöm risken").click()
    risk = page.locator("form[action$='/risk/']")
    risk.locator("select[name=targeted]").select_option("reporter")
    risk.locator("select[name=credibility]").select_option("high")
    risk.locator("select[name=specificity]").select_option("specific")
    risk.locator("select[name=capacity]").select_option("some")
    risk.locator("select[name=history]").select_option("violent")
    risk.locator("select[name=imminence]").select_option("days")
    risk.locator("textarea[name=comment]").fill("Känd sedan tidigare av polisen.")
    assert _act(page, risk.get_by_role("button", name="Registrera bedömningen")) == (
        "Riskbedömningen är registrerad."
    )
    assert page.locator("dl.facts .risk.risk-high").inner_text() == "Hög"
    assessment = page.locator("#risk + ul.records li").first
    assert "Hög" in assessment.inner_text()
    assert "Känd sedan tidigare av polisen." in assessment.inner_text()

    # A measure, owned by the handler.
    page.locator("summary", has_text="Lägg till en åtgärd").click()
    measure = page.locator("form[action$='/measures/']")
    measure.locator("select[name=kind]").select_option("risk_talk")
    measure.locator("input[name=due_date]").fill((today + timedelta(days=2)).isoformat())
    measure.locator("textarea[name=details]").fill("Ring upp i dag och gå igenom vägen hem.")
    assert _act(page, measure.get_by_role("button", name="Lägg till åtgärden")) == (
        "Åtgärden är tillagd."
    )
    measure_row = page.locator("#measures + ul.records > li").first
    measure_text = measure_row.inner_text()
    assert "Risksamtal med rapportören" in measure_text
    assert "Planerad" in measure_text
    assert handler.email in measure_text
    assert "Ring upp i dag och gå igenom vägen hem." in measure_text

    # The police referral, with restricted access asked for.
    page.locator("summary", has_text="Registrera en polisanmälan").click()
    referral = page.locator("form[action$='/referrals/']")
    assert referral.locator("input[name=referred_on]").input_value() == today.isoformat()
    referral.locator("input[name=police_reference]").fill("5000-K123456-26")
    referral.get_by_label("Sekretess/skyddade uppgifter begärdes").check()
    referral.locator("select[name=status]").select_option("referred")
    assert _act(page, referral.get_by_role("button", name="Registrera anmälan")) == (
        "Polisanmälan är registrerad."
    )
    referral_text = page.locator("#police + ul.records > li").first.inner_text()
    assert today.isoformat() in referral_text
    assert "Anmält" in referral_text
    assert "5000-K123456-26" in referral_text
    assert "sekretess begärd" in referral_text

    _open_every_details(page)
    assert_accessible(page, "case being assessed, every details element open")

    # Measures, feedback, and closed as handed over to the police.
    assert _move_to(page, "åtgärder") == "Ärendet är nu: åtgärder."
    assert _move_to(page, "återkoppling lämnad") == "Ärendet är nu: återkoppling lämnad."
    assert _fact(page, "Status") == "Återkoppling lämnad"
    close = page.locator("form:has(input[name=to][value=closed])")
    close.get_by_label("Varför avslutas ärendet?").select_option("police")
    close.locator("textarea[name=reason]").fill("Polisen har tagit över.")
    assert _act(page, close.get_by_role("button", name="Avsluta ärendet")) == (
        "Ärendet är nu: avslutat."
    )
    assert _fact(page, "Status") == "Avslutat (överlämnat till polisen)"
    # Only the head of security may reopen, so a handler has nothing left to move it to.
    assert page.get_by_role("button", name=re.compile("^Flytta till")).count() == 0
    assert page.get_by_role("button", name="Avsluta ärendet").count() == 0

    history = [line.strip() for line in page.locator("ol.history > li").all_inner_texts()]
    assert "Rapporten togs emot" in history[0]
    moves = [
        "från mottagen till bekräftat",
        "från bekräftat till bedöms",
        "från bedöms till åtgärder",
        "från åtgärder till återkoppling lämnad",
        "från återkoppling lämnad till avslutat",
    ]
    transitions = [line for line in history if " från " in line]
    assert len(transitions) == len(moves), history
    for line, move in zip(transitions, moves, strict=True):
        assert move in line
        assert f"({handler.email})" in line
    assert "Polisen har tagit över." in transitions[-1]
    assert any(f"Tilldelat: {handler.email}" in line for line in history), history

    _open_every_details(page)
    assert_accessible(page, "closed case, every details element open")

    # The open queue no longer lists the closed case.
    page.click("main a[href='/cases/']")
    page.wait_for_url(re.compile(r"/cases/$"))
    assert worked.reference not in _queue_references(page)
    assert waiting.reference in _queue_references(page)
    sign_out(page, base)

    # The duty officer's picture: the other acute report is waiting to be acknowledged.
    sign_in(page, base, duty_officer.email, duty_codes[0])
    page.click("main a[href='/situation/']")
    page.wait_for_url(re.compile(r"/situation/$"))
    assert page.locator("h1", has_text="Lägesbild").count() == 1
    acute = page.locator("h2:text-is('Akuta, ännu inte bekräftade') + ul.records")
    assert [text.strip() for text in acute.locator("a").all_inner_texts()] == [waiting.reference]
    assert "Akut" in acute.inner_text()
    assert worked.reference not in page.inner_text("main")
    overdue = page.locator("h2:text-is('Försenade tidsfrister') + ul.records")
    assert late.reference in overdue.inner_text()
    assert "Försenad" in overdue.inner_text()
    assert duty_officer.email in _fact(page, "Tjänsteperson i beredskap (TiB)")
    assert_accessible(page, "situation")

    page.click("main a[href='/roster/']")
    page.wait_for_url(re.compile(r"/roster/$"))
    assert page.locator("main table tbody tr").count() == 14
    assert page.locator("main form").count() == 0  # only the head of security edits it
    assert_accessible(page, "roster")
