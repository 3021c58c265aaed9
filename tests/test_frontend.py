"""`frontend` at its boundary: what every front end shares, tested without a build.

The Markdown extensions a site lacks, a site's settings from MkDocs' own validated
config, and the package's errors raised as the host's. The real builds (test_build,
test_cli, test_site_extensions) stay the outer ring.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click
import pytest
from markdown.extensions.tables import TableExtension
from mkdocs.config.defaults import MkDocsConfig
from mkdocs.exceptions import PluginError

from mkdocs_arxiv_digest.config import validated_options
from mkdocs_arxiv_digest.errors import DigestError, log
from mkdocs_arxiv_digest.frontend import errors_as, missing_extensions, site_settings
from tests.helpers import mkdocs_log


@pytest.mark.parametrize(
    ("enabled", "missing"),
    [
        ([], ["tables", "footnotes"]),
        (["toc"], ["tables", "footnotes"]),
        (["tables"], ["footnotes"]),
        (["tables", "footnotes"], []),
        # Python-Markdown's own long names are the same extensions.
        (["markdown.extensions.tables", "markdown.extensions.footnotes"], []),
        (["footnotes", "attr_list", "markdown.extensions.tables"], []),
        # Another package's extension of a similar name is not Python-Markdown's.
        (["pymdownx.tables", "footnotes"], ["tables"]),
        # Instances other plugins add (mkdocstrings does) are not ours to count.
        ([TableExtension(), "footnotes"], ["tables"]),
    ],
)
def test_missing_extensions(enabled: list[object], missing: list[str]) -> None:
    assert missing_extensions(enabled) == missing


def mkdocs_config(tmp_path: Path, theme: dict[str, Any]) -> MkDocsConfig:
    """MkDocs' own config of a site whose `mkdocs.yml` is in ``tmp_path``, validated as `mkdocs build` does."""
    (tmp_path / "docs").mkdir(exist_ok=True)
    config = MkDocsConfig(config_file_path=str(tmp_path / "mkdocs.yml"))
    config.load_dict({"site_name": "Test", "theme": {"name": "mkdocs", **theme}})
    failed, warnings = config.validate()
    assert (failed, warnings) == ([], [])
    return config


@pytest.mark.parametrize(
    ("theme", "options", "language"),
    [
        ({}, {}, "en"),  # the mkdocs theme's own default
        ({"locale": "de"}, {}, "de"),  # the mkdocs theme names it `locale`
        ({"locale": "zh_CN"}, {}, "zh_Hans_CN"),  # as MkDocs' validation (Babel) writes it
        ({"language": "fr", "locale": "de"}, {}, "fr"),  # Material's name for it comes first
        ({"locale": "de"}, {"language": "ja"}, "ja"),  # the plugin's option wins
    ],
)
def test_site_settings_take_the_language_from_the_theme_unless_set(
    tmp_path: Path, theme: dict[str, Any], options: dict[str, Any], language: str
) -> None:
    settings = site_settings(mkdocs_config(tmp_path, theme), validated_options(options))

    assert settings.language == language


def test_site_settings_resolve_paths_beside_mkdocs_yml(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path.parent)  # not the site's directory
    options = validated_options({"cache_dir": "cache", "snapshot": "pinned.yml"})

    settings = site_settings(mkdocs_config(tmp_path, {}), options)

    assert settings.cache_dir == tmp_path.resolve() / "cache"
    assert settings.snapshot == tmp_path.resolve() / "pinned.yml"


def test_a_theme_language_the_digest_cannot_use_is_said_once(tmp_path: Path) -> None:
    config = mkdocs_config(tmp_path, {"language": "jp"})  # Material's `theme.language`, not validated by MkDocs
    log.forget()

    with mkdocs_log() as output:
        site_settings(config, validated_options({}))
        site_settings(config, validated_options({}))
        site_settings(config, validated_options({"language": "ja"}))  # set: the theme's is not used

    assert output.getvalue().splitlines() == [
        "WARNING -  arxiv-digest: theme.language: language code 'jp' is not a known language;"
        " did you mean 'ja' (Japanese)?"
    ]


@pytest.mark.parametrize("host_error", [PluginError, click.ClickException, ValueError])
def test_errors_as_raises_the_package_errors_as_the_hosts(host_error: type[Exception]) -> None:
    with pytest.raises(host_error) as raised, errors_as(host_error):
        raise DigestError("snapshot.yml: entry 3 is not a mapping")

    assert str(raised.value) == "arxiv-digest: snapshot.yml: entry 3 is not a mapping"
    assert isinstance(raised.value.__cause__, DigestError)


def test_errors_as_makes_the_message_one_line_without_credentials() -> None:
    hostile = "https://user:pw@llm.example/v1?api-key=sk-SECRET said:\n\x1b[2Jfake line\r\nWARNING - forged"

    with pytest.raises(PluginError) as raised, errors_as(PluginError):
        raise DigestError(hostile)

    message = str(raised.value)
    assert "\n" not in message and "\r" not in message and "\x1b" not in message
    assert "pw" not in message and "SECRET" not in message
    assert message.startswith("arxiv-digest: https://***@llm.example/v1?api-key=*** said:")


def test_errors_as_leaves_other_errors_alone() -> None:
    with pytest.raises(KeyError), errors_as(PluginError):
        raise KeyError("not ours")
