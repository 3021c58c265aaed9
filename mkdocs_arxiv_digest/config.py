"""Typed configuration: the plugin's options, and the subset a single block may override.

Each option is documented right under its declaration; the README's configuration
reference is checked against these docstrings by the test suite.
"""

from __future__ import annotations

import difflib
import os
from collections.abc import Callable, Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any, Generic, NamedTuple, TypeVar, cast, overload
from urllib.parse import urlparse

from mkdocs.config.base import BaseConfigOption, Config, ConfigErrors, ConfigWarnings, ValidationError

from mkdocs_arxiv_digest.errors import DigestError, log
from mkdocs_arxiv_digest.layout import Presentation

T = TypeVar("T")

DEFAULT_MODEL = "gpt-4.1-mini"
DEFAULT_ARXIV_API_URL = "https://export.arxiv.org/api/query"
DEFAULT_CACHE_DIR = ".cache/plugin/arxiv-digest"
DEFAULT_ARXIV_DELAY = 3.0
"""arXiv's terms of use: one request every three seconds."""
DEFAULT_CONCURRENCY = 8
OFFLINE_VARIABLE = "ARXIV_DIGEST_OFFLINE"
"""Sets `offline` for every host (MkDocs, Python-Markdown, Sphinx, the command line) where no option does."""
_TRUE = frozenset({"1", "true", "yes", "on"})
_FALSE = frozenset({"", "0", "false", "no", "off"})
"""What `OFFLINE_VARIABLE` may say, in any case: YAML 1.1's booleans and the shell's 1/0."""
RETRY_REJECTED_VARIABLE = "ARXIV_DIGEST_RETRY_REJECTED"
"""Set (to anything but 0) to ask again, in this run, for papers held back after rejected replies."""


class _Type(Generic[T], BaseConfigOption[T]):
    """An option of the given type(s): MkDocs' `config_options.Type`, and its `Optional` where there is no default.

    Declared here, on `mkdocs.config.base` (which `mkdocs` loads for any command), because
    importing `mkdocs.config.config_options` loads MkDocs' theme and Markdown machinery
    (jinja2, babel, Python-Markdown: some 45 ms) that the command line and Sphinx do not
    otherwise need. The same check and the same message as MkDocs' own.
    """

    @overload
    def __init__(self: _Type[T], types: type[T] | tuple[type[T], ...], *, default: T) -> None: ...

    @overload
    def __init__(self: _Type[T | None], types: type[T] | tuple[type[T], ...]) -> None: ...

    def __init__(self, types: type[Any] | tuple[type[Any], ...], *, default: Any = None) -> None:
        super().__init__()
        self.default = default
        self._types = types

    def validate(self, value: object, /) -> T:
        if value is None:
            value = self.default
            if value is None:
                return None  # type: ignore[return-value]  # unset, with no default: an optional option
        return self.run_validation(value)

    def run_validation(self, value: object, /) -> T:
        if not isinstance(value, self._types):
            raise ValidationError(f"Expected type: {self._types} but received: {type(value)}")
        return cast(T, value)  # of `types`, as declared


class _ArxivDelay(_Type[float]):
    """Seconds between arXiv requests, checked against the endpoint once both are known."""

    def post_validation(self, config: Config, key_name: str) -> None:
        # arXiv's terms ask for 3 s between requests; a mirror or a test server may go faster.
        host = urlparse(config["arxiv_api_url"]).hostname or ""
        if config[key_name] < DEFAULT_ARXIV_DELAY and (host == "arxiv.org" or host.endswith(".arxiv.org")):
            raise ValidationError(
                f"arxiv_delay must be at least {DEFAULT_ARXIV_DELAY} s for {host} (arXiv's terms of use)"
            )


class _LanguageCode(_Type[str | None]):
    """A language code; one that is not a known language is a warning suggesting the likely one."""

    def __init__(self) -> None:
        super().__init__(str)

    def run_validation(self, value: object, /) -> str:
        code = str(super().run_validation(value))
        from mkdocs_arxiv_digest.languages import check_code

        problem = check_code(code)
        if problem is not None:
            self.warnings.append(problem)
        return code


class _Switch(_Type[bool | None]):
    """On or off: a boolean, or 1 / 0, which MkDocs' ``!ENV`` makes of a variable set to "1" / "0".

    ``offline: !ENV [ARXIV_DIGEST_OFFLINE, true]`` reads the variable as YAML: ``true`` and
    ``yes`` arrive as booleans, ``1`` and ``0`` as integers, and `OFFLINE_VARIABLE` itself
    accepts all of them.
    """

    def __init__(self) -> None:
        super().__init__(bool)

    def run_validation(self, value: object, /) -> bool:
        if type(value) is int and value in (0, 1):
            return bool(value)
        return bool(super().run_validation(value))


