#!/usr/bin/env bash
# The production shape on this machine (README, "Production shape"): HAProxy in front of three
# webhook workers and the console, the outbox sender, and the sandbox as Telegram posting to the
# proxy; against the local PostgreSQL (a throwaway database) and Redis (database 14).
# Options: --workers N (default 3), --workdir DIR (logs and the rendered haproxy.cfg).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/bootstrap.sh >/dev/null
if ! command -v haproxy >/dev/null 2>&1 && [ ! -x /usr/sbin/haproxy ]; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    echo "Installing Debian's haproxy…"
    (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq haproxy >/dev/null) \
      || { echo "haproxy could not be installed"; exit 2; }
  else
    echo "haproxy is not installed (apt-get install haproxy)"; exit 2
  fi
fi
exec .venv/bin/python -m benchmarks.cluster "$@"
