"""The transactional outbox with a real worker on the real Redis broker.

Run by the `worker` stage of `make test` (CELERY_BROKER_URL and CELERY_RESULT_BACKEND point at
Redis, DATABASE_URL at PostgreSQL). Each worker is a separate process connected to the test
database, so every test commits its rows (``transaction=True``). A filing that commits is
delivered once, with the row id as task id; one that rolls back queues nothing; one filed
while the broker is down is sent once by the relay when it is back; and a worker process
killed in the middle of a page runs it again without paging twice.
"""

from __future__ import annotations

import os
import re
import signal
import time
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
import redis
from celery.result import AsyncResult
from django.conf import settings
from django.db import transaction
from django.db.models import F
from kombu.exceptions import OperationalError
from kombu.messaging import Producer

from influence_reports.models import Report
from influence_reports.services.reports import ReportData, report_submit
from security_core.celery import app
from security_core.models import Notification, RecordedPage, User
from security_core.roles import Role
from security_core.tasks import relay_notifications
from tests.integration import slow_pager
from tests.integration.conftest import QUEUE, Worker, running_workers, start_worker, wait_until

pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True)]

DELIVER = "security_core.deliver_notification"
DELIVERY_SECONDS = 30
SECRET = "Han skrev KANARIE-0utb0x-5e att han vet var jag bor."
PAGER = Notification.Channel.PAGER
EMAIL = Notification.Channel.EMAIL


@pytest.fixture(autouse=True)
def empty_queue() -> None:
    app.control.purge()


@pytest.fixture
def broker() -> Iterator[Any]:
    """The broker's Redis database, to look at the queue itself."""
    server: Any = redis.Redis.from_url(settings.CELERY_BROKER_URL)
    yield server
    server.close()


@pytest.fixture
def duty_officer(make_user) -> User:
    return make_user(Role.DUTY_OFFICER, email="tove@example.se")


def file_acute(reporter: User) -> Report:
    """An acute report, filed as the intake form files it (in a transaction of its own)."""
    data = ReportData(
        description=SECRET, reporter_role="official", categories=["threat"], is_acute=True
    )
    return report_submit(reporter=reporter, data=data)


def pending() -> int:
    return Notification.objects.filter(sent_at__isnull=True).count()


def received(worker: Worker, task_id: object) -> int:
    """How often the worker's log says it received the task with this id."""
    return len(re.findall(rf"{DELIVER}\[{task_id}\] received", worker.log()))


def test_a_committed_filing_is_delivered_once_with_the_row_id_as_task_id(
    worker, reporter, duty_officer, handler
):
    before = worker.processed().get(DELIVER, 0)
    report = file_acute(reporter)

    rows = list(Notification.objects.select_related("recipient"))
    assert sorted((row.kind, row.channel, row.recipient.email) for row in rows) == [
        (Notification.Kind.ACUTE_REPORT, EMAIL, duty_officer.email),
        (Notification.Kind.ACUTE_REPORT, PAGER, duty_officer.email),
        (Notification.Kind.NEW_REPORT, EMAIL, handler.email),
    ]
    wait_until(
        lambda: pending() == 0,
        timeout=DELIVERY_SECONDS,
        what="every row to be sent",
        detail=worker.log,
    )

    for row in rows:
        result: AsyncResult[bool] = AsyncResult(str(row.pk), app=app)  # row id = task id
        assert result.get(timeout=10) is True  # this task sent it (not a relay, not a retry)
        assert result.state == "SUCCESS"
        assert received(worker, row.pk) == 1, worker.log()
    assert worker.processed().get(DELIVER, 0) - before == len(rows)
    assert Notification.objects.filter(attempts=1, last_error="").count() == len(rows)

    pager_row = Notification.objects.get(channel=PAGER)
    page = RecordedPage.objects.get()  # one page, for the one pager row
    assert page.notification_id == pager_row.pk
    assert page.recipient == duty_officer.email
    assert report.reference in page.text
    assert "KANARIE" not in page.text


def test_a_rolled_back_filing_queues_nothing(worker, broker, reporter, duty_officer, handler):
    class Abandoned(Exception):
        pass

    ids: list[object] = []

    def file_then_fail() -> None:
        with transaction.atomic():
            file_acute(reporter)  # a savepoint within this transaction
            ids.extend(Notification.objects.values_list("pk", flat=True))
            raise Abandoned

    before = worker.processed().get(DELIVER, 0)
    assert broker.llen(QUEUE) == 0
    with pytest.raises(Abandoned):
        file_then_fail()
    assert len(ids) == 3  # they were written, and rolled back

    assert not Report.objects.exists()
    assert not Notification.objects.exists()
    deadline = time.monotonic() + 3
    while time.monotonic() < deadline:  # nothing reaches the broker, now or a moment later
        assert broker.llen(QUEUE) == 0
        time.sleep(0.1)
    # The worker was consuming all along: a task queued now is run, and nothing before it.
    assert app.tasks["security_core.health_ping"].delay().get(timeout=DELIVERY_SECONDS) == "pong"
    assert worker.processed().get(DELIVER, 0) == before
    for notification_id in ids:
        assert AsyncResult(str(notification_id), app=app).state == "PENDING"  # never run
        assert str(notification_id) not in worker.log()
    assert not RecordedPage.objects.exists()


