"""Synthetic report history, written straight into the database, for the demo and benchmarks.

``generate_history`` writes reports as the intake would have left them (each with its own
data key, its fields sealed under it exactly as ``EncryptedModel`` seals them, its tags, its
case and some protective measures), but in bulk: a million reports take minutes, where
``report_submit`` would take hours. It never runs in production (``load_demo_data`` and
``generate_trend_history`` refuse to), and it writes no audit entries: the history is made
up, so there is no act of anyone to record, and an audit trail of a million invented
filings would only bury the real entries of a demo installation (the audit chain is also
written one entry at a time, which would undo the point of writing in bulk). Nor does it
count the reports into the trend cells: callers rebuild the cells afterwards
(``trends.trends_rebuild``), which reads every report, as the rebuild in service does.

How the history is drawn (every draw comes from ``random.Random`` generators seeded with the
seed and the window, so the same seed and window give the same reports, whatever the batch
size, apart from the random ids and the keys and nonces that real encryption needs):

- **Volume.** ``per_week`` reports in an ordinary week (12 is our guess for a city of
  Stockholm's size, with thousands of elected representatives and officials: some 600 a
  year), drawn day by day as Poisson counts around: weekdays 1.16 and weekends 0.6 of the
  daily mean; July 0.6 (the summer break) and the weeks around Christmas and New Year 0.7;
  a week's own noise (log-normal, sigma 0.15), and one week in seventy a spike of twice the
  volume (a local controversy, a media storm). In an election period
  (``elections.periods()``) the volume is 1.6 times the ordinary (Brå's surveys find more
  exposure in election years), and 2.0 times in the six weeks up to and including polling
  day, when campaigning peaks; a period averages about 1.7 times.
- **Time of day.** Mostly office hours and evenings, a little at night (Stockholm time).
- **Categories** (the first category of a report, in shares of reports): harassment 36 %,
  threat 26 %, violence 3 %, property damage 5 %, theft 2 %, bribe 2.5 %, favour-based
  corruption 1.5 %, infiltration 1 %, undue pressure 10 %, disinformation 8 %, intrusion
  or phishing 5 %. A quarter of threats (and a few of the others) name a second category,
  most often harassment or threat. So threats and harassment are in about two reports in
  three, as in Brå's survey of politicians' safety (PTU), where they dominate; corruption
  attempts in about 4 %, violence, damage and theft in about 10 %.
- **Channels.** Social media in about 40 % of reports (more in election periods, and none
  of the other channels comes near), then e-mail, messaging apps, face to face, phone, public
  meetings (more in election periods), letters, at home, through a third party; one in five
  reports names a second channel. Violence, damage and theft happen face to face or at
  home; corruption attempts come face to face, by e-mail, by phone or through a third
  party.
- **Consequences** (PTU asks the exposed whether they avoided an issue, changed a decision
  or considered leaving; Brå reports each for roughly a tenth to a quarter of them): avoided
  an issue 18 %, changed a decision or statement 12 %, held back what they would have said
  22 %, considered leaving 14 %, each drawn on its own (a little more often after threats
  and violence); a report with none of these says "none" (70 %) or leaves the question.
- **Police.** About a quarter reported to the police (most after violence, damage and
  threats, fewest after harassment and disinformation); 8 % do not know.
- **Reporter roles.** Part-time elected representatives 45 %, officials 25 %, full-time
  elected 12 %, candidates 7 % (15 % in election periods), political secretaries 6 %,
  others 5 %.
- **Districts.** ``choices.districts()``: Stockholm's district areas by population, with
  Rinkeby-Kista, Spånga-Tensta and Skärholmen weighted up by half (more threats against
  officials there); the city-wide administrations 18 %, elsewhere 3 %, not stated 3 %. A
  deployment's own district list is drawn evenly.
- **Perpetrators** by category: unknown most often; angry citizens and obsessive
  complainants for threats and harassment; companies, insiders and organised crime for
  corruption attempts; unknown and foreign powers for disinformation and intrusions.
- **Profile** (statistics only, encrypted): gender answered by 85 % (women 47 %, men 51 %,
  other 2 %), age band by 80 %, assembly by 75 % (officials: "none"), a chair post by one
  elected in eight, and the party (opt-in, special-category data) by only a third of the
  elected, candidates and political secretaries and by almost no officials, written as
  people write it ("Socialdemokraterna", "S", "moderaterna" ...).
- **Other flags.** Sexual nature in 8 % of threats, harassment and violence against women
  (2 % otherwise); acute 2 % (4 % of threats and violence); a series 30 %; support wanted
  25 %; media interest 5 % (10 % in election periods); about a relative 8 %, a colleague
  7 %; filed on someone's behalf 5 %; the incident the same day in a third of reports, and
  mostly within two weeks.
- **Cases**, timed from submission and cut off at ``now``: acknowledged within a day (60 %),
  one to three days (25 %), three to seven days (10 %) or later (5 %), acute reports within
  the hour; feedback within the three months (85 %) or later; closed some days after the
  feedback (handled 75 %, handed to the police 10 %, no action 12 %, other 3 %), or closed
  without feedback as needing no action (12 %); withdrawn by the reporter 1.5 %.
  ``acknowledge_by``, ``feedback_by`` and ``due_at`` follow ``deadlines`` as the services
  set them. Protective measures on 15-45 % of cases (most after threats and violence), one
  to three each, mostly risk talks and takedown requests.
"""

from __future__ import annotations

import bisect
import math
import random
import uuid
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from dateutil.relativedelta import relativedelta
from django.db import connection, models, transaction
from django.db.models.fields import AutoFieldMixin
from django.utils import timezone

