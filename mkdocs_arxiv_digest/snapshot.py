"""The snapshot: a committed, human-editable YAML file of complete entries.

It wins over the cache, so a person can correct a translation by editing it, and a
site can build with no network and no API key. Format::

    papers:
      - id: "2403.16584"
        version: 1
        title: ...
        authors: [...]
        published: "2024-03-25"
        abstract: ...
        digests:
          zh: {model: ..., title: ..., summary: ..., abstract: ...}

Query blocks' pins (`queries.Pin`) sit in a ``queries:`` list before ``papers:``::

    queries:
      - query: cat:cs.CL AND abs:"machine translation"
        max: 20
        sort: submitted
        ran: "2026-05-01T06:00:00Z"
        ids: ["2405.01234", "2405.00999"]

A pin is the machine's: a changed one rewrites the ``queries:`` section alone, the rest of
the file staying byte for byte.

A digest with an empty ``summary`` is a blank, for a person to fill in: the paper's
metadata is pinned, its text is not (the model, offline the build's warning, as for a
paper without a digest). `arxiv-digest snapshot` writes one for each paper it has no
digest of, and fills it when it has one later.

The file is the person's: writing it must never lose what they wrote.

- `save_snapshot` refuses to write over a file that changed since `load_snapshot`
  read it (a correction saved while `arxiv-digest snapshot` ran), and writes through
  a temporary file and a rename, so a full disk or a kill leaves the old file whole,
  never a cut one that still parses.
- `Snapshot.add` never replaces what is there: an entry keeps its metadata and its
  digests, and gains only the languages it lacks (an entry of another version is replaced).
- When the only change is new papers, they are appended to the text as read, so the
  person's order, comments and layout stay byte for byte. Any other change rewrites
  the file in the entries' order, keeping its leading comment; comments elsewhere are
  lost then (PyYAML keeps none, and editing the text inside an entry is where a
  hand-rolled YAML writer would go wrong). Either way the text is read back and
  checked against the entries before it replaces the file.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import stat
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from mkdocs_arxiv_digest.errors import SnapshotError
from mkdocs_arxiv_digest.ids import ArxivId
from mkdocs_arxiv_digest.keys import bytes_hash
from mkdocs_arxiv_digest.models import Digest, Paper
from mkdocs_arxiv_digest.queries import Pin

DEFAULT_HEADER = (
    "# arxiv-digest snapshot: pinned metadata and generated text, preferred over the cache.\n"
    "# Edit an entry to correct it; `arxiv-digest snapshot` adds the papers the site uses.\n"
)

_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
"""libyaml's safe loader where PyYAML has it: a snapshot of a few hundred papers reads 10 x faster."""


# The order a person reads an entry in.
_PAPER_KEYS = ("id", "version", "title", "authors", "published", "abstract")
_DIGEST_KEYS = ("model", "title", "summary", "abstract", "reviewed")


BLANK_MODEL = "written-by-hand"
"""The `model` of a blank: what a person filling it in is taken to be (`Digest.model`)."""


@dataclass
class SnapshotEntry:
    paper: Paper
    digests: dict[str, Digest] = field(default_factory=dict)
    blanks: list[str] = field(default_factory=list)
    """Languages of blank digests (empty ``summary``), in the file's order: to be filled in."""


@dataclass(frozen=True)
class _Read:
    """What `load_snapshot` found, so that `save_snapshot` can tell whether the file changed since."""

    path: Path
    """The file read, symlinks resolved."""
    sha256: str | None
    """Of the bytes read; None when there was no file."""
    text: str
    entries: dict[str, SnapshotEntry]
    """A copy of the entries as read."""
    queries: dict[str, Pin] = field(default_factory=dict)
    """The query pins as read."""


