"""What diskcache's database may hold: its schema, exactly, and settings as diskcache writes them.

diskcache obeys its own `Settings` table as it opens the database, and SQLite runs what a
schema holds (a view, a trigger, an index's expression) as rows are read or written; a
recursive view or trigger never returns. A `cache.db` restored from elsewhere is checked
against both before anything reads a row of it (`schema_problems`, `settings_problems`),
and a `Settings` table that holds anything diskcache would not have written is rewritten
(`reset_settings`). Reads `sqlite_master` and `Settings` only, which runs nothing.
"""

from __future__ import annotations

import sqlite3
from contextlib import closing
from pathlib import Path
from typing import Any

import diskcache

# diskcache acts on every row of its `Settings` table as it opens the database, before
# the settings passed to it count: each key becomes an attribute of the `Cache` (so
# `_directory` moves the database elsewhere, `close` breaks it), a `disk_*` key an
# argument of the `Disk`, a `sqlite_*` key a `PRAGMA name = value` formatted unescaped.
# Ours are diskcache's defaults, given explicitly; the table may hold them, and the
# counters its triggers keep (integers), in a table of the form diskcache creates.
SETTINGS: dict[str, Any] = dict(diskcache.DEFAULT_SETTINGS)
_COUNTERS = tuple(diskcache.core.METADATA)
SETTINGS_TABLE = "CREATE TABLE Settings ( key TEXT NOT NULL UNIQUE, value)"
# Every object diskcache 5.6 creates in `cache.db` (with any settings), as SQLite keeps
# it in `sqlite_master` (without "IF NOT EXISTS"): copied from `diskcache.core`, and
# compared with what diskcache makes by tests/test_security_io.py. SQLite runs what the
# schema holds as rows are read or written (a view, a trigger, an index's expression),
# so a database holding any other object, or one of these names of another form, is not
# used. Missing ones are fine: diskcache creates them.
DISKCACHE_SCHEMA = frozenset(
    {
        ("table", "Settings", SETTINGS_TABLE),
        ("index", "sqlite_autoindex_Settings_1", None),  # of `Settings`' UNIQUE key
        (
            "table",
            "Cache",
            "CREATE TABLE Cache ( rowid INTEGER PRIMARY KEY, key BLOB, raw INTEGER, store_time REAL,"
            " expire_time REAL, access_time REAL, access_count INTEGER DEFAULT 0, tag BLOB,"
            " size INTEGER DEFAULT 0, mode INTEGER DEFAULT 0, filename TEXT, value BLOB)",
        ),
        ("index", "Cache_key_raw", "CREATE UNIQUE INDEX Cache_key_raw ON Cache(key, raw)"),
        ("index", "Cache_expire_time", "CREATE INDEX Cache_expire_time ON Cache (expire_time)"),
        ("index", "Cache_tag_rowid", "CREATE INDEX Cache_tag_rowid ON Cache(tag, rowid)"),
        *(
            # "CREATE INDEX IF NOT EXISTS <name> ON Cache (<column>)": the name is its sixth word.
            ("index", policy["init"].split()[5], policy["init"].replace(" IF NOT EXISTS", ""))
            for policy in diskcache.core.EVICTION_POLICY.values()
            if policy["init"] is not None
        ),
        *(
            ("trigger", name, f"CREATE TRIGGER {name} AFTER {event} ON Cache FOR EACH ROW BEGIN {body}; END")
            for name, event, body in (
                ("Settings_count_insert", "INSERT", 'UPDATE Settings SET value = value + 1 WHERE key = "count"'),
                ("Settings_count_delete", "DELETE", 'UPDATE Settings SET value = value - 1 WHERE key = "count"'),
                ("Settings_size_insert", "INSERT", 'UPDATE Settings SET value = value + NEW.size WHERE key = "size"'),
                (
                    "Settings_size_update",
                    "UPDATE",
                    'UPDATE Settings SET value = value + NEW.size - OLD.size WHERE key = "size"',
                ),
                ("Settings_size_delete", "DELETE", 'UPDATE Settings SET value = value - OLD.size WHERE key = "size"'),
            )
        ),
    }
)


