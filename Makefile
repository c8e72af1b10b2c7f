# Entry points. `make pipeline` and `make test` work on a fresh machine (Python 3.11 + pip + git).
SHELL := /bin/bash
PYTHON ?= python3.11
VENV := .venv
BIN := $(CURDIR)/$(VENV)/bin
STAMP := $(VENV)/.installed
# One BentoML store per checkout, outside anything a bento build packs (see bentofile.yaml).
export BENTOML_HOME ?= $(CURDIR)/.bentoml
export DVC_NO_ANALYTICS := 1
export BENTOML_DO_NOT_TRACK := true
export HF_HUB_OFFLINE := 1
export PATH := $(BIN):$(PATH)

.PHONY: setup pipeline pipeline-tiny test test-fast lint format ui serve docker-smoke bench clean \
	readme team-server team-server-stop test-scale promote

$(STAMP): requirements.txt requirements-dev.txt pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV) || python3 -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	# torch first and pinned: anything looser pulls a multi-GB CUDA build.
	$(BIN)/python -m pip install -q torch==2.13.0
	$(BIN)/python -m pip install -q -r requirements.txt -r requirements-dev.txt
	$(BIN)/python -m pip install -q --no-deps --no-build-isolation -e .
	@touch $(STAMP)

setup: $(STAMP)  ## create .venv and install the project

pipeline: setup  ## the full pipeline: dvc repro (generate ... package)
	@git rev-parse --git-dir >/dev/null 2>&1 || git init -q
	$(BIN)/dvc repro

pipeline-tiny: setup  ## the same pipeline on a tiny random backbone, in a temp copy; bento -> dist/
	$(BIN)/python -m harness.tiny_pipeline --bento-out dist/multitask.bento

lint: setup  ## ruff, and bandit (security; skips and inline exceptions justified in pyproject.toml)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/bandit -q -c pyproject.toml -r src pipeline scripts benchmarks

format: setup
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

test: setup lint  ## lint + the whole test suite (unit, slow, integration)
	$(BIN)/python -m pytest

test-fast: setup  ## unit tests only
	$(BIN)/python -m pytest -m "not slow and not integration and not docker"

promote: setup  ## after `dvc exp apply <name>`: point `champion` at champion.json's version, import its bento
	$(BIN)/multitask promote

ui: setup  ## MLflow UI on 127.0.0.1:5000; first prints the compare URL of the workspace's runs
	$(BIN)/multitask ui --port $${PORT:-5000}

serve: setup  ## serve the packaged bento on 127.0.0.1:3000
	$(BIN)/bentoml import dist/multitask.bento >/dev/null 2>&1 || true
	$(BIN)/bentoml serve "$$($(BIN)/python -c 'import json;print(json.load(open("dist/bento.json"))["bento_tag"])')" \
	  --host 127.0.0.1 --port $${PORT:-3000}

docker-smoke: setup  ## build the serving image and check it answers (needs root for dockerd)
	bash scripts/docker/smoke.sh dist/multitask.bento

bench: setup  ## benchmarks (QUICK=1 for a short run)
	$(BIN)/python benchmarks/run_all.py $(if $(QUICK),--quick,)

readme: setup  ## rewrite the README's result and benchmark tables from the reports
	$(BIN)/python scripts/readme_tables.py

team-server: setup  ## team MLflow server (PostgreSQL + local S3 + MLflow) on 127.0.0.1
	bash scripts/team/server.sh start

team-server-stop:
	bash scripts/team/server.sh stop

test-scale: setup  ## the "beyond one machine" tests
	$(BIN)/python -m pytest tests/test_scale_k8s_manifests.py tests/test_scale_team_server.py \
	  tests/test_scale_dvc_remote.py

clean:  ## remove local pipeline state (keeps .venv)
	rm -rf data models reports dist mlflow.db mlflow.db-wal mlflow.db-shm mlflow.db.lock \
	  mlartifacts .bentoml .dvc/cache .dvc/tmp
