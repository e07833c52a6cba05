"""Checks CI runs on what the book build produced: `python .ci/checks.py figures|times`.

figures  every captioned figure of every lecture is an image in the built HTML
times    every lecture executed within its budget in the book build (status page table)
"""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path

LECTURES = sorted(Path("lectures").glob("[0-9][0-9]_*.ipynb"))
BUDGET_SECONDS = 90.0


def figures() -> list[str]:
    problems = []
    for nb in LECTURES:
        cells = json.loads(nb.read_text())["cells"]
        wanted = sum(1 for c in cells if c["metadata"].get("mystnb", {}).get("figure"))
        html = Path("_build/html/lectures", nb.stem + ".html").read_text()
        shown = len(re.findall(r'<img[^>]+src="[^"]*_images/', html))
        print(f"{nb.stem}: {shown} images for {wanted} captioned figures")
        if shown < wanted:
            problems.append(f"{nb.stem}: only {shown} of {wanted} figures rendered")
    return problems


def times() -> list[str]:
    html = Path("_build/html/status.html").read_text()
    rows = re.findall(r'href="lectures/([^"]+)\.html".*?<td><p>[^<]*</p></td>\s*'
                      r'<td><p>[^<]*</p></td>\s*<td><p>([0-9.]+)</p></td>', html, flags=re.S)
    seconds = {name: float(value) for name, value in rows}
    problems = []
    for nb in LECTURES:
        if nb.stem not in seconds:
            problems.append(f"{nb.stem}: no execution time on the status page")
            continue
        print(f"{nb.stem}: executed in {seconds[nb.stem]:.1f} s (budget {BUDGET_SECONDS:.0f} s)")
        if seconds[nb.stem] > BUDGET_SECONDS:
            problems.append(f"{nb.stem}: {seconds[nb.stem]:.1f} s is over the budget")
    return problems


if __name__ == "__main__":
    checks = {"figures": figures, "times": times}
    if len(sys.argv) != 2 or sys.argv[1] not in checks:
        sys.exit(f"usage: python .ci/checks.py {'|'.join(checks)}")
    found = checks[sys.argv[1]]()
    print("\n".join(found) or "ok")
    sys.exit(1 if found else 0)
