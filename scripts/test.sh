#!/usr/bin/env bash
# Sets up this machine and runs every check and test of the project: formatting and feature
# hygiene; the build; the runtime's try-runtime tests and the pallets' benchmarks as tests; unit
# tests of every crate and end-to-end tests that drive the real node
# binary over JSON-RPC (a network of validators under faults among them), the TypeScript SDK
# (with its web demo in Chromium) and the kms file format against a Python implementation,
# while the docs, clippy and a minute of fuzzing the wire decoder run beside them; and last the
# load test, alone. Prints a table of
# the stages' times at the end, failed or not.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/lib.sh
trap stage_summary EXIT

# Docs and clippy share a target directory of their own: they run with SKIP_WASM_BUILD (the
# wasm builder would otherwise compile the runtime under clippy-driver), and flipping that
# variable in the shared directory would re-run the runtime build scripts and rebuild the node
# on the next run. Both check one feature set, in one check build of the dependencies which
# `cargo doc` and clippy share: the development features with production timing instead of the
# fast runtime, so that the runtime of production chains is compiled (and linted) too, while
# the build below compiles and tests the fast one. (`benchmark-cli` is left out: it adds
# frame-benchmarking-cli's two hundred crates; `scripts/benchmark.sh` compiles it.)
checks() {
	SKIP_WASM_BUILD=1 CARGO_TARGET_DIR="$KMS_CACHE/clippy-target" "$@"
}
check_features="$KMS_DEV_FEATURES_BUT_TIMING"
docs() {
	RUSTDOCFLAGS="-D warnings" checks cargo doc --locked --release --workspace --no-deps \
		--features "$check_features"
}
clippy() {
	checks cargo clippy --locked --release --workspace --all-targets \
		--features "$check_features" -- -D warnings
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
# The decoder of untrusted umbral bytes under libFuzzer, for a minute (scripts/fuzz.sh).
fuzz() {
	bash scripts/fuzz.sh 60
}

stage "setup" setup
stage "lint: formatting (Rust, TOML) and feature propagation" bash scripts/lint.sh
stage "build: node, kms and every library (fast-runtime, test-tamper, try-runtime, benchmarks)" \
	build_dev

# The build above keeps both cores busy; the end-to-end tests below mostly wait for blocks. So
# the docs and clippy (a check build of every crate: a quarter of an hour of both cores on a
# cold machine) run meanwhile, at the lowest CPU priority, so that the nodes under test get the
# CPU whenever they need it. Their output is in $KMS_CACHE/checks.log, shown if they fail.
checks_log="$KMS_CACHE/checks.log"
background_checks() {
	docs && sdk_docs && clippy && fuzz
}
# Its own process group (setsid), so that a run that ends early stops it with everything it ran.
# With the kernel's autogroups (on by default), a new session is a scheduling group of its own
# and niceness counts only within it: the group's own niceness is what yields to the tests.
setsid nice -n 19 bash -c "set -euo pipefail
	[ -w /proc/self/autogroup ] && echo 19 >/proc/self/autogroup || true
	check_features='$check_features'
	$(declare -f checks docs sdk_docs clippy fuzz background_checks)
	background_checks" >"$checks_log" 2>&1 &
checks_pid=$!
CHECKS_START=$SECONDS
trap 'status=$?; kill -- -"$checks_pid" 2>/dev/null || true; stage_summary "$status"' EXIT

# One process per test, test binaries in parallel (.config/nextest.toml); the same build the
# step above made, so nothing but the test targets compiles here (every one of them, in the
# first of these stages: nextest builds the workspace's test binaries, then filters). The
# workspace with the same features each time, so that cargo unifies them as the build did.
tests() { # filter
	cargo nextest run --locked --release --workspace --features "$KMS_DEV_FEATURES" \
		--no-tests fail -E "$1"
}
# The runtime's `TryRuntime` API (its tests run every pallet's try_state through it on
# development-chain state, and a broken invariant fails it) and every pallet's benchmarks, run
# once each as tests.
runtime_tests='package(kms-runtime) | package(/^pallet-kms-/)'
stage "try-runtime and benchmarks: the runtime's TryRuntime API, every benchmark as a test" \
	tests "$runtime_tests"
# The load test waits for the end: it needs both cores to itself.
load_test='package(kms-e2e-tests) & binary(load)'
stage "tests: every crate, and end to end against the node just built" \
	tests "not ($runtime_tests) & not ($load_test)"
# The SDK's tests start `kms-node --dev` from the build above (scripts/lib.sh's target directory)
# and drive the `kms` built there; the web demo runs in headless Chromium.
stage "tests: the TypeScript SDK, its interop with kms, and the web demo in Chromium (npm test)" \
	bash -c 'cd sdk && npm test'
# The binary the build made for cli/tests/cli.rs, against the format's description
# implemented again in Python with umbral-pre's Python bindings.
stage "tests: the kms file format against an independent implementation (Python, umbral-pre)" \
	"$KMS_TOOLS/python/bin/python" tests/interop/kms_format.py "$CARGO_TARGET_DIR/release/kms"
wait_checks() {
	local status=0
	wait "$checks_pid" || status=$?
	if [ "$status" -ne 0 ]; then
		tail -n 80 "$checks_log" >&2
		echo "the docs, clippy or the fuzzer failed: $checks_log has all of their output" >&2
	fi
	printf '    (started %ds before this wait)\n' $((SECONDS - CHECKS_START)) >&2
	return "$status"
}
stage "docs (rustdoc and the SDK's TypeDoc) and clippy, warnings are errors; fuzzing (run since the build)" \
	wait_checks
stage "tests: the load test, alone" tests "$load_test"