class BlockOptions(Config):
    """Options an ``arxiv-digest`` block may set in its YAML body, overriding the plugin's."""

    def validate(self) -> tuple[ConfigErrors, ConfigWarnings]:
        """MkDocs' validation, with the likely intended name after an unknown one (`ofline` → `offline`)."""
        errors, warnings = super().validate()
        return errors, [(name, _with_suggestion(name, message, self._schema_keys)) for name, message in warnings]

    language = _LanguageCode()
    """Language of the summaries and translations, as a code (`zh`, `ja`, `de`, `en`...). Default: `theme.language`, else `en`."""

    model = _Type(str)
    """Chat model that writes summaries and translations. Default: `gpt-4.1-mini`."""


class DigestConfig(BlockOptions):
    """The plugin's options in ``mkdocs.yml``."""

    base_url = _Type(str)
    """OpenAI-compatible endpoint (OpenAI, DeepSeek, vLLM, llama.cpp, Ollama...). Default: `OPENAI_BASE_URL`, else OpenAI. The key always comes from `OPENAI_API_KEY`."""

    arxiv_api_url = _Type(str, default=DEFAULT_ARXIV_API_URL)
    """arXiv export API endpoint; point it at a mirror or proxy if you have one."""

    arxiv_delay = _ArxivDelay((int, float), default=DEFAULT_ARXIV_DELAY)
    """Seconds between arXiv requests. arXiv's terms ask for at least 3; lower values are accepted only for an `arxiv_api_url` that is not arxiv.org."""

    cache_dir = _Type(str, default=DEFAULT_CACHE_DIR)
    """Cache directory, relative to `mkdocs.yml`. Restore and save it in CI to make rebuilds free."""

    concurrency = _Type(int, default=DEFAULT_CONCURRENCY)
    """Language model requests in flight at once."""

    timeout = _Type((int, float), default=60.0)
    """Deadline in seconds for each whole arXiv or model request (connecting, waiting, reading the reply); past it the request is given up and retried within `retries`."""

    retries = _Type(int, default=3)
    """Retries of a failing arXiv or model request (HTTP 429, 5xx, timeouts, invalid replies)."""

    refresh_days = _Type((int, float), default=30.0)
    """Days before metadata of an unversioned ID (`2403.16584`, not `2403.16584v2`) is asked for again; stale metadata is still served when arXiv is unreachable."""

    unknown_days = _Type((int, float), default=1.0)
    """Days an ID arXiv has no paper for is remembered as such, so rebuilds do not ask again (every build still warns); `0` asks at every build."""

    offline = _Switch()
    """Never touch the network: serve from the snapshot and the cache only. Default: `ARXIV_DIGEST_OFFLINE` (`true`, `1`, `yes`), else `false`."""

    snapshot = _Type(str)
    """YAML file of pinned entries, relative to `mkdocs.yml`. It wins over the cache; edit it to correct a translation. Written by `arxiv-digest snapshot`."""

    localized_headings = _Type(bool, default=False)
    """Table headings in the digest's language (`引用`, `标题`, `总结`) instead of the seed's `Ref`, `Title`, `Summary`."""

    disclose_model = _Type(bool, default=False)
    """Add a line to each footnote, in the digest's language, saying its summary and translation were written by a language model, and which; an entry a person marked `reviewed: true` in the snapshot says so instead."""


C = TypeVar("C", bound=Config)


def _with_suggestion(name: str, message: str, known: Iterable[str]) -> str:
    """MkDocs' "Unrecognised configuration name" message, with the nearest known name if one is close."""
    if not message.startswith("Unrecognised configuration name"):
        return message
    # 0.75 (difflib's ratio): `ofline`, `langauge`, `snaphot`, `cache-dir` find their option;
    # `colour` (tests/test_failures.py) and `theme` find none, so nothing unrelated is suggested.
    close = difflib.get_close_matches(name.replace("-", "_").lower(), sorted(known), n=1, cutoff=0.75)
    return f"{message}; did you mean {close[0]!r}?" if close else message


def offline_from_environment(environ: Mapping[str, str] = os.environ) -> bool:
    """Whether `OFFLINE_VARIABLE` asks for offline builds (for sites whose options leave `offline` unset).

    A value that is neither true nor false is a warning, and builds offline: the
    variable is set to keep a build off the network (CI), so that is the safe reading.
    """
    value = environ.get(OFFLINE_VARIABLE, "").strip().lower()
    if value in _TRUE or value in _FALSE:
        return value in _TRUE
    log.warning(
        f"{OFFLINE_VARIABLE}={environ[OFFLINE_VARIABLE]!r} is neither true nor false (true, 1, yes / false, 0, no);"
        " building offline",
        once=True,
    )
    return True


