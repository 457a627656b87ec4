"""Who sees what of a case's thread, over HTTP: internal records never reach the reporter,
a reporter sees only their own thread, an anonymous access token opens only its own report,
and a message is notified without its content, to the right people, once, and never to an
anonymous reporter.

Every search for a canary is paired with a page or a row that does hold it, so that a canary
that was never written cannot make a test pass.
"""

from __future__ import annotations

import re
import time
import uuid
import zlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import timedelta
from typing import Any, cast

import pytest
from django.conf import settings as django_settings
from django.core import mail, signing
from django.core.cache import cache
from django.db.models import QuerySet
from django.http import HttpResponse, StreamingHttpResponse
from django.http.response import HttpResponseBase
from django.test import Client
from django.urls import reverse
from pytest_django import DjangoCaptureOnCommitCallbacks, Settings

from influence_reports import evidence
from influence_reports.anonymous_views import ACCESS_NAMESPACE
from influence_reports.models import Attachment, Case, CaseNote, Message, Report
from influence_reports.services import messages
from influence_reports.services.anonymous import anonymous_report_submit
from influence_reports.services.cases import case_assign, case_recuse
from influence_reports.services.reports import ReportData, report_submit
from security_core import outbox
from security_core.models import Notification, User
from security_core.roles import STAFF_ROLES, Role
from tests.influence_reports.conftest import report_form

pytestmark = pytest.mark.django_db

MakeUser = Callable[..., User]
SignIn = Callable[..., list[str]]

EXPIRED = "For your safety the page closed after a while."
SIGN_OUT_FIRST = "Sign out first"
# Parts of a page that change with every response.
PER_RESPONSE = re.compile(r'(nonce|value)="[^"]*"')


@pytest.fixture(autouse=True)
def _mail_and_fresh_limits(settings: Settings) -> None:
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    cache.clear()  # the rate limits of the anonymous pages count in the cache


def _canary(what: str) -> str:
    return f"{what}-CANARY-{uuid.uuid4().hex}"


def _browser(user: User | None = None, signed_in: SignIn | None = None) -> Client:
    """A browser in English; signed in with a verified second factor when given a user."""
    client = Client(REMOTE_ADDR="192.0.2.10")
    client.cookies[django_settings.LANGUAGE_COOKIE_NAME] = "en"
    if user is not None:
        assert signed_in is not None
        signed_in(client, user, verified=True)
    return client


def _text(response: HttpResponseBase) -> str:
    assert isinstance(response, HttpResponse)
    return response.content.decode()


def _pdf(text: str) -> bytes:
    return f"%PDF-1.7\n{text}\n%%EOF\n".encode()


def _downloaded(response: HttpResponseBase) -> bytes:
    assert response.status_code == 200
    assert isinstance(response, StreamingHttpResponse)
    assert not response.is_async  # a WSGI download: its content is a plain iterator
    return b"".join(cast(Iterator[bytes], response.streaming_content))


def _data() -> ReportData:
    return ReportData(description="Hot per sms.", reporter_role="official", categories=["threat"])


def _signed_in_case(reporter: User) -> Case:
    return Case.objects.get(report=report_submit(reporter=reporter, data=_data()))


def _anonymous_case() -> tuple[Case, str]:
    report, code = anonymous_report_submit(data=_data())
    return Case.objects.get(report=report), code


def _token_in(page: str) -> str:
    found = re.search(r'name="token" value="([^"]+)"', page)
    assert found, "the page has no message form with an access token"
    return found.group(1)


def _open_anonymously(code: str) -> tuple[Client, str]:
    """An anonymous browser that opened its report with the code, and the page it got."""
    browser = _browser()
    response = browser.post(reverse("anonymous_return"), {"code": code, "passphrase": ""})
    assert response.status_code == 200
    return browser, _text(response)


def _sent_texts() -> list[str]:
    """Everything of every e-mail sent: subject, plain body, HTML and other alternatives,
    attachments, headers and the message as it goes on the wire."""
    texts = []
    for message in mail.outbox:
        texts += [message.subject, str(message.body), *message.to, *message.cc, *message.bcc]
        texts += [str(value) for value in message.extra_headers.values()]
        texts += [str(alternative[0]) for alternative in getattr(message, "alternatives", [])]
        texts += [str(attachment) for attachment in message.attachments]
        texts.append(message.message().as_string())
    return texts


