#!/usr/bin/env bash
# Install everything the tests need (Debian chromium, redis-server and postgresql, Python
# extras), start the servers on 127.0.0.1 and run the whole suite.
# Works on a fresh Debian machine with Python 3.11 as root; `.ci/run` calls exactly this.
set -euo pipefail
cd "$(dirname "$0")/.."

# Debian packages: Chromium for the browser tests, Redis and PostgreSQL for the distributed
# crawl and the store tests on both databases. One `apt-get update`, only when one is missing.
# (scripts/wordpress.sh installs what the WordPress tests need the same way.)
if [ "$(id -u)" = 0 ]; then APT=(apt-get); else APT=(sudo apt-get); fi
missing=()
command -v chromium >/dev/null 2>&1 || missing+=(chromium)
command -v redis-server >/dev/null 2>&1 || missing+=(redis-server)
command -v pg_ctlcluster >/dev/null 2>&1 && [ -n "$(ls /usr/lib/postgresql 2>/dev/null)" ] \
  || missing+=(postgresql)
if [ ${#missing[@]} -gt 0 ]; then
  "${APT[@]}" update -qq
  DEBIAN_FRONTEND=noninteractive "${APT[@]}" install -y -qq "${missing[@]}" >/dev/null
fi
# Start them on 127.0.0.1 and point the tests at them (BACKRANK_TEST_REDIS, BACKRANK_TEST_PG).
eval "$(bash scripts/services.sh)"
# A throwaway WordPress on 127.0.0.1 (BACKRANK_TEST_WP_URL and its users' application passwords).
eval "$(bash scripts/wordpress.sh)"

PYTHON=${PYTHON:-python3}
[ -x .venv/bin/python ] || "$PYTHON" -m venv .venv
.venv/bin/python -m pip install -q --upgrade pip
.venv/bin/python -m pip install -q -e '.[test]'

# House style: lint and format are part of the suite.
.venv/bin/ruff check .
.venv/bin/ruff format --check .
# Architecture: the three layers and the forbidden imports of pyproject.toml's [tool.importlinter].
.venv/bin/lint-imports

exec .venv/bin/python -m pytest -ra "$@"
