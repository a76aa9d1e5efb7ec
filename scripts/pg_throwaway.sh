#!/usr/bin/env bash
# Start a throw-away PostgreSQL server on 127.0.0.1 and print its URL; installs the Debian
# package first when no PostgreSQL server binaries are present.
#   usage: eval "$(scripts/pg_throwaway.sh start DIR)"   ...   scripts/pg_throwaway.sh stop DIR
set -euo pipefail
action=${1:?start|stop}; dir=${2:?data folder}

find_bin() {
  local d
  for d in /usr/lib/postgresql/*/bin; do
    [ -x "$d/initdb" ] && { echo "$d"; return 0; }
  done
  command -v initdb >/dev/null 2>&1 && { dirname "$(command -v initdb)"; return 0; }
  return 1
}

if [ "$action" = stop ]; then
  if bin=$(find_bin) && [ -f "$dir/data/postmaster.pid" ]; then
    if [ "$(id -u)" -eq 0 ]; then runuser -u postgres -- "$bin/pg_ctl" -D "$dir/data" -m fast -w stop >/dev/null 2>&1 || true
    else "$bin/pg_ctl" -D "$dir/data" -m fast -w stop >/dev/null 2>&1 || true; fi
  fi
  rm -rf "$dir"
  exit 0
fi

if ! bin=$(find_bin); then
  echo "pg_throwaway: PostgreSQL not found; installing the Debian package" >&2
  sudo=""; [ "$(id -u)" -eq 0 ] || sudo="sudo"
  $sudo apt-get update -q >&2
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -q postgresql >&2
  bin=$(find_bin)
fi

port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
mkdir -p "$dir"
run=()
if [ "$(id -u)" -eq 0 ]; then   # initdb refuses to run as root
  id postgres >/dev/null 2>&1 || useradd --system --no-create-home postgres
  chown postgres "$dir"
  run=(runuser -u postgres --)
fi
"${run[@]}" "$bin/initdb" -D "$dir/data" -A trust -U postgres --no-sync >/dev/null
"${run[@]}" "$bin/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -o \
  "-p $port -k $dir -c listen_addresses=127.0.0.1 -c fsync=off -c full_page_writes=off" start >/dev/null
echo "export TRADELOOP_TEST_PG_URL=postgresql://postgres@127.0.0.1:$port/postgres"
