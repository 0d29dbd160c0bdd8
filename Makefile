# regionhus: the two commands of the README, and the steps they are made of.
#
#   make demo   bring up the lab, apply the region, verify, report (embedded default)
#   make test   lint + every test (unit, NetBox, lab); what CI runs
#
# Everything is installed by these targets: a fresh machine needs nothing by hand.

SHELL := /bin/bash
VENV := .venv
PY := $(VENV)/bin/python
RH := $(VENV)/bin/regionhus
# ansible-core and NetBox need Python >= 3.12; pyenv provides it on these machines.
# (pyenv's shim answers `command -v` even when 3.12 is not the active version, so
# each candidate must actually run.)
PYTHON312 ?= $(shell for p in $$HOME/.pyenv/versions/3.12*/bin/python3.12 $$(command -v python3.12); do "$$p" --version >/dev/null 2>&1 && { echo "$$p"; break; }; done)

.PHONY: demo test venv lint unit clean
.DEFAULT_GOAL := demo

venv: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml constraints.txt
	@test -n "$(PYTHON312)" || { echo "Python 3.12 not found: install it (pyenv install 3.12) or set PYTHON312=/path/to/python3.12" >&2; exit 2; }
	$(PYTHON312) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -c constraints.txt -e '.[dev]'
	@touch $@

demo: venv
	$(RH) demo

test: venv lint
	$(VENV)/bin/pytest -ra

lint: venv
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/lint-imports
	$(VENV)/bin/mypy
	$(VENV)/bin/yamllint --strict .
	mk/ansible-lint
	$(VENV)/bin/python mk/scan_secrets.py

unit: venv
	$(VENV)/bin/pytest -ra tests/unit

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache

-include mk/*.mk
