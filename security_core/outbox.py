"""The transactional outbox: notifications are rows written with the event they tell of,
handed to celery after commit, sent once, and re-sent by a relay if still pending.

Invariants:
- a notification exists only if the transaction that caused it committed;
- a broker outage or a crash just after commit delays a notification, never loses it: the
  relay (celery beat, every minute) sends every row still pending;
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
from django.utils import timezone

from security_core import notify
from security_core.models import Notification, User

logger = logging.getLogger(__name__)

RELAY_BATCH = 100
RELAY_MAX_ATTEMPTS = 20


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


def deliver(notification_id: uuid.UUID | str) -> bool:
    """Send one pending row and mark it sent, under its row lock; ``False`` if it was sent
    already (or is gone). A failing channel leaves it pending and raises ``DeliveryFailed``."""
    with transaction.atomic():
        # The lock makes a task and the relay (or a redelivered task) take turns: the second
        # finds the row sent and sends nothing.
        row = (
            Notification.objects.select_for_update(of=("self",))
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


def _send(row: Notification) -> str | None:
    """Send ``row`` and mark it sent (in the caller's transaction); the error's name if the
    channel failed, with the attempt recorded outside the rolled-back work."""
    row.attempts += 1
    try:
        with transaction.atomic():
            notify.send(row)
            row.sent_at = timezone.now()
            row.last_error = ""
            row.save(update_fields=["attempts", "sent_at", "last_error"])
    except Exception as error:  # noqa: BLE001 - any channel failure; the row stays pending
        row.last_error = type(error).__name__[:100]
        row.save(update_fields=["attempts", "last_error"])
        logger.warning("Notification %s could not be sent (%s).", row.pk, row.last_error)
        return row.last_error
    return None


def relay(*, older_than: timedelta = timedelta(seconds=30)) -> int:
    """Send what is still pending (rows that a task holds are skipped); returns how many."""
    sent = 0
    cutoff = timezone.now() - older_than
    with transaction.atomic():
        rows = list(
            Notification.objects.select_for_update(skip_locked=True, of=("self",))
            .select_related("recipient")
            .filter(sent_at__isnull=True, created_at__lte=cutoff, attempts__lt=RELAY_MAX_ATTEMPTS)
            .order_by("created_at")[:RELAY_BATCH]
        )
        for row in rows:
            if _send(row) is None:
                sent += 1
    return sent
