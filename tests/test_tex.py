"""`safe_tex`: which TeX from untrusted text may reach MathJax as math."""

from __future__ import annotations

import pytest

from mkdocs_arxiv_digest.tex import (
    COMMANDS,
    ENVIRONMENTS,
    MAX_DEPTH,
    MAX_LENGTH,
    MAX_NEGATIVE_SPACE,
    MAX_ROWS,
    MAX_SPACE,
    MAX_WIDTH,
    safe_tex,
)

# Math as arXiv abstracts write it (written for these tests).
ORDINARY = [
    r"O(n \log n)",
    r"66.4\%",
    r"1^{+1.39}_{-0.59}",
    r"\mathcal{O}(\sqrt{T})",
    r"\tilde{O}(d/\epsilon^2)",
    r"x \in \mathbb{R}^d",
    r"\|x\|_2 \le 1",
    r"\{0,1\}^n",
    r"\left(\frac{1}{\epsilon}\right)^{2}",
    r"\text{SNR} \geq 10\,\mathrm{dB}",
    r"T_c \approx 92\ \mathrm{K}",
    r"\operatorname{softmax}(QK^\top/\sqrt{d_k})",
    r"\mathrm{H_2O}",
    r"\langle \psi \vert \phi \rangle",
    r"\hbar\omega \sim 10^{-3}\,\text{eV}",
    r"\sum_{i=1}^{n} \alpha_i = 1",
    r"f: \mathcal{X} \to [0, 1]",
    r"\begin{pmatrix} a & b \\ c & d \end{pmatrix}",
    r"\lim_{n \to \infty} \frac{\log n}{n} = 0",
    r"\mathbf{x}^\prime",
    r"k \gg 1",
    r"\binom{n}{k}",
    r"\cancel{x}",
    r"\xrightarrow[a]{b}",
    r"\sqrt[3]{x}",
    r"f(x) = \begin{cases} 0 & x < 0 \\ 1 & \text{otherwise} \end{cases}",
    r"\text{résumé} \cdot 大",
    # brackets that are not options: an index and a label are math; delimiters; intervals
    r"\sqrt [n]{x}",
    r"\xrightarrow[\text{train}]{f}",
    r"x \in [0, 1]",
    r"\left[0, 1\right)",
    r"\big[x\big]",
    r"\not[",
    r"\text[",
    # spacing as abstracts use it
    r"a \quad b \qquad c",
    r"\!\!\!x",
    r"\begin{bmatrix} a & b & c \\ d & e & f \\ g & h & i \end{bmatrix}",
]


@pytest.mark.parametrize("tex", ORDINARY)
def test_ordinary_math_is_kept_as_is(tex: str) -> None:
    assert safe_tex(tex) == tex


