"""A canary typed into every encrypted field and hidden in a file never lands anywhere in clear.

One report is filed through the real intake view with the canary in every free-text field
that is encrypted at rest, in an attachment's bytes and in its filename. Afterwards the
canary (as text, UTF-8 bytes, UTF-16, base64 at every alignment and hex) is in no row of
any table, no session, no SQL statement sent, no file under the media root, no log record,
no auditlog change and no cache entry; yet the reporter's own pages show it, so the search
would find it if it were there.
"""

from __future__ import annotations

import base64
import logging
import pickle
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from auditlog.models import LogEntry
from django.conf import settings
from django.contrib.sessions.backends.db import SessionStore
from django.core.cache import caches
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from influence_reports.models import Attachment, Report
from security_core.roles import Role
from tests.influence_reports.conftest import report_form

pytestmark = pytest.mark.django_db

CANARY = "KANARIE-7f3a9c"
FILE_BYTES = f"Sms från okänt nummer 12:03: '{CANARY}' — sparat som bevis.\n".encode()
FILE_NAME = f"bevis-{CANARY}.txt"

# Every field of the intake form whose answer is stored encrypted and can take free text.
CANARY_FIELDS = {
    "description": f"Han skrev {CANARY} i ett sms och hotade mig.",
    "perpetrator_details": f"Man i 50-årsåldern, kallar sig {CANARY}.",
    "perpetrator_identifiers": f"{CANARY}@example.com\n+46701234567\n@{CANARY}",
    "location_details": f"Utanför stadshuset, {CANARY}",
    "contact_details": f"Ring 070-{CANARY} efter 17",
    "linked_decision": f"Detaljplan {CANARY} för Norra hamnen",
    "police_reference": f"5000-K{CANARY}-26",
    "on_behalf_name": f"Kerstin {CANARY}",
    "profile_party": f"Partiet {CANARY}",
}


