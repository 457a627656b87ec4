"""Cases: opened with every report, worked through the workflow, hidden on recusal.

Every role (and a recused handler) tries every case action over HTTP; every pair of
statuses meets the workflow; deadlines count Stockholm's calendar across the clock changes;
the queue filters, sorts and pages at a constant query cost without free text; the reporter
sees their case handled; two acknowledgements at once on PostgreSQL make one.
"""

from __future__ import annotations

import re
import threading
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from auditlog.models import LogEntry
from django.conf import settings
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection, transaction
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from influence_reports import choices, deadlines, selectors
from influence_reports.models import Attachment, Case, CaseEvent, Recusal, Report
from influence_reports.services import cases as case_services
from influence_reports.services import reports as report_services
from influence_reports.services.cases import TRANSITIONS, CaseActionRefused
from influence_reports.services.reports import ReportData, report_submit
from security_core import permissions
from security_core.models import AccessEntry, User
from security_core.roles import Role
from tests.influence_reports.conftest import PNG, report_form

pytestmark = pytest.mark.django_db

STOCKHOLM = ZoneInfo("Europe/Stockholm")
S = Case.Status
SECRET = "Han sa KANARIE-c4se-71 och att han vet var min dotter går i skolan."
REFERENCE = re.compile(r"VN-[0-9A-Z]{4}-[0-9A-Z]{4}")
WORKERS = (Role.HANDLER, Role.DUTY_OFFICER, Role.SECURITY_LEAD)
RECUSED = "recused handler"
# The statuses a case passes through to reach each status (as the security lead).
FORWARD = (S.ACKNOWLEDGED, S.ASSESSING, S.MEASURES, S.FEEDBACK_GIVEN)
PATH_TO = {S.RECEIVED: (), S.CLOSED: (S.CLOSED,)} | {
    status: FORWARD[: i + 1] for i, status in enumerate(FORWARD)
}


def _file(*, reporter: User | None = None, submitted_at: datetime | None = None, **data) -> Report:
    data = {"description": SECRET, "reporter_role": "official", "categories": ["threat"]} | data
    return report_submit(reporter=reporter, data=ReportData(**data), submitted_at=submitted_at)


def _case(report: Report) -> Case:
    return Case.objects.get(report=report)


def _move(case: Case, *steps: str, actor: User, reason: str = "Enligt rutin.") -> Case:
    for to in steps:
        closed_reason = Case.ClosedReason.HANDLED if to == S.CLOSED else ""
        case = case_services.case_transition(
            case=case, to=to, actor=actor, reason=reason, closed_reason=closed_reason
        )
    return case


def _client(user: User, signed_in, client: Client | None = None) -> Client:
    client = client or Client()
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    signed_in(client, user, verified=True)
    return client


def _queue(client: Client, **query: Any):
    return client.get(reverse("case_queue"), {"status": "open", **query})


def _listed(response) -> list[str]:
    assert response.status_code == 200
    return REFERENCE.findall(response.content.decode())


def _row(page: str, reference: str) -> str:
    """The table row of a page that names ``reference``."""
    row = re.search(rf"<tr>(?:(?!</tr>).)*{reference}(?:(?!</tr>).)*</tr>", page, re.DOTALL)
    assert row, f"no row for {reference}"
    return row.group(0)


def _snapshot(case: Case) -> tuple[object, ...]:
    return (
        Case.objects.filter(pk=case.pk).values().get(),
        sorted(CaseEvent.objects.filter(case=case).values_list("pk", flat=True)),
        sorted(Recusal.objects.filter(case=case).values_list("user_id", flat=True)),
    )


@pytest.fixture
def lead(make_user) -> User:
    return make_user(Role.SECURITY_LEAD)


@pytest.fixture
def filed(client, reporter, signed_in) -> tuple[Report, Attachment]:
    """A report filed through the intake form, with one picture attached."""
    _client(reporter, signed_in, client)
    picture = SimpleUploadedFile("bild.png", PNG, content_type="image/png")
    response = client.post(
        reverse("report_new"), report_form(description=SECRET, evidence=[picture])
    )
    assert response.status_code == 302
    report = Report.objects.get()
    return report, report.attachments.get()


# --- Filing opens the case -----------------------------------------------------------------

SUBMITTED = datetime(2026, 5, 4, 9, 15, tzinfo=UTC)


