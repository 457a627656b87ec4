"""The work recorded on a case: risk assessments, measures, police referrals, internal
notes and links. Case workers record them from the case page; what is free text is
encrypted and never reaches the audit log; nobody else can record anything (404)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from auditlog.models import LogEntry
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from influence_reports.models import (
    Case,
    CaseLink,
    CaseNote,
    PoliceReferral,
    ProtectiveMeasure,
    RiskAssessment,
)
from influence_reports.risk import risk_level_for
from influence_reports.services import case_work
from influence_reports.services.cases import CaseActionRefused, case_recuse
from influence_reports.services.reports import ReportData, report_submit
from security_core.roles import Role

pytestmark = pytest.mark.django_db

CANARY = "KANARIE-w0rk-93 Storgatan 7"
A = RiskAssessment


def _case(reporter=None, **data) -> Case:
    fields = {
        "description": "Hot vid mötet.",
        "reporter_role": "official",
        "categories": ["threat"],
    }
    report = report_submit(reporter=reporter, data=ReportData(**(fields | data)))
    return Case.objects.get(report=report)


def _worker_client(client, make_user, signed_in, role=Role.HANDLER):
    user = make_user(role)
    signed_in(client, user, verified=True)
    return user


@pytest.mark.parametrize(
    ("answers", "level"),
    [
        (("low", "vague", "none_known", "none_known", "none"), "low"),
        (("medium", "specific", "none_known", "none_known", "none"), "low"),
        (("medium", "specific", "some", "none_known", "none"), "elevated"),
        (("high", "specific", "some", "earlier", "none"), "elevated"),
        (("high", "detailed", "some", "earlier", "weeks"), "high"),
        (("high", "vague", "none_known", "violent", "none"), "high"),
        (("low", "vague", "none_known", "none_known", "now"), "acute"),
    ],
)
def test_the_risk_level_follows_from_the_answers(answers, level):
    credibility, specificity, capacity, history, imminence = answers
    assert (
        risk_level_for(
            credibility=credibility,
            specificity=specificity,
            capacity=capacity,
            history=history,
            imminence=imminence,
        )
        == level
    )


def test_assessments_are_kept_and_the_newest_sets_the_cases_level(make_user):
    handler = make_user(Role.HANDLER)
    case = _case()
    answers = {"targeted": "reporter", "specificity": "vague", "capacity": "none_known"}
    case_work.risk_assess(
        case=case,
        actor=handler,
        credibility="low",
        history="none_known",
        imminence="none",
        **answers,
    )
    case_work.risk_assess(
        case=case,
        actor=handler,
        credibility="high",
        history="violent",
        imminence="now",
        comment=CANARY,
        **answers,
    )
    case.refresh_from_db()
    assert case.risk_level == "acute"
    assert list(case.risk_assessments.values_list("level", flat=True)) == ["acute", "low"]
    newest = case.risk_assessments.first()
    assert newest is not None
    assert newest.assessor == handler


def test_a_measure_is_added_and_completed_with_an_outcome(make_user):
    handler = make_user(Role.HANDLER)
    case = _case()
    due = timezone.localdate() + timedelta(days=3)
    measure = case_work.measure_add(
        case=case, actor=handler, kind="home_security", owner=None, due_date=due, details=CANARY
    )
    assert (measure.owner, measure.status, measure.due_date) == (handler, "planned", due)
    done = case_work.measure_update(measure=measure, actor=handler, status="done", outcome="Larm.")
    again = ProtectiveMeasure.objects.get(pk=done.pk)
    assert again.status == "done"
    assert again.completed_at is not None
    assert (again.details, again.outcome) == (CANARY, "Larm.")


def test_a_measure_cannot_be_given_to_someone_who_may_not_work_the_case(make_user):
    handler, other = make_user(Role.HANDLER), make_user(Role.HANDLER)
    case = _case()
    case_recuse(case=case, user=other, actor=other, reason="Granne.")
    with pytest.raises(CaseActionRefused):
        case_work.measure_add(case=case, actor=handler, kind="other", owner=other, due_date=None)
    with pytest.raises(CaseActionRefused):
        case_work.measure_add(
            case=case, actor=make_user(Role.LEADERSHIP), kind="other", owner=None, due_date=None
        )
    assert not case.measures.exists()


def test_the_police_reference_is_encrypted_and_updatable(make_user):
    handler = make_user(Role.HANDLER)
    case = _case()
    referral = case_work.referral_record(
        case=case,
        actor=handler,
        referred_on=timezone.localdate(),
        police_reference=CANARY,
        restricted_access_requested=True,
    )
    updated = case_work.referral_update(
        referral=referral, actor=handler, status="investigating", police_reference="5000-K1-26"
    )
    again = PoliceReferral.objects.get(pk=updated.pk)
    assert (again.status, again.police_reference) == ("investigating", "5000-K1-26")
    assert again.restricted_access_requested


def test_links_are_stored_once_and_never_to_a_case_the_actor_cannot_see(make_user):
    handler, recused = make_user(Role.HANDLER), make_user(Role.HANDLER)
    first, second, hidden = _case(), _case(), _case()
    case_recuse(case=hidden, user=recused, actor=recused, reason="Släkt.")
    case_work.case_link(case=first, other=second, actor=handler)
    case_work.case_link(case=second, other=first, actor=handler)  # the same link
    assert CaseLink.objects.count() == 1
    with pytest.raises(CaseActionRefused):
        case_work.case_link(case=first, other=hidden, actor=recused)
    with pytest.raises(CaseActionRefused):
        case_work.case_link(case=first, other=first, actor=handler)


def test_case_work_free_text_is_encrypted_and_kept_out_of_the_audit_log(make_user):
    handler = make_user(Role.HANDLER)
    case = _case()
    case_work.note_add(case=case, actor=handler, text=CANARY)
    case_work.measure_add(
        case=case, actor=handler, kind="other", owner=None, due_date=None, details=CANARY
    )
    case_work.referral_record(
        case=case,
        actor=handler,
        referred_on=timezone.localdate(),
        police_reference=CANARY,
        restricted_access_requested=False,
    )
    case_work.risk_assess(
        case=case,
        actor=handler,
        targeted="reporter",
        credibility="low",
        specificity="vague",
        capacity="none_known",
        history="none_known",
        imminence="none",
        comment=CANARY,
    )
    needle = CANARY.encode()
    with connection.cursor() as cursor:
        for model in (CaseNote, ProtectiveMeasure, PoliceReferral, RiskAssessment):
            cursor.execute(f"SELECT * FROM {model._meta.db_table}")  # noqa: S608 - our names
            for row in cursor.fetchall():
                for value in row:
                    raw = bytes(value) if isinstance(value, (bytes, memoryview)) else str(value)
                    assert (needle not in raw) if isinstance(raw, bytes) else (CANARY not in raw)
    logged = " ".join(str(entry.changes) for entry in LogEntry.objects.all())
    assert "KANARIE" not in logged


def test_a_case_worker_records_everything_from_the_case_page(client, make_user, signed_in):
    handler = _worker_client(client, make_user, signed_in)
    case = _case()
    other = _case()
    posts = [
        (
            "case_assess",
            {
                "targeted": "reporter",
                "credibility": "high",
                "specificity": "specific",
                "capacity": "some",
                "history": "earlier",
                "imminence": "days",
                "comment": CANARY,
            },
        ),
        (
            "case_measure_add",
            {"kind": "risk_talk", "owner": "", "due_date": "", "details": "Ring."},
        ),
        (
            "case_referral_add",
            {
                "referred_on": timezone.localdate().isoformat(),
                "police_reference": "5000-K9-26",
                "status": "referred",
            },
        ),
        ("case_note_add", {"text": "Ringde kl 14."}),
        ("case_link_add", {"reference": other.report.reference.lower()}),
    ]
    for name, data in posts:
        response = client.post(reverse(name, args=[case.pk]), data)
        assert response.status_code == 302, name
        assert response["Location"] == reverse("case_detail", args=[case.pk])
    page = client.get(reverse("case_detail", args=[case.pk])).content.decode()
    for shown in (CANARY, "Ring.", "5000-K9-26", "Ringde kl 14.", other.report.reference):
        assert shown in page
    case.refresh_from_db()
    assert case.risk_level == "high"
    measure = case.measures.get()
    response = client.post(
        reverse("measure_update", args=[case.pk, measure.pk]),
        {f"{measure.pk}-status": "done", f"{measure.pk}-outcome": "Klart."},
    )
    assert response.status_code == 302
    measure.refresh_from_db()
    assert measure.status == "done"
    assert handler == measure.owner


def test_bad_input_is_refused_with_a_message_and_records_nothing(client, make_user, signed_in):
    _worker_client(client, make_user, signed_in)
    case = _case()
    tomorrow = (timezone.localdate() + timedelta(days=1)).isoformat()
    bad = [
        ("case_assess", {"targeted": "martians"}),
        ("case_measure_add", {"kind": "teleport"}),
        ("case_referral_add", {"referred_on": tomorrow, "status": "referred"}),
        ("case_referral_add", {"referred_on": "not a date", "status": "referred"}),
        ("case_note_add", {"text": "   "}),
        ("case_link_add", {"reference": "VN-XXXX-XXXX"}),
    ]
    for name, data in bad:
        response = client.post(reverse(name, args=[case.pk]), data, follow=True)
        assert response.status_code == 200, name
        assert b"message-error" in response.content, name
    assert not any(
        model.objects.exists()
        for model in (RiskAssessment, ProtectiveMeasure, PoliceReferral, CaseNote, CaseLink)
    )


RECUSED = "recused duty officer"


@pytest.mark.parametrize(
    "role",
    [
        *(r for r in Role if r not in {Role.HANDLER, Role.DUTY_OFFICER, Role.SECURITY_LEAD}),
        RECUSED,
    ],
)
def test_nobody_else_can_record_case_work(client, make_user, signed_in, role):
    user = make_user(Role.DUTY_OFFICER if role == RECUSED else role)
    signed_in(client, user, verified=True)
    case = _case()
    if role == RECUSED:
        case_recuse(case=case, user=user, actor=user, reason="Jäv.")
    measure = case_work.measure_add(
        case=case, actor=make_user(Role.HANDLER), kind="other", owner=None, due_date=None
    )
    for url in (
        reverse("case_assess", args=[case.pk]),
        reverse("case_measure_add", args=[case.pk]),
        reverse("measure_update", args=[case.pk, measure.pk]),
        reverse("case_referral_add", args=[case.pk]),
        reverse("case_note_add", args=[case.pk]),
        reverse("case_link_add", args=[case.pk]),
    ):
        assert client.post(url, {"text": "x"}).status_code == 404, url
    assert not CaseNote.objects.exists()
    assert not RiskAssessment.objects.exists()
    assert case.measures.get().status == "planned"


def test_a_measure_of_another_case_is_not_found_through_this_one(client, make_user, signed_in):
    handler = _worker_client(client, make_user, signed_in)
    case, other = _case(), _case()
    measure = case_work.measure_add(
        case=other, actor=handler, kind="other", owner=None, due_date=None
    )
    response = client.post(
        reverse("measure_update", args=[case.pk, measure.pk]),
        {f"{measure.pk}-status": "done", f"{measure.pk}-outcome": ""},
    )
    assert response.status_code == 404
    measure.refresh_from_db()
    assert measure.status == "planned"


def test_the_case_page_costs_the_same_queries_however_much_work_it_holds(
    client, make_user, signed_in
):
    handler = _worker_client(client, make_user, signed_in)

    def fill(case: Case, n: int) -> None:
        for _ in range(n):
            case_work.note_add(case=case, actor=handler, text="Notering.")
            case_work.measure_add(case=case, actor=handler, kind="other", owner=None, due_date=None)
            case_work.referral_record(
                case=case,
                actor=handler,
                referred_on=timezone.localdate(),
                police_reference="x",
                restricted_access_requested=False,
            )
            case_work.risk_assess(
                case=case,
                actor=handler,
                targeted="reporter",
                credibility="low",
                specificity="vague",
                capacity="none_known",
                history="none_known",
                imminence="none",
            )

    small, large = _case(), _case()
    fill(small, 1)
    fill(large, 6)
    counts = []
    for case in (small, large):
        with CaptureQueriesContext(connection) as queries:
            assert client.get(reverse("case_detail", args=[case.pk])).status_code == 200
        counts.append(len(queries))
    assert counts[0] == counts[1]


def test_opening_a_case_records_reading_the_report_and_the_case(client, make_user, signed_in):
    from security_core.models import AccessEntry

    handler = _worker_client(client, make_user, signed_in)
    case = _case()
    assert client.get(reverse("case_detail", args=[case.pk])).status_code == 200
    entries = set(AccessEntry.objects.filter(actor=handler).values_list("purpose", "object_id"))
    assert entries == {("view_report", str(case.report.pk)), ("view_case", str(case.pk))}


def test_why_someone_stood_aside_is_shown_to_the_head_of_security_only(
    client, make_user, signed_in
):
    case = _case()
    recused = make_user(Role.HANDLER)
    case_recuse(case=case, user=recused, actor=recused, reason="Han är min svåger.")
    lead = make_user(Role.SECURITY_LEAD)
    case_recuse(case=case, user=recused, actor=lead, reason="Igen.")  # recorded once
    assert case.events.filter(kind="recused").count() == 1

    _worker_client(client, make_user, signed_in, role=Role.DUTY_OFFICER)
    page = client.get(reverse("case_detail", args=[case.pk])).content.decode()
    assert recused.email in page
    assert "svåger" not in page

    _worker_client(client, make_user, signed_in, role=Role.SECURITY_LEAD)
    page = client.get(reverse("case_detail", args=[case.pk])).content.decode()
    assert "Han är min svåger." in page


def test_completing_a_measure_keeps_the_time_it_was_done_through_later_edits(make_user):
    handler = make_user(Role.HANDLER)
    measure = case_work.measure_add(
        case=_case(), actor=handler, kind="other", owner=None, due_date=None
    )
    done = case_work.measure_update(measure=measure, actor=handler, status="done", outcome="")
    edited = case_work.measure_update(
        measure=done, actor=handler, status="done", outcome="Lade till utfallet."
    )
    assert edited.completed_at == done.completed_at
    planned = case_work.measure_update(measure=edited, actor=handler, status="planned", outcome="")
    assert planned.completed_at is None


def test_an_edit_of_only_an_encrypted_field_still_reaches_the_audit_log(make_user):
    handler, other = make_user(Role.HANDLER), make_user(Role.HANDLER)
    case = _case()
    measure = case_work.measure_add(
        case=case, actor=handler, kind="other", owner=None, due_date=None
    )
    referral = case_work.referral_record(
        case=case,
        actor=handler,
        referred_on=timezone.localdate(),
        police_reference="5000-K1-26",
        restricted_access_requested=False,
    )
    before = LogEntry.objects.count()
    case_work.measure_update(measure=measure, actor=other, status="planned", outcome=CANARY)
    case_work.referral_update(
        referral=referral, actor=other, status="referred", police_reference=CANARY
    )
    entries = LogEntry.objects.order_by("-timestamp")[:2]
    assert LogEntry.objects.count() == before + 2
    for entry in entries:
        assert "updated_by" in entry.changes_dict
        assert CANARY not in str(entry.changes)


def test_recusal_hands_back_the_open_measures_the_recused_person_owned(make_user):
    handler = make_user(Role.HANDLER)
    case = _case()
    planned = case_work.measure_add(
        case=case, actor=handler, kind="other", owner=None, due_date=None
    )
    done = case_work.measure_add(
        case=case, actor=handler, kind="risk_talk", owner=None, due_date=None
    )
    case_work.measure_update(measure=done, actor=handler, status="done", outcome="")
    case_recuse(case=case, user=handler, actor=handler, reason="Jäv.")
    planned.refresh_from_db()
    done.refresh_from_db()
    assert planned.owner is None
    assert done.owner == handler  # who did it stays on record


@pytest.mark.parametrize("role", [Role.HANDLER, Role.DUTY_OFFICER, Role.SECURITY_LEAD])
def test_every_case_worker_may_record_every_kind_of_case_work(client, make_user, signed_in, role):
    worker = _worker_client(client, make_user, signed_in, role=role)
    case, other = _case(), _case()
    posts = {
        "case_assess": {
            "targeted": "reporter",
            "credibility": "low",
            "specificity": "vague",
            "capacity": "none_known",
            "history": "none_known",
            "imminence": "none",
        },
        "case_measure_add": {"kind": "other"},
        "case_referral_add": {
            "referred_on": timezone.localdate().isoformat(),
            "status": "referred",
        },
        "case_note_add": {"text": "Noterat."},
        "case_link_add": {"reference": other.report.reference},
    }
    for name, data in posts.items():
        response = client.post(reverse(name, args=[case.pk]), data, follow=True)
        assert response.status_code == 200, name
        assert b"message-success" in response.content, name
    measure, referral = case.measures.get(), case.referrals.get()
    for name, child, data in (
        ("measure_update", measure, {"status": "done", "outcome": "Klart."}),
        ("referral_update", referral, {"status": "investigating", "police_reference": "1"}),
    ):
        prefixed = {f"{child.pk}-{field}": value for field, value in data.items()}
        response = client.post(reverse(name, args=[case.pk, child.pk]), prefixed, follow=True)
        assert b"message-success" in response.content, name
    assert case.risk_assessments.get().assessor == worker
    assert case.notes.get().author == worker
    assert CaseLink.objects.count() == 1
    measure.refresh_from_db()
    referral.refresh_from_db()
    assert (measure.status, referral.status) == ("done", "investigating")
