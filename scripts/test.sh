#!/usr/bin/env bash
# Install everything the tests need (Debian chromium, redis-server and postgresql, Python
# extras), start the servers on 127.0.0.1 and run the whole suite.
# Works on a fresh Debian machine with Python 3.11 as root; `.ci/run` calls exactly this.
set -euo pipefail
cd "$(dirname "$0")/.."

# Debian packages: Chromium for the browser tests, Redis and PostgreSQL for the distributed
# crawl and the store tests on both databases, WordPress, MariaDB and PHP for the publishing
# tests. One `apt-get update`, only when one is missing.
if [ "$(id -u)" = 0 ]; then APT=(apt-get); else APT=(sudo apt-get); fi
missing=()
command -v chromium >/dev/null 2>&1 || missing+=(chromium)
command -v redis-server >/dev/null 2>&1 || missing+=(redis-server)
command -v pg_ctlcluster >/dev/null 2>&1 && [ -n "$(ls /usr/lib/postgresql 2>/dev/null)" ] \
  || missing+=(postgresql)
# WordPress's recommends (a mail server, ...) are not needed: installed without them.
wp_missing=()
[ -f /usr/share/wordpress/wp-settings.php ] || wp_missing+=(wordpress)
[ -d /usr/share/wordpress/wp-content/themes/twentytwentythree ] \
  || wp_missing+=(wordpress-theme-twentytwentythree)
command -v mariadb-install-db >/dev/null 2>&1 || wp_missing+=(mariadb-server)
command -v php >/dev/null 2>&1 || wp_missing+=(php-cli)
# (grep -q on a pipe would stop php early: with pipefail that reads as missing)
php_modules=$(php -m 2>/dev/null || true)
grep -qx mysqli <<<"$php_modules" || wp_missing+=(php-mysql)
grep -qx SimpleXML <<<"$php_modules" || wp_missing+=(php-xml)  # WordPress's sitemap
command -v curl >/dev/null 2>&1 || wp_missing+=(curl)  # the readiness check
if [ ${#missing[@]} -gt 0 ] || [ ${#wp_missing[@]} -gt 0 ]; then
  "${APT[@]}" update -qq
fi
if [ ${#missing[@]} -gt 0 ]; then
  DEBIAN_FRONTEND=noninteractive "${APT[@]}" install -y -qq "${missing[@]}" >/dev/null
fi
if [ ${#wp_missing[@]} -gt 0 ]; then
  DEBIAN_FRONTEND=noninteractive "${APT[@]}" install -y -qq --no-install-recommends \
    "${wp_missing[@]}" >/dev/null
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
