"""Trend cells: counted with each submission, withdrawal and deletion, and the same when
rebuilt from scratch; the election calendar and ISO weeks at their edges."""

from __future__ import annotations

import logging
import random
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from django.core.management import call_command

from influence_reports import choices, elections, trends
from influence_reports.models import Election, Report, TrendCell
from influence_reports.services.reports import (
    ReportData,
    report_delete,
    report_submit,
    report_withdraw,
)
from security_core import crypto
from security_core.roles import Role

pytestmark = pytest.mark.django_db

STOCKHOLM = ZoneInfo("Europe/Stockholm")


def _file(*, reporter=None, submitted_at=None, profile=None, **data) -> Report:
    data = {
        "description": "Hot mot mig.",
        "reporter_role": "official",
        "categories": ["threat"],
    } | data
    encrypted = dict(profile or {})
    return report_submit(
        reporter=reporter,
        data=ReportData(encrypted=encrypted, **data),
        submitted_at=submitted_at,
    )


def _local(year: int, month: int, day: int, hour: int = 12) -> datetime:
    return datetime(year, month, day, hour, tzinfo=STOCKHOLM)


def _random_report(rng: random.Random, reporter) -> Report:
    categories = rng.sample(choices.Category.values, rng.randint(1, 3))
    return _file(
        reporter=reporter,
        submitted_at=_local(2026, 1, 1) + timedelta(hours=rng.randint(0, 24 * 300)),
        categories=categories,
        channels=rng.sample(choices.Channel.values, rng.randint(0, 2)),
        consequences=rng.sample(choices.Consequence.values, rng.randint(0, 2)),
        district=rng.choice(["bromma", "kungsholmen", "rinkeby_kista", ""]),
        reporter_role=rng.choice(choices.ReporterRole.values),
        perpetrator_kind=rng.choice(choices.PerpetratorKind.values),
        police_reported=rng.choice(choices.PoliceReported.values),
        sexual_nature=rng.random() < 0.2,
        is_acute=rng.random() < 0.1,
        profile={
            "profile_gender": rng.choice(["", *choices.Gender.values]),
            "profile_age_band": rng.choice(["", *choices.AgeBand.values]),
            "profile_assembly": rng.choice(["", *choices.Assembly.values]),
            "profile_chair_post": rng.choice(["", "yes"]),
            "profile_party": rng.choice(["", "Moderaterna", "v", "Lokala partiet", "S"]),
        },
    )


def test_a_submission_is_counted_in_every_dimension_and_group_in_its_transaction(make_user):
    report = _file(
        reporter=make_user(Role.REPORTER),
        submitted_at=_local(2026, 5, 6),
        categories=["threat", "bribery"],
        channels=["social_media", "email"],
        consequences=["avoided_issue"],
        district="bromma",
        reporter_role="candidate",
        profile={"profile_gender": "woman", "profile_party": "Vänsterpartiet"},
    )

    cells = trends.cells()
    week = date(2026, 5, 4)
    scopes = [("", ""), ("district", "bromma"), ("role", "candidate")]
    for group in ("", "threats_harassment", "corruption"):
        for scope in scopes:
            context = (week, group, *scope)
            sealed = {
                dimension: trends.seal(week, group, *scope, dimension, value)
                for dimension, value in (("gender", "woman"), ("party", "v"), ("age_band", ""))
            }
            assert cells[(*context, "total", "")] == 1
            assert cells[(*context, "channel", "email")] == 1
            assert cells[(*context, "election", "yes")] == 1
            for dimension, value in sealed.items():
                assert cells[(*context, dimension, value)] == 1
                assert value.startswith("~")
                assert trends.unseal(week, group, *scope, dimension, value) is not None
            assert trends.unseal(week, group, *scope, "party", sealed["party"]) == "v"
    assert (week, "violence_damage_theft", "", "", "total", "") not in cells
    # Everyone, the district and the role; all groups and each of its two.
    assert sum(n for key, n in cells.items() if key[4] == "total") == 3 * 3
    # No cell crosses the district with the role.
    assert {key[2:4] for key in cells} == set(scopes)
    assert report.tags.count() == 5


