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


# Each pattern starts only where the previous character cannot belong to a match, so that
# a long run of letters or digits is scanned once, not once from every position.
_EMAIL = re.compile(
    r"(?<![A-Za-z0-9._%+-])[A-Za-z0-9._%+-]{1,64}@[A-Za-z0-9-]{1,63}(?:\.[A-Za-z0-9-]{1,63}){0,8}"
    r"\.[A-Za-z]{2,24}(?![A-Za-z0-9-])"
)
# A profile address on a known platform: the first path segment is the handle, unless it
# is one of the platform's own pages; ``profile.php?id=N`` names the account by number.
_PROFILE_URL = re.compile(
    r"(?<![\w.-])(?:https?://)?(?:www\.|m\.|mobile\.)?"
    r"(?:facebook|fb|instagram|twitter|x|tiktok|threads|youtube|linkedin|snapchat)\.com/"
    r"(?:in/|@)?([\w.-]{1,60})(?:\?id=(\d{1,20}))?",
    re.IGNORECASE,
)
_NOT_HANDLES = frozenset(
    {
        "home", "watch", "groups", "group", "company", "channel", "share", "sharer.php",
        "reel", "reels", "p", "status", "hashtag", "explore", "search", "events", "pages",
        "photo", "photo.php", "story.php", "permalink.php", "messages", "login", "intent",
        "i", "video", "videos", "shorts", "feed", "posts", "school", "showcase",
    }
)  # fmt: skip
_HANDLE = re.compile(r"(?<![\w.@])@([\w.]{1,30}\w)")
# Dates are not phone numbers: 2026-09-13, 13/9 2026, 01-05-2024, 13.09.2026.
_DATE = re.compile(r"(?<!\d)(?:\d{4}-\d{1,2}-\d{1,2}|\d{1,2}[-./]\d{1,2}[-./]\d{2,4})(?!\d)")
# An organisation or personal identity number written as one: NNNNNN-NNNN, or with its
# century (16/19/20). Written without a dash, ten digits starting with 0 are a phone number.
_ID_NUMBER = re.compile(r"(?<![\d+])(?:16|19|20)?(\d{6})([-+]?)(\d{4})(?!\d)")
# A phone number as people write one: starting with + or 0 (00 abroad, 0 at home), which
# keeps amounts and years from passing for numbers.
_PHONE = re.compile(r"(?<![\w+])(?:\+\d|0)[\d \-()]{5,18}\d(?!\d)")


def _phone(raw: str) -> str | None:
    raw = raw.strip().replace("(0)", "")  # +46 (0)70-... : the trunk 0 is not dialled
    digits = re.sub(r"\D", "", raw)
    if raw.startswith("+"):
        number = "+" + digits
    elif digits.startswith("00"):
        number = "+" + digits[2:]
    elif digits.startswith("0"):
        number = "+46" + digits[1:]  # a Swedish number written the Swedish way
    else:
        return None
    return number if 9 <= len(number) <= 16 else None


def _id_numbers(text: str, found: set[tuple[Kind, str]]) -> str:
    """Index organisation numbers; take both them and personal identity numbers out of the
    text (neither is a phone number). Ten digits without a dash starting with 0 stay."""

    def take(match: re.Match[str]) -> str:
        first, dash, last = match.groups()
        if not dash and not match.group(0).startswith(("16", "19", "20")) and first[0] == "0":
            return match.group(0)  # 0701234567: a phone number written without spaces
        if int(first[2]) >= 2:
            found.add((Kind.ORG_NUMBER, first + last))
        return " "

    return _ID_NUMBER.sub(take, text)


def extract(text: str) -> set[tuple[Kind, str]]:
    """The identifiers in ``text``, each normalised, so that two ways of writing the same
    one (``070-123 45 67`` and ``+46701234567``, ``@Name`` and ``instagram.com/name``) match.
    """
    found: set[tuple[Kind, str]] = set()
    rest = text
    for match in _EMAIL.finditer(rest):
        found.add((Kind.EMAIL, match.group(0).lower()))
    rest = _EMAIL.sub(" ", rest)
    for match in _PROFILE_URL.finditer(rest):
        segment, account = match.group(1).lower().rstrip("."), match.group(2)
        if account:
            found.add((Kind.HANDLE, f"id:{account}"))
        elif segment not in _NOT_HANDLES:
            found.add((Kind.HANDLE, segment))
    rest = _PROFILE_URL.sub(" ", rest)
    for match in _HANDLE.finditer(rest):
        found.add((Kind.HANDLE, match.group(1).lower()))
    rest = _HANDLE.sub(" ", rest)
    rest = _DATE.sub(" ", rest)
    rest = _id_numbers(rest, found)
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