def schema_problems(db: sqlite3.Connection) -> list[str]:
    """What the schema holds that diskcache does not create, in words (none: []).

    Reads `sqlite_master` only, which runs nothing the schema holds. The `Settings`
    table's own form is `settings_problems`'s: a table or view of that name is rebuilt.
    """
    known = {(kind, name) for kind, name, _sql in DISKCACHE_SCHEMA}
    problems = []
    # Tables and views first: where a table goes is what a reader most needs told.
    query = "SELECT type, name, sql FROM sqlite_master ORDER BY type NOT IN ('table', 'view'), rowid"
    for kind, name, sql in db.execute(query):
        if (kind, name, sql) in DISKCACHE_SCHEMA:
            continue
        if kind in ("table", "view") and isinstance(name, str) and name.lower() == "settings":
            continue
        article = "an" if str(kind)[:1] in "aeiou" else "a"
        problems.append(f"{article} {kind} {_shown(name)}" + (" of another form" if (kind, name) in known else ""))
    return problems


def listed(problems: list[str]) -> str:
    """The first few ``problems``, joined, saying how many more there are."""
    return ", ".join(problems[:5]) + (f" and {len(problems) - 5} more" if len(problems) > 5 else "")


def reset_settings(database: Path) -> list[str]:
    """Rewrite the `Settings` table as diskcache writes it, if it holds anything else; what it held.

    Runs before diskcache opens the database, which applies the table's `sqlite_*` rows
    to its first connection before any setting passed to it counts. In one transaction,
    so a build sharing the cache sees the old table or the new one.
    """
    with closing(sqlite3.connect(database, timeout=60, isolation_level=None)) as db:
        # Read first, without a write lock: the table is nearly always as diskcache wrote it,
        # and a lock on every build would make concurrent builds wait on each other.
        if not settings_problems(db):
            return []
        db.execute("BEGIN IMMEDIATE")  # read again and rewrite with no build writing in between
        problems = settings_problems(db)
        if problems:
            found = db.execute("SELECT type, name FROM sqlite_master WHERE name = 'Settings' COLLATE NOCASE")
            for kind, name in found.fetchall():
                db.execute(f'DROP {kind} "{name}"')  # kind: table, view, index or trigger, from SQLite itself
            db.execute(SETTINGS_TABLE)
            db.executemany("INSERT INTO Settings VALUES (?, ?)", SETTINGS.items())
            # The counters diskcache's triggers keep, recounted; hits and misses (statistics are off) restart.
            [(count, size)] = db.execute("SELECT COUNT(*), COALESCE(SUM(size), 0) FROM Cache").fetchall()
            counters = {"count": count, "size": size, "hits": 0, "misses": 0}
            db.executemany("INSERT INTO Settings VALUES (?, ?)", ((key, counters.get(key, 0)) for key in _COUNTERS))
        db.execute("COMMIT")
    return problems


def settings_problems(db: sqlite3.Connection) -> list[str]:
    """What in the `Settings` table diskcache would not have written itself, in words (none: [])."""
    schema = db.execute("SELECT type, sql FROM sqlite_master WHERE name = 'Settings' COLLATE NOCASE").fetchall()
    if not schema:
        return []  # a new database: diskcache creates the table
    if schema != [("table", SETTINGS_TABLE)]:
        return ["a Settings table of another form"]
    problems = []
    for key, value in db.execute("SELECT key, value FROM Settings"):
        if key in SETTINGS:
            if type(value) is not type(SETTINGS[key]) or value != SETTINGS[key]:
                problems.append(f"{key} = {_shown(value)}")
        elif key in _COUNTERS:
            if type(value) is not int:
                problems.append(f"{key} = {_shown(value)}")
        else:
            problems.append(f"an unknown setting {_shown(key)}")
    return problems


def _shown(value: Any) -> str:
    """A planted key or value as the log shows it: quoted, escaped, and at most 100 characters."""
    text = repr(value)
    return text if len(text) <= 100 else text[:97] + "..."
