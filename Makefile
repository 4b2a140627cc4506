# Two commands on a fresh machine with only Python 3.11+: `make run` and `make test`.
# uv is used from PATH when present, else bootstrapped (pinned) into .tools/ with pip.
PYTHON ?= python3
UV_VERSION := 0.13.9
UV := $(shell command -v uv 2>/dev/null || echo $(CURDIR)/.tools/bin/uv)
RUN := $(UV) run --frozen
DATASET ?= synthetic-ashare
OUT ?= out
POLICY ?= type_prior

.PHONY: env data run test edit bench clean

$(CURDIR)/.tools/bin/uv:
	$(PYTHON) -m venv .tools
	.tools/bin/pip install --quiet "uv==$(UV_VERSION)"

env: $(if $(findstring .tools,$(UV)),$(UV))
	$(UV) sync --frozen --compile-bytecode

## data: build the sample dataset deterministically and verify it against its committed manifest
data: env
	$(RUN) janus data build $(DATASET) --verify

## run: build and verify the bundled sample, run every notebook headless, export the gate evidence
## and its review report (to $(OUT)/evidence/<run_id>/, $(OUT)/evidence/latest pointing at it), and
## print what the local promotion gate says about it for paper trading
## (the five notebooks run headless in one process, each as `python notebooks/NAME.py --dataset
## $(DATASET) --out $(OUT)/NAME` would: `janus notebooks`, so their shared imports are paid once)
run: data
	$(RUN) janus notebooks notebooks/events.py notebooks/car.py notebooks/reward.py notebooks/backtest.py \
	  notebooks/evidence.py --dataset $(DATASET) --decisions $(POLICY) --out $(OUT)
	$(RUN) janus verify $(OUT)/evidence/latest
	@$(RUN) janus gate $(OUT)/evidence/latest --target paper > $(OUT)/gate-paper.json; \
	  $(RUN) janus gate $(OUT)/evidence/latest --target paper --text; \
	  echo "verdict JSON: $(OUT)/gate-paper.json"; \
	  echo "evidence: $(OUT)/evidence/latest/gates/  report: $(OUT)/evidence/latest/report.html"

## test: lint (ruff: pyflakes and import order; ruff format --check) and the whole test suite (notebooks run headless and
## compared with committed references)
test: env
	$(RUN) ruff check janus_core tests benchmarks notebooks
	$(RUN) ruff format --check janus_core tests benchmarks notebooks
	$(RUN) pytest -q

## edit: open the notebooks in marimo, ready to run (pyproject's [tool.marimo.runtime] auto_instantiate);
## builds the sample first when it is not built yet
edit: env
	@[ -d data/$(DATASET) ] || $(MAKE) data DATASET=$(DATASET)
	$(RUN) marimo edit notebooks

## bench: speed benchmarks (print measured ratios; the bench dependency group adds eventstudy for comparison).
## First every issue-13 target with its figure, same-run reference, ratio and PASS/FAIL, after the scaling
## table (import, CAR, scoring, backtest, export at 0.1x, 1x, 10x events and 4x days; BENCH_SCALES to change)
BENCH_SCALES ?= 0.1,1,10,4xdays
bench: env
	@[ -d data/$(DATASET) ] || $(MAKE) data DATASET=$(DATASET)
	$(RUN) --group bench python benchmarks/bench_targets.py --scales $(BENCH_SCALES) --uv $(UV)
	$(RUN) --group bench python benchmarks/bench_data.py
	$(RUN) --group bench python benchmarks/bench_car.py
	$(RUN) --group bench python benchmarks/bench_reward.py
	$(RUN) python benchmarks/bench_decisions.py
	$(RUN) python benchmarks/bench_sweep.py
	$(RUN) --group bench python benchmarks/bench_backtest.py
	$(RUN) python benchmarks/bench_research.py
	$(RUN) python benchmarks/bench_notebook_controls.py

clean:
	rm -rf .venv .tools $(OUT) data janus.duckdb
