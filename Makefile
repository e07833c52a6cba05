# The course's two commands: `make book` and `make test`. Each creates .venv on first use.
# Needs only Python >= 3.10 (tested with 3.11) and make.

PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-stamp

# Notebooks and tests run without progress bars (the tests pick a non-interactive plot backend).
export GMLIB_PROGRESS ?= 0
export PYDEVD_DISABLE_FILE_VALIDATION = 1

.PHONY: book test venv lint bench studies learner clean

## book: execute every lecture and build the HTML book into _build/html
book: $(STAMP)
	$(BIN)/python _ext/execution_cache.py prune
	$(BIN)/jupyter-book build . -W -n --keep-going
	@echo "The book is at $(CURDIR)/_build/html/index.html"

## test: run gmlib's tests and execute every lecture notebook (nbval)
test: $(STAMP)
	$(BIN)/pytest

## venv: create .venv with the pinned environment and gmlib installed editable
venv: $(STAMP)

$(STAMP): requirements.txt pyproject.toml
	@$(PYTHON) -c 'import sys; assert sys.version_info >= (3, 10), "Python >= 3.10 is needed; got " + sys.version.split()[0]'
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
# With TORCH_INDEX_URL set (the GitHub workflows set PyTorch's CPU index), the pinned torch comes
# from there first, so requirements.txt finds it satisfied instead of pulling the CUDA build.
	if [ -n "$$TORCH_INDEX_URL" ]; then $(BIN)/python -m pip install --quiet torch==$$(sed -n 's/^torch==//p' requirements.txt) --index-url "$$TORCH_INDEX_URL"; fi
	$(BIN)/python -m pip install --quiet -r requirements.txt
	@touch $@

## lint: ruff over gmlib, tests and notebooks
lint: $(STAMP)
	$(BIN)/ruff check .

## bench: re-measure every benchmark entry and rewrite benchmarks/ (and the models lectures load)
bench: $(STAMP)
	$(BIN)/python -m gmlib.bench --write benchmarks --save-models

## studies: re-run the lectures' multi-seed studies and rewrite benchmarks/studies.json (and
## the first seed's models, which lectures load); sampler-nfe samples the stored bench
## models, so run it after `make bench` when those change
studies: $(STAMP)
	$(BIN)/python -m gmlib.bench.studies --write benchmarks --save-models

## learner: copies of the lectures without solutions, in learner/
learner: $(STAMP)
	$(BIN)/python -m gmlib.exercises strip lectures learner

clean:
	rm -rf _build learner
