"""Is a reply faithful to the paper? Its figures and names, kept in the translation, and none invented.

A translation keeps the abstract's figures (numbers, decimals, percentages) and the names
of models, datasets and methods written in Latin script (BERT, ImageNet, InceptionXML):
they are the same in every language, so they can be compared across languages. A reply
that is a fluent translation of *another* paper (replies mixed up between concurrent
requests, a batch file with swapped ids) loses nearly all of them. A summary states no
figure that is nowhere in the title or abstract.

Figures are compared by value, after NFKC (the full-width digits and percent sign of a real
translation are ``1%``), with thousands separators and a decimal comma read as written in each language,
and with the scale words of both sides (``175 billion`` is ``1750 亿``). A figure the
original wrote in digits may be written in words or CJK numerals (``12``, ``twelve``,
``十二``).
"""

from __future__ import annotations

import functools
import math
import re
import unicodedata
from collections.abc import Iterable, Sequence

from mkdocs_arxiv_digest.checks.problem import Problem

MIN_FIGURE = 10
"""Whole numbers below this are not required in a translation, nor checked in a summary: they are written as words in
every language (``two``, ``zwei``, ``deux``) and dropped with the phrase around them (the
seed digest's translation of 2402.19379 leaves out "In Study 1"). Decimals and percentages
are always required (the seed's 2402.08021: ``roughly 1%`` → ``大约1％``)."""

MIN_WRONG = 2
MAX_WRONG_SHARE = 0.5
"""A translated abstract is unfaithful when at least `MIN_WRONG` of the original's figures
and names are lost, or figures and names are added, and they are more than
`MAX_WRONG_SHARE` of all of them. Calibrated on real translations: of the seed digest's 14
abstracts, 3 lose one item each (``RNN``, ``AI``, ``NLP`` left out or translated) and none
adds one; the example site's 8 lose and add none. Of the 14,321 gettext messages on this
machine with a figure to keep, the rule on figures alone refuses 0.4% (dates localized:
12/31/99 is 31.12.99); on names it refuses far more there (8% of the messages with a name),
because software catalogs translate their placeholders (FILE, TRUE) and widget names,
which abstracts do not have. A translation of another paper is caught in 443 of the 462
mismatched pairs of the seed's and example site's entries (`bench/check_rates.py`)."""

MAX_ACRONYM = 6
"""Longest word in capitals taken for a name (ILSVRC); longer ones are words in capitals."""

_SCALES = {
    "thousand": 1e3, "million": 1e6, "billion": 1e9, "trillion": 1e12, "k": 1e3, "m": 1e6, "b": 1e9,
    "t": 1e12, "万": 1e4, "萬": 1e4, "亿": 1e8, "億": 1e8, "千": 1e3, "百万": 1e6,
}  # fmt: skip
_NUMBER_WORDS = {
    word: value
    for value, word in enumerate([
        "zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten", "eleven",
        "twelve", "thirteen", "fourteen", "fifteen", "sixteen", "seventeen", "eighteen", "nineteen",
    ])
} | {"twenty": 20, "thirty": 30, "forty": 40, "fifty": 50, "sixty": 60, "seventy": 70, "eighty": 80, "ninety": 90,
     "hundred": 100, "dozen": 12}  # fmt: skip
_CJK_DIGITS = {
    "〇": 0,
    "零": 0,
    "一": 1,
    "二": 2,
    "两": 2,
    "兩": 2,
    "三": 3,
    "四": 4,
    "五": 5,
    "六": 6,
    "七": 7,
    "八": 8,
    "九": 9,
}
_CJK_UNITS = {"十": 10, "百": 100, "千": 1000}
_CJK_LARGE = {"万": 10_000, "萬": 10_000, "亿": 100_000_000, "億": 100_000_000}

# A figure standing alone: not part of a name (GPT-4, CIFAR-10, 7B, v2) nor of a longer number.
# Beside a CJK character is alone: Chinese and Japanese write no spaces (提高了37.5%).
# (The look-behind follows the first digit, so that a search skips quickly to the digits.)
_FIGURE = re.compile(r"(\d(?<![A-Za-z0-9.,\-/]\d)\d*(?:[.,]\d+)*)(\s?%)?(?![A-Za-z0-9\-]|[.,]\d)")
# Any number in a translation, names' digits included (favouring acceptance).
_ANY_NUMBER = re.compile(r"\d+(?:[.,]\d+)*")
# Thousands grouped with a space, as French and Russian write them (1 000, 12 500).
_GROUP_SPACE = re.compile(r"[ \u00a0\u202f\u2009'’](?<=\d.)(?=\d{3}(?!\d))")
# A scale after a number: a word, or a capital for billions of parameters (175B is 1750 亿).
_SCALE_AFTER = re.compile(
    r"\s*(thousand|million|billion|trillion|百万|万|萬|亿|億|千)|([KMBT])(?![A-Za-z])", re.IGNORECASE
)
_CJK_NUMERAL = re.compile(r"[〇零一二两兩三四五六七八九十百千万萬亿億]+")
_WORD = re.compile(r"[A-Za-z]+")
# A name kept in Latin script: two capitals or more (BERT, ImageNet, LLMs, InceptionXML) or
# letters and digits together (GSM8K, CIFAR10); hyphenated parts are names of their own.
_NAME = re.compile(r"(?<![A-Za-z0-9])[A-Za-z][A-Za-z0-9]*(?![A-Za-z0-9])")


