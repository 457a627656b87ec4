"""Evidence uploads through the real intake view: what is refused, what is kept, what is stored.

Each refusal (too large, too many, too large together, HTML renamed, PNG/HTML polyglots, an
empty file) answers a 400 page that says what was wrong and keeps everything typed, and
leaves no report and no file behind. A filename that is a path is cut to its last part by
Django before our handler sees it, and nothing is written outside the media root. Every
allowed type is accepted by its content and comes back byte for byte.
"""

from __future__ import annotations

import hashlib
import html
import io
import re
import zipfile
from pathlib import Path

import pytest
from django.conf import settings
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.files.uploadhandler import StopFutureHandlers
from django.urls import reverse

from influence_reports.evidence import EncryptingUploadHandler
from influence_reports.models import Attachment, Report
from tests.influence_reports.conftest import PDF, PNG, report_form

pytestmark = pytest.mark.django_db

TYPED = {
    "description": "Han stod utanför mitt hus i tre timmar och filmade. Jag vågar inte gå ut.",
    "perpetrator_details": "Lång man, grå jacka, har skrivit till mig förut.",
    "location_details": "Hemma, Björkvägen",
    "linked_decision": "Beslutet om nya vindkraftsparken",
    "sexual_nature": "on",
    "repeat": "on",
}
HTML = b"<!DOCTYPE html><html><body><script>alert(document.cookie)</script></body></html>\n"
SCRIPT = b"<html><script>alert(1)</script>"


def _file(name: str, content: bytes) -> SimpleUploadedFile:
    return SimpleUploadedFile(name, content, content_type="application/pdf")


@pytest.fixture
def reporter_client(client, reporter, signed_in):
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    signed_in(client, reporter, verified=False)
    return client


def _stored_files() -> list[Path]:
    root = Path(settings.VARN_MEDIA_ROOT)
    return [path for path in root.rglob("*") if path.is_file()] if root.exists() else []


def _textarea(page: str, name: str) -> str:
    match = re.search(rf'<textarea[^>]*name="{name}"[^>]*>(.*?)</textarea>', page, re.DOTALL)
    assert match, f"no textarea {name}"
    return html.unescape(match.group(1)).strip()


def _input_value(page: str, name: str) -> str:
    match = re.search(rf'<input[^>]*name="{name}"[^>]*>', page)
    assert match, f"no input {name}"
    value = re.search(r'value="([^"]*)"', match.group(0))
    return html.unescape(value.group(1)) if value else ""


def _checked(page: str, name: str) -> bool:
    match = re.search(rf'<input[^>]*name="{name}"[^>]*>', page)
    assert match, f"no input {name}"
    return " checked" in match.group(0)


def _assert_everything_typed_is_kept(page: str) -> None:
    assert _textarea(page, "description") == TYPED["description"]
    assert _textarea(page, "perpetrator_details") == TYPED["perpetrator_details"]
    assert _textarea(page, "linked_decision") == TYPED["linked_decision"]
    assert _input_value(page, "location_details") == TYPED["location_details"]
    assert _checked(page, "sexual_nature")
    assert _checked(page, "repeat")
    assert re.search(r'<input[^>]*name="categories"[^>]*value="threat"[^>]*checked', page)


REFUSALS = [
    pytest.param(
        {"VARN_UPLOAD_MAX_FILE_BYTES": 1024},
        [("stor.pdf", PDF + b"0" * 2048)],
        "The file is too large: at most",
        id="oversize",
    ),
    pytest.param(
        {"VARN_UPLOAD_MAX_FILES": 2},
        [("a.png", PNG), ("b.png", PNG), ("c.png", PNG)],
        "Too many files: at most 2 per report.",
        id="too-many",
    ),
    pytest.param(
        {"VARN_UPLOAD_MAX_REPORT_BYTES": 1500},
        [("ett.pdf", PDF + b"1" * 900), ("tva.pdf", PDF + b"2" * 900)],
        "The files are too large together: at most",
        id="too-large-together",
    ),
    pytest.param({}, [("faktura.pdf", HTML)], "This kind of file cannot", id="html-renamed-pdf"),
    pytest.param({}, [("bild.png", PNG + SCRIPT)], "This kind of file cannot", id="png-then-html"),
    pytest.param({}, [("bild.png", SCRIPT + PNG)], "This kind of file cannot", id="html-then-png"),
    pytest.param(
        {},
        [("ritning.svg", b'<svg xmlns="http://www.w3.org/2000/svg" onload="alert(1)"/>')],
        "This kind of file cannot",
        id="svg",
    ),
    pytest.param(
        {},
        # HTML far past the head the type is decided by.
        [("lang.pdf", PDF + b" " * 200_000 + SCRIPT)],
        "This kind of file cannot",
        id="html-past-the-head",
    ),
    pytest.param(
        {},
        [("program.exe", b"MZ\x90\x00\x03\x00\x00\x00\x04\x00\x00\x00\xff\xff\x00\x00")],
        "This kind of file cannot",
        id="executable",
    ),
    pytest.param({}, [("tom.pdf", b"")], "The file is empty.", id="empty"),
]


