"""Discreet times: what an anonymous reporter does is kept to the day outside their report.

The report itself, its case, its thread and its evidence keep their times: the handlers work
by them (the acute hour, deadlines, who wrote last). Everything else that their requests
write is kept to the day and no finer, so that nothing beside the report can be laid next
to a building's door log, a network's connection log or a phone's location to say who it
was: audit entries (their own time and any time in their changes), access entries, data
keys, outbox notifications (also when a worker sends them later), recorded pages, the
modification time of evidence files, and every log line.

Invariant: while ``active()`` (a request to the anonymous pages, see
``DiscreetTimesMiddleware``, or the sending of a notification such a request caused), every
row of ``COARSE_FIELDS`` is written with its times at the start of the day, Stockholm time,
and every log record carries that time too.
"""

from __future__ import annotations

import contextlib
import logging
import os
import re
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import datetime
from pathlib import Path
from typing import Any

from django.http import HttpRequest, HttpResponse
from django.utils import timezone

ANONYMOUS_PREFIX = "/anonymous/"

_active: ContextVar[bool] = ContextVar("varn_discreet_times", default=False)

# Rows written outside the report itself, and their times (``app_label.model``: fields).
COARSE_FIELDS: dict[str, tuple[str, ...]] = {
    "auditlog.logentry": ("timestamp",),
    "security_core.accessentry": ("created_at",),
    "security_core.datakey": ("created_at", "rewrapped_at"),
    # (Not ``retry_at``: a time to come, for the relay's backoff; it records nothing done.)
    "security_core.notification": ("created_at", "sent_at"),
    "security_core.recordedpage": ("recorded_at",),
}
# "2026-11-25 20:56:08.123+00:00", "2026-11-25T20:56": the date stays, the time goes.
_TIME_OF_DAY = re.compile(
    r"(\d{4}-\d{2}-\d{2})[T ]\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?(?:Z|[+-]\d{2}:?\d{2})?"
)


def active() -> bool:
    return _active.get()


@contextmanager
def discreet_times() -> Iterator[None]:
    token = _active.set(True)
    try:
        yield
    finally:
        _active.reset(token)


def day_of(moment: datetime) -> datetime:
    """The start of ``moment``'s day, Stockholm time (aware)."""
    return timezone.localtime(moment).replace(hour=0, minute=0, second=0, microsecond=0)


def scrub(value: Any) -> Any:
    """``value`` (text, or lists and dicts of it) with every time of day taken out."""
    if isinstance(value, str):
        return _TIME_OF_DAY.sub(r"\1", value)
    if isinstance(value, (list, tuple)):
        return [scrub(item) for item in value]
    if isinstance(value, dict):
        return {key: scrub(item) for key, item in value.items()}
    return value


def coarsen(instance: Any) -> None:
    """Take the time of day out of a row about to be written (see ``COARSE_FIELDS``)."""
    for field in COARSE_FIELDS.get(instance._meta.label_lower, ()):
        moment = getattr(instance, field)
        if moment is not None:
            setattr(instance, field, day_of(moment))
    if instance._meta.label_lower == "auditlog.logentry":
        instance.object_repr = scrub(instance.object_repr)
        instance.changes = scrub(instance.changes)
        instance.changes_text = scrub(instance.changes_text)
    if instance._meta.label_lower == "security_core.notification":
        instance.discreet = True


def touch_to_the_day(path: Path) -> None:
    """Set a file's access and modification times to the start of today (its change time
    the operating system keeps, and no program can set)."""
    start = day_of(timezone.now()).timestamp()
    with contextlib.suppress(FileNotFoundError):  # deleted meanwhile: nothing to date
        os.utime(path, (start, start))


class DiscreetTimesMiddleware:
    """Runs every request to the anonymous pages with discreet times. First in the stack,
    so that even a refusal (CSRF, a bad host) is logged to the day only."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if not request.path_info.startswith(ANONYMOUS_PREFIX):
            return self.get_response(request)
        with discreet_times():
            return self.get_response(request)


class DiscreetLogFilter(logging.Filter):
    """A log record written with discreet times carries the start of the day as its time."""

    def filter(self, record: logging.LogRecord) -> bool:
        if active():
            record.created = day_of(timezone.now()).timestamp()
            record.msecs = 0.0
            record.relativeCreated = 0.0
        return True


class NoAnonymousRequestLines(logging.Filter):
    """Drops the development server's request line for the anonymous pages (it is written
    after the request, with the time of day and the path)."""

    def filter(self, record: logging.LogRecord) -> bool:
        request = getattr(record, "request", None)
        path = getattr(request, "path", "") or ""
        if not path and record.args and isinstance(record.args, tuple):
            path = str(record.args[0])
        return ANONYMOUS_PREFIX not in path
