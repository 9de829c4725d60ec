# agentgym — the two commands of the README, plus benchmarks.
#   make demo   the main job: tiny model → SFT → GRPO on CPU, evaluated before/after
#   make test   the whole test suite (installs what it needs, starts dockerd, builds images)
#   make bench  benchmarks → benchmarks/RESULTS.md

VENV ?= .venv
export VENV
PY := $(VENV)/bin/python
export HF_HUB_OFFLINE := 1
export TOKENIZERS_PARALLELISM := false

.PHONY: setup demo test bench clean

setup:
	@scripts/bootstrap.sh test

demo:
	@scripts/bootstrap.sh demo
	$(PY) -m agentgym.trainers.demo --out runs/demo

test:
	@scripts/bootstrap.sh test
	$(PY) -m pytest -q -p no:cacheprovider --timeout=600 --durations=30 tests

bench:
	@scripts/bootstrap.sh test
	@benchmarks/setup_peers.sh
	@for b in benchmarks/bench_*.py; do echo "== $$b"; $(PY) $$b || exit 1; done
	@echo "results: benchmarks/RESULTS.md"

clean:
	rm -rf runs .pytest_cache

