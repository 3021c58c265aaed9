"""Which TeX from untrusted text may reach MathJax (or KaTeX) as math.

Pure. TeX is a programming language, and MathJax's is a capable one: `\\href` makes
links (`javascript:` ones too), `\\style`, `\\class`, `\\cssId` and `\\data` put
arbitrary CSS, classes, ids and attributes on the page, `\\unicode` picks fonts,
`\\require` loads extensions, `\\def`/`\\newcommand` redefine the commands other math on
the page uses, `\\bbox`, `\\enclose` and `\\mmlToken` take styles or attributes, and an
undefined command can make MathJax autoload an extension. A deny-list of those would
miss the next extension; so this module allows the TeX of ordinary mathematics —
letters, operators, relations, arrows, accents, fonts, fractions, roots, delimiters,
fixed spaces, matrix-like environments — and refuses anything else whole.

Also refused: raw `#` (macro parameters) and `%` (a comment hides the rest of the
span), commands that take a free dimension (`\\hspace`, `\\rule`, `\\kern`, `\\\\[...]`)
and so can cover or push the page, and spans longer or deeper than any abstract needs
(MathJax parses recursively: nesting is a cheap denial of service).

Optional arguments. MathJax reads a `[...]` after some allowed commands as options,
and the page that loads MathJax may not filter them (Sphinx loads MathJax without
`ui/safe`): `\\cancel[mathbackground=white,data-padding=40em]{}` becomes an opaque box
over the page. Audited in MathJax 3.2.2 (`mathjax-full`) and 4.1.3 (`@mathjax/src`),
every `GetBrackets` reachable from an allowed command, then confirmed by typesetting
`\\name[...]` for each of them in both: `\\cancel`, `\\bcancel`, `\\xcancel` and
`\\cancelto` take attributes (menclose options), `\\cfrac[l]` an alignment, `\\smash[t]`
a side, `\\begin{aligned}[t]`/`{gathered}` a vertical alignment that, unless `t`, `b` or
`c`, is copied into the table's `align` attribute, and `\\\\[...]` a row's height. Those
optional arguments are refused wherever they appear. The three left, `\\sqrt[3]{x}`'s
index and `\\xrightarrow[below]{above}`'s label, are math, checked as the rest of the span.
(`\\left[`, `\\big[`, `\\not[` read the bracket as a delimiter; `\\text[` as its argument.)

Size. The allow-list alone still lets a span draw over or out of the page: a
`\\smash`ed 30-row matrix sits over the header, 70 `\\qquad` make the page 2,400 px wide,
240 `\\!` move text 40em left, 230 `\\\\` stack empty rows. So `\\smash` is refused outright
(it only ever removes height, to overlap what is above or below), and each span gets a
budget: rows, an estimate of its width, and its positive and negative spacing. Each budget
says in its comment what real abstracts it was set from.
"""

from __future__ import annotations

import re
from typing import NamedTuple

MAX_LENGTH = 500
"""Longest span kept as math; arXiv's whole abstract is limited to 1920 characters."""
MAX_DEPTH = 10
"""Deepest nesting of braces kept as math."""
# The size budgets below were set on the math of real abstracts: the 98 `$...$` spans of
# the 106 entries in the arXiv API responses recorded by the `arxiv` package's tests (the
# reference feeds here are a subset of them), plus the seed digest and the example
# site's snapshot. In all of them: one row, no explicit space, a widest estimate of 25.25
# (`M = O(K^2\log{(N/K)}/p^3)`, 45 characters, about 11em as typeset). Each budget leaves
# room for the math abstracts also write (a 3x3 matrix, `\quad` between two conditions),
# and a span over budget is shown as text, never dropped.
MAX_ROWS = 4
"""Most rows in a span (measured: 1): a 4x4 matrix, or 4 cases."""
MAX_WIDTH = 40.0
"""Widest a span may be, in ems as `SpanSize.width` bounds it (measured: 25.25), spaces
included: at most 640 px at 16 px, so a span cannot make a page wider than a laptop's
viewport (70 `\\qquad` made it 2,400 px)."""
MAX_SPACE = 3.0
"""Most explicit positive space in a span, in ems (measured: 0): `\\qquad` and `\\quad`."""
MAX_NEGATIVE_SPACE = 0.5
"""Most explicit negative space, in ems (measured: 0): three `\\!`, enough to close up a
symbol, not to move text over other text (240 `\\!` moved it 40em)."""

# Word lists, kept as words: 450 quoted strings would hide the categories.
MATH_SPAN = re.compile(r"(?<!\\)\$(?!\s)((?:\\.|[^\\$])+?)(?<!\s)\$")
"""pymdownx.arithmatex's inline `$...$` rule (smart_dollar, its default): what is kept as
math is exactly what arithmatex takes as math. (Arithmatex also refuses the STX/ETX
placeholders in math; Python-Markdown deletes those from its input, and `safe_tex`
refuses every control character.)"""

