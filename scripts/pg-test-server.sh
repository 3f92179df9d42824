#!/usr/bin/env bash
# A throwaway PostgreSQL 15 server for the tests (Debian's postgresql
# package, binaries under /usr/lib/postgresql/15/bin).
#
#   scripts/pg-test-server.sh start DIR   initdb in DIR/data, start it listening
#                                         only on a unix socket in DIR (no TCP),
#                                         fsync off; prints the libpq URL:
#                                         postgresql:///yun?host=DIR&port=5432&user=yun
#   scripts/pg-test-server.sh stop DIR    stop it (the data stays until the next start)
#
# initdb and postgres refuse to run as root: as root they run as the
# `postgres` system user (created if missing), which then owns DIR.
set -euo pipefail
cmd=${1:-}
dir=${2:-}
if [[ -z "$dir" || ( "$cmd" != start && "$cmd" != stop ) ]]; then
  echo "usage: $0 start|stop DIR" >&2
  exit 2
fi
bin=${YUN_PG_BIN:-/usr/lib/postgresql/15/bin}
port=5432  # only a unix socket in DIR: no clash with another server's port
mkdir -p "$dir"
dir=$(cd "$dir" && pwd)

as_pg() {
  if [[ $(id -u) == 0 ]]; then runuser -u postgres -- "$@"; else "$@"; fi
}

# The server's files live in DIR, or, where the postgres user cannot reach
# DIR or its socket path would be too long (107 bytes), in a directory under
# /tmp that DIR/elsewhere names.
home=$dir
if [[ -f "$home/elsewhere" ]]; then
  dir=$(cat "$home/elsewhere")
fi

stop() {
  if [[ -f "$dir/data/postmaster.pid" ]]; then
    as_pg "$bin/pg_ctl" -D "$dir/data" -m fast -w stop >/dev/null 2>&1 || true
  fi
}

if [[ "$cmd" == stop ]]; then
  stop
  exit 0
fi

if [[ ! -x "$bin/initdb" ]]; then
  echo "pg-test-server: no PostgreSQL 15 at $bin (apt-get install postgresql)" >&2
  exit 1
fi
stop
if [[ "$dir" != "$home" ]]; then  # a previous run's server under /tmp
  rm -rf "$dir" "$home/elsewhere"
  dir=$home
fi
if [[ $(id -u) == 0 ]]; then
  id postgres >/dev/null 2>&1 || useradd --system --no-create-home --shell /usr/sbin/nologin postgres
  chown postgres "$dir"
fi
if ! as_pg test -w "$dir" -a -x "$dir" || (( ${#dir} > 80 )); then
  dir=$(mktemp -d /tmp/yun-pg-XXXXXX)
  [[ $(id -u) == 0 ]] && chown postgres "$dir"
  echo "$dir" >"$home/elsewhere"
fi
rm -rf "$dir/data"
as_pg "$bin/initdb" -D "$dir/data" -U yun -A trust -E UTF8 --no-locale >"$dir/initdb.log" 2>&1 || {
  cat "$dir/initdb.log" >&2
  exit 1
}
cat >>"$dir/data/postgresql.conf" <<CONF
listen_addresses = ''
unix_socket_directories = '$dir'
port = $port
fsync = off
synchronous_commit = off
full_page_writes = off
max_connections = 200
CONF
if ! as_pg "$bin/pg_ctl" -D "$dir/data" -l "$dir/data/server.log" -w -t 60 start >/dev/null; then
  cat "$dir/data/server.log" >&2 || true
  exit 1
fi
as_pg "$bin/createdb" -h "$dir" -p "$port" -U yun yun
echo "postgresql:///yun?host=$dir&port=$port&user=yun"
