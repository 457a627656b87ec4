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
# Anonymous reports filed within this time of an unacknowledged one are one wave.
WAVE = timedelta(minutes=15)
# Older acute reports were escalated when they were fresh (or came in before Värn paged
# anyone, as on the first deploy); paging about them again would bury the new ones.
ESCALATE_WITHIN = timedelta(hours=24)


def _with_role(role: Role) -> list[User]:
    return list(User.objects.filter(is_active=True, role=role))


def _anonymous_wave(case: Case, **alike: bool) -> Case:
    """The first case of the wave of anonymous reports this one belongs to: the oldest
    anonymous case (whose report is ``alike``, e.g. ``is_acute=True``) filed within ``WAVE``
    before this one that nobody has acknowledged yet, or this case.

    Notifications about a wave are keyed by its first case, so a flood of anonymous reports
    tells each person once until someone acts on it; the queue lists every case, and the
    next report after that acknowledgement starts a new wave.
    """
    report = case.report
    if report.reporter_id is not None:
        return case
    earlier = (
        Case.objects.filter(
            status=Case.Status.RECEIVED,
            report__reporter__isnull=True,
            report__withdrawn_at__isnull=True,
            report__submitted_at__gte=report.submitted_at - WAVE,
            report__submitted_at__lte=report.submitted_at,
        )
        .exclude(pk=case.pk)
        .select_related("report")
        .order_by("report__submitted_at", "pk")
    )
    earlier = earlier.filter(**{f"report__{name}": value for name, value in alike.items()})
    return earlier.first() or case


def report_filed(case: Case) -> None:
    """In the filing's transaction: handlers hear of every report; an acute one pages the
    duty officer on call at once and tells the head of security; media interest tells the
    communications officer on call. Anonymous reports in a wave are told of once."""
    report = case.report
    first = _anonymous_wave(case)
    outbox.enqueue(
        kind=Kind.NEW_REPORT,
        recipients=_with_role(Role.HANDLER),
        channels=[EMAIL],
        references=[first.report.reference],
        urgent=report.is_acute,
        dedupe=str(first.pk),
    )
    if report.is_acute:
        first = _anonymous_wave(case, is_acute=True)
        outbox.enqueue(
            kind=Kind.ACUTE_REPORT,
            recipients=roster.on_call(RosterEntry.Duty.TIB, at=report.submitted_at),
            channels=[EMAIL, PAGER],
            references=[first.report.reference],
            urgent=True,
            dedupe=str(first.pk),
        )
        outbox.enqueue(
            kind=Kind.ACUTE_REPORT,
            recipients=_with_role(Role.SECURITY_LEAD),
            channels=[EMAIL],
            references=[first.report.reference],
            urgent=True,
            dedupe=str(first.pk),
        )
    if report.media_interest:
        first = _anonymous_wave(case, media_interest=True)
        outbox.enqueue(
            kind=Kind.MEDIA_INTEREST,
            recipients=roster.on_call(RosterEntry.Duty.KIB, at=report.submitted_at),
            channels=[EMAIL],
            references=[first.report.reference],
            urgent=report.is_acute,
            dedupe=str(first.pk),
        )


def escalate_unacknowledged_acute() -> int:
    """Page the head of security about every acute case not acknowledged 15 minutes after it
    came in (once per case; anonymous ones once per wave); returns how many cases were
    escalated."""
    overdue = Case.objects.filter(
        status=Case.Status.RECEIVED,
        report__is_acute=True,
        report__withdrawn_at__isnull=True,
        report__submitted_at__lte=timezone.now() - ESCALATE_AFTER,
        report__submitted_at__gte=timezone.now() - ESCALATE_WITHIN,
    ).select_related("report")
    leads = _with_role(Role.SECURITY_LEAD)
    escalated = 0
    anonymous = []
    for case in overdue:
        if case.report.reporter_id is None:
            anonymous.append(case)
        elif outbox.enqueue(
            kind=Kind.ACUTE_UNACKNOWLEDGED,
            recipients=leads,
            channels=[EMAIL, PAGER],
            references=[case.report.reference],
            urgent=True,
            dedupe=str(case.pk),
        ):
            escalated += 1
    # Anonymous ones are escalated together, keyed by the oldest: a flood pages the head of
    # security once (naming every case), and again only when new ones are left waiting after
    # the oldest was acknowledged.
    anonymous.sort(key=lambda case: (case.report.submitted_at, case.pk))
    if anonymous and outbox.enqueue(
        kind=Kind.ACUTE_UNACKNOWLEDGED,
        recipients=leads,
        channels=[EMAIL, PAGER],
        references=[case.report.reference for case in anonymous],
        urgent=True,
        dedupe=str(anonymous[0].pk),
    ):
        escalated += len(anonymous)
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
