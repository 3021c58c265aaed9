"""The command line's `refresh`: run a site's query blocks again and pin their results (see `queries`).

Registered on `cli.main`, whose helpers (the site, its pipeline) it shares.
"""

from __future__ import annotations

import sys
from pathlib import Path

import click

from mkdocs_arxiv_digest.cli import _pipeline, _read_site, site_options
from mkdocs_arxiv_digest.frontend import errors_as


@click.command()
@site_options
@click.option("--query", "query_text", default=None, help="Only the query blocks of this query (its text).")
@click.option("--page", default=None, help="Only the query blocks of this page (docs/ path, or a Sphinx document).")
def refresh(config_file: Path | None, conf_py: Path | None, query_text: str | None, page: str | None) -> None:
    """Run the site's query blocks again and pin their results; print the papers added and dropped.

    The pins go to the snapshot file if the site has one (commit it), else to the cache.
    Then `arxiv-digest snapshot` adds the new papers' entries.
    """
    settings, pages_of = _read_site(config_file, conf_py)
    if settings.offline:
        raise click.UsageError("`offline` is on (the site's option or ARXIV_DIGEST_OFFLINE): refresh asks arXiv")
    from mkdocs_arxiv_digest.queries import rerun_lines

    with _pipeline(settings) as pipeline:
        pages = pages_of(pipeline)  # a query never run is run here, as a build would
        with errors_as(click.ClickException):
            reruns = pipeline.refresh_queries(pages, text=query_text, page=page)
        if not reruns:
            raise click.UsageError(f"no query block in the site{' matches' if query_text or page else ''}")
        changed = [
            arxiv_id
            for _where, rerun in reruns
            if rerun.after is not None
            for arxiv_id in {*rerun.after.ids} ^ {*(rerun.before.ids if rerun.before else ())}
        ]
        titles = pipeline.titles(changed) if changed else {}
    for where, rerun in reruns:
        click.echo("\n".join(rerun_lines(where, rerun, titles)))
    place = settings.snapshot if settings.snapshot is not None else pipeline.cache_directory
    click.echo(f"Pinned in {place}")
    if any(rerun.after is None for _where, rerun in reruns):
        sys.exit(1)
