"""Is a reply's text a title and a summary, not an echo of the input or of the instructions?

- title: a translated title identical to the original is accepted only when there is
  nothing to translate; `is_translated_title` tells the renderer whether to show it.
- summary: one that only repeats the title, is a fragment, or echoes the instructions is
  not a summary.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from mkdocs_arxiv_digest import languages
from mkdocs_arxiv_digest.checks.language import in_language
from mkdocs_arxiv_digest.checks.problem import Problem
from mkdocs_arxiv_digest.checks.text import LATIN_WORD, WORDS, comparable, prose_of, script_of, units, weight

MIN_WORDS_TO_TRANSLATE = 2
"""A title with fewer words than this, once names, acronyms, numbers and TeX are set aside
(``MetaMath``, ``GPT-4V``, ``0``, ``Whisper``), has nothing to translate."""

MIN_NEW_WORDS = 4
"""A summary holding half the title's words or more must add at least this many others, a
CJK character counting half (a Chinese or Japanese word is about two characters): the
135M model's title verbatim, "We propose <title>" and "In one sentence: <title>" do not."""

MIN_SUMMARY_WORDS = 4
"""A summary has at least this many words (a CJK character counting one): the 135M model once
answered `{`, and a real one-sentence summary of a paper is never this short."""
INSTRUCTION_RUN = 6
"""A summary sharing this many consecutive words with the instructions echoes them."""

# Instruction echoes: a summary matching two of these describes the task, not the paper.
# ("One sentence summarizing and translating this paper into a JSON format:" was
# accepted from a 135M model: it matches all four.)
_ECHO_SIGNALS = (
    re.compile(r":\s*$"),  # announces a text that is not there
    re.compile(
        r"^\W*(?:one sentence|here is|here's|sure\b|summary\s*:|the user\b|reply\b|write\b|output\b)", re.IGNORECASE
    ),
    re.compile(
        r"\b(?:summar\w*|translat\w*)\b[^.]{0,40}?\b(?:this|the following|the given|the above) (?:paper|abstract|text|title)\b",
        re.IGNORECASE,
    ),
    re.compile(r"\b(?:json|schema|user message|system prompt|structured output)\b", re.IGNORECASE),
)


def is_translated_title(original: str, translated: str) -> bool:
    """Whether ``translated`` differs from ``original`` beyond case, spacing and punctuation.

    A footnote shows the translated title above the original only when this is true,
    so a title never appears twice.
    """
    text = comparable(translated)
    return bool(text) and text != comparable(original)


def title_problems(original: str, translated: str, language: str) -> list[Problem]:
    """Whether ``translated`` is a title translated into ``language`` (its language aside)."""
    if not is_translated_title(original, translated) and needs_translation(original, language):
        expected = languages.language_name(language)
        return [Problem("title", f"title is the original, not translated into {expected}")]
    return []


def summary_problems(summary: str, titles: list[str], instructions: str) -> list[Problem]:
    """Whether ``summary`` says something besides the title and the instructions (its language aside)."""
    if len(units(summary)) < MIN_SUMMARY_WORDS:
        return [Problem("summary", "summary is too short to say what the paper contributes")]
    if any(title and _repeats(summary, title) for title in titles):
        return [Problem("summary", "summary only repeats the title; say what the paper contributes")]
    if _echoes(summary, instructions):
        return [Problem("summary", "summary repeats the instructions instead of summarizing the paper")]
    return []


def needs_translation(title: str, language: str) -> bool:
    """Whether ``title`` has words to translate into ``language``."""
    words = [word for word in LATIN_WORD.findall(prose_of(title, names=False)) if len(word) > 1]
    other = sum(char.isalpha() and not char.isascii() and script_of(char) != "Latn" for char in title)
    if len(words) < MIN_WORDS_TO_TRANSLATE and not other:
        return False
    return not in_language(title, language)


def _repeats(summary: str, title: str) -> bool:
    """Whether ``summary`` holds most of ``title`` and fewer than `MIN_NEW_WORDS` words besides."""
    known = set(units(title))
    found = units(summary)
    new = sum(weight(unit) for unit in found if unit not in known)
    return new < MIN_NEW_WORDS and 2 * len(known.intersection(found)) >= len(known)


def _echoes(summary: str, instructions: str) -> bool:
    if sum(bool(signal.search(summary)) for signal in _ECHO_SIGNALS) >= 2:
        return True
    if not instructions:
        return False
    words = WORDS.findall(summary.casefold())
    runs = set(_runs(WORDS.findall(instructions.casefold())))
    return any(run in runs for run in _runs(words))


def _runs(words: list[str]) -> Iterable[tuple[str, ...]]:
    return (tuple(words[i : i + INSTRUCTION_RUN]) for i in range(len(words) - INSTRUCTION_RUN + 1))
