"""The digest's stylesheet on an MkDocs site, and the mark on each digest table it is scoped to.

The MkDocs plugin ships `assets/arxiv-digest.css` (a tap target for each Ref, a
layout for phones) as a file of the site and adds it to `extra_css`. Its rules must
touch no table but a digest's, and the Markdown a digest is written in cannot carry a
class (`attr_list` may be off, and Python-Markdown's tables take no attributes): a tree
step marks, in the HTML, each table whose every row opens with one footnote reference
to an arXiv ID, as only a digest's rows do. The mark is a `data-` attribute, not a class:
Material styles and wraps only tables without a class.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any
from xml.etree.ElementTree import Element

from markdown import Markdown
from markdown.extensions import Extension
from markdown.treeprocessors import Treeprocessor

MARK = "data-arxiv-digest"
"""The attribute a digest's table carries, for the stylesheet's selectors."""
SITE_PATH = "assets/stylesheets/arxiv-digest.css"
"""Where the stylesheet is in a built site (beside Material's own)."""

# A footnote label of the digest: an arXiv ID (new or old style, maybe versioned) and,
# for a paper's second language on a page, `-language` (see `layout.FootnoteLabels`).
# The link's `#fn:` may read `#fn-` (footnotes' SEPARATOR) or `#fn:1-` (UNIQUE_IDS).
_REFERENCE = re.compile(r"#fn\W(?:\d+-)?(?:\d{4}\.\d{4,5}|[a-z]+(?:-[a-z]+)*/\d{7})(?:v\d+)?(?:-[A-Za-z0-9-]+)?")


def stylesheet() -> str:
    """The stylesheet's text, as the package installs it.

    Read beside this module, not through `importlib.resources`: its readers cost a warm
    build of a small site 1 ms of imports, and an MkDocs plugin is never imported from a zip.
    """
    return (Path(__file__).parent / "assets/arxiv-digest.css").read_text(encoding="utf-8")


class DigestTableExtension(Extension):
    """Marks each digest table of a page with `MARK`."""

    def extendMarkdown(self, md: Markdown) -> None:
        # After the inline step (20), which makes the footnote references, and before
        # Material's blog (0) points an excerpt's links at the post.
        md.treeprocessors.register(_MarkDigestTables(md), "arxiv-digest-tables", 10)


class _MarkDigestTables(Treeprocessor):
    def run(self, root: Element) -> None:
        for table in root.iter("table"):
            rows = [row for body in table.findall("tbody") for row in body.findall("tr")]
            if rows and all(_opens_with_reference(row) for row in rows):
                table.set(MARK, "")


def _opens_with_reference(row: Element) -> bool:
    """Whether ``row``'s first cell holds one footnote reference to an arXiv ID, and nothing else."""
    cell = row.find("td")
    if cell is None or (cell.text or "").strip() or len(cell) != 1 or cell[0].tag != "sup":
        return False
    sup = cell[0]
    if (sup.tail or "").strip() or len(sup) != 1 or sup[0].tag != "a":
        return False
    link = sup[0]
    return "footnote-ref" in (link.get("class") or "").split() and bool(_REFERENCE.fullmatch(link.get("href") or ""))


def makeExtension(**kwargs: Any) -> DigestTableExtension:  # the name Python-Markdown looks for
    """`mkdocs_arxiv_digest.stylesheet` by name in `markdown_extensions` (the benchmark's floor uses it)."""
    return DigestTableExtension(**kwargs)
