"""Request and response hardening: headers, session lifetimes and the second-factor gate."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from auditlog.middleware import AuditlogMiddleware
from django.conf import settings
from django.contrib import messages
from django.contrib.auth import logout
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import resolve_url
from django.utils import timezone
from django.utils.cache import add_never_cache_headers
from django.utils.http import urlencode
from django.utils.translation import gettext as _

from security_core import permissions, selectors
from security_core.models import SecurityEvent, User
from security_core.otp import is_verified

Handler = Callable[[HttpRequest], HttpResponse]


class ResponseHardeningMiddleware:
    """Adds what Django's own settings do not: Permissions-Policy and ``no-store``.

    Every response that passes through here comes from a view (static files are answered
    earlier by WhiteNoise), so nothing that may show case data is ever kept in a cache.
    """

    def __init__(self, get_response: Handler) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        response.headers.setdefault("Permissions-Policy", settings.VARN_PERMISSIONS_POLICY)
        response.headers.setdefault("Cross-Origin-Resource-Policy", "same-origin")
        add_never_cache_headers(response)  # includes no-store
        return response


class SwedishFirstMiddleware:
    """The site speaks Swedish unless the visitor chose English with the language switch.

    Many Swedish officials use an English-language browser; the browser's Accept-Language
    is therefore not consulted, only the choice made on the site (its language cookie).
    Placed before Django's LocaleMiddleware.
    """

    def __init__(self, get_response: Handler) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        request.META.pop("HTTP_ACCEPT_LANGUAGE", None)
        return self.get_response(request)


class SessionTimeoutMiddleware:
    """Ends a signed-in session after its idle limit or its absolute limit, on the server.

    Staff sessions idle out after ``VARN_STAFF_IDLE_TIMEOUT`` (15 minutes), reporters after
    ``VARN_REPORTER_IDLE_TIMEOUT``; every session ends ``VARN_SESSION_ABSOLUTE_TIMEOUT``
    after the password step, however active. The last-seen time is written at most every
    30 seconds, so an active user does not cost a database write per request.
    """

    TOUCH_INTERVAL = 30

    def __init__(self, get_response: Handler) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        user = request.user
        if user.is_authenticated:
            now = int(timezone.now().timestamp())
            auth_at = int(request.session.get("varn_auth_at", 0))
            seen_at = int(request.session.get("varn_seen_at", 0))
            idle_limit = (
                settings.VARN_STAFF_IDLE_TIMEOUT
                if permissions.is_staff_role(user)
                else settings.VARN_REPORTER_IDLE_TIMEOUT
            )
            absolute_limit = settings.VARN_SESSION_ABSOLUTE_TIMEOUT
            if (
                now - seen_at > idle_limit.total_seconds()
                or now - auth_at > absolute_limit.total_seconds()
            ):
                return self._expire(request, idle=now - seen_at > idle_limit.total_seconds())
            if now - seen_at >= self.TOUCH_INTERVAL:
                request.session["varn_seen_at"] = now
        return self.get_response(request)

    def _expire(self, request: HttpRequest, *, idle: bool) -> HttpResponse:
        from security_core import services

        user = request.user
        services.security_event_record(
            kind=SecurityEvent.Kind.SESSION_EXPIRED,
            user=user if isinstance(user, User) else None,
            request=request,
            detail="idle" if idle else "absolute",
        )
        services.session_forget(request=request)
        logout(request)  # flushes the session on the server
        messages.info(
            request,
            _("You were signed out after a period of inactivity. Please sign in again.")
            if idle
            else _("Your session has reached its maximum length. Please sign in again."),
        )
        target = resolve_url(settings.LOGIN_URL)
        if request.method == "GET":
            target = f"{target}?{urlencode({'next': request.get_full_path()})}"
        return HttpResponseRedirect(target)


class SecondFactorRequiredMiddleware:
    """Sends a signed-in user who owes a second factor to verification or enrolment.

    Staff always owe one; a reporter owes one once they have enrolled a device. Only views
    marked ``second_factor_not_required`` (signing in, public pages) are reachable before.
    This covers every URL, the Django admin included, so no view can forget the check.
    """

    def __init__(self, get_response: Handler) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        return self.get_response(request)

    def process_view(
        self,
        request: HttpRequest,
        view_func: Callable[..., Any],
        view_args: tuple[Any, ...],
        view_kwargs: dict[str, Any],
    ) -> HttpResponse | None:
        user = request.user
        if not user.is_authenticated or is_verified(user):
            return None
        if getattr(view_func, "varn_second_factor_exempt", False):
            return None
        if not getattr(view_func, "login_required", True):
            return None  # a public page: nothing on it depends on who is signed in
        has_device = selectors.has_confirmed_device(user)
        if not permissions.requires_second_factor(user, has_device=has_device):
            return None
        target = resolve_url("otp_verify" if has_device else "otp_enrol")
        if request.method == "GET":
            target = f"{target}?{urlencode({'next': request.get_full_path()})}"
        return HttpResponseRedirect(target)


class AuditActorMiddleware(AuditlogMiddleware):  # type: ignore[misc]
    """django-auditlog's middleware, recording the actor and nothing the client chose.

    auditlog would also store the client-sent ``X-Forwarded-Port`` header; anonymous
    reporters must leave nothing of their connection behind, so it is dropped here (the
    address is dropped by ``AUDITLOG_DISABLE_REMOTE_ADDR``, the correlation-id header by
    ``AUDITLOG_CID_HEADER = None``).
    """

    # The anonymous intake records no actor, even when someone signed in uses it: the audit
    # log must not tie an anonymous report to an account.
    ANONYMOUS_PREFIX = "/anonymous/"

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if request.path_info.startswith(self.ANONYMOUS_PREFIX):
            response: HttpResponse = self.get_response(request)
            return response
        return super().__call__(request)  # type: ignore[no-any-return]

    @staticmethod
    def _get_remote_port(request: HttpRequest) -> None:
        return None
