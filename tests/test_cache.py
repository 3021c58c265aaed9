"""The cache: JSON text only, owner-only, safe against planted pickles, kills and concurrent builds."""

from __future__ import annotations

import json
import pickle
import signal
import sqlite3
import time
from collections.abc import Callable
from contextlib import closing
from pathlib import Path
from typing import Any

from tests.fakes import FakeArxiv, FakeLLM
from tests.helpers import API_KEY, Site, block

IDS = [f"2403.{16584 + i}" for i in range(6)]


def add_papers(arxiv_api: FakeArxiv) -> None:
    for paper_id in IDS:
        arxiv_api.add(paper_id, f"Paper {paper_id}", f"Abstract of {paper_id}.")


def rows(cache_dir: Path) -> list[tuple[str, int, int, object]]:
    with sqlite3.connect(cache_dir / "cache.db") as db:
        return list(db.execute("select key, raw, mode, value from Cache order by key"))


def stored_digests(cache_dir: Path) -> int:
    """Digest rows in the cache a build is writing, read without creating or writing anything."""
    database = cache_dir / "cache.db"
    if not database.exists():
        return 0
    try:
        with closing(sqlite3.connect(f"{database.as_uri()}?mode=ro", uri=True)) as db:
            [(count,)] = db.execute("select count(*) from Cache where key like 'digest:%'")
    except sqlite3.OperationalError:  # diskcache has not yet made its table
        return 0
    return int(count)


