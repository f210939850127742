#!/usr/bin/env bash
# The README's test command: install, lint, type-check, run the whole test suite.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/bootstrap.sh
# Browser tests drive Debian's chromium; install it when we may (root with apt), else they skip.
if ! command -v chromium >/dev/null 2>&1 && [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
  echo "Installing Debian's chromium for the browser tests…"
  (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null) \
    || echo "chromium could not be installed; browser tests will be skipped"
fi
# The cluster tests run HAProxy and PgBouncer from Debian's packages; install them the same way.
if { ! command -v haproxy >/dev/null 2>&1 && [ ! -x /usr/sbin/haproxy ]; } \
  || { ! command -v pgbouncer >/dev/null 2>&1 && [ ! -x /usr/sbin/pgbouncer ]; }; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    echo "Installing Debian's haproxy and pgbouncer for the cluster tests…"
    (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq haproxy pgbouncer >/dev/null) \
      || echo "haproxy/pgbouncer could not be installed; the cluster tests will be skipped"
  fi
fi
echo "== ruff"; .venv/bin/ruff check . && .venv/bin/ruff format --check .
echo "== mypy"; .venv/bin/mypy persian services nlu sandbox bot console app demo benchmarks tests
echo "== pytest"
set +e
# Two workers (the machine's two cores): most of the suite waits on bot processes over HTTP.
# Tests that need a process group to themselves share one xdist group (tests/conftest.py).
# PYTEST_WORKERS=0 runs in one process.
.venv/bin/python -m pytest -n "${PYTEST_WORKERS:-2}" --dist loadgroup "$@"
rc=$?
set -e
# pytest's 5 means "no tests collected": a failure for us, never a silent pass.
exit $rc
