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
# Byte-compile the sources once, so that every `auditor` process the tests start and every worker
# loads them rather than compiling each module again: where PYTHONDONTWRITEBYTECODE is set (as on
# the development machine) nothing else writes them, and compiling was about a fifth of a short
# command's CPU time. __pycache__ is ignored by git; a source edited later is simply recompiled.
$PY -m compileall -q -j 0 auditor probes checks reports profiles lab tests >/dev/null

.venv/bin/ruff check .
.venv/bin/mypy
.venv/bin/lint-imports --no-logo

if [ "$fast" -eq 1 ]; then
  exec $PY -m pytest tests/unit -n "$workers" -q "$@"
fi

status=0
# Work units are files, and each test class is a unit of its own (a long file can put a part that
# shares a module fixture in a class to run beside the rest): handed out in the order given here,
# the lab files first (few tests, minutes each: xdist's default order, most tests first, started
# them last and left one worker running alone at the end), then integration, then the many short
# unit files that even out the end.
$PY -m pytest tests/lab tests/integration tests/unit -m "not bandwidth" -n "$workers" \
  --dist loadscope --no-loadscope-reorder --junitxml="$results/parallel.xml" "$@" || status=$?
$PY -m pytest tests/lab -m bandwidth --junitxml="$results/bandwidth.xml" "$@" || status=$?
$PY -m tests.support.slowest 15 "$results"/*.xml
exit "$status"
