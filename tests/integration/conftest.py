"""Real celery workers for the `worker` stage: separate processes, as in production, that
consume from the real Redis broker and use pytest-django's test database.

The test database only exists once ``django_db_setup`` has made it, so a worker is started
after that, with ``DATABASE_URL`` naming it; tests that a worker must see rows of use
``django_db(transaction=True)`` so that the rows are committed.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest
from django.conf import settings
from django.db import connection

from security_core.celery import app

ROOT = Path(__file__).resolve().parents[2]
QUEUE: str = settings.CELERY_TASK_DEFAULT_QUEUE
STARTUP_SECONDS = 60

# The workers this test session has started and not yet stopped.
_running: list[Worker] = []


def worker_database_url() -> str:
    """The URL of the test database (call it after ``django_db_setup``)."""
    params = connection.settings_dict
    if params["ENGINE"] != "django.db.backends.postgresql":
        pytest.fail(
            "A worker is another process and needs a database it can share: the worker stage "
            "runs on PostgreSQL (make test sets DATABASE_URL)."
        )
    user = quote(params.get("USER") or "", safe="")
    password = quote(params.get("PASSWORD") or "", safe="")
    auth = f"{user}:{password}@" if password else f"{user}@" if user else ""
    host = params.get("HOST") or "127.0.0.1"
    port = params.get("PORT") or 5432
    return f"postgres://{auth}{host}:{port}/{quote(params['NAME'], safe='')}"


def wait_until(
    check: Callable[[], Any],
    *,
    timeout: float,
    what: str,
    detail: Callable[[], str] | None = None,
    every: float = 0.2,
) -> Any:
    """Poll ``check`` until it returns something true (returned) or fail after ``timeout``,
    with ``detail()`` (a worker's log, say) in the message."""
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value:
            return value
        if time.monotonic() > deadline:
            more = f"\n{detail()}" if detail else ""
            pytest.fail(f"Timed out after {timeout:.0f} s waiting for {what}.{more}")
        time.sleep(every)


@dataclass
class Worker:
    process: subprocess.Popen[bytes]
    hostname: str
    log_path: Path

    def log(self) -> str:
        return self.log_path.read_text(encoding="utf-8", errors="replace")

    def processed(self) -> dict[str, int]:
        """How many tasks of each name this worker has run (``celery inspect stats``)."""
        replies = app.control.inspect(destination=[self.hostname], timeout=5.0).stats() or {}
        assert self.hostname in replies, f"{self.hostname} did not answer:\n{self.log()}"
        totals: dict[str, int] = replies[self.hostname].get("total", {})
        return totals

    def stop(self, *, timeout: float = 20.0) -> None:
        """Warm shutdown; whatever of its process group is left after ``timeout`` is killed."""
        if self in _running:
            _running.remove(self)
        if self.process.poll() is None:
            self.process.terminate()
            with contextlib.suppress(subprocess.TimeoutExpired):
                self.process.wait(timeout=timeout)
        # The pool processes too, should the main process have left any behind.
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait(timeout=10)


def start_worker(*, name: str, log_dir: Path, env: dict[str, str] | None = None) -> Worker:
    """A prefork worker with one pool process, answering to a name of its own."""
    if not settings.CELERY_BROKER_URL or settings.CELERY_TASK_ALWAYS_EAGER:
        pytest.fail("The worker stage needs CELERY_BROKER_URL (make test sets it).")
    hostname = f"{name}-{uuid.uuid4().hex[:8]}@{socket.gethostname()}"
    environment = {
        key: value
        for key, value in os.environ.items()
        # The pager the test settings choose, unless a test chooses another.
        if key not in {"VARN_PAGER_BACKEND", "VARN_PAGER_WEBHOOK_URL"}
    }
    environment |= {
        "VARN_ENV": "test",
        "DJANGO_SETTINGS_MODULE": "tests.settings",
        "DATABASE_URL": worker_database_url(),
        "PYTHONUNBUFFERED": "1",
        "VARN_LOG_TASKS": "true",  # the tests count the worker's "received" lines
        **(env or {}),
    }
    log_path = log_dir / f"{hostname.partition('@')[0]}.log"
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "celery",
                "-A",
                "security_core",
                "worker",
                "--loglevel=INFO",
                "--pool=prefork",
                "--concurrency=1",
                "--without-gossip",
                "--without-mingle",
                f"--hostname={hostname}",
            ],
            cwd=ROOT,
            env=environment,
            stdin=subprocess.DEVNULL,
            stdout=log,  # a file, not a pipe nobody reads (a full pipe would stall it)
            stderr=subprocess.STDOUT,
            start_new_session=True,  # its own process group, so its pool goes with it
        )
    worker = Worker(process=process, hostname=hostname, log_path=log_path)
    _running.append(worker)
    deadline = time.monotonic() + STARTUP_SECONDS
    while time.monotonic() < deadline:
        if process.poll() is not None:
            worker.stop()
            pytest.fail(f"The worker exited early:\n{worker.log()}")
        # It answers once its event loop runs, which is after it consumes the task queue.
        if app.control.ping(destination=[hostname], timeout=1.0):
            return worker
    worker.stop()
    pytest.fail(f"The worker did not answer a ping within {STARTUP_SECONDS} s:\n{worker.log()}")


def running_workers() -> list[Worker]:
    return list(_running)


@pytest.fixture(scope="module")
def worker(django_db_setup: None, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Worker]:
    """One worker for a module's tests, started on an empty queue."""
    app.control.purge()
    started = start_worker(name="varn-test", log_dir=tmp_path_factory.mktemp("worker"))
    try:
        yield started
    finally:
        started.stop()
