"""The README's configuration reference cannot drift from the typed config class."""

from __future__ import annotations

import ast
import re
from pathlib import Path

from mkdocs_arxiv_digest.config import DigestConfig

ROOT = Path(__file__).parent.parent


def option_docstrings() -> dict[str, str]:
    """Each option of `DigestConfig` (and `BlockOptions`) with the docstring under it."""
    tree = ast.parse((ROOT / "mkdocs_arxiv_digest/config.py").read_text(encoding="utf-8"))
    docs: dict[str, str] = {}
    for cls in (node for node in tree.body if isinstance(node, ast.ClassDef)):
        for statement, following in zip(cls.body, cls.body[1:], strict=False):
            if isinstance(statement, ast.Assign) and isinstance(following, ast.Expr):
                docs[statement.targets[0].id] = following.value.value  # type: ignore[attr-defined]
    return docs


def readme_rows() -> dict[str, str]:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    table = readme.split("<!-- config-reference")[1].split("<!-- /config-reference -->")[0]
    return {m.group(1): m.group(0) for m in re.finditer(r"^\| `(\w+)` \|.*$", table, re.MULTILINE)}


def test_every_option_is_documented_where_declared_and_in_the_readme() -> None:
    docs = option_docstrings()
    rows = readme_rows()

    assert set(docs) == {name for name, _option in DigestConfig._schema}
    assert set(rows) == set(docs)
    for name, doc in docs.items():
        first_sentence = doc.split(". ")[0].split(" Default:")[0].rstrip(".")
        assert first_sentence in rows[name], name


def test_readme_defaults_match_the_config() -> None:
    rows = readme_rows()
    config = DigestConfig()
    config.load_dict({})
    config.validate()

    for name, row in rows.items():
        default = config[name]
        if default is not None:
            shown = str(default).lower() if isinstance(default, bool) else str(default)
            assert f"| `{shown}` |" in row, name
