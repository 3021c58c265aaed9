"""What comes from outside the build and is not Markdown: a crafted `cache.db`, a slow server, the log, the paths.

A restored cache directory, a model or arXiv server, and the text either of them sends
are the attacker's. Each test here runs a real build (or the real command) against
such input: the build completes, within its deadline, the log keeps one line per
message with nothing an outsider wrote at a line's start and no credentials in it, and
nothing is written through a link out of the project.
"""

from __future__ import annotations

import json
import sqlite3
from contextlib import closing
from pathlib import Path

import diskcache
import pytest

from mkdocs_arxiv_digest.cache import MAX_JSON_DEPTH
from mkdocs_arxiv_digest.store import DISKCACHE_SCHEMA
from tests.conftest import Site
from tests.fakes import FakeArxiv, FakeLLM
from tests.test_cache_files import IDS, assert_complete, build_in_time, files_outside_the_cache, first_build

# -- a crafted cache.db ------------------------------------------------------------------

# A query of this never ends: SQLite counts on for ever.
_ENDLESS = "WITH RECURSIVE r(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM r)"
_COLUMNS = "key, raw, store_time, expire_time, access_time, access_count, tag, size, mode, filename, value"
CRAFTED_SCHEMAS = {
    "recursive-view": (
        f"DROP TABLE Cache; CREATE VIEW Cache AS {_ENDLESS}"
        " SELECT n AS rowid, 'paper:' || n AS key, 1 AS raw, 0 AS store_time, NULL AS expire_time,"
        " 0 AS access_time, 0 AS access_count, NULL AS tag, 0 AS size, 1 AS mode, NULL AS filename,"
        " '{}' AS value FROM r",
        "a view 'Cache'",
    ),
    "trigger": (
        f"CREATE TRIGGER Settings_slow AFTER INSERT ON Cache BEGIN SELECT count(*) FROM ({_ENDLESS} SELECT n FROM r); END",
        "a trigger 'Settings_slow'",
    ),
    "plain-view": (
        f"ALTER TABLE Cache RENAME TO Rows; CREATE VIEW Cache AS SELECT rowid, {_COLUMNS} FROM Rows",
        "a view 'Cache'",
    ),
    "column-types": (
        "ALTER TABLE Cache RENAME TO Old; CREATE TABLE Cache (rowid INTEGER PRIMARY KEY, key BLOB, raw INTEGER,"
        " store_time REAL, expire_time REAL, access_time REAL, access_count INTEGER DEFAULT 0, tag BLOB,"
        " size INTEGER DEFAULT 0, mode INTEGER DEFAULT 0, filename TEXT, value TEXT);"
        f" INSERT INTO Cache SELECT rowid, {_COLUMNS} FROM Old; DROP TABLE Old",
        "a table 'Cache' of another form",
    ),
    "other-table": ("CREATE TABLE Extra (x)", "a table 'Extra'"),
    "settings-trigger": (
        f"CREATE TRIGGER t AFTER UPDATE ON Settings BEGIN SELECT count(*) FROM ({_ENDLESS} SELECT n FROM r); END",
        "a trigger 't'",
    ),
}


@pytest.mark.parametrize(("sql", "reported"), CRAFTED_SCHEMAS.values(), ids=CRAFTED_SCHEMAS.keys())
def test_a_cache_db_of_another_schema_is_moved_aside_and_every_build_completes(
    site: Site, arxiv_api: FakeArxiv, tmp_path: Path, sql: str, reported: str
) -> None:
    first_build(site, arxiv_api)
    database = site.cache_dir / "cache.db"
    with closing(sqlite3.connect(database)) as db, db:
        db.execute("DELETE FROM Cache WHERE key LIKE 'page:%'")  # the build writes: a trigger would fire
        db.executescript(sql)
    before = files_outside_the_cache(site)

    build = build_in_time(site)  # the recursive view or trigger: never returned (60 s and more)

    [moved] = [line for line in build.log.splitlines() if f"Cache: moved {database} aside to cache.db.unusable: " in line]
    assert "its schema is not diskcache's (" in moved and reported in moved, moved
    assert_complete(build)
    assert files_outside_the_cache(site) == before
    with closing(sqlite3.connect(database)) as db:
        assert db.execute("SELECT count(*) FROM Cache").fetchone() == (7,)  # the new cache, filled

    again = site.build("--strict")

    assert again.returncode == 0 and "WARNING" not in again.log, again.log


