"""Reports, their statistical tags and their evidence files."""

from __future__ import annotations

import secrets
import uuid
from datetime import date
from typing import Any

from dateutil.relativedelta import relativedelta
from django.conf import settings
from django.core.validators import MaxValueValidator
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from influence_reports.choices import (
    Category,
    Channel,
    Consequence,
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

    @property
    def election_period(self) -> Any:
        """The election period (``elections.ElectionPeriod``) the report fell in, by its day
        of submission in Stockholm, or ``None``."""
        from influence_reports import elections

        return elections.period_at(self.submitted_at)

    @property
    def reporter_status(self) -> str:
        """The status the reporter sees: whether someone is on it, not the internal steps."""
        if self.is_withdrawn:
            return str(_("Withdrawn"))
        status = self.case.status
        if status == Case.Status.RECEIVED:
            return str(_("Received"))
        if status == Case.Status.FEEDBACK_GIVEN:
            return str(_("Feedback given"))
        if status == Case.Status.CLOSED:
            return str(_("Closed"))
        return str(_("Being handled"))

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

    @property
    def label(self) -> str:
        """The code's name in the current language (the code itself if no longer offered)."""
        options: Any = {
            self.Kind.CATEGORY: Category,
            self.Kind.CHANNEL: Channel,
            self.Kind.CONSEQUENCE: Consequence,
        }[self.Kind(self.kind)]
        try:
            return str(options(self.code).label)
        except ValueError:
            return self.code


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
    # Sent with a message in the case's thread (by either side); empty for evidence filed
    # with the report or added to it.
    message = models.ForeignKey(
        "Message",
        verbose_name=_("message"),
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="attachments",
    )
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


class Case(models.Model):
    """The organisation's handling of one report: created with it, in the same transaction.

    ``due_at`` is the next deadline still open (acknowledgement, then feedback), kept with
    every transition so that the queue can filter and sort by it in the database.
    """

    class Status(models.TextChoices):
        RECEIVED = "received", _("Received")
        ACKNOWLEDGED = "acknowledged", _("Acknowledged")
        ASSESSING = "assessing", _("Assessing")
        MEASURES = "measures", _("Measures")
        FEEDBACK_GIVEN = "feedback_given", _("Feedback given")
        CLOSED = "closed", _("Closed")

    class ClosedReason(models.TextChoices):
        HANDLED = "handled", _("Handled: measures taken and feedback given")
        NO_ACTION = "no_action", _("No action needed")
        POLICE = "police", _("Handed over to the police")
        WITHDRAWN = "withdrawn", _("Withdrawn by the reporter")
        DUPLICATE = "duplicate", _("Duplicate of another case")
        NO_CONTACT = "no_contact", _("The reporter could not be reached")

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    report = models.OneToOneField(
        Report, verbose_name=_("report"), on_delete=models.CASCADE, related_name="case"
    )
    status = models.CharField(
        _("status"), max_length=16, choices=Status.choices, default=Status.RECEIVED
    )
    assignee = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("assigned to"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="assigned_cases",
    )
    acknowledge_by = models.DateTimeField(_("acknowledge by"))
    acknowledged_at = models.DateTimeField(_("acknowledged"), null=True, blank=True)
    feedback_by = models.DateTimeField(_("feedback by"), null=True, blank=True)
    feedback_given_at = models.DateTimeField(_("feedback given"), null=True, blank=True)
    due_at = models.DateTimeField(_("next deadline"), null=True, blank=True, db_index=True)
    closed_at = models.DateTimeField(_("closed"), null=True, blank=True)
    closed_reason = models.CharField(
        _("reason for closing"), max_length=16, choices=ClosedReason.choices, blank=True
    )
    risk_level = models.CharField(_("risk level"), max_length=8, blank=True)
    updated_at = models.DateTimeField(_("updated"), auto_now=True)

    class Meta:
        ordering = ["due_at"]
        verbose_name = _("case")
        verbose_name_plural = _("cases")
        indexes = [
            models.Index(fields=["status", "due_at"]),
            # Counting the open cases ("not closed") reads this index, not the table.
            models.Index(fields=["status", "id"]),
        ]

    def __str__(self) -> str:
        return f"case {self.report_id}"


class CaseEvent(EncryptedModel):
    """One step in a case's history: a transition, an assignment or a recusal.

    The reason may name people or circumstances, so it is encrypted; what happened, by
    whom and when are plain, for the history and the deadlines report.
    """

    class Kind(models.TextChoices):
        TRANSITION = "transition", _("Status changed")
        ASSIGNED = "assigned", _("Assigned")
        UNASSIGNED = "unassigned", _("Unassigned")
        RECUSED = "recused", _("Recused")

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    case = models.ForeignKey(Case, on_delete=models.CASCADE, related_name="events")
    kind = models.CharField(max_length=16, choices=Kind.choices)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    from_status = models.CharField(max_length=16, choices=Case.Status.choices, blank=True)
    to_status = models.CharField(max_length=16, choices=Case.Status.choices, blank=True)
    subject = models.ForeignKey(  # whom an assignment or recusal concerns
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    at = models.DateTimeField(default=timezone.now)
    reason = EncryptedTextField()

    class Meta:
        ordering = ["at"]
        verbose_name = _("case event")
        verbose_name_plural = _("case events")

    def __str__(self) -> str:
        return f"{self.kind} {self.at:%Y-%m-%d %H:%M}"


class Recusal(models.Model):
    """A case worker stands aside from a case (a conflict of interest): from then on the case
    is not theirs to see, and they are no longer assigned to it."""

    case = models.ForeignKey(Case, on_delete=models.CASCADE, related_name="recusals")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="recusals"
    )
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    recorded_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["case", "user"], name="unique_recusal_per_user")
        ]
        verbose_name = _("recusal")
        verbose_name_plural = _("recusals")

    def __str__(self) -> str:
        return f"recusal {self.user_id} from {self.case_id}"


