"""Reading reports and their files: who may, what is logged, and what damaged data does.

Changed, truncated or moved ciphertext (in a field or in a file on disk) answers a clear
"cannot be opened" page (422), never a 500 or a traceback, is logged without content, and
leaves every other report readable. Withdrawal marks a report withdrawn once and closes it
to more evidence. Every role asks for someone else's report and file over HTTP: only case
workers and the owner get them, each such read writes exactly one access entry, and every
refusal (as well as an unknown or malformed id) is a 404 that writes none and keeps no
uploaded file.
"""

from __future__ import annotations

import hashlib
import logging
import re
import uuid
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings
from django.core.files.uploadedfile import SimpleUploadedFile
from django.http import StreamingHttpResponse
from django.test import Client
from django.urls import reverse

from influence_reports import evidence
from influence_reports.models import Attachment, Report
from security_core import streaming
from security_core.crypto import DecryptionError
from security_core.models import AccessEntry, User
from security_core.roles import Role
from tests.influence_reports.conftest import PDF, PNG, report_form

pytestmark = pytest.mark.django_db

SECRET_TEXT = "Han sa att min dotter går på Vasaskolan och att jag vet vad som händer."
UNREADABLE = "This content cannot be opened"
LONG_TEXT = b"".join(f"rad {n}: han ringde igen\n".encode() for n in range(9000))  # 3 segments


def _file(name: str, content: bytes) -> SimpleUploadedFile:
    return SimpleUploadedFile(name, content, content_type="application/octet-stream")


def _english(client: Client) -> Client:
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    return client


