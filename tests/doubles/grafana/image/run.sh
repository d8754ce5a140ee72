#!/bin/sh
# Grafana TEST DOUBLE: entrypoint shaped like grafana/grafana's /run.sh.
# Not Grafana: it starts the double, which serves Grafana's HTTP API for the collection's tests.
set -e

# Like the upstream image: GF_<X>__FILE names a file whose content becomes GF_<X>.
for var in $(env | sed -n 's/^\(GF_[A-Za-z0-9_]*__FILE\)=.*/\1/p'); do
    target="${var%__FILE}"
    file="$(printenv "$var")"
    if [ -n "$(printenv "$target" || true)" ]; then
        echo >&2 "ERROR: both $target and $var are set (but are exclusive)"
        exit 1
    fi
    export "$target=$(cat "$file")"
    unset "$var"
done

if [ ! -r "$GF_PATHS_CONFIG" ]; then
    echo "GF_PATHS_CONFIG='$GF_PATHS_CONFIG' is not readable."
    exit 1
fi
if [ ! -w "$GF_PATHS_DATA" ]; then
    echo "GF_PATHS_DATA='$GF_PATHS_DATA' is not writable."
    echo "You may have issues with file permissions (the double runs as uid 472, like Grafana)."
    exit 1
fi

exec grafana server \
    --homepath="$GF_PATHS_HOME" \
    --config="$GF_PATHS_CONFIG" \
    --packaging=docker \
    "$@" \
    cfg:default.log.mode="console" \
    cfg:default.paths.data="$GF_PATHS_DATA" \
    cfg:default.paths.logs="$GF_PATHS_LOGS" \
    cfg:default.paths.plugins="$GF_PATHS_PLUGINS" \
    cfg:default.paths.provisioning="$GF_PATHS_PROVISIONING"
