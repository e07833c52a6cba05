#!/usr/bin/env bash
# Build gmlib's wheel, install it into a fresh virtual environment with only its runtime
# dependencies (pinned as in requirements.txt, none of the course's book or test tools), and
# run .ci/wheel_smoke.py from outside the repository.
set -euo pipefail
cd "$(dirname "$0")/.."
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
# build from a copy of the tracked files, so no build/ folder lands in the working tree
git ls-files -z | tar --null -cf - -T - | tar -xf - -C "$work" --one-top-level=src
.venv/bin/python -m pip wheel --quiet --no-deps --wheel-dir "$work/dist" "$work/src"
python3 -m venv "$work/venv"
grep -E '^(torch|numpy|scipy|scikit-learn|matplotlib|tqdm)==' requirements.txt > "$work/pins.txt"
"$work/venv/bin/python" -m pip install --quiet -r "$work/pins.txt"
"$work/venv/bin/python" -m pip install --quiet --no-deps "$work"/dist/gmlib-*.whl
"$work/venv/bin/python" -m pip check
"$work/venv/bin/python" -c 'import sys, zipfile; assert "gmlib/py.typed" in zipfile.ZipFile(sys.argv[1]).namelist(), "no py.typed in the wheel"' "$work"/dist/gmlib-*.whl
cp .ci/wheel_smoke.py "$work/"
(cd "$work" && GMLIB_PROGRESS=0 venv/bin/python wheel_smoke.py)
