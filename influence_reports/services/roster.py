"""Keeping the weekly on-call rota (the head of security's task)."""

from __future__ import annotations

from datetime import time

from django.db import transaction
from django.utils.translation import gettext as _

from influence_reports.models import RosterEntry
from influence_reports.services.cases import CaseActionRefused
from security_core import permissions
from security_core.models import User


@transaction.atomic
def roster_entry_add(
    *, actor: User, duty: str, weekday: int, starts: time, ends: time, user: User
) -> RosterEntry:
    if not permissions.can_edit_roster(actor):
        raise CaseActionRefused(_("Only the head of security may change the rota."))
    if not permissions.can_take_duty(user, duty):
        raise CaseActionRefused(_("That person cannot take this duty."))
    if starts == ends:
        raise CaseActionRefused(_("A slot must start and end at different times."))
    return RosterEntry.objects.create(
        duty=duty, weekday=weekday, starts=starts, ends=ends, user=user
    )


@transaction.atomic
def roster_entry_remove(*, actor: User, entry: RosterEntry) -> None:
    if not permissions.can_edit_roster(actor):
        raise CaseActionRefused(_("Only the head of security may change the rota."))
    entry.delete()
