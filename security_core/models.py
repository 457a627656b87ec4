"""Accounts, second-factor devices, tracked sessions and security events."""

from __future__ import annotations

import base64
import time
import uuid
from typing import Any, ClassVar

from django.conf import settings
from django.contrib.auth.base_user import AbstractBaseUser, BaseUserManager
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django_otp.models import Device, ThrottlingMixin, TimestampMixin
from django_otp.oath import TOTP

from security_core import crypto
from security_core.encryption import EncryptedModel, EncryptedTextField
from security_core.roles import STAFF_ROLES, Role


class UserManager(BaseUserManager["User"]):
    use_in_migrations = True

    def create_user(self, email: str, password: str | None = None, **fields: Any) -> User:
        user = self.model(email=self.normalize_email(email).lower(), **fields)
        user.set_password(password)
        user.full_clean(exclude=["password"])
        user.save(using=self._db)
        return user

    def create_superuser(self, email: str, password: str | None = None, **fields: Any) -> User:
        """``createsuperuser`` makes a system admin; there is no role above the others."""
        fields["role"] = Role.ADMIN
        return self.create_user(email, password, **fields)


class User(AbstractBaseUser):
    """An account. Permissions come from ``role`` alone, through ``security_core.permissions``.

    There are no per-user permission grants and no superuser flag, so the role is the
    whole truth about what an account may do.
    """

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    email = models.EmailField(_("e-mail address"), unique=True)
    display_name = models.CharField(_("name"), max_length=150)
    role = models.CharField(_("role"), max_length=32, choices=Role.choices, default=Role.REPORTER)
    is_active = models.BooleanField(_("active"), default=True)
    date_joined = models.DateTimeField(_("joined"), default=timezone.now)

    objects: ClassVar[UserManager] = UserManager()

    USERNAME_FIELD = "email"
    EMAIL_FIELD = "email"
    REQUIRED_FIELDS = ["display_name"]

    class Meta:
        verbose_name = _("user")
        verbose_name_plural = _("users")

    def __str__(self) -> str:
        return self.email

    def clean(self) -> None:
        super().clean()
        self.email = self.email.strip().lower()

    def get_full_name(self) -> str:
        return self.display_name

    def get_short_name(self) -> str:
        return self.display_name

    @property
    def is_staff_role(self) -> bool:
        return self.role in STAFF_ROLES

    # The Django admin and a few libraries ask these; answer them from the role.
    @property
    def is_staff(self) -> bool:
        from security_core import permissions

        return permissions.can_use_admin(self)

    @property
    def is_superuser(self) -> bool:
        return False

    def has_perm(self, perm: str, obj: object = None) -> bool:
        from security_core import permissions

        return permissions.has_model_permission(self, perm)

    def has_perms(self, perm_list: Any, obj: object = None) -> bool:
        return all(self.has_perm(perm, obj) for perm in perm_list)

    def has_module_perms(self, app_label: str) -> bool:
        from security_core import permissions

        return permissions.has_app_permission(self, app_label)


class TrackedSession(models.Model):
    """Which server-side sessions belong to whom, so deactivation can end them at once."""

    session_key = models.CharField(max_length=40, primary_key=True)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="tracked_sessions"
    )
    created_at = models.DateTimeField(default=timezone.now)

    def __str__(self) -> str:
        return f"session of {self.user_id}"


class DataKey(models.Model):
    """One record's data key, stored only wrapped by a key-encryption key from the ring.

    ``kek_id`` names the ring key that wrapped it; rotation re-wraps these rows (never the
    records). Deleting a row makes its record's encrypted fields unreadable for good.
    """

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    kek_id = models.CharField(max_length=32, db_index=True)
    wrapped = models.BinaryField()
    created_at = models.DateTimeField(default=timezone.now)
    rewrapped_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"data key {self.id} (under {self.kek_id})"

    @classmethod
    def issue(cls, key: bytes | None = None) -> tuple[DataKey, bytes]:
        """A new data key row (``key``, or a fresh one) and the plaintext key for use now."""
        key = key or crypto.new_data_key()
        record = cls(id=uuid.uuid4())
        record.kek_id, record.wrapped = crypto.wrap_data_key(key, data_key_id=record.id)
        record.save()
        return record, key

    def unwrap(self) -> bytes:
        return crypto.unwrap_data_key(self.kek_id, bytes(self.wrapped), data_key_id=self.id)

    def rewrap(self) -> None:
        """Wrap the same data key under the active ring key (key rotation)."""
        key = self.unwrap()
        self.kek_id, self.wrapped = crypto.wrap_data_key(key, data_key_id=self.id)
        self.rewrapped_at = timezone.now()


