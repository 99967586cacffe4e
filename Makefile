# The two commands a fresh machine needs:
#   make book   set up (virtual environment + pinned stack), build the site into book/_build/html
#               (the English edition, and the Chinese one in book/_build/html/zh_CN)
#   make test   the same set-up, then the whole test suite (it builds the book from scratch too)
# Also: make lab, make student, make pdf, make assignment, make notebooks, make translations,
#       make bench, make clean.

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
# FORCE=1 lets `make assignment` replace the assignment's own files in an OUT that holds files.
FORCE ?=
# FORMAT=nbgrader: OUT is an nbgrader course folder, and the assignment its source notebook
# OUT/source/NAME/NAME.ipynb (NAME from TITLE); POINTS overrides the points table (2=3,written=2).
FORMAT ?=
TITLE ?=
POINTS ?=
# ROSTER=roster.csv: one assignment per student, with the student's own variant (vae_lib.variants).
ROSTER ?=
# LANG=zh_CN: the Chinese edition of `make student`, `make pdf` and `make assignment`. Only the
# value zh_CN counts: the shell's own LANG (a locale such as C.UTF-8) means English.
BOOK_LANG := $(if $(filter zh_CN,$(LANG)),zh_CN,en)

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
# Chapters execute once, in English; the Chinese edition translates their library messages.
book book-all test student pdf: export VAE_LIB_LANG := en
# `LANG=zh_CN` on the command line is no locale the system has: Python reads and writes UTF-8 anyway.
student pdf assignment: export PYTHONUTF8 := 1

JB_BUILD := $(ENV_DIR)/bin/jupyter-book build . --config book/_config.yml --toc book/_toc.yml
HTML := book/_build/html/book/intro.html
# The translated editions (book/_ext/editions.py), built from the English build's results.
LANGUAGES := zh_CN

.PHONY: help setup book book-all assets test lab notebooks publish-notebooks student publish-student pdf assignment bench clean constraints translations translation-status

help:
	@echo "make book      build the site into book/_build/html, the Chinese edition into book/_build/html/zh_CN"
	@echo "make test      run the whole test suite (builds the book from scratch in a temp folder)"
	@echo "make lab       open the chapters live in JupyterLab"
	@echo "make student   build the student edition (no solutions) into student/"
	@echo "make publish-student   commit student/notebooks to the branch 'student-notebooks' (student site buttons)"
	@echo "make pdf       print the whole book to book/_build/pdf/vae-book.pdf (needs chromium)"
	@echo "make pdf EDITION=student   print the student edition (no solutions) to book/_build/pdf/vae-book-student.pdf"
	@echo "make student LANG=zh_CN    also the Chinese student edition: student/book/_build/html/zh_CN, student/notebooks/zh_CN"
	@echo "make pdf LANG=zh_CN        print the Chinese edition to book/_build/pdf/vae-book-zh_CN.pdf (EDITION=student too)"
	@echo "make assignment EXERCISES=ex-a,ex-b OUT=folder [FORCE=1]   an assignment notebook and printable sheet"
	@echo "make assignment EXERCISES=ex-a,ex-b OUT=folder ROSTER=roster.csv   one notebook and PDF sheet per student"
	@echo "make assignment EXERCISES=ex-a,ex-b OUT=folder LANG=zh_CN   the assignment in Chinese (statements, sheet, checks)"
	@echo "make assignment EXERCISES=ex-a,ex-b OUT=course FORMAT=nbgrader TITLE=ps1   an nbgrader source notebook"
	@echo "make notebooks write portable .ipynb copies of the chapters into notebooks/ (Colab, VS Code)"
	@echo "make publish-notebooks   commit those notebooks to the branch 'notebooks' (Colab buttons)"
	@echo "make translations  after an English change: update the catalogues in book/locales and vae_lib/locales"
	@echo "make translation-status  per page: messages translated, fuzzy, untranslated"
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
	@for language in $(LANGUAGES); do $(PY) book/translate.py build $$language --path-output book || exit 1; done
	@echo
	@echo "The book is built. Open it in a browser:"
	@echo "  file://$(CURDIR)/$(HTML)"
	@for language in $(LANGUAGES); do echo "  file://$(CURDIR)/book/_build/html/$$language/book/intro.html"; done

# A clean, complete build, as CI checks it (re-executes every chapter).
book-all: $(INSTALLED) assets
	rm -rf book/_build
	$(JB_BUILD) --path-output book -W --keep-going --all
	@for language in $(LANGUAGES); do $(PY) book/translate.py build $$language --path-output book --all || exit 1; done

# After a change to the English text (or to the library's messages): extract the messages and
# update every catalogue, keeping translations (a changed message's old one is marked fuzzy).
translations: $(INSTALLED)
	$(PY) book/translate.py update

translation-status: $(INSTALLED)
	$(PY) book/translate.py stat

test: $(INSTALLED) assets
	$(PY) -m pytest

# Chapters open as notebooks (jupytext), rendered like the site (jupyterlab-myst), with the book's
# LaTeX macros (vae_lib._lab_contents); their execution settings live in book/chapters.yml.
LAB_CONTENTS := --ServerApp.contents_manager_class=vae_lib._lab_contents.BookContentsManager

lab: $(INSTALLED)
	@mkdir -p $(ENV_DIR)/share/jupyter/lab/settings
	@cp book/assets/jupyterlab-overrides.json $(ENV_DIR)/share/jupyter/lab/settings/overrides.json
	$(PY) -m jupyter lab $(if $(filter 0,$(shell id -u)),--allow-root) $(LAB_CONTENTS) $(LAB_ARGS) chapters/

# Unexecuted portable .ipynb copies (vae_lib._notebook_export): their first cell installs vae_lib
# where it is missing. publish-notebooks commits them to the branch the Colab buttons open.
notebooks: $(INSTALLED)
	$(PY) book/colab_notebooks.py

publish-notebooks: $(INSTALLED)
	$(PY) book/colab_notebooks.py --publish

# Reuses the execution results of `make book` (book/_build/.jupyter_cache) when there are some.
student: $(INSTALLED) assets
	$(PY) book/student_edition.py --lang $(BOOK_LANG)

publish-student: $(INSTALLED)
	$(PY) book/student_edition.py --publish

# The whole book as one PDF, offline: a single-page build printed by headless Chromium, with
# page numbers, a contents list that gives them, bookmarks and tags. EDITION=student writes the
# student edition first (as `make student`) and prints it beside the lecturer's copy.
pdf: $(INSTALLED) assets
	$(PY) book/print_book.py --edition $(EDITION) --lang $(BOOK_LANG)

assignment: $(INSTALLED) assets
	@if [ -z "$(EXERCISES)" ]; then \
	  echo "Name the exercises: make assignment EXERCISES=ex-a,ex-b [OUT=folder]. The book's exercises:"; \
	  $(PY) -m vae_lib.assign --list; exit 2; \
	fi
	$(PY) -m vae_lib.assign --exercises "$(EXERCISES)" --out "$(OUT)" $(if $(FORCE),--force) \
	  $(if $(FORMAT),--format "$(FORMAT)") $(if $(TITLE),--title "$(TITLE)") $(if $(POINTS),--points "$(POINTS)") \
	  $(if $(ROSTER),--roster "$(ROSTER)") --lang $(BOOK_LANG)

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
