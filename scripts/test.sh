#!/usr/bin/env bash
# Sets up this machine and runs every check and test of the project: formatting and feature
# hygiene, unit tests of every crate, end-to-end tests that drive the real node binary over
# JSON-RPC, the kms file format against a Python implementation, the runtime in both timings.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/lib.sh

step "setup"
bash scripts/setup.sh
bash scripts/setup-tools.sh

step "lint: formatting (Rust, TOML) and feature propagation"
bash scripts/lint.sh

step "build kms-node (release, fast-runtime, test-tamper)"
timed cargo build --locked --release -p kms-node --features "$KMS_DEV_FEATURES"

step "tests: every crate, with the fast runtime the node was built with, and end to end"
timed cargo test --locked --release --workspace --features "$KMS_DEV_FEATURES"

# The binary the step above built for client/tests/cli.rs, against the format's description
# implemented again in Python with umbral-pre's Python bindings.
step "tests: the kms file format against an independent implementation (Python, umbral-pre)"
timed "$KMS_TOOLS/python/bin/python" tests/interop/kms_format.py "$CARGO_TARGET_DIR/release/kms"

step "tests: the runtime with production timing"
timed cargo test --locked --release -p kms-runtime

step "tests: pallet benchmarks run as tests (runtime-benchmarks)"
timed cargo test --locked --release -p pallet-kms-staking -p pallet-kms-policies \
	-p pallet-kms-adjudicator -p pallet-kms-rewards --features runtime-benchmarks

# Clippy gets its own target directory: it runs with SKIP_WASM_BUILD (the wasm builder would
# otherwise compile the runtime under clippy-driver), and flipping that variable in the shared
# directory would re-run the runtime build scripts and rebuild the node on the next run.
step "clippy: every crate and target, warnings are errors"
(
	export SKIP_WASM_BUILD=1 CARGO_TARGET_DIR="$KMS_CACHE/clippy-target"
	timed cargo clippy --locked --release --workspace --all-targets \
		--features "$KMS_DEV_FEATURES" -- -D warnings
	timed cargo clippy --locked --release -p pallet-kms-staking -p pallet-kms-policies \
		-p pallet-kms-adjudicator -p pallet-kms-rewards --all-targets --features runtime-benchmarks \
		-- -D warnings
)
