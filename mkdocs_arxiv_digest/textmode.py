"""Text-mode TeX in titles and abstracts, as the plain Unicode text it stands for. Pure.

arXiv serves titles and abstracts as their authors typed them, in TeX: `\\emph{MetaMath}`,
`\\textbf{...}`, ``` ``quotes'' ```, `5\\%`, `Caf\\'e`, `10--20`, and the macros of the
authors' own preambles (`\\eg`, `\\ie`). Readers should see "MetaMath", “quotes”, "5%",
"Café", "10\u201320" (en dash), "e.g.". Math is another matter: a `$...$` span, exactly as
`tex.MATH_SPAN` (arithmatex's rule) finds it, is left byte for byte as it is, for the
renderer to typeset or show.

The library: pylatexenc's `latex2text` (maintained, pure Python, a real TeX tokenizer and
parser with a table of several hundred text macros, accents and ligatures). Compared
with latexcodec (the codec pybtex uses), on the 106 abstracts and titles of the arXiv
responses recorded by the `arxiv` package's tests and on the examples of
`tests/test_textmode.py`: latexcodec decodes accents, dashes and quotes (`\\'e`, `--`,
` `` `) but not markup — `\\emph{MetaMath}` stays `\\emph {MetaMath}` and `\\textbf{x}`
`\\textbf {x}` — as it translates characters, not commands; pylatexenc turns both into
text. Speed, same corpus, best of 5: pylatexenc 0.43 ms a text on average (max 2.5 ms),
latexcodec 0.09 ms; both are far below the cost of reading a paper's metadata once per
build (an HTTP request), which is where this runs.

Where pylatexenc's defaults do not fit untrusted text, this module overrides them:

- an unknown macro (an author's own, `\\foo{bar}`) is kept as written, not dropped
  (pylatexenc's default drops it with its name, leaving "bar");
- a raw `%` is a percent sign, not a comment hiding the rest of the abstract (arXiv's
  abstracts are plain text with TeX in it: "a 5% gain" is common);
- `\\url`, `\\href` and `\\cite` give plain text, never `<...>` (Markdown would read an
  autolink), and `\\\\` a space, never a line break;
- `\\eg`, `\\ie`, `\\etal`, `\\cf`, `\\vs`, `\\wrt` (the usual preamble shorthands) read as words.

Hostile input: the text is converted only when it is short and shallow enough for any
real title or abstract (see `MAX_LENGTH`, `MAX_NESTING`), so the time is bounded; any
error of the parser leaves the text as it was. The result depends on the input only.
"""

from __future__ import annotations

import re
from typing import Any

from pylatexenc import latexwalker
from pylatexenc.latex2text import LatexNodes2Text, MacroTextSpec, get_default_latex_context_db
from pylatexenc.macrospec import MacroSpec

from mkdocs_arxiv_digest.tex import MATH_SPAN

# Math spans, and escaped dollars: `\$` made `$` would pair with another dollar into a
# math span that was never there (`costs \$5 ... $x$`), so it is kept as written.
_KEPT = re.compile(rf"{MATH_SPAN.pattern}|\\\$")

MAX_LENGTH = 4_000
"""Longest text converted. arXiv limits an abstract to 1,920 characters; the longest
title or abstract in the recorded responses is 1,915. Longer text is returned as it is."""
MAX_NESTING = 8
"""Deepest nesting of groups and environments converted: the recorded responses nest at
most 2 deep. pylatexenc recurses on each, and its output for nested accents doubles with
each level (`\\'{\\'{...}}` 16 deep gave 32,768 characters, 24 deep filled the memory)."""

# Private-use characters of plane 16 stand for the math spans while the rest is
# converted: pylatexenc passes them through as ordinary characters.
_PLACEHOLDER_BASE = 0x100000
_PLACEHOLDER = re.compile("[\U00100000-\U0010fffd]")
# Text with nothing TeX would change is returned at once (most titles).
# What makes a text TeX, outside its math: a control word or escaped special character,
# TeX's opening quotes, a tie or a range dash between two word characters (`Fig.~3`,
# `10--20`). Braces, `{{ x }}`, JSON, a spaced ` -- ` or `''` alone are prose (a template,
# a quotation, a protected `{BERT}` that reads well as it is), and stay exactly as written.
_TEX_MARK = re.compile(r"\\[A-Za-z%$&#_{}]|``|[\w.]~\w|\w--\w")
# `%`, `&` and `#` in an abstract are the characters themselves, not a comment, a column
# separator (pylatexenc makes it spaces) or a macro parameter.
_RAW_SPECIAL = re.compile(r"(?<!\\)((?:\\\\)*)([%&#])")
_NESTING = re.compile(r"[{}]|\\begin\b|\\end\b")