@dataclass
class Snapshot:
    """Entries by paper ID (without version), in the file's order."""

    entries: dict[str, SnapshotEntry] = field(default_factory=dict)
    header: str = DEFAULT_HEADER
    _read: _Read | None = field(default=None, repr=False, compare=False)
    queries: dict[str, Pin] = field(default_factory=dict)
    """Query blocks' pins by `Pin.key`, in the file's order."""

    def paper(self, arxiv_id: ArxivId) -> Paper | None:
        """The pinned paper, if it is the version asked for (any version for an unversioned ID)."""
        entry = self.entries.get(arxiv_id.base)
        if entry is None or arxiv_id.version not in (None, entry.paper.version):
            return None
        return entry.paper

    def digest(self, paper: Paper, language: str) -> Digest | None:
        entry = self.entries.get(paper.id)
        if entry is None or entry.paper != paper:
            return None
        return entry.digests.get(language)

    def add(self, paper: Paper, digest: Digest | None, *, blank: str | None = None) -> bool:
        """Pin ``paper`` and ``digest`` where the snapshot lacks them; return whether anything changed.

        What is there wins: an entry of the same version keeps its metadata and its
        digests (a person may have corrected them) and gains only missing languages,
        filling its blanks. An entry of another version is replaced, in place. Without
        a digest, ``blank`` names the language of a blank to add for a person to fill in.
        """
        entry = self.entries.get(paper.id)
        changed = entry is None or entry.paper.version != paper.version
        if entry is None or changed:
            entry = self.entries[paper.id] = SnapshotEntry(paper)
        if digest is not None and digest.language not in entry.digests:
            # Pinned text is a person's to correct: it is not marked as checked.
            entry.digests[digest.language] = digest._replace(checked=0)
            if digest.language in entry.blanks:
                entry.blanks.remove(digest.language)
            changed = True
        elif digest is None and blank is not None and blank not in entry.digests and blank not in entry.blanks:
            entry.blanks.append(blank)
            changed = True
        return changed


def load_snapshot(path: Path) -> Snapshot:
    """Read a snapshot; a missing file is an empty snapshot, a malformed one an error.

    The snapshot remembers what it read, for `save_snapshot`.
    """
    location = path.resolve()
    try:
        data = location.read_bytes()
    except FileNotFoundError:
        return Snapshot(_read=_Read(location, None, "", {}))
    except OSError as error:
        raise SnapshotError(f"{path}: cannot read the snapshot ({error})") from error
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as error:
        raise SnapshotError(f"{path}: not UTF-8 text ({error})") from error
    entries, queries = _parse(text, path)
    read = _Read(location, bytes_hash(data), text, _copy(entries), dict(queries))
    return Snapshot(entries, header=_leading_comment(text) or DEFAULT_HEADER, _read=read, queries=queries)


def check_writable(path: Path) -> None:
    """Raise `SnapshotError` if ``path`` is a symbolic link, which writing the snapshot would follow.

    A link in a pull request (dangling or not) would have `arxiv-digest snapshot` write
    wherever it leads, outside the project; the snapshot is written only as a file of its own.
    """
    if path.is_symlink():
        raise SnapshotError(
            f"{path} is a symbolic link (to {os.readlink(path)}); refusing to write the snapshot through it."
            " Replace the link with the file itself, or pass the file's own path"
        )


def save_snapshot(snapshot: Snapshot, path: Path) -> None:
    """Write ``snapshot`` to ``path`` whole or not at all; raise `SnapshotError` if it cannot.

    A file that changed since the snapshot was read from it (or that exists, if the
    snapshot was not read from it) is left as it is: the error says so. Nothing is
    written when nothing changed, nor through a symbolic link (`check_writable`).
    """
    check_writable(path)
    location = path.resolve()
    read = snapshot._read if snapshot._read is not None and snapshot._read.path == location else None
    if (
        read is not None
        and list(snapshot.entries.items()) == list(read.entries.items())
        and list(snapshot.queries.items()) == list(read.queries.items())
    ):
        return
    text = _text_to_write(snapshot, read, path)
    temporary = location.with_name(f".{location.name}.{secrets.token_hex(4)}.tmp")
    try:
        _write_new(temporary, text.encode("utf-8"), like=location)
        # Checked at the last moment, so that a correction saved while the site was
        # resolved (minutes, with a model) is never written over.
        if _sha256(location) != (read.sha256 if read is not None else None):
            raise SnapshotError(
                f"{path} changed since it was read (edited meanwhile?); it was left as it is. "
                "Re-run `arxiv-digest snapshot` to add the papers to the file as it is now."
            )
        os.replace(temporary, location)
    except OSError as error:
        raise SnapshotError(f"{path}: could not write the snapshot ({error}); the file is unchanged") from error
    finally:
        with contextlib.suppress(FileNotFoundError):
            temporary.unlink()
    _sync_directory(location.parent)
    data = text.encode("utf-8")
    snapshot._read = _Read(location, bytes_hash(data), text, _copy(snapshot.entries), dict(snapshot.queries))


