"""The election calendar, and whether a day falls in an election period.

An election period runs from ``VARN_ELECTION_MONTHS_BEFORE`` months before polling day to
``VARN_ELECTION_MONTHS_AFTER`` months after it (by default six and one): the months when
threats and pressure against elected representatives rise and security is stepped up.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from dateutil.relativedelta import relativedelta
from django.conf import settings


@dataclass(frozen=True)
class ElectionPeriod:
    polling_day: date
    starts: date
    ends: date


def periods() -> list[ElectionPeriod]:
    before = relativedelta(months=settings.VARN_ELECTION_MONTHS_BEFORE)
    after = relativedelta(months=settings.VARN_ELECTION_MONTHS_AFTER)
    return [
        ElectionPeriod(polling_day=day, starts=day - before, ends=day + after)
        for day in sorted(settings.VARN_ELECTIONS)
    ]


def period_on(day: date) -> ElectionPeriod | None:
    """The election period ``day`` falls in, if any."""
    return next((p for p in periods() if p.starts <= day <= p.ends), None)


def next_period_after(day: date) -> ElectionPeriod | None:
    return next((p for p in periods() if p.starts > day), None)
