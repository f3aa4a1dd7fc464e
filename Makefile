# The two commands a newcomer needs: `make run` (the gateway) and `make test` (everything CI runs).
# Both install what is missing (apt: cmake, libclang-dev; the pinned model wheels, sha256-checked)
# and never rebuild needlessly: cargo keeps its target dir (CARGO_TARGET_DIR if set).
SHELL := /bin/bash
CARGO ?= cargo
TARGET_DIR := $(or $(CARGO_TARGET_DIR),$(CURDIR)/target)
SLUICE := $(TARGET_DIR)/release/sluice
LLAMA_SERVER := $(TARGET_DIR)/llama-server/bin/llama-server
VENV := $(TARGET_DIR)/venv
MODELS_VENV := $(TARGET_DIR)/venv-models
OPENAI_VERSION := 3.54.0
ANTHROPIC_VERSION := 2.17.0
NODE_DIR := $(TARGET_DIR)/node
export ORT_DYLIB_PATH ?= $(CURDIR)/models/onnxruntime/libonnxruntime.so.1.31.1

.PHONY: run test models deps browser redis llama-server build bench bench-gateway lint fmt policy-test eval eval-gate eval-baseline eval-corpus eval-corpus-check

run: deps models build
	@$(SLUICE) audit keygen --config sluice.toml --if-missing >/dev/null
	@if [ -z "$$SLUICE_API_KEY" ]; then \
	  SLUICE_API_KEY="sk-sluice-$$(head -c 24 /dev/urandom | od -An -tx1 | tr -d ' \n')"; \
	  echo "SLUICE_API_KEY was not set; generated one for this run:"; \
	  echo "  export SLUICE_API_KEY=$$SLUICE_API_KEY"; \
	  echo "  curl -s http://127.0.0.1:8080/v1/chat/completions -H \"Authorization: Bearer $$SLUICE_API_KEY\" \\"; \
	  echo "    -H 'Content-Type: application/json' -d '{\"model\":\"gpt-4o-mini\",\"messages\":[{\"role\":\"user\",\"content\":\"Hello\"}]}'"; \
	fi; \
	if [ -z "$$SLUICE_ADMIN_KEY" ]; then \
	  SLUICE_ADMIN_KEY="sk-sluice-admin-$$(head -c 24 /dev/urandom | od -An -tx1 | tr -d ' \n')"; \
	  echo "SLUICE_ADMIN_KEY was not set; generated one for the compliance console (http://127.0.0.1:8080/console):"; \
	  echo "  export SLUICE_ADMIN_KEY=$$SLUICE_ADMIN_KEY"; \
	fi; \
	export SLUICE_API_KEY SLUICE_ADMIN_KEY; exec $(SLUICE) serve --config sluice.toml

