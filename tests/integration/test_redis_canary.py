"""Nothing a reporter writes reaches Redis: tasks and results carry ids only.

Runs in the `worker` stage (real Redis). A canary filed in a report must not appear in any
key or value of the broker's database afterwards.
"""

from __future__ import annotations

from typing import Any

import pytest
import redis
from django.conf import settings
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from influence_reports.models import Report
from security_core.tasks import health_ping
from tests.influence_reports.conftest import report_form

pytestmark = [pytest.mark.worker, pytest.mark.django_db]

CANARY = "KANARIE-REDIS-4c1d"


@pytest.fixture(autouse=True)
def media_root(settings, tmp_path):
    settings.VARN_MEDIA_ROOT = tmp_path / "media"


def test_a_filed_report_leaves_nothing_of_its_content_in_redis(client, reporter, signed_in):
    signed_in(client, reporter, verified=False)
    form = report_form(description=f"Hotet: {CANARY}", location_details=CANARY)
    form["evidence"] = [SimpleUploadedFile("bevis.txt", f"text {CANARY}".encode())]
    assert client.post(reverse("report_new"), form).status_code == 302
    assert Report.objects.get().description.endswith(CANARY)
    health_ping.apply_async()  # something does go through the broker meanwhile

    server: Any = redis.Redis.from_url(settings.CELERY_BROKER_URL)
    dumped = b""
    for key in server.scan_iter(count=1000):
        dumped += key
        kind = server.type(key)
        values: list[Any] = []
        if kind == b"string":
            values = [server.get(key) or b""]
        elif kind == b"list":
            values = server.lrange(key, 0, -1)
        elif kind == b"hash":
            values = [k + v for k, v in server.hgetall(key).items()]
        elif kind == b"set":
            values = list(server.smembers(key))
        elif kind == b"zset":
            values = server.zrange(key, 0, -1)
        dumped += b"".join(values)
    assert dumped  # the scan saw the broker's data
    assert CANARY.encode() not in dumped
