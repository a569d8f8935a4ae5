# CreditRadar: `make demo` and `make test` each build .venv and install what they need.
# The first interpreter that really runs and is 3.11 or 3.12 (a pyenv shim may exist but fail).
PY ?= $(shell for c in python3.12 python3.11 python3; do \
	$$c -c 'import sys; assert (3, 11) <= sys.version_info[:2] <= (3, 12)' 2>/dev/null \
	&& command -v $$c && break; done)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp
DEMO := demo-output
WORKSPACE_PORT ?= 8080

.PHONY: install demo demo-stop test lint bench clean

$(STAMP): pyproject.toml
	@test -n "$(PY)" || { echo "CreditRadar needs Python 3.11 or 3.12 (bytewax 0.21)"; exit 1; }
	$(PY) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -e '.[test,report]'
	touch $(STAMP)

install: $(STAMP)

demo: $(STAMP)
	$(BIN)/creditradar --log-level warning demo --out $(DEMO) --customers 2000 --months 36 --seed 7
	@echo ""
	@echo "The risk desk's workspace on the demo's book:"
	@$(BIN)/creditradar --log-level warning users demo --out $(DEMO)
	@$(BIN)/creditradar --log-level warning serve --out $(DEMO) --state-dir $(DEMO)/state \
		--port $(WORKSPACE_PORT) --background

demo-stop:
	$(BIN)/creditradar serve --out $(DEMO) --stop

test: $(STAMP)
	$(BIN)/python -m pytest --durations=25

bench: $(STAMP)
	$(BIN)/python bench/engine_bench.py
	$(BIN)/python bench/month_end.py --customers 100000
	$(BIN)/python bench/epoch_floor.py
	$(BIN)/python bench/news_bench.py
	$(BIN)/python bench/web_bench.py --customers 100000
	$(BIN)/python bench/explain_bench.py

lint: $(STAMP)
	$(BIN)/ruff check .

clean:
	rm -rf $(VENV) $(DEMO) .pytest_cache .ruff_cache .kafka
