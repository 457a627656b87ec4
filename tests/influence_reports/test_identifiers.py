"""Perpetrator identifiers: normalised, kept only as keyed blind indexes, and matched across
cases without revealing a case the viewer may not see."""

from __future__ import annotations

import io

import pytest
from django.db import connection
from django.urls import reverse

from influence_reports import identifiers
from influence_reports.identifiers import Kind
from influence_reports.models import Case, PerpetratorIdentifier
from influence_reports.services.cases import case_recuse
from influence_reports.services.reports import ReportData, report_submit
from security_core.roles import Role

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Mejl: Hot.Mail@Example.SE", {(Kind.EMAIL, "hot.mail@example.se")}),
        ("070-123 45 67", {(Kind.PHONE, "+46701234567")}),
        ("+46 70 123 45 67", {(Kind.PHONE, "+46701234567")}),
        ("0046701234567", {(Kind.PHONE, "+46701234567")}),
        ("08-508 290 00", {(Kind.PHONE, "+46850829000")}),
        ("@Bromma_Patriot", {(Kind.HANDLE, "bromma_patriot")}),
        ("https://www.facebook.com/bromma_patriot", {(Kind.HANDLE, "bromma_patriot")}),
        ("instagram.com/@Some.Name", {(Kind.HANDLE, "some.name")}),
        ("Bolaget 556677-8899", {(Kind.ORG_NUMBER, "5566778899")}),
        ("16556677-8899", {(Kind.ORG_NUMBER, "5566778899")}),
        ("personnummer 850101-1234", set()),  # not an organisation number, nor a phone
        ("Han var ungefär 40 år och bar en blå jacka.", set()),
        ("Mötet 2026-09-13 kl 18", set()),
        ("0701234567", {(Kind.PHONE, "+46701234567")}),
        ("+46 (0)70-123 45 67", {(Kind.PHONE, "+46701234567")}),
        ("0721234567 eller 072-123 45 67", {(Kind.PHONE, "+46721234567")}),
        ("06/01/2024 och 01-05-2024 och 13.09.2026", set()),
        ("facebook.com/profile.php?id=1000123", {(Kind.HANDLE, "id:1000123")}),
        ("youtube.com/watch?v=abc och facebook.com/groups/x", set()),
        ("netflix.com/browse", set()),
        ("@Åsa_Örn", {(Kind.HANDLE, "åsa_örn")}),
        ("050101-1234 och 19850101-1234", set()),  # personal identity numbers
    ],
)
def test_identifiers_are_found_and_normalised(text, expected):
    assert identifiers.extract(text) == expected


def test_the_index_is_keyed_and_separate_from_the_encryption_keys(settings):
    first = identifiers.blind_index(Kind.PHONE, "+46701234567")
    assert first == identifiers.blind_index(Kind.PHONE, "+46701234567")
    assert first != identifiers.blind_index(Kind.EMAIL, "+46701234567")
    assert settings.VARN_BLIND_INDEX_KEY not in settings.VARN_KEYRING.values()
    assert settings.VARN_BLIND_INDEX_KEY != settings.VARN_AUDIT_KEY
    settings.VARN_BLIND_INDEX_KEY = b"k" * 32
    assert identifiers.blind_index(Kind.PHONE, "+46701234567") != first


def _file(identifier_text: str, **extra) -> Case:
    report = report_submit(
        reporter=None,
        data=ReportData(
            description="Hot.",
            reporter_role="official",
            categories=["threat"],
            encrypted={"perpetrator_identifiers": identifier_text, **extra},
        ),
    )
    return Case.objects.get(report=report)


def test_only_the_index_is_stored_never_the_identifier():
    _file("hotfull.avsandare@example.se, 070-987 65 43", contact_details="070-111 11 11")
    rows = list(PerpetratorIdentifier.objects.values_list("kind", "digest"))
    assert sorted(kind for kind, _ in rows) == ["email", "phone"]  # not the reporter's number
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT * FROM {PerpetratorIdentifier._meta.db_table}")  # noqa: S608
        dump = repr(cursor.fetchall())
    # (Not short digit runs: a hex digest holds "987" by chance in about one run in 30.)
    for clear in ("hotfull", "example.se", "9876543", "987 65", "+4670"):
        assert clear not in dump


def test_a_case_shows_the_other_cases_naming_the_same_identifier(client, make_user, signed_in):
    handler = make_user(Role.HANDLER)
    signed_in(client, handler, verified=True)
    first = _file("Skrev från @hotkontot")
    second = _file("instagram.com/HOTKONTOT och 070-555 55 55")
    unrelated = _file("@nagon_annan")
    page = client.get(reverse("case_detail", args=[first.pk])).content.decode()
    assert "1 annat ärende nämner samma identitet" in page  # Swedish first
    assert second.report.reference in page
    assert unrelated.report.reference not in page


def test_a_case_the_viewer_may_not_see_is_neither_counted_nor_linked(client, make_user, signed_in):
    handler = make_user(Role.HANDLER)
    signed_in(client, handler, verified=True)
    first = _file("0701234567")
    hidden = _file("+46 70 123 45 67")
    case_recuse(case=hidden, user=handler, actor=handler, reason="Min granne.")
    page = client.get(reverse("case_detail", args=[first.pk])).content.decode()
    assert "nämner samma identitet" not in page
    assert hidden.report.reference not in page


def test_rebuilding_the_index_under_a_new_key_makes_cases_match_again(settings):
    from django.core.management import call_command

    first = _file("Skrev från 070-555 55 55")
    second = _file("+46 70 555 55 55")
    settings.VARN_BLIND_INDEX_KEY = b"n" * 32  # the key is replaced
    third = _file("0705555555")  # indexed under the new key, the others not yet
    digests = dict(PerpetratorIdentifier.objects.values_list("case_id", "digest"))
    assert digests[third.pk] != digests[first.pk] == digests[second.pk]

    output = io.StringIO()
    call_command("rebuild_identifier_index", batch_size=2, stdout=output)

    assert output.getvalue().strip() == "Rebuilt the identifier indexes of 3 cases."

    assert PerpetratorIdentifier.objects.count() == 3
    assert len(set(PerpetratorIdentifier.objects.values_list("digest", flat=True))) == 1


def test_the_keys_must_differ(settings):
    from security_core.checks import varn_key_separation

    assert varn_key_separation() == []
    settings.VARN_BLIND_INDEX_KEY = settings.VARN_AUDIT_KEY
    problems = varn_key_separation()
    assert [problem.id for problem in problems] == ["varn.E003"]
    assert "VARN_AUDIT_KEY" in problems[0].msg
