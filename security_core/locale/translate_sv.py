"""Swedish translations of every interface string, applied to django.po with polib.

The catalogue (django.po) is the source of truth that Django reads; this script is how we
keep it complete after ``makemessages``: ``python security_core/locale/translate_sv.py``
fills every msgid it knows and lists those it does not.
"""

from __future__ import annotations

import sys
from pathlib import Path

import polib

SV: dict[str, str] = {
    # Roles
    "Reporter (elected representative or official)": "Rapportör (förtroendevald eller tjänsteperson)",
    "Security officer (case handler)": "Säkerhetshandläggare",
    "Duty officer (TiB)": "Tjänsteperson i beredskap (TiB)",
    "Head of security": "Säkerhetschef",
    "Leadership or analyst": "Ledning eller analytiker",
    "Communications officer on call (KiB)": "Kommunikatör i beredskap (KiB)",
    "Auditor or data-protection officer": "Revisor eller dataskyddsombud",
    "System administrator": "Systemadministratör",
    # Model names and fields
    "e-mail address": "e-postadress",
    "name": "namn",
    "role": "roll",
    "active": "aktiv",
    "joined": "skapad",
    "user": "användare",
    "users": "användare",
    "authenticator app": "autentiseringsapp",
    "authenticator apps": "autentiseringsappar",
    "backup codes": "reservkoder",
    "password accepted": "lösenord godkänt",
    "sign-in failed": "inloggning misslyckades",
    "sign-in slowed down": "inloggning fördröjd",
    "locked out": "spärrad",
    "second factor accepted": "andra faktorn godkänd",
    "second factor failed": "andra faktorn misslyckades",
    "authenticator app added": "autentiseringsapp tillagd",
    "backup codes issued": "reservkoder utfärdade",
    "signed out": "utloggad",
    "session expired": "sessionen gick ut",
    "all sessions ended": "alla sessioner avslutade",
    "security event": "säkerhetshändelse",
    "security events": "säkerhetshändelser",
    # Admin
    "Värn administration": "Värn – administration",
    "Accounts and audit": "Konton och granskning",
    # Forms
    "E-mail address": "E-postadress",
    "Password": "Lösenord",
    "Code": "Kod",
    "The six digits from your authenticator app, or one of your backup codes (XXXX-XXXX-XXXX).": "De sex siffrorna från din autentiseringsapp, eller en av dina reservkoder (XXXX-XXXX-XXXX).",
    "Code from the app": "Kod från appen",
    "Enter the six digits the app shows.": "Skriv de sex siffror som appen visar.",
    "This password looks like one that appears in lists of leaked passwords.": "Lösenordet liknar ett som finns i listor över läckta lösenord.",
    "Your password must not be a common or leaked password with small changes.": "Ditt lösenord får inte vara ett vanligt eller läckt lösenord med små ändringar.",
    # Messages from views and middleware
    "You were signed out after a period of inactivity. Please sign in again.": "Du loggades ut eftersom du varit inaktiv en stund. Logga in igen.",
    "Your session has reached its maximum length. Please sign in again.": "Din session har nått sin längsta tillåtna tid. Logga in igen.",
    "Too many failed attempts. Wait %(seconds)d seconds and try again.": "För många misslyckade försök. Vänta %(seconds)d sekunder och försök igen.",
    "The e-mail address or the password is wrong.": "E-postadressen eller lösenordet är fel.",
    "Too many failed attempts from this address. Try again in %(minutes)d minutes, or contact the security staff.": "För många misslyckade försök från den här adressen. Försök igen om %(minutes)d minuter, eller kontakta säkerhetsfunktionen.",
    "Too many wrong codes. Wait %(seconds)d seconds and try again.": "För många felaktiga koder. Vänta %(seconds)d sekunder och försök igen.",
    "The code is wrong, already used or too old.": "Koden är fel, redan använd eller för gammal.",
    "The code could not be checked. Try again, or use a backup code.": "Koden kunde inte kontrolleras. Försök igen, eller använd en reservkod.",
    "QR code for your app": "QR-kod för din app",
    "You already have an authenticator app.": "Du har redan en autentiseringsapp.",
    "Your authenticator app is ready to use.": "Din autentiseringsapp är klar att använda.",
    "The code is wrong or too old. Try the newest code.": "Koden är fel eller för gammal. Prova den senaste koden.",
    "You are signed out.": "Du är utloggad.",
    "Change password": "Byt lösenord",
    "Your password is changed. Other sessions were signed out.": "Ditt lösenord är bytt. Andra inloggningar har loggats ut.",
    "password changed": "lösenord bytt",
    # Layout
    "Skip to content": "Hoppa till innehållet",
    "Main menu": "Huvudmeny",
    "Overview": "Översikt",
    "Account security": "Kontosäkerhet",
    "Administration": "Administration",
    "Sign out": "Logga ut",
    "Sign in": "Logga in",
    "In danger right now? Call 112.": "I fara just nu? Ring 112.",
    "Värn is for reporting what has happened. If you are in danger now, call the police first.": "Värn är till för att rapportera det som har hänt. Är du i fara nu, ring polisen först.",
    # Start page
    "Report threats, harassment and improper influence": "Rapportera hot, trakasserier och otillåten påverkan",
    "In danger right now?": "I fara just nu?",
    "Call <strong>112</strong> first. For other police matters call <strong>114 14</strong>.": "Ring <strong>112</strong> först. För andra polisärenden, ring <strong>114 14</strong>.",
    "Värn is where elected representatives, candidates and officials report threats, harassment, violence and attempts at corruption meant to influence their decisions, and where the organisation's security staff act on them.": "I Värn rapporterar förtroendevalda, kandidater och tjänstepersoner hot, trakasserier, våld och korruptionsförsök som syftar till att påverka deras beslut, och här agerar organisationens säkerhetsfunktion på dem.",
    "What happens to what you tell us": "Vad som händer med det du berättar",
    "Everything you write and every file you attach is encrypted, and only the security staff handling your case can read it.": "Allt du skriver och varje fil du bifogar krypteras, och bara de säkerhetshandläggare som hanterar ditt ärende kan läsa det.",
    "Every time someone reads a report, it is recorded.": "Varje gång någon läser en rapport loggas det.",
    "Leadership sees only anonymous statistics, never a single report.": "Ledningen ser bara anonym statistik, aldrig en enskild rapport.",
    "You will hear from us within seven days, and at once if you are in danger.": "Du får besked inom sju dagar, och genast om du är i fara.",
    "How to report": "Så rapporterar du",
    "Sign in with your account to file a report and follow it.": "Logga in med ditt konto för att göra en rapport och följa den.",
    "Reporting without an account, with a receipt code instead, is coming soon.": "Snart kan du också rapportera utan konto, med en kvittokod i stället.",
    # Sign-in pages
    "Step 1 of 2: your e-mail address and password. Next you confirm with a code.": "Steg 1 av 2: din e-postadress och ditt lösenord. Sedan bekräftar du med en kod.",
    "Continue": "Fortsätt",
    "Forgotten your password or lost your phone? Contact the security staff or IT support.": "Glömt lösenordet eller tappat bort telefonen? Kontakta säkerhetsfunktionen eller IT-supporten.",
    "Confirm with a code": "Bekräfta med en kod",
    "Step 2 of 2: enter the code your authenticator app shows now, or one of your backup codes. Each backup code works once.": "Steg 2 av 2: skriv koden som din autentiseringsapp visar just nu, eller en av dina reservkoder. Varje reservkod fungerar en gång.",
    "Confirm": "Bekräfta",
    "No phone and no backup codes left? Contact IT support; they can remove the old device so you can add a new one.": "Ingen telefon och inga reservkoder kvar? Kontakta IT-supporten; de kan ta bort den gamla enheten så att du kan lägga till en ny.",
    "Add an authenticator app": "Lägg till en autentiseringsapp",
    "Your account needs a second factor. Use an authenticator app on your phone, for example one from your organisation, Microsoft Authenticator, Google Authenticator or FreeOTP.": "Ditt konto behöver en andra faktor. Använd en autentiseringsapp i telefonen, till exempel den din organisation anvisar, Microsoft Authenticator, Google Authenticator eller FreeOTP.",
    "Scan this QR code with the app:": "Skanna QR-koden med appen:",
    "Or type this key into the app:": "Eller skriv in den här nyckeln i appen:",
    "Enter the six-digit code the app now shows, to prove it works:": "Skriv den sexsiffriga kod som appen nu visar, så att vi vet att den fungerar:",
    "Add the app": "Lägg till appen",
    "Your backup codes": "Dina reservkoder",
    "Your authenticator app is ready.": "Din autentiseringsapp är klar.",
    "If you lose your phone, sign in with one of these codes. Each works once. Write them down or print them now and keep them somewhere safe: they are shown only this once.": "Om du tappar bort telefonen loggar du in med en av de här koderna. Varje kod fungerar en gång. Skriv upp eller skriv ut dem nu och förvara dem säkert: de visas bara den här gången.",
    "Your earlier backup codes no longer work.": "Dina tidigare reservkoder fungerar inte längre.",
    "I have saved my codes": "Jag har sparat mina koder",
    "An authenticator app is set up for your account.": "En autentiseringsapp är kopplad till ditt konto.",
    "No authenticator app is set up yet.": "Ingen autentiseringsapp är kopplad ännu.",
    "Authenticator app": "Autentiseringsapp",
    "Backup codes": "Reservkoder",
    "Make new backup codes": "Skapa nya reservkoder",
    "Sign out now": "Logga ut nu",
    # Landing pages
    "Welcome, %(name)s": "Välkommen, %(name)s",
    "You are signed in as: %(role)s.": "Du är inloggad som: %(role)s.",
    "Backup codes run out. An authenticator app on your phone is the everyday way to confirm that it is you.": "Reservkoderna tar slut. En autentiseringsapp i telefonen är det vardagliga sättet att bekräfta att det är du.",
    "In danger right now? Call <strong>112</strong> before you do anything else.": "I fara just nu? Ring <strong>112</strong> innan du gör något annat.",
    "Your reports": "Dina rapporter",
    "Coming soon: here you will file a report of threats, harassment or improper influence, attach evidence, follow what happens and talk with the person handling it.": "Kommer snart: här rapporterar du hot, trakasserier eller otillåten påverkan, bifogar bevis, följer vad som händer och pratar med den som handlägger ärendet.",
    "Case queue": "Ärendekö",
    "Coming soon: the queue of reported cases with their deadlines, risk assessments, protective measures and police referrals.": "Kommer snart: kön av rapporterade ärenden med tidsfrister, riskbedömningar, skyddsåtgärder och polisanmälningar.",
    "Coming soon: urgent escalations to acknowledge at any hour.": "Kommer snart: brådskande eskaleringar att kvittera dygnet runt.",
    "Trends": "Trender",
    "Coming soon: anonymised trends by category, channel, district, reporter role and week, election periods against the baseline. Small counts are hidden, and no single report is ever shown here.": "Kommer snart: anonymiserade trender per kategori, kanal, stadsdel, rapportörens roll och vecka, valperioder jämfört med normalläget. Små antal döljs, och ingen enskild rapport visas någonsin här.",
    "Media alerts": "Mediebevakning",
    "Coming soon: you will be told when a case has media interest, with its reference and urgency, without access to the case itself.": "Kommer snart: du får veta när ett ärende har medialt intresse, med dess referens och brådska, utan tillgång till själva ärendet.",
    "Audit trail": "Granskningslogg",
    "Changes to accounts, roles and second-factor devices, and sign-in events, can be read in the administration pages.": "Ändringar av konton, roller och tvåfaktorsenheter, och inloggningshändelser, kan läsas på administrationssidorna.",
    "Read the audit trail": "Läs granskningsloggen",
    "Coming soon: the record of every read of a report, and verification of the audit chain.": "Kommer snart: loggen över varje läsning av en rapport, och kontroll av granskningskedjan.",
    "Accounts": "Konton",
    "Create accounts, assign roles, deactivate accounts and remove lost second-factor devices in the administration pages. Every change is recorded with who made it.": "Skapa konton, tilldela roller, inaktivera konton och ta bort borttappade tvåfaktorsenheter på administrationssidorna. Varje ändring loggas med vem som gjorde den.",
    "Manage accounts": "Hantera konton",
    # Error pages
    "The request could not be understood": "Begäran kunde inte förstås",
    "Something in what your browser sent was not valid. Go back and try again.": "Något i det din webbläsare skickade var inte giltigt. Gå tillbaka och försök igen.",
    "Go to the start page": "Gå till startsidan",
    "Not allowed": "Inte tillåtet",
    "You do not have access to this page.": "Du har inte tillgång till den här sidan.",
    "The form has expired": "Formuläret har gått ut",
    "The page was open too long, or you were signed out in the meantime. Go back, reload the page and send the form again.": "Sidan var öppen för länge, eller så loggades du ut under tiden. Gå tillbaka, ladda om sidan och skicka formuläret igen.",
    "Page not found": "Sidan finns inte",
    "There is no page here, or you do not have access to it.": "Här finns ingen sida, eller så har du inte tillgång till den.",
    "Something went wrong": "Något gick fel",
    "An error occurred on our side. Please try again in a moment; if it keeps happening, contact IT support.": "Ett fel uppstod hos oss. Försök igen om en stund; om det fortsätter, kontakta IT-supporten.",
}

