#!/usr/bin/env bash
# Make sure Debian's PostgreSQL runs and database $1 exists (owned by apunto_test); print its
# SQLAlchemy URL. With --fresh the database is dropped and created again. Prints nothing and
# exits 3 when the machine has no PostgreSQL.
set -euo pipefail
DB=${1:?database name}
FRESH=${2:-}
if ! command -v pg_ctlcluster >/dev/null 2>&1 || ! ls /usr/lib/postgresql/*/bin/postgres >/dev/null 2>&1; then
  exit 3
fi
if [ "$(id -u)" = 0 ]; then AS_PG="runuser -u postgres --"; else AS_PG="sudo -u postgres"; fi
version=$(ls /usr/lib/postgresql | sort -n | tail -1)
if ! pg_lsclusters -h | awk '{print $1" "$2}' | grep -qx "$version main"; then
  pg_createcluster "$version" main >/dev/null
fi
pg_ctlcluster "$version" main start >/dev/null 2>&1 || true
port=$(pg_lsclusters -h | awk -v v="$version" '$1==v && $2=="main" {print $3}')
for _ in $(seq 1 30); do
  $AS_PG psql -p "$port" -Atc "select 1" >/dev/null 2>&1 && break
  sleep 1
done
$AS_PG psql -p "$port" -v ON_ERROR_STOP=1 -q >/dev/null <<'SQL'
DO $$ BEGIN
  IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'apunto_test') THEN
    CREATE ROLE apunto_test LOGIN PASSWORD 'apunto_test';
  END IF;
END $$;
SQL
if [ "$FRESH" = "--fresh" ]; then
  $AS_PG dropdb -p "$port" --if-exists --force "$DB" 2>/dev/null
fi
$AS_PG psql -p "$port" -Atc "SELECT 1 FROM pg_database WHERE datname='$DB'" | grep -q 1 \
  || $AS_PG createdb -p "$port" -O apunto_test "$DB"
echo "postgresql+psycopg://apunto_test:apunto_test@127.0.0.1:$port/$DB"
