"""The Sphinx extension: an ``arxiv-digest`` directive for reST and MyST, on the MkDocs plugin's core.

In ``conf.py``: ``extensions = ["mkdocs_arxiv_digest.sphinx"]``, and any option of the
plugin as ``arxiv_digest_<option>`` — the names, meanings and defaults of `DigestConfig`;
`arxiv_digest_language` defaults to Sphinx's ``language``.

Before Sphinx reads documents (``env-before-read-docs``), the documents it is about to
read are scanned for directives and every paper is resolved at once, in the main
process; the directive then renders from memory, in that process or in a parallel
reader forked from it (which so never opens the cache or the network for a prefetched
paper). A document whose digest came out incomplete is read again by the next build,
to retry; one showing unversioned papers, once their metadata is due a refresh.
Warnings go through Sphinx's logger with the document and line, so ``-W`` fails on
them; so do the core's own (the once-a-build "OPENAI_API_KEY is not set").
"""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar, NamedTuple

from docutils import nodes
from docutils.parsers.rst import directives
from sphinx.errors import ConfigError
from sphinx.util import logging as sphinx_logging
from sphinx.util.docutils import SphinxDirective

from mkdocs_arxiv_digest import __version__
from mkdocs_arxiv_digest.config import DigestConfig, Settings
from mkdocs_arxiv_digest.directive import Directive, read_body
from mkdocs_arxiv_digest.errors import DigestError
from mkdocs_arxiv_digest.errors import log as core_log
from mkdocs_arxiv_digest.ids import ArxivId
from mkdocs_arxiv_digest.layout import FootnoteLabels, lay_out
from mkdocs_arxiv_digest.models import Row, ScannedPage
from mkdocs_arxiv_digest.nodes import digest_nodes
from mkdocs_arxiv_digest.page_renderer import requests_of
from mkdocs_arxiv_digest.pipeline import Pipeline

if TYPE_CHECKING:
    from sphinx.application import Sphinx
    from sphinx.config import Config
    from sphinx.environment import BuildEnvironment

PREFIX = "arxiv_digest_"
"""``conf.py`` names: ``arxiv_digest_`` and the option's name in `DigestConfig`."""
NAME = "arxiv-digest"
"""The directive's name, and the type of its warnings (``suppress_warnings = ["arxiv-digest"]``)."""
# Changing these changes what a complete digest shows: Sphinx then reads every document again.
_SHAPES_OUTPUT = {"language", "model", "snapshot"}
# Documents to read again, by name: when (epoch seconds; 0 for the next build).
_REREAD = "arxiv_digest_reread"

logger = sphinx_logging.getLogger(__name__)


def setup(app: Sphinx) -> dict[str, Any]:
    """Register the directive, the ``arxiv_digest_*`` options and the build's hooks."""
    for name in option_names():
        app.add_config_value(PREFIX + name, None, "env" if name in _SHAPES_OUTPUT else "")
    digests = SphinxDigests()
    app.add_directive(NAME, type("ArxivDigestDirective", (ArxivDigestDirective,), {"digests": digests}))
    app.connect("config-inited", digests.configure)
    app.connect("builder-inited", digests.begin_build)
    app.connect("env-get-outdated", _due_for_reading)
    app.connect("env-before-read-docs", digests.prefetch)
    app.connect("env-purge-doc", digests.purge)
    app.connect("env-merge-info", _merge)
    app.connect("build-finished", digests.finish)
    return {"version": __version__, "env_version": 1, "parallel_read_safe": True, "parallel_write_safe": True}


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
    config = DigestConfig()
    config.load_dict(options)
    errors, warnings = config.validate()
    problems = [f"{PREFIX}{name}: {message}" for name, message in [*errors, *warnings]]
    problems += [f"{key}: not an option (options: {', '.join(PREFIX + name for name in known)})" for key in unknown]
    if problems:
        raise DigestError("; ".join(problems))
    # Sphinx writes locales with an underscore (`zh_CN`); the plugin's codes are BCP 47 (`zh-CN`).
    language = sphinx_language.replace("_", "-") if sphinx_language else None
    return Settings.from_config(config, base_dir=confdir, default_language=language)