from influence_reports import choices, deadlines, elections
from influence_reports.models import (
    ENCRYPTED_REPORT_FIELDS,
    REFERENCE_ALPHABET,
    Case,
    ProtectiveMeasure,
    Report,
    ReportTag,
)
from security_core import crypto
from security_core.models import DataKey, User

# Raised whenever what is generated changes, so cached copies (the benchmarks') are remade.
GENERATOR_VERSION = 1
DEFAULT_PER_WEEK = 12.0
STOCKHOLM = deadlines.STOCKHOLM
DAY = timedelta(days=1)

_REPORT_LABEL = Report._meta.label_lower
_MEASURE_LABEL = ProtectiveMeasure._meta.label_lower
_EMPTY = crypto.pad(b"")


class _Pick:
    """A weighted choice among codes, drawn with one random number."""

    def __init__(self, weights: Mapping[str, float]) -> None:
        items = [(code, weight) for code, weight in weights.items() if weight > 0]
        self.codes = [code for code, _weight in items]
        self.bounds: list[float] = []
        running = 0.0
        for _code, weight in items:
            running += weight
            self.bounds.append(running)

    def __call__(self, rng: random.Random) -> str:
        index = bisect.bisect_right(self.bounds, rng.random() * self.bounds[-1])
        return self.codes[min(index, len(self.codes) - 1)]


# --- What a report says --------------------------------------------------------------------

C = choices.Category
CATEGORY = _Pick(
    {
        C.HARASSMENT: 36,
        C.THREAT: 26,
        C.VIOLENCE: 3,
        C.DAMAGE: 5,
        C.THEFT: 2,
        C.BRIBERY: 2.5,
        C.FAVOUR_CORRUPTION: 1.5,
        C.INFILTRATION: 1,
        C.PRESSURE: 10,
        C.DISINFORMATION: 8,
        C.CYBER: 5,
    }
)
# A second category: (how often, which).
SECOND_CATEGORY: dict[str, tuple[float, _Pick]] = {
    C.THREAT: (0.25, _Pick({C.HARASSMENT: 1})),
    C.HARASSMENT: (0.10, _Pick({C.THREAT: 3, C.DISINFORMATION: 1})),
    C.VIOLENCE: (0.30, _Pick({C.THREAT: 1})),
    C.DAMAGE: (0.15, _Pick({C.THREAT: 1, C.HARASSMENT: 1})),
    C.DISINFORMATION: (0.20, _Pick({C.HARASSMENT: 2, C.CYBER: 1})),
    C.PRESSURE: (0.10, _Pick({C.THREAT: 1, C.BRIBERY: 1})),
    C.BRIBERY: (0.10, _Pick({C.PRESSURE: 1})),
}
VIOLENT = frozenset({C.VIOLENCE, C.DAMAGE, C.THEFT})
CORRUPT = frozenset({C.BRIBERY, C.FAVOUR_CORRUPTION})
ONLINE = frozenset({C.DISINFORMATION, C.CYBER})

CH = choices.Channel
_CHANNELS: dict[str, float] = {
    CH.SOCIAL_MEDIA: 40,
    CH.EMAIL: 14,
    CH.MESSAGING: 10,
    CH.FACE_TO_FACE: 9,
    CH.PHONE: 8,
    CH.PUBLIC_MEETING: 6,
    CH.LETTER: 4,
    CH.AT_HOME: 3,
    CH.THIRD_PARTY: 3,
    CH.OTHER: 3,
}
CHANNEL = _Pick(_CHANNELS)
CHANNEL_ELECTION = _Pick(
    _CHANNELS | {CH.SOCIAL_MEDIA: 46, CH.PUBLIC_MEETING: 10, CH.FACE_TO_FACE: 10}
)
CHANNEL_VIOLENT = _Pick({CH.FACE_TO_FACE: 5, CH.AT_HOME: 4, CH.PUBLIC_MEETING: 1, CH.OTHER: 1})
CHANNEL_CORRUPT = _Pick(
    {CH.FACE_TO_FACE: 4, CH.EMAIL: 3, CH.PHONE: 2, CH.THIRD_PARTY: 2, CH.MESSAGING: 1}
)
CHANNEL_ONLINE = _Pick({CH.SOCIAL_MEDIA: 6, CH.EMAIL: 3, CH.MESSAGING: 2})

CQ = choices.Consequence
CONSEQUENCES = (
    (CQ.AVOIDED_ISSUE, 0.18),
    (CQ.CHANGED_DECISION, 0.12),
    (CQ.SELF_CENSORED, 0.22),
    (CQ.CONSIDERED_LEAVING, 0.14),
)

# Reported to the police, by the first category.
POLICE_YES: dict[str, float] = {
    C.HARASSMENT: 0.15,
    C.THREAT: 0.38,
    C.VIOLENCE: 0.6,
    C.DAMAGE: 0.45,
    C.THEFT: 0.5,
    C.BRIBERY: 0.2,
    C.FAVOUR_CORRUPTION: 0.2,
    C.INFILTRATION: 0.2,
    C.PRESSURE: 0.1,
    C.DISINFORMATION: 0.12,
    C.CYBER: 0.3,
}

