# CreditRadar: `make demo` and `make test` each build .venv and install what they need.
PY ?= $(shell command -v python3.12 || command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp
DEMO := demo-output

.PHONY: install demo test lint bench clean

$(STAMP): pyproject.toml
	$(PY) -c 'import sys; assert (3, 11) <= sys.version_info[:2] <= (3, 12), "CreditRadar needs Python 3.11 or 3.12 (bytewax 0.21)"'
	$(PY) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -e '.[test,report]'
	touch $(STAMP)

install: $(STAMP)

demo: $(STAMP)
	$(BIN)/creditradar --log-level warning demo --out $(DEMO) --customers 2000 --months 36 --seed 7

test: $(STAMP)
	$(BIN)/python -m pytest

lint: $(STAMP)
	$(BIN)/ruff check .

clean:
	rm -rf $(VENV) $(DEMO) .pytest_cache .ruff_cache .kafka
