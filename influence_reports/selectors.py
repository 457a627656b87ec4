"""Reads of reports, narrowed to what the given user may see (see security_core.permissions)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.db.models import Count, Exists, F, OuterRef, Prefetch, Q, QuerySet, Subquery
from django.db.models.functions import Coalesce
from django.http import Http404
from django.utils import timezone

from influence_reports import deadlines
from influence_reports.models import (
    ENCRYPTED_REPORT_FIELDS,
    Attachment,
    Case,
    CaseEvent,
    CaseLink,
    CaseNote,
    Message,
    PerpetratorIdentifier,
    PoliceReferral,
    ProtectiveMeasure,
    Report,
    ReportTag,
    RiskAssessment,
    ThreadRead,
)
from security_core import permissions
from security_core.models import User
from security_core.roles import Role


def cases_visible_to(user: User) -> QuerySet[Case]:
    """Every case ``user`` may work: none for non-staff, not those they are recused from.

    Recusal is read from the database on every call, so a recusal takes effect on the very
    next request."""
    if not permissions.can_work_cases(user):
        return Case.objects.none()
    cases = Case.objects.all()
    if permissions.can_be_recused(user):
        cases = cases.exclude(recusals__user=user)
    return cases


def reports_visible_to(user: User) -> QuerySet[Report]:
    """Every report ``user`` may open: their own as a reporter; as case staff, the reports of
    the cases they may work."""
    reports = Report.objects.select_related("data_key", "case").prefetch_related(
        Prefetch("tags", queryset=ReportTag.objects.order_by("kind", "code")),
    )
    if permissions.can_work_cases(user):
        return reports.filter(case__in=cases_visible_to(user)).prefetch_related("case__recusals")
    if permissions.can_file_report(user):
        return reports.filter(reporter=user)
    return reports.none()


def own_reports(user: User) -> QuerySet[Report]:
    """A reporter's own reports, newest first, for "My reports" (no field is decrypted)."""
    if not permissions.can_file_report(user):
        return Report.objects.none()
    return with_unread_for_reporter(
        reports_visible_to(user).filter(reporter=user).order_by("-submitted_at")
    )


def visible_report(*, user: User, report_id: uuid.UUID | str) -> Report:
    """The report, or 404 when it does not exist *or* the user may not see it."""
    try:
        return reports_visible_to(user).get(pk=report_id)
    except (Report.DoesNotExist, ValueError, TypeError):
        raise Http404 from None


def visible_attachment(*, user: User, attachment_id: uuid.UUID | str) -> Attachment:
    """The attachment, or 404 unless its report is visible to the user."""
    try:
        return Attachment.objects.select_related("data_key", "report").get(
            pk=attachment_id, report__in=reports_visible_to(user)
        )
    except (Attachment.DoesNotExist, ValueError, TypeError):
        raise Http404 from None


@dataclass(frozen=True)
class QueueFilters:
    """What the queue shows; every value is one the queue form offers."""

    status: str = "open"  # a Case.Status, "open" (not closed) or "all"
    category: str = ""
    acute: bool = False
    deadline: str = ""  # "", "overdue" or "due_soon"
    assignee: str = "anyone"  # "anyone", "mine" or "unassigned"
    district: str = ""
    sort: str = "deadline"  # "deadline", "oldest" or "newest"


def case_queue(*, user: User, filters: QueueFilters, now: datetime | None = None) -> QuerySet[Case]:
    """The cases ``user`` may work, filtered and sorted for the queue.

    Loads with each case its report's plain metadata, its categories and its assignee, so
    a page of the queue costs the same few queries however many cases there are. Nothing
    encrypted is loaded: the queue shows no free text.
    """
    now = now or timezone.now()
    cases = cases_visible_to(user).select_related("report", "assignee")
    if filters.status == "open":
        cases = cases.exclude(status=Case.Status.CLOSED)
    elif filters.status != "all":
        cases = cases.filter(status=filters.status)
    if filters.category:
        cases = cases.filter(
            Exists(
                ReportTag.objects.filter(
                    report=OuterRef("report"),
                    kind=ReportTag.Kind.CATEGORY,
                    code=filters.category,
                )
            )
        )
    if filters.acute:
        cases = cases.filter(report__is_acute=True)
    if filters.deadline == "overdue":
        cases = cases.filter(due_at__lte=now)
    elif filters.deadline == "due_soon":
        cases = cases.filter(due_at__gt=now, due_at__lte=now + deadlines.DUE_SOON)
    if filters.assignee == "mine":
        cases = cases.filter(assignee=user)
    elif filters.assignee == "unassigned":
        cases = cases.filter(assignee__isnull=True)
    if filters.district:
        cases = cases.filter(report__district=filters.district)
    orders: dict[str, list[Any]] = {
        "deadline": [F("due_at").asc(nulls_last=True), "report__submitted_at"],
        "oldest": ["report__submitted_at"],
        "newest": ["-report__submitted_at"],
    }
    order = orders[filters.sort]
    categories = Prefetch(
        "report__tags",
        # Ordered by report first, so the (report, kind, code) index serves it.
        queryset=ReportTag.objects.filter(kind=ReportTag.Kind.CATEGORY).order_by(
            "report_id", "code"
        ),
        to_attr="categories",
    )
    return with_unread_for_case_worker(
        cases.order_by(*order, "pk")
        .defer(*(f"report__{name}" for name in ENCRYPTED_REPORT_FIELDS))
        .prefetch_related(categories),
        user,
    )


