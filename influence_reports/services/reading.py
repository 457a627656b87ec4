"""Opening encrypted content for a person: every such read is written to the access log."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

from django.core.exceptions import ValidationError
from django.db import transaction
from django.http import Http404

from influence_reports import evidence, selectors
from influence_reports.models import Attachment, Case, Report
from security_core.models import AccessEntry, User


def _record(
    *, actor: User | None, obj: Report | Attachment | Case, purpose: AccessEntry.Purpose
) -> None:
    AccessEntry.objects.create(
        actor=actor, object_type=obj._meta.label_lower, object_id=str(obj.pk), purpose=purpose
    )


@transaction.atomic
def report_open(*, actor: User, report_id: uuid.UUID | str) -> Report:
    """The report for ``actor`` to read, with the read recorded (404 if not theirs to see)."""
    report = selectors.visible_report(user=actor, report_id=report_id)
    _record(actor=actor, obj=report, purpose=AccessEntry.Purpose.VIEW_REPORT)
    return report


@transaction.atomic
def case_open_for_work(*, actor: User, case_id: uuid.UUID | str) -> Case:
    """The case and its report for ``actor`` to work, with the read of the report recorded
    (404 if the case is not theirs to see)."""
    case = selectors.visible_case(user=actor, case_id=case_id)
    _record(actor=actor, obj=case.report, purpose=AccessEntry.Purpose.VIEW_REPORT)
    _record(actor=actor, obj=case, purpose=AccessEntry.Purpose.VIEW_CASE)
    return case


@transaction.atomic
def attachment_open(
    *,
    actor: User | None,
    attachment_id: uuid.UUID | str,
    anonymous_report: Report | None = None,
) -> tuple[Attachment, Iterator[bytes]]:
    """The attachment and its original bytes as a stream, with the download recorded.

    ``actor`` is None for an anonymous reporter, who opens files of ``anonymous_report``
    only (the one their access token opens); 404 for anything else.
    """
    if actor is not None:
        attachment = selectors.visible_attachment(user=actor, attachment_id=attachment_id)
    else:
        try:
            attachment = Attachment.objects.select_related("data_key").get(
                pk=attachment_id, report=anonymous_report, report__reporter__isnull=True
            )
        except (Attachment.DoesNotExist, ValidationError, ValueError, TypeError):
            raise Http404 from None
    if actor is not None:
        # An anonymous reporter opening their own file is not recorded: the entry's place in
        # the log, among staff entries timed to the second, would say when they came back.
        _record(actor=actor, obj=attachment, purpose=AccessEntry.Purpose.DOWNLOAD_ATTACHMENT)
    stream = evidence.read_plaintext(
        storage_name=attachment.storage_name,
        data_key=attachment._plain_data_key(),
        report_id=attachment.report_id,
        attachment_id=attachment.id,
    )
    return attachment, stream
