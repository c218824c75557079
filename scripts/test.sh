#!/usr/bin/env bash
# README command 2: install everything and run the whole test suite (as root, the lab tests
# build their own namespace school; without root they are skipped), then lint and type-check.
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/setup.sh
.venv/bin/python -m pytest "$@"
.venv/bin/ruff check .
.venv/bin/mypy
