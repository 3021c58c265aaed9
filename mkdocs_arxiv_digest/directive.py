"""Find ``arxiv-digest`` fenced blocks in Markdown and read their bodies.

A body is either a list of identifiers (one or more per line, ``#`` comments, blank
lines) or a YAML mapping with ``papers:`` and per-block options — or, instead of
``papers:``, a ``query:`` (see `queries`), whose IDs come from its pin. Fences are tracked
the CommonMark way, so a directive shown inside a longer fence (documentation of the
syntax) is content, not a directive.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import yaml

from mkdocs_arxiv_digest.config import Settings, check_options
from mkdocs_arxiv_digest.errors import InvalidIdError
from mkdocs_arxiv_digest.ids import ArxivId, parse_id
from mkdocs_arxiv_digest.models import DigestRequest

if TYPE_CHECKING:
    from mkdocs_arxiv_digest.queries import Query

INFO_STRING = "arxiv-digest"
NO_PAPERS = "the arxiv-digest block lists no papers"

_FENCE = re.compile(r"^(?P<indent>[ \t]*)(?P<fence>`{3,}|~{3,})(?P<info>.*)$")
_COMMENT = re.compile(r"(?:^|\s)#.*$")
# A YAML body starts a line with `key:` — but `arXiv:2403.16584` and URLs do too.
_YAML_KEY = re.compile(r"^(?!(?:arxiv|https?)\s*:)[A-Za-z_][\w-]*\s*:(?:\s|$)", re.IGNORECASE)
# A block needs two levels (the mapping, the `papers:` list); deeper is an error anyway, and
# PyYAML's composer recurses once per level, so `[[[[...` would exhaust the Python stack.
_MAX_DEPTH = 8


@dataclass
class Directive:
    """One ``arxiv-digest`` block: what it asks for and where it sits in the page."""

    line: int
    """1-based line of the opening fence in the page."""
    start: int
    """0-based index of the opening fence line."""
    end: int
    """0-based index one past the closing fence line."""
    indent: str
    """Indentation of the fence (inside admonitions, lists, tabs)."""
    ids: list[tuple[ArxivId, int]] = field(default_factory=list)
    """Requested papers in the author's order, each with its 1-based page line."""
    options: dict[str, Any] = field(default_factory=dict)
    """Per-block options, validated against `BlockOptions`."""
    problems: list[tuple[int, str]] = field(default_factory=list)
    """(page line, message) for everything that could not be read."""
    query: Query | None = None
    """The block's `query:`, if it runs one instead of listing papers: `ids` then come from its pin."""
    query_line: int = 0
    """1-based page line of the `query:` option: where its problems and its papers are placed."""
    pinned: bool = False
    """Whether `ids` were filled from the query's pin (`queries.QueryPins.pin`)."""
    pinned_at: float | None = None
    """When the query whose result it shows ran (epoch seconds)."""


def find_directives(markdown: str) -> list[Directive]:
    """Every top-level ``arxiv-digest`` block in the page, in order."""
    lines = markdown.split("\n")  # as Python-Markdown does: only \n ends a line
    found: list[Directive] = []
    opened: re.Match[str] | None = None
    opened_at = 0
    for index, line in enumerate(lines):
        if opened is None:
            match = _FENCE.match(line)
            if match and not (match["fence"][0] == "`" and "`" in match["info"]):
                opened, opened_at = match, index
            continue
        if _closes(line, opened):
            if _is_directive(opened):
                found.append(_read_block(lines, opened, opened_at, index + 1, closed=True))
            opened = None
    if opened is not None and _is_directive(opened):
        # It runs to the end of the page, short of the empty string after a final newline.
        end = len(lines) - 1 if len(lines) > opened_at + 1 and lines[-1] == "" else len(lines)
        directive = _read_block(lines, opened, opened_at, end, closed=False)
        directive.problems.insert(0, (opened_at + 1, "the arxiv-digest block is never closed"))
        found.append(directive)
    return found


def replace_directives(markdown: str, directives: list[Directive], render: Callable[[Directive], str]) -> str:
    """Replace each of the page's ``directives`` by ``render(directive)``, re-indented to its place."""
    if not directives:
        return markdown
    lines = markdown.split("\n")
    out: list[str] = []
    cursor = 0
    for directive in directives:
        out.extend(lines[cursor : directive.start])
        rendered = render(directive)
        out.extend(directive.indent + row if row else row for row in rendered.splitlines())
        cursor = directive.end
    out.extend(lines[cursor:])
    return "\n".join(out)


