"""Languages: a compiled catalogue is all it takes to add one; the switcher appears once there are two."""

from babel.messages.catalog import Catalog
from babel.messages.mofile import write_mo

from mapper import create_app


def compile_catalogue(directory, code, translations):
    catalog = Catalog(locale=code)
    for source, translated in translations.items():
        catalog.add(source, translated)
    target = directory / code / "LC_MESSAGES"
    target.mkdir(parents=True)
    with open(target / "messages.mo", "wb") as f:
        write_mo(f, catalog)


def test_english_only_has_no_language_switcher(client):
    page = client.get("/r/BF-22222")  # any page with the base layout; a 404 has one too
    assert 'lang="en-GB"' in page.get_data(as_text=True)
    assert 'name="lang"' not in client.get("/report/token").get_data(as_text=True)
    html = client.get("/").get_data(as_text=True)
    assert 'id="lang"' not in html


def test_a_new_catalogue_adds_a_language_without_code(tmp_path):
    compile_catalogue(tmp_path / "translations", "pl", {"Report a problem": "Zgłoś problem",
                                                        "Skip to content": "Przejdź do treści"})
    app = create_app({"DATA_DIR": tmp_path / "store", "BABEL_TRANSLATION_DIRECTORIES": str(tmp_path / "translations")})
    client = app.test_client()
    english = client.get("/r/BF-22222").get_data(as_text=True)
    assert 'id="lang"' in english and "Report a problem" in english
    polish = client.get("/r/BF-22222?lang=pl")
    assert 'lang="pl"' in polish.get_data(as_text=True) and "Zgłoś problem" in polish.get_data(as_text=True)
    assert "lang=pl" in polish.headers["Set-Cookie"]
    remembered = client.get("/r/BF-22222").get_data(as_text=True)  # the cookie keeps the choice
    assert "Zgłoś problem" in remembered
    browser = app.test_client().get("/r/BF-22222", headers={"Accept-Language": "pl-PL,pl;q=0.9,en;q=0.5"})
    assert "Przejdź do treści" in browser.get_data(as_text=True)
