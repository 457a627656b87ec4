"""URLs of a reporter's pages."""

from __future__ import annotations

from django.urls import path

from influence_reports import views

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
    path(
        "attachments/<uuid:attachment_id>/download/",
        views.attachment_download,
        name="attachment_download",
    ),
]
