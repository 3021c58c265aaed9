"""Which languages an mkdocs-static-i18n site shows each page in, read without building it.

Pure. A build of such a site gives each page's digest the language of that page's
version (the plugin takes the language of each language's build); the command line
(`prefetch`, `snapshot`) builds nothing, so it works out the same thing from the
plugin's options and the file names, as mkdocs-static-i18n (1.x) lays them out:

- ``docs_structure: suffix``: ``page.md`` is the default language's, ``page.en.md`` English;
- ``docs_structure: folder``: ``zh/page.md`` is Chinese, ``en/page.md`` English;
- with ``fallback_to_default``, a language without its own version of a page shows the
  default language's, so that page is read in that language too.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from pathlib import PurePosixPath
from typing import Any


def page_languages(src_uris: Iterable[str], options: Mapping[str, Any]) -> dict[str, list[str]]:
    """Each page (its path in `docs_dir`) and the languages the site shows it in.

    ``options`` are mkdocs-static-i18n's (`docs_structure`, `fallback_to_default`,
    `languages`: mappings or objects with `locale`, `default`, `build`).
    """
    entries = list(options.get("languages") or [])
    languages = [str(_get(entry, "locale")) for entry in entries]
    built = [str(_get(entry, "locale")) for entry in entries if _get(entry, "build", True)]
    default = next((str(_get(entry, "locale")) for entry in entries if _get(entry, "default")), "")
    default = default or (languages[0] if languages else "")
    folder = options.get("docs_structure", "suffix") == "folder"
    fallback = bool(options.get("fallback_to_default", True))
    own: dict[str, tuple[str, str]] = {}  # page -> (its language, the page it is a version of)
    for uri in src_uris:
        path = PurePosixPath(uri)
        stem, _, suffix = path.stem.rpartition(".")
        if folder and len(path.parts) > 1 and path.parts[0] in languages:
            own[uri] = (path.parts[0], str(PurePosixPath(*path.parts[1:])))
        elif not folder and stem and suffix in languages:
            own[uri] = (suffix, str(path.with_name(stem + path.suffix)))
        else:
            own[uri] = (default, uri)
    versions = {(language, base) for language, base in own.values()}
    shown: dict[str, list[str]] = {}
    for uri, (language, base) in own.items():
        shown[uri] = [language] if language in built else []
        if fallback and language == default:
            shown[uri] += [other for other in built if other != language and (other, base) not in versions]
    return shown


def _get(language: Any, name: str, default: Any = None) -> Any:
    return language.get(name, default) if isinstance(language, Mapping) else getattr(language, name, default)
