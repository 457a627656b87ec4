"""Envelope encryption: data keys wrapped by the ring, fields sealed and bound to their place.

Proves that sealed fields round-trip, that a ciphertext moved to another record, field or
model, or with any byte changed, added or removed, does not open; that data keys wrapped by a
ring key no longer present do not open, nor a wrapped key moved to another row; that nothing
is logged but the fact and the place; that deleting a record destroys its data key; and that
plaintext never reaches serialised or pickled forms of a record.
"""

from __future__ import annotations

import base64
import logging
import pickle

import pytest
from django.core import serializers
from django.db import connection
from django.urls import reverse

from security_core import crypto, services
from security_core.crypto import DecryptionError, UnknownKeyError
from security_core.models import DataKey, SecurityEvent, TOTPDevice
from security_core.roles import Role
from tests.conftest import service_request, stored_ciphertext

PLAINTEXT = "Hotet kom via sms från 070-123 45 67, Storgatan 12".encode()
AAD = crypto.field_aad("influence_reports.report", "description", "3f1c9a")
KEY = bytes(range(32))


def _flip(blob: bytes, position: int, mask: int = 0x01) -> bytes:
    changed = bytearray(blob)
    changed[position] ^= mask
    return bytes(changed)


def test_a_sealed_field_opens_with_its_key_and_place():
    blob = crypto.seal_field(KEY, PLAINTEXT, aad=AAD)
    assert PLAINTEXT not in blob
    assert crypto.open_field(KEY, blob, aad=AAD) == PLAINTEXT
    assert crypto.seal_field(KEY, PLAINTEXT, aad=AAD) != blob  # a fresh nonce every time


@pytest.mark.parametrize(
    "other_place",
    [
        crypto.field_aad("influence_reports.report", "description", "3f1c9b"),  # other record
        crypto.field_aad("influence_reports.report", "location_details", "3f1c9a"),  # field
        crypto.field_aad("security_core.totpdevice", "description", "3f1c9a"),  # model
    ],
)
def test_a_ciphertext_moved_to_another_record_field_or_model_does_not_open(other_place):
    blob = crypto.seal_field(KEY, PLAINTEXT, aad=AAD)
    with pytest.raises(DecryptionError):
        crypto.open_field(KEY, blob, aad=other_place)


def test_any_changed_byte_is_detected():
    blob = crypto.seal_field(KEY, PLAINTEXT, aad=AAD)
    for position in range(len(blob)):
        with pytest.raises(DecryptionError):
            crypto.open_field(KEY, _flip(blob, position, 0xFF), aad=AAD)


def test_truncated_or_extended_ciphertext_is_detected():
    blob = crypto.seal_field(KEY, PLAINTEXT, aad=AAD)
    for length in range(len(blob)):
        with pytest.raises(DecryptionError):
            crypto.open_field(KEY, blob[:length], aad=AAD)
    with pytest.raises(DecryptionError):
        crypto.open_field(KEY, blob + b"\x00", aad=AAD)


def test_a_field_does_not_open_under_another_records_data_key():
    blob = crypto.seal_field(KEY, PLAINTEXT, aad=AAD)
    with pytest.raises(DecryptionError):
        crypto.open_field(bytes(32), blob, aad=AAD)


def test_a_failure_is_logged_by_place_without_content_or_record(caplog):
    blob = crypto.seal_field(KEY, PLAINTEXT, aad=AAD)
    with (
        caplog.at_level(logging.WARNING, logger="security_core.crypto"),
        pytest.raises(DecryptionError) as raised,
    ):
        crypto.open_field(KEY, _flip(blob, len(blob) - 1), aad=AAD)
    logged = caplog.text
    assert "influence_reports.report" in logged
    for leak in (PLAINTEXT.decode(), "Storgatan", KEY.hex(), "3f1c9a"):
        assert leak not in logged
        assert leak not in str(raised.value)


@pytest.mark.django_db
def test_a_data_key_wrapped_by_a_key_no_longer_in_the_ring_does_not_open(settings):
    record, _key = DataKey.issue()
    settings.VARN_KEYRING = {"other": bytes(32)}
    with pytest.raises(UnknownKeyError):
        DataKey.objects.get(pk=record.pk).unwrap()


