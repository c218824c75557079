#!/usr/bin/env bash
# README command 1: install everything, build the demo school, run a full audit, verify it.
# Needs root (network namespaces). The signed bundle goes to audits/demo/<timestamp>/.
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/setup.sh
AUDITOR=$PWD/.venv/bin/auditor

"$AUDITOR" lab up
"$AUDITOR" keys init --sm2   # Ed25519, and SM2 (GB/T 32918) for a second signature and SM3 digests
site=/run/campus-auditor-lab/ca/site.yaml   # written by `lab up`: the demo inventory
# The demo has no radios: import two scans taken "on a laptop" in the areas (sample iw output).
# The gym has no survey, so its Wi-Fi items are reported as errors (no current evidence).
"$AUDITOR" wifi survey -i "$site" --area teach-301 --tool iw \
  --from-file lab/auditor/lab/data/wifi/teaching-301.iw.txt --taken-at "$(date -u +%FT%TZ)"
"$AUDITOR" wifi survey -i "$site" --area office-205 --tool iw \
  --from-file lab/auditor/lab/data/wifi/office-205.iw.txt --taken-at "$(date -u +%FT%TZ)"
out=audits/demo/$(date -u +%Y%m%dT%H%M%SZ)
status=0
ip netns exec ca-agent "$AUDITOR" run \
  --inventory "$site" \
  --profile beijing-smart-campus-2023 \
  --profile gbt22239-2019-level3 \
  --profile campus-auditor-baseline \
  --allow-class-hours \
  --format html,pdf,md,oscal,xlsx,docx,csv \
  --out "$out" || status=$?
case $status in
  0|1) ;;   # 1: some checks failed (the demo school has planted faults)
  *) echo "demo: the audit did not complete (exit $status)" >&2; exit "$status" ;;
esac
"$AUDITOR" verify "$out"
ln -sfn "$(basename "$out")" audits/demo/latest
# A look at the first screen of the HTML report, as a browser shows it (outside the signed bundle).
.venv/bin/python -m auditor.reports.screenshot "$out/report.html" "audits/demo/$(basename "$out")-report.png" \
  || echo "demo: no screenshot (chromium missing?)" >&2
echo "demo: signed report in $out: report.html (open it in a browser), evidence-index.html, report.pdf,"
echo "      assessment-results.json (OSCAL), report.md, report.xlsx, report.docx, findings.csv,"
echo "      report.json, report.dsse.json; audit exit $status"
echo "demo: tear the school down with: $AUDITOR lab down"
