"""Signal receivers for events raised inside libraries we do not call ourselves."""

from __future__ import annotations

from typing import Any

from axes.signals import user_locked_out
from django.db.models.signals import pre_save
from django.dispatch import receiver

from security_core import discretion
from security_core.models import SecurityEvent, User


@receiver(user_locked_out)
def record_lockout(sender: Any, request: Any, username: str | None = None, **kwargs: Any) -> None:
    from security_core import services

    known = User.objects.filter(email=(username or "").lower()).first() if username else None
    services.security_event_record(kind=SecurityEvent.Kind.LOCKED_OUT, user=known, request=request)


@receiver(pre_save)
def keep_times_to_the_day(sender: Any, instance: Any, **kwargs: Any) -> None:
    """While an anonymous reporter's request runs, rows outside their report are written
    with their times to the day only (see ``discretion``)."""
    if discretion.active():
        discretion.coarsen(instance)
