"""No trace of an anonymous reporter outside their report: no address, no browser, no code,
no passphrase, and no time finer than the day, in any table, log line, cache key or file.

The report itself (its case, thread and evidence) keeps its times: handlers work by them.
Every other row an anonymous reporter's requests write is inspected, whatever its model, so
a model added later is covered without naming it here.
"""

from __future__ import annotations

import io
import logging
import re
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from typing import Any

import pytest
from django.apps import apps
from django.conf import settings
from django.core import mail
from django.core.cache import cache
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection, models
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from influence_reports import evidence
from influence_reports.models import Attachment, Report
from influence_reports.services import messages
from security_core import discretion, outbox
from security_core.models import Notification, User
from security_core.roles import Role
from tests.influence_reports.conftest import report_form

pytestmark = pytest.mark.django_db

ADDRESS = "203.0.113.58"
AGENT = "Mozilla/5.0 (KANARIE-agent-7731)"
PASSPHRASE = "KANARIE-lösen hemligt och långt"
CODE = re.compile(r"\b(\d{4} \d{4} \d{4} \d{4})\b")
TIME_OF_DAY = re.compile(r"\d{4}-\d{2}-\d{2}[T ](\d{2}:\d{2}(:\d{2})?)")
# What the report itself is made of: these keep their times.
REPORT_ITSELF = {
    "influence_reports.report",
    "influence_reports.case",
    "influence_reports.caseevent",
    "influence_reports.reporttag",
    "influence_reports.attachment",
    "influence_reports.message",
    "influence_reports.perpetratoridentifier",
    "influence_reports.anonymousreceipt",
}


@pytest.fixture(autouse=True)
def _setup(settings):
    cache.clear()
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"


def _rows() -> set[tuple[str, str]]:
    return {
        (model._meta.label_lower, str(pk))
        for model in apps.get_models()
        for pk in model._default_manager.values_list("pk", flat=True)
    }


def _at_midnight(moment: datetime) -> bool:
    local = timezone.localtime(moment)
    return (local.hour, local.minute, local.second, local.microsecond) == (0, 0, 0, 0)


def _times_in(value: Any) -> list[str]:
    return [match.group(1) for match in TIME_OF_DAY.finditer(str(value))]


def _finer_than_the_day(label: str, pk: str) -> list[str]:
    model = apps.get_model(label)
    row = model._default_manager.get(pk=pk)
    found = []
    for field in model._meta.concrete_fields:
        value = getattr(row, field.attname)
        if isinstance(field, models.DateTimeField) and value is not None:
            if not _at_midnight(value):
                found.append(f"{label}.{field.name} = {value.isoformat()}")
        elif isinstance(field, (models.JSONField, models.TextField, models.CharField)):
            times = [t for t in _times_in(value) if t.strip("0:")]
            if times:
                found.append(f"{label}.{field.name} holds {times}: {value!r}")
    return found


@contextmanager
def _log_lines() -> Iterator[io.StringIO]:
    """What the configured console handler writes, as text."""
    handlers = [
        handler
        for handler in logging.getLogger().handlers
        if any(isinstance(f, discretion.DiscreetLogFilter) for f in handler.filters)
    ]
    assert handlers, "the console handler keeps times to the day while discreet"
    handler = handlers[0]
    assert isinstance(handler, logging.StreamHandler)
    captured = io.StringIO()
    previous = handler.setStream(captured)
    try:
        yield captured
    finally:
        handler.setStream(previous)


def _cache_keys() -> list[str]:
    store = getattr(cache, "_cache", None)
    if isinstance(store, dict):  # LocMemCache
        return [str(key) for key in store]
    client = cache._cache.get_client(None)  # type: ignore[attr-defined]  # Redis
    return [key.decode() for key in client.keys("*")]


def _client() -> Client:
    client = Client(REMOTE_ADDR=ADDRESS, HTTP_USER_AGENT=AGENT)
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    return client


def _pdf(text: str) -> SimpleUploadedFile:
    return SimpleUploadedFile("bevis.pdf", f"%PDF-1.7\n{text}\n%%EOF\n".encode(), "application/pdf")