class Found(NamedTuple):
    """A directive as a source holds it, before its body is read."""

    body: list[str]
    first_line: int
    """1-based line of the body's first line in the document (as well as a scan can tell)."""
    options: dict[str, str]
    """Options set in reST/MyST syntax (``:language: ja``)."""


def read_directive(found: Found) -> Directive:
    """The directive's papers, options and problems, its body read as a Markdown block's is.

    Options in reST/MyST syntax win over the same options in a YAML body.
    """
    directive = read_body(found.body, found.first_line)
    directive.options.update(found.options)
    return directive


def scan_source(text: str, filetype: str) -> list[Found]:
    """The ``arxiv-digest`` directives of a reST (``restructuredtext``) or MyST (``markdown``) source."""
    if filetype == "restructuredtext":
        return list(_rst_directives(text.splitlines()))
    if filetype == "markdown":
        return list(_myst_directives(text, 0))
    return []


# `.. arxiv-digest::`, at any indentation (inside a note, a list...); text after `::`
# is the first line of the block, as docutils reads it.
_RST_DIRECTIVE = re.compile(r"^(?P<indent>\s*)\.\.\s+arxiv-digest\s*::(?P<rest>.*)$")
_RST_OPTION = re.compile(r"^:(?P<name>[A-Za-z][\w-]*):(?:\s+(?P<value>.*))?$")


def _rst_directives(lines: list[str]) -> Iterator[Found]:
    for index, line in enumerate(lines):
        match = _RST_DIRECTIVE.match(line)
        if match is None:
            continue
        indent = len(match["indent"].expandtabs())
        end = index + 1
        while end < len(lines) and (not lines[end].strip() or _indent(lines[end]) > indent):
            end += 1
        block = lines[index + 1 : end]
        margin = min((_indent(text) for text in block if text.strip()), default=0)
        block = [match["rest"].strip(), *(text.expandtabs()[margin:] for text in block)]
        yield _rst_block(block, index + 1)


def _rst_block(block: list[str], directive_line: int) -> Found:
    """Options and body of a directive block (``block[0]`` is the text after ``::``), split as docutils splits them.

    The block's first paragraph holds the options, from its first ``:name:`` line on;
    what comes before them, and everything after that paragraph, is the body.
    """
    start = 0 if block[0].strip() else 1
    rest = block[start:]
    blank = next((i for i, text in enumerate(rest) if not text.strip()), len(rest))
    first = next((i for i in range(blank) if _RST_OPTION.match(rest[i])), blank)
    options = {m["name"]: (m["value"] or "").strip() for text in rest[first:blank] if (m := _RST_OPTION.match(text))}
    if first == 0 and options:
        return Found(rest[blank + 1 :], directive_line + start + blank + 1, options)
    return Found([*rest[:first], *rest[blank:]] if options else rest, directive_line + start, options)


def _indent(line: str) -> int:
    expanded = line.expandtabs()
    return len(expanded) - len(expanded.lstrip())


def _myst_directives(text: str, offset: int) -> Iterator[Found]:
    """Directives in MyST fences (backticks, tildes, colons), as MyST's own parser finds them.

    Directives that hold MyST (a note, a tab) and ``{eval-rst}`` blocks are searched too.
    """
    try:
        from markdown_it.renderer import RendererHTML
        from myst_parser.config.main import MdParserConfig
        from myst_parser.parsers.directives import parse_directive_text
        from myst_parser.parsers.mdit import create_md_parser
    except ImportError:
        return  # no MyST: Sphinx will not read Markdown either
    parser = create_md_parser(MdParserConfig(enable_extensions={"colon_fence"}), RendererHTML)
    for token in parser.parse(text):
        if token.type not in ("fence", "colon_fence") or token.map is None:
            continue
        name = re.match(r"^\{([\w\-+:]+)\}\s*(.*)$", token.info.strip())
        if name is None:
            continue
        first_body_line = offset + token.map[0] + 2
        if name[1] == NAME:
            parsed = parse_directive_text(ArxivDigestDirective, name[2], token.content)
            options = {key: str(value) for key, value in parsed.options.items()}
            yield Found(parsed.body, first_body_line + parsed.body_offset, options)
        elif name[1] == "eval-rst":
            for found in _rst_directives(token.content.splitlines()):
                yield found._replace(first_line=found.first_line + first_body_line - 1)
        else:
            yield from _myst_directives(token.content, first_body_line - 1)


