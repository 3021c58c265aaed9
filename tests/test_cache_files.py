"""A restored cache directory is untrusted: its rows and files never reach outside it.

CI restores cache directories written by other jobs and branches, so every row of
`cache.db` and every file under the cache directory may be hostile. Each test here
builds once, tampers with the restored cache the way an attacker could, and then runs
an ordinary build (and `arxiv-digest cache clear`): nothing outside the cache is read,
deleted or waited on, the refusal is reported, and the page is still complete.
"""

from __future__ import annotations

import json
import os
import shutil
import sqlite3
import stat
import subprocess
import sys
import time
from collections.abc import Callable
from contextlib import closing
from pathlib import Path

import diskcache
import pytest

from mkdocs_arxiv_digest.store_disk import MAX_VALUE_BYTES
from tests.fakes import FakeArxiv, FakeLLM
from tests.helpers import API_KEY, Build, Site, block, clean_env

IDS = [f"2403.{16584 + i}" for i in range(3)]
VALUE_FILE = "ab/cd/" + "e" * 28 + ".val"  # a name of the form diskcache makes


def first_build(site: Site, arxiv_api: FakeArxiv) -> None:
    for paper_id in IDS:
        arxiv_api.add(paper_id, f"Paper {paper_id}", f"Abstract of {paper_id}.")
    site.page("index.md", block(*IDS))
    site.page("about.md", "# About\n\nA page of the site, outside the cache.\n")
    build = site.build("--strict")
    assert build.returncode == 0, build.log


def point_rows_at(site: Site, filename: str, *, mode: int = 3, where: str = "key like 'page:%'") -> None:
    """Make rows name ``filename`` as their value file, as a restored `cache.db` can."""
    with sqlite3.connect(site.cache_dir / "cache.db") as db:
        changed = db.execute(f"update Cache set mode = ?, value = NULL, filename = ? where {where}", (mode, filename))
        assert changed.rowcount >= 1


def build_in_time(site: Site) -> Build:
    """An ordinary build that must finish: a value file that blocks a read would hang it."""
    process = site.start()
    try:
        log, _ = process.communicate(timeout=60)
    except subprocess.TimeoutExpired:
        process.kill()
        log, _ = process.communicate()
        pytest.fail(f"the build hung on the cache:\n{log}")
    return Build(process.returncode, log, site.root / "site")


def clear_cache(site: Site) -> subprocess.CompletedProcess[str]:
    command = [sys.executable, "-m", "mkdocs_arxiv_digest", "cache", "clear"]
    env = clean_env(OPENAI_API_KEY=API_KEY)
    return subprocess.run(command, cwd=site.root, env=env, capture_output=True, text=True, timeout=60)


def assert_complete(build: Build) -> None:
    assert build.returncode == 0, build.log
    assert [row.title for row in build.digest().rows] == [f"Paper {i}" for i in IDS]
    assert "A page of the site, outside the cache." in build.html("about/index.html")


@pytest.mark.parametrize("form", ["absolute", "relative"])
def test_a_row_naming_a_file_outside_the_cache_never_deletes_it(
    site: Site, arxiv_api: FakeArxiv, tmp_path: Path, form: str
) -> None:
    first_build(site, arxiv_api)
    page = site.docs / "about.md"  # a page of the site
    bystander = tmp_path / "unrelated/only-file"  # os.removedirs would take its directory too
    bystander.parent.mkdir()
    bystander.write_text("mine")
    names = {
        path: str(path) if form == "absolute" else os.path.relpath(path, site.cache_dir) for path in (page, bystander)
    }
    point_rows_at(site, names[page])  # refused when read, so rewritten: the old file is "cleaned up"
    with sqlite3.connect(site.cache_dir / "cache.db") as db:
        # Any mode: a raw row that has expired is culled by the next write, its file with it.
        db.execute(
            "update Cache set filename = ?, expire_time = ? where key like 'paper:%'",
            (names[bystander], time.time() - 1),
        )

    build = build_in_time(site)

    assert page.exists() and bystander.exists()
    assert f"Cache: refused to delete {names[page]!r}" in build.log
    assert f"Cache: refused to delete {names[bystander]!r}" in build.log
    assert_complete(build)

    point_rows_at(site, names[page], mode=1, where="true")
    cleared = clear_cache(site)

    assert cleared.returncode == 0, cleared.stderr
    assert page.exists() and bystander.exists()
    assert f"Cache: refused to delete {names[page]!r}" in cleared.stderr
    assert "Removed 7 entries" in cleared.stdout


def plant_symlink(value_file: Path, outside: Path) -> Path:
    value_file.symlink_to(outside)
    return outside


