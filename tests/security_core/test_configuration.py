"""Production starts only when fully and correctly configured, and then runs hardened.

Proves, by starting ``manage.py`` in a clean environment as an operator would: each missing
secret, host list, database or broker stops start-up with one sentence naming the variable
and no traceback; secrets may come from ``*_FILE`` paths; a malformed key ring or audit key
is refused clearly; debug mode is refused; ``check --deploy`` is clean; ``generate_secrets``
prints fresh, valid secrets; development secrets are made once with mode 0600 and the
environment wins over them; and production cookies and headers carry ``__Host-``, Secure,
HttpOnly, SameSite and HSTS.
"""

from __future__ import annotations

import base64
import json
import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from security_core import environment
from security_core.environment import (
    ConfigurationError,
    dev_secret,
    parse_audit_key,
    parse_keyring,
)

ROOT = Path(__file__).resolve().parents[2]
SECRET_NAMES = (
    "VARN_SECRET_KEY",
    "VARN_KEYRING",
    "VARN_AUDIT_KEY",
    "VARN_BLIND_INDEX_KEY",
    "VARN_RECEIPT_KEY",
)
HOST = "varn.example.se"
DEPLOYMENT = {
    "VARN_ALLOWED_HOSTS": HOST,
    "DATABASE_URL": "postgres://varn@127.0.0.1:5432/varn",
    "CELERY_BROKER_URL": "redis://127.0.0.1:6379/0",
}
REQUIRED = (*SECRET_NAMES, *DEPLOYMENT)
# Not needed to start, but `check --deploy` warns without them.
RECOMMENDED = {
    "VARN_CACHE_URL": "redis://127.0.0.1:6379/1",
    "VARN_SITE_URL": f"https://{HOST}",
    "VARN_PAGER_WEBHOOK_URL": "https://pager.example.se/varn",
    "VARN_PAGER_WEBHOOK_SECRET": "s" * 40,
}


def _run(args: list[str], env: dict[str, str], tmp: Path) -> subprocess.CompletedProcess[str]:
    """Run ``args`` with the project's Python in a clean environment holding only ``env``."""
    clean = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": str(tmp),
        "VARN_VAR_DIR": str(tmp / "var"),
        **env,
    }
    return subprocess.run(
        [sys.executable, *args],
        cwd=ROOT,
        env=clean,
        capture_output=True,
        text=True,
        encoding="utf-8",
        errors="replace",
        timeout=120,
        check=False,
    )


def _manage(args: list[str], env: dict[str, str], tmp: Path) -> subprocess.CompletedProcess[str]:
    return _run(["manage.py", *args], env, tmp)


def _parse_env_lines(stdout: str) -> dict[str, str]:
    lines = [line for line in stdout.splitlines() if line.strip()]
    assert all("=" in line for line in lines), stdout
    return dict(line.split("=", 1) for line in lines)


def _generate(tmp: Path) -> subprocess.CompletedProcess[str]:
    # Run as a development checkout would, so the values do not depend on production start-up.
    return _manage(["generate_secrets"], {"VARN_ENV": "development"}, tmp)


@pytest.fixture(scope="module")
def secrets(tmp_path_factory) -> dict[str, str]:
    """One set of valid production secrets, made by ``generate_secrets``."""
    result = _generate(tmp_path_factory.mktemp("generate"))
    assert result.returncode == 0, result.stderr
    return _parse_env_lines(result.stdout)


@pytest.fixture
def production(secrets) -> dict[str, str]:
    """A complete production environment (``VARN_ENV`` unset: production is the default)."""
    return {**secrets, **DEPLOYMENT, **RECOMMENDED}


def _assert_one_sentence_naming(result: subprocess.CompletedProcess[str], name: str) -> str:
    assert result.returncode != 0, result.stdout
    assert "Traceback" not in result.stderr, result.stderr
    message = result.stderr.strip()
    assert "\n" not in message, message
    assert name in message, message
    assert message.endswith("."), message
    return message


# --- generate_secrets ------------------------------------------------------------------------


def test_generate_secrets_prints_five_environment_lines(secrets):
    assert list(secrets) == list(SECRET_NAMES)
    assert len(secrets["VARN_SECRET_KEY"]) >= 50
    ring = parse_keyring("VARN_KEYRING", secrets["VARN_KEYRING"])
    assert len(ring) == 1
    assert all(len(key) == 32 for key in ring.values())
    assert len(parse_audit_key("VARN_AUDIT_KEY", secrets["VARN_AUDIT_KEY"])) >= 32