TAG = b"<script>"


@pytest.mark.parametrize("split", range(1, len(TAG)))
def test_html_split_between_two_chunks_is_still_found(split):
    """Each chunk alone holds no whole tag; only the two together do."""
    handler = EncryptingUploadHandler()
    with pytest.raises(StopFutureHandlers):
        handler.new_file("evidence", "delad.pdf", "application/pdf", None)
    body = PDF + b" " * 1000 + TAG + b" " * 1000
    cut = len(PDF) + 1000 + split
    handler.receive_data_chunk(body[:cut], 0)
    handler.receive_data_chunk(body[cut:], cut)
    assert handler.file_complete(len(body)) is None
    assert [refusal.name for refusal in handler.refusals] == ["delad.pdf"]
    assert _stored_files() == []


@pytest.mark.parametrize(("overrides", "files", "message"), REFUSALS)
def test_a_refused_file_gets_a_clear_message_keeps_what_was_typed_and_leaves_nothing(
    reporter_client, settings, overrides, files, message
):
    for name, value in overrides.items():
        setattr(settings, name, value)
    response = reporter_client.post(
        reverse("report_new"),
        report_form(**TYPED, evidence=[_file(name, content) for name, content in files]),
    )

    assert response.status_code == 400
    page = response.content.decode()
    assert message in page
    assert "Choose your files again before you send" in page
    assert "Traceback" not in page
    _assert_everything_typed_is_kept(page)
    assert not Report.objects.exists()
    assert not Attachment.objects.exists()
    assert _stored_files() == []


def test_the_refusal_names_the_refused_file_and_not_the_accepted_one(reporter_client):
    response = reporter_client.post(
        reverse("report_new"),
        report_form(**TYPED, evidence=[_file("bra.png", PNG), _file("farlig.pdf", HTML)]),
    )
    assert response.status_code == 400
    summary = response.content.decode().split('class="error-summary"')[1].split("</div>")[0]
    assert "farlig.pdf: This kind of file cannot be accepted" in summary
    assert "bra.png" not in summary
    assert _stored_files() == []  # the accepted file's ciphertext is deleted too
    assert not Report.objects.exists()


def test_a_refused_file_and_a_missing_answer_are_both_reported(reporter_client):
    form = report_form(**TYPED, evidence=[_file("tom.pdf", b"")])
    del form["categories"]
    response = reporter_client.post(reverse("report_new"), form)
    assert response.status_code == 400
    page = response.content.decode()
    assert "Choose at least one kind of event." in page
    assert "The file is empty." in page
    assert _textarea(page, "description") == TYPED["description"]
    assert _stored_files() == []


def test_a_valid_file_is_not_kept_when_the_form_is_sent_back(reporter_client):
    form = report_form(**TYPED, evidence=[_file("brev.pdf", PDF)])
    form["description"] = ""
    response = reporter_client.post(reverse("report_new"), form)
    assert response.status_code == 400
    assert "Choose your files again before you send" in response.content.decode()
    assert _stored_files() == []


def _multipart(fields: dict[str, object], files: list[tuple[str, bytes]]) -> tuple[bytes, str]:
    """A multipart body written by hand, so a filename reaches Django exactly as given.

    (The test client would pass every filename through ``os.path.basename`` first.)
    """
    boundary = "VarnBoundary7MA4YWxkTrZu0gW"
    parts: list[bytes] = []
    for name, value in fields.items():
        for item in value if isinstance(value, list) else [value]:
            parts.append(
                f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n'
                f"{item}\r\n".encode()
            )
    for filename, content in files:
        header = (
            f'--{boundary}\r\nContent-Disposition: form-data; name="evidence"; '
            f'filename="{filename}"\r\nContent-Type: application/pdf\r\n\r\n'
        )
        parts.append(header.encode() + content + b"\r\n")
    parts.append(f"--{boundary}--\r\n".encode())
    return b"".join(parts), f"multipart/form-data; boundary={boundary}"


@pytest.mark.parametrize(
    ("sent_name", "stored_name"),
    [
        ("../../etc/passwd.pdf", "passwd.pdf"),
        ("../../../../../../tmp/varn-escape.pdf", "varn-escape.pdf"),
        ("C:\\Users\\x\\evil.pdf", "evil.pdf"),
        ("/etc/cron.d/evil.pdf", "evil.pdf"),
    ],
)
def test_a_filename_that_is_a_path_is_stored_by_its_last_part_and_writes_nothing_outside(
    reporter_client, media_root, tmp_path, sent_name, stored_name
):
    body, content_type = _multipart(report_form(**TYPED), [(sent_name, PDF)])
    response = reporter_client.post(reverse("report_new"), body, content_type=content_type)

    assert response.status_code == 302
    attachment = Attachment.objects.get()
    assert attachment.filename == stored_name
    assert re.fullmatch(r"[0-9a-f]{32}\.bin", attachment.storage_name)
    stored = _stored_files()
    assert stored == [Path(media_root) / "attachments" / attachment.storage_name]
    # Nothing anywhere else in the test's directory, nor where the path pointed.
    outside = [
        path
        for path in tmp_path.rglob("*")
        if path.is_file() and Path(media_root) not in path.parents
    ]
    assert outside == []
    assert not Path("/tmp/varn-escape.pdf").exists()  # noqa: S108 - where "../" would lead
    assert not (tmp_path / "etc").exists()
    download = reporter_client.get(reverse("attachment_download", args=[attachment.pk]))
    assert b"".join(download.streaming_content) == PDF
    assert f'filename="{stored_name}"' in download["Content-Disposition"]


