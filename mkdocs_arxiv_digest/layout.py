"""What a digest shows, decided once for every writer: Markdown, docutils and plain text.

Pure. A block's rows become a `DigestLayout`: the table's rows (footnote label, title,
link, summary) and, for each paper new to the page, its footnote's parts in the seed's
order — translated title, original title, link, summary, translated abstract, original
abstract. Fallbacks are decided here too: what readers see where text is missing, a
"translation" identical to its title shown once, a paper arXiv does not have shown
without a link. Writers only turn parts into their format; every text part is untrusted
(arXiv, a model, a cache, a snapshot) and each writer makes it inert its own way.

A layout is also what a warm build stores for a page (`to_json`/`from_json`): stored
text is escaped when written out, like fresh text, so a tampered row can show no more
than hostile text from arXiv could.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import Any, NamedTuple

from mkdocs_arxiv_digest.ids import ArxivId
from mkdocs_arxiv_digest.models import Row

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
_NOT_ON_ARXIV = {
    "en": ("arXiv has no paper with this identifier.",),
    "zh": ("arXiv 上没有这个编号的论文。",),
    "zh-hant": ("arXiv 上沒有這個編號的論文。",),
    "ja": ("arXiv にはこの識別子の論文がありません。",),
    "ko": ("arXiv에는 이 식별자의 논문이 없습니다.",),
    "de": ("arXiv hat kein Paper mit dieser Kennung.",),
    "fr": ("arXiv n’a aucun article sous cet identifiant.",),
    "es": ("arXiv no tiene ningún artículo con este identificador.",),
}
HEADINGS = ("Ref", "Title", "Summary")
"""The table's headings (the seed digest's), unless the site asks for them in its language."""
_HEADINGS = {
    "en": HEADINGS,
    "zh": ("引用", "标题", "总结"),
    "zh-hant": ("引用", "標題", "總結"),
    "ja": ("参照", "タイトル", "要約"),
    "ko": ("참조", "제목", "요약"),
    "de": ("Ref.", "Titel", "Zusammenfassung"),
    "fr": ("Réf.", "Titre", "Résumé"),
    "es": ("Ref.", "Título", "Resumen"),
}
# Said to readers when the site discloses where its text comes from (`disclose_model`):
# what a model wrote, and what a person has read against the paper.
_WRITTEN_BY = {
    "en": ("Summary written by the language model {model}.", "Summary reviewed by a person."),
    "zh": ("摘要和翻译由语言模型 {model} 生成。", "摘要和翻译已经人工审校。"),
    "zh-hant": ("摘要和翻譯由語言模型 {model} 生成。", "摘要和翻譯已經人工審校。"),
    "ja": ("要約と翻訳は言語モデル {model} による機械生成です。", "要約と翻訳は人が確認しました。"),
    "ko": ("요약과 번역은 언어 모델 {model}이 생성했습니다.", "요약과 번역은 사람이 검토했습니다."),
    "de": (
        "Zusammenfassung und Übersetzung maschinell erstellt vom Sprachmodell {model}.",
        "Zusammenfassung und Übersetzung von einem Menschen geprüft.",
    ),
    "fr": (
        "Résumé et traduction générés par le modèle de langage {model}.",
        "Résumé et traduction relus par une personne.",
    ),
    "es": (
        "Resumen y traducción generados por el modelo de lenguaje {model}.",
        "Resumen y traducción revisados por una persona.",
    ),
}

TRANSLATED_TITLE = "translated-title"
TITLE = "title"
LINK = "link"
SUMMARY = "summary"
TRANSLATED_ABSTRACT = "translated-abstract"
ABSTRACT = "abstract"
NOTE = "note"
ORIGIN = "origin"
"""Kinds of footnote parts. `NOTE` is the plugin's own word to readers where text is missing,
`ORIGIN` who wrote the text (`disclose_model`)."""
KINDS = frozenset({TRANSLATED_TITLE, TITLE, LINK, SUMMARY, TRANSLATED_ABSTRACT, ABSTRACT, NOTE, ORIGIN})

_LABEL_UNSAFE = re.compile(r"[^A-Za-z0-9-]")
_ID = r"(?:\d{4}\.\d{4,5}|[a-z]+(?:-[a-z]+)*/\d{7})(?:v\d+)?"
_LABEL = re.compile(rf"{_ID}(?:-[A-Za-z0-9-]+)?")
"""A footnote label: the ID as requested, and the language for a paper's second footnote."""
_URL = re.compile(rf"https://arxiv\.org/abs/{_ID}")


