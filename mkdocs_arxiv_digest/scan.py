"""The site-wide scan: what each page of a site asks for, re-read only when its file changed.

Under `mkdocs serve`, editing one page then costs one read and one scan, not one per
page; unchanged pages' papers are already resolved in memory.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from mkdocs_arxiv_digest.errors import log
from mkdocs_arxiv_digest.models import DigestRequest, ScannedPage

if TYPE_CHECKING:
    from mkdocs.structure.files import Files

Stamp = tuple[int, int]


def file_stamp(path: Path | None) -> Stamp | None:
    """When and how big a file was last written (None if there is none)."""
    try:
        stat = path.stat() if path is not None else None
    except OSError:
        return None
    return (stat.st_mtime_ns, stat.st_size) if stat else None


class PageScanner:
    """The papers each page asks for, remembered by the page file's stamp."""

    def __init__(self, requests_in: Callable[[str], list[DigestRequest]]) -> None:
        self._requests_in = requests_in
        self._pages: dict[str, tuple[Stamp, list[DigestRequest]]] = {}

    def scan(self, files: Files) -> list[ScannedPage]:
        """Every documentation page; its Markdown is None when unchanged since the last scan."""
        pages: list[ScannedPage] = []
        scanned = 0
        for file in files.documentation_pages():
            # A page a plugin generates has no file to watch: it is scanned every time.
            stamp = file_stamp(Path(file.abs_src_path)) if file.abs_src_path else None
            known = self._pages.get(file.src_uri)
            if stamp is not None and known is not None and known[0] == stamp:
                pages.append(ScannedPage(file.src_uri, None, known[1]))
                continue
            try:
                markdown = file.content_string
            except (OSError, UnicodeDecodeError):
                continue  # MkDocs reports unreadable pages itself when it renders them
            found = self._requests_in(markdown)
            scanned += 1
            if stamp is not None:
                self._pages[file.src_uri] = (stamp, found)
            pages.append(ScannedPage(file.src_uri, markdown, found))
        log.debug(f"Scanned {scanned} new or changed pages for arxiv-digest blocks")
        return pages
