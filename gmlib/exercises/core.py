"""The exercise check mechanism: `check(exercise_id, answer)` says in words what is right.

A lecture's exercise cell defines the learner's answer (usually a function whose body sits
between `# BEGIN SOLUTION` and `# END SOLUTION`), then calls `check`. The checker for that
exercise runs the answer on test cases and either confirms it or explains what is wrong.
Checks never raise on a wrong or missing answer: they print a friendly verdict and return a
`CheckResult`, so a learner copy (solutions stripped) runs top to bottom.
"""

from __future__ import annotations

import importlib
import pkgutil
import textwrap
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

__all__ = [
    "CheckResult",
    "Exercise",
    "Incorrect",
    "check",
    "exercise",
    "list_exercises",
    "reset_results",
    "results",
]

Checker = Callable[[Any], str]
STATUSES = ("correct", "incorrect", "not attempted", "error")


class Incorrect(Exception):  # a verdict on an answer, not an error of the program
    """Raised by a checker to say what is wrong with an answer."""


@dataclass(frozen=True)
class Exercise:
    """A registered exercise: its id (lecture.number, e.g. "00.2"), title and checker."""

    id: str
    title: str
    checker: Checker


@dataclass(frozen=True)
class CheckResult:
    """The verdict on one answer."""

    exercise: str
    status: str
    message: str

    @property
    def passed(self) -> bool:
        return self.status == "correct"

    def __str__(self) -> str:
        mark = {"correct": "✅", "incorrect": "❌", "not attempted": "✏️", "error": "⚠️"}[
            self.status]
        # wrapped to the width of a book page, so the verdict never scrolls sideways
        body = textwrap.fill(self.message, width=84, initial_indent="   ",
                             subsequent_indent="   ")
        return f"{mark} Exercise {self.exercise}: {self.status}\n{body}"


_REGISTRY: dict[str, Exercise] = {}
_RESULTS: list[CheckResult] = []
_LOADED = False


def exercise(exercise_id: str, title: str) -> Callable[[Checker], Checker]:
    """Register `checker(answer) -> success message` for `exercise_id`.

    The checker raises `Incorrect("what is wrong")` for a wrong answer; a
    `NotImplementedError` from the learner's stub means "not attempted yet".
    """
    def register(checker: Checker) -> Checker:
        if exercise_id in _REGISTRY:
            raise ValueError(f"exercise {exercise_id!r} is registered twice")
        _REGISTRY[exercise_id] = Exercise(exercise_id, title, checker)
        return checker

    return register


def _load_all() -> None:
    """Import every `gmlib.exercises.lectureNN` module, which registers its checkers."""
    global _LOADED
    if _LOADED:
        return
    import gmlib.exercises as package

    for info in pkgutil.iter_modules(package.__path__):
        if info.name.startswith("lecture"):
            importlib.import_module(f"gmlib.exercises.{info.name}")
    _LOADED = True


def list_exercises() -> list[Exercise]:
    """Every registered exercise, sorted by id."""
    _load_all()
    return [_REGISTRY[k] for k in sorted(_REGISTRY)]


def check(exercise_id: str, answer: Any, *, quiet: bool = False) -> CheckResult:
    """Check an answer and print the verdict.

    Args:
        exercise_id: e.g. `"00.2"` (the lecture number, then the exercise number).
        answer: what the exercise asks for (a function, a number, a dict, ...).
        quiet: return the verdict without printing it.

    Returns:
        A `CheckResult`; `result.passed` is True for a correct answer.
    """
    _load_all()
    if exercise_id not in _REGISTRY:
        known = ", ".join(sorted(_REGISTRY)) or "none"
        raise ValueError(f"unknown exercise {exercise_id!r}; known exercises: {known}")
    entry = _REGISTRY[exercise_id]
    try:
        message = entry.checker(answer)
        result = CheckResult(exercise_id, "correct", message)
    except NotImplementedError:
        result = CheckResult(exercise_id, "not attempted",
                             "replace the `raise NotImplementedError(...)` line in the cell "
                             "above with your solution, run that cell, then this one again.")
    except Incorrect as verdict:
        result = CheckResult(exercise_id, "incorrect", str(verdict))
    except Exception as err:  # the learner's code crashed: say how, without a traceback wall
        result = CheckResult(exercise_id, "error",
                             f"your code raised {type(err).__name__}: {err}")
    _RESULTS.append(result)
    if not quiet:
        print(result)
    return result


def results() -> list[CheckResult]:
    """Every verdict given in this process, oldest first."""
    return list(_RESULTS)


def reset_results() -> None:
    """Forget the verdicts given so far."""
    _RESULTS.clear()
