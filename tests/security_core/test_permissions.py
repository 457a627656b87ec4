"""Every role against every capability predicate, the admin permission map, each landing page."""

from __future__ import annotations

from typing import Any

import pytest
from django.contrib.auth.models import AnonymousUser
from django.urls import reverse

from security_core import permissions
from security_core.roles import STAFF_ROLES, Role

pytestmark = pytest.mark.django_db

R = Role.REPORTER
H = Role.HANDLER
D = Role.DUTY_OFFICER
S = Role.SECURITY_LEAD
L = Role.LEADERSHIP
C = Role.COMMUNICATIONS
A = Role.AUDITOR
M = Role.ADMIN
ROLES = (R, H, D, S, L, C, A, M)

# The full matrix, written out from DESIGN.md's role table ("Users and what each may see").
# Columns: reporter, handler, duty officer, security lead, leadership, communications,
# auditor, admin. Two cells are not spelled out by the table and are marked (*): the
# security lead "sees all cases and SLA figures", so anonymised trends show the lead
# nothing new, and is where an unacknowledged urgent escalation goes next.
EXPECTED: dict[str, tuple[bool, ...]] = {
    #                          R      H      D      S      L      C      A      M
    "is_staff_role": (False, True, True, True, True, True, True, True),
    "can_file_report": (True, False, False, False, False, False, False, False),
    "can_work_cases": (False, True, True, True, False, False, False, False),
    "can_receive_escalations": (False, False, True, True, False, False, False, False),  # (*) S
    "can_assign_cases": (False, False, False, True, False, False, False, False),
    "can_reopen_cases": (False, False, False, True, False, False, False, False),
    "can_edit_roster": (False, False, False, True, False, False, False, False),
    "can_be_recused": (False, True, True, False, False, False, False, False),
    "can_view_trends": (False, False, False, True, True, False, False, False),  # (*) S
    "can_receive_media_alerts": (False, False, False, False, False, True, False, False),
    "can_read_audit_trail": (False, False, False, False, False, False, True, False),
    "can_manage_accounts": (False, False, False, False, False, False, False, True),
    "can_keep_election_calendar": (False, False, False, True, False, False, False, False),
    "can_use_admin": (False, False, False, True, False, False, True, True),
}
# Staff always owe a second factor; a reporter only once they have enrolled a device.
EXPECTED_SECOND_FACTOR: dict[bool, tuple[bool, ...]] = {
    #                R      H     D     S     L     C     A     M
    False: (False, True, True, True, True, True, True, True),
    True: (True, True, True, True, True, True, True, True),
}

PREDICATE_CASES = [
    pytest.param(name, role, expected[i], id=f"{name}-{role.value}")
    for name, expected in EXPECTED.items()
    for i, role in enumerate(ROLES)
]
SECOND_FACTOR_CASES = [
    pytest.param(has_device, role, expected[i], id=f"device={has_device}-{role.value}")
    for has_device, expected in EXPECTED_SECOND_FACTOR.items()
    for i, role in enumerate(ROLES)
]


def test_matrix_covers_every_role_and_every_public_predicate():
    assert set(ROLES) == set(Role)
    assert set(Role) - {Role.REPORTER} == STAFF_ROLES
    public = {
        name
        for name in dir(permissions)
        if (name.startswith(("can_", "is_")) or name == "requires_second_factor")
        and callable(getattr(permissions, name))
    }
    assert public == {
        *EXPECTED,
        *OBJECT_PREDICATES,
        *CASE_PREDICATES,
        *DUTY_PREDICATES,
        "requires_second_factor",
    }


