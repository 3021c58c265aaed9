"""The ``arxiv-digest`` command: render a digest, warm the cache, write the snapshot.

Every command speaks to the build through `Pipeline`. `render` is run by hand, so the
module imports what it needs and no more: the pipeline makes its page machinery only
for the site commands, which need it.
"""

from __future__ import annotations

import importlib.util
import logging
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from mkdocs_arxiv_digest import __version__
from mkdocs_arxiv_digest.cache import Cache
from mkdocs_arxiv_digest.config import Settings, default_options, settings_from_options
from mkdocs_arxiv_digest.errors import InvalidIdError, log, shown
from mkdocs_arxiv_digest.frontend import errors_as, site_settings
from mkdocs_arxiv_digest.ids import parse_id
from mkdocs_arxiv_digest.layout import DigestLayout, lay_out
from mkdocs_arxiv_digest.models import DigestRequest, ScannedPage
from mkdocs_arxiv_digest.render import REQUIRED_EXTENSIONS, markdown_digest, portable_text, text_digest

if TYPE_CHECKING:
    from mkdocs.config.defaults import MkDocsConfig

    from mkdocs_arxiv_digest.pipeline import Pipeline

DEFAULTS = default_options()
"""The plugin's defaults: the command line shows and uses the same ones."""


def site_options(command: Callable[..., None]) -> Callable[..., None]:
    """`-f mkdocs.yml` or `-C conf.py`: which site. Without either, `mkdocs.yml`, else `docs/conf.py` or `conf.py`."""
    command = click.option(
        "-C", "--conf", "conf_py", type=click.Path(exists=True, dir_okay=False, path_type=Path), default=None,
        help="A Sphinx project's conf.py (instead of mkdocs.yml).",
    )(command)  # fmt: skip
    return click.option(
        "-f", "--config-file", type=click.Path(dir_okay=False, path_type=Path), default=None,
        help="The site's mkdocs.yml  [default: mkdocs.yml]",
    )(command)  # fmt: skip


@click.group()
@click.version_option(__version__, "--version", prog_name="arxiv-digest", message="%(prog)s %(version)s")
@click.option("-q", "--quiet", is_flag=True, help="Only print warnings and errors.")
def main(quiet: bool) -> None:
    """Digests of arXiv papers: summaries and translations, cached on disk."""
    logger = logging.getLogger("mkdocs")
    for handler in [h for h in logger.handlers if getattr(h, "arxiv_digest_cli", False)]:
        logger.removeHandler(handler)  # one handler, however often `main` runs in a process
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(levelname)-7s -  %(message)s"))
    handler.arxiv_digest_cli = True  # type: ignore[attr-defined]
    logger.addHandler(handler)
    logger.setLevel(logging.WARNING if quiet else logging.INFO)


FORMATS = ("markdown", "text", "html")
"""What `render` prints: Markdown to paste elsewhere, plain text for a newsletter, or a site's HTML."""


