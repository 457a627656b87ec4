"""load_demo_data makes one signed-in-able account per role, once, and never in production."""

from __future__ import annotations

import json
import re
import stat
from dataclasses import dataclass, field
from datetime import date, timedelta
from io import StringIO
from pathlib import Path

import pytest
from django.contrib.auth import authenticate
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db.models import Sum
from django.test import Client, RequestFactory
from django.urls import reverse
from django.utils import timezone

from influence_reports import release, synthetic, trends
from influence_reports.models import Report, TrendCell, TrendRelease
from security_core.management.commands import load_demo_data
from security_core.models import BackupCode, BackupCodeDevice, User
from security_core.roles import Role

pytestmark = pytest.mark.django_db

CODE = r"[0-9A-Z]{4}-[0-9A-Z]{4}-[0-9A-Z]{4}"


@pytest.fixture
def var_dir(settings, tmp_path) -> Path:
    settings.VAR_DIR = tmp_path
    settings.VARN_MEDIA_ROOT = tmp_path / "media"  # the demo reports' attachment
    return tmp_path


def _authenticate(email: str, password: object) -> User | None:
    request = RequestFactory().post(reverse("login"))
    user = authenticate(request, username=email, password=password)
    return user if isinstance(user, User) else None


def _run(*, history: bool = False) -> str:
    """Run the command; without the synthetic history unless asked (it takes seconds, and
    only the tests of the history need it)."""
    out = StringIO()
    call_command("load_demo_data", "--history" if history else "--no-history", stdout=out)
    return out.getvalue()


@dataclass
class PrintedAccount:
    password: str = ""
    codes: list[str] = field(default_factory=list)
    used: list[str] = field(default_factory=list)


def _printed_accounts(output: str) -> dict[str, PrintedAccount]:
    """The e-mail, password and backup codes of each account, read from what was printed."""
    accounts: dict[str, PrintedAccount] = {}
    current: PrintedAccount | None = None
    for line in output.splitlines():
        if match := re.match(r"\s*e-mail:\s*(\S+@\S+)\s*$", line):
            current = accounts[match.group(1)] = PrintedAccount()
        elif current is not None and (match := re.match(r"\s*password:\s*(\S+)\s*$", line)):
            current.password = match.group(1)
        elif current is not None and current.password:
            for code, used in re.findall(rf"({CODE})( \(used[^)]*\))?", line):
                (current.used if used else current.codes).append(code)
    return accounts


def test_creates_one_account_per_role_and_a_second_reporter_each_with_ten_backup_codes(var_dir):
    _run()

    users = list(User.objects.all())
    assert len(users) == 9
    roles = sorted(user.role for user in users)
    assert roles == sorted([*Role, Role.REPORTER])
    for user in users:
        assert user.is_active
        assert user.password.startswith("argon2$")
        device = BackupCodeDevice.objects.get(user=user, confirmed=True)
        assert device.codes.filter(used_at__isnull=True).count() == 10


def test_writes_the_accounts_file_readable_only_by_its_owner(var_dir):
    _run()

    path = var_dir / "demo-accounts.json"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    saved = json.loads(path.read_text(encoding="utf-8"))
    assert set(saved) == set(User.objects.values_list("email", flat=True))


def test_tightens_an_accounts_file_that_was_left_readable_by_others(var_dir):
    path = var_dir / "demo-accounts.json"
    path.write_text("{}", encoding="utf-8")
    path.chmod(0o644)

    _run()

    assert stat.S_IMODE(path.stat().st_mode) == 0o600


def test_prints_every_email_password_and_backup_code(var_dir):
    output = _run()

    saved = json.loads((var_dir / "demo-accounts.json").read_text(encoding="utf-8"))
    printed = _printed_accounts(output)
    assert set(printed) == set(saved)
    assert len(printed) == 9
    for email, entry in saved.items():
        assert printed[email].password == entry["password"]
        assert printed[email].codes == entry["codes"]
        assert len(entry["codes"]) == 10
        user = User.objects.get(email=email)
        assert _authenticate(email, entry["password"]) == user


