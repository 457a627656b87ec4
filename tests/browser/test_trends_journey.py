"""Leadership's trends, from the landing page to a printed briefing, in a real browser.

A leadership user signs in with a password and their authenticator app, follows the
landing page to the trends, reads them in Swedish and then in English, checks that every
chart has a table beside it, filters by kind of event, district and quarter, is told why a
district and a role cannot be chosen together, downloads the CSV (the very tables on the
screen), and prints the briefing on one A4 page. axe-core finds nothing on the way.
"""

from __future__ import annotations

import csv
import importlib
import io
import random
import re
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlparse
from zoneinfo import ZoneInfo

import pytest
from django.apps import apps
from django.db import transaction
from django_otp.oath import TOTP
from playwright.sync_api import Page

from influence_reports import release
from influence_reports.services.reports import ReportData, report_submit
from security_core import services
from security_core.models import User
from security_core.roles import Role
from tests.browser.support import assert_accessible, sign_in, switch_language
from tests.conftest import service_request
from tests.factories import UserFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

STOCKHOLM = ZoneInfo("Europe/Stockholm")
RELEASED_ON = date(2026, 11, 25)  # a Wednesday: 2026 Q3 is published, Q4 is not over
FIRST_WEEK, LAST_WEEK = date(2024, 9, 30), date(2026, 9, 28)  # Mondays: reports until Q3 ends
ELECTION_2026 = (date(2026, 3, 9), date(2026, 10, 12))  # the weeks of its election period
DASHBOARD_URL = re.compile(r"/trends/(\?.*)?$")
BRIEFING_URL = re.compile(r"/trends/briefing/(\?.*)?$")
# A PDF page object (not the /Pages tree above them): one per printed page.
PDF_PAGE = re.compile(rb"/Type\s*/Page(?![A-Za-z])")
SCREENSHOTS = Path("/tmp")  # noqa: S108 - outside the repository, for a person to look at

# Every section of the page as a reader gets it: its heading, whether it has a chart (an
# SVG with an accessible name) and a table, and the table's cells row by row.
SECTIONS_JS = """() => [...document.querySelectorAll('main section.trend-section')].map(s => {
  const chart = s.querySelector('svg[role=img]');
  return {
    heading: s.querySelector('h2').textContent.trim(),
    chart: chart ? chart.getAttribute('aria-label') : null,
    tables: s.querySelectorAll('table').length,
    rows: [...s.querySelectorAll('table tr')].map(
      tr => [...tr.querySelectorAll('th, td')].map(cell => cell.textContent.trim())),
  };
})"""


def _seed_election_calendar() -> None:
    """The calendar the migration seeds: a transactional test before this one emptied it."""
    migration = importlib.import_module(
        "influence_reports.migrations.0005_election_calendar_and_trends"
    )
    migration.seed_calendar(apps, None)


@pytest.fixture
def trends() -> None:
    """Two years of reports, more of them in 2026's election period, and the release of
    2026-11-25: the last two years are the eight quarters 2024 Q4 to 2026 Q3."""
    _seed_election_calendar()
    rng = random.Random(26)
    monday = FIRST_WEEK
    while monday < LAST_WEEK:
        in_election = ELECTION_2026[0] <= monday <= ELECTION_2026[1]
        for _ in range(rng.randint(2, 11) if in_election else rng.randint(0, 5)):
            when = datetime.combine(monday, datetime.min.time(), STOCKHOLM) + timedelta(
                hours=rng.randint(8, 24 * 7 - 8)
            )
            data = ReportData(
                description="Någon skrev till mig",
                reporter_role=rng.choice(["elected_part_time", "official", "candidate"]),
                categories=[rng.choice(["threat", "harassment", "threat", "bribery"])],
                channels=[rng.choice(["social_media", "social_media", "email"])],
                consequences=rng.sample(["avoided_issue", "none"], 1),
                district=rng.choice(["bromma", "kungsholmen", "rinkeby_kista"]),
                police_reported=rng.choice(["yes", "no", "no"]),
                encrypted={"profile_party": "partiet"},
            )
            with transaction.atomic():  # as the filing view runs it: one transaction
                report_submit(reporter=None, data=data, submitted_at=when)
        monday += timedelta(days=7)
    release.release_publish(RELEASED_ON)


