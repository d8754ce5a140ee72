#!/usr/bin/env bash
# Entrypoint of the PostgreSQL test image (data2ai-test/postgres:local).
# Behaves like the upstream postgres image's entrypoint: on the first start (no PG_VERSION in
# $PGDATA) it runs initdb, creates POSTGRES_USER with POSTGRES_PASSWORD (or *_FILE) and the
# database POSTGRES_DB, runs /docker-entrypoint-initdb.d/*, then execs postgres as postgres.
set -Eeuo pipefail

# VAR or VAR_FILE (not both) -> exported VAR, with a default.
load_env() {
    local var=$1 default=${2:-} file_var="${1}_FILE" value
    if [[ -n ${!var:-} && -n ${!file_var:-} ]]; then
        echo "error: both $var and $file_var are set (but are exclusive)" >&2
        exit 1
    fi
    value=$default
    if [[ -n ${!var:-} ]]; then
        value=${!var}
    elif [[ -n ${!file_var:-} ]]; then
        value="$(<"${!file_var}")"
    fi
    export "$var"="$value"
    unset "$file_var"
}

wants_help() {
    local arg
    for arg; do
        case $arg in -'?' | --help | --describe-config | -V | --version) return 0 ;; esac
    done
    return 1
}

prepare_dirs_as_root() {
    mkdir -p "$PGDATA" /var/run/postgresql
    chown postgres:postgres "$PGDATA" /var/run/postgresql
    chmod 0700 "$PGDATA"
    chmod 3777 /var/run/postgresql
}

load_settings() {
    load_env POSTGRES_PASSWORD
    load_env POSTGRES_USER postgres
    load_env POSTGRES_DB "$POSTGRES_USER"
    load_env POSTGRES_INITDB_ARGS
    export POSTGRES_HOST_AUTH_METHOD="${POSTGRES_HOST_AUTH_METHOD:-scram-sha-256}"
    if [[ -z $POSTGRES_PASSWORD && $POSTGRES_HOST_AUTH_METHOD != trust ]]; then
        cat >&2 <<'MSG'
Error: Database is uninitialized and superuser password is not specified.
       You must specify POSTGRES_PASSWORD to a non-empty value for the
       superuser. For example, "-e POSTGRES_PASSWORD=password" on "docker run".
       (or set POSTGRES_HOST_AUTH_METHOD=trust to allow all connections without a password)
MSG
        exit 1
    fi
}

run_initdb() {
    # shellcheck disable=SC2086  # POSTGRES_INITDB_ARGS is a word list, as upstream
    if [[ -n $POSTGRES_PASSWORD ]]; then
        initdb --username="$POSTGRES_USER" --pwfile=<(printf '%s\n' "$POSTGRES_PASSWORD") $POSTGRES_INITDB_ARGS
    else
        initdb --username="$POSTGRES_USER" $POSTGRES_INITDB_ARGS
    fi
    printf '\n# network clients (added by docker-entrypoint.sh)\nhost all all all %s\n' \
        "$POSTGRES_HOST_AUTH_METHOD" >>"$PGDATA/pg_hba.conf"
}

psql_local() {
    psql -v ON_ERROR_STOP=1 --no-psqlrc --username "$POSTGRES_USER" --no-password "$@"
}

create_database() {
    [[ $POSTGRES_DB == postgres ]] && return 0
    psql_local --dbname postgres --set db="$POSTGRES_DB" <<'SQL'
CREATE DATABASE :"db";
SQL
}

run_init_scripts() {
    local f
    for f in /docker-entrypoint-initdb.d/*; do
        [[ -e $f ]] || continue
        case $f in
            *.sh)
                # shellcheck disable=SC1090  # scripts supplied by the user
                if [[ -x $f ]]; then "$f"; else . "$f"; fi
                ;;
            *.sql) psql_local --dbname "$POSTGRES_DB" -f "$f" ;;
            *.sql.gz) gunzip -c "$f" | psql_local --dbname "$POSTGRES_DB" ;;
            *) echo "$0: ignoring $f" ;;
        esac
    done
}

init_cluster() {
    load_settings
    run_initdb
    # A temporary server reachable only on the unix socket while we set things up.
    pg_ctl -D "$PGDATA" -o "-c listen_addresses=''" -w start
    create_database
    run_init_scripts
    pg_ctl -D "$PGDATA" -m fast -w stop
    unset PGPASSWORD
    echo
    echo 'PostgreSQL init process complete; ready for start up.'
    echo
}

main() {
    if [[ ${1:-} == -* ]]; then
        set -- postgres "$@"
    fi
    if [[ ${1:-} == postgres ]] && ! wants_help "$@"; then
        if [[ $(id -u) == 0 ]]; then
            prepare_dirs_as_root
            export HOME=/var/lib/postgresql
            exec setpriv --reuid=postgres --regid=postgres --init-groups "${BASH_SOURCE[0]}" "$@"
        fi
        if [[ ! -s $PGDATA/PG_VERSION ]]; then
            init_cluster
        else
            echo 'PostgreSQL Database directory appears to contain a database; Skipping initialization'
        fi
    fi
    exec "$@"
}

main "$@"
