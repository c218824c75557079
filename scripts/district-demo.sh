#!/usr/bin/env bash
# District demo (root): two namespace demo schools (da-*, db-*) and a district server in its own
# namespace (dd-district); both agents enrolled, a remote check of each run with real
# measurements, the dashboard and the comparison saved with screenshots
# (audits/district-demo/<UTC time>/). --keep leaves the server running; --down tears it all down.
set -euo pipefail
cd "$(dirname "$0")/.."
[ -x .venv/bin/python ] || ./scripts/setup.sh
exec .venv/bin/python -m auditor.lab.district "$@"
