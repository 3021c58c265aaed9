"""The ``arxiv-digest`` command: render a digest, warm the cache, write the snapshot."""

from __future__ import annotations

import logging
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from mkdocs_arxiv_digest.cache import Cache
from mkdocs_arxiv_digest.config import Settings, default_options, validated_options
from mkdocs_arxiv_digest.errors import InvalidIdError, log
from mkdocs_arxiv_digest.frontend import errors_as, renders_math, site_settings
from mkdocs_arxiv_digest.ids import parse_id
from mkdocs_arxiv_digest.models import DigestRequest, ScannedPage
from mkdocs_arxiv_digest.pipeline import Pipeline
from mkdocs_arxiv_digest.render import render_digest
from mkdocs_arxiv_digest.snapshot import load_snapshot, save_snapshot

if TYPE_CHECKING:
    from mkdocs.config.defaults import MkDocsConfig

DEFAULTS = default_options()
"""The plugin's defaults: the command line shows and uses the same ones."""

config_option = click.option(
    "-f", "--config-file", type=click.Path(exists=True, dir_okay=False, path_type=Path),
    default="mkdocs.yml", show_default=True, help="The site's mkdocs.yml.",
)  # fmt: skip


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
        raise click.BadParameter(str(error), param_hint="IDS") from None
    with errors_as(click.ClickException):
        config = validated_options({**options, "cache_dir": str(cache_dir)})
    settings = Settings.from_config(config, base_dir=Path.cwd(), default_language="en")
    with _pipeline(settings) as pipeline:
        requests = [DigestRequest(arxiv_id, settings.language, settings.model) for arxiv_id in dict.fromkeys(wanted)]
        pipeline.resolver.resolve(requests)
        rows = [pipeline.resolver.row(request) for request in requests]
        for request, row in zip(requests, rows, strict=True):
            failure = pipeline.resolver.failure(request) if row.digest is None else None
            if failure is not None and not failure.reported:
                log.warning(f"{request.id}: {failure.reason}")
        click.echo(render_digest(rows, math=math), nl=False)
    if any(row.digest is None for row in rows):
        sys.exit(1)


@main.command()
@config_option
def prefetch(config_file: Path) -> None:
    """Fill the cache for every arxiv-digest block of the site."""
    with _site(config_file) as (pipeline, pages, math):
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
@config_option
@click.option(
    "-o", "--output", type=click.Path(dir_okay=False, path_type=Path), help="Default: the plugin's `snapshot`."
)
def snapshot(config_file: Path, output: Path | None) -> None:
    """Write the snapshot file: complete entries for every paper the site shows."""
    with _site(config_file) as (pipeline, pages, math):
        path = output or pipeline.settings.snapshot
        if path is None:
            raise click.UsageError("the plugin sets no `snapshot:` file; set one in mkdocs.yml or pass --output")
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
@config_option
def cache_info(config_file: Path) -> None:
    """Entries by kind and size on disk."""
    with _cache(config_file) as store:
        stats = store.stats()
        click.echo(f"{store.directory}: {stats.pop('bytes')} bytes")
        for kind, count in sorted(stats.items()):
            click.echo(f"  {kind}: {count}")


@cache.command("clear")
@config_option
def cache_clear(config_file: Path) -> None:
    """Remove every cached entry (the snapshot is untouched)."""
    with _cache(config_file) as store:
        click.echo(f"Removed {store.clear()} entries from {store.directory}")


def _load(config_file: Path) -> MkDocsConfig:
    from mkdocs.config import load_config

    with errors_as(click.ClickException):
        return load_config(str(config_file))


def _settings(config: MkDocsConfig) -> tuple[Settings, bool]:
    """The site's settings, and whether it renders math."""
    plugin = config.plugins.get("arxiv-digest")
    if plugin is None:
        raise click.UsageError(f"{config.config_file_path} does not enable the arxiv-digest plugin")
    return site_settings(config, plugin.config), renders_math(config.markdown_extensions)


@contextmanager
def _site(config_file: Path) -> Iterator[tuple[Pipeline, list[ScannedPage], bool]]:
    """The site's pipeline, every page that asks for papers, and whether the site renders math."""
    from mkdocs.structure.files import get_files

    from mkdocs_arxiv_digest.scan import PageScanner

    config = _load(config_file)
    settings, math = _settings(config)
    files = get_files(config)
    with _pipeline(settings) as pipeline:
        pages = [page for page in PageScanner(pipeline.renderer.requests_in).pages(files) if page.requests]
        yield pipeline, pages, math


def _render_pages(pipeline: Pipeline, pages: list[ScannedPage], math: bool) -> int:
    """Render every page as a build would, for the same warnings (page, line, ID); count complete papers."""
    for page in pages:
        assert page.markdown is not None  # a fresh scanner reads every page
        pipeline.render_page(page.markdown, page.page, math=math)
    pipeline.renderer.report()
    return sum(pipeline.renderer.shown.values())


@contextmanager
def _cache(config_file: Path) -> Iterator[Cache]:
    settings, _math = _settings(_load(config_file))
    store = Cache(settings.cache_dir)
    try:
        yield store
    finally:
        store.close()


def _pipeline(settings: Settings) -> Pipeline:
    with errors_as(click.ClickException):
        return Pipeline(settings)