def _notification_rows() -> str:
    return str(list(Notification.objects.values()))


def _about_messages() -> QuerySet[Notification]:
    return Notification.objects.filter(
        kind__in=[Notification.Kind.NEW_MESSAGE, Notification.Kind.REPORTER_ANSWERED]
    )


def _recipients() -> list[str]:
    return sorted(address for message in mail.outbox for address in message.to)


# --- 1. Internal records never reach the reporter ------------------------------------------


@dataclass(frozen=True)
class _Internal:
    """What a case worker records for the case workers only, each with its own canary."""

    note: str
    reason: str
    comment: str

    @classmethod
    def fresh(cls) -> _Internal:
        return cls(_canary("NOTE"), _canary("REASON"), _canary("RISK"))

    def canaries(self) -> tuple[str, str, str]:
        return (self.note, self.reason, self.comment)


def _work(worker: Client, case: Case, internal: _Internal, *, message: str) -> None:
    """A case worker's work on a case through the case page's forms: an internal note, a
    status change with a reason, a risk assessment with a comment, another status change
    and a message to the reporter."""
    posts: list[tuple[str, dict[str, str]]] = [
        ("case_note_add", {"text": internal.note}),
        ("case_transition", {"to": Case.Status.ACKNOWLEDGED, "reason": internal.reason}),
        (
            "case_assess",
            {
                "targeted": "reporter",
                "credibility": "high",
                "specificity": "specific",
                "capacity": "some",
                "history": "earlier",
                "imminence": "weeks",
                "comment": internal.comment,
            },
        ),
        ("case_transition", {"to": Case.Status.ASSESSING}),
        ("case_message", {"body": message}),
    ]
    for name, data in posts:
        assert worker.post(reverse(name, args=[case.pk]), data).status_code == 302, name
    # A refused form redirects too: check that everything was recorded.
    case.refresh_from_db()
    assert case.status == Case.Status.ASSESSING
    assert CaseNote.objects.get(case=case).text == internal.note
    assert Message.objects.get(case=case, side=Message.Side.CASE_WORKER).body == message


def _case_page(worker: Client, case: Case) -> str:
    response = worker.get(reverse("case_detail", args=[case.pk]))
    assert response.status_code == 200
    return _text(response)


def test_internal_records_never_reach_a_signed_in_reporter_page_or_e_mail(
    reporter: User,
    handler: User,
    signed_in: SignIn,
    django_capture_on_commit_callbacks: DjangoCaptureOnCommitCallbacks,
) -> None:
    case = _signed_in_case(reporter)
    internal, said = _Internal.fresh(), _canary("MESSAGE")
    worker = _browser(handler, signed_in)
    own = _browser(reporter, signed_in)
    with django_capture_on_commit_callbacks(execute=True):
        _work(worker, case, internal, message=said)
        reply = own.post(reverse("report_message", args=[case.report.pk]), {"body": "Tack."})
    assert reply.status_code == 302

    pages = {
        name: own.get(reverse(name, args=args))
        for name, args in (
            ("report_list", []),
            ("report_detail", [case.report.pk]),
            ("report_receipt", [case.report.pk]),
        )
    }
    assert {name: response.status_code for name, response in pages.items()} == dict.fromkeys(
        pages, 200
    )
    seen = {name: _text(response) for name, response in pages.items()}
    assert case.report.reference in seen["report_list"]
    assert case.report.reference in seen["report_receipt"]
    assert said in seen["report_detail"]  # the thread is on the page a leak would be on
    # Both sides were told of a message, so there are e-mails to search.
    assert _recipients() == sorted([reporter.email, handler.email])
    case_page = _case_page(worker, case)
    for canary in internal.canaries():
        assert canary in case_page
        assert [name for name, page in seen.items() if canary in page] == []
        assert [text for text in _sent_texts() if canary in text] == []
        assert canary not in _notification_rows()