# Object-level actions on a report, for its own reporter, another reporter and every staff
# role. Case workers read every report (recusal comes with case handling); nobody else does.
OBJECT_PREDICATES = ("can_read_report", "can_add_evidence", "can_withdraw_report")
# Predicates of a case; tests/influence_reports/test_cases.py runs them against every role.
CASE_PREDICATES = ("can_work_case", "is_recused")
# can_take_duty(user, duty) is run against every role in test_notifications.py.
DUTY_PREDICATES = ("can_take_duty",)
OWN, OTHERS = "own reporter", "another reporter"
OBJECT_EXPECTED: dict[str, dict[Any, bool]] = {
    "can_read_report": {
        OWN: True,
        OTHERS: False,
        **{r: r in {Role.HANDLER, Role.DUTY_OFFICER, Role.SECURITY_LEAD} for r in STAFF_ROLES},
    },
    "can_add_evidence": {OWN: True, OTHERS: False, **dict.fromkeys(STAFF_ROLES, False)},
    "can_withdraw_report": {OWN: True, OTHERS: False, **dict.fromkeys(STAFF_ROLES, False)},
}


@pytest.mark.parametrize("predicate", OBJECT_PREDICATES)
def test_report_actions_by_role(make_user, predicate):
    from influence_reports.models import Case, Report

    owner = make_user(Role.REPORTER)
    report = Report(reporter=owner, reporter_role="official")
    Case(report=report)  # an unsaved case, with no recusal
    actors = {OWN: owner, OTHERS: make_user(Role.REPORTER)}
    actors |= {role: make_user(role) for role in STAFF_ROLES}
    for who, actor in actors.items():
        assert getattr(permissions, predicate)(actor, report) is OBJECT_EXPECTED[predicate][who], (
            who
        )


def test_nobody_adds_evidence_to_or_withdraws_a_withdrawn_report(make_user):
    from django.utils import timezone

    from influence_reports.models import Report

    owner = make_user(Role.REPORTER)
    report = Report(reporter=owner, reporter_role="official", withdrawn_at=timezone.now())
    assert permissions.can_read_report(owner, report)
    assert not permissions.can_add_evidence(owner, report)
    assert not permissions.can_withdraw_report(owner, report)


@pytest.mark.parametrize(("predicate", "role", "expected"), PREDICATE_CASES)
def test_role_predicate_matrix(make_user, predicate, role, expected):
    user = make_user(role)
    assert getattr(permissions, predicate)(user) is expected


@pytest.mark.parametrize(("has_device", "role", "expected"), SECOND_FACTOR_CASES)
def test_second_factor_is_owed_by_staff_always_and_by_reporters_once_enrolled(
    make_user, has_device, role, expected
):
    user = make_user(role)
    assert permissions.requires_second_factor(user, has_device=has_device) is expected


def _every_answer(user) -> list[bool]:
    answers = [getattr(permissions, name)(user) for name in EXPECTED]
    answers += [permissions.requires_second_factor(user, has_device=d) for d in (False, True)]
    return answers


def test_anonymous_user_gets_false_from_every_predicate():
    assert _every_answer(AnonymousUser()) == [False] * (len(EXPECTED) + 2)
    assert _every_answer(None) == [False] * (len(EXPECTED) + 2)


@pytest.mark.parametrize("role", ROLES, ids=lambda r: r.value)
def test_inactive_user_of_any_role_gets_false_from_every_predicate(make_user, role):
    user = make_user(role, is_active=False)
    assert _every_answer(user) == [False] * (len(EXPECTED) + 2)
    assert not user.is_staff
    assert not user.has_perm("security_core.change_user")
    assert not user.has_perm("auditlog.view_logentry")


def test_user_with_an_unknown_role_value_gets_false_from_every_predicate(make_user):
    user = make_user(Role.ADMIN)
    user.role = "superuser"
    assert _every_answer(user) == [False] * (len(EXPECTED) + 2)


ACCOUNT_PERMS = [
    "security_core.view_user",
    "security_core.add_user",
    "security_core.change_user",
    "security_core.view_totpdevice",
    "security_core.delete_totpdevice",
    "security_core.view_backupcodedevice",
    "security_core.delete_backupcodedevice",
]
AUDIT_PERMS = ["auditlog.view_logentry", "security_core.view_securityevent"]
NEVER_PERMS = [
    "security_core.delete_user",
    "security_core.change_totpdevice",
    "security_core.add_totpdevice",
    "security_core.add_backupcodedevice",
    "security_core.change_securityevent",
    "security_core.delete_securityevent",
    "auditlog.change_logentry",
    "auditlog.delete_logentry",
    "auditlog.add_logentry",
]


