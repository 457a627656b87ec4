"""Evidence files leave with their rows, and uploads never saved do not linger."""

from __future__ import annotations

import os
import time

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from influence_reports.evidence import file_path, media_root
from influence_reports.models import Attachment, Report
from influence_reports.tasks import delete_orphaned_evidence
from security_core.models import DataKey
from tests.influence_reports.conftest import PNG, report_form

pytestmark = pytest.mark.django_db(transaction=True)


def _file_report(client, reporter, signed_in) -> Report:
    signed_in(client, reporter, verified=False)
    client.post(
        reverse("report_new"),
        report_form(evidence=[SimpleUploadedFile("a.png", PNG, content_type="image/png")]),
    )
    return Report.objects.get()


def test_deleting_a_report_deletes_its_files_and_every_data_key(client, reporter, signed_in):
    report = _file_report(client, reporter, signed_in)
    attachment = Attachment.objects.get()
    path = file_path(attachment.storage_name)
    keys = [report.data_key_id, attachment.data_key_id]
    assert path.exists()

    report.delete()

    assert not path.exists()
    assert not DataKey.objects.filter(pk__in=keys).exists()


def test_orphaned_upload_files_are_deleted_once_old_and_kept_ones_stay(client, reporter, signed_in):
    _file_report(client, reporter, signed_in)
    kept = file_path(Attachment.objects.get().storage_name)
    folder = media_root() / "attachments"
    orphan, fresh = folder / ("a" * 32 + ".bin"), folder / ("b" * 32 + ".bin")
    for path in (orphan, fresh):
        path.write_bytes(b"ciphertext of an upload whose report was never saved")
    two_hours_ago = time.time() - 7200
    for path in (orphan, kept):
        os.utime(path, (two_hours_ago, two_hours_ago))

    assert delete_orphaned_evidence.delay().get() == 1

    assert not orphan.exists()
    assert fresh.exists()  # may belong to an upload still in flight
    assert kept.exists()
