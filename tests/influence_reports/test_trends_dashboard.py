"""The leadership's trends: what they see, filter and export, and what they can never reach."""

from __future__ import annotations

import csv
import io
import random
import re
import uuid
from datetime import date, datetime, timedelta
from html.parser import HTMLParser
from zoneinfo import ZoneInfo

import pytest
from django.conf import settings
from django.test import Client
from django.urls import reverse

from influence_reports import choices, release
from influence_reports.models import Case, TrendRelease
from influence_reports.services.reports import ReportData, report_submit
from security_core.roles import Role

pytestmark = pytest.mark.django_db

STOCKHOLM = ZoneInfo("Europe/Stockholm")
TODAY = date(2026, 11, 25)
CANARY = "KANARIE-trend-7Q"


def _report(rng: random.Random, when: datetime, **overrides):
    data = {
        "description": f"{CANARY} skrev till mig",
        "reporter_role": rng.choice(["elected_part_time", "official", "candidate"]),
        "categories": [rng.choice(["threat", "harassment", "threat", "bribery"])],
        "channels": [rng.choice(["social_media", "social_media", "email"])],
        "consequences": rng.sample(["avoided_issue", "none"], 1),
        "district": rng.choice(["bromma", "kungsholmen", "rinkeby_kista"]),
        "police_reported": rng.choice(["yes", "no", "no"]),
    } | overrides
    return report_submit(
        reporter=None,
        data=ReportData(encrypted={"profile_party": f"{CANARY}-partiet"}, **data),
        submitted_at=when,
    )


@pytest.fixture
def published(db):
    """About 200 reports over 2026's first three quarters, and the release of 2026-11-25."""
    rng = random.Random(26)
    start = datetime(2026, 1, 5, 9, tzinfo=STOCKHOLM)
    reports = [_report(rng, start + timedelta(hours=rng.randint(0, 24 * 260))) for _ in range(200)]
    # One lonely report from a district nobody else reports from: it must never show alone.
    lonely = _report(rng, start + timedelta(days=40), district="skarholmen", reporter_role="other")
    release.release_publish(TODAY)
    return reports, lonely


def _client(make_user, signed_in, role: Role = Role.LEADERSHIP, language: str = "en") -> Client:
    client = Client()
    signed_in(client, make_user(role), verified=True)
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = language
    return client


class _Tables(HTMLParser):
    """The text of every data table's cells, by caption, as a reader of the page gets it."""

    def __init__(self) -> None:
        super().__init__()
        self.tables: list[list[list[str]]] = []
        self._cell: list[str] | None = None
        self._in_caption = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "table":
            self.tables.append([])
        elif tag == "tr" and self.tables:
            self.tables[-1].append([])
        elif tag in ("td", "th") and self.tables:
            self._cell = []

    def handle_endtag(self, tag: str) -> None:
        if tag in ("td", "th") and self._cell is not None:
            self.tables[-1][-1].append("".join(self._cell).strip())
            self._cell = None

    def handle_data(self, data: str) -> None:
        if self._cell is not None:
            self._cell.append(data)


def _screen_tables(body: str) -> list[list[list[str]]]:
    parser = _Tables()
    parser.feed(body)
    return parser.tables


def test_leadership_sees_the_trends_with_charts_and_a_table_beside_each(
    published, make_user, signed_in
):
    response = _client(make_user, signed_in).get(reverse("trends_dashboard"))

    assert response.status_code == 200
    body = response.content.decode()
    assert "Reports per week" in body
    assert "Election period against earlier" in body
    assert body.count('role="img"') >= 10
    assert body.count("<table") >= body.count('role="img"')
    assert "<script" not in body
    assert CANARY not in body
    assert not re.search(r"VN-[0-9A-Z]{4}-[0-9A-Z]{4}", body)
    for report in published[0][:20]:
        assert str(report.pk) not in body
        assert str(report.case.pk) not in body


