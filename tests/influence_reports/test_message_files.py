"""Files sent in a case's thread: by a signed-in reporter, an anonymous one (more evidence on
return) and a case worker; under the report's evidence rules, encrypted, bound to the report,
downloadable only by the two sides."""

from __future__ import annotations

import re

import pytest
from django.conf import settings
from django.core.cache import cache
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import reverse

from influence_reports import evidence
from influence_reports.models import Attachment, Case, Message, Report
from influence_reports.services import messages
from influence_reports.services.reports import ReportData, report_submit
from security_core.roles import Role
from tests.influence_reports.conftest import report_form

pytestmark = pytest.mark.django_db

CODE = re.compile(r"\b(\d{4} \d{4} \d{4} \d{4})\b")
PDF = b"%PDF-1.7\nKANARIE-fil-3301 kvitto pa mutan\n%%EOF\n"


@pytest.fixture(autouse=True)
def _fresh_cache():
    cache.clear()


def _pdf(name: str = "kvitto.pdf", content: bytes = PDF) -> SimpleUploadedFile:
    return SimpleUploadedFile(name, content, "application/pdf")


def _english(client: Client) -> Client:
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    return client


def _case(reporter=None) -> Case:
    report = report_submit(
        reporter=reporter,
        data=ReportData(description="Hot.", reporter_role="official", categories=["threat"]),
    )
    return Case.objects.get(report=report)


def _stored_bytes(attachment: Attachment) -> bytes:
    return evidence.file_path(attachment.storage_name).read_bytes()


def _downloaded(response) -> bytes:
    assert response.status_code == 200, response.content[:300]
    assert response["Content-Disposition"].startswith("attachment;")
    return b"".join(response.streaming_content)


def _anonymous_page(client: Client) -> tuple[Report, str]:
    filed = client.post(reverse("anonymous_new"), report_form())
    code = CODE.search(filed.content.decode())
    assert code
    page = client.post(reverse("anonymous_return"), {"code": code.group(1), "passphrase": ""})
    token = re.search(r'name="token" value="([^"]+)"', page.content.decode())
    assert token
    return Report.objects.get(), token.group(1)


def test_a_signed_in_reporter_sends_a_file_which_the_case_worker_downloads(
    client, reporter, make_user, signed_in
):
    case = _case(reporter)
    signed_in(_english(client), reporter, verified=True)
    response = client.post(
        reverse("report_message", args=[case.report.pk]),
        {"body": "Här är kvittot.", "evidence": [_pdf()]},
    )
    assert response.status_code == 302
    attachment = Attachment.objects.get()
    message = Message.objects.get()
    assert (attachment.message, attachment.report_id) == (message, case.report.pk)
    assert b"KANARIE" not in _stored_bytes(attachment)
    assert attachment.filename == "kvitto.pdf"
    # The reporter sees it under the message and among their evidence.
    page = client.get(reverse("report_detail", args=[case.report.pk])).content.decode()
    assert page.count(reverse("attachment_download", args=[attachment.pk])) == 2
    handler = make_user(Role.HANDLER)
    staff = signed_in_client(handler)
    case_page = staff.get(reverse("case_detail", args=[case.pk])).content.decode()
    assert "kvitto.pdf" in case_page
    assert _downloaded(staff.get(reverse("attachment_download", args=[attachment.pk]))) == PDF


def test_a_file_alone_is_a_message_and_a_refused_file_sends_nothing_and_keeps_the_text(
    client, reporter, signed_in
):
    case = _case(reporter)
    signed_in(_english(client), reporter, verified=True)
    url = reverse("report_message", args=[case.report.pk])
    assert client.post(url, {"body": "", "evidence": [_pdf()]}).status_code == 302
    assert Message.objects.get().body == ""
    refused = client.post(
        url,
        {
            "body": "Mitt svar som inte får försvinna",
            "evidence": [_pdf(), SimpleUploadedFile("sida.html", b"<html><script>x</script>")],
        },
    )
    assert refused.status_code == 400
    page = refused.content.decode()
    assert "sida.html" in page
    assert "cannot be accepted" in page
    assert "Mitt svar som inte får försvinna</textarea>" in page
    assert Message.objects.count() == 1
    assert Attachment.objects.count() == 1
    # No ciphertext is left behind by the refused post.
    stored = {path.name for path in (evidence.media_root() / "attachments").iterdir()}
    assert stored == {Attachment.objects.get().storage_name}


