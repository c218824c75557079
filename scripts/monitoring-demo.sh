#!/usr/bin/env bash
# Monitoring demo (root): monitoring agents in two namespace demo schools (ma-*, mb-*), a district
# server in its own namespace (md-district), alerts to signed DingTalk and Feishu robots on
# loopback. One school's uplink is throttled below its contract with tc, the other's is cut for a
# while: degraded, down, the alerts and their recoveries, and the provider's contract report
# naming the tests and the outage (audits/monitoring-demo/<UTC time>/). About 5 minutes.
# --schools 1: one school goes through both; --keep leaves the server up; --down tears it all down.
set -euo pipefail
cd "$(dirname "$0")/.."
[ -x .venv/bin/python ] || ./scripts/setup.sh
exec .venv/bin/python -m auditor.lab.monitoring "$@"
