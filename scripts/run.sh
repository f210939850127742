#!/usr/bin/env bash
# The README's run command: install, migrate, load the demo data, start the product.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/bootstrap.sh
.venv/bin/tamin-bot demo-data
exec .venv/bin/tamin-bot run "$@"