class TOTPDevice(EncryptedModel, TimestampMixin, ThrottlingMixin, Device):
    """A TOTP authenticator whose secret is encrypted at rest (django-otp stores it in clear).

    Invariant: the secret never leaves this model except as the otpauth URI and QR code
    shown to its own user during enrolment. A token is accepted only at a time step above
    ``last_t``, and verification locks the row, so one code can never be used twice, even
    by two concurrent requests. Wrong codes double the wait before the next try, without a
    ceiling: a six-digit code must not become guessable at a steady rate. The owner always
    has a way in that this cannot block: backup codes, throttled per user and address.
    """

    def get_throttle_factor(self) -> int:
        return 1

    handle = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    key = EncryptedTextField()  # the secret, base32
    step = models.PositiveSmallIntegerField(default=30)
    digits = models.PositiveSmallIntegerField(default=6)
    tolerance = models.PositiveSmallIntegerField(default=1)
    drift = models.SmallIntegerField(default=0)
    last_t = models.BigIntegerField(default=-1)

    class Meta(Device.Meta):
        verbose_name = _("authenticator app")
        verbose_name_plural = _("authenticator apps")

    def encryption_binding(self) -> str:
        # django-otp needs integer ids, which exist only after insert; the handle exists
        # from the start, so the key's ciphertext is bound to it.
        return str(self.handle)

    def set_secret(self, secret: bytes) -> None:
        self.key = base64.b32encode(secret).decode("ascii")

    def secret(self) -> bytes:
        return base64.b32decode(self.key or "")

    def verify_token(self, token: Any) -> bool:
        """Check ``token``; the caller holds the row lock (``select_for_update``)."""
        allowed, _details = self.verify_is_allowed()
        if not allowed:
            return False
        token_text = str(token).strip().replace(" ", "")
        verified = False
        try:
            secret = self.secret()
        except crypto.DecryptionError:
            # A key that does not open (tampered, or its ring key is missing here) verifies
            # nothing. It is not the user's wrong code, so it does not add to their wait;
            # the failure is logged without content by crypto.
            return False
        if token_text.isdigit() and len(token_text) == self.digits:
            totp = TOTP(secret, self.step, 0, self.digits, self.drift)
            totp.time = time.time()
            verified = bool(totp.verify(int(token_text), self.tolerance, self.last_t + 1))
            if verified:
                self.last_t = totp.t()
                self.drift = totp.drift
                self.throttle_reset(commit=False)
                self.set_last_used_timestamp(commit=False)
                self.save()
        if not verified:
            self.throttle_increment(commit=True)
        return verified


class BackupCodeDevice(Device):
    """A set of single-use backup codes, stored only as keyed hashes (see ``backup_codes``).

    Not throttled per device: guessing a 60-bit code is hopeless, and a device-wide throttle
    would let anyone with the password lock the owner out. Failures are limited per user and
    address instead (``selectors.backup_code_wait``).
    """

    # When the current set was issued; a new set updates it, so the audit trail shows it.
    issued_at = models.DateTimeField(default=timezone.now)

    class Meta(Device.Meta):
        verbose_name = _("backup codes")
        verbose_name_plural = _("backup codes")

    def verify_token(self, token: Any) -> bool:
        """Consume ``token`` if it is one of this device's unused codes."""
        from security_core import backup_codes

        allowed, _details = self.verify_is_allowed()
        if not allowed:
            return False
        code = (
            self.codes.filter(
                code_hash__in=backup_codes.candidate_hashes(str(token)), used_at__isnull=True
            )
            .select_for_update()
            .first()
        )
        if code is None:
            return False
        code.used_at = timezone.now()
        code.save(update_fields=["used_at"])
        return True


class BackupCode(models.Model):
    device = models.ForeignKey(BackupCodeDevice, on_delete=models.CASCADE, related_name="codes")
    code_hash = models.CharField(max_length=64, unique=True)
    used_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return "backup code (used)" if self.used_at else "backup code"


