"""Make learner copies of the lecture notebooks: solutions out, stubs in.

In code cells, every block between a `# BEGIN SOLUTION` line and its `# END SOLUTION` line is
replaced by one `raise NotImplementedError(...)` at the block's indentation, so a solution
inside a function becomes a function the checks report as "not attempted". In markdown
cells, every `{solution}` directive (backtick or colon fence) is replaced by a short note.
Outputs and execution counts are cleared.
"""

from __future__ import annotations

import json
import os
import re
from pathlib import Path
from typing import Any

__all__ = ["STUB", "strip_code", "strip_markdown", "strip_notebook", "strip_tree"]

BEGIN, END = "# BEGIN SOLUTION", "# END SOLUTION"
STUB = 'raise NotImplementedError("Exercise: write your solution here")'
SOLUTION_NOTE = "*(The reference solution is in the instructor's version of this notebook.)*"
_FENCE = re.compile(r"^(?P<indent>\s*)(?P<fence>`{3,}|:{3,})\{solution\}")


def strip_code(source: str) -> str:
    """Replace every BEGIN/END SOLUTION block of a code cell by a stub."""
    out: list[str] = []
    inside_at: int | None = None
    for number, line in enumerate(source.splitlines(keepends=True), start=1):
        marker = line.strip()
        if marker == BEGIN:
            if inside_at is not None:
                raise ValueError(f"line {number}: '{BEGIN}' inside the block opened at line "
                                 f"{inside_at}")
            inside_at = number
            indent = line[: len(line) - len(line.lstrip())]
            out.append(f"{indent}{STUB}\n")
        elif marker == END:
            if inside_at is None:
                raise ValueError(f"line {number}: '{END}' without a '{BEGIN}' before it")
            inside_at = None
        elif inside_at is None:
            out.append(line)
    if inside_at is not None:
        raise ValueError(f"line {inside_at}: '{BEGIN}' is never closed by '{END}'")
    return "".join(out)


def strip_markdown(source: str) -> str:
    """Replace every `{solution}` directive of a markdown cell by a short note."""
    out: list[str] = []
    closing: str | None = None
    for line in source.splitlines(keepends=True):
        if closing is None:
            match = _FENCE.match(line)
            if match:
                closing = match.group("indent") + match.group("fence")
                out.append(SOLUTION_NOTE + "\n")
            else:
                out.append(line)
        elif line.rstrip() == closing:  # the fence that opened the solution closes it
            closing = None
    if closing is not None:
        raise ValueError(f"a {{solution}} directive is never closed by {closing.strip()!r}")
    return "".join(out)


def _source(cell: dict[str, Any]) -> str:
    src = cell.get("source", "")
    return "".join(src) if isinstance(src, list) else src


def strip_notebook(notebook: dict[str, Any]) -> dict[str, Any]:
    """A learner copy of a notebook (nbformat 4 JSON as a dict); the input is not changed.

    Raises:
        ValueError: the dict is not a notebook (no list of cells, a cell without a type or
            with a source that is not text), or a solution marker is unbalanced.
    """
    if not isinstance(notebook, dict) or not isinstance(notebook.get("cells"), list):
        raise ValueError("not a Jupyter notebook: no list of cells")
    for index, cell in enumerate(notebook["cells"]):
        source = cell.get("source", "") if isinstance(cell, dict) else None
        if not isinstance(cell, dict) or not isinstance(cell.get("cell_type"), str) or not (
                isinstance(source, str)
                or (isinstance(source, list) and all(isinstance(s, str) for s in source))):
            raise ValueError(f"cell {index} is not a notebook cell (a cell_type and a text "
                             "source)")
    copy = json.loads(json.dumps(notebook))
    for index, cell in enumerate(copy.get("cells", [])):
        try:
            if cell["cell_type"] == "code":
                cell["source"] = strip_code(_source(cell))
                cell["outputs"] = []
                cell["execution_count"] = None
            elif cell["cell_type"] == "markdown":
                cell["source"] = strip_markdown(_source(cell))
        except ValueError as err:
            raise ValueError(f"cell {index}: {err}") from err
    return copy


def strip_tree(source: str | os.PathLike, destination: str | os.PathLike) -> list[Path]:
    """Write a learner copy of every notebook under `source` into `destination`.

    The folder structure is kept; `.ipynb_checkpoints` folders are skipped.

    Returns:
        The notebooks written.
    """
    source, destination = Path(source), Path(destination)
    if not source.is_dir():
        raise FileNotFoundError(f"no folder {str(source)!r} to take notebooks from")
    if destination.resolve() == source.resolve():
        raise ValueError("destination must differ from source: stripping in place would "
                         "delete the solutions")
    if destination.exists() and not destination.is_dir():
        raise ValueError(f"destination {str(destination)!r} is a file, not a folder")
    written = []
    for path in sorted(source.rglob("*.ipynb")):
        if ".ipynb_checkpoints" in path.parts:
            continue
        try:
            notebook = json.loads(path.read_text(encoding="utf-8"))
            learner = strip_notebook(notebook)
        except ValueError as err:
            raise ValueError(f"{path}: {err}") from err
        target = destination / path.relative_to(source)
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(json.dumps(learner, indent=1, ensure_ascii=False) + "\n",
                          encoding="utf-8")
        written.append(target)
    return written
