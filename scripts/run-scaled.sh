#!/usr/bin/env bash
# The scaled-out installation on Linux (README «Varias instancias»): PostgreSQL + Redis +
# several server processes + queue workers, one command; Ctrl+C stops everything.
# Options: --servers N --workers M --port P --host H --sandbox (scripts/run_scaled.py --help).
set -euo pipefail
cd "$(dirname "$0")/.."
exec "${PY:-.venv/bin/python}" scripts/run_scaled.py "$@"