class ArxivDigestDirective(SphinxDirective):
    """``.. arxiv-digest::`` (reST) or ```` ```{arxiv-digest} ```` (MyST): a list of arXiv IDs, or YAML."""

    has_content = True
    option_spec: ClassVar[dict[str, Any]] = {
        "language": directives.unchanged_required,
        "model": directives.unchanged_required,
    }
    digests: ClassVar[SphinxDigests]
    """The application's state; `setup` makes a subclass per application that sets it."""

    def run(self) -> list[nodes.Node]:
        docname = self.env.docname
        directive = read_directive(Found(list(self.content), self._first_body_line(), dict(self.options)))
        for line, message in directive.problems:
            # An empty directive's problem is the directive itself (docutils places its
            # missing body after the options).
            logger.warning(message, location=(docname, line if self.content else self.lineno), type=NAME)
        if not directive.ids:
            return []
        digests = self.digests
        pipeline = digests.pipeline()
        requests = requests_of(directive, pipeline.settings)
        pipeline.resolver.resolve(requests)  # nothing to do for what the prefetch saw
        labels = digests.labels.setdefault(docname, FootnoteLabels())
        rows: list[Row] = []
        seen: dict[ArxivId, int] = {}
        for request, (arxiv_id, line) in zip(requests, directive.ids, strict=True):
            if arxiv_id in seen:
                logger.info(
                    f"{arxiv_id} is already listed on line {seen[arxiv_id]}; shown once", location=(docname, line)
                )
                continue
            seen[arxiv_id] = line
            row = pipeline.resolver.row(request)
            if row.digest is None:
                failure = pipeline.resolver.failure(request)
                if not failure.reported:
                    logger.warning(f"{arxiv_id}: {failure.reason}", location=(docname, line), type=NAME)
            rows.append(row)
        self._note_rereading(rows, pipeline)
        return digest_nodes(
            lay_out(rows, requests[0].language, labels, pipeline.settings.presentation), self.state.document
        )

    def _first_body_line(self) -> int:
        # docutils gives reST directives the body's absolute 0-based line; MyST runs them
        # through its own state machine, with the body's line relative to the opening one.
        lineno: int = self.lineno
        offset: int = self.content_offset
        if type(self.state_machine).__module__.startswith("myst_parser"):
            return lineno + offset + 1
        return offset + 1

    def _note_rereading(self, rows: list[Row], pipeline: Pipeline) -> None:
        """Read this document again next build if a digest is incomplete, or when metadata is due a refresh."""
        metadata, settings = pipeline.resolver.metadata, pipeline.settings
        due = [0.0 for row in rows if row.digest is None or not metadata.is_fresh(row.requested)]
        due += [at + settings.refresh_days * 86400 for row in rows if (at := metadata.fetched_at(row.requested))]
        if due:
            reread = _reread(self.env)
            reread[self.env.docname] = min([*due, reread.get(self.env.docname, float("inf"))])
        if settings.snapshot is not None and settings.snapshot.is_file():
            self.env.note_dependency(str(settings.snapshot))  # an edited snapshot: read again


