"""A reporter's pages: file a report, see the receipt, list, read, add evidence, withdraw."""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable
from typing import Any
from urllib.parse import quote

from django.conf import settings
from django.contrib import messages
from django.db import models
from django.http import Http404, HttpRequest, HttpResponse, StreamingHttpResponse
from django.http.response import HttpResponseBase
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.csrf import csrf_exempt, csrf_protect
from django.views.decorators.debug import sensitive_post_parameters, sensitive_variables
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from influence_reports import choices, evidence, selectors
from influence_reports.forms import ReportForm
from influence_reports.models import ENCRYPTED_REPORT_FIELDS, Attachment, Case, Message, Report
from influence_reports.services import messages as messages_services
from influence_reports.services import reading, reports
from influence_reports.services.cases import CaseActionRefused
from security_core import permissions, streaming
from security_core.crypto import DecryptionError
from security_core.models import User
from security_core.requests import signed_in_user

logger = logging.getLogger(__name__)


def _reporter_only(request: HttpRequest) -> User:
    user = signed_in_user(request)
    if not permissions.can_file_report(user):
        raise Http404
    return user


def _stored_so_far(request: HttpRequest, report_id: uuid.UUID | None) -> dict[str, int]:
    """Evidence files and bytes a report of this user already holds, as the limits count
    them (not what the security staff sent); zero for anything else."""
    if report_id is None or not request.user.is_authenticated:
        return {}
    files, size = reports.evidence_held(
        Report.objects.filter(pk=report_id, reporter_id=request.user.pk)
    )
    return {"already_files": files, "already_bytes": size}


def _with_encrypting_uploads(
    view: Callable[..., HttpResponse],
) -> Callable[..., HttpResponse]:
    """Make files stream through encryption before anything reads the request body.

    Upload handlers must be set before the body is parsed, and Django's CSRF check parses it,
    so the check runs inside (``csrf_protect``) after the handler is in place. The limits
    per report count the files the report already has.
    """
    protected = csrf_protect(view)

    @csrf_exempt
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if request.method != "POST":
            return protected(request, *args, **kwargs)
        report_id = kwargs.get("report_id") or _report_of_case(kwargs.get("case_id"))
        handler = evidence.EncryptingUploadHandler(
            request, report_id=report_id, **_stored_so_far(request, report_id)
        )
        request.upload_handlers = [handler]
        try:
            return protected(request, *args, **kwargs)
        finally:
            # Whatever the outcome (refusal, 404, a broken body, an error), a file that no
            # attachment row took is deleted now.
            handler.cleanup()

    wrapper.__name__ = view.__name__
    wrapper.__doc__ = view.__doc__
    return wrapper


def _report_of_case(case_id: uuid.UUID | None) -> uuid.UUID | None:
    """The report a case's files are bound to (whether the viewer may see it is the view's
    to decide; for a case that does not exist the files are bound to no report)."""
    if case_id is None:
        return None
    report_id: uuid.UUID | None = (
        Case.objects.filter(pk=case_id).values_list("report_id", flat=True).first()
    )
    return report_id


def _upload_handler(request: HttpRequest) -> evidence.EncryptingUploadHandler:
    handler = request.upload_handlers[0]
    if not isinstance(handler, evidence.EncryptingUploadHandler):
        raise RuntimeError("the view is not wrapped by _with_encrypting_uploads")
    return handler


def _uploads(request: HttpRequest) -> tuple[list[evidence.EncryptedUpload], list[Any]]:
    handler = _upload_handler(request)
    files = [
        f for f in request.FILES.getlist("evidence") if isinstance(f, evidence.EncryptedUpload)
    ]
    refusals = getattr(handler, "refusals", [])
    return files, refusals


def upload_limits() -> dict[str, int]:
    """The evidence limits, as the intake form states them."""
    return {
        "files": settings.VARN_UPLOAD_MAX_FILES,
        "file_mib": settings.VARN_UPLOAD_MAX_FILE_BYTES // (1024 * 1024),
        "report_mib": settings.VARN_UPLOAD_MAX_REPORT_BYTES // (1024 * 1024),
    }


@sensitive_variables()
@sensitive_post_parameters(*ENCRYPTED_REPORT_FIELDS)
@require_http_methods(["GET", "POST"])
@_with_encrypting_uploads
def report_new(request: HttpRequest) -> HttpResponse:
    """The intake form. A refused file or a missing answer keeps everything else typed."""
    user = _reporter_only(request)
    limits = upload_limits()
    if request.method != "POST":
        return render(request, "reports/new.html", {"form": ReportForm(), "limits": limits})
    form = ReportForm(request.POST)
    files, refusals = _uploads(request)
    if not form.is_valid() or refusals:
        # Nothing half-filed: the files are deleted on the way out and chosen again.
        return render(
            request,
            "reports/new.html",
            {"form": form, "refusals": refusals, "files_dropped": bool(files), "limits": limits},
            status=400,
        )
    report = reports.report_submit(
        reporter=user,
        data=form.report_data(),
        uploads=files,
        report_id=_upload_handler(request).report_id,
    )
    return redirect("report_receipt", report_id=report.pk)


