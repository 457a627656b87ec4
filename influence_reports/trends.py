"""Trend cells: how many reports, by ISO week and by each statistical dimension.

A cell is one count: the reports of an ISO week (Monday, Stockholm time), in one scope
(everyone, one district or one reporter role: a district is never crossed with a role), in
one PTU group ("" for all groups together: a report may fall in several, and is counted once
there), that have one value of one dimension. Cells are kept current in the transaction of
each submission, withdrawal and deletion, and can be rebuilt from scratch
(``trends_rebuild``); the two give identical tables.

This module is the only code that decrypts a report's profile (gender, age band, assembly,
chair post, party) for statistics: the rebuild reads every report's, a withdrawal or a
deletion reads that report's, to take it out again. In a cell a profile value is *sealed*: a
keyed hash of the value with its week, group, scope and dimension (``seal``), so that a
copy of the database, which has each report's week, district and role in clear, cannot read
a lone report's gender or party off the cells. Nothing here is shown to anyone: leadership
sees what ``release`` publishes from these cells, after suppression.
"""

from __future__ import annotations

import bisect
import functools
import hashlib
import hmac
import logging
import unicodedata
import uuid
from collections import Counter
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from time import monotonic

from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from django.conf import settings
from django.db import connection, transaction
from django.db.models import Field, Max, Min, Model
from django.utils import timezone

from influence_reports import elections
from influence_reports.choices import PTU_GROUP, AgeBand, Assembly, Gender
from influence_reports.models import Report, ReportTag, TrendCell
from security_core import crypto
from security_core.models import DataKey

logger = logging.getLogger(__name__)

# The scopes of a cell: everyone (no value), one district, one reporter role.
EVERYONE = ""
DISTRICT = "district"
ROLE = "role"

# The dimensions of a cell, besides week, group and scope.
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


Key = tuple[date, str, str, str, str, str]  # week, group, scope, its value, dimension, value

# Every value a profile dimension can take in a cell (what ``unseal`` tries).
PROFILE_VALUES: dict[str, tuple[str, ...]] = {
    GENDER: (*Gender.values, NOT_STATED),
    AGE_BAND: (*AgeBand.values, NOT_STATED),
    ASSEMBLY: (*Assembly.values, NOT_STATED),
    CHAIR_POST: (YES, NOT_STATED),
    PARTY: (*PARTIES, OTHER_PARTY, NOT_STATED),
}
SEALED = "~"  # the first character of a sealed value


def seal(week: date, group: str, scope: str, scoped: str, dimension: str, value: str) -> str:
    """A profile value as a cell stores it: a keyed hash under ``VARN_BLIND_INDEX_KEY`` of
    the value and its cell's week, group, scope (and the scope's value) and dimension (96
    bits, hex). Without the key, a copy of the database cannot tell which value a cell
    counts. The week is in it so that the same value has another seal every week: the
    release publishes a quarter's profile figures by district and by role, and seals that
    stayed the same from week to week could be labelled by adding up a quarter's cells and
    matching the sums to those figures."""
    return _seal(settings.VARN_BLIND_INDEX_KEY, week, group, scope, scoped, dimension, value)


@functools.lru_cache(maxsize=65536)
def _seal(
    key: bytes, week: date, group: str, scope: str, scoped: str, dimension: str, value: str
) -> str:
    message = f"varn:trend-week:{week.isoformat()}|{group}|{scope}|{scoped}|{dimension}|{value}"
    return SEALED + hmac.new(key, message.encode(), hashlib.sha256).hexdigest()[:24]


def unseal(
    week: date, group: str, scope: str, scoped: str, dimension: str, value: str
) -> str | None:
    """The profile value a cell counts, or ``None`` if its seal is of no known value (made
    under another key: rebuild the cells). Takes a cell's key as it is."""
    if dimension not in PROFILE_VALUES:
        return value
    key = settings.VARN_BLIND_INDEX_KEY
    for candidate in PROFILE_VALUES[dimension]:
        if hmac.compare_digest(_seal(key, week, group, scope, scoped, dimension, candidate), value):
            return candidate
    return None


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
        return _keys(
            settings.VARN_BLIND_INDEX_KEY,
            self.week,
            self.groups,
            self.district,
            self.role,
            self.values,
        )


