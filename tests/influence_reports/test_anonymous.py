"""Reporting without an account: a receipt code shown once and never stored, a neutral answer
to wrong codes, rate limits that keep no address, and a thread the reporter can answer."""

from __future__ import annotations

import io
import os
import re

import pytest
from auditlog.models import LogEntry
from django.conf import settings
from django.core.cache import cache
from django.db import connection
from django.test import Client
from django.urls import reverse

from influence_reports import receipts
from influence_reports.anonymous_views import WRONG_CODES
from influence_reports.models import AnonymousReceipt, Message, Report
from influence_reports.services import messages
from influence_reports.services.anonymous import anonymous_report_submit, receipt_open
from influence_reports.services.reports import ReportData
from security_core.roles import Role
from tests.influence_reports.conftest import report_form

pytestmark = pytest.mark.django_db

CODE = re.compile(r"\b(\d{4} \d{4} \d{4} \d{4})\b")
ADDRESS = "203.0.113.77"
AGENT = "Mozilla/5.0 (KANARIE-agent-5521)"


@pytest.fixture(autouse=True)
def _fresh_cache():
    cache.clear()


def _client() -> Client:
    client = Client(REMOTE_ADDR=ADDRESS, HTTP_USER_AGENT=AGENT)
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    return client


def _file(client: Client, **extra: str) -> str:
    response = client.post(reverse("anonymous_new"), report_form(**extra))
    assert response.status_code == 200, response.content.decode()[:500]
    found = CODE.search(response.content.decode())
    assert found
    return found.group(1)


def _token_in(page: str) -> str:
    found = re.search(r'name="token" value="([^"]+)"', page)
    assert found
    return found.group(1)


def _data() -> ReportData:
    return ReportData(description="Mutförsök.", reporter_role="official", categories=["bribery"])


def test_the_code_is_16_random_digits_and_only_its_hashes_are_stored():
    codes = {receipts.new_code() for _ in range(200)}
    assert len(codes) == 200
    assert all(re.fullmatch(r"\d{16}", code) for code in codes)
    report, code = anonymous_report_submit(data=_data(), passphrase="hemligt lösen")
    receipt = AnonymousReceipt.objects.get(report=report)
    assert receipt.lookup == receipts.lookup(code)
    assert receipt.verifier.startswith("$argon2id$")
    assert receipt.has_passphrase
    with connection.cursor() as cursor:
        for table in connection.introspection.table_names():
            cursor.execute(f"SELECT * FROM {connection.ops.quote_name(table)}")  # noqa: S608
            dump = repr(cursor.fetchall())
            assert code not in dump, table
            assert "hemligt" not in dump, table


def test_the_look_up_depends_on_a_key_outside_the_database(settings):
    code = receipts.new_code()
    first = receipts.lookup(code)
    settings.VARN_RECEIPT_KEY = b"k" * 32
    assert receipts.lookup(code) != first


def test_code_and_passphrase_open_the_report_and_nothing_else_does():
    report, code = anonymous_report_submit(data=_data(), passphrase="hemligt lösen")
    spaced = receipts.grouped(code)
    assert receipt_open(typed_code=spaced, passphrase="hemligt lösen") == report
    assert receipt_open(typed_code=code.replace("", "-")[1:-1], passphrase="hemligt lösen")
    assert receipt_open(typed_code=code, passphrase="") is None  # passphrase required
    assert receipt_open(typed_code=code, passphrase="fel lösen") is None
    wrong = f"{(int(code) + 1) % 10**16:016d}"
    assert receipt_open(typed_code=wrong, passphrase="hemligt lösen") is None
    assert receipt_open(typed_code="not a code", passphrase="") is None


def test_an_anonymous_reporter_files_returns_reads_the_reply_and_answers(make_user):
    client = _client()
    code = _file(client, description="KANARIE-anon-8812 han erbjöd pengar")
    report = Report.objects.get()
    assert report.reporter is None
    handler = make_user(Role.HANDLER)
    messages.message_send(
        case=report.case, author=handler, side="case_worker", body="Kan du beskriva mannen?"
    )

    page = client.post(reverse("anonymous_return"), {"code": code, "passphrase": ""})
    assert page.status_code == 200
    body = page.content.decode()
    assert "Kan du beskriva mannen?" in body
    assert handler.email not in body
    token = re.search(r'name="token" value="([^"]+)"', body)
    assert token

    answer = client.post(
        reverse("anonymous_message"), {"token": token.group(1), "body": "Lång, grå rock."}
    )
    assert answer.status_code == 200
    assert "Lång, grå rock." in answer.content.decode()
    sent = Message.objects.get(side="reporter")
    assert (sent.author, sent.body) == (None, "Lång, grå rock.")