@require_GET
def report_receipt(request: HttpRequest, report_id: uuid.UUID) -> HttpResponse:
    """Reference, what happens next and when; decrypts nothing."""
    user = _reporter_only(request)
    report = selectors.visible_report(user=user, report_id=report_id)
    return render(request, "reports/receipt.html", {"report": report})


@require_GET
def report_list(request: HttpRequest) -> HttpResponse:
    user = _reporter_only(request)
    return render(request, "reports/list.html", {"reports": selectors.own_reports(user)})


@require_GET
def report_detail(request: HttpRequest, report_id: uuid.UUID) -> HttpResponse:
    """The decrypted report; opening it is written to the access log."""
    return _detail_page(request, signed_in_user(request), report_id)


def _detail_page(
    request: HttpRequest, user: User, report_id: uuid.UUID, *, status: int = 200, **extra: Any
) -> HttpResponse:
    report = reading.report_open(actor=user, report_id=report_id)
    try:
        description = report.description
    except DecryptionError:
        return render(request, "reports/unreadable.html", status=422)
    try:
        facts = facts_of(report)
    except DecryptionError:
        return render(request, "reports/unreadable.html", status=422)
    thread = readable_thread(report.case)
    if permissions.can_file_report(user):
        messages_services.thread_mark_read(case=report.case, side=Message.Side.REPORTER, user=user)
    return render(
        request,
        "reports/detail.html",
        {
            "thread": thread,
            "viewer_side": (
                Message.Side.REPORTER
                if permissions.can_file_report(user)
                else Message.Side.CASE_WORKER
            ),
            "can_write": permissions.can_file_report(user) and not report.is_withdrawn,
            "message_action": reverse("report_message", args=[report.pk]),
            "report": report,
            "description": description,
            "facts": facts,
            "attachments": readable_attachments(report, evidence_only=True),
            "can_add_evidence": permissions.can_add_evidence(user, report),
            "can_withdraw": permissions.can_withdraw_report(user, report),
            "limits": upload_limits(),
            **extra,
        },
        status=status,
    )


NamedFiles = list[tuple[Attachment, str | None]]


def readable_thread(case: Any) -> list[tuple[Message, str | None, NamedFiles]]:
    """The case's messages with their text and their files' names; what does not open is
    ``None``."""
    in_thread = list(selectors.thread(case))
    files: dict[uuid.UUID, NamedFiles] = {}
    for attachment in (
        Attachment.objects.filter(message__in=in_thread)
        .select_related("data_key")
        .order_by("uploaded_at")
    ):
        files.setdefault(attachment.message_id, []).append(  # type: ignore[arg-type]
            (attachment, _name_of(attachment))
        )
    thread = []
    for message in in_thread:
        try:
            body: str | None = message.body
        except DecryptionError:
            body = None
        thread.append((message, body, files.get(message.pk, [])))
    return thread


def message_refusal(refusals: list[Any]) -> str:
    """One line naming each file refused, and why."""
    return " ".join(f"{refusal.name}: {refusal.reason}" for refusal in refusals)


@sensitive_post_parameters("body")
@require_POST
@_with_encrypting_uploads
def report_message(request: HttpRequest, report_id: uuid.UUID) -> HttpResponse:
    """The reporter writes to the security staff about their report, with any files. A
    refused file or message sends nothing and keeps what was typed."""
    user = _reporter_only(request)
    report = selectors.visible_report(user=user, report_id=report_id)
    files, refusals = _uploads(request)
    body = request.POST.get("body", "")
    try:
        if refusals:
            raise CaseActionRefused(message_refusal(refusals))
        messages_services.message_send(
            case=report.case, author=user, side=Message.Side.REPORTER, body=body, uploads=files
        )
    except CaseActionRefused as refusal:
        return _detail_page(
            request, user, report.pk, status=400, message_error=str(refusal), draft=body
        )
    messages.success(request, _("Your message is sent to the security staff."))
    return redirect(reverse("report_detail", args=[report.pk]) + "#messages")


def _name_of(attachment: Attachment) -> str | None:
    try:
        name: str | None = attachment.filename
    except DecryptionError:
        name = None
    return name


def readable_attachments(report: Report, *, evidence_only: bool = False) -> NamedFiles:
    """The report's files with their names; a name that does not open is ``None``, shown as
    "cannot be opened", and the other files stay usable. ``evidence_only``: what the
    reporter gave (with the report, added later or sent in a message), not what the
    security staff sent them."""
    files = report.attachments.select_related("data_key")
    if evidence_only:
        files = files.exclude(message__side=Message.Side.CASE_WORKER)
    return [(attachment, _name_of(attachment)) for attachment in files]