class RiskAssessment(EncryptedModel):
    """One structured assessment of the threat in a case; a case keeps every assessment, and
    the newest is its current risk level.

    The level follows from the answers (``risk_level_for``), so two officers answering alike
    reach the same level; the comment says what the answers cannot.
    """

    class Targeted(models.TextChoices):
        REPORTER = "reporter", _("The reporter")
        FAMILY = "family", _("The reporter's family")
        COLLEAGUES = "colleagues", _("Colleagues or the assembly")
        ORGANISATION = "organisation", _("The organisation as a whole")

    class Credibility(models.TextChoices):
        LOW = "low", _("Low")
        MEDIUM = "medium", _("Medium")
        HIGH = "high", _("High")

    class Specificity(models.TextChoices):
        VAGUE = "vague", _("Vague")
        SPECIFIC = "specific", _("Specific (names a place, time or act)")
        DETAILED = "detailed", _("Detailed (knows private details)")

    class Capacity(models.TextChoices):
        NONE_KNOWN = "none_known", _("None known")
        SOME = "some", _("Some (means or access)")
        HIGH = "high", _("High (means, access and intent shown)")

    class History(models.TextChoices):
        NONE_KNOWN = "none_known", _("None known")
        EARLIER = "earlier", _("Earlier threats or harassment")
        VIOLENT = "violent", _("Known for violence")

    class Imminence(models.TextChoices):
        NONE = "none", _("No time given")
        WEEKS = "weeks", _("Within weeks")
        DAYS = "days", _("Within days")
        NOW = "now", _("Now or within hours")

    class Level(models.TextChoices):
        LOW = "low", _("Low")
        ELEVATED = "elevated", _("Elevated")
        HIGH = "high", _("High")
        ACUTE = "acute", _("Acute")

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    case = models.ForeignKey(Case, on_delete=models.CASCADE, related_name="risk_assessments")
    assessor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("assessed by"),
        null=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    assessed_at = models.DateTimeField(_("assessed"), default=timezone.now)
    targeted = models.CharField(_("who is targeted"), max_length=16, choices=Targeted.choices)
    credibility = models.CharField(
        _("credibility of the threat"), max_length=8, choices=Credibility.choices
    )
    specificity = models.CharField(
        _("specificity of the threat"), max_length=16, choices=Specificity.choices
    )
    capacity = models.CharField(
        _("the perpetrator's capacity"), max_length=16, choices=Capacity.choices
    )
    history = models.CharField(
        _("the perpetrator's history"), max_length=16, choices=History.choices
    )
    imminence = models.CharField(_("imminence"), max_length=8, choices=Imminence.choices)
    level = models.CharField(_("risk level"), max_length=8, choices=Level.choices)
    comment = EncryptedTextField()

    class Meta:
        ordering = ["-assessed_at"]
        get_latest_by = "assessed_at"
        verbose_name = _("risk assessment")
        verbose_name_plural = _("risk assessments")

    def __str__(self) -> str:
        return f"{self.level} {self.assessed_at:%Y-%m-%d}"