def test_a_wrong_code_a_wrong_passphrase_and_no_report_get_the_same_answer():
    report, code = anonymous_report_submit(data=_data(), passphrase="hemligt lösen")
    client = _client()
    answers = set()
    for typed, passphrase in (
        (code, "fel"),
        (f"{(int(code) + 7) % 10**16:016d}", "hemligt lösen"),
        ("1234", ""),
    ):
        response = client.post(
            reverse("anonymous_return"), {"code": typed, "passphrase": passphrase}
        )
        assert response.status_code == 400
        # The same page but for the per-response CSRF token and CSP nonce.
        answers.add(re.sub(r'(value|nonce)="[^"]*"', "", response.content.decode()))
    assert len(answers) == 1
    assert report.reference not in answers.pop()


def test_wrong_codes_are_rate_limited_for_a_while_without_keeping_the_address():
    _, code = anonymous_report_submit(data=_data())
    client = _client()
    for _ in range(WRONG_CODES):
        assert client.post(reverse("anonymous_return"), {"code": "0" * 16}).status_code == 400
    assert client.post(reverse("anonymous_return"), {"code": code}).status_code == 429
    other = Client(REMOTE_ADDR="198.51.100.5")
    assert other.post(reverse("anonymous_return"), {"code": code}).status_code == 200
    keys = list(cache._cache.keys())  # type: ignore[attr-defined]  # locmem in the tests
    assert keys
    assert not any(ADDRESS in str(key) for key in keys)


def test_an_old_or_forged_token_asks_for_the_code_again():
    client = _client()
    for token in ("", "forged", "x" * 200):
        response = client.post(reverse("anonymous_message"), {"token": token, "body": "Hej"})
        assert response.status_code == 400
        assert b"Enter the code again" in response.content
    assert not Message.objects.exists()


def test_no_trace_of_the_anonymous_reporter_is_stored(caplog, make_user):
    make_user(Role.HANDLER)
    client = _client()
    code = _file(client, passphrase="ett långt lösen", passphrase_again="ett långt lösen")
    client.post(reverse("anonymous_return"), {"code": code, "passphrase": "ett långt lösen"})
    with connection.cursor() as cursor:
        for table in connection.introspection.table_names():
            cursor.execute(f"SELECT * FROM {connection.ops.quote_name(table)}")  # noqa: S608
            dump = repr(cursor.fetchall())
            for trace in (ADDRESS, "KANARIE-agent", code, "ett långt"):
                assert trace not in dump, (table, trace)
    assert not any(entry.actor_id for entry in LogEntry.objects.all())
    assert all(ADDRESS not in record.getMessage() for record in caplog.records)


def test_someone_signed_in_is_asked_to_sign_out_first_and_nothing_is_filed(
    client, reporter, signed_in
):
    signed_in(client, reporter, verified=False)
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    for url in ("anonymous_new", "anonymous_return", "anonymous_message"):
        response = client.post(reverse(url), report_form())
        assert response.status_code == 403, url
        assert b"Sign out first" in response.content
    assert not Report.objects.exists()
    assert not LogEntry.objects.filter(actor=reporter).exists()


def test_the_access_token_is_not_extended_by_using_it(monkeypatch, make_user):
    import time as clock

    client = _client()
    code = _file(client)
    opened = client.post(reverse("anonymous_return"), {"code": code, "passphrase": ""})
    token = _token_in(opened.content.decode())
    start = clock.time()
    # 20 minutes on, the page (and its new token) still carries the first issue time ...
    monkeypatch.setattr(clock, "time", lambda: start + 20 * 60)
    page = client.post(reverse("anonymous_message"), {"token": token, "body": "Ett."})
    assert page.status_code == 200
    renewed = _token_in(page.content.decode())
    # ... so 31 minutes after the code was entered, neither token opens the report.
    monkeypatch.setattr(clock, "time", lambda: start + 31 * 60)
    for stale in (token, renewed):
        response = client.post(reverse("anonymous_message"), {"token": stale, "body": "Två."})
        assert response.status_code == 400
    assert list(Message.objects.values_list("side", flat=True)) == ["reporter"]


def test_one_code_is_limited_however_many_addresses_try_it():
    _, code = anonymous_report_submit(data=_data(), passphrase="hemligt lösen")
    for n in range(WRONG_CODES):
        guesser = Client(REMOTE_ADDR=f"192.0.2.{n + 1}")
        response = guesser.post(reverse("anonymous_return"), {"code": code, "passphrase": "x"})
        assert response.status_code == 400
    last = Client(REMOTE_ADDR="192.0.2.200")
    answer = last.post(reverse("anonymous_return"), {"code": code, "passphrase": "hemligt lösen"})
    assert answer.status_code == 429


