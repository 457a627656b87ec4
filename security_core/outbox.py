"""The transactional outbox: notifications are rows written with the event they tell of,
handed to celery after commit, sent once, and re-sent by a relay if still pending.

Invariants:
- a notification exists only if the transaction that caused it committed;
- a broker outage or a crash just after commit delays a notification, never loses it: the
  relay (celery beat, every minute) sends every row still pending, and a failing channel
  is retried with backoff for as long as it fails (the situation page shows rows that wait);
- a row is sent under its row lock and marked sent in the same transaction, so it is sent
  once, by whichever of task and relay gets the lock first;
- task arguments are the row id only.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Iterable, Sequence
from datetime import timedelta

from django.db import IntegrityError, transaction
from django.db.models import Q, QuerySet
from django.utils import timezone

from security_core import discretion, notify
from security_core.models import Notification, User

logger = logging.getLogger(__name__)

RELAY_BATCH = 100
URGENT_RETRY_CEILING = timedelta(minutes=5)
RETRY_CEILING = timedelta(hours=1)


class DeliveryFailed(Exception):
    """A channel failed; the row stays pending for a retry (the message names no content)."""


def enqueue(
    *,
    kind: str,
    recipients: Iterable[User],
    channels: Sequence[str],
    references: Sequence[str],
    urgent: bool = False,
    dedupe: str,
) -> list[Notification]:
    """Write the notification rows in the caller's transaction; once it commits, hand them
    to celery. ``dedupe`` names the event (e.g. a case id, or a day): one event notifies a
    person on a channel once, however often it is enqueued."""
    created = []
    for recipient in {user.pk: user for user in recipients}.values():
        for channel in channels:
            key = f"{kind}:{dedupe}:{recipient.pk}:{channel}"
            try:
                with transaction.atomic():
                    created.append(
                        Notification.objects.create(
                            kind=kind,
                            channel=channel,
                            recipient=recipient,
                            references=list(references),
                            urgent=urgent,
                            dedupe_key=key,
                        )
                    )
            except IntegrityError:
                continue  # this person was already told of this event on this channel
    ids = [str(row.pk) for row in created]
    if ids:
        transaction.on_commit(lambda: dispatch(ids))
    return created


def dispatch(ids: Iterable[str]) -> None:
    """Queue one delivery task per row, with the row id as task id. A broker that does not
    answer is logged and left to the relay; the event that caused the rows stands."""
    from security_core.tasks import deliver_notification

    for notification_id in ids:
        try:
            deliver_notification.apply_async(args=(notification_id,), task_id=notification_id)
        except Exception:  # noqa: BLE001 - the relay sends it later; nothing else may break
            logger.warning(
                "Could not queue notification %s; the relay will send it.", notification_id
            )


def deliver(notification_id: uuid.UUID | str, *, skip_locked: bool = False) -> bool:
    """Send one pending row and mark it sent, under its row lock; ``False`` if it was sent
    already, is gone, or (``skip_locked``) another process holds it. A failing channel leaves
    it pending, due again after a backoff, and raises ``DeliveryFailed``."""
    with transaction.atomic():
        # The lock, on the outbox row alone, makes a task and the relay (or a redelivered
        # task) take turns: the second finds the row sent and sends nothing.
        row = (
            Notification.objects.select_for_update(of=("self",), skip_locked=skip_locked)
            .select_related("recipient")
            .filter(pk=notification_id, sent_at__isnull=True)
            .first()
        )
        if row is None:
            return False
        error = _send(row)
        if error is None:
            return True
    raise DeliveryFailed(error)


def _backoff(row: Notification) -> timedelta:
    """How long a failed row waits before the relay tries again: doubling from a minute, up
    to five minutes for urgent rows and an hour for the others. It never gives up."""
    ceiling = URGENT_RETRY_CEILING if row.urgent else RETRY_CEILING
    return min(timedelta(minutes=2 ** min(row.attempts - 1, 10)), ceiling)


def _send(row: Notification) -> str | None:
    """Send ``row`` and mark it sent (in the caller's transaction); the error's name if the
    channel failed, with the attempt recorded outside the rolled-back work. A recipient who
    is no longer active is not sent anything; the row is closed with that reason."""
    if row.discreet and not discretion.active():
        with discretion.discreet_times():  # a worker sends what an anonymous request caused
            return _send(row)
    row.attempts += 1
    now = timezone.now()
    if not row.recipient.is_active:
        row.sent_at, row.last_error = now, "recipient inactive"
        row.save(update_fields=["attempts", "sent_at", "last_error"])
        return None
    try:
        with transaction.atomic():
            notify.send(row)
            row.sent_at = timezone.now()
            row.last_error = ""
            row.save(update_fields=["attempts", "sent_at", "last_error"])
    except Exception as error:  # noqa: BLE001 - any channel failure; the row stays pending
        row.last_error = type(error).__name__[:100]
        row.retry_at = now + _backoff(row)
        row.save(update_fields=["attempts", "last_error", "retry_at"])
        logger.warning("Notification %s could not be sent (%s).", row.pk, row.last_error)
        return row.last_error
    return None


def pending(*, older_than: timedelta = timedelta(seconds=30)) -> QuerySet[Notification]:
    """Rows not yet sent, past their grace period and their retry time."""
    now = timezone.now()
    return Notification.objects.filter(
        Q(retry_at__isnull=True) | Q(retry_at__lte=now),
        sent_at__isnull=True,
        created_at__lte=now - older_than,
    )


def relay(*, older_than: timedelta = timedelta(seconds=30)) -> int:
    """Send what is still pending, each row in its own short transaction under its own lock
    (rows a task or another relay holds are skipped); returns how many were sent."""
    ids = list(
        pending(older_than=older_than)
        .order_by("-urgent", "created_at")
        .values_list("pk", flat=True)[:RELAY_BATCH]
    )
    sent = 0
    for notification_id in ids:
        try:
            sent += deliver(notification_id, skip_locked=True)
        except DeliveryFailed:
            continue
    return sent
