"""Cache keys: hashes of everything that shapes a stored result, and the versions in them.

Bumping a version makes what it shaped be made again: `PROMPT_VERSION` every digest,
`CHECKS_VERSION` every stored page (digests are re-checked when read, see `resolver`).
Kept apart from the model client and the checks so that a warm build, which only
computes keys, imports neither.
"""

from __future__ import annotations

import hashlib

from mkdocs_arxiv_digest.models import Paper

PROMPT_VERSION = 1
"""Bump when the prompt or schema changes: it is part of every digest's cache key."""
CHECKS_VERSION = 2
"""Bump when `checks` would judge replies differently: cached digests are checked again when read."""


def digest_key(paper: Paper, language: str, model: str) -> str:
    """Cache key of a digest: a hash of everything that changes the generated text."""
    parts = [str(PROMPT_VERSION), str(paper.versioned_id), paper.title, paper.abstract, language, model]
    return hashlib.sha256("\0".join(parts).encode()).hexdigest()  # NUL: in none of the parts
