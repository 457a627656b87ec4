"""The Swedish catalogue is complete, compiled and in use without GNU gettext."""

from __future__ import annotations

import polib
import pytest
from django.conf import settings
from django.urls import reverse

from security_core import i18n_compile


def test_every_interface_string_has_a_swedish_translation():
    for po_path in i18n_compile.catalogues():
        catalogue = polib.pofile(str(po_path))
        assert catalogue.untranslated_entries() == []
        assert catalogue.fuzzy_entries() == []


def test_compiled_catalogue_matches_its_source():
    assert i18n_compile.main(["--check"]) == 0


@pytest.mark.django_db
def test_pages_are_swedish_by_default_and_english_on_request(client):
    swedish = client.get(reverse("login")).content.decode()
    assert "Logga in" in swedish
    assert "E-postadress" in swedish
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    english = client.get(reverse("login")).content.decode()
    assert "Sign in" in english
    assert "E-mail address" in english


@pytest.mark.django_db
def test_an_english_browser_still_gets_swedish_until_english_is_chosen(client):
    page = client.get(reverse("start"), HTTP_ACCEPT_LANGUAGE="en-US,en;q=0.9")
    assert '<html lang="sv">' in page.content.decode()
    client.post(reverse("set_language"), {"language": "en", "next": "/"})
    page = client.get(reverse("start"), HTTP_ACCEPT_LANGUAGE="sv-SE")
    assert '<html lang="en">' in page.content.decode()
