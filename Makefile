# Everything runs inside a project-local virtual environment, created on first use.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

DOCS_STAMP := $(VENV)/.installed-docs

.PHONY: install test check-results train models docs mutants clean

## Where MNIST is kept (fetched and verified on first use).
export TINYCONV_DATA ?= $(CURDIR)/data

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -e '.[test]'
	touch $(STAMP)

$(DOCS_STAMP): $(STAMP)
	$(BIN)/python -m pip install -e '.[test,docs]'
	touch $(DOCS_STAMP)

install: $(STAMP)

## The unit tests (a few minutes at most).
test: $(STAMP)
	$(BIN)/python -m pytest

## The lab's checks on the committed results (benchmarks/results): claims in prose, README freshness,
## shipped weights, searched entries. They import the lab (benchmarks/lab), which the product's tests never do.
check-results: $(STAMP)
	PYTHONPATH=benchmarks $(BIN)/python -m pytest -p no:cacheprovider benchmarks/tests

## The main job: fetch MNIST (verified) and train st8k (the under-8k model the search found) with its recipe for 15 epochs, ending in a results summary and the verdict against the exercise.
train: $(STAMP)
	$(BIN)/tinyconv train st8k --out runs/st8k

## List the zoo with parameters and budget verdicts.
models: $(STAMP)
	$(BIN)/tinyconv models

## The documentation, warnings as errors (runs the example gallery; fetches MNIST if needed).
docs: $(DOCS_STAMP)
	$(BIN)/python -m sphinx -W --keep-going -b html docs docs/_build/html

## Mutation testing of the core modules (slow: tens of minutes; not part of CI). The modules and tests
## are listed under [tool.mutmut] in pyproject.toml; `mutmut results` lists the survivors afterwards.
mutants: $(STAMP)
	$(BIN)/python -m pip install 'mutmut>=3.8,<4'
	$(BIN)/mutmut run --max-children 2
	$(BIN)/mutmut export-cicd-stats || true
	$(BIN)/mutmut results

clean:
	rm -rf $(VENV) mutants build *.egg-info .pytest_cache .hypothesis
