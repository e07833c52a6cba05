"""Every lecture opens on Colab: its first cell installs gmlib there, and only there."""

from __future__ import annotations

import importlib.util
import subprocess
import sys
import types

import pytest
import yaml

from .notebooks import LECTURES, ROOT, load, source


def _colab_tool() -> types.ModuleType:
    spec = importlib.util.spec_from_file_location("colab_tool", ROOT / ".ci" / "colab.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


COLAB = _colab_tool()


@pytest.mark.parametrize("path", LECTURES, ids=lambda p: p.stem)
def test_first_cell_is_the_colab_setup_hidden_in_the_book(path):
    first = load(path)["cells"][0]
    assert first["cell_type"] == "code"
    assert source(first) == COLAB.cell_source(), "stale cell: run python .ci/colab.py write"
    assert first["metadata"].get("tags") == ["remove-cell"]


def test_the_cell_clones_the_repository_of_the_config():
    url = yaml.safe_load((ROOT / "_config.yml").read_text())["repository"]["url"]
    assert COLAB.repository_url() == url
    assert f'"{url}"' in COLAB.cell_source()


class _Recorder:
    def __init__(self) -> None:
        self.calls: list[tuple[str, tuple]] = []

    def __call__(self, name: str):
        def record(*args, **kwargs):
            self.calls.append((name, args))
        return record


def _run_cell(monkeypatch, *, on_colab: bool, cloned: bool = False) -> list[tuple[str, tuple]]:
    """Execute the cell with subprocess.run and os.chdir recorded, not carried out."""
    import os

    recorder = _Recorder()
    monkeypatch.setattr(subprocess, "run", recorder("run"))
    monkeypatch.setattr(os, "chdir", recorder("chdir"))
    monkeypatch.setattr(os.path, "isdir", lambda path: cloned)
    if on_colab:
        monkeypatch.setitem(sys.modules, "google.colab", types.ModuleType("google.colab"))
    else:
        monkeypatch.delitem(sys.modules, "google.colab", raising=False)
    exec(compile(COLAB.cell_source(), "colab-setup", "exec"), {})
    return recorder.calls


def test_the_cell_does_nothing_outside_colab(monkeypatch):
    assert _run_cell(monkeypatch, on_colab=False) == []


def test_on_colab_the_cell_clones_installs_and_enters_the_lectures(monkeypatch):
    calls = _run_cell(monkeypatch, on_colab=True)
    assert [name for name, _ in calls] == ["run", "run", "chdir"]
    clone, install, chdir = (args[0] for _, args in calls)
    assert clone[:4] == ["git", "clone", "--depth", "1"] and clone[4] == COLAB.repository_url()
    assert install[1:4] == ["-m", "pip", "install"] and install[-1] == clone[5]
    assert chdir == f"{clone[5]}/lectures"


def test_on_colab_a_second_run_only_enters_the_lectures(monkeypatch):
    calls = _run_cell(monkeypatch, on_colab=True, cloned=True)
    assert [name for name, _ in calls] == ["chdir"]


def test_the_check_finds_a_missing_cell(tmp_path, monkeypatch):
    notebook = load(LECTURES[0])
    notebook["cells"] = notebook["cells"][1:]
    path = tmp_path / LECTURES[0].name
    path.write_text(__import__("json").dumps(notebook))
    monkeypatch.setattr(COLAB, "LECTURES", [path])
    assert COLAB.problems() == [f"{path.name}: the first cell is not the Colab set-up cell"]
    COLAB.write()
    assert COLAB.problems() == []
