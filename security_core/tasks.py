"""Background tasks of the platform itself."""

from __future__ import annotations

from celery import shared_task


@shared_task(name="security_core.health_ping")
def health_ping() -> str:
    """Proves a worker consumes from the broker; takes and returns nothing sensitive."""
    return "pong"


@shared_task(name="security_core.clear_expired_sessions")
def clear_expired_sessions() -> int:
    """Delete expired sessions and the tracking rows of sessions that no longer exist."""
    from security_core import services

    return services.sessions_clear_expired()
