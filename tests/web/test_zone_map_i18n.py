"""The zone map in another language: a compiled catalogue is all it takes, for the page, the legend, the layers'
labels from data/layers.toml and the strings zone-map.js shows."""

import json
import re

import pytest

from mapper import create_app
from tests.web.test_i18n import compile_catalogue

POLISH = {
    "Legend and search": "Legenda i wyszukiwanie",
    "Light out": "Zgaszona latarnia",  # a category label from data/layers.toml
    "Community assets": "Miejsca dla społeczności",  # a layer title from data/layers.toml
    "Reported": "Zgłoszone",  # a status label from data/layers.toml
    "Find by name": "Znajdź po nazwie",
    "Loading details…": "Wczytywanie szczegółów…",
    "{layer}: {count} on the map.": "{layer}: {count} na mapie.",
}


@pytest.fixture
def polish_app(tmp_path):
    compile_catalogue(tmp_path / "translations", "pl", POLISH)
    return create_app({"DATA_DIR": tmp_path / "store", "TESTING": True,
                       "BABEL_TRANSLATION_DIRECTORIES": str(tmp_path / "translations")})


def script_strings(html):
    block = re.search(r'<script type="application/json" id="zone-map-strings">(.*?)</script>', html, re.S)
    return json.loads(block.group(1))


def test_the_zone_map_speaks_polish_when_asked(polish_app):
    client = polish_app.test_client()
    polish = client.get("/zones/bell-foundry?lang=pl").get_data(as_text=True)
    assert polish.startswith('<!DOCTYPE html>\n<html lang="pl">')
    assert "<summary>Legenda i wyszukiwanie</summary>" in polish
    assert re.search(r'<li data-category="out">.*?<span>Zgaszona latarnia</span>', polish, re.S)
    assert ">Miejsca dla społeczności</h2>" in polish and "<span>Zgłoszone: solid marker</span>" in polish
    assert ">Znajdź po nazwie</label>" in polish
    strings = script_strings(polish)
    assert strings["loadingDetails"] == "Wczytywanie szczegółów…"
    assert strings["layerLoaded"] == "{layer}: {count} na mapie."
    assert strings["gone"] == "This feature is no longer shown on the map."  # not in the catalogue: English
    # Two catalogues (English and Polish): the page offers the choice, as every other page does.
    assert '<option value="pl" selected>pl</option>' in polish


def test_the_english_page_is_unchanged_by_a_polish_catalogue(polish_app, tmp_path):
    """The cache key carries the language: a Polish visitor first must not give the next English one Polish."""
    client = polish_app.test_client()
    client.get("/zones/bell-foundry?lang=pl")
    english = polish_app.test_client().get("/zones/bell-foundry").get_data(as_text=True)
    plain = create_app({"DATA_DIR": tmp_path / "plain", "TESTING": True}).test_client()
    reference = plain.get("/zones/bell-foundry").get_data(as_text=True)
    assert english.startswith('<!DOCTYPE html>\n<html lang="en-GB">')
    for polish in POLISH.values():
        assert polish not in english and json.dumps(polish)[1:-1] not in english
    assert "<summary>Legend and search</summary>" in english and "<span>Light out</span>" in english
    assert script_strings(english) == script_strings(reference)

    # The same page as with no catalogue at all, apart from the language switcher, Folium's random element ids and
    # the script's CSP nonce (new in every answer).
    def comparable(html):
        html = re.sub(r"\n<form class=\"languages\".*?</form>", "", html)
        html = re.sub(r'nonce="[^"]*"', 'nonce=""', html)
        return re.sub(r"_[0-9a-f]{32}", "_ID", html)

    assert comparable(english) == comparable(reference)


def test_the_chosen_language_is_remembered_and_the_browser_language_is_honoured(polish_app):
    client = polish_app.test_client()
    client.get("/report?lang=pl")  # chosen on another page: the cookie carries it here
    assert '<html lang="pl">' in client.get("/zones/new-parks").get_data(as_text=True)
    browser = polish_app.test_client().get("/zones/new-parks", headers={"Accept-Language": "pl-PL,pl;q=0.9"})
    assert "Legenda i wyszukiwanie" in browser.get_data(as_text=True)


def test_caches_are_told_the_page_depends_on_the_language(polish_app):
    vary = polish_app.test_client().get("/zones/new-parks").headers["Vary"]
    assert "Accept-Language" in vary and "Cookie" in vary
