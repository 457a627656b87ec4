"""Keeping evidence files and their rows in step."""

from __future__ import annotations

from typing import Any

from django.db import transaction
from django.db.models.signals import post_delete
from django.dispatch import receiver

from influence_reports.evidence import file_path
from influence_reports.models import Attachment


@receiver(post_delete, sender=Attachment)
def delete_evidence_file(sender: Any, instance: Attachment, **kwargs: Any) -> None:
    """Remove the encrypted file once the deletion of its row has committed.

    Its data key is gone with the row already (crypto-shredding); this frees the space and
    leaves nothing to restore from a copy of the media directory alone.
    """
    storage_name = instance.storage_name
    transaction.on_commit(lambda: file_path(storage_name).unlink(missing_ok=True))
