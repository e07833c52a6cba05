"""The GitHub workflows: book.yml publishes the book to Pages, ci.yml runs .ci/run on PRs."""

from __future__ import annotations

import re
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent
WORKFLOWS = ROOT / ".github/workflows"
CPU_INDEX = "https://download.pytorch.org/whl/cpu"
BUILD_FLAGS = "-W -n --keep-going"


def _load(name: str) -> dict:
    workflow = yaml.safe_load((WORKFLOWS / name).read_text())
    # YAML 1.1 (PyYAML) reads the bare key `on` as the boolean True.
    workflow["on"] = workflow.pop(True, workflow.get("on"))
    return workflow


def _steps(workflow: dict) -> list[dict]:
    return [step for job in workflow["jobs"].values() for step in job.get("steps", [])]


def _uses(workflow: dict) -> list[str]:
    return [step["uses"].split("@")[0] for step in _steps(workflow) if "uses" in step]


def _runs(workflow: dict) -> str:
    return "\n".join(step["run"] for step in _steps(workflow) if "run" in step)


def _make_recipe(target: str) -> str:
    text = (ROOT / "Makefile").read_text()
    # The recipe: the tab-indented lines after the rule, and make comments among them.
    match = re.search(rf"^{target}:.*\n((?:[\t#].*\n)+)", text, flags=re.M)
    assert match, f"the Makefile has no `{target}` rule"
    return match.group(1)


def test_book_workflow_deploys_pages_on_push_to_main() -> None:
    book = _load("book.yml")
    assert "main" in book["on"]["push"]["branches"]
    uses = _uses(book)
    for action in ("actions/checkout", "actions/configure-pages",
                   "actions/upload-pages-artifact", "actions/deploy-pages"):
        assert action in uses, f"book.yml does not use {action}"
    upload = next(s for s in _steps(book) if s.get("uses", "").startswith(
        "actions/upload-pages-artifact"))
    assert upload["with"]["path"] == "_build/html"
    assert book["permissions"] == {"contents": "read", "pages": "write", "id-token": "write"}
    deploy = book["jobs"]["deploy"]
    assert deploy["environment"]["name"] == "github-pages"
    assert "page_url" in deploy["environment"]["url"]


def test_book_workflow_builds_with_warnings_as_errors() -> None:
    runs = _runs(_load("book.yml"))
    if "make book" in runs:  # the Makefile's recipe is the build command
        runs = _make_recipe("book")
    assert re.search(rf"jupyter-book build \. {BUILD_FLAGS}", runs), (
        f"book.yml does not build with `jupyter-book build . {BUILD_FLAGS}`")


def test_ci_workflow_runs_ci_script_on_pull_requests() -> None:
    ci = _load("ci.yml")
    assert "pull_request" in ci["on"]
    assert re.search(r"(^|\s)(bash )?\.ci/run(\s|$)", _runs(ci)), "ci.yml does not run .ci/run"


def test_workflows_install_the_cpu_torch() -> None:
    for name in ("book.yml", "ci.yml"):
        workflow = _load(name)
        env = {k: v for job in workflow["jobs"].values() for k, v in job.get("env", {}).items()}
        env.update(workflow.get("env", {}))
        assert env.get("TORCH_INDEX_URL") == CPU_INDEX, f"{name} sets no TORCH_INDEX_URL"
    assert "TORCH_INDEX_URL" in _make_recipe(r"\$\(STAMP\)"), (
        "the Makefile's venv recipe ignores TORCH_INDEX_URL")
