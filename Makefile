# apunto-fact — `make run` serves the app, `make test` runs every test. Both set up .venv first.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
export FLASK_APP := apunto_fact

.PHONY: run test test-postgres bench install install-test browser clean sat-catalogs

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(VENV)/.installed: $(BIN)/python setup.cfg setup.py pyproject.toml
	$(BIN)/python -m pip install --quiet -e .
	touch $@

$(VENV)/.installed-test: $(VENV)/.installed
	$(BIN)/python -m pip install --quiet -e '.[test]'
	touch $@

install: $(VENV)/.installed
	$(BIN)/flask db upgrade

run: install
	$(BIN)/flask serve

# Browser tests drive Debian's chromium (never a browser downloaded by Playwright).
browser:
	@command -v chromium >/dev/null 2>&1 || command -v chromium-browser >/dev/null 2>&1 || { \
	  echo "Instalando chromium (Debian) para las pruebas de navegador..."; \
	  if [ "$$(id -u)" = 0 ]; then SUDO=; else SUDO=sudo; fi; \
	  $$SUDO apt-get -o DPkg::Lock::Timeout=300 update -qq && \
	  DEBIAN_FRONTEND=noninteractive $$SUDO apt-get -o DPkg::Lock::Timeout=300 install -y -qq chromium >/dev/null; }

# The whole suite on SQLite (with the browser tests), then again on PostgreSQL when the
# machine has it (Debian's postgresql): the app must work on any SQLAlchemy URL.
test: $(VENV)/.installed-test browser
	$(BIN)/python -m pytest $(PYTEST_ARGS)
	PY=$(BIN)/python bash scripts/test-postgres.sh $(PYTEST_ARGS)

test-postgres: $(VENV)/.installed-test
	PY=$(BIN)/python bash scripts/test-postgres.sh $(PYTEST_ARGS)

bench: $(VENV)/.installed-test
	$(BIN)/python -m bench

clean:
	rm -rf $(VENV) *.egg-info .pytest_cache

# Regenerate apunto_fact/sat/data/ from the pinned satcfdi wheel (needs PyPI once).
sat-catalogs: $(VENV)/.installed
	$(BIN)/python scripts/build_sat_catalogs.py