def _file_report(
    client: Client, text: str = SECRET_TEXT, files: dict[str, bytes] | None = None
) -> Report:
    evidence_files = [_file(name, content) for name, content in (files or {}).items()]
    before = set(Report.objects.values_list("pk", flat=True))
    response = client.post(
        reverse("report_new"), report_form(description=text, evidence=evidence_files)
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    return Report.objects.exclude(pk__in=before).get()


@pytest.fixture
def owner_client(client, reporter, signed_in) -> Client:
    signed_in(client, reporter, verified=False)
    return _english(client)


@pytest.fixture
def report(owner_client) -> Report:
    return _file_report(owner_client, files={"skärmdump.png": PNG, "brev.pdf": PDF})


def _body(response: Any) -> bytes:
    """The bytes of a streamed download."""
    return b"".join(response.streaming_content)


def _stored(report: Report, field: str) -> bytes:
    raw = Report.objects.filter(pk=report.pk).values_list(field, flat=True).get()
    return bytes(raw)


def _flip(blob: bytes, position: int) -> bytes:
    changed = bytearray(blob)
    changed[position] ^= 0x01
    return bytes(changed)


def _stored_files() -> list[Path]:
    root = Path(settings.VARN_MEDIA_ROOT)
    return sorted(path for path in root.rglob("*") if path.is_file()) if root.exists() else []


def _assert_unreadable_page(response) -> None:
    assert response.status_code == 422
    page = response.content.decode()
    assert UNREADABLE in page
    assert "Traceback" not in page
    assert "DecryptionError" not in page


def _assert_logged_without_content(caplog, *secrets: str) -> None:
    warnings = [r for r in caplog.records if r.levelno >= logging.WARNING]
    assert warnings, "the failure to open should be logged"
    for record in caplog.records:
        for secret in secrets:
            assert secret not in record.getMessage()


# --- Damaged fields ------------------------------------------------------------------------


def _tamper_cases() -> list[object]:
    def at(position: int):
        return lambda blob: _flip(blob, position)

    return [
        pytest.param(at(0), id="version-byte"),
        pytest.param(at(5), id="nonce"),
        pytest.param(at(20), id="ciphertext"),
        pytest.param(at(-1), id="tag"),
        pytest.param(lambda blob: blob[:-1], id="truncated-by-one"),
        pytest.param(lambda blob: blob[:10], id="truncated-into-the-nonce"),
        pytest.param(lambda blob: blob + b"\x00", id="extended"),
        pytest.param(lambda blob: b"", id="emptied"),
    ]


@pytest.mark.parametrize("damage", _tamper_cases())
def test_a_damaged_description_answers_the_cannot_be_opened_page(
    owner_client, report, caplog, damage
):
    caplog.set_level(logging.DEBUG)
    Report.objects.filter(pk=report.pk).update(description=damage(_stored(report, "description")))

    response = owner_client.get(reverse("report_detail", args=[report.pk]))

    _assert_unreadable_page(response)
    assert SECRET_TEXT not in response.content.decode()
    _assert_logged_without_content(caplog, SECRET_TEXT, str(report.pk))


def test_a_damaged_report_breaks_nothing_else(owner_client, report):
    other = _file_report(owner_client, "En annan händelse, på fullmäktige.")
    Report.objects.filter(pk=report.pk).update(
        description=_flip(_stored(report, "description"), 30)
    )
    _assert_unreadable_page(owner_client.get(reverse("report_detail", args=[report.pk])))

    listing = owner_client.get(reverse("report_list"))
    assert listing.status_code == 200
    assert report.reference in listing.content.decode()
    readable = owner_client.get(reverse("report_detail", args=[other.pk]))
    assert readable.status_code == 200
    assert "En annan händelse, på fullmäktige." in readable.content.decode()
    # Its files still download.
    attachment = report.attachments.get(size=len(PNG))
    download = owner_client.get(reverse("attachment_download", args=[attachment.pk]))
    assert _body(download) == PNG


def test_a_description_moved_to_another_report_does_not_open_there(owner_client, report):
    target = _file_report(owner_client, "Det här står i den andra rapporten.")
    Report.objects.filter(pk=target.pk).update(description=_stored(report, "description"))

    _assert_unreadable_page(owner_client.get(reverse("report_detail", args=[target.pk])))
    assert (
        SECRET_TEXT
        not in owner_client.get(reverse("report_detail", args=[target.pk])).content.decode()
    )
    original = owner_client.get(reverse("report_detail", args=[report.pk]))
    assert original.status_code == 200
    assert SECRET_TEXT in original.content.decode()


def test_a_ciphertext_moved_to_another_field_of_the_same_report_does_not_open():
    """Below the view: the same record and key, but another field's associated data."""
    # Built here so the test needs no client: one report, filed by the service.
    from influence_reports.services.reports import ReportData, report_submit

    report = report_submit(
        reporter=None,
        data=ReportData(
            description=SECRET_TEXT,
            reporter_role="official",
            categories=["threat"],
            encrypted={"perpetrator_details": "Okänd"},
        ),
    )
    Report.objects.filter(pk=report.pk).update(perpetrator_details=_stored(report, "description"))
    fresh = Report.objects.get(pk=report.pk)
    assert fresh.description == SECRET_TEXT
    with pytest.raises(DecryptionError):
        _ = fresh.perpetrator_details


def test_a_damaged_attachment_filename_does_not_break_the_report_page(owner_client, report):
    """The detail page lists file names; one damaged name must not turn the page into a 500."""
    attachment = report.attachments.get(size=len(PNG))
    stored = bytes(
        Attachment.objects.filter(pk=attachment.pk).values_list("filename", flat=True).get()
    )
    Attachment.objects.filter(pk=attachment.pk).update(filename=_flip(stored, 25))

    response = owner_client.get(reverse("report_detail", args=[report.pk]))

    assert response.status_code in (200, 422)
    if response.status_code == 200:
        assert SECRET_TEXT in response.content.decode()  # the rest of the report still reads
    else:
        _assert_unreadable_page(response)


@pytest.mark.parametrize("field", ["filename", "content_type"])
def test_a_damaged_attachment_field_answers_the_cannot_be_opened_page_on_download(
    owner_client, report, field
):
    attachment = report.attachments.get(size=len(PDF))
    stored = bytes(Attachment.objects.filter(pk=attachment.pk).values_list(field, flat=True).get())
    Attachment.objects.filter(pk=attachment.pk).update(**{field: _flip(stored, 25)})

    response = owner_client.get(reverse("attachment_download", args=[attachment.pk]))

    _assert_unreadable_page(response)


# --- Damaged files -------------------------------------------------------------------------


def _file_cases() -> list[object]:
    segment = streaming.SEGMENT_SIZE + streaming.TAG_BYTES
    header = streaming.HEADER.size

    def flip_at(position: int):
        return lambda data: _flip(data, position)

    def swap_first_two_segments(data: bytes) -> bytes:
        first = data[header : header + segment]
        second = data[header + segment : header + 2 * segment]
        return data[:header] + second + first + data[header + 2 * segment :]

    return [
        pytest.param(flip_at(0), id="header-version"),
        pytest.param(flip_at(6), id="header-nonce-prefix"),
        pytest.param(flip_at(100), id="first-segment"),
        pytest.param(flip_at(header + segment + 10), id="middle-segment"),
        pytest.param(flip_at(-1), id="last-tag"),
        pytest.param(lambda data: data[:-1], id="truncated-by-one"),
        pytest.param(lambda data: data[: header + 2 * segment], id="last-segment-dropped"),
        pytest.param(lambda data: data[:header], id="header-only"),
        pytest.param(lambda data: b"", id="emptied"),
        pytest.param(lambda data: data + b"\x00" * 17, id="extended"),
        pytest.param(swap_first_two_segments, id="segments-swapped"),
    ]


def _damage_file(owner_client: Client, damage) -> Attachment:
    report = _file_report(owner_client, files={"samtal.txt": LONG_TEXT})
    attachment = report.attachments.get()
    path = evidence.file_path(attachment.storage_name)
    assert path.stat().st_size > 2 * streaming.SEGMENT_SIZE  # three segments
    path.write_bytes(damage(path.read_bytes()))
    return attachment


@pytest.mark.parametrize("damage", _file_cases())
def test_a_damaged_file_on_disk_answers_the_cannot_be_opened_page(owner_client, damage):
    attachment = _damage_file(owner_client, damage)

    response = owner_client.get(reverse("attachment_download", args=[attachment.pk]))

    _assert_unreadable_page(response)
    assert not isinstance(response, StreamingHttpResponse)  # not half a file


def test_a_damaged_file_on_disk_is_logged_without_content(owner_client, caplog):
    caplog.set_level(logging.DEBUG)
    attachment = _damage_file(owner_client, lambda data: _flip(data, 100))

    _assert_unreadable_page(owner_client.get(reverse("attachment_download", args=[attachment.pk])))

    _assert_logged_without_content(caplog, "han ringde igen", "samtal.txt")


def test_a_missing_file_answers_the_cannot_be_opened_page(owner_client, report):
    attachment = report.attachments.get(size=len(PDF))
    evidence.file_path(attachment.storage_name).unlink()

    _assert_unreadable_page(owner_client.get(reverse("attachment_download", args=[attachment.pk])))


def test_a_file_moved_onto_another_attachment_does_not_open_there(owner_client, report):
    png = report.attachments.get(size=len(PNG))
    pdf = report.attachments.get(size=len(PDF))
    png_path = evidence.file_path(png.storage_name)
    evidence.file_path(pdf.storage_name).write_bytes(png_path.read_bytes())

    _assert_unreadable_page(owner_client.get(reverse("attachment_download", args=[pdf.pk])))
    download = owner_client.get(reverse("attachment_download", args=[png.pk]))
    assert _body(download) == PNG


# --- Withdrawal and later evidence ---------------------------------------------------------


def _list_row(page: str, reference: str) -> str:
    match = re.search(rf"<tr>(?:(?!</tr>).)*{reference}(?:(?!</tr>).)*</tr>", page, re.DOTALL)
    assert match, f"no row for {reference}"
    return match.group(0)


def test_a_withdrawn_report_is_marked_once_and_takes_no_more_evidence(
    owner_client, report, reporter
):
    kept = _file_report(owner_client, "Den här står kvar.")
    response = owner_client.post(reverse("report_withdraw", args=[report.pk]))
    assert response.status_code == 302
    assert response["Location"] == reverse("report_list")
    withdrawn_at = Report.objects.get(pk=report.pk).withdrawn_at
    assert withdrawn_at is not None

    listing = owner_client.get(reverse("report_list")).content.decode()
    assert "Withdrawn" in _list_row(listing, report.reference)
    assert "Withdrawn" not in _list_row(listing, kept.reference)

    assert owner_client.get(reverse("report_withdraw", args=[report.pk])).status_code == 404
    assert owner_client.post(reverse("report_withdraw", args=[report.pk])).status_code == 404
    assert Report.objects.get(pk=report.pk).withdrawn_at == withdrawn_at

    files_before = _stored_files()
    attachments_before = Attachment.objects.count()
    added = owner_client.post(
        reverse("report_add_evidence", args=[report.pk]), {"evidence": [_file("ny.pdf", PDF)]}
    )
    assert added.status_code == 404
    assert Attachment.objects.count() == attachments_before
    assert _stored_files() == files_before

    # Still readable by its reporter, without the forms to change it.
    detail = owner_client.get(reverse("report_detail", args=[report.pk]))
    assert detail.status_code == 200
    page = detail.content.decode()
    assert SECRET_TEXT in page
    assert "Withdrawn" in page
    assert reverse("report_withdraw", args=[report.pk]) not in page
    assert reverse("report_add_evidence", args=[report.pk]) not in page


def test_evidence_added_later_is_stored_encrypted_and_comes_back(owner_client, report, reporter):
    content = "Nytt sms i morse: 'Vi ses efter mötet.'\n".encode()
    response = owner_client.post(
        reverse("report_add_evidence", args=[report.pk]),
        {"evidence": [_file("sms.txt", content)]},
        follow=True,
    )
    assert response.status_code == 200
    assert response.redirect_chain[-1][0] == reverse("report_detail", args=[report.pk])
    page = response.content.decode()
    assert "The files were added to your report." in page
    assert "sms.txt" in page

    added = report.attachments.get(size=len(content))
    assert added.uploaded_by == reporter
    assert added.content_type == "text/plain"
    assert added.sha256 == hashlib.sha256(content).hexdigest()
    on_disk = evidence.file_path(added.storage_name).read_bytes()
    assert content not in on_disk
    assert b"Vi ses" not in on_disk
    assert len(on_disk) > len(content)  # a header and a tag around the ciphertext
    download = owner_client.get(reverse("attachment_download", args=[added.pk]))
    assert _body(download) == content


def test_adding_evidence_without_a_file_says_so(owner_client, report):
    response = owner_client.post(reverse("report_add_evidence", args=[report.pk]), follow=True)
    assert "Choose at least one file to add." in response.content.decode()
    assert report.attachments.count() == 2


# --- Who may read: every role over HTTP ----------------------------------------------------

READERS = {Role.HANDLER, Role.DUTY_OFFICER, Role.SECURITY_LEAD}


@pytest.mark.parametrize("role", list(Role), ids=[role.value for role in Role])
def test_each_role_reads_someone_elses_report_and_file_only_if_a_case_worker(
    report, make_user, signed_in, role
):
    attachment = report.attachments.get(size=len(PNG))
    user = make_user(role)
    client = _english(Client())
    signed_in(client, user, verified=True)
    expected = 200 if role in READERS else 404

    detail = client.get(reverse("report_detail", args=[report.pk]))
    assert detail.status_code == expected
    if expected == 200:
        assert SECRET_TEXT in detail.content.decode()
        entries = AccessEntry.objects.filter(actor=user)
        assert [(e.purpose, e.object_type, e.object_id) for e in entries] == [
            (AccessEntry.Purpose.VIEW_REPORT, "influence_reports.report", str(report.pk))
        ]
    else:
        assert SECRET_TEXT not in detail.content.decode()
        assert not AccessEntry.objects.filter(actor=user).exists()

    download = client.get(reverse("attachment_download", args=[attachment.pk]))
    assert download.status_code == expected
    if expected == 200:
        assert _body(download) == PNG
        latest = AccessEntry.objects.filter(actor=user).exclude(
            purpose=AccessEntry.Purpose.VIEW_REPORT
        )
        assert [(e.purpose, e.object_type, e.object_id) for e in latest] == [
            (
                AccessEntry.Purpose.DOWNLOAD_ATTACHMENT,
                "influence_reports.attachment",
                str(attachment.pk),
            )
        ]
        assert AccessEntry.objects.filter(actor=user).count() == 2
    else:
        assert not AccessEntry.objects.filter(actor=user).exists()

    # Nobody but the owner may change it.
    for url in (
        reverse("report_withdraw", args=[report.pk]),
        reverse("report_receipt", args=[report.pk]),
    ):
        assert client.get(url).status_code == 404, url
    assert client.post(reverse("report_withdraw", args=[report.pk])).status_code == 404
    assert Report.objects.get(pk=report.pk).withdrawn_at is None


def test_the_owner_reads_their_report_and_file_and_each_read_is_logged_once(
    owner_client, report, reporter
):
    attachment = report.attachments.get(size=len(PDF))
    AccessEntry.objects.all().delete()

    assert owner_client.get(reverse("report_detail", args=[report.pk])).status_code == 200
    download = owner_client.get(reverse("attachment_download", args=[attachment.pk]))
    assert download.status_code == 200
    assert _body(download) == PDF

    entries = AccessEntry.objects.filter(actor=reporter).order_by("id")
    assert [(e.purpose, e.object_id) for e in entries] == [
        (AccessEntry.Purpose.VIEW_REPORT, str(report.pk)),
        (AccessEntry.Purpose.DOWNLOAD_ATTACHMENT, str(attachment.pk)),
    ]
    # The list and the receipt decrypt nothing, so they log nothing.
    owner_client.get(reverse("report_list"))
    owner_client.get(reverse("report_receipt", args=[report.pk]))
    assert AccessEntry.objects.count() == 2


@pytest.mark.parametrize("role", [Role.REPORTER, Role.HANDLER], ids=["reporter", "handler"])
def test_unknown_and_malformed_ids_answer_404_and_log_nothing(report, make_user, signed_in, role):
    user = make_user(role)
    client = _english(Client())
    signed_in(client, user, verified=True)
    attachment = report.attachments.first()
    assert attachment is not None
    unknown = str(uuid.uuid4())
    detail = reverse("report_detail", args=[unknown])
    download = reverse("attachment_download", args=[unknown])
    paths = [
        detail,
        reverse("report_receipt", args=[unknown]),
        reverse("report_withdraw", args=[unknown]),
        download,
        # An id of the other kind: a report's id is no attachment's, and the reverse.
        reverse("attachment_download", args=[report.pk]),
        reverse("report_detail", args=[attachment.pk]),
    ]
    for bad in ("123", "not-a-uuid", unknown.upper(), unknown[:-1], "%27%20OR%201%3D1--"):
        paths.append(detail.replace(unknown, bad))
        paths.append(download.replace(unknown, bad))
    for path in paths:
        assert client.get(path).status_code == 404, path
    assert client.post(reverse("report_withdraw", args=[unknown])).status_code == 404
    assert not AccessEntry.objects.filter(actor=user).exists()


def test_a_refused_report_and_an_unknown_one_look_the_same(report, make_user, signed_in):
    """A 404 for someone else's report says nothing a 404 for no report does not."""
    client = _english(Client())
    signed_in(client, make_user(Role.REPORTER), verified=False)
    unknown = uuid.uuid4()
    refused = client.get(reverse("report_detail", args=[report.pk]))
    missing = client.get(reverse("report_detail", args=[unknown]))
    assert refused.status_code == missing.status_code == 404

    def normalised(response, object_id: object) -> str:
        page = response.content.decode().replace(str(object_id), "ID")
        # A fresh CSP nonce and a freshly masked CSRF token in every response.
        page = re.sub(r'nonce="[^"]*"', 'nonce=""', page)
        return re.sub(r'name="csrfmiddlewaretoken" value="[^"]*"', "csrf", page)

    assert normalised(refused, report.pk) == normalised(missing, unknown)


# --- Files sent where they may not go leave nothing behind ---------------------------------


def _csrf_client(user: User, signed_in, page: str) -> tuple[Client, str]:
    """A client that enforces CSRF as a browser meets it, with a token from ``page``."""
    client = _english(Client(enforce_csrf_checks=True))
    signed_in(client, user, verified=True)
    response = client.get(page)
    assert response.status_code == 200
    match = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', response.content.decode())
    assert match, "no CSRF token on the page"
    return client, match.group(1)


def test_evidence_sent_to_someone_elses_report_answers_404_and_leaves_no_file(
    report, make_user, signed_in
):
    files_before = _stored_files()
    other = make_user(Role.REPORTER)
    client, token = _csrf_client(other, signed_in, reverse("report_new"))

    response = client.post(
        reverse("report_add_evidence", args=[report.pk]),
        {"csrfmiddlewaretoken": token, "evidence": [_file("inplant.pdf", PDF)]},
    )

    assert response.status_code == 404
    assert report.attachments.count() == 2
    assert _stored_files() == files_before


def test_evidence_sent_to_an_unknown_report_answers_404_and_leaves_no_file(
    report, reporter, signed_in
):
    files_before = _stored_files()
    client, token = _csrf_client(reporter, signed_in, reverse("report_new"))

    response = client.post(
        reverse("report_add_evidence", args=[uuid.uuid4()]),
        {"csrfmiddlewaretoken": token, "evidence": [_file("vilse.pdf", PDF)]},
    )

    assert response.status_code == 404
    assert _stored_files() == files_before


def test_a_report_with_files_sent_by_staff_answers_404_and_leaves_no_file(
    make_user, signed_in, report
):
    files_before = _stored_files()
    handler = make_user(Role.HANDLER)
    client, token = _csrf_client(handler, signed_in, reverse("report_detail", args=[report.pk]))

    response = client.post(
        reverse("report_new"),
        report_form(csrfmiddlewaretoken=token, evidence=[_file("bild.png", PNG)]),
    )

    assert response.status_code == 404
    assert Report.objects.count() == 1
    assert _stored_files() == files_before