def visible_case(*, user: User, case_id: uuid.UUID | str) -> Case:
    """The case with its report, or 404 when it does not exist or is not ``user``'s to see."""
    try:
        return (
            cases_visible_to(user)
            .select_related("report__data_key", "report__reporter", "assignee")
            .prefetch_related(
                "recusals",
                Prefetch("report__tags", queryset=ReportTag.objects.order_by("kind", "code")),
                Prefetch(
                    "events",
                    queryset=CaseEvent.objects.select_related("actor", "subject", "data_key"),
                ),
                Prefetch(
                    "risk_assessments",
                    queryset=RiskAssessment.objects.select_related("assessor", "data_key"),
                ),
                Prefetch(
                    "measures",
                    queryset=ProtectiveMeasure.objects.select_related("owner", "data_key"),
                ),
                Prefetch("referrals", queryset=PoliceReferral.objects.select_related("data_key")),
                Prefetch("notes", queryset=CaseNote.objects.select_related("author", "data_key")),
            )
            .get(pk=case_id)
        )
    except (Case.DoesNotExist, ValueError, TypeError):
        raise Http404 from None


def linked_cases(*, user: User, case: Case) -> list[Case]:
    """The cases linked to ``case`` that ``user`` may see (a link never reveals the others)."""
    linked = (
        CaseLink.objects.filter(from_case=case)
        .values("to_case")
        .union(CaseLink.objects.filter(to_case=case).values("from_case"))
    )
    return list(
        cases_visible_to(user)
        .filter(pk__in=[row["to_case"] for row in linked])
        .select_related("report")
        .order_by("report__submitted_at")
    )


def cases_naming_the_same_identifier(*, user: User, case: Case) -> list[Case]:
    """Other cases ``user`` may see whose reports name an identifier this case's report names
    (matched by blind index; cases the user may not see are neither counted nor shown)."""
    digests = PerpetratorIdentifier.objects.filter(case=case).values("digest")
    return list(
        cases_visible_to(user)
        .filter(identifiers__digest__in=digests)
        .exclude(pk=case.pk)
        .select_related("report")
        .distinct()
        .order_by("report__submitted_at")
    )


def visible_case_by_reference(*, user: User, reference: str) -> Case | None:
    return cases_visible_to(user).filter(report__reference=reference).first()


def case_workers() -> QuerySet[User]:
    """Everyone who works cases, for the head of security's assignment choices."""
    return User.objects.filter(
        is_active=True, role__in=[Role.HANDLER, Role.DUTY_OFFICER, Role.SECURITY_LEAD]
    ).order_by("display_name", "email")


def _unread(case_ref: Any, *, from_side: str, reader_side: str, user: User | None) -> Any:
    """A subquery: how many messages of ``from_side`` the reader has not read in the case."""
    # Evaluated per message row: OuterRef("case") is the message's own case.
    marker = ThreadRead.objects.filter(case=OuterRef("case"), side=reader_side, user=user).values(
        "read_at"
    )[:1]
    unread = (
        Message.objects.filter(case=case_ref, side=from_side)
        .filter(Q(sent_at__gt=Subquery(marker)) | ~Exists(marker))
        .order_by()
        .values("case")
        .annotate(count=Count("pk"))
        .values("count")
    )
    return Coalesce(Subquery(unread), 0)


def with_unread_for_case_worker(cases: QuerySet[Case], user: User) -> QuerySet[Case]:
    """Each case with ``unread``: the reporter's messages this case worker has not read."""
    return cases.annotate(
        unread=_unread(
            OuterRef("pk"),
            from_side=Message.Side.REPORTER,
            reader_side=Message.Side.CASE_WORKER,
            user=user,
        )
    )


def with_unread_for_reporter(reports: QuerySet[Report]) -> QuerySet[Report]:
    """Each report with ``unread``: the case workers' messages its reporter has not read."""
    return reports.annotate(
        unread=_unread(
            OuterRef("case"),
            from_side=Message.Side.CASE_WORKER,
            reader_side=Message.Side.REPORTER,
            user=None,
        )
    )


def thread(case: Case) -> QuerySet[Message]:
    return Message.objects.filter(case=case).select_related("author", "data_key")
