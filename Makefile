# The two commands a fresh machine needs:
#   make book   set up (virtual environment + pinned stack), build the site into book/_build/html
#   make test   the same set-up, then the whole test suite (it builds the book from scratch too)
# Also: make lab, make student, make pdf, make assignment, make notebooks, make bench, make clean.

SHELL := /bin/bash
PYTHON ?= python3
# Extra options for `make lab`, e.g. LAB_ARGS="--no-browser --port 8890".
LAB_ARGS ?=
# The npm client that installs the site's JavaScript (NPM=none builds a CDN-backed site).
NPM ?= npm
# `make pdf EDITION=student`: print the student edition (no solutions) instead of the lecturer's copy.
EDITION ?= lecturer
# `make assignment EXERCISES=ex-a,ex-b OUT=folder`: the exercises (labels) and where to write.
EXERCISES ?=
OUT ?= assignment

# Use the active virtual environment or conda environment if there is one; otherwise
# create .venv here. Everything below runs through $(PY).
ifdef VIRTUAL_ENV
  ENV_DIR := $(VIRTUAL_ENV)
else ifneq ($(filter-out base,$(CONDA_DEFAULT_ENV)),)
  ENV_DIR := $(CONDA_PREFIX)
else
  ENV_DIR := .venv
endif
PY := $(ENV_DIR)/bin/python
INSTALLED := $(ENV_DIR)/.vae-book-installed

# Executed pages get one plain line per training epoch instead of progress bars (live
# notebooks opened with `make lab` keep their bars).
book book-all test student pdf: export VAE_LIB_PROGRESS := lines

JB_BUILD := $(ENV_DIR)/bin/jupyter-book build . --config book/_config.yml --toc book/_toc.yml
HTML := book/_build/html/book/intro.html

.PHONY: help setup book book-all assets test lab notebooks publish-notebooks student pdf assignment bench clean constraints

help:
	@echo "make book      build the site into book/_build/html (sets everything up first)"
	@echo "make test      run the whole test suite (builds the book from scratch in a temp folder)"
	@echo "make lab       open the chapters live in JupyterLab"
	@echo "make student   build the student edition (no solutions) into student/"
	@echo "make pdf       print the whole book to book/_build/pdf/vae-book.pdf (needs chromium)"
	@echo "make pdf EDITION=student   print the student edition (no solutions) to book/_build/pdf/vae-book-student.pdf"
	@echo "make assignment EXERCISES=ex-a,ex-b OUT=folder   an assignment notebook and printable sheet"
	@echo "make notebooks write .ipynb copies of the chapters into notebooks/ (Colab-ready)"
	@echo "make publish-notebooks   commit those notebooks to the branch 'notebooks' (Colab buttons)"
	@echo "make bench     run the benchmarks (prints JSON)"
	@echo "make clean     remove build outputs (keeps the environment and the model cache)"

setup: $(INSTALLED)

$(INSTALLED): pyproject.toml constraints.txt
	@if [ ! -x "$(PY)" ]; then \
	  echo "Creating a virtual environment in $(ENV_DIR)"; \
	  $(PYTHON) -m venv $(ENV_DIR) || exit 1; \
	fi
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -c constraints.txt -e '.[book,dev]'
	@touch $@

# MathJax, require.js and the widget manager, pinned in book/assets/package-lock.json and
# served from the site so that it works offline. Without npm the site uses public CDNs.
assets: book/_offline/.complete

book/_offline/.complete: book/assets/package.json book/assets/package-lock.json book/assets/copy_assets.py | $(INSTALLED)
	@if command -v $(NPM) >/dev/null 2>&1; then \
	  $(NPM) ci --prefix book/assets --no-audit --no-fund --loglevel=error --ignore-scripts && \
	  $(PY) book/assets/copy_assets.py && touch $@; \
	else \
	  echo "npm not found: the site will load MathJax and the widget manager from public CDNs (it needs the network to render math and widgets)."; \
	fi

book: $(INSTALLED) assets
	$(JB_BUILD) --path-output book -W --keep-going
	@echo
	@echo "The book is built. Open it in a browser:"
	@echo "  file://$(CURDIR)/$(HTML)"

# A clean, complete build, as CI checks it (re-executes every chapter).
book-all: $(INSTALLED) assets
	rm -rf book/_build
	$(JB_BUILD) --path-output book -W --keep-going --all

test: $(INSTALLED) assets
	$(PY) -m pytest

lab: $(INSTALLED)
	@mkdir -p $(ENV_DIR)/share/jupyter/lab/settings
	@cp book/assets/jupyterlab-overrides.json $(ENV_DIR)/share/jupyter/lab/settings/overrides.json
	$(PY) -m jupyter lab $(if $(filter 0,$(shell id -u)),--allow-root) $(LAB_ARGS) chapters/

# Unexecuted .ipynb copies; with repository.url set in book/_config.yml their first cell installs
# vae_lib on Colab. publish-notebooks commits them to the branch the Colab buttons open.
notebooks: $(INSTALLED)
	$(PY) book/colab_notebooks.py

publish-notebooks: $(INSTALLED)
	$(PY) book/colab_notebooks.py --publish

# Reuses the execution results of `make book` (book/_build/.jupyter_cache) when there are some.
student: $(INSTALLED) assets
	$(PY) book/student_edition.py

# The whole book as one PDF, offline: a single-page build printed by headless Chromium, with
# page numbers, a contents list that gives them, bookmarks and tags. EDITION=student writes the
# student edition first (as `make student`) and prints it beside the lecturer's copy.
pdf: $(INSTALLED) assets
	$(PY) book/print_book.py --edition $(EDITION)

assignment: $(INSTALLED) assets
	@if [ -z "$(EXERCISES)" ]; then \
	  echo "Name the exercises: make assignment EXERCISES=ex-a,ex-b [OUT=folder]. The book's exercises:"; \
	  $(PY) -m vae_lib.assign --list; exit 2; \
	fi
	$(PY) -m vae_lib.assign --exercises "$(EXERCISES)" --out "$(OUT)"

bench: $(INSTALLED)
	$(PY) bench/train_speed.py
	$(PY) bench/quality.py

# Regenerate constraints.txt from the current environment (after changing a version).
constraints: $(INSTALLED)
	@{ sed -n '1,/^# Regenerate/p' constraints.txt; \
	   $(PY) -m pip freeze --exclude-editable | grep -vE '^(pip|setuptools|wheel)==' | sed 's/+cpu$$//'; } > constraints.txt.new
	@mv constraints.txt.new constraints.txt
	@echo "constraints.txt updated"

clean:
	rm -rf book/_build book/_offline student notebooks .pytest_cache
