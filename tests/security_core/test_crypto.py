"""Sealed secrets open only unchanged, in their own place, under a key still in the ring.

Proves the AES-GCM sealing in ``security_core.crypto``: round trips, binding to record and
field, tamper and truncation detection, key rotation, logs without plaintext, TOTP secrets
that are not stored in clear, and a clean answer when a stored secret has been tampered with.
"""

from __future__ import annotations

import base64
import logging
import os

import pytest
from django.db import connection
from django.urls import reverse

from security_core import crypto, services
from security_core.crypto import DecryptionError, associated_data, open_sealed, seal
from security_core.models import SecurityEvent, TOTPDevice
from security_core.roles import Role
from tests.conftest import service_request

PLAINTEXT = b"the informant lives at Storgatan 7"
AAD = associated_data("influence_reports.report", "body", "3f1c9a")


def _key() -> bytes:
    return os.urandom(32)


def _flip(blob: bytes, position: int, mask: int = 0x01) -> bytes:
    changed = bytearray(blob)
    changed[position] ^= mask
    return bytes(changed)


def _layout(blob: bytes) -> dict[str, int]:
    """Byte offsets of the parts of a sealed value (see the module docstring of crypto)."""
    kid_len = blob[1]
    nonce_at = 2 + kid_len
    return {
        "version": 0,
        "key id length": 1,
        "key id": 2,
        "nonce": nonce_at,
        "ciphertext": nonce_at + crypto.NONCE_BYTES,
        "tag": len(blob) - 1,
    }


def test_sealed_value_opens_to_the_same_plaintext():
    blob = seal(PLAINTEXT, aad=AAD)

    assert open_sealed(blob, aad=AAD) == PLAINTEXT
    assert PLAINTEXT not in blob


def test_sealing_twice_gives_different_ciphertexts():
    assert seal(PLAINTEXT, aad=AAD) != seal(PLAINTEXT, aad=AAD)


@pytest.mark.parametrize(
    "other_place",
    [
        associated_data("influence_reports.report", "body", "3f1c9b"),  # another record
        associated_data("influence_reports.report", "title", "3f1c9a"),  # another field
        associated_data("security_core.totpdevice", "body", "3f1c9a"),  # another model
    ],
    ids=["other-record", "other-field", "other-model"],
)
def test_ciphertext_copied_to_another_record_or_field_does_not_open(other_place):
    blob = seal(PLAINTEXT, aad=AAD)

    with pytest.raises(DecryptionError):
        open_sealed(blob, aad=other_place)


@pytest.mark.parametrize(
    "part", ["version", "key id length", "key id", "nonce", "ciphertext", "tag"]
)
@pytest.mark.parametrize("mask", [0x01, 0x80])
def test_flipping_a_bit_in_any_part_of_a_sealed_value_is_detected(part, mask):
    blob = seal(PLAINTEXT, aad=AAD)

    with pytest.raises(DecryptionError):
        open_sealed(_flip(blob, _layout(blob)[part], mask), aad=AAD)


def test_changing_any_single_byte_is_detected():
    blob = seal(PLAINTEXT, aad=AAD)

    for position in range(len(blob)):
        with pytest.raises(DecryptionError):
            open_sealed(_flip(blob, position, 0xFF), aad=AAD)


def test_truncated_sealed_value_does_not_open():
    blob = seal(PLAINTEXT, aad=AAD)

    for length in range(len(blob)):
        with pytest.raises(DecryptionError):
            open_sealed(blob[:length], aad=AAD)


def test_sealed_value_with_bytes_appended_does_not_open():
    with pytest.raises(DecryptionError):
        open_sealed(seal(PLAINTEXT, aad=AAD) + b"\x00", aad=AAD)


def test_ciphertext_under_a_key_removed_from_the_ring_does_not_open(settings):
    settings.VARN_KEYRING = {"old": _key()}
    blob = seal(PLAINTEXT, aad=AAD)

    settings.VARN_KEYRING = {"new": _key()}

    with pytest.raises(DecryptionError):
        open_sealed(blob, aad=AAD)