def _keys(
    blind_key: bytes,
    week: date,
    groups: tuple[str, ...],
    district: str,
    role: str,
    values: Iterable[tuple[str, str]],
) -> Iterator[Key]:
    """The cells of some (dimension, value)s of a report: in every group of the report and
    in all together (""), for everyone, its district and its role."""
    for dimension, value in values:
        for group in ("", *groups):
            for scope, scoped in scopes_of(district, role):
                yield _key(blind_key, week, group, scope, scoped, dimension, value)


def scopes_of(district: str, role: str) -> tuple[tuple[str, str], ...]:
    """The scopes a report of this district and role is counted in."""
    return ((EVERYONE, ""), (DISTRICT, district), (ROLE, role))


def _key(
    blind_key: bytes, week: date, group: str, scope: str, scoped: str, dimension: str, value: str
) -> Key:
    """A cell's key, a profile value sealed."""
    if dimension in PROFILE_VALUES:
        value = _seal(blind_key, week, group, scope, scoped, dimension, value)
    return (week, group, scope, scoped, dimension, value)


_GROUP_OF = {str(category.value): str(group.value) for category, group in PTU_GROUP.items()}


def groups_of(categories: Iterable[str]) -> tuple[str, ...]:
    """The PTU groups of some categories, sorted (unknown codes have none)."""
    return tuple(sorted({_GROUP_OF[code] for code in categories if code in _GROUP_OF}))


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
    categories, channels, consequences = _tag_codes(tags)
    in_election = elections.period_at(submitted_at, calendar) is not None
    plain = _tag_values(categories, channels, consequences) + _field_values(
        sexual_nature=sexual_nature,
        perpetrator_kind=perpetrator_kind,
        police_reported=police_reported,
        is_acute=is_acute,
        in_election=in_election,
    )
    return Facts(
        week=week_of(submitted_at),
        groups=groups_of(categories),
        district=district,
        role=role,
        values=plain + _profile_values(_profile_codes(profile)),
    )


Codes = tuple[str, ...]
Pair = tuple[str, str]  # dimension, value


def _tag_codes(tags: Iterable[tuple[str, str]]) -> tuple[Codes, Codes, Codes]:
    """A report's category, channel and consequence codes, each sorted and distinct."""
    found: dict[str, set[str]] = {
        ReportTag.Kind.CATEGORY: set(),
        ReportTag.Kind.CHANNEL: set(),
        ReportTag.Kind.CONSEQUENCE: set(),
    }
    for kind, code in tags:
        if kind in found:
            found[kind].add(code)
    return (
        tuple(sorted(found[ReportTag.Kind.CATEGORY])),
        tuple(sorted(found[ReportTag.Kind.CHANNEL])),
        tuple(sorted(found[ReportTag.Kind.CONSEQUENCE])),
    )


def _tag_values(categories: Codes, channels: Codes, consequences: Codes) -> tuple[Pair, ...]:
    """The (dimension, value)s of a report's tags, and its total first."""
    return (
        (TOTAL, ""),
        *((GROUP, group) for group in groups_of(categories)),
        *((CATEGORY, code) for code in categories),
        *((CHANNEL, code) for code in channels),
        *((CONSEQUENCE, code) for code in consequences),
    )


def _field_values(
    *,
    sexual_nature: bool,
    perpetrator_kind: str,
    police_reported: str,
    is_acute: bool,
    in_election: bool,
) -> tuple[Pair, ...]:
    """The (dimension, value)s of a report's plain fields."""
    return (
        (SEXUAL, YES if sexual_nature else NO),
        (PERPETRATOR, perpetrator_kind),
        (POLICE, police_reported),
        (ACUTE, YES if is_acute else NO),
        (ELECTION, YES if in_election else NO),
    )


