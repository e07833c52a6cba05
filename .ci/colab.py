"""The Colab set-up cell that opens every lecture: `python .ci/colab.py check|write`.

A lecture opened from its Colab launch button runs on a bare Colab machine, which has
PyTorch, NumPy, SciPy, scikit-learn and Matplotlib but neither gmlib nor the course's files
(the lectures read ../benchmarks and ../references.bib). The cell clones the repository named
in _config.yml, installs gmlib from it, and moves into its lectures folder; anywhere else it
does nothing. It carries the `remove-cell` tag, so the book never shows it.

`write` puts the cell first in every lecture (replacing an older version of it); `check`
exits 1 when a lecture lacks it or has a stale copy. tests/test_colab.py runs the same check.
"""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
LECTURES = sorted((ROOT / "lectures").glob("[0-9][0-9]_*.ipynb"))
TAG = "remove-cell"
MARKER = "# Colab set-up"

TEMPLATE = '''\
# Colab set-up (hidden in the book): on Google Colab, fetch the course and install
# gmlib; anywhere else this cell does nothing.
import os
import subprocess
import sys

if "google.colab" in sys.modules:
    _course = "/content/generative-models"
    if not os.path.isdir(_course):
        _url = "{url}"
        subprocess.run(["git", "clone", "--depth", "1", _url, _course], check=True)
        _pip = [sys.executable, "-m", "pip", "install", "--quiet", _course]
        subprocess.run(_pip, check=True)
    os.chdir(os.path.join(_course, "lectures"))  # the lectures read ../benchmarks'''


def repository_url() -> str:
    """`repository: url:` of _config.yml (read without a YAML parser: this runs anywhere)."""
    text = (ROOT / "_config.yml").read_text()
    match = re.search(r"^repository:\s*\n\s+url:\s*(\S+)", text, flags=re.M)
    if match is None:
        raise ValueError("_config.yml has no repository url")
    return match.group(1)


def cell_source() -> str:
    return TEMPLATE.format(url=repository_url())


def _is_setup(cell: dict) -> bool:
    return cell["cell_type"] == "code" and "".join(cell["source"]).startswith(MARKER)


def _cell() -> dict:
    lines = cell_source().splitlines(keepends=True)
    return {"cell_type": "code", "execution_count": None, "id": "colab-setup",
            "metadata": {"tags": [TAG]}, "outputs": [], "source": lines}


def problems() -> list[str]:
    found = []
    for path in LECTURES:
        cells = json.loads(path.read_text())["cells"]
        if not cells or not _is_setup(cells[0]):
            found.append(f"{path.name}: the first cell is not the Colab set-up cell")
        elif cells[0] != _cell():
            found.append(f"{path.name}: its Colab set-up cell is stale (run: python "
                         ".ci/colab.py write)")
    return found


def write() -> None:
    for path in LECTURES:
        notebook = json.loads(path.read_text())
        cells = [c for c in notebook["cells"] if not _is_setup(c)]
        notebook["cells"] = [_cell(), *cells]
        path.write_text(json.dumps(notebook, indent=1, ensure_ascii=False) + "\n")


if __name__ == "__main__":
    if len(sys.argv) != 2 or sys.argv[1] not in ("check", "write"):
        sys.exit("usage: python .ci/colab.py check|write")
    if sys.argv[1] == "write":
        write()
    found = problems()
    print("\n".join(found) or "ok")
    sys.exit(1 if found else 0)
