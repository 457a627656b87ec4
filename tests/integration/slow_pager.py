"""A pager for the worker tests whose first page stalls long enough for its process to be
killed in the middle of sending (chosen with ``VARN_PAGER_BACKEND``).

The first attempt (no marker file yet) writes the pool process's id to the marker file named
by ``VARN_TEST_PAGER_MARKER`` and sleeps ``VARN_TEST_PAGER_SLEEP`` seconds (20) before it
records the page; every later attempt records the page at once.
"""

from __future__ import annotations

import os
import time
from pathlib import Path

from security_core.models import Notification
from security_core.notify import RecordingPager

MARKER_ENV = "VARN_TEST_PAGER_MARKER"
SLEEP_ENV = "VARN_TEST_PAGER_SLEEP"


class SlowOncePager(RecordingPager):
    def send(self, notification: Notification, text: str) -> None:
        marker = Path(os.environ[MARKER_ENV])
        if not marker.exists():
            written = marker.with_name(marker.name + ".tmp")
            written.write_text(str(os.getpid()), encoding="ascii")
            written.replace(marker)  # the test never reads half a pid
            time.sleep(float(os.environ.get(SLEEP_ENV, "20")))
        super().send(notification, text)