PK = choices.PerpetratorKind
PERPETRATOR = _Pick(
    {
        PK.UNKNOWN: 35,
        PK.ANGRY_CITIZEN: 26,
        PK.OBSESSIVE_COMPLAINANT: 11,
        PK.SEVERAL: 7,
        PK.ORGANISED_CRIME: 4,
        PK.VIOLENT_EXTREMISM: 4,
        PK.FOREIGN_POWER: 1,
        PK.COMPANY: 3,
        PK.INSIDER: 9,
    }
)
PERPETRATOR_CORRUPT = _Pick(
    {PK.COMPANY: 45, PK.INSIDER: 20, PK.ORGANISED_CRIME: 15, PK.UNKNOWN: 10, PK.SEVERAL: 10}
)
PERPETRATOR_ONLINE = _Pick(
    {
        PK.UNKNOWN: 55,
        PK.FOREIGN_POWER: 12,
        PK.SEVERAL: 13,
        PK.VIOLENT_EXTREMISM: 8,
        PK.ANGRY_CITIZEN: 12,
    }
)

R = choices.ReporterRole
_ROLES: dict[str, float] = {
    R.ELECTED_PART_TIME: 45,
    R.OFFICIAL: 25,
    R.ELECTED_FULL_TIME: 12,
    R.CANDIDATE: 7,
    R.POLITICAL_SECRETARY: 6,
    R.OTHER: 5,
}
ROLE = _Pick(_ROLES)
ROLE_ELECTION = _Pick(_ROLES | {R.CANDIDATE: 15, R.ELECTED_PART_TIME: 40, R.OFFICIAL: 22})
ELECTED = frozenset({R.ELECTED_PART_TIME, R.ELECTED_FULL_TIME, R.CANDIDATE})

# Population in thousands (Stockholm's statistics, rounded), for the district areas.
STOCKHOLM_POPULATION = {
    "rinkeby_kista": 49 * 1.5,
    "spanga_tensta": 39 * 1.5,
    "hasselby_vallingby": 77,
    "bromma": 80,
    "kungsholmen": 72,
    "norrmalm": 74,
    "ostermalm": 73,
    "sodermalm": 133,
    "enskede_arsta_vantor": 105,
    "skarholmen": 38 * 1.5,
    "hagersten_alvsjo": 111,
    "farsta": 59,
    "skarpnack": 48,
}
CITY_WIDE, ELSEWHERE = "city_wide", "elsewhere"


def _district_pick() -> _Pick:
    codes = [code for code, _label in choices.districts()]
    areas = [code for code in codes if code in STOCKHOLM_POPULATION]
    if not areas:  # a deployment's own list: evenly, and a few not stated
        return _Pick({**dict.fromkeys(codes, 1.0), "": 0.03 * len(codes)})
    weights: dict[str, float] = {}
    scale = 0.76 / sum(STOCKHOLM_POPULATION[code] for code in areas)
    for code in codes:
        if code in STOCKHOLM_POPULATION:
            weights[code] = STOCKHOLM_POPULATION[code] * scale
        else:
            weights[code] = {CITY_WIDE: 0.18, ELSEWHERE: 0.03}.get(code, 0.01)
    weights[""] = 0.03
    return _Pick(weights)


GENDER = _Pick({"woman": 47, "man": 51, "other": 2})
AGE_BAND = _Pick({"under_30": 14, "30_44": 30, "45_64": 38, "65_plus": 18})
ASSEMBLY = _Pick(
    {
        "municipal_council": 30,
        "committee": 30,
        "district_council": 22,
        "company_board": 7,
        "executive_board": 6,
        "regional_council": 5,
    }
)
# How people write their party, with Stockholm city council's rough shares of seats.
PARTY = _Pick(
    {
        "Socialdemokraterna": 16,
        "S": 8,
        "socialdemokrat": 4,
        "Moderaterna": 14,
        "M": 8,
        "Vänsterpartiet": 8,
        "V": 4,
        "Sverigedemokraterna": 7,
        "SD": 4,
        "Liberalerna": 6,
        "L": 2,
        "Miljöpartiet": 6,
        "MP": 2,
        "Centerpartiet": 5,
        "C": 2,
        "Kristdemokraterna": 3,
        "KD": 1,
        "Lokala listan": 1,
    }
)

MK = ProtectiveMeasure.Kind
MEASURE = _Pick(
    {
        MK.RISK_TALK: 40,
        MK.OCCUPATIONAL_HEALTH: 12,
        MK.PARTY_SECURITY: 8,
        MK.PROTECTED_DETAILS: 6,
        MK.OTHER: 5,
    }
)
MEASURE_ONLINE = _Pick({MK.TAKEDOWN: 60, MK.RISK_TALK: 30, MK.OTHER: 10})
MEASURE_THREAT = _Pick(
    {MK.HOME_SECURITY: 30, MK.RISK_TALK: 40, MK.PERSONAL_PROTECTION: 8, MK.PROTECTED_DETAILS: 22}
)
RISK_LEVEL = _Pick({"low": 50, "elevated": 32, "high": 15, "acute": 3})
CLOSED_REASON = _Pick(
    {"handled": 75, "police": 10, "no_action": 12, "duplicate": 2, "no_contact": 1}
)

# Hours of the day a report is sent (Stockholm time), relative weights.
HOUR = _Pick(
    {
        str(hour): weight
        for hour, weight in enumerate([0.3] * 7 + [1.0] * 2 + [1.6] * 8 + [1.3] * 6 + [0.6])
    }
)

