"""Signal receivers for events raised inside libraries we do not call ourselves."""

from __future__ import annotations

from typing import Any

from axes.signals import user_locked_out
from django.dispatch import receiver

from security_core.models import SecurityEvent, User


@receiver(user_locked_out)
def record_lockout(sender: Any, request: Any, username: str | None = None, **kwargs: Any) -> None:
    from security_core import services

    known = User.objects.filter(email=(username or "").lower()).first() if username else None
    services.security_event_record(kind=SecurityEvent.Kind.LOCKED_OUT, user=known, request=request)