def _needles(canary: str) -> list[bytes]:
    """The canary in every encoding a careless write could have used."""
    raw = canary.encode()
    needles = {
        raw.lower(),
        canary.encode("utf-16-le").lower(),
        raw.hex().encode(),
    }
    # Base64 of a longer text holds the canary's base64 only at one of three alignments;
    # drop the characters that also depend on the neighbouring bytes.
    for pad in range(3):
        encoded = base64.b64encode(b"\0" * pad + raw)
        lead = (pad * 8 + 5) // 6
        core = encoded[lead:].rstrip(b"=")
        core = core[: (len(raw) * 8) // 6 - 1]
        needles.add(core)
        needles.add(base64.urlsafe_b64encode(b"\0" * pad + raw)[lead:][: len(core)])
    return sorted(needles)


NEEDLES = _needles(CANARY)


def _found_in(value: Any) -> list[bytes]:
    if value is None:
        return []
    if isinstance(value, memoryview):
        value = value.tobytes()
    if isinstance(value, (bytes, bytearray)):
        haystacks = [bytes(value), bytes(value).decode("latin-1").encode()]
    else:
        text = value if isinstance(value, str) else repr(value)
        haystacks = [text.encode()]
    found = []
    for haystack in haystacks:
        lowered = haystack.lower()
        for needle in NEEDLES:
            if needle.lower() in lowered or needle in haystack:
                found.append(needle)
    return found


def _all_rows() -> Iterator[tuple[str, tuple[Any, ...]]]:
    tables = connection.introspection.table_names()
    # Every model's table is listed (auditlog, sessions, axes and ours among them).
    assert set(connection.introspection.django_table_names(only_existing=True)) <= set(tables)
    assert {"auditlog_logentry", "django_session", "influence_reports_report"} <= set(tables)
    with connection.cursor() as cursor:
        for table in tables:
            cursor.execute(f"SELECT * FROM {connection.ops.quote_name(table)}")  # noqa: S608
            for row in cursor.fetchall():
                yield table, tuple(row)


def _file_with_canary() -> SimpleUploadedFile:
    return SimpleUploadedFile(FILE_NAME, FILE_BYTES, content_type="text/plain")


@pytest.fixture
def canary_filed(
    client,
    reporter,
    make_user,
    signed_in,
    caplog,
    capfd,
    settings,
    django_capture_on_commit_callbacks,
):
    """The report filed through the real view, with logs and SQL captured while it happens;
    acute and with media interest, so that every kind of notification goes out (e-mail and
    page, sent after commit as in production) to case workers and the officers on call."""
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    for role in (Role.HANDLER, Role.DUTY_OFFICER, Role.SECURITY_LEAD, Role.COMMUNICATIONS):
        make_user(role)
    caplog.set_level(logging.DEBUG)
    # Loggers that do not propagate to the root would hide their lines from caplog.
    quiet = [
        logging.getLogger(name)
        for name, logger in logging.Logger.manager.loggerDict.items()
        if isinstance(logger, logging.Logger) and not logger.propagate
    ]
    for logger in quiet:
        logger.addHandler(caplog.handler)
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    signed_in(client, reporter, verified=False)
    form = report_form(
        **CANARY_FIELDS,
        police_reported="yes",
        on_behalf_of_other="on",
        consent_recorded="on",
        target="colleague",
        is_acute="on",
        media_interest="on",
        evidence=[_file_with_canary()],
    )
    try:
        with CaptureQueriesContext(connection) as queries:
            with django_capture_on_commit_callbacks(execute=True):
                response = client.post(reverse("report_new"), form)
            receipt = client.get(response["Location"])
    finally:
        for logger in quiet:
            logger.removeHandler(caplog.handler)
    assert response.status_code == 302, response.content.decode()[:2000]
    assert receipt.status_code == 200
    report = Report.objects.get()
    out, err = capfd.readouterr()
    return {"report": report, "queries": queries, "stdout": out, "stderr": err}


def test_every_encrypted_field_and_the_file_really_hold_the_canary(canary_filed):
    """Without this, a field that was silently dropped would pass every search below."""
    report = Report.objects.get(pk=canary_filed["report"].pk)
    for name, value in CANARY_FIELDS.items():
        assert getattr(report, name) == value, name
    attachment = Attachment.objects.get(report=report)
    assert attachment.filename == FILE_NAME


def test_no_row_of_any_table_holds_the_canary(canary_filed):
    hits = [
        (table, needle)
        for table, row in _all_rows()
        for value in row
        for needle in _found_in(value)
    ]
    assert hits == []


def test_no_session_holds_the_canary_even_decoded(canary_filed):
    with connection.cursor() as cursor:
        cursor.execute("SELECT session_data FROM django_session")
        sessions = [row[0] for row in cursor.fetchall()]
    assert sessions, "the reporter's session should be stored"
    for data in sessions:
        assert _found_in(SessionStore().decode(data)) == []


def test_no_sql_statement_sent_while_filing_holds_the_canary(canary_filed):
    queries = canary_filed["queries"].captured_queries
    assert any("influence_reports_report" in query["sql"] for query in queries)
    assert [query["sql"][:200] for query in queries if _found_in(query["sql"])] == []


def test_no_file_under_the_media_root_holds_the_canary(canary_filed):
    root = Path(settings.VARN_MEDIA_ROOT)
    files = [path for path in root.rglob("*") if path.is_file()]
    assert len(files) == 1, files  # the attachment's ciphertext, and nothing else
    for path in files:
        assert _found_in(str(path.relative_to(root))) == [], path
        assert _found_in(path.read_bytes()) == [], path


def test_no_log_record_holds_the_canary(canary_filed, caplog):
    for record in caplog.records:
        assert _found_in(record.getMessage()) == [], record.name
        assert _found_in(repr(record.args)) == [], record.name
        assert _found_in(repr(record.__dict__)) == [], record.name
    assert _found_in(caplog.text) == []
    assert _found_in(canary_filed["stdout"]) == []
    assert _found_in(canary_filed["stderr"]) == []


def test_no_notification_sent_holds_the_canary(canary_filed):
    from django.core import mail

    from security_core.models import Notification, RecordedPage

    kinds = set(Notification.objects.values_list("kind", flat=True))
    assert kinds == {"new_report", "acute_report", "media_interest"}
    assert not Notification.objects.filter(sent_at__isnull=True).exists()
    assert RecordedPage.objects.count() == 1
    assert len(mail.outbox) == 4
    sent = [f"{m.subject}\n{m.body}" for m in mail.outbox]
    sent += list(RecordedPage.objects.values_list("text", flat=True))
    for text in sent:
        assert canary_filed["report"].reference in text
        for needle in NEEDLES:
            assert needle not in text.encode()


def test_no_auditlog_entry_holds_the_canary(canary_filed):
    report = canary_filed["report"]
    entries = list(LogEntry.objects.all())
    assert any(entry.object_pk == str(report.pk) for entry in entries)
    for entry in entries:
        for value in (
            entry.changes,
            entry.changes_text,
            entry.object_repr,
            entry.serialized_data,
            entry.additional_data,
        ):
            assert _found_in(value) == [], entry


def test_no_cache_entry_holds_the_canary(canary_filed):
    cache = caches["default"]
    store = getattr(cache, "_cache", None)
    if store is None:
        pytest.skip("only the in-memory cache can be listed")
    for key, value in store.items():
        assert _found_in(key) == []
        assert _found_in(value) == []
        assert _found_in(pickle.loads(value)) == []  # noqa: S301 - our own cache, this process


def test_the_reporter_sees_the_canary_on_their_own_pages(canary_filed, client):
    report = canary_filed["report"]
    detail = client.get(reverse("report_detail", args=[report.pk]))
    assert detail.status_code == 200
    page = detail.content.decode()
    assert CANARY_FIELDS["description"] in page
    assert FILE_NAME in page
    download = client.get(reverse("attachment_download", args=[Attachment.objects.get().pk]))
    assert download.status_code == 200
    assert b"".join(download.streaming_content) == FILE_BYTES


def test_the_search_finds_the_canary_in_every_encoding_it_looks_for():
    """The needles are right: each encoding of a text holding the canary is found."""
    text = f"före {CANARY} efter".encode()
    for pad in range(3):
        blob = b"x" * pad + text
        assert _found_in(base64.b64encode(blob)), pad
        assert _found_in(base64.urlsafe_b64encode(blob)), pad
    assert _found_in(text.hex())
    assert _found_in(text.hex().upper())
    assert _found_in(f"före {CANARY} efter".encode("utf-16-le"))
    assert _found_in(memoryview(text))
    assert _found_in({"changes": CANARY.lower()})
    assert not _found_in("nothing to see")
