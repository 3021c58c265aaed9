"""Hostile TeX in a real browser: a built site, MathJax 3 served locally, Chromium.

MathJax is the real attack surface of math: `\\href`, `\\style`, `\\class`... are
harmless strings until MathJax turns them into links and styles. So these tests run the
real MathJax (from the npm registry, `npm pack mathjax@3`) on a site built with
arithmatex as the README configures it, and look at what a reader could click.
"""

from __future__ import annotations

import contextlib
import re
import shutil
import subprocess
import tarfile
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from filelock import FileLock

from mkdocs_arxiv_digest.tex import COMMANDS, ENVIRONMENTS, SYMBOLS, safe_tex
from tests.browser import browser_page, needs_chromium, serve
from tests.fakes import FakeArxiv
from tests.helpers import Site, block

# The MathJax configuration Material for MkDocs documents for arithmatex's generic mode
# (example_site/docs/javascripts/mathjax.js), without two things: Material's re-typeset
# on page change, which served from 127.0.0.1 races MathJax's autoloading of the
# extension `\href` needs and hides the attack by luck of timing; and `ui/safe`, which
# would hide whether the plugin itself keeps hostile TeX from MathJax.
MATHJAX_CONFIG = r"""window.MathJax = {
  tex: { inlineMath: [["\\(", "\\)"]], displayMath: [["\\[", "\\]"]], processEscapes: true, processEnvironments: true },
  options: { ignoreHtmlClass: ".*|", processHtmlClass: "arithmatex" },
  loader: { paths: { fonts: new URL("mathjax/fonts", document.baseURI).href } },
};
"""
# (`loader.paths.fonts`: where MathJax 4 finds its font's files, served from 127.0.0.1
# instead of its CDN; MathJax 3 has no use for it.)

TITLE_MATH = r"$O(n^2)$"
# Math as abstracts write it: it must still be typeset.
ORDINARY = [r"$66.4\%$", r"$\mathbb{R}^d$", r"$\tilde{O}(1/\sqrt{T})$", r"$\|x\|_2 \le 1$", r"$p < 0.05$"]
# The attacks of issue 8: a script link, a link covering the page, the other commands
# of MathJax's html/unicode extensions, loading code, and redefining a command that
# ordinary math after it uses.
HOSTILE = [
    r"$\href{javascript:alert(document.domain)}{\text{[PDF]}}$",
    r"$\style{position:fixed;top:0;left:0;width:100vw;height:100vh;z-index:9999}{\href{https://evil.example}{\text{Click}}}$",
    r"$\class{md-header}{x}\cssId{__proto__}{y}\data{x=1}{z}$",
    r"$\unicode[Comic Sans MS]{x41}\require{cancel}\mmlToken{mi}[href='javascript:alert(2)']{w}$",
    r"$\gdef\sqrt#1{\href{javascript:alert(3)}{#1}}$",
]


