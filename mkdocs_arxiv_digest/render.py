"""Records to Markdown: the summary table and one footnote of details per paper.

Pure. Everything from arXiv or a model is untrusted, so every piece of it goes through
`inline_text`, which leaves no character Markdown or HTML would act on: no tags, no
links, no footnote or attribute-list syntax, no table pipes, no block syntax at the
start of a line. Inline math (``$...$``) is kept as TeX when the site renders math and
the TeX passes the allow-list of `tex`; other spans are shown as the text they are.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from mkdocs_arxiv_digest.models import Row
from mkdocs_arxiv_digest.tex import MATH_SPAN, safe_tex

# What a reader sees where a paper's text is missing, in the page's language: readers
# have no build log (the build's warning says why, with page, line and ID).
_UNAVAILABLE = {
    "en": ("No summary yet.", "Details unavailable; see the paper on arXiv."),
    "zh": ("暂无摘要。", "暂时无法获取论文信息，请在 arXiv 上查看。"),
    "zh-hant": ("暫無摘要。", "暫時無法取得論文資訊，請在 arXiv 上查看。"),
    "ja": ("要約はまだありません。", "論文情報を取得できませんでした。arXiv でご覧ください。"),
    "ko": ("아직 요약이 없습니다.", "논문 정보를 불러오지 못했습니다. arXiv에서 확인하세요."),
    "de": ("Noch keine Zusammenfassung.", "Angaben nicht verfügbar; siehe arXiv."),
    "fr": ("Pas encore de résumé.", "Informations indisponibles ; voir arXiv."),
    "es": ("Aún no hay resumen.", "Datos no disponibles; véase arXiv."),
}
_LABEL_UNSAFE = re.compile(r"[^A-Za-z0-9-]")
REQUIRED_EXTENSIONS = ("tables", "footnotes")
"""The Python-Markdown extensions the digest's Markdown is written for."""

# Characters Markdown, its common extensions (attr_list, footnotes, abbr, tables,
# pymdownx) or HTML give meaning to, written as character references: rendered as
# themselves, acted on by nothing.
_ENTITIES = {char: f"&#{ord(char)};" for char in "\\`*_{}[]|#~^!$:=+"} | {
    "&": "&amp;",
    "<": "&lt;",
    ">": "&gt;",
}
_SPECIAL = re.compile("[" + re.escape("".join(_ENTITIES)) + "]")
# Inside math: a pipe would split a table cell, a backtick open a code span, and
# brackets/angle brackets are kept out of reach of HTML and links even if a reader
# of the Markdown does not treat the span as math. Each replacement is the same TeX.
_TEX = {"|": r"{\vert}", "`": "'", "<": r"{\lt}", ">": r"{\gt}", "&": r"{\&}", "[": r"{\lbrack}", "]": r"{\rbrack}"}
# The same characters escaped by a backslash (`\|` is a norm, `\&` an ampersand).
_TEX_ESCAPED = _TEX | {"|": r"{\Vert}"}
_TEX_TOKEN = re.compile(r"\\.|.", re.DOTALL)
# Arithmatex hands math to the page as is, and the browser decodes `&lt;` in it before
# MathJax reads it; so after the replacements the only `&` left is in `{\&}`, where
# no reference can follow it, and the TeX MathJax reads is the TeX `safe_tex` checked.
_REPLACED = re.compile("[" + re.escape("".join(_TEX)) + "]")
_AMPERSAND = _TEX["&"]


