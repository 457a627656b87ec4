"""Filing, adding evidence to and withdrawing reports."""

from __future__ import annotations

import functools
import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Count, QuerySet, Sum
from django.utils import timezone
from django.utils.translation import gettext as _

from influence_reports import evidence, identifiers, notifications, trends
from influence_reports.evidence import EncryptedUpload
from influence_reports.models import (
    ENCRYPTED_REPORT_FIELDS,
    Attachment,
    Case,
    Message,
    PerpetratorIdentifier,
    Report,
    ReportTag,
    new_reference,
)
from influence_reports.services.cases import case_open
from security_core import discretion
from security_core.crypto import DecryptionError
from security_core.models import DataKey, User


@dataclass(frozen=True)
class ReportData:
    """What the intake form collected, already validated."""

    description: str
    reporter_role: str
    categories: Sequence[str]
    channels: Sequence[str] = ()
    consequences: Sequence[str] = ()
    sexual_nature: bool = False
    incident_date: date | None = None
    incident_date_approximate: bool = False
    discovered_date: date | None = None
    district: str = ""
    target: str = "myself"
    perpetrator_kind: str = "unknown"
    police_reported: str = "no"
    repeat: bool = False
    is_acute: bool = False
    needs_support: bool = False
    media_interest: bool = False
    on_behalf_of_other: bool = False
    consent_recorded: bool = False
    encrypted: dict[str, str] = field(default_factory=dict)


def _tags(report: Report, data: ReportData) -> list[ReportTag]:
    kinds = (
        (ReportTag.Kind.CATEGORY, data.categories),
        (ReportTag.Kind.CHANNEL, data.channels),
        (ReportTag.Kind.CONSEQUENCE, data.consequences),
    )
    return [
        ReportTag(report=report, kind=kind, code=code)
        for kind, codes in kinds
        for code in dict.fromkeys(codes)
    ]


def _attach(
    *,
    report: Report,
    upload: EncryptedUpload,
    actor: User | None,
    uploaded_at: datetime | None = None,
    message: Message | None = None,
) -> Attachment:
    if upload.report_id != report.pk:
        raise ValueError("an upload is bound to another report")
    data_key, _plain = DataKey.issue(key=upload.data_key)
    attachment = Attachment(
        id=upload.attachment_id,
        report=report,
        message=message,
        data_key=data_key,
        uploaded_by=actor,
        size=upload.size or 0,
        storage_name=upload.storage_name,
        uploaded_at=uploaded_at or timezone.now(),
    )
    attachment.filename = upload.name or ""
    attachment.content_type = upload.content_type or "application/octet-stream"
    attachment.sha256 = upload.sha256
    attachment.save()
    upload.recorded = True
    if discretion.active():
        # Dated to the day once its row is committed: earlier, the orphan sweeper would
        # take a file that looks old and has no row yet for one in flight.
        transaction.on_commit(
            functools.partial(discretion.touch_to_the_day, evidence.file_path(upload.storage_name))
        )
    return attachment


@transaction.atomic
def report_submit(
    *,
    reporter: User | None,
    data: ReportData,
    uploads: Iterable[EncryptedUpload] = (),
    submitted_at: datetime | None = None,
    report_id: uuid.UUID | None = None,
) -> Report:
    """Record a report, its statistical tags and its (already encrypted) evidence files.

    ``data.encrypted`` holds the free-text and profile fields; they are sealed under the
    report's own data key before the row is written. Nothing else about the report leaves
    this function in clear. ``submitted_at`` is for records filed earlier elsewhere (and
    the demo data); a report filed through Värn is stamped now. ``report_id`` is the id the
    uploads were bound to while they streamed in, before the report existed.
    """
    report = Report(
        id=report_id or uuid.uuid4(),
        reference=new_reference(),
        reporter=reporter,
        submitted_at=submitted_at or timezone.now(),
        reporter_role=data.reporter_role,
        sexual_nature=data.sexual_nature,
        incident_date=data.incident_date,
        incident_date_approximate=data.incident_date_approximate,
        discovered_date=data.discovered_date,
        district=data.district,
        target=data.target,
        perpetrator_kind=data.perpetrator_kind,
        police_reported=data.police_reported,
        repeat=data.repeat,
        is_acute=data.is_acute,
        needs_support=data.needs_support,
        media_interest=data.media_interest,
        on_behalf_of_other=data.on_behalf_of_other,
        consent_recorded=data.consent_recorded,
    )
    report.description = data.description
    for name in ENCRYPTED_REPORT_FIELDS:
        if name == "description":
            continue
        # Unanswered is stored as an encrypted "", never NULL, so it does not show.
        setattr(report, name, data.encrypted.get(name) or "")
    report._plain_data_key()  # its key row first, outside the savepoint a retry rolls back
    for _attempt in range(5):
        try:
            with transaction.atomic():
                report.save()
            break
        except IntegrityError:
            report.reference = new_reference()  # a collision of references; try another
    else:  # pragma: no cover - 30**8 references make five collisions in a row impossible
        raise RuntimeError("no free report reference")
    # Tags are written once, with the report, and never change: the report's own audit
    # entry records the filing, so they are not audited one by one.
    ReportTag.objects.bulk_create(_tags(report, data))
    trends.report_counted(report=report, profile_answers=data.encrypted)
    case = case_open(report=report)  # every report is a case from the start, or neither is
    _index_identifiers(case, data)
    notifications.report_filed(case)  # in this transaction: sent once it commits
    for upload in uploads:
        _attach(report=report, upload=upload, actor=reporter, uploaded_at=report.submitted_at)
    return report


