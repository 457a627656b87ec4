"""Reads of reports, narrowed to what the given user may see (see security_core.permissions)."""

from __future__ import annotations

import uuid

from django.db.models import Prefetch, QuerySet
from django.http import Http404

from influence_reports.models import Attachment, Report, ReportTag
from security_core import permissions
from security_core.models import User


def reports_visible_to(user: User) -> QuerySet[Report]:
    """Every report ``user`` may open: their own as a reporter, all as case staff."""
    reports = Report.objects.select_related("data_key").prefetch_related(
        Prefetch("tags", queryset=ReportTag.objects.order_by("kind", "code"))
    )
    if permissions.can_work_cases(user):
        return reports
    if permissions.can_file_report(user):
        return reports.filter(reporter=user)
    return reports.none()


def own_reports(user: User) -> QuerySet[Report]:
    """A reporter's own reports, newest first, for "My reports" (no field is decrypted)."""
    if not permissions.can_file_report(user):
        return Report.objects.none()
    return reports_visible_to(user).filter(reporter=user).order_by("-submitted_at")


def visible_report(*, user: User, report_id: uuid.UUID | str) -> Report:
    """The report, or 404 when it does not exist *or* the user may not see it."""
    try:
        return reports_visible_to(user).get(pk=report_id)
    except (Report.DoesNotExist, ValueError, TypeError):
        raise Http404 from None


def visible_attachment(*, user: User, attachment_id: uuid.UUID | str) -> Attachment:
    """The attachment, or 404 unless its report is visible to the user."""
    try:
        attachment = Attachment.objects.select_related("data_key", "report").get(pk=attachment_id)
    except (Attachment.DoesNotExist, ValueError, TypeError):
        raise Http404 from None
    if not permissions.can_read_report(user, attachment.report):
        raise Http404
    return attachment