def _text_to_write(snapshot: Snapshot, read: _Read | None, path: Path) -> str:
    """The new file: the text read with the new papers appended, if that is all that changed."""
    if read is not None and read.text:
        text: str | None = read.text
        if list(snapshot.queries.items()) != list(read.queries.items()):
            text = _with_queries(read.text, snapshot.queries)
        appended = _appended(text, read.entries, snapshot) if text is not None else None
        if appended is not None and _parses_to(appended, snapshot, path):
            return appended
    newline = "\r\n" if read is not None and "\r\n" in read.text else "\n"
    papers = [_entry_json(entry) for entry in snapshot.entries.values()]
    queries = {"queries": [pin.to_json() for pin in snapshot.queries.values()]} if snapshot.queries else {}
    body = yaml.safe_dump(queries | {"papers": papers}, allow_unicode=True, sort_keys=False, width=100)
    text = (snapshot.header.replace("\r\n", "\n") + body).replace("\n", newline)
    if not _parses_to(text, snapshot, path):  # a bug, not a state of the world
        raise SnapshotError(f"{path}: the snapshot would not read back as written; nothing was written")
    return text


def _with_queries(text: str, pins: dict[str, Pin]) -> str | None:
    """``text`` with its ``queries:`` section written anew from ``pins`` (added before ``papers:`` if it had none).

    The rest of the text stays as it was; None where the layout does not allow it (a flow mapping).
    """
    root = yaml.compose(text, Loader=_LOADER)
    newline = "\r\n" if "\r\n" in text else "\n"
    section = yaml.safe_dump(
        {"queries": [pin.to_json() for pin in pins.values()]}, allow_unicode=True, sort_keys=False, width=100
    ).replace("\n", newline)
    lines = text.splitlines(keepends=True)
    if root is None:  # comments only
        return text + ("" if not text or text.endswith(("\n", "\r")) else newline) + section
    if not isinstance(root, yaml.MappingNode) or root.flow_style or not root.value:
        return None
    keys = [key for key, _value in root.value]
    for index, key in enumerate(keys):
        if key.value == "queries":
            end = keys[index + 1].start_mark.line if index + 1 < len(keys) else len(lines)
            return "".join(lines[: key.start_mark.line]) + section + "".join(lines[end:])
    first = keys[0].start_mark.line
    return "".join(lines[:first]) + section + "".join(lines[first:])


def _appended(text: str, old: dict[str, SnapshotEntry], snapshot: Snapshot) -> str | None:
    """``text`` (as read) plus the new entries, or None if existing entries changed or the layout does not allow it."""
    if list(snapshot.entries.items()) == list(old.items()):
        return text
    if any(snapshot.entries.get(paper_id) != entry for paper_id, entry in old.items()):
        return None
    if list(snapshot.entries)[: len(old)] != list(old):
        return None
    root = yaml.compose(text, Loader=_LOADER)
    if not isinstance(root, yaml.MappingNode) or not root.value:
        return None
    key, papers = root.value[-1]
    # New items can go at the end of the file only if the list is a block list closing the file.
    if key.value != "papers" or not isinstance(papers, yaml.SequenceNode) or papers.flow_style or not papers.value:
        return None
    first_item = text.splitlines()[papers.value[0].start_mark.line]
    dash = first_item[: len(first_item) - len(first_item.lstrip(" "))]
    new = [_entry_json(entry) for paper_id, entry in snapshot.entries.items() if paper_id not in old]
    items = yaml.safe_dump(new, allow_unicode=True, sort_keys=False, width=100)
    newline = "\r\n" if "\r\n" in text else "\n"
    lines = [dash + line for line in items.splitlines()]
    separator = "" if text.endswith(("\n", "\r")) else newline
    return text + separator + newline.join(lines) + newline


def _parses_to(text: str, snapshot: Snapshot, path: Path) -> bool:
    try:
        entries, queries = _parse(text, path)
    except SnapshotError:
        return False
    return list(entries.items()) == list(snapshot.entries.items()) and list(queries.items()) == list(
        snapshot.queries.items()
    )