@pytest.mark.parametrize("role", ROLES, ids=lambda r: r.value)
def test_model_permissions_follow_the_role(make_user, role):
    user = make_user(role)
    for perm in ACCOUNT_PERMS:
        assert permissions.has_model_permission(user, perm) is (role == Role.ADMIN), perm
        assert user.has_perm(perm) is (role == Role.ADMIN), perm
    for perm in AUDIT_PERMS:
        assert permissions.has_model_permission(user, perm) is (role == Role.AUDITOR), perm
        assert user.has_perm(perm) is (role == Role.AUDITOR), perm
    for perm in NEVER_PERMS:
        assert not permissions.has_model_permission(user, perm), perm
    assert user.is_superuser is False


def test_admin_may_change_users_but_not_read_the_audit_trail(admin_user):
    assert permissions.has_model_permission(admin_user, "security_core.change_user")
    assert not permissions.has_model_permission(admin_user, "auditlog.view_logentry")
    assert permissions.has_app_permission(admin_user, "security_core")
    assert not permissions.has_app_permission(admin_user, "auditlog")


def test_auditor_may_read_the_audit_trail_but_not_change_users(make_user):
    auditor = make_user(Role.AUDITOR)
    assert permissions.has_model_permission(auditor, "auditlog.view_logentry")
    assert not permissions.has_model_permission(auditor, "security_core.change_user")
    assert not permissions.has_model_permission(auditor, "security_core.view_user")
    assert permissions.has_app_permission(auditor, "auditlog")


@pytest.mark.parametrize("role", ROLES, ids=lambda r: r.value)
def test_every_role_has_a_landing_page_with_an_admin_link_only_for_admin_auditor_and_lead(
    client, settings, make_user, signed_in, role
):
    user = make_user(role)
    signed_in(client, user, verified=True)
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"

    response = client.get(reverse("home"))

    assert response.status_code == 200
    body = response.content.decode()
    assert '<html lang="en">' in body
    admin_href = f'href="{reverse("admin:index")}'
    assert (admin_href in body) is (role in {Role.ADMIN, Role.AUDITOR, Role.SECURITY_LEAD})
    assert (reverse("trends_dashboard") in body) is (role in {Role.LEADERSHIP, Role.SECURITY_LEAD})


def test_reporters_landing_page_leads_to_filing_and_to_their_reports(client, make_user, signed_in):
    signed_in(client, make_user(R), verified=True)
    body = client.get(reverse("home")).content.decode()
    assert reverse("report_new") in body
    assert reverse("report_list") in body


def test_case_workers_landing_page_leads_to_the_queue_and_on_duty_to_the_situation(
    client, make_user, signed_in
):
    for role in (H, D, S):
        signed_in(client, make_user(role), verified=True)
        body = client.get(reverse("home")).content.decode()
        assert reverse("case_queue") in body
        assert (reverse("situation") in body) is (role in {D, S})


def test_the_communications_officers_landing_page_says_what_they_are_told_and_no_more(
    client, settings, make_user, signed_in
):
    signed_in(client, make_user(C), verified=True)
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    body = client.get(reverse("home")).content.decode()
    assert "you are told by e-mail" in body
    assert "You cannot open the case" in body
    assert reverse("case_queue") not in body


def test_the_leadership_landing_page_leads_to_the_trends_and_nothing_else(
    client, settings, make_user, signed_in
):
    signed_in(client, make_user(L), verified=True)
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    body = client.get(reverse("home")).content.decode()
    assert reverse("trends_dashboard") in body
    for elsewhere in ("case_queue", "report_list", "situation", "admin:index"):
        assert reverse(elsewhere) not in body