test: deps browser redis models llama-server $(VENV)/.sdks-$(OPENAI_VERSION)-$(ANTHROPIC_VERSION) $(NODE_DIR)/.installed
	$(CARGO) build --release --all-targets
	SLUICE_LLAMA_SERVER=$(LLAMA_SERVER) $(CARGO) test --release -- --test-threads=2
	$(SLUICE) policy test policies/*.toml
	SLUICE_NODE_MODULES=$(NODE_DIR)/node_modules $(VENV)/bin/python tests/sdk_clients.py $(SLUICE)
	$(MAKE) --no-print-directory eval-gate
	@if [ -x $(VENV)/bin/python ] && [ -f $(VENV)/.eval-requirements ]; then $(MAKE) --no-print-directory eval-corpus-check; fi

# The official openai and anthropic clients, pinned, in a venv next to the build (not the system
# Python). `python -m pip`: a venv copied with its target dir keeps a pip whose shebang names the
# old venv.
$(VENV)/.sdks-$(OPENAI_VERSION)-$(ANTHROPIC_VERSION):
	[ -x $(VENV)/bin/python ] || python3 -m venv $(VENV)
	$(VENV)/bin/python -m pip install --quiet openai==$(OPENAI_VERSION) anthropic==$(ANTHROPIC_VERSION)
	touch $@

# The official Node SDKs, at the versions and integrity hashes of tests/node/package-lock.json,
# in a node_modules next to the build; no install scripts run.
$(NODE_DIR)/.installed: tests/node/package.json tests/node/package-lock.json
	mkdir -p $(NODE_DIR)
	cp tests/node/package.json tests/node/package-lock.json $(NODE_DIR)/
	npm ci --prefix $(NODE_DIR) --ignore-scripts --no-audit --no-fund --loglevel=error
	touch $@

# Detection accuracy on our labelled corpus (tests/eval, issue 12): the table on stdout, the full
# report in $(EVAL_JSON), and a non-zero exit when recall, entity F2 or the cleared-prompt
# false-alarm rate regressed beyond the tolerances recorded in tests/eval/baseline.json.
EVAL_JSON := $(TARGET_DIR)/eval.json
EVAL_ARGS := --config sluice.toml --corpus tests/eval/corpus.jsonl --baseline tests/eval/baseline.json
eval: deps models build eval-gate

eval-gate:
	$(SLUICE) eval $(EVAL_ARGS) --json-out $(EVAL_JSON)

# Re-record the baseline (commit it with the change that moved the figures, and say why).
eval-baseline: deps models build
	$(SLUICE) eval $(EVAL_ARGS) --json-out $(EVAL_JSON) --write-baseline

# The corpus generator's venv: Faker pinned by hash (tests/eval/requirements.txt). `python -m pip`, not
# bin/pip: a venv copied with its target dir keeps a pip whose shebang names the old venv.
$(VENV)/.eval-requirements: tests/eval/requirements.txt
	[ -x $(VENV)/bin/python ] || python3 -m venv $(VENV)
	$(VENV)/bin/python -m pip install --quiet --require-hashes -r tests/eval/requirements.txt
	cp tests/eval/requirements.txt $@

# Regenerate tests/eval/corpus.jsonl (fixed seed: the same bytes every time).
eval-corpus: $(VENV)/.eval-requirements
	$(VENV)/bin/python tests/eval/generate.py

# The committed corpus is what the generator writes (run by `make test` when the venv has Faker).
eval-corpus-check: $(VENV)/.eval-requirements
	$(VENV)/bin/python tests/eval/generate.py --check

build: deps
	$(CARGO) build --release

# Fetches the pinned wheels' files, then derives the int8 NER graph from the 4-bit one (in a venv
# of pinned tools, created only when the int8 file is missing or stale). Both steps are idempotent.
models:
	@bash models/fetch.sh
	@SLUICE_MODELS_VENV=$(MODELS_VENV) bash models/derive.sh

deps:
	@missing=""; \
	command -v cmake >/dev/null 2>&1 || missing="$$missing cmake"; \
	ls /usr/lib/llvm-*/lib/libclang.so* /usr/lib/x86_64-linux-gnu/libclang*.so* >/dev/null 2>&1 || missing="$$missing libclang-dev"; \
	command -v python3 >/dev/null 2>&1 || missing="$$missing python3 python3-pip"; \
	command -v npm >/dev/null 2>&1 || missing="$$missing nodejs npm"; \
	if [ -n "$$missing" ]; then \
	  if [ "$$(id -u)" = 0 ]; then \
	    echo "deps: installing$$missing"; \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing >/dev/null; \
	  else \
	    echo "deps: missing$$missing; run: sudo apt-get install -y$$missing" >&2; exit 1; \
	  fi; \
	fi

# The shared rate-limit store's test runs a real Redis on loopback (tests/quotas_redis.rs); only
# `make test` needs it.
redis:
	@if ! command -v redis-server >/dev/null 2>&1; then \
	  if [ "$$(id -u)" = 0 ]; then \
	    echo "deps: installing redis-server (for the shared rate-limit store's test)"; \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq redis-server >/dev/null; \
	  else \
	    echo "deps: missing redis-server; run: sudo apt-get install -y redis-server" >&2; exit 1; \
	  fi; \
	fi

# llama.cpp's llama-server, for the on-premise pool's tests (tests/pool.rs): built once from the
# llama.cpp in the pinned llama-cpp-python sdist (sha256-checked), kept next to the build.
llama-server:
	@bash models/llama-server.sh $(TARGET_DIR)/llama-server

# The console's browser test drives Debian's chromium package headless (tests/console_browser.rs);
# only `make test` needs it.
browser:
	@if ! command -v chromium >/dev/null 2>&1; then \
	  if [ "$$(id -u)" = 0 ]; then \
	    echo "deps: installing chromium (for the console's browser test)"; \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; \
	  else \
	    echo "deps: missing chromium; run: sudo apt-get install -y chromium" >&2; exit 1; \
	  fi; \
	fi

# Every bench: criterion benches of the detectors, policy and audit log, then the gateway under load
# (oha against a mock upstream on loopback, directly and through sluice; installs oha if missing).
bench: deps models llama-server bench-gateway
	$(CARGO) bench --bench detect --bench policy --bench dictionary --bench audit --bench regex --bench ner --bench generate
	SLUICE_LLAMA_SERVER=$(LLAMA_SERVER) $(CARGO) bench --bench pool_failover

bench-gateway: deps models
	@command -v oha >/dev/null 2>&1 || [ -x "$${CARGO_HOME:-$$HOME/.cargo}/bin/oha" ] || $(CARGO) install oha --locked
	$(CARGO) bench --bench gateway_load

lint:
	$(CARGO) fmt --all -- --check
	$(CARGO) clippy --release --all-targets -- -D warnings

fmt:
	$(CARGO) fmt --all