def test_cells_kept_by_submission_withdrawal_and_deletion_equal_a_rebuild(make_user):
    rng = random.Random(6)
    reporter = make_user(Role.REPORTER)
    reports = [_random_report(rng, reporter) for _ in range(40)]
    for report in reports[:5]:
        report_withdraw(report=report, actor=reporter)
    report_withdraw(report=reports[0], actor=reporter)  # twice: counted out once
    for report in reports[3:8]:
        report_delete(report=report)  # two of them withdrawn already
    kept = trends.cells()
    assert kept
    assert all(n > 0 for n in kept.values())

    trends.trends_rebuild()

    assert trends.cells() == kept
    totals = sum(n for key, n in kept.items() if key[1:3] == ("", "") and key[4] == "total")
    assert (
        totals == Report.objects.filter(withdrawn_at__isnull=True).count() == 32
    )  # 40, 5 withdrawn, 5 deleted (2 of them withdrawn)


def test_the_rebuild_command_and_task_replace_wrong_cells(make_user):
    rng = random.Random(7)
    reporter = make_user(Role.REPORTER)
    for _ in range(5):
        _random_report(rng, reporter)
    right = trends.cells()
    TrendCell.objects.filter(dimension="gender").update(count=99)
    TrendCell.objects.create(
        week=date(2020, 1, 6), grp="", scope="role", scope_value="y", dimension="total", count=1
    )

    call_command("rebuild_trends", verbosity=0)
    assert trends.cells() == right

    from influence_reports.tasks import rebuild_trends

    TrendCell.objects.all().delete()
    rebuild_trends.delay()
    assert trends.cells() == right


@pytest.mark.parametrize(
    ("moment", "week"),
    [
        # Sunday 23:30 in Stockholm is still that week, though it is Monday nowhere yet...
        (_local(2026, 3, 29, 23), date(2026, 3, 23)),
        # ...and Monday 00:30 in Stockholm is Sunday 22:30 UTC, but already the new week.
        (datetime(2026, 3, 29, 22, 30, tzinfo=UTC), date(2026, 3, 30)),
        # A week spanning the change of year belongs to the ISO year of its Thursday.
        (_local(2025, 12, 31), date(2025, 12, 29)),
        (_local(2026, 1, 4), date(2025, 12, 29)),
        (_local(2027, 1, 1), date(2026, 12, 28)),
        (_local(2021, 1, 3), date(2020, 12, 28)),  # ISO week 53 of 2020
    ],
)
def test_a_report_counts_in_the_iso_week_of_its_day_in_stockholm(moment, week):
    _file(submitted_at=moment)
    assert {key[0] for key in trends.cells()} == {week}
    # The rebuild finds the week its own way (by the first instants of the days around).
    kept = trends.cells()
    trends.trends_rebuild()
    assert trends.cells() == kept


@pytest.mark.parametrize(
    ("day", "inside"),
    [
        (date(2026, 3, 12), False),  # the day before six months before polling day
        (date(2026, 3, 13), True),  # six months before 2026-09-13: the first day
        (date(2026, 9, 13), True),  # polling day
        (date(2026, 10, 13), True),  # one month after: the last day
        (date(2026, 10, 14), False),
    ],
)
def test_election_period_assignment_at_the_edges_of_the_window(day, inside):
    moment = datetime(day.year, day.month, day.day, 0, 5, tzinfo=STOCKHOLM)
    period = elections.period_at(moment)
    assert (period is not None) is inside
    if period is not None:
        assert period.polling_day == date(2026, 9, 13)
    # Late in the evening of the same day is still that day in Stockholm, not the next.
    late = datetime(day.year, day.month, day.day, 23, 55, tzinfo=STOCKHOLM)
    assert (elections.period_at(late) is not None) is inside
    report = _file(submitted_at=moment)
    assert (report.election_period is not None) is inside
    value = "yes" if inside else "no"
    assert {key[5] for key in trends.cells() if key[4] == "election"} == {value}
    _file(submitted_at=late)
    kept = trends.cells()
    trends.trends_rebuild()
    assert trends.cells() == kept


