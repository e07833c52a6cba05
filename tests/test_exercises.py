import json
import subprocess
import sys

import pytest

from gmlib.exercises import (
    Incorrect,
    check,
    exercise,
    list_exercises,
    reset_results,
    results,
    strip_code,
    strip_markdown,
    strip_notebook,
    strip_tree,
)
from gmlib.exercises.strip import SOLUTION_NOTE, STUB

from .notebooks import LECTURES, ROOT, exercise_cells, load, source


def test_check_reports_each_status_in_words(capsys):
    reset_results()

    def stub(*args):
        raise NotImplementedError

    assert check("00.2", lambda n, k: (k**n - 1, n * (k - 1))).passed
    wrong = check("00.2", lambda n, k: (k**n, n * (k - 1)))
    assert wrong.status == "incorrect" and "one of them is not free" in wrong.message
    assert check("00.2", stub).status == "not attempted"
    crashed = check("00.2", lambda n, k: 1 / 0)
    assert crashed.status == "error" and "ZeroDivisionError" in crashed.message
    printed = capsys.readouterr().out
    assert "✅ Exercise 00.2: correct\n" in printed
    assert "✏️ Exercise 00.2: not attempted\n" in printed
    assert max(len(line) for line in printed.splitlines()) <= 88
    assert [r.status for r in results()] == ["correct", "incorrect", "not attempted", "error"]


def test_unknown_exercise_lists_the_known_ones():
    with pytest.raises(ValueError, match="unknown exercise '99.9'; known exercises: 00.1"):
        check("99.9", None)


def test_duplicate_registration_is_refused():
    with pytest.raises(ValueError, match="registered twice"):
        exercise("00.1", "again")(lambda answer: "ok")


def test_every_registered_exercise_is_used_by_its_lecture():
    used = "".join(source(c) for path in LECTURES for c in load(path)["cells"])
    for entry in list_exercises():
        assert f'check("{entry.id}"' in used, f"exercise {entry.id} has no check cell"
        assert entry.title


def test_strip_code_replaces_blocks_at_their_indentation():
    code = ("def f(x):\n    # BEGIN SOLUTION\n    y = x + 1\n    return y\n    # END SOLUTION\n"
            "print(f)\n")
    assert strip_code(code) == f"def f(x):\n    {STUB}\nprint(f)\n"
    assert strip_code("a = 1\n") == "a = 1\n"


@pytest.mark.parametrize(("code", "message"), [
    ("# BEGIN SOLUTION\nx = 1\n", "line 1: '# BEGIN SOLUTION' is never closed"),
    ("x = 1\n# END SOLUTION\n", "line 2: '# END SOLUTION' without a '# BEGIN SOLUTION'"),
    ("# BEGIN SOLUTION\n# BEGIN SOLUTION\n# END SOLUTION\n", "line 2: '# BEGIN SOLUTION' inside"),
])
def test_strip_code_errors(code, message):
    with pytest.raises(ValueError, match=message):
        strip_code(code)


def test_strip_markdown_removes_solution_directives_of_both_fences():
    text = ("Before\n:::{solution} ex-1\n:class: dropdown\nThe answer.\n:::\nMiddle\n"
            "````{solution} ex-2\n```python\ncode\n```\n````\nAfter\n")
    stripped = strip_markdown(text)
    assert "The answer" not in stripped and "code" not in stripped
    assert stripped.count(SOLUTION_NOTE) == 2
    assert stripped.startswith("Before\n") and "Middle\n" in stripped
    assert stripped.endswith("After\n")
    with pytest.raises(ValueError, match="never closed"):
        strip_markdown(":::{solution} x\nopen\n")


