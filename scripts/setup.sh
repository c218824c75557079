#!/usr/bin/env bash
# Installs what campus-auditor needs on Debian (run as root): system tools and a virtualenv
# in .venv with the auditor and its test dependencies. Safe to run again.
set -euo pipefail
cd "$(dirname "$0")/.."

need=()
for pair in iperf3:iperf3 snmpbulkwalk:snmp nmap:nmap ip:iproute2 tc:iproute2 ps:procps nft:nftables \
            sshd:openssh-server ssh-keygen:openssh-client dnsmasq:dnsmasq-base busybox:busybox \
            snmpd:snmpd openssl:openssl dot:graphviz fc-list:fontconfig pdftotext:poppler-utils \
            chromium:chromium tcpdump:tcpdump systemd-analyze:systemd systemd-tmpfiles:systemd iw:iw; do
  command -v "${pair%%:*}" >/dev/null 2>&1 || [ -x "/usr/sbin/${pair%%:*}" ] || need+=("${pair#*:}")
done
# History store tests: a throw-away PostgreSQL cluster (the system cluster is never started).
ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || need+=(postgresql)
# Reports: Chinese fonts for the HTML, charts and PDF (never tofu).
[ -e /usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc ] || need+=(fonts-noto-cjk)
# Tests only: report.xlsx and report.docx must open in an office suite; the tests convert them to
# PDF with LibreOffice headless (Calc and Writer without the GUI: about 90 MiB of packages,
# 290 MiB installed, some 20 s).
[ -e /usr/lib/libreoffice/program/libsclo.so ] || need+=(libreoffice-calc-nogui)
[ -e /usr/lib/libreoffice/program/libswlo.so ] || need+=(libreoffice-writer-nogui)
python3 -c 'import venv, ensurepip' >/dev/null 2>&1 || need+=(python3-venv)
command -v python3 >/dev/null 2>&1 || need+=(python3 python3-venv)
if [ ${#need[@]} -gt 0 ]; then
  if [ "$(id -u)" -ne 0 ]; then
    echo "setup: missing system packages (${need[*]}); run as root to install them" >&2
    exit 2
  fi
  echo "setup: installing ${need[*]}"
  export DEBIAN_FRONTEND=noninteractive
  # The lab runs its own sshd and dnsmasq inside namespaces: keep the packages from starting
  # system-wide services while they install.
  if [ ! -e /usr/sbin/policy-rc.d ]; then
    printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d && chmod 755 /usr/sbin/policy-rc.d
    trap 'rm -f /usr/sbin/policy-rc.d' EXIT
  fi
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
fi

if [ ! -x .venv/bin/python ]; then
  python3 -m venv .venv
fi
.venv/bin/python -m pip install -q --upgrade pip >/dev/null
.venv/bin/python -m pip install -q -e '.[test]' -e ./lab   # the product, its test tools, and the demo school
echo "setup: ready (.venv/bin/auditor)"
