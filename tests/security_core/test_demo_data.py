"""load_demo_data makes one signed-in-able account per role, once, and never in production."""

from __future__ import annotations

import json
import re
import stat
from dataclasses import dataclass, field
from io import StringIO
from pathlib import Path

import pytest
from django.contrib.auth import authenticate
from django.core.management import call_command
from django.core.management.base import CommandError
from django.test import Client, RequestFactory
from django.urls import reverse

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


def _run() -> str:
    out = StringIO()
    call_command("load_demo_data", stdout=out)
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
