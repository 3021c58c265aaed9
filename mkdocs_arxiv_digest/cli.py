"""The ``arxiv-digest`` command: render a digest, warm the cache, write the snapshot."""

from __future__ import annotations

import logging
import sys
from pathlib import Path

import click
from mkdocs.config import load_config
from mkdocs.config.defaults import MkDocsConfig
from mkdocs.structure.files import get_files

from mkdocs_arxiv_digest.config import DEFAULT_ARXIV_API_URL, DEFAULT_ARXIV_DELAY, DEFAULT_CACHE_DIR, default_options
from mkdocs_arxiv_digest.errors import DigestError, InvalidIdError, log
from mkdocs_arxiv_digest.ids import parse_id
from mkdocs_arxiv_digest.pipeline import Pipeline, Settings, Want
from mkdocs_arxiv_digest.plugin import ArxivDigestPlugin, PageScanner
from mkdocs_arxiv_digest.render import render_digest
from mkdocs_arxiv_digest.snapshot import save_snapshot

config_option = click.option(
    "-f", "--config-file", type=click.Path(exists=True, dir_okay=False, path_type=Path),
    default="mkdocs.yml", show_default=True, help="The site's mkdocs.yml.",
)  # fmt: skip


@click.group()
@click.option("-q", "--quiet", is_flag=True, help="Only print warnings and errors.")
def main(quiet: bool) -> None:
    """Digests of arXiv papers: summaries and translations, cached on disk."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(levelname)-7s -  %(message)s"))
    logger = logging.getLogger("mkdocs")
    logger.addHandler(handler)
    logger.setLevel(logging.WARNING if quiet else logging.INFO)


@main.command()
@click.argument("ids", nargs=-1, required=True)
@click.option("-l", "--language", default="en", show_default=True, help="Language of summaries and translations.")
@click.option("-m", "--model", default=None, help="Chat model (default: the plugin's).")
@click.option("--base-url", default=None, help="OpenAI-compatible endpoint (default: OPENAI_BASE_URL, else OpenAI).")
@click.option("--arxiv-api-url", default=DEFAULT_ARXIV_API_URL, show_default=True)
@click.option("--arxiv-delay", default=DEFAULT_ARXIV_DELAY, show_default=True, help="Seconds between arXiv requests.")
@click.option("--cache-dir", default=DEFAULT_CACHE_DIR, show_default=True, type=click.Path(path_type=Path))
@click.option("--offline", is_flag=True, help="Use the cache only.")
@click.option("--math/--no-math", default=True, show_default=True, help="Keep $...$ as TeX (GitHub renders it).")
def render(
    ids: tuple[str, ...], language: str, model: str | None, base_url: str | None, arxiv_api_url: str,
    arxiv_delay: float, cache_dir: Path, offline: bool, math: bool,
) -> None:  # fmt: skip
    """Print the digest of IDS as Markdown (for READMEs, newsletters, mailing lists)."""
    try:
        wanted = [parse_id(text) for text in ids]
    except InvalidIdError as error:
        raise click.BadParameter(str(error), param_hint="IDS") from None
    options = default_options() | {
        "language": language, "model": model, "base_url": base_url, "arxiv_api_url": arxiv_api_url,
        "arxiv_delay": arxiv_delay, "cache_dir": str(cache_dir), "offline": offline,
    }  # fmt: skip
    pipeline = _pipeline(Settings.from_options(options, base_dir=Path.cwd(), default_language="en"))
    wants = [Want(arxiv_id, pipeline.settings.language, pipeline.settings.model) for arxiv_id in dict.fromkeys(wanted)]
    pipeline.resolve(wants)
    rows = [pipeline.row(want) for want in wants]
    for want in wants:
        problem = pipeline.problem(want)
        if problem:
            log.warning(f"{want.id}: {problem}")
    click.echo(render_digest(rows, math=math), nl=False)
    pipeline.close()
    if any(row.digest is None for row in rows):
        sys.exit(1)


@main.command()
@config_option
def prefetch(config_file: Path) -> None:
    """Fill the cache for every arxiv-digest block of the site."""
    pipeline, wants = _site(config_file)
    with click.progressbar(length=len(wants), label="Summarizing", file=sys.stderr) as bar:

        def advance(done: int, total: int) -> None:
            bar.length = total
            bar.update(done - bar.pos)

        pipeline.resolve(wants, progress=advance)
    _report(pipeline, wants)
    pipeline.close()


@main.command()
@config_option
@click.option(
    "-o", "--output", type=click.Path(dir_okay=False, path_type=Path), help="Default: the plugin's `snapshot`."
)
def snapshot(config_file: Path, output: Path | None) -> None:
    """Write the snapshot file: complete entries for every paper the site shows."""
    pipeline, wants = _site(config_file)
    path = output or pipeline.settings.snapshot
    if path is None:
        raise click.UsageError("the plugin sets no `snapshot:` file; set one in mkdocs.yml or pass --output")
    pipeline.resolve(wants)
    missing = 0
    for want in dict.fromkeys(wants):
        row = pipeline.row(want)
        if row.paper is None or row.digest is None:
            missing += 1
            continue
        pipeline.snapshot.add(row.paper, row.digest)
    save_snapshot(pipeline.snapshot, path)
    click.echo(
        f"Wrote {len(pipeline.snapshot.entries)} papers to {path}"
        + (f" ({missing} incomplete, left out)" if missing else "")
    )
    pipeline.close()
    if missing:
        sys.exit(1)


@main.group()
def cache() -> None:
    """Inspect or clear the site's cache."""


@cache.command("info")
@config_option
def cache_info(config_file: Path) -> None:
    """Entries by kind and size on disk."""
    pipeline = _pipeline(_site_settings(_load(config_file)))
    stats = pipeline.cache.stats()
    click.echo(f"{pipeline.cache.directory}: {stats.pop('bytes')} bytes")
    for kind, count in sorted(stats.items()):
        click.echo(f"  {kind}: {count}")
    pipeline.close()


@cache.command("clear")
@config_option
def cache_clear(config_file: Path) -> None:
    """Remove every cached entry (the snapshot is untouched)."""
    pipeline = _pipeline(_site_settings(_load(config_file)))
    click.echo(f"Removed {pipeline.cache.clear()} entries from {pipeline.cache.directory}")
    pipeline.close()


def _load(config_file: Path) -> MkDocsConfig:
    return load_config(str(config_file))


def _plugin(config: MkDocsConfig) -> ArxivDigestPlugin:
    plugin = config.plugins.get("arxiv-digest")
    if not isinstance(plugin, ArxivDigestPlugin):
        raise click.UsageError(f"{config.config_file_path} does not enable the arxiv-digest plugin")
    return plugin


def _site_settings(config: MkDocsConfig) -> Settings:
    return _plugin(config).settings(config)


def _site(config_file: Path) -> tuple[Pipeline, list[Want]]:
    """The site's pipeline and every paper its pages ask for."""
    config = _load(config_file)
    pipeline = _pipeline(_site_settings(config))
    return pipeline, [want for _markdown, wants in PageScanner(pipeline).pages(get_files(config)) for want in wants]


def _pipeline(settings: Settings) -> Pipeline:
    try:
        return Pipeline(settings)
    except DigestError as error:
        raise click.ClickException(str(error)) from None


def _report(pipeline: Pipeline, wants: list[Want]) -> None:
    rows = [pipeline.row(want) for want in dict.fromkeys(wants)]
    complete = sum(row.digest is not None for row in rows)
    click.echo(f"{complete}/{len(rows)} papers complete in {pipeline.cache.directory}")
    if complete < len(rows):
        sys.exit(1)
