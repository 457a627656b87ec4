"""Trend cells: how many reports, by ISO week and by each statistical dimension.

A cell is one count: the reports of an ISO week (Monday, Stockholm time), of one reporter
role and one district, in one PTU group ("" for all groups together: a report may fall in
several, and is counted once there), that have one value of one dimension. Cells are kept
current in the transaction of each submission, withdrawal and deletion, and can be rebuilt
from scratch (``trends_rebuild``); the two give identical tables.

This module is the only code that decrypts a report's profile (gender, age band, assembly,
chair post, party) for statistics: the rebuild reads every report's, a withdrawal or a
deletion reads that report's, to take it out again. In a cell a profile value is *sealed*: a
keyed hash of the value with its group, district, role and dimension (``seal``), so that a
copy of the database, which has each report's week, district and role in clear, cannot read
a lone report's gender or party off the cells. Nothing here is shown to anyone: leadership
sees what ``release`` publishes from these cells, after suppression.
"""

from __future__ import annotations

import functools
import hashlib
import hmac
import logging
import unicodedata
from collections import Counter
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone

from influence_reports import elections
from influence_reports.choices import PTU_GROUP, AgeBand, Assembly, Category, Gender
from influence_reports.models import Report, ReportTag, TrendCell
from security_core import crypto

logger = logging.getLogger(__name__)

# The dimensions of a cell, besides week, group, district and role.
TOTAL = "total"
GROUP = "group"
CATEGORY = "category"
SEXUAL = "sexual"
CHANNEL = "channel"
PERPETRATOR = "perpetrator"
CONSEQUENCE = "consequence"
POLICE = "police"
ACUTE = "acute"
ELECTION = "election"
GENDER = "gender"
AGE_BAND = "age_band"
ASSEMBLY = "assembly"
CHAIR_POST = "chair_post"
PARTY = "party"

PROFILE_FIELDS = {
    GENDER: "profile_gender",
    AGE_BAND: "profile_age_band",
    ASSEMBLY: "profile_assembly",
    CHAIR_POST: "profile_chair_post",
    PARTY: "profile_party",
}
YES, NO = "yes", "no"
NOT_STATED = ""

# The parties of the Riksdag, by the names and abbreviations reporters write; any other
# answer is "another party". Only the code reaches a cell.
PARTIES: dict[str, tuple[str, ...]] = {
    "s": ("s", "sap", "socialdemokraterna", "socialdemokrat", "social democrats"),
    "m": ("m", "moderaterna", "moderat", "moderates"),
    "sd": ("sd", "sverigedemokraterna", "sverigedemokrat", "sweden democrats"),
    "c": ("c", "centerpartiet", "centern", "centre party"),
    "v": ("v", "vänsterpartiet", "vansterpartiet", "left party"),
    "kd": ("kd", "kristdemokraterna", "christian democrats"),
    "l": ("l", "liberalerna", "liberals"),
    "mp": ("mp", "miljöpartiet", "miljopartiet", "green party"),
}
OTHER_PARTY = "other"
_PARTY_BY_NAME = {name: code for code, names in PARTIES.items() for name in names}


def party_code(answer: str) -> str:
    """The party a reporter gave, as a code: one of ``PARTIES``, ``other`` or not stated."""
    text = unicodedata.normalize("NFC", answer).strip().casefold()
    for prefix in ("partiet ",):
        text = text.removeprefix(prefix)
    if not text:
        return NOT_STATED
    return _PARTY_BY_NAME.get(text, OTHER_PARTY)


def week_of(moment: datetime) -> date:
    """The Monday of the ISO week of ``moment``, in Stockholm."""
    day = timezone.localdate(moment)
    return day - timedelta(days=day.weekday())


Key = tuple[date, str, str, str, str, str]  # week, group, district, role, dimension, value

# Every value a profile dimension can take in a cell (what ``unseal`` tries).
PROFILE_VALUES: dict[str, tuple[str, ...]] = {
    GENDER: (*Gender.values, NOT_STATED),
    AGE_BAND: (*AgeBand.values, NOT_STATED),
    ASSEMBLY: (*Assembly.values, NOT_STATED),
    CHAIR_POST: (YES, NOT_STATED),
    PARTY: (*PARTIES, OTHER_PARTY, NOT_STATED),
}
SEALED = "~"  # the first character of a sealed value


def seal(group: str, district: str, role: str, dimension: str, value: str) -> str:
    """A profile value as a cell stores it: a keyed hash under ``VARN_BLIND_INDEX_KEY`` of
    the value and its cell's group, district, role and dimension (96 bits, hex). Without the
    key, a copy of the database cannot tell which value a cell counts; the same context and
    value give the same seal every week, so cells of a quarter add up."""
    return _seal(settings.VARN_BLIND_INDEX_KEY, group, district, role, dimension, value)


@functools.lru_cache(maxsize=65536)
def _seal(key: bytes, group: str, district: str, role: str, dimension: str, value: str) -> str:
    message = f"varn:trend:{group}|{district}|{role}|{dimension}|{value}".encode()
    return SEALED + hmac.new(key, message, hashlib.sha256).hexdigest()[:24]