def directive_language(directive: Directive, settings: Settings) -> str:
    return str(directive.options.get("language") or settings.language)


def requests_of(directive: Directive, settings: Settings) -> list[DigestRequest]:
    """What a directive asks for: its papers, in its language, by its model."""
    language = directive_language(directive, settings)
    model = directive.options.get("model") or settings.model
    return [DigestRequest(arxiv_id, language, model) for arxiv_id, _line in directive.ids]


def _closes(line: str, opened: re.Match[str]) -> bool:
    fence = opened["fence"]
    stripped = line.strip()
    return len(stripped) >= len(fence) and stripped == fence[0] * len(stripped)


def _is_directive(opened: re.Match[str]) -> bool:
    info = opened["info"].split()
    return bool(info) and info[0] == INFO_STRING


def read_body(body: list[str], first_line: int, directive: Directive | None = None) -> Directive:
    """Read a directive's body: its lines, the first on page line ``first_line``.

    Used for fenced blocks here, and for Sphinx's reST/MyST directives, which hand over
    their body as lines; ``directive`` carries where the block sits, if known.
    """
    directive = directive or Directive(line=max(first_line - 1, 1), start=0, end=0, indent="")
    if any(_YAML_KEY.match(line) for line in body):
        # Options, then IDs as in a plain list (`language: en` over bare IDs) is not YAML, and
        # would lose the whole block: the IDs are read apart, and the block says where they go.
        bare = [index for index, line in enumerate(body) if _is_bare_ids(line)]
        _read_yaml(directive, "\n".join("" if index in bare else line for index, line in enumerate(body)), first_line)
        if bare:
            for index in bare:
                _read_lines(directive, [body[index]], first_line + index)
            directive.ids.sort(key=lambda found: found[1])
            example = next((str(arxiv_id) for arxiv_id, line in directive.ids if line == first_line + bare[0]), "ID")
            directive.problems.append(
                (
                    first_line + bare[0],
                    "papers outside `papers:`: a block with options lists its papers under `papers:`, "
                    f"one `- {example}` a line (read as such)",
                )
            )
    else:
        _read_lines(directive, body, first_line)
    if not directive.ids and not directive.problems and directive.query is None:
        directive.problems.append((directive.line, NO_PAPERS))
    return directive


def _read_block(lines: list[str], opened: re.Match[str], start: int, end: int, *, closed: bool) -> Directive:
    indent = opened["indent"]
    body = [_dedent(line, indent) for line in lines[start + 1 : end - 1 if closed else end]]
    return read_body(body, start + 2, Directive(line=start + 1, start=start, end=end, indent=indent))


def _dedent(line: str, indent: str) -> str:
    return line[len(indent) :] if line.startswith(indent) else line.lstrip()


def _read_lines(directive: Directive, body: list[str], first_line: int) -> None:
    for offset, line in enumerate(body):
        for token in re.split(r"[\s,]+", _COMMENT.sub("", line)):
            if token:
                _add_id(directive, token, first_line + offset)


def _is_bare_ids(line: str) -> bool:
    """Whether a line of a YAML body is IDs as a plain list writes them: not indented, no key, no `-`."""
    text = _COMMENT.sub("", line)
    if not text.strip() or text[0].isspace() or text[0] == "-" or _YAML_KEY.match(text):
        return False
    for token in re.split(r"[\s,]+", text.strip()):
        try:
            parse_id(token)
        except InvalidIdError:
            continue
        return True  # one ID makes it a line of IDs; its other words are reported as `_read_lines` does
    return False


def _add_id(directive: Directive, text: str, line: int) -> None:
    try:
        directive.ids.append((parse_id(text), line))
    except InvalidIdError as error:
        directive.problems.append((line, f"skipped {error.text!r}: {error.reason}"))