class ProtectiveMeasure(EncryptedModel):
    """A protective measure taken in a case, as a task with an owner, a due date and an
    outcome; its kind is plain so that leadership can see which measures are used."""

    class Kind(models.TextChoices):
        RISK_TALK = "risk_talk", _("Risk talk with the reporter")
        HOME_SECURITY = "home_security", _("Home security review")
        PERSONAL_PROTECTION = "personal_protection", _("Personal protection through the police")
        PROTECTED_DETAILS = "protected_details", _("Protected personal details")
        TAKEDOWN = "takedown", _("Takedown request to a platform")
        OCCUPATIONAL_HEALTH = "occupational_health", _("Occupational-health support")
        PARTY_SECURITY = "party_security", _("Contact with the party's security officer")
        OTHER = "other", _("Other")

    class Status(models.TextChoices):
        PLANNED = "planned", _("Planned")
        DONE = "done", _("Done")
        CANCELLED = "cancelled", _("Cancelled")

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    case = models.ForeignKey(Case, on_delete=models.CASCADE, related_name="measures")
    kind = models.CharField(_("measure"), max_length=24, choices=Kind.choices)
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("owner"),
        null=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    due_date = models.DateField(_("due"), null=True, blank=True)
    status = models.CharField(
        _("status"), max_length=12, choices=Status.choices, default=Status.PLANNED
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)
    completed_at = models.DateTimeField(null=True, blank=True)
    # Who last changed it and when: plain, so that the audit log records every edit, also
    # one that changed only the encrypted outcome.
    updated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    updated_at = models.DateTimeField(default=timezone.now)
    details = EncryptedTextField()  # what exactly is to be done, and for whom
    outcome = EncryptedTextField()

    class Meta:
        ordering = ["created_at"]
        verbose_name = _("protective measure")
        verbose_name_plural = _("protective measures")

    def __str__(self) -> str:
        return f"{self.kind} ({self.status})"


