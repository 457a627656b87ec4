"""Changes to the election calendar."""

from __future__ import annotations

from django.db import transaction


def calendar_changed() -> None:
    """Which reports fell in an election period may have changed: count the trends afresh
    and publish them again, once the change is committed (in the background)."""
    from influence_reports.tasks import rebuild_trends

    transaction.on_commit(rebuild_trends.delay)
