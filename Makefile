# Customer Insights: `make help` lists the targets.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
QUARTER ?= 2026Q3
CUSTOMERS ?= 5000
SEED ?= 2026
REPORT_LANGUAGE ?=
TEST_JOBS ?= 2
STAMP := $(VENV)/.installed

.DEFAULT_GOAL := help
.PHONY: help setup demo-data report test lab benchmark fonts clean-work lock

help: ## List the targets
	@grep -E '^[a-zA-Z_-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-11s %s\n", $$1, $$2}'

$(STAMP): requirements.lock pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -r requirements.lock
	$(BIN)/python -m pip install --quiet --no-deps -e .
	$(BIN)/python -m ipykernel install --sys-prefix --name python3 --display-name "Python 3 (Customer Insights)" >/dev/null
	-@$(MAKE) --no-print-directory fonts
	touch $(STAMP)

setup: $(STAMP) ## Create .venv and install the pinned dependencies (requirements.lock)

fonts: ## Install a CJK font for Chinese chart labels where possible (Debian, as root)
	@if command -v fc-list >/dev/null 2>&1 && fc-list | grep -qi "Noto Sans CJK"; then :; \
	elif [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
	  echo "installing fonts-noto-cjk for Chinese labels"; \
	  (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq fonts-noto-cjk >/dev/null) \
	  || echo "could not install fonts-noto-cjk; Chinese labels fall back to other fonts"; \
	else echo "note: no CJK font found; install fonts-noto-cjk (or a CJK font) for Chinese chart labels"; fi

data/demo/orders.csv: | $(STAMP)
	$(BIN)/python -m helpers.demo.generator --customers $(CUSTOMERS) --seed $(SEED) --end 2026-09-30 --out data/demo

demo-data: data/demo/orders.csv ## Generate the demo data (5,000 customers) if absent

report: setup demo-data ## Produce the report for QUARTER (default 2026Q3) in REPORT_LANGUAGE (en; zh-CN) into outputs/<quarter>/<date>/
	$(BIN)/python run_all.py --quarter $(QUARTER) $(if $(REPORT_LANGUAGE),--language $(REPORT_LANGUAGE))

$(VENV)/.spark-installed: requirements-spark.lock | $(STAMP)
	$(BIN)/python -m pip install --quiet -r requirements-spark.lock
	touch $@

test: setup $(VENV)/.spark-installed ## Run the test suite (also installs PySpark for the distributed-path test)
	$(BIN)/python -m pytest -n $(TEST_JOBS) --dist loadgroup

lab: setup demo-data ## Open the notebooks in JupyterLab on the project's kernel
	$(BIN)/jupyter lab notebooks

benchmark: setup ## Time each step of the report at CUSTOMERS customers
	$(BIN)/python benchmarks/run_report.py --customers $(CUSTOMERS)

clean-work: ## Remove the notebooks' on-demand prepared data (data/work)
	rm -rf data/work

lock: ## Regenerate requirements.lock from pyproject.toml in a scratch environment
	rm -rf /tmp/ci-lock-venv && $(PYTHON) -m venv /tmp/ci-lock-venv
	/tmp/ci-lock-venv/bin/pip install --quiet --upgrade pip
	/tmp/ci-lock-venv/bin/pip install --quiet ".[test]"
	{ sed -n '1,2p' requirements.lock; /tmp/ci-lock-venv/bin/pip freeze --exclude-editable | grep -v '^customer-insights'; } > requirements.lock.new
	mv requirements.lock.new requirements.lock