def test_generate_secrets_prints_fresh_values_every_run(secrets, tmp_path):
    again = _generate(tmp_path)

    assert again.returncode == 0, again.stderr
    fresh = _parse_env_lines(again.stdout)
    for name in SECRET_NAMES:
        assert fresh[name] != secrets[name], name
    old_keys = parse_keyring("VARN_KEYRING", secrets["VARN_KEYRING"]).values()
    new_keys = parse_keyring("VARN_KEYRING", fresh["VARN_KEYRING"]).values()
    assert set(old_keys).isdisjoint(new_keys)


def test_generate_secrets_works_on_a_production_host_that_has_no_secrets_yet(tmp_path):
    # The refusal to start tells the operator to run this very command, so it must work
    # with nothing configured and VARN_ENV unset.
    result = _manage(["generate_secrets"], {}, tmp_path)

    assert result.returncode == 0, result.stderr
    printed = _parse_env_lines(result.stdout)
    assert list(printed) == list(SECRET_NAMES)
    parse_keyring("VARN_KEYRING", printed["VARN_KEYRING"])
    parse_audit_key("VARN_AUDIT_KEY", printed["VARN_AUDIT_KEY"])


# --- refusing to start -----------------------------------------------------------------------


@pytest.mark.parametrize("missing", REQUIRED)
def test_production_refuses_to_start_without(missing, production, tmp_path):
    env = {name: value for name, value in production.items() if name != missing}

    result = _manage(["check"], env, tmp_path)

    _assert_one_sentence_naming(result, missing)
    assert not (tmp_path / "var").exists(), "production must not make development secrets"


@pytest.mark.parametrize("missing", REQUIRED)
def test_production_refuses_an_empty_value_for(missing, production, tmp_path):
    result = _manage(["check"], {**production, missing: "  "}, tmp_path)

    _assert_one_sentence_naming(result, missing)


def test_production_refuses_to_start_with_nothing_configured(tmp_path):
    result = _manage(["check"], {}, tmp_path)

    _assert_one_sentence_naming(result, "VARN_SECRET_KEY")


def test_explicit_production_environment_needs_the_same_secrets(production, tmp_path):
    env = {name: value for name, value in production.items() if name != "VARN_KEYRING"}

    result = _manage(["check"], {**env, "VARN_ENV": "production"}, tmp_path)

    _assert_one_sentence_naming(result, "VARN_KEYRING")


def test_production_starts_with_every_variable_set(production, tmp_path):
    result = _manage(["check"], production, tmp_path)

    assert result.returncode == 0, result.stderr
    assert not (tmp_path / "var").exists()


def test_unknown_environment_name_is_refused(production, tmp_path):
    result = _manage(["check"], {**production, "VARN_ENV": "staging"}, tmp_path)

    _assert_one_sentence_naming(result, "VARN_ENV")


def test_debug_mode_is_refused_in_production(production, tmp_path):
    result = _manage(["check"], {**production, "VARN_DEBUG": "true"}, tmp_path)

    _assert_one_sentence_naming(result, "VARN_DEBUG")


# --- secrets from files ----------------------------------------------------------------------


def _secret_files(secrets: dict[str, str], directory: Path) -> dict[str, str]:
    env = {}
    for name in SECRET_NAMES:
        path = directory / name.lower()
        path.write_text(secrets[name] + "\n", encoding="utf-8")
        path.chmod(0o600)
        env[f"{name}_FILE"] = str(path)
    return env


def test_production_starts_with_every_secret_from_a_file(secrets, tmp_path):
    env = {**_secret_files(secrets, tmp_path), **DEPLOYMENT}

    result = _manage(["check"], env, tmp_path)

    assert result.returncode == 0, result.stderr


