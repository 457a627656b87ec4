"""Who is told what about a case, through the outbox (``security_core.outbox``).

Nobody is told anything a reporter wrote: messages carry the report's reference, the kind
of event and its urgency. The communications officer on call learns only that a case may
draw media interest, with its reference and urgency.
"""

from __future__ import annotations

from datetime import timedelta

from django.utils import timezone

from influence_reports import roster
from influence_reports.models import Case, RosterEntry
from security_core import outbox
from security_core.models import Notification, User
from security_core.roles import Role

Kind = Notification.Kind
EMAIL = Notification.Channel.EMAIL
PAGER = Notification.Channel.PAGER
ESCALATE_AFTER = timedelta(minutes=15)
# Older acute reports were escalated when they were fresh (or came in before Värn paged
# anyone, as on the first deploy); paging about them again would bury the new ones.
ESCALATE_WITHIN = timedelta(hours=24)


def _with_role(role: Role) -> list[User]:
    return list(User.objects.filter(is_active=True, role=role))


def report_filed(case: Case) -> None:
    """In the filing's transaction: handlers hear of every report; an acute one pages the
    duty officer on call at once and tells the head of security; media interest tells the
    communications officer on call."""
    report = case.report
    references = [report.reference]
    dedupe = str(case.pk)
    outbox.enqueue(
        kind=Kind.NEW_REPORT,
        recipients=_with_role(Role.HANDLER),
        channels=[EMAIL],
        references=references,
        urgent=report.is_acute,
        dedupe=dedupe,
    )
    if report.is_acute:
        outbox.enqueue(
            kind=Kind.ACUTE_REPORT,
            recipients=roster.on_call(RosterEntry.Duty.TIB, at=report.submitted_at),
            channels=[EMAIL, PAGER],
            references=references,
            urgent=True,
            dedupe=dedupe,
        )
        outbox.enqueue(
            kind=Kind.ACUTE_REPORT,
            recipients=_with_role(Role.SECURITY_LEAD),
            channels=[EMAIL],
            references=references,
            urgent=True,
            dedupe=dedupe,
        )
    if report.media_interest:
        outbox.enqueue(
            kind=Kind.MEDIA_INTEREST,
            recipients=roster.on_call(RosterEntry.Duty.KIB, at=report.submitted_at),
            channels=[EMAIL],
            references=references,
            urgent=report.is_acute,
            dedupe=dedupe,
        )


def escalate_unacknowledged_acute() -> int:
    """Page the head of security about every acute case not acknowledged 15 minutes after it
    came in (once per case); returns how many cases were escalated."""
    overdue = Case.objects.filter(
        status=Case.Status.RECEIVED,
        report__is_acute=True,
        report__withdrawn_at__isnull=True,
        report__submitted_at__lte=timezone.now() - ESCALATE_AFTER,
        report__submitted_at__gte=timezone.now() - ESCALATE_WITHIN,
    ).select_related("report")
    leads = _with_role(Role.SECURITY_LEAD)
    escalated = 0
    for case in overdue:
        if outbox.enqueue(
            kind=Kind.ACUTE_UNACKNOWLEDGED,
            recipients=leads,
            channels=[EMAIL, PAGER],
            references=[case.report.reference],
            urgent=True,
            dedupe=str(case.pk),
        ):
            escalated += 1
    return escalated


def remind_deadlines() -> int:
    """Once a day: each assignee, and the head of security, gets one message listing the open
    cases whose next deadline is overdue or due within 24 hours; returns how many people."""
    now = timezone.now()
    due = (
        Case.objects.exclude(status=Case.Status.CLOSED)
        .filter(due_at__lte=now + timedelta(hours=24), report__withdrawn_at__isnull=True)
        .select_related("report", "assignee")
        .order_by("due_at")
    )
    by_person: dict[User, list[str]] = {}
    leads = _with_role(Role.SECURITY_LEAD)
    for case in due:
        assignee = case.assignee if case.assignee and case.assignee.is_active else None
        for person in {*leads, *([assignee] if assignee else [])}:
            by_person.setdefault(person, []).append(case.report.reference)
    today = timezone.localdate().isoformat()
    for person, references in by_person.items():
        outbox.enqueue(
            kind=Kind.DEADLINES,
            recipients=[person],
            channels=[EMAIL],
            references=references,
            dedupe=today,
        )
    return len(by_person)
