"""Pages for a reporter without an account: file a report, get a receipt, come back with it.

No session is kept for an anonymous reporter: after the receipt code (and passphrase) open
the report, the page carries a signed, short-lived access token in its forms (never in a
URL), so nothing on the server links a visit to a report, and nothing about the visitor is
stored: not their address, not their browser, not when they came.
"""

from __future__ import annotations

import uuid
from typing import Any

from django.conf import settings
from django.contrib.auth.decorators import login_not_required
from django.core import signing
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils.translation import gettext as _
from django.views.decorators.debug import sensitive_post_parameters, sensitive_variables
from django.views.decorators.http import require_http_methods, require_POST

from influence_reports import receipts
from influence_reports.forms import AnonymousReportForm, ReceiptForm
from influence_reports.models import ENCRYPTED_REPORT_FIELDS, Message, Report
from influence_reports.services import anonymous
from influence_reports.services import messages as messages_services
from influence_reports.services.cases import CaseActionRefused
from influence_reports.views import (
    _upload_handler,
    _uploads,
    _with_encrypting_uploads,
    readable_thread,
)
from security_core import ratelimit
from security_core.decorators import second_factor_not_required

ACCESS_NAMESPACE = "varn.anonymous-report"  # the signing salt of access tokens
TOKEN_MAX_AGE = 30 * 60  # seconds: then the code is asked for again
# Generous to a person, tight for a script: ten wrong codes in 15 minutes, 20 reports an hour.
WRONG_CODES, WRONG_CODE_WINDOW = 10, 15 * 60
SUBMISSIONS, SUBMISSION_WINDOW = 20, 60 * 60


def _limits() -> dict[str, int]:
    return {
        "files": settings.VARN_UPLOAD_MAX_FILES,
        "file_mib": settings.VARN_UPLOAD_MAX_FILE_BYTES // (1024 * 1024),
        "report_mib": settings.VARN_UPLOAD_MAX_REPORT_BYTES // (1024 * 1024),
    }


def _intake(request: HttpRequest, context: dict[str, Any], status: int = 200) -> HttpResponse:
    return render(
        request,
        "reports/new.html",
        {"anonymous": True, "limits": _limits(), **context},
        status=status,
    )


@login_not_required
@second_factor_not_required
@sensitive_variables()
@sensitive_post_parameters(*ENCRYPTED_REPORT_FIELDS, "passphrase", "passphrase_again")
@require_http_methods(["GET", "POST"])
@_with_encrypting_uploads
def anonymous_new(request: HttpRequest) -> HttpResponse:
    """The intake without an account; the receipt is shown once, in the answer to the post."""
    if request.method != "POST":
        return _intake(request, {"form": AnonymousReportForm()})
    if ratelimit.blocked(request, scope="anonymous-intake", limit=SUBMISSIONS):
        return render(request, "anonymous/slow_down.html", status=429)
    form = AnonymousReportForm(request.POST)
    files, refusals = _uploads(request)
    if not form.is_valid() or refusals:
        return _intake(
            request,
            {"form": form, "refusals": refusals, "files_dropped": bool(files)},
            status=400,
        )
    ratelimit.record(request, scope="anonymous-intake", window_seconds=SUBMISSION_WINDOW)
    report, code = anonymous.anonymous_report_submit(
        data=form.report_data(),
        passphrase=form.cleaned_data.get("passphrase") or "",
        uploads=files,
        report_id=_upload_handler(request).report_id,
    )
    return render(
        request,
        "anonymous/receipt.html",
        {
            "report": report,
            "code": receipts.grouped(code),
            "has_passphrase": bool(form.cleaned_data.get("passphrase")),
        },
    )


def _report_page(
    request: HttpRequest, report: Report, *, status: int = 200, **extra: Any
) -> HttpResponse:
    messages_services.thread_mark_read(case=report.case, side=Message.Side.REPORTER, user=None)
    return render(
        request,
        "anonymous/report.html",
        {
            "report": report,
            "thread": readable_thread(report.case),
            "viewer_side": Message.Side.REPORTER,
            "can_write": not report.is_withdrawn,
            "token": signing.dumps(str(report.pk), salt=ACCESS_NAMESPACE),
            **extra,
        },
        status=status,
    )


@login_not_required
@second_factor_not_required
@sensitive_variables()
@sensitive_post_parameters("code", "passphrase")
@require_http_methods(["GET", "POST"])
def anonymous_return(request: HttpRequest) -> HttpResponse:
    """Open one's report with the receipt code (and passphrase). A wrong code, a wrong
    passphrase and a report that does not exist all get the same answer."""
    if request.method != "POST":
        return render(request, "anonymous/return.html", {"form": ReceiptForm()})
    form = ReceiptForm(request.POST)
    if ratelimit.blocked(request, scope="receipt", limit=WRONG_CODES):
        return render(request, "anonymous/slow_down.html", status=429)
    report = None
    if form.is_valid():
        report = anonymous.receipt_open(
            typed_code=form.cleaned_data["code"], passphrase=form.cleaned_data["passphrase"]
        )
    if report is None:
        ratelimit.record(request, scope="receipt", window_seconds=WRONG_CODE_WINDOW)
        return render(
            request,
            "anonymous/return.html",
            {"form": ReceiptForm(), "failed": True},
            status=400,
        )
    return _report_page(request, report)


def _report_from_token(request: HttpRequest) -> Report | None:
    try:
        report_id = signing.loads(
            request.POST.get("token", ""), salt=ACCESS_NAMESPACE, max_age=TOKEN_MAX_AGE
        )
        return Report.objects.select_related("case").get(
            pk=uuid.UUID(report_id), reporter__isnull=True
        )
    except (signing.BadSignature, ValueError, TypeError, Report.DoesNotExist):
        return None


@login_not_required
@second_factor_not_required
@sensitive_post_parameters("body", "token")
@require_POST
def anonymous_message(request: HttpRequest) -> HttpResponse:
    """The anonymous reporter answers; their access token must be fresh."""
    report = _report_from_token(request)
    if report is None:
        return render(
            request,
            "anonymous/return.html",
            {"form": ReceiptForm(), "expired": True},
            status=400,
        )
    try:
        messages_services.message_send(
            case=report.case,
            author=None,
            side=Message.Side.REPORTER,
            body=request.POST.get("body", ""),
        )
    except CaseActionRefused as refusal:
        return _report_page(request, report, status=400, error=str(refusal))
    return _report_page(request, report, sent=_("Your message is sent to the security staff."))
