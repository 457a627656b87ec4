"""Every capability as one side-effect-free predicate of the user (and later, the object).

Views, selectors, templates and exports call these and nothing else, so the answer to
"may this person do that" lives in exactly one place. A denied *object* read answers 404
(``django.http.Http404``), never 403, so that ids leak nothing.
"""

from __future__ import annotations

from typing import Any

from security_core.roles import STAFF_ROLES, Role

_CASE_WORKERS = frozenset({Role.HANDLER, Role.DUTY_OFFICER, Role.SECURITY_LEAD})


def _role(user: Any) -> Role | None:
    if user is None or not getattr(user, "is_authenticated", False):
        return None
    if not getattr(user, "is_active", False):
        return None
    try:
        return Role(user.role)
    except ValueError:
        return None


def is_staff_role(user: Any) -> bool:
    return _role(user) in STAFF_ROLES


def requires_second_factor(user: Any, *, has_device: bool) -> bool:
    """Staff always; a reporter once they have enrolled a device."""
    role = _role(user)
    if role is None:
        return False
    return role in STAFF_ROLES or has_device


def can_file_report(user: Any) -> bool:
    return _role(user) == Role.REPORTER


def can_work_cases(user: Any) -> bool:
    return _role(user) in _CASE_WORKERS


def can_receive_escalations(user: Any) -> bool:
    return _role(user) in {Role.DUTY_OFFICER, Role.SECURITY_LEAD}


def can_assign_cases(user: Any) -> bool:
    return _role(user) == Role.SECURITY_LEAD


def can_view_trends(user: Any) -> bool:
    return _role(user) in {Role.LEADERSHIP, Role.SECURITY_LEAD}


def can_receive_media_alerts(user: Any) -> bool:
    return _role(user) == Role.COMMUNICATIONS


def can_keep_election_calendar(user: Any) -> bool:
    return _role(user) == Role.SECURITY_LEAD


def can_read_audit_trail(user: Any) -> bool:
    return _role(user) == Role.AUDITOR


def can_manage_accounts(user: Any) -> bool:
    return _role(user) == Role.ADMIN


def can_use_admin(user: Any) -> bool:
    """The Django admin is for account management, reading the audit trail and keeping the
    election calendar."""
    return (
        can_manage_accounts(user) or can_read_audit_trail(user) or can_keep_election_calendar(user)
    )


# Who may stand on the on-call rota for each duty: the duty officer's pages go to those who
# can act on escalations; the communications officer's to the communicators.
DUTY_ROLES: dict[str, frozenset[Role]] = {
    "tib": frozenset({Role.DUTY_OFFICER, Role.SECURITY_LEAD}),
    "kib": frozenset({Role.COMMUNICATIONS}),
}


def can_take_duty(user: Any, duty: str) -> bool:
    return _role(user) in DUTY_ROLES.get(duty, frozenset())


def can_edit_roster(user: Any) -> bool:
    return _role(user) == Role.SECURITY_LEAD


def can_reopen_cases(user: Any) -> bool:
    return _role(user) == Role.SECURITY_LEAD


def can_be_recused(user: Any) -> bool:
    """Handlers and duty officers; the head of security sees every case."""
    return _role(user) in {Role.HANDLER, Role.DUTY_OFFICER}


def is_recused(user: Any, case: Any) -> bool:
    """Whether ``user`` stands aside from ``case`` (reads prefetched recusals if present)."""
    return any(recusal.user_id == user.pk for recusal in case.recusals.all())


def can_work_case(user: Any, case: Any) -> bool:
    """Case staff, except a handler or duty officer recused from this case."""
    if not can_work_cases(user):
        return False
    return not (can_be_recused(user) and is_recused(user, case))


def can_read_report(user: Any, report: Any) -> bool:
    """The reporter who filed it, and the case staff who may work its case."""
    if can_work_cases(user):
        return can_work_case(user, report.case)
    return can_file_report(user) and report.reporter_id == user.pk


def can_add_evidence(user: Any, report: Any) -> bool:
    return can_file_report(user) and report.reporter_id == user.pk and not report.is_withdrawn


def can_withdraw_report(user: Any, report: Any) -> bool:
    return can_file_report(user) and report.reporter_id == user.pk and not report.is_withdrawn


# Django admin model permissions, granted by role. Nothing else reads Django permissions.
_ACCOUNT_ADMIN_PERMS = frozenset(
    {
        "security_core.view_user",
        "security_core.add_user",
        "security_core.change_user",
        "security_core.view_totpdevice",
        "security_core.delete_totpdevice",
        "security_core.view_backupcodedevice",
        "security_core.delete_backupcodedevice",
        "axes.view_accessattempt",
        "axes.delete_accessattempt",
    }
)
_AUDIT_PERMS = frozenset(
    {
        "auditlog.view_logentry",
        "security_core.view_securityevent",
        "security_core.view_accessentry",
    }
)


_CALENDAR_PERMS = frozenset(
    {
        "influence_reports.view_election",
        "influence_reports.add_election",
        "influence_reports.change_election",
        "influence_reports.delete_election",
    }
)


def _model_permissions(user: Any) -> frozenset[str]:
    perms: frozenset[str] = frozenset()
    if can_keep_election_calendar(user):
        perms |= _CALENDAR_PERMS
    if can_manage_accounts(user):
        perms |= _ACCOUNT_ADMIN_PERMS
    if can_read_audit_trail(user):
        perms |= _AUDIT_PERMS
    return perms


def has_model_permission(user: Any, perm: str) -> bool:
    return perm in _model_permissions(user)


def has_app_permission(user: Any, app_label: str) -> bool:
    return any(perm.startswith(f"{app_label}.") for perm in _model_permissions(user))