def test_the_period_totals_are_the_number_of_reports_and_the_lonely_one_is_hidden(
    published, make_user, signed_in
):
    client = _client(make_user, signed_in)
    body = client.get(reverse("trends_dashboard"), {"period": "2026-Q1"}).content.decode()
    tables = {table[0][0]: table for table in _screen_tables(body) if table and table[0]}
    counted = sum(
        1
        for report in (*published[0], published[1])
        if release.quarter_label(
            report.submitted_at.astimezone(STOCKHOLM).date()
            - timedelta(days=report.submitted_at.astimezone(STOCKHOLM).weekday())
        )
        == "2026-Q1"
    )
    summary = next(t for t in _screen_tables(body) if t[0] == ["What", "Reports"])
    assert summary[1] == ["All reports", str(counted)]
    district = next(
        t for t in _screen_tables(body) if any(row and row[0] == "Skärholmen" for row in t)
    )
    row = next(row for row in district if row[0] == "Skärholmen")
    assert row[1] == "<5"
    assert tables  # the page has tables at all


def test_filters_narrow_the_figures_and_bad_filters_get_a_clear_error(
    published, make_user, signed_in
):
    client = _client(make_user, signed_in)
    for query in (
        {"group": "threats_harassment"},
        {"district": "bromma"},
        {"role": "official"},
        {"period": "2026"},
        {"period": "last4", "group": "corruption", "district": "kungsholmen"},
    ):
        response = client.get(reverse("trends_dashboard"), query)
        assert response.status_code == 200, query
        assert CANARY not in response.content.decode()
    narrowed = client.get(reverse("trends_dashboard"), {"district": "bromma"}).content.decode()
    assert "Reports per quarter" in narrowed
    assert "Case outcomes are published for the whole organisation only." in narrowed

    both = client.get(reverse("trends_dashboard"), {"district": "bromma", "role": "official"})
    assert both.status_code == 400
    assert "Choose a district or a role, not both" in both.content.decode()
    for bad in ({"district": "atlantis"}, {"period": "2019-Q9"}, {"group": "x" * 500}):
        response = client.get(reverse("trends_dashboard"), bad)
        assert response.status_code == 400, bad
        assert "Select a valid choice" in response.content.decode()
    assert client.get(reverse("trends_export"), {"role": "nobody"}).status_code == 400


@pytest.mark.parametrize(
    "query",
    [{}, {"group": "threats_harassment"}, {"district": "bromma", "period": "2026-Q2"}],
    ids=["everyone", "group", "district"],
)
def test_the_csv_export_is_exactly_what_is_on_screen(published, make_user, signed_in, query):
    client = _client(make_user, signed_in)
    screen = _screen_tables(client.get(reverse("trends_dashboard"), query).content.decode())

    response = client.get(reverse("trends_export"), query)

    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/csv")
    assert response["Content-Disposition"].startswith("attachment;")
    text = response.content.decode("utf-8")
    assert text.startswith("\ufeff")
    rows = list(csv.reader(io.StringIO(text.removeprefix("\ufeff"))))
    exported = [row for row in rows if row]
    for table in screen:
        for row in table:
            assert row in exported, row
    screen_rows = [row for table in screen for row in table]
    # Nothing in the export but the tables on screen, their captions and the heading.
    extra = [row for row in exported if row not in screen_rows and len(row) > 1]
    assert all(row[0] in ("Period", "Filter") for row in extra), extra
    assert CANARY not in text


def test_the_printable_briefing_is_one_page_of_the_same_figures(published, make_user, signed_in):
    client = _client(make_user, signed_in)
    page = client.get(reverse("trends_briefing")).content.decode()
    full = client.get(reverse("trends_dashboard")).content.decode()
    assert "Briefing" in page
    briefing_rows = [row for t in _screen_tables(page) for row in t]
    full_rows = [row for t in _screen_tables(full) for row in t]
    assert briefing_rows
    assert all(row in full_rows for row in briefing_rows)


def test_the_dashboard_speaks_swedish_first(published, make_user, signed_in):
    body = _client(make_user, signed_in, language="sv").get(reverse("trends_dashboard"))
    text = body.content.decode()
    assert '<html lang="sv">' in text
    assert "Rapporter per vecka" in text


