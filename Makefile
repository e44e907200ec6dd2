# apunto-fact — `make run` serves the app, `make test` runs every test. Both set up .venv first.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
export FLASK_APP := apunto_fact

.PHONY: run run-scaled test test-postgres test-scaled bench install install-test browser services clean sat-catalogs

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(VENV)/.installed: $(BIN)/python setup.cfg setup.py pyproject.toml
	$(BIN)/python -m pip install --quiet -e .
	touch $@

$(VENV)/.installed-test: $(VENV)/.installed
	$(BIN)/python -m pip install --quiet -e '.[test]'
	touch $@

$(VENV)/.installed-scale: $(VENV)/.installed
	$(BIN)/python -m pip install --quiet -e '.[scale]'
	touch $@

install: $(VENV)/.installed
	$(BIN)/flask db upgrade

run: install
	$(BIN)/flask serve

# Several server processes + queue workers on PostgreSQL and Redis (Linux): README «Varias
# instancias». ARGS="--servers 4 --workers 3 --port 8000" to change the defaults.
run-scaled: $(VENV)/.installed-scale services
	$(BIN)/python scripts/run_scaled.py $(ARGS)

# Browser tests drive Debian's chromium (never a browser downloaded by Playwright).
browser:
	@command -v chromium >/dev/null 2>&1 || command -v chromium-browser >/dev/null 2>&1 || { \
	  echo "Instalando chromium (Debian) para las pruebas de navegador..."; \
	  if [ "$$(id -u)" = 0 ]; then SUDO=; else SUDO=sudo; fi; \
	  $$SUDO apt-get -o DPkg::Lock::Timeout=300 update -qq && \
	  DEBIAN_FRONTEND=noninteractive $$SUDO apt-get -o DPkg::Lock::Timeout=300 install -y -qq chromium >/dev/null; }

# The scaled-out services: Debian's PostgreSQL and Redis (the tests start their own
# redis-server on a free port; the PostgreSQL cluster is started by the scripts).
services:
	@missing=; command -v redis-server >/dev/null 2>&1 || missing="$$missing redis-server"; \
	  ls /usr/lib/postgresql/*/bin/postgres >/dev/null 2>&1 || missing="$$missing postgresql"; \
	  [ -z "$$missing" ] || { \
	  echo "Instalando$$missing (Debian) para las pruebas con varias instancias..."; \
	  if [ "$$(id -u)" = 0 ]; then SUDO=; else SUDO=sudo; fi; \
	  $$SUDO apt-get -o DPkg::Lock::Timeout=300 update -qq && \
	  DEBIAN_FRONTEND=noninteractive $$SUDO apt-get -o DPkg::Lock::Timeout=300 install -y -qq $$missing >/dev/null; }

# The whole suite on SQLite (with the browser tests), then again on PostgreSQL (the app must
# work on any SQLAlchemy URL), then the queue and stamping tests against the scaled-out
# installation: Redis + PostgreSQL, two server processes and two queue workers.
test: $(VENV)/.installed-test browser services
	$(BIN)/python -m pytest $(PYTEST_ARGS)
	PY=$(BIN)/python bash scripts/test-postgres.sh $(PYTEST_ARGS)
	PY=$(BIN)/python bash scripts/test-scaled.sh $(PYTEST_ARGS)

test-postgres: $(VENV)/.installed-test
	PY=$(BIN)/python bash scripts/test-postgres.sh $(PYTEST_ARGS)

test-scaled: $(VENV)/.installed-test services
	PY=$(BIN)/python bash scripts/test-scaled.sh $(PYTEST_ARGS)

bench: $(VENV)/.installed-test
	$(BIN)/python -m bench

clean:
	rm -rf $(VENV) *.egg-info .pytest_cache

# Regenerate apunto_fact/sat/data/ from the pinned satcfdi wheel (needs PyPI once).
sat-catalogs: $(VENV)/.installed
	$(BIN)/python scripts/build_sat_catalogs.py