# Descriptions: synthetic, and saying so, in the language of the demo reports.
_WHAT: dict[str, str] = {
    C.HARASSMENT: "Upprepade kränkningar riktade mot mig",
    C.THREAT: "Hot riktade mot mig",
    C.VIOLENCE: "Jag blev knuffad och slagen",
    C.DAMAGE: "Skadegörelse mot min bil och mitt hem",
    C.THEFT: "Stöld av handlingar och min dator",
    C.BRIBERY: "Ett erbjudande om förmåner i utbyte mot mitt stöd",
    C.FAVOUR_CORRUPTION: "En bekant ville att jag gynnade hans företag",
    C.INFILTRATION: "En person sökte sig nära mig för att komma åt ärenden",
    C.PRESSURE: "Påtryckningar för att jag skulle ändra min hållning",
    C.DISINFORMATION: "Falska uppgifter och ett falskt konto i mitt namn",
    C.CYBER: "Försök att ta över mina konton",
}
_WHERE: dict[str, str] = {
    CH.FACE_TO_FACE: "ansikte mot ansikte",
    CH.AT_HOME: "vid min bostad",
    CH.PHONE: "per telefon",
    CH.MESSAGING: "i sms och meddelandeappar",
    CH.EMAIL: "per e-post",
    CH.LETTER: "i brev",
    CH.SOCIAL_MEDIA: "i sociala medier",
    CH.PUBLIC_MEETING: "vid ett offentligt möte",
    CH.THIRD_PARTY: "genom en annan person",
    CH.OTHER: "på annat sätt",
}


@dataclass(frozen=True)
class _Draft:
    """One report as drawn, before it is written."""

    submitted_at: datetime
    categories: tuple[str, ...]
    channels: tuple[str, ...]
    consequences: tuple[str, ...]
    plain: dict[str, Any]
    profile: dict[str, str]
    description: str


class _Drawer:
    """Draws reports: what each says, who sent it and what it is about."""

    def __init__(self, rng: random.Random) -> None:
        self.rng = rng
        self.district = _district_pick()

    def report(self, at: datetime, in_election: bool) -> _Draft:
        rng = self.rng
        first = CATEGORY(rng)
        categories = [first]
        chance, second = SECOND_CATEGORY.get(first, (0.0, CATEGORY))
        if rng.random() < chance:
            other = second(rng)
            if other != first:
                categories.append(other)
        severe = first in (C.THREAT, C.VIOLENCE)

        if first in VIOLENT:
            channel_pick = CHANNEL_VIOLENT
        elif first in CORRUPT:
            channel_pick = CHANNEL_CORRUPT
        elif first in ONLINE:
            channel_pick = CHANNEL_ONLINE
        else:
            channel_pick = CHANNEL_ELECTION if in_election else CHANNEL
        channels = [channel_pick(rng)]
        if rng.random() < 0.2:
            other = CHANNEL(rng)
            if other not in channels:
                channels.append(other)

        lift = 1.2 if severe else 1.0
        consequences = [code for code, share in CONSEQUENCES if rng.random() < share * lift]
        if not consequences and rng.random() < 0.7:
            consequences = [CQ.NONE]

        role = (ROLE_ELECTION if in_election else ROLE)(rng)
        profile = self._profile(role)
        roll = rng.random()
        police = "yes" if roll < POLICE_YES[first] else "unsure" if roll > 0.92 else "no"
        if first in CORRUPT:
            perpetrator = PERPETRATOR_CORRUPT(rng)
        elif first in ONLINE:
            perpetrator = PERPETRATOR_ONLINE(rng)
        else:
            perpetrator = PERPETRATOR(rng)
        personal = first in (C.HARASSMENT, C.THREAT, C.VIOLENCE)
        sexual = personal and rng.random() < (0.08 if profile["gender"] == "woman" else 0.02)
        acute = rng.random() < (0.04 if severe else 0.02)
        target_roll = rng.random()
        target = (
            "relative" if target_roll < 0.08 else "colleague" if target_roll < 0.15 else "myself"
        )
        on_behalf = rng.random() < 0.05

        sent_on = timezone.localtime(at, STOCKHOLM).date()
        delay_roll = rng.random()
        delay = (
            0
            if delay_roll < 0.35
            else rng.randint(1, 3)
            if delay_roll < 0.7
            else rng.randint(4, 14)
            if delay_roll < 0.9
            else rng.randint(15, 60)
        )
        incident = sent_on - timedelta(days=delay)
        discovered = None
        if delay and rng.random() < 0.1:
            discovered = incident + timedelta(days=rng.randint(0, delay))
        plain = {
            "district": self.district(rng),
            "reporter_role": role,
            "target": target,
            "perpetrator_kind": perpetrator,
            "police_reported": police,
            "sexual_nature": sexual,
            "is_acute": acute,
            "repeat": rng.random() < 0.3,
            "needs_support": rng.random() < 0.25,
            "media_interest": rng.random() < (0.10 if in_election else 0.05),
            "on_behalf_of_other": on_behalf,
            "consent_recorded": on_behalf,
            "incident_date": incident,
            "incident_date_approximate": rng.random() < (0.4 if delay > 14 else 0.1),
            "discovered_date": discovered,
        }
        description = (
            f"[Syntetisk historik] {_WHAT[first]} {_WHERE[channels[0]]}. "
            f"Rapport {rng.randint(1000, 9999)}."
        )
        return _Draft(
            submitted_at=at,
            categories=tuple(categories),
            channels=tuple(channels),
            consequences=tuple(consequences),
            plain=plain,
            profile=profile,
            description=description,
        )

    def _profile(self, role: str) -> dict[str, str]:
        rng = self.rng
        elected = role in ELECTED
        political = elected or role == R.POLITICAL_SECRETARY
        gender = GENDER(rng) if rng.random() < 0.85 else ""
        age_band = AGE_BAND(rng) if rng.random() < 0.8 else ""
        assembly = ""
        if rng.random() < 0.75:
            assembly = ASSEMBLY(rng) if elected else "none"
        chair = "yes" if elected and rng.random() < 0.125 else ""
        party = PARTY(rng) if rng.random() < (0.33 if political else 0.02) else ""
        return {
            "gender": gender,
            "age_band": age_band,
            "assembly": assembly,
            "chair_post": chair,
            "party": party,
        }