class Part(NamedTuple):
    """One paragraph of a footnote: untrusted text (a URL for `LINK`) and what it is."""

    kind: str
    text: str


class Entry(NamedTuple):
    """One paper's row of the table, and its footnote where this block defines it."""

    label: str
    title: str
    """The English title, or the ID where arXiv said nothing."""
    url: str | None
    """The abstract page; None for a paper arXiv does not have."""
    summary: str
    missing: bool
    """True where `summary` is the plugin's note to readers, not a summary."""
    footnote: tuple[Part, ...] | None
    """The footnote's parts; None where an earlier block on the page defined it."""


class DigestLayout(NamedTuple):
    """One block's digest, ready for a writer."""

    language: str
    entries: tuple[Entry, ...]
    headings: tuple[str, str, str] = HEADINGS

    def to_json(self) -> dict[str, Any]:
        return {
            "language": self.language,
            "headings": list(self.headings),
            "entries": [
                [
                    entry.label,
                    entry.title,
                    entry.url,
                    entry.summary,
                    entry.missing,
                    None if entry.footnote is None else [[part.kind, part.text] for part in entry.footnote],
                ]
                for entry in self.entries
            ],
        }

    @classmethod
    def from_json(cls, data: Any) -> DigestLayout:
        """Build from a mapping read off disk; raise ValueError on anything malformed.

        Texts may be anything (they are escaped when written out); what a writer puts
        into its format's structure — labels, URLs, kinds — must have the form this
        module gives it.
        """
        if not isinstance(data, dict) or not isinstance(data.get("language"), str):
            raise ValueError("a stored digest must be a mapping with a `language`")
        headings = data.get("headings")
        if not isinstance(headings, list) or len(headings) != 3 or not all(isinstance(h, str) for h in headings):
            raise ValueError("`headings` must be three texts")
        entries = data.get("entries")
        if not isinstance(entries, list):
            raise ValueError("`entries` must be a list")
        return cls(data["language"], tuple(_entry(entry) for entry in entries), (headings[0], headings[1], headings[2]))


def _entry(data: Any) -> Entry:
    if not isinstance(data, list) or len(data) != 6:
        raise ValueError("an entry must be [label, title, url, summary, missing, footnote]")
    label, title, url, summary, missing, footnote = data
    if not isinstance(label, str) or not _LABEL.fullmatch(label):
        raise ValueError("an entry's label must be an arXiv ID")
    if not isinstance(title, str) or not isinstance(summary, str) or type(missing) is not bool:
        raise ValueError("an entry's title and summary must be text")
    if url is not None and not (isinstance(url, str) and _URL.fullmatch(url)):
        raise ValueError("an entry's link must be an arXiv abstract page")
    if footnote is not None and not isinstance(footnote, list):
        raise ValueError("an entry's footnote must be a list of parts")
    return Entry(label, title, url, summary, missing, None if footnote is None else tuple(map(_part, footnote)))


def _part(data: Any) -> Part:
    if not isinstance(data, list) or len(data) != 2 or data[0] not in KINDS or not isinstance(data[1], str):
        raise ValueError("a footnote part must be [kind, text]")
    if data[0] == LINK and not _URL.fullmatch(data[1]):
        raise ValueError("a footnote's link must be an arXiv abstract page")
    return Part(data[0], data[1])


