"""What comes from outside the build and is not Markdown: a crafted `cache.db`, a slow server, the log, the paths.

A restored cache directory, a model or arXiv server, and the text either of them sends
are the attacker's. Each test here runs a real build (or the real command) against
such input: the build completes, within its deadline, the log keeps one line per
message with nothing an outsider wrote at a line's start and no credentials in it, and
nothing is written through a link out of the project.
"""

from __future__ import annotations

import json
import socket
import sqlite3
import stat
import subprocess
import sys
from collections.abc import Iterator
from contextlib import closing
from pathlib import Path

import diskcache
import pytest
import yaml

from mkdocs_arxiv_digest.cache import MAX_JSON_DEPTH
from mkdocs_arxiv_digest.store_schema import DISKCACHE_SCHEMA
from tests.fakes import FakeArxiv, FakeLLM
from tests.helpers import API_KEY, Site, block, clean_env
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

    [moved] = [
        line for line in build.log.splitlines() if f"Cache: moved {database} aside to cache.db.unusable: " in line
    ]
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
            f"Cache: ignored an unreadable row 'paper:{paper_id}': it is nested more than {MAX_JSON_DEPTH} deep"
            in build.log
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
    # A stored page (its layouts: blocks, entries, footnote parts) nests deepest: 7.
    assert max(depth(json.loads(value)) for value in values) == 7 < MAX_JSON_DEPTH


# -- the log: one line a message, nothing from outside at a line's start ------------------

# What a model (or a snapshot in a pull request) can put in a message: a GitHub Actions
# workflow command on a line of its own, terminal escapes (clear the screen, colour),
# and every other kind of line break.
HOSTILE = (
    "I can't.\n::error file=mkdocs.yml,line=1::pwned\r\n\x1b[2J\x1b[31mred\x1b[0m\u2028::warning::again"
    "\x85::notice::three\u202eevil"
)
HOSTILE_SHOWN = "I can't. ::error file=mkdocs.yml,line=1::pwned  red ::warning::again ::notice::threeevil"


class HostileLLM(FakeLLM):
    """A model server whose refusal, or error message, is ``text``."""

    def __init__(self, text: str) -> None:
        super().__init__()
        self.text = text

    def respond(self, path: str, body: object, behaviour: object) -> tuple[int, str, str]:
        if behaviour == "error":
            return 500, "application/json", json.dumps({"error": {"message": self.text, "type": "server_error"}})
        status, content_type, payload = super().respond(path, body, behaviour)
        if behaviour == "refusal":
            completion = json.loads(payload)
            completion["choices"][0]["message"]["refusal"] = self.text
            payload = json.dumps(completion)
        return status, content_type, payload


def assert_one_line_each(log: str) -> None:
    """Every line of ``log`` is a message of its own, starting with its level; no escapes."""
    assert "\x1b" not in log and "\u202e" not in log
    for line in log.splitlines():
        assert line.startswith(("INFO", "WARNING", "ERROR", "DEBUG")), repr(line)


@pytest.fixture
def hostile_llm() -> Iterator[HostileLLM]:
    server = HostileLLM(HOSTILE)
    yield server
    server.close()


def test_a_models_refusal_or_error_body_is_one_line_of_the_log(
    site: Site, arxiv_api: FakeArxiv, hostile_llm: HostileLLM
) -> None:
    arxiv_api.add("2403.16584", "Distilling text")
    arxiv_api.add("2403.11894", "Explainable")
    site.options.update(base_url=hostile_llm.base_url, retries=0, concurrency=1)
    hostile_llm.script = ["refusal", "error"]
    site.page("index.md", block("2403.16584", "2403.11894"))

    build = site.build()

    assert build.returncode == 0, build.log
    assert (
        f"index.md:2: 2403.16584: no summary: no valid reply from gpt-4.1-mini after 1 tries: the model refused: {HOSTILE_SHOWN}"
        in build.log
    )
    assert (
        f"index.md:3: 2403.11894: no summary: InternalServerError from {hostile_llm.base_url}: Error code: 500 - {HOSTILE_SHOWN}"
        in build.log
    )
    assert_one_line_each(build.log)