def fetch_mathjax(major: str, request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The directory of MathJax ``major``'s `tex-mml-chtml.js`, from the npm registry once, then from pytest's cache.

    MathJax 3 ships its browser files in `es5/`; MathJax 4 at the package's top, and
    loads its font's files at run time: they go in its `fonts/` (see `MATHJAX_CONFIG`).
    """
    store = getattr(request.config, "cache", None)  # none under `-p no:cacheprovider`: fetch for this run
    cache = Path(store.mkdir(f"mathjax-{major}")) if store is not None else tmp_path_factory.mktemp(f"mathjax-{major}")
    directory = cache / ("mathjax/es5" if major == "3" else "mathjax")
    complete = cache / "complete"  # written last: another worker's fetch half done is not taken
    with FileLock(cache / "fetch.lock"):  # xdist workers share pytest's cache: one fetches, the others wait
        if complete.is_file() or _unpacked(directory, major):  # the second: fetched before the mark was written
            complete.touch()
            return directory
        shutil.rmtree(cache / "mathjax", ignore_errors=True)
        npm_unpack(f"mathjax@{major}", cache / "mathjax")
        if major == "4":
            npm_unpack("@mathjax/mathjax-newcm-font@4", directory / "fonts/mathjax-newcm-font")
        complete.touch()
    return directory


def _unpacked(directory: Path, major: str) -> bool:
    """Whether MathJax ``major`` is whole in ``directory`` (its script, and MathJax 4's font)."""
    font = directory / "fonts/mathjax-newcm-font"
    return (directory / "tex-mml-chtml.js").is_file() and (major == "3" or font.is_dir())


def npm_unpack(package: str, destination: Path) -> None:
    """The files of the npm ``package`` in ``destination``; skips the test where npm cannot fetch it."""
    npm = shutil.which("npm")
    if npm is None:
        pytest.skip("no npm on this machine: MathJax cannot be fetched (apt-get install npm)")
    with tempfile.TemporaryDirectory() as download:
        result = subprocess.run(
            [npm, "pack", package, "--pack-destination", download], capture_output=True, text=True, timeout=300
        )
        tarballs = list(Path(download).glob("*.tgz"))
        if result.returncode != 0 or len(tarballs) != 1:
            pytest.skip(f"npm could not fetch {package} ({' '.join(result.stderr.split()[:6])})")
        with tarfile.open(tarballs[0]) as archive:
            # Files and directories under package/ only: Debian 12's Python (3.11.2) has no
            # extraction filter, later ones warn (an error here) without one.
            members = [
                member
                for member in archive.getmembers()
                if (member.isfile() or member.isdir())
                and member.name.startswith("package/")
                and ".." not in member.name.split("/")
            ]
            if hasattr(tarfile, "data_filter"):
                archive.extractall(download, members=members, filter="data")
            else:
                archive.extractall(download, members=members)
        destination.parent.mkdir(parents=True, exist_ok=True)
        shutil.move(Path(download) / "package", destination)


@pytest.fixture(scope="session")
def mathjax(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """MathJax 3's `es5` directory."""
    return fetch_mathjax("3", request, tmp_path_factory)


@pytest.fixture(scope="session", params=["3", "4"])
def any_mathjax(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """MathJax 3's, then MathJax 4's, directory of `tex-mml-chtml.js`."""
    return fetch_mathjax(request.param, request, tmp_path_factory)


@contextlib.contextmanager
def typeset_page(url: str, dialogs: list[str]) -> Iterator[Any]:
    """Chromium showing ``url`` once MathJax has typeset it; alerts and confirms go to ``dialogs``."""
    with browser_page() as page:

        def record(dialog: Any) -> None:
            dialogs.append(dialog.message)
            dialog.dismiss()

        page.on("dialog", record)
        page.goto(url)
        page.wait_for_function("() => window.MathJax && MathJax.startup && MathJax.startup.promise")
        page.evaluate("() => MathJax.startup.promise")
        page.wait_for_load_state("networkidle")  # extensions MathJax autoloads for a command
        yield page


@pytest.fixture
def hostile_site(site: Site, arxiv_api: FakeArxiv, mathjax: Path) -> Iterator[str]:
    """A site with MathJax as the README configures it, whose one paper carries hostile TeX; its URL."""
    built = mathjax_site(site, arxiv_api, mathjax, " and ".join(HOSTILE + ORDINARY) + ".", MATHJAX_CONFIG)
    with serve(built) as url:
        yield url


# Elements a reader would meet instead of the page: fixed or absolute boxes covering
# more than half the viewport.
COVERING = """() => [...document.querySelectorAll('*')].filter(e => {
  const style = getComputedStyle(e), box = e.getBoundingClientRect();
  return ['fixed', 'absolute'].includes(style.position)
    && box.width * box.height > innerWidth * innerHeight / 2;
}).map(e => e.outerHTML.slice(0, 200))"""
CLICK_ALL = """l => l.map(e => {
  e.dispatchEvent(new MouseEvent('click', { bubbles: true, cancelable: true }));
  return e.outerHTML.slice(0, 200);
})"""


@needs_chromium
def test_hostile_tex_is_inert_under_mathjax(hostile_site: str) -> None:
    dialogs: list[str] = []
    with typeset_page(hostile_site, dialogs) as page:
        spans = page.locator(".arithmatex").count()
        typeset = page.locator(".arithmatex mjx-container").count()
        in_table = page.locator("table .arithmatex mjx-container").count()
        links = page.eval_on_selector_all("mjx-container a, mjx-container [href]", "l => l.map(a => a.outerHTML)")
        covering = page.evaluate(COVERING)
        text = page.locator("body").inner_text()
        # Clicking what an attacker would have us click runs nothing.
        script_links = page.eval_on_selector_all('[href^="javascript:"]', CLICK_ALL)
        page.wait_for_timeout(200)

    # Ordinary math is typeset: the title's in the table and the footnote, the
    # summary's (the fake model quotes the title) likewise, and the abstract's.
    assert spans == typeset == 4 + len(ORDINARY)
    assert in_table == 2
    # Nothing MathJax made is a link, and none of it covers the page.
    assert script_links == []
    assert links == []
    assert covering == []
    assert dialogs == []
    # The reader sees the hostile TeX as what it is: text.
    assert r"$\href{javascript:alert(document.domain)}{\text{[PDF]}}$" in text
    assert r"$\style{position:fixed;" in text


# One at a time: concurrent conversions race MathJax's autoloading of an extension.
TO_MATHML = """async cases => {
  const mathml = {};
  for (const tex of cases) mathml[tex] = await MathJax.tex2mmlPromise(tex);
  return mathml;
}"""
FORBIDDEN_ATTRIBUTES = {"href", "style", "class", "id", "mathcolor", "mathbackground", "fontfamily", "color"}


@needs_chromium
def test_every_allowed_command_is_plain_math_in_mathjax(any_mathjax: Path, tmp_path: Path) -> None:
    """The allow-list against the real MathJax 3 and 4: each command is known and makes no link, style or id.

    With a bracketed option too, wherever `safe_tex` lets one through (issue 16.4).
    """
    (tmp_path / "mathjax").symlink_to(any_mathjax, target_is_directory=True)
    (tmp_path / "index.html").write_text(
        "<!doctype html><script>window.MathJax = {startup: {typeset: false}};</script>"
        '<script src="mathjax/tex-mml-chtml.js"></script>',
        encoding="utf-8",
    )
    cases = [f"\\{name}{{javascript:a}}{{b}}" for name in sorted(COMMANDS - {"begin", "end"})]
    cases += [f"\\{symbol}" for symbol in sorted(SYMBOLS)]
    cases += [f"\\begin{{{name}}}a&b\\\\c&d\\end{{{name}}}" for name in sorted(ENVIRONMENTS)]
    options = [f"\\{name}[mathcolor=red,mathbackground=red,data-x=1]{{a}}{{b}}" for name in sorted(COMMANDS)]
    options += [f"\\begin{{{name}}}[baseline 9]a\\end{{{name}}}" for name in sorted(ENVIRONMENTS)]
    cases += [tex for tex in options if safe_tex(tex) is not None]
    dialogs: list[str] = []
    with serve(tmp_path) as url, typeset_page(url, dialogs) as page:
        mathml: dict[str, str] = page.evaluate(TO_MATHML, cases)

    problems = {}
    for tex, markup in mathml.items():
        attributes = set(re.findall(r"\s([\w:-]+)=", markup))
        # MathJax's own data attributes: `data-mjx-*`, and MathJax 4's `data-latex` (the
        # source), `data-semantic-*` (its speech rule engine's enrichment) and
        # `data-break-align` (set by `aligned`, `split` and `gathered` whatever the input).
        own = ("data-mjx-", "data-semantic-", "data-latex", "data-break-align")
        made = (attributes & FORBIDDEN_ATTRIBUTES) | {
            a for a in attributes if a.startswith("data-") and not a.startswith(own)
        }
        # An unknown command is shown in red (`noundefined`): not harmful, but not math either.
        if made or re.search(r"<(maction|mglyph|semantics|annotation)", markup):
            problems[tex] = markup
    assert sorted(problems) == []
    assert dialogs == []


def readme_mathjax_config() -> str:
    readme = (Path(__file__).parent.parent / "README.md").read_text(encoding="utf-8")
    blocks: list[str] = re.findall(r"```js\n(.*?)```", readme, re.DOTALL)
    (config,) = [block for block in blocks if "window.MathJax" in block]
    return config


@needs_chromium
def test_the_readme_mathjax_config_filters_tex_the_plugin_did_not_write(mathjax: Path, tmp_path: Path) -> None:
    """`ui/safe`, as the README configures it, defuses hostile TeX on a site's own pages."""
    (tmp_path / "mathjax").symlink_to(mathjax, target_is_directory=True)
    spans = "".join(f'<p><span class="arithmatex">\\({tex[1:-1]}\\)</span></p>' for tex in [*HOSTILE[:3], TITLE_MATH])
    (tmp_path / "index.html").write_text(
        f"<!doctype html><body>{spans}<script>{readme_mathjax_config()}</script>"
        '<script src="mathjax/tex-mml-chtml.js"></script></body>',
        encoding="utf-8",
    )
    dialogs: list[str] = []
    with serve(tmp_path) as url, typeset_page(url, dialogs) as page:
        typeset = page.locator(".arithmatex mjx-container").count()
        hrefs = page.eval_on_selector_all("mjx-container [href]", "l => l.map(e => e.getAttribute('href'))")
        marked = page.eval_on_selector_all("mjx-container .md-header, mjx-container [id]", "l => l.length")
        covering = page.evaluate(COVERING)
        script_links = page.eval_on_selector_all('[href^="javascript:"]', CLICK_ALL)
        page.wait_for_timeout(200)

    assert typeset == 4
    assert script_links == []
    assert hrefs == ["https://evil.example"] * len(hrefs)  # ui/safe keeps http(s) links: the allow-list does not
    assert marked == 0
    assert covering == []
    assert dialogs == []


# Layout attacks within the old allow-list (issue 16.12) and an option of `\cancel` that
# MathJax turns into attributes (issue 16.4): a smashed 30-row matrix over what is
# above, an opaque 80em box, 70 `\qquad` making the page wider than the window, 240 `\!`
# moving text 40em left.
LAYOUT_HOSTILE = [
    r"$\smash{\begin{matrix}" + r"x \\ " * 29 + r"x\end{matrix}}$",
    r"$\cancel[mathbackground=white,mathcolor=white,data-padding=40em]{}$",
    "$" + r"\qquad " * 70 + "x$",
    "$" + r"\! " * 240 + "x$",
]
# What MathJax drew outside the block (paragraph, cell, list item) that holds the math,
# beyond what a tall fraction or a big operator of ordinary math overhangs.
OUT_OF_PLACE = """() => [...document.querySelectorAll('mjx-container')].flatMap(container => {
  const block = container.parentElement.closest('p, li, td, th, dd, div') || document.body;
  const bounds = block.getBoundingClientRect();
  return [...container.querySelectorAll('*')].filter(element => {
    if (element.closest('mjx-assistive-mml')) return false;
    const box = element.getBoundingClientRect();
    if (box.width === 0 || box.height === 0) return false;
    return box.left < bounds.left - 4 || box.right > bounds.right + 4
      || box.top < bounds.top - 24 || box.bottom > bounds.bottom + 24;
  }).map(element => element.tagName.toLowerCase() + ' in ' + container.textContent.slice(0, 30));
})"""


def mathjax_site(site: Site, arxiv_api: FakeArxiv, mathjax: Path, abstract: str, config: str) -> Path:
    """A built site whose one paper has ``abstract``, MathJax from ``mathjax`` set up by ``config``: its folder."""
    arxiv_api.add("2403.16584", f"Sorting in {TITLE_MATH} time", abstract)
    site.config |= {
        "markdown_extensions": ["footnotes", "tables", {"pymdownx.arithmatex": {"generic": True}}],
        "extra_javascript": ["javascripts/mathjax.js", "mathjax/tex-mml-chtml.js"],
    }
    site.page("index.md", "# Reading list\n\n" + block("2403.16584"))
    site.page("javascripts/mathjax.js", config)
    build = site.build("--strict")
    assert build.returncode == 0, build.log
    (build.site / "mathjax").symlink_to(mathjax, target_is_directory=True)
    return build.site


@needs_chromium
def test_hostile_layout_stays_in_its_place(site: Site, arxiv_api: FakeArxiv, any_mathjax: Path) -> None:
    """No span draws over the page or widens it, with MathJax 3 and 4 and no `ui/safe`."""
    built = mathjax_site(site, arxiv_api, any_mathjax, " and ".join(LAYOUT_HOSTILE + ORDINARY) + ".", MATHJAX_CONFIG)
    dialogs: list[str] = []
    with serve(built) as url, typeset_page(url, dialogs) as page:
        typeset = page.locator(".arithmatex mjx-container").count()
        out_of_place = page.evaluate(OUT_OF_PLACE)
        covering = page.evaluate(COVERING)
        widths = page.evaluate("() => [document.documentElement.scrollWidth, innerWidth]")
        text = page.locator("body").inner_text()

    assert out_of_place == []
    assert covering == []
    assert widths[0] <= widths[1]
    assert typeset == 4 + len(ORDINARY)  # the ordinary math is still typeset
    assert r"$\smash{\begin{matrix}" in text  # the hostile spans read as text


# MathJax's own defaults: `\(...\)`, `\[...\]`, `$$...$$` and `\begin{...}` typeset anywhere
# in the page's text (the browser decodes `&#92;` before MathJax reads it). Only the font
# path is set, for MathJax 4 to find its fonts on 127.0.0.1.
DEFAULT_MATHJAX_CONFIG = r"""window.MathJax = {
  loader: { paths: { fonts: new URL("mathjax/fonts", document.baseURI).href } },
};
"""
# Issue 16, finding 5: text outside the digest's math spans, delimited for a page-wide MathJax.
PAGE_WIDE = [
    r"\(\href{javascript:alert(1)}{\text{[PDF]}}\)",
    r"$$\style{position:fixed;top:0;left:0;width:100vw;height:100vh}{\href{https://evil.example}{x}}$$",
    r"\begin{equation}\href{javascript:alert(2)}{y}\end{equation}",
    r"\[\class{md-header}{z}\]",
]


@needs_chromium
def test_text_outside_math_is_not_typeset_by_a_page_wide_mathjax(
    site: Site, arxiv_api: FakeArxiv, any_mathjax: Path
) -> None:
    built = mathjax_site(site, arxiv_api, any_mathjax, " and ".join(PAGE_WIDE + ORDINARY) + ".", DEFAULT_MATHJAX_CONFIG)
    dialogs: list[str] = []
    with serve(built) as url, typeset_page(url, dialogs) as page:
        typeset = page.locator("mjx-container").count()
        in_spans = page.locator(".arithmatex mjx-container").count()
        links = page.eval_on_selector_all("mjx-container a, mjx-container [href]", "l => l.map(a => a.outerHTML)")
        covering = page.evaluate(COVERING)
        script_links = page.eval_on_selector_all('[href^="javascript:"]', CLICK_ALL)
        page.wait_for_timeout(200)
        text = page.locator("body").inner_text()

    # Only the digest's own math is typeset (title in table and footnote, summary likewise, the abstract's).
    assert typeset == in_spans == 4 + len(ORDINARY)
    assert links == [] and covering == [] and script_links == [] and dialogs == []
    assert r"\(\href{javascript:alert(1)}{\text{[PDF]}}\)" in text
