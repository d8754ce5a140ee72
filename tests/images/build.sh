#!/usr/bin/env bash
# Build every local test image of data2ai.grafana_stack (see tests/images/README.md).
#
#   tests/images/build.sh                 build all images that are missing or out of date
#   tests/images/build.sh --only NAME...  build only these (and the bases they need)
#   tests/images/build.sh --list          print the image names
#   tests/images/build.sh --force ...     rebuild even when the inputs are unchanged
#
# Each image carries the label data2ai.grafana_stack.inputs=<sha256 of its build inputs>;
# an image whose label matches the current inputs is left alone ("up to date").
# The apt sources are read at run time from the host (never written to a file of the repo)
# and reach the builds only as a BuildKit secret, so no image layer holds the mirror.
set -euo pipefail

IMAGES_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO_ROOT="$(cd "$IMAGES_DIR/../.." && pwd)"
readonly IMAGES_DIR REPO_ROOT
readonly DOUBLES_DIR="${DATA2AI_DOUBLES_DIR:-$REPO_ROOT/tests/doubles}"
readonly DOCKER="${DATA2AI_DOCKER:-/usr/bin/docker}"
readonly HOST_SOURCES="${DATA2AI_APT_SOURCES:-/etc/apt/sources.list.d/debian.sources}"
readonly INPUTS_LABEL="data2ai.grafana_stack.inputs"
readonly REGISTRY_PREFIX="data2ai-test"
readonly TAG="local"
readonly KEYRING="/usr/share/keyrings/debian-archive-keyring.gpg"
readonly MERGED_USR_HOOK="/usr/share/mmdebstrap/hooks/merged-usr"
readonly TAIL_LINES=40

JOBS=2
FORCE=0

# Image table: short name -> base short name ("" for a base) and build context.
declare -A BASE_OF=(
    [base-bookworm]="" [base-trixie]=""
    [labvm]=base-bookworm [postgres]=base-bookworm [redis]=base-bookworm
    [prometheus]=base-trixie [alertmanager]=base-trixie [node-exporter]=base-trixie
    [demo-python]=base-trixie
)
# Scheduling order: bases first, then the slowest image of each lane.
ORDER=(base-bookworm base-trixie labvm prometheus postgres alertmanager redis node-exporter demo-python)
declare -A DOUBLE_DIR=()

usage() {
    sed -n '2,7s/^# \{0,1\}//p' "${BASH_SOURCE[0]}"
}

die() {
    echo "build.sh: $*" >&2
    exit 2
}

image_ref() {
    echo "$REGISTRY_PREFIX/$1:$TAG"
}

discover_doubles() {
    local dir name
    [[ -d $DOUBLES_DIR ]] || return 0
    for dir in "$DOUBLES_DIR"/*/; do
        dir=${dir%/}
        [[ -f $dir/Dockerfile ]] || continue
        name="$(basename "$dir")-double"
        DOUBLE_DIR[$name]=$dir
        BASE_OF[$name]="base-bookworm"
        ORDER+=("$name")
    done
}

# --- apt sources -----------------------------------------------------------------------

# First URI of the deb822 stanza (in $HOST_SOURCES) whose Suites list holds exactly $1.
stanza_uri() {
    awk -v want="$1" '
        BEGIN { RS = ""; FS = "\n" }
        {
            uris = ""; suites = ""
            for (i = 1; i <= NF; i++) {
                line = $i
                if (line ~ /^URIs:/)   { sub(/^URIs:[ \t]*/, "", line); uris = line }
                if (line ~ /^Suites:/) { sub(/^Suites:[ \t]*/, "", line); suites = line }
            }
            n = split(suites, s, /[ \t]+/)
            for (j = 1; j <= n; j++) if (s[j] == want) { split(uris, u, /[ \t]+/); print u[1]; exit }
        }' "$HOST_SOURCES"
}

# Suites list of the stanza holding suite $1 (e.g. "bookworm bookworm-updates").
stanza_suites() {
    awk -v want="$1" '
        BEGIN { RS = ""; FS = "\n" }
        {
            for (i = 1; i <= NF; i++) {
                line = $i
                if (line !~ /^Suites:/) continue
                sub(/^Suites:[ \t]*/, "", line)
                n = split(line, s, /[ \t]+/)
                for (j = 1; j <= n; j++) if (s[j] == want) { print line; exit }
            }
        }' "$HOST_SOURCES"
}

deb822_stanza() {  # URI SUITES
    printf 'Types: deb\nURIs: %s\nSuites: %s\nComponents: main\nSigned-By: %s\n' "$1" "$2" "$KEYRING"
}

