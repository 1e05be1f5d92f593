# The verbs README and CI call. Everything installs itself: a virtualenv here, n8n and the MCP
# Inspector into ~/.cache/spreaders (shared by every clone on the machine).
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-$(shell cat pyproject.toml constraints.txt | cksum | cut -d' ' -f1)
NODE_TOOLS := $(or $(XDG_CACHE_HOME),$(HOME)/.cache)/spreaders/node-tools
INSPECTOR := $(NODE_TOOLS)/node_modules/.bin/mcp-inspector
# The OAuth provider the test suite starts (8.x: the line that supports Node.js 20).
OIDC_PROVIDER_VERSION := 8.8.1
OIDC_PROVIDER := $(NODE_TOOLS)/.oidc-provider-$(OIDC_PROVIDER_VERSION)
PROMPT ?= Launch our spring sneaker drop on Instagram and TikTok next Monday with an email to our list, $$2k budget, for 18-30 year olds in Berlin

.PHONY: install n8n node-tools demo test test-postgres lint typecheck bench clean

install: $(STAMP)

$(STAMP):
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "Python 3.11+ is needed (found %s); set PYTHON=python3.11" % sys.version.split()[0])'
	@command -v node >/dev/null || { echo "Node.js 20+ is needed for n8n: install it, then run make again."; exit 1; }
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -c constraints.txt -e ".[dev]"
	@rm -f $(VENV)/.installed-*
	@touch $(STAMP)

n8n: install
	$(BIN)/spreaders n8n install

node-tools: $(INSPECTOR) $(OIDC_PROVIDER)

$(INSPECTOR):
	mkdir -p $(NODE_TOOLS)
	npm install --prefix $(NODE_TOOLS) --no-audit --no-fund --loglevel=error @modelcontextprotocol/inspector@0.15.0

$(OIDC_PROVIDER): $(INSPECTOR)
	npm install --prefix $(NODE_TOOLS) --save-exact --no-audit --no-fund --loglevel=error oidc-provider@$(OIDC_PROVIDER_VERSION)
	@touch $@

demo: install
	$(BIN)/spreaders demo '$(PROMPT)'

test: install n8n node-tools
	$(BIN)/pytest

lint: install
	$(BIN)/ruff check src tests benchmarks
	$(BIN)/ruff format --check src tests benchmarks

typecheck: install
	$(BIN)/mypy

bench: install n8n
	$(BIN)/python -m benchmarks.run

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
