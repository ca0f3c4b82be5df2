#!/usr/bin/env bash
# Install everything the tests need (Debian chromium, Python extras) and run the whole suite.
# Works on a fresh Debian machine with Python 3.11 as root; `.ci/run` calls exactly this.
set -euo pipefail
cd "$(dirname "$0")/.."

if ! command -v chromium >/dev/null 2>&1; then
  if [ "$(id -u)" = 0 ]; then APT=(apt-get); else APT=(sudo apt-get); fi
  "${APT[@]}" update -qq
  DEBIAN_FRONTEND=noninteractive "${APT[@]}" install -y -qq chromium >/dev/null
fi

PYTHON=${PYTHON:-python3}
[ -x .venv/bin/python ] || "$PYTHON" -m venv .venv
.venv/bin/python -m pip install -q --upgrade pip
.venv/bin/python -m pip install -q -e '.[test]'

# House style: lint and format are part of the suite.
.venv/bin/ruff check .
.venv/bin/ruff format --check .

exec .venv/bin/python -m pytest -ra "$@"
