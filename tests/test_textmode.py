"""`tex_text_to_unicode`: text-mode TeX in titles and abstracts, as the text it stands for."""

from __future__ import annotations

import time

import pytest

from mkdocs_arxiv_digest.textmode import MAX_LENGTH, MAX_NESTING, tex_text_to_unicode
from tests.fakes import FakeArxiv
from tests.helpers import Site, block

# The TeX of real titles and abstracts (issue 19.13 and the recorded arXiv responses).
CONVERTED = [
    (r"We present \emph{MetaMath}, a new dataset", "We present MetaMath, a new dataset"),
    (r"\textbf{Bold} and \textit{italic}", "Bold and italic"),
    (r"so-called ``attention'' heads", "so-called “attention” heads"),
    (r"improves accuracy by 5\%", "improves accuracy by 5%"),
    (r"Caf\'e na\"ive Schr\"{o}dinger Erd\H{o}s \ss{}", "Café naïve Schrödinger Erdős ß"),
    (r"pages 10--20 --- a dash", "pages 10–20 — a dash"),
    (r"Fig.~3", "Fig.\u00a03"),
    (r"models, \eg transformers, \ie attention, \etal", "models, e.g. transformers, i.e. attention, et al."),
    (r"The {BERT} model", "The {BERT} model"),  # braces alone are prose: not converted
    (r"The {BERT} model, \eg", "The BERT model, e.g."),
    (r"{\it word} in \LaTeX{} and \TeX", " word in LaTeX and TeX"),
    # raw specials in an abstract are the characters themselves
    ("a 5% gain, Q&A and R&D, issue #1", "a 5% gain, Q&A and R&D, issue #1"),
    # links give their text, never Markdown's `<...>` autolink
    (r"code at \url{https://github.com/x/y}", "code at https://github.com/x/y"),
    (r"see \href{javascript:alert(1)}{our site}", "see our site"),
    (r"one\\two", "one two"),
]


@pytest.mark.parametrize(("tex", "text"), CONVERTED)
def test_text_mode_tex_becomes_text(tex: str, text: str) -> None:
    assert tex_text_to_unicode(tex) == text


# Math spans, as `tex.MATH_SPAN` (arithmatex) finds them, stay byte for byte.
MATH_KEPT = [
    (r"an $\mathcal{O}(n\log n)$ \emph{algorithm}", r"an $\mathcal{O}(n\log n)$ algorithm"),
    (r"$x$ and $y$ in \emph{$z$ space}", r"$x$ and $y$ in $z$ space"),
    (r"$66.4\%$ and 5\%", r"$66.4\%$ and 5%"),
    (r"$\text{``q''} -- \'e$ --", r"$\text{``q''} -- \'e$ --"),  # TeX only in the math: nothing to convert
    (r"$\text{``q''} -- \'e$ -- \emph{x}", r"$\text{``q''} -- \'e$ – x"),
    (r"$a$ $b$ \emph{c} $\{0,1\}^n$", r"$a$ $b$ c $\{0,1\}^n$"),
]


@pytest.mark.parametrize(("tex", "text"), MATH_KEPT)
def test_math_spans_stay_exactly(tex: str, text: str) -> None:
    assert tex_text_to_unicode(tex) == text


# What the reader cannot be told better is kept as written: unknown macros (with their
# braces), references, `\input` (never read), plain text.
KEPT = [
    r"\unknownmacro x and \foo{bar}{baz}",
    r"as in \cite{vaswani2017}",
    r"\input{/etc/passwd}",
    r"\def\x{y} \x",
    "plain title with no TeX",
    "snake_case and x^2 outside math",
    "",
]


@pytest.mark.parametrize("tex", KEPT)
def test_what_cannot_be_converted_is_kept(tex: str) -> None:
    assert tex_text_to_unicode(tex) == tex


# Hostile input: returned unchanged or converted, in bounded time, never an exception.
HOSTILE = [
    r"\href{x}",  # pylatexenc 2.11 itself raises IndexError on it
    "\\'{" * 24 + "e" + "}" * 24,  # pylatexenc's output doubles with each level: 24 filled the memory
    ("\\'{" * MAX_NESTING + "e" + "}" * MAX_NESTING) * (MAX_LENGTH // (4 * MAX_NESTING + 1)),
    "{" * 100_000,
    "\\emph{" * 5_000,
    "\\begin{itemize}" * 1_000,
    "\\foo" * (MAX_LENGTH // 4),
    "``''" * (MAX_LENGTH // 4),
    "\\textbf{x}" * (MAX_LENGTH // 10),
    "$" * 100_000,
    "\\" * 100_001,
    "x" * 10_000_000,
    "\U00100000 \\emph{x}",  # the placeholder range: left alone
]


@pytest.mark.parametrize("tex", HOSTILE, ids=range(len(HOSTILE)))
def test_hostile_input_is_bounded(tex: str) -> None:
    start = time.perf_counter()
    text = tex_text_to_unicode(tex)
    # Measured: at most 0.13 s for any of these on this 2-core machine (most under 0.06 s).
    assert time.perf_counter() - start < 2.0
    assert len(text) <= max(len(tex), 2 * MAX_LENGTH)
    assert tex_text_to_unicode(tex) == text  # deterministic


def test_too_deep_or_too_long_is_left_as_it_is() -> None:
    deep = "\\emph{" * (MAX_NESTING + 1) + "x" + "}" * (MAX_NESTING + 1)
    assert tex_text_to_unicode(deep) == deep
    assert tex_text_to_unicode("\\emph{" * MAX_NESTING + "x" + "}" * MAX_NESTING) == "x"
    long = "\\emph{x}" + " " * MAX_LENGTH
    assert tex_text_to_unicode(long) == long


def test_a_build_shows_text_mode_tex_as_text(site: Site, arxiv_api: FakeArxiv) -> None:
    # Issue 19.13: what readers saw raw. Converted as the metadata arrives, math kept as math.
    arxiv_api.add(
        "2309.12284",
        r"\emph{MetaMath}: Bootstrap Your Own Mathematical Questions",
        r"We propose \textbf{MetaMath}, \eg for ``reasoning'' at 66.4\% on GSM8K, with $O(n^2)$ cost.",
    )
    site.page("index.md", block("2309.12284"))

    build = site.build("--strict")

    assert build.returncode == 0, build.log
    digest = build.digest()
    assert digest.rows[0].title == "MetaMath: Bootstrap Your Own Mathematical Questions"
    (footnote,) = digest.footnotes.values()
    assert (
        footnote[-1].removesuffix(" ↩")
        == "We propose MetaMath, e.g. for “reasoning” at 66.4% on GSM8K, with $O(n^2)$ cost."
    )
