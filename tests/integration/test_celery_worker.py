"""A real celery worker consumes from the real Redis broker, and /healthz sees the broker.

Run by the `worker` stage of `make test` with CELERY_BROKER_URL and CELERY_RESULT_BACKEND
pointing at Redis; the worker is a separate process started here, as in production.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
from django.conf import settings

from security_core.celery import app, broker_state
from security_core.tasks import health_ping

pytestmark = pytest.mark.worker
ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def worker():
    if not settings.CELERY_BROKER_URL or settings.CELERY_TASK_ALWAYS_EAGER:
        pytest.fail("The worker stage needs CELERY_BROKER_URL (make test sets it).")
    env = {**os.environ, "VARN_ENV": "test", "DJANGO_SETTINGS_MODULE": "tests.settings"}
    app.control.purge()
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "celery",
            "-A",
            "security_core",
            "worker",
            "--loglevel=INFO",
            "--concurrency=1",
            "--without-gossip",
            "--without-mingle",
            "--hostname=varn-test@%h",
        ],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            output = process.stdout.read() if process.stdout else ""
            pytest.fail(f"The worker exited early:\n{output}")
        if app.control.ping(timeout=1.0):
            break
    else:
        process.terminate()
        pytest.fail("The worker did not answer a ping within 60 seconds.")
    yield process
    process.terminate()
    try:
        process.wait(timeout=20)
    except subprocess.TimeoutExpired:
        process.kill()


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
