"""The book's structure: every lecture listed, stored without outputs, and complete."""

import ast
import re

import pytest
import yaml

from .notebooks import LECTURES, ROOT, load, source


def _toc_files() -> list[str]:
    toc = yaml.safe_load((ROOT / "_toc.yml").read_text())
    return [ch["file"] for part in toc["parts"] for ch in part["chapters"]]


def test_toc_lists_exactly_the_lectures_that_exist():
    listed = [f for f in _toc_files() if f.startswith("lectures/")]
    assert listed == [f"lectures/{p.stem}" for p in LECTURES]
    for entry in _toc_files():
        assert (ROOT / f"{entry}.md").exists() or (ROOT / f"{entry}.ipynb").exists(), entry


def test_toc_parts_follow_the_course_plan():
    toc = yaml.safe_load((ROOT / "_toc.yml").read_text())
    captions = [part["caption"] for part in toc["parts"]]
    plan = ["Part I: Foundations", "Part II: Deep generative models",
            "Part III: Using generative models"]
    present = [c for c in captions if c in plan]
    assert present == sorted(present, key=plan.index)


# One number per lecture, everywhere a reader sees one: the file's NN (00..17).
TITLE = re.compile(r"^# (\d\d)\. \S")
LECTURE_REF = re.compile(r"\b[Ll]ectures? (\d+)(?:\s*[-–]\s*(\d+))?")


def test_sphinx_numbers_no_chapter_so_titles_carry_the_lecture_number():
    """Sphinx would number chapters 1..18 in reading order; the titles number them 00..17."""
    toc = yaml.safe_load((ROOT / "_toc.yml").read_text())
    numbered = [part["caption"] for part in toc["parts"] if part.get("numbered")]
    assert not numbered, f"turn Sphinx numbering off (the titles carry it): {numbered}"
    config = yaml.safe_load((ROOT / "_config.yml").read_text())
    assert "lecture_numbers" in config["sphinx"]["local_extensions"], "figures: Fig. NN.k"


@pytest.mark.parametrize("path", LECTURES, ids=lambda p: p.stem)
def test_lecture_title_carries_its_file_number(path):
    title = source(load(path)["cells"][1]).splitlines()[0]
    match = TITLE.match(title)
    assert match, f"{path.name}: the title must read '# {path.stem[:2]}. Title'; got {title!r}"
    assert match.group(1) == path.stem[:2], f"{path.name}: title numbered {match.group(1)}"
    for cell in load(path)["cells"][2:]:
        for line in source(cell).splitlines():
            assert not re.match(r"#{1,6} \d+\.\d+", line), (
                f"{path.name}: heading {line!r} would carry a second number")


def _reader_texts() -> dict[str, str]:
    texts = {p.name: "\n".join(source(c) for c in load(p)["cells"]) for p in LECTURES}
    for name in ("intro.md", "README.md", "leaderboard.md", "status.md", "gpu.md"):
        texts[name] = (ROOT / name).read_text()
    for path in sorted((ROOT / "gmlib").rglob("*.py")):
        texts[str(path.relative_to(ROOT))] = path.read_text()
    return texts


def test_every_lecture_reference_uses_a_lecture_number():
    """'lecture 7' or 'lecture 16' would be a book chapter number, not a lecture's."""
    numbers = {p.stem[:2] for p in LECTURES}
    wrong = []
    for name, text in _reader_texts().items():
        for match in LECTURE_REF.finditer(text):
            for number in filter(None, match.groups()):
                if number not in numbers:
                    wrong.append(f"{name}: {match.group(0)!r}")
    assert not wrong, "lectures are referred to by their two-digit number: " + "; ".join(wrong)


def test_course_map_numbers_each_lecture_by_its_file():
    intro = (ROOT / "intro.md").read_text()
    rows = re.findall(r"^\| (\d\d) \| \[[^]]+\]\(lectures/(\d\d)_[^)]+\.ipynb\)", intro, re.M)
    assert len(rows) == len(LECTURES)
    assert all(shown == file for shown, file in rows), rows


