# lmf workbench developer tasks. `make demo` and `make test` are the README's two commands.
PYTHON ?= python3
VENV ?= .venv
TORCH_SPEC ?= torch==2.13.0
# The exact versions installed (pip constraints; torch is left to TORCH_SPEC). `CONSTRAINTS=` installs from the
# ranges in pyproject.toml alone, e.g. on a GPU box whose CUDA torch wants other versions of its own dependencies.
CONSTRAINTS ?= constraints.txt
LOCK_VENV ?= /tmp/lmf-lock-venv
BIN := $(VENV)/bin
PIN := $(if $(CONSTRAINTS),-c $(CONSTRAINTS))
# $(call FREEZE,VENV_BIN): its `pip freeze` less pip, the project, torch and torch's CUDA-only wheels, sorted
FREEZE = $(1)/python -m pip freeze --all --exclude-editable | awk '{ n = tolower($$0) } \
	n ~ /^(pip|torch|triton|lmf-workbench)[ =@]/ || (n ~ /^nvidia-/ && n !~ /^nvidia-ml-py==/) { next } { print }' \
	| LC_ALL=C sort -f

.PHONY: install demo demo-data test test-fast style quality bench lock lock-check

install:  ## fresh venv, CPU torch from the pinned wheel (GPU boxes: see README), the project with dev extras
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q $(PIN) "$(TORCH_SPEC)"
	$(BIN)/pip install -q $(PIN) -e ".[dev]"

lock:  ## refresh constraints.txt: the newest releases pyproject.toml allows, resolved in a throwaway venv
	rm -rf $(LOCK_VENV)
	$(PYTHON) -m venv $(LOCK_VENV)
	$(LOCK_VENV)/bin/pip install -q --upgrade pip
	$(LOCK_VENV)/bin/pip install -q "$(TORCH_SPEC)"
	$(LOCK_VENV)/bin/pip install -q -e ".[dev]"
	{ echo "# Exact versions for \`make install\` and CI (pip install -c constraints.txt). Made by \`make lock\`: do not edit."; \
	  echo "# torch is not here: TORCH_SPEC in the Makefile chooses it (the CPU wheel, or a GPU box's own build)."; \
	  $(call FREEZE,$(LOCK_VENV)/bin); } > constraints.txt
	rm -rf $(LOCK_VENV)
	@echo "constraints.txt refreshed; run make install and make test, then commit it"

lock-check:  ## the venv holds exactly what constraints.txt pins (a dependency added without `make lock` fails)
	$(BIN)/python -m pip check
	$(call FREEZE,$(BIN)) > $(VENV)/freeze.txt
	grep -v '^#' $(CONSTRAINTS) | LC_ALL=C sort -f | diff -u - $(VENV)/freeze.txt \
		|| { echo "constraints.txt does not match the installed packages: run make lock"; exit 1; }

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
