"""Evidence files leave with their rows, and uploads never saved do not linger."""

from __future__ import annotations

import os
import time
import uuid
from datetime import datetime

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from django.utils import timezone

from influence_reports.evidence import file_path, media_root, store_bytes
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


def test_an_anonymous_file_in_flight_is_not_taken_for_an_orphan_and_is_dated_once_kept():
    """An anonymous reporter's file is dated to the day only once its row is committed, so
    the hourly sweeper never takes one still streaming in for an old orphan."""
    from influence_reports.services.anonymous import anonymous_report_submit
    from influence_reports.services.evidence_files import orphaned_files_delete
    from influence_reports.services.reports import ReportData
    from security_core import discretion

    with discretion.discreet_times():
        upload = store_bytes("bevis.png", PNG, report_id=uuid.uuid4())
        assert orphaned_files_delete() == 0  # in flight: written just now
        assert file_path(upload.storage_name).exists()
        report, _code = anonymous_report_submit(
            data=ReportData(description="Hot.", reporter_role="official", categories=["threat"]),
            uploads=[upload],
            report_id=upload.report_id,
        )
    stored = file_path(Attachment.objects.get(report=report).storage_name)
    modified = datetime.fromtimestamp(stored.stat().st_mtime, tz=timezone.get_current_timezone())
    assert (modified.hour, modified.minute, modified.second) == (0, 0, 0)
    assert orphaned_files_delete() == 0  # dated to the day, but it has its row
    assert stored.exists()