def test_strip_notebook_clears_outputs_and_keeps_the_original():
    notebook = {"cells": [
        {"cell_type": "code", "source": ["# BEGIN SOLUTION\n", "x = 1\n", "# END SOLUTION\n"],
         "outputs": [{"output_type": "stream", "text": "1"}], "execution_count": 3,
         "metadata": {}},
        {"cell_type": "markdown", "source": ":::{solution} a\nsecret\n:::\n", "metadata": {}},
    ]}
    learner = strip_notebook(notebook)
    assert learner["cells"][0]["source"] == STUB + "\n"
    assert learner["cells"][0]["outputs"] == [] and learner["cells"][0]["execution_count"] is None
    assert "secret" not in learner["cells"][1]["source"]
    assert notebook["cells"][0]["execution_count"] == 3  # untouched
    with pytest.raises(ValueError, match="cell 0: line 1"):
        strip_notebook({"cells": [{"cell_type": "code", "source": "# BEGIN SOLUTION\n"}]})


def test_strip_tree_and_command_line(tmp_path):
    written = strip_tree(ROOT / "lectures", tmp_path / "learner")
    assert {p.name for p in written} == {p.name for p in LECTURES}
    with pytest.raises(ValueError, match="destination must differ from source"):
        strip_tree(ROOT / "lectures", ROOT / "lectures")
    with pytest.raises(FileNotFoundError, match="no folder"):
        strip_tree(tmp_path / "missing", tmp_path / "out")


def test_strip_command_turns_bad_input_into_one_line(tmp_path, capsys):
    from gmlib.exercises.__main__ import main

    source = tmp_path / "src"
    source.mkdir()
    (tmp_path / "a_file").write_text("")
    (source / "01_x.ipynb").write_text('{"nbformat": 4}')
    for argv, message in (
            ([str(source), str(tmp_path / "out")], "not a Jupyter notebook: no list of cells"),
            ([str(source), str(tmp_path / "a_file")], "is a file, not a folder")):
        assert main(["strip", *argv]) == 2
        err = capsys.readouterr().err
        assert message in err and err.count("\n") == 1
    (source / "01_x.ipynb").write_text("{broken")
    assert main(["strip", str(source), str(tmp_path / "out")]) == 2
    assert "01_x.ipynb" in capsys.readouterr().err
    done = subprocess.run([sys.executable, "-m", "gmlib.exercises", "strip",
                           str(ROOT / "lectures"), str(tmp_path / "cli")],
                          capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stderr
    assert "learner notebook(s) written" in done.stdout
    listed = subprocess.run([sys.executable, "-m", "gmlib.exercises", "list"],
                            capture_output=True, text=True, check=True)
    assert "00.1  Bits per dimension" in listed.stdout
    bad = subprocess.run([sys.executable, "-m", "gmlib.exercises", "strip", str(tmp_path / "no"),
                          str(tmp_path / "x")], capture_output=True, text=True, check=False)
    assert bad.returncode == 2 and "error: no folder" in bad.stderr


def _run_exercises(cells: list[str]) -> list:
    """Execute an exercises section in a fresh namespace; return the verdicts it printed."""
    reset_results()
    namespace: dict = {"__name__": "__exercises__"}
    for code in cells:
        exec(compile(code, "<exercise cell>", "exec"), namespace)
    return results()


@pytest.mark.parametrize("path", LECTURES, ids=lambda p: p.stem)
def test_reference_solutions_pass_every_check(path):
    verdicts = _run_exercises(exercise_cells(load(path)))
    assert verdicts, f"{path.name}: its exercises call no check"
    assert all(v.passed for v in verdicts), [str(v) for v in verdicts if not v.passed]


@pytest.mark.parametrize("path", LECTURES, ids=lambda p: p.stem)
def test_learner_copies_run_and_report_not_attempted(path):
    learner = strip_notebook(load(path))
    verdicts = _run_exercises(exercise_cells(learner))  # must not raise
    assert verdicts and all(v.status == "not attempted" for v in verdicts), [
        str(v) for v in verdicts]
    assert "BEGIN SOLUTION" not in json.dumps(learner)


def test_incorrect_is_an_exception_for_checkers():
    assert issubclass(Incorrect, Exception)
