"""Reading configuration and secrets from the environment, and making development secrets.

Every secret may come from ``NAME`` or from a file named by ``NAME_FILE``. In production a
missing value ends start-up with one sentence naming the variable (``ConfigurationError``
is a ``SystemExit``, so no traceback is printed). In development and test the secrets are
generated once into the git-ignored ``var/`` directory with file mode 0600 and reused.
"""

from __future__ import annotations

import base64
import binascii
import os
import re
import secrets
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

KEY_BYTES = 32


class ConfigurationError(SystemExit):
    """Stops start-up with one readable sentence instead of a traceback."""

    def __init__(self, sentence: str) -> None:
        super().__init__(f"Värn cannot start: {sentence}")


def env_str(name: str, default: str = "") -> str:
    return os.environ.get(name, default).strip()


def env_bool(name: str, default: bool) -> bool:
    raw = os.environ.get(name)
    if raw is None or not raw.strip():
        return default
    value = raw.strip().lower()
    if value in {"1", "true", "yes", "on"}:
        return True
    if value in {"0", "false", "no", "off"}:
        return False
    raise ConfigurationError(f"{name} must be true or false, not {raw.strip()!r}.")


def env_int(name: str, default: int) -> int:
    raw = env_str(name)
    if not raw:
        return default
    try:
        return int(raw)
    except ValueError:
        raise ConfigurationError(f"{name} must be a whole number, not {raw!r}.") from None


def env_secret(name: str) -> str | None:
    """The secret from ``NAME`` or the file at ``NAME_FILE``; ``None`` when neither is set."""
    direct = os.environ.get(name, "").strip()
    if direct:
        return direct
    path = os.environ.get(f"{name}_FILE", "").strip()
    if not path:
        return None
    try:
        value = Path(path).read_text(encoding="utf-8").strip()
    except OSError:
        raise ConfigurationError(f"{name}_FILE names a file that cannot be read.") from None
    if not value:
        raise ConfigurationError(f"{name}_FILE names an empty file.")
    return value


def dev_secret(name: str, path: Path, generate: Callable[[], str]) -> str:
    """The secret from the environment, else from ``path``, made there (mode 0600) if missing.

    The file is written under a temporary name and linked into place, so two processes
    starting at once agree on one value.
    """
    configured = env_secret(name)
    if configured:
        return configured
    if not path.exists():
        path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        tmp = path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(generate() + "\n")
        try:
            os.link(tmp, path)
        except FileExistsError:
            pass  # Another process won the race; use its value.
        finally:
            tmp.unlink()
    return path.read_text(encoding="utf-8").strip()


def new_secret_key() -> str:
    # URL-safe, so it can be pasted into any env file or secret store without quoting.
    return secrets.token_urlsafe(64)


def encode_key(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).decode("ascii").rstrip("=")


def new_key_id() -> str:
    return f"k{datetime.now(tz=UTC):%Y%m%d}{secrets.token_hex(2)}"


def new_keyring() -> str:
    """A key ring with one fresh 256-bit key, in the ``VARN_KEYRING`` format."""
    return f"{new_key_id()}:{encode_key(secrets.token_bytes(KEY_BYTES))}"


def new_audit_key() -> str:
    return encode_key(secrets.token_bytes(KEY_BYTES))


def production_secret_lines() -> list[str]:
    """Fresh production secrets as environment lines (``manage.py generate_secrets``)."""
    return [
        f"VARN_SECRET_KEY={new_secret_key()}",
        f"VARN_KEYRING={new_keyring()}",
        f"VARN_AUDIT_KEY={new_audit_key()}",
        f"VARN_BLIND_INDEX_KEY={new_audit_key()}",
        f"VARN_RECEIPT_KEY={new_audit_key()}",
    ]


def decode_key(text: str) -> bytes:
    padded = text + "=" * (-len(text) % 4)
    # Strict: a stray character is an error, not something to skip silently.
    return base64.b64decode(padded.encode("ascii"), altchars=b"-_", validate=True)


def parse_keyring(name: str, text: str) -> dict[str, bytes]:
    """Parse ``id:base64url-key,id:base64url-key``; the first key is the active one."""
    ring: dict[str, bytes] = {}
    for entry in (part.strip() for part in text.split(",")):
        if not entry:
            continue
        key_id, sep, encoded = entry.partition(":")
        key_id = key_id.strip()
        if not sep or not re.fullmatch(r"[A-Za-z0-9]{1,32}", key_id):
            raise ConfigurationError(
                f"{name} must be a comma-separated list of id:key entries with short "
                "alphanumeric ids."
            )
        try:
            key = decode_key(encoded.strip())
        except (binascii.Error, ValueError):
            raise ConfigurationError(f"{name} has a key that is not base64url.") from None
        if len(key) != KEY_BYTES:
            raise ConfigurationError(f"{name} has a key that is not 256 bits long.")
        if key_id in ring:
            raise ConfigurationError(f"{name} names the key id {key_id} twice.")
        ring[key_id] = key
    if not ring:
        raise ConfigurationError(f"{name} holds no key.")
    return ring


def parse_audit_key(name: str, text: str) -> bytes:
    try:
        key = decode_key(text)
    except (binascii.Error, ValueError):
        raise ConfigurationError(f"{name} is not base64url.") from None
    if len(key) < KEY_BYTES:
        raise ConfigurationError(f"{name} must be at least 256 bits long.")
    return key
