#!/usr/bin/env bash
# Stage what the Grafana TEST DOUBLE's image installs offline (run by tests/images/build.sh):
#   .build/openapi3.json  Grafana's OpenAPI spec, from <repo>/../shared/grafana/
#   .build/wheels/        openapi-core and PyYAML wheels for the image's CPython 3.11
# The image then installs them with `pip install --no-index`. Nothing is fetched again when the
# wheels for the pinned requirements are already there.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo_root="$(cd "$here/../../.." && pwd)"
build="$here/.build"
spec_src="${GRAFANA_DOUBLE_SPEC:-$repo_root/../shared/grafana/openapi3.json}"
requirements="$here/requirements.txt"
arch="$(uname -m)"
stamp="$build/wheels/.requirements-$arch"

pip_cmd=(python3 -m pip)
for candidate in "${VIRTUAL_ENV:-}/bin/pip" "$repo_root/.venv/bin/pip"; do
    if [[ -x $candidate ]]; then
        pip_cmd=("$candidate")
        break
    fi
done

mkdir -p "$build/wheels"
[[ -f $spec_src ]] || { echo "prepare.sh: spec not found at $spec_src" >&2; exit 1; }
cmp -s "$spec_src" "$build/openapi3.json" 2>/dev/null || cp "$spec_src" "$build/openapi3.json"

if [[ -f $stamp ]] && cmp -s "$requirements" "$stamp"; then
    echo "prepare.sh: wheels for $arch already staged"
    exit 0
fi
rm -f "$build"/wheels/*.whl
# Debian bookworm's python3 is CPython 3.11 with glibc 2.36.
"${pip_cmd[@]}" download --quiet --only-binary=:all: --dest "$build/wheels" \
    --implementation cp --python-version 3.11 --abi cp311 \
    --platform "manylinux2014_$arch" --platform "manylinux_2_17_$arch" \
    --platform "manylinux_2_28_$arch" --platform "manylinux_2_34_$arch" \
    -r "$requirements"
cp "$requirements" "$stamp"
echo "prepare.sh: staged $(find "$build/wheels" -name '*.whl' | wc -l) wheels for $arch"
