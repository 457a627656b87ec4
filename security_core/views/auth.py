"""Signing in (password, then a second factor), enrolment and signing out."""

from __future__ import annotations

from typing import Any

import segno
from django.conf import settings
from django.contrib import messages
from django.contrib.auth import authenticate, logout
from django.contrib.auth import login as auth_login
from django.contrib.auth.decorators import login_not_required
from django.contrib.auth.forms import PasswordChangeForm
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import redirect, render, resolve_url
from django.utils.http import url_has_allowed_host_and_scheme, urlencode
from django.utils.safestring import mark_safe
from django.utils.translation import gettext as _
from django.views.decorators.debug import sensitive_post_parameters
from django.views.decorators.http import require_http_methods, require_POST

from security_core import permissions, selectors, services
from security_core.decorators import second_factor_not_required
from security_core.models import SecurityEvent, User
from security_core.net import lockout_address
from security_core.otp import is_verified
from security_core.requests import signed_in_user


def _next_url(request: HttpRequest) -> str:
    candidate = request.POST.get("next") or request.GET.get("next") or ""
    if candidate and url_has_allowed_host_and_scheme(
        candidate, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return candidate
    return resolve_url(settings.LOGIN_REDIRECT_URL)


def _with_next(view_name: str, next_url: str) -> str:
    return f"{resolve_url(view_name)}?{urlencode({'next': next_url})}"


def _second_step(request: HttpRequest, user: User) -> HttpResponse:
    next_url = _next_url(request)
    has_device = selectors.has_confirmed_device(user)
    if not permissions.requires_second_factor(user, has_device=has_device):
        return HttpResponseRedirect(next_url)
    return HttpResponseRedirect(_with_next("otp_verify" if has_device else "otp_enrol", next_url))


def _render_login(
    request: HttpRequest, form: Any, status: int = 200, error: str = ""
) -> HttpResponse:
    return render(
        request,
        "accounts/login.html",
        {"form": form, "error": error, "next": _next_url(request)},
        status=status,
    )


@sensitive_post_parameters("password")
@require_http_methods(["GET", "POST"])
@login_not_required
@second_factor_not_required
def login(request: HttpRequest) -> HttpResponse:
    """The password step. Unknown user, wrong password and inactive account look the same."""
    from security_core.forms import LoginForm

    if request.user.is_authenticated:
        return _second_step(request, signed_in_user(request))
    form = LoginForm(request.POST if request.method == "POST" else None)
    if request.method != "POST" or not form.is_valid():
        return _render_login(request, form, status=400 if request.method == "POST" else 200)

    username = form.cleaned_data["username"]
    # No event per throttled try: the failures that caused the wait are recorded already,
    # and a flood of throttled tries must not become a flood of database writes.
    wait = selectors.login_wait_seconds(username=username, ip_address=lockout_address(request))
    if wait:
        error = _("Too many failed attempts. Wait %(seconds)d seconds and try again.") % {
            "seconds": wait
        }
        return _render_login(request, LoginForm(), status=429, error=error)

    user = authenticate(request, username=username, password=form.cleaned_data["password"])
    if getattr(request, "axes_locked_out", False):
        return locked_out(request)
    if not isinstance(user, User):
        known = User.objects.filter(email=username).first()
        services.security_event_record(
            kind=SecurityEvent.Kind.LOGIN_FAILED, user=known, request=request
        )
        error = _("The e-mail address or the password is wrong.")
        return _render_login(
            request, LoginForm(initial={"username": username}), status=400, error=error
        )

    auth_login(request, user)  # rotates the session key
    services.session_mark_authenticated(request=request)
    services.session_track(request=request, user=user)
    services.security_event_record(
        kind=SecurityEvent.Kind.LOGIN_SUCCEEDED, user=user, request=request
    )
    return _second_step(request, user)


def locked_out(
    request: HttpRequest, response: HttpResponse | None = None, credentials: Any = None
) -> HttpResponse:
    """django-axes calls this when a user-name-and-address pair is locked."""
    from security_core.forms import LoginForm

    minutes = int(settings.AXES_COOLOFF_TIME.total_seconds() // 60)
    error = _(
        "Too many failed attempts from this address. Try again in %(minutes)d minutes, "
        "or contact the security staff."
    ) % {"minutes": minutes}
    return _render_login(request, LoginForm(), status=429, error=error)


@require_http_methods(["GET", "POST"])
@second_factor_not_required
def otp_verify(request: HttpRequest) -> HttpResponse:
    """The second step: a code from the authenticator app, or a backup code."""
    from security_core.forms import OTPTokenForm

    user = signed_in_user(request)
    if is_verified(user):
        return HttpResponseRedirect(_next_url(request))
    if not selectors.has_confirmed_device(user):
        return HttpResponseRedirect(_with_next("otp_enrol", _next_url(request)))

    form = OTPTokenForm(request.POST if request.method == "POST" else None)
    status = 200
    if request.method == "POST":
        status = 400
        if form.is_valid():
            wait = services.otp_throttle_wait(
                request=request, user=user, token=form.cleaned_data["token"]
            )
            if wait:
                form.add_error(
                    "token",
                    _("Too many wrong codes. Wait %(seconds)d seconds and try again.")
                    % {"seconds": wait},
                )
                status = 429
            elif services.otp_verify(request=request, user=user, token=form.cleaned_data["token"]):
                return HttpResponseRedirect(_next_url(request))
            else:
                form.add_error("token", _("The code is wrong, already used or too old."))
    return render(
        request,
        "accounts/otp_verify.html",
        {"form": form, "next": _next_url(request)},
        status=status,
    )


def _qr_svg(uri: str) -> str:
    # segno writes a self-contained SVG with no script and no style attribute.
    svg: str = segno.make(uri, error="m").svg_inline(
        scale=5, dark="#000", light="#fff", omitsize=True, title=_("QR code for your app")
    )
    return svg


@require_http_methods(["GET", "POST"])
@second_factor_not_required
def otp_enrol(request: HttpRequest) -> HttpResponse:
    """Add an authenticator app: QR code and key, confirmed by a code before it counts.

    Someone who already has a device must pass it first, so a stolen password alone can
    never add a device.
    """
    from security_core.forms import TOTPConfirmForm

    user = signed_in_user(request)
    verified = is_verified(user)
    if selectors.has_confirmed_device(user) and not verified:
        return HttpResponseRedirect(_with_next("otp_verify", _next_url(request)))
    if selectors.confirmed_totp_devices(user).exists():
        messages.info(request, _("You already have an authenticator app."))
        return redirect("account_security")

    device = services.totp_device_begin(request=request, user=user)
    form = TOTPConfirmForm(request.POST if request.method == "POST" else None)
    status = 200
    if request.method == "POST":
        status = 400
        wait = services.totp_pending_wait(request=request, user=user)
        if wait and form.is_valid():
            form.add_error(
                "token",
                _("Too many wrong codes. Wait %(seconds)d seconds and try again.")
                % {"seconds": wait},
            )
            status = 429
        elif form.is_valid():
            token = "".join(form.cleaned_data["token"].split())
            confirmed = services.totp_device_confirm(user=user, token=token, request=request)
            if confirmed is not None:
                if not verified:
                    services.otp_verify_device_login(request=request, user=user, device=confirmed)
                if not selectors.unused_backup_codes(user).exists():
                    codes = services.backup_codes_issue(user=user, request=request)
                    return _render_codes(request, codes, first_time=True)
                messages.success(request, _("Your authenticator app is ready to use."))
                return HttpResponseRedirect(_next_url(request))
            form.add_error("token", _("The code is wrong or too old. Try the newest code."))

    secret = device.secret()
    uri = services.totp_provisioning_uri(device=device, secret=secret)
    key_text = services.totp_key_text(secret)
    # segno draws the SVG from our own otpauth URI; no user input reaches it.
    qr_svg = mark_safe(_qr_svg(uri))  # noqa: S308  # nosec B308 B703
    return render(
        request,
        "accounts/otp_enrol.html",
        {
            "form": form,
            "qr_svg": qr_svg,
            "key_text": key_text,
            "next": _next_url(request),
        },
        status=status,
    )


def _render_codes(request: HttpRequest, codes: list[str], *, first_time: bool) -> HttpResponse:
    return render(
        request,
        "accounts/backup_codes.html",
        {"codes": codes, "first_time": first_time, "next": _next_url(request)},
    )


@require_POST
def backup_codes_regenerate(request: HttpRequest) -> HttpResponse:
    """Issue a fresh set of backup codes; the old ones stop working at once."""
    user = signed_in_user(request)
    if not is_verified(user):
        return HttpResponseRedirect(_with_next("otp_verify", resolve_url("account_security")))
    codes = services.backup_codes_issue(user=user, request=request)
    return _render_codes(request, codes, first_time=False)


@require_http_methods(["GET"])
def account_security(request: HttpRequest) -> HttpResponse:
    user = signed_in_user(request)
    return render(
        request,
        "accounts/security.html",
        {
            "has_totp": selectors.confirmed_totp_devices(user).exists(),
            "unused_codes": selectors.unused_backup_codes(user).count(),
            "is_verified": is_verified(user),
        },
    )


@sensitive_post_parameters("old_password", "new_password1", "new_password2")
@require_http_methods(["GET", "POST"])
def password_change(request: HttpRequest) -> HttpResponse:
    """Change one's own password; other sessions of the account end."""
    user = signed_in_user(request)
    form = PasswordChangeForm(user, request.POST if request.method == "POST" else None)
    if request.method == "POST":
        wait = selectors.login_wait_seconds(
            username=user.email, ip_address=lockout_address(request)
        )
        if wait:
            error = _("Too many failed attempts. Wait %(seconds)d seconds and try again.") % {
                "seconds": wait
            }
            return render(
                request,
                "accounts/password_change.html",
                {"form": PasswordChangeForm(user), "error": error},
                status=429,
            )
        if not form.is_valid() and "old_password" in form.errors:
            services.password_check_failed(request=request, user=user)
    if request.method == "POST" and form.is_valid():
        services.user_password_change(
            user=user,
            new_password=form.cleaned_data["new_password1"],
            request=request,
            keep_current_session=True,
        )
        messages.success(request, _("Your password is changed. Other sessions were signed out."))
        return redirect("account_security")
    return render(
        request,
        "accounts/password_change.html",
        {"form": form},
        status=400 if request.method == "POST" else 200,
    )


@require_http_methods(["GET", "POST"])
@login_not_required
@second_factor_not_required
def logout_view(request: HttpRequest) -> HttpResponse:
    """GET asks, POST signs out and deletes the session on the server."""
    if request.method == "GET":
        if not request.user.is_authenticated:
            return redirect("start")
        return render(request, "accounts/logout.html")
    if request.user.is_authenticated:
        user = signed_in_user(request)
        services.security_event_record(
            kind=SecurityEvent.Kind.LOGGED_OUT, user=user, request=request
        )
        services.session_forget(request=request)
        logout(request)
    messages.success(request, _("You are signed out."))
    return redirect("start")