@pytest.mark.parametrize(
    ("acute", "due"),
    [(False, SUBMITTED + timedelta(days=7)), (True, SUBMITTED + timedelta(hours=1))],
    ids=["ordinary", "acute"],
)
def test_filing_a_report_opens_exactly_one_received_case_due_for_acknowledgement(acute, due):
    report = _file(submitted_at=SUBMITTED, is_acute=acute)

    case = Case.objects.get()
    assert case.report_id == report.pk
    assert case.status == S.RECEIVED
    assert case.acknowledge_by == due
    assert case.due_at == case.acknowledge_by
    assert (case.assignee, case.acknowledged_at, case.feedback_by) == (None, None, None)


@pytest.mark.parametrize("failing", ["the caller after filing", "opening the case"])
def test_a_filing_that_fails_leaves_neither_report_nor_case(monkeypatch, failing):
    def fail(**kwargs) -> None:
        raise RuntimeError(failing)

    def file_then_fail() -> None:
        with transaction.atomic():
            _file()
            assert Case.objects.count() == 1
            fail()

    if failing == "opening the case":
        monkeypatch.setattr(report_services, "case_open", fail)
    with pytest.raises(RuntimeError, match=failing):
        _file() if failing == "opening the case" else file_then_fail()

    assert not Report.objects.exists()
    assert not Case.objects.exists()


# --- Who may do what: every role against every case action over HTTP ----------------------

# method, URL name, the object in the URL, the data sent
ACTIONS: dict[str, tuple[str, str, str, dict[str, str]]] = {
    "queue": ("get", "case_queue", "", {"status": "open"}),
    "detail": ("get", "case_detail", "case", {}),
    "transition": ("post", "case_transition", "case", {"to": S.ACKNOWLEDGED}),
    "take": ("post", "case_assign", "case", {"take": "1"}),
    "recuse": ("post", "case_recuse", "case", {"reason": "Den utpekade är min svåger."}),
    "download": ("get", "attachment_download", "attachment", {}),
}
ACTORS = [*Role, RECUSED]


def _expected(actor: Role | str, action: str) -> str:
    if actor == RECUSED:
        return "unlisted" if action == "queue" else "404"
    if actor not in WORKERS:
        return "404"
    # The head of security sees every case and is the one person who cannot recuse.
    return "refused" if (actor, action) == (Role.SECURITY_LEAD, "recuse") else "done"


def _assert_done(action: str, response, user: User, case: Case) -> None:
    case.refresh_from_db()
    if action in ("queue", "detail", "download"):
        assert response.status_code == 200
        content = response.getvalue()
        seen = {"queue": case.report.reference.encode(), "detail": SECRET.encode()}
        assert seen.get(action, PNG) in content
        return
    back = "case_queue" if action == "recuse" else "case_detail"
    assert response.status_code == 302
    assert response["Location"] == reverse(back, args=[] if action == "recuse" else [case.pk])
    assert {
        "transition": case.status == S.ACKNOWLEDGED,
        "take": case.assignee == user,
        "recuse": Recusal.objects.filter(case=case, user=user, recorded_by=user).exists(),
    }[action]


@pytest.mark.parametrize(
    ("actor", "action"),
    [
        pytest.param(actor, action, id=f"{actor}-{action}".replace(" ", "_"))
        for actor in ACTORS
        for action in ACTIONS
    ],
)
def test_each_role_may_act_on_a_case_only_as_one_of_its_case_workers(
    filed, make_user, signed_in, actor, action
):
    report, attachment = filed
    case = _case(report)
    user = make_user(Role.HANDLER if actor == RECUSED else actor)
    if actor == RECUSED:
        case_services.case_recuse(case=case, user=user, actor=user, reason="Jäv.")
    client = _client(user, signed_in)
    before = _snapshot(case)
    method, name, target, data = ACTIONS[action]
    args = {"case": [case.pk], "attachment": [attachment.pk]}.get(target, [])

    response = getattr(client, method)(reverse(name, args=args), data)

    expected = _expected(actor, action)
    if expected == "done":
        _assert_done(action, response, user, case)
        return
    if expected == "404":
        assert response.status_code == 404
        assert SECRET not in response.content.decode()
        assert not AccessEntry.objects.filter(actor=user).exists()
    elif expected == "unlisted":
        assert report.reference not in _listed(response)
    else:
        back = reverse("case_detail", args=[case.pk])
        assert (response.status_code, response["Location"]) == (302, back)
    assert _snapshot(case) == before