def test_running_again_keeps_accounts_and_passwords_and_marks_used_codes(var_dir):
    first = _printed_accounts(_run())
    ids = set(User.objects.values_list("pk", flat=True))
    handler_email = "handler@demo.varn.test"
    used_code = first[handler_email].codes[0]
    device = BackupCodeDevice.objects.get(user__email=handler_email)
    assert device.verify_token(used_code)

    second = _printed_accounts(_run())

    assert set(User.objects.values_list("pk", flat=True)) == ids
    assert BackupCode.objects.count() == 90
    for email, entry in second.items():
        assert entry.password == first[email].password
        assert _authenticate(email, entry.password) is not None
    assert second[handler_email].used == [used_code]
    assert used_code not in second[handler_email].codes
    assert len(second[handler_email].codes) == 9


def test_refuses_to_run_in_production(var_dir, settings):
    settings.VARN_ENV = "production"

    with pytest.raises(CommandError):
        _run()

    assert not User.objects.exists()
    assert not (var_dir / "demo-accounts.json").exists()


def test_printed_password_and_backup_code_sign_the_handler_in_through_both_steps(var_dir):
    printed = _printed_accounts(_run())
    handler_email = "handler@demo.varn.test"
    entry = printed[handler_email]
    client = Client()

    response = client.post(
        reverse("login"), {"username": handler_email, "password": entry.password}
    )
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("otp_verify"))

    response = client.post(reverse("otp_verify"), {"token": entry.codes[0]})
    assert response.status_code == 302

    home = client.get(reverse("home"))
    assert home.status_code == 200
    assert User.objects.get(email=handler_email).role == Role.HANDLER


def _old_reports():
    return Report.objects.filter(
        submitted_at__lt=timezone.now() - timedelta(days=load_demo_data.HISTORY_MARKER_DAYS)
    )


@pytest.fixture
def published(monkeypatch) -> list[int]:
    """Publishing is the trends tests' subject, and takes long over every quarter since 2022:
    here it records how many cells it would publish from, when it is called."""
    calls: list[int] = []

    def publish() -> TrendRelease:
        total = TrendCell.objects.filter(
            grp="", scope=trends.EVERYONE, dimension=trends.TOTAL
        ).aggregate(n=Sum("count"))
        calls.append(total["n"] or 0)
        TrendRelease.objects.filter(is_current=True).update(is_current=False)
        return TrendRelease.objects.create(
            min_count=5, is_current=True, last_week=release.last_whole_week()
        )

    monkeypatch.setattr(release, "release_publish", publish)
    return calls


def test_adds_two_years_of_history_and_the_previous_election_then_publishes(var_dir, published):
    output = _run(history=True)

    old = _old_reports()
    assert old.count() > 500
    assert "Synthetic history for the trends" in output
    today = timezone.localdate()
    between = old.filter(
        submitted_at__date__lt=today - timedelta(days=365 * 2 + 1),
        submitted_at__date__gt=date(2022, 10, 11),
    )
    assert not between.exists()  # nothing between the previous election's period and now
    assert Report.objects.filter(
        submitted_at__date__range=(date(2022, 3, 11), date(2022, 10, 11))
    ).exists()
    # Published once, from cells rebuilt to count every report not withdrawn.
    assert published == [Report.objects.filter(withdrawn_at__isnull=True).count()]
    # The demo reports are still the demo reporters' own, and theirs only.
    assert Report.objects.filter(reporter__isnull=False).count() == 5


def test_running_again_adds_no_second_history_and_publishes_only_once_a_week_has_ended(
    var_dir, published
):
    _run(history=True)
    first = Report.objects.count()

    output = _run(history=True)

    assert Report.objects.count() == first
    assert "Synthetic history" not in output
    assert len(published) == 1  # the release is as new as it can be

    TrendRelease.objects.update(last_week=release.last_whole_week() - timedelta(days=7))
    _run(history=True)

    assert Report.objects.count() == first
    assert len(published) == 2


def test_the_history_is_on_by_default_outside_the_test_settings(var_dir, settings, monkeypatch):
    asked: list[dict[str, object]] = []

    def generate(**kwargs: object) -> int:
        asked.append(kwargs)
        return 0

    monkeypatch.setattr(synthetic, "generate_trend_history", generate)
    monkeypatch.setattr(release, "release_publish", lambda: None)
    call_command("load_demo_data", stdout=StringIO())
    assert asked == []  # VARN_ENV=test: off unless asked for

    settings.VARN_ENV = "development"
    call_command("load_demo_data", stdout=StringIO())
    assert len(asked) == 1
    assert asked[0]["years"] == load_demo_data.HISTORY_YEARS == 2
