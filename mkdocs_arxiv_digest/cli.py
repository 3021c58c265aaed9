"""The ``arxiv-digest`` command: render a digest, warm the cache, write the snapshot.

`render` is run by hand, so the module imports what it needs and no more: the site
commands import the pipeline and the page scan when they run.
"""

from __future__ import annotations

import logging
import sys
from collections.abc import Callable, Iterator
from contextlib import closing, contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from mkdocs_arxiv_digest.cache import Cache
from mkdocs_arxiv_digest.config import Settings, default_options, validated_options
from mkdocs_arxiv_digest.errors import InvalidIdError, log, shown
from mkdocs_arxiv_digest.frontend import errors_as, renders_math, site_settings
from mkdocs_arxiv_digest.ids import parse_id
from mkdocs_arxiv_digest.models import DigestRequest, ScannedPage
from mkdocs_arxiv_digest.render import render_digest

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


@main.command()
@click.argument("ids", nargs=-1, required=True)
@click.option("-l", "--language", default="en", show_default=True, help="Language of summaries and translations.")
@click.option("-m", "--model", default=None, help="Chat model (default: the plugin's).")
@click.option("--base-url", default=None, help="OpenAI-compatible endpoint (default: OPENAI_BASE_URL, else OpenAI).")
@click.option("--arxiv-api-url", default=DEFAULTS["arxiv_api_url"], show_default=True)
@click.option(
    "--arxiv-delay", default=DEFAULTS["arxiv_delay"], show_default=True, help="Seconds between arXiv requests."
)
@click.option("--cache-dir", default=DEFAULTS["cache_dir"], show_default=True, type=click.Path(path_type=Path))
@click.option("--offline", is_flag=True, help="Use the cache only.")
@click.option("--math/--no-math", default=True, show_default=True, help="Keep $...$ as TeX (GitHub renders it).")
def render(ids: tuple[str, ...], math: bool, cache_dir: Path, **options: Any) -> None:
    """Print the digest of IDS as Markdown (for READMEs, newsletters, mailing lists)."""
    try:
        wanted = [parse_id(text) for text in ids]
    except InvalidIdError as error:
        raise click.BadParameter(shown(error), param_hint="IDS") from None
    with errors_as(click.ClickException):
        config = validated_options({**options, "cache_dir": str(cache_dir)})
    settings = Settings.from_config(config, base_dir=Path.cwd(), default_language="en")
    # Papers only, no pages: the resolver and the cache, without the pipeline's page machinery.
    from mkdocs_arxiv_digest.resolver import Resolver
    from mkdocs_arxiv_digest.snapshot import Snapshot

    with errors_as(click.ClickException):
        cache = Cache(settings.cache_dir)
    with closing(cache):
        resolver = Resolver(settings, cache, Snapshot())
        requests = [DigestRequest(arxiv_id, settings.language, settings.model) for arxiv_id in dict.fromkeys(wanted)]
        resolver.resolve(requests)
        rows = [resolver.row(request) for request in requests]
        for request, row in zip(requests, rows, strict=True):
            failure = resolver.failure(request) if row.digest is None else None
            if failure is not None and not failure.reported:
                log.warning(f"{request.id}: {failure.reason}")
        click.echo(render_digest(rows, math=math), nl=False)
    if any(row.digest is None for row in rows):
        sys.exit(1)


@main.command()
@site_options
def prefetch(config_file: Path | None, conf_py: Path | None) -> None:
    """Fill the cache for every arxiv-digest block of the site."""
    with _site(config_file, conf_py) as (pipeline, pages, math):
        requests = [request for page in pages for request in page.requests]
        with click.progressbar(length=len(requests), label="Summarizing", file=sys.stderr) as bar:

            def advance(done: int, total: int) -> None:
                bar.length = total
                bar.update(done - bar.pos)

            pipeline.resolver.resolve(requests, progress=advance)
        complete = _render_pages(pipeline, pages, math)
        click.echo(f"{complete}/{len(set(requests))} papers complete in {pipeline.cache.directory}")
    if complete < len(set(requests)):
        sys.exit(1)


