"""Create one demo account per role (development only) and print how to sign in.

The first run makes the accounts with random passwords and backup codes and keeps them in
``var/demo-accounts.json`` (mode 0600, git-ignored); later runs keep the data and print the
same accounts again, marking backup codes that have been used.

The two demo reporters also get a few realistic reports in Swedish (the first three, one
with an encrypted attachment; the second one), filed through the same service and
encryption as the intake form. A reporter who already has reports gets none added.

Behind them, the leadership's trends get two years of synthetic history (and the previous
election's period, which the trends page compares with), written in bulk by
``influence_reports.synthetic``, once: a database that already holds a report older than
``HISTORY_MARKER_DAYS`` has its history (the demo reports are all more recent), so running
``make run`` again adds none. The trend cells are then rebuilt and the figures published;
later runs publish again if a week has ended since, so that it counts too. Under ``VARN_ENV=test``
the history is left out unless ``--history`` asks for it: the suite's demo tests are about
the demo reports, and the history takes seconds.
"""

from __future__ import annotations

import argparse
import json
import os
import secrets
import time as clock
import uuid
from dataclasses import dataclass, replace
from datetime import time, timedelta
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import transaction
from django.utils import timezone

from influence_reports import evidence, release, synthetic, trends
from influence_reports.models import Case, Report, RosterEntry, TrendRelease
from influence_reports.services import case_work, cases, reports, roster
from security_core import backup_codes, services
from security_core.models import BackupCode, User
from security_core.roles import Role

DEMO_ACCOUNTS = [
    ("reporter@demo.varn.test", "Rut Rapportör", Role.REPORTER),
    ("reporter2@demo.varn.test", "Rolf Rapportör", Role.REPORTER),
    ("handler@demo.varn.test", "Hanna Handläggare", Role.HANDLER),
    ("tib@demo.varn.test", "Tore i Beredskap", Role.DUTY_OFFICER),
    ("security-lead@demo.varn.test", "Sara Säkerhetschef", Role.SECURITY_LEAD),
    ("leadership@demo.varn.test", "Lena Ledning", Role.LEADERSHIP),
    ("auditor@demo.varn.test", "Anders Revisor", Role.AUDITOR),
    ("admin@demo.varn.test", "Ada Administratör", Role.ADMIN),
    ("kib@demo.varn.test", "Kim i Beredskap", Role.COMMUNICATIONS),
]


DEMO_REPORTER = "reporter@demo.varn.test"
HANDLER = "handler@demo.varn.test"
ROTA = (  # duty, start, end, who: every day, around the clock
    ("tib", time(8), time(17), "tib@demo.varn.test"),
    ("tib", time(17), time(8), "tib@demo.varn.test"),
    ("kib", time(8), time(20), "kib@demo.varn.test"),
    ("kib", time(20), time(8), "kib@demo.varn.test"),
)
SECOND_REPORTER = "reporter2@demo.varn.test"
# A report older than this means the synthetic history is there already.
HISTORY_MARKER_DAYS = 90
HISTORY_YEARS = 2
HISTORY_SEED = 2026
HISTORY_WORKERS = (HANDLER, "tib@demo.varn.test", "security-lead@demo.varn.test")


@dataclass(frozen=True)
class DemoReport:
    """One demo report; dates are days before the day the command runs."""

    data: reports.ReportData
    incident_days_ago: int
    submitted_days_ago: float
    attachments: tuple[tuple[str, str], ...] = ()  # (file name, text content)
    discovered_days_ago: int | None = None
    case_path: tuple[str, ...] = ()  # the statuses its case has been moved through
    assignee: str | None = None  # the e-mail of the case worker it is assigned to
    worked: bool = False  # whether its case shows a risk assessment, measures and a referral


