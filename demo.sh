#!/bin/bash
# Installs the suite into .venv and runs a demo: a one-node cluster below
# a private root, driven only through the gnt-* tools.  It needs root (the
# Debian packages; the cluster IP goes on lo): run by another user, it
# starts itself again through sudo.  The cluster stays up afterwards for
# you to try.
NEED_ROOT="demo.sh needs root: it installs Debian packages and puts the cluster
IP on lo.  There is no sudo here: run it as root, e.g. su -c 'bash demo.sh'."
. "$(dirname "$0")/as-root.sh"
set -euo pipefail
cd "$(dirname "$0")"
if command -v apt-get >/dev/null; then
    sh tests/install-deps.sh      # qemu, a kernel and busybox for the kvm guest
fi
./setup-venv.sh
ROOT=${GANETI_DEMO_ROOT:-/tmp/ganeti-demo}
export GANETI_ROOT=$ROOT PATH=$PWD/.venv/bin:$PATH

if [ -f "$ROOT/var/lib/ganeti/config.data" ]; then
    echo "# removing the previous demo cluster and its instances"
    for instance in $(gnt-instance list --no-headers -o name 2>/dev/null); do
        gnt-instance remove -f --ignore-failures "$instance" >/dev/null || true
    done
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

echo
echo "######## instances ########"
# A tiny OS definition (ganeti-os-interface API 20): its create script
# writes a greeting at the start of the instance's first disk.
OSDIR=$ROOT/srv/ganeti/os/demo
mkdir -p "$OSDIR"
echo 20 > "$OSDIR/ganeti_api_version"
printf 'default\nminimal\n' > "$OSDIR/variants.list"
echo "greeting Text written at the start of the first disk" > "$OSDIR/parameters.list"
cat > "$OSDIR/create" <<'EOS'
#!/bin/sh
set -e
echo "installing $INSTANCE_NAME ($OS_VARIANT) on $DISK_0_PATH"
printf '%s: %s\n' "$INSTANCE_NAME" "${OSP_GREETING:-hello}" |
    dd of="$DISK_0_PATH" conv=notrunc 2>/dev/null
EOS
for script in export import rename verify; do printf '#!/bin/sh\nexit 0\n' > "$OSDIR/$script"; done
chmod +x "$OSDIR"/create "$OSDIR"/export "$OSDIR"/import "$OSDIR"/rename "$OSDIR"/verify

run gnt-os list
run gnt-os diagnose
run gnt-cluster modify --enabled-hypervisors=fake,kvm
for i in 1 2 3; do
    run gnt-instance add -t diskless --no-install --no-name-check --no-ip-check web$i
done
run gnt-instance startup web1
run gnt-instance startup web2
run gnt-instance shutdown web2
# A network with an address pool: NICs in it get the group's mode and link
# and a free address.
run gnt-network add --network=10.20.0.0/28 --gateway=10.20.0.1 net1
run gnt-network connect -N mode=routed,link=100 net1
run gnt-instance add -t diskless --no-install --no-name-check --no-ip-check \
    --net 0:network=net1,ip=pool app1
run gnt-instance add -t diskless --no-install --no-name-check --no-ip-check \
    --net 0:network=net1,ip=pool app2
run gnt-instance list -o name,nic.ip/0,nic.mode/0,nic.network.name/0 app1 app2
run gnt-network info net1
run gnt-instance add -t file --disk 0:size=64M -o demo+default -O greeting=hi \
    --no-name-check --no-ip-check --no-start files1
