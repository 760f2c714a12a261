#!/usr/bin/env bash
# Make sure the real services the test suite needs answer: PostgreSQL, Redis and Debian's Chromium.
# Tries to start what is installed but stopped; otherwise says exactly what to install or start and fails.
# It never lets the suite skip: under CI=true and locally alike, a missing service is an error.
set -uo pipefail
PGHOST=${PGHOST:-127.0.0.1}; PGPORT=${PGPORT:-5432}
REDIS_HOST=${REDIS_HOST:-127.0.0.1}; REDIS_PORT=${REDIS_PORT:-6379}
fail=0
say() { printf 'make test: %s\n' "$*" >&2; }

pg_up() { pg_isready -q -h "$PGHOST" -p "$PGPORT" 2>/dev/null; }
if ! command -v pg_isready >/dev/null; then
  say "PostgreSQL client tools are missing: apt-get install -y postgresql postgresql-client (server 15+)"
  fail=1
elif ! pg_up; then
  if command -v pg_ctlcluster >/dev/null && [ -d /etc/postgresql ]; then
    say "PostgreSQL is not answering on $PGHOST:$PGPORT; starting the local cluster"
    pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql | head -1)" main start || true
    for _ in $(seq 1 20); do pg_up && break; sleep 0.5; done
  fi
  pg_up || { say "PostgreSQL is not answering on $PGHOST:$PGPORT. Install and start it: apt-get install -y postgresql && pg_ctlcluster 15 main start (trust or password auth for user postgres)"; fail=1; }
fi

redis_up() { (exec 3<>"/dev/tcp/$REDIS_HOST/$REDIS_PORT" && printf 'PING\r\n' >&3 && head -c 5 <&3 | grep -q PONG) 2>/dev/null; }
if ! redis_up; then
  if command -v redis-server >/dev/null; then
    say "Redis is not answering on $REDIS_HOST:$REDIS_PORT; starting redis-server"
    redis-server --daemonize yes --bind 127.0.0.1 --port "$REDIS_PORT" --save "" --appendonly no >/dev/null || true
    for _ in $(seq 1 20); do redis_up && break; sleep 0.3; done
  fi
  redis_up || { say "Redis is not answering on $REDIS_HOST:$REDIS_PORT. Install and start it: apt-get install -y redis-server && redis-server --daemonize yes --bind 127.0.0.1"; fail=1; }
fi

if [ ! -x /usr/bin/chromium ]; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    say "installing Debian chromium for the browser tests"
    (apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q chromium) >/tmp/dms-apt.log 2>&1 \
      || say "apt-get install chromium failed; see /tmp/dms-apt.log"
  fi
  [ -x /usr/bin/chromium ] || { say "Chromium is missing at /usr/bin/chromium: apt-get install -y chromium"; fail=1; }
fi

if [ "$fail" != 0 ]; then
  say "required services are missing (CI=${CI:-false}); not running the suite."
  exit 1
fi
