"""The README cannot drift from the package: its configuration reference, its quick start, its workflows."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import yaml

from mkdocs_arxiv_digest.config import DEFAULT_CACHE_DIR, DigestConfig
from mkdocs_arxiv_digest.directive import find_directives
from tests.fakes import ENGLISH_SUMMARY, FakeArxiv, FakeLLM
from tests.helpers import Site

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
SITE = ROOT / "example_site"  # the example workflows' repository root: where mkdocs.yml is
PAGES_WORKFLOWS = ["publish.yml", "publish-offline.yml", "gh-deploy.yml"]
REFRESH_WORKFLOW = "refresh-queries.yml"
"""Runs the query blocks on a schedule and commits the pins (issue 22)."""
# What a workflow names that its own run makes: the site, the sdist and wheel, the refresh report.
MADE_BY_THE_RUN = {"site", "dist/", "dist/*", "refresh.txt"}


def workflow(path: Path) -> dict[str, object]:
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    assert isinstance(data, dict), path
    return data


def steps(name: str) -> list[dict[str, object]]:
    data = workflow(WORKFLOWS / name)
    return [step for job in data["jobs"].values() for step in job.get("steps", [])]  # type: ignore[attr-defined]


def cache_step(name: str) -> dict[str, str]:
    step = next(step for step in steps(name) if str(step.get("uses", "")).startswith("actions/cache@"))
    return step["with"]  # type: ignore[return-value]


def strings(value: object) -> list[str]:
    """Every text in a parsed workflow's ``value``."""
    if isinstance(value, dict):
        return [text for item in value.values() for text in strings(item)]
    if isinstance(value, list):
        return [text for item in value for text in strings(item)]
    return [value] if isinstance(value, str) else []


def named_paths(data: dict[str, object]) -> set[str]:
    """Every path a workflow names: `hashFiles` arguments, `path:` inputs, files its commands run or read."""
    found: set[str] = set()
    for job in data["jobs"].values():  # type: ignore[attr-defined]
        for step in job.get("steps", []):
            text = "\n".join(strings(step))
            found |= {
                arg for call in re.findall(r"hashFiles\(([^)]*)\)", text) for arg in re.findall(r"'([^']+)'", call)
            }
            if isinstance(path := step.get("with", {}).get("path"), str):
                found.add(path)
            for token in str(step.get("run", "")).split():
                # A relative path: a slash, or a file name with an extension; not a URL, option or package.
                if re.fullmatch(r"\.?[\w.-]+/[\w./*-]*|[\w-]+\.(?:yml|yaml|toml|txt|py|cfg)", token):
                    found.add(token)
    return found


def test_every_workflow_parses_and_names_only_paths_that_exist() -> None:
    files = [*WORKFLOWS.glob("*.yml"), *(ROOT / ".github/workflows").glob("*.yml")]
    assert {path.name for path in WORKFLOWS.glob("*.yml")} == {*PAGES_WORKFLOWS, REFRESH_WORKFLOW}
    for path in files:
        data = workflow(path)
        assert data.get("name") and data.get(True) and data.get("jobs"), path  # YAML 1.1 reads `on:` as True
        root = SITE if path.parent == WORKFLOWS else ROOT
        for named in named_paths(data) - MADE_BY_THE_RUN - {DEFAULT_CACHE_DIR}:
            assert (root / named).exists(), (path.name, named)


def test_no_workflow_needs_an_edit_before_it_runs() -> None:
    for name in [*PAGES_WORKFLOWS, REFRESH_WORKFLOW]:
        text = (WORKFLOWS / name).read_text(encoding="utf-8")
        assert "OWNER/REPO" not in text, name
        install = next(str(step["run"]) for step in steps(name) if "pip install" in str(step.get("run", "")))
        # What pip installs comes from a repository variable, with the package's name as the default.
        assert install.startswith('pip install "$ARXIV_DIGEST_PACKAGE"'), name
        assert workflow(WORKFLOWS / name)["env"] == {
            "ARXIV_DIGEST_PACKAGE": "${{ vars.ARXIV_DIGEST_PACKAGE || 'mkdocs-arxiv-digest' }}"
        }


def test_each_workflow_says_which_pages_source_it_needs() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    for name, source in [
        ("publish.yml", 'Source: "GitHub Actions"'),
        ("publish-offline.yml", 'Source: "GitHub Actions"'),
        ("gh-deploy.yml", 'Source: "Deploy from a branch", branch\n#   `gh-pages`'),
    ]:
        assert source in (WORKFLOWS / name).read_text(encoding="utf-8"), name
        assert f"[`{name}`]" in readme, name
    assert "GitHub Actions" in readme and "Deploy from a branch" in readme


