#!/bin/bash
# Vendors the web view's browser libraries into static/vendor/ (not
# committed): xterm.js and noVNC at the versions package-lock.json pins,
# fetched from the npm registry with "npm ci", so the page never loads
# code from a CDN.  setup-venv.sh runs this on every install; it does
# nothing when static/vendor/ already holds what this lock file pins.
# Without npm the page still works, only the console panel does not.
set -euo pipefail
cd "$(dirname "$0")"
vendor=static/vendor
stamp="$vendor/package-lock.sha256"
want=$(sha256sum package-lock.json | cut -d' ' -f1)
if [ "$(cat "$stamp" 2>/dev/null)" = "$want" ]; then
    exit 0
fi
if ! command -v npm >/dev/null 2>&1; then
    echo "ui/vendor.sh: npm not found; the web view will have no console" >&2
    exit 0
fi
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cp package.json package-lock.json "$work/"
(cd "$work" && npm ci --ignore-scripts --no-audit --no-fund --silent)
modules="$work/node_modules"
rm -rf "$vendor"
mkdir -p "$vendor/xterm" "$vendor/novnc"
cp "$modules/@xterm/xterm/lib/xterm.mjs" "$modules/@xterm/xterm/css/xterm.css" \
    "$modules/@xterm/xterm/LICENSE" "$vendor/xterm/"
cp -r "$modules/@novnc/novnc/core" "$modules/@novnc/novnc/vendor" \
    "$modules/@novnc/novnc/LICENSE.txt" "$vendor/novnc/"
echo "$want" > "$stamp"
