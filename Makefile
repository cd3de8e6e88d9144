# Every install goes through constraints.txt, which pins torch to the CPU-capable 2.13.0.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
PIP := $(PY) -m pip install -c constraints.txt
STAMP := $(VENV)/.installed

.PHONY: demo test lint venv clean bench-harness

$(PY):
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip

$(STAMP): $(PY) pyproject.toml constraints.txt
	$(PIP) -q torch==2.13.0
	$(PIP) -q -e '.[test]'
	touch $(STAMP)

venv: $(STAMP)

demo: $(STAMP)
	$(VENV)/bin/nnspeed study --quick --out nnspeed-study

test: $(STAMP)
	$(PY) -m pytest -q

# pyflakes, pycodestyle, isort, bugbear and pyupgrade; the formatter; types of the public API.
lint: $(STAMP)
	$(VENV)/bin/ruff check src tests benchmarks
	$(VENV)/bin/ruff format --check src tests benchmarks
	$(VENV)/bin/mypy

bench-harness: $(STAMP)
	$(PY) benchmarks/harness_overhead.py

clean:
	rm -rf $(VENV) .nnspeed