SV_PLURAL: dict[str, tuple[str, str]] = {
    "You have %(counter)s unused backup code.": (
        "Du har %(counter)s oanvänd reservkod.",
        "Du har %(counter)s oanvända reservkoder.",
    ),
}


def main() -> int:
    po_path = Path(__file__).resolve().parent / "sv" / "LC_MESSAGES" / "django.po"
    catalogue = polib.pofile(str(po_path))
    catalogue.metadata["Language"] = "sv"
    catalogue.metadata["Plural-Forms"] = "nplurals=2; plural=(n != 1);"
    catalogue.metadata["Content-Type"] = "text/plain; charset=UTF-8"
    missing = []
    for entry in catalogue:
        if "fuzzy" in entry.flags:
            entry.flags.remove("fuzzy")
        if entry.msgid_plural:
            if entry.msgid in SV_PLURAL:
                one, many = SV_PLURAL[entry.msgid]
                entry.msgstr_plural = {0: one, 1: many}
            else:
                missing.append(entry.msgid)
        elif entry.msgid in SV:
            entry.msgstr = SV[entry.msgid]
        else:
            missing.append(entry.msgid)
    catalogue.save(str(po_path))
    for msgid in missing:
        sys.stderr.write(f"untranslated: {msgid!r}\n")
    return 1 if missing else 0


if __name__ == "__main__":
    raise SystemExit(main())