def test_the_schema_allowed_is_exactly_what_diskcache_creates(tmp_path: Path) -> None:
    # Every eviction policy's index, and the tag index: diskcache's own, whatever settings wrote them.
    made = set()
    for policy in diskcache.core.EVICTION_POLICY:
        directory = tmp_path / policy
        diskcache.Cache(str(directory), eviction_policy=policy, tag_index=True).close()
        with closing(sqlite3.connect(directory / "cache.db")) as db:
            made |= set(db.execute("SELECT type, name, sql FROM sqlite_master"))
    assert made == DISKCACHE_SCHEMA


CRAFTED_ROWS = {
    "integer-value": ("UPDATE Cache SET mode = 1, filename = NULL, value = 42 WHERE key = 'paper:{id}'", "integer"),
    "real-value": ("UPDATE Cache SET mode = 1, filename = NULL, value = 4.2 WHERE key = 'paper:{id}'", "real"),
    "blob-value": ("UPDATE Cache SET mode = 1, filename = NULL, value = x'7b7d' WHERE key = 'paper:{id}'", "blob"),
    "null-value": ("UPDATE Cache SET mode = 1, filename = NULL, value = NULL WHERE key = 'paper:{id}'", "null"),
}


@pytest.mark.parametrize(("sql", "kind"), CRAFTED_ROWS.values(), ids=CRAFTED_ROWS.keys())
def test_a_raw_row_whose_value_is_not_text_is_refused(
    site: Site, arxiv_api: FakeArxiv, llm_api: FakeLLM, sql: str, kind: str
) -> None:
    first_build(site, arxiv_api)
    with closing(sqlite3.connect(site.cache_dir / "cache.db")) as db, db:
        db.execute(sql.format(id=IDS[0]))
        db.execute("DELETE FROM Cache WHERE key LIKE 'page:%'")  # the page is rendered again, from its rows

    build = site.build()

    assert f"Cache: refusing a cache row whose value is {kind}, not text (row 'paper:{IDS[0]}')" in build.log
    assert_complete(build)
    assert site.build("--strict").returncode == 0  # fetched again and stored: a valid row now


def test_json_nested_past_the_bound_is_refused(site: Site, arxiv_api: FakeArxiv) -> None:
    first_build(site, arxiv_api)
    with closing(sqlite3.connect(site.cache_dir / "cache.db")) as db, db:
        db.execute("UPDATE Cache SET value = ? WHERE key = ?", ("[" * 200_000, f"paper:{IDS[0]}"))
        # Deep, but within Python's recursion limit: parsed whole, then refused all the same.
        db.execute("UPDATE Cache SET value = ? WHERE key = ?", ("[" * 500 + "]" * 500, f"paper:{IDS[1]}"))
        db.execute("DELETE FROM Cache WHERE key LIKE 'page:%'")

    build = site.build()

    for paper_id in IDS[:2]:
        assert (
            f"Cache: ignored an unreadable row 'paper:{paper_id}': it is nested more than {MAX_JSON_DEPTH} deep" in build.log
        )
    assert_complete(build)
    assert "RecursionError" not in build.log


def test_every_row_a_build_writes_is_within_the_json_depth_bound(site: Site, arxiv_api: FakeArxiv) -> None:
    # The bound's calibration: the deepest row the cache holds (a page's `wants`, a paper's authors) is 3.
    site.options["language"] = "zh"
    first_build(site, arxiv_api)
    with closing(sqlite3.connect(site.cache_dir / "cache.db")) as db:
        values = [value for (value,) in db.execute("SELECT value FROM Cache")]

    def depth(data: object) -> int:
        children = data.values() if isinstance(data, dict) else data if isinstance(data, list) else []
        return 1 + max(map(depth, children), default=0) if isinstance(data, (dict, list)) else 0

    assert {value[:1] for value in values} == {"{"}
    assert max(depth(json.loads(value)) for value in values) == 3 < MAX_JSON_DEPTH
