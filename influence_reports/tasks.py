"""Background tasks of the reports domain."""

from __future__ import annotations

from celery import shared_task


@shared_task(name="influence_reports.delete_orphaned_evidence")
def delete_orphaned_evidence() -> int:
    """Delete encrypted files left by uploads whose report was never saved."""
    from influence_reports.services.evidence_files import orphaned_files_delete

    return orphaned_files_delete()


@shared_task(name="influence_reports.escalate_unacknowledged_acute")
def escalate_unacknowledged_acute() -> int:
    """Every minute: anonymous reports held during a quiet period are told of together, and
    acute cases not acknowledged within 15 minutes page the head of security."""
    from django.db import transaction

    from influence_reports import notifications

    with transaction.atomic():
        told = notifications.tell_of_held_anonymous_reports()
    with transaction.atomic():
        return notifications.escalate_unacknowledged_acute() + told


@shared_task(name="influence_reports.remind_deadlines")
def remind_deadlines() -> int:
    """Every morning: deadlines due within 24 hours or overdue, to assignees and the lead."""
    from django.db import transaction

    from influence_reports import notifications

    with transaction.atomic():
        return notifications.remind_deadlines()


@shared_task(name="influence_reports.rebuild_trends")
def rebuild_trends() -> int:
    """Count every report into the trend cells afresh (after the election calendar changes,
    nightly as a check), then publish the leadership's figures from them."""
    from influence_reports import release, trends

    cells = trends.trends_rebuild()
    release.release_publish()
    return cells
