"""Downloads name files by what they are; files stay with their report; bodies leave nothing.

Each test here stands for a finding of the security review of the reports code.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import reverse

from influence_reports.evidence import download_name
from influence_reports.models import Attachment, Report
from tests.influence_reports.conftest import PNG, report_form

pytestmark = pytest.mark.django_db


def _stored(media_root: Path) -> list[Path]:
    folder = media_root / "attachments"
    return sorted(folder.iterdir()) if folder.exists() else []


@pytest.mark.parametrize(
    ("name", "content_type", "expected"),
    [
        ("faktura.pdf.js", "text/plain", "faktura.txt"),
        ("brev.html", "message/rfc822", "brev.eml"),
        ("x.htm", "text/plain", "x.txt"),
        ("skärmdump.png", "image/png", "skärmdump.png"),
        ("rapport\u202egpj.exe", "application/pdf", "rapportgpj.pdf"),
        ("utan-ändelse", "application/pdf", "utan-ändelse.pdf"),
    ],
)
def test_a_download_carries_the_extension_of_what_the_content_is(name, content_type, expected):
    assert download_name(name, content_type) == expected


def test_a_script_uploaded_as_text_downloads_as_text(client, reporter, signed_in):
    signed_in(client, reporter, verified=False)
    script = SimpleUploadedFile("faktura.pdf.js", b'WScript.Shell.Run("calc")')
    client.post(reverse("report_new"), report_form(evidence=[script]))
    attachment = Attachment.objects.get()
    response = client.get(reverse("attachment_download", args=[attachment.pk]))
    assert response.status_code == 200
    assert 'filename="faktura.txt"' in response["Content-Disposition"]


def test_an_attachment_moved_to_another_report_does_not_open(client, reporter, signed_in):
    signed_in(client, reporter, verified=False)
    client.post(
        reverse("report_new"),
        report_form(evidence=[SimpleUploadedFile("a.png", PNG, content_type="image/png")]),
    )
    client.post(reverse("report_new"), report_form(description="En annan rapport."))
    attachment = Attachment.objects.get()
    other = Report.objects.exclude(pk=attachment.report_id).get()
    Attachment.objects.filter(pk=attachment.pk).update(report=other)

    response = client.get(reverse("attachment_download", args=[attachment.pk]))

    assert response.status_code == 422


def test_a_changed_size_column_is_caught_not_served_short(client, reporter, signed_in):
    signed_in(client, reporter, verified=False)
    client.post(
        reverse("report_new"),
        report_form(evidence=[SimpleUploadedFile("a.png", PNG, content_type="image/png")]),
    )
    attachment = Attachment.objects.get()
    Attachment.objects.filter(pk=attachment.pk).update(size=10)

    response = client.get(reverse("attachment_download", args=[attachment.pk]))

    assert response.status_code == 422


def test_a_body_that_breaks_after_its_files_leaves_no_file(
    client, reporter, signed_in, media_root, settings
):
    settings.DATA_UPLOAD_MAX_NUMBER_FIELDS = 20
    signed_in(client, reporter, verified=False)
    form = report_form(evidence=[SimpleUploadedFile("a.png", PNG, content_type="image/png")])
    form |= {f"extra{i}": "x" for i in range(40)}  # too many fields: the parse fails late

    response = client.post(reverse("report_new"), form)

    assert response.status_code == 400
    assert _stored(media_root) == []
    assert not Report.objects.exists()


def test_a_file_posted_to_any_other_form_is_not_kept(reporter, password, tmp_path, settings):
    settings.FILE_UPLOAD_TEMP_DIR = str(tmp_path)
    client = Client()
    client.get(reverse("login"))
    response = client.post(
        reverse("login"),
        {
            "username": reporter.email,
            "password": password,
            "blob": SimpleUploadedFile("big.bin", b"x" * (3 * 1024 * 1024)),
        },
    )
    assert response.status_code == 302  # the sign-in itself works
    assert list(tmp_path.iterdir()) == []  # and nothing of the file was spooled


def test_a_reference_collision_is_retried_and_the_report_filed(
    client, reporter, signed_in, monkeypatch
):
    signed_in(client, reporter, verified=False)
    client.post(reverse("report_new"), report_form())
    taken = Report.objects.get().reference
    fresh = iter([taken, "VN-2222-3333"])
    monkeypatch.setattr("influence_reports.models.new_reference", lambda: next(fresh))
    monkeypatch.setattr("influence_reports.services.reports.new_reference", lambda: "VN-2222-3333")
    monkeypatch.setattr(Report._meta.get_field("reference"), "default", lambda: taken)

    response = client.post(reverse("report_new"), report_form(description="Den andra."))

    assert response.status_code == 302
    assert set(Report.objects.values_list("reference", flat=True)) == {taken, "VN-2222-3333"}
