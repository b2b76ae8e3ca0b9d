#!/bin/bash
# Installs what the tests need (Debian packages, the venv), then runs the
# whole trial suite.  It needs root: run by another user, it starts itself
# again through sudo.
NEED_ROOT="test.sh needs root: it installs Debian packages, and some tests need
root.  There is no sudo here: run it as root (su -c 'bash test.sh'), or run
the suite without those tests (they skip) as this user:
    ./setup-venv.sh && .venv/bin/python -m twisted.trial tests"
. "$(dirname "$0")/as-root.sh"
set -euo pipefail
cd "$(dirname "$0")"
if command -v apt-get >/dev/null; then
    sh tests/install-deps.sh
fi
./setup-venv.sh
exec .venv/bin/python -m twisted.trial "${@:-tests}"
