# Two commands for a fresh machine (Python 3.11/3.12, pip and make):
#   make run    set up, build the embedded dataset, execute every notebook into build/, print results
#   make test   set up, then the unit tests and nbval over every notebook in the ci profile
SHELL := /bin/bash
PYTHON ?= python3
VENV ?= .venv

ifdef VIRTUAL_ENV
  PY := python
  STAMP := $(VIRTUAL_ENV)/.genre_lib-installed
else
  PY := $(VENV)/bin/python
  STAMP := $(VENV)/.genre_lib-installed
endif

export TF_CPP_MIN_LOG_LEVEL ?= 2
export MPLBACKEND ?= Agg
export PYTHONUNBUFFERED := 1

PYTEST := $(PY) -m pytest -p no:cacheprovider

.PHONY: setup lock run test test-datasets test-wheel lint unit notebooks bench clean browser-test

setup: $(STAMP)

# The tested versions: uv.lock (universal: every OS, Python 3.11-3.13), exported for pip as
# requirements-dev.txt (everything; what this installs) and requirements.txt (the course and
# Jupyter; what Binder and a plain `pip install -r` get). `make lock` regenerates all three.
# musicnn 0.1.0 is installed for its checkpoints only (its metadata pins numpy<1.17, hence
# --no-deps); the package itself goes in editable, without dependencies (the lock has them).
$(STAMP): requirements-dev.txt pyproject.toml Makefile
	@if [ -z "$$VIRTUAL_ENV" ] && [ ! -x "$(VENV)/bin/python" ]; then \
	  echo "creating virtual environment $(VENV)"; $(PYTHON) -m venv $(VENV); fi
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -r requirements-dev.txt
	$(PY) -m pip install -q --no-deps -e .
	$(PY) -m pip install -q --no-deps musicnn==0.1.0
	@touch $@

# Re-resolve the lock from pyproject.toml (UPGRADE=1 moves every package to its newest allowed
# version; without it, only what pyproject.toml's changes require moves) and export it.
lock: setup
	$(PY) -m uv lock $(if $(UPGRADE),--upgrade)
	$(PY) -m uv export -q --frozen --no-hashes --no-emit-project --extra jupyter -o requirements.txt
	$(PY) -m uv export -q --frozen --no-hashes --no-emit-project --extra dev -o requirements-dev.txt

run: setup
	$(PY) -m genre_lib run

test: setup lint
	GENRE_PROFILE=ci $(PYTEST) -q --durations=15 -m "not dataset_notebooks and not wheel" --nbval-lax --nbval-current-env tests notebooks

# Every notebook on a GTZAN-layout fixture, and three on FMA and MagnaTagATune layouts (about 9
# minutes): the proof that GENRE_DATASET=gtzan needs no notebook edits. Kept out of `make test`
# so that it stays under 15 minutes; CI runs both.
test-datasets: setup
	GENRE_PROFILE=ci $(PYTEST) -q --durations=5 -m dataset_notebooks tests

# The wheel, installed into a clean virtual environment, runs notebook 01 from a folder with no
# checkout, its first cell installing the package as on Colab (about 4 minutes; CI runs it).
test-wheel: setup
	GENRE_PROFILE=ci $(PYTEST) -q -m wheel tests

# ruff (configured in pyproject.toml) over the package, the tests, the benchmarks and the notebooks
lint: setup
	$(PY) -m ruff check genre_lib tests benchmarks notebooks browser_tests scripts

unit: setup
	$(PYTEST) -q -m "not wheel" tests

notebooks: setup
	GENRE_PROFILE=ci $(PYTEST) -q --nbval-lax --nbval-current-env notebooks

# The upload page of `python -m genre_lib serve` in a real headless browser: Playwright (in the
# lock) drives the system's Chromium (`chromium` on the PATH, or GENRE_CHROMIUM); .ci/run
# installs it with apt. Kept out of `make test`, which needs no browser.
browser-test: setup
	GENRE_BROWSER_REQUIRED=1 GENRE_PROFILE=ci $(PYTEST) -q browser_tests

bench: setup
	$(PY) benchmarks/features.py
	$(PY) benchmarks/training.py
	$(PY) benchmarks/scale.py
	$(PY) benchmarks/musicnn.py

clean:
	rm -rf build results models figures/*/ data/cache

# nbgrader course (docs/instructors.md): student versions of every notebook into build/release/,
# grading of build/submitted/<student>/<assignment>/ (or of SUBMISSIONS=<folder>, same layout),
# and HTML pages of the executed notebooks of `make run`; ONLY="02 03" limits the notebooks.
.PHONY: student autograde html

student: setup
	$(PY) -m genre_lib.grading release $(ONLY)

autograde: setup
	$(PY) -m genre_lib.grading autograde $(if $(SUBMISSIONS),--from "$(SUBMISSIONS)") $(ONLY)

html: setup
	$(PY) -m genre_lib.grading html

# Run-to-run spread of every model of notebooks 03-08: each trained with 3 seeds (SEEDS="42 43 44")
# on the same data and split; writes docs/spread_<run name>.md (the table in docs/instructors.md).
# About an hour per extra seed in the full profile on 2 CPU cores.
.PHONY: spread
spread: setup
	$(PY) scripts/spread.py $(if $(SEEDS),--seeds $(SEEDS))

# Learning curves of the deep models of notebooks 04-06 (3 seeds, no early stopping): what the
# step budgets in genre_lib/models/__init__.py are chosen from (docs/training_budgets.md).
# About an hour and a half in the full profile on 2 CPU cores. STEPS=640 sets the length.
.PHONY: curves variation
curves: setup
	$(PY) scripts/learning_curves.py $(if $(STEPS),--steps $(STEPS))

# The same seed under settings that stand for other machines (1 thread, AVX2 only, no oneDNN):
# how far the weights and the scores move (the README's "What varies across machines").
variation: setup
	$(PY) scripts/machine_variation.py

# The book: the executed notebooks of this settings' run (make run; in CI GENRE_PROFILE=ci), the
# docs pages, the API reference and one bibliography as static HTML in build/book/html/. Nothing
# is executed or downloaded; Sphinx runs with -W. SOLUTIONS=1 keeps the exercise answers.
.PHONY: book book-test
book: setup
	$(PY) -m genre_lib.book $(if $(SOLUTIONS),--solutions)

# The built book in headless Chromium (browser_tests/test_book.py); it builds nothing itself.
book-test: setup
	GENRE_BROWSER_REQUIRED=1 GENRE_BOOK_REQUIRED=1 $(PYTEST) -q browser_tests/test_book.py