def _leader_with_app() -> tuple[User, TOTP]:
    """A leadership user with a confirmed authenticator app, and the app itself."""
    leader = UserFactory(role=Role.LEADERSHIP, email="lena-ledning@example.se")
    device = services.totp_device_begin(request=service_request(), user=leader)
    device.confirmed = True
    device.save()
    return leader, TOTP(device.secret(), step=device.step, digits=device.digits)


def _sections(page: Page) -> list[dict[str, Any]]:
    sections: list[dict[str, Any]] = page.evaluate(SECTIONS_JS)
    assert sections, "no trend sections on the page"
    return sections


def _summary(sections: list[dict[str, Any]]) -> list[list[str]]:
    """The one-row table of the reports in the period (key ``summary``)."""
    return next(s["rows"] for s in sections if len(s["rows"]) == 2 and len(s["rows"][0]) == 2)


def _printed_pages(page: Page, name: str) -> int:
    """Print the page to PDF on A4 as Chromium does (kept in /tmp to look at); its pages."""
    pdf = page.pdf(format="A4", prefer_css_page_size=True)
    (SCREENSHOTS / name).write_bytes(pdf)
    assert pdf.startswith(b"%PDF-")
    return len(PDF_PAGE.findall(pdf))


def test_leadership_reads_filters_exports_and_prints_the_trends(live_server, page, trends):
    leader, app = _leader_with_app()
    base = live_server.url

    # Password, then the code the app shows; the landing page leads to the trends.
    sign_in(page, base, leader.email, f"{app.token():06d}")
    page.get_by_role("link", name="Se trenderna", exact=True).click()
    page.wait_for_url(DASHBOARD_URL)

    # Swedish first, as the browser asks.
    assert page.get_attribute("html", "lang") == "sv"
    assert page.inner_text("h1") == "Trender: hot och otillåten påverkan"
    assert page.inner_text("label[for=id_district]").strip() == "Stadsdel"
    assert page.inner_text("label[for=id_role]").strip() == "Rapportörens roll"
    assert page.inner_text("form.filters button[type=submit]").strip() == "Visa"
    swedish = _sections(page)
    assert [s["heading"] for s in swedish][:3] == [
        "Rapporter per vecka",
        "Valperioden jämfört med tidigare, i rapporter per vecka",
        "Rapporter under perioden",
    ]
    assert_accessible(page, "trends in Swedish")
    page.screenshot(path=str(SCREENSHOTS / "trends-dashboard.png"), full_page=True)

    switch_language(page, "en")
    assert page.url.endswith("/trends/")
    assert page.inner_text("h1") == "Trends: threats and undue influence"
    assert page.inner_text("label[for=id_district]").strip() == "District"
    everyone = _sections(page)
    headings = [s["heading"] for s in everyone]
    assert headings[:3] == [
        "Reports per week",
        "Election period against earlier, in reports per week",
        "Reports in the period",
    ]
    assert "By district" in headings
    assert "How the cases were handled" in headings
    # The same figures in both languages: a number does not depend on the language.
    assert [len(s["rows"]) for s in swedish] == [len(s["rows"]) for s in everyone]
    assert _summary(swedish)[1][1] == _summary(everyone)[1][1]
    assert_accessible(page, "trends in English")

    # Every chart is a visible picture with a name, and has its table beside it.
    charts = page.locator("main svg[role=img]")
    assert charts.count() >= 10
    for index in range(charts.count()):
        box = charts.nth(index).bounding_box()
        assert box is not None
        assert box["height"] > 40
    charted = [s for s in everyone if s["chart"] is not None]
    assert len(charted) == charts.count()
    for section in charted:
        assert section["chart"] == section["heading"]
        assert section["tables"] == 1, section["heading"]
        assert len(section["rows"]) >= 2, section["heading"]  # column heads and a row

    # A kind of event, a district and a quarter, chosen with the form.
    page.select_option("select[name=group]", "threats_harassment")
    page.select_option("select[name=district]", "bromma")
    page.select_option("select[name=period]", "2026-Q2")
    page.click("form.filters button[type=submit]")
    page.wait_for_url(re.compile(r"district=bromma"))
    query = parse_qs(urlparse(page.url).query)
    assert query["group"] == ["threats_harassment"]
    assert query["district"] == ["bromma"]
    assert query["period"] == ["2026-Q2"]
    assert page.input_value("select[name=district]") == "bromma"
    assert page.input_value("select[name=group]") == "threats_harassment"
    narrowed = _sections(page)
    assert narrowed[0]["heading"] == "Reports per quarter"
    assert [row[0] for row in narrowed[0]["rows"][1:]] == ["2026 Q2"]
    assert _summary(narrowed)[1][0] == "Threats and harassment"
    assert _summary(narrowed)[1][1] != _summary(everyone)[1][1]
    assert "By district" not in [s["heading"] for s in narrowed]
    assert "2026 Q2" in page.inner_text("dl.facts")
    notes = page.inner_text("main")
    assert "Case outcomes are published for the whole organisation only." in notes

    # The CSV has exactly the tables on the screen, for the same filters.
    with page.expect_download() as download_info:
        page.click("main a[href^='/trends/export.csv?']")
    download = download_info.value
    assert download.suggested_filename == "varn-trends-2026-Q2.csv"
    saved = download.path()
    text = saved.read_text(encoding="utf-8")
    assert text.startswith("\ufeff")
    rows = list(csv.reader(io.StringIO(text.removeprefix("\ufeff"))))
    blocks: list[list[list[str]]] = [[]]
    for row in rows:
        if row:
            blocks[-1].append(row)
        else:
            blocks.append([])
    heading, *tables = blocks
    assert heading[0] == ["Värn: anonymised trends"]
    assert ["Period", "2026 Q2"] in heading
    assert ["Filter", "group=threats_harassment"] in heading
    assert ["Filter", "district=bromma"] in heading
    assert tables == [[[s["heading"]], *s["rows"]] for s in narrowed]

    # A district and a role at once: the form says why not, and shows no figures.
    page.select_option("select[name=role]", "official")
    with page.expect_navigation() as navigation:
        page.click("form.filters button[type=submit]")
    response = navigation.value
    assert response is not None
    assert response.status == 400
    assert "role=official" in page.url
    error = page.locator(".error-summary[role=alert]")
    assert error.is_visible()
    assert "Choose a district or a role, not both" in error.inner_text()
    assert page.locator("main section.trend-section").count() == 0
    assert page.locator("main a[href^='/trends/export.csv']").count() == 0
    assert_accessible(page, "trends with a district and a role")

    # Role back to all: the figures return, and the briefing prints on one A4 page.
    page.select_option("select[name=role]", "")
    page.click("form.filters button[type=submit]")
    page.wait_for_url(re.compile(r"[?&]role=$"))
    assert page.locator(".error-summary").count() == 0
    page.click("main a[href^='/trends/briefing/?']")
    page.wait_for_url(BRIEFING_URL)
    assert "district=bromma" in page.url
    assert page.inner_text("h1") == "Briefing: threats and undue influence"
    briefing = _sections(page)
    assert all(s in narrowed for s in briefing)
    assert _printed_pages(page, "trends-briefing-filtered.pdf") == 1

    # The whole organisation's briefing, from the unfiltered page, is one page too.
    page.click("main a[href='/trends/']")
    page.wait_for_url(DASHBOARD_URL)
    page.click("main a[href='/trends/briefing/']")
    page.wait_for_url(BRIEFING_URL)
    briefing = _sections(page)
    assert [s["heading"] for s in briefing][:2] == [
        "Reports per week",
        "Election period against earlier, in reports per week",
    ]
    assert all(s in everyone for s in briefing)
    assert page.locator("main svg[role=img]").count() >= 3
    assert_accessible(page, "briefing")
    assert _printed_pages(page, "trends-briefing-en.pdf") == 1

    # In Swedish, whose words are longer, the briefing is still one page.
    switch_language(page, "sv")
    assert BRIEFING_URL.search(page.url)
    assert page.inner_text("h1") == "Lägesbild: hot och otillåten påverkan"
    assert len(_sections(page)) == len(briefing)
    assert_accessible(page, "briefing in Swedish")
    assert _printed_pages(page, "trends-briefing.pdf") == 1
    # What the printer gets, as a picture: print styles on a page as wide as A4.
    page.set_viewport_size({"width": 794, "height": 1123})
    page.emulate_media(media="print")
    page.screenshot(path=str(SCREENSHOTS / "trends-briefing.png"), full_page=True)
    page.emulate_media(media="screen")
