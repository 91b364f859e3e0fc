# lmf workbench developer tasks. `make demo` and `make test` are the README's two commands.
PYTHON ?= python3
VENV ?= .venv
TORCH_SPEC ?= torch==2.13.0
BIN := $(VENV)/bin

.PHONY: install demo demo-data test test-fast style quality bench

install:  ## fresh venv, CPU torch from the pinned wheel (GPU boxes: see README), the project with dev extras
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q "$(TORCH_SPEC)"
	$(BIN)/pip install -q -e ".[dev]"

demo-data: install  ## install, then build the demo workspace ./lmf-demo and check every config in it
	$(BIN)/lmf-engine demo init lmf-demo --force
	cd lmf-demo && for f in configs/*.yaml; do ../$(BIN)/lmf-engine config validate $$f || exit 1; done

demo: demo-data  ## ... then open the workbench on it
	$(BIN)/lmf-tui lmf-demo

test:  ## the whole suite, slow end-to-end runs included
	$(BIN)/python -m pytest

test-fast:
	$(BIN)/python -m pytest -m "not slow"

style:
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

quality:
	$(BIN)/ruff format --check .
	$(BIN)/ruff check .
	$(BIN)/lint-imports

bench:  ## figures against LLaMA-Factory 0.9.5 (benchmarks/reference_venv.sh creates its venv)
	$(BIN)/python benchmarks/startup.py
	$(BIN)/python benchmarks/preprocess.py
	$(BIN)/python benchmarks/train.py
	$(BIN)/python benchmarks/chat.py
	$(BIN)/python benchmarks/api.py
	$(BIN)/python benchmarks/tui.py
	$(BIN)/python benchmarks/run_history.py