@pytest.mark.parametrize("actor", ACTORS, ids=lambda actor: str(actor).replace(" ", "_"))
def test_case_predicates_by_role(make_user, actor):
    case = _case(_file())
    user = make_user(Role.HANDLER if actor == RECUSED else actor)
    if actor == RECUSED:
        Recusal.objects.create(case=case, user=user)
    case = Case.objects.get(pk=case.pk)
    assert permissions.can_work_case(user, case) is (actor in WORKERS)
    assert permissions.is_recused(user, case) is (actor == RECUSED)


@pytest.mark.parametrize("role", WORKERS, ids=lambda role: role.value)
def test_only_the_security_lead_assigns_a_case_to_someone_else(filed, make_user, signed_in, role):
    case = _case(filed[0])
    colleague = make_user(Role.HANDLER)
    client = _client(make_user(role), signed_in)

    response = client.post(
        reverse("case_assign", args=[case.pk]), {"assignee": colleague.pk}, follow=True
    )

    assert response.status_code == 200
    assert response.redirect_chain[-1][0] == reverse("case_detail", args=[case.pk])
    case.refresh_from_db()
    if role == Role.SECURITY_LEAD:
        assert case.assignee == colleague
        assert CaseEvent.objects.filter(kind=CaseEvent.Kind.ASSIGNED, subject=colleague).exists()
    else:
        assert "Only the head of security may assign a case to others." in response.content.decode()
        assert case.assignee is None
        assert not CaseEvent.objects.exists()


# --- The workflow --------------------------------------------------------------------------

# The workflow as designed: forward one step (measures may be skipped), close from any
# open status, reopen a closed case into assessing.
MOVES = {
    S.RECEIVED: {S.ACKNOWLEDGED, S.CLOSED},
    S.ACKNOWLEDGED: {S.ASSESSING, S.CLOSED},
    S.ASSESSING: {S.MEASURES, S.FEEDBACK_GIVEN, S.CLOSED},
    S.MEASURES: {S.FEEDBACK_GIVEN, S.CLOSED},
    S.FEEDBACK_GIVEN: {S.CLOSED},
    S.CLOSED: {S.ASSESSING},
}
STATUS_PAIRS = [
    pytest.param(start, to, id=f"{start}-to-{to}") for start in S.values for to in S.values
]


@pytest.mark.parametrize(("start", "to"), STATUS_PAIRS)
def test_a_transition_succeeds_exactly_when_the_workflow_allows_it(lead, start, to):
    case = _move(_case(_file()), *PATH_TO[start], actor=lead)
    before = _snapshot(case)

    def move() -> Case:
        return _move(case, to, actor=lead, reason="Nya uppgifter.")

    assert TRANSITIONS[start] == MOVES[start]
    if to not in MOVES[start]:
        with pytest.raises(CaseActionRefused):
            move()
        assert _snapshot(case) == before
        return
    move()
    assert Case.objects.get(pk=case.pk).status == to
    event = CaseEvent.objects.exclude(pk__in=before[1]).get()
    assert (event.actor, event.from_status, event.to_status) == (lead, start, to)


@pytest.mark.parametrize(
    ("role", "start", "to", "reason", "closed_reason", "message"),
    [
        (Role.HANDLER, S.CLOSED, S.ASSESSING, "Nya uppgifter.", "", "head of security"),
        (Role.DUTY_OFFICER, S.CLOSED, S.ASSESSING, "Nya uppgifter.", "", "head of security"),
        (Role.SECURITY_LEAD, S.CLOSED, S.ASSESSING, "   ", "", "Say why"),
        (Role.HANDLER, S.RECEIVED, S.CLOSED, "", "", "Choose why"),
        (Role.HANDLER, S.ASSESSING, S.CLOSED, "", "forgotten", "Choose why"),
        (Role.HANDLER, S.RECEIVED, "archived", "", "", "cannot be moved"),
    ],
    ids=["handler-reopens", "duty-reopens", "reopen-without-reason", "close-without-reason",
         "close-with-unknown-reason", "unknown-status"],
)  # fmt: skip
def test_reopening_and_closing_need_the_right_person_and_reason(
    lead, make_user, role, start, to, reason, closed_reason, message
):
    case = _move(_case(_file()), *PATH_TO[start], actor=lead)
    before = _snapshot(case)

    with pytest.raises(CaseActionRefused, match=message):
        case_services.case_transition(
            case=case, to=to, actor=make_user(role), reason=reason, closed_reason=closed_reason
        )

    assert _snapshot(case) == before


