#!/usr/bin/env bash
# A throwaway WordPress on 127.0.0.1 for the publishing tests, from Debian's packages: a private
# MariaDB (own data folder and socket), a copy of the WordPress tree with its own wp-config.php
# (WP_ENVIRONMENT_TYPE=local, so application passwords work over plain HTTP), PHP's built-in
# server, WordPress's own installer from PHP CLI, one user per role with an application password.
#   eval "$(bash scripts/wordpress.sh)"
# prints BACKRANK_TEST_WP_URL, BACKRANK_TEST_WP_DIR and BACKRANK_TEST_WP_<ROLE>_PASSWORD.
# Safe to run again: a site already answering is left alone. `--stop` stops it. Everything lives
# under /dev/shm (on disk, repeated resets stall on I/O). Diagnostics go to stderr.
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
BASE=${BACKRANK_TEST_WP_DIR:-/dev/shm/backrank-wp}
PORT=${BACKRANK_TEST_WP_PORT:-8790}
URL="http://127.0.0.1:$PORT"
SOCKET=$BASE/mysqld.sock
SITE=$BASE/site

stop() {
  for pidfile in "$BASE/php.pid" "$BASE/mysqld.pid"; do
    if [ -s "$pidfile" ]; then
      # PHP's workers outlive their parent: stop the whole process group it leads
      kill -- "-$(cat "$pidfile")" 2>/dev/null || kill "$(cat "$pidfile")" 2>/dev/null || true
      rm -f "$pidfile"
    fi
  done
}
if [ "${1:-}" = "--stop" ]; then stop; exit 0; fi

if [ "$(id -u)" = 0 ]; then APT=(apt-get); else APT=(sudo apt-get); fi
missing=()
[ -f /usr/share/wordpress/wp-settings.php ] || missing+=(wordpress)
[ -d /usr/share/wordpress/wp-content/themes/twentytwentythree ] \
  || missing+=(wordpress-theme-twentytwentythree)
command -v mariadb-install-db >/dev/null 2>&1 || missing+=(mariadb-server)
command -v php >/dev/null 2>&1 || missing+=(php-cli)
# (grep -q on a pipe would stop php early: with pipefail that reads as missing)
php_modules=$(php -m 2>/dev/null || true)
grep -qx mysqli <<<"$php_modules" || missing+=(php-mysql)
grep -qx SimpleXML <<<"$php_modules" || missing+=(php-xml)  # WordPress's sitemap
command -v curl >/dev/null 2>&1 || missing+=(curl)  # the readiness check
if [ ${#missing[@]} -gt 0 ]; then
  echo "wordpress.sh: installing ${missing[*]}" >&2
  "${APT[@]}" update -qq >&2
  DEBIAN_FRONTEND=noninteractive "${APT[@]}" install -y -qq --no-install-recommends \
    "${missing[@]}" >&2
fi

mkdir -p "$BASE"
# The application passwords are made once and kept, so a reset of the site keeps them.
if [ ! -s "$BASE/passwords" ]; then
  pw() { tr -dc 'A-Za-z0-9' </dev/urandom | head -c 24; }
  echo "admin:$(pw) editor:$(pw) author:$(pw) contributor:$(pw)" >"$BASE/passwords"
  chmod 600 "$BASE/passwords"
fi
BACKRANK_WP_PASSWORDS=$(cat "$BASE/passwords")

print_env() {
  echo "export BACKRANK_TEST_WP_URL=$URL"
  echo "export BACKRANK_TEST_WP_DIR=$BASE"
  for pair in $BACKRANK_WP_PASSWORDS; do
    role=${pair%%:*}
    echo "export BACKRANK_TEST_WP_${role^^}_PASSWORD=${pair#*:}"
  done
}

if curl -fsS -o /dev/null "$URL/wp-json/" 2>/dev/null; then
  # a running site still gets this checkout's test switches
  cp "$HERE/wordpress/backrank-test-switches.php" "$SITE/wp-content/mu-plugins/"
  print_env
  exit 0
fi
stop

# MariaDB: its own data folder and socket, no TCP port.
if [ ! -d "$BASE/db/mysql" ]; then
  rm -rf "$BASE/db"
  mariadb-install-db --no-defaults --datadir="$BASE/db" --user="$(id -un)" \
    --auth-root-authentication-method=socket --skip-test-db \
    --innodb-log-file-size=8M >"$BASE/mysqld-install.log" 2>&1 \
    || { cat "$BASE/mysqld-install.log" >&2; exit 1; }
fi
setsid mariadbd --no-defaults --datadir="$BASE/db" --socket="$SOCKET" --skip-networking \
  --pid-file="$BASE/mysqld.pid.mariadb" --user="$(id -un)" --innodb-log-file-size=8M \
  --innodb-buffer-pool-size=32M --log-error="$BASE/mysqld.log" </dev/null >/dev/null 2>&1 &
echo $! >"$BASE/mysqld.pid"
for _ in $(seq 100); do
  mariadb --no-defaults --socket="$SOCKET" -uroot -e 'SELECT 1' >/dev/null 2>&1 && break
  sleep 0.1
done
mariadb --no-defaults --socket="$SOCKET" -uroot >&2 <<SQL
CREATE DATABASE IF NOT EXISTS wordpress;
CREATE USER IF NOT EXISTS 'wordpress'@'localhost' IDENTIFIED BY 'wordpress';
GRANT ALL ON wordpress.* TO 'wordpress'@'localhost';
SQL

# A real copy of the tree: Debian's wp-config.php (and symlinks to it) resolve to Debian's site.
if [ ! -f "$SITE/wp-settings.php" ]; then
  rm -rf "$SITE"
  cp -a /usr/share/wordpress "$SITE"
fi
mkdir -p "$SITE/wp-content/mu-plugins" "$SITE/wp-content/uploads"
cp "$HERE/wordpress/backrank-test-switches.php" "$SITE/wp-content/mu-plugins/"
cat >"$SITE/wp-config.php" <<PHP
<?php
// The backrank test site (written by scripts/wordpress.sh).
define('DB_NAME', 'wordpress');
define('DB_USER', 'wordpress');
define('DB_PASSWORD', 'wordpress');
define('DB_HOST', 'localhost:$SOCKET');
define('DB_CHARSET', 'utf8mb4');
define('DB_COLLATE', '');
define('WP_HOME', '$URL');
define('WP_SITEURL', '$URL');
define('WP_CONTENT_DIR', __DIR__ . '/wp-content');
define('WP_ENVIRONMENT_TYPE', 'local');
define('WP_AUTO_UPDATE_CORE', false);
define('AUTOMATIC_UPDATER_DISABLED', true);
define('DISABLE_WP_CRON', true);
define('WP_DEBUG', false);
\$table_prefix = 'wp_';
if (!defined('ABSPATH')) {
    define('ABSPATH', __DIR__ . '/');
}
require_once ABSPATH . 'wp-settings.php';
PHP

php "$HERE/wordpress/setup.php" "$SITE" >&2

setsid env PHP_CLI_SERVER_WORKERS=4 php -S "127.0.0.1:$PORT" -t "$SITE" \
  "$HERE/wordpress/router.php" </dev/null >"$BASE/php.log" 2>&1 &
echo $! >"$BASE/php.pid"
for _ in $(seq 100); do
  curl -fsS -o /dev/null "$URL/wp-json/" 2>/dev/null && break
  sleep 0.1
done
curl -fsS -o /dev/null "$URL/wp-json/" || { echo "wordpress.sh: $URL does not answer" >&2; cat "$BASE/php.log" >&2; exit 1; }
print_env
