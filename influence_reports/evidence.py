"""Evidence files: encrypted as they stream in, typed by content, read back only in segments.

``EncryptingUploadHandler`` replaces Django's upload handlers on the views that take files:
each file is encrypted segment by segment into a server-named file while the request body
is read, so no plaintext ever reaches a temporary file or sits whole in memory. While it
streams, the handler counts the size, computes the SHA-256 of the original and keeps the
first bytes to decide the type by content. Refusals (too large, too many, empty, a type not
on the allow-list, HTML hiding in another type) are collected for the form to show; the
refused file's ciphertext is deleted at once.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import re
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.files.uploadedfile import UploadedFile
from django.core.files.uploadhandler import FileUploadHandler, SkipFile, StopFutureHandlers
from django.http import HttpRequest
from django.utils.translation import gettext as _

from security_core import crypto, streaming

HEAD_BYTES = 64 * 1024
_HTML_MARKERS = re.compile(
    rb"<\s*(html|script|body|iframe|svg|object|embed)\b|<!doctype\s+html", re.IGNORECASE
)
_EMAIL_HEADER = re.compile(
    rb"^(received|from|to|subject|date|message-id|return-path|mime-version|delivered-to)"
    rb"\s*:",
    re.IGNORECASE | re.MULTILINE,
)
_FTYP_BRANDS = {
    b"heic": "image/heic",
    b"heix": "image/heic",
    b"heim": "image/heic",
    b"heis": "image/heic",
    b"mif1": "image/heic",
    b"msf1": "image/heic",
    b"isom": "video/mp4",
    b"iso2": "video/mp4",
    b"mp41": "video/mp4",
    b"mp42": "video/mp4",
    b"avc1": "video/mp4",
    b"M4V ": "video/mp4",
    b"qt  ": "video/quicktime",
    b"M4A ": "audio/mp4",
    b"3gp4": "video/3gpp",
    b"3gp5": "video/3gpp",
}


def media_root() -> Path:
    root: Path = settings.VARN_MEDIA_ROOT
    return root


def file_path(storage_name: str) -> Path:
    if not re.fullmatch(r"[0-9a-f]{32}\.bin", storage_name):
        raise ValueError("not a storage name made by the server")
    return media_root() / "attachments" / storage_name


def file_binding(report_id: uuid.UUID, attachment_id: uuid.UUID) -> bytes:
    """A file's ciphertext is bound to its attachment *and* its report: moved, it won't open."""
    return f"varn:file:influence_reports.attachment:{report_id}:{attachment_id}".encode()


def file_key(data_key: bytes) -> bytes:
    return crypto.subkey(data_key, "varn-file-v1")


def _office_type(head: bytes) -> str | None:
    if b"word/" in head:
        return "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
    if b"xl/" in head:
        return "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    if b"ppt/" in head:
        return "application/vnd.openxmlformats-officedocument.presentationml.presentation"
    match = re.search(
        rb"mimetypeapplication/vnd\.oasis\.opendocument\.(text|spreadsheet|presentation)", head
    )
    if match:
        return f"application/vnd.oasis.opendocument.{match.group(1).decode()}"
    return None


def detect_type(head: bytes) -> str | None:
    """The content type by the file's own bytes, or ``None`` when it is not allowed."""
    if head.startswith(b"%PDF-"):
        return "application/pdf"
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return "image/png"
    if head.startswith(b"\xff\xd8\xff"):
        return "image/jpeg"
    if len(head) >= 12 and head[4:8] == b"ftyp":
        return _FTYP_BRANDS.get(head[8:12])
    if head.startswith(b"PK\x03\x04"):
        return _office_type(head)
    if head.startswith(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"):
        return "application/vnd.ms-office"  # legacy Word/Excel/PowerPoint, Outlook .msg
    if head.startswith(b"RIFF") and head[8:12] == b"WAVE":
        return "audio/wav"
    if head.startswith(b"OggS"):
        return "audio/ogg"
    if head.startswith(b"ID3") or (len(head) > 1 and head[0] == 0xFF and head[1] & 0xE0 == 0xE0):
        return "audio/mpeg"
    if head.startswith(b"\x1a\x45\xdf\xa3"):
        return "video/webm"
    if b"\x00" in head:
        return None
    try:
        head.decode("utf-8")
    except UnicodeDecodeError as error:
        if error.start < len(head) - 4:  # not merely a character cut at the end of the head
            return None
    if len(_EMAIL_HEADER.findall(head[:4096])) >= 2:
        return "message/rfc822"
    return "text/plain"


_EXTENSIONS = {
    "application/pdf": ".pdf",
    "image/png": ".png",
    "image/jpeg": ".jpg",
    "image/heic": ".heic",
    "video/mp4": ".mp4",
    "video/quicktime": ".mov",
    "video/3gpp": ".3gp",
    "video/webm": ".webm",
    "audio/mp4": ".m4a",
    "audio/wav": ".wav",
    "audio/ogg": ".ogg",
    "audio/mpeg": ".mp3",
    "message/rfc822": ".eml",
    "text/plain": ".txt",
    "application/vnd.ms-office": ".doc",
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document": ".docx",
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet": ".xlsx",
    "application/vnd.openxmlformats-officedocument.presentationml.presentation": ".pptx",
    "application/vnd.oasis.opendocument.text": ".odt",
    "application/vnd.oasis.opendocument.spreadsheet": ".ods",
    "application/vnd.oasis.opendocument.presentation": ".odp",
}
_INVISIBLE = re.compile("[\u200b-\u200f\u202a-\u202e\u2066-\u2069\ufeff]")


def download_name(filename: str, content_type: str) -> str:
    """The uploader's name, but with the extension of the type the content really is.

    What opens a downloaded file on the handler's machine is its extension; it must never be
    the uploader's choice (``faktura.pdf.js``, ``brev.html`` that starts like an e-mail).
    Bidirectional and invisible characters, which can disguise an extension, are removed.
    """
    clean = _INVISIBLE.sub("", filename).strip() or "evidence"
    extension = _EXTENSIONS.get(content_type, ".bin")
    stem = clean
    while True:  # "faktura.pdf.js" -> "faktura": every extension the uploader gave goes
        base, dot, suffix = stem.rpartition(".")
        if not dot or not base or len(suffix) > 5 or not suffix.isalnum():
            break
        stem = base
    return f"{stem[:200]}{extension}"


@dataclass
class Refusal:
    name: str
    reason: str


class EncryptedUpload(UploadedFile):
    """A file that arrived encrypted: what the service needs to record it, and no bytes."""

    def __init__(
        self,
        *,
        name: str,
        size: int,
        content_type: str,
        report_id: uuid.UUID,
        attachment_id: uuid.UUID,
        data_key: bytes,
        storage_name: str,
        sha256: str,
    ) -> None:
        super().__init__(file=None, name=name, content_type=content_type, size=size)
        self.report_id = report_id
        self.attachment_id = attachment_id
        self.data_key = data_key
        self.storage_name = storage_name
        self.sha256 = sha256
        self.recorded = False  # set once an Attachment row names this file

    def discard(self) -> None:
        file_path(self.storage_name).unlink(missing_ok=True)

    def close(self) -> None:
        """Nothing is open: the ciphertext was written and closed as it streamed in."""

    def __repr__(self) -> str:
        return f"<EncryptedUpload {self.attachment_id}>"


class EncryptingUploadHandler(FileUploadHandler):
    """Encrypts each uploaded file as it streams in; collects refusals for the form."""

    def __init__(
        self,
        request: HttpRequest | None = None,
        *,
        report_id: uuid.UUID | None = None,
        already_files: int = 0,
        already_bytes: int = 0,
    ) -> None:
        """Files for the report ``report_id`` (a new report's id when ``None``).

        ``already_*``: what the report holds already, so its limits hold across additions.
        """
        super().__init__(request)
        self.report_id = report_id or uuid.uuid4()
        self.refusals: list[Refusal] = []
        self.produced: list[EncryptedUpload] = []
        self.accepted = already_files
        self.total_bytes = already_bytes
        self._reset()

    def _reset(self) -> None:
        self._out: Any = None
        self._skipping = False

    def _refuse(self, reason: str) -> None:
        self.refusals.append(Refusal(self._name, reason))
        self._discard_current()
        self._skipping = True

    def _discard_current(self) -> None:
        if self._out is not None:
            self._out.close()
            file_path(self._storage_name).unlink(missing_ok=True)
            self._out = None

    def new_file(self, field_name: str, file_name: str, *args: Any, **kwargs: Any) -> None:
        super().new_file(field_name, file_name, *args, **kwargs)
        self._reset()
        self._name = (file_name or "")[:255]
        if self.accepted >= settings.VARN_UPLOAD_MAX_FILES:
            self._refuse(
                _("Too many files: at most %(count)d per report.")
                % {"count": settings.VARN_UPLOAD_MAX_FILES}
            )
            raise StopFutureHandlers
        self._attachment_id = uuid.uuid4()
        self._data_key = crypto.new_data_key()
        self._storage_name = f"{uuid.uuid4().hex}.bin"
        path = file_path(self._storage_name)
        _ensure_private_dirs(path.parent)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        self._out = os.fdopen(fd, "wb")
        self._encryptor = streaming.SegmentEncryptor(
            file_key(self._data_key), binding=file_binding(self.report_id, self._attachment_id)
        )
        self._out.write(self._encryptor.header)
        self._sha = hashlib.sha256()
        self._size = 0
        self._head = bytearray()
        self._tail = b""
        self._html = False
        raise StopFutureHandlers  # no other handler may see (and spool) the plaintext

    def receive_data_chunk(self, raw_data: bytes, start: int) -> None:
        if self._skipping:
            return None
        self._size += len(raw_data)
        if self._size > settings.VARN_UPLOAD_MAX_FILE_BYTES:
            self._refuse(
                _("The file is too large: at most %(size)s per file.")
                % {"size": _mib(settings.VARN_UPLOAD_MAX_FILE_BYTES)}
            )
            raise SkipFile
        if self.total_bytes + self._size > settings.VARN_UPLOAD_MAX_REPORT_BYTES:
            self._refuse(
                _("The files are too large together: at most %(size)s per report.")
                % {"size": _mib(settings.VARN_UPLOAD_MAX_REPORT_BYTES)}
            )
            raise SkipFile
        if len(self._head) < HEAD_BYTES:
            self._head += raw_data[: HEAD_BYTES - len(self._head)]
        window = self._tail + raw_data
        if _HTML_MARKERS.search(window):
            self._html = True
        self._tail = window[-32:]
        self._sha.update(raw_data)
        self._out.write(self._encryptor.update(raw_data))
        return None

    def file_complete(self, file_size: int) -> EncryptedUpload | None:
        if self._skipping:
            self._reset()
            return None
        self._out.write(self._encryptor.finalize())
        self._out.close()
        self._out = None
        head = bytes(self._head)
        content_type = detect_type(head) if self._size else None
        if self._size == 0:
            self._skipping = False
            self.refusals.append(Refusal(self._name, _("The file is empty.")))
            file_path(self._storage_name).unlink(missing_ok=True)
            return None
        if content_type is None or (self._html and content_type != "message/rfc822"):
            self.refusals.append(
                Refusal(
                    self._name,
                    _(
                        "This kind of file cannot be accepted. Send PDF, images, text, "
                        "e-mail, office documents, audio or video."
                    ),
                )
            )
            file_path(self._storage_name).unlink(missing_ok=True)
            return None
        self.accepted += 1
        self.total_bytes += self._size
        upload = EncryptedUpload(
            name=self._name,
            size=self._size,
            content_type=content_type,
            report_id=self.report_id,
            attachment_id=self._attachment_id,
            data_key=self._data_key,
            storage_name=self._storage_name,
            sha256=self._sha.hexdigest(),
        )
        self.produced.append(upload)
        return upload

    def upload_interrupted(self) -> None:
        self._discard_current()

    def cleanup(self) -> None:
        """Delete every file this handler wrote that no attachment row took (any outcome)."""
        self._discard_current()
        for upload in self.produced:
            if not upload.recorded:
                upload.discard()


def store_bytes(name: str, content: bytes, *, report_id: uuid.UUID) -> EncryptedUpload:
    """Encrypt bytes the server itself holds (demo data, imports) exactly as an upload is.

    Runs the very upload handler over ``content``, so limits, type checks, keys, binding,
    naming and file modes are those of an upload. The result goes to
    ``reports.report_submit`` or ``reports.attachments_add`` like an uploaded file;
    ``discard()`` removes it if unused. Raises ``ValueError`` for what an upload refuses.
    """
    safe_name = os.path.basename(name.replace("\\", "/")).strip()[:255]
    if not safe_name:
        raise ValueError("a file needs a name")
    handler = EncryptingUploadHandler(report_id=report_id)
    with contextlib.suppress(StopFutureHandlers):  # it always claims the file for itself
        handler.new_file("evidence", safe_name, "application/octet-stream", len(content))
    with contextlib.suppress(SkipFile):  # a refusal, recorded in handler.refusals
        for start in range(0, len(content), streaming.SEGMENT_SIZE):
            handler.receive_data_chunk(content[start : start + streaming.SEGMENT_SIZE], start)
    upload = handler.file_complete(len(content))
    if upload is None:
        raise ValueError(handler.refusals[-1].reason if handler.refusals else "refused")
    return upload


def rebind(upload: EncryptedUpload, report_id: uuid.UUID) -> None:
    """Bind an upload to ``report_id`` when the report was not known as the file streamed in
    (an anonymous reporter's access token is read from the same body as the file): its
    ciphertext is decrypted and sealed again, a segment at a time, into a new file under the
    same data key, and the first file is deleted."""
    if upload.report_id == report_id:
        return
    key = file_key(upload.data_key)
    storage_name = f"{uuid.uuid4().hex}.bin"
    path = file_path(storage_name)
    encryptor = streaming.SegmentEncryptor(
        key, binding=file_binding(report_id, upload.attachment_id)
    )
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(fd, "wb") as out, file_path(upload.storage_name).open("rb") as source:
            out.write(encryptor.header)
            for segment in streaming.decrypt_stream(
                key, source, binding=file_binding(upload.report_id, upload.attachment_id)
            ):
                out.write(encryptor.update(segment))
            out.write(encryptor.finalize())
    except BaseException:
        path.unlink(missing_ok=True)
        raise
    upload.discard()
    upload.storage_name, upload.report_id = storage_name, report_id


def _ensure_private_dirs(folder: Path) -> None:
    """Create the media folder and its ``attachments`` folder readable by the owner only."""
    media_root().mkdir(mode=0o700, parents=True, exist_ok=True)
    folder.mkdir(mode=0o700, exist_ok=True)


def _mib(size: int) -> str:
    return f"{size // (1024 * 1024)} MiB"


def read_plaintext(
    *, storage_name: str, data_key: bytes, report_id: uuid.UUID, attachment_id: uuid.UUID
) -> Iterator[bytes]:
    """The original bytes, one authenticated segment at a time."""
    handle = file_path(storage_name).open("rb")
    try:
        yield from streaming.decrypt_stream(
            file_key(data_key), handle, binding=file_binding(report_id, attachment_id)
        )
    finally:
        handle.close()
