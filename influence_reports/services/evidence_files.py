"""Housekeeping of the encrypted evidence files on disk."""

from __future__ import annotations

import time
from datetime import timedelta

from influence_reports.evidence import media_root
from influence_reports.models import Attachment

ORPHAN_AGE = timedelta(hours=1)


def orphaned_files_delete(*, older_than: timedelta = ORPHAN_AGE) -> int:
    """Delete files no attachment row names, once they are old enough not to be in flight.

    An upload is encrypted to disk before its report is saved; if the request then fails
    (a refused form, a lost connection, an error), its file has no row. It cannot be read
    without its data key, which was never stored, but it should not linger.
    """
    folder = media_root() / "attachments"
    if not folder.is_dir():
        return 0
    cutoff = time.time() - older_than.total_seconds()
    candidates = {
        path.name: path
        for path in folder.glob("*.bin")
        if path.is_file() and path.stat().st_mtime < cutoff
    }
    if not candidates:
        return 0
    known = set(
        Attachment.objects.filter(storage_name__in=list(candidates)).values_list(
            "storage_name", flat=True
        )
    )
    removed = 0
    for name, path in candidates.items():
        if name not in known:
            path.unlink(missing_ok=True)
            removed += 1
    return removed
