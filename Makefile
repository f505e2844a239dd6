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

.PHONY: install install-dev system-deps run test lint bench clean

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

# The console's browser tests drive Debian's Chromium (no browser download at test time); the CJK
# font makes Chinese readable in screenshots and charts. Installed only where missing.
system-deps:
	@test -x /usr/bin/chromium && fc-list :lang=zh 2>/dev/null | grep -q . || \
		( (apt-get update -qq && apt-get install -y -qq chromium fonts-noto-cjk >/dev/null) || \
		  echo "warning: could not install chromium/fonts-noto-cjk; browser tests will be skipped" )

install: $(VENV)/.installed
install-dev: $(VENV)/.installed-dev

run: install
	@test -f $(SAMPLE)/workers.csv || $(VENV)/bin/laborbridge sample $(SAMPLE) --workers 2000 --jobs 500 --seed 7
	$(VENV)/bin/laborbridge place $(SAMPLE) --out data/runs/latest

lint: install-dev
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

test: install-dev system-deps
	$(VENV)/bin/ruff check .
	$(VENV)/bin/python -m pytest -q

bench: install-dev
	$(VENV)/bin/python -m benchmarks --scale $(SCALE)

clean:
	rm -rf $(VENV) data/runs .pytest_cache .ruff_cache