def test_each_step_keeps_the_case_deadlines_and_timestamps(lead):
    case = _case(_file())

    started = timezone.now()
    case = _move(case, S.ACKNOWLEDGED, actor=lead)
    acknowledged_at = case.acknowledged_at
    assert acknowledged_at is not None
    assert started <= acknowledged_at <= timezone.now()
    assert case.feedback_by == deadlines.feedback_by(acknowledged_at=acknowledged_at)
    assert case.feedback_by is not None
    assert case.feedback_by.astimezone(STOCKHOLM).month == (
        (acknowledged_at.astimezone(STOCKHOLM).month + 2) % 12 + 1
    )
    assert case.due_at == case.feedback_by

    case = _move(case, S.ASSESSING, S.MEASURES, actor=lead)
    assert case.due_at == case.feedback_by
    case = _move(case, S.FEEDBACK_GIVEN, actor=lead)
    assert case.feedback_given_at is not None
    assert case.due_at is None
    case = _move(case, S.CLOSED, actor=lead)
    assert case.closed_at is not None
    assert case.closed_reason == Case.ClosedReason.HANDLED
    assert case.due_at is None

    case = _move(case, S.ASSESSING, actor=lead, reason="Han har hört av sig igen.")
    reopened = CaseEvent.objects.filter(case=case).order_by("-at").first()
    assert reopened is not None
    case = Case.objects.get(pk=case.pk)
    assert (case.closed_at, case.closed_reason, case.feedback_given_at) == (None, "", None)
    assert case.acknowledged_at == acknowledged_at
    assert case.feedback_by == deadlines.feedback_by(acknowledged_at=reopened.at)
    assert case.due_at == case.feedback_by


def test_an_event_reason_is_stored_encrypted_yet_shown_to_case_workers(lead, signed_in):
    canary = "KANARIE-skal-9q2"
    case = _case(_file())
    _move(case, S.ACKNOWLEDGED, actor=lead, reason=f"Ringde upp, {canary}.")

    with connection.cursor() as cursor:
        cursor.execute("SELECT * FROM influence_reports_caseevent")
        rows = cursor.fetchall()
    assert len(rows) == 1
    dump = b" ".join(
        bytes(v) if isinstance(v, bytes | memoryview) else str(v).encode() for v in rows[0]
    )
    assert canary.encode() not in dump
    entries = list(LogEntry.objects.values())
    event = CaseEvent.objects.get()
    assert any(entry["object_pk"] == str(event.pk) for entry in entries)  # it was audited
    assert canary not in repr(entries)

    page = _client(lead, signed_in).get(reverse("case_detail", args=[case.pk]))
    assert canary in page.content.decode()


# --- Deadlines in Stockholm time -----------------------------------------------------------


def _local(text: str) -> datetime:
    """A Stockholm wall-clock time; of a time that occurs twice, the first."""
    return datetime.fromisoformat(text).replace(tzinfo=STOCKHOLM)


def _shown(moment: datetime) -> str:
    return moment.astimezone(STOCKHOLM).strftime("%Y-%m-%d %H:%M %Z")


@pytest.mark.parametrize(
    ("submitted", "acute", "due", "real_time"),
    [
        ("2026-03-25 10:00+01:00", False, "2026-04-01 10:00 CEST", timedelta(days=6, hours=23)),
        ("2026-10-20 10:00+02:00", False, "2026-10-27 10:00 CET", timedelta(days=7, hours=1)),
        ("2026-03-29 01:30+01:00", True, "2026-03-29 03:30 CEST", timedelta(hours=1)),
        ("2026-10-25 01:30+02:00", True, "2026-10-25 02:30 CEST", timedelta(hours=1)),
        ("2026-10-25 02:30+02:00", True, "2026-10-25 02:30 CET", timedelta(hours=1)),
    ],
    ids=["spring-forward", "fall-back", "acute-across-the-gap", "acute-into-the-fold",
         "acute-within-the-fold"],
)  # fmt: skip
def test_the_acknowledgement_deadline_counts_local_days_but_real_hours(
    submitted, acute, due, real_time
):
    submitted_at = datetime.fromisoformat(submitted).astimezone(UTC)
    report = _file(submitted_at=submitted_at, is_acute=acute)

    case = _case(report)
    assert _shown(case.acknowledge_by) == due
    assert case.acknowledge_by - submitted_at == real_time
    assert case.due_at == case.acknowledge_by


