# Sourced by .ci/run: a throwaway PostgreSQL on 127.0.0.1 for the store's tests.
# start_postgres installs Debian's postgresql when no server binaries are found, initialises a cluster in a
# temporary folder (as the `postgres` user when run as root: initdb refuses root), starts it on a free port with its
# socket in that folder, exports DATABASE_URL and stops it (and removes the folder) when the calling shell exits.

postgres_bin() {
    local dir
    dir=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)
    [[ -n $dir && -x $dir/pg_ctl ]] && echo "$dir"
}

start_postgres() {
    local bin
    bin=$(postgres_bin) || true
    if [[ -z $bin ]]; then
        if [[ $(id -u) -ne 0 ]]; then
            echo ".ci: PostgreSQL is not installed and I am not root to install it (apt-get install postgresql)" >&2
            return 1
        fi
        echo ".ci: installing PostgreSQL from Debian's packages" >&2
        apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >/dev/null
        bin=$(postgres_bin) || { echo ".ci: PostgreSQL installed but no server binaries found" >&2; return 1; }
    fi
    PG_DIR=$(mktemp -d /tmp/who-handles-pg.XXXXXX)
    local port as=()
    port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
    if [[ $(id -u) -eq 0 ]]; then
        id -u postgres >/dev/null 2>&1 || useradd --system --no-create-home postgres
        chown postgres "$PG_DIR"
        as=(runuser -u postgres --)
    fi
    PG_AS=("${as[@]}")
    PG_CTL=$bin/pg_ctl
    "${as[@]}" "$bin/initdb" -D "$PG_DIR/data" -U whohandles -A trust --no-sync -E UTF8 >"$PG_DIR/initdb.log" 2>&1 \
        || { cat "$PG_DIR/initdb.log" >&2; return 1; }
    trap stop_postgres EXIT
    "${as[@]}" "$PG_CTL" -D "$PG_DIR/data" -l "$PG_DIR/server.log" -w -t 60 \
        -o "-h 127.0.0.1 -p $port -k $PG_DIR -c fsync=off -c full_page_writes=off" start >/dev/null \
        || { cat "$PG_DIR/server.log" >&2; return 1; }
    export DATABASE_URL="postgresql://whohandles@127.0.0.1:$port/postgres"
    echo ".ci: PostgreSQL $("$bin/postgres" --version | awk '{print $3}') on 127.0.0.1:$port for the tests" >&2
}

stop_postgres() {
    local status=$?
    if [[ -n ${PG_DIR:-} && -d $PG_DIR/data ]]; then
        "${PG_AS[@]}" "$PG_CTL" -D "$PG_DIR/data" -m fast -w stop >/dev/null 2>&1 || true
        rm -rf "$PG_DIR"
    fi
    return $status
}
