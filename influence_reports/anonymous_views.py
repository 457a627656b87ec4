"""Pages for a reporter without an account: file a report, get a receipt, come back with it.

No session is kept for an anonymous reporter: after the receipt code (and passphrase) open
the report, the page carries a signed access token in its forms (never in a URL), valid for
30 minutes from entering the code and never extended, so nothing on the server links a visit
to a report. Their address and browser are stored nowhere, and outside the report itself
nothing they do is timed finer than the day (``security_core.discretion``). Someone signed
in is asked to sign out first, so that their session cannot tie them to an anonymous report.
"""

from __future__ import annotations

import functools
import time
import uuid
from typing import Any
from urllib.parse import urlsplit

from django.conf import settings
from django.contrib.auth.decorators import login_not_required
from django.core import signing
from django.http import HttpRequest, HttpResponse
from django.http.response import HttpResponseBase
from django.shortcuts import render
from django.utils.translation import gettext as _
from django.views.decorators.debug import sensitive_post_parameters, sensitive_variables
from django.views.decorators.http import require_http_methods, require_POST

from influence_reports import evidence, receipts
from influence_reports.forms import AnonymousReportForm, ReceiptForm
from influence_reports.models import ENCRYPTED_REPORT_FIELDS, Message, Report
from influence_reports.services import anonymous, reports
from influence_reports.services import messages as messages_services
from influence_reports.services.cases import CaseActionRefused
from influence_reports.views import (
    _upload_handler,
    _uploads,
    _with_encrypting_uploads,
    message_refusal,
    readable_thread,
    streamed_download,
    upload_limits,
)
from security_core import ratelimit
from security_core.decorators import second_factor_not_required
from security_core.views.errors import csrf_failure

ACCESS_NAMESPACE = "varn.anonymous-report"  # the signing salt of access tokens
TOKEN_MAX_AGE = 30 * 60  # seconds: then the code is asked for again
# Generous to a person, tight for a script: ten tries of a code in 15 minutes per client
# and per code, 30 messages an hour to one report, 120 messages and downloads an hour from
# one client; reports an hour per client and from everyone as configured
# (VARN_ANONYMOUS_REPORTS_PER_HOUR and VARN_ANONYMOUS_REPORTS_PER_HOUR_ALL: 20 and 300).
WRONG_CODES, WRONG_CODE_WINDOW = 10, 15 * 60
SUBMISSION_WINDOW = 60 * 60
MESSAGES, MESSAGE_WINDOW = 30, 60 * 60
CLIENT_POSTS = 120  # messages and downloads an hour from one client, to any report


def _signed_out_only(view: Any) -> Any:
    """Someone signed in is asked to sign out first: their session would tie them to the
    report. Nothing is read from the request before that."""

    @functools.wraps(view)  # keeps csrf_exempt: the upload wrapper checks CSRF itself
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if request.user.is_authenticated:
            return render(request, "anonymous/sign_out_first.html", status=403)
        response: HttpResponse = view(request, *args, **kwargs)
        return response

    return wrapper


def _slow_down(request: HttpRequest) -> HttpResponse:
    return render(request, "anonymous/slow_down.html", status=429)


def _cross_site(request: HttpRequest) -> bool:
    """A post another site's page made: refused before it is counted, so that no page
    elsewhere can use up the limits of its visitors' addresses (the CSRF check, which reads
    the body, comes later)."""
    if request.headers.get("Sec-Fetch-Site") == "cross-site":
        return True
    origin = request.headers.get("Origin", "")
    if not origin or origin == "null":
        return False
    return urlsplit(origin).netloc != request.get_host() and origin not in set(
        settings.CSRF_TRUSTED_ORIGINS
    )


