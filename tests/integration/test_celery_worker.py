"""A real celery worker consumes from the real Redis broker, and /healthz sees the broker.

Run by the `worker` stage of `make test` with CELERY_BROKER_URL and CELERY_RESULT_BACKEND
pointing at Redis; the worker is a separate process, as in production (the `worker` fixture
of tests/integration/conftest.py).
"""

from __future__ import annotations

import pytest

from security_core.celery import app, broker_state
from security_core.tasks import health_ping

pytestmark = pytest.mark.worker


def test_health_ping_is_consumed_by_a_real_worker_through_redis(worker):
    result = health_ping.delay()
    assert result.get(timeout=30) == "pong"
    assert result.successful()


def test_task_messages_are_json_and_carry_no_arguments(worker):
    assert app.conf.task_serializer == "json"
    assert app.conf.accept_content == ["json"]
    assert app.conf.task_acks_late is True
    assert app.conf.task_reject_on_worker_lost is True


def test_healthz_reports_the_broker_as_ok(worker, client, db):
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json()["broker"] == "ok"


def test_healthz_reports_an_unreachable_broker_as_unavailable(client, db, monkeypatch):
    unreachable = "redis://127.0.0.1:1/0"
    assert broker_state(url=unreachable) == "unavailable"
    monkeypatch.setattr(
        "security_core.views.public.broker_state", lambda: broker_state(url=unreachable)
    )
    response = client.get("/healthz")
    assert response.status_code == 503
    assert response.json() == {"status": "unavailable", "database": "ok", "broker": "unavailable"}
