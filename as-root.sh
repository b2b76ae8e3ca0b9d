# Sourced by demo.sh and test.sh, which need root.  As root nothing
# happens.  Another user's script starts itself again through sudo,
# keeping the GANETI_* settings (sudo clears the environment); without
# sudo it prints $NEED_ROOT and exits 1.
if [ "$(id -u)" != 0 ]; then
    if command -v sudo >/dev/null 2>&1; then
        keep=()
        for name in $(compgen -e | grep '^GANETI_'); do
            keep+=("$name=${!name}")
        done
        exec sudo env "${keep[@]}" bash "$0" "$@"
    fi
    printf '%s\n' "$NEED_ROOT" >&2
    exit 1
fi