def _intake_limited(view: Any) -> Any:
    """Count a post before its body (and any file in it) is read: per client and in all."""

    @functools.wraps(view)  # keeps csrf_exempt: the upload wrapper checks CSRF itself
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if request.method == "POST" and _cross_site(request):
            return csrf_failure(request)
        # Every post counts for its client; only reports actually filed count for the cap on
        # everyone (counted in ``anonymous_new``), so refused and broken posts cannot use it up.
        if request.method == "POST" and (
            ratelimit.hit(
                ratelimit.client(request),
                scope="anonymous-intake",
                limit=settings.VARN_ANONYMOUS_REPORTS_PER_HOUR,
                window_seconds=SUBMISSION_WINDOW,
            )
            or ratelimit.reached(
                "all", scope="anonymous-filed", limit=settings.VARN_ANONYMOUS_REPORTS_PER_HOUR_ALL
            )
        ):
            return _slow_down(request)
        response: HttpResponse = view(request, *args, **kwargs)
        return response

    return wrapper


def _posts_limited(view: Any) -> Any:
    """Count a post to an opened report (a message, a download) per client before its body,
    and any file in it, is read; the token inside is checked only after."""

    @functools.wraps(view)  # keeps csrf_exempt: the upload wrapper checks CSRF itself
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if _cross_site(request):
            return csrf_failure(request)
        if ratelimit.hit(
            ratelimit.client(request),
            scope="anonymous-post",
            limit=CLIENT_POSTS,
            window_seconds=MESSAGE_WINDOW,
        ):
            return _slow_down(request)
        response: HttpResponse = view(request, *args, **kwargs)
        return response

    return wrapper


def _intake(request: HttpRequest, context: dict[str, Any], status: int = 200) -> HttpResponse:
    return render(
        request,
        "reports/new.html",
        {"anonymous": True, "limits": upload_limits(), **context},
        status=status,
    )


