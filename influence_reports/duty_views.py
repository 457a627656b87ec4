"""The duty officer's pages: the picture of the situation (lägesbild) and the on-call rota."""

from __future__ import annotations

from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from influence_reports import deadlines, situation
from influence_reports.forms import RosterEntryForm
from influence_reports.models import RosterEntry
from influence_reports.services import roster as roster_services
from influence_reports.services.cases import CaseActionRefused
from security_core import permissions
from security_core.models import User
from security_core.requests import signed_in_user
from security_core.roles import Role


def _on_duty(request: HttpRequest) -> User:
    user = signed_in_user(request)
    if not permissions.can_receive_escalations(user):
        raise Http404
    return user


def _rota_people() -> object:
    return User.objects.filter(
        is_active=True,
        role__in=[Role.DUTY_OFFICER, Role.SECURITY_LEAD, Role.COMMUNICATIONS],
    ).order_by("display_name", "email")


@require_GET
def situation_page(request: HttpRequest) -> HttpResponse:
    """What to act on now and what came in lately: a briefing in two minutes."""
    user = _on_duty(request)
    picture = situation.situation_for(user)
    return render(
        request,
        "duty/situation.html",
        {
            "picture": picture,
            "overdue": [
                (case, deadlines.state(case.due_at, now=picture.now))
                for case in picture.overdue
                if case.due_at
            ],
        },
    )


@require_GET
def roster_page(request: HttpRequest) -> HttpResponse:
    user = _on_duty(request)
    return render(
        request,
        "duty/roster.html",
        {
            "entries": RosterEntry.objects.select_related("user"),
            "can_edit": permissions.can_edit_roster(user),
            "form": RosterEntryForm(people=_rota_people()),
        },
    )


@require_POST
def roster_add(request: HttpRequest) -> HttpResponse:
    user = _on_duty(request)
    if not permissions.can_edit_roster(user):
        raise Http404
    form = RosterEntryForm(request.POST, people=_rota_people())
    if not form.is_valid():
        return render(
            request,
            "duty/roster.html",
            {
                "entries": RosterEntry.objects.select_related("user"),
                "can_edit": True,
                "form": form,
            },
            status=400,
        )
    try:
        roster_services.roster_entry_add(actor=user, **form.cleaned_data)
    except CaseActionRefused as refusal:
        messages.error(request, str(refusal))
    else:
        messages.success(request, _("The slot is added to the rota."))
    return redirect("roster")


@require_POST
def roster_remove(request: HttpRequest, entry_id: int) -> HttpResponse:
    user = _on_duty(request)
    if not permissions.can_edit_roster(user):
        raise Http404
    entry = RosterEntry.objects.filter(pk=entry_id).first()
    if entry is None:
        raise Http404
    roster_services.roster_entry_remove(actor=user, entry=entry)
    messages.success(request, _("The slot is removed from the rota."))
    return redirect("roster")
