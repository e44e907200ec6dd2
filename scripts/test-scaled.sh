#!/usr/bin/env bash
# The queue and stamping tests against the scaled-out installation: the task queue in Redis (a
# private redis-server on a free port per run, started by tests/conftest.py), PostgreSQL, and
# tests/test_scaled.py starting 2 server processes + 2 queue workers (scripts/run_scaled.py).
# Never skipped: without PostgreSQL or redis-server it fails (make test installs both).
set -euo pipefail
PY=${PY:-.venv/bin/python}
DB=${APUNTO_PG_DB:-apunto_test}
url=$(bash "$(dirname "$0")/postgres-db.sh" "$DB") || {
  echo "Falta PostgreSQL para las pruebas de varias instancias: sudo apt-get install postgresql" \
       "(make test lo instala)." >&2
  exit 1
}
echo "Pruebas de varias instancias: cola en Redis, PostgreSQL, 2 servidores + 2 trabajadores…"
APUNTO_TEST_DATABASE_URL="$url" APUNTO_TEST_SCALED=1 \
  "$PY" -m pytest -p no:cacheprovider tests/test_scaled.py tests/test_jobs.py tests/test_stamp_queue.py \
  tests/test_alegra_budget.py "$@"
