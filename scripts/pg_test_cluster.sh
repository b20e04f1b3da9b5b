#!/bin/sh
# Starts or stops a throwaway PostgreSQL cluster for the tests (issue 6).
#   pg_test_cluster.sh start DIR   initdb into DIR/data (DIR: a new empty folder), start the
#                                  server on a Unix socket in DIR/sock only (no TCP), create
#                                  the database "sureconnect" and print its URL
#   pg_test_cluster.sh stop DIR    stop that server and remove DIR
# As root the cluster runs as the `postgres` user (PostgreSQL refuses to run as root), which
# then owns DIR. The binaries come from $PG_BIN, else the newest /usr/lib/postgresql/*/bin.
# With PG_TEST_DURABLE=1 (the benchmark) the cluster keeps fsync on and only turns
# synchronous_commit off (a commit survives the server process dying, as with SQLite's WAL
# and synchronous=NORMAL); otherwise (the tests) it skips durability altogether.
set -eu
cmd=${1:-}
dir=${2:-}
if [ -z "$cmd" ] || [ -z "$dir" ]; then
    echo "usage: $0 start|stop DIR" >&2
    exit 2
fi
bin=${PG_BIN:-}
if [ -z "$bin" ]; then
    for b in /usr/lib/postgresql/*/bin; do
        [ -x "$b/pg_ctl" ] && bin=$b
    done
fi
if [ -z "$bin" ] || [ ! -x "$bin/pg_ctl" ]; then
    echo "pg_test_cluster: no PostgreSQL server binaries (make deps installs postgresql-15)" >&2
    exit 1
fi
# Runs a command as the cluster's owner.
as_owner() {
    if [ "$(id -u)" -eq 0 ]; then
        runuser -u postgres -- "$@"
    else
        "$@"
    fi
}
case "$cmd" in
start)
    mkdir -p "$dir"
    dir=$(cd "$dir" && pwd)
    [ "$(id -u)" -eq 0 ] && chown postgres "$dir"
    as_owner mkdir -p "$dir/sock"
    # A free port: the socket is named after it (the server listens on no TCP port at all,
    # and the socket folder is its own, so two clusters never collide).
    port=$(node -e "const s=require('net').createServer().listen(0,'127.0.0.1',()=>{console.log(s.address().port);s.close()})")
    as_owner "$bin/initdb" -D "$dir/data" -U postgres --auth=trust --no-locale -E UTF8 >"$dir/initdb.log" 2>&1 ||
        { cat "$dir/initdb.log" >&2; exit 1; }
    # Test settings: no durability (a throwaway cluster), room for many daemons' connections.
    durability="-c fsync=off -c synchronous_commit=off -c full_page_writes=off"
    [ "${PG_TEST_DURABLE:-}" = 1 ] && durability="-c synchronous_commit=off"
    as_owner "$bin/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 60 \
        -o "-c listen_addresses='' -c unix_socket_directories='$dir/sock' -p $port $durability -c max_connections=400 -c shared_buffers=64MB" \
        start >/dev/null || { cat "$dir/server.log" >&2; exit 1; }
    "$bin/createdb" -h "$dir/sock" -p "$port" -U postgres sureconnect
    echo "postgresql:///sureconnect?host=$dir/sock&port=$port&user=postgres"
    ;;
stop)
    if [ -f "$dir/data/postmaster.pid" ]; then
        as_owner "$bin/pg_ctl" -D "$dir/data" -m immediate -w stop >/dev/null 2>&1 || true
    fi
    rm -rf "$dir"
    ;;
*)
    echo "usage: $0 start|stop DIR" >&2
    exit 2
    ;;
esac
