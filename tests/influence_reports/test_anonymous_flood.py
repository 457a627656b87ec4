"""A flood of anonymous reports: the intake caps it, and staff are told of anonymous reports
at most once per quiet period and kind, the ones held meanwhile named together when it ends,
so every report is named once and none is left out; every case is in the queue at once.
Reports from signed-in reporters are told of at once, one by one."""

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


def _quiet_period_ends() -> None:
    cache.clear()  # the quiet periods are short-lived cache entries


def _named(kind: str, user: User, channel: str = Channel.EMAIL) -> list[list[str]]:
    return [row.references for row in _rows(kind, user, channel)]


def test_a_flood_of_anonymous_acute_reports_pages_once_then_names_the_rest_together(
    staff: dict[str, User],
) -> None:
    cases = [_file(minutes_ago=4 - n / 2) for n in range(6)]
    references = [case.report.reference for case in cases]
    assert _named(Kind.ACUTE_REPORT, staff["duty"], Channel.PAGER) == [references[:1]]
    assert len(_rows(Kind.ACUTE_REPORT, staff["lead"])) == 1
    assert len(_rows(Kind.NEW_REPORT, staff["handler"])) == 1
    assert Case.objects.filter(status=Case.Status.RECEIVED).count() == 6
    # While the quiet period lasts, the minute task holds them; then names them all at once.
    assert notifications.tell_of_held_anonymous_reports() == 0
    _quiet_period_ends()
    assert notifications.tell_of_held_anonymous_reports() == 5 + 5  # acute page, new-report mail
    pages = _named(Kind.ACUTE_REPORT, staff["duty"], Channel.PAGER)
    assert sorted(pages, key=len) == [references[:1], references[1:]]
    assert len(_rows(Kind.NEW_REPORT, staff["handler"])) == 2
    # Told of once: the next runs name nobody again.
    _quiet_period_ends()
    assert notifications.tell_of_held_anonymous_reports() == 0


def test_a_genuine_report_between_an_attackers_is_always_paged_by_name(
    staff: dict[str, User],
) -> None:
    """An attacker filing an acute report now and then cannot keep a genuine one out of
    every page: each report is named in a page once the quiet period is over."""
    first = _file(minutes_ago=10)  # the attacker's: paged
    genuine = _file(minutes_ago=9)  # within the quiet period: held
    _quiet_period_ends()
    # The attacker again, the moment the period is over and before the minute task runs:
    # the page that starts the new period names the held report too.
    again = _file(minutes_ago=1)
    pages = sorted(_named(Kind.ACUTE_REPORT, staff["duty"], Channel.PAGER), key=len)
    assert pages == [
        [first.report.reference],
        [genuine.report.reference, again.report.reference],
    ]
    _quiet_period_ends()
    assert notifications.tell_of_held_anonymous_reports() == 0  # nothing left unnamed


def test_an_acknowledged_held_report_is_not_paged_again(staff: dict[str, User]) -> None:
    _file(minutes_ago=3)
    held = _file(minutes_ago=2)
    case_services.case_transition(case=held, to=Case.Status.ACKNOWLEDGED, actor=staff["duty"])
    _quiet_period_ends()
    assert notifications.tell_of_held_anonymous_reports() == 0


def test_signed_in_reporters_are_told_of_at_once_one_by_one(
    staff: dict[str, User], make_user: Any
) -> None:
    _file(minutes_ago=3)  # an anonymous flood is going on
    for n in range(3):
        _file(make_user(Role.REPORTER), minutes_ago=2 - n / 2)
    assert len(_rows(Kind.ACUTE_REPORT, staff["duty"], Channel.PAGER)) == 4
    assert len(_rows(Kind.NEW_REPORT, staff["handler"])) == 4


def test_a_non_acute_anonymous_report_does_not_hold_an_acute_page(
    staff: dict[str, User],
) -> None:
    _file(minutes_ago=3, acute=False)
    acute = _file(minutes_ago=1)
    assert _named(Kind.ACUTE_REPORT, staff["duty"], Channel.PAGER) == [[acute.report.reference]]


def test_unacknowledged_anonymous_cases_are_escalated_together_each_named_once(
    staff: dict[str, User], make_user: Any
) -> None:
    anonymous = [_file(minutes_ago=30 - n) for n in range(4)]
    signed = _file(make_user(Role.REPORTER), minutes_ago=20)
    assert notifications.escalate_unacknowledged_acute() == 5
    pages = _named(Kind.ACUTE_UNACKNOWLEDGED, staff["lead"], Channel.PAGER)
    assert sorted(pages, key=len) == [
        [signed.report.reference],
        [case.report.reference for case in anonymous],
    ]
    # The next run (every minute) pages nobody again about the same cases; one left waiting
    # later is escalated by name once the quiet period is over, however old the first is.
    later = _file(minutes_ago=16)
    assert notifications.escalate_unacknowledged_acute() == 0
    _quiet_period_ends()
    assert notifications.escalate_unacknowledged_acute() == 1
    assert [later.report.reference] in _named(
        Kind.ACUTE_UNACKNOWLEDGED, staff["lead"], Channel.PAGER
    )


def test_one_client_cannot_use_up_the_cap_on_everyone(settings: Any) -> None:
    """Only filed reports count for the cap on everyone: posts refused by a client's own
    limit, and broken forms, do not."""
    settings.VARN_ANONYMOUS_REPORTS_PER_HOUR = 2
    settings.VARN_ANONYMOUS_REPORTS_PER_HOUR_ALL = 3
    noisy = Client(REMOTE_ADDR="198.51.100.66")
    answers = [noisy.post(reverse("anonymous_new"), {}).status_code for _ in range(10)]
    assert answers == [400, 400] + [429] * 8
    for n in range(3):
        filed = Client(REMOTE_ADDR=f"203.0.113.{n}").post(reverse("anonymous_new"), report_form())
        assert filed.status_code == 200
    assert Report.objects.count() == 3


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
