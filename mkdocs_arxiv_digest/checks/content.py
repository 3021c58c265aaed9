"""Is a reply's text a title and a summary about this paper, written and not degenerate?

- title: a translated title identical to the original, or the original with a marker
  added (``【译】`` + the English title), is accepted only when there is nothing to
  translate; `is_translated_title` tells the renderer whether to show it.
- summary: one that only repeats (part of) the title, is a fragment, echoes the
  instructions, describes the text's layout ("the first paragraph provides…"), shares no
  distinctive term with the paper, or copies the abstract word for word is not a summary.
- every field: a text that repeats itself (the loops small models fall into) is degenerate.
"""

from __future__ import annotations

import functools
import operator
import re
import unicodedata
from collections import Counter
from collections.abc import Iterable, Sequence

from mkdocs_arxiv_digest import languages
from mkdocs_arxiv_digest.checks.completeness import length_ratios
from mkdocs_arxiv_digest.checks.language import in_language
from mkdocs_arxiv_digest.checks.problem import Problem
from mkdocs_arxiv_digest.checks.text import (
    CJK,
    LATIN_WORD,
    WORDS,
    comparable,
    is_cjk,
    prose_of,
    script_of,
    units,
    weight,
)

MIN_WORDS_TO_TRANSLATE = 2
"""A title with fewer words than this, once names, acronyms, numbers and TeX are set aside
(``MetaMath``, ``GPT-4V``, ``0``, ``Whisper``), has nothing to translate."""

MIN_NEW_WORDS = 4
"""A summary sharing words with the title must add at least this many others, a CJK
character counting half (a Chinese or Japanese word is about two characters): the 135M
model's title verbatim, "We propose <title>", "In one sentence: <title>" and a cut-off
title in a template (``本文研究Proceedings of Works。``) do not. The seed digest's 14 real
summaries add 9.5 or more; the example site's 8, 16 or more."""
MIN_SHARED_TITLE_WORDS = 2
"""...and it is about the title when it holds at least this many of the title's words (or
half of a shorter title's)."""

MIN_SUMMARY_WORDS = 4
"""A summary has at least this many words (a CJK character counting one): the 135M model once
answered `{`, and a real one-sentence summary of a paper is never this short."""
INSTRUCTION_RUN = 6
"""A summary sharing this many consecutive words with the instructions echoes them."""

REPEAT_GRAM = 4
MIN_REPEATS = 3
MAX_REPEATED_SHARE = 0.3
"""A text repeats itself when more than `MAX_REPEATED_SHARE` of its characters are in runs of
`REPEAT_GRAM` words (CJK characters counting half) said before in it, runs said
`MIN_REPEATS` times or more (twice is how people write: a term, a name, a phrase taken up) — beyond what the
original repeats, for a translated abstract (an abstract of ``We distill text.`` forty
times is translated as forty sentences). Calibrated on real text: the seed digest's 42 and
the example site's 24 titles, summaries and abstracts (abstracts: over
their original) have none; of the 60,701 gettext translations of 100 characters or more
on this machine (``bench/check_rates.py``), 0.2% are refused, option tables whose
translation repeats a placeholder the English names in several ways. ``中文摘要的翻译，``
written 21 times has 0.95; a translation that loops for its second half, about 0.5."""

COPY_RUN = 10
COPY_SHARE = 0.6
"""A summary copies the abstract when one run of at least `COPY_RUN` words (CJK characters
counting half) taken verbatim from it is `COPY_SHARE` of the summary or more: the abstract's
first sentence given as the summary, as SmolLM2-135M did through llama-cpp-python. The
seed digest's real summaries take at most 0.39 of theirs in one run from the abstract or
its translation (phrases such as "通过同步标签筛选器和极端分类器"); the example site's,
0.29. Of the 626 Debian package synopses on this machine, 2 are refused: they are their
description's first words."""