def test_a_filing_while_the_broker_is_down_is_relayed_once_when_it_is_back(
    worker, broker, reporter, duty_officer, handler, monkeypatch, caplog
):
    before = worker.processed().get(DELIVER, 0)
    refused: list[str] = []

    def broker_down(self: Producer, *args: object, **kwargs: object) -> None:
        refused.append(str(kwargs.get("routing_key")))
        raise OperationalError("Error 111 connecting to 127.0.0.1:6379. Connection refused.")

    monkeypatch.setattr(Producer, "publish", broker_down)
    report = file_acute(reporter)  # the filing stands
    assert Report.objects.filter(pk=report.pk).exists()
    rows = list(Notification.objects.all())
    assert len(rows) == 3
    assert refused == [QUEUE] * 3  # each row was tried once, after commit
    assert caplog.text.count("the relay will send it") == 3
    monkeypatch.undo()  # the broker is back

    time.sleep(2)
    assert broker.llen(QUEUE) == 0
    assert pending() == 3
    assert Notification.objects.filter(attempts=0).count() == 3
    assert not RecordedPage.objects.exists()

    # The relay leaves rows younger than 30 s to their tasks; age them instead of waiting.
    Notification.objects.update(created_at=F("created_at") - timedelta(minutes=1))
    assert relay_notifications.delay().get(timeout=DELIVERY_SECONDS) == 3
    assert pending() == 0
    assert Notification.objects.filter(attempts=1, last_error="").count() == 3
    assert RecordedPage.objects.get().notification.channel == PAGER
    for row in rows:
        assert AsyncResult(str(row.pk), app=app).state == "PENDING"  # no delivery task ran

    # Run again, nothing is pending and nothing is sent twice.
    assert relay_notifications.delay().get(timeout=DELIVERY_SECONDS) == 0
    assert RecordedPage.objects.count() == 1
    assert worker.processed().get(DELIVER, 0) == before


@pytest.fixture
def slow_worker(django_db_setup, tmp_path) -> Iterator[tuple[Worker, Path]]:
    """A worker of its own whose first page stalls, and the marker file its pager writes;
    any other worker of this session stops taking tasks meanwhile."""
    marker = tmp_path / "first-page.pid"
    others = [other.hostname for other in running_workers()]
    if others:
        app.control.cancel_consumer(QUEUE, destination=others, reply=True, timeout=5.0)
    try:
        slow = start_worker(
            name="varn-test-slow",
            log_dir=tmp_path,
            env={
                "VARN_PAGER_BACKEND": "tests.integration.slow_pager.SlowOncePager",
                slow_pager.MARKER_ENV: str(marker),
                slow_pager.SLEEP_ENV: "20",
            },
        )
        try:
            yield slow, marker
        finally:
            slow.stop(timeout=5.0)
    finally:
        if others:
            app.control.add_consumer(QUEUE, destination=others, reply=True, timeout=5.0)


def test_a_pool_process_killed_mid_page_is_run_again_without_paging_twice(
    slow_worker, reporter, duty_officer
):
    worker, marker = slow_worker
    file_acute(reporter)
    pager_row = Notification.objects.get(channel=PAGER)

    pid = int(
        wait_until(
            lambda: marker.exists() and marker.read_text(),
            timeout=DELIVERY_SECONDS,
            what="the first attempt at the page",
            detail=worker.log,
        )
    )
    assert pid != worker.process.pid  # the pool process, not the worker's main process
    assert Notification.objects.get(pk=pager_row.pk).sent_at is None  # stalled mid-page
    killed_at = time.monotonic()
    os.kill(pid, signal.SIGKILL)

    # acks_late + reject_on_worker_lost: the main process puts the message back on the queue
    # and a new pool process runs it; its row lock died with the killed one's connection.
    wait_until(
        lambda: Notification.objects.filter(pk=pager_row.pk, sent_at__isnull=False).exists(),
        timeout=DELIVERY_SECONDS,
        what="the page to be sent again",
        detail=worker.log,
    )
    assert time.monotonic() - killed_at < 15  # not by the relay, nor after a visibility timeout
    assert AsyncResult(str(pager_row.pk), app=app).get(timeout=10) is True
    assert received(worker, pager_row.pk) == 2, worker.log()
    assert "WorkerLostError" in worker.log()
    assert RecordedPage.objects.filter(notification=pager_row).count() == 1
    assert RecordedPage.objects.count() == 1
    pager_row.refresh_from_db()
    assert pager_row.attempts == 1  # the killed attempt was rolled back with its transaction
    wait_until(lambda: pending() == 0, timeout=DELIVERY_SECONDS, what="the e-mail too")
