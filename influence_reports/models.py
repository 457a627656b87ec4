"""Reports, their statistical tags and their evidence files."""

from __future__ import annotations

import secrets
import uuid

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from influence_reports.choices import (
    PerpetratorKind,
    PoliceReported,
    ReporterRole,
    Target,
)
from security_core.encryption import EncryptedModel, EncryptedTextField

REFERENCE_ALPHABET = "23456789ABCDEFGHJKMNPQRSTVWXYZ"  # no 0/O, 1/I/L or U/V confusion


def new_reference() -> str:
    raw = "".join(secrets.choice(REFERENCE_ALPHABET) for _ in range(8))
    return f"VN-{raw[:4]}-{raw[4:]}"


class Report(EncryptedModel):
    """What a reporter told us. Metadata that identifies no one on its own is stored plainly
    (for routing and statistics); everything that identifies or incriminates is encrypted.
    """

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    reference = models.CharField(_("reference"), max_length=12, unique=True, default=new_reference)
    reporter = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("reporter"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="reports",
    )
    submitted_at = models.DateTimeField(_("sent"), default=timezone.now, db_index=True)
    withdrawn_at = models.DateTimeField(_("withdrawn"), null=True, blank=True)

    # Routing and statistics, in the clear.
    on_behalf_of_other = models.BooleanField(default=False)
    consent_recorded = models.BooleanField(default=False)
    sexual_nature = models.BooleanField(default=False)
    incident_date = models.DateField(null=True, blank=True)
    incident_date_approximate = models.BooleanField(default=False)
    discovered_date = models.DateField(null=True, blank=True)
    district = models.CharField(max_length=64, blank=True)
    reporter_role = models.CharField(max_length=32, choices=ReporterRole.choices)
    target = models.CharField(max_length=16, choices=Target.choices, default=Target.MYSELF)
    perpetrator_kind = models.CharField(
        max_length=32, choices=PerpetratorKind.choices, default=PerpetratorKind.UNKNOWN
    )
    police_reported = models.CharField(
        _("reported to the police"),
        max_length=8,
        choices=PoliceReported.choices,
        default=PoliceReported.NO,
    )
    repeat = models.BooleanField(default=False)
    is_acute = models.BooleanField(_("in danger"), default=False)
    needs_support = models.BooleanField(_("support wanted"), default=False)
    media_interest = models.BooleanField(_("media interest expected"), default=False)

    # Encrypted: identifies or incriminates someone.
    description = EncryptedTextField()
    perpetrator_details = EncryptedTextField()
    perpetrator_identifiers = EncryptedTextField()
    location_details = EncryptedTextField()
    contact_details = EncryptedTextField()
    linked_decision = EncryptedTextField()
    police_reference = EncryptedTextField()
    on_behalf_name = EncryptedTextField()
    profile_gender = EncryptedTextField()
    profile_age_band = EncryptedTextField()
    profile_assembly = EncryptedTextField()
    profile_chair_post = EncryptedTextField()
    profile_party = EncryptedTextField()

    class Meta:
        ordering = ["-submitted_at"]
        verbose_name = _("report")
        verbose_name_plural = _("reports")

    def __str__(self) -> str:
        return self.reference

    @property
    def is_withdrawn(self) -> bool:
        return self.withdrawn_at is not None

    def codes(self, kind: str) -> list[str]:
        return [tag.code for tag in self.tags.all() if tag.kind == kind]


# The report's encrypted fields, by name: what the intake form seals and what error reports
# must never show (``sensitive_post_parameters``).
ENCRYPTED_REPORT_FIELDS: tuple[str, ...] = tuple(
    field.name for field in Report._meta.local_fields if isinstance(field, EncryptedTextField)
)


class ReportTag(models.Model):
    """One of a report's categories, channels or consequences (a report has several)."""

    class Kind(models.TextChoices):
        CATEGORY = "category", _("category")
        CHANNEL = "channel", _("channel")
        CONSEQUENCE = "consequence", _("consequence")

    report = models.ForeignKey(Report, on_delete=models.CASCADE, related_name="tags")
    kind = models.CharField(max_length=16, choices=Kind.choices)
    code = models.CharField(max_length=32)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["report", "kind", "code"], name="unique_report_tag")
        ]
        indexes = [models.Index(fields=["kind", "code"])]

    def __str__(self) -> str:
        return f"{self.kind}:{self.code}"


class Attachment(EncryptedModel):
    """An evidence file: its bytes encrypted in segments on disk, its name and type in the row.

    The file on disk has a server-made name; its key is derived from this record's data key,
    and its ciphertext is bound to this record's id.
    """

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    report = models.ForeignKey(
        Report, verbose_name=_("report"), on_delete=models.CASCADE, related_name="attachments"
    )
    uploaded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("added by"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
    )
    uploaded_at = models.DateTimeField(_("added"), default=timezone.now)
    size = models.BigIntegerField(_("size"))
    storage_name = models.CharField(max_length=64, unique=True, editable=False)

    filename = EncryptedTextField()
    content_type = EncryptedTextField()
    sha256 = EncryptedTextField()  # of the original bytes, recorded at intake

    class Meta:
        ordering = ["uploaded_at"]
        verbose_name = _("attachment")
        verbose_name_plural = _("attachments")

    def __str__(self) -> str:
        return f"attachment {self.id}"

    def encryption_binding(self) -> str:
        # Bound to its report too: a row moved to another report no longer opens.
        return f"{self.report_id}:{self.pk}"
