"""The ``arxiv_digest_*`` values of ``conf.py``: their names, and their validation as `mkdocs.yml`'s options."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from mkdocs_arxiv_digest.config import DigestConfig, Settings, settings_from_options

if TYPE_CHECKING:
    from sphinx.config import Config

PREFIX = "arxiv_digest_"
"""``conf.py`` names: ``arxiv_digest_`` and the option's name in `DigestConfig`."""


def option_names() -> list[str]:
    """The plugin's options, in declaration order."""
    return [name for name, _option in DigestConfig._schema]


def settings_from_conf(values: Mapping[str, Any], *, confdir: Path, sphinx_language: str | None) -> Settings:
    """The settings of a Sphinx project from its ``conf.py`` values, validated as `mkdocs.yml`'s are.

    Paths are relative to ``confdir``. Raises `DigestError` naming every invalid or unknown
    ``arxiv_digest_*`` value.
    """
    known = set(option_names())
    unknown = sorted(key for key in values if key.startswith(PREFIX) and key[len(PREFIX) :] not in known)
    options = {name: values[PREFIX + name] for name in known if values.get(PREFIX + name) is not None}
    unknown_problems = [
        f"{key}: not an option (options: {', '.join(PREFIX + name for name in known)})" for key in unknown
    ]
    # Sphinx writes locales with an underscore (`zh_CN`); the plugin's codes are BCP 47 (`zh-CN`).
    language = sphinx_language.replace("_", "-") if sphinx_language else None
    return settings_from_options(
        options,
        base_dir=confdir,
        default_language=language,
        label=lambda name: PREFIX + name,
        warnings_are_errors=True,  # a value that only warns in mkdocs.yml (a language code) is an error here
        more_problems=unknown_problems,
    )


def _conf_values(config: Config) -> dict[str, Any]:
    """Everything ``conf.py`` set, registered or not (so a mistyped ``arxiv_digest_ofline`` is an error).

    Sphinx keeps it in `Config._raw_config`, and no public interface offers it (checked in
    Sphinx 9.0.4's source and by reading a conf.py): `Config`'s iteration, `in`, `values` and `filter` cover registered
    names only; its ``__dict__`` holds only the values read so far, never an unregistered
    one; ``config-inited`` passes that same `Config`; `Config.read` returns it. Only
    `sphinx.config.eval_config_file` (undocumented) returns the namespace, by running
    ``conf.py`` once more. If `_raw_config` goes, a misspelt name is no longer caught
    (`test_conf_values_are_validated_by_name` says so); the build goes on.
    """
    raw: dict[str, Any] = getattr(config, "_raw_config", {})
    return raw