class SecurityEvent(models.Model):
    """A sign-in related event: who (when known), what, from which address, and when."""

    class Kind(models.TextChoices):
        LOGIN_SUCCEEDED = "login_succeeded", _("password accepted")
        LOGIN_FAILED = "login_failed", _("sign-in failed")
        LOCKED_OUT = "locked_out", _("locked out")
        OTP_SUCCEEDED = "otp_succeeded", _("second factor accepted")
        OTP_FAILED = "otp_failed", _("second factor failed")
        TOTP_ENROLLED = "totp_enrolled", _("authenticator app added")
        BACKUP_CODES_ISSUED = "backup_codes_issued", _("backup codes issued")
        PASSWORD_CHANGED = "password_changed", _("password changed")
        LOGGED_OUT = "logged_out", _("signed out")
        SESSION_EXPIRED = "session_expired", _("session expired")
        SESSIONS_ENDED = "sessions_ended", _("all sessions ended")

    id = models.BigAutoField(primary_key=True)
    kind = models.CharField(_("event"), max_length=32, choices=Kind.choices)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("user"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
    )
    ip_address = models.GenericIPAddressField(_("address"), null=True, blank=True)
    detail = models.CharField(_("detail"), max_length=200, blank=True)
    created_at = models.DateTimeField(_("time"), default=timezone.now, db_index=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = _("security event")
        verbose_name_plural = _("security events")

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.created_at:%Y-%m-%d %H:%M:%S}"


class AccessEntry(models.Model):
    """One decrypting read of sensitive data: who read what, why and when.

    Written by the selectors that hand decrypted content to a person (viewing a report,
    downloading a file, exporting), in the same request, before the content is shown.
    """

    class Purpose(models.TextChoices):
        VIEW_REPORT = "view_report", _("viewed a report")
        VIEW_CASE = "view_case", _("opened a case (notes, assessments, measures, referrals)")
        DOWNLOAD_ATTACHMENT = "download_attachment", _("downloaded a file")

    id = models.BigAutoField(primary_key=True)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("who"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
    )
    object_type = models.CharField(_("kind of record"), max_length=100)
    object_id = models.CharField(_("record"), max_length=64, db_index=True)
    purpose = models.CharField(_("what"), max_length=32, choices=Purpose.choices)
    created_at = models.DateTimeField(_("time"), default=timezone.now, db_index=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = _("access entry")
        verbose_name_plural = _("access entries")

    def __str__(self) -> str:
        return f"{self.get_purpose_display()} {self.object_type} {self.object_id}"


class Notification(models.Model):
    """One message to one person on one channel: a row of the transactional outbox.

    Written in the same transaction as the event it tells of, handed to celery once that
    transaction commits (the row id is the task id), and re-sent by the relay if it is still
    pending; ``sent_at`` is set in the same transaction as the send, under a row lock, so a
    sent row is never sent again. It holds report references only, never report content.
    """

    class Kind(models.TextChoices):
        NEW_REPORT = "new_report", _("new report")
        ACUTE_REPORT = "acute_report", _("acute report")
        ACUTE_UNACKNOWLEDGED = "acute_unacknowledged", _("acute report not acknowledged")
        DEADLINES = "deadlines", _("deadlines due or overdue")
        MEDIA_INTEREST = "media_interest", _("media interest")
        NEW_MESSAGE = "new_message", _("new message to the reporter")
        REPORTER_ANSWERED = "reporter_answered", _("the reporter wrote")

    class Channel(models.TextChoices):
        EMAIL = "email", _("e-mail")
        PAGER = "pager", _("SMS or pager")

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    kind = models.CharField(_("what"), max_length=32, choices=Kind.choices)
    channel = models.CharField(_("channel"), max_length=8, choices=Channel.choices)
    recipient = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("to"),
        on_delete=models.CASCADE,
        related_name="notifications",
    )
    references = models.JSONField(_("references"), default=list)
    urgent = models.BooleanField(_("urgent"), default=False)
    dedupe_key = models.CharField(max_length=200, unique=True)
    created_at = models.DateTimeField(_("created"), default=timezone.now, db_index=True)
    sent_at = models.DateTimeField(_("sent"), null=True, blank=True, db_index=True)
    attempts = models.PositiveIntegerField(_("attempts"), default=0)
    last_error = models.CharField(_("last error"), max_length=100, blank=True)
    retry_at = models.DateTimeField(_("next try"), null=True, blank=True)
    # Caused by an anonymous reporter: its times are kept to the day (``discretion``).
    discreet = models.BooleanField(default=False, editable=False)

    class Meta:
        ordering = ["-created_at"]
        verbose_name = _("notification")
        verbose_name_plural = _("notifications")

    def __str__(self) -> str:
        return f"{self.kind} to {self.recipient_id} by {self.channel}"


class RecordedPage(models.Model):
    """What the development pager backend would have sent (no SMS leaves a test machine)."""

    notification = models.OneToOneField(
        Notification, on_delete=models.CASCADE, related_name="recorded_page"
    )
    recipient = models.CharField(max_length=254)
    text = models.TextField()
    recorded_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-recorded_at"]
        verbose_name = _("recorded page")
        verbose_name_plural = _("recorded pages")

    def __str__(self) -> str:
        return f"page to {self.recipient}"