class SphinxDigests:
    """One Sphinx application's digests: its settings, its pipeline, each document's footnote labels."""

    def __init__(self) -> None:
        self.settings: Settings | None = None
        self.labels: dict[str, FootnoteLabels] = {}
        """By document name; a document's labels are forgotten when Sphinx reads it again."""
        self._pipeline: Pipeline | None = None
        self._forward = _Forward()

    def configure(self, app: Sphinx, config: Config) -> None:
        """Validate the ``arxiv_digest_*`` values, as the plugin validates `mkdocs.yml` (``config-inited``)."""
        values = {name: config[name] for name in (PREFIX + option for option in option_names())}
        values |= {key: value for key, value in _conf_values(config).items() if key.startswith(PREFIX)}
        confdir = Path(app.confdir or app.srcdir)
        try:
            self.settings = settings_from_conf(values, confdir=confdir, sphinx_language=config.language)
        except DigestError as error:
            raise ConfigError(f"arxiv-digest: {error}") from error

    def begin_build(self, app: Sphinx) -> None:
        """Say the core's warnings through Sphinx's logger for this build (``builder-inited``)."""
        self._forward.attach()

    def pipeline(self) -> Pipeline:
        """The build's pipeline, opened on first need (a build that reads no digest opens no cache)."""
        if self._pipeline is None:
            assert self.settings is not None, "config-inited comes first"
            try:
                self._pipeline = Pipeline(self.settings)
            except DigestError as error:
                raise ConfigError(f"arxiv-digest: {error}") from error
            self._pipeline.begin_build()
        return self._pipeline

    def prefetch(self, app: Sphinx, env: BuildEnvironment, docnames: list[str]) -> None:
        """Resolve every paper of the documents about to be read, at once (``env-before-read-docs``)."""
        assert self.settings is not None
        pages = list(scan_documents(env, docnames, app.config.source_suffix, self.settings))
        if not pages:
            return
        pipeline = self.pipeline()
        pipeline.prefetch(pages)
        pipeline.renderer.note_shown(request for page in pages for request in page.requests)

    def purge(self, app: Sphinx, env: BuildEnvironment, docname: str) -> None:
        """Forget what a document showed: it is read again, or gone (``env-purge-doc``)."""
        self.labels.pop(docname, None)
        _reread(env).pop(docname, None)

    def finish(self, app: Sphinx, exception: Exception | None) -> None:
        """The build's summary; close the cache (``build-finished``)."""
        pipeline, self._pipeline = self._pipeline, None
        if pipeline is not None:
            if pipeline.renderer.shown and exception is None:
                logger.info(f"arxiv-digest: {pipeline.summary_line()}")
            pipeline.close()
        self._forward.detach()


def scan_documents(
    env: BuildEnvironment, docnames: Sequence[str], source_suffix: Mapping[str, str], settings: Settings
) -> Iterator[ScannedPage]:
    """What each of the documents asks for (those that ask for something)."""
    for docname in docnames:
        path = Path(env.doc2path(docname))
        page = scan_file(path, docname, source_suffix, settings, encoding=env.settings.get("input_encoding"))
        if page is not None:
            yield page


def scan_file(
    path: Path, docname: str, source_suffix: Mapping[str, str], settings: Settings, *, encoding: str | None = None
) -> ScannedPage | None:
    """What one document asks for; None if nothing (or it cannot be read: Sphinx reports that itself)."""
    filetype = next(
        (kind or "restructuredtext" for suffix, kind in source_suffix.items() if path.name.endswith(suffix)), ""
    )
    try:
        text = path.read_text(encoding=encoding or "utf-8-sig")
    except (OSError, UnicodeDecodeError):
        return None
    requests = [
        request for found in scan_source(text, filetype) for request in requests_of(read_directive(found), settings)
    ]
    return ScannedPage(docname, None, requests) if requests else None


