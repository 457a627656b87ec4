"""What a notification says, and the channels that carry it (e-mail, SMS or pager).

Invariant: a message names the kind of event, report references and a link, never anything
a reporter wrote; the communications officer's message has no link at all (they may not
read the case). Messages are in Swedish first, English second.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import urllib.request
from typing import Protocol

from django.conf import settings
from django.core.mail import send_mail
from django.urls import reverse
from django.utils import translation
from django.utils.module_loading import import_string
from django.utils.translation import gettext as _

from security_core.models import Notification, RecordedPage

Kind = Notification.Kind


def _text_in(language: str, notification: Notification) -> tuple[str, str]:
    references = ", ".join(notification.references)
    count = len(notification.references)
    with translation.override(language):
        subjects = {
            Kind.NEW_REPORT: _("New report %(references)s"),
            Kind.ACUTE_REPORT: _("ACUTE report %(references)s: acknowledge within one hour"),
            Kind.ACUTE_UNACKNOWLEDGED: _("ACUTE report %(references)s is still not acknowledged"),
            Kind.DEADLINES: _("%(count)s cases with deadlines due or overdue"),
            Kind.MEDIA_INTEREST: _("Media interest expected in case %(references)s"),
            Kind.NEW_MESSAGE: _("A new message about your report %(references)s"),
            Kind.REPORTER_ANSWERED: _("The reporter wrote in case %(references)s"),
        }
        subject = subjects[Kind(notification.kind)] % {
            "references": references,
            "count": count,
        }
        if notification.kind == Kind.MEDIA_INTEREST:
            urgency = _("urgent") if notification.urgent else _("not urgent")
            body = _(
                "The case %(references)s may draw media interest (%(urgency)s). Contact the "
                "head of security for what may be said."
            ) % {"references": references, "urgency": urgency}
        elif notification.kind == Kind.NEW_MESSAGE:
            body = _(
                "The security staff have written to you about your report %(references)s. "
                "Sign in to read it: %(link)s"
            ) % {"references": references, "link": settings.VARN_SITE_URL + reverse("report_list")}
        elif notification.kind == Kind.REPORTER_ANSWERED:
            body = _("Open the case queue to read it: %(link)s") % {
                "link": settings.VARN_SITE_URL + reverse("case_queue") + "?status=all"
            }
        elif notification.kind == Kind.DEADLINES:
            body = _("Cases: %(references)s. Open the queue: %(link)s") % {
                "references": references,
                "link": settings.VARN_SITE_URL + reverse("case_queue") + "?deadline=overdue",
            }
        else:
            acute = notification.kind != Kind.NEW_REPORT or notification.urgent
            body = _("Open the case queue to act on it: %(link)s") % {
                "link": settings.VARN_SITE_URL
                + reverse("case_queue")
                + ("?acute=on" if acute else "?status=received&sort=newest"),
            }
    return subject, body


def render(notification: Notification) -> tuple[str, str]:
    """Subject and body, Swedish first then English."""
    subject_sv, body_sv = _text_in("sv", notification)
    subject_en, body_en = _text_in("en", notification)
    return f"{subject_sv} / {subject_en}", f"{body_sv}\n\n{body_en}\n"


def send_email(notification: Notification) -> None:
    subject, body = render(notification)
    send_mail(
        subject=f"[Värn] {subject}",
        message=body,
        from_email=None,
        recipient_list=[notification.recipient.email],
    )


class Pager(Protocol):
    def send(self, notification: Notification, text: str) -> None: ...


class RecordingPager:
    """Development and test: record what would be sent, in the same transaction as the
    outbox row is marked sent (so it is visible, and recorded once)."""

    def send(self, notification: Notification, text: str) -> None:
        RecordedPage.objects.create(
            notification=notification, recipient=notification.recipient.email, text=text
        )


class _NoRedirects(urllib.request.HTTPRedirectHandler):
    """A gateway that redirects is misconfigured: following it would turn the POST into a
    GET elsewhere, carrying the signature and idempotency headers to another host."""

    def redirect_request(self, *args: object, **kwargs: object) -> None:
        return None


_OPENER = urllib.request.build_opener(_NoRedirects)


class WebhookPager:
    """Production: POST the page as JSON to an SMS or paging gateway.

    The gateway maps the recipient's e-mail address to a number; ``Idempotency-Key`` is the
    outbox row id, so a gateway that honours it never pages twice for one row, and the body
    is signed with HMAC-SHA256 under ``VARN_PAGER_WEBHOOK_SECRET``.
    """

    def send(self, notification: Notification, text: str) -> None:
        url: str = settings.VARN_PAGER_WEBHOOK_URL
        allowed = ("https://",) if settings.VARN_ENV == "production" else ("https://", "http://")
        if not url.startswith(allowed):
            raise ValueError("VARN_PAGER_WEBHOOK_URL must be an https URL.")
        payload = json.dumps(
            {
                "id": str(notification.pk),
                "to": notification.recipient.email,
                "text": text,
                "urgent": notification.urgent,
            }
        ).encode()
        secret: str = settings.VARN_PAGER_WEBHOOK_SECRET
        signature = hmac.new(secret.encode(), payload, hashlib.sha256).hexdigest()
        request = urllib.request.Request(  # noqa: S310 - the scheme is checked above
            url,
            data=payload,
            method="POST",
            headers={
                "Content-Type": "application/json",
                "Idempotency-Key": str(notification.pk),
                "X-Varn-Signature": f"sha256={signature}",
            },
        )
        # A 3xx is not followed (urllib then raises HTTPError): only a 2xx marks it sent.
        # The scheme was checked above (bandit B310).
        with _OPENER.open(request, timeout=10) as response:  # nosec B310
            if not 200 <= response.status < 300:
                raise OSError(f"pager gateway answered {response.status}")


def pager() -> Pager:
    backend: Pager = import_string(settings.VARN_PAGER_BACKEND)()
    return backend


def send_page(notification: Notification) -> None:
    subject, _body = render(notification)
    pager().send(notification, subject)


def send(notification: Notification) -> None:
    if notification.channel == Notification.Channel.PAGER:
        send_page(notification)
    else:
        send_email(notification)
