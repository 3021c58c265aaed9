"""`find_directives` and `replace_directives`: Markdown in, directives (or Markdown) out."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from mkdocs_arxiv_digest.directive import Directive, find_directives, replace_directives


def found(markdown: str) -> list[tuple[int, list[tuple[str, int]], dict[str, Any]]]:
    """Each directive as (fence line, [(canonical id, page line)], options)."""
    return [(d.line, [(str(arxiv_id), line) for arxiv_id, line in d.ids], d.options) for d in find_directives(markdown)]


def render_ids(directive: Directive) -> str:
    """A stand-in for the digest: two paragraphs, so re-indentation and blank lines show."""
    return "DIGEST " + " ".join(str(arxiv_id) for arxiv_id, _ in directive.ids) + "\n\nEND"


PLAIN_LIST = """\
# Reading list

```arxiv-digest
2403.16584
arXiv:2403.11894          # prefixes, comments and blank lines are fine

# a whole-line comment
https://arxiv.org/abs/2402.19379v2 https://arxiv.org/pdf/2309.12284
hep-th/9901001, 2403.09891,2403.00462
```

After.
"""

YAML_BODY = """\
Intro.

```arxiv-digest
papers:
  - 2403.10010
  - arXiv:2403.16584v2   # a comment
  - https://arxiv.org/abs/hep-th/9901001
  - 1412.8000
language: ja
```
"""

SHOWN_IN_LONGER_FENCE = """\
How to write one:

