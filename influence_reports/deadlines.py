"""A case's deadlines, and how near each one is, in Stockholm's local time.

Calendar deadlines ("within 7 days", "within 3 months") count local calendar days and
months, so a report filed at 10:00 the week before the clocks change is due at 10:00 on
the wall clock a week later, not at 09:00 or 11:00. An acute report must be acknowledged
within one hour of real time, whatever the clock does meanwhile.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from enum import StrEnum
from zoneinfo import ZoneInfo

from dateutil.relativedelta import relativedelta
from django.utils import timezone

STOCKHOLM = ZoneInfo("Europe/Stockholm")
ACKNOWLEDGE_WITHIN = relativedelta(days=7)
ACKNOWLEDGE_ACUTE_WITHIN = timedelta(hours=1)
FEEDBACK_WITHIN = relativedelta(months=3)
DUE_SOON = timedelta(hours=24)


def _local_calendar_add(moment: datetime, delta: relativedelta) -> datetime:
    """``moment`` plus calendar days or months on Stockholm's wall clock, as an aware time.

    A wall-clock time that does not exist on the due day (02:30 on the last Sunday of
    March) moves forward by the gap; one that exists twice (02:30 on the last Sunday of
    October) is the first of the two.
    """
    local = moment.astimezone(STOCKHOLM).replace(tzinfo=None) + delta
    due = local.replace(tzinfo=STOCKHOLM, fold=0)
    # Round-tripping through UTC normalises a time in the spring gap to a real instant.
    return due.astimezone(UTC).astimezone(STOCKHOLM)


def acknowledge_by(*, submitted_at: datetime, is_acute: bool) -> datetime:
    if is_acute:
        # In UTC: Python adds to an aware time on its own zone's wall clock, which across a
        # clock change would make the hour two real hours, or none.
        return (submitted_at.astimezone(UTC) + ACKNOWLEDGE_ACUTE_WITHIN).astimezone(STOCKHOLM)
    return _local_calendar_add(submitted_at, ACKNOWLEDGE_WITHIN)


def feedback_by(*, acknowledged_at: datetime) -> datetime:
    return _local_calendar_add(acknowledged_at, FEEDBACK_WITHIN)


class DeadlineState(StrEnum):
    ON_TIME = "on_time"
    DUE_SOON = "due_soon"
    OVERDUE = "overdue"


def state(due: datetime, *, now: datetime | None = None) -> DeadlineState:
    now = now or timezone.now()
    if due <= now:
        return DeadlineState.OVERDUE
    if due - now <= DUE_SOON:
        return DeadlineState.DUE_SOON
    return DeadlineState.ON_TIME