THREAT_TRANSCRIPT = """\
Avskrift av skärmdumpar, gjord av Rut Rapportör
Plattform: Facebook, gruppen "Sanningen om Bromma" och direktmeddelande (Messenger)
Avsändare: kontot "Bromma Patriot" (@bromma_patriot_demo)

1) Inlägg i gruppen, tisdag kl. 21.47, tre dagar före omröstningen:
"Rut Rapportör tror att hon kan köra över oss som bor här. Vi vet vilken bil hon kör
och vi vet var hon bor. Rösta nej till bygglovet på torsdag, annars får hon ta
konsekvenserna. Dela så att alla vet vem hon är."
(Inlägget hade 41 reaktioner och 17 delningar när jag tog skärmdumpen kl. 22.10.)

2) Kommentar under inlägget, samma kväll kl. 22.03, från samma konto:
"Hon har barn på skolan bakom Ica. Bara så ni vet."

3) Direktmeddelande till mig, onsdag kl. 06.12:
"Sista chansen. Ingen kommer att hjälpa dig efter torsdag."

Skärmdumparna finns kvar i min telefon. Inlägget i gruppen togs bort på onsdagskvällen,
men jag hann spara länken och skärmdumparna.
"""

DEMO_REPORTS: dict[str, list[DemoReport]] = {
    DEMO_REPORTER: [
        DemoReport(
            data=reports.ReportData(
                description=(
                    "Inför kommunfullmäktiges omröstning om bygglovet för flerbostadshusen vid "
                    "Ulvsundavägen fick jag hot i sociala medier. Ett konto skrev i en lokal "
                    "Facebookgrupp att de vet var jag bor och vilken bil jag kör, och att jag "
                    'ska "ta konsekvenserna" om jag röstar ja. Samma konto skrev till mig '
                    "direkt morgonen efter. Någon kommenterade också var mina barn går i skolan."
                    "\n\nJag röstade enligt gruppens linje, men jag valde att inte säga något i "
                    "debatten, vilket jag annars hade gjort. Jag har polisanmält och bifogar en "
                    "avskrift av skärmdumparna."
                ),
                reporter_role="elected_part_time",
                categories=("threat", "harassment"),
                channels=("social_media", "messaging"),
                consequences=("self_censored",),
                district="bromma",
                perpetrator_kind="angry_citizen",
                police_reported="yes",
                repeat=True,
                needs_support=True,
                media_interest=True,
                encrypted={
                    "perpetrator_details": (
                        'Okänd person bakom kontot "Bromma Patriot". Kontot startades för '
                        "två månader sedan och skriver nästan bara om bygglovet."
                    ),
                    "perpetrator_identifiers": (
                        "facebook.com/bromma_patriot_demo\n@bromma_patriot_demo (Messenger)"
                    ),
                    "location_details": 'Facebookgruppen "Sanningen om Bromma" och Messenger',
                    "linked_decision": (
                        "Kommunfullmäktiges beslut om bygglov för flerbostadshus vid "
                        "Ulvsundavägen (detaljplan Dp 2023-04567)"
                    ),
                    "police_reference": "5000-K123456-25",
                    "contact_details": "Mobil 070-174 06 42, helst efter kl. 16 på vardagar.",
                    "profile_assembly": "municipal_council",
                    "profile_age_band": "45_64",
                    "profile_gender": "woman",
                },
            ),
            incident_days_ago=24,
            submitted_days_ago=22,
            attachments=(("skarmdump-beskrivning.txt", THREAT_TRANSCRIPT),),
            case_path=("acknowledged", "assessing", "measures"),
            assignee="handler@demo.varn.test",
            worked=True,
        ),
        DemoReport(
            data=reports.ReportData(
                description=(
                    "En säljare som företräder Exempelbygg AB bjöd in mig till en "
                    '"studieresa" till Barcelona med middag och hotell, betald av företaget, '
                    "två veckor innan trafiknämnden skulle anta tilldelningsbeslutet i "
                    'upphandlingen av vinterväghållning. Han sa att det vore "bra för '
                    'samarbetet" om jag såg till att deras anbud fick en ny bedömning. Jag '
                    "tackade nej på plats och fick samma erbjudande igen i ett mejl dagen efter."
                    "\n\nJag anmälde jäv och deltog inte i beslutet."
                ),
                reporter_role="elected_part_time",
                categories=("bribery",),
                channels=("face_to_face", "email"),
                consequences=("avoided_issue",),
                district="city_wide",
                perpetrator_kind="company",
                incident_date_approximate=True,
                encrypted={
                    "perpetrator_details": (
                        "Säljare hos Exempelbygg AB som har lämnat anbud i upphandlingen. Vi "
                        "träffades på ett branschmingel i Stadshuset."
                    ),
                    "perpetrator_identifiers": (
                        "forsaljning@exempelbygg.example\n070-174 06 77\n"
                        "Organisationsnummer 556000-0000"
                    ),
                    "location_details": "Branschmingel i Stadshuset, sedan mejl",
                    "linked_decision": (
                        "Trafiknämndens tilldelningsbeslut i upphandlingen av "
                        "vinterväghållning 2025-2029"
                    ),
                    "profile_assembly": "committee",
                },
            ),
            incident_days_ago=47,
            submitted_days_ago=45,
            case_path=("acknowledged", "assessing", "feedback_given", "closed"),
            assignee="handler@demo.varn.test",
        ),
        DemoReport(
            data=reports.ReportData(
                description=(
                    "Under en vecka har en man stått utanför mitt hus flera kvällar och "
                    "fotograferat huset, min bil och vilka som kommer och går. En granne såg "
                    "honom anteckna våra tider. I går låg en lapp i brevlådan med mitt "
                    "personnummer och min dotters namn, utan avsändare. Jag tror att det hänger "
                    "ihop med inläggen om bygglovet.\n\nJag funderar på att lämna mitt uppdrag "
                    "och vill gärna ha hjälp med en säkerhetsbedömning av hemmet."
                ),
                reporter_role="elected_part_time",
                categories=("harassment",),
                channels=("at_home", "letter"),
                consequences=("considered_leaving",),
                district="hagersten_alvsjo",
                perpetrator_kind="unknown",
                police_reported="unsure",
                repeat=True,
                needs_support=True,
                encrypted={
                    "perpetrator_details": (
                        "Man i 30-40-årsåldern, mörk jacka, kom i en grå kombi. "
                        "Registreringsnumret såg jag inte."
                    ),
                    "location_details": "Utanför vår bostad och i brevlådan",
                    "contact_details": "Ring inte hem. Mobil 070-174 06 42.",
                },
            ),
            incident_days_ago=8,
            discovered_days_ago=2,
            submitted_days_ago=2,
        ),
    ],
    SECOND_REPORTER: [
        DemoReport(
            data=reports.ReportData(
                description=(
                    "Efter att nämnden drog in ett serveringstillstånd har en man ringt mig på "
                    "jobbet sex gånger på två dagar. Han skriker att jag har förstört hans liv, "
                    "att han vet vilken tunnelbana jag tar hem och att jag ska ändra beslutet "
                    '"innan något händer".'
                ),
                reporter_role="official",
                categories=("threat", "pressure"),
                channels=("phone",),
                consequences=("none",),
                district="rinkeby_kista",
                perpetrator_kind="obsessive_complainant",
                encrypted={
                    "perpetrator_identifiers": "070-174 06 91",
                    "linked_decision": "Återkallat serveringstillstånd (dnr 2025/123)",
                },
            ),
            incident_days_ago=10,
            submitted_days_ago=9,  # not yet acknowledged: overdue, as the queue shows
        ),
        DemoReport(
            data=reports.ReportData(
                description=(
                    "Just nu står en man utanför stadsdelsförvaltningen och skriker mitt namn. "
                    "Han har följt efter mig från tunnelbanan och sa att han väntar tills jag "
                    "går hem. Jag har ringt 112 och sitter inlåst på mitt rum."
                ),
                reporter_role="official",
                categories=("threat",),
                channels=("face_to_face",),
                district="rinkeby_kista",
                perpetrator_kind="obsessive_complainant",
                is_acute=True,
                police_reported="yes",
                media_interest=True,
                encrypted={
                    "perpetrator_identifiers": "070-174 06 91",
                    "location_details": "Utanför entrén till stadsdelsförvaltningen",
                    "contact_details": "Mobil 070-174 06 55",
                },
            ),
            incident_days_ago=0,
            submitted_days_ago=25 / (24 * 60),  # 25 minutes ago: acute, not acknowledged
        ),
    ],
}