def test_ciphertext_does_not_open_under_another_key_with_the_same_id(settings):
    settings.VARN_KEYRING = {"k1": _key()}
    blob = seal(PLAINTEXT, aad=AAD)

    settings.VARN_KEYRING = {"k1": _key()}

    with pytest.raises(DecryptionError):
        open_sealed(blob, aad=AAD)


def test_old_key_still_opens_old_ciphertexts_after_a_new_key_becomes_active(settings):
    old_key = _key()
    settings.VARN_KEYRING = {"old": old_key}
    old_blob = seal(PLAINTEXT, aad=AAD)

    settings.VARN_KEYRING = {"new": _key(), "old": old_key}
    new_blob = seal(PLAINTEXT, aad=AAD)

    assert open_sealed(old_blob, aad=AAD) == PLAINTEXT
    assert open_sealed(new_blob, aad=AAD) == PLAINTEXT
    # New values are sealed under the first key of the ring.
    assert new_blob[2 : 2 + new_blob[1]] == b"new"
    assert old_blob[2 : 2 + old_blob[1]] == b"old"


def test_failure_to_open_is_logged_without_plaintext_or_key(caplog, settings):
    key = _key()
    settings.VARN_KEYRING = {"k1": key}
    blob = seal(PLAINTEXT, aad=AAD)

    with (
        caplog.at_level(logging.WARNING, logger="security_core.crypto"),
        pytest.raises(DecryptionError) as raised,
    ):
        open_sealed(_flip(blob, len(blob) - 1), aad=AAD)

    assert [record.levelno for record in caplog.records] == [logging.WARNING]
    logged = caplog.text
    for leak in (
        PLAINTEXT.decode(),
        PLAINTEXT.hex(),
        "Storgatan",
        key.hex(),
        base64.urlsafe_b64encode(key).decode().rstrip("="),
        "3f1c9a",  # the record id: the log says where in kind, not which record
    ):
        assert leak not in logged
    assert "Storgatan" not in str(raised.value)


@pytest.mark.django_db
def test_totp_secret_is_not_stored_in_clear(handler):
    device = services.totp_device_begin(request=service_request(), user=handler)
    secret = device.secret()
    assert len(secret) == services.TOTP_SECRET_BYTES

    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT * FROM {TOTPDevice._meta.db_table} WHERE id = %s",  # noqa: S608
            [device.pk],
        )
        row = cursor.fetchone()
    assert row is not None
    raw = b"".join(
        bytes(value) if isinstance(value, bytes | memoryview) else str(value).encode()
        for value in row
    )
    base32 = base64.b32encode(secret).rstrip(b"=")

    assert secret not in raw
    assert secret.hex().encode() not in raw.lower()
    assert base32 not in raw.upper()
    assert base64.b64encode(secret).rstrip(b"=") not in raw
    # What is stored is a sealed value that opens, under this device's own context.
    stored = TOTPDevice.objects.get(pk=device.pk)
    assert stored.secret() == secret


@pytest.mark.django_db
def test_tampered_totp_secret_gives_a_clear_answer_on_the_verify_page_not_a_server_error(
    client, make_user, signed_in
):
    user = make_user(Role.HANDLER)
    device = services.totp_device_begin(request=service_request(), user=user)
    device.confirmed = True
    sealed = bytes(device.sealed_key)
    device.sealed_key = _flip(sealed, len(sealed) - 1)
    device.save()
    signed_in(client, user, verified=False)

    response = client.post(reverse("otp_verify"), {"token": "123456"})

    assert response.status_code == 400
    body = response.content.decode()
    assert 'name="token"' in body  # the form is shown again, in the site's layout
    assert 'id="main"' in body
    for leak in ("Traceback", "DecryptionError", "InvalidTag", "sealed_key"):
        assert leak not in body
    # The user is still not through the second step.
    assert client.get(reverse("home"))["Location"].startswith(reverse("otp_verify"))
    assert SecurityEvent.objects.filter(user=user, kind=SecurityEvent.Kind.OTP_FAILED).exists()