# --- When reports are sent -----------------------------------------------------------------


def _poisson(rng: random.Random, mean: float) -> int:
    if mean <= 0:
        return 0
    if mean > 60:  # the normal approximation is close enough, and O(1)
        return max(0, round(rng.gauss(mean, math.sqrt(mean))))
    limit, count, product = math.exp(-mean), 0, rng.random()
    while product > limit:
        count += 1
        product *= rng.random()
    return count


def _season(day: date) -> float:
    if day.month == 7:
        return 0.6
    if (day.month == 12 and day.day >= 22) or (day.month == 1 and day.day <= 6):
        return 0.7
    return 1.0


def _election_factor(day: date, calendar: Sequence[elections.ElectionPeriod]) -> float:
    period = elections.period_on(day, list(calendar))
    if period is None:
        return 1.0
    if timedelta(0) <= period.polling_day - day < timedelta(weeks=6):
        return 2.0
    return 1.6


WEEK_NOISE_SIGMA = 0.15
SPIKE_CHANCE, SPIKE_FACTOR = 1 / 70, 2.0


def _day_mean(day: date, per_week: float, calendar: Sequence[elections.ElectionPeriod]) -> float:
    """The mean number of reports on ``day``, before the week's own noise."""
    weekday = 1.16 if day.weekday() < 5 else 0.6
    return per_week / 7 * weekday * _season(day) * _election_factor(day, calendar)


def expected_reports(*, start: date, end: date, per_week: float) -> float:
    """How many reports ``generate_history`` writes on average for a window (all of it
    before ``now``), so that a caller can aim at a total."""
    calendar = elections.periods()
    noise = math.exp(WEEK_NOISE_SIGMA**2 / 2) * (1 + SPIKE_CHANCE * (SPIKE_FACTOR - 1))
    days = (end - start).days + 1
    return noise * sum(
        _day_mean(start + timedelta(days=n), per_week, calendar) for n in range(max(days, 0))
    )


def _moments(
    rng: random.Random,
    *,
    start: date,
    end: date,
    per_week: float,
    calendar: Sequence[elections.ElectionPeriod],
    now: datetime,
) -> Iterator[tuple[datetime, bool]]:
    """Every report's time of submission from ``start`` to ``end`` (both days included) and
    whether it falls in an election period, in order; none after ``now``."""
    week_factor = 1.0
    day = start
    while day <= end:
        if day == start or day.weekday() == 0:
            week_factor = rng.lognormvariate(0, WEEK_NOISE_SIGMA)
            if rng.random() < SPIKE_CHANCE:
                week_factor *= SPIKE_FACTOR
        in_election = elections.period_on(day, list(calendar)) is not None
        mean = _day_mean(day, per_week, calendar) * week_factor
        found = []
        for _n in range(_poisson(rng, mean)):
            local = time(int(HOUR(rng)), rng.randrange(60), rng.randrange(60))
            moment = datetime.combine(day, local, tzinfo=STOCKHOLM).astimezone(UTC)
            found.append(moment)
        for moment in sorted(found):
            if moment <= now:
                yield moment, in_election
        day += DAY


# --- How a case went -----------------------------------------------------------------------


def _days(rng: random.Random, low: float, high: float) -> timedelta:
    return timedelta(days=rng.uniform(low, high))


# --- Writing -------------------------------------------------------------------------------


def _adapter(field: models.Field[Any, Any]) -> Callable[[Any], Any] | None:
    """How a value of ``field`` goes into a raw insert, as Django would send it (``None``:
    as it is). The common types are done directly; any other through the field itself."""
    target: Any = field.target_field if isinstance(field, models.ForeignKey) else field
    kind = target.get_internal_type()
    if kind == "UUIDField":
        if connection.features.has_native_uuid_field:
            return None
        return lambda value: value.hex
    if kind == "DateTimeField":
        if connection.vendor == "sqlite" and connection.timezone_name == "UTC":
            # What the SQLite backend stores for an aware time (naive UTC, as text), without
            # its checks, which cost a sixth of the whole generation.
            return lambda value: str(value.astimezone(UTC).replace(tzinfo=None))
        return connection.ops.adapt_datetimefield_value
    if kind == "DateField":
        return connection.ops.adapt_datefield_value
    if kind in {
        "CharField",
        "TextField",
        "BooleanField",
        "IntegerField",
        "BigIntegerField",
        "SmallIntegerField",
        "PositiveSmallIntegerField",
        "PositiveIntegerField",
        "BinaryField",
    }:
        return None
    return lambda value: field.get_db_prep_save(value, connection)


