#!/usr/bin/env bash
# Run the test suite against PostgreSQL (the product promises any SQLAlchemy URL works).
# Uses Debian's postgresql when the machine has it; elsewhere it says so and stops.
set -euo pipefail
PY=${PY:-.venv/bin/python}
# Separate checkouts on one machine (worktrees, parallel runs) each name their own database.
DB=${APUNTO_PG_DB:-apunto_test}

if ! command -v pg_ctlcluster >/dev/null 2>&1 || ! ls /usr/lib/postgresql/*/bin/postgres >/dev/null 2>&1; then
  echo "PostgreSQL no está instalado aquí: se omite la pasada de pruebas con PostgreSQL."
  # CI installs it (make services): there a missing PostgreSQL is a failure, never a skip.
  [ -z "${CI:-}" ] || exit 1
  exit 0
fi
if [ "$(id -u)" = 0 ]; then AS_PG="runuser -u postgres --"; else AS_PG="sudo -u postgres"; fi
version=$(ls /usr/lib/postgresql | sort -n | tail -1)
if ! pg_lsclusters -h | awk '{print $1" "$2}' | grep -qx "$version main"; then
  pg_createcluster "$version" main >/dev/null
fi
pg_ctlcluster "$version" main start 2>/dev/null || true
port=$(pg_lsclusters -h | awk -v v="$version" '$1==v && $2=="main" {print $3}')
for _ in $(seq 1 30); do
  $AS_PG psql -p "$port" -Atc "select 1" >/dev/null 2>&1 && break
  sleep 1
done
$AS_PG psql -p "$port" -v ON_ERROR_STOP=1 -q <<'SQL'
DO $$ BEGIN
  IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'apunto_test') THEN
    CREATE ROLE apunto_test LOGIN PASSWORD 'apunto_test';
  END IF;
END $$;
SQL
$AS_PG psql -p "$port" -Atc "SELECT 1 FROM pg_database WHERE datname='$DB'" | grep -q 1 \
  || $AS_PG createdb -p "$port" -O apunto_test "$DB"

echo "Pruebas con PostgreSQL $version (puerto $port)…"
APUNTO_TEST_DATABASE_URL="postgresql+psycopg://apunto_test:apunto_test@127.0.0.1:$port/$DB" \
  "$PY" -m pytest --ignore=tests/e2e -p no:cacheprovider "$@"
