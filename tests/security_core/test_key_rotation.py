"""Key rotation re-wraps every data key under a new ring key while records keep opening.

After ``rotate_keys`` the old key can leave the ring and every record still opens; reads
going on during the rotation never fail; a ring from the environment is never half-changed.
"""

from __future__ import annotations

import os
import stat
import threading

import pytest
from django.core.management import CommandError, call_command
from django.db import connection

from security_core import crypto, services
from security_core.environment import encode_key, parse_keyring
from security_core.models import DataKey, TOTPDevice
from tests.conftest import service_request

OLD = {"old": bytes(range(32))}
NEW_KEY = bytes(range(32, 64))


def _devices(make_user, count: int) -> dict[int, bytes]:
    secrets = {}
    for _ in range(count):
        device = services.totp_device_begin(request=service_request(), user=make_user())
        secrets[device.pk] = device.secret()
    return secrets


def _all_open(secrets: dict[int, bytes]) -> bool:
    return all(TOTPDevice.objects.get(pk=pk).secret() == secret for pk, secret in secrets.items())


@pytest.mark.django_db
def test_after_rotation_the_old_key_can_leave_the_ring_and_everything_opens(settings, make_user):
    settings.VARN_KEYRING = dict(OLD)
    secrets = _devices(make_user, 5)
    assert set(DataKey.objects.values_list("kek_id", flat=True)) == {"old"}

    settings.VARN_KEYRING = {"new": NEW_KEY, **OLD}
    assert services.data_keys_rewrap(batch_size=2) == 5

    assert set(DataKey.objects.values_list("kek_id", flat=True)) == {"new"}
    settings.VARN_KEYRING = {"new": NEW_KEY}
    assert _all_open(secrets)
    assert services.data_keys_rewrap() == 0  # nothing left to do


@pytest.mark.django_db
def test_records_open_between_every_batch_of_a_rotation(settings, make_user):
    settings.VARN_KEYRING = dict(OLD)
    secrets = _devices(make_user, 6)
    settings.VARN_KEYRING = {"new": NEW_KEY, **OLD}
    done = 0
    while services.data_keys_rewrap(batch_size=1, max_batches=1):
        done += 1
        assert _all_open(secrets)  # half-rotated: some under old, some under new
    assert done == 6


@pytest.mark.django_db(transaction=True)
@pytest.mark.skipif(connection.vendor != "postgresql", reason="needs concurrent connections")
def test_rotation_under_concurrent_reads_never_fails_a_read(settings, make_user):
    settings.VARN_KEYRING = dict(OLD)
    secrets = _devices(make_user, 40)
    settings.VARN_KEYRING = {"new": NEW_KEY, **OLD}
    failures: list[BaseException] = []
    stop = threading.Event()

    def read_until_stopped() -> None:
        from django.db import connections

        try:
            while not stop.is_set():
                if not _all_open(secrets):
                    failures.append(AssertionError("a secret opened to the wrong value"))
        except BaseException as error:  # noqa: BLE001 - reported below
            failures.append(error)
        finally:
            connections.close_all()

    readers = [threading.Thread(target=read_until_stopped) for _ in range(3)]
    for reader in readers:
        reader.start()
    rewrapped = services.data_keys_rewrap(batch_size=3)
    stop.set()
    for reader in readers:
        reader.join()

    assert rewrapped == 40
    assert failures == []
    settings.VARN_KEYRING = {"new": NEW_KEY}
    assert _all_open(secrets)


@pytest.mark.django_db
def test_rotation_in_three_steps_never_leaves_a_process_unable_to_open_a_record(
    settings, make_user, tmp_path
):
    ring_file = tmp_path / "keyring"
    ring_file.write_text(f"old:{encode_key(OLD['old'])}\n")
    settings.VARN_KEYRING = dict(OLD)
    settings.VARN_KEYRING_PATH = ring_file
    secrets = _devices(make_user, 3)

    # 1. A new key joins the ring last: a process that restarts now still wraps under "old",
    #    which every process can open.
    call_command("rotate_keys", "--new-key")
    ring = parse_keyring("test", ring_file.read_text().strip())
    new_id = list(ring)[-1]
    assert list(ring) == ["old", new_id]
    assert stat.S_IMODE(os.stat(ring_file).st_mode) == 0o600
    settings.VARN_KEYRING = ring  # a restarted process
    secrets |= _devices(make_user, 1)
    assert set(DataKey.objects.values_list("kek_id", flat=True)) == {"old"}
    settings.VARN_KEYRING = dict(OLD)  # a process not yet restarted opens everything
    assert _all_open(secrets)

    # 2. Once every process knows it, it becomes active.
    settings.VARN_KEYRING = ring
    call_command("rotate_keys", "--activate", new_id)
    ring = parse_keyring("test", ring_file.read_text().strip())
    assert list(ring) == [new_id, "old"]
    settings.VARN_KEYRING = ring

    # 3. Re-wrap; afterwards the old key can go.
    call_command("rotate_keys")
    assert set(DataKey.objects.values_list("kek_id", flat=True)) == {new_id}
    settings.VARN_KEYRING = {new_id: ring[new_id]}
    assert _all_open(secrets)


def test_activating_a_key_not_in_the_ring_is_refused(settings, tmp_path):
    settings.VARN_KEYRING = dict(OLD)
    settings.VARN_KEYRING_PATH = tmp_path / "keyring"
    with pytest.raises(CommandError, match="not in the ring"):
        call_command("rotate_keys", "--activate", "nosuchkey")


@pytest.mark.django_db
def test_rotate_keys_will_not_half_change_a_ring_that_comes_from_the_environment(
    settings, make_user
):
    settings.VARN_KEYRING = dict(OLD)
    settings.VARN_KEYRING_PATH = None
    _devices(make_user, 2)
    with pytest.raises(CommandError, match="END of VARN_KEYRING") as raised:
        call_command("rotate_keys", "--new-key")
    assert encode_key(OLD["old"]) not in str(raised.value)  # the old key is not printed
    assert set(DataKey.objects.values_list("kek_id", flat=True)) == {"old"}
    assert crypto.keyring() == OLD


@pytest.mark.django_db
def test_rotate_keys_status_names_data_keys_under_a_key_missing_from_the_ring(
    settings, make_user, capsys
):
    settings.VARN_KEYRING = dict(OLD)
    _devices(make_user, 2)
    settings.VARN_KEYRING = {"new": NEW_KEY}
    call_command("rotate_keys", "--status")
    out = capsys.readouterr().out
    assert "old (NOT IN THE RING): 2 data keys" in out
    assert services.data_keys_rewrap() == 0  # cannot, and does not loop forever


@pytest.mark.django_db
def test_one_damaged_data_key_does_not_stop_the_rotation_of_the_others(settings, make_user):
    settings.VARN_KEYRING = dict(OLD)
    secrets = _devices(make_user, 4)
    damaged = DataKey.objects.order_by("id").first()
    assert damaged is not None
    wrapped = bytearray(damaged.wrapped)
    wrapped[-1] ^= 1
    DataKey.objects.filter(pk=damaged.pk).update(wrapped=bytes(wrapped))
    settings.VARN_KEYRING = {"new": NEW_KEY, **OLD}

    assert services.data_keys_rewrap(batch_size=2) == 3

    remaining = set(DataKey.objects.exclude(pk=damaged.pk).values_list("kek_id", flat=True))
    assert remaining == {"new"}
    assert DataKey.objects.get(pk=damaged.pk).kek_id == "old"
    assert services.data_keys_rewrap(batch_size=2) == 0  # and it does not loop
    assert len(secrets) == 4
