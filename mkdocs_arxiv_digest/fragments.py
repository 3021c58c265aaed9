"""Untrusted text kept out of the Markdown: a token holds its place until the HTML is made.

Everything from arXiv, a model, a cache or a snapshot must stay text whatever else the
site enables. Escaping it for Markdown would mean knowing every extension and plugin
that reads the page after us, and each one reinterprets text we took as final: a
template plugin runs ``{{ ... }}``, `pymdownx.critic` rewrites ``{++...++}`` even inside
math, `magiclink` links ``www.`` text. So the page's Markdown holds none of it: each
fragment is a token of ASCII letters and digits, which no extension or template engine
acts on, and once Python-Markdown has run every extension, a postprocessor puts the
fragment's HTML in the token's place — escaped text, and math in the form
`pymdownx.arithmatex` gives it when the site enables arithmatex and the TeX passes the
allow-list of `tex`.

MathJax configured page-wide (its default) typesets ``\\(...\\)`` and ``$$...$$`` in any
text, entities decoded first: text that holds a backslash or a dollar is marked for
MathJax 2, 3 and 4 to skip (and KaTeX's auto-render, given the class), its math spans
marked to be typeset.
"""

from __future__ import annotations

import html
import re
import threading
from typing import NamedTuple

from mkdocs_arxiv_digest.tex import MATH_SPAN, safe_tex

MATHJAX_IGNORE = ("tex2jax_ignore", "mathjax_ignore")
"""The classes MathJax 2/3 and MathJax 4 skip by default (with what is inside them)."""
MATHJAX_PROCESS = ("tex2jax_process", "mathjax_process")
"""The classes that make MathJax typeset inside a skipped element."""

_TOKEN = re.compile(r"arxivdigest(\d+)x")
# Braces are written as references too: no template engine reading the HTML later
# sees `{{`, `{%` or `{#` in text from outside.
_HTML = str.maketrans({"&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "{": "&#123;", "}": "&#125;"})
_IGNORED = f'<span class="{" ".join(MATHJAX_IGNORE)}">'


class MathFormat(NamedTuple):
    """How `pymdownx.arithmatex`, as the site configures it, writes inline math."""

    generic: bool = False
    """MathJax 3/4 and KaTeX: ``<span class="arithmatex">\\(...\\)</span>``; else MathJax 2's script."""
    wrap: tuple[str, str] = ("\\(", "\\)")
    """`tex_inline_wrap`: the delimiters the generic form puts around the TeX."""


def text_html(text: str, math: MathFormat | None) -> str:
    """``text`` as HTML: inert text, with the math spans the allow-list passes as math if ``math``."""
    pieces: list[str] = []
    cursor = 0
    if math is not None and "$" in text:
        for match in MATH_SPAN.finditer(text):
            tex = safe_tex(match.group(1))
            if tex is None:
                continue  # shown as the text it is, dollars and all
            pieces.append(text[cursor : match.start()].translate(_HTML))
            pieces.append(_math_html(tex, math))
            cursor = match.end()
    pieces.append(text[cursor:].translate(_HTML))
    joined = "".join(pieces)
    return f"{_IGNORED}{joined}</span>" if "\\" in text or "$" in text else joined


def _math_html(tex: str, math: MathFormat) -> str:
    classes = " ".join(("arithmatex", *MATHJAX_PROCESS))
    if math.generic:
        return f'<span class="{classes}">{(math.wrap[0] + tex + math.wrap[1]).translate(_HTML)}</span>'
    # MathJax 2 reads a script's text undecoded: arithmatex escapes `&`, `<`, `>` and `"` there too.
    return f'<span class="{classes}"><script type="math/tex">{html.escape(tex)}</script></span>'


class Fragments:
    """The untrusted texts of the pages being converted, each behind its token."""

    def __init__(self) -> None:
        self._texts: list[str] = []
        self._lock = threading.Lock()  # hosts may convert pages in threads

    def token(self, text: str) -> str:
        """A token to write in the Markdown where ``text`` goes."""
        with self._lock:
            self._texts.append(text)
            return f"arxivdigest{len(self._texts) - 1}x"

    def clear(self) -> None:
        """Forget every fragment (a new build; its pages are converted again)."""
        with self._lock:
            self._texts.clear()

    def resolve(self, page_html: str, math: MathFormat | None) -> str:
        """``page_html`` with each token replaced by its text's HTML."""
        if "arxivdigest" not in page_html:
            return page_html
        texts = self._texts

        def replace(match: re.Match[str]) -> str:
            index = int(match.group(1))
            if index >= len(texts):
                return match.group()  # not ours (text that only looks like a token)
            start = match.start()
            if page_html.rfind("<", 0, start) > page_html.rfind(">", 0, start):
                # Inside a tag (an extension copied the text into an attribute): text only.
                return texts[index].translate(_HTML)
            return text_html(texts[index], math)

        return _TOKEN.sub(replace, page_html)
