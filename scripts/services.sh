#!/usr/bin/env bash
# Start the servers the tests use on 127.0.0.1 (Debian's redis-server and postgresql, which
# scripts/test.sh installs) and print the environment that points the tests at them:
#   eval "$(bash scripts/services.sh)"
# Safe to run again: a server already answering is left alone. Diagnostics go to stderr.
set -euo pipefail

REDIS_PORT=${BACKRANK_TEST_REDIS_PORT:-6379}
PG_USER=backrank
PG_PASSWORD=backrank
PG_DB=backrank_test

if [ "$(id -u)" = 0 ]; then AS_POSTGRES=(runuser -u postgres --); else AS_POSTGRES=(sudo -u postgres); fi

# Redis: no persistence, loopback only.
if ! redis-cli -h 127.0.0.1 -p "$REDIS_PORT" ping >/dev/null 2>&1; then
  redis-server --bind 127.0.0.1 --port "$REDIS_PORT" --daemonize yes --save '' \
    --appendonly no --logfile /tmp/backrank-redis.log >&2
  for _ in $(seq 50); do
    redis-cli -h 127.0.0.1 -p "$REDIS_PORT" ping >/dev/null 2>&1 && break
    sleep 0.1
  done
fi
redis-cli -h 127.0.0.1 -p "$REDIS_PORT" ping >/dev/null

# PostgreSQL: Debian's packaging makes a "main" cluster; start it (there is no systemd in CI).
PG_VERSION=$(pg_lsclusters -h | awk 'NR==1 {print $1}')
if [ -z "$PG_VERSION" ]; then
  PG_VERSION=$(ls /usr/lib/postgresql | sort -n | tail -1)
  pg_createcluster "$PG_VERSION" main >&2
fi
PG_PORT=$(pg_lsclusters -h | awk -v v="$PG_VERSION" '$1 == v && $2 == "main" {print $3}')
if ! pg_lsclusters -h | awk -v v="$PG_VERSION" '$1 == v && $2 == "main" {print $4}' | grep -q online; then
  pg_ctlcluster "$PG_VERSION" main start >&2
fi
for _ in $(seq 100); do
  pg_isready -q -h 127.0.0.1 -p "$PG_PORT" && break
  sleep 0.1
done
pg_isready -q -h 127.0.0.1 -p "$PG_PORT"
# A login role that may create the throwaway databases each test uses.
"${AS_POSTGRES[@]}" psql -q -p "$PG_PORT" -v ON_ERROR_STOP=1 >&2 <<SQL
DO \$\$ BEGIN
  IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = '$PG_USER') THEN
    CREATE ROLE $PG_USER LOGIN CREATEDB PASSWORD '$PG_PASSWORD';
  END IF;
END \$\$;
SELECT 'CREATE DATABASE $PG_DB OWNER $PG_USER'
  WHERE NOT EXISTS (SELECT FROM pg_database WHERE datname = '$PG_DB') \gexec
SQL

echo "export BACKRANK_TEST_REDIS=redis://127.0.0.1:$REDIS_PORT/0"
echo "export BACKRANK_TEST_PG=postgresql+psycopg://$PG_USER:$PG_PASSWORD@127.0.0.1:$PG_PORT/$PG_DB"
