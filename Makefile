# Build and test glue. The test servers are real (servers/up-all.sh); their state lives under
# $(STATE_ROOT): <repo>/.state/servers, $SOCIALARCHIVE_STATE/servers, or /var/tmp/socialarchive-<hash>/servers
# when the repo sits where PostgreSQL's user cannot enter (e.g. under /root).
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
PYTEST_ARGS ?=

export CMIS_PORT ?= 8090
export CMIS10_PORT ?= 8091
export MW_PORT ?= 8081
export WP_PORT ?= 8082
export WP_DB_PORT ?= 3307
export MISAGO_PORT ?= 8083
export MISAGO_PG_PORT ?= 5433
STATE_ROOT := $(or $(STATE_ROOT),$(shell servers/up-all.sh root))

# what the tests read to find the servers and their credentials (files in the state dirs)
export SA_TEST_CMIS_URL ?= http://127.0.0.1:$(CMIS_PORT)/inmemory/browser
export SA_TEST_CMIS10_URL ?= http://127.0.0.1:$(CMIS10_PORT)/inmemory/browser
export SA_TEST_MW_API ?= http://127.0.0.1:$(MW_PORT)/api.php
export SA_TEST_MW_STATE ?= $(STATE_ROOT)/mediawiki
export SA_TEST_WP_URL ?= http://127.0.0.1:$(WP_PORT)
export SA_TEST_WP_STATE ?= $(STATE_ROOT)/wordpress
export SA_TEST_MISAGO_URL ?= http://127.0.0.1:$(MISAGO_PORT)
export SA_TEST_MISAGO_STATE ?= $(STATE_ROOT)/misago

.PHONY: venv servers servers-stop servers-status servers-reset test test-env demo bench

venv: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml
	@# Debian's python3 has no ensurepip (so no venv) until python3-venv is installed
	@$(PYTHON) -c 'import ensurepip' 2>/dev/null || { apt-get update -q && \
	  DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends python3-venv; }
	$(PYTHON) -m venv $(VENV)
	$(VENV)/bin/pip install -q -e '.[test]'
	touch $@

servers:
	servers/up-all.sh start $(STATE_ROOT)

servers-stop:
	servers/up-all.sh stop $(STATE_ROOT)

servers-status:
	servers/up-all.sh status $(STATE_ROOT)

servers-reset:
	servers/up-all.sh reset $(STATE_ROOT)

test: venv servers
	$(VENV)/bin/python -m pytest -q $(PYTEST_ARGS) tests

# print the variables the tests get, for running pytest by hand: eval "$$(make -s test-env)"
test-env:
	@env | grep -E '^SA_TEST_' | sed 's/^/export /'

# the demo starts the servers it needs itself (opencmis, mediawiki)
demo: venv
	servers/demo.sh

# README "Performance": each bench/ script prints OURS vs a RAW baseline side by side, on servers of
# its own (OpenCMIS 127.0.0.1:18190, :18191 and :18193 for the 1 GiB runs, MediaWiki :18181), stopped after
BENCH_SCRIPTS ?= throughput noop_sync round_trips mediawiki_requests memory sweep scanner atompub atompub_memory
bench: venv
	@test -x /usr/bin/time || apt-get install -y -q time >/dev/null
	@set -e; trap 'servers/opencmis/up.sh stop /tmp/cmis-bench >/dev/null; servers/mediawiki/up.sh stop /tmp/mw-bench >/dev/null' EXIT; \
	for s in $(BENCH_SCRIPTS); do echo "== bench/$$s.py"; $(VENV)/bin/python bench/$$s.py; echo; done
