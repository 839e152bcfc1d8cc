#!/usr/bin/env bash
# Sets up this machine and runs every check and test of the project, cheap checks first:
# formatting and feature hygiene, the docs, the runtime with production timing and try-runtime,
# clippy, then unit tests of every crate and end-to-end tests that drive the real node binary
# over JSON-RPC, the kms file format against a Python implementation, the pallets' benchmarks
# as tests, and the TypeScript SDK (with its web demo in Chromium) against the node just built.
# Prints a table of the stages' times at the end, failed or not.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/lib.sh
trap stage_summary EXIT

# Docs and clippy share a target directory of their own: they run with SKIP_WASM_BUILD (the
# wasm builder would otherwise compile the runtime under clippy-driver), and flipping that
# variable in the shared directory would re-run the runtime build scripts and rebuild the node
# on the next run. `cargo doc` reuses clippy's checked dependencies.
checks() {
	SKIP_WASM_BUILD=1 CARGO_TARGET_DIR="$KMS_CACHE/clippy-target" "$@"
}
docs() {
	RUSTDOCFLAGS="-D warnings" checks cargo doc --locked --release --workspace --no-deps \
		--features "$KMS_DEV_FEATURES"
}
clippy() {
	checks cargo clippy --locked --release --workspace --all-targets \
		--features "$KMS_DEV_FEATURES" -- -D warnings
	checks cargo clippy --locked --release -p pallet-kms-staking -p pallet-kms-policies \
		-p pallet-kms-adjudicator -p pallet-kms-rewards --all-targets --features runtime-benchmarks \
		-- -D warnings
}
setup() {
	bash scripts/setup.sh
	bash scripts/setup-tools.sh
	bash scripts/setup-sdk.sh
}
# The SDK's API documentation (TypeDoc; warnings are errors, and it type-checks the SDK).
sdk_docs() {
	(cd sdk && npm run --silent docs)
}

stage "setup" setup
stage "lint: formatting (Rust, TOML) and feature propagation" bash scripts/lint.sh
stage "docs: rustdoc, warnings are errors" docs
stage "docs: the TypeScript SDK's (TypeDoc), warnings are errors" sdk_docs
# The production runtime (6 s blocks, one-day periods) with its `TryRuntime` API (its tests run
# every pallet's try_state through it on development-chain state) and the pallets' benchmarks,
# run once each as tests: one native build of FRAME with both features, and the runtime's wasm
# with them (so the no_std side of both is compiled too).
try_runtime() {
	cargo nextest run --locked --release -p kms-runtime -p pallet-kms-staking \
		-p pallet-kms-policies -p pallet-kms-adjudicator -p pallet-kms-rewards \
		--features kms-runtime/try-runtime,kms-runtime/runtime-benchmarks
}
stage "try-runtime and benchmarks: the runtime with production timing, every benchmark as a test" \
	try_runtime
stage "clippy: every crate and target, warnings are errors" clippy
stage "build: node, kms and every library (fast-runtime, test-tamper)" build_dev
# One process per test, test binaries in parallel (.config/nextest.toml); the same build the
# step above made, so nothing but the test targets compiles here.
stage "tests: every crate, and end to end against the node just built" \
	cargo nextest run --locked --release --workspace --features "$KMS_DEV_FEATURES" \
	--no-tests fail
# The binary the step above built for client/tests/cli.rs, against the format's description
# implemented again in Python with umbral-pre's Python bindings.
stage "tests: the kms file format against an independent implementation (Python, umbral-pre)" \
	"$KMS_TOOLS/python/bin/python" tests/interop/kms_format.py "$CARGO_TARGET_DIR/release/kms"
# The SDK's tests start `kms-node --dev` from the build above (scripts/lib.sh's target directory)
# and drive the `kms` built there; the web demo runs in headless Chromium.
stage "tests: the TypeScript SDK, its interop with kms, and the web demo in Chromium (npm test)" \
	bash -c 'cd sdk && npm test'