def abstract_fidelity_problem(original: str, translated: str) -> Problem | None:
    """Whether ``translated`` lost the figures and names of ``original``, or has figures it lacks."""
    figures = _required_figures(original)
    names = _names(original)
    kept_values = _values(translated, words=True)
    kept_names = _name_keys(translated)
    lost = [text for text, values in figures if not values & kept_values]
    lost += [name for name in names if _name_key(name) not in kept_names]
    known = _values(original, words=True)
    added = [text for text, values in _required_figures(translated) if not values & known]
    original_keys = _name_keys(original)  # once, not once per name of the translation
    added += [name for name in _names(translated) if _name_key(name) not in original_keys]
    wrong = len(lost) + len(added)
    if wrong < MIN_WRONG or wrong <= MAX_WRONG_SHARE * (len(figures) + len(names) + len(added)):
        return None
    said = []
    if lost:
        said.append(f"lost {_listed(lost)} of the {len(figures) + len(names)} figures and names of the original")
    if added:
        said.append(f"has {_listed(added)}, which the original does not have")
    return Problem(
        "abstract",
        f"abstract is not a faithful translation of this abstract: it {' and '.join(said)}; translate "
        "this abstract, keeping every number and every name of a model, dataset or method as written",
    )


def title_fidelity_problem(original: str, translated: str) -> Problem | None:
    """Whether ``translated`` kept at least one of the names in ``original`` (if it has any)."""
    names = _names(original)
    kept = _name_keys(translated)
    if not names or any(_name_key(name) in kept for name in names):
        return None
    return Problem(
        "title", f"title lost the name {_listed(names)}; translate this title, keeping names of methods as written"
    )


def invented_figures(summary: str, paper_texts: Iterable[str]) -> list[str]:
    """The figures ``summary`` states that none of ``paper_texts`` (title, abstract) has, as written."""
    known: set[float] = set()
    for text in paper_texts:
        known |= _values(text, words=True)
    # Small whole numbers: counts in words elsewhere, and the (1), (2) of a list of contributions.
    stated = [(text, values) for text, values in _figures(summary) if not (text.isdigit() and int(text) < MIN_FIGURE)]
    return [text for text, values in stated if not values & known]


def _required_figures(text: str) -> list[tuple[str, set[float]]]:
    """The figures of ``text`` a translation must keep (see `MIN_FIGURE`), once each."""
    seen: set[str] = set()
    required = []
    for written, values in _figures(text):
        whole = written.isdigit()  # not 1% nor 0.5
        if whole and min(values) < MIN_FIGURE:
            continue
        if written not in seen:
            seen.add(written)
            required.append((written, values))
    return required


def _figures(text: str) -> list[tuple[str, set[float]]]:
    """Each figure standing alone in ``text`` as written, with the values it may stand for."""
    text = _numbers_text(text)
    figures = []
    for match in _FIGURE.finditer(text):
        values = _readings(match.group(1))
        scale = _SCALE_AFTER.match(text, match.end())
        if scale:
            values |= {value * _SCALES[scale.group().strip().casefold()] for value in values}
        figures.append((match.group().strip(), {_rounded(value) for value in values}))
    return figures


# Small caches: a reply's checks read the same texts several times (the abstract's values
# for its translation's figures and for the summary's), and a batch ingest reads
# tens of thousands of replies; a paper's next reply is a different text.
@functools.lru_cache(maxsize=16)
def _values(text: str, *, words: bool) -> frozenset[float]:
    """Every value a number in ``text`` stands for: digits, with scales, and (``words``) numerals in words."""
    text = _numbers_text(text)
    values: set[float] = set()
    for match in _ANY_NUMBER.finditer(text):
        readings = _readings(match.group())
        scale = _SCALE_AFTER.match(text, match.end())
        if scale:
            readings |= {value * _SCALES[scale.group().strip().casefold()] for value in readings}
        values |= readings
    if words:
        values |= _word_values(text)
        for match in () if text.isascii() else _CJK_NUMERAL.finditer(text):
            value = _cjk_value(match.group())
            if value is not None:
                values.add(value)
    return frozenset(map(_rounded, values))


