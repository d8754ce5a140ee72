#!/bin/sh
# Entrypoint of the Redis test image (data2ai-test/redis:local), behaving like the upstream
# redis image's: options or a *.conf as first argument run redis-server; as root it hands
# /data to the redis user and drops to it; protected mode is off unless configured.
set -eu

# True when protected-mode is set on the command line or in the config file ($2).
protected_mode_configured() {
    case " $* " in *" --protected-mode "*) return 0 ;; esac
    if [ $# -ge 2 ] && [ -f "$2" ] && grep -Eq '^[[:space:]]*protected-mode[[:space:]]' "$2"; then
        return 0
    fi
    return 1
}

case "${1:-}" in
    -* | *.conf) set -- redis-server "$@" ;;
esac

if [ "${1:-}" = redis-server ]; then
    if [ "$(id -u)" = 0 ]; then
        find . \! -user redis -exec chown redis '{}' +
        export HOME=/var/lib/redis
        exec setpriv --reuid=redis --regid=redis --init-groups "$0" "$@"
    fi
    if ! protected_mode_configured "$@"; then
        set -- "$@" --protected-mode no
    fi
fi

if [ "$(umask)" = 0022 ]; then
    umask 0077
fi

exec "$@"
