"""The case workers' pages: the queue, a case, and the actions taken on it."""

from __future__ import annotations

import uuid

from django.contrib import messages
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.debug import sensitive_post_parameters
from django.views.decorators.http import require_GET, require_POST

from influence_reports import deadlines, selectors
from influence_reports.forms import AssignForm, CaseQueueForm, RecuseForm, TransitionForm
from influence_reports.models import Case
from influence_reports.services import cases as case_services
from influence_reports.services import reading
from influence_reports.views import facts_of, readable_attachments
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
    user = _case_worker(request)
    case = reading.case_open_for_work(actor=user, case_id=case_id)
    report = case.report
    try:
        description = report.description
        facts = facts_of(report)
        events = [(event, event.reason) for event in case.events.all()]
    except DecryptionError:
        return render(request, "reports/unreadable.html", status=422)
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
            "attachments": readable_attachments(report),
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
        },
    )


def _refused_or_done(request: HttpRequest, case_id: uuid.UUID, done: str) -> HttpResponse:
    messages.success(request, done)
    return redirect("case_detail", case_id=case_id)


@sensitive_post_parameters("reason")
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


@sensitive_post_parameters("reason")
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


def _form_problem(form: TransitionForm | AssignForm | RecuseForm) -> str:
    """One readable line from a form's errors (the field's label and its first problem)."""
    for name, errors in form.errors.items():
        label = form.fields[name].label if name in form.fields else ""
        return f"{label}: {errors[0]}" if label else str(errors[0])
    return str(_("The form could not be read."))