def test_internal_records_never_reach_an_anonymous_reporter(
    handler: User,
    signed_in: SignIn,
    django_capture_on_commit_callbacks: DjangoCaptureOnCommitCallbacks,
) -> None:
    case, code = _anonymous_case()
    internal, said, answer = _Internal.fresh(), _canary("MESSAGE"), _canary("ANSWER")
    worker = _browser(handler, signed_in)
    with django_capture_on_commit_callbacks(execute=True):
        _work(worker, case, internal, message=said)
    browser, opened = _open_anonymously(code)
    with django_capture_on_commit_callbacks(execute=True):
        response = browser.post(
            reverse("anonymous_message"), {"token": _token_in(opened), "body": answer}
        )
    assert response.status_code == 200
    answered = _text(response)

    assert said in opened
    assert said in answered
    assert answer in answered
    assert _recipients() == [handler.email]  # the answer was notified: an e-mail to search
    case_page = _case_page(worker, case)
    for canary in internal.canaries():
        assert canary in case_page
        assert canary not in opened
        assert canary not in answered
        assert [text for text in _sent_texts() if canary in text] == []


# --- 2. A reporter sees only their own thread ----------------------------------------------


def test_a_reporter_sees_only_their_own_thread_and_is_told_only_of_it(
    make_user: MakeUser,
    handler: User,
    signed_in: SignIn,
    django_capture_on_commit_callbacks: DjangoCaptureOnCommitCallbacks,
) -> None:
    alice, bob = make_user(Role.REPORTER), make_user(Role.REPORTER)
    own, others = _signed_in_case(alice), _signed_in_case(bob)
    to_alice, to_bob, from_bob = _canary("TO-ALICE"), _canary("TO-BOB"), _canary("FROM-BOB")
    # Bob writes first, so that the staff's two answers to him stay unread (writing is
    # reading up to then).
    messages.message_send(case=others, author=bob, side=Message.Side.REPORTER, body=from_bob)
    worker = _browser(handler, signed_in)
    with django_capture_on_commit_callbacks(execute=True):
        for case, body in ((own, to_alice), (others, to_bob), (others, "Hör av dig.")):
            response = worker.post(reverse("case_message", args=[case.pk]), {"body": body})
            assert response.status_code == 302

    browser = _browser(alice, signed_in)
    listed = _text(browser.get(reverse("report_list")))
    detail = _text(browser.get(reverse("report_detail", args=[own.report.pk])))
    read = _text(browser.get(reverse("report_list")))
    assert own.report.reference in listed
    assert "1 new message" in listed  # her own unread message, none of Bob's two
    assert to_alice in detail
    assert "new message" not in read  # she has read hers; Bob's unread ones are not hers
    for page in (listed, detail, read):
        for theirs in (to_bob, from_bob, others.report.reference):
            assert theirs not in page
    # Each was e-mailed about their own report only: Alice once, Bob once per message.
    assert _recipients() == sorted([alice.email, bob.email, bob.email])
    assert "2 new messages" in _text(_browser(bob, signed_in).get(reverse("report_list")))
    (to_her,) = [message for message in mail.outbox if message.to == [alice.email]]
    assert own.report.reference in to_her.subject
    assert others.report.reference not in f"{to_her.subject}{to_her.body}"


@pytest.mark.parametrize(
    ("method", "name"),
    [
        ("get", "report_detail"),
        ("get", "report_receipt"),
        ("post", "report_message"),
        ("post", "report_withdraw"),
    ],
)
def test_another_reporters_report_is_a_404_like_no_report_and_nothing_changes(
    make_user: MakeUser,
    handler: User,
    signed_in: SignIn,
    method: str,
    name: str,
) -> None:
    alice, bob = make_user(Role.REPORTER), make_user(Role.REPORTER)
    _signed_in_case(alice)
    others = _signed_in_case(bob)
    to_bob = _canary("TO-BOB")
    messages.message_send(case=others, author=handler, side=Message.Side.CASE_WORKER, body=to_bob)
    messages_before = Message.objects.count()

    browser = _browser(alice, signed_in)
    answers = []
    for report_id in (others.report.pk, uuid.uuid4()):
        response = getattr(browser, method)(
            reverse(name, args=[report_id]), {"body": "Inkräktare"} if method == "post" else {}
        )
        assert response.status_code == 404
        page = _text(response)
        assert to_bob not in page
        assert others.report.reference not in page
        answers.append(PER_RESPONSE.sub("", page.replace(str(report_id), "<id>")))
    assert answers[0] == answers[1]  # not permitted looks exactly like not there

    assert Message.objects.count() == messages_before
    assert not Report.objects.get(pk=others.report.pk).is_withdrawn
    # Bob's message is still unread for Bob: Alice's tries marked nothing read.
    assert "1 new message" in _text(_browser(bob, signed_in).get(reverse("report_list")))


