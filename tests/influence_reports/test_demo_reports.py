"""load_demo_data files realistic reports for the demo reporters, once, encrypted like uploads."""

from __future__ import annotations

import hashlib
import re
import stat
import uuid
from io import StringIO

import pytest
from django.core.management import call_command
from django.urls import reverse

from influence_reports import evidence
from influence_reports.models import Attachment, Report
from influence_reports.services import reports
from security_core.management.commands.load_demo_data import (
    DEMO_REPORTER,
    SECOND_REPORTER,
    THREAT_TRANSCRIPT,
)
from security_core.models import User

pytestmark = pytest.mark.django_db

REFERENCE = re.compile(r"VN-[2-9A-Z]{4}-[2-9A-Z]{4}")


@pytest.fixture(autouse=True)
def var_dir(settings, tmp_path):
    settings.VAR_DIR = tmp_path / "var"
    return settings.VAR_DIR


def _run() -> str:
    out = StringIO()
    call_command("load_demo_data", stdout=out)
    return out.getvalue()


def _stored_files(media_root) -> set[str]:
    folder = media_root / "attachments"
    return {path.name for path in folder.iterdir()} if folder.is_dir() else set()


def test_the_demo_reporter_sees_exactly_their_three_reports(client, signed_in):
    output = _run()
    rut = User.objects.get(email=DEMO_REPORTER)
    own = set(Report.objects.filter(reporter=rut).values_list("reference", flat=True))
    assert len(own) == 3
    assert "Demo reports: 5 (3 by reporter@demo.varn.test, 2 by reporter2@demo.varn.test)" in (
        output
    )

    signed_in(client, rut, verified=True)
    listing = client.get(reverse("report_list"))

    assert listing.status_code == 200
    assert set(REFERENCE.findall(listing.content.decode())) == own
    for report in Report.objects.filter(reporter=rut):
        detail = client.get(reverse("report_detail", args=[report.pk]))
        assert detail.status_code == 200
        assert report.description[:40] in detail.content.decode()


def test_the_reports_are_swedish_and_use_the_vocabularies(settings):
    _run()
    reports = list(Report.objects.filter(reporter__email=DEMO_REPORTER))

    categories = {code for report in reports for code in report.codes("category")}
    assert {"threat", "harassment", "bribery"} <= categories
    assert all(report.codes("channel") for report in reports)
    assert all(report.codes("consequence") for report in reports)
    assert all(report.district for report in reports)
    assert {report.perpetrator_kind for report in reports} >= {"company", "unknown"}
    assert all(re.search(r"[åäö]", report.description) for report in reports)
    assert sum(report.attachments.count() for report in reports) == 1
    # Spread over the past weeks rather than all filed in the same minute.
    assert len({report.submitted_at.date() for report in reports}) == 3


def test_the_attachment_downloads_as_the_same_bytes_and_is_encrypted_on_disk(
    client, signed_in, media_root
):
    _run()
    attachment = Attachment.objects.get(report__reporter__email=DEMO_REPORTER)
    original = THREAT_TRANSCRIPT.encode("utf-8")
    assert attachment.filename == "skarmdump-beskrivning.txt"
    assert attachment.content_type == "text/plain"
    assert attachment.size == len(original)
    assert attachment.sha256 == hashlib.sha256(original).hexdigest()
    path = evidence.file_path(attachment.storage_name)
    assert path.parent == media_root / "attachments"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    on_disk = path.read_bytes()
    assert b"Sista chansen" not in on_disk
    assert "Sista chansen".encode("utf-16-le") not in on_disk

    signed_in(client, User.objects.get(email=DEMO_REPORTER), verified=True)
    download = client.get(reverse("attachment_download", args=[attachment.pk]))

    assert download.status_code == 200
    assert b"".join(download.streaming_content) == original
    assert "skarmdump-beskrivning.txt" in download["Content-Disposition"]