@main.command("render")
@click.argument("ids", nargs=-1, required=True)
@site_options
@click.option(
    "-l", "--language", default=None, help="Language of summaries and translations.  [default: the site's, else en]"
)
@click.option("-m", "--model", default=None, help="Chat model (default: the site's, else the plugin's).")
@click.option(
    "--base-url",
    default=None,
    help="OpenAI-compatible endpoint (default: the site's, else OPENAI_BASE_URL, else OpenAI).",
)
@click.option("--arxiv-api-url", default=None, help=f"[default: the site's, else {DEFAULTS['arxiv_api_url']}]")
@click.option(
    "--arxiv-delay",
    type=float,
    default=None,
    help=f"Seconds between arXiv requests.  [default: the site's, else {DEFAULTS['arxiv_delay']}]",
)
@click.option(
    "--cache-dir",
    default=None,
    type=click.Path(path_type=Path),
    help=f"[default: the site's, else {DEFAULTS['cache_dir']}]",
)
@click.option(
    "--offline/--online",
    default=None,
    help="Use the snapshot and the cache only.  [default: the site's, else ARXIV_DIGEST_OFFLINE]",
)
@click.option("--math/--no-math", default=True, show_default=True, help="Keep $...$ as TeX (GitHub renders it).")
@click.option(
    "--format", "output_format", type=click.Choice(FORMATS), default="markdown", show_default=True,
    help="markdown to paste elsewhere, text for a newsletter, html as a site shows it.",
)  # fmt: skip
def render_ids(
    ids: tuple[str, ...],
    config_file: Path | None,
    conf_py: Path | None,
    math: bool,
    output_format: str,
    **flags: Any,
) -> None:
    """Print the digest of IDS as Markdown, plain text or HTML (READMEs, newsletters, mailing lists).

    The site in this folder (mkdocs.yml, else docs/conf.py or conf.py), or the one -f or -C
    names, gives the options (language, model, cache, snapshot...); flags override them.
    """
    try:
        wanted = [parse_id(text) for text in ids]
    except InvalidIdError as error:
        raise click.BadParameter(shown(error), param_hint="IDS") from None
    site = _site_settings(config_file, conf_py)
    given = {
        name: str(value) if isinstance(value, Path) else value for name, value in flags.items() if value is not None
    }
    with errors_as(click.ClickException):
        options = {**(site.as_options() if site is not None else {}), **given}
        settings = settings_from_options(options, base_dir=Path.cwd(), default_language="en")
    with _pipeline(settings) as pipeline:  # papers only, no pages: the pipeline makes no page machinery
        requests = [DigestRequest(arxiv_id, settings.language, settings.model) for arxiv_id in dict.fromkeys(wanted)]
        pipeline.resolve(requests)
        rows = [pipeline.row(request) for request in requests]
        for request, row in zip(requests, rows, strict=True):
            failure = pipeline.failure(request) if row.digest is None else None
            if failure is not None and not failure.reported:
                log.warning(f"{request.id}: {failure.reason}")
        layout = lay_out(rows, settings.language, presentation=settings.presentation)
        if output_format == "text":
            click.echo(text_digest(layout), nl=False)
        elif output_format == "html":
            click.echo(_html_digest(layout, math=math), nl=False)
        else:
            click.echo(markdown_digest(layout, lambda text: portable_text(text, math=math)), nl=False)
    if any(row.digest is None for row in rows):
        sys.exit(1)


def _html_digest(layout: DigestLayout, *, math: bool) -> str:
    """The HTML a site shows for ``layout``: its Markdown, converted as a page of a site is.

    Through the site's own path (tokens, Python-Markdown with the digest's extensions, the
    fragments' postprocessor) rather than an HTML writer of its own, so it cannot drift
    from what a site shows. Math is arithmatex's (MathJax 3, KaTeX) where ``math`` and
    `pymdownx` is installed, else text.
    """
    import markdown

    from mkdocs_arxiv_digest.fragments import Fragments
    from mkdocs_arxiv_digest.postprocess import ARITHMATEX, FragmentsExtension

    fragments = Fragments()
    from mkdocs_arxiv_digest.stylesheet import DigestTableExtension

    extensions: list[Any] = [*REQUIRED_EXTENSIONS, FragmentsExtension(fragments), DigestTableExtension()]
    configs: dict[str, dict[str, Any]] = {}
    if math and importlib.util.find_spec("pymdownx") is not None:
        extensions.append(ARITHMATEX)
        configs[ARITHMATEX] = {"generic": True}
    page = markdown.Markdown(extensions=extensions, extension_configs=configs)
    return page.convert(markdown_digest(layout, fragments.token)) + "\n"


def _site_settings(config_file: Path | None, conf_py: Path | None) -> Settings | None:
    """The settings of the site `-f` or `-C` names, or of the one in this folder; None where there is none.

    A `mkdocs.yml` found here that does not enable the plugin gives no settings (the
    defaults apply); one named with `-f` is an error, as for the site commands.
    """
    named = config_file is not None or conf_py is not None
    if not named and not any(path.is_file() for path in (Path("mkdocs.yml"), Path("docs/conf.py"), Path("conf.py"))):
        return None
    try:
        settings, _pages_of = _read_site(config_file, conf_py)
    except _NoPlugin:
        if named:
            raise
        return None
    return settings


