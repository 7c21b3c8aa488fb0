# Two commands on a fresh machine: `make lab` (set up, run the app against the lab) and
# `make test` (set up, lint, run the tests). Everything else here serves those two.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
ODBCSYSINI := $(CURDIR)/.odbc
export ODBCSYSINI

.PHONY: setup sysdeps lab test lint gallery bench clean

setup: sysdeps $(VENV)/.installed $(ODBCSYSINI)/odbcinst.ini

sysdeps:
	@bash tools/sysdeps.sh

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e '.[test,dev]'
	touch $@

$(ODBCSYSINI)/odbcinst.ini: $(VENV)/.installed tools/odbcinst.py
	$(PY) tools/odbcinst.py $(ODBCSYSINI)

lab: setup
	$(VENV)/bin/milink --lab

lint: setup
	$(VENV)/bin/ruff check .

test: setup
	$(VENV)/bin/ruff check .
	$(VENV)/bin/pytest -q

gallery: setup
	$(PY) tools/gallery.py

bench: setup
	$(PY) bench/run_all.py

clean:
	rm -rf $(VENV) $(ODBCSYSINI) .pytest_cache