def sphinx_site(conf_py: Path, *, source_dir: Path | None = None) -> tuple[Settings, list[ScannedPage], bool]:
    """A Sphinx project's settings, and every document that asks for papers — without a build.

    For the command line (`arxiv-digest prefetch/snapshot`): ``conf.py`` is read as
    Sphinx reads it, its documents found as Sphinx finds them (``source_suffix``,
    ``exclude_patterns``, ``include_patterns``; ``.md`` is MyST with ``myst_parser``),
    and no extension is set up. Pages carry no Markdown (None): their directives are
    reST or MyST. Sphinx always renders math, so the last value is True. Raises
    `DigestError` for invalid ``arxiv_digest_*`` values, Sphinx's `ConfigError` for a
    broken ``conf.py``.
    """
    from sphinx.config import Config
    from sphinx.project import Project
    from sphinx.util.tags import Tags

    conf_py = conf_py.resolve()
    values = _conf_values(Config.read(conf_py.parent, overrides={}, tags=Tags()))
    settings = settings_from_conf(values, confdir=conf_py.parent, sphinx_language=values.get("language"))
    suffixes = _source_suffixes(values)
    project = Project(source_dir or conf_py.parent, suffixes)
    excluded = [*values.get("exclude_patterns", []), *values.get("templates_path", [])]
    docnames = project.discover(excluded, values.get("include_patterns", ["**"]))
    pages = [
        page
        for docname in sorted(docnames)
        if (page := scan_file(Path(project.doc2path(docname, absolute=True)), docname, suffixes, settings))
    ]
    return settings, pages, True


def _conf_values(config: Config) -> dict[str, Any]:
    """Everything ``conf.py`` set, registered or not (so a mistyped ``arxiv_digest_ofline`` is an error).

    Sphinx keeps it in `Config._raw_config`; its public interface has only registered values.
    """
    raw: dict[str, Any] = getattr(config, "_raw_config", {})
    return raw


def _source_suffixes(values: Mapping[str, Any]) -> dict[str, str]:
    """``source_suffix`` as Sphinx normalizes it, with ``.md`` for MyST as `myst_parser` registers it."""
    suffix = values.get("source_suffix", {".rst": "restructuredtext"})
    suffixes = {suffix: "restructuredtext"} if isinstance(suffix, str) else dict.fromkeys(suffix, "restructuredtext")
    if isinstance(suffix, dict):
        suffixes = {key: kind or "restructuredtext" for key, kind in suffix.items()}
    if "myst_parser" in values.get("extensions", []) and suffixes.get(".md", "restructuredtext") == "restructuredtext":
        suffixes[".md"] = "markdown"
    return suffixes


def _reread(env: BuildEnvironment) -> dict[str, float]:
    """The documents to read again, kept in the environment (pickled with it between builds)."""
    reread: dict[str, float] | None = getattr(env, _REREAD, None)
    if reread is None:
        reread = {}
        setattr(env, _REREAD, reread)
    return reread


def _due_for_reading(
    app: Sphinx, env: BuildEnvironment, added: set[str], changed: set[str], removed: set[str]
) -> list[str]:
    """Unchanged documents to read again: incomplete digests, metadata due a refresh (``env-get-outdated``)."""
    now = time.time()
    return [
        docname
        for docname, due in _reread(env).items()
        if due <= now and docname in env.found_docs and docname not in removed
    ]


def _merge(app: Sphinx, env: BuildEnvironment, docnames: set[str], other: BuildEnvironment) -> None:
    """Take what a parallel reader noted about its documents (``env-merge-info``)."""
    theirs = _reread(other)
    _reread(env).update((docname, theirs[docname]) for docname in docnames if docname in theirs)


class _Forward(logging.Handler):
    """The core's records (it logs through MkDocs' logger) said through Sphinx's, for ``-W``."""

    def __init__(self) -> None:
        super().__init__(logging.INFO)
        self._source = logging.getLogger(core_log.logger.name)
        self._saved: tuple[int, bool] | None = None

    def attach(self) -> None:
        if self._saved is None:
            self._saved = (self._source.level, self._source.propagate)
            self._source.addHandler(self)
            # Said once, by Sphinx: not again by whatever handles MkDocs' records.
            self._source.propagate = False
            self._source.setLevel(logging.INFO)

    def detach(self) -> None:
        if self._saved is not None:
            self._source.removeHandler(self)
            self._source.setLevel(self._saved[0])
            self._source.propagate = self._saved[1]
            self._saved = None

    def emit(self, record: logging.LogRecord) -> None:
        logger.log(record.levelno, record.getMessage(), type=NAME)
