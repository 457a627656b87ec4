"""Streaming authenticated encryption of files in fixed-size segments (memory stays flat).

The construction is the STREAM scheme (Hoang, Reyhanitabar, Rogaway, Vizár 2015) over
AES-256-GCM, as in Tink's streaming AEAD:

    header  = version (1) | segment size (4, big-endian) | nonce prefix (7, random)
    segment = AES-256-GCM(key, nonce = prefix | counter (4) | last-flag (1),
                          plaintext of up to `segment size` bytes,
                          associated data = header | binding)

Every segment carries its own tag, its position (counter) and whether it is the last, so
reordering, dropping, duplicating or truncating segments is detected, as is any changed
byte; the binding (model, field and record) stops a file moving to another record. The key
is a per-file subkey derived from the record's data key. A reader never yields plaintext
from a segment that did not authenticate, but a reader that fails part-way has yielded the
earlier segments: callers that must not act on partial content check the whole file first
(``verify``) or, when streaming to a browser, accept that the download breaks off.
"""

from __future__ import annotations

import logging
import os
import struct
from collections.abc import Iterable, Iterator
from typing import BinaryIO

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from security_core.crypto import DecryptionError

logger = logging.getLogger(__name__)

VERSION = 1
SEGMENT_SIZE = 64 * 1024
PREFIX_BYTES = 7
TAG_BYTES = 16
HEADER = struct.Struct(">BI7s")
MAX_SEGMENTS = 2**32 - 1


def _nonce(prefix: bytes, counter: int, last: bool) -> bytes:
    return prefix + struct.pack(">IB", counter, 1 if last else 0)


class SegmentEncryptor:
    """Feed plaintext chunks of any size with ``update``; ``finalize`` closes the stream.

    Holds at most one segment of plaintext, whatever the size of the file.
    """

    def __init__(self, key: bytes, *, binding: bytes, segment_size: int = SEGMENT_SIZE) -> None:
        self._aead = AESGCM(key)
        self._segment_size = segment_size
        prefix = os.urandom(PREFIX_BYTES)
        self._prefix = prefix
        self.header = HEADER.pack(VERSION, segment_size, prefix)
        self._aad = self.header + binding
        self._buffer = bytearray()
        self._counter = 0
        self._finished = False

    def _seal(self, plaintext: bytes, *, last: bool) -> bytes:
        if self._counter > MAX_SEGMENTS:
            raise ValueError("file too large for one stream")
        nonce = _nonce(self._prefix, self._counter, last)
        self._counter += 1
        return self._aead.encrypt(nonce, plaintext, self._aad)

    def update(self, chunk: bytes) -> bytes:
        """Encrypt what fills whole segments; keeps the rest (and always the last segment)."""
        if self._finished:
            raise ValueError("stream already finalised")
        self._buffer += chunk
        out = bytearray()
        # Keep at least one byte back: the final segment must be sealed with the last flag.
        while len(self._buffer) > self._segment_size:
            segment = bytes(self._buffer[: self._segment_size])
            del self._buffer[: self._segment_size]
            out += self._seal(segment, last=False)
        return bytes(out)

    def finalize(self) -> bytes:
        self._finished = True
        segment = bytes(self._buffer)
        self._buffer.clear()
        return self._seal(segment, last=True)


def encrypt_stream(
    key: bytes, chunks: Iterable[bytes], *, binding: bytes, segment_size: int = SEGMENT_SIZE
) -> Iterator[bytes]:
    """The header, then ciphertext, for plaintext coming in ``chunks``."""
    encryptor = SegmentEncryptor(key, binding=binding, segment_size=segment_size)
    yield encryptor.header
    for chunk in chunks:
        out = encryptor.update(chunk)
        if out:
            yield out
    yield encryptor.finalize()


def _read_exactly(source: BinaryIO, size: int) -> bytes:
    data = bytearray()
    while len(data) < size:
        piece = source.read(size - len(data))
        if not piece:
            break
        data += piece
    return bytes(data)


def decrypt_stream(key: bytes, source: BinaryIO, *, binding: bytes) -> Iterator[bytes]:
    """Plaintext segments of an encrypted file, each authenticated before it is yielded.

    A failure is logged (that a file did not open, nothing of which or what) and raised.
    """
    try:
        yield from _decrypt_segments(key, source, binding=binding)
    except DecryptionError:
        logger.warning("An encrypted file failed to open.")
        raise


def _decrypt_segments(key: bytes, source: BinaryIO, *, binding: bytes) -> Iterator[bytes]:
    header = _read_exactly(source, HEADER.size)
    try:
        version, segment_size, prefix = HEADER.unpack(header)
    except struct.error:
        raise DecryptionError from None
    if version != VERSION or not 0 < segment_size <= 16 * 1024 * 1024:
        raise DecryptionError
    aead = AESGCM(key)
    aad = header + binding
    step = segment_size + TAG_BYTES
    current = _read_exactly(source, step)
    counter = 0
    while True:
        following = _read_exactly(source, step)
        last = not following
        if len(current) < TAG_BYTES or (not last and len(current) != step):
            raise DecryptionError
        try:
            yield aead.decrypt(_nonce(prefix, counter, last), current, aad)
        except InvalidTag:
            raise DecryptionError from None
        if last:
            return
        current = following
        counter += 1


def verify(key: bytes, source: BinaryIO, *, binding: bytes) -> int:
    """Authenticate a whole encrypted file without keeping it; returns the plaintext size."""
    return sum(len(segment) for segment in decrypt_stream(key, source, binding=binding))
