"""Exercise checks for the lectures, and the tool that makes learner copies.

In a lecture: `from gmlib.exercises import check`, then `check("00.1", my_answer)`.
From a shell: `python -m gmlib.exercises strip lectures/ learner/`.
"""

from __future__ import annotations

from gmlib.exercises.core import (
    CheckResult,
    Exercise,
    Incorrect,
    check,
    exercise,
    list_exercises,
    reset_results,
    results,
)
from gmlib.exercises.strip import strip_code, strip_markdown, strip_notebook, strip_tree

__all__ = [
    "CheckResult",
    "Exercise",
    "Incorrect",
    "check",
    "exercise",
    "list_exercises",
    "reset_results",
    "results",
    "strip_code",
    "strip_markdown",
    "strip_notebook",
    "strip_tree",
]
