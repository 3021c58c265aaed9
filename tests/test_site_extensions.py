"""Untrusted text stays inert whatever else a site enables (issue 16, findings 1-3).

Real MkDocs builds with the third-party plugins and extensions sites combine with ours:
mkdocs-macros-plugin (a template engine over every page's Markdown) before and after
the digest, `pymdownx.critic`, `magiclink` and arithmatex with other delimiters. The
attackers are a paper's title and abstract on arXiv and the model's reply.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.fakes import FakeArxiv
from tests.helpers import API_KEY, Site, block
from tests.html import digest_tables, parse
from tests.test_render import PYMDOWNX

# Issue 16, finding 1: rendered by mkdocs-macros as unsandboxed Jinja2, this ran a command
# at build time and put the API key in the page.
TEMPLATE = (
    r"Bounds $x {{ lipsum.__globals__['os'].popen('touch PWNED').read() }} y$ hold "
    "{{ lipsum.__globals__['os'].environ['OPENAI_API_KEY'] }} {% if true %}IF-RAN{% endif %} {# gone #}"
)
CRITIC = r"We show $x{++y++}z$*z*{: tabindex=0 autofocus onfocus=alert(1) style=position:fixed;inset:0}$w$ holds."
MAGIC = "Code at www.evil.example and https://evil.example/x, thanks @someone (#12) :smile:."


@pytest.mark.parametrize("order", ["macros-first", "macros-last"])
def test_template_plugins_never_run_text_from_arxiv(site: Site, arxiv_api: FakeArxiv, order: str) -> None:
    arxiv_api.add("2403.16584", "Templates {{ 7 * 7 }} in a title", TEMPLATE)
    site.plugins = ["macros", "arxiv-digest"] if order == "macros-first" else ["arxiv-digest", "macros"]
    site.config["markdown_extensions"] = [{"pymdownx.arithmatex": {"generic": True}}]
    site.page("index.md", "Author's own: {{ 6 * 7 }}\n\n" + block("2403.16584"))

    build = site.build("--strict")

    assert build.returncode == 0, build.log
    html = build.html()
    assert "Author's own: 42" in html  # the template plugin does run on the author's text
    assert not (site.root / "PWNED").exists()
    assert API_KEY not in html, html[html.find(API_KEY) - 300 : html.find(API_KEY) + 50]
    assert ">49<" not in html and " 49 " not in html
    assert "{% if true %}IF-RAN{% endif %}" in html.replace("&#123;", "{").replace("&#125;", "}")
    digest = build.digest()
    assert digest.rows[0].title == "Templates {{ 7 * 7 }} in a title"
    (footnote,) = digest.footnotes.values()
    assert "{{ lipsum.__globals__['os'].environ['OPENAI_API_KEY'] }}" in footnote[-1]
    assert "{{" not in html and "{%" not in html  # braces are references: no later template engine sees code


def inert_attributes(html: str) -> list[tuple[str, str]]:
    """Attributes in the digest (its tables and footnotes) no digest element has: handlers, styles, focus tricks."""
    page = parse(html)
    digest = digest_tables(page) + [div for div in page.iter("div") if div.attrs.get("class") == "footnote"]
    assert digest
    return [
        (element.tag, name)
        for part in digest
        for element in part.iter()
        for name in element.attrs
        if name.startswith("on") or name in ("style", "tabindex", "autofocus")
    ]


def test_critic_magiclink_and_every_pymdown_extension_leave_text_inert(site: Site, arxiv_api: FakeArxiv) -> None:
    arxiv_api.add("2403.16584", f"Critic {CRITIC}", f"{CRITIC} {MAGIC}")
    configs = {"pymdownx.arithmatex": {"generic": True}, "pymdownx.critic": {"mode": "view"}}
    extensions = ["attr_list", "md_in_html", "abbr", "def_list", "toc", *PYMDOWNX]
    site.config["markdown_extensions"] = [{name: configs[name]} if name in configs else name for name in extensions]
    site.page("index.md", block("2403.16584") + "\nThe author's www.example.org is linked.\n")

    build = site.build("--strict")

    assert build.returncode == 0, build.log
    html = build.html()
    assert inert_attributes(html) == []
    hrefs = {a.attrs.get("href") for a in parse(html).iter("a")}
    assert "http://www.example.org" in hrefs  # magiclink works on the author's text...
    assert not [h for h in hrefs if h and "evil" in h]  # ...and never on arXiv's
    (footnote,) = build.digest().footnotes.values()
    assert "www.evil.example" in footnote[-1] and "{: tabindex=0 autofocus" in footnote[-1]


def test_arithmatex_with_round_delimiters_only(site: Site, arxiv_api: FakeArxiv) -> None:
    # Finding 3: with `inline_syntax: [round]`, dollars were plain Markdown and `<em onclick>` appeared.
    arxiv_api.add("2403.16584", "Round", r"We prove $x$*y*{: onclick=alert(1)}$z$ and $\frac{a}{b}$.")
    site.config["markdown_extensions"] = [
        "attr_list",
        {"pymdownx.arithmatex": {"generic": True, "inline_syntax": ["round"]}},
    ]
    site.page("index.md", block("2403.16584"))

    build = site.build("--strict")

    assert build.returncode == 0, build.log
    assert inert_attributes(build.html()) == []
    spans = [s.text for s in build.digest().page.iter("span") if "arithmatex" in s.attrs.get("class", "")]
    assert r"\(\frac{a}{b}\)" in spans


def test_the_test_extras_install_the_template_plugin_these_tests_run() -> None:
    # mkdocs-macros-plugin is what the tests above run: it must be in the test extras.
    pyproject = (Path(__file__).parents[1] / "pyproject.toml").read_text(encoding="utf-8")
    assert "mkdocs-macros-plugin" in pyproject