def inline_text(text: str, *, math: bool = False) -> str:
    """Untrusted text as one inert line of Markdown (math kept as TeX if ``math``)."""
    if not text.isprintable() or text[:1] == " " or text[-1:] == " ":
        # No newline, tab or leading space may reach the Markdown: they would make block
        # syntax (code, lists) in a footnote. Clean text, as the cache holds, is kept as is.
        text = " ".join(text.split())
    if not math:
        return _guard_line_start(_escape(text))
    parts: list[str] = []
    cursor = 0
    for match in MATH_SPAN.finditer(text):
        tex = safe_tex(_markdown_safe_tex(match.group(1)))
        # A span the allow-list refuses is text, escaped whole: its dollars too, so
        # arithmatex pairs the remaining ones exactly as `MATH_SPAN` did.
        parts.append(_escape(text[cursor : match.start()]))
        parts.append(_escape(match.group()) if tex is None else f"${tex}$")
        cursor = match.end()
    parts.append(_escape(text[cursor:]))
    line = "".join(parts)
    return _guard_line_start(line) if not line.startswith("$") else line


def unavailable(language: str) -> tuple[str, str]:
    """What readers see for a missing summary and for missing metadata, in ``language`` (else English)."""
    code = language.lower().replace("_", "-")
    traditional = code.startswith("zh") and any(tag in code.split("-") for tag in ("hant", "tw", "hk", "mo"))
    return _UNAVAILABLE.get("zh-hant" if traditional else code.split("-")[0], _UNAVAILABLE["en"])


def render_digest(
    rows: Iterable[Row], *, math: bool = False, language: str = "en", defined: dict[str, str] | None = None
) -> str:
    """The table of ``rows`` and a footnote for each paper not yet in ``defined``.

    ``defined`` maps the footnote labels already on this page to their language
    (several blocks may list one paper); it is updated, so a page gets one footnote per
    paper and language. A label is the paper's ID; shown again in another language, the
    ID and the language (``2403.16584-ja``), so that each Ref links to its own footnote.
    """
    defined = {} if defined is None else defined
    rows = list(rows)
    if not rows:
        return ""
    missing = unavailable(language)
    table = ["| Ref | Title | Summary |", "| --- | --- | --- |"]
    notes: list[str] = []
    for row in rows:
        label = str(row.requested)
        if defined.get(label, language) != language:
            label = f"{label}-{_LABEL_UNSAFE.sub('-', language)}"
        title, summary = _title(row, math), _summary(row, math, missing)
        table.append(f"| [^{label}] | [{title}]({row.requested.url}) | {summary} |")
        if label not in defined:
            defined[label] = language
            notes.append(_footnote(row, label, title, summary, math))
    return "\n".join(table) + "\n" + "".join("\n" + note for note in notes)


def _title(row: Row, math: bool) -> str:
    return inline_text(row.paper.title, math=math) if row.paper else _escape(str(row.requested))


def _summary(row: Row, math: bool, missing: tuple[str, str]) -> str:
    if row.paper is None:
        return missing[1]
    if row.digest is None:
        return missing[0]
    return inline_text(row.digest.summary, math=math)


def _footnote(row: Row, label: str, title: str, summary: str, math: bool) -> str:
    """Translated title, original title, link, summary, translated abstract, original abstract.

    ``title`` and ``summary`` come escaped, as the table row has them.
    """
    paper, digest, url = row.paper, row.digest, row.requested.url
    link = f"[{url}]({url})"
    if paper is None:
        paragraphs = [title, link, summary]
    else:
        from mkdocs_arxiv_digest.checks import is_translated_title  # not imported by builds that render nothing

        # A "translation" that is the original (a name, say) is shown once.
        shown = digest is not None and is_translated_title(paper.title, digest.title)
        translated = [inline_text(digest.title, math=math)] if digest and shown else []
        paragraphs = [*translated, title, link, summary]
        abstracts = [digest.abstract] if digest and digest.abstract else []
        abstracts += [paper.abstract] if paper.abstract else []
        paragraphs += [inline_text(text, math=math) for text in abstracts]
    first, *rest = paragraphs
    return f"[^{label}]: {first}\n" + "".join(f"\n    {paragraph}\n" for paragraph in rest)


def _markdown_safe_tex(tex: str) -> str:
    return "".join(map(_tex_token, _TEX_TOKEN.findall(tex)))


def _tex_token(token: str) -> str:
    if len(token) == 2:  # a backslash and the character it escapes
        return _TEX_ESCAPED.get(token[1], token)
    return _TEX.get(token, token)


