#!/bin/bash
# TEST DOUBLE of the influxdb:2 image's /entrypoint.sh (data2ai.grafana_stack tests), NOT the real one.
# Like upstream: runs as root only to fix the ownership of the data and config folders, then drops
# to the `influxdb` user (uid 1000). DOCKER_INFLUXDB_INIT_MODE=setup is carried out by the double's
# influxd itself on the first start (upstream runs `influx setup` against a temporary server).
set -eo pipefail

# The _FILE variants, with upstream's behaviour (influxdata/influxdata-docker @d457cb9, influxdb/2.9/entrypoint.sh
# lines 201-204): a _FILE that names an existing file replaces the plain variable with the file's content (command
# substitution drops trailing newlines); a _FILE naming no file (or one this user cannot read) only prints
# "<NAME>_FILE defined, but file not existing, skipping." on stdout and carries on, so the setup later fails on a
# missing required variable (USERNAME, PASSWORD) or, for the token, lets InfluxDB generate one. Like upstream, this
# runs on both passes (as root, then again as influxdb after setpriv).
read_init_file() {
    local name="$1" file_var="$1_FILE"
    local file="${!file_var}"
    if [ -n "${file}" ]; then
        local value
        if [ -e "${file}" ] && value="$(cat "${file}" 2>/dev/null)"; then
            printf -v "${name}" '%s' "${value}"
            # The double's setup runs inside influxd (a child process), which reads it from the environment;
            # upstream's setup runs in this shell. Exported to influxd only, never into the container's settings.
            export "${name?}"
        else
            echo "${file_var} defined, but file not existing, skipping."
        fi
    fi
}
read_init_file DOCKER_INFLUXDB_INIT_PASSWORD
read_init_file DOCKER_INFLUXDB_INIT_USERNAME
read_init_file DOCKER_INFLUXDB_INIT_ADMIN_TOKEN

if [ "${1:0:1}" = "-" ]; then
    set -- influxd "$@"
fi

if [ "$(id -u)" = "0" ]; then
    mkdir -p /var/lib/influxdb2 /etc/influxdb2
    if [ ! -e /etc/influxdb2/config.yml ] && [ -w /etc/influxdb2 ]; then
        cp /etc/defaults/influxdb2/config.yml /etc/influxdb2/config.yml
    fi
    chown -R influxdb:influxdb /var/lib/influxdb2 /etc/influxdb2
    exec setpriv --reuid=1000 --regid=1000 --init-groups "$0" "$@"
fi

if [ "$1" = "influxd" ]; then
    if [ -d /docker-entrypoint-initdb.d ] && [ -n "$(ls -A /docker-entrypoint-initdb.d 2>/dev/null)" ]; then
        echo "entrypoint (test double): scripts in /docker-entrypoint-initdb.d are NOT run by the double" >&2
    fi
    export DOUBLE_INFLUXDB_INIT_FROM_ENV=1
fi
exec "$@"