def _password() -> str:
    words = secrets.token_urlsafe(12)
    return f"Demo-{words}"


class Command(BaseCommand):
    help = "Create the demo accounts (development only) and print their sign-in details."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--history",
            action=argparse.BooleanOptionalAction,
            default=None,
            help=(
                "Add the synthetic history behind the trends, once (the default, except "
                "under VARN_ENV=test, where the suite's demo tests want the demo reports alone)."
            ),
        )

    def handle(self, *args: Any, **options: Any) -> None:
        if settings.VARN_ENV == "production":
            raise CommandError("Demo data is never loaded in production.")
        path = settings.VAR_DIR / "demo-accounts.json"
        saved: dict[str, dict[str, Any]] = (
            json.loads(path.read_text(encoding="utf-8")) if path.exists() else {}
        )
        with transaction.atomic():
            for email, name, role in DEMO_ACCOUNTS:
                if User.objects.filter(email=email).exists() and email in saved:
                    continue
                password = _password()
                user, _created = User.objects.update_or_create(
                    email=email, defaults={"display_name": name, "role": role, "is_active": True}
                )
                user.set_password(password)
                user.save()
                codes = services.backup_codes_issue(user=user)
                saved[email] = {"password": password, "codes": codes, "role": role.value}
        path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        os.fchmod(fd, 0o600)  # also when an older file was left readable by others
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            json.dump(saved, handle, ensure_ascii=False, indent=2)
        _demo_rota()  # before the reports, so that an acute one pages the duty officer on call
        for email, demo_reports in DEMO_REPORTS.items():
            _file_demo_reports(User.objects.get(email=email), demo_reports)
        history = options["history"]
        if history or (history is None and settings.VARN_ENV != "test"):
            self._history()
        self._print(saved)

    def _history(self) -> None:
        """The synthetic history, unless it is there already; then the figures anew, if a
        week has ended since they were last published (publishing takes a while)."""
        cutoff = timezone.now() - timedelta(days=HISTORY_MARKER_DAYS)
        generated = not Report.objects.filter(submitted_at__lt=cutoff).exists()
        if generated:
            started = clock.perf_counter()
            made = synthetic.generate_trend_history(
                until=timezone.localdate(),
                years=HISTORY_YEARS,
                seed=HISTORY_SEED,
                workers=list(User.objects.filter(email__in=HISTORY_WORKERS)),
            )
            trends.trends_rebuild()  # bulk inserts are not counted as they go
            self.stdout.write(
                f"Synthetic history for the trends: {made} reports, written and counted in "
                f"{clock.perf_counter() - started:.1f} s."
            )
        current = TrendRelease.objects.filter(is_current=True).first()
        if generated or current is None or current.last_week != release.last_whole_week():
            release.release_publish()

    def _print(self, saved: dict[str, dict[str, Any]]) -> None:
        unused = set(
            BackupCode.objects.filter(used_at__isnull=True).values_list("code_hash", flat=True)
        )
        self.stdout.write("")
        self.stdout.write("Demo accounts (development only; kept in var/demo-accounts.json):")
        for email, _name, role in DEMO_ACCOUNTS:
            entry = saved[email]
            self.stdout.write(f"  {role.label}")
            self.stdout.write(f"    e-mail:   {email}")
            self.stdout.write(f"    password: {entry['password']}")
            codes = [
                code if backup_codes.hash_code(code) in unused else f"{code} (used or replaced)"
                for code in entry["codes"]
            ]
            self.stdout.write(f"    backup codes: {', '.join(codes[:5])}")
            self.stdout.write(f"                  {', '.join(codes[5:])}")
        self.stdout.write("")
        self.stdout.write(
            "Sign in at http://127.0.0.1:8000/login/ with an e-mail and password, then a backup "
            "code; staff can then add an authenticator app."
        )
        counts = {
            email: Report.objects.filter(reporter__email=email).count() for email in DEMO_REPORTS
        }
        self.stdout.write(
            f"Demo reports: {sum(counts.values())} ("
            + ", ".join(f"{count} by {email}" for email, count in counts.items())
            + "); a reporter sees their own under My reports."
        )


