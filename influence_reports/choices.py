"""The vocabularies of a report, after Brå's model of undue influence and the PTU survey.

Codes are stable English identifiers; labels are Swedish first through translation. The
grouping of categories follows PTU (Brå's survey of politicians' safety), so statistics can
be read beside the national ones.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _


class Category(models.TextChoices):
    HARASSMENT = "harassment", _("Harassment, online abuse, mapping or stalking")
    THREAT = "threat", _("Threat")
    VIOLENCE = "violence", _("Violence")
    DAMAGE = "damage", _("Property damage")
    THEFT = "theft", _("Theft")
    BRIBERY = "bribery", _("Bribe or improper offer")
    FAVOUR_CORRUPTION = "favour_corruption", _("Favour-based corruption")
    INFILTRATION = "infiltration", _("Infiltration, also romantic")
    PRESSURE = "pressure", _("Undue pressure")
    DISINFORMATION = "disinformation", _("Disinformation or impersonation")
    CYBER = "cyber", _("Account intrusion or phishing")


class PTUGroup(models.TextChoices):
    THREATS_AND_HARASSMENT = "threats_harassment", _("Threats and harassment")
    VIOLENCE_DAMAGE_THEFT = "violence_damage_theft", _("Violence, damage and theft")
    CORRUPTION_ATTEMPTS = "corruption", _("Corruption attempts")
    OTHER_INFLUENCE = "other_influence", _("Other undue influence")


PTU_GROUP = {
    Category.HARASSMENT: PTUGroup.THREATS_AND_HARASSMENT,
    Category.THREAT: PTUGroup.THREATS_AND_HARASSMENT,
    Category.VIOLENCE: PTUGroup.VIOLENCE_DAMAGE_THEFT,
    Category.DAMAGE: PTUGroup.VIOLENCE_DAMAGE_THEFT,
    Category.THEFT: PTUGroup.VIOLENCE_DAMAGE_THEFT,
    Category.BRIBERY: PTUGroup.CORRUPTION_ATTEMPTS,
    Category.FAVOUR_CORRUPTION: PTUGroup.CORRUPTION_ATTEMPTS,
    Category.INFILTRATION: PTUGroup.OTHER_INFLUENCE,
    Category.PRESSURE: PTUGroup.OTHER_INFLUENCE,
    Category.DISINFORMATION: PTUGroup.OTHER_INFLUENCE,
    Category.CYBER: PTUGroup.OTHER_INFLUENCE,
}


class Channel(models.TextChoices):
    FACE_TO_FACE = "face_to_face", _("Face to face")
    AT_HOME = "at_home", _("At home")
    PHONE = "phone", _("Phone call")
    MESSAGING = "messaging", _("SMS or messaging app")
    EMAIL = "email", _("E-mail")
    LETTER = "letter", _("Letter")
    SOCIAL_MEDIA = "social_media", _("Social media")
    PUBLIC_MEETING = "public_meeting", _("Public meeting")
    THIRD_PARTY = "third_party", _("Through a third party")
    OTHER = "other", _("Other")


class PerpetratorKind(models.TextChoices):
    UNKNOWN = "unknown", _("Unknown")
    ANGRY_CITIZEN = "angry_citizen", _("An angry citizen")
    OBSESSIVE_COMPLAINANT = "obsessive_complainant", _("An obsessive complainant")
    SEVERAL = "several", _("Several people acting together")
    ORGANISED_CRIME = "organised_crime", _("Organised crime")
    VIOLENT_EXTREMISM = "violent_extremism", _("A violent extremist milieu")
    FOREIGN_POWER = "foreign_power", _("A foreign power")
    COMPANY = "company", _("A company or its agent")
    INSIDER = "insider", _("Another elected representative or official")


class ReporterRole(models.TextChoices):
    ELECTED_FULL_TIME = "elected_full_time", _("Elected representative, full-time")
    ELECTED_PART_TIME = "elected_part_time", _("Elected representative, part-time")
    CANDIDATE = "candidate", _("Candidate")
    POLITICAL_SECRETARY = "political_secretary", _("Political secretary")
    OFFICIAL = "official", _("Official (civil servant)")
    OTHER = "other", _("Other")


class Target(models.TextChoices):
    MYSELF = "myself", _("Me")
    RELATIVE = "relative", _("A relative of mine")
    COLLEAGUE = "colleague", _("A colleague")


class Consequence(models.TextChoices):
    AVOIDED_ISSUE = "avoided_issue", _("I avoided an issue or a task")
    CHANGED_DECISION = "changed_decision", _("I changed a decision or a statement")
    SELF_CENSORED = "self_censored", _("I held back what I would have said")
    CONSIDERED_LEAVING = "considered_leaving", _("I considered leaving my assignment")
    NONE = "none", _("None of these")


class PoliceReported(models.TextChoices):
    YES = "yes", _("Yes")
    NO = "no", _("No")
    UNSURE = "unsure", _("I don't know")


class Gender(models.TextChoices):
    WOMAN = "woman", _("Woman")
    MAN = "man", _("Man")
    OTHER = "other", _("Other or non-binary")


class AgeBand(models.TextChoices):
    UNDER_30 = "under_30", _("Under 30")
    FROM_30 = "30_44", _("30 to 44")
    FROM_45 = "45_64", _("45 to 64")
    FROM_65 = "65_plus", _("65 or older")


class Assembly(models.TextChoices):
    MUNICIPAL_COUNCIL = "municipal_council", _("Municipal council (kommunfullmäktige)")
    EXECUTIVE_BOARD = "executive_board", _("Municipal executive board (kommunstyrelse)")
    COMMITTEE = "committee", _("Committee (nämnd)")
    DISTRICT_COUNCIL = "district_council", _("District council (stadsdelsnämnd)")
    COMPANY_BOARD = "company_board", _("Board of a municipal company")
    REGIONAL_COUNCIL = "regional_council", _("Regional council")
    NONE = "none", _("None (official or other)")


# Stockholm's district administrations, the city-wide administrations and "elsewhere".
# A deployment sets its own list with VARN_DISTRICTS (code:label, comma-separated).
STOCKHOLM_DISTRICTS: list[tuple[str, Any]] = [
    ("rinkeby_kista", "Rinkeby-Kista"),
    ("spanga_tensta", "Spånga-Tensta"),
    ("hasselby_vallingby", "Hässelby-Vällingby"),
    ("bromma", "Bromma"),
    ("kungsholmen", "Kungsholmen"),
    ("norrmalm", "Norrmalm"),
    ("ostermalm", "Östermalm"),
    ("sodermalm", "Södermalm"),
    ("enskede_arsta_vantor", "Enskede-Årsta-Vantör"),
    ("skarholmen", "Skärholmen"),
    ("hagersten_alvsjo", "Hägersten-Älvsjö"),
    ("farsta", "Farsta"),
    ("skarpnack", "Skarpnäck"),
    ("city_wide", _("City-wide administration")),
    ("elsewhere", _("Elsewhere")),
]


def districts() -> list[tuple[str, Any]]:
    configured: list[tuple[str, Any]] = getattr(settings, "VARN_DISTRICTS", [])
    return configured or STOCKHOLM_DISTRICTS