def test_secrets_from_files_are_the_ones_in_use(secrets, tmp_path):
    env = {**_secret_files(secrets, tmp_path), **DEPLOYMENT}
    script = (
        "import json, django\n"
        "django.setup()\n"
        "from django.conf import settings\n"
        "from security_core.environment import parse_audit_key, parse_keyring\n"
        "print(json.dumps({\n"
        f"  'secret_key': settings.SECRET_KEY == {secrets['VARN_SECRET_KEY']!r},\n"
        "  'keyring': settings.VARN_KEYRING == parse_keyring("
        f"'x', {secrets['VARN_KEYRING']!r}),\n"
        "  'audit_key': settings.VARN_AUDIT_KEY == parse_audit_key("
        f"'x', {secrets['VARN_AUDIT_KEY']!r}),\n"
        "}))\n"
    )

    result = _run(
        ["-c", script], {**env, "DJANGO_SETTINGS_MODULE": "security_core.settings"}, tmp_path
    )

    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout) == {"secret_key": True, "keyring": True, "audit_key": True}


@pytest.mark.parametrize("name", SECRET_NAMES)
def test_secret_file_that_cannot_be_read_is_named(name, secrets, tmp_path):
    env = {**_secret_files(secrets, tmp_path), **DEPLOYMENT}
    env[f"{name}_FILE"] = str(tmp_path / "no-such-file")

    result = _manage(["check"], env, tmp_path)

    _assert_one_sentence_naming(result, f"{name}_FILE")


def test_empty_secret_file_is_named(secrets, tmp_path):
    env = {**_secret_files(secrets, tmp_path), **DEPLOYMENT}
    Path(env["VARN_KEYRING_FILE"]).write_text("\n", encoding="utf-8")

    result = _manage(["check"], env, tmp_path)

    _assert_one_sentence_naming(result, "VARN_KEYRING_FILE")


# --- malformed keys --------------------------------------------------------------------------


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


GOOD_KEY = _b64(b"g" * 32)
OTHER_KEY = _b64(b"o" * 32)
MALFORMED_KEYRINGS = {
    "bad-base64": (f"k1:{'A' * 41}", "base64"),
    "short-key": (f"k1:{_b64(b'x' * 16)}", "256 bits"),
    "long-key": (f"k1:{_b64(b'x' * 48)}", "256 bits"),
    "duplicate-id": (f"k1:{GOOD_KEY},k1:{OTHER_KEY}", "twice"),
    "no-id": (GOOD_KEY, "id:key"),
    "bad-id": (f"k 1!:{GOOD_KEY}", "id:key"),
    "no-key": (" , ", "no key"),
}


@pytest.mark.parametrize(
    ("keyring", "says"), MALFORMED_KEYRINGS.values(), ids=list(MALFORMED_KEYRINGS)
)
def test_malformed_keyring_is_parsed_into_one_clear_sentence(keyring, says):
    with pytest.raises(ConfigurationError) as refused:
        parse_keyring("VARN_KEYRING", keyring)

    message = str(refused.value.code)
    assert "VARN_KEYRING" in message
    assert says in message
    assert GOOD_KEY not in message  # a key is never echoed back into a log


@pytest.mark.parametrize(
    "case", ["bad-base64", "short-key", "duplicate-id"], ids=["bad-base64", "short", "duplicate"]
)
def test_production_refuses_a_malformed_keyring_without_a_traceback(case, production, tmp_path):
    keyring, says = MALFORMED_KEYRINGS[case]

    result = _manage(["check"], {**production, "VARN_KEYRING": keyring}, tmp_path)

    message = _assert_one_sentence_naming(result, "VARN_KEYRING")
    assert says in message


def test_production_refuses_a_short_audit_key_without_a_traceback(production, tmp_path):
    result = _manage(["check"], {**production, "VARN_AUDIT_KEY": _b64(b"k" * 16)}, tmp_path)

    message = _assert_one_sentence_naming(result, "VARN_AUDIT_KEY")
    assert "256 bits" in message


def test_a_second_key_in_the_ring_is_accepted_and_the_first_is_active(secrets):
    ring = parse_keyring("VARN_KEYRING", f"new:{_b64(b'n' * 32)},{secrets['VARN_KEYRING']}")

    assert len(ring) == 2
    assert next(iter(ring)) == "new"


# --- check --deploy --------------------------------------------------------------------------


def test_deployment_check_is_clean_under_production_settings(production, tmp_path):
    result = _manage(["check", "--deploy", "--fail-level", "WARNING"], production, tmp_path)

    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout


