"""URLs of the reporters' and the case workers' pages."""

from __future__ import annotations

from django.urls import path

from influence_reports import case_views, views

urlpatterns = [
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
    path("cases/", case_views.case_queue, name="case_queue"),
    path("cases/<uuid:case_id>/", case_views.case_detail, name="case_detail"),
    path("cases/<uuid:case_id>/status/", case_views.case_transition, name="case_transition"),
    path("cases/<uuid:case_id>/assign/", case_views.case_assign, name="case_assign"),
    path("cases/<uuid:case_id>/recuse/", case_views.case_recuse, name="case_recuse"),
    path(
        "attachments/<uuid:attachment_id>/download/",
        views.attachment_download,
        name="attachment_download",
    ),
]
