"""The thread between a reporter and the case workers: encrypted, private to the two sides,
notified without content, counted as unread until read; internal notes never cross over."""

from __future__ import annotations

import pytest
from auditlog.models import LogEntry
from django.conf import settings
from django.core import mail
from django.db import connection
from django.urls import reverse

from influence_reports.models import Case, Message
from influence_reports.services import case_work, messages
from influence_reports.services.cases import CaseActionRefused, case_assign, case_recuse
from influence_reports.services.reports import ReportData, report_submit, report_withdraw
from security_core.models import Notification
from security_core.roles import Role

pytestmark = pytest.mark.django_db

SECRET = "KANARIE-m3ss-44 han står utanför igen"
NOTE = "KANARIE-n0te-17 intern bedömning"


@pytest.fixture(autouse=True)
def _mail(settings):
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"


def _case(reporter=None) -> Case:
    report = report_submit(
        reporter=reporter,
        data=ReportData(description="Hot.", reporter_role="official", categories=["threat"]),
    )
    return Case.objects.get(report=report)


def _client(client, user, signed_in):
    signed_in(client, user, verified=True)
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    return client


def test_a_message_is_stored_encrypted_and_kept_out_of_the_audit_log(reporter, make_user):
    case = _case(reporter)
    messages.message_send(case=case, author=reporter, side="reporter", body=SECRET)
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT * FROM {Message._meta.db_table}")  # noqa: S608 - our name
        assert b"KANARIE" not in repr(cursor.fetchall()).encode()
    assert "KANARIE" not in " ".join(str(entry.changes) for entry in LogEntry.objects.all())
    assert Message.objects.get().body == SECRET


def test_the_reporters_message_tells_the_assignee_and_no_content(
    reporter, make_user, django_capture_on_commit_callbacks
):
    assignee, other = make_user(Role.HANDLER), make_user(Role.HANDLER)
    case = _case(reporter)
    case_assign(case=case, assignee=assignee, actor=assignee)
    mail.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        messages.message_send(case=case, author=reporter, side="reporter", body=SECRET)
    assert [m.to for m in mail.outbox] == [[assignee.email]]
    assert case.report.reference in mail.outbox[0].subject
    assert "KANARIE" not in f"{mail.outbox[0].subject}{mail.outbox[0].body}"
    assert other.email not in str([m.to for m in mail.outbox])


def test_an_unassigned_case_tells_the_handlers_who_may_see_it(
    reporter, make_user, django_capture_on_commit_callbacks
):
    seeing, recused = make_user(Role.HANDLER), make_user(Role.HANDLER)
    case = _case(reporter)
    case_recuse(case=case, user=recused, actor=recused, reason="Jäv.")
    mail.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        messages.message_send(case=case, author=reporter, side="reporter", body="Hej")
    assert [m.to for m in mail.outbox] == [[seeing.email]]


def test_the_case_workers_message_tells_a_signed_in_reporter_and_never_an_anonymous_one(
    reporter, make_user, django_capture_on_commit_callbacks
):
    handler = make_user(Role.HANDLER)
    signed, anonymous = _case(reporter), _case(None)
    mail.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        messages.message_send(case=signed, author=handler, side="case_worker", body=SECRET)
        messages.message_send(case=anonymous, author=handler, side="case_worker", body=SECRET)
    assert [m.to for m in mail.outbox] == [[reporter.email]]
    body = f"{mail.outbox[0].subject}{mail.outbox[0].body}"
    assert signed.report.reference in body
    assert reverse("report_list") in body
    assert "KANARIE" not in body
    told = list(Notification.objects.filter(kind="new_message").values_list("recipient", flat=True))
    assert told == [reporter.pk]


def test_the_reporter_reads_and_answers_on_their_report_page_with_unread_counts(
    client, reporter, make_user, signed_in
):
    handler = make_user(Role.HANDLER)
    case = _case(reporter)
    messages.message_send(case=case, author=handler, side="case_worker", body="Vi ringer dig.")
    _client(client, reporter, signed_in)
    assert "1 new message" in client.get(reverse("report_list")).content.decode()

    page = client.get(reverse("report_detail", args=[case.report.pk])).content.decode()
    assert "Vi ringer dig." in page
    assert handler.email not in page  # the reporter sees "Security staff", not who
    assert "new message" not in client.get(reverse("report_list")).content.decode()

    response = client.post(reverse("report_message", args=[case.report.pk]), {"body": SECRET})
    assert response.status_code == 302
    assert response["Location"].endswith("#messages")
    assert Message.objects.filter(case=case, side="reporter").get().body == SECRET


