#!/usr/bin/env bash
# Entrypoint of the lab VM test image (data2ai-test/labvm:local).
#  - installs the authorized key from $LABVM_AUTHORIZED_KEY (or uses a mounted
#    /root/.ssh/authorized_keys) and generates the host keys on first start;
#  - starts dockerd in the background with --cgroup-parent=$DOCKERD_CGROUP_PARENT (default
#    "labvm"; give every lab VM a unique name), logging to /var/log/dockerd.log;
#    LABVM_DOCKERD=0 skips it, DOCKERD_EXTRA_ARGS adds flags;
#  - runs the command (default: sshd in the foreground) and, on stop, stops dockerd and
#    removes the cgroup directories that dockerd created under that parent.
set -euo pipefail

CGROUP_PARENT="${DOCKERD_CGROUP_PARENT:-labvm}"
DOCKERD_PID=""
CHILD_PID=""

install_authorized_key() {
    local keys=/root/.ssh/authorized_keys
    mkdir -p /root/.ssh
    chmod 0700 /root/.ssh
    [[ -n ${LABVM_AUTHORIZED_KEY:-} ]] || return 0
    if ! grep -qxF "$LABVM_AUTHORIZED_KEY" "$keys" 2>/dev/null; then
        printf '%s\n' "$LABVM_AUTHORIZED_KEY" >>"$keys" \
            || echo "labvm: cannot write $keys; using it as mounted" >&2
    fi
    chmod 0600 "$keys" 2>/dev/null || true
}

start_dockerd() {
    [[ ${LABVM_DOCKERD:-1} != 0 ]] || return 0
    # shellcheck disable=SC2086  # DOCKERD_EXTRA_ARGS is a word list
    dockerd --cgroup-parent="$CGROUP_PARENT" ${DOCKERD_EXTRA_ARGS:-} >>/var/log/dockerd.log 2>&1 &
    DOCKERD_PID=$!
}

# Directories named $CGROUP_PARENT under this container's cgroups (and the hierarchy roots).
own_cgroup_parents() {
    local line ctrls path mount
    while IFS= read -r line; do
        ctrls=${line#*:}
        path=${ctrls#*:}
        ctrls=${ctrls%%:*}
        ctrls=${ctrls#name=}
        mount=/sys/fs/cgroup/$ctrls
        if [[ -z $ctrls ]]; then
            # cgroup v2: the unified hierarchy (at .../unified on a hybrid v1 host)
            mount=/sys/fs/cgroup
            [[ -d /sys/fs/cgroup/unified ]] && mount=/sys/fs/cgroup/unified
        fi
        echo "$mount${path%/}/$CGROUP_PARENT"
        echo "$mount/$CGROUP_PARENT"
    done </proc/self/cgroup | sort -u
}

remove_cgroups() {
    local dir
    while IFS= read -r dir; do
        [[ -d $dir ]] || continue
        find "$dir" -depth -type d -exec rmdir {} \; 2>/dev/null || true
    done < <(own_cgroup_parents)
}

# A lab VM is thrown away: give its containers LABVM_STOP_TIMEOUT (3) seconds, not dockerd's 10.
stop_inner_containers() {
    local ids
    ids="$(timeout 5 docker ps -q 2>/dev/null)" || return 0
    [[ -n $ids ]] || return 0
    # shellcheck disable=SC2086  # one id per word
    timeout 20 docker stop -t "${LABVM_STOP_TIMEOUT:-3}" $ids >/dev/null 2>&1 || true
}

# Stops the command and dockerd, removes dockerd's cgroups, exits with $1.
stop_lab_vm() {
    trap - TERM INT
    if [[ -n $CHILD_PID ]]; then
        kill -TERM "$CHILD_PID" 2>/dev/null || true
    fi
    if [[ -n $DOCKERD_PID ]]; then
        stop_inner_containers
        kill -TERM "$DOCKERD_PID" 2>/dev/null || true
        wait "$DOCKERD_PID" 2>/dev/null || true
    fi
    remove_cgroups
    exit "$1"
}

main() {
    install_authorized_key
    ssh-keygen -A >/dev/null
    mkdir -p /run/sshd
    start_dockerd
    trap 'stop_lab_vm 0' TERM INT
    "$@" &
    CHILD_PID=$!
    local rc=0
    wait "$CHILD_PID" || rc=$?
    CHILD_PID=""
    stop_lab_vm "$rc"
}

main "$@"
