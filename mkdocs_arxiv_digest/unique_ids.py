"""Footnote ids of digests unique on a page that shows several posts' excerpts.

A digest's footnote ids are its papers' IDs (``fnref:2403.16584``, ``fn:2403.16584``),
unique on the page that holds the digest. A page that gathers excerpts of several
pages — Material's blog index, its archive and category pages — holds each excerpt's
ids as well, converted on its own: two posts about one paper put ``fnref:2403.16584``
twice on the index.

Python-Markdown's footnotes offer `UNIQUE_IDS`, which puts a count of the converter's
resets into each id (``fnref:1-2403.16584``); but MkDocs converts each page, and
Material's blog each excerpt, with a new converter, so every count is 1 and the ids
still collide. Material's blog points each link of an excerpt at its post
(``../posts/first/#fn:2403.16584``), so within an excerpt an id is no link's target:
the page is read once it is whole, and an id of ours seen a second time gets the
number of its occurrence (``fnref:2403.16584-2``). Ids seen once — every id on the
post's own page — are left as they are, and so is every link.
"""

from __future__ import annotations

import re

# An id Python-Markdown's footnotes give a digest's footnote or reference: `fn` or
# `fnref`/`fnref2`..., the separator (`:` unless SEPARATOR says otherwise), the
# UNIQUE_IDS count if on, and the label: an arXiv ID, and `-language` for a paper's
# second language on a page (see `layout.FootnoteLabels`).
_ID = re.compile(
    r'(\sid=")(fn(?:ref\d*)?\W(?:\d+-)?(?:\d{4}\.\d{4,5}|[a-z]+(?:-[a-z]+)*/\d{7})(?:v\d+)?(?:-[A-Za-z0-9-]+)?)"'
)


def unique_footnote_ids(page_html: str) -> str:
    """``page_html`` with each repeated id of a digest's footnotes numbered from its second occurrence."""
    if ' id="fn' not in page_html:
        return page_html  # most pages of a site: no footnote at all
    seen: dict[str, int] = {}

    def number(match: re.Match[str]) -> str:
        value = match.group(2)
        count = seen[value] = seen.get(value, 0) + 1
        return match.group() if count == 1 else f'{match.group(1)}{value}-{count}"'

    return _ID.sub(number, page_html)
