"""The admin of the reports domain: the election calendar only. Reports and cases are never
in the admin: they are read through the case workers' own pages, which check and log."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.http import HttpRequest

from influence_reports.models import Election
from influence_reports.services import elections as election_services


@admin.register(Election)
class ElectionAdmin(admin.ModelAdmin):  # type: ignore[type-arg]
    """The election calendar, kept by the head of security. A change re-counts the trends
    (which reports fell in an election period) once it is saved."""

    list_display = ("__str__", "kind", "polling_day", "months_before", "months_after")
    list_filter = ("kind",)
    ordering = ("year", "polling_day")

    def save_model(self, request: HttpRequest, obj: Election, form: Any, change: bool) -> None:
        super().save_model(request, obj, form, change)
        election_services.calendar_changed()

    def delete_model(self, request: HttpRequest, obj: Election) -> None:
        super().delete_model(request, obj)
        election_services.calendar_changed()

    def delete_queryset(self, request: HttpRequest, queryset: Any) -> None:
        super().delete_queryset(request, queryset)
        election_services.calendar_changed()
