"""The election calendar, and whether a day falls in an election period.

The calendar is ``Election`` rows, kept by the head of security in the admin. An election's
period runs from ``months_before`` months before polling day to ``months_after`` months
after it, both days included (by default six and one, from ``VARN_ELECTION_MONTHS_BEFORE``
and ``VARN_ELECTION_MONTHS_AFTER``): the months when threats and pressure against elected
representatives rise and security is stepped up. A report falls in the period its day of
submission (Stockholm time) falls in.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from django.utils import timezone


@dataclass(frozen=True)
class ElectionPeriod:
    election_id: int
    kind: str
    polling_day: date
    starts: date
    ends: date

    def __contains__(self, day: object) -> bool:
        return isinstance(day, date) and self.starts <= day <= self.ends


def periods() -> list[ElectionPeriod]:
    """Every election with a date set, by polling day."""
    from influence_reports.models import Election

    return [
        ElectionPeriod(
            election_id=election.pk,
            kind=election.kind,
            polling_day=election.polling_day,
            starts=election.period_starts,
            ends=election.period_ends,
        )
        for election in Election.objects.exclude(polling_day=None).order_by("polling_day")
        if election.polling_day and election.period_starts and election.period_ends
    ]


def period_on(day: date, calendar: list[ElectionPeriod] | None = None) -> ElectionPeriod | None:
    """The election period ``day`` falls in, if any (the nearest polling day's, should two
    windows overlap)."""
    found = [p for p in (periods() if calendar is None else calendar) if day in p]
    return min(found, key=lambda p: abs((p.polling_day - day).days), default=None)


def period_at(
    moment: datetime, calendar: list[ElectionPeriod] | None = None
) -> ElectionPeriod | None:
    """The election period of a moment, by its day in Stockholm."""
    return period_on(timezone.localdate(moment), calendar)


def next_period_after(day: date) -> ElectionPeriod | None:
    return next((p for p in periods() if p.starts > day), None)


def previous_of(period: ElectionPeriod, calendar: list[ElectionPeriod]) -> ElectionPeriod | None:
    """The latest earlier election of the same kind (for "the same window last time")."""
    earlier = [p for p in calendar if p.kind == period.kind and p.polling_day < period.polling_day]
    return earlier[-1] if earlier else None
