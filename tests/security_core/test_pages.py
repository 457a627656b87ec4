"""Public pages, the health check, error pages and the language switch, as a visitor meets them.

Proves: the start page is public and tells a person in danger to call 112; ``/healthz``
answers without sign-in and without secrets; 404, 500 and CSRF failures show generic pages
in the site's layout that reveal nothing; the second step is out of reach before the first;
Swedish is the default and English can be chosen.
"""

from __future__ import annotations

import base64
import json
import re

import pytest
from django.conf import settings
from django.contrib.auth.decorators import login_not_required
from django.http import HttpRequest, HttpResponse
from django.test import Client, RequestFactory
from django.urls import path, reverse
from django.utils import translation

from security_core.urls import urlpatterns as site_urlpatterns
from security_core.views.errors import server_error

pytestmark = pytest.mark.django_db

# What must never appear on a page shown to a visitor after something went wrong.
REVEALING = (
    "Traceback",
    "SECRET_KEY",
    "VARN_KEYRING",
    "VARN_AUDIT_KEY",
    "VARN_BLIND_INDEX_KEY",
    "VARN_RECEIPT_KEY",
    "DATABASE",
    "DEBUG",
    "urlpatterns",
    "URLconf",
    "security_core.urls",
    "site-packages",
    "Django",
)


class _BoomError(RuntimeError):
    pass


@login_not_required
def _boom(request: HttpRequest) -> HttpResponse:
    raise _BoomError("database password is hunter2 and the case is about Storgatan 7")


# A URL configuration for one test: the site's own, plus a view that fails.
urlpatterns = [*site_urlpatterns, path("boom/", _boom)]
handler500 = "security_core.views.errors.server_error"


@pytest.fixture
def english(client):
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    return client


def _assert_site_layout(html: str) -> None:
    assert 'id="main"' in html
    assert 'class="site-header"' in html
    assert 'class="site-footer"' in html
    assert "112" in html  # the emergency advice is on every page, error pages included


def _assert_reveals_nothing(html: str) -> None:
    for word in REVEALING:
        assert word not in html, word
    assert settings.SECRET_KEY not in html


def test_start_page_is_public_and_shows_the_emergency_advice(client):
    response = client.get(reverse("start"))

    assert response.status_code == 200
    html = response.content.decode()
    emergency = re.search(r'<div class="emergency"[^>]*>(.*?)</div>', html, re.S)
    assert emergency is not None
    assert "112" in emergency.group(1)
    assert f'href="{reverse("login")}"' in html


def test_start_page_in_english_tells_a_person_in_danger_to_call_112(english):
    html = english.get(reverse("start")).content.decode()

    assert "In danger right now?" in html
    assert '<a href="tel:112">112</a>' in html  # one tap to call on a phone


def test_health_check_answers_without_sign_in(client):
    response = client.get(reverse("healthz"))

    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/json")
    state = json.loads(response.content)
    assert set(state) == {"status", "database", "broker"}
    assert state["status"] == "ok"
    assert state["database"] == "ok"
    assert state["broker"] in {"ok", "eager"}


def test_health_check_reveals_no_secret(client):
    body = client.get(reverse("healthz")).content.decode()

    secrets = [settings.SECRET_KEY, *settings.VARN_KEYRING]
    for key in [
        *settings.VARN_KEYRING.values(),
        settings.VARN_AUDIT_KEY,
        settings.VARN_BLIND_INDEX_KEY,
        settings.VARN_RECEIPT_KEY,
    ]:
        secrets += [
            base64.urlsafe_b64encode(key).decode().rstrip("="),
            base64.b64encode(key).decode().rstrip("="),
            key.hex(),
        ]
    for secret in secrets:
        assert secret not in body
    assert "version" not in body.lower()


def test_unknown_address_gives_a_generic_404_in_the_site_layout(english):
    response = english.get("/admin-old/config.php")

    assert response.status_code == 404
    html = response.content.decode()
    _assert_site_layout(html)
    _assert_reveals_nothing(html)
    assert "Page not found" in html


def test_404_page_does_not_echo_markup_from_the_address(client):
    response = client.get('/"><script>alert(1)</script>')

    assert response.status_code == 404
    html = response.content.decode()
    assert "<script>alert(1)" not in html
    assert '"><script' not in html