def test_an_acute_deadline_is_one_real_hour_even_when_given_in_local_time():
    submitted = _local("2026-10-25 02:30")  # the first 02:30, still summer time

    due = deadlines.acknowledge_by(submitted_at=submitted, is_acute=True)

    assert due.astimezone(UTC) - submitted.astimezone(UTC) == timedelta(hours=1)


@pytest.mark.parametrize(
    ("acknowledged", "due"),
    [
        ("2026-01-31 12:00", "2026-04-30 12:00 CEST"),
        ("2026-11-30 12:00", "2027-02-28 12:00 CET"),
        ("2026-12-28 02:30", "2027-03-28 03:30 CEST"),  # 02:30 does not exist that day
        ("2026-07-25 02:30", "2026-10-25 02:30 CEST"),  # 02:30 exists twice: the first
    ],
    ids=["month-end", "into-february", "into-the-spring-gap", "into-the-fold"],
)
def test_feedback_is_due_three_local_calendar_months_after_acknowledgement(acknowledged, due):
    assert _shown(deadlines.feedback_by(acknowledged_at=_local(acknowledged))) == due


NOW = datetime(2026, 5, 4, 12, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("due_in", "expected"),
    [(-timedelta(days=3), "overdue"), (timedelta(0), "overdue"),
     (timedelta(microseconds=1), "due_soon"), (timedelta(hours=24), "due_soon"),
     (timedelta(hours=24, microseconds=1), "on_time"), (timedelta(days=30), "on_time")],
)  # fmt: skip
def test_a_deadline_is_overdue_due_soon_or_on_time(due_in, expected):
    assert deadlines.state(NOW + due_in, now=NOW) == expected


# --- Recusal -------------------------------------------------------------------------------


def test_a_handler_who_recuses_loses_the_case_from_the_very_next_request(filed, handler, signed_in):
    report, attachment = filed
    case = _case(report)
    client = _client(handler, signed_in)
    client.post(reverse("case_assign", args=[case.pk]), {"take": "1"})
    assert _case(report).assignee == handler
    assert report.reference in _listed(_queue(client))

    response = client.post(reverse("case_recuse", args=[case.pk]), {"reason": "Min svåger."})

    assert (response.status_code, response["Location"]) == (302, reverse("case_queue"))
    assert client.get(reverse("case_detail", args=[case.pk])).status_code == 404
    assert report.reference not in _listed(_queue(client))
    assert client.get(reverse("attachment_download", args=[attachment.pk])).status_code == 404
    assert not selectors.reports_visible_to(handler).filter(pk=report.pk).exists()
    assert _case(report).assignee is None
    event = CaseEvent.objects.get(kind=CaseEvent.Kind.RECUSED)
    assert (event.actor, event.subject, event.reason) == (handler, handler, "Min svåger.")


@pytest.mark.parametrize(
    ("actor", "subject", "refusal"),
    [
        ("lead", "handler", None),
        ("handler", "colleague", "Only the head of security may recuse someone else."),
        ("lead", "lead", "The head of security sees every case and cannot recuse."),
    ],
    ids=["lead-recuses-a-handler", "handler-recuses-a-colleague", "lead-recuses-themselves"],
)
def test_only_the_security_lead_recuses_others_and_nobody_recuses_the_lead(
    filed, handler, lead, make_user, signed_in, actor, subject, refusal
):
    case = _case(filed[0])
    people = {"lead": lead, "handler": handler, "colleague": make_user(Role.HANDLER)}
    subject_client = _client(people[subject], signed_in)
    detail = reverse("case_detail", args=[case.pk])

    response = _client(people[actor], signed_in).post(
        reverse("case_recuse", args=[case.pk]),
        {"user": people[subject].pk, "reason": "Gift med den utpekade."},
        follow=True,
    )

    assert response.redirect_chain[-1][0] == detail
    if refusal is None:
        assert Recusal.objects.filter(case=case, user=handler, recorded_by=lead).exists()
        assert subject_client.get(detail).status_code == 404
    else:
        assert refusal in response.content.decode()
        assert not Recusal.objects.exists()
        assert not CaseEvent.objects.exists()
        assert subject_client.get(detail).status_code == 200