def test_the_reports_limits_count_every_file_however_it_came(client, reporter, signed_in, settings):
    settings.VARN_UPLOAD_MAX_FILES = 2
    case = _case(reporter)
    signed_in(_english(client), reporter, verified=True)
    url = reverse("report_message", args=[case.report.pk])
    assert client.post(url, {"body": "Ett", "evidence": [_pdf("a.pdf")]}).status_code == 302
    assert client.post(url, {"body": "Två", "evidence": [_pdf("b.pdf")]}).status_code == 302
    over = client.post(url, {"body": "Tre", "evidence": [_pdf("c.pdf")]})
    assert over.status_code == 400
    assert "Too many files" in over.content.decode()
    assert Attachment.objects.count() == 2
    assert Message.objects.count() == 2


def test_a_case_worker_sends_a_file_the_reporter_downloads_but_it_is_not_evidence(
    client, reporter, make_user, signed_in
):
    case = _case(reporter)
    handler = make_user(Role.HANDLER)
    staff = signed_in_client(handler)
    guide = _pdf("sakerhetsrad.pdf", b"%PDF-1.7\nRad om din sakerhet\n%%EOF\n")
    response = staff.post(
        reverse("case_message", args=[case.pk]), {"body": "Läs detta.", "evidence": [guide]}
    )
    assert response.status_code == 302
    attachment = Attachment.objects.get()
    assert attachment.message is not None
    assert attachment.message.side == Message.Side.CASE_WORKER
    assert attachment.uploaded_by == handler
    signed_in(_english(client), reporter, verified=True)
    page = client.get(reverse("report_detail", args=[case.report.pk])).content.decode()
    # Once, under the message: not among the reporter's evidence.
    assert page.count(reverse("attachment_download", args=[attachment.pk])) == 1
    assert _downloaded(client.get(reverse("attachment_download", args=[attachment.pk]))).startswith(
        b"%PDF"
    )
    # Another reporter gets nothing.
    stranger = signed_in_client(make_user(Role.REPORTER))
    assert stranger.get(reverse("attachment_download", args=[attachment.pk])).status_code == 404


def test_a_recused_case_worker_can_neither_send_nor_leave_a_file(reporter, make_user, signed_in):
    from influence_reports.services.cases import case_recuse

    case = _case(reporter)
    handler = make_user(Role.HANDLER)
    case_recuse(case=case, user=handler, actor=handler, reason="Jäv.")
    staff = signed_in_client(handler)
    response = staff.post(
        reverse("case_message", args=[case.pk]), {"body": "x", "evidence": [_pdf()]}
    )
    assert response.status_code == 404
    assert not Attachment.objects.exists()
    assert not any((evidence.media_root() / "attachments").glob("*.bin"))


def test_an_anonymous_reporter_adds_evidence_on_return_and_downloads_the_staffs_file(
    make_user,
):
    client = _english(Client(REMOTE_ADDR="198.51.100.9"))
    report, token = _anonymous_page(client)
    handler = make_user(Role.HANDLER)
    sent = client.post(
        reverse("anonymous_message"),
        {"token": token, "body": "Mer bevis.", "evidence": [_pdf()]},
    )
    assert sent.status_code == 200, sent.content.decode()[:500]
    attachment = Attachment.objects.get()
    # Bound to the report, though the report was known only after the file had streamed in.
    assert attachment.report_id == report.pk
    assert attachment.uploaded_by is None
    assert b"KANARIE" not in _stored_bytes(attachment)
    assert len(list((evidence.media_root() / "attachments").glob("*.bin"))) == 1
    staff = signed_in_client(handler)
    assert _downloaded(staff.get(reverse("attachment_download", args=[attachment.pk]))) == PDF

    messages.message_send(
        case=report.case,
        author=handler,
        side="case_worker",
        body="Tack.",
        uploads=[evidence.store_bytes("svar.pdf", b"%PDF-1.7\nsvar\n%%EOF\n", report_id=report.pk)],
    )
    reply = Attachment.objects.get(message__side="case_worker")
    page = client.post(reverse("anonymous_message"), {"token": token, "body": "Fick det."})
    assert f'name="attachment" value="{reply.pk}"' in page.content.decode()
    download = client.post(
        reverse("anonymous_attachment"), {"token": token, "attachment": str(reply.pk)}
    )
    assert _downloaded(download) == b"%PDF-1.7\nsvar\n%%EOF\n"