def _entity(match: re.Match[str]) -> str:
    return _ENTITIES[match.group()]


def _escape(text: str) -> str:
    return _SPECIAL.sub(_entity, text)


def _guard_line_start(line: str) -> str:
    # A leading `-`, `1.`, `>`... would start a list, quote or heading in a footnote
    # paragraph; a reference for the first character is inert. Block syntax is ASCII:
    # `《` or `「` opening a Chinese or Japanese title is left as written.
    if line and line[0].isascii() and not line[0].isalpha() and not line.startswith("&"):
        return f"&#{ord(line[0])};{line[1:]}"
    return line


# What `render_digest` writes for complete papers, line by line: a stored render is only
# served if it still has this form, so a tampered cache row can inject no more than
# hostile text from arXiv could (see `is_digest_markdown`).
_ID = r"(?:\d{4}\.\d{4,5}|[a-z]+(?:-[a-z]+)*/\d{7})(?:v\d+)?"
_LABEL = rf"{_ID}(?:-[A-Za-z0-9-]+)?"  # the ID, and the language for a paper's second footnote
_ROW_LINE = re.compile(
    rf"\| \[\^(?P<id>{_ID})(?:-[A-Za-z0-9-]+)?\] \| \[(?P<title>[^\]]+)\]\(https://arxiv\.org/abs/(?P=id)\) \| (?P<summary>[^|]+) \|"
)
_NOTE_LINE = re.compile(rf"\[\^(?P<label>{_LABEL})\]: (?P<text>.+)")
_LINK_LINE = re.compile(rf"    \[(?P<url>https://arxiv\.org/abs/{_ID})\]\((?P=url)\)")
_TABLE_HEAD = ("| Ref | Title | Summary |", "| --- | --- | --- |")
# The character references `_escape` and `_guard_line_start` write.
_REFERENCE = re.compile(r"&(?:#\d+|amp|lt|gt);")


def is_digest_markdown(text: str, *, math: bool) -> bool:
    """Whether ``text`` has the form `render_digest` gives complete papers, and nothing else."""
    for line in text.split("\n"):
        if line.startswith("    "):  # a footnote paragraph: the link, or text
            ok = bool(_LINK_LINE.fullmatch(line)) if line.startswith("    [") else _is_inline(line[4:], math)
        elif line.startswith("| "):
            row = _ROW_LINE.fullmatch(line)
            ok = line in _TABLE_HEAD or bool(
                row and _is_inline(row["title"], math) and _is_inline(row["summary"], math)
            )
        elif line.startswith("[^"):
            note = _NOTE_LINE.fullmatch(line)
            ok = bool(note and _is_inline(note["text"], math))
        else:
            ok = not line
        if not ok:
            return False
    return True


def _is_inline(text: str, math: bool) -> bool:
    """Whether text is what `inline_text` makes: inert, one line, math only as allowed `$...$` TeX.

    Math is found exactly as `inline_text` and arithmatex find it (`MATH_SPAN`), never by
    splitting on dollars: arithmatex reads ``\\$`` inside math as an escaped dollar.
    """
    first = text[:1]
    if not first or not (first.isalpha() or not first.isascii() or first == "&" or (math and first == "$")):
        return False
    cursor = 0
    for match in MATH_SPAN.finditer(text) if math else ():
        plain, tex = text[cursor : match.start()], match.group(1)
        if not _is_plain(plain) or _REPLACED.search(tex.replace(_AMPERSAND, "")) or safe_tex(tex) is None:
            return False
        cursor = match.end()
    return _is_plain(text[cursor:])


def _is_plain(text: str) -> bool:
    # Only the references `_escape` writes may carry the characters it escapes. Every
    # reference starts with `&`: a line without one has none to remove (most lines; a
    # warm build checks every line of every stored page).
    if "\n" in text:
        return False
    return not _SPECIAL.search(_REFERENCE.sub("", text) if "&" in text else text)
