"""The default upload handler: files are refused everywhere except where a view takes them.

Django's own handlers would write any file posted to any form (the sign-in page included)
to memory or a temporary file, in plaintext, before the view runs. The views that take
evidence install their own encrypting handler instead; every other request ignores files.
"""

from __future__ import annotations

from typing import Any

from django.core.files.uploadhandler import FileUploadHandler, SkipFile


class RefuseFilesUploadHandler(FileUploadHandler):
    def new_file(self, *args: Any, **kwargs: Any) -> None:
        raise SkipFile  # the body is read past, nothing of the file is kept

    def receive_data_chunk(self, raw_data: bytes, start: int) -> None:  # pragma: no cover
        return None

    def file_complete(self, file_size: int) -> None:  # pragma: no cover
        return None
