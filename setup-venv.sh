#!/bin/bash
# Creates .venv in the checkout (if missing) and installs the project and
# what it needs into it.  Shared by demo.sh, test.sh and .ci/run.
set -euo pipefail
cd "$(dirname "$0")"
if [ ! -x .venv/bin/python ]; then
    python3 -m venv .venv
fi
# The web view's browser libraries, before pip copies package data.
ganeti/ui/vendor.sh
.venv/bin/pip install --quiet --disable-pip-version-check \
    -e '.[test]' --config-settings editable_mode=compat
# The tools start faster from bytecode, which this environment may not
# write on its own (PYTHONDONTWRITEBYTECODE).
.venv/bin/python -m compileall -q ganeti twisted/plugins >/dev/null
