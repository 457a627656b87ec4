"""Generate synthetic report history for the trends (development and tests only), then
rebuild the trend cells and publish the figures.

Writes ``--years`` of reports up to ``--until``, and also the period of the previous
election that the trends page compares the latest election period with (on 2026-11-25:
the 2022 general elections' period, 2022-03-11 to 2022-10-11), so that "the same window
before the previous election" has figures too. See ``influence_reports.synthetic`` for what
is drawn and why no audit entries are written. Running it twice adds the history twice.
"""

from __future__ import annotations

import time
from datetime import date
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils import timezone

from influence_reports import release, synthetic, trends


def _day(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise CommandError(f"Not a date (YYYY-MM-DD): {text}") from None


class Command(BaseCommand):
    help = (
        "Generate synthetic reports (development and tests only): --years up to --until, and "
        "the previous election's period that the trends page compares with; then rebuild the "
        "trend cells and publish the figures."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--years", type=int, default=2, help="Years of history (2).")
        parser.add_argument(
            "--per-week",
            type=float,
            default=synthetic.DEFAULT_PER_WEEK,
            help=(
                "Reports in an ordinary week, before election periods and seasons "
                f"({synthetic.DEFAULT_PER_WEEK:g}, about a city of Stockholm's size)."
            ),
        )
        parser.add_argument("--seed", type=int, default=1, help="The random seed (1).")
        parser.add_argument(
            "--until", type=_day, default=None, help="The last day of history (today)."
        )

    def handle(self, *args: Any, **options: Any) -> None:
        if settings.VARN_ENV == "production":
            raise CommandError("Synthetic history is never generated in production.")
        if options["years"] < 0 or options["per_week"] <= 0:
            raise CommandError("--years must be 0 or more and --per-week more than 0.")
        until: date = options["until"] or timezone.localdate()
        windows = synthetic.history_windows(until=until, years=options["years"])
        started = time.perf_counter()
        made = synthetic.generate_trend_history(
            until=until,
            years=options["years"],
            per_week=options["per_week"],
            seed=options["seed"],
        )
        generated = time.perf_counter() - started
        cells = trends.trends_rebuild()
        published = release.release_publish()
        spans = ", ".join(f"{start} to {end}" for start, end in windows)
        self.stdout.write(
            f"{made} synthetic reports ({spans}) in {generated:.1f} s; {cells} trend cells "
            f"rebuilt; figures published up to the week of {published.last_week or '-'}."
        )