# Writes $WORK_DIR/<suite>.sources for bookworm (host entries) and trixie (same URI).
write_sources() {
    [[ -r $HOST_SOURCES ]] || die "cannot read the host's apt sources $HOST_SOURCES"
    local uri security
    uri="$(stanza_uri bookworm)"
    [[ -n $uri ]] || die "no entry with suite 'bookworm' in $HOST_SOURCES"
    security="$(stanza_uri bookworm-security)"
    {
        deb822_stanza "$uri" "$(stanza_suites bookworm)"
        if [[ -n $security ]]; then
            echo
            deb822_stanza "$security" bookworm-security
        fi
    } >"$WORK_DIR/bookworm.sources"
    deb822_stanza "$uri" trixie >"$WORK_DIR/trixie.sources"
}

suite_of() {  # image short name -> debian suite
    local base=$1
    [[ -n ${BASE_OF[$1]} ]] && base=${BASE_OF[$1]}
    echo "${base#base-}"
}

# --- input hashes ----------------------------------------------------------------------

# Listing (type, mode, path, link target) plus content hashes of files under ROOT/PATH...
hash_tree() {
    local root=$1
    shift
    (
        cd "$root"
        # Caches of tools that run in the tree do not shape an image.
        local prune=(\( -name __pycache__ -o -name '.*_cache' -o -name '*.pyc' \) -prune -o)
        find "$@" "${prune[@]}" \( -type f -o -type l \) -printf '%y %m %p %l\n' | LC_ALL=C sort
        find "$@" "${prune[@]}" -type f -print0 | LC_ALL=C sort -z | xargs -0 -r sha256sum
    )
}

image_label() {
    "$DOCKER" image inspect --format "{{ index .Config.Labels \"$INPUTS_LABEL\" }}" "$1" 2>/dev/null || true
}

image_id() {
    "$DOCKER" image inspect --format '{{ .Id }}' "$1" 2>/dev/null || true
}