def test_a_reporter_cannot_download_a_file_from_another_reporters_thread(
    make_user: MakeUser, handler: User, signed_in: SignIn
) -> None:
    alice, bob = make_user(Role.REPORTER), make_user(Role.REPORTER)
    _signed_in_case(alice)
    others = _signed_in_case(bob)
    content = _pdf(_canary("BOBS-FILE"))
    message = messages.message_send(
        case=others,
        author=handler,
        side=Message.Side.CASE_WORKER,
        body="Se bilagan.",
        uploads=[evidence.store_bytes("svar.pdf", content, report_id=others.report.pk)],
    )
    theirs = Attachment.objects.get(message=message)
    assert (
        _downloaded(_browser(bob, signed_in).get(reverse("attachment_download", args=[theirs.pk])))
        == content
    )

    browser = _browser(alice, signed_in)
    answers = []
    for attachment_id in (theirs.pk, uuid.uuid4()):
        response = browser.get(reverse("attachment_download", args=[attachment_id]))
        assert response.status_code == 404
        page = _text(response)
        assert content.decode() not in page
        answers.append(PER_RESPONSE.sub("", page.replace(str(attachment_id), "<id>")))
    assert answers[0] == answers[1]


# --- 3. An anonymous access token opens only its own report --------------------------------


@dataclass(frozen=True)
class _Reports:
    """Two anonymous reports and one with an account, each with a message and a file from
    the staff; the first opened with its code."""

    mine: Case
    other: Case
    with_account: Case
    said: dict[uuid.UUID, str]
    files: dict[uuid.UUID, Attachment]
    browser: Client
    token: str


@pytest.fixture
def reports(reporter: User, handler: User) -> _Reports:
    (mine, code), (other, _) = _anonymous_case(), _anonymous_case()
    with_account = _signed_in_case(reporter)
    said, files = {}, {}
    for case in (mine, other, with_account):
        said[case.pk] = _canary("SAID")
        upload = evidence.store_bytes("svar.pdf", _pdf(said[case.pk]), report_id=case.report.pk)
        message = messages.message_send(
            case=case,
            author=handler,
            side=Message.Side.CASE_WORKER,
            body=said[case.pk],
            uploads=[upload],
        )
        files[case.pk] = Attachment.objects.get(message=message)
    browser, page = _open_anonymously(code)
    assert said[mine.pk] in page
    assert said[other.pk] not in page
    return _Reports(mine, other, with_account, said, files, browser, _token_in(page))


def _download(browser: Client, token: str, attachment: Attachment) -> HttpResponseBase:
    return browser.post(
        reverse("anonymous_attachment"), {"token": token, "attachment": str(attachment.pk)}
    )


def test_an_access_token_writes_only_to_its_own_report_whatever_the_form_says(
    reports: _Reports,
) -> None:
    other = reports.other
    answer = _canary("ANSWER")
    response = reports.browser.post(
        reverse("anonymous_message"),
        {
            "token": reports.token,
            "body": answer,
            "report": str(other.report.pk),
            "report_id": str(other.report.pk),
            "case": str(other.pk),
        },
    )
    assert response.status_code == 200
    page = _text(response)
    assert reports.said[reports.mine.pk] in page
    assert answer in page
    assert reports.said[other.pk] not in page
    sent = Message.objects.get(side=Message.Side.REPORTER)
    assert (sent.case_id, sent.body) == (reports.mine.pk, answer)
    assert not Message.objects.filter(case=other, side=Message.Side.REPORTER).exists()


def test_an_access_token_downloads_only_its_own_reports_files(reports: _Reports) -> None:
    mine = reports.files[reports.mine.pk]
    assert _downloaded(_download(reports.browser, reports.token, mine)) == _pdf(
        reports.said[reports.mine.pk]
    )
    for case in (reports.other, reports.with_account):
        response = _download(reports.browser, reports.token, reports.files[case.pk])
        assert response.status_code == 404
        assert reports.said[case.pk] not in _text(response)