COMMANDS = frozenset(
    """
    alpha beta gamma delta epsilon varepsilon zeta eta theta vartheta iota kappa varkappa lambda
    mu nu xi pi varpi rho varrho sigma varsigma tau upsilon phi varphi chi psi omega digamma
    Gamma Delta Theta Lambda Xi Pi Sigma Upsilon Phi Psi Omega
    varGamma varDelta varTheta varLambda varXi varPi varSigma varUpsilon varPhi varPsi varOmega
    aleph beth gimel daleth hbar hslash imath jmath ell wp Re Im partial infty prime backprime
    emptyset varnothing nabla top bot angle measuredangle sphericalangle triangle triangledown
    blacktriangle blacktriangledown square blacksquare lozenge blacklozenge bigstar checkmark
    forall exists nexists neg lnot flat natural sharp surd mho complement eth Finv Game Bbbk
    clubsuit diamondsuit heartsuit spadesuit diagup diagdown circledS dagger ddagger S
    sum prod coprod int iint iiint iiiint oint intop smallint bigcap bigcup bigodot bigoplus
    bigotimes biguplus bigsqcup bigvee bigwedge
    pm mp times div cdot ast star circ bullet oplus ominus otimes oslash odot bigcirc amalg cap
    cup uplus sqcap sqcup vee wedge lor land setminus smallsetminus wr diamond bigtriangleup
    bigtriangledown triangleleft triangleright lhd rhd unlhd unrhd dotplus ltimes rtimes
    leftthreetimes rightthreetimes curlywedge curlyvee circleddash circledast circledcirc
    boxminus boxtimes boxdot boxplus divideontimes barwedge veebar doublebarwedge Cap Cup
    intercal centerdot
    lt gt le leq ge geq ne neq equiv sim simeq approx cong doteq propto models perp mid
    parallel subset supset subseteq supseteq sqsubset sqsupset sqsubseteq sqsupseteq in ni
    notin owns prec succ preceq succeq ll gg lll ggg asymp bowtie dashv vdash vDash Vdash
    Vvdash nvdash nvDash nVdash smile frown approxeq leqq geqq leqslant geqslant lesssim
    gtrsim lessapprox gtrapprox lessgtr gtrless lesseqgtr gtreqless lessdot gtrdot nless ngtr
    nleq ngeq nleqslant ngeqslant nleqq ngeqq lneq gneq lneqq gneqq lnsim gnsim lnapprox
    gnapprox nsim ncong nmid nparallel nprec nsucc npreceq nsucceq subsetneq supsetneq
    subsetneqq supsetneqq subseteqq supseteqq nsubseteq nsupseteq Subset Supset triangleq
    eqcirc circeq thicksim thickapprox backsim backsimeq eqsim trianglelefteq
    trianglerighteq vartriangleleft vartriangleright ntriangleleft ntriangleright
    ntrianglelefteq ntrianglerighteq therefore because between pitchfork shortmid
    shortparallel nshortmid nshortparallel smallfrown smallsmile doteqdot Doteq
    fallingdotseq risingdotseq precsim succsim precapprox succapprox preccurlyeq
    succcurlyeq curlyeqprec curlyeqsucc varpropto blacktriangleleft blacktriangleright
    leftarrow rightarrow to gets Leftarrow Rightarrow leftrightarrow Leftrightarrow
    longleftarrow longrightarrow Longleftarrow Longrightarrow longleftrightarrow
    Longleftrightarrow mapsto longmapsto hookleftarrow hookrightarrow uparrow downarrow
    updownarrow Uparrow Downarrow Updownarrow nearrow searrow swarrow nwarrow leftharpoonup
    leftharpoondown rightharpoonup rightharpoondown rightleftharpoons leftrightharpoons
    implies impliedby iff leadsto rightsquigarrow leftrightsquigarrow leftrightarrows
    rightleftarrows twoheadrightarrow twoheadleftarrow nrightarrow nleftarrow nRightarrow
    nLeftarrow nleftrightarrow nLeftrightarrow circlearrowleft circlearrowright
    curvearrowleft curvearrowright upharpoonleft upharpoonright downharpoonleft
    downharpoonright rightarrowtail leftarrowtail Lsh Rsh looparrowleft looparrowright
    multimap upuparrows downdownarrows leftleftarrows rightrightarrows dashrightarrow
    dashleftarrow Lleftarrow Rrightarrow xrightarrow xleftarrow
    langle rangle lceil rceil lfloor rfloor lbrace rbrace lbrack rbrack vert Vert lvert rvert
    lVert rVert lgroup rgroup lmoustache rmoustache arrowvert Arrowvert bracevert ulcorner
    urcorner llcorner lrcorner backslash
    left right middle big Big bigg Bigg bigl bigr Bigl Bigr biggl biggr Biggl Biggr bigm Bigm
    biggm Biggm
    ldots cdots vdots ddots dots dotsc dotsb dotsm dotsi dotso cdotp ldotp colon
    sin cos tan cot sec csc arcsin arccos arctan sinh cosh tanh coth log ln lg exp min max sup
    inf lim limsup liminf det dim ker hom arg deg gcd Pr injlim projlim varlimsup varliminf
    varinjlim varprojlim mod bmod pmod pod
    hat widehat check tilde widetilde acute grave dot ddot dddot ddddot breve bar vec mathring
    overline underline overbrace underbrace overleftarrow overrightarrow overleftrightarrow
    underleftarrow underrightarrow underleftrightarrow overset underset stackrel
    frac dfrac tfrac cfrac binom dbinom tbinom over choose atop brace brack sqrt
    mathrm mathit mathbf mathsf mathtt mathcal mathscr mathfrak mathbb mathnormal boldsymbol pmb
    rm it bf sf tt cal frak Bbb text textrm textit textbf textsf texttt textnormal mbox
    operatorname
    displaystyle textstyle scriptstyle scriptscriptstyle limits nolimits
    quad qquad enspace thinspace negthinspace negmedspace negthickspace
    not cancel bcancel xcancel cancelto boxed phantom hphantom vphantom mathstrut strut
    substack sideset mathop mathbin mathrel mathord mathopen mathclose mathpunct mathinner
    begin end
    """.split()
)
"""Control words (``\\name``) of ordinary mathematics: no links, styles, ids, attributes or code."""

