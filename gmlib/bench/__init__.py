"""The benchmark harness: `python -m gmlib.bench` reproduces the course leaderboard."""

from __future__ import annotations

from gmlib.bench.core import (
    FAMILIES,
    TRACKS,
    BenchContext,
    BenchEntry,
    Row,
    context,
    entries,
    evaluate_entry,
    fit_entry,
    get_entry,
    register,
    run,
    run_entry,
    train_entry,
)
from gmlib.bench.report import load_results, markdown_table, write_results

__all__ = ["FAMILIES", "TRACKS", "BenchContext", "BenchEntry", "Row", "context", "entries",
           "evaluate_entry", "fit_entry", "get_entry", "load_results", "markdown_table",
           "register", "run", "run_entry", "train_entry", "write_results"]