MIN_SHARED_TERMS = 1
"""A summary shares at least this many distinctive terms with the paper (words of the title
or abstract, in either language, beyond `_GENERIC`; names; figures): one about nothing in
the paper ("How the world is losing its ability to read the word" for a paper on Whisper's
hallucinations) shares none. Each real summary of the seed digest shares 14 or more, of the
example site 15 or more; of the 626 Debian package synopses (a few words each) against
their descriptions, 3 share none (0.5%)."""

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
# Words that say nothing about a paper: function words and the vocabulary of every abstract.
_GENERIC = frozenset(
    """about above after again against also among an and another any approach approaches are around
    based been before being below between both but can could does doing done down during each either
    even every few first from further have having here how however into its itself just many may
    method methods might more most much must new novel only other our over paper papers per present
    presents propose proposed proposes provide provides rather result results same several shall
    should show shows shown since some such than that the their them then there these they this
    those through thus under until upon used uses using very via was well were what when where which
    while who whose why will with within without work works would your yet study studies""".split()
)
# The same for CJK text, as character pairs: 本文 提出了一种新的方法 … says nothing.
_GENERIC_CJK = frozenset(
    """本文 该文 我们 提出 出了 了一 一种 一个 种新 新的 的方 方法 研究 究了 论文 该研 进行 行了 通过 基于
    实现 结果 表明 实验 问题 以及 使用 利用 并在 能够 可以 这些 此外 其中 多个 工作 分析 现有 相比 相关 中的
    的问 题并 并提 提出 在不 不同 之间 同时 对于 用于 以提 提高 显著 有效 如何 是否 该论 展示 介绍 发现 取得
    证明 讨论""".split()
)
# The text's layout described instead of the paper's content (llama-server's SmolLM2-135M:
# "The paper is divided into a single paragraph. The first paragraph provides an introduction").
_LAYOUT = re.compile(
    r"\b(?:paragraphs?|(?:first|second|third|next|last|final) (?:sentence|section|part)s?|"
    r"Absatz|Absätze|paragraphes?|párrafos?|paragrafos?)\b|第[一二三四五六七八九十\d]+段|段落",
    re.IGNORECASE,
)
_CJK_RUN = re.compile(f"[{CJK}]+")
_TOKEN = re.compile(rf"[{CJK}]|[^\W_{CJK}]+")
_TERM_WORD = re.compile(r"[^\W\d_]{4,}")
_NUMBER = re.compile(r"\d+(?:\.\d+)?")


def is_translated_title(original: str, translated: str) -> bool:
    """Whether ``translated`` differs from ``original`` beyond case, spacing and punctuation.

    A footnote shows the translated title above the original only when this is true,
    so a title never appears twice.
    """
    text = comparable(translated)
    return bool(text) and text != comparable(original)


def title_problems(original: str, translated: str, language: str) -> list[Problem]:
    """Whether ``translated`` is a title translated into ``language`` (its language aside)."""
    if not is_translated_title(original, translated):
        if needs_translation(original, language):
            expected = languages.language_name(language)
            return [Problem("title", f"title is the original, not translated into {expected}")]
        return []
    affix = _affix(original, translated, language)
    if affix is not None and needs_translation(original, language):
        expected = languages.language_name(language)
        return [
            Problem(
                "title",
                f"title is the original with “{affix}” added, not translated into {expected}; translate the title itself",
            )
        ]
    return []


def summary_problems(
    summary: str, titles: list[str], instructions: str, paper: list[str], translations: list[str]
) -> list[Problem]:
    """Whether ``summary`` is a summary of this paper, written (its language and figures aside).

    ``paper`` holds the original title and abstract, ``translations`` the reply's translated
    title and abstract (the terms a summary in another language shares with the paper).
    """
    if len(units(summary)) < MIN_SUMMARY_WORDS:
        return [Problem("summary", "summary is too short to say what the paper contributes")]
    if any(title and _repeats(summary, title) for title in titles):
        return [Problem("summary", "summary only repeats (part of) the title; say what the paper contributes")]
    if _echoes(summary, instructions):
        return [Problem("summary", "summary repeats the instructions instead of summarizing the paper")]
    layout = _layout(summary, paper)
    if layout:
        return [
            Problem(
                "summary",
                f"summary describes the layout of the text (“{layout}”), not the paper; say what the paper contributes",
            )
        ]
    abstracts = [text for text in (paper[1:] + translations[1:]) if text] if len(paper) > 1 else []
    if abstracts:
        copied = _copied(summary, abstracts)
        if copied:
            return [
                Problem(
                    "summary",
                    f"summary copies the abstract word for word (“{copied}”); write one sentence of your own "
                    "saying what the paper contributes",
                )
            ]
        if not _shares_terms(summary, paper + translations):
            return [
                Problem(
                    "summary",
                    "summary is not about this paper: it shares no term with its title or abstract; "
                    "summarize this paper's abstract",
                )
            ]
    return []


def repetition_problem(field: str, text: str, original: str = "") -> Problem | None:
    """Whether ``text`` repeats itself (more than ``original``, the text it translates, does)."""
    share = _repeated_share(text)
    # The original's share only lowers it: not worth computing when this one is low (nearly always).
    if share <= MAX_REPEATED_SHARE or share - (_repeated_share(original) if original else 0.0) <= MAX_REPEATED_SHARE:
        return None
    phrase, times = _repeated_phrase(text)
    what = {"abstract": "translate each sentence of the abstract once", "title": "translate the title once"}
    fix = what.get(field, "say it once")
    return Problem(field, f"{field} repeats itself (“{phrase}” {times} times); {fix}")