def _swapped(token: str, old: object, new: object) -> str:
    """The token with another report's id written into its payload and its signature kept:
    without the server's key no one can sign the changed payload anew."""
    payload, signature = token.split(":", 1)
    data = signing.b64_decode(payload.removeprefix(".").encode())
    if payload.startswith("."):
        data = zlib.decompress(data)
    assert str(old).encode() in data
    data = data.replace(str(old).encode(), str(new).encode())
    return f"{signing.b64_encode(data).decode()}:{signature}"


def _payload(report: Report) -> dict[str, object]:
    return {"report": str(report.pk), "issued": time.time()}


# Each forgery: the token, and the case whose thread it tries to reach.
FORGERIES: dict[str, Callable[[_Reports], tuple[str, Case]]] = {
    "another anonymous report's id in the payload": lambda r: (
        _swapped(r.token, r.mine.report.pk, r.other.report.pk),
        r.other,
    ),
    "a signed-in reporter's report id in the payload": lambda r: (
        _swapped(r.token, r.mine.report.pk, r.with_account.report.pk),
        r.with_account,
    ),
    "signed with a guessed key": lambda r: (
        signing.dumps(_payload(r.other.report), key="guessed-key", salt=ACCESS_NAMESPACE),
        r.other,
    ),
    "signed by the site for another purpose": lambda r: (
        signing.dumps(_payload(r.other.report)),
        r.other,
    ),
    "the signature cut short": lambda r: (r.token[:-2], r.mine),
    # Only someone holding the server's key could make this; it must still open nothing.
    "genuinely signed for a report with an account": lambda r: (
        signing.dumps(_payload(r.with_account.report), salt=ACCESS_NAMESPACE),
        r.with_account,
    ),
}


@pytest.mark.parametrize("forgery", list(FORGERIES))
@pytest.mark.parametrize("action", ["anonymous_message", "anonymous_attachment"])
def test_a_forged_or_tampered_token_gets_the_neutral_expired_page_and_opens_nothing(
    reports: _Reports, forgery: str, action: str
) -> None:
    token, target = FORGERIES[forgery](reports)
    assert token != reports.token
    before = Message.objects.count()
    response = reports.browser.post(
        reverse(action),
        {"token": token, "body": _canary("FORGED"), "attachment": reports.files[target.pk].pk},
    )
    assert response.status_code == 400
    page = _text(response)
    assert EXPIRED in page
    for case in (reports.mine, reports.other, reports.with_account):
        assert case.report.reference not in page
        assert reports.said[case.pk] not in page
    assert 'name="token"' not in page
    assert Message.objects.count() == before
    # The genuine token still works, so the refusal was the forgery's.
    mine = reports.files[reports.mine.pk]
    assert _downloaded(_download(reports.browser, reports.token, mine))


@pytest.mark.parametrize("role", [Role.REPORTER, Role.HANDLER])
@pytest.mark.parametrize(
    ("method", "name"),
    [
        ("get", "anonymous_new"),
        ("post", "anonymous_new"),
        ("get", "anonymous_return"),
        ("post", "anonymous_return"),
        ("post", "anonymous_message"),
        ("post", "anonymous_attachment"),
    ],
)
def test_someone_signed_in_is_asked_to_sign_out_first_even_with_a_valid_code_or_token(
    reports: _Reports,
    make_user: MakeUser,
    signed_in: SignIn,
    role: Role,
    method: str,
    name: str,
) -> None:
    code_case, code = _anonymous_case()
    data: dict[str, Any] = {
        "anonymous_new": report_form(),
        "anonymous_return": {"code": code, "passphrase": ""},
        "anonymous_message": {"token": reports.token, "body": _canary("SIGNED-IN")},
        "anonymous_attachment": {
            "token": reports.token,
            "attachment": str(reports.files[reports.mine.pk].pk),
        },
    }[name]
    counts = (Report.objects.count(), Message.objects.count())
    browser = _browser(make_user(role), signed_in)
    response = getattr(browser, method)(reverse(name), data if method == "post" else {})
    assert response.status_code == 403
    page = _text(response)
    assert SIGN_OUT_FIRST in page  # a page, not the file
    for case in (reports.mine, code_case):
        assert case.report.reference not in page
    assert reports.said[reports.mine.pk] not in page
    assert 'name="token"' not in page
    assert (Report.objects.count(), Message.objects.count()) == counts


