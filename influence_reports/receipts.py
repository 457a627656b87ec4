"""Receipt codes: how an anonymous reporter finds their report again, and nothing else.

A code is 16 digits from the operating system's CSPRNG (about 53 bits), shown once and
never stored. The database keeps two things derived from it:

- ``lookup``: HMAC-SHA256 of the code under ``VARN_RECEIPT_KEY``, a key kept out of the
  database, to find the report in one indexed query. Someone with the database alone cannot
  test a guessed code at all; someone who also holds the key can test guesses at HMAC speed,
  which is why the key is a production secret of its own.
- ``verifier``: Argon2id of the code together with the reporter's passphrase (if they chose
  one), so that the passphrase, the only part a person may reuse elsewhere, is protected by a
  slow hash even from someone who holds both the database and the key. The parameters
  (``ARGON2``) are OWASP's first recommendation (19 MiB, 2 passes, 1 lane): about 40 ms
  on the machine Värn is measured on, so a submission stays fast under load (``make bench``:
  about 60 ms a submission through gunicorn, and over 20 a second from eight clients at once
  on two cores).

Looking up a code that does not exist still computes a verification, so the answer takes as
long whether or not a report exists.

Rotating ``VARN_RECEIPT_KEY``: the code itself is kept nowhere, so a look-up hash cannot be
recomputed under a new key until its reporter types the code again. The old key goes to
``VARN_RECEIPT_KEY_FALLBACKS``; a code found under it is re-hashed under the new key when it
opens its report. ``manage.py receipt_keys`` counts the receipts each key still holds; once
the old key holds none (or only receipts nobody will use), it can be removed.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError
from django.conf import settings

CODE_DIGITS = 16
ARGON2 = PasswordHasher(time_cost=2, memory_cost=19 * 1024, parallelism=1)
# Verified when a code matches nothing, so that a miss costs what a hit costs.
_DECOY = ARGON2.hash("varn-receipt-decoy")


def new_code() -> str:
    return f"{secrets.randbelow(10**CODE_DIGITS):0{CODE_DIGITS}d}"


def grouped(code: str) -> str:
    """``1234 5678 9012 3456``: easier to write down and read back."""
    return " ".join(code[i : i + 4] for i in range(0, len(code), 4))


def normalise(typed: str) -> str | None:
    """The code from what someone typed (spaces and dashes ignored), or None if it cannot be
    one."""
    digits = re.sub(r"[\s\-]", "", typed or "")
    return digits if re.fullmatch(rf"[0-9]{{{CODE_DIGITS}}}", digits) else None


def lookup(code: str, key: bytes | None = None) -> str:
    """The look-up hash of ``code`` under ``key`` (the current receipt key by default)."""
    key = key or settings.VARN_RECEIPT_KEY
    return hmac.new(key, f"varn:receipt:{code}".encode(), hashlib.sha256).hexdigest()


def lookups(code: str) -> dict[str, bytes]:
    """The look-up hash of ``code`` under the current key and each fallback key (while a
    rotation runs), each with its key, the current one first."""
    keys = [settings.VARN_RECEIPT_KEY, *settings.VARN_RECEIPT_KEY_FALLBACKS]
    return {lookup(code, key): key for key in keys}


def key_id(key: bytes | None = None) -> str:
    """A short name of a receipt key (not the key: an HMAC of a constant under it), so that
    one can count the receipts each key still holds."""
    key = key or settings.VARN_RECEIPT_KEY
    return hmac.new(key, b"varn:receipt-key-id", hashlib.sha256).hexdigest()[:12]


def _secret(code: str, passphrase: str) -> str:
    return f"{code}\n{passphrase}"


def verifier(code: str, passphrase: str) -> str:
    return ARGON2.hash(_secret(code, passphrase))


def verify(stored: str | None, code: str, passphrase: str) -> bool:
    """Whether code and passphrase match ``stored``; with nothing stored (no such report),
    a decoy is verified so that the answer takes the same time."""
    try:
        return ARGON2.verify(stored or _DECOY, _secret(code, passphrase)) and stored is not None
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False
