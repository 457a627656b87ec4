"""Who is on call: the duty officer (TiB) and the communications officer (KiB), now or at
any moment, from the weekly rota that the head of security keeps."""

from __future__ import annotations

from datetime import datetime, timedelta

from django.db.models import F, Q, QuerySet
from django.utils import timezone

from influence_reports.deadlines import STOCKHOLM
from influence_reports.models import RosterEntry
from security_core import permissions
from security_core.models import User
from security_core.roles import Role

# Whom to reach when the rota has a gap: everyone who holds the role.
_FALLBACK_ROLE = {
    RosterEntry.Duty.TIB: Role.DUTY_OFFICER,
    RosterEntry.Duty.KIB: Role.COMMUNICATIONS,
}


def on_call(duty: str, *, at: datetime | None = None) -> QuerySet[User]:
    """The active users on call for ``duty`` at ``at`` (now); with nobody on the rota then,
    everyone with the duty's role, so that a page always reaches someone."""
    local = (at or timezone.now()).astimezone(STOCKHOLM)
    moment, weekday = local.time(), local.weekday()
    yesterday = (local - timedelta(days=1)).weekday()
    same_day = Q(weekday=weekday) & (
        # a slot within the day, or the evening part of one running past midnight
        (Q(starts__lt=F("ends")) & Q(starts__lte=moment, ends__gt=moment))
        | (Q(starts__gte=F("ends")) & Q(starts__lte=moment))
    )
    overnight = Q(weekday=yesterday, starts__gte=F("ends"), ends__gt=moment)
    entries = RosterEntry.objects.filter(Q(duty=duty) & (same_day | overnight))
    # Today's role, not the one held when the slot was added: someone moved to another role
    # is no longer paged, and the fallback then reaches those who hold the duty's role.
    users = User.objects.filter(
        is_active=True, role__in=permissions.DUTY_ROLES[duty], roster_entries__in=entries
    ).distinct()
    if users.exists():
        return users
    return User.objects.filter(is_active=True, role=_FALLBACK_ROLE[RosterEntry.Duty(duty)])