@functools.lru_cache(maxsize=16)
def _numbers_text(text: str) -> str:
    """``text`` as its numbers are read: NFKC, without spaces grouping thousands (`_GROUP_SPACE`)."""
    return _GROUP_SPACE.sub("", unicodedata.normalize("NFKC", text))


def _readings(number: str) -> set[float]:
    """What a number written with ``.`` and ``,`` may mean: ``1,000`` is 1000 (or 1.0 with a decimal comma)."""
    readings = set()
    plain = number.replace(",", "")
    if plain.count(".") <= 1:
        readings.add(float(plain))  # 1,000.5 or 66.4
    continental = number.replace(".", "").replace(",", ".")
    if continental.count(".") <= 1:
        readings.add(float(continental))  # 66,4 or 1.000
    return readings


def _word_values(text: str) -> set[float]:
    """Numbers written in English words: ``twelve``, ``twenty-five``, ``three hundred``."""
    values: set[float] = set()
    words = list(map(str.lower, _WORD.findall(text)))  # ASCII words: lower is casefold
    if _NUMBER_WORDS.keys().isdisjoint(words):
        return values
    for i, word in enumerate(words):
        value = _NUMBER_WORDS.get(word)
        if value is None:
            continue
        values.add(float(value))
        following = words[i + 1] if i + 1 < len(words) else ""
        if 20 <= value < 100 and _NUMBER_WORDS.get(following, 10) < 10:
            values.add(float(value + _NUMBER_WORDS[following]))
        if following in _SCALES:
            values.add(value * _SCALES[following])
    return values


def _cjk_value(numeral: str) -> float | None:
    """The value of a run of CJK numerals (三十八, 二〇二四, 一百七十五亿), None if it is not one."""
    if all(char in _CJK_DIGITS for char in numeral):
        return float("".join(str(_CJK_DIGITS[char]) for char in numeral)) if len(numeral) > 1 else None
    total = section = digit = 0
    for char in numeral:
        if char in _CJK_DIGITS:
            digit = _CJK_DIGITS[char]
        elif char in _CJK_UNITS:
            section += (digit or 1) * _CJK_UNITS[char]
            digit = 0
        else:
            total += (section + digit or 1) * _CJK_LARGE[char]
            section = digit = 0
    value = total + section + digit
    return float(value) if value else None


def _rounded(value: float) -> float:
    """``value`` to 6 significant digits: the same figure reached two ways compares equal."""
    if value == 0:
        return 0.0
    return round(value, 5 - math.floor(math.log10(abs(value))))


@functools.lru_cache(maxsize=16)
def _names(text: str) -> tuple[str, ...]:
    """The names in Latin script of ``text`` (see `_NAME`), once each, in order.

    A word in capitals only is a name when it is short (BERT, COCO, ILSVRC; not FILE or
    ATTRIBUTES, the placeholders translators translate, longer than `MAX_ACRONYM`) and the
    text is not written in capitals (a title in capitals has no names to tell apart).
    """
    words = _name_words(text)
    capitals = sum(1 for word in words if word.isupper() and len(word) > 1)
    shouting = capitals > len(words) / 2
    names: dict[str, str] = {}
    for word in dict.fromkeys(words):  # each word once, in order: a text repeats most of its words
        if word.isalpha() and word[1:].islower():
            continue  # a word, capitalized or not: no digit, one capital at most
        upper = sum(char.isupper() for char in word)
        digits = any(char.isdigit() for char in word)
        if word.isupper() and not digits and (shouting or len(word) > MAX_ACRONYM):
            continue
        if upper >= 2 or (digits and any(char.isalpha() for char in word)):
            names.setdefault(_name_key(word), word)
    return tuple(names.values())


@functools.lru_cache(maxsize=16)
def _name_keys(text: str) -> frozenset[str]:
    """The `_name_key` of each name ``text`` may hold."""
    return frozenset(map(_name_key, set(_name_words(text))))


@functools.lru_cache(maxsize=16)
def _name_words(text: str) -> tuple[str, ...]:
    """The words of ``text`` that may be names (`_NAME`), in order, after NFKC."""
    return tuple(_NAME.findall(unicodedata.normalize("NFKC", text)))


def _name_key(name: str) -> str:
    """A name compared without case or a plural ``s``: ``LLMs`` is ``LLM``."""
    key = name.casefold()
    return key[:-1] if len(key) > 2 and key.endswith("s") else key


def _listed(items: Sequence[str], most: int = 6) -> str:
    shown = ", ".join(items[:most])
    return shown + (f" and {len(items) - most} more" if len(items) > most else "")
