# The README's two commands: `make demo` and `make test`. Each builds .venv from nothing.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: demo test docs dist lint format bench clean whatif-demo replay-demo

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e ".[dev,dask,plots,service,docs,arch]"
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
	$(BIN)/ruff check portcon tests examples benchmarks docs
	$(BIN)/ruff format --check portcon tests examples benchmarks docs
	$(BIN)/mypy portcon
	$(BIN)/python -m pytest -q
	$(BIN)/python -m sphinx -W --keep-going -q -b html docs docs/_build/html

# The documentation site (docs/_build/html/index.html); any warning fails the build.
docs: $(STAMP)
	$(BIN)/python -m sphinx -W --keep-going -b html docs docs/_build/html

# Release check: wheel and sdist built and checked, then installed in a clean virtualenv
# (outside the source tree) where `portcon --help` and one construct must run.
RELEASE_VENV := build/release-venv
dist: $(STAMP)
	rm -rf dist $(RELEASE_VENV)
	$(BIN)/python -m build --outdir dist .
	$(BIN)/twine check --strict dist/*
	$(PYTHON) -m venv $(RELEASE_VENV)
	$(RELEASE_VENV)/bin/python -m pip install --quiet --upgrade pip
	$(RELEASE_VENV)/bin/python -m pip install --quiet dist/portcon-*.whl
	cd build && release-venv/bin/portcon --help > /dev/null
	cd build && release-venv/bin/portcon construct ../examples/scores.csv --limits ../examples/limits.toml -q -o release-targets.csv
	cd build && release-venv/bin/python -c "import pathlib, portcon; assert (pathlib.Path(portcon.__file__).parent / 'py.typed').is_file(); assert 'site-packages' in portcon.__file__; print('wheel ok', portcon.__version__)"
	$(RELEASE_VENV)/bin/python -m pip install --quiet --no-deps --force-reinstall dist/portcon-*.tar.gz
	cd build && release-venv/bin/portcon construct ../examples/scores.csv -q -o release-sdist-targets.csv && echo "sdist ok"

lint: $(STAMP)
	$(BIN)/ruff check portcon tests examples benchmarks docs

format: $(STAMP)
	$(BIN)/ruff format portcon tests examples benchmarks docs
	$(BIN)/ruff check --fix portcon tests examples benchmarks docs

bench: $(STAMP)
	$(BIN)/python -m pip install --quiet -e ".[dev,bench]"
	$(BIN)/python benchmarks/bench_construct.py
	$(BIN)/python benchmarks/bench_risk.py
	$(BIN)/python benchmarks/bench_counts.py
	$(BIN)/python benchmarks/bench_threads.py

clean:
	rm -rf $(VENV) build dist docs/_build docs/_generated *.egg-info .pytest_cache .ruff_cache