# --- 4. Notifications of messages ----------------------------------------------------------


@pytest.fixture
def staff(make_user: MakeUser) -> dict[str, User]:
    """Two active handlers and an inactive one, a duty officer, the head of security, and
    one person of every role that does not work cases."""
    return {
        "handler": make_user(Role.HANDLER),
        "handler2": make_user(Role.HANDLER),
        "gone": make_user(Role.HANDLER, is_active=False),
        "tib": make_user(Role.DUTY_OFFICER),
        "lead": make_user(Role.SECURITY_LEAD),
        "kib": make_user(Role.COMMUNICATIONS),
        "leadership": make_user(Role.LEADERSHIP),
        "auditor": make_user(Role.AUDITOR),
        "admin": make_user(Role.ADMIN),
    }


def _write(
    writer: str, case: Case, staff: dict[str, User], reporter: User, signed_in: SignIn, body: str
) -> None:
    """One message through the writer's own page: the handler's case page or the reporter's
    report page."""
    if writer == "case worker":
        browser = _browser(staff["handler"], signed_in)
        url = reverse("case_message", args=[case.pk])
    else:
        browser = _browser(reporter, signed_in)
        url = reverse("report_message", args=[case.report.pk])
    assert browser.post(url, {"body": body}).status_code == 302


@pytest.mark.parametrize(
    ("writer", "kind", "told"),
    [
        ("case worker", Notification.Kind.NEW_MESSAGE, "reporter"),
        ("reporter", Notification.Kind.REPORTER_ANSWERED, "handler"),
    ],
)
def test_a_message_tells_the_other_side_once_with_the_reference_and_no_content(
    reporter: User,
    staff: dict[str, User],
    signed_in: SignIn,
    django_capture_on_commit_callbacks: DjangoCaptureOnCommitCallbacks,
    writer: str,
    kind: str,
    told: str,
) -> None:
    recipient = reporter if told == "reporter" else staff[told]
    with django_capture_on_commit_callbacks(execute=True):  # the filing's own e-mails go out
        case = _signed_in_case(reporter)
        case_assign(case=case, assignee=staff["handler"], actor=staff["handler"])
    mail.outbox.clear()
    said = _canary("MESSAGE")
    with django_capture_on_commit_callbacks(execute=True):
        _write(writer, case, staff, reporter, signed_in, said)

    assert Message.objects.get(case=case).body == said
    assert [message.to for message in mail.outbox] == [[recipient.email]]
    assert case.report.reference in mail.outbox[0].subject
    assert [text for text in _sent_texts() if said in text] == []
    row = _about_messages().get()
    assert (row.kind, row.recipient_id, row.references) == (
        kind,
        recipient.pk,
        [case.report.reference],
    )
    assert row.sent_at is not None
    assert said not in _notification_rows()


@pytest.mark.parametrize(
    ("situation", "told"),
    [
        ("unassigned", {"handler", "handler2", "tib"}),
        ("assignee deactivated", {"handler2", "tib"}),
        ("assignee recused", {"handler2", "tib"}),
        ("assignee no longer a case worker", {"handler2", "tib"}),
        ("only the head of security may work it", {"lead"}),
    ],
)
def test_an_answer_without_a_working_assignee_tells_each_case_worker_allowed_once(
    reporter: User,
    staff: dict[str, User],
    signed_in: SignIn,
    django_capture_on_commit_callbacks: DjangoCaptureOnCommitCallbacks,
    situation: str,
    told: set[str],
) -> None:
    case = _signed_in_case(reporter)
    handler = staff["handler"]
    if situation != "unassigned" and situation != "only the head of security may work it":
        case_assign(case=case, assignee=handler, actor=handler)
    if situation == "assignee deactivated":
        handler.is_active = False
        handler.save(update_fields=["is_active"])
    elif situation == "assignee recused":
        case_recuse(case=case, user=handler, actor=handler, reason="Jäv.")
    elif situation == "assignee no longer a case worker":
        handler.role = Role.LEADERSHIP
        handler.save(update_fields=["role"])
    elif situation == "only the head of security may work it":
        for name in ("handler", "handler2", "tib"):
            case_recuse(case=case, user=staff[name], actor=staff[name], reason="Jäv.")
    said = _canary("ANSWER")
    mail.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        _write("reporter", case, staff, reporter, signed_in, said)

    assert _recipients() == sorted(staff[name].email for name in told)
    assert [text for text in _sent_texts() if said in text] == []
    rows = Notification.objects.filter(kind=Notification.Kind.REPORTER_ANSWERED)
    assert sorted(rows.values_list("recipient_id", flat=True)) == sorted(
        staff[name].pk for name in told
    )


