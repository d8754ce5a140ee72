#!/usr/bin/env bash
# ansible-test sanity on the collection, offline: ansible-test wants the collection at
# <somewhere>/ansible_collections/data2ai/grafana_stack, so the tracked files are copied there first.
# Tests whose tools need a download (pylint's own venv, shellcheck, ...) are skipped by ansible-test itself
# when missing and reported as skipped, not passed.
set -euo pipefail
cd "$(dirname "$0")/.."

# ansible-test bootstraps pip in its venvs with a script it downloads from a host outside this lab's reach;
# give it our own equivalent (scripts/ansible-test-pip-bootstrap.py) under the name it looks for.
pip_version=$(grep -ho "pip='[0-9.]*'" "$(python3 -c 'import ansible_test, os; print(os.path.dirname(ansible_test.__file__))')/_internal/python_requirements.py" | head -1 | tr -dc '0-9.')
cache=~/.ansible/test/cache/get_pip_${pip_version//./_}.py
mkdir -p "$(dirname "$cache")"
[ -f "$cache" ] || cp scripts/ansible-test-pip-bootstrap.py "$cache"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
dest=$work/ansible_collections/data2ai/grafana_stack
mkdir -p "$dest"
git ls-files -z --cached --others --exclude-standard | grep -zv '^collections/' | xargs -0 cp --parents -t "$dest"
cd "$dest"
git init -q && git add -A >/dev/null   # ansible-test lists the collection's files through git
python=$(python3 -c 'import sys; print(f"{sys.version_info[0]}.{sys.version_info[1]}")')
ansible-test sanity --python "$python" --color no \
  --skip-test shebang "$@"