def test_an_ipv6_client_is_counted_by_its_64_and_refused_forms_count_too():
    for n in range(WRONG_CODES):
        rotating = Client(REMOTE_ADDR=f"2001:db8:1:2::{n + 1:x}")
        assert rotating.post(reverse("anonymous_return"), {"code": "x"}).status_code == 400
    same_net = Client(REMOTE_ADDR="2001:db8:1:2::ffff")
    assert same_net.post(reverse("anonymous_return"), {"code": "x"}).status_code == 429
    elsewhere = Client(REMOTE_ADDR="2001:db8:9:9::1")
    assert elsewhere.post(reverse("anonymous_return"), {"code": "x"}).status_code == 400


def test_a_short_or_mismatched_passphrase_is_refused_and_nothing_is_filed():
    client = _client()
    for first, second in (("kort", "kort"), ("ett långt lösen", "ett annat lösen")):
        response = client.post(
            reverse("anonymous_new"),
            report_form(passphrase=first, passphrase_again=second),
        )
        assert response.status_code == 400
    assert not Report.objects.exists()


def test_filing_with_a_file_works_with_csrf_checks_as_in_production():
    from django.core.files.uploadedfile import SimpleUploadedFile

    client = Client(enforce_csrf_checks=True, REMOTE_ADDR=ADDRESS)
    form_page = client.get(reverse("anonymous_new")).content.decode()
    found = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', form_page)
    assert found
    evidence = SimpleUploadedFile("bevis.txt", b"Han sa: pengar mot ett ja.", "text/plain")
    response = client.post(
        reverse("anonymous_new"),
        report_form(csrfmiddlewaretoken=found.group(1), evidence=[evidence]),
    )
    assert response.status_code == 200
    assert CODE.search(response.content.decode())
    assert Report.objects.get().attachments.count() == 1
    # Without the token it is refused, and nothing is filed.
    refused = Client(enforce_csrf_checks=True).post(reverse("anonymous_new"), report_form())
    assert refused.status_code == 403
    assert Report.objects.count() == 1


def test_a_rotated_receipt_key_still_opens_old_receipts_and_moves_them_to_the_new_key(
    settings,
):
    from django.core.management import call_command

    old_key = settings.VARN_RECEIPT_KEY
    report, code = anonymous_report_submit(data=_data(), passphrase="")
    settings.VARN_RECEIPT_KEY = os.urandom(32)
    assert receipt_open(typed_code=code, passphrase="") is None  # no fallback yet
    settings.VARN_RECEIPT_KEY_FALLBACKS = [old_key]
    out = io.StringIO()
    call_command("receipt_keys", stdout=out)
    assert "current key" in out.getvalue()
    assert "fallback 1" in out.getvalue()
    assert re.search(r"fallback 1 \(\w+\): 1 receipts", out.getvalue())
    assert receipt_open(typed_code=code, passphrase="") == report
    receipt = AnonymousReceipt.objects.get()
    assert receipt.lookup == receipts.lookup(code)  # re-hashed under the new key
    settings.VARN_RECEIPT_KEY_FALLBACKS = []
    assert receipt_open(typed_code=code, passphrase="") == report
    out = io.StringIO()
    call_command("receipt_keys", stdout=out)
    assert re.search(r"current key \(\w+\): 1 receipts", out.getvalue())


@pytest.mark.parametrize(
    "headers",
    [
        {"HTTP_ORIGIN": "https://elak.example"},
        {"HTTP_SEC_FETCH_SITE": "cross-site"},
    ],
)
def test_a_post_from_another_site_is_refused_before_it_counts(settings, headers):
    """A page elsewhere cannot use up the limits of its visitors' addresses."""
    settings.VARN_ANONYMOUS_REPORTS_PER_HOUR = 1
    client = _client()
    for _ in range(3):
        refused = client.post(reverse("anonymous_new"), report_form(), **headers)
        assert refused.status_code == 403
        refused = client.post(reverse("anonymous_message"), {"token": "x"}, **headers)
        assert refused.status_code == 403
    assert not Report.objects.exists()
    # The address's allowance is untouched: the one report an hour still goes through.
    _file(client)
    assert Report.objects.count() == 1


def test_the_code_counter_cannot_be_found_from_the_database():
    """Its key comes from the code as typed, which is kept nowhere, not from the stored
    look-up hash (from which, with the cache, one could date the reporter's return)."""
    _report, code = anonymous_report_submit(data=_data(), passphrase="")
    client = _client()
    client.post(reverse("anonymous_return"), {"code": code, "passphrase": ""})
    from security_core import ratelimit

    stored = ratelimit.subject(AnonymousReceipt.objects.get().lookup)
    assert cache.get(f"varn:rl:receipt-code:{stored}") is None
    assert cache.get(f"varn:rl:receipt-code:{ratelimit.subject(f'code:{code}')}") == 1