def _file_demo_reports(reporter: User, demo_reports: list[DemoReport]) -> None:
    """File ``demo_reports`` for ``reporter`` unless they already have reports (all or none)."""
    if Report.objects.filter(reporter=reporter).exists():
        return
    today = timezone.localdate()
    now = timezone.now()
    stored: list[evidence.EncryptedUpload] = []
    try:
        with transaction.atomic():
            for demo in demo_reports:
                report_id = uuid.uuid4()
                uploads = [
                    evidence.store_bytes(name, text.encode("utf-8"), report_id=report_id)
                    for name, text in demo.attachments
                ]
                stored += uploads
                data = replace(
                    demo.data,
                    incident_date=today - timedelta(days=demo.incident_days_ago),
                    discovered_date=(
                        None
                        if demo.discovered_days_ago is None
                        else today - timedelta(days=demo.discovered_days_ago)
                    ),
                )
                # Spread the demo reports over the past weeks, as real ones would be.
                report = reports.report_submit(
                    reporter=reporter,
                    data=data,
                    uploads=uploads,
                    report_id=report_id,
                    submitted_at=now - timedelta(days=demo.submitted_days_ago),
                )
                _work_demo_case(report.case, demo)
    except BaseException:
        for upload in stored:
            upload.discard()  # nothing was filed, so no file may stay behind
        raise


