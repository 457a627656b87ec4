"""The case workers' pages: the queue, a case, and the actions taken on it."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any

from django import forms
from django.contrib import messages
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.debug import sensitive_post_parameters, sensitive_variables
from django.views.decorators.http import require_GET, require_POST

from influence_reports import deadlines, selectors
from influence_reports.forms import (
    AssignForm,
    CaseQueueForm,
    LinkForm,
    MeasureForm,
    MeasureUpdateForm,
    NoteForm,
    RecuseForm,
    ReferralForm,
    ReferralUpdateForm,
    RiskAssessmentForm,
    TransitionForm,
)
from influence_reports.models import Case, CaseEvent, Message
from influence_reports.services import case_work, reading
from influence_reports.services import cases as case_services
from influence_reports.services import messages as messages_services
from influence_reports.views import (
    _uploads,
    _with_encrypting_uploads,
    facts_of,
    message_refusal,
    readable_attachments,
    readable_thread,
    upload_limits,
)
from security_core import permissions
from security_core.crypto import DecryptionError
from security_core.models import User
from security_core.requests import signed_in_user

QUEUE_PAGE_SIZE = 25


def _case_worker(request: HttpRequest) -> User:
    user = signed_in_user(request)
    if not permissions.can_work_cases(user):
        raise Http404
    return user


@require_GET
def case_queue(request: HttpRequest) -> HttpResponse:
    """Cases to work, with their deadlines as states; shows no free text from any report."""
    user = _case_worker(request)
    form = CaseQueueForm(request.GET or None)
    now = timezone.now()
    cases = selectors.case_queue(user=user, filters=form.filters(), now=now)
    page = Paginator(cases, QUEUE_PAGE_SIZE).get_page(request.GET.get("page"))
    rows = [(case, deadlines.state(case.due_at, now=now) if case.due_at else None) for case in page]
    query = request.GET.copy()
    query.pop("page", None)
    return render(
        request,
        "cases/queue.html",
        {"form": form, "page": page, "rows": rows, "query": query.urlencode()},
    )


@require_GET
def case_detail(request: HttpRequest, case_id: uuid.UUID) -> HttpResponse:
    """The case with its decrypted report; opening it is written to the access log."""
    return _case_page(request, _case_worker(request), case_id)


def _case_page(
    request: HttpRequest, user: User, case_id: uuid.UUID, *, status: int = 200, **extra: Any
) -> HttpResponse:
    case = reading.case_open_for_work(actor=user, case_id=case_id)
    report = case.report
    try:
        description = report.description
        facts = facts_of(report)
    except DecryptionError:
        return render(request, "reports/unreadable.html", status=422)
    # Why someone stood aside may be private (a relative, a neighbour): only the head of
    # security reads it; others see that they did.
    events = [
        (
            event,
            _opened(event, "reason")
            if event.kind != CaseEvent.Kind.RECUSED or permissions.can_assign_cases(user)
            else "",
        )
        for event in case.events.all()
    ]
    assessments = [(a, _opened(a, "comment")) for a in case.risk_assessments.all()]
    measures = [
        (m, _opened(m, "details"), _opened(m, "outcome"), MeasureUpdateForm(prefix=str(m.pk)))
        for m in case.measures.all()
    ]
    referrals = [
        (r, _opened(r, "police_reference"), ReferralUpdateForm(prefix=str(r.pk)))
        for r in case.referrals.all()
    ]
    notes = [(n, _opened(n, "text")) for n in case.notes.all()]
    thread = readable_thread(case)
    if thread:  # read up to the newest shown; one arriving meanwhile stays unread
        messages_services.thread_mark_read(
            case=case, side=Message.Side.CASE_WORKER, user=user, at=thread[-1][0].sent_at
        )
    now = timezone.now()
    transitions = [
        (to, Case.Status(to).label)
        for to in sorted(case_services.TRANSITIONS[case.status], key=Case.Status.values.index)
        if to != Case.Status.CLOSED
        and (case.status != Case.Status.CLOSED or permissions.can_reopen_cases(user))
    ]
    workers = selectors.case_workers().exclude(recusals__case=case)
    return render(
        request,
        "cases/detail.html",
        {
            "case": case,
            "report": report,
            "description": description,
            "facts": facts,
            "events": events,
            "assessments": assessments,
            "current_assessment": assessments[0][0] if assessments else None,
            "measures": measures,
            "referrals": referrals,
            "notes": notes,
            "thread": thread,
            "viewer_side": Message.Side.CASE_WORKER,
            "can_write": True,
            "message_action": reverse("case_message", args=[case.pk]),
            "linked": selectors.linked_cases(user=user, case=case),
            "same_identifier": selectors.cases_naming_the_same_identifier(user=user, case=case),
            "risk_form": RiskAssessmentForm(),
            "measure_form": MeasureForm(workers=workers),
            "referral_form": ReferralForm(initial={"referred_on": timezone.localdate()}),
            "note_form": NoteForm(),
            "link_form": LinkForm(),
            "attachments": readable_attachments(report, evidence_only=True),
            "limits": upload_limits(),
            "acknowledge_state": (
                deadlines.state(case.acknowledge_by, now=now)
                if case.acknowledged_at is None and case.status != Case.Status.CLOSED
                else None
            ),
            "feedback_state": (
                deadlines.state(case.feedback_by, now=now)
                if case.feedback_by
                and case.feedback_given_at is None
                and case.status != Case.Status.CLOSED
                else None
            ),
            "transitions": transitions,
            "can_close": case.status != Case.Status.CLOSED,
            "transition_form": TransitionForm(),
            "can_assign": permissions.can_assign_cases(user),
            "assign_form": AssignForm(workers=workers, initial={"assignee": case.assignee_id}),
            "can_take": case.assignee_id != user.pk,
            "can_recuse_self": permissions.can_be_recused(user),
            "recuse_form": RecuseForm(
                workers=selectors.case_workers()
                .filter(role__in=["handler", "duty_officer"])
                .exclude(recusals__case=case)
            ),
            **extra,
        },
        status=status,
    )


def _opened(obj: object, field: str) -> str | None:
    """A field's plaintext, or ``None`` when it does not open (shown as such; the rest of
    the case stays usable)."""
    try:
        value: str | None = getattr(obj, field)
    except DecryptionError:
        return None
    return value


def _refused_or_done(request: HttpRequest, case_id: uuid.UUID, done: str) -> HttpResponse:
    messages.success(request, done)
    return redirect("case_detail", case_id=case_id)


@sensitive_post_parameters()
@require_POST
def case_transition(request: HttpRequest, case_id: uuid.UUID) -> HttpResponse:
    user = _case_worker(request)
    case = selectors.visible_case(user=user, case_id=case_id)
    form = TransitionForm(request.POST)
    if not form.is_valid():
        messages.error(request, _form_problem(form))
        return redirect("case_detail", case_id=case.pk)
    try:
        case = case_services.case_transition(
            case=case,
            to=form.cleaned_data["to"],
            actor=user,
            reason=form.cleaned_data["reason"],
            closed_reason=form.cleaned_data["closed_reason"],
        )
    except case_services.CaseActionRefused as refusal:
        messages.error(request, str(refusal))
        return redirect("case_detail", case_id=case.pk)
    return _refused_or_done(
        request,
        case.pk,
        _("The case is now: %(status)s.") % {"status": Case.Status(case.status).label.lower()},
    )


@require_POST
def case_assign(request: HttpRequest, case_id: uuid.UUID) -> HttpResponse:
    """The head of security assigns anyone; "take" assigns the case to oneself."""
    user = _case_worker(request)
    case = selectors.visible_case(user=user, case_id=case_id)
    if "take" in request.POST:
        assignee: User | None = user
    else:
        form = AssignForm(request.POST, workers=selectors.case_workers())
        if not form.is_valid():
            messages.error(request, _form_problem(form))
            return redirect("case_detail", case_id=case.pk)
        assignee = form.cleaned_data["assignee"]
    try:
        case_services.case_assign(case=case, assignee=assignee, actor=user)
    except case_services.CaseActionRefused as refusal:
        messages.error(request, str(refusal))
        return redirect("case_detail", case_id=case.pk)
    if assignee is None:
        return _refused_or_done(request, case.pk, _("The case is now assigned to nobody."))
    return _refused_or_done(
        request, case.pk, _("The case is assigned to %(name)s.") % {"name": assignee}
    )


@sensitive_post_parameters()
@require_POST
def case_recuse(request: HttpRequest, case_id: uuid.UUID) -> HttpResponse:
    """Stand aside from a case (or, as head of security, record that someone does)."""
    user = _case_worker(request)
    case = selectors.visible_case(user=user, case_id=case_id)
    form = RecuseForm(request.POST, workers=selectors.case_workers())
    if not form.is_valid():
        messages.error(request, _form_problem(form))
        return redirect("case_detail", case_id=case.pk)
    subject: User = form.cleaned_data["user"] or user
    try:
        case_services.case_recuse(
            case=case, user=subject, actor=user, reason=form.cleaned_data["reason"]
        )
    except case_services.CaseActionRefused as refusal:
        messages.error(request, str(refusal))
        return redirect("case_detail", case_id=case.pk)
    if subject.pk == user.pk:
        messages.success(request, _("You have stood aside from the case."))
        return redirect("case_queue")
    return _refused_or_done(
        request, case.pk, _("%(name)s has stood aside from the case.") % {"name": subject}
    )


@sensitive_variables()
def _record(
    request: HttpRequest,
    case_id: uuid.UUID,
    form_class: Callable[..., forms.Form],
    run: Callable[[Case, User, dict[str, Any]], object],
    done: str,
    **form_kwargs: Any,
) -> HttpResponse:
    """Read a work form for a case, run one service with it, and go back to the case with
    a message: what was done, or what was wrong (nothing is recorded then)."""
    user = _case_worker(request)
    case = selectors.visible_case(user=user, case_id=case_id)
    form = form_class(request.POST, **form_kwargs)
    if not form.is_valid():
        messages.error(request, _form_problem(form))
        return redirect("case_detail", case_id=case.pk)
    try:
        run(case, user, form.cleaned_data)
    except case_services.CaseActionRefused as refusal:
        messages.error(request, str(refusal))
        return redirect("case_detail", case_id=case.pk)
    return _refused_or_done(request, case.pk, done)


@sensitive_post_parameters()
@require_POST
def case_assess(request: HttpRequest, case_id: uuid.UUID) -> HttpResponse:
    return _record(
        request,
        case_id,
        RiskAssessmentForm,
        lambda case, user, data: case_work.risk_assess(case=case, actor=user, **data),
        _("The risk assessment is recorded."),
    )


@sensitive_post_parameters()
@require_POST
def case_measure_add(request: HttpRequest, case_id: uuid.UUID) -> HttpResponse:
    return _record(
        request,
        case_id,
        MeasureForm,
        lambda case, user, data: case_work.measure_add(case=case, actor=user, **data),
        _("The measure is added."),
        workers=selectors.case_workers(),
    )


@sensitive_post_parameters()
@require_POST
def measure_update(request: HttpRequest, case_id: uuid.UUID, measure_id: uuid.UUID) -> HttpResponse:
    def run(case: Case, user: User, data: dict[str, Any]) -> object:
        measure = case.measures.filter(pk=measure_id).first()
        if measure is None:
            raise Http404
        return case_work.measure_update(measure=measure, actor=user, **data)

    return _record(
        request,
        case_id,
        MeasureUpdateForm,
        run,
        _("The measure is updated."),
        prefix=str(measure_id),
    )


@sensitive_post_parameters()
@require_POST
def case_referral_add(request: HttpRequest, case_id: uuid.UUID) -> HttpResponse:
    return _record(
        request,
        case_id,
        ReferralForm,
        lambda case, user, data: case_work.referral_record(case=case, actor=user, **data),
        _("The police referral is recorded."),
    )


@sensitive_post_parameters()
@require_POST
def referral_update(
    request: HttpRequest, case_id: uuid.UUID, referral_id: uuid.UUID
) -> HttpResponse:
    def run(case: Case, user: User, data: dict[str, Any]) -> object:
        referral = case.referrals.filter(pk=referral_id).first()
        if referral is None:
            raise Http404
        return case_work.referral_update(referral=referral, actor=user, **data)

    return _record(
        request,
        case_id,
        ReferralUpdateForm,
        run,
        _("The police referral is updated."),
        prefix=str(referral_id),
    )


@sensitive_post_parameters()
@require_POST
@_with_encrypting_uploads
def case_message(request: HttpRequest, case_id: uuid.UUID) -> HttpResponse:
    """A case worker writes to the reporter, with any files (the reporter is told by e-mail,
    if they have an account). A refused file or message sends nothing and keeps the text."""
    user = _case_worker(request)
    case = selectors.visible_case(user=user, case_id=case_id)
    files, refusals = _uploads(request)
    body = request.POST.get("body", "")
    try:
        if refusals:
            raise case_services.CaseActionRefused(message_refusal(refusals))
        messages_services.message_send(
            case=case, author=user, side=Message.Side.CASE_WORKER, body=body, uploads=files
        )
    except case_services.CaseActionRefused as refusal:
        return _case_page(
            request, user, case.pk, status=400, message_error=str(refusal), draft=body
        )
    messages.success(request, _("The message is sent to the reporter."))
    return redirect(reverse("case_detail", args=[case.pk]) + "#messages")


@sensitive_post_parameters()
@require_POST
def case_note_add(request: HttpRequest, case_id: uuid.UUID) -> HttpResponse:
    return _record(
        request,
        case_id,
        NoteForm,
        lambda case, user, data: case_work.note_add(case=case, actor=user, text=data["text"]),
        _("The note is saved."),
    )


@sensitive_post_parameters()
@require_POST
def case_link_add(request: HttpRequest, case_id: uuid.UUID) -> HttpResponse:
    def run(case: Case, user: User, data: dict[str, Any]) -> object:
        other = selectors.visible_case_by_reference(user=user, reference=data["reference"])
        if other is None:
            raise case_services.CaseActionRefused(_("No case you may see has that reference."))
        return case_work.case_link(case=case, other=other, actor=user)

    return _record(request, case_id, LinkForm, run, _("The cases are linked."))


def _form_problem(form: forms.Form) -> str:
    """One readable line from a form's errors (the field's label and its first problem)."""
    for name, errors in form.errors.items():
        label = form.fields[name].label if name in form.fields else ""
        return f"{label}: {errors[0]}" if label else str(errors[0])
    return str(_("The form could not be read."))
