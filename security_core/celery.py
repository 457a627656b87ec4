"""The celery application; configured from Django settings under the ``CELERY_`` namespace."""

from __future__ import annotations

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "security_core.settings")

app = Celery("varn")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


def broker_state(url: str | None = None) -> str:
    """``eager`` without a broker (development), else whether the broker answers."""
    if app.conf.task_always_eager and url is None:
        return "eager"
    try:
        with app.connection_for_write(url=url) as conn:
            conn.ensure_connection(max_retries=1, interval_start=0, timeout=2)
    except Exception:  # noqa: BLE001 - any failure means "down"; the reason is not shown
        return "unavailable"
    return "ok"