def _work_demo_case(case: Case, demo: DemoReport) -> None:
    """Move a demo report's case along, as the demo head of security and handler did."""
    if not (demo.case_path or demo.assignee):
        return
    if demo.worked:
        _record_demo_work(case, User.objects.get(email=demo.assignee or HANDLER))
    lead = User.objects.get(email="security-lead@demo.varn.test")
    if demo.assignee:
        case = cases.case_assign(
            case=case, assignee=User.objects.get(email=demo.assignee), actor=lead
        )
    worker = case.assignee or lead
    for status in demo.case_path:
        case = cases.case_transition(
            case=case,
            to=status,
            actor=worker,
            reason="Återkoppling lämnad per telefon." if status == "feedback_given" else "",
            closed_reason="handled" if status == "closed" else "",
        )


def _record_demo_work(case: Case, handler: User) -> None:
    case_work.risk_assess(
        case=case,
        actor=handler,
        targeted="family",
        credibility="medium",
        specificity="detailed",
        capacity="some",
        history="earlier",
        imminence="none",
        comment="Känner till bostad, bil och barnens skola. Ingen tidpunkt angiven.",
    )
    measure = case_work.measure_add(
        case=case,
        actor=handler,
        kind="risk_talk",
        owner=handler,
        due_date=timezone.localdate() - timedelta(days=18),
        details="Risksamtal med Rut om vägen hem och barnens skola.",
    )
    case_work.measure_update(
        measure=measure, actor=handler, status="done", outcome="Genomfört per telefon."
    )
    case_work.measure_add(
        case=case,
        actor=handler,
        kind="takedown",
        owner=handler,
        due_date=timezone.localdate() + timedelta(days=3),
        details="Begär att Facebook tar bort inlägget och kontot.",
    )
    case_work.referral_record(
        case=case,
        actor=handler,
        referred_on=timezone.localdate() - timedelta(days=20),
        police_reference="5000-K123456-25",
        restricted_access_requested=True,
        status="investigating",
    )
    case_work.note_add(
        case=case, actor=handler, text="Polisen har kontaktat Rut; ny kontakt om en vecka."
    )


def _demo_rota() -> None:
    """The demo rota, unless one has been kept already."""
    if RosterEntry.objects.exists():
        return
    lead = User.objects.get(email="security-lead@demo.varn.test")
    for duty, starts, ends, email in ROTA:
        for weekday in range(7):
            roster.roster_entry_add(
                actor=lead,
                duty=duty,
                weekday=weekday,
                starts=starts,
                ends=ends,
                user=User.objects.get(email=email),
            )