def test_deployment_check_warns_about_recorded_pages_plain_links_and_a_per_process_cache(
    production, tmp_path
):
    env = {
        name: value
        for name, value in production.items()
        if name not in {"VARN_PAGER_WEBHOOK_URL", "VARN_SITE_URL", "VARN_CACHE_URL"}
    }
    result = _manage(["check", "--deploy", "--fail-level", "WARNING"], env, tmp_path)

    assert result.returncode != 0
    for expected in (
        "varn.W003",
        "VARN_PAGER_WEBHOOK_URL",
        "varn.W005",
        "VARN_SITE_URL",
        "varn.W007",
        "VARN_CACHE_URL",
    ):
        assert expected in result.stdout + result.stderr


def test_deployment_check_warns_about_an_unsigned_pager_webhook(production, tmp_path):
    env = {**production, "VARN_PAGER_WEBHOOK_SECRET": "short"}
    result = _manage(["check", "--deploy", "--fail-level", "WARNING"], env, tmp_path)

    assert result.returncode != 0
    assert "varn.W004" in result.stdout + result.stderr


def test_deployment_check_fails_outside_production(production, tmp_path):
    env = {**production, "VARN_ENV": "development"}

    result = _manage(["check", "--deploy", "--fail-level", "WARNING"], env, tmp_path)

    assert result.returncode != 0
    assert "varn.E001" in result.stdout + result.stderr


# --- development secrets ---------------------------------------------------------------------


@pytest.fixture
def no_secret_in_env(monkeypatch):
    monkeypatch.delenv("VARN_TEST_SECRET", raising=False)
    monkeypatch.delenv("VARN_TEST_SECRET_FILE", raising=False)
    return "VARN_TEST_SECRET"


def test_development_secret_is_made_once_with_mode_0600(no_secret_in_env, tmp_path):
    path = tmp_path / "fresh" / "secret"
    made = iter(["first-value", "second-value"])

    first = dev_secret(no_secret_in_env, path, lambda: next(made))
    second = dev_secret(no_secret_in_env, path, lambda: next(made))

    assert first == "first-value"
    assert second == first
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(path.parent.stat().st_mode) & 0o077 == 0
    assert sorted(p.name for p in path.parent.iterdir()) == ["secret"]  # no temporary left


def test_environment_wins_over_the_development_secret_file(no_secret_in_env, tmp_path, monkeypatch):
    path = tmp_path / "secret"
    dev_secret(no_secret_in_env, path, lambda: "from-file")

    monkeypatch.setenv(no_secret_in_env, "from-environment")

    assert dev_secret(no_secret_in_env, path, lambda: "unused") == "from-environment"
    assert path.read_text(encoding="utf-8").strip() == "from-file"


def test_environment_secret_means_no_development_file_is_made(
    no_secret_in_env, tmp_path, monkeypatch
):
    path = tmp_path / "never" / "secret"
    monkeypatch.setenv(no_secret_in_env, "from-environment")

    assert dev_secret(no_secret_in_env, path, lambda: "unused") == "from-environment"
    assert not path.exists()


def test_secret_file_variable_wins_over_the_development_secret_file(
    no_secret_in_env, tmp_path, monkeypatch
):
    path = tmp_path / "secret"
    dev_secret(no_secret_in_env, path, lambda: "from-dev-file")
    given = tmp_path / "given"
    given.write_text("from-secret-store\n", encoding="utf-8")

    monkeypatch.setenv(f"{no_secret_in_env}_FILE", str(given))

    assert dev_secret(no_secret_in_env, path, lambda: "unused") == "from-secret-store"


# --- cookies and headers in production -------------------------------------------------------

_PRODUCTION_CLIENT = """
import json
import os

import django

django.setup()
from django.conf import settings
from django.test import Client

from security_core.models import User

PASSWORD = "Correct-Horse-Battery-Staple-42"
User.objects.create_user("hanna@example.se", PASSWORD, display_name="Hanna", role="handler")


def cookies(response):
    return {
        name: {
            "secure": bool(morsel["secure"]),
            "httponly": bool(morsel["httponly"]),
            "samesite": morsel["samesite"],
            "path": morsel["path"],
            "domain": morsel["domain"],
        }
        for name, morsel in response.cookies.items()
    }


HOST = os.environ["VARN_ALLOWED_HOSTS"]
client = Client()
page = client.get("/login/", secure=True, HTTP_HOST=HOST)
signin = client.post(
    "/login/",
    {"username": "hanna@example.se", "password": PASSWORD},
    secure=True,
    HTTP_HOST=HOST,
)
plain = Client().get("/login/", HTTP_HOST=HOST)
other_host = Client().get("/login/", secure=True, HTTP_HOST="evil.example")
print(json.dumps({
    "status": page.status_code,
    "headers": dict(page.headers),
    "cookies": cookies(page),
    "signin_status": signin.status_code,
    "signin_cookies": cookies(signin),
    "plain_status": plain.status_code,
    "plain_location": plain.get("Location", ""),
    "other_host_status": other_host.status_code,
    "session_cookie_name": settings.SESSION_COOKIE_NAME,
    "session_cookie_secure": settings.SESSION_COOKIE_SECURE,
    "csrf_cookie_name": settings.CSRF_COOKIE_NAME,
}))
"""