class FootnoteLabels:
    """The footnote label of each paper shown on one page, per language: one footnote each.

    The label is the paper's ID as requested (``2403.16584v2``), so it never collides
    with an author's own footnotes; a paper the page also shows in a second language
    gets ``ID-language`` there, so that each Ref opens its own footnote.
    """

    def __init__(self) -> None:
        self._labels: dict[tuple[ArxivId, str], str] = {}

    def label(self, arxiv_id: ArxivId, language: str) -> tuple[str, bool]:
        """The label of ``arxiv_id`` in ``language``, and whether this is its first use on the page."""
        known = self._labels.get((arxiv_id, language))
        if known is not None:
            return known, False
        label = str(arxiv_id)
        if label in self._labels.values():
            label = f"{arxiv_id}-{_LABEL_UNSAFE.sub('-', language)}"
        self._labels[(arxiv_id, language)] = label
        return label, True


class Presentation(NamedTuple):
    """The site's choices about what readers see beyond the seed's format."""

    localized_headings: bool = False
    disclose_model: bool = False


def _localized(table: Mapping[str, tuple[str, ...]], language: str) -> tuple[str, ...]:
    """``table``'s texts for ``language``: its own, Traditional Chinese told apart, else English."""
    code = language.lower().replace("_", "-")
    traditional = code.startswith("zh") and any(tag in code.split("-") for tag in ("hant", "tw", "hk", "mo"))
    return table.get("zh-hant" if traditional else code.split("-")[0], table["en"])


def unavailable(language: str) -> tuple[str, str]:
    """What readers see for a missing summary and for missing metadata, in ``language`` (else English)."""
    no_summary, no_paper = _localized(_UNAVAILABLE, language)
    return no_summary, no_paper


def lay_out(
    rows: Iterable[Row],
    language: str,
    labels: FootnoteLabels | None = None,
    presentation: Presentation | None = None,
) -> DigestLayout:
    """The digest of one block's ``rows`` in ``language``.

    ``labels`` are the page's (several blocks may show one paper): a paper gets its
    footnote in the first block that shows it in that language.
    """
    labels = FootnoteLabels() if labels is None else labels
    presentation = Presentation() if presentation is None else presentation
    no_summary, no_paper = unavailable(language)
    (not_on_arxiv,) = _localized(_NOT_ON_ARXIV, language)
    written_by, reviewed = _localized(_WRITTEN_BY, language)
    headings = _localized(_HEADINGS, language) if presentation.localized_headings else HEADINGS
    entries = []
    for row in rows:
        label, first = labels.label(row.requested, language)
        title = row.paper.title if row.paper else str(row.requested)
        summary = no_paper if row.paper is None else no_summary if row.digest is None else row.digest.summary
        summary = not_on_arxiv if row.not_on_arxiv else summary
        missing = row.digest is None
        url = None if row.not_on_arxiv else row.requested.url  # its abstract page does not exist
        footnote = _footnote(row, title, summary, missing) if first else None
        if footnote is not None and presentation.disclose_model and row.digest is not None:
            origin = reviewed if row.digest.reviewed else written_by.format(model=row.digest.model)
            footnote += (Part(ORIGIN, origin),)
        entries.append(Entry(label, title, url, summary, missing, footnote))
    return DigestLayout(language, tuple(entries), (headings[0], headings[1], headings[2]))


def _footnote(row: Row, title: str, summary: str, missing: bool) -> tuple[Part, ...]:
    """Translated title, original title, link, summary, translated abstract, original abstract."""
    paper, digest = row.paper, row.digest
    link = [] if row.not_on_arxiv else [Part(LINK, row.requested.url)]
    parts = [Part(TITLE, title), *link, Part(NOTE if missing else SUMMARY, summary)]
    if paper is None:
        return tuple(parts)
    if digest is not None and digest.title:
        from mkdocs_arxiv_digest.checks import is_translated_title  # not imported by builds that render nothing

        if is_translated_title(paper.title, digest.title):  # a "translation" that is the original is shown once
            parts.insert(0, Part(TRANSLATED_TITLE, digest.title))
    if digest is not None and digest.abstract:
        parts.append(Part(TRANSLATED_ABSTRACT, digest.abstract))
    if paper.abstract:
        parts.append(Part(ABSTRACT, paper.abstract))
    return tuple(parts)