# --- The queue -----------------------------------------------------------------------------


NEAR, FAR = (code for code, _label in choices.districts()[:2])


# Filed how long ago, and what the report says (a default category of threat).
QUEUE_CASES: dict[str, tuple[timedelta, dict[str, Any]]] = {
    "acute": (timedelta(minutes=30), {"is_acute": True, "categories": ["cyber"], "district": NEAR}),
    "late": (timedelta(days=8), {"district": FAR}),
    "soon": (timedelta(days=6, hours=12), {"categories": ["threat", "violence"]}),
    "acked": (timedelta(days=2), {"categories": ["bribery"], "district": NEAR}),
    "closed": (timedelta(days=20), {}),
}


@pytest.fixture
def queue_cases(handler, lead, make_user) -> dict[str, str]:
    """Five cases, one of each kind the filters tell apart; their references by name."""
    now = timezone.now()
    reports = {
        name: _file(submitted_at=now - ago, **data) for name, (ago, data) in QUEUE_CASES.items()
    }
    case_services.case_assign(case=_case(reports["late"]), assignee=handler, actor=handler)
    acknowledged = _move(_case(reports["acked"]), S.ACKNOWLEDGED, actor=lead)
    case_services.case_assign(case=acknowledged, assignee=make_user(Role.HANDLER), actor=lead)
    _move(_case(reports["closed"]), S.CLOSED, actor=lead)
    return {name: report.reference for name, report in reports.items()}


QUEUE_FILTERS: dict[str, tuple[dict[str, str], set[str] | list[str]]] = {
    "open-by-default": ({}, {"acute", "late", "soon", "acked"}),
    "all": ({"status": "all"}, {"acute", "late", "soon", "acked", "closed"}),
    "closed": ({"status": "closed"}, {"closed"}),
    "acknowledged": ({"status": "acknowledged"}, {"acked"}),
    "category": ({"category": "threat"}, {"late", "soon"}),
    "category-all": ({"category": "threat", "status": "all"}, {"late", "soon", "closed"}),
    "acute": ({"acute": "on"}, {"acute"}),
    "overdue": ({"deadline": "overdue"}, {"late"}),
    "due-soon": ({"deadline": "due_soon"}, {"acute", "soon"}),
    "mine": ({"assignee": "mine"}, {"late"}),
    "unassigned": ({"assignee": "unassigned"}, {"acute", "soon"}),
    "district": ({"district": NEAR}, {"acute", "acked"}),
    # Sorts: these cases in this order.
    "by-deadline": ({"status": "all"}, ["late", "acute", "soon", "acked", "closed"]),
    "oldest": ({"status": "all", "sort": "oldest"}, ["closed", "late", "soon", "acked", "acute"]),
    "newest": ({"status": "all", "sort": "newest"}, ["acute", "acked", "soon", "late", "closed"]),
}


@pytest.mark.parametrize(("query", "expected"), QUEUE_FILTERS.values(), ids=QUEUE_FILTERS.keys())
def test_the_queue_filters_and_sorts(queue_cases, handler, signed_in, query, expected):
    listed = _listed(_queue(_client(handler, signed_in), **query))

    if isinstance(expected, list):
        assert listed == [queue_cases[name] for name in expected]
    else:
        assert sorted(listed) == sorted(queue_cases[name] for name in expected)


def test_an_invalid_filter_value_shows_an_error_and_the_default_queue(
    queue_cases, handler, signed_in
):
    response = _client(handler, signed_in).get(
        reverse("case_queue"),
        {"status": "bogus", "deadline": "yesterday", "sort": "sideways", "page": "zz"},
    )

    assert response.status_code == 200
    assert "Select a valid choice" in response.content.decode()
    expected = {"acute", "late", "soon", "acked"}
    assert sorted(_listed(response)) == sorted(queue_cases[name] for name in expected)


def test_the_queue_opens_without_any_filter_chosen(queue_cases, handler, signed_in):
    response = _client(handler, signed_in).get(reverse("case_queue"))

    assert queue_cases["late"] in _listed(response)