@functools.lru_cache(maxsize=4096)
def _openings(key: bytes, group: str, district: str, role: str, dimension: str) -> dict[str, str]:
    return {_seal(key, group, district, role, dimension, v): v for v in PROFILE_VALUES[dimension]}


def unseal(group: str, district: str, role: str, dimension: str, value: str) -> str | None:
    """The profile value a cell counts, or ``None`` if its seal is of no known value (made
    under another key: rebuild the cells)."""
    if dimension not in PROFILE_VALUES:
        return value
    key = settings.VARN_BLIND_INDEX_KEY
    return _openings(key, group, district, role, dimension).get(value)


@dataclass(frozen=True)
class Facts:
    """What a report contributes to the cells: its context and its (dimension, value)s."""

    week: date
    groups: tuple[str, ...]
    district: str
    role: str
    values: tuple[tuple[str, str], ...]

    def keys(self) -> Iterator[Key]:
        """Its cells, profile values sealed."""
        for group in ("", *self.groups):
            for dimension, value in self.values:
                if dimension in PROFILE_VALUES:
                    value = seal(group, self.district, self.role, dimension, value)
                yield (self.week, group, self.district, self.role, dimension, value)


def groups_of(categories: Iterable[str]) -> tuple[str, ...]:
    found = {PTU_GROUP[Category(code)].value for code in categories if code in Category.values}
    return tuple(sorted(found))


def facts(
    *,
    submitted_at: datetime,
    district: str,
    role: str,
    sexual_nature: bool,
    perpetrator_kind: str,
    police_reported: str,
    is_acute: bool,
    tags: Sequence[tuple[str, str]],
    profile: Mapping[str, str],
    calendar: list[elections.ElectionPeriod],
) -> Facts:
    """One report's facts, from its plain fields, its tags (kind, code) and its profile."""
    categories = sorted({code for kind, code in tags if kind == ReportTag.Kind.CATEGORY})
    groups = groups_of(categories)
    values: list[tuple[str, str]] = [(TOTAL, "")]
    values += [(GROUP, group) for group in groups]
    values += [(CATEGORY, code) for code in categories]
    values += [
        (CHANNEL, code) for code in sorted({c for k, c in tags if k == ReportTag.Kind.CHANNEL})
    ]
    values += [
        (CONSEQUENCE, code)
        for code in sorted({c for k, c in tags if k == ReportTag.Kind.CONSEQUENCE})
    ]
    in_election = elections.period_at(submitted_at, calendar) is not None
    values += [
        (SEXUAL, YES if sexual_nature else NO),
        (PERPETRATOR, perpetrator_kind),
        (POLICE, police_reported),
        (ACUTE, YES if is_acute else NO),
        (ELECTION, YES if in_election else NO),
        (GENDER, profile.get(GENDER) or NOT_STATED),
        (AGE_BAND, profile.get(AGE_BAND) or NOT_STATED),
        (ASSEMBLY, profile.get(ASSEMBLY) or NOT_STATED),
        (CHAIR_POST, YES if profile.get(CHAIR_POST) else NOT_STATED),
        (PARTY, party_code(profile.get(PARTY) or "")),
    ]
    return Facts(
        week=week_of(submitted_at),
        groups=groups,
        district=district,
        role=role,
        values=tuple(values),
    )


def _profile_from_answers(answers: Mapping[str, str]) -> dict[str, str]:
    return {dimension: answers.get(field) or "" for dimension, field in PROFILE_FIELDS.items()}


def _report_facts(report: Report, profile: Mapping[str, str]) -> Facts:
    return facts(
        submitted_at=report.submitted_at,
        district=report.district,
        role=report.reporter_role,
        sexual_nature=report.sexual_nature,
        perpetrator_kind=report.perpetrator_kind,
        police_reported=report.police_reported,
        is_acute=report.is_acute,
        tags=list(report.tags.values_list("kind", "code")),
        profile=profile,
        calendar=elections.periods(),
    )


def _add(counts: Mapping[Key, int]) -> None:
    """Add ``counts`` to the cells, in one statement; cells that reach zero are removed.

    Rows go in key order, so two transactions touching the same cells lock them in the same
    order and cannot deadlock. The upsert works alike on SQLite and PostgreSQL.
    """
    rows = sorted((key, n) for key, n in counts.items() if n)
    if not rows:
        return
    table = connection.ops.quote_name(TrendCell._meta.db_table)
    placeholders = ", ".join(["(%s, %s, %s, %s, %s, %s, %s)"] * len(rows))
    params: list[date | str | int] = []
    for (week, group, district, role, dimension, value), n in rows:
        params += [week, group, district, role, dimension, value, n]
    with connection.cursor() as cursor:
        cursor.execute(
            # Table and column names are ours; every value is a parameter.
            f"INSERT INTO {table} (week, grp, district, role, dimension, value, count) "  # noqa: S608  # nosec B608
            f"VALUES {placeholders} "
            "ON CONFLICT (week, grp, district, role, dimension, value) "
            f"DO UPDATE SET count = {table}.count + excluded.count",
            params,
        )
    if any(n < 0 for _key, n in rows):
        weeks = {key[0] for key, _n in rows}
        TrendCell.objects.filter(week__in=weeks, count__lte=0).delete()


