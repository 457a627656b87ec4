"""The Django admin, for system admins, auditors and the head of security (the election
calendar), behind a verified second factor."""

from __future__ import annotations

from collections.abc import Callable
from functools import update_wrapper
from typing import Any

from django.conf import settings
from django.contrib import admin
from django.contrib.auth.decorators import login_not_required
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import resolve_url
from django.utils.decorators import method_decorator
from django.utils.http import urlencode
from django.utils.translation import gettext_lazy as _

from security_core import permissions
from security_core.otp import is_verified


class VarnAdminSite(admin.AdminSite):
    site_header = _("Värn administration")
    site_title = _("Värn administration")
    index_title = _("Accounts, audit and the election calendar")

    def has_permission(self, request: HttpRequest) -> bool:
        user = request.user
        return bool(user.is_active and is_verified(user) and permissions.can_use_admin(user))

    def admin_view(  # type: ignore[override]
        self, view: Callable[..., Any], cacheable: bool = False
    ) -> Callable[..., Any]:
        """Signed-in people without an admin role get "not found", not a sign-in detour."""
        wrapped = super().admin_view(view, cacheable)

        def inner(request: HttpRequest, *args: Any, **kwargs: Any) -> Any:
            user = request.user
            if user.is_authenticated and not permissions.can_use_admin(user):
                raise Http404
            return wrapped(request, *args, **kwargs)

        return update_wrapper(inner, wrapped)

    @method_decorator(login_not_required)
    def login(self, request: HttpRequest, extra_context: object = None) -> HttpResponse:
        """The site's own two-step sign-in is the only way in; others see "not found"."""
        user = request.user
        if user.is_authenticated and not permissions.can_use_admin(user):
            raise Http404
        if user.is_authenticated and is_verified(user):
            return HttpResponseRedirect(resolve_url("admin:index"))
        target = resolve_url(settings.LOGIN_URL)
        next_url = request.GET.get("next", resolve_url("admin:index"))
        return HttpResponseRedirect(f"{target}?{urlencode({'next': next_url})}")

    def logout(  # type: ignore[override]
        self, request: HttpRequest, extra_context: object = None
    ) -> HttpResponse:
        """Signing out goes through the site's own view, which records it."""
        return HttpResponseRedirect(resolve_url("logout"))

    def password_change(  # type: ignore[override]
        self, request: HttpRequest, extra_context: object = None
    ) -> HttpResponse:
        """Changing one's password goes through the site's own, throttled and recorded view."""
        return HttpResponseRedirect(resolve_url("password_change"))
