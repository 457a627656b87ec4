"""Generic error pages: in the site's style and language, revealing nothing."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.template import loader
from django.template.exceptions import TemplateDoesNotExist


def _render(request: HttpRequest, template: str, status: int, **context: object) -> HttpResponse:
    body: str
    try:
        body = loader.render_to_string(template, context, request=request)
    except TemplateDoesNotExist:  # pragma: no cover - the templates ship with the code
        body = "Error"
    return HttpResponse(body, status=status, content_type="text/html; charset=utf-8")


def bad_request(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    return _render(request, "errors/400.html", 400)


def permission_denied(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    return _render(request, "errors/403.html", 403)


def page_not_found(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    return _render(request, "errors/404.html", 404)


def server_error(request: HttpRequest) -> HttpResponse:
    # Rendered without the request: whatever broke may be something the request needs.
    return HttpResponse(
        loader.render_to_string("errors/500.html"),
        status=500,
        content_type="text/html; charset=utf-8",
    )


def csrf_failure(request: HttpRequest, reason: str = "") -> HttpResponse:
    """A form that came back without a valid token, mostly after a session expired."""
    return _render(request, "errors/403_csrf.html", 403)
