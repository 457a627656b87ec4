"""A reporter files a report with evidence, finds it, reads it, downloads the same bytes."""

from __future__ import annotations

import hashlib

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from influence_reports.models import Attachment, Report
from security_core.models import AccessEntry
from tests.influence_reports.conftest import PDF, PNG, report_form

pytestmark = pytest.mark.django_db


def _file(name: str, content: bytes) -> SimpleUploadedFile:
    return SimpleUploadedFile(name, content, content_type="application/octet-stream")


def test_reporter_files_a_report_with_two_files_and_downloads_the_same_bytes(
    client, reporter, signed_in
):
    signed_in(client, reporter, verified=False)
    response = client.post(
        reverse("report_new"),
        report_form(evidence=[_file("skärmdump.png", PNG), _file("brev.pdf", PDF)]),
    )
    assert response.status_code == 302
    report = Report.objects.get()
    assert response["Location"] == reverse("report_receipt", args=[report.pk])
    receipt = client.get(response["Location"]).content.decode()
    assert report.reference in receipt

    listing = client.get(reverse("report_list")).content.decode()
    assert report.reference in listing

    detail = client.get(reverse("report_detail", args=[report.pk]))
    assert "vet var jag bor" in detail.content.decode()
    assert AccessEntry.objects.filter(
        actor=reporter, object_id=str(report.pk), purpose=AccessEntry.Purpose.VIEW_REPORT
    ).exists()

    attachments = {a.filename: a for a in Attachment.objects.filter(report=report)}
    assert set(attachments) == {"skärmdump.png", "brev.pdf"}
    png = attachments["skärmdump.png"]
    assert png.content_type == "image/png"
    assert png.sha256 == hashlib.sha256(PNG).hexdigest()
    download = client.get(reverse("attachment_download", args=[png.pk]))
    assert download.status_code == 200
    assert b"".join(download.streaming_content) == PNG
    assert download["Content-Disposition"].startswith("attachment;")
    assert download["X-Content-Type-Options"] == "nosniff"
    assert download["Content-Security-Policy"].startswith("sandbox")


def test_another_reporter_gets_404_for_the_report_its_receipt_and_its_files(
    client, reporter, make_user, signed_in
):
    signed_in(client, reporter, verified=False)
    client.post(reverse("report_new"), report_form(evidence=[_file("a.png", PNG)]))
    report = Report.objects.get()
    attachment = Attachment.objects.get()

    other = make_user()
    client.logout()
    signed_in(client, other, verified=False)
    for url in (
        reverse("report_detail", args=[report.pk]),
        reverse("report_receipt", args=[report.pk]),
        reverse("report_withdraw", args=[report.pk]),
        reverse("attachment_download", args=[attachment.pk]),
    ):
        assert client.get(url).status_code == 404, url
    assert client.post(reverse("report_withdraw", args=[report.pk])).status_code == 404
    assert not AccessEntry.objects.filter(actor=other).exists()


def test_per_report_limits_count_the_files_already_there(client, reporter, signed_in, settings):
    settings.VARN_UPLOAD_MAX_FILES = 2
    signed_in(client, reporter, verified=False)
    client.post(
        reverse("report_new"), report_form(evidence=[_file("a.png", PNG), _file("b.pdf", PDF)])
    )
    report = Report.objects.get()
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"

    response = client.post(
        reverse("report_add_evidence", args=[report.pk]), {"evidence": [_file("c.png", PNG)]}
    )

    assert response.status_code == 302
    assert Attachment.objects.filter(report=report).count() == 2
    page = client.get(response["Location"]).content.decode()
    assert "Too many files" in page
    files = list((settings.VARN_MEDIA_ROOT / "attachments").iterdir())
    assert len(files) == 2


def test_a_file_whose_data_key_cannot_be_unwrapped_gets_the_clear_page(
    client, reporter, signed_in, settings
):
    signed_in(client, reporter, verified=False)
    client.post(reverse("report_new"), report_form(evidence=[_file("a.png", PNG)]))
    attachment = Attachment.objects.get()
    settings.VARN_KEYRING = {"other": bytes(32)}  # the key that wrapped it is gone

    response = client.get(reverse("attachment_download", args=[attachment.pk]))

    assert response.status_code == 422
    assert "Traceback" not in response.content.decode()


def test_evidence_is_checked_again_under_the_report_lock(reporter, settings, media_root):
    from influence_reports.evidence import store_bytes
    from influence_reports.services import reports as report_services
    from tests.influence_reports.conftest import report_form as _form  # noqa: F401

    settings.VARN_UPLOAD_MAX_FILES = 1
    report = report_services.report_submit(
        reporter=reporter,
        data=report_services.ReportData(
            description="d", reporter_role="official", categories=["threat"]
        ),
    )
    first = store_bytes("a.txt", b"first", report_id=report.pk)
    second = store_bytes("b.txt", b"second", report_id=report.pk)
    report_services.attachments_add(report=report, uploads=[first], actor=reporter)

    with pytest.raises(report_services.EvidenceRefused):
        report_services.attachments_add(report=report, uploads=[second], actor=reporter)

    report_services.report_withdraw(report=report, actor=reporter)
    settings.VARN_UPLOAD_MAX_FILES = 10
    with pytest.raises(report_services.EvidenceRefused):
        report_services.attachments_add(report=report, uploads=[second], actor=reporter)
    assert Attachment.objects.filter(report=report).count() == 1


def test_a_person_in_danger_can_send_with_only_a_description(client, reporter, signed_in):
    signed_in(client, reporter, verified=False)
    form = report_form(is_acute="on", categories=[])
    response = client.post(reverse("report_new"), form)
    assert response.status_code == 302
    assert Report.objects.get().is_acute


def test_without_danger_a_kind_of_event_is_still_required(client, reporter, signed_in, settings):
    signed_in(client, reporter, verified=False)
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    response = client.post(reverse("report_new"), report_form(categories=[]))
    assert response.status_code == 400
    assert "Choose at least one kind of event." in response.content.decode()
    assert not Report.objects.exists()


def test_the_reporter_sees_everything_they_sent_on_the_report_page(
    client, reporter, signed_in, settings
):
    signed_in(client, reporter, verified=False)
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    client.post(
        reverse("report_new"),
        report_form(
            contact_details="070-111 22 33, any time",
            linked_decision="The building permit in Bromma",
            police_reported="yes",
            police_reference="5000-K123456-26",
        ),
    )
    page = client.get(reverse("report_detail", args=[Report.objects.get().pk])).content.decode()
    for shown in (
        "070-111 22 33, any time",
        "The building permit in Bromma",
        "5000-K123456-26",
        "Threat",
        "Social media",
    ):
        assert shown in page, shown


def test_between_password_and_code_the_menu_offers_only_signing_out(client, reporter, password):
    from security_core import services

    services.backup_codes_issue(user=reporter)  # a reporter who enrolled owes a code
    client.post(reverse("login"), {"username": reporter.email, "password": password})
    page = client.get(reverse("otp_verify")).content.decode()
    assert f'href="{reverse("account_security")}"' not in page
    assert f'href="{reverse("home")}"' not in page
    assert f'action="{reverse("logout")}"' in page
