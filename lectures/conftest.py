"""nbval executes the lectures; this keeps what it executed for the book build.

Each cell's outputs, as nbval received them from the kernel, are written into the notebook
nbval read; when every cell of a lecture has passed, the executed lecture goes into the book's
jupyter-cache (`_ext/execution_cache.py`), so `make book` after `make test` does not execute
it again. A lecture with a failing cell is not stored.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Generator
from pathlib import Path

import nbformat
import pytest
from nbval.kernel import RunningKernel
from nbval.plugin import IPyNbCell

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "_ext"))
import execution_cache


def _execute_as_jupyter_does(self: RunningKernel, cell_input: str,
                             allow_stdin: bool | None = None) -> str:
    """nbval runs cells with store_history=False, Jupyter with True. Without history IPython
    cannot see a cell's trailing ';' (its display hook reads the last stored input), so a
    cell ending in `glue(...);` echoed its value: an extra output that the book rendered as a
    second copy of the cell's figure. Executed as Jupyter executes, the outputs are the ones a
    learner's notebook shows."""
    return self.kc.execute(cell_input, store_history=True, allow_stdin=allow_stdin,
                           stop_on_error=False)


RunningKernel.execute_cell_input = _execute_as_jupyter_does

_last_cell: dict[str, str] = {}     # notebook path -> nodeid of its last collected cell
_started: dict[str, float] = {}     # notebook path -> time its first cell started
_failed: set[str] = set()
_count: dict[str, int] = {}


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if isinstance(item, IPyNbCell):
            _last_cell[str(item.parent.fspath)] = item.nodeid


def _as_outputs(received: list) -> list[nbformat.NotebookNode]:
    """nbval's outputs as nbformat outputs, consecutive stream texts joined as nbclient does."""
    outputs: list[nbformat.NotebookNode] = []
    for out in received or []:
        node = nbformat.from_dict(dict(out))
        if (node.output_type == "stream" and outputs and outputs[-1].output_type == "stream"
                and outputs[-1].name == node.name):
            outputs[-1].text += node.text
            continue
        if node.output_type == "execute_result":
            node.setdefault("metadata", {})
        outputs.append(node)
    return outputs


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_call(item: pytest.Item) -> Generator[None, None, None]:
    if not isinstance(item, IPyNbCell):
        yield
        return
    path = str(item.parent.fspath)
    _started.setdefault(path, time.perf_counter())
    outcome = yield
    if outcome.excinfo is not None:
        _failed.add(path)
        return
    _count[path] = _count.get(path, 0) + 1
    item.cell.outputs = _as_outputs(item.test_outputs)
    item.cell.execution_count = _count[path]
    for output in item.cell.outputs:
        if output.output_type == "execute_result":
            output.execution_count = _count[path]
    if item.nodeid == _last_cell.get(path) and path not in _failed:
        seconds = time.perf_counter() - _started[path]
        execution_cache.store(item.parent.nb, Path(path), seconds)
