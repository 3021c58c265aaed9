"""The README's configuration reference cannot drift from the typed config class."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import yaml

from mkdocs_arxiv_digest.config import DEFAULT_CACHE_DIR, DigestConfig

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


WORKFLOWS = ROOT / "example_site/.github/workflows"


def steps(workflow: str) -> list[dict[str, object]]:
    data = yaml.safe_load((WORKFLOWS / workflow).read_text(encoding="utf-8"))
    return [step for job in data["jobs"].values() for step in job.get("steps", [])]


def test_pages_workflow_caches_the_directory_the_plugin_writes() -> None:
    publish = steps("publish.yml")
    cache = next(step for step in publish if str(step.get("uses", "")).startswith("actions/cache@"))
    build = next(step for step in publish if "mkdocs build" in str(step.get("run", "")))

    assert cache["with"]["path"] == DEFAULT_CACHE_DIR  # type: ignore[index]
    assert "${{ github.run_id }}" in cache["with"]["key"]  # type: ignore[index]  # rolling: each run saves
    assert cache["with"]["key"].startswith(cache["with"]["restore-keys"])  # type: ignore[index]
    assert build["env"]["OPENAI_API_KEY"] == "${{ secrets.OPENAI_API_KEY }}"  # type: ignore[index]
    assert any(str(step.get("uses", "")).startswith("actions/deploy-pages@") for step in publish)


def test_offline_workflow_needs_no_secrets() -> None:
    text = (WORKFLOWS / "publish-offline.yml").read_text(encoding="utf-8")
    build = next(step for step in steps("publish-offline.yml") if "mkdocs build" in str(step.get("run", "")))

    assert "secrets." not in text
    assert build["env"] == {"ARXIV_DIGEST_OFFLINE": "true"}
    assert "--strict" in str(build["run"])