def plant_symlinked_directory(value_file: Path, outside: Path) -> Path:
    # A regular value file, reached through one of diskcache's directories that leads outside.
    victim = outside.parent / value_file.parent.name / value_file.name
    victim.parent.mkdir()
    outside.rename(victim)
    shutil.rmtree(value_file.parent.parent)
    value_file.parent.parent.symlink_to(outside.parent, target_is_directory=True)
    return victim


def plant_fifo(value_file: Path, outside: Path) -> Path:
    os.mkfifo(value_file)  # a blocking open or read of it never returns
    return outside


def plant_device(value_file: Path, outside: Path) -> Path:
    value_file.symlink_to("/dev/zero")  # a read of it never ends, and fills memory
    return outside


def plant_device_node(value_file: Path, outside: Path) -> Path:
    # A tar archive restored as root (as in many CI containers) can hold device nodes.
    try:
        os.mknod(value_file, stat.S_IFCHR | 0o600, os.makedev(1, 5))  # /dev/zero's numbers on Linux
    except PermissionError:
        pytest.skip("creating a device node needs root")
    return outside


@pytest.mark.parametrize(
    ("plant", "refusal"),
    [
        (plant_symlink, "it is a symbolic link"),
        (plant_symlinked_directory, "its directory 'ab' is a symbolic link"),
        (plant_fifo, "it is a FIFO"),
        (plant_device, "it is a symbolic link"),
        (plant_device_node, "it is a device"),
    ],
    ids=["symlink", "symlinked-directory", "fifo", "device-symlink", "device-node"],
)
def test_a_value_file_that_is_not_a_regular_file_is_neither_opened_nor_deleted(
    site: Site, arxiv_api: FakeArxiv, tmp_path: Path, plant: Callable[[Path, Path], Path], refusal: str
) -> None:
    first_build(site, arxiv_api)
    outside = tmp_path / "outside/page.json"  # a page row an attacker wants served
    outside.parent.mkdir()
    outside.write_text(json.dumps({"blocks": ["SECRET"], "wants": [], "fetched": None}))
    value_file = site.cache_dir / VALUE_FILE
    value_file.parent.mkdir(parents=True)
    victim = plant(value_file, outside)
    point_rows_at(site, VALUE_FILE)

    build = build_in_time(site)

    assert f"Cache: refusing a cache row whose value file is {VALUE_FILE!r}: {refusal}" in build.log
    assert f"Cache: refused to delete {VALUE_FILE!r} from {site.cache_dir}: {refusal}" in build.log
    assert "SECRET" not in build.html()
    assert victim.exists()
    assert_complete(build)

    point_rows_at(site, VALUE_FILE, mode=1, where="true")
    cleared = clear_cache(site)

    assert cleared.returncode == 0, cleared.stderr
    assert f"Cache: refused to delete {VALUE_FILE!r} from {site.cache_dir}: {refusal}" in cleared.stderr
    assert victim.exists()


def test_an_oversized_value_file_is_refused_unread_and_cleaned_up(site: Site, arxiv_api: FakeArxiv) -> None:
    first_build(site, arxiv_api)
    value_file = site.cache_dir / VALUE_FILE
    value_file.parent.mkdir(parents=True)
    with value_file.open("wb") as file:
        file.truncate(MAX_VALUE_BYTES + 1)  # sparse: a lot to read, nothing on disk
    point_rows_at(site, VALUE_FILE)

    build = build_in_time(site)

    refusal = f"refusing a cache row whose value file is {VALUE_FILE!r}: it is larger than {MAX_VALUE_BYTES} bytes"
    assert refusal in build.log
    assert not value_file.exists() and not (site.cache_dir / "ab").exists()  # a file diskcache named: deleted
    assert "refused to delete" not in build.log
    assert_complete(build)


def test_a_build_that_only_reads_takes_no_write_lock_and_refuses_rows_as_ever(
    site: Site, arxiv_api: FakeArxiv, tmp_path: Path
) -> None:
    first_build(site, arxiv_api)
    outside = tmp_path / "outside.json"  # what an attacker wants served, as a page and as a paper
    outside.write_text(json.dumps({"blocks": ["SECRET"], "wants": [], "fetched": None, "paper": "SECRET"}))
    point_rows_at(site, str(outside), where=f"key like 'page:%' or key = 'paper:{IDS[0]}'")
    site.options["offline"] = True  # the page renders again, incomplete: nothing is fetched or stored

    with closing(sqlite3.connect(site.cache_dir / "cache.db", isolation_level=None)) as writer:
        writer.execute("BEGIN IMMEDIATE")  # another build writing: it holds the write lock throughout
        process = site.start()
        try:
            log, _ = process.communicate(timeout=30)  # opening diskcache waits up to 60 s for the lock
        except subprocess.TimeoutExpired:
            process.kill()
            log, _ = process.communicate()
            pytest.fail(f"a build that only reads waited for the write lock:\n{log}")
        writer.execute("ROLLBACK")

    build = Build(process.returncode, log, site.root / "site")
    assert build.returncode == 0, build.log
    refused = f"Cache: refusing a cache row whose value file is {str(outside)!r}: it is not a name diskcache makes"
    assert f"{refused} (row 'paper:{IDS[0]}')" in build.log
    assert f"{refused} (row 'page:" in build.log
    assert "SECRET" not in build.html()
    assert [row.title for row in build.digest().rows] == [IDS[0], *(f"Paper {i}" for i in IDS[1:])]


