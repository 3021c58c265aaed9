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
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from mkdocs_arxiv_digest.errors import SnapshotError
from mkdocs_arxiv_digest.ids import ArxivId
from mkdocs_arxiv_digest.models import Digest, Paper

DEFAULT_HEADER = (
    "# arxiv-digest snapshot: pinned metadata and generated text, preferred over the cache.\n"
    "# Edit an entry to correct it; `arxiv-digest snapshot` adds the papers the site uses.\n"
)


# The order a person reads an entry in.
_PAPER_KEYS = ("id", "version", "title", "authors", "published", "abstract")
_DIGEST_KEYS = ("model", "title", "summary", "abstract")


@dataclass
class SnapshotEntry:
    paper: Paper
    digests: dict[str, Digest] = field(default_factory=dict)


@dataclass
class Snapshot:
    """Entries by paper ID (without version)."""

    entries: dict[str, SnapshotEntry] = field(default_factory=dict)
    header: str = DEFAULT_HEADER

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

    def add(self, paper: Paper, digest: Digest | None) -> None:
        entry = self.entries.get(paper.id)
        if entry is None or entry.paper != paper:
            entry = self.entries[paper.id] = SnapshotEntry(paper)
        if digest is not None:
            entry.digests[digest.language] = digest


def load_snapshot(path: Path) -> Snapshot:
    """Read a snapshot; a missing file is an empty snapshot, a malformed one an error."""
    if not path.exists():
        return Snapshot()
    text = path.read_text(encoding="utf-8")
    try:
        data = yaml.safe_load(text) or {}
    except yaml.YAMLError as error:
        raise SnapshotError(f"{path}: invalid YAML: {error}") from error
    papers = data.get("papers", []) if isinstance(data, dict) else None
    if not isinstance(papers, list):
        raise SnapshotError(f"{path}: expected a mapping with a `papers:` list")
    snapshot = Snapshot(header=_leading_comment(text) or DEFAULT_HEADER)
    for index, item in enumerate(papers, start=1):
        try:
            paper = Paper.from_json({k: v for k, v in item.items() if k != "digests"})
            digests = {
                language: Digest.from_json({"language": language, **values})
                for language, values in (item.get("digests") or {}).items()
            }
        except (AttributeError, TypeError, ValueError) as error:
            raise SnapshotError(f"{path}: paper #{index} ({_id_of(item)}): {error}") from error
        snapshot.entries[paper.id] = SnapshotEntry(paper, digests)
    return snapshot


def save_snapshot(snapshot: Snapshot, path: Path) -> None:
    """Write entries sorted by ID, keeping the file's leading comment."""
    papers: list[dict[str, Any]] = []
    for paper_id in sorted(snapshot.entries):
        entry = snapshot.entries[paper_id]
        paper = entry.paper.to_json()
        digests = {
            language: {key: digest.to_json()[key] for key in _DIGEST_KEYS if digest.to_json()[key]}
            for language, digest in sorted(entry.digests.items())
        }
        papers.append({key: paper[key] for key in _PAPER_KEYS} | {"digests": digests})
    body = yaml.safe_dump({"papers": papers}, allow_unicode=True, sort_keys=False, width=100)
    path.write_text(snapshot.header + body, encoding="utf-8")


def _leading_comment(text: str) -> str:
    lines = []
    for line in text.splitlines(keepends=True):
        if not line.startswith("#"):
            break
        lines.append(line)
    return "".join(lines)


def _id_of(item: Any) -> str:
    return str(item.get("id", "?")) if isinstance(item, dict) else "?"