class _Table:
    """Rows of one model for a raw bulk insert: the columns given, in their order, and every
    other column at its field's default (the same in every row, so none of them may be
    unique or lack a default)."""

    def __init__(self, model: type[models.Model], given: Sequence[str]) -> None:
        fields = {field.attname: field for field in model._meta.concrete_fields}
        unknown = set(given) - set(fields)
        if unknown:
            raise ValueError(f"{model.__name__} has no column {sorted(unknown)}")
        rest = [
            field
            for name, field in fields.items()
            if name not in given and not isinstance(field, AutoFieldMixin)
        ]
        constants = []
        for field in rest:
            value = field.get_default()
            if field.unique or (value is None and not field.null):
                raise ValueError(f"{model.__name__}.{field.name} must be given")
            constants.append(field.get_db_prep_save(value, connection))
        self._constants = tuple(constants)
        self._adapt = [
            (index, adapt)
            for index, name in enumerate(given)
            if (adapt := _adapter(fields[name])) is not None
        ]
        columns = [fields[name].column for name in given] + [field.column for field in rest]
        quote = connection.ops.quote_name
        into = f"{quote(model._meta.db_table)} ({', '.join(quote(c) for c in columns)})"
        values = ", ".join(["%s"] * len(columns))
        # Only the models' own table and column names go into the statement.
        self.sql = f"INSERT INTO {into} VALUES ({values})"  # noqa: S608  # nosec B608
        self.copy = f"COPY {into} FROM STDIN"
        self.rows: list[tuple[Any, ...]] = []

    def add(self, *values: Any) -> None:
        row = list(values)
        for index, adapt in self._adapt:
            if row[index] is not None:
                row[index] = adapt(row[index])
        self.rows.append((*row, *self._constants))

    def write(self) -> None:
        if not self.rows:
            return
        with connection.cursor() as cursor:
            if connection.vendor == "postgresql":
                # COPY: about twice as fast overall as a prepared insert per row.
                with cursor.cursor.copy(self.copy) as copy:
                    for row in self.rows:
                        copy.write_row(row)
            else:
                cursor.executemany(self.sql, self.rows)
        self.rows.clear()


_REPORT_PLAIN = (
    "district",
    "reporter_role",
    "target",
    "perpetrator_kind",
    "police_reported",
    "sexual_nature",
    "is_acute",
    "repeat",
    "needs_support",
    "media_interest",
    "on_behalf_of_other",
    "consent_recorded",
    "incident_date",
    "incident_date_approximate",
    "discovered_date",
)
_PROFILE_FIELDS = {
    "profile_gender": "gender",
    "profile_age_band": "age_band",
    "profile_assembly": "assembly",
    "profile_chair_post": "chair_post",
    "profile_party": "party",
}
_CASE_COLUMNS = (
    "id",
    "report_id",
    "status",
    "assignee_id",
    "acknowledge_by",
    "acknowledged_at",
    "feedback_by",
    "feedback_given_at",
    "due_at",
    "closed_at",
    "closed_reason",
    "risk_level",
    "updated_at",
)
_MEASURE_COLUMNS = (
    "id",
    "case_id",
    "kind",
    "owner_id",
    "due_date",
    "status",
    "created_by_id",
    "created_at",
    "completed_at",
    "updated_by_id",
    "updated_at",
    "data_key_id",
    "details",
    "outcome",
)


