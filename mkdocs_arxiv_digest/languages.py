"""What a language code means: its name in a prompt, its script, whether it is a language.

Codes are BCP 47 tags (``zh``, ``pt-BR``, ``zh-Hant``, ``sr-Latn``), read with `langcodes`
(IANA registry and CLDR data) rather than a table of our own, so any tag gets a correct
name. `langcodes` is imported on first use, not with this module: loading its tables
costs about 30 ms and its names 70 ms more, which a build that generates nothing (and
checks nothing) should not pay. `is_english` never imports it.
"""

from __future__ import annotations

import functools
from typing import Any

# Tags that are well formed but name no language a model could write in.
_NOT_LANGUAGES = {"und", "mul", "zxx", "mis"}

CLOSE_LANGUAGE_DISTANCE = 25
"""Two languages at most this far apart in CLDR's language matching (as `langcodes`
measures it, either direction) are taken for one another: 0–9 is the same language in
another region or script (``sr-Latn``/``sh``), 10–25 a neighbour its readers accept
(``nb``/``da``, ``cs``/``sk``, ``id``/``ms``, ``hr``/``bs``/``sr-Latn``); unrelated
languages are 80 or more. Language identification confuses exactly these neighbours."""


def is_english(code: str) -> bool:
    """True for English in any region or form (``en``, ``en-GB``, ``EN_us``, ``eng``): nothing to translate."""
    return code.replace("_", "-").split("-")[0].lower() in {"en", "eng"}


@functools.lru_cache(maxsize=256)
def language_name(code: str, *, with_script: bool = True) -> str:
    """The English name of the language of ``code``, for prompts and messages.

    ``zh`` is ``Chinese (Simplified)``, ``zh-TW`` ``Chinese (Traditional, Taiwan)``,
    ``pt-BR`` ``Portuguese (Brazil)``, ``sr-Latn`` ``Serbian (Latin)``. A language written
    in several scripts is named with the one CLDR expects for the tag, so the model
    does not pick one (Latin, the usual default, goes unsaid); ``with_script=False``
    leaves it out (``zh`` is ``Chinese``: a language identified in a text, script
    unknown). A code that names no language gives ``the language with code 'xx'``.
    """
    language = _parse(code)
    if language is None:
        return f"the language with code {code!r}"
    if with_script and language.script is None and language.assume_script().script is None:
        script = language.maximize().script
        if script and script != "Latn":
            language = language.update_dict({"script": script})
    name: str = language.display_name("en")
    return name


@functools.lru_cache(maxsize=256)
def script(code: str) -> str:
    """The ISO 15924 script ``code`` is written in, as CLDR expects it (``Latn`` when unknown).

    ``zh`` → ``Hans``, ``zh-TW`` → ``Hant``, ``ja`` → ``Jpan`` (Han and kana), ``ko`` →
    ``Kore``, ``sr`` → ``Cyrl``, ``sr-Latn`` → ``Latn``, ``hi`` → ``Deva``.
    """
    language = _parse(code)
    if language is None:
        return "Latn"
    found: str | None = language.maximize().script
    return found or "Latn"


@functools.lru_cache(maxsize=1024)
def are_close(first: str, second: str) -> bool:
    """Whether a text in ``second`` is acceptable where ``first`` was asked for (see `CLOSE_LANGUAGE_DISTANCE`)."""
    import langcodes
    from langcodes.tag_parser import LanguageTagError

    try:
        distance = min(langcodes.tag_distance(first, second), langcodes.tag_distance(second, first))
    except (LanguageTagError, ValueError):
        return first.lower() == second.lower()
    return bool(distance <= CLOSE_LANGUAGE_DISTANCE)


_COMMON = frozenset(
    "en en-us en-gb zh zh-cn zh-tw zh-hk zh-hans zh-hant ja ko de fr es it pt pt-br pt-pt ru uk ar hi "
    "nl pl tr vi el he th sv da fi nb nn no cs sk hu ro bg hr sr sr-latn sl et lv lt id ms fa bn ta te "
    "ca eu gl is ga cy af sw ur mr gu kn ml pa si km lo my ka hy az kk uz mn ne am".split()
)
"""Valid codes of widely used languages, accepted without loading langcodes' data."""


def check_code(code: str) -> str | None:
    """Why ``code`` is not a language code a digest can be written in, with the likely intended one; None if it is.

    ``jp`` → ``language code 'jp' is not a known language; did you mean 'ja' (Japanese)?``
    (a country code used for a language: the country's main language is suggested);
    ``Chinese`` → ``... did you mean 'zh' (Chinese)?`` (a language name). Case and
    ``_`` for ``-`` are accepted as they are (``zh_CN``, ``pt-br``).
    """
    if code.replace("_", "-").lower() in _COMMON:
        return None  # every build checks its language: the usual ones cost no import
    import langcodes

    if _parse(code) is not None:
        return None
    problem = f"language code {code!r} is not a known language"
    suggestion = _suggest(code)
    if suggestion is None:
        return f"{problem}; use a BCP 47 code such as 'de', 'zh', 'zh-Hant' or 'pt-BR'"
    return f"{problem}; did you mean {suggestion!r} ({langcodes.Language.get(suggestion).display_name('en')})?"


def _suggest(code: str) -> str | None:
    """The code ``code`` most likely meant, or None."""
    import langcodes
    from langcodes.tag_parser import LanguageTagError

    text = code.strip().replace("_", "-")
    region = langcodes.Language.get(f"und-{text.upper()}") if text.isalpha() and len(text) == 2 else None
    if region is not None and not region.territory_name("en").startswith("Unknown"):
        # A country for a language (jp, cn, gr, ua, dk, cz, vn): CLDR's likely
        # language of that region.
        likely: str | None = region.maximize().language
        if likely and likely not in _NOT_LANGUAGES:
            return likely
    try:
        language = langcodes.Language.get(text)
    except LanguageTagError:
        language = None
    if language is not None and language.language and _parse(language.language) is not None:
        # A known language with a subtag that is not (pt-XX, de-Latn-XX): the language alone.
        return str(language.language)
    try:
        # A language's name, in English or in itself (Japanese, Deutsch, español).
        found = langcodes.find(text)
    except LookupError:
        return None
    return found.to_tag() if _parse(found.to_tag()) is not None else None


@functools.lru_cache(maxsize=256)
def _parse(code: str) -> Any:
    """``code`` as a `langcodes.Language` if it is a valid tag of a known language, else None."""
    import langcodes
    from langcodes.tag_parser import LanguageTagError

    try:
        language = langcodes.Language.get(code)
    except LanguageTagError:
        return None
    subtag = language.language or ""
    if not langcodes.tag_is_valid(code) or not (subtag.isalpha() and 2 <= len(subtag) <= 3):
        return None  # malformed, unregistered, or private use (x-...)
    if subtag in _NOT_LANGUAGES or "qaa" <= subtag <= "qtz":  # qaa–qtz: private use
        return None
    return language
