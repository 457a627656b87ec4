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


@shared_task(
    name="security_core.deliver_notification",
    acks_late=True,
    reject_on_worker_lost=True,
    autoretry_for=(Exception,),
    retry_backoff=5,
    retry_backoff_max=600,
    retry_jitter=True,
    max_retries=8,
)
def deliver_notification(notification_id: str) -> bool:
    """Send one outbox row (its id is this task's id); safe to run twice."""
    from security_core import outbox

    return outbox.deliver(notification_id)


@shared_task(name="security_core.relay_notifications")
def relay_notifications() -> int:
    """Send outbox rows still pending (a broker outage, a crash after commit)."""
    from security_core import outbox

    return outbox.relay()
