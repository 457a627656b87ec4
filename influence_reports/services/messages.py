"""The thread between a reporter and the case workers: sending, and marking it read.

Invariant: a message is read only by its case's reporter and by the case workers who may
work the case; notifications about it name the report's reference, never its text, and
nothing is sent to an anonymous reporter (they see new messages when they return).
"""

from __future__ import annotations

from collections.abc import Iterable

from django.db import transaction
from django.db.models import prefetch_related_objects
from django.utils import timezone
from django.utils.translation import gettext as _

from influence_reports import selectors
from influence_reports.evidence import EncryptedUpload
from influence_reports.models import Case, Message, ThreadRead
from influence_reports.services import reports
from influence_reports.services.cases import CaseActionRefused
from security_core import outbox, permissions
from security_core.models import Notification, User

MESSAGE_LIMIT = 20_000
Side = Message.Side


@transaction.atomic
def message_send(
    *,
    case: Case,
    author: User | None,
    side: str,
    body: str,
    uploads: Iterable[EncryptedUpload] = (),
) -> Message:
    """Add a message to the thread, with any files (under the report's evidence limits),
    and tell the other side (after commit, via the outbox).

    ``author`` is None only for an anonymous reporter; the caller has established that the
    request belongs to the case's reporter or to a case worker who may work it. A message
    may be files alone.
    """
    # Locking the case orders the thread with the case's transitions and other messages.
    locked = Case.objects.select_for_update(no_key=True).select_related("report").get(pk=case.pk)
    if side == Side.CASE_WORKER and not permissions.can_work_case(author, locked):
        raise CaseActionRefused(_("You may not work this case."))
    if side == Side.REPORTER and locked.report.is_withdrawn:
        raise CaseActionRefused(_("The report has been withdrawn."))
    text = body.strip()
    files = list(uploads)
    if not text and not files:
        raise CaseActionRefused(_("The message is empty."))
    if len(text) > MESSAGE_LIMIT:
        raise CaseActionRefused(_("The message is too long."))
    message = Message(case=locked, side=side, author=author, sent_at=timezone.now())
    message.body = text
    message.save()
    if files:
        try:
            reports.attachments_add(
                report=locked.report, uploads=files, actor=author, message=message
            )
        except reports.EvidenceRefused as refusal:
            raise CaseActionRefused(str(refusal)) from None
    # Writing is reading: the author's own side has read up to here. (Not for an anonymous
    # reporter: a marker would be a time kept beside the report.)
    if author is not None:
        thread_mark_read(case=locked, side=side, user=author, at=message.sent_at)
    _notify(locked, message)
    return message


def _notify(case: Case, message: Message) -> None:
    reference = [case.report.reference]
    if message.side == Side.CASE_WORKER:
        reporter = case.report.reporter
        if reporter is not None:  # an anonymous reporter is told nothing, anywhere
            outbox.enqueue(
                kind=Notification.Kind.NEW_MESSAGE,
                recipients=[reporter],
                channels=[Notification.Channel.EMAIL],
                references=reference,
                dedupe=str(message.pk),
            )
        return
    prefetch_related_objects([case], "recusals")  # read once, not once per case worker
    assignee = case.assignee
    if assignee is not None and assignee.is_active and permissions.can_work_case(assignee, case):
        recipients = [assignee]
    else:
        recipients = [
            user for user in selectors.case_workers() if permissions.can_work_case(user, case)
        ]
        recipients = [user for user in recipients if user.role != "security_lead"] or recipients
    outbox.enqueue(
        kind=Notification.Kind.REPORTER_ANSWERED,
        recipients=recipients,
        channels=[Notification.Channel.EMAIL],
        references=reference,
        dedupe=str(message.pk),
    )


def thread_mark_read(*, case: Case, side: str, user: User | None, at: object | None = None) -> None:
    """Record that this reader has read the thread up to ``at`` (now)."""
    moment = at or timezone.now()
    reader = None if side == Side.REPORTER else user
    updated = ThreadRead.objects.filter(case=case, side=side, user=reader).update(read_at=moment)
    if not updated:
        ThreadRead.objects.get_or_create(
            case=case, side=side, user=reader, defaults={"read_at": moment}
        )