def test_the_case_worker_reads_and_answers_on_the_case_page_with_unread_counts(
    client, reporter, make_user, signed_in
):
    handler, colleague = make_user(Role.HANDLER), make_user(Role.HANDLER)
    case = _case(reporter)
    messages.message_send(case=case, author=reporter, side="reporter", body="Han är tillbaka.")
    _client(client, handler, signed_in)
    queue = client.get(reverse("case_queue")).content.decode()
    assert "1 new message" in queue

    page = client.get(reverse("case_detail", args=[case.pk])).content.decode()
    assert "Han är tillbaka." in page
    assert "new message" not in client.get(reverse("case_queue")).content.decode()

    response = client.post(reverse("case_message", args=[case.pk]), {"body": "Vi kommer."})
    assert response.status_code == 302
    # Each case worker has their own count: the colleague has not read it yet.
    _client(client, colleague, signed_in)
    assert "1 new message" in client.get(reverse("case_queue")).content.decode()


def test_internal_notes_never_reach_the_reporter(client, reporter, make_user, signed_in):
    handler = make_user(Role.HANDLER)
    case = _case(reporter)
    case_work.note_add(case=case, actor=handler, text=NOTE)
    messages.message_send(case=case, author=handler, side="case_worker", body="Hej!")
    _client(client, reporter, signed_in)
    for name in ("report_detail", "report_receipt"):
        assert "KANARIE" not in client.get(reverse(name, args=[case.report.pk])).content.decode()
    assert "KANARIE" not in client.get(reverse("report_list")).content.decode()
    assert all("KANARIE" not in m.body for m in mail.outbox)


@pytest.mark.parametrize(
    "who",
    [
        "another reporter",
        "recused handler",
        *[
            r
            for r in Role
            if r not in {Role.REPORTER, Role.HANDLER, Role.DUTY_OFFICER, Role.SECURITY_LEAD}
        ],
    ],
)
def test_nobody_else_reads_or_writes_the_thread(client, reporter, make_user, signed_in, who):
    case = _case(reporter)
    messages.message_send(case=case, author=reporter, side="reporter", body=SECRET)
    if who == "another reporter":
        user = make_user(Role.REPORTER)
    elif who == "recused handler":
        user = make_user(Role.HANDLER)
        case_recuse(case=case, user=user, actor=user, reason="Jäv.")
    else:
        user = make_user(who)
    _client(client, user, signed_in)
    assert client.get(reverse("report_detail", args=[case.report.pk])).status_code == 404
    assert client.get(reverse("case_detail", args=[case.pk])).status_code == 404
    for url in (
        reverse("report_message", args=[case.report.pk]),
        reverse("case_message", args=[case.pk]),
    ):
        assert client.post(url, {"body": "Inkräktare"}).status_code == 404
    assert Message.objects.count() == 1


def test_a_withdrawn_report_takes_no_more_messages_from_its_reporter(reporter, make_user):
    handler = make_user(Role.HANDLER)
    case = _case(reporter)
    report_withdraw(report=case.report, actor=reporter)
    with pytest.raises(CaseActionRefused):
        messages.message_send(case=case, author=reporter, side="reporter", body="Hej")
    messages.message_send(case=case, author=handler, side="case_worker", body="Noterat.")
    assert list(Message.objects.values_list("side", flat=True)) == ["case_worker"]


def test_an_empty_message_is_refused_with_a_message(client, reporter, signed_in):
    case = _case(reporter)
    _client(client, reporter, signed_in)
    response = client.post(reverse("report_message", args=[case.report.pk]), {"body": "   "})
    assert response.status_code == 400
    assert b"The message is empty." in response.content
    assert b'role="alert"' in response.content
    assert not Message.objects.exists()
