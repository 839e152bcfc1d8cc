#!/usr/bin/env bash
# Sets up this machine, builds the node and starts a development chain:
# one authority (Alice), blocks every 2 s, finality, offchain workers, funded development
# accounts, JSON-RPC on ws://127.0.0.1:9944 (polkadot.js). State lives in a temporary
# directory and is gone when the node stops. Extra arguments go to `kms-node`.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/lib.sh

step "setup"
bash scripts/setup.sh
step "build kms-node (release, fast-runtime, test-tamper) and kms into $CARGO_TARGET_DIR/release"
timed build_dev
step "start the development chain (Ctrl-C stops it)"
exec "$CARGO_TARGET_DIR/release/kms-node" --dev "$@"