class PoliceReferral(EncryptedModel):
    """A referral of the case to the police; the police's own reference is encrypted."""

    class Status(models.TextChoices):
        REFERRED = "referred", _("Referred")
        INVESTIGATING = "investigating", _("Under investigation")
        DROPPED = "dropped", _("Investigation closed")
        PROSECUTED = "prosecuted", _("Prosecution brought")

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    case = models.ForeignKey(Case, on_delete=models.CASCADE, related_name="referrals")
    referred_on = models.DateField(_("referred on"))
    restricted_access_requested = models.BooleanField(
        _("restricted access requested"), default=False
    )
    status = models.CharField(
        _("status"), max_length=16, choices=Status.choices, default=Status.REFERRED
    )
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    recorded_at = models.DateTimeField(default=timezone.now)
    updated_by = models.ForeignKey(  # as on ProtectiveMeasure: every edit reaches the audit log
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    updated_at = models.DateTimeField(default=timezone.now)
    police_reference = EncryptedTextField()

    class Meta:
        ordering = ["referred_on", "recorded_at"]
        verbose_name = _("police referral")
        verbose_name_plural = _("police referrals")

    def __str__(self) -> str:
        return f"referral {self.referred_on}"


class CaseNote(EncryptedModel):
    """An internal note on a case: for case workers only, never shown to the reporter."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    case = models.ForeignKey(Case, on_delete=models.CASCADE, related_name="notes")
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)
    text = EncryptedTextField()

    class Meta:
        ordering = ["created_at"]
        verbose_name = _("internal note")
        verbose_name_plural = _("internal notes")

    def __str__(self) -> str:
        return f"note {self.created_at:%Y-%m-%d %H:%M}"


class CaseLink(models.Model):
    """Two cases that belong together (same perpetrator, same event); stored once, with the
    smaller id first, and read in both directions."""

    from_case = models.ForeignKey(Case, on_delete=models.CASCADE, related_name="links_out")
    to_case = models.ForeignKey(Case, on_delete=models.CASCADE, related_name="links_in")
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["from_case", "to_case"], name="unique_case_link"),
            models.CheckConstraint(
                condition=models.Q(from_case__lt=models.F("to_case")), name="case_link_ordered"
            ),
        ]
        verbose_name = _("linked case")
        verbose_name_plural = _("linked cases")

    def __str__(self) -> str:
        return f"link {self.from_case_id} - {self.to_case_id}"


class PerpetratorIdentifier(models.Model):
    """A keyed blind index of one identifier a report names (see ``identifiers``); never the
    identifier itself. Cases sharing an index name the same e-mail, number or handle."""

    case = models.ForeignKey(Case, on_delete=models.CASCADE, related_name="identifiers")
    kind = models.CharField(max_length=16)
    digest = models.CharField(max_length=64, db_index=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["case", "digest"], name="unique_identifier_per_case")
        ]
        verbose_name = _("perpetrator identifier index")
        verbose_name_plural = _("perpetrator identifier indexes")

    def __str__(self) -> str:
        return f"{self.kind} index"


class RosterEntry(models.Model):
    """One weekly on-call slot: who is the duty officer (TiB) or the communications officer
    (KiB) from ``starts`` to ``ends`` on a weekday, in Stockholm time. A slot whose end is
    not after its start runs past midnight into the next day."""

    class Duty(models.TextChoices):
        TIB = "tib", _("Duty officer (TiB)")
        KIB = "kib", _("Communications officer on call (KiB)")

    class Weekday(models.IntegerChoices):
        MONDAY = 0, _("Monday")
        TUESDAY = 1, _("Tuesday")
        WEDNESDAY = 2, _("Wednesday")
        THURSDAY = 3, _("Thursday")
        FRIDAY = 4, _("Friday")
        SATURDAY = 5, _("Saturday")
        SUNDAY = 6, _("Sunday")

    duty = models.CharField(_("duty"), max_length=4, choices=Duty.choices)
    weekday = models.PositiveSmallIntegerField(_("weekday"), choices=Weekday.choices)
    starts = models.TimeField(_("from"))
    ends = models.TimeField(_("until"))
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("who"),
        on_delete=models.CASCADE,
        related_name="roster_entries",
    )

    class Meta:
        ordering = ["duty", "weekday", "starts"]
        verbose_name = _("on-call slot")
        verbose_name_plural = _("on-call slots")

    def __str__(self) -> str:
        return f"{self.duty} {self.weekday} {self.starts}-{self.ends}"


class Message(EncryptedModel):
    """One message in a case's thread between the reporter and the case workers, encrypted
    like the report's fields. (Case workers' internal notes are ``CaseNote``, never here.)"""

    class Side(models.TextChoices):
        REPORTER = "reporter", _("The reporter")
        CASE_WORKER = "case_worker", _("Security staff")

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    case = models.ForeignKey(Case, on_delete=models.CASCADE, related_name="messages")
    side = models.CharField(_("from"), max_length=16, choices=Side.choices)
    author = models.ForeignKey(  # none for an anonymous reporter
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    sent_at = models.DateTimeField(_("sent"), default=timezone.now, db_index=True)
    body = EncryptedTextField()

    class Meta:
        ordering = ["sent_at"]
        verbose_name = _("message")
        verbose_name_plural = _("messages")

    def __str__(self) -> str:
        return f"message {self.sent_at:%Y-%m-%d %H:%M}"


class ThreadRead(models.Model):
    """Up to when one reader has read a case's thread: the reporter (``user`` empty for an
    anonymous one), or one case worker. Unread counts compare messages of the other side."""

    case = models.ForeignKey(Case, on_delete=models.CASCADE, related_name="thread_reads")
    side = models.CharField(max_length=16, choices=Message.Side.choices)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )
    read_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            # The reporter's marker is one per case (signed in or not); each case worker has
            # their own.
            models.UniqueConstraint(
                fields=["case"],
                condition=models.Q(side="reporter"),
                name="one_reporter_read_marker",
            ),
            models.UniqueConstraint(
                fields=["case", "user"],
                condition=models.Q(side="case_worker"),
                name="one_read_marker_per_case_worker",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.side} read {self.case_id} up to {self.read_at:%Y-%m-%d %H:%M}"


class AnonymousReceipt(models.Model):
    """How an anonymous reporter finds their report again: never the code itself, only its
    keyed look-up hash and a slow verifier of code and passphrase (see ``receipts``). No
    time is kept here: the report's own time is the only one."""

    report = models.OneToOneField(Report, on_delete=models.CASCADE, related_name="receipt")
    lookup = models.CharField(max_length=64, unique=True)
    key_id = models.CharField(max_length=12, blank=True)  # receipts.key_id of the look-up's key
    verifier = models.CharField(max_length=200)
    has_passphrase = models.BooleanField(default=False)

    class Meta:
        verbose_name = _("receipt")
        verbose_name_plural = _("receipts")

    def __str__(self) -> str:
        return f"receipt of {self.report_id}"


def _default_months_before() -> int:
    return int(settings.VARN_ELECTION_MONTHS_BEFORE)


def _default_months_after() -> int:
    return int(settings.VARN_ELECTION_MONTHS_AFTER)


