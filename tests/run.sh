#!/usr/bin/env bash
# The whole test suite, on a fresh Debian machine or a prepared one:
#   bash tests/run.sh            everything: host prerequisites, images, venv, quality gates, pytest, molecule
#   bash tests/run.sh gates      only the quality gates
#   bash tests/run.sh pytest     only pytest (after the images exist)
#   bash tests/run.sh molecule   only the molecule scenarios
# Each stage prints its duration. The script exits non-zero on the first failing stage.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$(pwd)
VENV=${VENV:-$ROOT/.venv}
STAGES=${*:-"host images venv gates pytest molecule"}

stage() {  # stage NAME COMMAND...
  local name=$1; shift
  local t0=$SECONDS
  echo "==> [$name] starting"
  "$@"
  echo "==> [$name] ok in $((SECONDS - t0)) s"
}

host_prerequisites() {
  bash scripts/host-prerequisites.sh
}

build_images() {
  bash tests/images/build.sh
}

make_venv() {
  if [ ! -x "$VENV/bin/python" ]; then
    python3 -m venv "$VENV"
  fi
  "$VENV/bin/pip" install -q --disable-pip-version-check -r requirements-test.txt
}

quality_gates() {
  export PATH="$VENV/bin:$PATH"
  echo "--- yamllint";      yamllint --strict .
  echo "--- ruff";          ruff check .
  echo "--- ansible-lint";  ansible-lint --profile production --offline
  echo "--- ansible-test";  bash scripts/ansible-test-sanity.sh
}

run_pytest() {
  export PATH="$VENV/bin:$PATH"
  pytest -ra
}

run_molecule() {
  export PATH="$VENV/bin:$PATH"
  for config in molecule/*/molecule.yml; do   # molecule/shared/ holds playbooks, not a scenario
    scenario=$(basename "$(dirname "$config")")
    echo "--- molecule test -s $scenario"
    molecule test -s "$scenario"
  done
}

for s in $STAGES; do
  case $s in
    host) stage host host_prerequisites ;;
    images) stage images build_images ;;
    venv) stage venv make_venv ;;
    gates) stage gates quality_gates ;;
    pytest) stage pytest run_pytest ;;
    molecule) stage molecule run_molecule ;;
    *) echo "unknown stage: $s (host images venv gates pytest molecule)" >&2; exit 2 ;;
  esac
done
