"""Every page carries the hardening headers, and nothing on it escapes the CSP.

Proves, on public, signed-in and error pages: a Content-Security-Policy with a fresh nonce
per response and strict defaults; no inline script or style without that nonce and no
asset from another origin; nosniff, a referrer policy that tells no other site anything,
DENY framing, a restrictive Permissions-Policy, same-origin opener isolation; ``no-store``
on signed-in pages; and HttpOnly, SameSite session cookies after a real sign-in.
"""

from __future__ import annotations

import re
from html.parser import HTMLParser

import pytest
from django.conf import settings
from django.test import Client
from django.urls import reverse

from security_core.roles import Role

pytestmark = pytest.mark.django_db

PAGES = ["start", "login", "home", "not_found", "otp_enrol"]


class _Elements(HTMLParser):
    """Collects every start tag with its attributes."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[tuple[str, dict[str, str | None]]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.handle_starttag(tag, attrs)


def _elements(html: str) -> list[tuple[str, dict[str, str | None]]]:
    parser = _Elements()
    parser.feed(html)
    parser.close()
    return parser.tags


def _csp(response) -> dict[str, list[str]]:
    directives: dict[str, list[str]] = {}
    for part in response["Content-Security-Policy"].split(";"):
        words = part.split()
        if words:
            directives[words[0]] = words[1:]
    return directives


def _nonce(response) -> str:
    sources = [s for s in _csp(response)["script-src"] if s.startswith("'nonce-")]
    assert len(sources) == 1, sources
    return sources[0][len("'nonce-") : -1]


def _get(client: Client, page: str, make_user, signed_in):
    """Fetch ``page`` as the person who would see it; returns the response."""
    if page == "start":
        response = client.get(reverse("start"))
    elif page == "login":
        response = client.get(reverse("login"))
    elif page == "home":
        signed_in(client, make_user(Role.HANDLER), verified=True)
        response = client.get(reverse("home"))
    elif page == "otp_enrol":
        # A staff member between the two steps, enrolling: the page carries an inline SVG.
        signed_in(client, make_user(Role.HANDLER), verified=False)
        response = client.get(reverse("otp_enrol"))
    else:
        response = client.get("/no-such-page/at-all/")
        assert response.status_code == 404
        return response
    assert response.status_code == 200
    return response


@pytest.mark.parametrize("page", PAGES)
def test_content_security_policy_is_strict(client, page, make_user, signed_in):
    directives = _csp(_get(client, page, make_user, signed_in))

    assert directives["default-src"] == ["'self'"]
    assert directives["object-src"] == ["'none'"]
    assert directives["base-uri"] == ["'none'"]
    assert directives["frame-ancestors"] == ["'none'"]
    for name, sources in directives.items():
        assert "'unsafe-inline'" not in sources, name
        assert "'unsafe-eval'" not in sources, name
        assert "*" not in sources, name
        assert not any(s.startswith(("http:", "https:", "data:")) for s in sources), name


@pytest.mark.parametrize("page", PAGES)
def test_csp_nonce_is_fresh_for_every_response(page, make_user, signed_in):
    first = _nonce(_get(Client(), page, make_user, signed_in))
    second = _nonce(_get(Client(), page, make_user, signed_in))

    assert len(first) >= 16
    assert first != second


@pytest.mark.parametrize("page", PAGES)
def test_page_has_no_inline_script_or_style_without_the_nonce(client, page, make_user, signed_in):
    response = _get(client, page, make_user, signed_in)
    nonce = _nonce(response)
    html = response.content.decode()

    for tag, attrs in _elements(html):
        if tag in {"script", "style"}:
            assert attrs.get("nonce") == nonce, f"<{tag}> without this response's nonce"
        assert "style" not in attrs, f"style attribute on <{tag}>"
        handlers = [name for name in attrs if name.startswith("on")]
        assert not handlers, f"inline event handler {handlers} on <{tag}>"
        for name in ("href", "src", "action", "formaction"):
            assert not (attrs.get(name) or "").strip().lower().startswith("javascript:")
    assert not re.search(r"<script\b(?![^>]*\bnonce=\"" + re.escape(nonce) + '")', html)


@pytest.mark.parametrize("page", PAGES)
def test_page_loads_no_asset_from_another_origin(client, page, make_user, signed_in):
    html = _get(client, page, make_user, signed_in).content.decode()

    for tag, attrs in _elements(html):
        for name in ("src", "href", "action", "srcset", "poster", "data", "xlink:href"):
            value = (attrs.get(name) or "").strip().lower()
            assert not value.startswith(("http://", "https://", "//")), f"<{tag} {name}={value}>"
    assert "@import" not in html
    assert not re.search(r"url\(\s*['\"]?(https?:)?//", html)


@pytest.mark.parametrize("page", PAGES)
def test_hardening_headers_are_on_every_page(client, page, make_user, signed_in):
    response = _get(client, page, make_user, signed_in)

    assert response["X-Content-Type-Options"] == "nosniff"
    # Either way no other site learns which page (and so which case) a link came from.
    # "same-origin" rather than "no-referrer": under the latter Chromium sends
    # "Origin: null" with form posts, which Django's CSRF check refuses.
    assert response["Referrer-Policy"] in {"no-referrer", "same-origin"}
    assert response["X-Frame-Options"] == "DENY"
    assert response["Cross-Origin-Opener-Policy"] == "same-origin"
    policy = {
        item.strip().split("=")[0]: item.strip().split("=", 1)[1]
        for item in response["Permissions-Policy"].split(",")
    }
    for feature in ("camera", "geolocation", "microphone", "payment", "usb"):
        assert policy[feature] == "()", feature


@pytest.mark.parametrize("page", ["login", "home", "otp_enrol"])
def test_signed_in_and_sign_in_pages_are_never_cached(client, page, make_user, signed_in):
    response = _get(client, page, make_user, signed_in)

    directives = {part.strip() for part in response["Cache-Control"].split(",")}
    assert "no-store" in directives
    assert "public" not in directives


def test_health_check_is_not_cached(client):
    assert "no-store" in client.get(reverse("healthz"))["Cache-Control"]


def test_session_cookie_after_a_real_sign_in_is_http_only_and_same_site(client, handler, password):
    client.get(reverse("login"))

    response = client.post(reverse("login"), {"username": handler.email, "password": password})

    assert response.status_code == 302
    cookie = response.cookies[settings.SESSION_COOKIE_NAME]
    assert cookie.value
    assert cookie["httponly"] is True
    assert cookie["samesite"] == "Lax"
    assert cookie["path"] == "/"
    assert not cookie["domain"]


def test_csrf_cookie_is_http_only_and_same_site(client):
    response = client.get(reverse("login"))

    cookie = response.cookies[settings.CSRF_COOKIE_NAME]
    assert cookie["httponly"] is True
    assert cookie["samesite"] == "Lax"
    assert not cookie["domain"]