def test_repository_url_is_set_in_one_place():
    config = yaml.safe_load((ROOT / "_config.yml").read_text())
    url = config["repository"]["url"]
    assert url.startswith("https://")
    assert config["launch_buttons"]["colab_url"] and config["launch_buttons"]["binderhub_url"]
    assert (ROOT / "_config.yml").read_text().count(url) == 1


@pytest.mark.parametrize("path", LECTURES, ids=lambda p: p.stem)
def test_notebook_is_stored_without_outputs(path):
    for index, cell in enumerate(load(path)["cells"]):
        if cell["cell_type"] == "code":
            assert not cell.get("outputs"), f"{path.name} cell {index} has stored outputs"
            assert cell.get("execution_count") is None, f"{path.name} cell {index} was executed"


@pytest.mark.parametrize("path", LECTURES, ids=lambda p: p.stem)
def test_lecture_has_the_required_parts(path):
    cells = load(path)["cells"]
    text = "\n".join(source(c) for c in cells)
    first = source(cells[1])  # cells[0] is the Colab set-up cell (tests/test_colab.py)
    assert first.startswith("# "), "the cell after the Colab set-up must hold the title"
    assert "Learning objectives" in first
    assert "seed_everything(0)" in text and "get_device()" in text
    assert "## Summary" in text and "## Exercises" in text and "## References" in text
    assert ":::{exercise}" in text or "```{exercise}" in text
    assert "from gmlib.exercises import check" in text
    assert "{bibliography}" in text and f":keyprefix: l{path.stem[:2]}-" in text


def test_each_reference_is_in_the_bibliography_once():
    # two keys for one paper get the same label ("GPAM+14") and fail the -W book build
    bib = (ROOT / "references.bib").read_text()
    titles = [re.sub(r"\W", "", t.lower()) for t in
              re.findall(r"^\s*title\s*=\s*\{(.*?)\},?\s*$", bib, flags=re.M)]
    repeated = sorted({t for t in titles if titles.count(t) > 1})
    assert not repeated, f"references.bib lists these titles twice: {repeated}"
    keys = re.findall(r"@\w+\{([^,]+),", bib)
    assert len(keys) == len(set(keys)), "a key is defined twice in references.bib"


@pytest.mark.parametrize("path", LECTURES, ids=lambda p: p.stem)
def test_citations_exist_and_use_the_lecture_prefix(path):
    bib = (ROOT / "references.bib").read_text()
    keys = set(re.findall(r"@\w+\{([^,]+),", bib))
    text = "\n".join(source(c) for c in load(path)["cells"])
    cited = re.findall(r"\{cite(?::\w+)?\}`([^`]+)`", text)
    assert cited, f"{path.name} cites nothing"
    prefix = f"l{path.stem[:2]}-"
    for group in cited:
        for key in group.split(","):
            key = key.strip()
            assert key.startswith(prefix), f"{key}: cite as {prefix}<key>"
            assert key[len(prefix):] in keys, f"{key[len(prefix):]} is not in references.bib"


@pytest.mark.parametrize("path", LECTURES, ids=lambda p: p.stem)
def test_figures_have_captions(path):
    for index, cell in enumerate(load(path)["cells"]):
        if cell["cell_type"] == "code" and "plt.show()" in source(cell):
            caption = cell["metadata"].get("mystnb", {}).get("figure", {}).get("caption")
            assert caption, f"{path.name} cell {index} draws a figure without a caption"


def test_figure_names_are_unique():
    """A figure name is a cross-reference target: two figures with one name fail the -W build."""
    names = [cell["metadata"]["mystnb"]["figure"]["name"] for path in LECTURES
             for cell in load(path)["cells"]
             if "name" in cell.get("metadata", {}).get("mystnb", {}).get("figure", {})]
    assert len(names) == len(set(names)), sorted({n for n in names if names.count(n) > 1})


