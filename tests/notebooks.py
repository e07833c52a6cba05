"""Helpers for the tests that read the lecture notebooks as data."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
LECTURES = sorted((ROOT / "lectures").glob("[0-9][0-9]_*.ipynb"))


def load(path: Path) -> dict[str, Any]:
    return json.loads(path.read_text(encoding="utf-8"))


def source(cell: dict[str, Any]) -> str:
    src = cell.get("source", "")
    return "".join(src) if isinstance(src, list) else src


def exercise_cells(notebook: dict[str, Any]) -> list[str]:
    """The code cells from the "## Exercises" heading on: a self-contained section."""
    cells = notebook["cells"]
    start = next((i for i, c in enumerate(cells) if c["cell_type"] == "markdown"
                  and any(line.strip() == "## Exercises" for line in source(c).splitlines())),
                 None)
    if start is None:
        raise AssertionError("the notebook has no '## Exercises' heading")
    return [source(c) for c in cells[start:] if c["cell_type"] == "code"]
