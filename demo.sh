#!/bin/bash
# Installs the suite into .venv and runs a demo: a one-node cluster below
# a private root, driven only through the gnt-* tools.  Run as root (the
# cluster IP goes on lo).  The cluster stays up afterwards for you to try.
set -euo pipefail
cd "$(dirname "$0")"
./setup-venv.sh
ROOT=${GANETI_DEMO_ROOT:-/tmp/ganeti-demo}
export GANETI_ROOT=$ROOT PATH=$PWD/.venv/bin:$PATH

if [ -f "$ROOT/var/lib/ganeti/config.data" ]; then
    echo "# removing the previous demo cluster"
    gnt-cluster destroy --yes-do-it || ganeti-daemon stop || true
fi
rm -rf "$ROOT"
mkdir -p "$ROOT/etc"
# The demo's names resolve through its own etc/hosts.
echo "127.0.100.1 cluster1.example.com" > "$ROOT/etc/hosts"

run() {
    echo
    echo "\$ $*"
    "$@" || echo "(exit code $?)"
}

echo
echo "\$ gnt-cluster init --enabled-hypervisors=fake --enabled-disk-templates=file,diskless --master-netdev=lo --no-etc-hosts cluster1.example.com"
gnt-cluster init --enabled-hypervisors=fake \
    --enabled-disk-templates=file,diskless --master-netdev=lo --no-etc-hosts \
    cluster1.example.com
run gnt-cluster getmaster
run gnt-cluster version
run gnt-cluster info
run gnt-cluster verify
run gnt-debug delay 1
echo
echo "\$ gnt-debug delay --submit --print-jobid 30      # holds the node lock"
LONG=$(gnt-debug delay --submit --print-jobid 30 2>/dev/null); echo "$LONG"
echo "\$ gnt-debug delay --submit --print-jobid 10      # waits for that lock"
WAITING=$(gnt-debug delay --submit --print-jobid 10 2>/dev/null); echo "$WAITING"
run gnt-job list
run gnt-job cancel "$WAITING"
run gnt-job watch "$WAITING"
run gnt-job cancel "$LONG"
run gnt-job cancel --kill --yes-do-it "$LONG"
run gnt-job wait "$LONG"
run gnt-job info "$LONG"
run gnt-job list
run gnt-job archive 1
run gnt-cluster queue drain
run gnt-cluster queue info
run gnt-debug delay 1
run gnt-cluster queue undrain
echo '[{"OP_ID": "OP_TEST_DELAY", "duration": 0.001}]' > "$ROOT/ops.json"
echo
echo "\$ gnt-debug submit-job --job-repeat 1000 --timing-stats $ROOT/ops.json | tail -5"
gnt-debug submit-job --job-repeat 1000 --timing-stats "$ROOT/ops.json" | tail -5
echo
echo "\$ gnt-debug test-jobqueue | grep -v INFO"
gnt-debug test-jobqueue | grep -v INFO
run gnt-job autoarchive all
run gnt-job list

cat <<EOT

The demo cluster is still running.  To use it:
    export GANETI_ROOT=$ROOT PATH=$PWD/.venv/bin:\$PATH
    gnt-job list
To remove it:
    gnt-cluster destroy --yes-do-it
EOT