def _parse(text: str, path: Path) -> tuple[dict[str, SnapshotEntry], dict[str, Pin]]:
    try:
        data = yaml.load(text, Loader=_LOADER) or {}
    except yaml.YAMLError as error:
        raise SnapshotError(f"{path}: invalid YAML: {error}") from error
    papers = data.get("papers", []) if isinstance(data, dict) else None
    if not isinstance(papers, list):
        raise SnapshotError(f"{path}: expected a mapping with a `papers:` list")
    entries: dict[str, SnapshotEntry] = {}
    for index, item in enumerate(papers, start=1):
        try:
            paper = Paper.from_json({k: v for k, v in item.items() if k != "digests"})
            digests, blanks = {}, []
            for language, values in (item.get("digests") or {}).items():
                if isinstance(language, str) and _is_blank(values):
                    blanks.append(language)
                else:
                    digests[language] = Digest.from_json({"language": language, **values})
        except (AttributeError, TypeError, ValueError) as error:
            raise SnapshotError(f"{path}: paper #{index} ({_id_of(item)}): {error}") from error
        entries[paper.id] = SnapshotEntry(paper, digests, blanks)
    return entries, _parse_queries(data.get("queries") or [], path)


def _parse_queries(items: Any, path: Path) -> dict[str, Pin]:
    if not isinstance(items, list):
        raise SnapshotError(f"{path}: `queries:` must be a list of query pins")
    pins: dict[str, Pin] = {}
    for index, item in enumerate(items, start=1):
        try:
            pin = Pin.from_json(item)
        except ValueError as error:
            raise SnapshotError(f"{path}: query #{index}: {error}") from error
        pins[pin.key] = pin
    return pins


def _is_blank(values: Any) -> bool:
    """A digest not written yet: no summary (`null`, empty or spaces) — whatever else is filled in."""
    if not isinstance(values, dict):
        return values is None  # `zh:` with nothing after it
    summary = values.get("summary")
    return summary is None or (isinstance(summary, str) and not summary.strip())


def _entry_json(entry: SnapshotEntry) -> dict[str, Any]:
    paper = entry.paper.to_json()
    digests: dict[str, Any] = {
        language: {key: value for key in _DIGEST_KEYS if (value := digest.to_json()[key])}
        for language, digest in entry.digests.items()
    }
    for language in entry.blanks:
        digests[language] = _blank(language)
    return {key: paper[key] for key in _PAPER_KEYS} | {"digests": digests}


def _blank(language: str) -> dict[str, str]:
    """A blank digest for a person to fill in: an English one has a summary only (nothing to translate)."""
    from mkdocs_arxiv_digest.languages import is_english

    if is_english(language):
        return {"model": BLANK_MODEL, "summary": ""}
    return {"model": BLANK_MODEL, "title": "", "summary": "", "abstract": ""}


def _copy(entries: dict[str, SnapshotEntry]) -> dict[str, SnapshotEntry]:
    return {
        paper_id: SnapshotEntry(entry.paper, dict(entry.digests), list(entry.blanks))
        for paper_id, entry in entries.items()
    }


def _sha256(path: Path) -> str | None:
    try:
        return bytes_hash(path.read_bytes())
    except FileNotFoundError:
        return None


def _write_new(path: Path, data: bytes, *, like: Path) -> None:
    """Write a new file durably, with the permissions of ``like`` if it exists."""
    # 0o666 less the umask, as for any new file; not mkstemp's 0o600, which would hide
    # a committed file from the other users of a shared checkout.
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
    with os.fdopen(descriptor, "wb") as file:
        with contextlib.suppress(FileNotFoundError):
            os.chmod(path, stat.S_IMODE(like.stat().st_mode))
        file.write(data)
        file.flush()
        os.fsync(file.fileno())


def _sync_directory(directory: Path) -> None:
    """Make a rename in ``directory`` durable (POSIX; elsewhere the rename is all there is)."""
    if os.name != "posix":
        return
    # The new file is in place by now; failing to make that durable is not worth an error.
    with contextlib.suppress(OSError):
        descriptor = os.open(directory, os.O_RDONLY)
        try:
            os.fsync(descriptor)
        finally:
            os.close(descriptor)


def _leading_comment(text: str) -> str:
    lines = []
    for line in text.splitlines(keepends=True):
        if not line.startswith("#"):
            break
        lines.append(line)
    return "".join(lines)


def _id_of(item: Any) -> str:
    return str(item.get("id", "?")) if isinstance(item, dict) else "?"
