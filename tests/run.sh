#!/usr/bin/env bash
# The whole test suite, on a fresh Debian machine or a prepared one:
#   bash tests/run.sh            everything: host prerequisites, images, venv, quality gates, pytest, molecule
#   bash tests/run.sh gates      only the quality gates
#   bash tests/run.sh pytest     only pytest (after the images exist)
#   bash tests/run.sh molecule   only the molecule scenarios
# Each stage prints its duration; at the end (pass or fail) a summary gives every stage's result and time, pytest's
# passed/failed/errors/skipped counts and each molecule scenario's time. The script stops at the first failing stage.
# In CI (CI=true) a skipped test fails (tests/conftest.py), so the pytest counts end in "0 skipped" or the run fails.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$(pwd)
VENV=${VENV:-$ROOT/.venv}
RESULTS=${RESULTS:-$ROOT/.cache/test-results}
STAGES=${*:-"host images venv gates pytest molecule"}
SUMMARY=()
T_START=$SECONDS

print_summary() {
  local rc=$?
  echo
  echo "==> summary"
  printf '%-9s %-7s %8s  %s\n' stage result seconds details
  local row
  for row in "${SUMMARY[@]}"; do
    IFS='|' read -r name result seconds details <<<"$row"
    printf '%-9s %-7s %8s  %s\n' "$name" "$result" "$seconds" "$details"
  done
  printf '%-9s %-7s %8s\n' total "$([ "$rc" -eq 0 ] && echo ok || echo FAILED)" "$((SECONDS - T_START))"
  exit "$rc"
}
trap print_summary EXIT

mkdir -p "$RESULTS"
declare -A LANE_PID LANE_START

record() {  # record NAME RC SECONDS: prints and keeps a stage's result with the details it left
  local name=$1 rc=$2 seconds=$3 details=""
  [ -f "$RESULTS/$name.details" ] && details=$(cat "$RESULTS/$name.details")
  if [ "$rc" -eq 0 ]; then
    echo "==> [$name] ok in $seconds s${details:+ ($details)}"
    SUMMARY+=("$name|ok|$seconds|$details")
  else
    echo "==> [$name] FAILED (exit $rc) after $seconds s${details:+ ($details)}"
    SUMMARY+=("$name|FAILED|$seconds|$details")
  fi
}

STAGE_RC=0
run_stage() {  # run_stage NAME: runs the stage's function in the foreground with errexit on; sets STAGE_RC.
  # Never call it in an `if`, `||` or `&&` context: bash would then ignore errexit inside the stage.
  local name=$1 t0=$SECONDS
  rm -f "$RESULTS/$name.details"
  echo "==> [$name] starting"
  set +e
  (set -e; "stage_$name")
  STAGE_RC=$?
  set -e
  record "$name" "$STAGE_RC" $((SECONDS - t0))
}

stage() {  # stage NAME: run_stage, and stop the script if it failed
  run_stage "$1"
  [ "$STAGE_RC" -eq 0 ] || exit "$STAGE_RC"
}

start_lane() {  # start_lane NAME: runs the stage in the background, its output in $RESULTS/NAME.log
  local name=$1
  rm -f "$RESULTS/$name.details" "$RESULTS/$name.ended"
  echo "==> [$name] starting in a parallel lane (output: $RESULTS/$name.log, printed when it ends)"
  # The lane notes when it ended, so that its time is its own and not the time until it is joined.
  ( (set -e; "stage_$name"); rc=$?; echo "$SECONDS" >"$RESULTS/$name.ended"; exit "$rc" ) \
    >"$RESULTS/$name.log" 2>&1 </dev/null &
  LANE_PID[$name]=$!
  LANE_START[$name]=$SECONDS
}

join_lane() {  # join_lane NAME: waits for a lane, prints its output and records it; returns its exit code
  local name=$1 rc=0
  wait "${LANE_PID[$name]}" || rc=$?
  echo "==> [$name] output of the parallel lane:"
  cat "$RESULTS/$name.log"
  record "$name" "$rc" $(($(cat "$RESULTS/$name.ended" 2>/dev/null || echo "$SECONDS") - LANE_START[$name]))
  return "$rc"
}

