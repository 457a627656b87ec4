"""Background tasks of the reports domain."""

from __future__ import annotations

from celery import shared_task


@shared_task(name="influence_reports.delete_orphaned_evidence")
def delete_orphaned_evidence() -> int:
    """Delete encrypted files left by uploads whose report was never saved."""
    from influence_reports.services.evidence_files import orphaned_files_delete

    return orphaned_files_delete()
