#!/usr/bin/env bash
# Make sure PostgreSQL, Redis and Chromium are available for the test suite.
# Where a service is unreachable and this is a Debian machine with root, install and start it.
set -euo pipefail

PG_HOST=${PGHOST:-127.0.0.1}
PG_PORT=${PGPORT:-5432}
REDIS_HOST=${REDIS_HOST:-127.0.0.1}
REDIS_PORT=${REDIS_PORT:-6379}

can_install() { [ "$(id -u)" = "0" ] && command -v apt-get >/dev/null 2>&1; }
apt_updated=0
apt_install() {
  if [ "$apt_updated" = 0 ]; then apt-get update -qq >/dev/null; apt_updated=1; fi
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@" >/dev/null
}
port_open() { (exec 3<>"/dev/tcp/$1/$2") 2>/dev/null; }

wait_port() {
  for _ in $(seq 1 30); do port_open "$1" "$2" && return 0; sleep 1; done
  return 1
}

if ! port_open "$PG_HOST" "$PG_PORT"; then
  if can_install; then
    echo "PostgreSQL not reachable on $PG_HOST:$PG_PORT: installing/starting it"
    command -v pg_ctlcluster >/dev/null 2>&1 || apt_install postgresql
    version=$(ls /etc/postgresql | sort -V | tail -n1)
    conf=/etc/postgresql/$version/main
    # Trust local TCP connections from this machine only (test setup).
    grep -q "coursehub-test" "$conf/pg_hba.conf" || sed -i '1i host all all 127.0.0.1/32 trust # coursehub-test' "$conf/pg_hba.conf"
    pg_ctlcluster --skip-systemctl-redirect "$version" main start || true
    wait_port "$PG_HOST" "$PG_PORT" || { echo "PostgreSQL did not start" >&2; exit 1; }
  else
    echo "PostgreSQL is not reachable on $PG_HOST:$PG_PORT; start one (user postgres, trust auth) or set TEST_DATABASE_URL" >&2
    exit 1
  fi
fi

if ! port_open "$REDIS_HOST" "$REDIS_PORT"; then
  if can_install; then
    echo "Redis not reachable on $REDIS_HOST:$REDIS_PORT: installing/starting it"
    command -v redis-server >/dev/null 2>&1 || apt_install redis-server
    mkdir -p /var/lib/redis /var/log/redis
    redis-server --daemonize yes --bind 127.0.0.1 --port "$REDIS_PORT" --save "" --appendonly no \
      --dir /var/lib/redis --logfile /var/log/redis/coursehub-test.log
    wait_port "$REDIS_HOST" "$REDIS_PORT" || { echo "Redis did not start" >&2; exit 1; }
  else
    echo "Redis is not reachable on $REDIS_HOST:$REDIS_PORT; start one or set TEST_REDIS_URL" >&2
    exit 1
  fi
fi

"$(dirname "$0")/ensure_chromium.sh" --require
