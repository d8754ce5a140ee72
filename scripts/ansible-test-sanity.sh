#!/usr/bin/env bash
# ansible-test sanity on the collection, offline except for the package index.
#
# ansible-test wants the collection at <somewhere>/ansible_collections/data2ai/grafana_stack, so the tracked and
# untracked (not ignored) files are copied there first. Each sanity test then runs in its own ansible-test call:
# a test whose tool crashes (ansible-test reports FATAL and stops) does not keep the later tests from running.
# The script exits non-zero when any test fails; the summary at the end names them.
#
# Usage: scripts/ansible-test-sanity.sh [extra ansible-test sanity options, e.g. -v]
#        SANITY_TESTS="pep8 pylint" scripts/ansible-test-sanity.sh   # only these tests
set -euo pipefail
cd "$(dirname "$0")/.."

# Tests not run, and why. Everything else that `ansible-test sanity --list-tests` offers runs.
#   - the shellcheck test, only when its program is missing and cannot be installed from Debian (see below);
#     without the program ansible-test would merely warn and report the test as passed.
#   (pslint runs, but checks nothing while the collection has no PowerShell files; pwsh is not installed.)
skip_tests=()

# ansible-test bootstraps pip in each sanity venv with a get-pip script it downloads from a host outside this
# lab's reach; give it our own equivalent (scripts/ansible-test-pip-bootstrap.py) under the name it looks for.
# Always refresh the copy, so a stale one from an earlier version of the stand-in is never used.
ansible_test_dir=$(python3 -c 'import ansible_test, os; print(os.path.dirname(ansible_test.__file__))')
pip_version=$(grep -ho "pip='[0-9.]*'" "$ansible_test_dir/_internal/python_requirements.py" | head -1 | tr -dc '0-9.')
cache=~/.ansible/test/cache/get_pip_${pip_version//./_}.py
mkdir -p "$(dirname "$cache")"
cmp -s scripts/ansible-test-pip-bootstrap.py "$cache" || cp scripts/ansible-test-pip-bootstrap.py "$cache"

# The shellcheck sanity test needs the shellcheck program: install Debian's package when it is missing.
if ! command -v shellcheck >/dev/null 2>&1; then
  sudo=""
  [ "$(id -u)" -eq 0 ] || sudo="sudo"
  echo "installing shellcheck (Debian package) for the shellcheck sanity test"
  { $sudo apt-get update -qq && DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends shellcheck; } \
    >/dev/null 2>&1 || true
  if ! command -v shellcheck >/dev/null 2>&1; then
    echo "WARNING: shellcheck could not be installed; skipping the shellcheck sanity test" >&2
    skip_tests+=(shellcheck)
  fi
fi

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
dest=$work/ansible_collections/data2ai/grafana_stack
mkdir -p "$dest"
# collections/ only points the checkout at itself; .ansible/ is ansible-lint's scratch copy of the collection.
git ls-files -z --cached --others --exclude-standard \
  | grep -zEv '^(collections|\.ansible)/' \
  | xargs -0 cp --parents -t "$dest"
cd "$dest"
git init -q && git add -A >/dev/null   # ansible-test lists the collection's files through git

python=$(python3 -c 'import sys; print(f"{sys.version_info[0]}.{sys.version_info[1]}")')
if [ -n "${SANITY_TESTS:-}" ]; then
  read -r -a tests <<<"$SANITY_TESTS"
else
  mapfile -t tests < <(ansible-test sanity --list-tests 2>/dev/null | grep -E '^[a-z0-9-]+$')
fi

failed=()
passed=()
skipped=()
for test in "${tests[@]}"; do
  if [[ " ${skip_tests[*]} " == *" $test "* ]]; then
    skipped+=("$test")
    continue
  fi
  if ansible-test sanity --python "$python" --color no --test "$test" "$@"; then
    passed+=("$test")
  else
    failed+=("$test")
  fi
done

echo
echo "sanity passed:  ${passed[*]:-(none)}"
echo "sanity skipped: ${skipped[*]:-(none)}"
echo "sanity FAILED:  ${failed[*]:-(none)}"
[ ${#failed[@]} -eq 0 ]
