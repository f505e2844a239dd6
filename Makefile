# Two commands do all the set-up on a fresh machine: `make run` and `make test`.
PYTHON ?= python3.11
VENV   := .venv
PY     := $(VENV)/bin/python
PIP    := $(PY) -m pip
SCALE  ?= S
SAMPLE := data/sample
export HF_HUB_OFFLINE := 1
export TRANSFORMERS_OFFLINE := 1
export TOKENIZERS_PARALLELISM := false

.PHONY: install install-dev run test lint bench clean

$(PY):
	$(PYTHON) -m venv $(VENV)
	$(PIP) install --quiet --upgrade "pip==25.3"

# torch first: the CPU build on this machine's disk. A bare `torch` would pull a CUDA build.
$(VENV)/.installed: $(PY) pyproject.toml constraints.txt
	$(PIP) install --quiet torch==2.13.0
	$(PIP) install --quiet -c constraints.txt -e .
	touch $@

$(VENV)/.installed-dev: $(VENV)/.installed
	$(PIP) install --quiet -c constraints.txt -e ".[dev]"
	touch $@

install: $(VENV)/.installed
install-dev: $(VENV)/.installed-dev

run: install
	@test -f $(SAMPLE)/workers.csv || $(VENV)/bin/laborbridge sample $(SAMPLE) --workers 2000 --jobs 500 --seed 7
	$(VENV)/bin/laborbridge place $(SAMPLE) --out data/runs/latest

lint: install-dev
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

test: install-dev
	$(VENV)/bin/ruff check .
	$(VENV)/bin/python -m pytest -q

bench: install-dev
	$(VENV)/bin/python -m benchmarks --scale $(SCALE)

clean:
	rm -rf $(VENV) data/runs .pytest_cache .ruff_cache
