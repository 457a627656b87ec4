"""Pages anyone may see: the start page and the health check."""

from __future__ import annotations

from django.contrib.auth.decorators import login_not_required
from django.db import connection
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET

from security_core.celery import broker_state
from security_core.decorators import second_factor_not_required


@require_GET
@login_not_required
@second_factor_not_required
def start(request: HttpRequest) -> HttpResponse:
    return render(request, "start.html")


def _database_state() -> str:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
    except Exception:  # noqa: BLE001 - any failure means "down"; the reason is not shown
        return "unavailable"
    return "ok"


@require_GET
@login_not_required
@second_factor_not_required
def healthz(request: HttpRequest) -> HttpResponse:
    """The state of the database and the broker: no secrets, no versions, no sign-in."""
    state = {"database": _database_state(), "broker": broker_state()}
    healthy = all(value in {"ok", "eager"} for value in state.values())
    return JsonResponse(
        {"status": "ok" if healthy else "unavailable", **state}, status=200 if healthy else 503
    )