@main.command()
@site_options
@click.option(
    "--retry-rejected", is_flag=True,
    help="Ask now for papers held back because the model's replies were rejected (they wait up to a day).",
)  # fmt: skip
@click.option(
    "--batch", "use_batch", is_flag=True,
    help="Ask for every missing digest in one batch of the provider's Batch API (half the price, within 24 h).",
)  # fmt: skip
@click.option(
    "--poll", type=click.FloatRange(min=0), default=60.0, show_default=True,
    help="With --batch: seconds between looks at the batch's progress.",
)  # fmt: skip
@click.option(
    "--no-wait",
    is_flag=True,
    help="With --batch: collect the earlier batches that have ended, submit, and exit without waiting; a later `prefetch --batch` collects the rest.",
)
def prefetch(
    config_file: Path | None, conf_py: Path | None, retry_rejected: bool, use_batch: bool, poll: float, no_wait: bool
) -> None:
    """Fill the cache for every arxiv-digest block of the site."""
    if use_batch:
        from mkdocs_arxiv_digest.cli_batch import prefetch_batch

        prefetch_batch(config_file, conf_py, retry_rejected=retry_rejected, poll=poll, wait=not no_wait)
        return
    if no_wait:
        raise click.UsageError("--no-wait goes with --batch")
    with _site(config_file, conf_py, retry_rejected=retry_rejected) as (pipeline, pages):
        requests = [request for page in pages for request in page.requests]
        with click.progressbar(length=len(requests), label="Summarizing", file=sys.stderr) as bar:

            def advance(done: int, total: int) -> None:
                bar.length = total
                bar.update(done - bar.pos)

            pipeline.resolve(requests, progress=advance)
        complete = _render_pages(pipeline, pages)
        click.echo(f"{complete}/{len(set(requests))} papers complete in {pipeline.cache_directory}")
    if complete < len(set(requests)):
        sys.exit(1)


@main.command()
@site_options
@click.option(
    "-o", "--output", type=click.Path(dir_okay=False, path_type=Path), help="Default: the plugin's `snapshot`."
)
def snapshot(config_file: Path | None, conf_py: Path | None, output: Path | None) -> None:
    """Write the snapshot file: an entry for every paper the site shows (a blank digest where it has none)."""
    from mkdocs_arxiv_digest.snapshot import check_writable, load_snapshot, save_snapshot

    with _site(config_file, conf_py) as (pipeline, pages):
        path = output or pipeline.settings.snapshot
        if path is None:
            raise click.UsageError(
                "no snapshot file is set (`snapshot:` in mkdocs.yml, `arxiv_digest_snapshot` in conf.py); set one or pass --output"
            )
        with errors_as(click.ClickException):
            check_writable(path)  # before the papers are resolved (minutes, with a model), not after
        requests = list(dict.fromkeys(request for page in pages for request in page.requests))
        pipeline.resolve(requests)  # every paper, even those of pages stored whole
        _render_pages(pipeline, pages)
        with errors_as(click.ClickException):
            written = load_snapshot(path)
        blank, unknown = 0, 0
        for request in requests:
            row = pipeline.row(request)
            if row.paper is None:
                unknown += 1  # no metadata to pin: nothing a person could fill in either
            elif row.digest is None:
                blank += 1  # its metadata, and a blank digest for a person to write (or a later run)
                written.add(row.paper, None, blank=request.language)
            else:
                written.add(row.paper, row.digest)
        with errors_as(click.ClickException):
            save_snapshot(written, path)
    notes = (
        [
            f"{blank} without a summary: fill in its blank `summary:`"
            if blank == 1
            else f"{blank} without a summary: fill in their blank `summary:`"
        ]
        if blank
        else []
    )
    notes += [f"{unknown} without metadata, left out"] if unknown else []
    noun = "paper" if len(written.entries) == 1 else "papers"
    click.echo(f"Wrote {len(written.entries)} {noun} to {path}" + (f" ({'; '.join(notes)})" if notes else ""))
    if blank or unknown:
        sys.exit(1)


@main.group()
def cache() -> None:
    """Inspect or clear the site's cache."""


@cache.command("info")
@site_options
def cache_info(config_file: Path | None, conf_py: Path | None) -> None:
    """Entries by kind and size on disk."""
    with _cache(config_file, conf_py) as site_cache:
        stats = site_cache.stats()
        click.echo(f"{site_cache.directory}: {stats.pop('bytes')} bytes")
        for kind, count in sorted(stats.items()):
            click.echo(f"  {kind}: {count}")


@cache.command("clear")
@site_options
def cache_clear(config_file: Path | None, conf_py: Path | None) -> None:
    """Remove every cached entry (the snapshot is untouched)."""
    with _cache(config_file, conf_py) as site_cache:
        click.echo(f"Removed {site_cache.clear()} entries from {site_cache.directory}")


def _load(config_file: Path) -> MkDocsConfig:
    from mkdocs.config import load_config

    with errors_as(click.ClickException):
        return load_config(str(config_file))


class _NoPlugin(click.UsageError):
    """The site's mkdocs.yml does not enable the plugin."""


