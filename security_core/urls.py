"""URL configuration. Login is the default; public views opt out with ``login_not_required``."""

from __future__ import annotations

from django.contrib import admin
from django.contrib.auth.decorators import login_not_required
from django.urls import include, path
from django.views.i18n import set_language

from security_core.decorators import second_factor_not_required
from security_core.views import auth, home, public

urlpatterns = [
    path("", public.start, name="start"),
    path("healthz", public.healthz, name="healthz"),
    path("login/", auth.login, name="login"),
    path("login/verify/", auth.otp_verify, name="otp_verify"),
    path("logout/", auth.logout_view, name="logout"),
    path("home/", home.home, name="home"),
    path("account/security/", auth.account_security, name="account_security"),
    path("account/password/", auth.password_change, name="password_change"),
    path("account/two-factor/enrol/", auth.otp_enrol, name="otp_enrol"),
    path(
        "account/two-factor/backup-codes/",
        auth.backup_codes_regenerate,
        name="backup_codes_regenerate",
    ),
    path(
        "i18n/setlang/",
        second_factor_not_required(login_not_required(set_language)),
        name="set_language",
    ),
    path("admin/", admin.site.urls),
    path("", include("influence_reports.urls")),
]

handler400 = "security_core.views.errors.bad_request"
handler403 = "security_core.views.errors.permission_denied"
handler404 = "security_core.views.errors.page_not_found"
handler500 = "security_core.views.errors.server_error"
