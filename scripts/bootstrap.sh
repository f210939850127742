#!/usr/bin/env bash
# Create .venv and install the project with the sandbox (the default of `make run` when no token
# is set) and the dev tools, once per change of pyproject.toml. Used by both README commands,
# so a fresh machine needs nothing installed by hand. A production install is `pip install .`.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3.11}
command -v "$PY" >/dev/null 2>&1 || PY=python3
stamp=.venv/.installed-$(sha256sum pyproject.toml | cut -c1-16)
if [ ! -f "$stamp" ]; then
  [ -x .venv/bin/python ] || "$PY" -m venv .venv
  .venv/bin/python -m pip install --quiet --disable-pip-version-check --upgrade pip
  .venv/bin/python -m pip install --quiet --disable-pip-version-check -e '.[sandbox,dev]'
  rm -f .venv/.installed-*
  touch "$stamp"
fi