@pytest.mark.django_db
def test_a_wrapped_data_key_moved_to_another_row_does_not_open():
    first, _ = DataKey.issue()
    second, _ = DataKey.issue()
    DataKey.objects.filter(pk=second.pk).update(wrapped=bytes(first.wrapped))
    with pytest.raises(DecryptionError):
        DataKey.objects.get(pk=second.pk).unwrap()


@pytest.mark.django_db
def test_a_tampered_wrapped_data_key_does_not_open():
    record, _ = DataKey.issue()
    wrapped = bytes(record.wrapped)
    DataKey.objects.filter(pk=record.pk).update(wrapped=_flip(wrapped, len(wrapped) - 3))
    with pytest.raises(DecryptionError):
        DataKey.objects.get(pk=record.pk).unwrap()


@pytest.mark.django_db
def test_every_record_has_its_own_data_key(handler, reporter):
    one = services.totp_device_begin(request=service_request(), user=handler)
    two = services.totp_device_begin(request=service_request(), user=reporter)
    assert one.data_key_id != two.data_key_id
    assert one.data_key.unwrap() != two.data_key.unwrap()


@pytest.mark.django_db
def test_an_encrypted_column_copied_to_another_record_does_not_open(handler, reporter):
    one = services.totp_device_begin(request=service_request(), user=handler)
    two = services.totp_device_begin(request=service_request(), user=reporter)
    TOTPDevice.objects.filter(pk=two.pk).update(key=stored_ciphertext(one))
    with pytest.raises(DecryptionError):
        TOTPDevice.objects.get(pk=two.pk).secret()


@pytest.mark.django_db
def test_deleting_a_record_destroys_its_data_key(handler):
    device = services.totp_device_begin(request=service_request(), user=handler)
    key_id = device.data_key_id
    assert DataKey.objects.filter(pk=key_id).exists()
    device.delete()
    assert not DataKey.objects.filter(pk=key_id).exists()


@pytest.mark.django_db
def test_deleting_records_in_bulk_destroys_their_data_keys(handler, reporter):
    for user in (handler, reporter):
        services.totp_device_begin(request=service_request(), user=user)
    keys = list(TOTPDevice.objects.values_list("data_key_id", flat=True))
    TOTPDevice.objects.all().delete()
    assert not DataKey.objects.filter(pk__in=keys).exists()


@pytest.mark.django_db
def test_serialised_and_pickled_records_carry_no_plaintext(handler):
    device = services.totp_device_begin(request=service_request(), user=handler)
    secret_text = device.key
    assert secret_text
    dumped = serializers.serialize("json", [TOTPDevice.objects.get(pk=device.pk)])
    assert secret_text not in dumped
    pickled = pickle.dumps(device)
    assert secret_text.encode() not in pickled
    assert pickle.loads(pickled).secret() == device.secret()  # noqa: S301 - our own bytes


@pytest.mark.django_db
def test_deferred_encrypted_field_loads_and_opens_on_access(handler):
    device = services.totp_device_begin(request=service_request(), user=handler)
    deferred = TOTPDevice.objects.defer("key").get(pk=device.pk)
    assert deferred.secret() == device.secret()


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
    device.save()
    sealed = stored_ciphertext(device)
    TOTPDevice.objects.filter(pk=device.pk).update(key=_flip(sealed, len(sealed) - 1))
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


@pytest.mark.django_db
def test_stored_length_does_not_tell_short_values_apart(reporter):
    from influence_reports.models import Report

    lengths = set()
    for value in ("", "man", "woman", "other", "65_plus", "x" * 60):
        report = Report(reporter=reporter, reporter_role="official", description="d")
        report.profile_gender = value
        report.save()
        raw = Report.objects.filter(pk=report.pk).values_list("profile_gender", flat=True).get()
        assert raw is not None  # unanswered is stored encrypted too, not as NULL
        lengths.add(len(bytes(raw)))
        assert Report.objects.get(pk=report.pk).profile_gender == value
    assert len(lengths) == 1


def test_padding_round_trips_and_bad_padding_is_refused():
    for size in (0, 1, 62, 63, 64, 65, 200):
        data = bytes(range(256))[:size] if size <= 256 else b""
        padded = crypto.pad(data)
        assert len(padded) % crypto.PAD_BLOCK == 0
        assert crypto.unpad(padded) == data
    with pytest.raises(DecryptionError):
        crypto.unpad(b"\x00" * 64)
    with pytest.raises(DecryptionError):
        crypto.unpad(b"abc\x80")