def test_an_anonymous_token_opens_only_its_own_reports_files(make_user):
    client = _english(Client())
    _report, token = _anonymous_page(client)
    other = _case()  # someone else's report, with a file
    messages.message_send(
        case=other,
        author=make_user(Role.HANDLER),
        side="case_worker",
        body="Privat.",
        uploads=[evidence.store_bytes("p.pdf", PDF, report_id=other.report.pk)],
    )
    theirs = Attachment.objects.get()
    refused = client.post(
        reverse("anonymous_attachment"), {"token": token, "attachment": str(theirs.pk)}
    )
    assert refused.status_code == 404
    for bad in ("", "not-a-uuid"):
        response = client.post(reverse("anonymous_attachment"), {"token": token, "attachment": bad})
        assert response.status_code == 404
    forged = client.post(
        reverse("anonymous_attachment"), {"token": token + "x", "attachment": str(theirs.pk)}
    )
    assert forged.status_code == 400
    assert b"KANARIE" not in forged.content


def test_an_anonymous_post_with_a_forged_token_keeps_no_file():
    client = _english(Client())
    response = client.post(
        reverse("anonymous_message"), {"token": "forged", "body": "x", "evidence": [_pdf()]}
    )
    assert response.status_code == 400
    assert not Attachment.objects.exists()
    assert not any((evidence.media_root() / "attachments").glob("*.bin"))


def signed_in_client(user) -> Client:
    from tests.conftest import sign_in

    client = _english(Client())
    sign_in(client, user, verified=True)
    return client


def test_files_the_staff_send_leave_the_reporters_allowance_alone(
    client, reporter, make_user, signed_in, settings
):
    settings.VARN_UPLOAD_MAX_FILES = 1
    case = _case(reporter)
    staff = signed_in_client(make_user(Role.HANDLER))
    for name in ("rad-1.pdf", "rad-2.pdf"):  # over the reporter's limit: the staff's own
        sent = staff.post(
            reverse("case_message", args=[case.pk]), {"body": "Läs.", "evidence": [_pdf(name)]}
        )
        assert sent.status_code == 302
    signed_in(_english(client), reporter, verified=True)
    url = reverse("report_message", args=[case.report.pk])
    assert client.post(url, {"body": "Mitt bevis", "evidence": [_pdf()]}).status_code == 302
    over = client.post(url, {"body": "Ett till", "evidence": [_pdf("b.pdf")]})
    assert over.status_code == 400
    assert "Too many files" in over.content.decode()
    assert Attachment.objects.count() == 3


def test_a_full_report_refuses_an_anonymous_file_before_sealing_it_again(
    make_user, settings, monkeypatch
):
    settings.VARN_UPLOAD_MAX_FILES = 1
    client = _english(Client())
    _report, token = _anonymous_page(client)
    url = reverse("anonymous_message")
    assert client.post(url, {"token": token, "evidence": [_pdf()]}).status_code == 200
    calls: list[object] = []
    real = evidence.rebind

    def counted(*args: object, **kwargs: object) -> None:
        calls.append(args)
        real(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(evidence, "rebind", counted)
    refused = client.post(url, {"token": token, "body": "Mer", "evidence": [_pdf("b.pdf")]})
    assert refused.status_code == 400
    assert "Too many files" in refused.content.decode()
    assert "Mer</textarea>" in refused.content.decode()
    assert calls == []
    assert Attachment.objects.count() == 1
