"""Notifications through the outbox, the on-call rota and the duty officer's situation page.

A filed report tells the handlers, an acute one pages the duty officer on call and tells the
head of security, media interest tells the communications officer on call; no message
carries anything a reporter wrote. A rolled-back filing tells nobody; a broker outage or a
failing channel delays a message, and the relay sends it exactly once. Unacknowledged acute
cases escalate once; deadline reminders go out once a day. The rota is read in Stockholm
wall-clock time; only the head of security edits it; the situation page is the duty
officer's and the head of security's, and leaves out the cases they are recused from.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from django.conf import settings
from django.core import mail
from django.db import transaction
from django.test import Client
from django.urls import reverse
from django.utils import timezone
from kombu.exceptions import OperationalError

from influence_reports import notifications, roster
from influence_reports import tasks as report_tasks
from influence_reports.models import ENCRYPTED_REPORT_FIELDS, Case, Election, Report, RosterEntry
from influence_reports.services import cases as case_services
from influence_reports.services.reports import ReportData, report_submit, report_withdraw
from security_core import notify, outbox
from security_core import tasks as core_tasks
from security_core.models import Notification, RecordedPage, User
from security_core.roles import Role

pytestmark = pytest.mark.django_db

STOCKHOLM = ZoneInfo("Europe/Stockholm")
CANARY = "KANARIE-n0tify-93"
SECRET = f"Han sa {CANARY} och att han vet var min dotter går i skolan."
TIB, KIB = RosterEntry.Duty.TIB, RosterEntry.Duty.KIB
Kind = Notification.Kind
# Monday 4 May 2026, 11:15 in Stockholm.
SUBMITTED = datetime(2026, 5, 4, 9, 15, tzinfo=UTC)


@pytest.fixture(autouse=True)
def _locmem_mail(settings: Any) -> None:
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    settings.VARN_PAGER_BACKEND = "security_core.notify.RecordingPager"


def _file(*, submitted_at: datetime | None = None, **data: Any) -> Report:
    data = {
        "description": SECRET,
        "reporter_role": "official",
        "categories": ["threat"],
        "encrypted": {name: SECRET for name in ENCRYPTED_REPORT_FIELDS if name != "description"},
    } | data
    return report_submit(reporter=None, data=ReportData(**data), submitted_at=submitted_at)


def _case(report: Report) -> Case:
    return Case.objects.get(report=report)


def _mails_to(user: User) -> list[mail.EmailMessage]:
    return [message for message in mail.outbox if user.email in message.to]


def _slot(user: User, duty: str, weekday: int, starts: time, ends: time) -> RosterEntry:
    return RosterEntry.objects.create(
        user=user, duty=duty, weekday=weekday, starts=starts, ends=ends
    )


def _always_on_call(user: User, duty: str) -> None:
    """Slots covering every hour of the week (12:00 to 00:00 runs up to midnight)."""
    for day in range(7):
        _slot(user, duty, day, time(0), time(12))
        _slot(user, duty, day, time(12), time(0))


def _client(user: User, signed_in: Any) -> Client:
    client = Client()
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    signed_in(client, user, verified=True)
    return client


def _no_canary_anywhere() -> None:
    for message in mail.outbox:
        assert CANARY not in message.subject + str(message.body)
    for text in RecordedPage.objects.values_list("text", flat=True):
        assert CANARY not in text
    assert CANARY not in str(list(Notification.objects.values()))


@pytest.fixture
def staff(make_user: Any) -> dict[str, User]:
    """Two active handlers and an inactive one, and one person of every other role."""
    people = {
        "handler": make_user(Role.HANDLER),
        "handler2": make_user(Role.HANDLER),
        "gone": make_user(Role.HANDLER, is_active=False),
        "lead": make_user(Role.SECURITY_LEAD),
        "tib": make_user(Role.DUTY_OFFICER),
        "tib2": make_user(Role.DUTY_OFFICER),
        "kib": make_user(Role.COMMUNICATIONS),
        "kib2": make_user(Role.COMMUNICATIONS),
    }
    for role in (Role.REPORTER, Role.LEADERSHIP, Role.AUDITOR, Role.ADMIN):
        people[role.value] = make_user(role)
    return people


# --- Who is told of a filed report ---------------------------------------------------------


def test_an_ordinary_report_mails_each_active_handler_once_and_nobody_else_nothing_written(
    staff, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        report = _file(submitted_at=SUBMITTED)

    told = {message.to[0] for message in mail.outbox}
    assert told == {staff["handler"].email, staff["handler2"].email}
    assert all(len(message.to) == 1 for message in mail.outbox)
    for handler in (staff["handler"], staff["handler2"]):
        (message,) = _mails_to(handler)
        assert report.reference in message.subject
    assert not RecordedPage.objects.exists()
    assert not Notification.objects.filter(sent_at__isnull=True).exists()
    _no_canary_anywhere()


def test_a_message_is_in_swedish_first_then_english(staff, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        report = _file()

    (message,), ref = _mails_to(staff["handler"]), report.reference
    assert message.subject == f"[Värn] Ny rapport {ref} / New report {ref}"
    body = str(message.body)
    assert 0 <= body.index("Öppna ärendekön för att agera") < body.index("Open the case queue")


def test_an_acute_report_pages_and_mails_the_duty_officer_on_call_and_tells_the_lead(
    staff, django_capture_on_commit_callbacks
):
    _slot(staff["tib"], TIB, 0, time(8), time(17))  # Monday daytime: on call at SUBMITTED
    _slot(staff["tib2"], TIB, 1, time(8), time(17))  # Tuesday
    _slot(staff["kib"], KIB, 0, time(8), time(17))
    _slot(staff["kib2"], KIB, 2, time(8), time(17))

    with django_capture_on_commit_callbacks(execute=True):
        report = _file(submitted_at=SUBMITTED, is_acute=True, media_interest=True)

    ref = report.reference
    (tib_mail,) = _mails_to(staff["tib"])
    assert f"AKUT rapport {ref}" in tib_mail.subject
    (page,) = RecordedPage.objects.all()
    assert page.recipient == staff["tib"].email
    assert ref in page.text
    assert _mails_to(staff["tib2"]) == []
    (lead_mail,) = _mails_to(staff["lead"])
    assert ref in lead_mail.subject
    for handler in (staff["handler"], staff["handler2"]):
        (handler_mail,) = _mails_to(handler)
        assert f"Ny rapport {ref}" in handler_mail.subject
    (kib_mail,) = _mails_to(staff["kib"])
    assert ref in kib_mail.subject
    for said in (ref, "(brådskande)", "(urgent)"):
        assert said in str(kib_mail.body)
    for link in ("http", "/cases/"):
        assert link not in str(kib_mail.body)
    assert _mails_to(staff["kib2"]) == []
    for role in ("gone", "reporter", "leadership", "auditor", "admin"):
        assert _mails_to(staff[role]) == []
    _no_canary_anywhere()


def test_an_acute_report_reaches_every_duty_officer_when_the_rota_is_empty(
    staff, make_user, django_capture_on_commit_callbacks
):
    make_user(Role.DUTY_OFFICER, is_active=False)
    with django_capture_on_commit_callbacks(execute=True):
        report = _file(submitted_at=SUBMITTED, is_acute=True)

    paged = set(RecordedPage.objects.values_list("recipient", flat=True))
    assert paged == {staff["tib"].email, staff["tib2"].email}
    for officer in (staff["tib"], staff["tib2"]):
        (message,) = _mails_to(officer)
        assert report.reference in message.subject
    assert len(_mails_to(staff["lead"])) == 1


def test_media_interest_without_urgency_says_not_urgent(staff, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        report = _file(submitted_at=SUBMITTED, media_interest=True)

    for officer in (staff["kib"], staff["kib2"]):  # the rota is empty: every KiB
        (message,) = _mails_to(officer)
        assert report.reference in str(message.body)
        assert "(not urgent)" in str(message.body)
        assert "http" not in str(message.body)
    assert not RecordedPage.objects.exists()


# --- The outbox: committed, sent once, relayed ----------------------------------------------


def test_a_rolled_back_filing_leaves_no_notification_and_sends_nothing(
    staff, django_capture_on_commit_callbacks
):
    def file_then_fail() -> None:
        with transaction.atomic():
            _file(is_acute=True, media_interest=True)
            assert Notification.objects.exists()
            raise RuntimeError("the caller's work failed after filing")

    with django_capture_on_commit_callbacks(execute=True) as callbacks, pytest.raises(RuntimeError):
        file_then_fail()

    assert callbacks == []
    assert not Report.objects.exists()
    assert not Notification.objects.exists()
    assert mail.outbox == []
    assert not RecordedPage.objects.exists()


def test_a_broker_outage_delays_notifications_and_the_relay_sends_each_exactly_once(
    staff, monkeypatch, django_capture_on_commit_callbacks
):
    def broker_down(*args: Any, **kwargs: Any) -> None:
        raise OperationalError("Error 111 connecting to redis:6379. Connection refused.")

    monkeypatch.setattr(core_tasks.deliver_notification, "apply_async", broker_down)
    with django_capture_on_commit_callbacks(execute=True):
        report = _file(submitted_at=SUBMITTED, is_acute=True)

    assert Report.objects.filter(pk=report.pk).exists()
    rows = list(Notification.objects.all())
    # two handlers, two duty officers by e-mail and page, the lead by e-mail
    assert len(rows) == 7
    assert all(row.sent_at is None and row.attempts == 0 for row in rows)
    assert mail.outbox == []

    assert outbox.relay(older_than=timedelta(0)) == 7
    assert len(mail.outbox) == 5
    assert RecordedPage.objects.count() == 2
    assert not Notification.objects.filter(sent_at__isnull=True).exists()

    assert outbox.relay(older_than=timedelta(0)) == 0
    assert outbox.deliver(rows[0].pk) is False
    assert core_tasks.relay_notifications() == 0
    assert len(mail.outbox) == 5
    assert RecordedPage.objects.count() == 2


def test_the_relay_leaves_rows_younger_than_its_grace_period(staff):
    _file()  # no commit callbacks run: both rows wait for the relay
    assert outbox.relay() == 0
    assert mail.outbox == []
    assert outbox.relay(older_than=timedelta(0)) == 2


def test_a_failing_channel_leaves_the_row_pending_and_a_later_relay_sends_it_once(
    make_user, monkeypatch
):
    handler = make_user(Role.HANDLER)
    _file()
    (row,) = Notification.objects.all()

    def broken(notification: Notification) -> None:
        raise OSError(f"mail server said no to {SECRET}")

    with monkeypatch.context() as patch:
        patch.setattr(notify, "send_email", broken)
        with pytest.raises(outbox.DeliveryFailed) as failure:
            outbox.deliver(row.pk)
    assert str(failure.value) == "OSError"
    row.refresh_from_db()
    assert (row.sent_at, row.attempts, row.last_error) == (None, 1, "OSError")
    assert row.retry_at is not None
    assert row.retry_at > timezone.now()  # backing off: the next relay leaves it
    assert mail.outbox == []
    assert outbox.relay(older_than=timedelta(0)) == 0

    Notification.objects.filter(pk=row.pk).update(retry_at=timezone.now())  # time passes
    assert outbox.relay(older_than=timedelta(0)) == 1
    row.refresh_from_db()
    assert row.sent_at is not None
    assert row.last_error == ""
    assert [message.to for message in mail.outbox] == [[handler.email]]
    assert outbox.relay(older_than=timedelta(0)) == 0
    assert len(mail.outbox) == 1


def test_a_channel_failing_at_dispatch_does_not_undo_the_filing(
    make_user, monkeypatch, django_capture_on_commit_callbacks
):
    make_user(Role.HANDLER)

    def broken(notification: Notification) -> None:
        raise OSError(SECRET)

    monkeypatch.setattr(notify, "send_email", broken)
    with django_capture_on_commit_callbacks(execute=True):
        report = _file()

    assert Report.objects.filter(pk=report.pk).exists()
    (row,) = Notification.objects.all()
    assert row.sent_at is None
    assert row.attempts >= 1
    assert row.last_error == "OSError"
    assert mail.outbox == []


def test_the_same_event_enqueued_twice_notifies_once(make_user, django_capture_on_commit_callbacks):
    handler = make_user(Role.HANDLER)
    event: dict[str, Any] = {
        "kind": Kind.NEW_REPORT,
        "recipients": [handler, handler],
        "channels": [Notification.Channel.EMAIL],
        "references": ["VN-TEST-0001"],
        "dedupe": "event-1",
    }
    with django_capture_on_commit_callbacks(execute=True):
        first = outbox.enqueue(**event)
        second = outbox.enqueue(**event)

    assert len(first) == 1
    assert second == []
    assert Notification.objects.count() == 1
    assert len(mail.outbox) == 1


# --- Escalation and deadline reminders -----------------------------------------------------


def test_an_unacknowledged_acute_case_escalates_to_the_lead_once(
    staff, django_capture_on_commit_callbacks
):
    now = timezone.now()
    old = _file(is_acute=True, submitted_at=now - timedelta(minutes=16))
    young = _file(is_acute=True, submitted_at=now - timedelta(minutes=10))
    acknowledged = _file(is_acute=True, submitted_at=now - timedelta(minutes=16))
    case_services.case_transition(
        case=_case(acknowledged), to=Case.Status.ACKNOWLEDGED, actor=staff["lead"]
    )
    withdrawn = _file(is_acute=True, submitted_at=now - timedelta(minutes=16))
    report_withdraw(report=withdrawn, actor=staff["reporter"])
    ordinary = _file(submitted_at=now - timedelta(minutes=16))
    # the filing's own notifications were never dispatched: only escalations are sent below
    with django_capture_on_commit_callbacks(execute=True):
        assert notifications.escalate_unacknowledged_acute() == 1
        assert report_tasks.escalate_unacknowledged_acute() == 0

    rows = Notification.objects.filter(kind=Kind.ACUTE_UNACKNOWLEDGED)
    lead = staff["lead"].pk
    assert {(row.recipient_id, row.channel) for row in rows} == {(lead, "email"), (lead, "pager")}
    assert {tuple(row.references) for row in rows} == {(old.reference,)}
    (message,) = mail.outbox
    assert message.to == [staff["lead"].email]
    assert f"AKUT rapport {old.reference} är fortfarande inte bekräftad" in message.subject
    (page,) = RecordedPage.objects.all()
    assert (page.recipient, old.reference in page.text) == (staff["lead"].email, True)
    text = message.subject + str(message.body) + page.text
    for other in (young, acknowledged, withdrawn, ordinary):
        assert other.reference not in text


def test_deadline_reminders_list_due_and_overdue_cases_once_a_day(
    staff, django_capture_on_commit_callbacks
):
    now = timezone.now()
    handler = staff["handler"]
    overdue, soon, closed, later, nobodys = (_file() for _ in range(5))
    for report, due in (
        (overdue, now - timedelta(days=2)),
        (soon, now + timedelta(hours=20)),
        (closed, now - timedelta(days=1)),
        (later, now + timedelta(days=3)),
        (nobodys, now - timedelta(hours=1)),
    ):
        assignee = None if report is nobodys else handler
        Case.objects.filter(report=report).update(due_at=due, assignee=assignee)
    Case.objects.filter(report=closed).update(status=Case.Status.CLOSED)

    with django_capture_on_commit_callbacks(execute=True):
        assert notifications.remind_deadlines() == 2
        report_tasks.remind_deadlines()

    (to_handler,) = _mails_to(handler)
    body = str(to_handler.body)
    assert overdue.reference in body
    assert soon.reference in body
    assert "2 ärenden med tidsfrister" in to_handler.subject
    for absent in (closed, later, nobodys):
        assert absent.reference not in body
    (to_lead,) = _mails_to(staff["lead"])
    lead_body = str(to_lead.body)
    for present in (overdue, soon, nobodys):
        assert present.reference in lead_body
    for absent in (closed, later):
        assert absent.reference not in lead_body
    assert len(mail.outbox) == 2
    _no_canary_anywhere()


def test_a_deactivated_assignee_gets_no_deadline_reminder(
    staff, make_user, django_capture_on_commit_callbacks
):
    departed = make_user(Role.HANDLER, is_active=False)
    report = _file()
    Case.objects.filter(report=report).update(
        due_at=timezone.now() - timedelta(days=1), assignee=departed
    )
    with django_capture_on_commit_callbacks(execute=True):
        notifications.remind_deadlines()

    assert report.reference in str(_mails_to(staff["lead"])[0].body)
    assert _mails_to(departed) == []
    assert not Notification.objects.filter(recipient=departed).exists()


# --- Who is on call ------------------------------------------------------------------------


def _at(month: int, day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(2026, month, day, hour, minute, tzinfo=STOCKHOLM)


@pytest.mark.parametrize(
    ("weekday", "starts", "ends", "moment", "covered"),
    [
        (0, time(8), time(17), _at(3, 23, 12), True),  # Monday noon
        (0, time(8), time(17), _at(3, 23, 8), True),
        (0, time(8), time(17), _at(3, 23, 7, 59), False),
        (0, time(8), time(17), _at(3, 23, 17), False),
        (0, time(8), time(17), _at(3, 24, 12), False),  # Tuesday
        (4, time(17), time(8), _at(3, 27, 23), True),  # Friday night
        (4, time(17), time(8), _at(3, 28, 7, 59), True),  # Saturday morning
        (4, time(17), time(8), _at(3, 28, 8), False),
        (4, time(17), time(8), _at(3, 27, 16, 59), False),
        (6, time(8), time(17), datetime(2026, 3, 29, 6, 30, tzinfo=UTC), True),  # 08:30 CEST
        (6, time(8), time(17), datetime(2026, 3, 29, 15, 30, tzinfo=UTC), False),  # 17:30
        (6, time(8), time(17), datetime(2026, 10, 25, 15, 30, tzinfo=UTC), True),  # 16:30 CET
        (6, time(8), time(17), datetime(2026, 10, 25, 6, 30, tzinfo=UTC), False),  # 07:30
        (5, time(22), time(8), datetime(2026, 3, 29, 5, 30, tzinfo=UTC), True),  # 07:30 CEST
        (5, time(22), time(8), datetime(2026, 3, 29, 6, 30, tzinfo=UTC), False),  # 08:30
    ],
)
def test_on_call_reads_the_rota_in_stockholm_wall_clock_time(
    make_user, weekday, starts, ends, moment, covered
):
    # The head of security on the TiB rota: the fallback (every duty officer) never
    # includes them.
    on_rota = make_user(Role.SECURITY_LEAD)
    officer = make_user(Role.DUTY_OFFICER)
    _slot(on_rota, TIB, weekday, starts, ends)

    reached = set(roster.on_call(TIB, at=moment))

    assert reached == ({on_rota} if covered else {officer})


def test_on_call_skips_inactive_people_and_falls_back_to_everyone_with_the_role(make_user):
    active = make_user(Role.SECURITY_LEAD)
    retired = make_user(Role.SECURITY_LEAD, is_active=False)
    officers = {make_user(Role.DUTY_OFFICER), make_user(Role.DUTY_OFFICER)}
    make_user(Role.DUTY_OFFICER, is_active=False)
    press = {make_user(Role.COMMUNICATIONS), make_user(Role.COMMUNICATIONS)}
    monday_noon = _at(3, 23, 12)
    _slot(retired, TIB, 0, time(8), time(17))
    assert set(roster.on_call(TIB, at=monday_noon)) == officers  # only an inactive one

    _slot(active, TIB, 0, time(8), time(17))
    assert set(roster.on_call(TIB, at=monday_noon)) == {active}
    assert set(roster.on_call(KIB, at=monday_noon)) == press  # nobody on the KiB rota


def test_someone_whose_role_changed_is_no_longer_paged_and_the_fallback_reaches_the_duty(
    make_user,
):
    moved, officer = make_user(Role.DUTY_OFFICER), make_user(Role.DUTY_OFFICER)
    monday_noon = _at(3, 23, 12)
    _slot(moved, TIB, 0, time(8), time(17))
    assert set(roster.on_call(TIB, at=monday_noon)) == {moved}

    moved.role = Role.REPORTER
    moved.save()

    assert set(roster.on_call(TIB, at=monday_noon)) == {officer}


# --- The rota pages ------------------------------------------------------------------------


def _slot_form(user: User, **overrides: str) -> dict[str, str]:
    form = {"duty": "tib", "weekday": "0", "starts": "08:00", "ends": "17:00"}
    return form | {"user": str(user.pk)} | overrides


@pytest.mark.parametrize("role", list(Role), ids=lambda role: role.value)
def test_only_the_security_lead_edits_the_rota_and_only_duty_staff_see_it(
    make_user, signed_in, role
):
    officer = make_user(Role.DUTY_OFFICER, email="tove@example.se")
    entry = _slot(officer, TIB, 2, time(8), time(17))
    client = _client(make_user(role), signed_in)

    page = client.get(reverse("roster"))
    added = client.post(reverse("roster_add"), _slot_form(officer))
    removed = client.post(reverse("roster_remove", args=[entry.pk]))

    if role == Role.SECURITY_LEAD:
        assert page.status_code == 200
        assert "Add the slot" in page.content.decode()
        assert (added.status_code, removed.status_code) == (302, 302)
        (slot,) = RosterEntry.objects.all()
        assert (slot.user, slot.weekday, slot.starts) == (officer, 0, time(8))
        assert slot.ends == time(17)
        return
    expected = 200 if role == Role.DUTY_OFFICER else 404
    assert page.status_code == expected
    if expected == 200:
        assert "tove@example.se" in page.content.decode()
        assert "Add the slot" not in page.content.decode()
    assert (added.status_code, removed.status_code) == (404, 404)
    assert list(RosterEntry.objects.values_list("pk", flat=True)) == [entry.pk]


@pytest.mark.parametrize(
    ("who", "overrides", "status", "message"),
    [
        ("tib", {"starts": "25:99"}, 400, "Enter a valid time."),
        ("tib", {"ends": "noon"}, 400, "Enter a valid time."),
        ("tib", {"weekday": "7"}, 400, "Select a valid choice."),
        ("tib", {"starts": "08:00", "ends": "08:00"}, 302, "must start and end at different"),
        ("reporter", {}, 400, "Select a valid choice."),
        ("retired", {}, 400, "Select a valid choice."),
        ("tib", {"duty": "kib"}, 302, "That person cannot take this duty."),
        ("kib", {"duty": "tib"}, 302, "That person cannot take this duty."),
    ],
    ids=["bad-start", "bad-end", "bad-weekday", "start-is-end", "reporter", "inactive",
         "kib-to-duty-officer", "tib-to-communications"],
)  # fmt: skip
def test_an_invalid_slot_is_refused_with_a_message_and_nothing_is_recorded(
    make_user, signed_in, who, overrides, status, message
):
    people = {
        "tib": make_user(Role.DUTY_OFFICER),
        "kib": make_user(Role.COMMUNICATIONS),
        "reporter": make_user(Role.REPORTER),
        "retired": make_user(Role.DUTY_OFFICER, is_active=False),
    }
    client = _client(make_user(Role.SECURITY_LEAD), signed_in)

    response = client.post(reverse("roster_add"), _slot_form(people[who], **overrides))

    assert response.status_code == status
    if status == 302:
        response = client.get(response["Location"])
    assert message in response.content.decode()
    assert not RosterEntry.objects.exists()


def test_the_lead_may_give_a_kib_slot_to_a_communications_officer(make_user, signed_in):
    press = make_user(Role.COMMUNICATIONS)
    client = _client(make_user(Role.SECURITY_LEAD), signed_in)

    response = client.post(
        reverse("roster_add"), _slot_form(press, duty="kib", starts="17:00", ends="08:00")
    )

    assert response.status_code == 302
    assert "The slot is added" in client.get(response["Location"]).content.decode()
    assert RosterEntry.objects.get().duty == KIB
    assert set(roster.on_call(KIB, at=_at(3, 24, 6))) == {press}  # Tuesday 06:00


# --- The situation page --------------------------------------------------------------------


@pytest.mark.parametrize("role", list(Role), ids=lambda role: role.value)
def test_the_situation_page_is_for_the_duty_officer_and_the_lead_only(make_user, signed_in, role):
    response = _client(make_user(role), signed_in).get(reverse("situation"))
    assert response.status_code == (200 if role in {Role.DUTY_OFFICER, Role.SECURITY_LEAD} else 404)


def _situation(client: Client) -> str:
    response = client.get(reverse("situation"))
    assert response.status_code == 200
    return response.content.decode()


def _section(page: str, heading: str) -> str:
    found = re.search(rf"<h2>{heading}</h2>(.*?)(?:<h2>|$)", page, re.DOTALL)
    assert found, heading
    return found.group(1)


def _only_election(polling_day):
    """The calendar holds one election (or none)."""
    Election.objects.all().delete()
    if polling_day is not None:
        Election.objects.create(kind="general", year=polling_day.year, polling_day=polling_day)


def test_the_situation_page_shows_what_to_act_on_and_what_came_in(staff, signed_in, settings):
    now = timezone.now()
    acute = _file(is_acute=True)
    overdue = _file(categories=["threat", "harassment"])
    Case.objects.filter(report=overdue).update(due_at=now - timedelta(days=1))
    _file(categories=["harassment"], submitted_at=now - timedelta(days=3))
    _file(categories=["violence"], submitted_at=now - timedelta(days=10))
    _always_on_call(staff["lead"], TIB)
    _always_on_call(staff["kib"], KIB)
    _only_election(timezone.localdate() + timedelta(days=30))

    page = _situation(_client(staff["tib"], signed_in))

    assert acute.reference in _section(page, "Acute, not yet acknowledged")
    assert overdue.reference not in _section(page, "Acute, not yet acknowledged")
    assert overdue.reference in _section(page, "Overdue deadlines")
    assert acute.reference not in _section(page, "Overdue deadlines")
    assert "<tr><td>Threat</td><td>2</td><td>2</td></tr>" in page
    assert "<tr><td>Harassment, online abuse, mapping or stalking</td><td>1</td><td>2</td>" in page
    assert "Violence" not in page
    assert "2 in the last 24 hours, 3 in the last 7 days" in page
    polling_day = (timezone.localdate() + timedelta(days=30)).isoformat()
    assert f"Yes: the election of {polling_day}" in page
    assert staff["lead"].email in page
    assert staff["kib"].email in page
    for absent in ("tib2", "kib2", "handler", "handler2"):
        assert staff[absent].email not in page
    assert CANARY not in page


def test_the_situation_page_says_when_no_election_period_is_on(staff, signed_in, settings):
    client = _client(staff["lead"], signed_in)
    _only_election(None)
    assert "<dd>No</dd>" in _situation(client)

    polling_day = timezone.localdate() + timedelta(days=800)
    _only_election(polling_day)
    page = _situation(client)
    assert "Yes: the election" not in page
    assert f"(election {polling_day.isoformat()})" in page


def test_a_recused_duty_officer_does_not_see_the_case_on_the_situation_page(staff, signed_in):
    conflicted = _file(is_acute=True)
    other = _file(is_acute=True)
    case_services.case_recuse(
        case=_case(conflicted), user=staff["tib"], actor=staff["lead"], reason="Min granne."
    )

    recused_page = _situation(_client(staff["tib"], signed_in))
    assert other.reference in recused_page
    assert conflicted.reference not in recused_page
    assert "1 in the last 24 hours, 1 in the last 7 days" in recused_page
    lead_page = _situation(_client(staff["lead"], signed_in))
    assert conflicted.reference in lead_page
    assert other.reference in lead_page


def test_urgent_rows_are_retried_for_as_long_as_the_channel_fails(staff):
    with transaction.atomic():
        [row] = outbox.enqueue(
            kind=Notification.Kind.ACUTE_REPORT,
            recipients=[staff["tib"]],
            channels=[Notification.Channel.EMAIL],
            references=["VN-TEST-0001"],
            urgent=True,
            dedupe="never-gives-up",
        )
    Notification.objects.filter(pk=row.pk).update(
        attempts=500, created_at=timezone.now() - timedelta(days=1)
    )
    assert outbox.relay() == 1  # after 500 failures it is still tried, and now it goes
    row.refresh_from_db()
    assert row.sent_at is not None


def test_backoff_is_capped_shorter_for_urgent_rows():
    urgent = Notification(urgent=True, attempts=20)
    ordinary = Notification(urgent=False, attempts=20)
    assert outbox._backoff(urgent) == timedelta(minutes=5)
    assert outbox._backoff(ordinary) == timedelta(hours=1)
    assert outbox._backoff(Notification(urgent=True, attempts=1)) == timedelta(minutes=1)


def test_a_recipient_deactivated_meanwhile_is_sent_nothing(staff):
    with transaction.atomic():
        [row] = outbox.enqueue(
            kind=Notification.Kind.NEW_REPORT,
            recipients=[staff["handler"]],
            channels=[Notification.Channel.EMAIL],
            references=["VN-TEST-0002"],
            dedupe="deactivated",
        )
    staff["handler"].is_active = False
    staff["handler"].save()
    assert outbox.deliver(row.pk) is True
    row.refresh_from_db()
    assert row.sent_at is not None
    assert row.last_error == "recipient inactive"
    assert mail.outbox == []


def test_the_situation_page_warns_when_notifications_wait(staff, signed_in):
    with transaction.atomic():
        outbox.enqueue(
            kind=Notification.Kind.ACUTE_REPORT,
            recipients=[staff["tib"], staff["lead"]],
            channels=[Notification.Channel.PAGER],
            references=["VN-TEST-0003"],
            urgent=True,
            dedupe="stuck",
        )
    assert "have not been sent yet" not in _situation(_client(staff["tib"], signed_in))
    Notification.objects.update(created_at=timezone.now() - timedelta(minutes=6))
    assert "2 notifications have not been sent yet" in _situation(_client(staff["tib"], signed_in))


def test_the_pager_gateway_must_answer_2xx_and_a_redirect_is_not_followed(staff, settings):
    import http.server
    import threading

    hits: list[str] = []

    class Gateway(http.server.BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            hits.append(self.path)
            self.send_response(302 if self.path == "/moved" else 202)
            self.send_header("Location", "/elsewhere")
            self.end_headers()

        do_GET = do_POST

        def log_message(self, *args: object) -> None:
            pass

    server = http.server.HTTPServer(("127.0.0.1", 0), Gateway)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    base = f"http://127.0.0.1:{server.server_port}"
    settings.VARN_PAGER_BACKEND = "security_core.notify.WebhookPager"
    settings.VARN_PAGER_WEBHOOK_SECRET = "s" * 40
    try:
        with transaction.atomic():
            [row] = outbox.enqueue(
                kind=Notification.Kind.ACUTE_REPORT,
                recipients=[staff["tib"]],
                channels=[Notification.Channel.PAGER],
                references=["VN-TEST-0004"],
                urgent=True,
                dedupe="gateway",
            )
        settings.VARN_PAGER_WEBHOOK_URL = base + "/moved"
        with pytest.raises(outbox.DeliveryFailed):
            outbox.deliver(row.pk)
        assert hits == ["/moved"]  # /elsewhere was never asked
        settings.VARN_PAGER_WEBHOOK_URL = base + "/page"
        assert outbox.deliver(row.pk) is True
        assert hits == ["/moved", "/page"]
    finally:
        server.shutdown()
