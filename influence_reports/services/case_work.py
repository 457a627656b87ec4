"""The work recorded on a case: risk assessments, protective measures, police referrals,
internal notes and links between cases. Each takes the acting case worker, checks that
they may work the case, and writes in one transaction (auditlog records each row)."""

from __future__ import annotations

from datetime import date

from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from influence_reports.models import (
    Case,
    CaseLink,
    CaseNote,
    PoliceReferral,
    ProtectiveMeasure,
    RiskAssessment,
)
from influence_reports.risk import risk_level_for
from influence_reports.services.cases import CaseActionRefused
from security_core import permissions
from security_core.models import User


def _locked_for(case: Case, actor: User) -> Case:
    # Locking the case serialises the work recorded on it with its transitions, so that,
    # say, a risk level and a closing cannot interleave into a closed case marked acute.
    locked = Case.objects.select_for_update(no_key=True).get(pk=case.pk)
    if not permissions.can_work_case(actor, locked):
        raise CaseActionRefused(_("You may not work this case."))
    return locked


@transaction.atomic
def risk_assess(
    *,
    case: Case,
    actor: User,
    targeted: str,
    credibility: str,
    specificity: str,
    capacity: str,
    history: str,
    imminence: str,
    comment: str = "",
) -> RiskAssessment:
    """Record an assessment; its level becomes the case's current risk level."""
    locked = _locked_for(case, actor)
    level = risk_level_for(
        credibility=credibility,
        specificity=specificity,
        capacity=capacity,
        history=history,
        imminence=imminence,
    )
    assessment = RiskAssessment(
        case=locked,
        assessor=actor,
        targeted=targeted,
        credibility=credibility,
        specificity=specificity,
        capacity=capacity,
        history=history,
        imminence=imminence,
        level=level,
    )
    assessment.comment = comment.strip()
    assessment.save()
    locked.risk_level = level
    locked.save(update_fields=["risk_level", "updated_at"])
    return assessment


@transaction.atomic
def measure_add(
    *,
    case: Case,
    actor: User,
    kind: str,
    owner: User | None,
    due_date: date | None,
    details: str = "",
) -> ProtectiveMeasure:
    locked = _locked_for(case, actor)
    if owner is not None and not permissions.can_work_case(owner, locked):
        raise CaseActionRefused(_("That person cannot work this case."))
    measure = ProtectiveMeasure(
        case=locked,
        kind=kind,
        owner=owner or actor,
        due_date=due_date,
        created_by=actor,
        updated_by=actor,
    )
    measure.details = details.strip()
    measure.outcome = ""
    measure.save()
    return measure


@transaction.atomic
def measure_update(
    *, measure: ProtectiveMeasure, actor: User, status: str, outcome: str
) -> ProtectiveMeasure:
    """Mark a measure done or cancelled (or planned again), with its outcome."""
    _locked_for(measure.case, actor)
    locked = ProtectiveMeasure.objects.select_for_update().get(pk=measure.pk)
    if status == ProtectiveMeasure.Status.PLANNED:
        locked.completed_at = None
    elif status != locked.status or locked.completed_at is None:
        locked.completed_at = timezone.now()  # when it was done or cancelled, kept on edits
    locked.status = status
    locked.outcome = outcome.strip()
    locked.updated_by, locked.updated_at = actor, timezone.now()
    locked.save()
    return locked


@transaction.atomic
def referral_record(
    *,
    case: Case,
    actor: User,
    referred_on: date,
    police_reference: str,
    restricted_access_requested: bool,
    status: str = PoliceReferral.Status.REFERRED,
) -> PoliceReferral:
    locked = _locked_for(case, actor)
    referral = PoliceReferral(
        case=locked,
        referred_on=referred_on,
        restricted_access_requested=restricted_access_requested,
        status=status,
        recorded_by=actor,
        updated_by=actor,
    )
    referral.police_reference = police_reference.strip()
    referral.save()
    return referral


@transaction.atomic
def referral_update(
    *, referral: PoliceReferral, actor: User, status: str, police_reference: str
) -> PoliceReferral:
    _locked_for(referral.case, actor)
    locked = PoliceReferral.objects.select_for_update().get(pk=referral.pk)
    locked.status = status
    locked.police_reference = police_reference.strip()
    locked.updated_by, locked.updated_at = actor, timezone.now()
    locked.save()
    return locked


@transaction.atomic
def note_add(*, case: Case, actor: User, text: str) -> CaseNote:
    locked = _locked_for(case, actor)
    if not text.strip():
        raise CaseActionRefused(_("The note is empty."))
    note = CaseNote(case=locked, author=actor)
    note.text = text.strip()
    note.save()
    return note


@transaction.atomic
def case_link(*, case: Case, other: Case, actor: User) -> CaseLink:
    """Link two cases; the actor must be able to work both (no link reveals a case)."""
    if other.pk == case.pk:
        raise CaseActionRefused(_("A case cannot be linked to itself."))
    # Both cases locked, always in the same order, so two people linking the same pair
    # from either side wait for each other instead of deadlocking.
    first, second = sorted((case, other), key=lambda c: str(c.pk))
    locked = {
        row.pk: row
        for row in Case.objects.select_for_update(no_key=True)
        .filter(pk__in=[first.pk, second.pk])
        .order_by("pk")
    }
    if len(locked) != 2 or not all(
        permissions.can_work_case(actor, row) for row in locked.values()
    ):
        raise CaseActionRefused(_("No such case."))
    try:
        with transaction.atomic():
            return CaseLink.objects.create(from_case=first, to_case=second, created_by=actor)
    except IntegrityError:
        return CaseLink.objects.get(from_case=first, to_case=second)
