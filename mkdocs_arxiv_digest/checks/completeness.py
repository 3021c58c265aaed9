"""Is a translated abstract the whole abstract? Its length for the language pair, and its math.

A model that stops after the first sentences, or runs on, writes an abstract whose
length is implausible for a translation; one that rewrites ``$O(n)$`` as words has lost
what the reader needs most.
"""

from __future__ import annotations

import math
import re
import unicodedata

from mkdocs_arxiv_digest import languages
from mkdocs_arxiv_digest.checks.problem import Problem
from mkdocs_arxiv_digest.tex import MATH_SPAN

LENGTH_RATIOS = {"Hani": (0.15, 1.1), "Jpan": (0.2, 1.7), "Kore": (0.2, 1.7), "": (0.45, 3.0)}
"""Plausible length of a translated abstract, in characters per character of the
original, by script ("" for the rest). Calibrated on real translations: the seed digest's
14 Chinese abstracts have 0.24–0.36 (median 0.30); the 8,283 gettext messages of 200
characters or more on this machine (32 languages) have zh 0.22–1.00 (median 0.43), ja
0.31–1.59 (0.59), ko 0.26–1.00 (0.58) and the others 0.52–2.50 (medians 0.76–1.18), and
none falls outside these bounds. The lower ones sit at about half the typical ratio: an
abstract that stops after its first sentences."""
MIN_ABSTRACT_FOR_RATIO = 200
"""Below this many characters in the original, length ratios vary too much to judge."""

# What a math span may lose and still be kept: its delimiters, braces and spacing.
_NOT_MATH_CONTENT = re.compile(r"[\s$\\{}]+")


def completeness_problems(original: str, translated: str, language: str) -> list[Problem]:
    """Whether the translated abstract keeps the original's math and has a translation's length."""
    problems: list[Problem] = []
    lost = lost_math(original, translated)
    if lost:
        problems.append(Problem("abstract", f"abstract lost the math {lost}; keep every $...$ span as it is"))
    source, target = " ".join(original.split()), " ".join(translated.split())
    if len(source) >= MIN_ABSTRACT_FOR_RATIO:
        low, high = length_ratios(language)
        if len(target) < low * len(source):
            expected = languages.language_name(language)
            problems.append(
                Problem(
                    "abstract",
                    f"abstract is too short to be the whole abstract translated: {len(target)} characters "
                    f"for {len(source)} in the original, where a complete translation into {expected} has "
                    f"at least {math.ceil(low * len(source))}",
                )
            )
        elif len(target) > high * len(source):
            problems.append(
                Problem(
                    "abstract",
                    f"abstract is too long to be a translation of the abstract: {len(target)} characters "
                    f"for {len(source)} in the original (at most {int(high * len(source))} expected)",
                )
            )
    return problems


def lost_math(original: str, translated: str) -> str | None:
    """The first inline math span of ``original`` whose content ``translated`` lacks, or None.

    Compared without ``$``, backslashes, braces and spaces, after NFKC: a span written
    without its dollars or in full-width characters (``66.4`` and a full-width percent
    sign for ``$66.4\\%$``) is kept.
    """
    target = _NOT_MATH_CONTENT.sub("", unicodedata.normalize("NFKC", translated))
    for match in MATH_SPAN.finditer(original):
        content = _NOT_MATH_CONTENT.sub("", unicodedata.normalize("NFKC", match.group(1)))
        if content and content not in target:
            return match.group()
    return None


def max_length_ratio(language: str) -> float:
    """The longest plausible translation into ``language``, in characters per character of English."""
    return length_ratios(language)[1]


def length_ratios(language: str) -> tuple[float, float]:
    target = languages.script(language)
    key = "Hani" if target in {"Hans", "Hant", "Hani"} else target
    return LENGTH_RATIOS.get(key, LENGTH_RATIOS[""])