class Explode:
    """Unpickling this creates a file: proof that a pickle was loaded."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self) -> tuple[object, ...]:
        return (Path.touch, (self.marker,))


def test_cache_holds_json_text_only_in_an_owner_only_directory(site: Site, arxiv_api: FakeArxiv) -> None:
    add_papers(arxiv_api)
    site.options["language"] = "zh"
    site.page("index.md", block(*IDS))

    assert site.build("--strict").returncode == 0

    assert site.cache_dir.stat().st_mode & 0o777 == 0o700
    stored = rows(site.cache_dir)
    assert len(stored) == 13  # 6 papers, 6 digests, 1 rendered page
    for key, raw, mode, value in stored:
        assert raw == 1 and mode == 1, key  # raw key, raw text value: nothing pickled
        assert isinstance(json.loads(value), dict)  # type: ignore[arg-type]


def test_a_planted_pickle_is_refused_not_loaded(
    site: Site, arxiv_api: FakeArxiv, llm_api: FakeLLM, tmp_path: Path
) -> None:
    add_papers(arxiv_api)
    site.page("index.md", block(*IDS))
    assert site.build("--strict").returncode == 0
    marker = tmp_path / "pwned"
    with sqlite3.connect(site.cache_dir / "cache.db") as db:
        db.execute("update Cache set mode = 4, value = ?", (pickle.dumps(Explode(marker)),))

    build = site.build()

    assert build.returncode == 0, build.log
    assert not marker.exists()
    assert "refusing a cache row stored in mode 4" in build.log
    assert [row.title for row in build.digest().rows] == [f"Paper {i}" for i in IDS]
    assert len(arxiv_api.history) == 2 and len(llm_api.history) == 12  # fetched again, rows rewritten as text
    assert {mode for _, _, mode, _ in rows(site.cache_dir)} == {1}


def test_the_api_key_reaches_no_page_cache_snapshot_or_log(site: Site, arxiv_api: FakeArxiv, llm_api: FakeLLM) -> None:
    add_papers(arxiv_api)
    llm_api.script = ["echo-key"]
    site.options.update(concurrency=1, snapshot="snapshot.yml")
    site.page("index.md", block(*IDS))

    build = site.build()

    assert build.returncode == 0, build.log
    assert "Incorrect API key provided: Bearer ***" in build.log, build.log
    assert llm_api.history[0]["headers"]["authorization"] == f"Bearer {API_KEY}"  # it was sent, to the server only
    secret = API_KEY.encode()
    assert secret[8:] not in build.log.encode()
    for path in site.root.rglob("*"):
        if path.is_file():
            assert secret not in path.read_bytes(), path


def test_a_killed_build_keeps_what_it_completed(site: Site, arxiv_api: FakeArxiv, llm_api: FakeLLM) -> None:
    add_papers(arxiv_api)
    llm_api.latency = 1.0
    site.options["concurrency"] = 2
    site.page("index.md", block(*IDS))

    process = site.start()
    # Killed as soon as two digests are stored: with two workers and a model taking 1 s,
    # the next can be stored no sooner than 1 s later, so the build is cut mid-way however
    # slowly the machine runs (waiting a fixed time after the replies was not enough under load).
    deadline = time.monotonic() + 60
    while stored_digests(site.cache_dir) < 2:
        assert process.poll() is None and time.monotonic() < deadline, "no two digests were stored"
        time.sleep(0.02)
    process.send_signal(signal.SIGKILL)
    process.communicate()
    assert process.returncode == -signal.SIGKILL  # killed, not finished
    completed = len([key for key, *_ in rows(site.cache_dir) if key.startswith("digest:")])
    asked = len(llm_api.history)

    rebuild = site.build("--strict")

    assert rebuild.returncode == 0, rebuild.log
    assert 2 <= completed < len(IDS)
    assert len(llm_api.history) - asked == len(IDS) - completed  # only the unfinished are asked again
    assert [row.summary for row in rebuild.digest().rows] == [
        f"This work on Paper {i} contributes a new method and shows that it works." for i in IDS
    ]


def test_two_builds_at_once_share_one_cache(site: Site, arxiv_api: FakeArxiv, llm_api: FakeLLM) -> None:
    add_papers(arxiv_api)
    llm_api.latency = 0.2
    site.page("index.md", block(*IDS))

    first, second = site.start(site_dir="site-a"), site.start(site_dir="site-b")
    logs = [first.communicate(timeout=120)[0], second.communicate(timeout=120)[0]]

    assert first.returncode == 0 and second.returncode == 0, logs
    asked = len(llm_api.history)
    warm = site.build("--strict")
    assert warm.returncode == 0, warm.log
    assert len(llm_api.history) == asked  # the cache is complete and sound
    assert len(rows(site.cache_dir)) == 13
    assert [row.title for row in warm.digest().rows] == [f"Paper {i}" for i in IDS]


def test_a_warm_build_serves_each_complete_page_from_one_row(
    site: Site, arxiv_api: FakeArxiv, llm_api: FakeLLM
) -> None:
    add_papers(arxiv_api)
    site.options["language"] = "zh"
    site.page("index.md", block(*IDS))
    first = site.build("--strict")
    assert first.returncode == 0, first.log
    with sqlite3.connect(site.cache_dir / "cache.db") as db:
        db.execute("delete from Cache where key not like 'page:%'")  # only the rendered page is left

    warm = site.build("--strict")

    assert warm.returncode == 0, warm.log
    assert warm.digest().rows == first.digest().rows
    assert warm.digest().footnotes == first.digest().footnotes
    assert len(arxiv_api.history) == 1 and len(llm_api.history) == len(IDS)
    assert f"{len(IDS)} papers: {len(IDS)} cached, 0 generated, 0 failed; 0 arXiv requests" in warm.log


def test_a_stored_page_is_not_served_once_its_metadata_is_due(site: Site, arxiv_api: FakeArxiv) -> None:
    add_papers(arxiv_api)
    site.page("index.md", block(*IDS))
    assert site.build("--strict").returncode == 0
    arxiv_api.papers[IDS[0]][0].title = "Paper, revised"
    site.options["refresh_days"] = 0

    build = site.build("--strict")

    assert build.returncode == 0, build.log
    assert len(arxiv_api.history) == 2
    assert build.digest().rows[0].title == "Paper, revised"


def test_an_edited_snapshot_outranks_a_stored_page(site: Site, arxiv_api: FakeArxiv) -> None:
    add_papers(arxiv_api)
    site.options.update(language="zh", snapshot="papers.yml")
    site.page("index.md", block(*IDS))
    assert site.build("--strict").returncode == 0
    snapshot = site.root / "papers.yml"
    snapshot.write_text(
        f'papers:\n- id: "{IDS[0]}"\n  version: 1\n  title: Pinned\n  abstract: Pinned abstract.\n'
        "  digests:\n    zh: {model: written-by-hand, title: 钉住, summary: 人工写的一句话。, abstract: 人工摘要。}\n",
        encoding="utf-8",
    )

    build = site.build("--strict")

    assert build.returncode == 0, build.log
    assert (build.digest().rows[0].title, build.digest().rows[0].summary) == ("Pinned", "人工写的一句话。")


def test_a_page_with_a_paper_pinned_and_unpinned_is_stored_and_served(site: Site, arxiv_api: FakeArxiv) -> None:
    arxiv_api.add("2403.16584", "First version", version=1)
    arxiv_api.add("2403.16584", "Second version", version=2)
    site.page("index.md", block("2403.16584", "2403.16584v1"))

    first, warm = site.build("--strict"), site.build("--strict")

    assert first.returncode == 0 and warm.returncode == 0, first.log + warm.log
    assert [row.title for row in warm.digest().rows] == ["Second version", "First version"]
    assert "2 papers: 2 cached, 0 generated" in warm.log


def tamper_page_row(site: Site, change: Callable[[dict[str, Any]], None]) -> None:
    with sqlite3.connect(site.cache_dir / "cache.db") as db:
        [(key, value)] = db.execute("select key, value from Cache where key like 'page:%'").fetchall()
        page = json.loads(value)
        change(page["blocks"][0])
        db.execute("update Cache set value = ? where key = ?", (json.dumps(page), key))


def test_a_tampered_page_row_shows_its_text_as_text(site: Site, arxiv_api: FakeArxiv) -> None:
    # A stored page holds layouts, whose texts are made inert as they are written out, like
    # text from arXiv. Issue 16, finding 8: `\r` (a line break to Python-Markdown) included.
    add_papers(arxiv_api)
    site.page("index.md", block(*IDS))
    first = site.build("--strict")
    assert first.returncode == 0, first.log

    def hostile(block: dict[str, Any]) -> None:
        block["entries"][0][1] = "<script>alert(1)</script> Paper\r# Injected\r<details open>x</details>"

    tamper_page_row(site, hostile)
    build = site.build("--strict")

    assert build.returncode == 0, build.log
    html = build.html()
    assert "<script>alert(1)" not in html and "<h1>Injected" not in html and "<details" not in html
    assert build.digest().rows[0].title.startswith("<script>alert(1)</script> Paper")
    assert build.digest().rows[1:] == first.digest().rows[1:]


def test_a_page_row_whose_structure_is_tampered_is_refused_not_served(site: Site, arxiv_api: FakeArxiv) -> None:
    add_papers(arxiv_api)
    site.page("index.md", block(*IDS))
    first = site.build("--strict")
    assert first.returncode == 0, first.log

    def hostile(block: dict[str, Any]) -> None:
        block["entries"][0][2] = "javascript:alert(1)"  # the link: written into the Markdown

    tamper_page_row(site, hostile)
    build = site.build()

    assert build.returncode == 0, build.log
    assert "ignored an unreadable row" in build.log
    assert "javascript:" not in build.html()
    assert build.digest().rows == first.digest().rows


def test_a_row_pointing_outside_the_cache_is_refused(site: Site, arxiv_api: FakeArxiv, tmp_path: Path) -> None:
    add_papers(arxiv_api)
    site.page("index.md", block(*IDS))
    assert site.build("--strict").returncode == 0
    secret = tmp_path / "secret.json"
    secret.write_text(json.dumps({"paper": {"id": IDS[0], "version": 1, "title": "SECRET"}, "fetched": time.time()}))
    with sqlite3.connect(site.cache_dir / "cache.db") as db:
        db.execute("delete from Cache where key like 'page:%'")
        db.execute(
            "update Cache set mode = 3, value = NULL, filename = ? where key = ?",
            (f"../../../{secret.name}", f"paper:{IDS[0]}"),
        )

    build = site.build()

    assert build.returncode == 0, build.log
    assert "refusing a cache row whose value file is" in build.log
    assert "SECRET" not in build.html()
    assert build.digest().rows[0].title == f"Paper {IDS[0]}"
