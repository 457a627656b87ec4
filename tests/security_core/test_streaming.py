"""Files are encrypted in authenticated segments: any change, cut, reorder or move is caught."""

from __future__ import annotations

import io

import pytest

from security_core import streaming
from security_core.crypto import DecryptionError

KEY = bytes(range(32))
BINDING = b"varn:file:influence_reports.attachment:1b2c"
SEGMENT = 1024  # small segments, so the tests cross many boundaries


def _encrypt(data: bytes, chunk: int = 333, binding: bytes = BINDING) -> bytes:
    chunks = (data[i : i + chunk] for i in range(0, len(data), chunk))
    return b"".join(streaming.encrypt_stream(KEY, chunks, binding=binding, segment_size=SEGMENT))


def _decrypt(blob: bytes, key: bytes = KEY, binding: bytes = BINDING) -> bytes:
    return b"".join(streaming.decrypt_stream(key, io.BytesIO(blob), binding=binding))


def _segments(blob: bytes) -> tuple[bytes, list[bytes]]:
    header, body = blob[: streaming.HEADER.size], blob[streaming.HEADER.size :]
    step = SEGMENT + streaming.TAG_BYTES
    return header, [body[i : i + step] for i in range(0, len(body), step)]


@pytest.mark.parametrize("size", [0, 1, SEGMENT - 1, SEGMENT, SEGMENT + 1, 3 * SEGMENT + 5])
@pytest.mark.parametrize("chunk", [1, 100, SEGMENT, 5000])
def test_files_of_any_size_in_chunks_of_any_size_round_trip(size, chunk):
    data = bytes((i * 7 + 3) % 251 for i in range(size))
    blob = _encrypt(data, chunk)
    assert _decrypt(blob) == data
    assert streaming.verify(KEY, io.BytesIO(blob), binding=BINDING) == size
    if size >= 16:
        assert data not in blob


def test_the_encryptor_never_holds_more_than_one_segment_of_plaintext():
    encryptor = streaming.SegmentEncryptor(KEY, binding=BINDING, segment_size=SEGMENT)
    for _ in range(50):
        encryptor.update(b"x" * 700)
        assert len(encryptor._buffer) <= SEGMENT
    encryptor.finalize()


def test_every_changed_byte_is_caught():
    blob = _encrypt(b"evidence " * 300)
    for position in range(0, len(blob), 7):
        changed = bytearray(blob)
        changed[position] ^= 0x20
        with pytest.raises(DecryptionError):
            _decrypt(bytes(changed))


def test_a_file_cut_at_a_segment_boundary_is_caught():
    header, segments = _segments(_encrypt(b"a" * (4 * SEGMENT)))
    assert len(segments) == 4
    with pytest.raises(DecryptionError):
        _decrypt(header + b"".join(segments[:3]))


def test_a_file_cut_anywhere_is_caught():
    blob = _encrypt(b"b" * (2 * SEGMENT + 10))
    for length in range(0, len(blob) - 1, 97):
        with pytest.raises(DecryptionError):
            _decrypt(blob[:length])


def test_dropped_reordered_duplicated_or_appended_segments_are_caught():
    header, segments = _segments(_encrypt(bytes(range(256)) * 16 + b"!"))
    assert len(segments) == 5
    variants = [
        segments[:1] + segments[2:],  # dropped
        [segments[1], segments[0], *segments[2:]],  # reordered
        segments[:2] + segments[1:],  # duplicated
        [*segments, segments[-1]],  # appended
    ]
    for variant in variants:
        with pytest.raises(DecryptionError):
            _decrypt(header + b"".join(variant))


def test_a_file_moved_to_another_record_or_under_another_key_does_not_open():
    blob = _encrypt(b"the bribe offer, in writing")
    with pytest.raises(DecryptionError):
        _decrypt(blob, binding=b"varn:file:influence_reports.attachment:9999")
    with pytest.raises(DecryptionError):
        _decrypt(blob, key=bytes(32))


def test_two_encryptions_of_the_same_file_differ():
    data = b"same evidence twice"
    assert _encrypt(data) != _encrypt(data)
