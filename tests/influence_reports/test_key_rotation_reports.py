"""Reports survive key rotation, and deleting a report destroys everything that could open it.

After ``rotate_keys --new-key`` (ring in a file) and the old key's removal from the ring, a
report's every encrypted field and its attachments still open, through the pages and the
model. Deleting a report deletes its data key, its attachments' data keys and their
encrypted files (crypto-shredding): a copy of the rows no longer opens.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import call_command
from django.urls import reverse

from influence_reports import evidence
from influence_reports.models import ENCRYPTED_REPORT_FIELDS as ENCRYPTED_FIELDS
from influence_reports.models import Attachment, Report
from security_core.crypto import DecryptionError
from security_core.environment import encode_key, parse_keyring
from security_core.models import DataKey
from tests.influence_reports.conftest import PDF, PNG, report_form

pytestmark = pytest.mark.django_db

OLD = {"old": bytes(range(32))}
TEXT = "Han erbjöd 50 000 kronor om jag röstade för bygglovet."
ANSWERS = {
    "description": TEXT,
    "perpetrator_details": "Byggherrens kontaktperson",
    "perpetrator_identifiers": "kontakt@bygg.example",
    "location_details": "Lunch på restaurang nära stadshuset",
    "contact_details": "Mobil efter 18",
    "linked_decision": "Bygglov för kvarteret Lärkan",
    "police_reference": "5000-K123456-26",
    "profile_party": "Ett parti",
    "profile_gender": "woman",
    "profile_age_band": "45_64",
    "profile_assembly": "municipal_council",
    "profile_chair_post": "on",
}


def _file(name: str, content: bytes) -> SimpleUploadedFile:
    return SimpleUploadedFile(name, content, content_type="application/octet-stream")


@pytest.fixture
def old_ring(settings, tmp_path) -> Path:
    ring_file = tmp_path / "keyring"
    ring_file.write_text(f"old:{encode_key(OLD['old'])}\n")
    settings.VARN_KEYRING = dict(OLD)
    settings.VARN_KEYRING_PATH = ring_file
    return ring_file


@pytest.fixture
def filed(client, reporter, signed_in, old_ring, settings) -> Report:
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    signed_in(client, reporter, verified=False)
    response = client.post(
        reverse("report_new"),
        report_form(
            **ANSWERS,
            police_reported="yes",
            evidence=[_file("kvitto.pdf", PDF), _file("foto.png", PNG)],
        ),
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    return Report.objects.get()


def _plain(report: Report) -> dict[str, str | None]:
    fresh = Report.objects.get(pk=report.pk)
    return {name: getattr(fresh, name) for name in ENCRYPTED_FIELDS}


def test_after_rotation_without_the_old_key_the_report_and_its_files_open(
    client, filed, old_ring, settings
):
    before = _plain(filed)
    assert before["description"] == TEXT
    assert before["profile_gender"] == "woman"
    assert set(DataKey.objects.values_list("kek_id", flat=True)) == {"old"}
    assert DataKey.objects.count() == 3  # the report and its two files

    call_command("rotate_keys", "--new-key")
    new_id = list(parse_keyring("test", old_ring.read_text().strip()))[-1]
    settings.VARN_KEYRING = parse_keyring("test", old_ring.read_text().strip())
    call_command("rotate_keys", "--activate", new_id)
    ring = parse_keyring("test", old_ring.read_text().strip())
    assert list(ring) == [new_id, "old"]
    settings.VARN_KEYRING = ring  # every process restarted with the new ring
    call_command("rotate_keys")
    assert set(DataKey.objects.values_list("kek_id", flat=True)) == {new_id}
    settings.VARN_KEYRING = {new_id: ring[new_id]}  # the old key leaves the ring

    assert _plain(filed) == before
    detail = client.get(reverse("report_detail", args=[filed.pk]))
    assert detail.status_code == 200
    assert TEXT in detail.content.decode()
    for attachment in Attachment.objects.filter(report=filed):
        download = client.get(reverse("attachment_download", args=[attachment.pk]))
        assert download.status_code == 200
        expected = PDF if attachment.filename == "kvitto.pdf" else PNG
        assert b"".join(download.streaming_content) == expected


def test_without_rotation_removing_the_old_key_leaves_the_report_unopenable(filed, settings):
    """The converse, so the test above can fail: the ring really is what opens the report."""
    settings.VARN_KEYRING = {"other": bytes(range(64, 96))}
    with pytest.raises(DecryptionError):
        _ = Report.objects.get(pk=filed.pk).description


def test_a_report_filed_after_rotation_opens_under_the_new_key_alone(
    client, reporter, signed_in, old_ring, settings
):
    call_command("rotate_keys", "--new-key")
    new_id = list(parse_keyring("test", old_ring.read_text().strip()))[-1]
    settings.VARN_KEYRING = parse_keyring("test", old_ring.read_text().strip())
    call_command("rotate_keys", "--activate", new_id)
    ring = parse_keyring("test", old_ring.read_text().strip())
    settings.VARN_KEYRING = ring  # the web process restarted with the new ring
    signed_in(client, reporter, verified=False)
    client.post(reverse("report_new"), report_form(description=TEXT))
    settings.VARN_KEYRING = {new_id: ring[new_id]}
    assert Report.objects.get().description == TEXT
    assert set(DataKey.objects.values_list("kek_id", flat=True)) == {new_id}


def _shred_targets(report: Report) -> tuple[set[Any], list[Path], dict[str, bytes]]:
    attachments = list(Attachment.objects.filter(report=report))
    keys = {report.data_key_id, *(a.data_key_id for a in attachments)}
    files = [evidence.file_path(a.storage_name) for a in attachments]
    row = Report.objects.filter(pk=report.pk).values(*ENCRYPTED_FIELDS).get()
    return keys, files, {k: bytes(v) for k, v in row.items() if v is not None}


@pytest.mark.parametrize("how", ["instance", "queryset"])
def test_deleting_a_report_destroys_its_data_keys(filed, how):
    keys, _files, _row = _shred_targets(filed)
    assert len(keys) == 3
    assert DataKey.objects.filter(pk__in=keys).count() == 3

    if how == "instance":
        Report.objects.get(pk=filed.pk).delete()
    else:
        Report.objects.filter(pk=filed.pk).delete()

    assert not Report.objects.exists()
    assert not Attachment.objects.exists()
    assert not DataKey.objects.filter(pk__in=keys).exists()


def test_a_copy_of_a_deleted_reports_row_no_longer_opens(filed):
    """What a backup holds of the row is ciphertext whose key no longer exists."""
    _keys, _files, row = _shred_targets(filed)
    saved = Report.objects.get(pk=filed.pk)
    copy_id, copy_pk = saved.data_key_id, saved.pk
    saved.delete()

    ghost = Report(pk=copy_pk, data_key_id=copy_id)
    ghost.description = row["description"]  # the stored ciphertext, as loaded from a backup
    with pytest.raises((DataKey.DoesNotExist, DecryptionError)):
        _ = ghost.description


@pytest.mark.parametrize("how", ["instance", "queryset"])
def test_deleting_a_report_deletes_its_encrypted_files(
    filed, how, django_capture_on_commit_callbacks
):
    _keys, files, _row = _shred_targets(filed)
    assert len(files) == 2
    assert all(path.exists() for path in files)

    # The files go once the deletion has committed (a rolled-back delete keeps them).
    with django_capture_on_commit_callbacks(execute=True):
        if how == "instance":
            Report.objects.get(pk=filed.pk).delete()
        else:
            Report.objects.filter(pk=filed.pk).delete()

    assert [path for path in files if path.exists()] == []


def test_deleting_one_report_leaves_the_others_keys_and_files(client, filed):
    client.post(
        reverse("report_new"),
        report_form(description="En annan rapport.", evidence=[_file("annan.pdf", PDF)]),
    )
    other = Report.objects.exclude(pk=filed.pk).get()
    keys, files, _row = _shred_targets(other)

    Report.objects.get(pk=filed.pk).delete()

    assert DataKey.objects.filter(pk__in=keys).count() == 2
    assert all(path.exists() for path in files)
    assert Report.objects.get(pk=other.pk).description == "En annan rapport."
