"""Authenticated encryption of small secrets under the key ring (AES-256-GCM).

A sealed value is ``version (1 byte) | key-id length (1 byte) | key id | nonce (12 bytes) |
ciphertext+tag``. The associated data names the model, field and record it belongs to, so a
ciphertext copied to another row or field does not open. Opening never returns partial
plaintext: any change to any byte raises ``DecryptionError``, which carries no content.

This is the foundation's sealing of TOTP secrets; the envelope scheme with per-record data
keys (issue 3) builds on the same ring and format.
"""

from __future__ import annotations

import logging
import os

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from django.conf import settings

logger = logging.getLogger(__name__)

FORMAT_VERSION = 1
NONCE_BYTES = 12


class DecryptionError(Exception):
    """A ciphertext did not open: tampered, moved, truncated or under an unknown key."""

    def __init__(self) -> None:
        super().__init__("The encrypted value could not be opened.")


def associated_data(model_label: str, field: str, record_id: object) -> bytes:
    return f"varn:{model_label}:{field}:{record_id}".encode()


def _ring() -> dict[str, bytes]:
    ring: dict[str, bytes] = settings.VARN_KEYRING
    return ring


def seal(plaintext: bytes, *, aad: bytes) -> bytes:
    key_id, key = next(iter(_ring().items()))
    nonce = os.urandom(NONCE_BYTES)
    kid = key_id.encode("ascii")
    header = bytes([FORMAT_VERSION, len(kid)]) + kid
    return header + nonce + AESGCM(key).encrypt(nonce, plaintext, header + aad)


def open_sealed(blob: bytes, *, aad: bytes) -> bytes:
    try:
        version, kid_len = blob[0], blob[1]
        kid = blob[2 : 2 + kid_len]
        header = blob[: 2 + kid_len]
        nonce = blob[2 + kid_len : 2 + kid_len + NONCE_BYTES]
        body = blob[2 + kid_len + NONCE_BYTES :]
        if version != FORMAT_VERSION or len(nonce) != NONCE_BYTES:
            raise ValueError
        key = _ring()[kid.decode("ascii")]
        return AESGCM(key).decrypt(nonce, body, header + aad)
    except (IndexError, KeyError, ValueError, UnicodeDecodeError, InvalidTag):
        # Log that it happened and where, never what.
        logger.warning("Sealed value failed to open (aad context %s).", aad.split(b":")[1:3])
        raise DecryptionError from None