REFUSED = [
    r"x^^5cinput{/etc/passwd}",  # TeX (a LaTeX build) reads ^^5c as a backslash
    # links, styles, classes, ids, attributes (MathJax's html extension and base)
    r"\href{javascript:alert(document.domain)}{\text{[PDF]}}",
    r"\style{position:fixed;width:100vw;height:100vh}{\href{https://evil.example}{x}}",
    r"\class{md-header}{x}",
    r"\cssId{content}{x}",
    r"\data{x=1}{y}",
    r"\mmlToken{mi}[href='javascript:alert(1)']{x}",
    r"\bbox[position:fixed]{x}",
    r"\enclose{box}[style=color:red]{x}",
    r"\url{https://evil.example}",
    r"\color{white}{hidden}",
    r"\colorbox{red}{x}",
    r"\texttip{x}{tip}",
    r"\toggle{a}{b}\endtoggle",
    # fonts, code, definitions
    r"\unicode[Comic Sans]{x41}",
    r"\require{html}",
    r"\def\sqrt#1{\href{javascript:alert(1)}{#1}}",
    r"\gdef\x{y}",
    r"\newcommand{\frac}{x}",
    r"\renewcommand{\frac}{x}",
    r"\let\frac\href",
    r"\DeclareMathOperator{\x}{y}",
    r"\newenvironment{x}{}{}",
    r"\input{x}",
    r"\verb|x|",
    r"\char65",
    # ids and links MathJax makes for equations
    r"\tag{1}",
    r"\label{x}",
    r"\eqref{x}",
    r"\nonumber",
    # free dimensions: boxes that cover or push the page
    r"\rule{100vw}{100vh}",
    r"\hspace{-100em}",
    r"\kern-100em",
    r"\mkern-100mu",
    r"\raise100em\hbox{x}",
    r"\Huge x",
    r"\begin{pmatrix} a \\[100em] b \end{pmatrix}",
    r"\begin{pmatrix} a \\ [100em] b \end{pmatrix}",
    r"\begin{pmatrix} a \\*[100em] b \end{pmatrix}",
    # optional arguments that are options, not math (issue 16.4): the cancel family's
    # attributes, alignments; MathJax reads them after spaces too
    r"\cancel[mathbackground=white,mathcolor=white,data-padding=40em]{}",
    r"\bcancel[mathcolor=red]{x}",
    r"\xcancel [mathbackground=white]{x}",
    r"\cancelto[mathcolor=red]{0}{x}",
    r"\cfrac[l]{1}{2}",
    r"\begin{aligned}[t] a \end{aligned}",
    r"\begin{gathered} [baseline 30] a \end{gathered}",
    r"\begin{pmatrix}[t] a \end{pmatrix}",
    # layout within the allow-list (issue 16.12): a smashed box overlaps, many rows,
    # spaces or columns push the page
    r"\smash{x}",
    r"\smash[t]{\begin{matrix} a \\ b \end{matrix}}",
    r"\begin{matrix}" + r"x \\ " * 29 + r"x\end{matrix}",
    r"\qquad" * 70,
    "\\\\" * 230,
    r"\!" * 240 + "x",
    r"\negthickspace" * 2 + " x",
    "W" * 200,
    r"\text{" + " " * 400 + "}",
    r"\begin{matrix}" + "&" * 70 + r"\end{matrix}",
    r"\projlim" * 12,
    # environments: only the listed ones, spelled plainly
    r"\begin{array}{c} x \end{array}",
    r"\begin{align} x \end{align}",
    r"\begin {pmatrix} x \end{pmatrix}",
    r"\begin\foo x",
    r"\begin{pmatrix x",
    # parameters, comments, delimiters of other math
    r"x#1",
    r"5%",
    r"a \( b",
    r"a \) b",
    r"a \[ b",
    # unbalanced, deep, long, control characters, stray backslashes
    r"{x",
    r"x}{",
    "{" * (MAX_DEPTH + 1) + "x" + "}" * (MAX_DEPTH + 1),
    "x" * (MAX_LENGTH + 1),
    "x\ny",
    "x\ty",
    "x\x02y",
    "x\\",
    r"\é",
    "\\\u00a0",
]


@pytest.mark.parametrize("tex", REFUSED)
def test_anything_else_is_refused(tex: str) -> None:
    assert safe_tex(tex) is None


def test_the_bounds_themselves_are_kept() -> None:
    assert safe_tex("{}" * (MAX_LENGTH // 2)) is not None
    assert safe_tex("{" * MAX_DEPTH + "x" + "}" * MAX_DEPTH) is not None


# Each budget at its limit and just over: rows, width (`W` is the widest letter, 1.5 in
# the estimate), positive and negative space.
AT_AND_OVER_BUDGET = [
    (r"\\".join("x" * MAX_ROWS), r"\\".join("x" * (MAX_ROWS + 1))),
    ("W" * int(MAX_WIDTH / 1.5), "W" * (int(MAX_WIDTH / 1.5) + 1)),
    (r"\qquad" * int(MAX_SPACE // 2) + r"\quad" * int(MAX_SPACE % 2), r"\qquad" * int(MAX_SPACE // 2 + 1)),
    (r"\!" * int(MAX_NEGATIVE_SPACE * 6) + "x", r"\!" * (int(MAX_NEGATIVE_SPACE * 6) + 1) + "x"),
]


@pytest.mark.parametrize(("at", "over"), AT_AND_OVER_BUDGET)
def test_each_size_budget_is_a_limit(at: str, over: str) -> None:
    assert safe_tex(at) == at
    assert safe_tex(over) is None


def test_every_allowed_command_and_environment_is_kept() -> None:
    assert all(safe_tex(f"\\{name}") for name in COMMANDS - {"begin", "end"})
    assert all(safe_tex(f"\\begin{{{name}}}x\\end{{{name}}}") for name in ENVIRONMENTS)


def test_a_refused_command_anywhere_refuses_the_span() -> None:
    # Inside \text, a subscript or an allowed environment: MathJax still runs it.
    for tex in [r"\text{$\href{x}{y}$}", r"x_{\style{a}{b}}", r"\begin{pmatrix}\class{a}{b}\end{pmatrix}"]:
        assert safe_tex(tex) is None, tex