@pytest.fixture(scope="module")
def production_responses(secrets, tmp_path_factory) -> dict[str, object]:
    """What a browser gets from a migrated production instance on an SQLite database."""
    tmp = tmp_path_factory.mktemp("production")
    env = {
        **secrets,
        **DEPLOYMENT,
        "DATABASE_URL": f"sqlite:///{tmp / 'varn.sqlite3'}",
        "VARN_STATIC_ROOT": str(tmp / "static"),
        "DJANGO_SETTINGS_MODULE": "security_core.settings",
    }
    for step in (["migrate", "--noinput", "-v0"], ["collectstatic", "--noinput", "-v0"]):
        done = _manage(step, env, tmp)
        assert done.returncode == 0, done.stderr
    result = _run(["-c", _PRODUCTION_CLIENT], env, tmp)
    assert result.returncode == 0, result.stderr
    answer: dict[str, object] = json.loads(result.stdout.strip().splitlines()[-1])
    return answer


def _assert_host_cookie(cookie: dict[str, object]) -> None:
    assert cookie["secure"] is True
    assert cookie["httponly"] is True
    assert cookie["samesite"] == "Lax"
    assert cookie["path"] == "/"
    assert not cookie["domain"]


def test_production_csrf_cookie_is_a_secure_host_only_cookie(production_responses):
    assert production_responses["status"] == 200
    cookies = production_responses["cookies"]
    assert isinstance(cookies, dict)
    csrf_name = production_responses["csrf_cookie_name"]
    assert isinstance(csrf_name, str)
    assert csrf_name.startswith("__Host-")
    _assert_host_cookie(cookies[csrf_name])


def test_production_session_cookie_is_a_secure_host_only_cookie(production_responses):
    name = production_responses["session_cookie_name"]
    assert isinstance(name, str)
    assert name.startswith("__Host-")
    assert production_responses["session_cookie_secure"] is True
    assert production_responses["signin_status"] == 302
    cookies = production_responses["signin_cookies"]
    assert isinstance(cookies, dict)
    _assert_host_cookie(cookies[name])


def test_production_sends_hsts_for_at_least_a_year(production_responses):
    headers = production_responses["headers"]
    assert isinstance(headers, dict)
    hsts = headers["Strict-Transport-Security"]
    directives = [part.strip() for part in hsts.split(";")]
    max_age = next(int(d.split("=", 1)[1]) for d in directives if d.startswith("max-age="))
    assert max_age >= 31_536_000
    assert "includeSubDomains" in directives


def test_production_page_carries_the_hardening_headers(production_responses):
    headers = production_responses["headers"]
    assert isinstance(headers, dict)
    assert "default-src 'self'" in headers["Content-Security-Policy"]
    assert headers["X-Content-Type-Options"] == "nosniff"
    assert headers["X-Frame-Options"] == "DENY"
    assert "no-store" in headers["Cache-Control"]


def test_production_redirects_plain_http_to_https(production_responses):
    assert production_responses["plain_status"] == 301
    assert production_responses["plain_location"] == f"https://{HOST}/login/"


def test_production_refuses_a_host_it_does_not_serve(production_responses):
    assert production_responses["other_host_status"] == 400


@pytest.mark.parametrize("key_id", ["kö2", "k²", "k-1", "k" * 33])
def test_key_ids_must_be_short_plain_ascii(key_id):
    key = base64.urlsafe_b64encode(b"\0" * 32).decode().rstrip("=")
    with pytest.raises(environment.ConfigurationError):
        environment.parse_keyring("VARN_KEYRING", f"{key_id}:{key}")
