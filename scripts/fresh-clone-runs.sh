#!/usr/bin/env bash
# Is the suite deterministic? `scripts/fresh-clone-runs.sh [RUNS] [COMMIT]` runs `npm test` RUNS times (default 10)
# on fresh clones of COMMIT (default HEAD), each after `npm ci`, with a busy-loop CPU hog taking one core beside them,
# and prints one line per run (passed, failed, skipped, seconds) and the tally. Exit 1 if any run failed.
# The services the tests use (Redis, Chromium, ...) are whatever this machine has, as for `npm test`.
set -uo pipefail
runs=${1:-10}
repo=$(cd "$(dirname "$0")/.." && pwd)
commit=$(git -C "$repo" rev-parse --short "${2:-HEAD}")
out=$(mktemp -d "${TMPDIR:-/tmp}/fresh-clone-runs-$commit-XXXX")
sh -c 'while :; do :; done' &
hog=$!
trap 'kill $hog 2>/dev/null' EXIT
echo "commit $commit, $runs runs, CPU hog pid $hog, reports in $out"
failed_runs=0
for i in $(seq 1 "$runs"); do
  clone="$out/clone"
  rm -rf "$clone"
  git clone -q "$repo" "$clone" && git -C "$clone" checkout -q "$commit"
  start=$(date +%s)
  (cd "$clone" && npm ci --no-audit --no-fund --prefer-offline >/dev/null 2>&1 &&
    npm test -- --reporter=default --reporter=json --outputFile="$out/run-$i.json" >"$out/run-$i.log" 2>&1)
  rc=$?
  seconds=$(($(date +%s) - start))
  dirty=$(git -C "$clone" status --short | wc -l)
  line=$(node -e "const r = require('$out/run-$i.json'); console.log('passed=' + r.numPassedTests + ' failed=' + r.numFailedTests + ' skipped=' + (r.numPendingTests + r.numTodoTests))" 2>/dev/null || echo 'no report')
  echo "run $i: exit $rc, $line, ${seconds} s, files changed by the run: $dirty"
  [ "$rc" -eq 0 ] && [ "$dirty" -eq 0 ] || failed_runs=$((failed_runs + 1))
  rm -rf "$clone"
done
echo "$((runs - failed_runs)) of $runs runs passed"
[ "$failed_runs" -eq 0 ]