def test_the_calendar_holds_the_configured_elections_and_a_date_not_yet_set():
    calendar = {(e.kind, e.year): e.polling_day for e in Election.objects.all()}
    assert calendar[("general", 2026)] == date(2026, 9, 13)
    assert calendar[("general", 2030)] == date(2030, 9, 8)
    assert calendar[("european", 2029)] is None
    assert [p.polling_day.year for p in elections.periods()] == [2022, 2024, 2026, 2030]


def test_an_election_with_its_own_window_and_an_extra_election():
    Election.objects.create(
        kind=Election.Kind.EXTRA,
        year=2027,
        polling_day=date(2027, 4, 11),
        months_before=2,
        months_after=0,
    )
    assert elections.period_on(date(2027, 2, 10)) is None
    assert getattr(elections.period_on(date(2027, 2, 11)), "kind", None) == "extra"
    assert elections.period_on(date(2027, 4, 11)) is not None
    assert elections.period_on(date(2027, 4, 12)) is None


@pytest.mark.parametrize(
    ("answer", "code"),
    [
        ("Moderaterna", "m"),
        ("  SD ", "sd"),
        ("Vänsterpartiet", "v"),
        ("miljopartiet", "mp"),
        ("Kristdemokraterna", "kd"),
        ("Stockholmspartiet", "other"),
        ("", ""),
    ],
)
def test_the_party_a_reporter_writes_is_counted_as_a_code(answer, code):
    assert trends.party_code(answer) == code


def test_no_plaintext_profile_or_free_text_reaches_a_cell(make_user):
    _file(
        reporter=make_user(Role.REPORTER),
        description="KANARIE-trend-1 skrev till mig",
        profile={"profile_party": "KANARIE-partiet"},
    )
    cells = trends.cells()
    values = {value for *_rest, value in cells}
    assert not any("KANARIE" in value for value in values)
    party = [key for key in cells if key[4] == "party"]
    assert party
    assert all(trends.unseal(*key) == "other" for key in party)


def test_profile_values_in_cells_are_sealed_and_no_value_can_be_read_off_without_the_key(
    make_user, settings
):
    """A copy of the database has each report's week, district and role in clear; the
    cells must not add its gender, age, assembly or party to them."""
    _file(
        reporter=make_user(Role.REPORTER),
        district="bromma",
        profile={"profile_gender": "man", "profile_age_band": "65_plus", "profile_party": "kd"},
    )
    profile_cells = [key for key in trends.cells() if key[4] in trends.PROFILE_VALUES]
    # All groups and the threats group; everyone, the district and the role; five dimensions.
    assert len(profile_cells) == 2 * 3 * 5
    plain = {"man", "65_plus", "kd", "Kristdemokraterna", ""}
    assert not {key[5] for key in profile_cells} & plain
    # Seals of the same value differ by context and by week, so counting seals across cells
    # tells nothing, nor does adding a quarter's cells up and matching the sums to the
    # published quarterly figures of a district or a role.
    seals = {
        trends.seal(week, group, *scope, "party", "kd")
        for week in (date(2026, 1, 5), date(2026, 1, 12))
        for group in ("", "threats_harassment")
        for scope in [("", ""), ("district", "bromma"), ("district", ""), ("role", "official")]
    }
    assert len(seals) == 16
    # Under another key nothing opens: the release skips such cells until a rebuild.
    settings.VARN_BLIND_INDEX_KEY = b"k" * 32
    assert all(trends.unseal(*key) is None for key in profile_cells)


def test_the_week_of_a_moment_is_its_monday_in_stockholm():
    assert trends.week_of(datetime(2026, 11, 25, 10, tzinfo=STOCKHOLM)) == date(2026, 11, 23)


def test_beat_counts_the_trends_afresh_and_publishes_them_every_night(settings):
    from celery import current_app

    from influence_reports.tasks import rebuild_trends

    entry = settings.CELERY_BEAT_SCHEDULE["rebuild-trends"]
    assert entry["task"] == rebuild_trends.name
    assert rebuild_trends.name in current_app.tasks
    assert entry["schedule"].hour == {3}


def test_the_case_page_says_when_a_report_fell_in_an_election_period(
    make_user, signed_in, settings
):
    from django.test import Client
    from django.urls import reverse

    inside = _file(submitted_at=_local(2026, 8, 20))
    outside = _file(submitted_at=_local(2026, 11, 2))
    client = Client()
    signed_in(client, make_user(Role.SECURITY_LEAD), verified=True)
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"

    def page(report: Report) -> str:
        return client.get(reverse("case_detail", args=[report.case.pk])).content.decode()

    assert "in the election period (election 2026-09-13)" in page(inside)
    assert "in the election period" not in page(outside)