def _docx() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("[Content_Types].xml", '<?xml version="1.0"?><Types/>')
        archive.writestr("word/document.xml", "<w:document>Du ska rösta nej</w:document>")
    return buffer.getvalue()


JPEG = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00\xff\xd9"
EML = (
    "Received: from mx.example.com by mail.example.se\r\n"
    "From: Okänd <anonym@example.com>\r\n"
    "To: rut@example.se\r\n"
    "Subject: Du vet vad som händer\r\n"
    "Date: Mon, 1 Jun 2026 10:00:00 +0200\r\n"
    "MIME-Version: 1.0\r\n"
    "Content-Type: text/plain; charset=utf-8\r\n"
    "\r\n"
    "Rösta nej på tisdag, annars vet du vad som händer.\r\n"
).encode()
EML_WITH_HTML = (
    b"From: anonym@example.com\r\nTo: rut@example.se\r\nSubject: Hot\r\n"
    b"MIME-Version: 1.0\r\nContent-Type: multipart/alternative; boundary=x\r\n\r\n"
    b"--x\r\nContent-Type: text/html\r\n\r\n<html><body><p>R\xc3\xb6sta nej.</p></body></html>\r\n"
    b"--x--\r\n"
)
MP3 = b"ID3\x04\x00\x00\x00\x00\x00\x00" + b"\xff\xfb\x90\x00" + b"\x00" * 64
MP4 = b"\x00\x00\x00\x18ftypisom\x00\x00\x02\x00isomiso2" + b"\x00\x00\x00\x08free"

ALLOWED = [
    pytest.param("brev.pdf", PDF, "application/pdf", id="pdf"),
    pytest.param("skärmdump.png", PNG, "image/png", id="png"),
    pytest.param("foto.jpg", JPEG, "image/jpeg", id="jpeg"),
    pytest.param("anteckning.txt", b"Klockan 21:14 ringde han.\n", "text/plain", id="text"),
    pytest.param("hot.eml", EML, "message/rfc822", id="eml"),
    pytest.param("hot-html.eml", EML_WITH_HTML, "message/rfc822", id="eml-with-html-part"),
    pytest.param(
        "brev.docx",
        _docx(),
        "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
        id="docx",
    ),
    pytest.param("röstbrevlåda.mp3", MP3, "audio/mpeg", id="mp3"),
    pytest.param("film.mp4", MP4, "video/mp4", id="mp4"),
]


@pytest.mark.parametrize(("name", "content", "content_type"), ALLOWED)
def test_an_allowed_type_is_accepted_by_its_content_and_comes_back_unchanged(
    reporter_client, name, content, content_type
):
    response = reporter_client.post(
        reverse("report_new"), report_form(evidence=[_file(name, content)])
    )
    assert response.status_code == 302, response.content.decode()[:3000]
    attachment = Attachment.objects.get()
    assert attachment.filename == name
    assert attachment.content_type == content_type
    assert attachment.size == len(content)
    assert attachment.sha256 == hashlib.sha256(content).hexdigest()
    [stored] = _stored_files()
    assert content not in stored.read_bytes()
    download = reporter_client.get(reverse("attachment_download", args=[attachment.pk]))
    assert download.status_code == 200
    assert download["Content-Type"] == content_type
    assert b"".join(download.streaming_content) == content


def test_the_name_sent_does_not_decide_the_type(reporter_client):
    response = reporter_client.post(
        reverse("report_new"), report_form(evidence=[_file("bild.pdf", PNG)])
    )
    assert response.status_code == 302
    assert Attachment.objects.get().content_type == "image/png"


def test_ten_files_at_the_default_limits_are_accepted(reporter_client):
    files = [_file(f"bild-{n}.png", PNG) for n in range(settings.VARN_UPLOAD_MAX_FILES)]
    response = reporter_client.post(reverse("report_new"), report_form(evidence=files))
    assert response.status_code == 302
    assert Attachment.objects.count() == settings.VARN_UPLOAD_MAX_FILES == 10
    assert len(_stored_files()) == 10


def test_a_refused_file_added_later_is_named_and_leaves_nothing(reporter_client):
    reporter_client.post(reverse("report_new"), report_form())
    report = Report.objects.get()
    response = reporter_client.post(
        reverse("report_add_evidence", args=[report.pk]),
        {"evidence": [_file("bild.png", PNG + SCRIPT)]},
        follow=True,
    )
    assert response.status_code == 200
    assert "bild.png: This kind of file cannot be accepted" in response.content.decode()
    assert not Attachment.objects.exists()
    assert _stored_files() == []
