"""Who is told what about a case, through the outbox (``security_core.outbox``).

Nobody is told anything a reporter wrote: messages carry the report's reference, the kind
of event and its urgency. The communications officer on call learns only that a case may
draw media interest, with its reference and urgency.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from django.core.cache import cache
from django.utils import timezone

from influence_reports import roster
from influence_reports.models import Case, RosterEntry
from security_core import discretion, outbox
from security_core.models import Notification, User
from security_core.roles import Role

Kind = Notification.Kind
EMAIL = Notification.Channel.EMAIL
PAGER = Notification.Channel.PAGER
ESCALATE_AFTER = timedelta(minutes=15)
# Anonymous reports are told of at most once per period and kind; those that come
# meanwhile are told of together when it is over (see ``report_filed``).
QUIET: dict[str, timedelta] = {
    Kind.NEW_REPORT: timedelta(minutes=15),
    Kind.ACUTE_REPORT: timedelta(minutes=5),
    Kind.MEDIA_INTEREST: timedelta(minutes=15),
    Kind.ACUTE_UNACKNOWLEDGED: timedelta(minutes=15),
}
# Older acute reports were escalated when they were fresh (or came in before Värn paged
# anyone, as on the first deploy); paging about them again would bury the new ones.
ESCALATE_WITHIN = timedelta(hours=24)


def _with_role(role: Role) -> list[User]:
    return list(User.objects.filter(is_active=True, role=role))


def _tells(kind: str, at: datetime) -> list[tuple[list[User], list[str]]]:
    """Who hears of a report of this kind that came in ``at``, on which channels."""
    if kind == Kind.NEW_REPORT:
        return [(_with_role(Role.HANDLER), [EMAIL])]
    if kind == Kind.ACUTE_REPORT:
        return [
            (list(roster.on_call(RosterEntry.Duty.TIB, at=at)), [EMAIL, PAGER]),
            (_with_role(Role.SECURITY_LEAD), [EMAIL]),
        ]
    if kind == Kind.MEDIA_INTEREST:
        return [(list(roster.on_call(RosterEntry.Duty.KIB, at=at)), [EMAIL])]
    return [(_with_role(Role.SECURITY_LEAD), [EMAIL, PAGER])]  # ACUTE_UNACKNOWLEDGED


def _tell(kind: str, cases: list[Case], *, urgent: bool, at: datetime | None = None) -> bool:
    """Tell of ``cases`` (named by reference) in one notification per person and channel,
    keyed by the first case; who is on call is who is on call ``at`` (now); whether anyone
    was told."""
    told = False
    for recipients, channels in _tells(kind, at or timezone.now()):
        told |= bool(
            outbox.enqueue(
                kind=kind,
                recipients=recipients,
                channels=channels,
                references=[case.report.reference for case in cases],
                urgent=urgent,
                dedupe=str(cases[0].pk),
            )
        )
    return told


def _quiet_over(kind: str) -> bool:
    """Whether anonymous reports may be told of now: at most once per ``QUIET`` period and
    kind (a short-lived cache entry, like the rate limits; a lost cache tells sooner)."""
    return bool(cache.add(f"varn:quiet:{kind}", 1, timeout=int(QUIET[kind].total_seconds())))


def report_filed(case: Case) -> None:
    """In the filing's transaction: handlers hear of every report; an acute one pages the
    duty officer on call at once and tells the head of security; media interest tells the
    communications officer on call.

    Anonymous reports are told of at most once per quiet period and kind (``QUIET``): one
    that comes meanwhile is held, and the task that runs every minute tells of every held
    report together as soon as the period is over. A flood of anonymous reports thus pages
    the duty officer at most every five minutes, and every acute report is paged, by name,
    within about six. Signed-in reporters' reports are told of at once, one by one.
    """
    report = case.report
    kinds = [
        (Kind.NEW_REPORT, True),
        (Kind.ACUTE_REPORT, report.is_acute),
        (Kind.MEDIA_INTEREST, report.media_interest),
    ]
    for kind, applies in kinds:
        if not applies:
            continue
        if report.reporter_id is not None:
            _tell(kind, [case], urgent=report.is_acute, at=report.submitted_at)
        elif _quiet_over(kind):
            # A new period begins: name every report held so far with this one, so no report
            # can be kept waiting by others that each start a period first.
            held = [other for other in _held(kind) if other.pk != case.pk]
            _tell(kind, [*held, case], urgent=report.is_acute, at=report.submitted_at)


def _held(kind: str) -> list[Case]:
    """Anonymous cases of the last day not yet told of as ``kind`` (oldest first)."""
    now = timezone.now()
    cases = Case.objects.filter(
        report__reporter__isnull=True,
        report__withdrawn_at__isnull=True,
        report__submitted_at__gte=now - ESCALATE_WITHIN,
    )
    if kind == Kind.NEW_REPORT:
        cases = cases.filter(status=Case.Status.RECEIVED)
    elif kind == Kind.ACUTE_REPORT:
        cases = cases.filter(status=Case.Status.RECEIVED, report__is_acute=True)
    elif kind == Kind.MEDIA_INTEREST:
        cases = cases.filter(report__media_interest=True)
    else:  # ACUTE_UNACKNOWLEDGED
        cases = cases.filter(
            status=Case.Status.RECEIVED,
            report__is_acute=True,
            report__submitted_at__lte=now - ESCALATE_AFTER,
        )
    # Notifications of anonymous reports are dated to the day: look two days back.
    told = {
        reference
        for references in Notification.objects.filter(
            kind=kind, created_at__gte=discretion.day_of(now - timedelta(days=2))
        ).values_list("references", flat=True)
        for reference in references
    }
    return [
        case
        for case in cases.select_related("report").order_by("report__submitted_at", "pk")
        if case.report.reference not in told
    ]


def tell_of_held_anonymous_reports() -> int:
    """Every minute: tell, together, of the anonymous reports held during a quiet period,
    once it is over; returns how many reports were told of."""
    told = 0
    for kind in (Kind.ACUTE_REPORT, Kind.NEW_REPORT, Kind.MEDIA_INTEREST):
        held = _held(kind)
        if held and _quiet_over(kind):
            _tell(kind, held, urgent=kind == Kind.ACUTE_REPORT or held[0].report.is_acute)
            told += len(held)
    return told


def escalate_unacknowledged_acute() -> int:
    """Page the head of security about every acute case not acknowledged 15 minutes after it
    came in: once per case, or for anonymous ones, together, at most once per quiet period
    (each named once); returns how many cases were escalated."""
    overdue = Case.objects.filter(
        status=Case.Status.RECEIVED,
        report__is_acute=True,
        report__reporter__isnull=False,
        report__withdrawn_at__isnull=True,
        report__submitted_at__lte=timezone.now() - ESCALATE_AFTER,
        report__submitted_at__gte=timezone.now() - ESCALATE_WITHIN,
    ).select_related("report")
    escalated = sum(_tell(Kind.ACUTE_UNACKNOWLEDGED, [case], urgent=True) for case in overdue)
    anonymous = _held(Kind.ACUTE_UNACKNOWLEDGED)
    if (
        anonymous
        and _quiet_over(Kind.ACUTE_UNACKNOWLEDGED)
        and _tell(Kind.ACUTE_UNACKNOWLEDGED, anonymous, urgent=True)
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