def _read_yaml(directive: Directive, text: str, first_line: int) -> None:
    try:
        root = _compose(text)
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        line = first_line + mark.line if mark else directive.line
        problem = getattr(error, "problem", None) or str(error)
        directive.problems.append((line, f"invalid YAML in the arxiv-digest block: {problem}"))
        return
    if not isinstance(root, yaml.MappingNode):
        directive.problems.append((first_line, "a YAML arxiv-digest block must be a mapping with `papers:`"))
        return
    options: dict[str, tuple[Any, int]] = {}
    papers_line = 0
    for key_node, value_node in root.value:
        line = first_line + key_node.start_mark.line
        if not isinstance(key_node, yaml.ScalarNode):  # `? [language]` or `{a: b}: x`: YAML allows it, we do not
            directive.problems.append((line, "each key of a YAML arxiv-digest block must be a plain name"))
            continue
        if key_node.value != "papers":
            if isinstance(value_node, yaml.ScalarNode):
                options[key_node.value] = (value_node.value, line)
            else:
                directive.problems.append((line, f"option {key_node.value!r} must be a single value"))
            continue
        papers_line = line
        if not isinstance(value_node, yaml.SequenceNode):
            directive.problems.append((line, "`papers:` must be a list of arXiv identifiers"))
            continue
        for item in value_node.value:
            item_line = first_line + item.start_mark.line
            if isinstance(item, yaml.ScalarNode):
                _add_id(directive, item.value, item_line)
            else:
                directive.problems.append((item_line, "each entry of `papers:` must be one arXiv identifier"))
    directive.options = _validate_options(options, directive)
    _read_query(directive, options, papers_line)


def add_query_options(directive: Directive, options: dict[str, str], line: int) -> None:
    """A query's options set outside the body (reST/MyST ``:query:``), on page line ``line``; checked as the body's are."""
    given = {name: (value, line) for name, value in options.items()}
    directive.options.update(_validate_options(given, directive))
    if "query" in directive.options and not directive.ids:
        directive.problems = [problem for problem in directive.problems if problem[1] != NO_PAPERS]
    _read_query(directive, given, 0)


def _read_query(directive: Directive, options: dict[str, tuple[Any, int]], papers_line: int) -> None:
    """Move the query's options out of `Directive.options` into `Directive.query`."""
    from mkdocs_arxiv_digest import queries  # only blocks with YAML options: most pages have none

    values = {name: directive.options.pop(name) for name in queries.QUERY_OPTIONS if name in directive.options}
    if "query" not in values:
        for name in values:
            directive.problems.append((options[name][1], f"option {name!r} belongs to a `query:`, and there is none"))
        return
    if papers_line or directive.ids:
        line = papers_line or directive.ids[0][1]
        directive.problems.append(
            (line, "a block lists `papers:` or runs a `query:`, not both: the papers are shown, the query is not run")
        )
        return
    directive.query_line = options["query"][1]
    directive.query = queries.Query(
        values["query"], values.get("max", queries.DEFAULT_MAX), values.get("sort", "submitted"), values.get("refresh")
    )


def _compose(text: str) -> yaml.Node | None:
    """The block's YAML as a node graph: nothing is constructed, so tags are inert text.

    BaseLoader keeps every scalar a string (`2403.10010` must not become a float). Aliases
    stay shared nodes, never expanded copies, and only two levels are read, so an alias
    bomb costs what its text costs. Nesting is bounded before composing (see `_MAX_DEPTH`).
    """
    depth = 0
    for event in yaml.parse(text, Loader=yaml.BaseLoader):
        if isinstance(event, yaml.CollectionStartEvent):
            depth += 1
            if depth > _MAX_DEPTH:
                raise _TooDeepError(event.start_mark.line if event.start_mark else 0)
        elif isinstance(event, yaml.CollectionEndEvent):
            depth -= 1
    return yaml.compose(text, Loader=yaml.BaseLoader)


class _TooDeepError(yaml.YAMLError):
    def __init__(self, line: int) -> None:
        super().__init__(f"nested deeper than {_MAX_DEPTH} levels")
        self.problem = str(self)
        self.problem_mark = yaml.Mark("", 0, line, 0, "", 0)


def _validate_options(options: dict[str, tuple[Any, int]], directive: Directive) -> dict[str, Any]:
    """Options checked by the same typed config as the plugin's; problems name their line.

    One at a time: MkDocs' validation stops at the first invalid option, leaving the
    options after it unchecked (a `sort: oldest` after a bad `max:` would be used as is).
    """
    from mkdocs_arxiv_digest.queries import BlockYamlOptions  # see `_read_query`

    known = {name for name, _option in BlockYamlOptions._schema}
    usable: dict[str, Any] = {}
    for name, (value, line) in options.items():
        config, errors, warnings = check_options(BlockYamlOptions, {name: value})
        for _name, message in [*errors, *warnings]:
            directive.problems.append((line, f"option {name!r}: {message}"))
        if name in known and not errors and config[name] is not None:
            usable[name] = config[name]
    return usable