class Election(models.Model):
    """One election in the calendar, and the window around polling day in which threats and
    pressure rise and security is stepped up (its election period). Kept by the head of
    security in the admin; a date not yet set gives no period."""

    class Kind(models.TextChoices):
        GENERAL = "general", _("General elections (Riksdag, regions and municipalities)")
        EUROPEAN = "european", _("European Parliament election")
        EXTRA = "extra", _("Extra election")

    kind = models.CharField(_("kind"), max_length=16, choices=Kind.choices)
    year = models.PositiveSmallIntegerField(_("year"))
    polling_day = models.DateField(
        _("polling day"),
        null=True,
        blank=True,
        unique=True,
        help_text=_("Leave empty until the date is set."),
    )
    months_before = models.PositiveSmallIntegerField(
        _("months before polling day"),
        default=_default_months_before,
        validators=[MaxValueValidator(24)],
        help_text=_("The election period starts this many months before polling day."),
    )
    months_after = models.PositiveSmallIntegerField(
        _("months after polling day"),
        default=_default_months_after,
        validators=[MaxValueValidator(12)],
        help_text=_("The election period ends this many months after polling day."),
    )

    class Meta:
        ordering = ["year", "polling_day"]
        verbose_name = _("election")
        verbose_name_plural = _("elections")

    def __str__(self) -> str:
        day = self.polling_day.isoformat() if self.polling_day else str(_("date not set"))
        return f"{self.get_kind_display()} {self.year} ({day})"

    def clean(self) -> None:
        from django.core.exceptions import ValidationError

        if self.polling_day and self.year and self.polling_day.year != self.year:
            raise ValidationError({"year": _("The year must be the polling day's year.")})

    @property
    def period_starts(self) -> date | None:
        if self.polling_day is None:
            return None
        return self.polling_day - relativedelta(months=self.months_before)

    @property
    def period_ends(self) -> date | None:
        if self.polling_day is None:
            return None
        return self.polling_day + relativedelta(months=self.months_after)


class TrendCell(models.Model):
    """How many reports of an ISO week, group and scope (everyone, a district or a role)
    have one value of one dimension (see ``trends``). Never shown as such: the leadership
    sees what the release publishes from these, after suppression."""

    week = models.DateField()  # the Monday, Stockholm time
    grp = models.CharField(max_length=24, blank=True)  # a PTU group; "" for all together
    scope = models.CharField(max_length=16, blank=True)  # "" (everyone), district or role
    scope_value = models.CharField(max_length=64, blank=True)  # the district's or role's code
    dimension = models.CharField(max_length=16)
    value = models.CharField(max_length=32, blank=True)
    count = models.IntegerField()

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["week", "grp", "scope", "scope_value", "dimension", "value"],
                name="unique_trend_cell_scope",
            )
        ]

    def __str__(self) -> str:
        return f"{self.week} {self.dimension}={self.value}: {self.count}"


class TrendRelease(models.Model):
    """One publication of the anonymised trends: the figures leadership may see, made from
    the trend cells of the ISO weeks that had ended, with suppression already applied."""

    released_at = models.DateTimeField(default=timezone.now)
    first_week = models.DateField(null=True)  # the Monday of the first week with figures
    last_week = models.DateField(null=True)  # the Monday of the last whole week counted
    min_count = models.PositiveSmallIntegerField()
    is_current = models.BooleanField(default=False)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["is_current"],
                condition=models.Q(is_current=True),
                name="one_current_trend_release",
            )
        ]

    def __str__(self) -> str:
        return f"trend release {self.released_at:%Y-%m-%d %H:%M}"


class TrendFigure(models.Model):
    """One published figure: a count, or the mark that it is suppressed (``count`` empty).

    ``period`` is an ISO week (``2026-W14``) or a quarter of ISO weeks (``2026-Q2``); ``scope``
    narrows to one district or one reporter role ("" for everyone). A figure of a published
    period that has no row is zero, shown as below the threshold like any small count (most
    figures are, so they are not stored).
    """

    class State(models.IntegerChoices):
        SHOWN = 0, _("shown")
        SMALL = 1, _("below the threshold")
        HIDDEN = 2, _("hidden so that a small count cannot be worked out")
        WITHHELD = 3, _("withheld: a part of a figure that is hidden")

    release = models.ForeignKey(TrendRelease, on_delete=models.CASCADE, related_name="figures")
    period = models.CharField(max_length=8)
    grp = models.CharField(max_length=24, blank=True)
    scope = models.CharField(max_length=8, blank=True)  # "", "district" or "role"
    scope_value = models.CharField(max_length=64, blank=True)
    dimension = models.CharField(max_length=16)
    value = models.CharField(max_length=32, blank=True)
    count = models.IntegerField(null=True)
    state = models.PositiveSmallIntegerField(choices=State.choices)

    class Meta:
        indexes = [models.Index(fields=["release", "grp", "scope", "scope_value", "period"])]

    def __str__(self) -> str:
        return f"{self.period} {self.dimension}={self.value}"