@pytest.mark.parametrize(
    "role",
    [Role.REPORTER, Role.HANDLER, Role.DUTY_OFFICER, Role.COMMUNICATIONS, Role.AUDITOR, Role.ADMIN],
    ids=lambda role: role.value,
)
def test_only_leadership_and_the_head_of_security_see_the_trends(
    published, make_user, signed_in, role
):
    client = _client(make_user, signed_in, role)
    for name in ("trends_dashboard", "trends_export", "trends_briefing"):
        assert client.get(reverse(name)).status_code == 404
    lead = _client(make_user, signed_in, Role.SECURITY_LEAD)
    assert lead.get(reverse("trends_dashboard")).status_code == 200


def test_before_anything_is_published_the_page_says_so(db, make_user, signed_in):
    assert not TrendRelease.objects.exists()
    body = _client(make_user, signed_in).get(reverse("trends_dashboard")).content.decode()
    assert "No figures have been published yet" in body


# The role x action table's row for leadership: every URL that would return a single report,
# case, free text or attachment answers 404, as if it did not exist.
SINGLE_OBJECT_URLS = [
    ("get", "report_detail", "report"),
    ("get", "report_receipt", "report"),
    ("post", "report_add_evidence", "report"),
    ("post", "report_withdraw", "report"),
    ("post", "report_message", "report"),
    ("get", "case_detail", "case"),
    ("post", "case_transition", "case"),
    ("post", "case_assign", "case"),
    ("post", "case_recuse", "case"),
    ("post", "case_assess", "case"),
    ("post", "case_measure_add", "case"),
    ("post", "case_referral_add", "case"),
    ("post", "case_note_add", "case"),
    ("post", "case_message", "case"),
    ("post", "case_link_add", "case"),
    ("get", "attachment_download", "attachment"),
]


@pytest.fixture
def filed_with_file(make_user, signed_in):
    from django.core.files.uploadedfile import SimpleUploadedFile

    from tests.influence_reports.conftest import PNG, report_form

    filer = Client()
    signed_in(filer, make_user(Role.REPORTER), verified=False)
    filer.post(
        reverse("report_new"),
        report_form(description=CANARY, evidence=[SimpleUploadedFile("a.png", PNG, "image/png")]),
    )
    case = Case.objects.select_related("report").get()
    return {
        "report": case.report.pk,
        "case": case.pk,
        "attachment": case.report.attachments.get().pk,
    }


@pytest.mark.parametrize(
    ("method", "name", "target"), SINGLE_OBJECT_URLS, ids=[n for _m, n, _t in SINGLE_OBJECT_URLS]
)
def test_leadership_has_no_url_to_a_single_report_case_text_or_file(
    filed_with_file, make_user, signed_in, method, name, target
):
    client = _client(make_user, signed_in)
    data = {"to": "acknowledged", "take": "1", "body": "x", "text": "x", "reason": "x"}
    response = getattr(client, method)(reverse(name, args=[filed_with_file[target]]), data)
    assert response.status_code == 404
    assert CANARY not in response.content.decode()
    unknown = getattr(client, method)(reverse(name, args=[uuid.uuid4()]), data)
    assert unknown.status_code == 404
    nonce = re.compile(rb'(nonce|value)="[^"]*"')
    assert nonce.sub(b"", unknown.content) == nonce.sub(b"", response.content)


def test_leadership_has_no_list_of_reports_or_cases_and_no_admin(make_user, signed_in):
    client = _client(make_user, signed_in)
    for listing in ("report_list", "report_new", "case_queue", "situation", "roster"):
        assert client.get(reverse(listing)).status_code == 404, listing
    assert client.get(reverse("admin:index")).status_code == 404


def test_every_published_figure_is_a_count_at_or_above_the_threshold_or_withheld(published):
    current = TrendRelease.objects.get(is_current=True)
    k = current.min_count
    for count, state in current.figures.values_list("count", "state"):
        if state == 0:
            assert count is not None
            assert count >= k or count is None
        else:
            assert count is None
    assert current.figures.exclude(state=0).exists()
    assert choices.districts()
