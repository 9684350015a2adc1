#!/usr/bin/env bash
# A throw-away PostgreSQL 15 cluster for the tests (Debian's postgresql package).
#   scripts/pg.sh start DIR   initdb, start on 127.0.0.1 and a free port, with a password user
#                             `anonchat` (allowed to create databases) owning database `anonchat`;
#                             writes postgresql://anonchat:PASS@127.0.0.1:PORT/anonchat to DIR/url
#   scripts/pg.sh stop DIR    stops it and removes the cluster
# PostgreSQL refuses to run as root: as root the cluster runs as the `postgres` system user (made
# by the postgresql package); otherwise as the caller. No Unix socket, fsync off: it is for tests.
set -euo pipefail

usage() { echo "usage: $0 start|stop DIR" >&2; exit 2; }
[[ $# -eq 2 ]] || usage
action=$1
dir=$(mkdir -p "$2" && cd "$2" && pwd)

bin=${PG_BIN:-}
if [[ -z "$bin" ]]; then
    for candidate in /usr/lib/postgresql/15/bin /usr/lib/postgresql/*/bin; do
        [[ -x "$candidate/initdb" ]] && { bin=$candidate; break; }
    done
fi
[[ -n "$bin" && -x "$bin/pg_ctl" ]] || {
    echo "pg.sh: PostgreSQL server binaries not found (scripts/setup.sh --test installs them)" >&2
    exit 1
}

as_owner=()
if [[ $(id -u) -eq 0 ]]; then
    id postgres >/dev/null 2>&1 || { echo "pg.sh: running as root needs the postgres user" >&2; exit 1; }
    as_owner=(runuser -u postgres --)
fi
run() { (cd / && "${as_owner[@]}" "$@"); }

# The cluster lives in DIR/cluster when its owner can reach it; as root in a build tree under a
# private directory (/root/...) it cannot, so it goes to a private directory under /tmp instead.
cluster_file="$dir/cluster"

stop() {
    [[ -f "$cluster_file" ]] || return 0
    local cluster
    cluster=$(cat "$cluster_file")
    if [[ -f "$cluster/data/postmaster.pid" ]]; then
        run "$bin/pg_ctl" -D "$cluster/data" -m immediate -w stop >/dev/null 2>&1 || true
    fi
    rm -rf "$cluster" "$cluster_file" "$dir/url"
}

start() {
    stop
    local cluster="$dir/pgcluster"
    mkdir -p "$cluster"
    [[ ${#as_owner[@]} -eq 0 ]] || chown postgres: "$cluster"
    if ! run test -w "$cluster"; then
        rm -rf "$cluster"
        cluster=$(mktemp -d /tmp/anonchat-pg.XXXXXX)
        chown postgres: "$cluster"
    fi
    echo "$cluster" >"$cluster_file"

    local password
    password=$(od -An -N12 -tx1 /dev/urandom | tr -d ' \n')
    printf '%s\n' "$password" >"$cluster/pwfile"
    [[ ${#as_owner[@]} -eq 0 ]] || chown postgres: "$cluster/pwfile"
    run "$bin/initdb" -D "$cluster/data" -U postgres --pwfile="$cluster/pwfile" \
        --auth-local=scram-sha-256 --auth-host=scram-sha-256 -E UTF8 --locale=C.UTF-8 \
        >"$cluster/initdb.log" 2>&1 || { cat "$cluster/initdb.log" >&2; exit 1; }

    # A free port: one nothing answers on, then retried if the server still cannot bind it.
    local port="" attempt
    for attempt in 1 2 3 4 5 6 7 8; do
        port=$((20000 + RANDOM % 40000))
        (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null && continue
        if run "$bin/pg_ctl" -D "$cluster/data" -l "$cluster/server.log" -w -t 30 \
            -o "-c listen_addresses=127.0.0.1 -c port=$port -c unix_socket_directories= -c fsync=off -c max_connections=200" \
            start >/dev/null; then
            break
        fi
        port=""
    done
    [[ -n "$port" ]] || { echo "pg.sh: the server did not start:" >&2; tail -20 "$cluster/server.log" >&2; exit 1; }

    PGPASSWORD=$password "$bin/psql" -X -q -v ON_ERROR_STOP=1 -h 127.0.0.1 -p "$port" -U postgres \
        -d postgres >/dev/null <<SQL
CREATE ROLE anonchat LOGIN CREATEDB PASSWORD '$password';
CREATE DATABASE anonchat OWNER anonchat;
SQL
    echo "postgresql://anonchat:$password@127.0.0.1:$port/anonchat" >"$dir/url"
    echo "pg.sh: PostgreSQL on 127.0.0.1:$port, URL in $dir/url"
}

case "$action" in
start) start ;;
stop) stop ;;
*) usage ;;
esac
