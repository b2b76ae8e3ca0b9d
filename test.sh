#!/bin/bash
# Installs what the tests need, then runs the whole trial suite.
set -euo pipefail
cd "$(dirname "$0")"
if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    missing=""
    for pkg in iproute2 qemu-utils lvm2; do
        dpkg -s "$pkg" >/dev/null 2>&1 || missing="$missing $pkg"
    done
    if [ -n "$missing" ]; then
        apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $missing
    fi
fi
./setup-venv.sh
exec .venv/bin/python -m twisted.trial "${@:-tests}"
