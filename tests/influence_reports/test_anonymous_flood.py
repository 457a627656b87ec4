"""A flood of anonymous reports: the intake caps it, and each person is told once per wave
(paged once, e-mailed once) until someone acts, while every case is in the queue. Reports
from signed-in reporters are never folded together."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.core.cache import cache
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from influence_reports import notifications
from influence_reports.models import Case, Report
from influence_reports.services import cases as case_services
from influence_reports.services.reports import ReportData, report_submit
from security_core.models import Notification, User
from security_core.roles import Role
from tests.influence_reports.conftest import report_form

pytestmark = pytest.mark.django_db

Kind, Channel = Notification.Kind, Notification.Channel


@pytest.fixture(autouse=True)
def _setup(settings: Any) -> None:
    cache.clear()
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    settings.VARN_PAGER_BACKEND = "security_core.notify.RecordingPager"


def _file(reporter: User | None = None, *, minutes_ago: float = 0, acute: bool = True) -> Case:
    report = report_submit(
        reporter=reporter,
        data=ReportData(
            description="Hot.", reporter_role="official", categories=["threat"], is_acute=acute
        ),
        submitted_at=timezone.now() - timedelta(minutes=minutes_ago),
    )
    return Case.objects.get(report=report)


def _rows(kind: str, user: User, channel: str = Channel.EMAIL) -> list[Notification]:
    return list(Notification.objects.filter(kind=kind, recipient=user, channel=channel))


@pytest.fixture
def staff(make_user: Any) -> dict[str, User]:
    return {
        "duty": make_user(Role.DUTY_OFFICER),
        "lead": make_user(Role.SECURITY_LEAD),
        "handler": make_user(Role.HANDLER),
    }


def test_a_wave_of_anonymous_acute_reports_pages_once_and_every_case_is_queued(
    staff: dict[str, User],
) -> None:
    cases = [_file(minutes_ago=10 - n) for n in range(6)]
    pages = _rows(Kind.ACUTE_REPORT, staff["duty"], Channel.PAGER)
    assert len(pages) == 1
    assert pages[0].references == [cases[0].report.reference]
    assert len(_rows(Kind.ACUTE_REPORT, staff["lead"])) == 1
    assert len(_rows(Kind.NEW_REPORT, staff["handler"])) == 1
    assert Case.objects.filter(status=Case.Status.RECEIVED).count() == 6


def test_once_someone_acts_the_next_anonymous_report_pages_again(
    staff: dict[str, User],
) -> None:
    first = _file(minutes_ago=5)
    _file(minutes_ago=4)
    for case in Case.objects.all():  # the duty officer acknowledges the wave
        case_services.case_transition(
            case=case, to=Case.Status.ACKNOWLEDGED, actor=staff["duty"], reason=""
        )
    later = _file(minutes_ago=1)
    pages = _rows(Kind.ACUTE_REPORT, staff["duty"], Channel.PAGER)
    assert sorted(page.references[0] for page in pages) == sorted(
        [first.report.reference, later.report.reference]
    )
    assert len(pages) == 2


def test_an_anonymous_report_after_the_wave_window_pages_again(staff: dict[str, User]) -> None:
    _file(minutes_ago=40)
    _file(minutes_ago=1)  # 39 minutes later: a new wave, though the first is unacknowledged
    assert len(_rows(Kind.ACUTE_REPORT, staff["duty"], Channel.PAGER)) == 2


def test_signed_in_reporters_are_never_folded_together(
    staff: dict[str, User], make_user: Any
) -> None:
    _file(minutes_ago=3)  # an anonymous wave is going on
    for n in range(3):
        _file(make_user(Role.REPORTER), minutes_ago=2 - n / 2)
    assert len(_rows(Kind.ACUTE_REPORT, staff["duty"], Channel.PAGER)) == 4
    assert len(_rows(Kind.NEW_REPORT, staff["handler"])) == 4


def test_a_non_acute_anonymous_report_does_not_swallow_an_acute_page(
    staff: dict[str, User],
) -> None:
    _file(minutes_ago=3, acute=False)
    acute = _file(minutes_ago=1)
    (page,) = _rows(Kind.ACUTE_REPORT, staff["duty"], Channel.PAGER)
    assert page.references == [acute.report.reference]


def test_unacknowledged_anonymous_cases_are_escalated_together_once(
    staff: dict[str, User], make_user: Any
) -> None:
    anonymous = [_file(minutes_ago=30 - n) for n in range(4)]
    signed = _file(make_user(Role.REPORTER), minutes_ago=20)
    assert notifications.escalate_unacknowledged_acute() == 5
    pages = _rows(Kind.ACUTE_UNACKNOWLEDGED, staff["lead"], Channel.PAGER)
    assert sorted(map(len, (page.references for page in pages))) == [1, 4]
    together = next(page for page in pages if len(page.references) == 4)
    assert together.references == [case.report.reference for case in anonymous]
    assert signed.report.reference in {ref for page in pages for ref in page.references}
    # The next run (every minute) pages nobody again while the same wave waits.
    _file(minutes_ago=16)
    assert notifications.escalate_unacknowledged_acute() == 0
    assert len(_rows(Kind.ACUTE_UNACKNOWLEDGED, staff["lead"], Channel.PAGER)) == 2


def test_the_intake_cap_holds_across_clients_without_blocking_signed_in_reporters(
    settings: Any, make_user: Any, signed_in: Any
) -> None:
    settings.VARN_ANONYMOUS_REPORTS_PER_HOUR_ALL = 3
    answers = [
        Client(REMOTE_ADDR=f"198.51.100.{n}")
        .post(reverse("anonymous_new"), report_form())
        .status_code
        for n in range(5)
    ]
    assert answers == [200, 200, 200, 429, 429]
    assert Report.objects.count() == 3
    reporter = make_user(Role.REPORTER)
    client = Client()
    signed_in(client, reporter, verified=True)
    assert client.post(reverse("report_new"), report_form()).status_code == 302
    assert Report.objects.count() == 4
