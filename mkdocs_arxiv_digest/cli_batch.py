"""The command line's batch commands: `prefetch --batch`, `batch export`, `batch ingest` (see `batch`).

Registered on `cli.main`, whose helpers (the site, its pages) they share.
"""

from __future__ import annotations

import sys
from pathlib import Path

import click

from mkdocs_arxiv_digest.cli import _render_pages, _site, site_options
from mkdocs_arxiv_digest.frontend import errors_as


def prefetch_batch(
    config_file: Path | None, conf_py: Path | None, *, retry_rejected: bool, poll: float, wait: bool
) -> None:
    """`prefetch --batch`: submit (or pick up) the site's batch, wait for it, collect, report."""
    with _site(config_file, conf_py, retry_rejected=retry_rejected) as (pipeline, pages):
        requests = [request for page in pages for request in page.requests]
        with errors_as(click.ClickException):
            report = pipeline.prefetch_batch(requests, poll=poll, wait=wait)
        complete = _render_pages(pipeline, pages)
        click.echo(report.line())
        click.echo(pipeline.summary_line())
        click.echo(f"{complete}/{len(set(requests))} papers complete in {pipeline.cache_directory}")
    if wait and complete < len(set(requests)):
        sys.exit(1)


@click.group("batch")
def batch_group() -> None:
    """Batches for an engine of your own (vLLM's run-batch...): export the requests, ingest the results."""


@batch_group.command("export")
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
@site_options
def batch_export(file: Path, config_file: Path | None, conf_py: Path | None) -> None:
    """Write FILE: one Batch API request (custom_id, method, url, body) per missing digest of the site.

    Past OpenAI's limits (50,000 requests, 200 MB a file) the rest go to FILE-2.jsonl, FILE-3.jsonl...
    """
    with _site(config_file, conf_py) as (pipeline, pages):
        requests = [request for page in pages for request in page.requests]
        with errors_as(click.ClickException):
            paths, settled = pipeline.export_batch(requests, file)
    lines = 0
    for path in paths:
        with path.open("rb") as exported:
            lines += sum(1 for _line in exported)
    written = ", ".join(map(str, paths)) or "nothing (no digest is missing)"
    click.echo(f"Wrote {lines} requests to {written}; {settled} digests already cached or pinned")


@batch_group.command("ingest")
@click.argument("files", nargs=-1, required=True, type=click.Path(exists=True, dir_okay=False, path_type=Path))
@site_options
def batch_ingest(files: tuple[Path, ...], config_file: Path | None, conf_py: Path | None) -> None:
    """Check and cache the replies in FILES (the Batch API's output format) for the site's papers.

    Each reply is checked against the paper its custom_id names, as an interactive reply is;
    a line for no paper of the site, or whose reply is about another paper, is refused.
    """
    with _site(config_file, conf_py) as (pipeline, pages):
        requests = [request for page in pages for request in page.requests]
        with errors_as(click.ClickException):
            report = pipeline.ingest_batch(requests, files)
    click.echo(report.line())
    if report.tally.refused or report.tally.rejected or report.tally.failed:
        sys.exit(1)
