"""Working a case: opening it with its report, moving it through the workflow, assigning it
and recusing from it. Every write locks the case row and records who, when and why."""

from __future__ import annotations

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from influence_reports import deadlines
from influence_reports.models import Case, CaseEvent, ProtectiveMeasure, Recusal, Report
from security_core import permissions
from security_core.models import User

Status = Case.Status

# Forward one step at a time (measures may be skipped when none are needed); closing from
# any open state; reopening a closed case takes it back to assessing.
TRANSITIONS: dict[str, frozenset[str]] = {
    Status.RECEIVED: frozenset({Status.ACKNOWLEDGED, Status.CLOSED}),
    Status.ACKNOWLEDGED: frozenset({Status.ASSESSING, Status.CLOSED}),
    Status.ASSESSING: frozenset({Status.MEASURES, Status.FEEDBACK_GIVEN, Status.CLOSED}),
    Status.MEASURES: frozenset({Status.FEEDBACK_GIVEN, Status.CLOSED}),
    Status.FEEDBACK_GIVEN: frozenset({Status.CLOSED}),
    Status.CLOSED: frozenset({Status.ASSESSING}),
}


class CaseActionRefused(Exception):
    """The action cannot be taken; the message is fit to show the case worker."""


def case_open(*, report: Report) -> Case:
    """The case of a new report, in the caller's transaction (``report_submit``)."""
    due = deadlines.acknowledge_by(submitted_at=report.submitted_at, is_acute=report.is_acute)
    # Its history starts with the report's own time of arrival; no event row is needed.
    return Case.objects.create(report=report, acknowledge_by=due, due_at=due)


def _locked(case: Case) -> Case:
    # FOR NO KEY UPDATE: serialises the writers of a case without blocking the inserts that
    # merely refer to it (access entries, notes, audit entries).
    return Case.objects.select_for_update(no_key=True).get(pk=case.pk)


@transaction.atomic
def case_transition(
    *, case: Case, to: str, actor: User, reason: str = "", closed_reason: str = ""
) -> Case:
    """Move the case to ``to``, or refuse with a message saying why.

    The row is locked while the move is checked and made, so two case workers acting at
    once (two acknowledgements, a close racing a reopen) cannot both pass the check: the
    second sees the first's result and is refused if its move no longer applies.
    """
    locked = _locked(case)
    if not permissions.can_work_case(actor, locked):
        raise CaseActionRefused(_("You may not work this case."))
    if to not in TRANSITIONS.get(locked.status, frozenset()):
        raise CaseActionRefused(
            _("A case that is %(current)s cannot be moved to %(target)s.")
            % {
                "current": Status(locked.status).label.lower(),
                "target": Status(to).label.lower() if to in Status.values else to,
            }
        )
    reason = reason.strip()
    reopening = locked.status == Status.CLOSED
    if reopening and not permissions.can_reopen_cases(actor):
        raise CaseActionRefused(_("Only the head of security may reopen a case."))
    if reopening and not reason:
        raise CaseActionRefused(_("Say why the case is reopened."))
    if to == Status.CLOSED and closed_reason not in Case.ClosedReason.values:
        raise CaseActionRefused(_("Choose why the case is closed."))

    now = timezone.now()
    from_status = locked.status
    locked.status = to
    if to == Status.ACKNOWLEDGED or (reopening and locked.acknowledged_at is None):
        locked.acknowledged_at = now
    if to == Status.ACKNOWLEDGED:
        locked.feedback_by = deadlines.feedback_by(acknowledged_at=now)
        locked.due_at = locked.feedback_by
    elif to == Status.FEEDBACK_GIVEN:
        locked.feedback_given_at = now
        locked.due_at = None
    elif to == Status.CLOSED:
        locked.closed_at = now
        locked.closed_reason = closed_reason
        locked.due_at = None
    elif reopening:
        # Back to work: the reporter is owed feedback again, three months from now.
        locked.closed_at = None
        locked.closed_reason = ""
        locked.feedback_given_at = None
        locked.feedback_by = deadlines.feedback_by(acknowledged_at=now)
        locked.due_at = locked.feedback_by
    locked.save()
    event = CaseEvent(
        case=locked,
        kind=CaseEvent.Kind.TRANSITION,
        actor=actor,
        from_status=from_status,
        to_status=to,
        at=now,
    )
    event.reason = reason
    event.save()
    return locked


@transaction.atomic
def case_assign(*, case: Case, assignee: User | None, actor: User) -> Case:
    """Assign the case to ``assignee`` (or to nobody); the head of security assigns anyone,
    a case worker only themselves. The row lock keeps two assignments from interleaving."""
    locked = _locked(case)
    if not permissions.can_work_case(actor, locked):
        raise CaseActionRefused(_("You may not work this case."))
    self_assignment = assignee is not None and assignee.pk == actor.pk
    if not (permissions.can_assign_cases(actor) or self_assignment):
        raise CaseActionRefused(_("Only the head of security may assign a case to others."))
    if assignee is not None and not permissions.can_work_case(assignee, locked):
        raise CaseActionRefused(_("That person cannot work this case."))
    if locked.assignee_id == (assignee.pk if assignee else None):
        return locked
    locked.assignee = assignee
    locked.save(update_fields=["assignee", "updated_at"])
    CaseEvent.objects.create(
        case=locked,
        kind=CaseEvent.Kind.ASSIGNED if assignee else CaseEvent.Kind.UNASSIGNED,
        actor=actor,
        subject=assignee,
    )
    return locked


@transaction.atomic
def case_recuse(*, case: Case, user: User, actor: User, reason: str) -> Recusal:
    """Record that ``user`` stands aside from the case (a conflict of interest).

    A case worker recuses themselves; the head of security may record it for anyone. From
    the next query on, the case is not in that person's queue and not theirs to open.
    """
    locked = _locked(case)
    if not permissions.can_work_case(actor, locked):
        raise CaseActionRefused(_("You may not work this case."))
    if user.pk != actor.pk and not permissions.can_assign_cases(actor):
        raise CaseActionRefused(_("Only the head of security may recuse someone else."))
    if not permissions.can_be_recused(user):
        raise CaseActionRefused(_("The head of security sees every case and cannot recuse."))
    if not reason.strip():
        raise CaseActionRefused(_("Say what the conflict of interest is."))
    recusal, created = Recusal.objects.get_or_create(
        case=locked, user=user, defaults={"recorded_by": actor}
    )
    if not created:
        return recusal  # recorded already; nothing new to tell the history
    # Their open measures go back to nobody, to be taken by someone who may see the case.
    for measure in locked.measures.filter(owner=user, status=ProtectiveMeasure.Status.PLANNED):
        measure.owner = None
        measure.save(update_fields=["owner"])
    if locked.assignee_id == user.pk:
        locked.assignee = None
        locked.save(update_fields=["assignee", "updated_at"])
    event = CaseEvent(case=locked, kind=CaseEvent.Kind.RECUSED, actor=actor, subject=user)
    event.reason = reason.strip()
    event.save()
    return recusal
