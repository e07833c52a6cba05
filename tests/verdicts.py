"""A helper the exercise-checker tests share: run a checker and compare its verdict."""

from __future__ import annotations

from gmlib.exercises import check


def assert_verdict(exercise_id: str, answer: object, hint: str | None) -> None:
    """`hint=None`: the answer must pass; else it is incorrect and the message names `hint`."""
    verdict = check(exercise_id, answer, quiet=True)
    if hint is None:
        assert verdict.passed, verdict.message
    else:
        assert verdict.status == "incorrect" and hint in verdict.message, verdict.message