def check_options(
    schema: type[C], options: Mapping[str, Any]
) -> tuple[C, list[tuple[str, str]], list[tuple[str, str]]]:
    """``options`` read by ``schema`` and validated as MkDocs validates a plugin's: the config,
    its errors and its warnings, each as (option, message).

    The one validation of options, wherever they are set: `mkdocs.yml` (MkDocs itself),
    the Markdown extension, the command line, ``conf.py`` and a block's YAML body.
    """
    config = schema()
    config.load_dict(dict(options))
    errors, warnings = config.validate()
    return config, [(name, str(error)) for name, error in errors], list(warnings)


def _option_label(name: str) -> str:
    return f"arxiv-digest option {name!r}"


def validated_options(
    options: Mapping[str, Any],
    *,
    label: Callable[[str], str] = _option_label,
    warnings_are_errors: bool = False,
    more_problems: Sequence[str] = (),
) -> DigestConfig:
    """Options set outside `mkdocs.yml` (Markdown extension, command line, ``conf.py``), validated as MkDocs would.

    Raises `DigestError` naming every invalid option (``label(name)``), after any of
    ``more_problems`` the caller found; with ``warnings_are_errors``, options that only
    warn too.
    """
    config, errors, warnings = check_options(DigestConfig, options)
    problems = [f"{label(name)}: {message}" for name, message in [*errors, *(warnings if warnings_are_errors else [])]]
    problems += more_problems
    if problems:
        raise DigestError("; ".join(problems))
    return config


def settings_from_options(
    options: Mapping[str, Any],
    *,
    base_dir: Path,
    default_language: str | None,
    label: Callable[[str], str] = _option_label,
    warnings_are_errors: bool = False,
    more_problems: Sequence[str] = (),
) -> Settings:
    """The `Settings` of options set outside `mkdocs.yml`, validated by `validated_options` (which see: it raises `DigestError`)."""
    config = validated_options(
        options, label=label, warnings_are_errors=warnings_are_errors, more_problems=more_problems
    )
    return Settings.from_config(config, base_dir=base_dir, default_language=default_language)


def default_options() -> dict[str, Any]:
    """The plugin's options with nothing set: every default, validated."""
    return dict(validated_options({}))


class Settings(NamedTuple):
    """The validated options of one site, resolved: paths absolute, language and model chosen.

    Built only by `from_config`, so the defaults live in one place: `DigestConfig`.
    """

    language: str
    model: str
    base_url: str | None
    arxiv_api_url: str
    arxiv_delay: float
    cache_dir: Path
    concurrency: int
    timeout: float
    retries: int
    refresh_days: float
    offline: bool
    snapshot: Path | None
    unknown_days: float
    localized_headings: bool
    disclose_model: bool
    retry_rejected: bool = False
    """Ask again now for papers held back after rejected replies (a run's choice, not a site's
    option): `arxiv-digest prefetch --retry-rejected`, or `RETRY_REJECTED_VARIABLE` set."""

    def as_options(self) -> dict[str, Any]:
        """These settings as options (paths absolute, unset ones left out): `settings_from_options` makes them again anywhere."""
        values = self._asdict()
        del values["retry_rejected"]  # a run's choice, not an option
        values["cache_dir"] = str(self.cache_dir)
        values["snapshot"] = None if self.snapshot is None else str(self.snapshot)
        return {name: value for name, value in values.items() if value is not None}

    @property
    def presentation(self) -> Presentation:
        """What readers see beyond the seed's format."""
        return Presentation(self.localized_headings, self.disclose_model)

    @classmethod
    def from_config(cls, config: DigestConfig, *, base_dir: Path, default_language: str | None) -> Settings:
        """Settings from validated options; relative paths are relative to ``base_dir``.

        Every host makes its settings here, so `offline` left unset is read from
        `OFFLINE_VARIABLE` for all of them alike.
        """
        return cls(
            language=config.language or default_language or "en",
            model=config.model or DEFAULT_MODEL,
            base_url=config.base_url,
            arxiv_api_url=config.arxiv_api_url,
            arxiv_delay=float(config.arxiv_delay),
            cache_dir=base_dir / config.cache_dir,
            concurrency=max(1, config.concurrency),
            timeout=float(config.timeout),
            retries=max(0, config.retries),
            refresh_days=float(config.refresh_days),
            offline=offline_from_environment() if config.offline is None else config.offline,
            snapshot=base_dir / config.snapshot if config.snapshot else None,
            unknown_days=max(0.0, float(config.unknown_days)),
            localized_headings=config.localized_headings,
            disclose_model=config.disclose_model,
            retry_rejected=os.environ.get(RETRY_REJECTED_VARIABLE, "") not in ("", "0"),
        )
