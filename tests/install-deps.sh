#!/bin/sh
# Install what the kvm hypervisor tests (tests/test_hypervisor_kvm.py) and
# the cluster test bed (tests/cluster) need on Debian 12 (bookworm):
#   qemu-system-x86          qemu-system-x86_64 (and /usr/bin/kvm)
#   qemu-utils               qemu-img, for disk images
#   busybox-static           the test guest's userland (ganeti/testing/guest.py)
#   linux-image-cloud-amd64  the test guest's kernel; the cloud flavour has the
#                            fewest drivers to probe, so it boots fastest under
#                            TCG emulation (about 3 s)
#   socat                    instance serial consoles (and kvm's verify)
#   iproute2                 ip/bridge, for tap devices and the master IP
#   lvm2                     the plain (LVM) disk template and its tests
#   openssh-server           sshd on every host of the cluster test bed
#   openssh-client           ssh and ssh-keygen, for the bed's hosts
#   util-linux               unshare and nsenter (the bed's namespaces)
#   iputils-ping             ping, in the bed's tests (tests/cluster)
#   debootstrap              the Debian root of the VM bed's guests
#                            (ganeti/testing/vmbed.py, tests/vm)
#   e2fsprogs                mkfs.ext4 -d, which makes the guests' disks
#   ganeti-htools-3.0        htools' real "hail" allocator, for
#                            tests/test_iallocator.py (it needs only a few
#                            libraries, not the ganeti daemons package)
#   chromium                 the browser tests/test_ui.py drives (headless)
#   chromium-driver          chromedriver, through which Selenium drives it
# Idempotent: packages already installed are skipped, and apt is not touched
# at all when nothing is missing.
set -eu

PACKAGES="qemu-system-x86 qemu-utils busybox-static linux-image-cloud-amd64 socat iproute2 lvm2 openssh-server openssh-client util-linux iputils-ping python3-ganeti-rapi ganeti-htools-3.0 debootstrap e2fsprogs chromium chromium-driver"

missing=""
for package in $PACKAGES; do
    status=$(dpkg-query -W -f='${Status}' "$package" 2>/dev/null || true)
    case "$status" in
        *" installed") ;;
        *) missing="$missing $package" ;;
    esac
done

if [ -z "$missing" ]; then
    echo "install-deps: all present:$(printf ' %s' $PACKAGES)"
    exit 0
fi

if [ "$(id -u)" -eq 0 ]; then
    as_root=""
elif command -v sudo >/dev/null 2>&1; then
    as_root="sudo"
else
    echo "install-deps: need root (or sudo) to install:$missing" >&2
    exit 1
fi

echo "install-deps: installing:$missing"
$as_root env DEBIAN_FRONTEND=noninteractive apt-get update -q
# shellcheck disable=SC2086
$as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -q \
    --no-install-recommends $missing
