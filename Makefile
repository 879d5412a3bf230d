# Two commands matter: `make demo` and `make test`; both set up the environment first.
VENV := .venv
PY := $(VENV)/bin/python
OUT ?= demo-out

.PHONY: setup demo test lint format clean

setup:
	@bash scripts/setup.sh

demo: setup
	$(VENV)/bin/meso demo --out $(OUT)

test: setup lint
	$(PY) -m pytest -q

lint: setup
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/lint-imports

format: setup
	$(VENV)/bin/ruff format .
	$(VENV)/bin/ruff check --fix .

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache *.egg-info $(OUT)