def first_build_of_a_large_page(site: Site, arxiv_api: FakeArxiv) -> str:
    """Build a page big enough that diskcache keeps it in a value file (32 KB and more); that file's name."""
    for paper_id in IDS:
        arxiv_api.add(paper_id, f"Paper {paper_id}", f"Abstract of {paper_id}. " + "Long results. " * 1000)
    site.page("index.md", block(*IDS))
    site.page("about.md", "# About\n\nA page of the site, outside the cache.\n")
    assert site.build("--strict").returncode == 0
    with sqlite3.connect(site.cache_dir / "cache.db") as db:
        [(filename,)] = db.execute("select filename from Cache where mode = 3").fetchall()
    assert (site.cache_dir / filename).is_file()
    return str(filename)


def test_a_page_large_enough_for_a_value_file_is_served_from_it_and_cleared_cleanly(
    site: Site, arxiv_api: FakeArxiv
) -> None:
    filename = first_build_of_a_large_page(site, arxiv_api)

    warm = build_in_time(site)

    assert "3 papers: 3 cached" in warm.log and "WARNING" not in warm.log, warm.log
    assert_complete(warm)

    cleared = clear_cache(site)

    assert cleared.returncode == 0 and "WARNING" not in cleared.stderr, cleared.stderr
    assert not (site.cache_dir / filename).exists()
    assert (site.cache_dir / "cache.db").is_file()  # diskcache's directories went, the cache's own stayed
    assert not [path for path in site.cache_dir.iterdir() if path.is_dir()]


def test_a_link_planted_for_a_value_directory_is_not_written_through(
    site: Site, arxiv_api: FakeArxiv, tmp_path: Path
) -> None:
    filename = first_build_of_a_large_page(site, arxiv_api)
    outside = tmp_path / "outside"
    outside.mkdir()
    shutil.rmtree(site.cache_dir / filename.split("/")[0])  # the page must be written anew
    for top in range(256):  # whichever name diskcache draws, its first directory leads outside
        (site.cache_dir / f"{top:02x}").symlink_to(outside, target_is_directory=True)

    build = build_in_time(site)

    assert_complete(build)
    assert not list(outside.iterdir())
    assert "Cache: removed a symbolic link " in build.log
    with sqlite3.connect(site.cache_dir / "cache.db") as db:
        [(written,)] = db.execute("select filename from Cache where mode = 3").fetchall()
    assert (site.cache_dir / written).is_file() and not (site.cache_dir / written.split("/")[0]).is_symlink()


# diskcache obeys its own `Settings` table as it opens `cache.db`: each row's key becomes
# an attribute of its `Cache`, a `disk_*` key an argument, a `sqlite_*` key a PRAGMA.
PWN = "pwn.db"  # what an injected ATTACH would create, in the test's directory
TAMPERED_SETTINGS = {
    "directory": ("INSERT INTO Settings VALUES ('_directory', '{outside}')", "an unknown setting '_directory'"),
    "attribute": ("INSERT INTO Settings VALUES ('close', 'nothing')", "an unknown setting 'close'"),
    "disk-argument": ("INSERT INTO Settings VALUES ('disk_unknown', 1)", "an unknown setting 'disk_unknown'"),
    "pragma-key": (
        "INSERT INTO Settings VALUES ('sqlite_x = 1; ATTACH DATABASE ''{outside}/" + PWN + "'' AS p; --', 1)",
        'an unknown setting "sqlite_x = 1; ATTACH',
    ),
    "pragma-value": (
        "UPDATE Settings SET value = 'wal; ATTACH DATABASE ''{outside}/" + PWN + "'' AS p'"
        " WHERE key = 'sqlite_journal_mode'",
        'sqlite_journal_mode = "wal; ATTACH',
    ),
    "pragma-effect": (
        "INSERT INTO Settings VALUES ('sqlite_user_version', 4242)",
        "an unknown setting 'sqlite_user_version'",
    ),
    "eviction-policy": (
        "UPDATE Settings SET value = 'most-recently-planted' WHERE key = 'eviction_policy'",
        "eviction_policy = 'most-recently-planted'",
    ),
    "view": (
        "DROP TABLE Settings; CREATE VIEW Settings AS SELECT 'sqlite_user_version' AS key, 4242 AS value",
        "a Settings table of another form",
    ),
}


