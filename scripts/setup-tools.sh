#!/usr/bin/env bash
# Idempotent install of the project's lint tools into $KMS_CACHE/tools: zepter (feature
# propagation) and taplo (TOML formatting). Quick when they are in place.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/lib.sh

ZEPTER_VERSION=1.88.2
TAPLO_VERSION=0.7.0

mkdir -p "$KMS_TOOLS/bin"
if ! zepter --version 2>/dev/null | grep -q "$ZEPTER_VERSION"; then
	step "installing zepter $ZEPTER_VERSION"
	cargo install --quiet --locked --root "$KMS_TOOLS" --version "$ZEPTER_VERSION" zepter
fi
taplo_pkg="$KMS_TOOLS/taplo/node_modules/@taplo/cli/package.json"
if ! grep -q "\"version\": \"$TAPLO_VERSION\"" "$taplo_pkg" 2>/dev/null; then
	step "installing taplo $TAPLO_VERSION"
	command -v npm >/dev/null 2>&1 || { echo "npm is needed for taplo" >&2; exit 1; }
	npm install --silent --no-fund --no-audit --prefix "$KMS_TOOLS/taplo" "@taplo/cli@$TAPLO_VERSION"
	ln -sf "$KMS_TOOLS/taplo/node_modules/.bin/taplo" "$KMS_TOOLS/bin/taplo"
fi