@login_not_required
@second_factor_not_required
@_signed_out_only
@sensitive_variables()
@sensitive_post_parameters(*ENCRYPTED_REPORT_FIELDS, "passphrase", "passphrase_again")
@require_http_methods(["GET", "POST"])
@_intake_limited
@_with_encrypting_uploads
def anonymous_new(request: HttpRequest) -> HttpResponse:
    """The intake without an account; the receipt is shown once, in the answer to the post."""
    if request.method != "POST":
        return _intake(request, {"form": AnonymousReportForm()})
    form = AnonymousReportForm(request.POST)
    files, refusals = _uploads(request)
    if not form.is_valid() or refusals:
        return _intake(
            request,
            {"form": form, "refusals": refusals, "files_dropped": bool(files)},
            status=400,
        )
    report, code = anonymous.anonymous_report_submit(
        data=form.report_data(),
        passphrase=form.cleaned_data.get("passphrase") or "",
        uploads=files,
        report_id=_upload_handler(request).report_id,
    )
    ratelimit.hit(  # the cap on everyone counts filed reports only
        "all",
        scope="anonymous-filed",
        limit=settings.VARN_ANONYMOUS_REPORTS_PER_HOUR_ALL,
        window_seconds=SUBMISSION_WINDOW,
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


def _token(report: Report, issued: float) -> str:
    return signing.dumps({"report": str(report.pk), "issued": issued}, salt=ACCESS_NAMESPACE)


def _report_page(
    request: HttpRequest, report: Report, *, issued: float, status: int = 200, **extra: Any
) -> HttpResponse:
    # No read marker is kept for an anonymous reporter: it would record when they came.
    return render(
        request,
        "anonymous/report.html",
        {
            "report": report,
            "thread": readable_thread(report.case),
            "viewer_side": Message.Side.REPORTER,
            "can_write": not report.is_withdrawn,
            "token": _token(report, issued),
            "limits": upload_limits(),
            **extra,
        },
        status=status,
    )


@login_not_required
@second_factor_not_required
@_signed_out_only
@sensitive_variables()
@sensitive_post_parameters("code", "passphrase")
@require_http_methods(["GET", "POST"])
def anonymous_return(request: HttpRequest) -> HttpResponse:
    """Open one's report with the receipt code (and passphrase). A wrong code, a wrong
    passphrase and a report that does not exist all get the same answer. Every try counts,
    per client and per code typed (whether or not it exists), so neither many addresses nor
    many codes help a guesser."""
    if request.method != "POST":
        return render(request, "anonymous/return.html", {"form": ReceiptForm()})
    form = ReceiptForm(request.POST)
    typed = receipts.normalise(request.POST.get("code", "")) or ""
    over_client = ratelimit.hit(
        ratelimit.client(request),
        scope="receipt",
        limit=WRONG_CODES,
        window_seconds=WRONG_CODE_WINDOW,
    )
    over_code = bool(typed) and ratelimit.hit(
        # Keyed by the code as typed, never stored: a key made from the stored look-up hash
        # could be recomputed from the database, and its expiry would date the visit.
        ratelimit.subject(f"code:{typed}"),
        scope="receipt-code",
        limit=WRONG_CODES,
        window_seconds=WRONG_CODE_WINDOW,
    )
    if over_client or over_code:
        return _slow_down(request)
    report = None
    if form.is_valid():
        report = anonymous.receipt_open(
            typed_code=form.cleaned_data["code"], passphrase=form.cleaned_data["passphrase"]
        )
    if report is None:
        return render(
            request,
            "anonymous/return.html",
            {"form": ReceiptForm(), "failed": True},
            status=400,
        )
    return _report_page(request, report, issued=time.time())


def _report_from_token(request: HttpRequest) -> tuple[Report, float] | None:
    """The report a token opens and when it was issued; ``None`` when it is forged, older
    than 30 minutes from entering the code (re-signing never extends it), or not for an
    anonymous report."""
    try:
        payload = signing.loads(request.POST.get("token", ""), salt=ACCESS_NAMESPACE)
        issued = float(payload["issued"])
        if not 0 <= time.time() - issued <= TOKEN_MAX_AGE:
            return None
        report = Report.objects.select_related("case").get(
            pk=uuid.UUID(payload["report"]), reporter__isnull=True
        )
    except (signing.BadSignature, ValueError, TypeError, KeyError, Report.DoesNotExist):
        return None
    return report, issued


def _expired(request: HttpRequest) -> HttpResponse:
    return render(
        request, "anonymous/return.html", {"form": ReceiptForm(), "expired": True}, status=400
    )


@login_not_required
@second_factor_not_required
@_signed_out_only
@sensitive_post_parameters("body", "token")
@require_POST
@_posts_limited
@_with_encrypting_uploads
def anonymous_message(request: HttpRequest) -> HttpResponse:
    """The anonymous reporter answers, with any files (more evidence); their access token
    must be fresh. A refused file or message sends nothing and keeps what was typed."""
    opened = _report_from_token(request)
    if opened is None:
        return _expired(request)
    report, issued = opened
    if ratelimit.hit(
        ratelimit.subject(f"report:{report.pk}"),
        scope="anonymous-message",
        limit=MESSAGES,
        window_seconds=MESSAGE_WINDOW,
    ):
        return _slow_down(request)
    files, refusals = _uploads(request)
    body = request.POST.get("body", "")
    try:
        if refusals:
            raise CaseActionRefused(message_refusal(refusals))
        # Checked again under the report's lock; here, so a full report costs no re-sealing.
        refusal = reports.evidence_refusal(report, files) if files else None
        if refusal:
            raise CaseActionRefused(refusal)
        for upload in files:  # the token came in the same body as the files
            evidence.rebind(upload, report.pk)
        messages_services.message_send(
            case=report.case, author=None, side=Message.Side.REPORTER, body=body, uploads=files
        )
    except CaseActionRefused as refusal:
        return _report_page(
            request, report, issued=issued, status=400, message_error=str(refusal), draft=body
        )
    return _report_page(
        request, report, issued=issued, sent=_("Your message is sent to the security staff.")
    )


@login_not_required
@second_factor_not_required
@_signed_out_only
@sensitive_post_parameters("token")
@require_POST
@_posts_limited
def anonymous_attachment(request: HttpRequest) -> HttpResponseBase:
    """A file in the anonymous reporter's thread (theirs or the staff's), as a download; the
    access token must be fresh and the file must belong to its report."""
    opened = _report_from_token(request)
    if opened is None:
        return _expired(request)
    return streamed_download(
        request,
        actor=None,
        attachment_id=request.POST.get("attachment", ""),
        anonymous_report=opened[0],
    )