stage_host() {
  bash scripts/host-prerequisites.sh
}

stage_images() {
  bash tests/images/build.sh
}

stage_venv() {
  if [ ! -x "$VENV/bin/python" ]; then
    python3 -m venv "$VENV"
  fi
  "$VENV/bin/pip" install -q --disable-pip-version-check -r requirements-test.txt
}

stage_gates() {
  export PATH="$VENV/bin:$PATH"
  echo "--- yamllint";      yamllint --strict .
  echo "--- ruff";          ruff check .
  echo "--- ansible-lint";  ansible-lint --profile production --offline
  echo "--- ansible-test";  bash scripts/ansible-test-sanity.sh
}

# passed/failed/errors/skipped from pytest's JUnit XML report
junit_counts() {
  "$VENV/bin/python" - "$1" <<'PY'
import sys
import xml.etree.ElementTree as ET

root = ET.parse(sys.argv[1]).getroot()
suites = [root] if root.tag == "testsuite" else list(root.iter("testsuite"))
total = {key: sum(int(suite.get(key, 0)) for suite in suites) for key in ("tests", "failures", "errors", "skipped")}
passed = total["tests"] - total["failures"] - total["errors"] - total["skipped"]
print(f"{passed} passed, {total['failures']} failed, {total['errors']} errors, {total['skipped']} skipped")
PY
}

stage_pytest() {
  export PATH="$VENV/bin:$PATH"
  rm -f "$RESULTS/pytest.xml"
  local rc=0
  pytest -ra --durations=25 --junitxml="$RESULTS/pytest.xml" || rc=$?
  if [ -f "$RESULTS/pytest.xml" ]; then junit_counts "$RESULTS/pytest.xml" >"$RESULTS/pytest.details"; fi
  return "$rc"
}

stage_molecule() {
  export PATH="$VENV/bin:$PATH"
  local config scenario t0 times=()
  for config in molecule/*/molecule.yml; do   # molecule/shared/ holds playbooks, not a scenario
    scenario=$(basename "$(dirname "$config")")
    echo "--- molecule test -s $scenario"
    t0=$SECONDS
    if ! molecule test -s "$scenario"; then
      times+=("$scenario FAILED after $((SECONDS - t0)) s")
      (IFS=,; echo "${times[*]}") | sed 's/,/, /g' >"$RESULTS/molecule.details"
      return 1
    fi
    times+=("$scenario $((SECONDS - t0)) s")
  done
  (IFS=,; echo "${times[*]}") | sed 's/,/, /g' >"$RESULTS/molecule.details"
}

wanted() { [[ " $STAGES " == *" $1 "* ]]; }
for s in $STAGES; do
  case $s in
    host|images|venv|gates|pytest|molecule) ;;
    *) echo "unknown stage: $s (host images venv gates pytest molecule)" >&2; exit 2 ;;
  esac
done

# Two lanes where the stages are independent and the machine (2 cores) has room: the venv is made while the
# images build, and the molecule scenarios run while pytest does. Their resources never meet: each test module and
# each scenario has its own name prefix, network and subnet, and removes only its own.
if wanted host; then stage host; fi
if wanted images && wanted venv; then
  start_lane venv
  stage images
  join_lane venv || exit $?
else
  if wanted images; then stage images; fi
  if wanted venv; then stage venv; fi
fi
if wanted gates; then stage gates; fi
if wanted pytest && wanted molecule; then
  start_lane molecule
  run_stage pytest
  pytest_rc=$STAGE_RC
  molecule_rc=0
  join_lane molecule || molecule_rc=$?
  [ "$pytest_rc" -eq 0 ] || exit "$pytest_rc"
  [ "$molecule_rc" -eq 0 ] || exit "$molecule_rc"
else
  if wanted pytest; then stage pytest; fi
  if wanted molecule; then stage molecule; fi
fi
