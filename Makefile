# Two commands set up a fresh machine: `make demo` and `make test`.
# Both create .venv if missing and install the package with its dev extras first.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.mlscore-installed

.PHONY: demo test test-fast lint install clean java17

$(STAMP): pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

install: $(STAMP)

demo: $(STAMP)
	$(VENV)/bin/mlscore demo --out demo_output

java17:
	@java -version 2>&1 | grep -q 'version "17' || { \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	    apt-get update -qq && apt-get install -y -qq openjdk-17-jre-headless; \
	  else \
	    echo "error: the Spark tests need Java 17 (java -version). Install it: sudo apt-get install openjdk-17-jre-headless (Debian/Ubuntu) or brew install openjdk@17 (macOS)"; exit 1; \
	  fi; }
	@java -version 2>&1 | grep -q 'version "17' || { echo "error: Java 17 is required (java -version)"; exit 1; }

test: $(STAMP) java17
	$(PY) -m pytest -q

# The report's browser test drives Debian's headless chromium (never a downloaded build).
CHROMIUM ?= /usr/bin/chromium
test: $(CHROMIUM)
$(CHROMIUM):
	DEBIAN_FRONTEND=noninteractive apt-get update -qq && \
	DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends chromium \
	|| { echo "could not install chromium: run as root, or install it yourself"; exit 1; }

test-fast: $(STAMP)
	$(PY) -m pytest -q -m "not slow and not server and not spark"

lint: $(STAMP)
	$(VENV)/bin/ruff check mlscore tests benchmarks
	$(VENV)/bin/ruff format --check mlscore tests benchmarks
	$(VENV)/bin/mypy

clean:
	rm -rf demo_output .pytest_cache .mypy_cache .ruff_cache