def needs_translation(title: str, language: str) -> bool:
    """Whether ``title`` has words to translate into ``language``."""
    words = [word for word in LATIN_WORD.findall(prose_of(title, names=False)) if len(word) > 1]
    other = sum(char.isalpha() and not char.isascii() and script_of(char) != "Latn" for char in title)
    if len(words) < MIN_WORDS_TO_TRANSLATE and not other:
        return False
    return not in_language(title, language)


def _affix(original: str, translated: str, language: str) -> str | None:
    """What ``translated`` adds to a copy of ``original``, if that is too short to be a translation.

    Too short: fewer letters than the fewest a translation into ``language`` has
    (`completeness.LENGTH_RATIOS`, per letter of the original), ``【译】`` before a 60-letter
    title; a Chinese title before it is a translation with the original kept.
    """
    source, target = comparable(original), comparable(translated)
    if not source or source not in target:
        return None
    if len(target) - len(source) >= length_ratios(language)[0] * len(source):
        return None
    flat = " ".join(translated.split())
    start = flat.casefold().find(" ".join(original.split()).casefold())
    if start >= 0:
        return (flat[:start] + " … " + flat[start + len(" ".join(original.split())) :]).strip(" …") or flat
    return flat


def _repeats(summary: str, title: str) -> bool:
    """Whether ``summary`` holds (part of) ``title`` and fewer than `MIN_NEW_WORDS` words besides."""
    known = set(units(title))
    found = units(summary)
    new = sum(weight(unit) for unit in found if unit not in known)
    shared = sum(weight(unit) for unit in known.intersection(found))
    whole = sum(weight(unit) for unit in known)
    return new < MIN_NEW_WORDS and (shared >= MIN_SHARED_TITLE_WORDS or 2 * shared >= whole > 0)


def _echoes(summary: str, instructions: str) -> bool:
    if sum(bool(signal.search(summary)) for signal in _ECHO_SIGNALS) >= 2:
        return True
    if not instructions:
        return False
    words = WORDS.findall(summary.casefold())
    runs = _instruction_runs(instructions)
    return any(run in runs for run in _runs(words))


@functools.lru_cache(maxsize=8)  # one prompt's instructions serve every paper of a language and model
def _instruction_runs(instructions: str) -> frozenset[tuple[str, ...]]:
    return frozenset(_runs(WORDS.findall(instructions.casefold())))


def _runs(words: list[str]) -> Iterable[tuple[str, ...]]:
    return (tuple(words[i : i + INSTRUCTION_RUN]) for i in range(len(words) - INSTRUCTION_RUN + 1))


def _layout(summary: str, paper: list[str]) -> str | None:
    """A word of ``summary`` about the text's layout that the paper itself does not use (a paper on paragraphs may)."""
    match = _LAYOUT.search(summary)
    if match is None or any(match.group().casefold() in text.casefold() for text in paper):
        return None
    return match.group()


def _copied(summary: str, abstracts: list[str]) -> str | None:
    """The run ``summary`` copies from one of ``abstracts``, if long enough to be a copy (`COPY_RUN`, `COPY_SHARE`)."""
    words = units(summary)
    weights = list(map(weight, words))
    total = sum(weights)
    least = max(COPY_RUN, COPY_SHARE * total)
    for abstract in abstracts:
        # A copied run is of words the abstract has: when those are fewer than a copy needs
        # (nearly always), the abstract need not be cut into words. A unit of the abstract
        # is part of its text as `units` reads it, so this is found by looking them up in it.
        found = unicodedata.normalize("NFKC", abstract).casefold()
        if sum(w for word, w in zip(words, weights, strict=True) if word in found) < least:
            continue
        other = units(abstract)
        start, end = _longest_common_run(words, other)
        run = sum(weights[start:end])
        if run >= COPY_RUN and run >= COPY_SHARE * total:
            normal = unicodedata.normalize("NFKC", summary)
            matches = list(_TOKEN.finditer(normal.casefold()))  # where each of ``words`` is
            written = summary if len(normal) == len(summary) else normal  # as written when NFKC kept the offsets
            return _shown(written[matches[start].start() : matches[end - 1].end()])
    return None


def _longest_common_run(words: Sequence[str], other: Sequence[str]) -> tuple[int, int]:
    """The span of ``words`` that is the longest run of consecutive units also consecutive in ``other``."""
    # The classic table, kept only where a unit of ``words`` occurs in ``other`` (a batch
    # ingest checks thousands of summaries against abstracts of hundreds of units).
    where: dict[str, list[int]] = {}
    for j, unit in enumerate(other, 1):
        where.setdefault(unit, []).append(j)
    best = (0, 0)
    previous: dict[int, int] = {}
    for i, word in enumerate(words, 1):
        current = {j: previous.get(j - 1, 0) + 1 for j in where.get(word, ())}
        for length in current.values():
            if length > best[1] - best[0]:
                best = (i - length, i)
        previous = current
    return best


