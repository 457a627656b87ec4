"""The leadership's pages: anonymised trends, their CSV export and a printable briefing.

They read the current release only (``dashboard``), never a report, a case or a cell: no
URL here takes an id, and nothing on them is finer than the release publishes.
"""

from __future__ import annotations

import csv
from typing import Any

from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET

from influence_reports import charts, dashboard
from influence_reports.models import TrendFigure, TrendRelease
from security_core import permissions
from security_core.requests import signed_in_user

# A cell a spreadsheet would run as a formula starts with one of these (CSV injection).
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def _viewer(request: HttpRequest) -> None:
    if not permissions.can_view_trends(signed_in_user(request)):
        raise Http404


def _page(request: HttpRequest) -> tuple[dashboard.Dashboard | None, dashboard.TrendFilterForm]:
    current = TrendRelease.objects.filter(is_current=True).first()
    quarters = (
        sorted(
            TrendFigure.objects.filter(release=current, period__contains="-Q")
            .values_list("period", flat=True)
            .distinct()
        )
        if current
        else []
    )
    form = dashboard.TrendFilterForm(request.GET or None, quarters=quarters)
    if request.GET and not form.is_valid():
        return None, form
    filters = form.cleaned_data if form.is_bound else {"period": dashboard.LAST_TWO_YEARS}
    return dashboard.build(current, filters), form


def _charted(page: dashboard.Dashboard, election_label: str) -> list[tuple[dashboard.Table, Any]]:
    drawn = []
    for table in page.tables:
        chart = table.chart
        picture: Any = None
        if chart.get("kind") == "lines":
            picture = charts.line_chart(
                title=table.caption,
                labels=chart["labels"],
                lines=chart["lines"],
                shaded=chart["shaded"],
                shaded_label=election_label,
            )
        elif chart.get("kind") == "bars":
            picture = charts.bar_chart(title=table.caption, rows=chart["values"])
        drawn.append((table, picture))
    return drawn


@require_GET
def trends_dashboard(request: HttpRequest) -> HttpResponse:
    _viewer(request)
    page, form = _page(request)
    context = {
        "page": page,
        "form": form,
        "tables": _charted(page, _("Election period")) if page else [],
        "export_query": request.GET.urlencode(),
    }
    return render(request, "trends/dashboard.html", context, status=200 if page else 400)


@require_GET
def trends_briefing(request: HttpRequest) -> HttpResponse:
    """One printable page for a leadership meeting: the same figures, fewer of them."""
    _viewer(request)
    page, form = _page(request)
    if page is None:
        return render(request, "trends/dashboard.html", {"page": None, "form": form}, status=400)
    keep = {"series", "election", "summary", "consequences", "channel", "outcomes"}
    tables = [(t, p) for t, p in _charted(page, _("Election period")) if t.key in keep]
    return render(
        request,
        "trends/briefing.html",
        {"page": page, "tables": tables, "printed": timezone.localtime()},
    )


@require_GET
def trends_export(request: HttpRequest) -> HttpResponse:
    """The tables on screen for these filters, as CSV (UTF-8 with a byte-order mark, so a
    spreadsheet shows å, ä and ö), every figure as it is shown."""
    _viewer(request)
    page, form = _page(request)
    if page is None:
        return render(request, "trends/dashboard.html", {"page": None, "form": form}, status=400)
    response = HttpResponse(content_type="text/csv; charset=utf-8")
    name = f"varn-trends-{page.filters.get('period') or dashboard.LAST_TWO_YEARS}.csv"
    response["Content-Disposition"] = f'attachment; filename="{name}"'
    response.write("\ufeff")
    writer = csv.writer(response)
    for row in export_rows(page):
        writer.writerow([_defused(cell) for cell in row])
    return response


def export_rows(page: dashboard.Dashboard) -> list[list[str]]:
    """The rows of the CSV: a heading with the release and the filters, then each table."""
    rows: list[list[str]] = [
        [_("Värn: anonymised trends")],
        [_("Period"), page.period_label],
        *([[_("Filter"), f"{name}={value}"] for name, value in page.filters.items() if value]),
        [
            _(
                "Counts below %(k)s show as <%(k)s; · marks a figure hidden so that a small "
                "one cannot be worked out."
            )
            % {"k": page.k}
        ],
    ]
    for table in page.tables:
        rows.append([])
        rows.append([table.caption])
        rows.append(table.headers)
        rows.extend(table.rows)
    return rows


def _defused(cell: str) -> str:
    return f"'{cell}" if cell.startswith(FORMULA_STARTS) else cell
