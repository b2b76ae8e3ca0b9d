#!/bin/bash
# Installs what the tests need (Debian packages, the venv), then runs the
# whole trial suite.  It needs root: run by another user, it starts itself
# again through sudo.
if [ "$(id -u)" != 0 ]; then
    if command -v sudo >/dev/null 2>&1; then
        # sudo clears the environment: the GANETI_* settings go along.
        keep=()
        for name in $(compgen -e | grep '^GANETI_'); do
            keep+=("$name=${!name}")
        done
        exec sudo env "${keep[@]}" bash "$0" "$@"
    fi
    cat >&2 <<'EOT'
test.sh needs root: it installs Debian packages, and some tests need
root.  There is no sudo here: run it as root (su -c 'bash test.sh'), or run
the suite without those tests (they skip) as this user:
    ./setup-venv.sh && .venv/bin/python -m twisted.trial tests
EOT
    exit 1
fi
set -euo pipefail
cd "$(dirname "$0")"
if command -v apt-get >/dev/null; then
    sh tests/install-deps.sh
fi
./setup-venv.sh
exec .venv/bin/python -m twisted.trial "${@:-tests}"
