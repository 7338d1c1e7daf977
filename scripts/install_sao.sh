#!/usr/bin/env bash
# The Tryton web client (sao) from the npm registry, unpacked with its
# runtime dependencies; trytond serves it through [web] root.
set -euo pipefail
version=$1
dest=$2
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
(cd "$tmp" && npm pack --silent "tryton-sao@$version" >/dev/null)
rm -rf "$dest"
mkdir -p "$dest"
tar -xzf "$tmp"/tryton-sao-"$version".tgz -C "$dest" --strip-components=1
(cd "$dest" && npm install --omit=dev --legacy-peer-deps --no-audit --no-fund \
    --silent >/dev/null)