class _Writer:
    """Seals, collects and writes reports a batch at a time, each batch in one transaction."""

    def __init__(
        self,
        rng: random.Random,
        *,
        references: random.Random,
        now: datetime,
        batch_size: int,
        workers: Sequence[Any],
    ) -> None:
        self.rng = rng
        # References have a generator of their own: one redrawn after a collision then
        # changes no other draw.
        self.reference_rng = references
        self.now = now
        self.batch_size = batch_size
        self.workers = list(workers)
        self.written = 0
        self.keys = _Table(DataKey, ("id", "kek_id", "wrapped", "created_at"))
        self.reports = _Table(
            Report,
            (
                "id",
                "reference",
                "submitted_at",
                "withdrawn_at",
                "data_key_id",
                *_REPORT_PLAIN,
                *ENCRYPTED_REPORT_FIELDS,
            ),
        )
        self.tags = _Table(ReportTag, ("report_id", "kind", "code"))
        self.cases = _Table(Case, _CASE_COLUMNS)
        self.measures = _Table(ProtectiveMeasure, _MEASURE_COLUMNS)
        self.pending: list[tuple[_Draft, uuid.UUID]] = []

    def add(self, draft: _Draft) -> None:
        self.pending.append((draft, uuid.uuid4()))
        if len(self.pending) >= self.batch_size:
            self.flush()

    def flush(self) -> None:
        if not self.pending:
            return
        references = self._references(len(self.pending))
        for (draft, report_id), reference in zip(self.pending, references, strict=True):
            self._report(draft, report_id, reference)
        with transaction.atomic():
            for table in (self.keys, self.reports, self.tags, self.cases, self.measures):
                table.write()
        self.written += len(self.pending)
        self.pending.clear()

    def _references(self, count: int) -> list[str]:
        """``count`` new references, drawn like ``new_reference`` makes them but from the
        seeded generator, none of them taken already (a million random references would
        likely collide once)."""
        found: dict[str, None] = {}
        while len(found) < count:
            drawn = [self._reference() for _ in range(count - len(found))]
            fresh = [reference for reference in dict.fromkeys(drawn) if reference not in found]
            taken: set[str] = set()
            for at in range(0, len(fresh), 900):
                taken.update(
                    Report.objects.filter(reference__in=fresh[at : at + 900]).values_list(
                        "reference", flat=True
                    )
                )
            found.update((reference, None) for reference in fresh if reference not in taken)
        return list(found)

    def _reference(self) -> str:
        raw = "".join(self.reference_rng.choices(REFERENCE_ALPHABET, k=8))
        return f"VN-{raw[:4]}-{raw[4:]}"

    def _data_key(self, created_at: datetime) -> tuple[uuid.UUID, AESGCM]:
        key_id = uuid.uuid4()
        key = crypto.new_data_key()
        kek_id, wrapped = crypto.wrap_data_key(key, data_key_id=key_id)
        self.keys.add(key_id, kek_id, wrapped, created_at)
        return key_id, AESGCM(key)

    def _report(self, draft: _Draft, report_id: uuid.UUID, reference: str) -> None:
        rng = self.rng
        at = draft.submitted_at
        key_id, aead = self._data_key(at)
        binding = str(report_id)
        texts = {
            "description": draft.description,
            **{field: draft.profile[name] for field, name in _PROFILE_FIELDS.items()},
        }
        sealed = [
            crypto.seal_field(
                aead,
                crypto.pad(texts[field].encode()) if texts.get(field) else _EMPTY,
                aad=crypto.field_aad(_REPORT_LABEL, field, binding),
            )
            for field in ENCRYPTED_REPORT_FIELDS
        ]
        withdrawn_at = at + _days(rng, 0.1, 30) if rng.random() < 0.015 else None
        if withdrawn_at is not None and withdrawn_at > self.now:
            withdrawn_at = None
        self.reports.add(
            report_id,
            reference,
            at,
            withdrawn_at,
            key_id,
            *(draft.plain[name] for name in _REPORT_PLAIN),
            *sealed,
        )
        for kind, codes in (
            (ReportTag.Kind.CATEGORY, draft.categories),
            (ReportTag.Kind.CHANNEL, draft.channels),
            (ReportTag.Kind.CONSEQUENCE, draft.consequences),
        ):
            for code in codes:
                self.tags.add(report_id, kind.value, code)
        self._case(draft, report_id, withdrawn_at)

    def _case(self, draft: _Draft, report_id: uuid.UUID, withdrawn_at: datetime | None) -> None:
        """The case as it stands ``now``: its planned course, cut off where ``now`` is."""
        rng, now, at = self.rng, self.now, draft.submitted_at
        acute = bool(draft.plain["is_acute"])
        acknowledge_by = deadlines.acknowledge_by(submitted_at=at, is_acute=acute)
        if acute:
            acknowledged = at + timedelta(minutes=rng.uniform(3, 50))
        else:
            roll = rng.random()
            acknowledged = at + (
                _days(rng, 0.05, 1)
                if roll < 0.6
                else _days(rng, 1, 3)
                if roll < 0.85
                else _days(rng, 3, 7)
                if roll < 0.95
                else _days(rng, 7, 21)
            )
        assessing = acknowledged + _days(rng, 0, 2)
        first = draft.categories[0]
        measure_share = (
            0.45 if first in (C.THREAT, C.VIOLENCE) else 0.3 if first == C.HARASSMENT else 0.15
        )
        measures_at = assessing + _days(rng, 0.5, 10) if rng.random() < measure_share else None
        no_action = measures_at is None and rng.random() < 0.12
        if no_action:
            feedback = None
            closed = assessing + _days(rng, 1, 14)
            reason = "no_action"
        else:
            feedback = acknowledged + (
                _days(rng, 10, 85) if rng.random() < 0.85 else _days(rng, 92, 130)
            )
            closed = feedback + _days(rng, 0.5, 30)
            reason = CLOSED_REASON(rng)
        if withdrawn_at is not None:
            closed, reason = withdrawn_at, "withdrawn"

        status = Case.Status.RECEIVED
        acknowledged_at = feedback_by = feedback_given_at = closed_at = None
        closed_reason = risk_level = ""
        updated = at
        due_at: datetime | None = acknowledge_by
        if acknowledged <= min(now, closed):
            status, updated = Case.Status.ACKNOWLEDGED, acknowledged
            acknowledged_at = acknowledged
            feedback_by = deadlines.feedback_by(acknowledged_at=acknowledged)
            due_at = feedback_by
            if assessing <= min(now, closed):
                status, updated = Case.Status.ASSESSING, assessing
                risk_level = "acute" if acute else RISK_LEVEL(rng)
            if measures_at is not None and measures_at <= min(now, closed):
                status, updated = Case.Status.MEASURES, measures_at
            if feedback is not None and feedback <= min(now, closed):
                status, updated = Case.Status.FEEDBACK_GIVEN, feedback
                feedback_given_at, due_at = feedback, None
        if closed <= now:
            status, updated = Case.Status.CLOSED, closed
            closed_at, closed_reason, due_at = closed, reason, None
        assignee = (
            rng.choice(self.workers).pk if self.workers and status != Case.Status.RECEIVED else None
        )
        case_id = uuid.uuid4()
        self.cases.add(
            case_id,
            report_id,
            status.value,
            assignee,
            acknowledge_by,
            acknowledged_at,
            feedback_by,
            feedback_given_at,
            due_at,
            closed_at,
            closed_reason,
            risk_level,
            updated,
        )
        if measures_at is not None and measures_at <= min(now, closed):
            self._measures(draft, case_id, measures_at, assignee, closed_at)

    def _measures(
        self,
        draft: _Draft,
        case_id: uuid.UUID,
        created: datetime,
        owner: object,
        closed_at: datetime | None,
    ) -> None:
        rng = self.rng
        first = draft.categories[0]
        if first in ONLINE or CH.SOCIAL_MEDIA in draft.channels:
            pick = MEASURE_ONLINE
        elif first in (C.THREAT, C.VIOLENCE, C.DAMAGE):
            pick = MEASURE_THREAT
        else:
            pick = MEASURE
        kinds = dict.fromkeys(pick(rng) for _ in range(rng.choice((1, 1, 1, 2, 2, 3))))
        # Nothing happens after ``now`` or after the case was closed; a closed case's
        # measures are done (or cancelled) by then.
        end = min(self.now, closed_at) if closed_at else self.now
        for kind in kinds:
            made = min(created + _days(rng, 0, 3), end)
            finished = made + _days(rng, 1, 30)
            status, completed = ProtectiveMeasure.Status.PLANNED.value, None
            if finished <= end or closed_at is not None:
                completed = min(finished, end)
                cancelled = rng.random() < 0.08
                status = (
                    ProtectiveMeasure.Status.CANCELLED
                    if cancelled
                    else ProtectiveMeasure.Status.DONE
                ).value
            measure_id = uuid.uuid4()
            key_id, aead = self._data_key(made)
            binding = str(measure_id)
            details, outcome = (
                crypto.seal_field(
                    aead, _EMPTY, aad=crypto.field_aad(_MEASURE_LABEL, field, binding)
                )
                for field in ("details", "outcome")
            )
            self.measures.add(
                measure_id,
                case_id,
                kind,
                owner,
                timezone.localtime(made + timedelta(days=14), STOCKHOLM).date(),
                status,
                owner,
                made,
                completed,
                owner,
                completed or made,
                key_id,
                details,
                outcome,
            )


