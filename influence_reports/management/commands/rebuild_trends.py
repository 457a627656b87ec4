"""Rebuild the trend cells from the reports, then publish the leadership's figures anew."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand

from influence_reports import release, trends


class Command(BaseCommand):
    help = "Count every report into the trend cells afresh and publish the figures again."

    def handle(self, *args: Any, **options: Any) -> None:
        cells = trends.trends_rebuild()
        published = release.release_publish()
        self.stdout.write(
            f"{cells} trend cells rebuilt; figures published up to the week of "
            f"{published.last_week or '-'}."
        )