@pytest.mark.django_db(transaction=True)  # real commits: notifications go out as they would
def test_an_anonymous_reporter_leaves_no_trace_outside_the_report(make_user):
    handler = make_user(Role.HANDLER)
    make_user(Role.DUTY_OFFICER)  # on call (no rota: everyone with the role) for the page
    make_user(Role.SECURITY_LEAD)
    make_user(Role.COMMUNICATIONS)
    client = _client()
    before = _rows()

    with _log_lines() as lines:
        # Filing: acute (pages the duty officer), media interest, a passphrase and a file.
        filed = client.post(
            reverse("anonymous_new"),
            report_form(
                is_acute="on",
                media_interest="on",
                passphrase=PASSPHRASE,
                passphrase_again=PASSPHRASE,
                evidence=[_pdf("första beviset")],
            ),
        )
        assert filed.status_code == 200, filed.content.decode()[:400]
        found = CODE.search(filed.content.decode())
        assert found
        code = found.group(1)
        # A refused post is logged (CSRF): by the day only.
        strict = Client(enforce_csrf_checks=True, REMOTE_ADDR=ADDRESS, HTTP_USER_AGENT=AGENT)
        assert strict.post(reverse("anonymous_new"), report_form()).status_code == 403
        filing_lines = lines.getvalue()
    after_filing = _rows()

    report = Report.objects.get()
    messages.message_send(
        case=report.case,
        author=handler,
        side="case_worker",
        body="Kan du skicka skärmbilden?",
        uploads=[evidence.store_bytes("svar.pdf", b"%PDF-1.7\nsvar\n%%EOF\n", report_id=report.pk)],
    )
    staff_file = Attachment.objects.get(message__side="case_worker")
    after_staff = _rows()

    with _log_lines() as lines:
        opened = client.post(reverse("anonymous_return"), {"code": code, "passphrase": PASSPHRASE})
        assert opened.status_code == 200
        token = re.search(r'name="token" value="([^"]+)"', opened.content.decode())
        assert token
        answered = client.post(
            reverse("anonymous_message"),
            {"token": token.group(1), "body": "Här är den.", "evidence": [_pdf("skärmbild")]},
        )
        assert answered.status_code == 200
        download = client.post(
            reverse("anonymous_attachment"),
            {"token": token.group(1), "attachment": str(staff_file.pk)},
        )
        assert download.status_code == 200
        b"".join(download.streaming_content)  # type: ignore[attr-defined]
        wrong = client.post(reverse("anonymous_return"), {"code": "1" * 16, "passphrase": ""})
        assert wrong.status_code == 400
        returning_lines = lines.getvalue()

    written = (after_filing - before) | (_rows() - after_staff)
    outside = sorted(row for row in written if row[0] not in REPORT_ITSELF)
    # The test sees what it must: audit entries, data keys, the outbox, the page. (Not an
    # access entry for the download: its place among staff entries would date it.)
    labels = {label for label, _ in outside}
    assert {
        "auditlog.logentry",
        "security_core.datakey",
        "security_core.notification",
        "security_core.recordedpage",
    } <= labels
    assert "security_core.accessentry" not in labels
    problems = [problem for label, pk in outside for problem in _finer_than_the_day(label, pk)]
    assert not problems

    # Nothing identifying anywhere, in any table.
    with connection.cursor() as cursor:
        for table in connection.introspection.table_names():
            cursor.execute(f"SELECT * FROM {connection.ops.quote_name(table)}")  # noqa: S608
            dump = repr(cursor.fetchall())
            for trace in (ADDRESS, "KANARIE", code, code.replace(" ", "")):
                assert trace not in dump, (table, trace)

    # Log lines: written (a CSRF refusal at least), each timed to the day, none identifying.
    logged = filing_lines + returning_lines
    assert "Forbidden" in filing_lines
    for line in logged.splitlines():
        stamp = re.match(r"\d{4}-\d{2}-\d{2} (\d{2}:\d{2}:\d{2}),(\d{3})", line)
        if stamp:
            assert stamp.groups() == ("00:00:00", "000"), line
        for trace in (ADDRESS, "KANARIE", code, code.replace(" ", "")):
            assert trace not in line

    # The cache: short-lived counters under keyed hashes, the day's key, and the quiet
    # periods of notifications (by kind); nothing else.
    for key in _cache_keys():
        assert re.fullmatch(
            r":\d+:varn:(rl:(key:\d{4}-\d{2}-\d{2}|[a-z-]+:([0-9a-f]{32}|all))|quiet:[a-z_]+)",
            key,
        ), key

    # Mail to the staff names the reference only.
    for message in mail.outbox:
        text = f"{message.subject} {message.body} {message.to}"
        for trace in (ADDRESS, "KANARIE", code, "Här är den"):
            assert trace not in text

    # The evidence files on disk are dated to the day.
    for attachment in Attachment.objects.filter(uploaded_by__isnull=True):
        modified = evidence.file_path(attachment.storage_name).stat().st_mtime
        assert _at_midnight(datetime.fromtimestamp(modified, tz=timezone.get_current_timezone()))


def test_a_notification_an_anonymous_report_caused_stays_discreet_when_a_worker_sends_it(
    make_user,
):
    handler = make_user(Role.HANDLER)
    with discretion.discreet_times():
        (row,) = outbox.enqueue(
            kind=Notification.Kind.REPORTER_ANSWERED,
            recipients=[handler],
            channels=[Notification.Channel.EMAIL],
            references=["VRN-TEST"],
            dedupe="x",
        )
    row.refresh_from_db()
    assert row.discreet
    assert _at_midnight(row.created_at)
    assert outbox.deliver(row.pk)  # later, in a worker: no discreet request around it
    row.refresh_from_db()
    assert row.sent_at is not None
    assert _at_midnight(row.sent_at)


def test_staff_rows_keep_their_times(make_user):
    """The coarsening is for anonymous reporters only: a case worker's audit trail is exact."""
    handler: User = make_user(Role.HANDLER)
    (row,) = outbox.enqueue(
        kind=Notification.Kind.NEW_REPORT,
        recipients=[handler],
        channels=[Notification.Channel.EMAIL],
        references=["VRN-TEST"],
        dedupe="y",
    )
    row.refresh_from_db()
    assert not row.discreet
    assert not _at_midnight(row.created_at)


def test_a_discreet_notification_is_not_shown_as_waiting_until_a_try_fails(make_user):
    from influence_reports.situation import _waiting

    handler = make_user(Role.HANDLER)
    with discretion.discreet_times():
        (row,) = outbox.enqueue(
            kind=Notification.Kind.NEW_REPORT,
            recipients=[handler],
            channels=[Notification.Channel.EMAIL],
            references=["VRN-TEST"],
            dedupe="z",
        )
    assert _waiting(timezone.now())["waiting_notifications"] == 0  # dated midnight, but new
    Notification.objects.filter(pk=row.pk).update(attempts=1, last_error="SMTPException")
    assert _waiting(timezone.now())["waiting_notifications"] == 1


def test_a_worker_logs_no_line_per_task_unless_asked():
    """Lines saying "received" and "succeeded in" would time each notification to the second."""
    for name in ("celery.worker.strategy", "celery.app.trace"):
        assert logging.getLogger(name).getEffectiveLevel() >= logging.WARNING