````markdown
```arxiv-digest
2403.16584
```
````
"""

SHOWN_IN_TILDE_FENCE = """\
~~~
```arxiv-digest
2403.16584
```
~~~
"""

TILDE_DIRECTIVE = """\
~~~arxiv-digest
2403.16584
~~~
"""

LONGER_DIRECTIVE_FENCE = """\
````arxiv-digest
2403.16584
2403.11894
`````
"""

IN_ADMONITION = """\
!!! note "This week"

    ```arxiv-digest
    2403.16584
    2403.11894
    ```

Outside.
"""

TWO_BLOCKS = """\
```arxiv-digest
2403.16584
```

```python
print("```arxiv-digest")
```

```arxiv-digest
papers: [2402.19379]
language: de
```
"""


@pytest.mark.parametrize(
    ("markdown", "expected"),
    [
        pytest.param(
            PLAIN_LIST,
            [
                (
                    3,
                    [
                        ("2403.16584", 4),
                        ("2403.11894", 5),
                        ("2402.19379v2", 8),
                        ("2309.12284", 8),
                        ("hep-th/9901001", 9),
                        ("2403.09891", 9),
                        ("2403.00462", 9),
                    ],
                    {},
                )
            ],
            id="plain-list",
        ),
        pytest.param(
            YAML_BODY,
            [
                (
                    3,
                    [("2403.10010", 5), ("2403.16584v2", 6), ("hep-th/9901001", 7), ("1412.8000", 8)],
                    {"language": "ja"},
                )
            ],
            id="yaml",
        ),
        pytest.param(SHOWN_IN_LONGER_FENCE, [], id="inside-4-backtick-fence"),
        pytest.param(SHOWN_IN_TILDE_FENCE, [], id="inside-tilde-fence"),
        pytest.param(TILDE_DIRECTIVE, [(1, [("2403.16584", 2)], {})], id="tilde-directive"),
        # Closed by a fence at least as long as its own.
        pytest.param(
            LONGER_DIRECTIVE_FENCE, [(1, [("2403.16584", 2), ("2403.11894", 3)], {})], id="4-backtick-directive"
        ),
        pytest.param(IN_ADMONITION, [(3, [("2403.16584", 4), ("2403.11894", 5)], {})], id="in-admonition"),
        pytest.param(
            TWO_BLOCKS,
            [(1, [("2403.16584", 2)], {}), (9, [("2402.19379", 10)], {"language": "de"})],
            id="two-blocks-and-a-code-block",
        ),
        pytest.param("```arxiv-digests\n2403.16584\n```\n", [], id="other-info-string"),
        pytest.param("```python\n2403.16584\n```\n", [], id="code-block"),
        pytest.param("No directive here, just 2403.16584 in prose.\n", [], id="prose"),
    ],
)
def test_find_directives(markdown: str, expected: list[tuple[int, list[tuple[str, int]], dict[str, Any]]]) -> None:
    assert found(markdown) == expected
    assert all(not d.problems for d in find_directives(markdown))


def test_yaml_ids_stay_strings() -> None:
    # Read as YAML floats, 2403.10010 would become 2403.1001 and 1412.8000 would become 1412.8.
    (directive,) = find_directives(YAML_BODY)
    assert [arxiv_id.base for arxiv_id, _ in directive.ids] == [
        "2403.10010",
        "2403.16584",
        "hep-th/9901001",
        "1412.8000",
    ]


def test_directive_position() -> None:
    (directive,) = find_directives(IN_ADMONITION)
    assert (directive.line, directive.start, directive.end, directive.indent) == (3, 2, 6, "    ")


@pytest.mark.parametrize(
    ("markdown", "ids", "problems"),
    [
        pytest.param(
            "```arxiv-digest\npapers:\n  - 2403.10010\nlanguage: ja\ncolour: red\n```\n",
            [("2403.10010", 3)],
            [(5, ["colour"])],
            id="unknown-option",
        ),
        pytest.param(
            "Text.\n\n```arxiv-digest\npapers:\n  - 2403.10010\n language: ja: x\n```\n",
            [],
            [(6, ["invalid YAML"])],
            id="invalid-yaml",
        ),
        pytest.param(
            "```arxiv-digest\npapers: [2403.10010\n```\n",
            [],
            [(2, ["invalid YAML"])],
            id="unclosed-flow-list",
        ),
        pytest.param(
            "```arxiv-digest\nlanguage: ja\npapers: 2403.10010\n```\n",
            [],
            [(3, ["`papers:` must be a list"])],
            id="papers-not-a-list",
        ),
        pytest.param(
            "```arxiv-digest\npapers:\n  - id: 2403.10010\n  - 2403.16584\n```\n",
            [("2403.16584", 4)],
            [(3, ["one arXiv identifier"])],
            id="papers-entry-not-an-id",
        ),
        pytest.param(
            "```arxiv-digest\npapers: [2403.10010]\nmodel: [a, b]\n```\n",
            [("2403.10010", 2)],
            [(3, ["'model'", "single value"])],
            id="option-not-a-single-value",
        ),
        pytest.param("```arxiv-digest\n```\n", [], [(1, ["lists no papers"])], id="empty"),
        pytest.param(
            "Text.\n\n```arxiv-digest\n\n# only a comment\n```\n", [], [(3, ["lists no papers"])], id="comments-only"
        ),
        pytest.param(
            "```arxiv-digest\n2403.16584\n2403.1658, abc 2403.11894\n2403.16584v0\n```\n",
            [("2403.16584", 2), ("2403.11894", 3)],
            [(3, ["'2403.1658'", "5 digits"]), (3, ["'abc'"]), (4, ["'2403.16584v0'"])],
            id="malformed-ids-in-list",
        ),
        pytest.param(
            "```arxiv-digest\npapers:\n  - 2403.16584\n  - 2413.12345\nlanguage: ja\n```\n",
            [("2403.16584", 3)],
            [(4, ["'2413.12345'", "year and month"])],
            id="malformed-id-in-yaml",
        ),
        pytest.param(
            "Text.\n\n```arxiv-digest\n2403.16584\n\nAfter.\n",
            [("2403.16584", 4)],
            [(3, ["never closed"]), (6, ["'After.'", "not an arXiv identifier"])],
            id="unclosed-fence",
        ),
        # YAML allows any node as a key; a block's keys are option names.
        pytest.param(
            "```arxiv-digest\npapers: [2403.16584]\n? [language]\n: zh\n```\n",
            [("2403.16584", 2)],
            [(3, ["key", "plain name"])],
            id="complex-key-sequence",
        ),
        pytest.param(
            "```arxiv-digest\npapers: [2403.16584]\n? {language: ja}\n: zh\nlanguage: de\n```\n",
            [("2403.16584", 2)],
            [(3, ["key", "plain name"])],
            id="complex-key-mapping",
        ),
        pytest.param(
            "```arxiv-digest\n[language, model]: zh\npapers: [2403.16584]\n```\n",
            [("2403.16584", 3)],
            [(2, ["key", "plain name"])],
            id="flow-sequence-key",
        ),
        pytest.param(
            "```arxiv-digest\npapers: [2403.16584]\n{language: ja}: zh\n```\n",
            [("2403.16584", 2)],
            [(3, ["key", "plain name"])],
            id="flow-mapping-key",
        ),
        # PyYAML composes recursively: this deep a nesting would exhaust the stack.
        pytest.param(
            "Text.\n\n```arxiv-digest\npapers: " + "[" * 3000 + "]" * 3000 + "\n```\n",
            [],
            [(4, ["invalid YAML", "nested deeper than"])],
            id="deep-flow-nesting",
        ),
        pytest.param(
            "```arxiv-digest\npapers:\n" + "".join("  " * depth + "-\n" for depth in range(12)) + "```\n",
            [],
            [(10, ["invalid YAML", "nested deeper than"])],
            id="deep-block-nesting",
        ),
    ],
)
def test_problems_name_their_line(
    markdown: str, ids: list[tuple[str, int]], problems: list[tuple[int, list[str]]]
) -> None:
    (directive,) = find_directives(markdown)
    assert [(str(arxiv_id), line) for arxiv_id, line in directive.ids] == ids
    # Each problem as expected: its page line, and fragments its message must contain.
    assert [line for line, _ in directive.problems] == [line for line, _ in problems]
    for (_, message), (_, fragments) in zip(directive.problems, problems, strict=True):
        for fragment in fragments:
            assert fragment in message


