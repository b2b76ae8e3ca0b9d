#!/bin/bash
# Installs what the tests need (Debian packages as root, the venv), then
# runs the whole trial suite.
set -euo pipefail
cd "$(dirname "$0")"
if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    sh tests/install-deps.sh
fi
./setup-venv.sh
exec .venv/bin/python -m twisted.trial "${@:-tests}"