ProfileCodes = tuple[str, str, str, str, str]  # gender, age band, assembly, chair post, party


def _profile_codes(profile: Mapping[str, str]) -> ProfileCodes:
    """A profile as the cells count it: chair post yes or not stated, the party a code."""
    return (
        profile.get(GENDER) or NOT_STATED,
        profile.get(AGE_BAND) or NOT_STATED,
        profile.get(ASSEMBLY) or NOT_STATED,
        YES if profile.get(CHAIR_POST) else NOT_STATED,
        party_code(profile.get(PARTY) or ""),
    )


def _profile_values(codes: ProfileCodes) -> tuple[tuple[str, str], ...]:
    return tuple(zip((GENDER, AGE_BAND, ASSEMBLY, CHAIR_POST, PARTY), codes, strict=True))


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


_KEY_COLUMNS = "week, grp, scope, scope_value, dimension, value"  # as ``Key``
_COLUMNS = _KEY_COLUMNS + ", count"


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
    for key, n in rows:
        params += [*key, n]
    with connection.cursor() as cursor:
        cursor.execute(
            # Table and column names are ours; every value is a parameter.
            f"INSERT INTO {table} ({_COLUMNS}) "  # noqa: S608  # nosec B608
            f"VALUES {placeholders} "
            f"ON CONFLICT ({_KEY_COLUMNS}) "
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
#
# A million reports are to be counted afresh within a minute, so:
# - the reports are read in one pass, each row as the driver gives it (no model, no
#   converter per row), with its data key and its tags (``_report_sql``);
# - a profile is opened with one cipher per key-encryption key (``crypto.Unwrapper``), and
#   the pairs of a profile, a set of tags or of plain fields are made once per distinct one;
# - a report adds one to each of its (context, pair) counts, both numbered, so counting is
#   of small integers, in C; a context is (week, group, district, role) for each group of
#   the report and all together, as ``_keys`` has it;
# - only then is each count turned into its cell's key, a profile value sealed (``_key``);
# - the pairs are the ``_tag_values``, ``_field_values`` and ``_profile_values`` a submission
#   counts, so rebuilt and incremental cells cannot differ in what they count.

BATCH = 10_000  # rows fetched at a time
_LABEL = Report._meta.label_lower
_PAIR_BITS = 20  # a count's number: its context's number, shifted, and its pair's
Context = tuple[date, str, str, str]  # week, group, district and role, or scope and value


def _uuid_text(value: object) -> str:
    """An id as associated data names it (SQLite gives a UUID column as 32 hex digits)."""
    if isinstance(value, str) and len(value) == 32:
        return f"{value[:8]}-{value[8:12]}-{value[12:16]}-{value[16:20]}-{value[20:]}"
    return str(value if isinstance(value, uuid.UUID) else uuid.UUID(str(value)))


def _bytes(value: object) -> bytes:
    if isinstance(value, bytes):
        return value
    if not isinstance(value, memoryview):
        raise TypeError("a binary column")
    return bytes(value)


def _timestamp(value: object) -> float:
    """A timestamp column as POSIX seconds (SQLite's comes as text, in UTC)."""
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    if not isinstance(value, datetime):
        raise TypeError("a timestamp column")
    return (value if value.tzinfo else value.replace(tzinfo=UTC)).timestamp()


class _Days:
    """The week and the election period of a moment, by its day in Stockholm: a bisection
    over the days' first instants."""

    def __init__(self, first: date, last: date, calendar: list[elections.ElectionPeriod]):
        zone = timezone.get_default_timezone()
        self.zone, self.calendar = zone, calendar
        days = [first + timedelta(days=n) for n in range((last - first).days + 2)]
        self.starts = [datetime.combine(day, time(), tzinfo=zone).timestamp() for day in days]
        self.days = [
            (day - timedelta(days=day.weekday()), elections.period_on(day, calendar) is not None)
            for day in days
        ]

        # Where every day starts on a whole hour in UTC (so in Stockholm), a moment's hour in
        # UTC tells its day: SQLite's text is looked up by its first 13 characters.
        self.by_hour: dict[str, tuple[date, bool]] | None = (
            {} if all(start % 3600 == 0 for start in self.starts) else None
        )

    def of_text(self, text: str) -> tuple[date, bool]:
        """As ``of``, for a moment as SQLite's text in UTC ("YYYY-MM-DD HH:MM:SS[.ffffff]")."""
        if self.by_hour is None or len(text) < 19 or text[10] != " ":
            return self.of(_timestamp(text))
        hour = text[:13]
        found = self.by_hour.get(hour)
        if found is None:
            found = self.by_hour[hour] = self.of(_timestamp(hour + ":00:00"))
        return found

    def of(self, timestamp: float) -> tuple[date, bool]:
        index = bisect.bisect_right(self.starts, timestamp) - 1
        if 0 <= index < len(self.days) - 1:
            return self.days[index]
        # Outside the span measured first (a report filed since): the long way.
        moment = datetime.fromtimestamp(timestamp, tz=self.zone)
        return week_of(moment), elections.period_at(moment, self.calendar) is not None


class _Profiles:
    """Opens the five profile ciphertexts of report rows (the columns of ``_report_sql``)."""

    def __init__(self) -> None:
        self.unwrap = crypto.Unwrapper()
        self.aads = [crypto.field_aad(_LABEL, field, "") for field in PROFILE_FIELDS.values()]
        self.unopened = 0

    def opened(self, row: Sequence[object]) -> tuple[str, ...] | None:
        """The five profile values of a report row, or ``None`` if any does not open: a
        tampered or moved ciphertext, bad padding or text, a key not in the ring. Counted
        in ``unopened``; ``crypto`` logs where it failed, never what or whose."""
        try:
            report_id = _uuid_text(row[0]).encode()
            data_key = self.unwrap(str(row[9]), _bytes(row[10]), data_key_id=_uuid_text(row[8]))
            aead = AESGCM(data_key)
            return tuple(
                ""
                if blob is None
                else crypto.unpad(
                    crypto.open_field(aead, _bytes(blob), aad=aad + report_id)
                ).decode()
                for aad, blob in zip(self.aads, row[11:16], strict=True)
            )
        except (crypto.DecryptionError, TypeError, ValueError):  # UnicodeDecodeError too
            self.unopened += 1
            return None


def _profile_of(values: tuple[str, ...] | None) -> ProfileCodes:
    if values is None:
        return _profile_codes({})
    return _profile_codes(dict(zip(PROFILE_FIELDS, values, strict=True)))


def _report_sql() -> str:
    """Every counted report (all but the withdrawn) as one row: id, submitted at, district,
    role, sexual nature, perpetrator, police, acute, data key id, its KEK id and wrapped
    key, the five profile ciphertexts, and its tags as one text (each kind and code joined
    by ``_UNIT`` and the tags by ``_RECORD``, control characters no code holds; or none).
    The separators are the query's parameters."""
    quote = connection.ops.quote_name

    def column(name: str) -> str:
        return "r." + _column_of(Report, name)

    postgresql = connection.vendor == "postgresql"
    moment = column("submitted_at")
    if not postgresql:
        moment = f"CAST({moment} AS TEXT)"  # parsed by ``_timestamp``, not by a converter
    aggregate = "string_agg" if postgresql else "group_concat"
    plain = ", ".join(
        column(name)
        for name in (
            "district",
            "reporter_role",
            "sexual_nature",
            "perpetrator_kind",
            "police_reported",
            "is_acute",
            "data_key",
        )
    )
    profile = ", ".join(column(field) for field in PROFILE_FIELDS.values())
    kek_id, wrapped = _column_of(DataKey, "kek_id"), _column_of(DataKey, "wrapped")
    kind, code = _column_of(ReportTag, "kind"), _column_of(ReportTag, "code")
    return (
        # Names are the models' own; the query has no parameters.
        f"SELECT {column('id')}, {moment}, {plain}, k.{kek_id}, k.{wrapped}, {profile}, "  # noqa: S608  # nosec B608
        f"(SELECT {aggregate}(t.{kind} || %s || t.{code}, %s) "
        f"FROM {quote(ReportTag._meta.db_table)} t "
        f"WHERE t.{_column_of(ReportTag, 'report')} = {column('id')}) "
        f"FROM {quote(Report._meta.db_table)} r "
        f"JOIN {quote(DataKey._meta.db_table)} k "
        f"ON k.{_column_of(DataKey, 'id')} = {column('data_key')} "
        f"WHERE {column('withdrawn_at')} IS NULL"
    )


_UNIT, _RECORD = "\x1f", "\x1e"  # ASCII's unit and record separators


def _column_of(model: type[Model], name: str) -> str:
    """The quoted column of a model's field."""
    field = model._meta.get_field(name)
    if not isinstance(field, Field) or not field.column:
        raise TypeError(f"{model.__name__}.{name} is not a column")
    return connection.ops.quote_name(field.column)


def _fetched(sql: str, params: Sequence[str]) -> Iterator[list[Sequence[object]]]:
    """The rows of ``sql``, a batch at a time; on PostgreSQL through a server-side cursor,
    so memory stays flat."""
    with connection.chunked_cursor() as cursor:
        cursor.execute(sql, params)
        while rows := cursor.fetchmany(BATCH):
            yield rows


def counts_from_scratch() -> Counter[Key]:
    """Every cell, counted afresh from the reports (nothing is written)."""
    counted = Report.objects.filter(withdrawn_at__isnull=True)
    span = counted.aggregate(first=Min("submitted_at"), last=Max("submitted_at"))
    if span["first"] is None:
        return Counter()
    days = _Days(
        timezone.localdate(span["first"]) - timedelta(days=1),
        timezone.localdate(span["last"]) + timedelta(days=1),
        elections.periods(),
    )
    started = monotonic()
    reports = 0
    profiles = _Profiles()
    # Contexts and (dimension, value) pairs are numbered as they come; a report's tags,
    # fields and profile are numbered once per distinct one.
    contexts: dict[Context, int] = {}
    pairs: dict[Pair, int] = {}

    def numbered(values: Iterable[Pair]) -> tuple[int, ...]:
        return tuple(pairs.setdefault(pair, len(pairs)) for pair in values)

    tagged: dict[object, tuple[Codes, tuple[int, ...]]] = {}
    flagged: dict[tuple[object, ...], tuple[int, ...]] = {}
    profiled: dict[tuple[str, ...] | None, tuple[int, ...]] = {}
    tally: Counter[int] = Counter()
    for rows in _fetched(_report_sql(), [_UNIT, _RECORD]):
        numbers: list[int] = []
        reports += len(rows)
        for row in rows:
            moment = row[1]
            if isinstance(moment, str):
                week, in_election = days.of_text(moment)
            else:
                week, in_election = days.of(_timestamp(moment))
            tags = tagged.get(row[16])
            if tags is None:
                text = str(row[16] or "")
                kinds = [tuple(item.partition(_UNIT)[::2]) for item in text.split(_RECORD) if item]
                categories, channels, consequences = _tag_codes(kinds)  # type: ignore[arg-type]
                tags = tagged[row[16]] = (
                    groups_of(categories),
                    numbered(_tag_values(categories, channels, consequences)),
                )
            groups, tag_pairs = tags
            fields = (row[4], row[5], row[6], row[7], in_election)
            field_pairs = flagged.get(fields)
            if field_pairs is None:
                field_pairs = flagged[fields] = numbered(
                    _field_values(
                        sexual_nature=bool(row[4]),
                        perpetrator_kind=str(row[5]),
                        police_reported=str(row[6]),
                        is_acute=bool(row[7]),
                        in_election=in_election,
                    )
                )
            opened = profiles.opened(row)
            profile_pairs = profiled.get(opened)
            if profile_pairs is None:
                profile_pairs = profiled[opened] = numbered(_profile_values(_profile_of(opened)))
            report_pairs = tag_pairs + field_pairs + profile_pairs
            district, role = str(row[2]), str(row[3])
            for group in ("", *groups):  # as ``_keys``
                context = (week, group, district, role)
                number = contexts.setdefault(context, len(contexts)) << _PAIR_BITS
                numbers += [number | pair for pair in report_pairs]
        tally.update(numbers)  # counted in C
    if profiles.unopened:
        # Counted without their profile, and said so (no content is logged).
        logger.warning("%d reports' profiles do not open; counted without them.", profiles.unopened)
    if len(pairs) >= 1 << _PAIR_BITS:
        raise ValueError("too many distinct values to number")
    spread = monotonic()
    # Each (week, group, district, role) count goes to its three scopes' cells, as ``_keys``
    # has it: the scopes numbered like the contexts, then keys made once a cell.
    scoped: dict[Context, int] = {}
    targets = [
        tuple(
            scoped.setdefault((week, group, scope, value), len(scoped)) << _PAIR_BITS
            for scope, value in scopes_of(district, role)
        )
        for week, group, district, role in contexts
    ]
    mask = (1 << _PAIR_BITS) - 1
    spreading: Counter[int] = Counter()
    for number, n in tally.items():
        pair = number & mask
        for target in targets[number >> _PAIR_BITS]:
            spreading[target | pair] += n
    blind_key = settings.VARN_BLIND_INDEX_KEY
    scope_of = list(scoped)
    pair_of = list(pairs)
    counts: Counter[Key] = Counter()
    for number, n in spreading.items():
        week, group, scope, value = scope_of[number >> _PAIR_BITS]
        dimension, pair_value = pair_of[number & mask]
        counts[_key(blind_key, week, group, scope, value, dimension, pair_value)] = n
    logger.info(
        "Trend counts: %d reports read and counted in %.1f s, spread into cells in %.1f s.",
        reports,
        spread - started,
        monotonic() - spread,
    )
    return counts


@transaction.atomic
def trends_rebuild() -> int:
    """Replace every cell with counts made afresh from the reports; returns how many cells.

    One transaction: the leadership's figures are released from the old cells or the new,
    never from half of each. Submissions meanwhile wait for it on PostgreSQL (the table is
    locked), so none is counted twice or lost.
    """
    table = connection.ops.quote_name(TrendCell._meta.db_table)
    postgresql = connection.vendor == "postgresql"
    if postgresql:
        with connection.cursor() as cursor:
            cursor.execute(f"LOCK TABLE {table} IN SHARE ROW EXCLUSIVE MODE")
    started = monotonic()
    counts = counts_from_scratch()
    counted = monotonic()
    with connection.cursor() as cursor:
        # Table and column names are ours; every value is a parameter. Not the ORM's delete,
        # which would fetch every cell first, for signals no cell has. Not TRUNCATE on
        # PostgreSQL, though faster: it waits for every reader of the table (a nightly
        # pg_dump, say), and every submission would wait behind it.
        cursor.execute(f"DELETE FROM {table}")  # noqa: S608  # nosec B608
        if postgresql:
            with cursor.cursor.copy(f"COPY {table} ({_COLUMNS}) FROM STDIN") as copy:
                for key, n in counts.items():
                    copy.write_row((*key, n))
        else:
            # Not sorted first: sorting a million cells in Python costs more than it saves.
            cursor.executemany(
                f"INSERT INTO {table} ({_COLUMNS}) VALUES (%s, %s, %s, %s, %s, %s, %s)",  # noqa: S608  # nosec B608
                [(week.isoformat(), *rest, n) for (week, *rest), n in counts.items()],
            )
    logger.info(
        "Trend cells rebuilt: counted in %.1f s, %d cells written in %.1f s.",
        counted - started,
        len(counts),
        monotonic() - counted,
    )
    return len(counts)


def cells() -> dict[Key, int]:
    """The cells as they stand (for tests and the rebuild's own check)."""
    return {
        (row.week, row.grp, row.scope, row.scope_value, row.dimension, row.value): row.count
        for row in TrendCell.objects.all()
    }
