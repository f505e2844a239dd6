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

.PHONY: install install-dev system-deps run test lint bench bench-deps clean

$(PY):
	$(PYTHON) -m venv $(VENV)
	$(PIP) install --quiet --upgrade "pip==25.3"

# torch first: the CPU build on this machine's disk. A bare `torch` would pull a CUDA build.
$(VENV)/.installed: $(PY) pyproject.toml constraints.txt
	$(PIP) install --quiet torch==2.13.0
	$(PIP) install --quiet -c constraints.txt -e .
	touch $@

# dev tools and the ray extra: the tests start a local Ray cluster for the ray engine
$(VENV)/.installed-dev: $(VENV)/.installed
	$(PIP) install --quiet -c constraints.txt -e ".[dev,postgres,ray]"
	touch $@

# System packages some tests drive for real: Debian's Chromium for the console's browser tests (no
# browser download at test time), LibreOffice to open the XLSX exports, a CJK font for Chinese
# in charts and screenshots, wrk, the load generator of the API benchmark, and PostgreSQL, whose
# initdb/pg_ctl the store tests use for a throwaway server (Debian keeps them off PATH, under
# /usr/lib/postgresql/<version>/bin). Installed only where missing (CI runs as root on a fresh machine).
SYSTEM_PACKAGES := chromium libreoffice-calc-nogui fonts-noto-cjk wrk postgresql
system-deps:
	@if ! { test -x /usr/bin/chromium && command -v soffice >/dev/null && command -v wrk >/dev/null \
			&& fc-list :lang=zh 2>/dev/null | grep -q . \
			&& { command -v initdb >/dev/null || ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1; } ; }; then \
		apt-get update -qq && apt-get install -y -qq --no-install-recommends $(SYSTEM_PACKAGES) >/dev/null \
		|| echo "warning: could not install $(SYSTEM_PACKAGES); tests that need them skip outside CI"; \
	fi

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
	$(VENV)/bin/mypy
	$(VENV)/bin/python -m pytest -q

# wrk, the load generator of the API benchmark (a C program: it leaves the cores to the server).
bench-deps:
	@command -v wrk >/dev/null || { apt-get update -qq && apt-get install -y -qq --no-install-recommends wrk >/dev/null; } \
		|| echo "warning: could not install wrk; the api benchmark will say so"

bench: install-dev bench-deps
	$(VENV)/bin/python -m benchmarks --scale $(SCALE)

clean:
	rm -rf $(VENV) data/runs .pytest_cache .ruff_cache
