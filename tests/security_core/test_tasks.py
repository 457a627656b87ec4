"""Periodic housekeeping: expired sessions and their tracking rows are removed."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.contrib.sessions.backends.db import SessionStore
from django.contrib.sessions.models import Session
from django.utils import timezone

from security_core.models import TrackedSession
from security_core.tasks import clear_expired_sessions, health_ping

pytestmark = pytest.mark.django_db


def test_expired_sessions_and_their_tracking_rows_are_removed(handler):
    live, expired = SessionStore(), SessionStore()
    live.create()
    expired.create()
    Session.objects.filter(session_key=expired.session_key).update(
        expire_date=timezone.now() - timedelta(minutes=1)
    )
    for store in (live, expired):
        assert store.session_key is not None
        TrackedSession.objects.create(session_key=store.session_key, user=handler)

    assert clear_expired_sessions.delay().get() == 1

    assert list(Session.objects.values_list("session_key", flat=True)) == [live.session_key]
    assert list(TrackedSession.objects.values_list("session_key", flat=True)) == [live.session_key]


def test_health_ping_runs_eagerly_without_a_broker(settings):
    assert settings.CELERY_TASK_ALWAYS_EAGER
    assert health_ping.delay().get() == "pong"


def test_beat_clears_sessions_every_hour(settings):
    entry = settings.CELERY_BEAT_SCHEDULE["clear-expired-sessions"]
    assert entry["task"] == clear_expired_sessions.name
    assert entry["schedule"] == timedelta(hours=1)
