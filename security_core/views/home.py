"""The role-aware landing page each user sees after signing in."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET

from security_core import selectors
from security_core.models import TOTPDevice
from security_core.requests import signed_in_user
from security_core.roles import Role

_TEMPLATES = {
    Role.REPORTER: "landing/reporter.html",
    Role.HANDLER: "landing/case_worker.html",
    Role.DUTY_OFFICER: "landing/case_worker.html",
    Role.SECURITY_LEAD: "landing/case_worker.html",
    Role.LEADERSHIP: "landing/leadership.html",
    Role.COMMUNICATIONS: "landing/communications.html",
    Role.AUDITOR: "landing/auditor.html",
    Role.ADMIN: "landing/admin.html",
}


@require_GET
def home(request: HttpRequest) -> HttpResponse:
    user = signed_in_user(request)
    # Signed in with the app: no need to ask the database whether there is one.
    verified_with_app = isinstance(getattr(request.user, "otp_device", None), TOTPDevice)
    return render(
        request,
        _TEMPLATES[Role(user.role)],
        {"has_totp": verified_with_app or selectors.confirmed_totp_devices(user).exists()},
    )
