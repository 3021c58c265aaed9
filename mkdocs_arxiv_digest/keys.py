"""Cache keys: hashes of everything that shapes a stored result, and the versions in them.

One way to hash (`bytes_hash`): `text_hash` for keys made of parts, `file_hash` for a file's content.

Bumping a version makes what it shaped be made again: `PROMPT_VERSION` every digest,
`CHECKS_VERSION` every stored page (digests are re-checked when read, see `resolver`).
Kept apart from the model client and the checks so that a warm build, which only
computes keys, imports neither.
"""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import TYPE_CHECKING

from mkdocs_arxiv_digest import __version__
from mkdocs_arxiv_digest.models import Paper

if TYPE_CHECKING:
    from mkdocs_arxiv_digest.config import Settings

PROMPT_VERSION = 1
"""Bump when the prompt or schema changes: it is part of every digest's cache key."""
CHECKS_VERSION = 2
"""Bump when `checks` would judge replies differently: cached digests are checked again when read."""
PAGE_FORMAT = 2
"""Bump when what a stored page holds changes (2: layouts, not Markdown): older rows are not read."""


def digest_key(paper: Paper, language: str, model: str) -> str:
    """Cache key of a digest: a hash of everything that changes the generated text."""
    return text_hash(str(PROMPT_VERSION), str(paper.versioned_id), paper.title, paper.abstract, language, model)


def page_key(settings: Settings, snapshot_hash: str, markdown: str, pinned: str = "") -> str:
    """Cache key of a page's render: a hash of everything that shapes it.

    ``snapshot_hash`` is the snapshot file's `file_hash`: an edited snapshot changes every key.
    ``pinned`` is the IDs its query blocks show (their pins, which may live in the cache):
    a query run again with another result changes the key.
    """
    parts = [__version__, str(PROMPT_VERSION), str(CHECKS_VERSION), str(PAGE_FORMAT), settings.language, settings.model]
    parts.append(str(settings.presentation))
    return text_hash(*parts, snapshot_hash, markdown, pinned)


def text_hash(*parts: str) -> str:
    """The SHA-256 of ``parts`` (hex), each kept apart from the next."""
    return bytes_hash("\0".join(parts).encode())  # NUL: in none of the parts


def bytes_hash(data: bytes) -> str:
    """The SHA-256 of ``data`` (hex): every key and content hash of the package."""
    return hashlib.sha256(data).hexdigest()


def file_hash(path: Path | None) -> str:
    """The SHA-256 of a file's content (hex); "" when there is no file or it cannot be read."""
    try:
        return bytes_hash(path.read_bytes()) if path is not None else ""
    except OSError:
        return ""