PagesOf = Callable[["Pipeline"], list[ScannedPage]]
"""A site's pages that ask for papers, found with the site's pipeline."""


def _mkdocs_site(config_file: Path) -> tuple[Settings, PagesOf]:
    """An MkDocs site's settings, and its pages that ask for papers."""
    from mkdocs.structure.files import get_files

    config = _load(config_file)
    plugin = config.plugins.get("arxiv-digest")
    if plugin is None:
        raise _NoPlugin(f"{config.config_file_path} does not enable the arxiv-digest plugin")
    settings = site_settings(config, plugin.config)

    languages = config.plugins.get("i18n")  # mkdocs-static-i18n: each language's version, in its language

    def pages_of(pipeline: Pipeline) -> list[ScannedPage]:
        pages = [page for page in pipeline.scan(get_files(config)) if page.requests]
        if languages is None or plugin.config.language:
            return pages
        from mkdocs_arxiv_digest.i18n import page_languages

        shown = page_languages((page.page for page in pages), languages.config)
        return [
            # Rendered as a build would in the site's language; in the others, only counted.
            ScannedPage(page.page, page.markdown if language == settings.language else None, requests)
            for page in pages
            if page.markdown is not None
            for language in shown[page.page]
            if (requests := pipeline.requests_in(page.markdown, language))
        ]

    return settings, pages_of


def _sphinx_site(conf_py: Path) -> tuple[Settings, PagesOf]:
    from sphinx.errors import ConfigError

    from mkdocs_arxiv_digest.sphinx import sphinx_site

    try:
        with errors_as(click.ClickException):
            settings, _pages = sphinx_site(conf_py)
    except ConfigError as error:
        raise click.ClickException(shown(error)) from error
    # Scanned again with the pipeline, which gives query blocks their pinned papers.
    return settings, lambda pipeline: sphinx_site(conf_py, pin=pipeline.pin)[1]


def _read_site(config_file: Path | None, conf_py: Path | None) -> tuple[Settings, PagesOf]:
    """The site `-f` or `-C` names, or the one in this directory."""
    if conf_py is not None:
        return _sphinx_site(conf_py)
    if config_file is not None or Path("mkdocs.yml").exists():
        config_file = config_file or Path("mkdocs.yml")
        if not config_file.is_file():
            raise click.UsageError(f"{config_file} does not exist")
        return _mkdocs_site(config_file)
    for candidate in (Path("docs/conf.py"), Path("conf.py")):
        if candidate.is_file():
            return _sphinx_site(candidate)
    raise click.UsageError("no mkdocs.yml, docs/conf.py or conf.py here: pass -f mkdocs.yml or -C docs/conf.py")


@contextmanager
def _site(
    config_file: Path | None, conf_py: Path | None, *, retry_rejected: bool = False
) -> Iterator[tuple[Pipeline, list[ScannedPage]]]:
    """The site's pipeline, and every page that asks for papers."""
    settings, pages_of = _read_site(config_file, conf_py)
    if retry_rejected:
        settings = settings._replace(retry_rejected=True)
    with _pipeline(settings) as pipeline:
        yield pipeline, pages_of(pipeline)


def _render_pages(pipeline: Pipeline, pages: list[ScannedPage]) -> int:
    """Render every page as a build would, for the same warnings (page, line, ID); count complete papers."""
    for page in pages:
        if page.markdown is not None:
            pipeline.render_page(page.markdown, page.page)
        else:  # a Sphinx document (reST or MyST), or a page of a language other than the site's
            pipeline.note_shown(page.requests, page.page)
    pipeline.report()
    return sum(pipeline.shown.values())


@contextmanager
def _cache(config_file: Path | None, conf_py: Path | None) -> Iterator[Cache]:
    settings, _pages_of = _read_site(config_file, conf_py)
    with errors_as(click.ClickException):
        site_cache = Cache(settings.cache_dir)
    try:
        yield site_cache
    finally:
        site_cache.close()


def _pipeline(settings: Settings) -> Pipeline:
    from mkdocs_arxiv_digest.pipeline import Pipeline

    with errors_as(click.ClickException):
        return Pipeline(settings)


from mkdocs_arxiv_digest.cli_batch import batch_group  # noqa: E402  (they use the helpers above)
from mkdocs_arxiv_digest.cli_queries import refresh  # noqa: E402

main.add_command(batch_group)
main.add_command(refresh)