SYMBOLS = frozenset(",:;! >{}|\\%$#&_")
"""Control symbols (``\\,`` spacing, ``\\{`` brace, ``\\%`` percent...)."""

ENVIRONMENTS = frozenset(
    "matrix pmatrix bmatrix Bmatrix vmatrix Vmatrix smallmatrix cases aligned gathered split".split()
)
"""``\\begin{...}`` environments: matrix-like ones without a column specification."""

_REFUSED_CHARACTERS = frozenset("#%")
# A control word is a backslash and ASCII letters, as MathJax's parser reads it; a
# control symbol a backslash and any one character (none: a lone trailing backslash).
_TOKEN = re.compile(r"(?P<word>\\[A-Za-z]+)|(?P<symbol>\\.?)|(?P<char>.)", re.DOTALL)
_ENVIRONMENT = re.compile(r"\{([A-Za-z]+\*?)\}")
# `\\[2em]` and `\\*[2em]` set the height of a row: a free dimension.
_ROW_SPACING = re.compile(r"\s*\*?\s*\[")
# MathJax's `GetBrackets` skips spaces before the `[`.
_OPTIONS = re.compile(r"\s*\[")
_OPTIONS_REFUSED = frozenset(["\\cancel", "\\bcancel", "\\xcancel", "\\cancelto", "\\cfrac", "\\begin"])
"""Control words whose `[...]` carries attributes (the cancel family: menclose options),
an alignment (`\\cfrac[l]`, `\\begin{aligned}[t]`) — anything but math."""

# Explicit spaces, in ems as MathJax sets them (`\,` is 3/18 em...).
_SPACE = {"\\,": 3 / 18, "\\:": 4 / 18, "\\>": 4 / 18, "\\;": 5 / 18, "\\ ": 0.375, "~": 0.375,
          "\\thinspace": 3 / 18, "\\enspace": 0.5, "\\quad": 1.0, "\\qquad": 2.0}  # fmt: skip