@main.command()
@site_options
@click.option(
    "-o", "--output", type=click.Path(dir_okay=False, path_type=Path), help="Default: the plugin's `snapshot`."
)
def snapshot(config_file: Path | None, conf_py: Path | None, output: Path | None) -> None:
    """Write the snapshot file: complete entries for every paper the site shows."""
    from mkdocs_arxiv_digest.snapshot import check_writable, load_snapshot, save_snapshot

    with _site(config_file, conf_py) as (pipeline, pages, math):
        path = output or pipeline.settings.snapshot
        if path is None:
            raise click.UsageError(
                "no snapshot file is set (`snapshot:` in mkdocs.yml, `arxiv_digest_snapshot` in conf.py); set one or pass --output"
            )
        with errors_as(click.ClickException):
            check_writable(path)  # before the papers are resolved (minutes, with a model), not after
        requests = list(dict.fromkeys(request for page in pages for request in page.requests))
        pipeline.resolver.resolve(requests)  # every paper, even those of pages stored whole
        _render_pages(pipeline, pages, math)
        with errors_as(click.ClickException):
            written = load_snapshot(path)
        rows = [pipeline.resolver.row(request) for request in requests]
        complete = [row for row in rows if row.paper is not None and row.digest is not None]
        for row in complete:
            written.add(row.paper, row.digest)  # type: ignore[arg-type]
        with errors_as(click.ClickException):
            save_snapshot(written, path)
    missing = len(rows) - len(complete)
    click.echo(
        f"Wrote {len(written.entries)} papers to {path}" + (f" ({missing} incomplete, left out)" if missing else "")
    )
    if missing:
        sys.exit(1)


@main.group()
def cache() -> None:
    """Inspect or clear the site's cache."""


@cache.command("info")
@site_options
def cache_info(config_file: Path | None, conf_py: Path | None) -> None:
    """Entries by kind and size on disk."""
    with _cache(config_file, conf_py) as store:
        stats = store.stats()
        click.echo(f"{store.directory}: {stats.pop('bytes')} bytes")
        for kind, count in sorted(stats.items()):
            click.echo(f"  {kind}: {count}")


@cache.command("clear")
@site_options
def cache_clear(config_file: Path | None, conf_py: Path | None) -> None:
    """Remove every cached entry (the snapshot is untouched)."""
    with _cache(config_file, conf_py) as store:
        click.echo(f"Removed {store.clear()} entries from {store.directory}")


def _load(config_file: Path) -> MkDocsConfig:
    from mkdocs.config import load_config

    with errors_as(click.ClickException):
        return load_config(str(config_file))


def _mkdocs_site(config_file: Path) -> tuple[Settings, list[ScannedPage], bool]:
    """An MkDocs site's settings, every page that asks for papers, and whether it renders math."""
    from mkdocs.structure.files import get_files

    from mkdocs_arxiv_digest.page_renderer import requests_in
    from mkdocs_arxiv_digest.scan import PageScanner

    config = _load(config_file)
    plugin = config.plugins.get("arxiv-digest")
    if plugin is None:
        raise click.UsageError(f"{config.config_file_path} does not enable the arxiv-digest plugin")
    settings = site_settings(config, plugin.config)
    # The scan needs only how directives read; the renderer that does it is made below too.
    scanner = PageScanner(lambda markdown: requests_in(markdown, settings))
    pages = [page for page in scanner.pages(get_files(config)) if page.requests]
    return settings, pages, renders_math(config.markdown_extensions)


def _sphinx_site(conf_py: Path) -> tuple[Settings, list[ScannedPage], bool]:
    from sphinx.errors import ConfigError

    from mkdocs_arxiv_digest.sphinx import sphinx_site

    try:
        with errors_as(click.ClickException):
            return sphinx_site(conf_py)
    except ConfigError as error:
        raise click.ClickException(shown(error)) from error


def _read_site(config_file: Path | None, conf_py: Path | None) -> tuple[Settings, list[ScannedPage], bool]:
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
def _site(config_file: Path | None, conf_py: Path | None) -> Iterator[tuple[Pipeline, list[ScannedPage], bool]]:
    """The site's pipeline, every page that asks for papers, and whether the site renders math."""
    settings, pages, math = _read_site(config_file, conf_py)
    with _pipeline(settings) as pipeline:
        yield pipeline, pages, math


def _render_pages(pipeline: Pipeline, pages: list[ScannedPage], math: bool) -> int:
    """Render every page as a build would, for the same warnings (page, line, ID); count complete papers."""
    for page in pages:
        if page.markdown is not None:
            pipeline.render_page(page.markdown, page.page, math=math)
        else:  # a Sphinx document: its directives are reST or MyST, rendered by Sphinx
            pipeline.renderer.note_shown(page.requests, page.page)
    pipeline.renderer.report()
    return sum(pipeline.renderer.shown.values())


@contextmanager
def _cache(config_file: Path | None, conf_py: Path | None) -> Iterator[Cache]:
    settings, _pages, _math = _read_site(config_file, conf_py)
    with errors_as(click.ClickException):
        store = Cache(settings.cache_dir)
    try:
        yield store
    finally:
        store.close()


def _pipeline(settings: Settings) -> Pipeline:
    from mkdocs_arxiv_digest.pipeline import Pipeline

    with errors_as(click.ClickException):
        return Pipeline(settings)
