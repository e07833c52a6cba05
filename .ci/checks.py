"""Checks CI runs on what the book build produced: `python .ci/checks.py figures|times`.

figures  every captioned figure of every lecture is an image in the built HTML
times    every lecture executed within its budget in the book build (status page table)
record DEVICE   store the build's lecture times as the DEVICE column ("cpu" or "cuda") of
         benchmarks/lecture-times.json and rewrite benchmarks/lecture-times.md, the table of
         the book's "Running on a GPU" page (run it after `make book` on that device)
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


def _build_seconds() -> dict[str, float]:
    """Seconds per lecture, from the status page of the last book build."""
    html = Path("_build/html/status.html").read_text()
    rows = re.findall(r'href="lectures/([^"]+)\.html".*?<td><p>[^<]*</p></td>\s*'
                      r'<td><p>[^<]*</p></td>\s*<td><p>([0-9.]+)</p></td>', html, flags=re.S)
    return {name: float(value) for name, value in rows}


def times() -> list[str]:
    seconds = _build_seconds()
    problems = []
    for nb in LECTURES:
        if nb.stem not in seconds:
            problems.append(f"{nb.stem}: no execution time on the status page")
            continue
        print(f"{nb.stem}: executed in {seconds[nb.stem]:.1f} s (budget {BUDGET_SECONDS:.0f} s)")
        if seconds[nb.stem] > BUDGET_SECONDS:
            problems.append(f"{nb.stem}: {seconds[nb.stem]:.1f} s is over the budget")
    return problems


TIMES_JSON = Path("benchmarks/lecture-times.json")
DEVICES = {"cpu": "CPU", "cuda": "GPU (CUDA)"}


def record(device: str) -> list[str]:
    """Store this build's lecture times under `device` and rewrite the Markdown table."""
    import platform
    from datetime import date

    import torch

    if device not in DEVICES:
        return [f"device must be one of {sorted(DEVICES)}; got {device!r}"]
    if device == "cuda" and not torch.cuda.is_available():
        return ["no CUDA device here: GPU times must be measured on a GPU"]
    seconds = _build_seconds()
    missing = [nb.stem for nb in LECTURES if nb.stem not in seconds]
    if missing:
        return [f"no execution time on the status page for {', '.join(missing)}"]
    stored = json.loads(TIMES_JSON.read_text()) if TIMES_JSON.exists() else {}
    machine = (torch.cuda.get_device_name() if device == "cuda"
               else f"{platform.machine()}, {torch.get_num_threads()} CPU threads")
    stored[device] = {"date": date.today().isoformat(), "machine": machine,
                      "torch": torch.__version__,
                      "seconds": {nb.stem: seconds[nb.stem] for nb in LECTURES}}
    TIMES_JSON.write_text(json.dumps(stored, indent=2) + "\n")
    TIMES_JSON.with_suffix(".md").write_text(_times_table(stored))
    return []


def _times_table(stored: dict) -> str:
    columns = [d for d in DEVICES if d in stored]
    head = "| Lecture | " + " | ".join(f"{DEVICES[d]} (s)" for d in columns) + " |"
    lines = [head, "|---|" + "---:|" * len(columns)]
    for nb in LECTURES:
        cells = [f"{stored[d]['seconds'].get(nb.stem, float('nan')):.1f}" for d in columns]
        lines.append(f"| {nb.stem} | " + " | ".join(cells) + " |")
    lines.append("")
    for d in columns:
        lines.append(f"{DEVICES[d]}: {stored[d]['machine']}, torch {stored[d]['torch']}, "
                     f"measured {stored[d]['date']}.")
        lines.append("")
    if "cuda" not in stored:
        lines.append("GPU: not measured yet (no GPU run has been made; times are never "
                     "estimated).")
        lines.append("")
    return "\n".join(lines)


if __name__ == "__main__":
    if len(sys.argv) == 3 and sys.argv[1] == "record":
        found = record(sys.argv[2])
        print("\n".join(found) or f"wrote {TIMES_JSON} and {TIMES_JSON.with_suffix('.md')}")
        sys.exit(1 if found else 0)
    checks = {"figures": figures, "times": times}
    if len(sys.argv) != 2 or sys.argv[1] not in checks:
        sys.exit(f"usage: python .ci/checks.py {'|'.join(checks)}|record DEVICE")
    found = checks[sys.argv[1]]()
    print("\n".join(found) or "ok")
    sys.exit(1 if found else 0)
