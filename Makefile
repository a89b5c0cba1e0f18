# The README's two commands: `make demo` and `make test`. Each builds .venv from nothing.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: demo test lint format bench clean whatif-demo replay-demo

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e ".[dev,dask,plots,service]"
	touch $(STAMP)

demo: $(STAMP)
	mkdir -p examples/output
	$(BIN)/portcon construct examples/scores.csv --limits examples/limits.toml -o examples/output/targets.csv --json examples/output/targets.json

whatif-demo: $(STAMP)
	$(BIN)/portcon whatif examples/scores.csv examples/scenarios.toml --limits examples/limits.toml --covariance examples/covariance.csv -o examples/output/whatif

replay-demo: $(STAMP)
	$(BIN)/python examples/replay_demo.py
	$(BIN)/portcon replay examples/history.csv --returns examples/history_returns.csv --max-single-position 0.08 --min-score-new-position 0.65 --grace-period-days 21 -o examples/output/replay/cli

test: $(STAMP)
	$(BIN)/ruff check portcon tests examples benchmarks
	$(BIN)/ruff format --check portcon tests examples benchmarks
	$(BIN)/mypy portcon
	$(BIN)/python -m pytest -q

lint: $(STAMP)
	$(BIN)/ruff check portcon tests examples benchmarks

format: $(STAMP)
	$(BIN)/ruff format portcon tests examples benchmarks
	$(BIN)/ruff check --fix portcon tests examples benchmarks

bench: $(STAMP)
	$(BIN)/python -m pip install --quiet -e ".[dev,bench]"
	$(BIN)/python benchmarks/bench_construct.py
	$(BIN)/python benchmarks/bench_risk.py
	$(BIN)/python benchmarks/bench_counts.py
	$(BIN)/python benchmarks/bench_threads.py

clean:
	rm -rf $(VENV) build *.egg-info .pytest_cache .ruff_cache
