"""Who is asking: the signed-in account of a request, as a typed value."""

from __future__ import annotations

from django.http import Http404, HttpRequest

from security_core.models import User


def signed_in_user(request: HttpRequest) -> User:
    """The request's account. ``LoginRequiredMiddleware`` sends everyone else to sign in
    before any view that calls this runs; should that ever fail, the answer is "not found",
    never a page built for an anonymous visitor."""
    user = request.user
    if not isinstance(user, User):
        raise Http404
    return user