@pytest.mark.parametrize("path", LECTURES, ids=lambda p: p.stem)
def test_cells_do_not_echo_a_glued_value(path):
    """A cell ending in a bare `glue(...)` also shows the value as its result: stray text in
    the book, and a second output (a duplicate target) in a captioned figure cell. End such
    a line with `;`, or glue earlier in the cell."""
    for index, cell in enumerate(load(path)["cells"]):
        if cell["cell_type"] != "code" or not source(cell).strip():
            last = None
        else:
            tree = ast.parse(source(cell))
            last = tree.body[-1] if tree.body else None
        if (isinstance(last, ast.Expr) and isinstance(last.value, ast.Call)
                and getattr(last.value.func, "id", None) == "glue"):
            assert source(cell).rstrip().endswith(";"), (
                f"{path.name} cell {index} ends with glue(...) without ';'")


@pytest.mark.parametrize("path", LECTURES, ids=lambda p: p.stem)
def test_code_fits_the_book_page(path):
    """Lines longer than 88 characters scroll sideways in the rendered book."""
    for index, cell in enumerate(load(path)["cells"]):
        if cell["cell_type"] == "code":
            for line in source(cell).splitlines():
                assert len(line) <= 88, f"{path.name} cell {index}: {line[:60]}..."


@pytest.mark.parametrize("path", LECTURES, ids=lambda p: p.stem)
def test_exercises_are_titled_with_their_check_id(path):
    """Exercise ids are the lecture's number and k; Sphinx's own exercise numbers are off."""
    text = "\n".join(source(c) for c in load(path)["cells"])
    titles = re.findall(r":::\{exercise\} (\S+) ·", text)
    assert titles, "exercise titles must start with their id, e.g. '00.1 · Title'"
    assert all(t.startswith(path.stem[:2] + ".") for t in titles)
    assert text.count(":nonumber:") >= len(titles)


def test_ci_runs_the_readme_commands():
    """CI must call the README's quick-start commands, so what CI checks is what learners run."""
    readme = (ROOT / "README.md").read_text()
    quick_start = readme.split("## Quick start", 1)[1].split("```bash", 1)[1].split("```", 1)[0]
    commands = [line.split("#")[0].strip() for line in quick_start.strip().splitlines()]
    assert commands == ["make book", "make test"]
    ci = (ROOT / ".ci" / "run").read_text()
    for command in commands:
        assert command in ci


def test_course_map_links_every_lecture_that_exists():
    intro = (ROOT / "intro.md").read_text()
    for path in LECTURES:
        assert f"(lectures/{path.name})" in intro, f"link {path.name} from the course map"


@pytest.mark.parametrize("path", LECTURES, ids=lambda p: p.stem)
def test_solutions_live_only_in_the_exercises_section(path):
    """A solution block outside the exercises would break the learner copy above them."""
    cells = load(path)["cells"]
    start = next(i for i, c in enumerate(cells) if c["cell_type"] == "markdown"
                 and "## Exercises" in source(c))
    for index, cell in enumerate(cells[:start]):
        assert "# BEGIN SOLUTION" not in source(cell), f"{path.name} cell {index}"
        assert "{solution}" not in source(cell), f"{path.name} cell {index}"


def test_api_reference_has_a_page_per_subpackage():
    """Every gmlib subpackage has an API page (autodoc over its docstrings) in the book."""
    import pkgutil

    import gmlib

    subpackages = sorted(m.name for m in pkgutil.iter_modules(gmlib.__path__) if m.ispkg)
    toc = yaml.safe_load((ROOT / "_toc.yml").read_text())
    chapters = [ch for part in toc["parts"] for ch in part["chapters"]]
    listed = [f"{ch['file']}" for ch in chapters if ch["file"] == "api/index"]
    listed += [s["file"] for ch in chapters if ch["file"] == "api/index" for s in ch["sections"]]
    assert listed == ["api/index", "api/gmlib", *(f"api/{p}" for p in subpackages)]
    for name in subpackages:
        page = (ROOT / "api" / f"{name}.md").read_text()
        assert f".. automodule:: gmlib.{name}\n" in page
    core = (ROOT / "api" / "gmlib.md").read_text()
    for module in (m.name for m in pkgutil.iter_modules(gmlib.__path__) if not m.ispkg):
        assert f".. automodule:: gmlib.{module}\n" in core, module
