#!/usr/bin/env bash
# District demo on loopback: a district server, two schools' agents enrolled, a remote check of
# each, the dashboard saved with screenshots (audits/district-demo/<UTC time>/). See README.
set -euo pipefail
cd "$(dirname "$0")/.."
[ -x .venv/bin/python ] || ./scripts/setup.sh
exec .venv/bin/python -m auditor.lab.district "$@"