def test_a_snapshot_entry_quoted_in_an_error_is_one_line(site: Site, arxiv_api: FakeArxiv) -> None:
    # A snapshot comes in pull requests; an entry it cannot read stops the build, quoting its ID.
    snapshot = site.root / "snapshot.yml"
    snapshot.write_text(yaml.safe_dump({"papers": [{"id": HOSTILE, "version": "one"}]}), encoding="utf-8")
    site.options["snapshot"] = "snapshot.yml"
    site.page("index.md", block("2403.16584"))

    build = site.build()

    assert build.returncode == 1
    assert f"arxiv-digest: {snapshot}: paper #1 ({HOSTILE_SHOWN}):" in build.log
    assert_one_line_each(build.log)


# -- credentials in a URL ----------------------------------------------------------------


def _closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.mark.parametrize("server", ["refusing", "unreachable"])
def test_credentials_in_base_url_are_never_shown(
    site: Site, arxiv_api: FakeArxiv, llm_api: FakeLLM, server: str
) -> None:
    arxiv_api.add("2403.16584", "Distilling text")
    port = llm_api.server.server_address[1] if server == "refusing" else _closed_port()
    llm_api.script = [500]
    site.options.update(base_url=f"http://user:hunter2@127.0.0.1:{port}/v1/?api-key=KEY-IN-URL&v=2", retries=0)
    site.page("index.md", block("2403.16584"))

    build = site.build()

    assert build.returncode == 0, build.log
    error = "InternalServerError" if server == "refusing" else "APIConnectionError"
    assert (
        f"index.md:2: 2403.16584: no summary: {error} from http://***@127.0.0.1:{port}/v1/?api-key=***&v=***"
        in build.log
    )
    assert "hunter2" not in build.log and "KEY-IN-URL" not in build.log and "user:" not in build.log


# -- symbolic links out of the project ----------------------------------------------------


def test_a_cache_directory_that_is_a_symlink_is_refused_not_followed(
    site: Site, arxiv_api: FakeArxiv, tmp_path: Path
) -> None:
    arxiv_api.add("2403.16584", "Distilling text")
    site.page("index.md", block("2403.16584"))
    outside = tmp_path / "outside"
    outside.mkdir(mode=0o755)
    outside.chmod(0o755)
    site.cache_dir.parent.mkdir(parents=True)
    site.cache_dir.symlink_to(outside, target_is_directory=True)  # as a restored CI cache can hold

    build = site.build()

    assert build.returncode == 1
    assert (
        f"arxiv-digest: the cache directory {site.cache_dir} is a symbolic link (to {outside}); refusing to follow it."
        in build.log
    )
    assert list(outside.iterdir()) == [] and stat.S_IMODE(outside.stat().st_mode) == 0o755

    cleared = run_cli(site, "cache", "clear")

    assert cleared.returncode == 1 and "Traceback" not in cleared.stderr
    assert f"the cache directory {site.cache_dir} is a symbolic link" in cleared.stderr
    assert list(outside.iterdir()) == []


@pytest.mark.parametrize("dangling", [True, False], ids=["dangling", "to-a-file"])
def test_the_snapshot_command_does_not_write_through_a_symlink(
    site: Site, arxiv_api: FakeArxiv, tmp_path: Path, dangling: bool
) -> None:
    arxiv_api.add("2403.16584", "Distilling text")
    site.page("index.md", block("2403.16584"))
    site.options["snapshot"] = "papers.yml"
    outside = tmp_path / "outside.yml"
    if not dangling:
        outside.write_text("papers: []\n", encoding="utf-8")
    (site.root / "papers.yml").symlink_to(outside)  # committed in a pull request

    result = run_cli(site, "snapshot")

    assert result.returncode == 1 and "Traceback" not in result.stderr
    assert (
        f"{site.root / 'papers.yml'} is a symbolic link (to {outside}); refusing to write the snapshot" in result.stderr
    )
    assert outside.exists() is not dangling
    assert dangling or outside.read_text(encoding="utf-8") == "papers: []\n"


def run_cli(site: Site, *args: str) -> subprocess.CompletedProcess[str]:
    """`arxiv-digest ARGS` run in the site's directory, as a user runs it."""
    site.write_config()
    command = [sys.executable, "-m", "mkdocs_arxiv_digest", *args]
    env = clean_env(OPENAI_API_KEY=API_KEY)
    return subprocess.run(command, cwd=site.root, env=env, capture_output=True, text=True, timeout=120)