def test_an_alias_bomb_is_not_expanded() -> None:
    # Nine levels of nine aliases: 9**9 identifiers if expanded. Aliases stay shared nodes
    # and only two levels are read, so each level is one problem, found at once.
    levels = ["a: &a [" + ", ".join(["2403.16584"] * 9) + "]"]
    for name, previous in zip("bcdefghi", "abcdefgh", strict=True):
        levels.append(f"{name}: &{name} [" + ", ".join([f"*{previous}"] * 9) + "]")
    markdown = "```arxiv-digest\n" + "\n".join(levels) + "\npapers: *i\n```\n"

    (directive,) = find_directives(markdown)

    assert directive.ids == []
    messages = [message for _, message in directive.problems]
    assert messages[:9] == [f"option {name!r} must be a single value" for name in "abcdefghi"]
    assert messages[9:] == ["each entry of `papers:` must be one arXiv identifier"] * 9


def test_yaml_tags_construct_nothing(tmp_path: Path) -> None:
    made = tmp_path / "made-by-yaml"
    markdown = (
        "```arxiv-digest\n"
        "papers: [2403.16584]\n"
        f"language: !!python/object/apply:os.mkdir [{made}]\n"
        f"model: !!python/object/apply:os.mkdir [{made}]\n"
        "```\n"
    )

    (directive,) = find_directives(markdown)

    assert not made.exists()
    assert [str(arxiv_id) for arxiv_id, _ in directive.ids] == ["2403.16584"]
    assert directive.problems == [
        (3, "option 'language' must be a single value"),
        (4, "option 'model' must be a single value"),
    ]


def test_unknown_option_does_not_stop_known_ones() -> None:
    (directive,) = find_directives("```arxiv-digest\npapers:\n  - 2403.10010\nlanguage: ja\ncolour: red\n```\n")
    assert directive.options["language"] == "ja"


def test_unknown_option_is_not_kept() -> None:
    (directive,) = find_directives("```arxiv-digest\npapers:\n  - 2403.10010\nlanguage: ja\ncolour: red\n```\n")
    assert directive.options == {"language": "ja"}


def test_unclosed_directive_reaches_the_end_of_the_page() -> None:
    (directive,) = find_directives("Text.\n\n```arxiv-digest\n2403.16584\n")
    assert (directive.line, directive.start, directive.end) == (3, 2, 4)
    assert directive.problems == [(3, "the arxiv-digest block is never closed")]


@pytest.mark.parametrize(
    ("markdown", "expected"),
    [
        pytest.param(
            "# Title  \n\nBefore,\twith a tab.\n\n```arxiv-digest\n2403.16584\n```\n\nAfter.\n",
            "# Title  \n\nBefore,\twith a tab.\n\nDIGEST 2403.16584\n\nEND\n\nAfter.\n",
            id="trailing-newline",
        ),
        pytest.param(
            "Before.\n```arxiv-digest\n2403.16584\n```",
            "Before.\nDIGEST 2403.16584\n\nEND",
            id="no-trailing-newline",
        ),
        pytest.param(
            "```arxiv-digest\n2403.16584\n```\n\n\n",
            "DIGEST 2403.16584\n\nEND\n\n\n",
            id="trailing-blank-lines",
        ),
        pytest.param(
            TWO_BLOCKS,
            'DIGEST 2403.16584\n\nEND\n\n```python\nprint("```arxiv-digest")\n```\n\nDIGEST 2402.19379\n\nEND\n',
            id="two-blocks",
        ),
        pytest.param(
            IN_ADMONITION,
            '!!! note "This week"\n\n    DIGEST 2403.16584 2403.11894\n\n    END\n\nOutside.\n',
            id="re-indented-in-admonition",
        ),
        pytest.param(
            SHOWN_IN_LONGER_FENCE,
            SHOWN_IN_LONGER_FENCE,
            id="nothing-to-replace",
        ),
        pytest.param(
            "Text.\n\n```arxiv-digest\n2403.16584\n",
            "Text.\n\nDIGEST 2403.16584\n\nEND\n",
            id="unclosed",
        ),
    ],
)
def test_replace_directives(markdown: str, expected: str) -> None:
    assert replace_directives(markdown, find_directives(markdown), render_ids) == expected


def test_replace_directives_with_none_found_returns_the_page_unchanged() -> None:
    page = "Text with odd bytes:\r\n\u2028\x0c and no trailing newline"
    assert replace_directives(page, [], render_ids) is page


# Python-Markdown splits a page on "\n" only; str.splitlines also splits on U+2028,
# form feed and other separators, which do occur in text pasted from PDFs.
PASTED_SEPARATORS = (
    "From a PDF:\u2028a line separator,\x0ca form feed.\n\n```arxiv-digest\n2403.16584\n```\nAfter\u2028too.\n"
)


def test_line_numbers_count_only_newlines() -> None:
    (directive,) = find_directives(PASTED_SEPARATORS)
    assert directive.line == 3
    assert [line for _, line in directive.ids] == [4]


def test_replace_keeps_other_line_separators() -> None:
    result = replace_directives(PASTED_SEPARATORS, find_directives(PASTED_SEPARATORS), render_ids)
    assert result == "From a PDF:\u2028a line separator,\x0ca form feed.\n\nDIGEST 2403.16584\n\nEND\nAfter\u2028too.\n"
