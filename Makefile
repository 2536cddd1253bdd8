# grape-kg: `make demo` and `make test` do every set-up step themselves on a clean machine.
SHELL := /bin/bash
VENV ?= .venv
PY := $(VENV)/bin/python
GRAPE := $(VENV)/bin/grape
export GRAPE_DATA_DIR ?= $(CURDIR)/.grape
export GRAPE_CACHE_DIR ?= $(HOME)/.cache/grape-kg
export COLUMNS ?= 160
export PIP_DISABLE_PIP_VERSION_CHECK := 1

.PHONY: install system-deps browser-deps python neo4j data demo lint test bench db-start db-stop clean

install: python system-deps neo4j data

# Java 17/21 for Neo4j 5.26 LTS and Maven to fetch it (Debian packages; installed when missing)
system-deps:
	@if ! $(PY) -c "from grapekg.kg.server import find_java; find_java()" 2>/dev/null; then \
	  echo "installing a Java 17 runtime (apt)"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq openjdk-17-jre-headless; \
	fi
	@command -v mvn >/dev/null || { echo "installing Maven (apt)"; apt-get update -qq && \
	  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq maven; }

# Chromium, which tests/test_browser.py drives headless (playwright) to check Neo4j Browser:
# needed by the tests only, so `make demo` does not install it
browser-deps:
	@command -v chromium >/dev/null || { echo "installing Chromium (apt)"; apt-get update -qq && \
	  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium; }

python: $(VENV)/.installed

# torch's wheels with their CUDA libraries take ~7 GB: say so before pip fails half-way
$(VENV)/.installed: pyproject.toml
	@free=$$(df -Pk . | awk 'NR==2 {print int($$4/1048576)}'); \
	  if [ ! -d $(VENV)/lib ] && [ "$$free" -lt 9 ]; then \
	    echo "Makefile: only $${free} GiB free on the disk of $(CURDIR); the Python environment needs about 9 GiB" >&2; exit 1; fi
	@test -x $(PY) || python3 -m venv $(VENV)
	$(PY) -m pip install -q -U pip setuptools wheel
	@# setuptools warns that an editable install sees same-named folders of the working
	@# directory (kg/, model/, cli/ are mapped into grapekg on purpose): not the user's concern
	PYTHONWARNINGS=ignore $(PY) -m pip install -q -e '.[test]'
	@touch $@

neo4j: python system-deps
	$(GRAPE) db install

data: python
	@$(GRAPE) kg fetch || { echo "refreshing apt lists for apt-get download"; apt-get update -qq && $(GRAPE) kg fetch; }

db-start: install
	$(GRAPE) db start

db-stop:
	$(GRAPE) db stop

demo: install
	$(GRAPE) db start
	$(GRAPE) kg build
	$(GRAPE) query pathway_genes_by_class --param name=apoptosis --param limit=5
	$(GRAPE) query gene_go_terms --param symbol=TP53 --param limit=10
	$(GRAPE) data simulate --genes 5000 --conditions 150 --cells-per-condition 50 --combos 0.4 --seed 0 --name sim5k
	$(GRAPE) evaluate --dataset sim5k --split simulation --seeds 1..5
	$(GRAPE) features compute --modality text --genes dataset:sim5k
	$(GRAPE) priors build --kind go --namespace biological_process
	$(GRAPE) priors build --kind reactome
	$(GRAPE) export --genes dataset:sim5k --edges go,reactome --format pyg --out $(GRAPE_DATA_DIR)/exports/sim5k.pt
	$(GRAPE) train --dataset sim5k --split simulation --seeds 1 --epochs 10 --align-epochs 3 --hidden 32 --heads 2 --top-k 2
	@# the best measured variant beside the paper's model (grape models lists them), at the demo's
	@# length (its 300-step minimum off); not written back, so the queries below read the paper's run
	$(GRAPE) train --dataset sim5k --split simulation --seeds 1 --epochs 10 --align-epochs 3 --hidden 32 --heads 2 --top-k 2 --variant lp --set min_steps=0 --label grape-lp-short --no-write-back --no-evaluate
	$(GRAPE) evaluate --dataset sim5k --split simulation --seeds 1 --predictions grape=$(GRAPE_DATA_DIR)/results/sim5k/simulation/grape.parquet --predictions grape-lp-short=$(GRAPE_DATA_DIR)/results/sim5k/simulation/grape-lp-short.parquet
	$(GRAPE) query learned_attention_by_relation --param run=@latest
	$(GRAPE) query learned_nc_c_reactome_support --param run=@latest --param limit=10
	$(GRAPE) query learned_novel_edges --param run=@latest --param min_score=0.0 --param limit=10
	$(GRAPE) report @latest
	$(GRAPE) recovery @latest
	@echo "Neo4j keeps running: 'grape db status' shows it, 'make db-stop' stops it."

lint: python
	$(PY) -m ruff check .

test: install browser-deps lint
	$(PY) -m pytest -q

bench: install
	$(PY) bench/kg_build.py

clean:
	-$(GRAPE) db stop
	rm -rf $(VENV) .grape build *.egg-info