PERPETRATOR_FIELDS = ("perpetrator_identifiers", "perpetrator_details")


def _index_identifiers(case: Case, data: ReportData) -> None:
    """Blind indexes of the identifiers the reporter gave for the perpetrator (the reporter's
    own contact details are not read)."""
    _index_text(case, "\n".join(data.encrypted.get(name) or "" for name in PERPETRATOR_FIELDS))


def _index_text(case: Case, text: str) -> None:
    PerpetratorIdentifier.objects.bulk_create(
        PerpetratorIdentifier(case=case, kind=kind, digest=identifiers.blind_index(kind, value))
        for kind, value in sorted(identifiers.extract(text))
    )


def identifier_index_rebuild(*, batch_size: int = 200) -> int:
    """Rebuild every case's blind indexes from its report (after ``VARN_BLIND_INDEX_KEY`` is
    replaced, or for reports filed before indexing existed); returns how many cases. Each
    batch is its own transaction; a report that does not open keeps its old indexes."""
    done = 0
    after = None
    while True:
        cases = Case.objects.select_related("report__data_key").order_by("pk")
        if after is not None:
            cases = cases.filter(pk__gt=after)
        batch = list(cases[:batch_size])
        if not batch:
            return done
        with transaction.atomic():
            for case in batch:
                try:
                    text = "\n".join(
                        getattr(case.report, name) or "" for name in PERPETRATOR_FIELDS
                    )
                except DecryptionError:
                    continue
                PerpetratorIdentifier.objects.filter(case=case).delete()
                _index_text(case, text)
                done += 1
        after = batch[-1].pk


class EvidenceRefused(Exception):
    """Evidence could not be added; the message is fit to show the reporter."""


def evidence_held(reports: QuerySet[Report]) -> tuple[int, int]:
    """Files and bytes of evidence the reporter has sent to these reports (one, in practice),
    as the per-report limits count them: not what the security staff sent."""
    totals = (
        Attachment.objects.filter(report__in=reports)
        .exclude(message__side=Message.Side.CASE_WORKER)
        .aggregate(count=Count("id"), size=Sum("size"))
    )
    return totals["count"] or 0, totals["size"] or 0


def evidence_refusal(report: Report, files: Sequence[EncryptedUpload]) -> str | None:
    """Why the reporter may not add ``files`` to ``report`` now, or ``None``: a withdrawn
    report, or the per-report limits on the evidence the reporter has sent."""
    if report.withdrawn_at is not None:
        return _("The report has been withdrawn.")
    count, size = evidence_held(Report.objects.filter(pk=report.pk))
    if count + len(files) > settings.VARN_UPLOAD_MAX_FILES:
        return _("Too many files: at most %(count)d per report.") % {
            "count": settings.VARN_UPLOAD_MAX_FILES
        }
    if size + sum(f.size or 0 for f in files) > settings.VARN_UPLOAD_MAX_REPORT_BYTES:
        return _("The files are too large together: at most %(size)s per report.") % {
            "size": f"{settings.VARN_UPLOAD_MAX_REPORT_BYTES // (1024 * 1024)} MiB"
        }
    return None


@transaction.atomic
def attachments_add(
    *,
    report: Report,
    uploads: Iterable[EncryptedUpload],
    actor: User | None,
    message: Message | None = None,
) -> list[Attachment]:
    """Add evidence to an existing report, or files sent with a ``message`` in its case's
    thread (the caller has checked the actor may; ``None`` is an anonymous reporter).

    The report is locked while its limits and state are checked again, so parallel
    requests cannot together pass the per-report limits or add to a report that was
    withdrawn meanwhile. The limits are the reporter's: they count the evidence the report
    holds, however the reporter sent it; files the security staff send are theirs, limited
    per message only. Refused uploads are not recorded (their files are then deleted). An
    upload bound to no report yet (an anonymous reporter's) is bound to this one first.
    """
    # Locking the report row serialises additions to one report.
    locked = Report.objects.select_for_update().get(pk=report.pk)
    files = list(uploads)
    if message is None or message.side == Message.Side.REPORTER:
        refusal = evidence_refusal(locked, files)
        if refusal:
            raise EvidenceRefused(refusal)
    for upload in files:
        evidence.rebind(upload, locked.pk)
    return [_attach(report=locked, upload=upload, actor=actor, message=message) for upload in files]


@transaction.atomic
def report_withdraw(*, report: Report, actor: User) -> Report:
    """Mark a report withdrawn; it is kept for the legal retention period, not deleted."""
    # Locking the row makes two withdrawals (double click, two tabs) record one time.
    locked = Report.objects.select_for_update().get(pk=report.pk)
    if locked.withdrawn_at is None:
        locked.withdrawn_at = timezone.now()
        locked.save(update_fields=["withdrawn_at"])
        trends.report_uncounted(report=locked)  # a withdrawn report is no longer counted
    return locked


@transaction.atomic
def report_delete(*, report: Report) -> None:
    """Delete a report for good, with its case, files' rows and data keys (the retention
    purge's step; the caller deletes the files on disk after commit). Its cells go down in
    the same transaction."""
    locked = Report.objects.select_for_update().get(pk=report.pk)
    if locked.withdrawn_at is None:
        trends.report_uncounted(report=locked)
    locked.delete()
