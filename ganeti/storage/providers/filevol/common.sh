# Shared by the scripts of the "filevol" ExtStorage provider; sourced,
# never run.  See doc/extstorage-filevol.md.
#
# A volume is a sparse file named $VOL_NAME in the provider's directory,
# which must be the same shared directory (NFS, CephFS, GlusterFS...) on
# every node of the node group; a node maps it as a loop device.
#
# The directory is, in this order: the disk's "dir" parameter
# (EXTP_DIR), FILEVOL_DIR from the optional file "settings" next to
# these scripts, then /srv/ganeti/filevol.

set -eu

FILEVOL_DIR=/srv/ganeti/filevol
PROVIDER_DIR=$(cd "$(dirname "$0")" && pwd)
if [ -f "$PROVIDER_DIR/settings" ]; then
    . "$PROVIDER_DIR/settings"
fi
VOLUME_DIR=${EXTP_DIR:-$FILEVOL_DIR}
SCRIPT=$(basename "$0")

die() {
    echo "filevol $SCRIPT: $*" >&2
    exit 1
}

usage() {
    echo "usage: $SCRIPT $1" >&2
    echo "The ExtStorage interface passes everything in VOL_* and EXTP_*" >&2
    echo "variables (man ganeti-extstorage-interface)." >&2
    exit 1
}

# Every script but verify takes no argument.
check_no_args() {
    case "${1:-}" in
        -h|--help) usage "" ;;
    esac
    [ "$#" -eq 0 ] || usage ""
}

# Ganeti names volumes <uuid>.ext.disk<N>; anything that could leave
# the directory is refused.
check_volume_name() {
    [ -n "${VOL_NAME:-}" ] || die "VOL_NAME is not set"
    case "$VOL_NAME" in
        .*|*/*) die "invalid volume name '$VOL_NAME'" ;;
    esac
    case "$VOLUME_DIR" in
        /*) ;;
        *) die "the volume directory '$VOLUME_DIR' is not an absolute path" ;;
    esac
    VOLUME_FILE=$VOLUME_DIR/$VOL_NAME
}

check_mib() {
    case "$2" in
        ''|*[!0-9]*) die "$1 must be a number of MiB, not '$2'" ;;
    esac
}

# The loop devices of this node backed by the volume file, one a line.
loop_devices() {
    losetup --list --noheadings --output NAME --associated "$VOLUME_FILE" \
        2>/dev/null || true
}

# Serialise attach/detach/grow of one volume on this node, so two
# activations never map it twice.
lock_volume() {
    exec 9<"$VOLUME_FILE"
    flock 9
}
