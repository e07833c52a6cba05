"""The one store of executed lectures that the tests and the book share (jupyter-cache).

`make test` executes every lecture under nbval; `lectures/conftest.py` hands each lecture that
ran without error to `store`, which files it in the book's jupyter-cache. `make book` then
finds it there (execute_notebooks: cache) instead of executing it a second time, and executes
only what is missing or changed. So `.ci/run`, which runs both commands, executes each lecture
once, and each command still works alone on a fresh clone.

jupyter-cache matches a notebook by the hash of its code cells, so it cannot see a change in
gmlib or in benchmarks/ that a lecture imports or reads. `prune` therefore keeps a fingerprint
of those files beside the cache and empties the cache when they changed: outputs in the book
always come from the code in the working tree.

    python _ext/execution_cache.py prune    # what `make book` runs before building
"""

from __future__ import annotations

import hashlib
import shutil
import sys
from pathlib import Path

import nbformat

ROOT = Path(__file__).resolve().parents[1]
CACHE = ROOT / "_build" / ".jupyter_cache"
FINGERPRINT_FILE = "gmlib-fingerprint.txt"
# What a lecture's outputs depend on besides its own cells.
# gmlib's data files (the digit classifier's weights) and benchmarks/models/** (the stored
# models lectures load) count as much as its code.
INPUTS = ("gmlib/**/*.py", "gmlib/**/*.pt", "gmlib/**/*.json", "benchmarks/**/*",
          "requirements.txt", "pyproject.toml")


def fingerprint(root: Path = ROOT) -> str:
    """SHA-256 over the paths and contents of every file in INPUTS, in a fixed order."""
    digest = hashlib.sha256()
    files = sorted({p for pattern in INPUTS for p in root.glob(pattern) if p.is_file()})
    for path in files:
        digest.update(path.relative_to(root).as_posix().encode() + b"\0")
        digest.update(path.read_bytes() + b"\0")
    return digest.hexdigest()


def prune(cache: Path = CACHE, root: Path = ROOT) -> bool:
    """Empty `cache` if it was filled from other gmlib sources; True if it was emptied."""
    current = fingerprint(root)
    stamp = cache / FINGERPRINT_FILE
    emptied = cache.exists() and (not stamp.exists() or stamp.read_text().strip() != current)
    if emptied:
        shutil.rmtree(cache)
    cache.mkdir(parents=True, exist_ok=True)
    stamp.write_text(current + "\n")
    return emptied


def store(notebook: nbformat.NotebookNode, path: Path, seconds: float,
          cache: Path = CACHE) -> None:
    """File an executed `notebook` (read from `path`) so the book build reuses its outputs.

    `seconds` is its execution time, which the book's status page shows and `.ci/checks.py
    times` holds to the 90 s budget.
    """
    from jupyter_cache import get_cache
    from jupyter_cache.base import CacheBundleIn

    prune(cache)
    get_cache(str(cache)).cache_notebook_bundle(
        CacheBundleIn(notebook, str(path), data={"execution_seconds": seconds}),
        check_validity=False, overwrite=True)


if __name__ == "__main__":
    if sys.argv[1:] != ["prune"]:
        sys.exit("usage: python _ext/execution_cache.py prune")
    if prune():
        print(f"gmlib or benchmarks/ changed: emptied {CACHE.relative_to(ROOT)}")