# --- The entry points ----------------------------------------------------------------------


def generate_history(
    *,
    start: date,
    end: date,
    per_week: float,
    seed: int,
    batch_size: int = 5000,
    workers: Sequence[User] = (),
    now: datetime | None = None,
) -> int:
    """Write synthetic reports sent from ``start`` to ``end`` (both days included, none
    after ``now``), about ``per_week`` in an ordinary week; returns how many.

    Deterministic given ``seed`` and the window (see the module's docstring for what is
    drawn). Cases not yet received are assigned at random to ``workers``, if any. Writes in
    batches of ``batch_size`` reports, one transaction each, so memory stays flat. The trend
    cells are not touched: rebuild them afterwards (``trends.trends_rebuild``).
    """
    if end < start:
        return 0
    now = now or timezone.now()
    name = f"varn-synthetic:{GENERATOR_VERSION}:{seed}:{start}:{end}"

    def stream(purpose: str) -> random.Random:
        # A generator for each purpose, each drawn from in a fixed order: when a batch is
        # written (and its cases drawn) then changes no draw.
        # Reproducible on purpose: nothing drawn here is a secret.
        return random.Random(f"{name}:{purpose}")  # noqa: S311  # nosec B311

    calendar = elections.periods()
    drawer = _Drawer(stream("reports"))
    writer = _Writer(
        stream("cases"),
        references=stream("references"),
        now=now,
        batch_size=batch_size,
        workers=workers,
    )
    with _bulk_loading():
        for moment, in_election in _moments(
            stream("times"), start=start, end=end, per_week=per_week, calendar=calendar, now=now
        ):
            writer.add(drawer.report(moment, in_election))
        writer.flush()
    return writer.written


@contextmanager
def _bulk_loading() -> Iterator[None]:
    """On SQLite, while loading: a page cache of 256 MiB (every batch inserts into a dozen
    indexes at random places; the default 2 MiB cache reads their pages again and again) and
    commits that do not wait for the disk (``synchronous=NORMAL``: in WAL mode a crash may
    lose the last batches, never the database's consistency; SQLite allows the change only
    outside a transaction). Both are put back after."""
    if connection.vendor != "sqlite":
        yield
        return
    pragmas = {"cache_size": "-262144"}
    if not connection.in_atomic_block:
        pragmas["synchronous"] = "NORMAL"
    with connection.cursor() as cursor:
        before: dict[str, int] = {}
        for name, setting in pragmas.items():
            cursor.execute(f"PRAGMA {name}")
            before[name] = int(cursor.fetchone()[0])
            cursor.execute(f"PRAGMA {name} = {setting}")
    try:
        yield
    finally:
        with connection.cursor() as cursor:
            for name, old in before.items():
                cursor.execute(f"PRAGMA {name} = {old}")


def previous_election_window(until: date) -> tuple[date, date] | None:
    """The period of the election the trends page compares the latest one with: the latest
    election period started by ``until`` and, before it, the last of the same kind (on
    2026-11-25: the 2026 general elections, and so the 2022 ones, 2022-03-11 to
    2022-10-11)."""
    calendar = elections.periods()
    started = [period for period in calendar if period.starts <= until]
    if not started:
        return None
    previous = elections.previous_of(started[-1], calendar)
    return (previous.starts, previous.ends) if previous else None


def history_windows(*, until: date, years: int) -> list[tuple[date, date]]:
    """The windows to generate: the ``years`` up to ``until``, and the previous election's
    period (see ``previous_election_window``), merged where they overlap, in order."""
    windows = [(until - relativedelta(years=years) + DAY, until)] if years > 0 else []
    previous = previous_election_window(until)
    if previous is not None and previous[0] <= until:
        windows.append((previous[0], min(previous[1], until)))
    windows.sort()
    merged: list[tuple[date, date]] = []
    for start, end in windows:
        if merged and start <= merged[-1][1] + DAY:
            merged[-1] = (merged[-1][0], max(merged[-1][1], end))
        else:
            merged.append((start, end))
    return merged


def generate_trend_history(
    *,
    until: date,
    years: int = 2,
    per_week: float = DEFAULT_PER_WEEK,
    seed: int = 1,
    workers: Sequence[User] = (),
    batch_size: int = 5000,
) -> int:
    """Generate every window of ``history_windows``; returns how many reports. The caller
    rebuilds the trend cells and publishes the figures."""
    return sum(
        generate_history(
            start=start,
            end=end,
            per_week=per_week,
            seed=seed,
            workers=workers,
            batch_size=batch_size,
        )
        for start, end in history_windows(until=until, years=years)
    )
