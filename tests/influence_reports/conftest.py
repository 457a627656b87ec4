"""Fixtures for the reports tests: an isolated media directory and a valid report form."""

from __future__ import annotations

import pytest


@pytest.fixture(autouse=True)
def media_root(settings, tmp_path):
    settings.VARN_MEDIA_ROOT = tmp_path / "media"
    return settings.VARN_MEDIA_ROOT


PNG = (
    b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x06\x00\x00\x00"
    b"\x1f\x15\xc4\x89\x00\x00\x00\rIDATx\x9cc\xf8\xff\xff?\x00\x05\xfe\x02\xfe\xa7\x9a\xa0\xa0"
    b"\x00\x00\x00\x00IEND\xaeB`\x82"
)
PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"


def report_form(**overrides):
    form = {
        "categories": ["threat", "harassment"],
        "description": "Han skrev att han vet var jag bor och att jag ska rösta nej.",
        "channels": ["social_media"],
        "target": "myself",
        "perpetrator_kind": "unknown",
        "police_reported": "no",
        "reporter_role": "elected_part_time",
    }
    form.update(overrides)
    return form