def tex_text_to_unicode(text: str) -> str:
    """``text`` with its text-mode TeX (outside ``$...$`` math spans) as plain Unicode text.

    Math spans, as `tex.MATH_SPAN` finds them, are kept exactly. Unknown macros are kept
    as written. Never raises: text too long or too deep to convert, or that the parser
    cannot read, is returned unchanged.
    """
    if len(text) > MAX_LENGTH or _PLACEHOLDER.search(text) or not _TEX_MARK.search(text):
        return text  # most titles and abstracts: nothing to convert, no parse
    spans: list[str] = []

    def hold(match: re.Match[str]) -> str:
        spans.append(match.group())
        return chr(_PLACEHOLDER_BASE + len(spans) - 1)

    prose = _KEPT.sub(hold, text)
    if not _TEX_MARK.search(prose):
        return text  # TeX only in its math, which stays as it is
    if len(spans) > 0xFFFD or _nesting(prose) > MAX_NESTING:
        return text
    prose = _RAW_SPECIAL.sub(r"\1\\\2", prose)
    try:
        converted = _Converter().latex_to_text(prose, tolerant_parsing=True, latex_context=_PARSER_CONTEXT)
    except (latexwalker.LatexWalkerError, IndexError, KeyError, ValueError, TypeError, RecursionError):
        # pylatexenc's tolerant parser still trips on some malformed macro arguments
        # (`\href{x}` alone raised IndexError in 2.11).
        return text
    if len(converted) > 2 * len(prose):
        return text  # TeX that grew instead of shrinking: not a title or an abstract
    return _PLACEHOLDER.sub(lambda match: spans[ord(match.group()) - _PLACEHOLDER_BASE], converted)


def _nesting(text: str) -> int:
    depth = deepest = 0
    for match in _NESTING.finditer(text):
        depth += 1 if match.group() in ("{", "\\begin") else -1
        deepest = max(deepest, depth)
    return deepest


# pylatexenc passes itself to a callable replacement only as a parameter named `l2tobj`.
def _first_argument(node: Any, l2tobj: LatexNodes2Text) -> str:
    return _argument(node, l2tobj, 0)


def _last_argument(node: Any, l2tobj: LatexNodes2Text) -> str:
    return _argument(node, l2tobj, -1)


def _argument(node: Any, l2tobj: LatexNodes2Text, index: int) -> str:
    """The text of a macro's argument ``index`` (negative: from the end); empty if absent."""
    arguments = [argument for argument in (node.nodeargd.argnlist if node.nodeargd else []) if argument is not None]
    if not -len(arguments) <= index < len(arguments):
        return ""
    text: str = l2tobj.nodelist_to_text([arguments[index]])
    return text


def _verbatim(node: Any) -> str:
    source: str = node.latex_verbatim()
    return source


# The usual preamble shorthands of abstracts, as words.
_SHORTHANDS = {"eg": "e.g.", "ie": "i.e.", "etal": "et al.", "cf": "cf.", "vs": "vs.", "wrt": "w.r.t."}
# Old-style font switches (`{\it word}`), which pylatexenc does not know: the words stay.
_SWITCHES = "it bf em rm sc sl sf tt itshape bfseries scshape upshape normalfont small large Large footnotesize"
# References and files: kept as written; `\input` never reads a file.
_VERBATIM = "cite citep citet ref eqref label input include verb"
_MACROS = [
    MacroTextSpec("url", simplify_repl=_first_argument),
    MacroTextSpec("href", simplify_repl=_last_argument),
    MacroTextSpec("\\", simplify_repl=" "),
    MacroTextSpec("LaTeX", simplify_repl="LaTeX"),
    MacroTextSpec("TeX", simplify_repl="TeX"),
    *(MacroTextSpec(name, simplify_repl=_verbatim) for name in _VERBATIM.split()),
    *(MacroTextSpec(name, simplify_repl=words) for name, words in _SHORTHANDS.items()),
    *(MacroTextSpec(name, discard=True) for name in _SWITCHES.split()),
]
_CONTEXT = get_default_latex_context_db()
_CONTEXT.add_context_category("arxiv-digest", macros=_MACROS, prepend=True)
# The parser must know `\\href` takes two arguments (pylatexenc 2.11's parser does not).
_PARSER_CONTEXT = latexwalker.get_default_latex_context_db()
_PARSER_CONTEXT.add_context_category("arxiv-digest", macros=[MacroSpec("href", "{{")], prepend=True)


class _Converter(LatexNodes2Text):  # type: ignore[misc]  # pylatexenc has no type hints
    """pylatexenc's converter, keeping unknown macros (and the group after one) as written."""

    def __init__(self) -> None:
        super().__init__(latex_context=_CONTEXT, math_mode="verbatim")

    def macro_node_to_text(self, node: Any) -> str:
        if self._is_unknown_macro(node):
            return f"\\{node.macroname}"
        text: str = super().macro_node_to_text(node)
        return text

    def nodelist_to_text(self, nodelist: list[Any]) -> str:
        # Groups right after an unknown macro are its arguments, as far as a reader can
        # tell: keep their braces, so `\\foo{bar}` does not read `\\foobar`.
        text = ""
        previous: Any = None
        after_unknown = False
        for node in nodelist:
            if node is None:
                continue
            if after_unknown and node.isNodeType(latexwalker.LatexGroupNode):
                text += "{" + self.nodelist_to_text(node.nodelist) + "}"
                continue
            if self._is_bare_macro_node(previous) and node.isNodeType(latexwalker.LatexCharsNode):
                # As pylatexenc's own loop does: `\\eg the` keeps its space.
                text += previous.macro_post_space
            text += self.node_to_text(node)
            after_unknown = self._is_unknown_macro(node)
            previous = node
        return text

    def _is_unknown_macro(self, node: Any) -> bool:
        return (
            bool(node.isNodeType(latexwalker.LatexMacroNode))
            and self.latex_context.get_macro_spec(node.macroname) is None
        )
