"""Languages: every user-facing string goes through Flask-Babel, so a community language is a catalogue, not code.

A catalogue is ``mapper/translations/<code>/LC_MESSAGES/messages.mo`` (see docs/translating.md). The language is the
one the visitor chose (``?lang=``, remembered in a cookie), else the best match for their browser, else English.
"""

from pathlib import Path

from flask import current_app, request
from flask_babel import Babel

TRANSLATIONS = Path(__file__).resolve().parent.parent / "translations"
SOURCE_LANGUAGE = "en"
COOKIE = "lang"


def available_languages():
    """English (the source strings) plus every language with a compiled catalogue."""
    directories = current_app.config["BABEL_TRANSLATION_DIRECTORIES"].split(";")
    found = sorted({path.parent.parent.name for directory in directories
                    for path in Path(directory).glob("*/LC_MESSAGES/messages.mo")})
    return [SOURCE_LANGUAGE] + [code for code in found if code != SOURCE_LANGUAGE]


def select_locale():
    languages = available_languages()
    chosen = request.args.get("lang") or request.cookies.get(COOKIE)
    if chosen in languages:
        return chosen
    return request.accept_languages.best_match(languages) or SOURCE_LANGUAGE


def init_app(app):
    app.config.setdefault("BABEL_TRANSLATION_DIRECTORIES", str(TRANSLATIONS))
    app.config.setdefault("BABEL_DEFAULT_LOCALE", SOURCE_LANGUAGE)
    Babel(app, locale_selector=select_locale)

    @app.context_processor
    def languages():
        from flask_babel import get_locale

        return {"languages": available_languages(), "current_language": str(get_locale() or SOURCE_LANGUAGE)}

    @app.after_request
    def remember_language(response):
        chosen = request.args.get("lang")
        if chosen in available_languages() and request.cookies.get(COOKIE) != chosen:
            response.set_cookie(COOKIE, chosen, max_age=365 * 86400, samesite="Lax")
        return response