def facts_of(report: Report) -> list[tuple[str, str]]:
    """What the report says besides its description, as label and text, answered ones only."""

    def labels(kind: str, options: type[models.TextChoices]) -> str:
        return ", ".join(str(options(code).label) for code in report.codes(kind))

    when = report.incident_date.isoformat() if report.incident_date else ""
    if when and report.incident_date_approximate:
        when = _("about %(date)s") % {"date": when}
    district = dict(choices.districts()).get(report.district, "")
    rows = [
        (_("What happened"), labels("category", choices.Category)),
        (_("How it reached you"), labels("channel", choices.Channel)),
        (_("When"), when),
        (_("Where"), ", ".join(str(part) for part in (district, report.location_details) if part)),
        (_("Who was targeted"), str(choices.Target(report.target).label)),
        (_("Who did it"), str(choices.PerpetratorKind(report.perpetrator_kind).label)),
        (_("What you know about them"), report.perpetrator_details or ""),
        (_("Their identifiers"), report.perpetrator_identifiers or ""),
        (_("The decision or matter"), report.linked_decision or ""),
        (_("Consequences"), labels("consequence", choices.Consequence)),
        (
            _("Reported to the police"),
            " ".join(
                part
                for part in (
                    str(choices.PoliceReported(report.police_reported).label),
                    report.police_reference or "",
                )
                if part
            ),
        ),
        (_("Support wanted"), _("Yes") if report.needs_support else ""),
        (_("Media interest expected"), _("Yes") if report.media_interest else ""),
        (_("How to reach you"), report.contact_details or ""),
    ]
    return [(label, text) for label, text in rows if text]


@require_POST
@_with_encrypting_uploads
def report_add_evidence(request: HttpRequest, report_id: uuid.UUID) -> HttpResponse:
    user = signed_in_user(request)
    report = selectors.visible_report(user=user, report_id=report_id)
    files, refusals = _uploads(request)
    if not permissions.can_add_evidence(user, report):
        raise Http404
    for refusal in refusals:
        messages.error(request, f"{refusal.name}: {refusal.reason}")
    if files:
        try:
            reports.attachments_add(report=report, uploads=files, actor=user)
        except reports.EvidenceRefused as refusal:
            messages.error(request, str(refusal))
        else:
            messages.success(request, _("The files were added to your report."))
    elif not refusals:
        messages.error(request, _("Choose at least one file to add."))
    return redirect("report_detail", report_id=report.pk)


@require_http_methods(["GET", "POST"])
def report_withdraw(request: HttpRequest, report_id: uuid.UUID) -> HttpResponse:
    user = signed_in_user(request)
    report = selectors.visible_report(user=user, report_id=report_id)
    if not permissions.can_withdraw_report(user, report):
        raise Http404
    if request.method == "POST":
        reports.report_withdraw(report=report, actor=user)
        messages.success(request, _("Your report is withdrawn. It is kept for the legal period."))
        return redirect("report_list")
    return render(request, "reports/withdraw.html", {"report": report})


def _content_disposition(filename: str) -> str:
    ascii_name = (
        "".join(c if c.isascii() and c.isprintable() and c not in '"\\;' else "_" for c in filename)
        or "evidence"
    )
    return f"attachment; filename=\"{ascii_name}\"; filename*=UTF-8''{quote(filename)}"


@require_GET
def attachment_download(request: HttpRequest, attachment_id: uuid.UUID) -> HttpResponseBase:
    """The original file, streamed, as a download that no browser will render or run."""
    return streamed_download(request, actor=signed_in_user(request), attachment_id=attachment_id)


def streamed_download(
    request: HttpRequest,
    *,
    actor: User | None,
    attachment_id: uuid.UUID | str,
    anonymous_report: Report | None = None,
) -> HttpResponseBase:
    """Stream a file the actor may open (see ``reading.attachment_open``) as a download."""
    try:
        attachment, stream = reading.attachment_open(
            actor=actor, attachment_id=attachment_id, anonymous_report=anonymous_report
        )
        # Check the whole file first, so a damaged file gives a clear page, not half a file.
        with evidence.file_path(attachment.storage_name).open("rb") as handle:
            size = streaming.verify(
                evidence.file_key(attachment._plain_data_key()),
                handle,
                binding=evidence.file_binding(attachment.report_id, attachment.id),
            )
        if size != attachment.size:  # the recorded size was changed: trust neither
            logger.warning("An evidence file's size does not match its record.")
            raise DecryptionError
        filename = attachment.filename or "evidence"
        content_type = attachment.content_type or "application/octet-stream"
    except (DecryptionError, OSError):
        return render(request, "reports/unreadable.html", status=422)
    response = StreamingHttpResponse(stream, content_type=content_type)
    response["Content-Disposition"] = _content_disposition(
        evidence.download_name(filename, content_type)
    )
    response["Content-Length"] = str(size)
    response["X-Content-Type-Options"] = "nosniff"
    response["Content-Security-Policy"] = "sandbox; default-src 'none'"
    return response