def test_server_error_page_is_generic(rf: RequestFactory):
    request = rf.get("/anything/")

    with translation.override("en"):
        response = server_error(request)

    assert response.status_code == 500
    assert response["Content-Type"].startswith("text/html")
    html = response.content.decode()
    assert "Something went wrong" in html
    assert 'id="main"' in html
    _assert_reveals_nothing(html)


def test_unexpected_error_shows_the_generic_page_without_the_error(settings):
    settings.ROOT_URLCONF = __name__
    client = Client(raise_request_exception=False)
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"

    response = client.get("/boom/")

    assert response.status_code == 500
    html = response.content.decode()
    assert "Something went wrong" in html
    _assert_reveals_nothing(html)
    for leak in ("hunter2", "Storgatan", "_BoomError", "test_pages"):
        assert leak not in html
    assert "Content-Security-Policy" in response.headers


def test_form_sent_without_csrf_token_gets_the_friendly_expired_page(handler, password):
    client = Client(enforce_csrf_checks=True)
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"

    response = client.post(reverse("login"), {"username": handler.email, "password": password})

    assert response.status_code == 403
    html = response.content.decode()
    assert "The form has expired" in html
    assert "CSRF verification failed" not in html
    assert "CSRF" not in html
    _assert_site_layout(html)
    _assert_reveals_nothing(html)
    assert "_auth_user_id" not in client.session


def test_form_sent_with_a_forged_csrf_token_gets_the_friendly_expired_page(handler, password):
    client = Client(enforce_csrf_checks=True)
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    client.get(reverse("login"))

    response = client.post(
        reverse("login"),
        {"username": handler.email, "password": password, "csrfmiddlewaretoken": "x" * 64},
    )

    assert response.status_code == 403
    assert "The form has expired" in response.content.decode()


def test_second_step_is_out_of_reach_before_signing_in(client):
    response = client.get(reverse("otp_verify"))

    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login"))
    assert "next=" in response["Location"]


def test_swedish_is_the_default_language(client):
    html = client.get(reverse("start")).content.decode()

    assert '<html lang="sv">' in html


def test_visitor_can_switch_to_english_and_back(client):
    response = client.post(reverse("set_language"), {"language": "en", "next": "/"})

    assert response.status_code == 302
    cookie = response.cookies[settings.LANGUAGE_COOKIE_NAME]
    assert cookie.value == "en"
    assert cookie["samesite"] == "Lax"
    html = client.get(reverse("start")).content.decode()
    assert '<html lang="en">' in html
    assert "Report threats, harassment and improper influence" in html

    client.post(reverse("set_language"), {"language": "sv", "next": "/"})
    assert '<html lang="sv">' in client.get(reverse("start")).content.decode()


def test_language_switch_does_not_redirect_to_another_site(client):
    response = client.post(
        reverse("set_language"), {"language": "en", "next": "https://evil.example/phish"}
    )

    assert response.status_code == 302
    assert "evil.example" not in response["Location"]


def test_server_error_page_renders_even_when_static_files_are_not_collected(
    rf: RequestFactory, settings, tmp_path
):
    # A deployment that forgot collectstatic fails on every page; the 500 page must still
    # render rather than fail in turn and leave the visitor with the server's bare error.
    settings.STATIC_ROOT = tmp_path
    settings.STORAGES = {
        **settings.STORAGES,
        "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.ManifestStaticFilesStorage"},
    }

    response = server_error(rf.get("/"))

    assert response.status_code == 500
    assert 'id="main"' in response.content.decode()


@pytest.mark.parametrize(
    ("handler_name", "status", "heading"),
    [
        ("bad_request", 400, "The request could not be understood"),
        ("permission_denied", 403, "Not allowed"),
    ],
)
def test_400_and_403_pages_are_generic_and_in_the_site_layout(
    rf: RequestFactory, handler_name, status, heading
):
    from django.utils import translation

    from security_core.views import errors

    request = rf.get("/x")
    with translation.override("en"):
        response = getattr(errors, handler_name)(request, Exception("secret detail 42"))
    body = response.content.decode()
    assert response.status_code == status
    assert heading in body
    assert 'class="site-header"' in body
    assert "secret detail 42" not in body
    assert "Traceback" not in body