def test_a_report_whose_profile_does_not_open_is_counted_without_it_and_nothing_leaks(
    make_user, caplog
):
    """A tampered profile ciphertext: the rebuild still counts the report, with its profile
    not stated, says how many did not open, and logs neither the value nor the report."""
    reporter = make_user(Role.REPORTER)
    kept = _file(reporter=reporter, profile={"profile_gender": "woman", "profile_party": "kd"})
    tampered = _file(
        reporter=reporter, profile={"profile_gender": "man", "profile_party": "KANARIE"}
    )
    blob = bytearray(
        Report.objects.filter(pk=tampered.pk).values_list("profile_gender", flat=True).get()
    )
    blob[-1] ^= 1
    # A raw update, as a tampering hand would make it (the model would seal afresh).
    Report.objects.filter(pk=tampered.pk).update(profile_gender=bytes(blob))

    with caplog.at_level(logging.WARNING):
        trends.trends_rebuild()

    cells = trends.cells()
    everyone = {key: n for key, n in cells.items() if key[1:3] == ("", "")}
    assert sum(n for key, n in everyone.items() if key[4] == "total") == 2
    genders = {trends.unseal(*key): n for key, n in everyone.items() if key[4] == "gender"}
    assert genders == {"woman": 1, "": 1}
    parties = {trends.unseal(*key): n for key, n in everyone.items() if key[4] == "party"}
    assert parties == {"kd": 1, "": 1}  # the whole profile is set aside, not half of it
    assert "1 reports' profiles do not open" in caplog.text
    for secret in ("man", "KANARIE", str(tampered.pk), tampered.pk.hex, str(kept.pk)):
        assert secret not in caplog.text.replace("woman", "")


def test_reports_under_a_key_no_longer_in_the_ring_are_counted_and_logged_once(
    make_user, settings, caplog
):
    reporter = make_user(Role.REPORTER)
    for gender in ("woman", "man", "other"):
        _file(reporter=reporter, profile={"profile_gender": gender})
    settings.VARN_KEYRING = {"another": b"k" * 32}

    with caplog.at_level(logging.WARNING):
        trends.trends_rebuild()

    everyone = {key: n for key, n in trends.cells().items() if key[1:3] == ("", "")}
    assert sum(n for key, n in everyone.items() if key[4] == "total") == 3
    genders = {trends.unseal(*key): n for key, n in everyone.items() if key[4] == "gender"}
    assert genders == {"": 3}
    assert caplog.text.count("not in the ring") == 1
    assert "3 reports' profiles do not open" in caplog.text


@pytest.mark.parametrize("plaintext", [b"man", b"\xff\xfe" + b"\x80" + b"\x00" * 61])
def test_a_profile_that_opens_but_is_not_padded_text_is_counted_without_it(
    make_user, caplog, plaintext
):
    """Sealed under the right key and bound to the right field, but not padded, or not
    UTF-8: the rebuild goes on, as for a tampered ciphertext."""
    reporter = make_user(Role.REPORTER)
    _file(reporter=reporter, profile={"profile_gender": "woman"})
    odd = _file(reporter=reporter, profile={"profile_gender": "man"})
    sealed = crypto.seal_field(
        AESGCM(odd.data_key.unwrap()),
        plaintext,
        aad=crypto.field_aad(Report._meta.label_lower, "profile_gender", str(odd.pk)),
    )
    Report.objects.filter(pk=odd.pk).update(profile_gender=sealed)

    with caplog.at_level(logging.WARNING):
        trends.trends_rebuild()

    everyone = {key: n for key, n in trends.cells().items() if key[1:3] == ("", "")}
    assert sum(n for key, n in everyone.items() if key[4] == "total") == 2
    genders = {trends.unseal(*key): n for key, n in everyone.items() if key[4] == "gender"}
    assert genders == {"woman": 1, "": 1}
    assert "1 reports' profiles do not open" in caplog.text