def test_the_queue_names_each_cases_categories(queue_cases, handler, signed_in):
    page = _queue(_client(handler, signed_in), status="acknowledged").content.decode()

    assert str(choices.Category.BRIBERY.label) in _row(page, queue_cases["acked"])


def _assigned_cases(handler: User, count: int) -> None:
    for n in range(count):
        report = _file(
            categories=["threat", "harassment"],
            encrypted={"perpetrator_details": f"Kallar sig {SECRET} nr {n}"},
        )
        case_services.case_assign(case=_case(report), assignee=handler, actor=handler)


def test_the_queue_pages_25_cases_at_a_time_keeping_its_filters(handler, signed_in):
    _assigned_cases(handler, 30)
    client = _client(handler, signed_in)

    first = _queue(client, sort="newest")
    second = _queue(client, sort="newest", page=2)

    assert len(_listed(first)) == 25
    assert len(_listed(second)) == 5
    assert set(_listed(first) + _listed(second)) == set(
        Report.objects.values_list("reference", flat=True)
    )
    assert "status=open&amp;sort=newest&amp;page=2" in first.content.decode()


def test_the_queue_costs_the_same_queries_for_3_cases_as_for_30_and_shows_no_free_text(
    handler, signed_in
):
    _assigned_cases(handler, 3)
    client = _client(handler, signed_in)
    _queue(client)  # warm the session and the caches

    def measured():
        with CaptureQueriesContext(connection) as queries:
            response = _queue(client)
        sql = " ".join(query["sql"] for query in queries.captured_queries)
        assert '"description"' not in sql  # nothing encrypted is even loaded
        assert '"perpetrator_details"' not in sql
        return len(queries), response

    few, response = measured()
    assert len(_listed(response)) == 3
    _assigned_cases(handler, 27)
    many, response = measured()
    assert len(_listed(response)) == 25
    assert few == many
    assert "KANARIE" not in response.content.decode()


# --- What the reporter sees ----------------------------------------------------------------


def _reporter_status(client: Client, report: Report) -> tuple[str, str]:
    listing = client.get(reverse("report_list")).content.decode()
    detail = client.get(reverse("report_detail", args=[report.pk])).content.decode()
    status = re.search(r"Status</dt><dd>([^<]*)</dd>", detail)
    assert status
    return re.findall(r"<td>([^<]*)</td>", _row(listing, report.reference))[1], status.group(1)


def test_the_reporter_sees_their_report_being_handled_once_acknowledged(
    client, reporter, lead, signed_in
):
    report = _file(reporter=reporter)
    _client(reporter, signed_in, client)
    seen = {S.RECEIVED: _reporter_status(client, report)}
    case = _case(report)
    for to in PATH_TO[S.FEEDBACK_GIVEN] + (S.CLOSED,):
        case = _move(case, to, actor=lead)
        seen[to] = _reporter_status(client, report)

    assert {status: pair[0] for status, pair in seen.items()} == {
        S.RECEIVED: "Received",
        S.ACKNOWLEDGED: "Being handled",
        S.ASSESSING: "Being handled",
        S.MEASURES: "Being handled",
        S.FEEDBACK_GIVEN: "Feedback given",
        S.CLOSED: "Closed",
    }
    assert all(listed == detail for listed, detail in seen.values())


# --- Concurrency ---------------------------------------------------------------------------


@pytest.mark.skipif(connection.vendor != "postgresql", reason="needs PostgreSQL row locks")
@pytest.mark.django_db(transaction=True)
def test_two_concurrent_acknowledgements_succeed_exactly_once(make_user):
    case = _case(_file())
    actors = [make_user(Role.HANDLER), make_user(Role.DUTY_OFFICER)]
    barrier = threading.Barrier(2)
    results: dict[int, str] = {}

    def attempt(i: int) -> None:
        try:
            stale = Case.objects.get(pk=case.pk)  # both read it as received
            barrier.wait(timeout=10)
            try:
                case_services.case_transition(case=stale, to=S.ACKNOWLEDGED, actor=actors[i])
                results[i] = "acknowledged"
            except CaseActionRefused:
                results[i] = "refused"
        finally:
            connection.close()

    threads = [threading.Thread(target=attempt, args=(i,)) for i in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)

    assert sorted(results.values()) == ["acknowledged", "refused"]
    assert CaseEvent.objects.filter(case=case).count() == 1
    assert Case.objects.get(pk=case.pk).status == S.ACKNOWLEDGED
