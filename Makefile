# Everything runs inside a project-local virtual environment, created on first use.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: install test train models clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --upgrade pip
	$(BIN)/python -m pip install -e '.[test]'
	touch $(STAMP)

install: $(STAMP)

## The unit tests (a few minutes at most).
test: $(STAMP)
	$(BIN)/python -m pytest

## The main job: list the zoo with budget verdicts.
models: $(STAMP)
	$(BIN)/tinyconv models

clean:
	rm -rf $(VENV) build *.egg-info .pytest_cache .hypothesis