context_inputs() {  # short name -> listing of its build context files
    local name=$1 entry
    if [[ -n ${DOUBLE_DIR[$name]:-} ]]; then
        # The double's own folder plus the shared files of tests/doubles/ (not other doubles).
        hash_tree "$DOUBLES_DIR" "$(basename "${DOUBLE_DIR[$name]}")"
        for entry in "$DOUBLES_DIR"/* "$DOUBLES_DIR"/.[!.]*; do
            [[ -e $entry ]] || continue
            [[ -d $entry && -f $entry/Dockerfile ]] && continue
            hash_tree "$DOUBLES_DIR" "$(basename "$entry")"
        done
    else
        hash_tree "$IMAGES_DIR" "$name"
    fi
}

inputs_sha() {  # short name -> sha256 of everything that shapes the image
    local name=$1 base=${BASE_OF[$1]}
    {
        echo "image=$(image_ref "$name")"
        echo "sources:"
        cat "$WORK_DIR/$(suite_of "$name").sources"
        if [[ -z $base ]]; then
            echo "mmdebstrap=$(mmdebstrap --version)"
            declare -f build_base
        else
            echo "base=$(image_ref "$base") id=$(image_id "$(image_ref "$base")")"
            declare -f build_dockerfile
            context_inputs "$name"
        fi
    } | sha256sum | cut -d' ' -f1
}

# --- builders (each runs in a background job, output to its log) ----------------------

build_base() {  # short name, sha
    local name=$1 sha=$2 suite tarball
    suite="$(suite_of "$name")"
    # A file, not a pipe: an interrupted mmdebstrap then cleans up its chroot by itself.
    tarball="$WORK_DIR/$name.tar"
    # shellcheck disable=SC2016  # the hooks expand $1 (the root) themselves
    mmdebstrap \
        --variant=minbase \
        --hook-dir="$MERGED_USR_HOOK" \
        --include=ca-certificates \
        --skip=output/mknod \
        --aptopt='Acquire::Languages "none"' \
        --dpkgopt='force-unsafe-io' \
        --dpkgopt='path-exclude=/usr/share/man/*' \
        --dpkgopt='path-exclude=/usr/share/info/*' \
        --dpkgopt='path-exclude=/usr/share/locale/*' \
        --dpkgopt='path-include=/usr/share/locale/locale.alias' \
        --dpkgopt='path-exclude=/usr/share/doc/*' \
        --dpkgopt='path-include=/usr/share/doc/*/copyright' \
        --dpkgopt='path-exclude=/usr/share/lintian/*' \
        --customize-hook='printf "#!/bin/sh\n# no services start in a container image\nexit 101\n" >"$1/usr/sbin/policy-rc.d"' \
        --customize-hook='chmod 0755 "$1/usr/sbin/policy-rc.d"' \
        --customize-hook='rm -f "$1"/etc/apt/sources.list.d/*' \
        --customize-hook=': >"$1/etc/apt/sources.list"' \
        "$suite" "$tarball" "$WORK_DIR/$suite.sources"
    # mmdebstrap finishes its run even when told to stop; don't import it then.
    [[ ! -e $WORK_DIR/stop ]] || exit 143
    "$DOCKER" import \
        --change "LABEL $INPUTS_LABEL=$sha" \
        --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
        --change 'CMD ["bash"]' \
        "$tarball" "$(image_ref "$name")"
    rm -f "$tarball"
}

build_dockerfile() {  # short name, sha
    local name=$1 sha=$2 context dockerfile
    if [[ -n ${DOUBLE_DIR[$name]:-} ]]; then
        context=$DOUBLES_DIR
        dockerfile=${DOUBLE_DIR[$name]}/Dockerfile
    else
        context=$IMAGES_DIR/$name
        dockerfile=$context/Dockerfile
    fi
    DOCKER_BUILDKIT=1 BUILDKIT_PROGRESS=plain "$DOCKER" build \
        --progress=plain \
        --secret "id=sources,src=$WORK_DIR/$(suite_of "$name").sources" \
        --build-arg "BASE=$(image_ref "${BASE_OF[$name]}")" \
        --label "$INPUTS_LABEL=$sha" \
        --tag "$(image_ref "$name")" \
        --file "$dockerfile" \
        "$context"
}

run_prepare() {  # short name: run tests/doubles/<name>/prepare.sh or tests/images/<name>/prepare.sh if there is one
    local dir=${DOUBLE_DIR[$1]:-$IMAGES_DIR/$1}
    [[ -f $dir/prepare.sh ]] || return 0
    echo "--- running $dir/prepare.sh"
    (cd "$dir" && bash ./prepare.sh)
}

# Job body: writes "built" or "up to date" to $LOG_DIR/<name>.status.
build_one() {
    local name=$1 ref sha old_id
    ref="$(image_ref "$name")"
    run_prepare "$name"
    sha="$(inputs_sha "$name")"
    echo "--- $ref inputs $sha"
    if [[ $FORCE == 0 && "$(image_label "$ref")" == "$sha" ]]; then
        echo "up to date" >"$LOG_DIR/$name.status"
        return 0
    fi
    old_id="$(image_id "$ref")"
    if [[ -z ${BASE_OF[$name]} ]]; then
        build_base "$name" "$sha"
    else
        build_dockerfile "$name" "$sha"
    fi
    # Drop the replaced image if nothing else refers to it (no force).
    if [[ -n $old_id && $old_id != "$(image_id "$ref")" ]]; then
        "$DOCKER" image rm "$old_id" >/dev/null 2>&1 || true
    fi
    echo "built" >"$LOG_DIR/$name.status"
}

# --- scheduler ------------------------------------------------------------------------

now_ms() {
    local t=${EPOCHREALTIME/./}
    echo $((t / 1000))
}

fmt_secs() {  # milliseconds -> "12.3s"
    printf '%d.%ds' $(($1 / 1000)) $(($1 % 1000 / 100))
}

say() {
    printf '[%7s] %s\n' "$(fmt_secs $(($(now_ms) - T0)))" "$*"
}

resolve_selection() {  # names... -> SELECTED (in ORDER), bases added
    local want=() n ok name
    declare -gA WANTED=()
    for n in "$@"; do
        n=${n#"$REGISTRY_PREFIX/"}
        n=${n%":$TAG"}
        ok=0
        for name in "${ORDER[@]}"; do
            [[ $name == "$n" ]] && ok=1
        done
        [[ $ok == 1 ]] || die "unknown image '$n' (see --list)"
        want+=("$n")
    done
    for n in "${want[@]}"; do
        WANTED[$n]=1
        [[ -n ${BASE_OF[$n]} ]] && WANTED[${BASE_OF[$n]}]=1
    done
    SELECTED=()
    for name in "${ORDER[@]}"; do
        if [[ ${#want[@]} == 0 || -n ${WANTED[$name]:-} ]]; then
            SELECTED+=("$name")
        fi
    done
}

start_job() {
    local name=$1
    STATE[$name]=running
    STARTED[$name]=$(now_ms)
    (build_one "$name") >"$LOG_DIR/$name.log" 2>&1 &
    PID_NAME[$!]=$name
    RUNNING=$((RUNNING + 1))
    say "start      $(image_ref "$name")"
}

finish_job() {  # pid rc
    local name=${PID_NAME[$1]} rc=$2 took status
    unset "PID_NAME[$1]"
    RUNNING=$((RUNNING - 1))
    took=$(fmt_secs $(($(now_ms) - STARTED[$name])))
    if [[ $rc == 0 ]]; then
        STATE[$name]="done"
        status="$(cat "$LOG_DIR/$name.status")"
        COUNT[$status]=$((${COUNT[$status]:-0} + 1))
        say "$(printf '%-10s' "$status") $(image_ref "$name") in $took"
        return
    fi
    STATE[$name]=failed
    FAILED+=("$name")
    say "FAILED     $(image_ref "$name") after $took (exit $rc)"
    {
        echo "======== last $TAIL_LINES lines of $LOG_DIR/$name.log ========"
        tail -n "$TAIL_LINES" "$LOG_DIR/$name.log"
        echo "======== end of $name log ========"
    } >&2
}

schedule() {
    local name base pid rc
    declare -gA STATE=() STARTED=() PID_NAME=() COUNT=()
    FAILED=()
    RUNNING=0
    for name in "${SELECTED[@]}"; do STATE[$name]=pending; done
    while :; do
        for name in "${SELECTED[@]}"; do
            [[ ${STATE[$name]} == pending ]] || continue
            base=${BASE_OF[$name]}
            if [[ -n $base ]]; then
                case ${STATE[$base]} in
                    done) ;;
                    failed | skipped)
                        STATE[$name]=skipped
                        FAILED+=("$name")
                        say "SKIPPED    $(image_ref "$name") (its base $base failed)"
                        continue
                        ;;
                    *) continue ;;
                esac
            fi
            ((RUNNING < JOBS)) || break
            start_job "$name"
        done
        ((RUNNING > 0)) || break
        if wait -n -p pid; then rc=0; else rc=$?; fi
        finish_job "$pid" "$rc"
    done
}

ensure_mmdebstrap() {
    command -v mmdebstrap >/dev/null && return 0
    [[ $(id -u) == 0 ]] || die "mmdebstrap is missing: apt-get install mmdebstrap"
    echo "build.sh: installing mmdebstrap (apt-get install mmdebstrap)"
    apt-get install -y mmdebstrap >/dev/null || die "could not install mmdebstrap"
}

# On exit: stop the running jobs' commands, let them clean up, then drop the work dir.
cleanup() {
    local pid
    [[ -n ${WORK_DIR:-} ]] && touch "$WORK_DIR/stop"
    for pid in "${!PID_NAME[@]}"; do
        pkill -TERM -P "$pid" 2>/dev/null || true
    done
    ((${#PID_NAME[@]} == 0)) || echo "build.sh: stopping the running builds..." >&2
    for pid in "${!PID_NAME[@]}"; do
        wait "$pid" 2>/dev/null || true
    done
    rm -rf "${WORK_DIR:-}"
}

main() {
    local list=0 names=()
    discover_doubles
    while (($#)); do
        case $1 in
            --list) list=1 ;;
            --force) FORCE=1 ;;
            --only)
                shift
                while (($#)) && [[ $1 != --* ]]; do
                    names+=("$1")
                    shift
                done
                [[ ${#names[@]} -gt 0 ]] || die "--only needs at least one image name"
                continue
                ;;
            -j | --jobs)
                JOBS=${2:?}
                shift
                ;;
            -h | --help)
                usage
                return 0
                ;;
            *) die "unknown argument '$1' (try --help)" ;;
        esac
        shift
    done
    resolve_selection "${names[@]}"
    if [[ $list == 1 ]]; then
        for name in "${SELECTED[@]}"; do image_ref "$name"; done
        return 0
    fi

    "$DOCKER" version --format '{{ .Server.Version }}' >/dev/null \
        || die "the Docker engine does not answer through $DOCKER"
    ensure_mmdebstrap

    declare -gA PID_NAME=()
    WORK_DIR="$(mktemp -d "${TMPDIR:-/tmp}/data2ai-images.XXXXXX")"
    LOG_DIR="$WORK_DIR/logs"
    mkdir -p "$LOG_DIR"
    chmod 0700 "$WORK_DIR"
    trap cleanup EXIT
    trap 'exit 130' INT TERM
    write_sources

    T0=$(now_ms)
    echo "build.sh: ${#SELECTED[@]} images, $JOBS lanes"
    schedule
    local total
    total=$(fmt_secs $(($(now_ms) - T0)))
    if ((${#FAILED[@]})); then
        local kept="${TMPDIR:-/tmp}/data2ai-images-logs.$$"
        mv "$LOG_DIR" "$kept"
        echo "build.sh: FAILED: ${FAILED[*]} (after $total; logs kept in $kept)" >&2
        return 1
    fi
    echo "build.sh: done in $total: ${COUNT[built]:-0} built, ${COUNT[up to date]:-0} up to date"
}

main "$@"
