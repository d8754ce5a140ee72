#!/usr/bin/env bash
# Puts into wheels/ the demo workload's requirements file (roles/demo/files/requirements.txt) and its wheels, for
# the Dockerfile beside this script, which installs them with pip --no-index. The wheels come from the package index
# the host's pip is configured for (no index is named here). DATA2AI_PIP names the pip to use; by default a
# throwaway venv under tests/images/.build/ gives one (the project's venv may not exist yet when the images build).
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO_ROOT="$(cd "$HERE/../../.." && pwd)"
REQUIREMENTS="$REPO_ROOT/roles/demo/files/requirements.txt"
PIP=${DATA2AI_PIP:-}
if [[ -z $PIP ]]; then
    venv="$REPO_ROOT/tests/images/.build/pip-venv"
    [[ -x $venv/bin/pip ]] || python3 -m venv "$venv"
    PIP=$venv/bin/pip
fi
rm -rf "$HERE/wheels"
mkdir -p "$HERE/wheels"
cp "$REQUIREMENTS" "$HERE/wheels/requirements.txt"
# Every package is pinned in the file, so --no-deps downloads exactly those; pure-Python wheels for Python 3.13.
"$PIP" download --quiet --disable-pip-version-check --no-deps --only-binary=:all: --python-version 3.13 \
    --dest "$HERE/wheels" -r "$REQUIREMENTS"
