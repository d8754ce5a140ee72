#!/bin/bash
# TEST DOUBLE of the influxdb:2 image's /entrypoint.sh (data2ai.grafana_stack tests), NOT the real one.
# Like upstream: runs as root only to fix the ownership of the data and config folders, then drops
# to the `influxdb` user (uid 1000). DOCKER_INFLUXDB_INIT_MODE=setup is carried out by the double's
# influxd itself on the first start (upstream runs `influx setup` against a temporary server).
set -eo pipefail

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
