"""Trend cells by scope (everyone, one district, one role) instead of by district and role.

The release never crosses a district with a role, so a cell for each pair was three times
as many cells as it needs. The cells are carried over, not lost: each old cell is added to
the cells of its three scopes, and its profile value, sealed with its district and role, is
opened and sealed again with its week and scope (a seal the same every week could be
labelled from the published quarterly figures by district and by role). The seal's vocabulary and message are copied here as
they stood, so that later changes to ``trends`` do not change what this migration does. A
cell sealed under another key cannot be opened; it is left out and counted again by the next
rebuild (nightly, or ``manage.py rebuild_trends``), which a warning asks for.
"""

import hashlib
import hmac
import logging
from collections import defaultdict

from django.conf import settings
from django.db import migrations, models

logger = logging.getLogger(__name__)

PROFILE_VALUES = {
    "gender": ("woman", "man", "other", ""),
    "age_band": ("under_30", "30_44", "45_64", "65_plus", ""),
    "assembly": (
        "municipal_council",
        "executive_board",
        "committee",
        "district_council",
        "company_board",
        "regional_council",
        "none",
        "",
    ),
    "chair_post": ("yes", ""),
    "party": ("s", "m", "sd", "c", "v", "kd", "l", "mp", "other", ""),
}


def _sealed(key, message):
    return "~" + hmac.new(key, message.encode(), hashlib.sha256).hexdigest()[:24]


def cells_by_scope(apps, schema_editor):
    TrendCell = apps.get_model("influence_reports", "TrendCell")
    key = settings.VARN_BLIND_INDEX_KEY
    openings = {}
    counts = defaultdict(int)
    lost = 0
    rows = TrendCell.objects.values_list(
        "week", "grp", "district", "role", "dimension", "value", "count"
    )
    for week, group, district, role, dimension, value, n in rows.iterator(chunk_size=10_000):
        scopes = (("", ""), ("district", district), ("role", role))
        if dimension not in PROFILE_VALUES:
            for scope, scoped in scopes:
                counts[(week, group, scope, scoped, dimension, value)] += n
            continue
        context = (group, district, role, dimension)
        if context not in openings:
            openings[context] = {
                _sealed(key, f"varn:trend:{group}|{district}|{role}|{dimension}|{plain}"): plain
                for plain in PROFILE_VALUES[dimension]
            }
        plain = openings[context].get(value)
        if plain is None:
            lost += 1
            continue
        for scope, scoped in scopes:
            message = (
                f"varn:trend-week:{week.isoformat()}|{group}|{scope}|{scoped}|{dimension}|{plain}"
            )
            counts[(week, group, scope, scoped, dimension, _sealed(key, message))] += n
    TrendCell.objects.all().delete()
    TrendCell.objects.bulk_create(
        (
            TrendCell(
                week=week,
                grp=group,
                scope=scope,
                scope_value=scoped,
                dimension=dimension,
                value=value,
                count=n,
            )
            for (week, group, scope, scoped, dimension, value), n in counts.items()
        ),
        batch_size=5000,
    )
    if lost:
        logger.warning(
            "%d trend cells are sealed under another key and were left out; "
            "run manage.py rebuild_trends.",
            lost,
        )


def cells_cleared(apps, schema_editor):
    """Going back: cells by scope cannot be split by district and role again. They are
    removed; ``manage.py rebuild_trends`` counts them afresh."""
    if apps.get_model("influence_reports", "TrendCell").objects.all().delete()[0]:
        logger.warning("The trend cells were removed; run manage.py rebuild_trends.")


class Migration(migrations.Migration):
    dependencies = [
        ("influence_reports", "0006_trend_release_first_week"),
    ]

    operations = [
        migrations.AddField(
            model_name="trendcell",
            name="scope",
            field=models.CharField(blank=True, default="", max_length=16),
            preserve_default=False,
        ),
        migrations.AddField(
            model_name="trendcell",
            name="scope_value",
            field=models.CharField(blank=True, default="", max_length=64),
            preserve_default=False,
        ),
        migrations.RemoveConstraint(
            model_name="trendcell",
            name="unique_trend_cell",
        ),
        migrations.RunPython(cells_by_scope, migrations.RunPython.noop),
        migrations.RemoveField(
            model_name="trendcell",
            name="district",
        ),
        migrations.RemoveField(
            model_name="trendcell",
            name="role",
        ),
        migrations.AddConstraint(
            model_name="trendcell",
            constraint=models.UniqueConstraint(
                fields=("week", "grp", "scope", "scope_value", "dimension", "value"),
                name="unique_trend_cell_scope",
            ),
        ),
        # Going back, this runs first: the district and role columns come back to an empty
        # table.
        migrations.RunPython(migrations.RunPython.noop, cells_cleared),
    ]
