"""binder/requirements.txt is the root requirements.txt with torch from PyTorch's CPU index."""

from __future__ import annotations

import os
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CPU_INDEX = "https://download.pytorch.org/whl/cpu"
# name==version, optionally with an environment marker (`; platform_system == "Linux"`).
PIN = re.compile(r"^([A-Za-z0-9][A-Za-z0-9._-]*)\s*==\s*([^\s;]+)\s*(?:;.*)?$")


def _name(name: str) -> str:
    """PEP 503 normalised name: `Scikit_Learn` and `scikit-learn` are one package."""
    return re.sub(r"[-_.]+", "-", name).lower()


def _lines(path: Path) -> list[str]:
    """The requirement lines of a pip requirements file, comments and blank lines dropped."""
    lines = (line.split(" #")[0].strip() for line in path.read_text().splitlines())
    return [line for line in lines if line and not line.startswith("#")]


def pins(path: Path) -> dict[str, str]:
    """Package -> pinned version; option lines (`--extra-index-url`, `-e .`) are skipped."""
    found = {}
    for line in _lines(path):
        if line.startswith("-"):
            continue
        match = PIN.match(line)
        assert match, f"{path.relative_to(ROOT)}: {line!r} is not a `name==version` pin"
        found[_name(match.group(1))] = match.group(2)
    return found


def drift(root: dict[str, str], binder: dict[str, str]) -> list[str]:
    """Every difference between the two files, naming the package and both versions."""
    problems = []
    for name, version in root.items():
        wanted = version + "+cpu" if name == "torch" else version
        if name not in binder:
            problems.append(f"{name}: requirements.txt pins {version}, "
                            f"binder/requirements.txt has no pin (expected {wanted})")
        elif binder[name] != wanted:
            problems.append(f"{name}: requirements.txt pins {version}, "
                            f"binder/requirements.txt pins {binder[name]} (expected {wanted})")
    for name, version in binder.items():
        if name not in root:
            problems.append(f"{name}: binder/requirements.txt pins {version}, "
                            f"requirements.txt has no pin (remove it from binder/)")
    return problems


def test_binder_pins_match_the_root_requirements() -> None:
    problems = drift(pins(ROOT / "requirements.txt"), pins(ROOT / "binder/requirements.txt"))
    assert not problems, "binder/requirements.txt drifted:\n" + "\n".join(problems)


def test_drift_names_the_package_and_both_versions() -> None:
    root = {"torch": "2.13.0", "numpy": "2.4.6", "scipy": "1.17.1"}
    binder = {"torch": "2.13.0", "numpy": "2.4.5", "tqdm": "4.70.1"}
    assert drift(root, binder) == [
        "torch: requirements.txt pins 2.13.0, binder/requirements.txt pins 2.13.0 "
        "(expected 2.13.0+cpu)",
        "numpy: requirements.txt pins 2.4.6, binder/requirements.txt pins 2.4.5 "
        "(expected 2.4.6)",
        "scipy: requirements.txt pins 1.17.1, binder/requirements.txt has no pin "
        "(expected 1.17.1)",
        "tqdm: binder/requirements.txt pins 4.70.1, requirements.txt has no pin "
        "(remove it from binder/)",
    ]
    assert drift(root, {"torch": "2.13.0+cpu", "numpy": "2.4.6", "scipy": "1.17.1"}) == []


def test_binder_takes_torch_from_the_cpu_index() -> None:
    options = [line.split() for line in _lines(ROOT / "binder/requirements.txt")
               if line.startswith("--")]
    indexes = [words[1] for words in options
               if len(words) == 2 and words[0] in ("--extra-index-url", "--index-url")]
    assert CPU_INDEX in indexes, f"binder/requirements.txt names no {CPU_INDEX} index"
    assert pins(ROOT / "binder/requirements.txt")["torch"].endswith("+cpu")


def test_postbuild_installs_gmlib() -> None:
    post_build = ROOT / "binder/postBuild"
    text = post_build.read_text()
    assert text.startswith("#!"), "binder/postBuild needs a shebang line"
    assert os.access(post_build, os.X_OK), "binder/postBuild must be executable"
    assert re.search(r"^[^#\n]*pip install\b[^\n#]*\s-e \.(\s|$)", text, flags=re.M), (
        "binder/postBuild does not `pip install -e .` (gmlib)")


def test_binder_uses_python_311() -> None:
    assert (ROOT / "binder/runtime.txt").read_text().strip() == "python-3.11"
