# tradeloop — the two commands of the README quick start, and helpers.
#   make demo   sets up the virtual environment (first use) and runs the main job
#   make test   sets up the virtual environment (first use) and runs the whole test suite
SHELL := /bin/bash
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: install demo test lint bench lock clean

$(STAMP): pyproject.toml constraints.txt scripts/bootstrap.sh
	@scripts/bootstrap.sh

install: $(STAMP)

demo: $(STAMP)
	@scripts/demo.sh

test: $(STAMP)
	@scripts/test.sh

lint: $(STAMP)
	$(BIN)/ruff check src tests benchmarks *.py
	$(BIN)/mypy

bench: $(STAMP)
	OMP_NUM_THREADS=1 $(BIN)/python benchmarks/bench_data.py
	OMP_NUM_THREADS=1 $(BIN)/python benchmarks/bench_train.py
	OMP_NUM_THREADS=1 $(BIN)/python benchmarks/bench_replay.py
	OMP_NUM_THREADS=1 $(BIN)/python benchmarks/bench_confidence.py
	OMP_NUM_THREADS=1 $(BIN)/python benchmarks/bench_learning.py
	OMP_NUM_THREADS=1 $(BIN)/python benchmarks/bench_optimize.py
	OMP_NUM_THREADS=1 $(BIN)/python benchmarks/bench_rollout.py
	OMP_NUM_THREADS=1 $(BIN)/python benchmarks/bench_dashboard.py
	OMP_NUM_THREADS=1 $(BIN)/python benchmarks/bench_faults.py
	OMP_NUM_THREADS=1 $(BIN)/python benchmarks/bench_backtest.py
	OMP_NUM_THREADS=1 $(BIN)/python benchmarks/bench_soak.py

lock: $(STAMP)
	@scripts/lock.sh

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache .mypy_cache test-artifacts
