"""Envelope encryption primitives: data keys wrapped by the key ring, fields sealed by data keys.

Every sensitive record has its own random 256-bit data key. The data key is stored wrapped
(AES-256-GCM) by a key-encryption key (KEK) from the ring ``settings.VARN_KEYRING``
(``key id -> key``, the first one active), together with that KEK's id, and bound by
associated data to the data key's own id. Fields are sealed with the data key:

    field ciphertext = version (1 byte) | nonce (12 bytes) | AES-256-GCM(plaintext) + tag

with associated data naming the model, the field and the record, so a ciphertext moved to
another row or field does not open. Opening never returns partial plaintext: any changed,
missing or extra byte raises ``DecryptionError``, which carries no content and is logged
without content.
"""

from __future__ import annotations

import logging
import os

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from django.conf import settings

logger = logging.getLogger(__name__)

FIELD_VERSION = 2
WRAP_VERSION = 1
NONCE_BYTES = 12
KEY_BYTES = 32


class DecryptionError(Exception):
    """A ciphertext did not open: tampered, moved, truncated or under an unknown key."""

    def __init__(self) -> None:
        super().__init__("The encrypted value could not be opened.")


class UnknownKeyError(DecryptionError):
    """The key-encryption key a data key was wrapped with is not in the ring."""


def keyring() -> dict[str, bytes]:
    ring: dict[str, bytes] = settings.VARN_KEYRING
    return ring


def active_key_id() -> str:
    return next(iter(keyring()))


def _fail(context: str) -> DecryptionError:
    # Log that it happened and where, never what.
    logger.warning("Encrypted value failed to open (%s).", context)
    return DecryptionError()


def new_data_key() -> bytes:
    return AESGCM.generate_key(bit_length=256)


def wrap_data_key(data_key: bytes, *, data_key_id: object) -> tuple[str, bytes]:
    """Wrap ``data_key`` under the active KEK; returns ``(kek id, wrapped bytes)``."""
    kek_id = active_key_id()
    nonce = os.urandom(NONCE_BYTES)
    aad = f"varn:datakey:{data_key_id}:{kek_id}".encode()
    wrapped = (
        bytes([WRAP_VERSION]) + nonce + AESGCM(keyring()[kek_id]).encrypt(nonce, data_key, aad)
    )
    return kek_id, wrapped


def unwrap_data_key(kek_id: str, wrapped: bytes, *, data_key_id: object) -> bytes:
    kek = keyring().get(kek_id)
    if kek is None:
        logger.warning("A data key is wrapped by key %s, which is not in the ring.", kek_id)
        raise UnknownKeyError
    return _unwrap(AESGCM(kek), kek_id, wrapped, data_key_id)


class Unwrapper:
    """Unwraps many data keys, as ``unwrap_data_key`` does, making the cipher of each KEK
    once: for a bulk read (the trends rebuild opens a million records' keys). A KEK not in
    the ring is logged once, not once a record."""

    def __init__(self) -> None:
        self._ciphers: dict[str, AESGCM | None] = {}

    def __call__(self, kek_id: str, wrapped: bytes, *, data_key_id: object) -> bytes:
        if kek_id not in self._ciphers:
            kek = keyring().get(kek_id)
            if kek is None:
                logger.warning("Data keys are wrapped by key %s, which is not in the ring.", kek_id)
            self._ciphers[kek_id] = None if kek is None else AESGCM(kek)
        cipher = self._ciphers[kek_id]
        if cipher is None:
            raise UnknownKeyError
        return _unwrap(cipher, kek_id, wrapped, data_key_id)


def _unwrap(cipher: AESGCM, kek_id: str, wrapped: bytes, data_key_id: object) -> bytes:
    try:
        if wrapped[0] != WRAP_VERSION:
            raise ValueError
        nonce, body = wrapped[1 : 1 + NONCE_BYTES], wrapped[1 + NONCE_BYTES :]
        aad = f"varn:datakey:{data_key_id}:{kek_id}".encode()
        key = cipher.decrypt(nonce, body, aad)
    except (IndexError, ValueError, InvalidTag):
        raise _fail("data key") from None
    if len(key) != KEY_BYTES:
        raise _fail("data key")
    return key


def field_aad(model_label: str, field: str, record_id: object) -> bytes:
    return f"varn:field:{model_label}:{field}:{record_id}".encode()


def seal_field(data_key: bytes | AESGCM, plaintext: bytes, *, aad: bytes) -> bytes:
    """Seal under a data key, given as bytes or as the ``AESGCM`` made from it once (a
    record sealing many fields makes it once)."""
    aead = data_key if isinstance(data_key, AESGCM) else AESGCM(data_key)
    nonce = os.urandom(NONCE_BYTES)
    return bytes([FIELD_VERSION]) + nonce + aead.encrypt(nonce, plaintext, aad)


def open_field(data_key: bytes | AESGCM, blob: bytes, *, aad: bytes) -> bytes:
    try:
        if blob[0] != FIELD_VERSION:
            raise ValueError
        nonce, body = blob[1 : 1 + NONCE_BYTES], blob[1 + NONCE_BYTES :]
        if len(nonce) != NONCE_BYTES:
            raise ValueError
        aead = data_key if isinstance(data_key, AESGCM) else AESGCM(data_key)
        return aead.decrypt(nonce, body, aad)
    except (IndexError, ValueError, InvalidTag):
        # The context names model and field only (the record id is not logged either).
        raise _fail(aad.decode("utf-8", "replace").rsplit(":", 1)[0]) from None


PAD_BLOCK = 64


def pad(plaintext: bytes) -> bytes:
    """Pad to a multiple of 64 bytes (ISO/IEC 7816-4), so a ciphertext's length tells
    nothing about short values (which gender, which age band) and little about long ones."""
    return plaintext + b"\x80" + b"\x00" * ((-len(plaintext) - 1) % PAD_BLOCK)


def unpad(padded: bytes) -> bytes:
    stripped = padded.rstrip(b"\x00")
    if not stripped.endswith(b"\x80") or len(padded) % PAD_BLOCK:
        raise _fail("padding")
    return stripped[:-1]


def subkey(data_key: bytes, purpose: str) -> bytes:
    """A key for one purpose (e.g. a file's contents), derived from a record's data key."""
    return HKDF(
        algorithm=hashes.SHA256(), length=KEY_BYTES, salt=None, info=purpose.encode()
    ).derive(data_key)
