"""The report intake form: guided, forgiving, and never losing what was typed."""

from __future__ import annotations

from typing import Any, cast

from django import forms
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from influence_reports import choices
from influence_reports.models import (
    ENCRYPTED_REPORT_FIELDS,
    Case,
    PoliceReferral,
    ProtectiveMeasure,
    RiskAssessment,
    RosterEntry,
)
from influence_reports.selectors import QueueFilters
from influence_reports.services.reports import ReportData
from security_core.models import User

TEXT_LIMIT = 20_000
SHORT_LIMIT = 500


def set_choices(form: forms.Form, options: dict[str, list[tuple[str, Any]]]) -> None:
    """Give choice fields their options when the form is made (labels in the language of
    the request, a deployment's own districts)."""
    for name, values in options.items():
        field = form.fields[name]
        if isinstance(field, forms.ChoiceField):  # all of them, as declared
            field.choices = values


def _blank(label: Any) -> list[tuple[str, Any]]:
    return [("", label)]


class ReportForm(forms.Form):
    # What happened
    is_acute = forms.BooleanField(
        required=False,
        label=_("I am in danger right now"),
        help_text=_("Call 112 first. Then tell us here; your report is marked urgent."),
    )
    categories = forms.MultipleChoiceField(
        label=_("What happened?"),
        help_text=_("Choose everything that fits."),
        choices=choices.Category.choices,
        widget=forms.CheckboxSelectMultiple,
        required=False,  # not when in danger: a description is then enough (see clean)
    )
    sexual_nature = forms.BooleanField(required=False, label=_("It was of a sexual nature"))
    description = forms.CharField(
        label=_("Tell us what happened"),
        help_text=_("In your own words: what was said or done, by whom, and how it affected you."),
        max_length=TEXT_LIMIT,
        widget=forms.Textarea(attrs={"rows": 8}),
        error_messages={"required": _("Tell us briefly what happened.")},
    )
    channels = forms.MultipleChoiceField(
        label=_("How did it reach you?"),
        choices=choices.Channel.choices,
        widget=forms.CheckboxSelectMultiple,
        required=False,
    )
    incident_date = forms.DateField(
        label=_("When did it happen?"),
        required=False,
        widget=forms.DateInput(attrs={"type": "date"}),
    )
    incident_date_approximate = forms.BooleanField(
        required=False, label=_("The date is approximate")
    )
    discovered_date = forms.DateField(
        label=_("When did you find out, if later?"),
        required=False,
        widget=forms.DateInput(attrs={"type": "date"}),
    )
    district = forms.ChoiceField(label=_("Where (district or administration)"), required=False)
    location_details = forms.CharField(
        label=_("Place or situation"),
        help_text=_("For example a meeting, your home address or a web address."),
        max_length=SHORT_LIMIT,
        required=False,
    )
    target = forms.ChoiceField(
        label=_("Who was targeted?"), choices=choices.Target.choices, initial="myself"
    )
    repeat = forms.BooleanField(required=False, label=_("It is part of a series of events"))

    # Who did it
    perpetrator_kind = forms.ChoiceField(
        label=_("Who did it, as far as you know?"),
        choices=choices.PerpetratorKind.choices,
        initial="unknown",
    )
    perpetrator_details = forms.CharField(
        label=_("What you know about them"),
        max_length=TEXT_LIMIT,
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
    )
    perpetrator_identifiers = forms.CharField(
        label=_("Their e-mail addresses, phone numbers, social-media accounts or company numbers"),
        help_text=_(
            "One per line. They help us see whether the same person is behind other cases."
        ),
        max_length=SHORT_LIMIT * 4,
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
    )

    # What it concerned and what it led to
    linked_decision = forms.CharField(
        label=_("Which decision or matter did someone try to influence?"),
        max_length=SHORT_LIMIT * 2,
        required=False,
        widget=forms.Textarea(attrs={"rows": 2}),
    )
    consequences = forms.MultipleChoiceField(
        label=_("Did it affect what you did?"),
        choices=choices.Consequence.choices,
        widget=forms.CheckboxSelectMultiple,
        required=False,
    )
    police_reported = forms.ChoiceField(
        label=_("Have you reported it to the police?"),
        choices=[("", _("Choose")), *choices.PoliceReported.choices],
    )
    police_reference = forms.CharField(
        label=_("Police reference number"), max_length=100, required=False
    )
    needs_support = forms.BooleanField(required=False, label=_("I would like support"))
    media_interest = forms.BooleanField(
        required=False, label=_("I expect the media to take an interest")
    )
    contact_details = forms.CharField(
        label=_("How we may best reach you"),
        help_text=_("For example a phone number, or times we should not call."),
        max_length=SHORT_LIMIT,
        required=False,
    )

    # About you
    reporter_role = forms.ChoiceField(
        label=_("Your role"), choices=[("", _("Choose")), *choices.ReporterRole.choices]
    )
    on_behalf_of_other = forms.BooleanField(
        required=False, label=_("I am reporting on behalf of someone else")
    )
    on_behalf_name = forms.CharField(
        label=_("Name of the person you report for"), max_length=200, required=False
    )
    consent_recorded = forms.BooleanField(
        required=False, label=_("The person has agreed that I report this for them")
    )

    # Statistics (optional)
    profile_gender = forms.ChoiceField(label=_("Gender"), required=False)
    profile_age_band = forms.ChoiceField(label=_("Age"), required=False)
    profile_assembly = forms.ChoiceField(label=_("Assembly"), required=False)
    profile_chair_post = forms.BooleanField(required=False, label=_("I chair an assembly"))
    profile_party = forms.CharField(
        label=_("Party (only if you want to tell us)"),
        help_text=_("Political opinion is specially protected. Leave empty if you prefer."),
        max_length=100,
        required=False,
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        no_answer = _blank(_("Prefer not to say"))
        options: dict[str, list[tuple[str, Any]]] = {
            "district": _blank(_("Choose")) + choices.districts(),
            "profile_gender": no_answer + list(choices.Gender.choices),
            "profile_age_band": no_answer + list(choices.AgeBand.choices),
            "profile_assembly": no_answer + list(choices.Assembly.choices),
        }
        set_choices(self, options)

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if not data.get("categories") and not data.get("is_acute"):
            self.add_error("categories", _("Choose at least one kind of event."))
        today = timezone.localdate()
        for name in ("incident_date", "discovered_date"):
            if data.get(name) and data[name] > today:
                self.add_error(name, _("The date cannot be in the future."))
        if data.get("on_behalf_of_other"):
            if not data.get("on_behalf_name"):
                self.add_error("on_behalf_name", _("Give the name of the person you report for."))
            if not data.get("consent_recorded"):
                self.add_error(
                    "consent_recorded",
                    _("We need the person's consent before you report on their behalf."),
                )
        if data.get("police_reported") != "yes":
            data["police_reference"] = ""
        return data

    def report_data(self) -> ReportData:
        data = self.cleaned_data
        encrypted = {
            name: data.get(name) or ""
            for name in ENCRYPTED_REPORT_FIELDS
            if name not in {"description", "profile_chair_post"}
        }
        encrypted["profile_chair_post"] = "yes" if data.get("profile_chair_post") else ""
        return ReportData(
            description=data["description"],
            reporter_role=data["reporter_role"],
            categories=data["categories"],
            channels=data.get("channels") or (),
            consequences=data.get("consequences") or (),
            sexual_nature=data.get("sexual_nature", False),
            incident_date=data.get("incident_date"),
            incident_date_approximate=data.get("incident_date_approximate", False),
            discovered_date=data.get("discovered_date"),
            district=data.get("district") or "",
            target=data["target"],
            perpetrator_kind=data["perpetrator_kind"],
            police_reported=data["police_reported"],
            repeat=data.get("repeat", False),
            is_acute=data.get("is_acute", False),
            needs_support=data.get("needs_support", False),
            media_interest=data.get("media_interest", False),
            on_behalf_of_other=data.get("on_behalf_of_other", False),
            consent_recorded=data.get("consent_recorded", False),
            encrypted=encrypted,
        )


class CaseQueueForm(forms.Form):
    """The queue's filters, read from the query string; a value it does not know is an error
    shown beside the field, and the queue is then shown unfiltered by it."""

    status = forms.ChoiceField(
        label=_("Status"),
        required=False,
        choices=[("open", _("Open (not closed)")), ("all", _("All")), *Case.Status.choices],
    )
    category = forms.ChoiceField(
        label=_("Category"), required=False, choices=_blank(_("Any")) + choices.Category.choices
    )
    acute = forms.BooleanField(label=_("Only acute"), required=False)
    deadline = forms.ChoiceField(
        label=_("Deadline"),
        required=False,
        choices=[("", _("Any")), ("overdue", _("Overdue")), ("due_soon", _("Due within 24 h"))],
    )
    assignee = forms.ChoiceField(
        label=_("Assigned to"),
        required=False,
        choices=[("anyone", _("Anyone")), ("mine", _("Me")), ("unassigned", _("Nobody"))],
    )
    district = forms.ChoiceField(label=_("District"), required=False)
    sort = forms.ChoiceField(
        label=_("Sort by"),
        required=False,
        choices=[
            ("deadline", _("Next deadline")),
            ("oldest", _("Oldest first")),
            ("newest", _("Newest first")),
        ],
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        district = cast(forms.ChoiceField, self.fields["district"])
        district.choices = _blank(_("Any")) + list(choices.districts())

    def filters(self) -> QueueFilters:
        """The valid filters; an invalid one is left at its default."""
        if not self.is_bound:
            return QueueFilters()
        self.is_valid()  # fields that failed are absent from cleaned_data
        data = self.cleaned_data
        defaults = QueueFilters()
        return QueueFilters(
            status=data.get("status") or defaults.status,
            category=data.get("category") or "",
            acute=bool(data.get("acute")),
            deadline=data.get("deadline") or "",
            assignee=data.get("assignee") or defaults.assignee,
            district=data.get("district") or "",
            sort=data.get("sort") or defaults.sort,
        )


REASON_LIMIT = 2_000


class TransitionForm(forms.Form):
    to = forms.ChoiceField(choices=Case.Status.choices, widget=forms.HiddenInput)
    closed_reason = forms.ChoiceField(
        label=_("Why is the case closed?"),
        required=False,
        choices=_blank(_("Choose…")) + Case.ClosedReason.choices,
    )
    reason = forms.CharField(
        label=_("Reason or comment"),
        required=False,
        max_length=REASON_LIMIT,
        widget=forms.Textarea(attrs={"rows": 2}),
    )


class AssignForm(forms.Form):
    assignee = forms.ModelChoiceField(
        label=_("Assign to"), queryset=User.objects.none(), required=False, empty_label=_("Nobody")
    )

    def __init__(self, *args: Any, workers: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        cast(forms.ModelChoiceField, self.fields["assignee"]).queryset = workers  # type: ignore[type-arg]


class RecuseForm(forms.Form):
    user = forms.ModelChoiceField(
        label=_("Who stands aside"), queryset=User.objects.none(), required=False
    )
    reason = forms.CharField(
        label=_("The conflict of interest"),
        max_length=REASON_LIMIT,
        widget=forms.Textarea(attrs={"rows": 2}),
    )

    def __init__(self, *args: Any, workers: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        cast(forms.ModelChoiceField, self.fields["user"]).queryset = workers  # type: ignore[type-arg]


class RiskAssessmentForm(forms.Form):
    targeted = forms.ChoiceField(
        label=_("Who is targeted?"), choices=RiskAssessment.Targeted.choices
    )
    credibility = forms.ChoiceField(
        label=_("How credible is the threat?"), choices=RiskAssessment.Credibility.choices
    )
    specificity = forms.ChoiceField(
        label=_("How specific is it?"), choices=RiskAssessment.Specificity.choices
    )
    capacity = forms.ChoiceField(
        label=_("The perpetrator's capacity to act"), choices=RiskAssessment.Capacity.choices
    )
    history = forms.ChoiceField(
        label=_("The perpetrator's history"), choices=RiskAssessment.History.choices
    )
    imminence = forms.ChoiceField(
        label=_("How soon could it happen?"), choices=RiskAssessment.Imminence.choices
    )
    comment = forms.CharField(
        label=_("Comment"),
        required=False,
        max_length=TEXT_LIMIT,
        widget=forms.Textarea(attrs={"rows": 3}),
    )


class MeasureForm(forms.Form):
    kind = forms.ChoiceField(label=_("Measure"), choices=ProtectiveMeasure.Kind.choices)
    owner = forms.ModelChoiceField(
        label=_("Owner"), queryset=User.objects.none(), required=False, empty_label=_("Me")
    )
    due_date = forms.DateField(
        label=_("Due"), required=False, widget=forms.DateInput(attrs={"type": "date"})
    )
    details = forms.CharField(
        label=_("What is to be done"),
        required=False,
        max_length=TEXT_LIMIT,
        widget=forms.Textarea(attrs={"rows": 2}),
    )

    def __init__(self, *args: Any, workers: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        cast(forms.ModelChoiceField, self.fields["owner"]).queryset = workers  # type: ignore[type-arg]


class MeasureUpdateForm(forms.Form):
    status = forms.ChoiceField(label=_("Status"), choices=ProtectiveMeasure.Status.choices)
    outcome = forms.CharField(
        label=_("Outcome"),
        required=False,
        max_length=TEXT_LIMIT,
        widget=forms.Textarea(attrs={"rows": 2}),
    )


class ReferralForm(forms.Form):
    referred_on = forms.DateField(
        label=_("Referred on"), widget=forms.DateInput(attrs={"type": "date"})
    )
    police_reference = forms.CharField(
        label=_("The police's reference"), required=False, max_length=SHORT_LIMIT
    )
    restricted_access_requested = forms.BooleanField(
        label=_("Restricted access was requested"), required=False
    )
    status = forms.ChoiceField(label=_("Status"), choices=PoliceReferral.Status.choices)

    def clean_referred_on(self) -> Any:
        referred_on = self.cleaned_data["referred_on"]
        if referred_on > timezone.localdate():
            raise forms.ValidationError(_("The date cannot be in the future."))
        return referred_on


class ReferralUpdateForm(forms.Form):
    status = forms.ChoiceField(label=_("Status"), choices=PoliceReferral.Status.choices)
    police_reference = forms.CharField(
        label=_("The police's reference"), required=False, max_length=SHORT_LIMIT
    )


class NoteForm(forms.Form):
    text = forms.CharField(
        label=_("Internal note"),
        help_text=_("Seen by case workers only, never by the reporter."),
        max_length=TEXT_LIMIT,
        widget=forms.Textarea(attrs={"rows": 3}),
    )


class LinkForm(forms.Form):
    reference = forms.CharField(
        label=_("Reference of the related case"),
        max_length=32,
        help_text=_("For example VN-7K3Q-9XWD."),
    )

    def clean_reference(self) -> str:
        return str(self.cleaned_data["reference"]).strip().upper()


class RosterEntryForm(forms.Form):
    duty = forms.ChoiceField(label=_("Duty"), choices=RosterEntry.Duty.choices)
    weekday = forms.TypedChoiceField(
        label=_("Weekday"), choices=RosterEntry.Weekday.choices, coerce=int
    )
    starts = forms.TimeField(label=_("From"), widget=forms.TimeInput(attrs={"type": "time"}))
    ends = forms.TimeField(
        label=_("Until"),
        help_text=_("An end before the start runs past midnight."),
        widget=forms.TimeInput(attrs={"type": "time"}),
    )
    user = forms.ModelChoiceField(label=_("Who"), queryset=User.objects.none())

    def __init__(self, *args: Any, people: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        cast(forms.ModelChoiceField, self.fields["user"]).queryset = people  # type: ignore[type-arg]


PASSPHRASE_MIN = 8


class AnonymousReportForm(ReportForm):
    """The same questions, for someone without an account, plus an optional passphrase to
    go with the receipt code. Nothing asks who they are; contact details stay optional."""

    passphrase = forms.CharField(
        label=_("A passphrase of your own (optional)"),
        help_text=_(
            "With a passphrase, the receipt code alone does not open your report. At least "
            "8 characters; there is no way to recover it."
        ),
        required=False,
        max_length=200,
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
    )
    passphrase_again = forms.CharField(
        label=_("The passphrase again"),
        required=False,
        max_length=200,
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
    )

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        passphrase = data.get("passphrase") or ""
        if passphrase and len(passphrase) < PASSPHRASE_MIN:
            self.add_error("passphrase", _("Use at least 8 characters, or none."))
        elif passphrase != (data.get("passphrase_again") or ""):
            self.add_error("passphrase_again", _("The two passphrases differ."))
        return data


class ReceiptForm(forms.Form):
    code = forms.CharField(
        label=_("Receipt code"),
        help_text=_("The 16 digits you were given when you sent the report."),
        max_length=40,
        widget=forms.TextInput(
            attrs={"autocomplete": "off", "inputmode": "numeric", "spellcheck": "false"}
        ),
    )
    passphrase = forms.CharField(
        label=_("Passphrase (if you chose one)"),
        required=False,
        max_length=200,
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "current-password"}),
    )