def test_the_second_reporter_sees_only_their_own_reports_and_gets_404_on_the_others(
    client, signed_in
):
    _run()
    rolf = User.objects.get(email=SECOND_REPORTER)
    own = set(Report.objects.filter(reporter=rolf).values_list("reference", flat=True))
    assert len(own) == 2
    signed_in(client, rolf, verified=True)

    listing = client.get(reverse("report_list")).content.decode()
    assert set(REFERENCE.findall(listing)) == own

    for report in Report.objects.filter(reporter__email=DEMO_REPORTER):
        for name in ("report_detail", "report_receipt", "report_withdraw"):
            assert client.get(reverse(name, args=[report.pk])).status_code == 404, name
    attachment = Attachment.objects.get(report__reporter__email=DEMO_REPORTER)
    download = client.get(reverse("attachment_download", args=[attachment.pk]))
    assert download.status_code == 404


def test_running_twice_files_no_more_reports_and_stores_no_more_files(media_root):
    _run()
    references = set(Report.objects.values_list("reference", flat=True))
    files = _stored_files(media_root)
    assert len(references) == 5
    assert len(files) == 1

    output = _run()

    assert set(Report.objects.values_list("reference", flat=True)) == references
    assert Attachment.objects.count() == 1
    assert _stored_files(media_root) == files
    assert "Demo reports: 5 " in output


def test_a_reporter_who_already_has_reports_gets_none_added(client, signed_in):
    _run()
    rut = User.objects.get(email=DEMO_REPORTER)
    report = Report.objects.filter(reporter=rut).first()
    assert report is not None
    Report.objects.filter(reporter=rut).exclude(pk=report.pk).delete()

    _run()

    assert list(Report.objects.filter(reporter=rut)) == [report]


def test_store_bytes_encrypts_like_an_upload_and_refuses_what_an_upload_would(media_root):
    content = "Hej! Det här är en avskrift.\n".encode()
    report_id = uuid.uuid4()
    upload = evidence.store_bytes("../../etc/avskrift.txt", content, report_id=report_id)

    assert upload.name == "avskrift.txt"
    assert upload.content_type == "text/plain"
    assert upload.sha256 == hashlib.sha256(content).hexdigest()
    assert re.fullmatch(r"[0-9a-f]{32}\.bin", upload.storage_name)
    plain = b"".join(
        evidence.read_plaintext(
            storage_name=upload.storage_name,
            data_key=upload.data_key,
            report_id=report_id,
            attachment_id=upload.attachment_id,
        )
    )
    assert plain == content
    upload.discard()
    assert _stored_files(media_root) == set()

    for name, refused in (
        ("tom.txt", b""),
        ("sida.pdf", b"<html><script>alert(1)</script></html>"),
        ("polyglot.png", b"\x89PNG\r\n\x1a\n<script>alert(1)</script>"),
        ("binar.bin", b"\x00\x01\x02"),
    ):
        with pytest.raises(ValueError, match=r"."):
            evidence.store_bytes(name, refused, report_id=report_id)
    assert _stored_files(media_root) == set()


def test_a_failure_part_way_files_nothing_and_leaves_no_file_behind(monkeypatch, media_root):
    real_submit = reports.report_submit
    calls = []

    def failing_submit(**kwargs):
        calls.append(kwargs)
        if len(calls) == 2:
            raise RuntimeError("the database went away")
        return real_submit(**kwargs)

    monkeypatch.setattr(reports, "report_submit", failing_submit)

    with pytest.raises(RuntimeError):
        _run()

    assert not Report.objects.exists()
    assert _stored_files(media_root) == set()


def test_a_newcomer_on_duty_sees_a_working_day(client, signed_in):
    """Cases in several states, one acute and unacknowledged, one overdue, a worked case
    and a rota that has someone on call now."""
    from influence_reports.models import Case, RosterEntry

    _run()
    statuses = set(Case.objects.values_list("status", flat=True))
    assert {"received", "measures", "closed"} <= statuses
    acute = Case.objects.get(report__is_acute=True)
    assert acute.status == "received"
    assert Case.objects.filter(status="received", due_at__lt=acute.report.submitted_at).exists()
    worked = Case.objects.get(status="measures")
    assert worked.risk_assessments.exists()
    assert worked.measures.count() == 2
    assert worked.referrals.exists()
    assert RosterEntry.objects.count() == 28

    tib = User.objects.get(email="tib@demo.varn.test")
    signed_in(client, tib, verified=True)
    page = client.get(reverse("situation")).content.decode()
    assert acute.report.reference in page
    assert tib.email in page  # on call now, by the rota