def _shares_terms(summary: str, paper: list[str]) -> bool:
    """Whether ``summary`` shares at least `MIN_SHARED_TERMS` distinctive terms with ``paper``'s texts."""
    terms = _terms(summary)
    shared: set[str] = set()
    for text in sorted(paper, key=len):  # the short texts first: the title often settles it
        shared |= terms & _terms(text)
        if len(shared) >= MIN_SHARED_TERMS:
            return True
    return False


def _terms(text: str) -> set[str]:
    """Distinctive terms of ``text``: words of 4 letters or more beyond `_GENERIC`, cut to their first 6 (a
    light stem: ``hallucinations`` and ``hallucinated``), numbers, and CJK character pairs beyond `_GENERIC_CJK`."""
    text = unicodedata.normalize("NFKC", text).casefold()
    terms = {word[:6] for word in _TERM_WORD.findall(text) if word not in _GENERIC and not is_cjk(word[0])}
    terms |= set(_NUMBER.findall(text))
    for run in _CJK_RUN.findall(text):
        terms |= set(map(operator.add, run, run[1:])) - _GENERIC_CJK  # its character pairs
    return terms


def _grams(tokens: Sequence[str]) -> list[tuple[int, int, tuple[str, ...]]]:
    """The runs of `REPEAT_GRAM` words of ``tokens`` (`text.units`): (start, end, run)."""
    weights = list(map(weight, tokens))
    ends: list[int] = []
    # A window over the tokens: each run starts one token later and ends no earlier than
    # the run before, so each token is added once and taken off once (not once per word
    # of each run: a batch ingest judges tens of thousands of texts). The weights are
    # halves: the sums are exact.
    j, words = 0, 0.0
    for i in range(len(tokens)):
        while j < len(tokens) and words < REPEAT_GRAM:
            words += weights[j]
            j += 1
        if words < REPEAT_GRAM:
            break
        ends.append(j)
        words -= weights[i]
    runs = map(tuple, map(tokens.__getitem__, map(slice, range(len(ends)), ends)))
    return list(zip(range(len(ends)), ends, runs, strict=True))


@functools.lru_cache(maxsize=256)  # an original abstract is judged against each of its replies
def _repeated_share(text: str) -> float:
    """The share of ``text``'s characters in runs said `MIN_REPEATS` times or more, past their first time."""
    tokens = units(text)
    grams = _grams(tokens)
    letters = sum(map(len, tokens))
    if not letters or not grams:
        return 0.0
    counts = Counter(map(operator.itemgetter(2), grams))
    if max(counts.values()) < MIN_REPEATS:
        return 0.0  # no loop (nearly every text)
    seen: set[tuple[str, ...]] = set()
    covered = [False] * len(tokens)
    for i, j, gram in grams:
        if gram in seen and counts[gram] >= MIN_REPEATS:  # said before, and again: a loop
            covered[i:j] = [True] * (j - i)
        seen.add(gram)
    return sum(len(token) for token, repeated in zip(tokens, covered, strict=True) if repeated) / letters


def _repeated_phrase(text: str) -> tuple[str, int]:
    """``text``'s most repeated run, as written, and how often: for the message fed back (rare)."""
    # The tokens of `text.units`, with where each is (NFKC and casefold keep the length of
    # the texts a reply holds: CJK, Latin, digits).
    matches = list(_TOKEN.finditer(unicodedata.normalize("NFKC", text).casefold()))
    grams = _grams([match.group() for match in matches])
    counts = Counter(gram for _i, _j, gram in grams)
    first: dict[tuple[str, ...], int] = {}
    for i, _j, gram in grams:
        first.setdefault(gram, i)
    gram, times = max(counts.items(), key=lambda item: (item[1], -first[item[0]]))
    # The phrase that repeats: from the run's first occurrence to its second.
    starts = [i for i, _j, other in grams if other == gram]
    end = matches[starts[1]].start() if len(starts) > 1 else matches[starts[0] + len(gram) - 1].end()
    normal = unicodedata.normalize("NFKC", text)
    written = text if len(normal) == len(text) else normal  # show it as written when NFKC kept the offsets
    phrase = written[matches[starts[0]].start() : end].strip()
    return _shown(phrase), max(times, written.count(phrase))


def _shown(text: str, most: int = 60) -> str:
    return text if len(text) <= most else text[: most - 1] + "…"
