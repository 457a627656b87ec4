"""The duty officer's picture (lägesbild): what needs acting on now, and what came in."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.db.models import Count, Min, Q, QuerySet
from django.utils import timezone

from influence_reports import choices, elections, roster, selectors
from influence_reports.models import Case, ReportTag, RosterEntry
from security_core import discretion
from security_core.models import Notification, User

NOTIFICATION_GRACE = timedelta(minutes=5)


@dataclass(frozen=True)
class Situation:
    now: datetime
    acute_unacknowledged: list[Case]
    overdue: list[Case]
    by_category: list[tuple[str, int, int]]  # label, last 24 hours, last 7 days
    by_district: list[tuple[str, int, int]]
    received_24h: int
    received_7d: int
    election: elections.ElectionPeriod | None
    next_election: elections.ElectionPeriod | None
    tib: list[User]
    kib: list[User]
    waiting_notifications: int  # not sent 5 minutes after they were due: a channel is down
    oldest_waiting: datetime | None


def _counts(
    rows: QuerySet[ReportTag] | QuerySet[Case], field: str, since: datetime
) -> dict[str, int]:
    counted = rows.filter(report__submitted_at__gte=since).values(field).annotate(n=Count("pk"))
    return {row[field]: row["n"] for row in counted}


def situation_for(user: User) -> Situation:
    """Built from the cases ``user`` may work, so a recused officer's picture leaves theirs out."""
    now = timezone.now()
    cases = selectors.cases_visible_to(user).select_related("report", "assignee")
    open_cases = cases.exclude(status=Case.Status.CLOSED)
    day, week = now - timedelta(hours=24), now - timedelta(days=7)
    tags = ReportTag.objects.filter(
        kind=ReportTag.Kind.CATEGORY, report__case__in=cases.values("pk")
    )
    category_day = _counts(tags, "code", day)
    category_week = _counts(tags, "code", week)
    district_day = _counts(cases, "report__district", day)
    district_week = _counts(cases, "report__district", week)
    districts = dict(choices.districts())
    today = timezone.localdate()
    return Situation(
        now=now,
        acute_unacknowledged=list(
            open_cases.filter(
                status=Case.Status.RECEIVED,
                report__is_acute=True,
                report__withdrawn_at__isnull=True,
            ).order_by("report__submitted_at")
        ),
        overdue=list(open_cases.filter(due_at__lte=now).order_by("due_at")[:50]),
        by_category=[
            (str(label), category_day.get(code, 0), count)
            for code, label in choices.Category.choices
            if (count := category_week.get(code, 0))
        ],
        by_district=[
            (str(districts.get(code, code) or "—"), district_day.get(code, 0), count)
            for code, count in sorted(district_week.items(), key=lambda item: -item[1])
        ],
        received_24h=cases.filter(report__submitted_at__gte=day).count(),
        received_7d=cases.filter(report__submitted_at__gte=week).count(),
        election=elections.period_on(today),
        next_election=elections.next_period_after(today),
        tib=list(roster.on_call(RosterEntry.Duty.TIB, at=now)),
        kib=list(roster.on_call(RosterEntry.Duty.KIB, at=now)),
        **_waiting(now),
    )


def _waiting(now: datetime) -> dict[str, Any]:
    # A discreet row (an anonymous reporter's) is dated to the day: it waits if a try failed
    # or it is from an earlier day.
    stuck = (
        Notification.objects.filter(sent_at__isnull=True)
        .filter(
            Q(discreet=False, created_at__lte=now - NOTIFICATION_GRACE)
            | Q(discreet=True, attempts__gt=0)
            | Q(discreet=True, created_at__lt=discretion.day_of(now))
        )
        .aggregate(count=Count("pk"), oldest=Min("created_at"))
    )
    return {"waiting_notifications": stuck["count"], "oldest_waiting": stuck["oldest"]}
