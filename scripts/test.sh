#!/usr/bin/env bash
# README command 2: install everything, lint, type-check, check the import layers, then run the
# whole test suite in its three tiers:
#   tests/unit         pure (seconds)
#   tests/integration  CLI subprocesses, servers on loopback, PostgreSQL, Chromium
#   tests/lab          network namespaces (root): each xdist worker builds its own demo school
# All of them run in parallel except the lab tests that measure bandwidth (marked `bandwidth`),
# which run afterwards, one at a time, with nothing else competing for the CPU.
# As root the lab tier builds its own namespace schools; without root it is skipped.
#
#   ./scripts/test.sh --fast     the unit tier with ruff, mypy and the layer contract, no set-up
#   ./scripts/test.sh [PYTEST ARGS]   everything (extra arguments go to every pytest run)
set -euo pipefail
cd "$(dirname "$0")/.."

fast=0
if [ "${1:-}" = "--fast" ]; then
  fast=1
  shift
fi
if [ "$fast" -eq 0 ] || [ ! -x .venv/bin/python ]; then
  ./scripts/setup.sh
fi
PY=.venv/bin/python
results=.test-results
rm -rf "$results" && mkdir -p "$results"
workers=$($PY -c 'import os; print(max(4, min(8, 2 * (os.cpu_count() or 2))))')  # most tests wait on I/O

.venv/bin/ruff check .
.venv/bin/mypy
.venv/bin/lint-imports --no-logo

if [ "$fast" -eq 1 ]; then
  exec $PY -m pytest tests/unit -n "$workers" -q "$@"
fi

status=0
$PY -m pytest tests/unit tests/integration tests/lab -m "not bandwidth" -n "$workers" --dist loadfile \
  --junitxml="$results/parallel.xml" "$@" || status=$?
$PY -m pytest tests/lab -m bandwidth --junitxml="$results/bandwidth.xml" "$@" || status=$?
$PY -m tests.support.slowest 15 "$results"/*.xml
exit "$status"