def test_pages_workflows_cache_the_directory_the_plugin_writes() -> None:
    snapshot = yaml.load((SITE / "mkdocs.yml").read_text(encoding="utf-8"), Loader=yaml.BaseLoader)
    [options] = [
        plugin["arxiv-digest"]
        for plugin in snapshot["plugins"]
        if isinstance(plugin, dict) and "arxiv-digest" in plugin
    ]
    configuration = f"hashFiles('mkdocs.yml', '{options['snapshot']}')"
    for name in ("publish.yml", "gh-deploy.yml"):
        cache = cache_step(name)
        build = next(step for step in steps(name) if "mkdocs" in str(step.get("run", "")).split()[:1])

        assert cache["path"] == DEFAULT_CACHE_DIR, name
        # The key changes with the configuration and the snapshot, and each run saves.
        assert cache["key"] == f"arxiv-digest-${{{{ {configuration} }}}}-${{{{ github.run_id }}}}", name
        assert cache["restore-keys"].splitlines() == [f"arxiv-digest-${{{{ {configuration} }}}}-", "arxiv-digest-"], (
            name
        )
        assert build["env"]["OPENAI_API_KEY"] == "${{ secrets.OPENAI_API_KEY }}"  # type: ignore[index]
        assert "--strict" in str(build["run"]), name


def test_pages_workflows_deploy_the_way_their_comments_say() -> None:
    assert any(str(step.get("uses", "")).startswith("actions/deploy-pages@") for step in steps("publish.yml"))
    assert workflow(WORKFLOWS / "publish.yml")["permissions"] == {
        "contents": "read",
        "pages": "write",
        "id-token": "write",
    }
    deploy = next(step for step in steps("gh-deploy.yml") if "gh-deploy" in str(step.get("run", "")))
    assert str(deploy["run"]).startswith("mkdocs gh-deploy --force")
    assert workflow(WORKFLOWS / "gh-deploy.yml")["permissions"] == {"contents": "write"}


def test_offline_workflow_needs_no_secrets() -> None:
    text = (WORKFLOWS / "publish-offline.yml").read_text(encoding="utf-8")
    build = next(step for step in steps("publish-offline.yml") if "mkdocs build" in str(step.get("run", "")))

    assert "secrets." not in text
    assert build["env"] == {"ARXIV_DIGEST_OFFLINE": "true"}
    assert "--strict" in str(build["run"])


# -- The quick start: from nothing to a built page of your own (issue 19.15) --------------

SELF_HOSTED = "# base_url: http://127.0.0.1:8080/v1"
"""The README's line for a model server of your own: uncommented, the build asks it."""


def quick_start() -> tuple[str, str, str]:
    """The README quick start's shell commands, its `mkdocs.yml` and its `docs/index.md`."""
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert readme.index("\n## ") == readme.index("\n## Quick start")  # the first section of the README
    section = readme.split("## Quick start", 1)[1].split("\n## ", 1)[0]
    commands = re.search(r"^```sh\n(.*?)^```", section, re.MULTILINE | re.DOTALL)
    config = re.search(r"^`mkdocs.yml`:\n\n```yaml\n(.*?)^```", section, re.MULTILINE | re.DOTALL)
    page = re.search(r"^`docs/index.md`:\n\n````markdown\n(.*?)^````", section, re.MULTILINE | re.DOTALL)
    assert commands and config and page, "the quick start shows the commands, mkdocs.yml and a page"
    return commands.group(1), config.group(1), page.group(1)


def test_the_quick_start_is_short_and_starts_from_nothing() -> None:
    commands, config, page = quick_start()
    lines = [line for text in (commands, config, page) for line in text.splitlines() if line.strip()]

    assert len(lines) <= 20, lines  # ten-odd lines: a venv, the install, the key, mkdocs.yml, a page
    assert "python3 -m venv .venv && . .venv/bin/activate" in commands
    assert 'pip install "mkdocs-arxiv-digest @ git+' in commands and "export OPENAI_API_KEY=" in commands
    assert SELF_HOSTED in config


def test_the_quick_start_builds_a_page_with_a_model_server_of_your_own(
    site: Site, arxiv_api: FakeArxiv, llm_api: FakeLLM
) -> None:
    _commands, config_text, page = quick_start()
    config = yaml.safe_load(config_text.replace(SELF_HOSTED, SELF_HOSTED.removeprefix("# ")))
    plugins = config.pop("plugins")
    [options] = [plugin["arxiv-digest"] for plugin in plugins if isinstance(plugin, dict)]
    [directive] = find_directives(page)
    ids = [str(arxiv_id) for arxiv_id, _line in directive.ids]
    for number, arxiv_id in enumerate(ids):
        arxiv_api.add(arxiv_id, f"Attention to paper {number}", f"We study attention in paper {number} and report it.")
    # The README's files as they are; only the servers are the fakes, where the README's server would be.
    assert options.pop("base_url") == "http://127.0.0.1:8080/v1"
    site.config = config
    site.plugins = ["arxiv-digest" if isinstance(plugin, dict) else plugin for plugin in plugins]
    site.options.update(options)
    site.page("index.md", page)

    build = site.build("--strict")

    assert build.returncode == 0, build.log
    rows = build.digest().rows
    assert [row.title_href for row in rows] == [f"https://arxiv.org/abs/{arxiv_id}" for arxiv_id in ids]
    assert [row.summary for row in rows] == [ENGLISH_SUMMARY.format(title=row.title) for row in rows]
    assert {request["model"] for request in llm_api.requests} == {options["model"]}
    assert "theme-material" not in build.log and (build.site / "assets/stylesheets").is_dir()  # Material built it
