"""Unit tests at the module boundaries, with a real cache on disk and a `Build` of their own:
keys, the page cache, the metadata (offline: no resolver or network needed), the page scan.
The real builds (test_build, test_sphinx...) stay the outer ring."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import closing
from pathlib import Path

import pytest
from mkdocs.structure.files import File, Files

from mkdocs_arxiv_digest.build import Build
from mkdocs_arxiv_digest.cache import Cache
from mkdocs_arxiv_digest.config import Settings, validated_options
from mkdocs_arxiv_digest.ids import parse_id
from mkdocs_arxiv_digest.keys import digest_key, file_hash, page_key, text_hash
from mkdocs_arxiv_digest.layout import lay_out
from mkdocs_arxiv_digest.metadata import OFFLINE, Metadata
from mkdocs_arxiv_digest.models import Digest, DigestRequest, Failure, Paper, Row
from mkdocs_arxiv_digest.page_cache import PageCache
from mkdocs_arxiv_digest.scan import PageScanner
from mkdocs_arxiv_digest.snapshot import Snapshot

PAPER = Paper("2403.16584", 1, "Distilling text", "We distill.")
# A complete digest's block, as the renderer lays one out (the page cache stores layouts).
BLOCK = lay_out([Row(PAPER.versioned_id, PAPER, Digest("en", "m", "We distill."))], "en")


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return Settings.from_config(validated_options({"offline": True}), base_dir=tmp_path, default_language="en")


@pytest.fixture
def cache(settings: Settings) -> Iterator[Cache]:
    with closing(Cache(settings.cache_dir)) as opened:
        yield opened


def test_keys_change_with_everything_that_shapes_the_output(settings: Settings) -> None:
    page = page_key(settings, "", "# Page")
    others = [
        page_key(settings, "snapshot-hash", "# Page"),
        page_key(settings._replace(localized_headings=True), "", "# Page"),
        page_key(settings, "", "# Page "),
        page_key(settings._replace(language="zh"), "", "# Page"),
        page_key(settings._replace(model="another"), "", "# Page"),
        page_key(settings._replace(disclose_model=True), "", "# Page"),
    ]
    assert len({page, *others}) == 7
    assert page == page_key(settings, "", "# Page")
    assert digest_key(PAPER, "zh", "m") != digest_key(PAPER, "ja", "m") != digest_key(PAPER, "ja", "n")
    assert text_hash("ab", "c") != text_hash("a", "bc")


def test_file_hash_is_of_the_content_and_empty_without_a_file(tmp_path: Path) -> None:
    path = tmp_path / "snapshot.yml"
    assert file_hash(None) == file_hash(path) == ""
    path.write_text("a: 1\n")
    first = file_hash(path)
    path.write_text("a: 2\n")
    assert first and file_hash(path) and first != file_hash(path)


def test_page_cache_serves_a_stored_page_to_a_build_and_refuses_a_tampered_one(
    settings: Settings, cache: Cache, caplog: pytest.LogCaptureFixture
) -> None:
    pages = PageCache(cache, settings)
    build = Build(snapshot_hash="s")
    key = pages.key(build, "page")
    request = DigestRequest(parse_id("2403.16584"), "en", settings.model)
    pages.store(key, [BLOCK], [request, request], None)

    assert pages.preload(build, [key, "missing"]) == {key}
    stored = pages.get(Build(), key, 1)
    assert (
        stored is not None
        and stored.blocks == (BLOCK,)
        and stored.wants == (("2403.16584", None, "en", settings.model),)
    )
    assert pages.key(Build(snapshot_hash="edited"), "page") != key

    cache.put_record("page", key, {"blocks": ["<script>alert(1)</script>"], "wants": [], "fetched": None})
    with caplog.at_level(logging.WARNING):
        assert pages.get(Build(), key, 1) is None
    assert "ignored an unreadable row" in caplog.text


def test_metadata_offline_takes_the_snapshot_and_the_cache_and_records_the_rest_in_the_build(
    settings: Settings, cache: Cache
) -> None:
    cached = Paper("2403.11894", 2, "Cached", "From the cache.")
    cache.put_paper(parse_id("2403.11894v2"), cached)
    metadata = Metadata(settings, cache, Snapshot(), source=None)
    build = Build()
    ids = [parse_id("2403.11894v2"), parse_id("2403.99999")]

    to_fetch, stale = metadata.load_local(build, ids)

    assert to_fetch == [parse_id("2403.99999")] and stale == {}
    assert metadata.papers == {parse_id("2403.11894v2"): cached}
    assert list(metadata.fetch(build, to_fetch, stale)) == []
    assert metadata.failure(build, parse_id("2403.99999")) == Failure(OFFLINE, kind="offline")
    assert metadata.failure(Build(), parse_id("2403.99999")) == Failure("no metadata")  # a new build forgets it
    assert build.arxiv_requests == 0


def test_the_scan_reads_again_only_pages_whose_file_changed(tmp_path: Path) -> None:
    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "a.md").write_text("```arxiv-digest\n2403.16584\n```\n")
    (docs / "b.md").write_text("no digest\n")
    read: list[str] = []

    def requests_in(markdown: str) -> list[DigestRequest]:
        read.append(markdown)
        return [DigestRequest(parse_id("2403.16584"), "en", "m")] if "arxiv-digest" in markdown else []

    def files() -> Files:
        return Files(
            [File(name, str(docs), str(tmp_path / "site"), use_directory_urls=True) for name in ("a.md", "b.md")]
        )

    scanner = PageScanner(requests_in)
    first = scanner.scan(files())
    (docs / "b.md").write_text("still no digest, and longer\n")
    second = scanner.scan(files())

    assert [(page.page, page.markdown is not None, len(page.requests)) for page in first] == [
        ("a.md", True, 1),
        ("b.md", True, 0),
    ]
    assert [(page.page, page.markdown is not None, len(page.requests)) for page in second] == [
        ("a.md", False, 1),
        ("b.md", True, 0),
    ]
    assert len(read) == 3
