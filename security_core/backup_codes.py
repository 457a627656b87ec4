"""Single-use backup codes: made from a CSPRNG, shown once, stored only as keyed hashes.

A code is 12 characters of Crockford's base32 (60 bits), shown as ``XXXX-XXXX-XXXX``. The
stored value is an HMAC-SHA256 under a key derived from the Django secret key, so a copy of
the database alone does not allow testing guesses offline. Old secret keys listed in
``SECRET_KEY_FALLBACKS`` still verify codes made under them.
"""

from __future__ import annotations

import secrets

from django.conf import settings
from django.utils.crypto import salted_hmac

ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
CODE_LENGTH = 12
_KEY_SALT = "security_core.backup_codes"
_TYPO_MAP = str.maketrans({"I": "1", "L": "1", "O": "0", "U": "V"})


def generate() -> str:
    raw = "".join(secrets.choice(ALPHABET) for _ in range(CODE_LENGTH))
    return "-".join(raw[i : i + 4] for i in range(0, CODE_LENGTH, 4))


def normalise(code: str) -> str:
    return "".join(code.upper().split()).replace("-", "").translate(_TYPO_MAP)


def _hash(normalised: str, secret: str) -> str:
    return salted_hmac(_KEY_SALT, normalised, secret=secret, algorithm="sha256").hexdigest()


def hash_code(code: str) -> str:
    return _hash(normalise(code), settings.SECRET_KEY)


def candidate_hashes(code: str) -> list[str]:
    """Hashes of ``code`` under the current and every fallback secret key."""
    normalised = normalise(code)
    if len(normalised) != CODE_LENGTH or any(c not in ALPHABET for c in normalised):
        return []
    secrets_in_use = [settings.SECRET_KEY, *getattr(settings, "SECRET_KEY_FALLBACKS", [])]
    return [_hash(normalised, secret) for secret in secrets_in_use]
