"""Perpetrator identifiers, found in what a reporter wrote, normalised and kept only as keyed
blind indexes, so that cases naming the same e-mail, phone number, social-media handle or
organisation number can be matched without the identifier ever being stored in clear.

Invariant: an identifier leaves this module only as HMAC-SHA256 under
``VARN_BLIND_INDEX_KEY``, a key of its own (not an encryption key, not the audit key), kept
outside the database: someone holding the database alone cannot test a guessed identifier.
"""

from __future__ import annotations

import hashlib
import hmac
import re
from enum import StrEnum

from django.conf import settings


class Kind(StrEnum):
    EMAIL = "email"
    PHONE = "phone"
    HANDLE = "handle"
    ORG_NUMBER = "org_number"


_EMAIL = re.compile(r"[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}")
# A Swedish organisation number: NNNNNN-NNNN, the third digit 2 or more (which tells it from
# a personal identity number), optionally with the century prefix 16.
_ID_NUMBER = re.compile(r"(?<![\d+])(?:16)?(\d{6})-?(\d{4})(?!\d)")
_PROFILE_URL = re.compile(
    r"(?:https?://)?(?:www\.|m\.)?"
    r"(?:facebook|fb|instagram|twitter|x|tiktok|threads|youtube|linkedin|snapchat)\.com/"
    r"(?:in/|@)?([A-Za-z0-9_.-]{2,50})",
    re.IGNORECASE,
)
_HANDLE = re.compile(r"(?<![\w.@])@([A-Za-z0-9_.]{2,30}[A-Za-z0-9_])")
# A phone number as people write one: starting with + or 0 (00 abroad, 0 at home), which
# also keeps dates, amounts and years from passing for numbers.
_PHONE = re.compile(r"(?<![\w+])(?:\+\d|0)[\d \-()/]{5,18}\d(?!\d)")


def _phone(raw: str) -> str | None:
    digits = re.sub(r"\D", "", raw)
    if raw.strip().startswith("+"):
        number = "+" + digits
    elif digits.startswith("00"):
        number = "+" + digits[2:]
    elif digits.startswith("0"):
        number = "+46" + digits[1:]  # a Swedish number written the Swedish way
    else:
        return None
    return number if 9 <= len(number) <= 16 else None


def extract(text: str) -> set[tuple[Kind, str]]:
    """The identifiers in ``text``, each normalised, so that two ways of writing the same
    one (``070-123 45 67`` and ``+46701234567``, ``@Name`` and ``instagram.com/name``) match.
    """
    found: set[tuple[Kind, str]] = set()
    rest = text
    for match in _EMAIL.finditer(text):
        found.add((Kind.EMAIL, match.group(0).lower()))
    rest = _EMAIL.sub(" ", rest)
    for match in _PROFILE_URL.finditer(rest):
        found.add((Kind.HANDLE, match.group(1).lower().rstrip(".")))
    rest = _PROFILE_URL.sub(" ", rest)
    for match in _HANDLE.finditer(rest):
        found.add((Kind.HANDLE, match.group(1).lower()))
    rest = _HANDLE.sub(" ", rest)
    for match in _ID_NUMBER.finditer(rest):
        first, last = match.groups()
        if int(first[2]) >= 2:
            found.add((Kind.ORG_NUMBER, first + last))
    rest = _ID_NUMBER.sub(" ", rest)  # personal identity numbers are not phone numbers either
    for match in _PHONE.finditer(rest):
        number = _phone(match.group(0))
        if number:
            found.add((Kind.PHONE, number))
    return found


def blind_index(kind: Kind | str, normalised: str) -> str:
    """The keyed index of one normalised identifier (hex); the same input, the same index."""
    key: bytes = settings.VARN_BLIND_INDEX_KEY
    message = f"varn:perpetrator:{kind}:{normalised}".encode()
    return hmac.new(key, message, hashlib.sha256).hexdigest()