_NEGATIVE_SPACE = {"\\!": 3 / 18, "\\negthinspace": 3 / 18, "\\negmedspace": 4 / 18, "\\negthickspace": 5 / 18}
# Control words that draw nothing of their own: the width is their argument's (or the
# delimiter's after `\left`, `\big`), counted where it is read.
_NO_WIDTH = frozenset(
    """
    begin end left right middle big Big bigg Bigg bigl bigr Bigl Bigr biggl biggr Biggl Biggr
    bigm Bigm biggm Biggm limits nolimits displaystyle textstyle scriptstyle scriptscriptstyle
    mathrm mathit mathbf mathsf mathtt mathcal mathscr mathfrak mathbb mathnormal boldsymbol pmb
    rm it bf sf tt cal frak Bbb text textrm textit textbf textsf texttt textnormal mbox
    operatorname mathop mathbin mathrel mathord mathopen mathclose mathpunct mathinner
    """.split()
)
# Characters that structure rather than draw: groups and scripts. (`&` does draw: a
# matrix's column gap is about 1em.)
_STRUCTURE = frozenset("{}^_")
# Widths, in ems, as upper bounds. Measured with MathJax 3.2.2 and 4.1.3's SVG output
# (`tex2svg`, width in ex / 2) for each allowed command alone and each ASCII character:
# the widest letters (`W`, `M`) are 1.19em, a relation or binary operator 0.88em plus
# 0.28em of spacing on each side, so 1.5 bounds any character or command not listed here;
# a text space is 0.28em (3) to 0.375em (4).
_DRAWN = 1.5
_TEXT_SPACE = 0.375
_WIDE = {
    2.0: "arg cdots cos cot csc dashleftarrow dashrightarrow dbinom ddots deg det dots dotsb dotsc dotsi dotsm "
    "dotso exp gcd ggg hookleftarrow hookrightarrow iiint inf ker ldots leftarrowtail leftrightsquigarrow lim "
    "lll log multimap nLeftrightarrow rightarrowtail sec sin sup tan varinjlim varliminf varlimsup varprojlim",
    2.5: "Longleftarrow Longleftrightarrow Longrightarrow cosh coth dim hom iiiint longleftarrow "
    "longleftrightarrow longmapsto longrightarrow max min overbrace sinh tanh underbrace",
    3.0: "bmod impliedby implies",
    3.5: "arccos arcsin arctan iff injlim liminf mod",
    4.0: "limsup pmod projlim",
}
_WIDTH = {f"\\{name}": width for width, names in _WIDE.items() for name in names.split()}


class SpanSize(NamedTuple):
    """How much room a span of allowed TeX may take, as `safe_tex` budgets it."""

    rows: int
    """Rows: one, plus one per `\\\\` (in an environment, a `\\substack`, or at top level,
    where MathJax 4 breaks the line)."""
    width: float
    """An upper bound of its width in ems, explicit spaces apart: what each character or
    control word that draws can take at most (1.5em, more for long arrows and operator
    names), as if rows, scripts and fractions' parts were all side by side."""
    space: float
    """Its explicit positive spaces, in ems."""
    negative_space: float
    """Its explicit negative spaces (`\\!`...), in ems."""


def safe_tex(tex: str) -> str | None:
    """``tex`` if it is ordinary mathematics under the allow-list and the size budgets, else None.

    ``tex`` is the inside of one span, without its delimiters. None means the span
    should be shown as text, not handed to MathJax.
    """
    size = span_size(tex)
    if size is None or size.rows > MAX_ROWS or size.width + size.space > MAX_WIDTH:
        return None
    if size.space > MAX_SPACE or size.negative_space > MAX_NEGATIVE_SPACE:
        return None
    return tex


def span_size(tex: str) -> SpanSize | None:
    """The room ``tex`` takes, or None if it is not ordinary mathematics under the allow-list."""
    if len(tex) > MAX_LENGTH or not tex.isprintable():
        return None
    if "^^" in tex:
        # TeX itself (a LaTeX build of the same text), unlike MathJax, reads `^^5c` as a
        # backslash before any command is seen: `^^5cinput{...}` is `\input{...}`. A
        # doubled superscript is an error in mathematics anyway.
        return None
    depth = 0
    rows = 1
    width = space = negative_space = 0.0
    position = 0
    while position < len(tex):
        token = _TOKEN.match(tex, position)
        assert token is not None  # `.` with DOTALL matches any character
        text, position = token.group(), token.end()
        if token.lastgroup == "word":
            if text[1:] not in COMMANDS:
                return None
            if text in ("\\begin", "\\end"):
                environment = _ENVIRONMENT.match(tex, position)
                if environment is None or environment.group(1) not in ENVIRONMENTS:
                    return None
                position = environment.end()
            if text in _OPTIONS_REFUSED and _OPTIONS.match(tex, position):
                return None
        elif token.lastgroup == "symbol":
            if text[1:] not in SYMBOLS:
                return None
            if text == "\\\\":
                if _ROW_SPACING.match(tex, position):
                    return None
                rows += 1
        elif text == "{":
            depth += 1
            if depth > MAX_DEPTH:
                return None
        elif text == "}":
            depth -= 1
            if depth < 0:
                return None
        elif text in _REFUSED_CHARACTERS:
            return None
        if text in _SPACE:
            space += _SPACE[text]
        elif text in _NEGATIVE_SPACE:
            negative_space += _NEGATIVE_SPACE[text]
        elif text == " ":
            width += _TEXT_SPACE
        elif text != "\\\\" and text not in _STRUCTURE and text[1:] not in _NO_WIDTH:
            width += _WIDTH.get(text, _DRAWN)
    if depth != 0:
        return None
    return SpanSize(rows, width, space, negative_space)