head -c 20 "$ROOT"/srv/ganeti/file-storage/files1/*; echo
run gnt-instance grow-disk files1 0 64M
# ExtStorage: the shipped filevol provider keeps volumes as files (on a
# directory all nodes share, in a real cluster) attached as loop devices.
run .venv/bin/python -m ganeti.storage.providers --dir "$ROOT/srv/filevol" \
    "$ROOT/srv/ganeti/extstorage"
run gnt-cluster modify --enabled-disk-templates=file,diskless,ext
run gnt-storage diagnose
run gnt-instance add -t ext --disk 0:size=32M,provider=filevol -o demo+default \
    --no-name-check --no-ip-check --no-start ext1
run gnt-instance activate-disks ext1
head -c 18 "$(gnt-instance activate-disks ext1 | cut -d: -f3)"; echo
run gnt-instance deactivate-disks ext1

wait_boot() {
    echo "\$ (reading vm1's serial console until the guest has booted)"
    timeout 60 socat -u UNIX-CONNECT:"$ROOT"/var/run/ganeti/kvm-hypervisor/ctrl/vm1.serial - 2>/dev/null \
        | grep -a -m1 GANETI-GUEST-BOOTED || true
}

GUEST=$(.venv/bin/python -c '
from ganeti.testing.guest import build_guest_image
g = build_guest_image("/tmp/ganeti-test-guest")
print("kvm:kernel_path=%s,initrd_path=%s,kernel_args=quiet,kvm_flag=disabled" % (g["kernel"], g["initrd"]))' 2>/dev/null) || GUEST=
if [ -n "$GUEST" ]; then
    # A real qemu (software emulation here) booting a tiny Linux guest.
    run gnt-instance add -t file --disk 0:size=64M -o demo+default -H "$GUEST" \
        -B maxmem=128 --no-nics --no-name-check --no-ip-check vm1
    wait_boot
    run gnt-instance console --show-cmd vm1
    run gnt-instance grow-disk vm1 0 32M
    run gnt-instance reboot --type=soft vm1
    # A soft stop presses the ACPI button, which a guest still booting
    # would not notice: wait for the boot line first.
    wait_boot
    run gnt-instance shutdown vm1
    run gnt-instance startup vm1
else
    echo "(no qemu or guest kernel: skipping the kvm instance; run tests/install-deps.sh)"
fi
run gnt-instance list
run gnt-instance list -o name,hypervisor,disk_template,disk.sizes,be/maxmem,status
run gnt-instance info files1
run gnt-node list
run gnt-node list-storage
run gnt-cluster verify

echo
echo "######## RAPI (HTTPS on port 5080, anonymous reads, writes by users) ########"
if command -v curl >/dev/null; then
    run curl -sk https://127.0.0.1:5080/version
    echo
    run curl -sk "https://127.0.0.1:5080/2/instances"
    echo
    echo "demo $(openssl rand -hex 8 2>/dev/null || echo demo-secret) write" \
        > "$ROOT/var/lib/ganeti/rapi/users"
    AUTH="demo:$(awk '{print $2}' "$ROOT/var/lib/ganeti/rapi/users")"
    run curl -sk -X PUT "https://127.0.0.1:5080/2/instances/web1/tags?tag=from-rapi"
    echo
    JOB=$(curl -sk -u "$AUTH" -X PUT "https://127.0.0.1:5080/2/instances/web1/tags?tag=from-rapi")
    echo "(the same with the users file's demo user: job $JOB)"
    run gnt-job wait "$JOB"
    run curl -sk "https://127.0.0.1:5080/2/instances/web1/tags"
    echo
    run curl -sk -u "$AUTH" "https://127.0.0.1:5080/2/instances/web1/console"
    echo
    echo
    echo "\$ curl -skN https://127.0.0.1:5080/2/jobs/events?jobs=$JOB   # 2 s of the job event stream"
    curl -skN --max-time 2 "https://127.0.0.1:5080/2/jobs/events?jobs=$JOB" || true
fi

# gnt-cluster destroy refuses while the cluster has instances: the hint
# names the ones this run left (web1-3, files1, vm1 with a guest kernel).
INSTANCES=$(gnt-instance list --no-headers -o name 2>/dev/null || true)
AS_ROOT=
if [ -n "${SUDO_USER:-}" ]; then
    AS_ROOT=" (as root: first sudo -s)"
fi
HOST=$(hostname -I 2>/dev/null | awk '{print $1}')
cat <<EOT

The web view: open https://${HOST:-localhost}:5080/ui/ in a browser (the
certificate is the cluster's own, self-signed) and log in as user "demo",
password "$(awk '$1 == "demo" {print $2}' "$ROOT/var/lib/ganeti/rapi/users" 2>/dev/null)".
There: start or stop an instance, watch its job, open vm1's console.

The demo cluster is still running, with its instances.  To use it$AS_ROOT:
    export GANETI_ROOT=$ROOT PATH=$PWD/.venv/bin:\$PATH
    gnt-job list
To remove it, its instances first, then the cluster (and its files):
EOT
for instance in $INSTANCES; do
    echo "    gnt-instance remove -f $instance"
done
cat <<EOT
    gnt-cluster destroy --yes-do-it
    rm -rf $ROOT
EOT