def report_counted(*, report: Report, profile_answers: Mapping[str, str]) -> None:
    """Count a report just filed (its tags written), from the profile answers in hand."""
    found = _report_facts(report, _profile_from_answers(profile_answers))
    _add(Counter(found.keys()))


def report_uncounted(*, report: Report) -> None:
    """Take a report out of the cells (withdrawn or deleted); reads its profile to do so."""
    profile = {
        dimension: getattr(report, field) or "" for dimension, field in PROFILE_FIELDS.items()
    }
    found = _report_facts(report, profile)
    _add({key: -n for key, n in Counter(found.keys()).items()})


# --- Rebuild -------------------------------------------------------------------------------

_PLAIN_FIELDS = (
    "id",
    "submitted_at",
    "district",
    "reporter_role",
    "sexual_nature",
    "perpetrator_kind",
    "police_reported",
    "is_acute",
    "data_key_id",
    "data_key__kek_id",
    "data_key__wrapped",
)
_LABEL = Report._meta.label_lower


def _bytes(value: object) -> bytes:
    if not isinstance(value, bytes | memoryview):
        raise TypeError("a binary column")
    return bytes(value)


def _open_profile(row: Sequence[object]) -> dict[str, str]:
    """The profile of one report row (plain fields, then the five profile ciphertexts)."""
    report_id, data_key_id, kek_id, wrapped = row[0], row[8], row[9], row[10]
    aead = AESGCM(crypto.unwrap_data_key(str(kek_id), _bytes(wrapped), data_key_id=data_key_id))
    profile = {}
    for (dimension, field), blob in zip(PROFILE_FIELDS.items(), row[11:], strict=True):
        if blob is None:
            profile[dimension] = ""
            continue
        raw = crypto.open_field(aead, _bytes(blob), aad=crypto.field_aad(_LABEL, field, report_id))
        profile[dimension] = crypto.unpad(raw).decode()
    return profile


def counted_reports() -> Iterator[Facts]:
    """The facts of every report the cells count (all but the withdrawn), read in batches."""
    calendar = elections.periods()
    reports = (
        Report.objects.filter(withdrawn_at__isnull=True)
        .order_by("pk")
        .values_list(*_PLAIN_FIELDS, *PROFILE_FIELDS.values())
    )
    batch: list[tuple[object, ...]] = []

    def flush() -> Iterator[Facts]:
        tags: dict[object, list[tuple[str, str]]] = {row[0]: [] for row in batch}
        for report_id, kind, code in ReportTag.objects.filter(report_id__in=list(tags)).values_list(
            "report_id", "kind", "code"
        ):
            tags[report_id].append((kind, code))
        for row in batch:
            try:
                profile = _open_profile(row)
            except crypto.DecryptionError:
                # Counted without its profile, and said so (no content is logged).
                logger.warning("A report's profile does not open; counted without it.")
                profile = {}
            yield facts(
                submitted_at=row[1],  # type: ignore[arg-type]
                district=str(row[2]),
                role=str(row[3]),
                sexual_nature=bool(row[4]),
                perpetrator_kind=str(row[5]),
                police_reported=str(row[6]),
                is_acute=bool(row[7]),
                tags=tags[row[0]],
                profile=profile,
                calendar=calendar,
            )

    for row in reports.iterator(chunk_size=2000):
        batch.append(row)
        if len(batch) == 2000:
            yield from flush()
            batch = []
    yield from flush()


def counts_from_scratch() -> Counter[Key]:
    """Every cell, counted afresh from the reports (nothing is written)."""
    counts: Counter[Key] = Counter()
    for found in counted_reports():
        counts.update(found.keys())
    return counts


@transaction.atomic
def trends_rebuild() -> int:
    """Replace every cell with counts made afresh from the reports; returns how many cells.

    One transaction: the leadership's figures are released from the old cells or the new,
    never from half of each. Submissions meanwhile wait for it on PostgreSQL (the table is
    locked), so none is counted twice or lost.
    """
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute(
                f"LOCK TABLE {connection.ops.quote_name(TrendCell._meta.db_table)} "
                "IN SHARE ROW EXCLUSIVE MODE"
            )
    counts = counts_from_scratch()
    TrendCell.objects.all().delete()
    TrendCell.objects.bulk_create(
        (
            TrendCell(
                week=week,
                grp=group,
                district=district,
                role=role,
                dimension=dim,
                value=value,
                count=n,
            )
            for (week, group, district, role, dim, value), n in sorted(counts.items())
        ),
        batch_size=5000,
    )
    return len(counts)


def cells() -> dict[Key, int]:
    """The cells as they stand (for tests and the rebuild's own check)."""
    return {
        (row.week, row.grp, row.district, row.role, row.dimension, row.value): row.count
        for row in TrendCell.objects.all()
    }
