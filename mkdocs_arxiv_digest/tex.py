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
"""

from __future__ import annotations

import re

MAX_LENGTH = 500
"""Longest span kept as math; arXiv's whole abstract is limited to 1920 characters."""
MAX_DEPTH = 10
"""Deepest nesting of braces kept as math."""

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
    not cancel bcancel xcancel cancelto boxed phantom hphantom vphantom smash mathstrut strut
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


def safe_tex(tex: str) -> str | None:
    """``tex`` if it is ordinary mathematics under the allow-list, else None.

    ``tex`` is the inside of one span, without its delimiters. None means the span
    should be shown as text, not handed to MathJax.
    """
    if len(tex) > MAX_LENGTH or not tex.isprintable():
        return None
    if "^^" in tex:
        # TeX itself (a LaTeX build of the same text), unlike MathJax, reads `^^5c` as a
        # backslash before any command is seen: `^^5cinput{...}` is `\input{...}`. A
        # doubled superscript is an error in mathematics anyway.
        return None
    depth = 0
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
        elif token.lastgroup == "symbol":
            if text[1:] not in SYMBOLS or (text == "\\\\" and _ROW_SPACING.match(tex, position)):
                return None
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
    return tex if depth == 0 else None
