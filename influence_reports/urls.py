"""URLs of the reporters' and the case workers' pages."""

from __future__ import annotations

from django.urls import path

from influence_reports import anonymous_views, case_views, duty_views, trend_views, views

urlpatterns = [
    path("anonymous/", anonymous_views.anonymous_new, name="anonymous_new"),
    path("anonymous/return/", anonymous_views.anonymous_return, name="anonymous_return"),
    path("anonymous/message/", anonymous_views.anonymous_message, name="anonymous_message"),
    path("anonymous/file/", anonymous_views.anonymous_attachment, name="anonymous_attachment"),
    path("reports/", views.report_list, name="report_list"),
    path("reports/new/", views.report_new, name="report_new"),
    path("reports/<uuid:report_id>/", views.report_detail, name="report_detail"),
    path("reports/<uuid:report_id>/receipt/", views.report_receipt, name="report_receipt"),
    path(
        "reports/<uuid:report_id>/evidence/",
        views.report_add_evidence,
        name="report_add_evidence",
    ),
    path("reports/<uuid:report_id>/withdraw/", views.report_withdraw, name="report_withdraw"),
    path("reports/<uuid:report_id>/messages/", views.report_message, name="report_message"),
    path("situation/", duty_views.situation_page, name="situation"),
    path("trends/", trend_views.trends_dashboard, name="trends_dashboard"),
    path("trends/export.csv", trend_views.trends_export, name="trends_export"),
    path("trends/briefing/", trend_views.trends_briefing, name="trends_briefing"),
    path("roster/", duty_views.roster_page, name="roster"),
    path("roster/add/", duty_views.roster_add, name="roster_add"),
    path("roster/<int:entry_id>/remove/", duty_views.roster_remove, name="roster_remove"),
    path("cases/", case_views.case_queue, name="case_queue"),
    path("cases/<uuid:case_id>/", case_views.case_detail, name="case_detail"),
    path("cases/<uuid:case_id>/status/", case_views.case_transition, name="case_transition"),
    path("cases/<uuid:case_id>/assign/", case_views.case_assign, name="case_assign"),
    path("cases/<uuid:case_id>/recuse/", case_views.case_recuse, name="case_recuse"),
    path("cases/<uuid:case_id>/risk/", case_views.case_assess, name="case_assess"),
    path("cases/<uuid:case_id>/measures/", case_views.case_measure_add, name="case_measure_add"),
    path(
        "cases/<uuid:case_id>/measures/<uuid:measure_id>/",
        case_views.measure_update,
        name="measure_update",
    ),
    path("cases/<uuid:case_id>/referrals/", case_views.case_referral_add, name="case_referral_add"),
    path(
        "cases/<uuid:case_id>/referrals/<uuid:referral_id>/",
        case_views.referral_update,
        name="referral_update",
    ),
    path("cases/<uuid:case_id>/notes/", case_views.case_note_add, name="case_note_add"),
    path("cases/<uuid:case_id>/messages/", case_views.case_message, name="case_message"),
    path("cases/<uuid:case_id>/links/", case_views.case_link_add, name="case_link_add"),
    path(
        "attachments/<uuid:attachment_id>/download/",
        views.attachment_download,
        name="attachment_download",
    ),
]