@pytest.mark.parametrize("writer", ["case worker", "reporter"])
def test_two_messages_are_two_notifications_and_no_message_is_notified_twice(
    reporter: User,
    staff: dict[str, User],
    signed_in: SignIn,
    django_capture_on_commit_callbacks: DjangoCaptureOnCommitCallbacks,
    writer: str,
) -> None:
    with django_capture_on_commit_callbacks(execute=True):  # the filing's own e-mails go out
        case = _signed_in_case(reporter)
        case_assign(case=case, assignee=staff["handler"], actor=staff["handler"])
    mail.outbox.clear()
    recipient = reporter if writer == "case worker" else staff["handler"]
    with django_capture_on_commit_callbacks(execute=True):
        _write(writer, case, staff, reporter, signed_in, "Första.")
        _write(writer, case, staff, reporter, signed_in, "Andra.")
    assert _recipients() == [recipient.email, recipient.email]
    rows = list(_about_messages())
    assert len(rows) == 2
    assert len({row.dedupe_key for row in rows}) == 2

    # Delivery run again (a redelivered task, the relay) and the message's notification
    # enqueued again (a retried request) send nothing more.
    with django_capture_on_commit_callbacks(execute=True):
        assert outbox.relay(older_than=timedelta(0)) == 0
        assert [outbox.deliver(row.pk) for row in rows] == [False, False]
        for message in Message.objects.filter(case=case).select_related("case__report"):
            messages._notify(message.case, message)
    assert _about_messages().count() == 2
    assert len(mail.outbox) == 2


def test_nothing_about_a_message_reaches_an_anonymous_reporter_or_anyone_outside_the_staff(
    reporter: User,
    staff: dict[str, User],
    signed_in: SignIn,
    django_capture_on_commit_callbacks: DjangoCaptureOnCommitCallbacks,
) -> None:
    with django_capture_on_commit_callbacks(execute=True):  # the filing's own e-mails go out
        case, code = _anonymous_case()
    mail.outbox.clear()
    rows_before = Notification.objects.count()
    said, answer = _canary("MESSAGE"), _canary("ANSWER")
    worker = _browser(staff["handler"], signed_in)
    with django_capture_on_commit_callbacks(execute=True):
        for body in (said, "Hör av dig."):
            response = worker.post(reverse("case_message", args=[case.pk]), {"body": body})
            assert response.status_code == 302
    assert Message.objects.filter(case=case, side=Message.Side.CASE_WORKER).count() == 2
    assert Notification.objects.count() == rows_before
    assert mail.outbox == []

    # The anonymous reporter reads it on their page and answers; only the staff are told.
    browser, opened = _open_anonymously(code)
    assert said in opened
    with django_capture_on_commit_callbacks(execute=True):
        response = browser.post(
            reverse("anonymous_message"), {"token": _token_in(opened), "body": answer}
        )
    assert response.status_code == 200
    staff_addresses = {user.email for user in User.objects.filter(role__in=STAFF_ROLES)}
    assert _recipients() == sorted(staff[name].email for name in ("handler", "handler2", "tib"))
    assert set(_recipients()) <= staff_addresses
    assert reporter.email not in _recipients()
    assert not Notification.objects.filter(recipient__role=Role.REPORTER).exists()
    assert not Notification.objects.filter(kind=Notification.Kind.NEW_MESSAGE).exists()
    for canary in (said, answer):
        assert [text for text in _sent_texts() if canary in text] == []
        assert canary not in _notification_rows()
