"""Rejects passwords that look like the ones found in breach lists.

No password leaves the server (there is no network look-up): a password is reduced to its
core (lower case, common letter-for-digit swaps undone, leading and trailing digits and
symbols removed) and refused when that core is a common password, a word tied to this
service, or too repetitive to resist a guessing attack.
"""

from __future__ import annotations

import re
from functools import cache
from typing import Any

from django.contrib.auth.password_validation import CommonPasswordValidator
from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _

_LEET = str.maketrans(
    {"0": "o", "1": "i", "3": "e", "4": "a", "5": "s", "7": "t", "@": "a", "$": "s", "!": "i"}
)
_SERVICE_WORDS = frozenset(
    {
        "varn",
        "värn",
        "stockholm",
        "stockholmstad",
        "kommun",
        "region",
        "losenord",
        "lösenord",
        "password",
        "sakerhet",
        "säkerhet",
        "politiker",
        "valet",
        "qwerty",
        "asdf",
        "admin",
    }
)
_SEQUENCES = ("abcdefghijklmnopqrstuvwxyzåäö", "qwertyuiopåasdfghjklöäzxcvbnm", "0123456789")


@cache
def _common() -> frozenset[str]:
    return frozenset(CommonPasswordValidator().passwords)


def _core(password: str) -> str:
    lowered = password.lower()
    stripped = re.sub(r"^[\W\d_]+|[\W\d_]+$", "", lowered)
    return (stripped or lowered).translate(_LEET)


def _is_sequence(text: str) -> bool:
    return len(text) >= 4 and any(text in seq or text in seq[::-1] for seq in _SEQUENCES)


class BreachedLookingPasswordValidator:
    def validate(self, password: str, user: Any = None) -> None:
        core = _core(password)
        compact = re.sub(r"[\W_]+", "", core)
        if (
            core in _common()
            or compact in _common()
            or compact in _SERVICE_WORDS
            or len(set(password)) < 5
            or _is_sequence(compact)
            or any(compact == word * (len(compact) // max(len(word), 1)) for word in _SERVICE_WORDS)
        ):
            raise ValidationError(
                _("This password looks like one that appears in lists of leaked passwords."),
                code="password_breached_looking",
            )

    def get_help_text(self) -> str:
        return _("Your password must not be a common or leaked password with small changes.")