def files_outside_the_cache(site: Site) -> set[Path]:
    """Every path under the test's directory except the cache and the built site."""
    return {
        path
        for path in site.root.rglob("*")
        if not path.is_relative_to(site.cache_dir) and not path.is_relative_to(site.root / "site")
    }


@pytest.mark.parametrize(("sql", "reported"), TAMPERED_SETTINGS.values(), ids=TAMPERED_SETTINGS.keys())
def test_a_tampered_settings_table_is_reset_and_the_cache_kept(
    site: Site, arxiv_api: FakeArxiv, llm_api: FakeLLM, tmp_path: Path, sql: str, reported: str
) -> None:
    first_build(site, arxiv_api)
    outside = tmp_path / "outside"
    outside.mkdir()
    with closing(sqlite3.connect(site.cache_dir / "cache.db")) as db, db:
        db.executescript(sql.format(outside=outside))
    before = files_outside_the_cache(site)
    asked = len(llm_api.requests)

    build = site.build()

    assert f"Cache: reset the settings of {site.cache_dir / 'cache.db'}: it held {reported}" in build.log
    assert_complete(build)
    assert len(llm_api.requests) == asked  # the rows were kept: nothing generated again
    assert files_outside_the_cache(site) == before and not list(outside.iterdir())
    with closing(sqlite3.connect(site.cache_dir / "cache.db")) as db:
        assert db.execute("PRAGMA user_version").fetchone() == (0,)  # no pragma of the attacker's ran
        assert db.execute("PRAGMA database_list").fetchall() == [(0, "main", str(site.cache_dir / "cache.db"))]
        settings = dict(db.execute("SELECT key, value FROM Settings").fetchall())
    assert settings == diskcache.DEFAULT_SETTINGS | {"count": 7, "size": 0, "hits": 0, "misses": 0}

    again = site.build("--strict")  # the table is diskcache's again: nothing more to say

    assert again.returncode == 0 and "WARNING" not in again.log, again.log


def plant_garbage(database: Path, outside: Path) -> None:
    database.write_bytes(b"not a database, " * 512)


def plant_directory(database: Path, outside: Path) -> None:
    database.unlink()
    database.mkdir()
    (database / "what").write_text("a directory where the database goes")


def plant_database_symlink(database: Path, outside: Path) -> None:
    database.rename(outside)  # a database elsewhere, which the cache must not write to
    database.symlink_to(outside)


def plant_database_fifo(database: Path, outside: Path) -> None:
    database.unlink()
    os.mkfifo(database)  # opening it for reading blocks until someone writes


def plant_wal_symlink(database: Path, outside: Path) -> None:
    outside.write_bytes(b"")
    wal = Path(f"{database}-wal")
    wal.unlink(missing_ok=True)  # left by the first build while a connection of it is open
    wal.symlink_to(outside)


@pytest.mark.parametrize(
    ("plant", "reason"),
    [
        (plant_garbage, "SQLite cannot use it (file is not a database)"),
        (plant_directory, "it is a directory"),
        (plant_database_symlink, "it is a symbolic link"),
        (plant_database_fifo, "it is a FIFO"),
        (plant_wal_symlink, "cache.db-wal is a symbolic link"),
    ],
    ids=["garbage", "directory", "symlink", "fifo", "wal-symlink"],
)
def test_a_cache_db_sqlite_cannot_use_is_moved_aside_for_an_empty_one(
    site: Site, arxiv_api: FakeArxiv, tmp_path: Path, plant: Callable[[Path, Path], None], reason: str
) -> None:
    first_build(site, arxiv_api)
    database = site.cache_dir / "cache.db"
    outside = tmp_path / "outside.db"
    plant(database, outside)
    kept = outside.read_bytes() if outside.exists() else None
    before = files_outside_the_cache(site)

    build = build_in_time(site)

    assert (outside.read_bytes() if outside.exists() else None) == kept  # a database elsewhere: not written
    assert files_outside_the_cache(site) == before
    assert f"Cache: moved {database} aside to cache.db.unusable: {reason}; the cache starts empty" in build.log
    assert_complete(build)
    assert os.path.lexists(site.cache_dir / "cache.db.unusable")  # kept for a look, not deleted
    assert database.is_file() and not database.is_symlink()

    again = site.build("--strict")

    assert again.returncode == 0 and "WARNING" not in again.log, again.log
