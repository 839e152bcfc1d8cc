# Shared by the project's scripts: sourced, not run.
# One target directory for every build of this project on this machine (the README's commands,
# CI, benchmarks), outside the clone so that fresh clones build warm.
export KMS_CACHE="${KMS_CACHE:-$HOME/.cache/kms-chain}"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$KMS_CACHE/target}"
export KMS_TOOLS="$KMS_CACHE/tools"
export PATH="$KMS_TOOLS/bin:$HOME/.cargo/bin:$PATH"
# Build scripts find the workspace through this when the target directory is elsewhere.
export WASM_BUILD_WORKSPACE_HINT="${WASM_BUILD_WORKSPACE_HINT:-$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)}"

step() { printf '\n\033[1;32m==>\033[0m \033[1m%s\033[0m\n' "$*" >&2; }

# Runs a command and prints how long it took.
timed() {
	local start=$SECONDS
	"$@"
	local status=$?
	printf '\033[2m    (%s: %ds)\033[0m\n' "$*" $((SECONDS - start)) >&2
	return $status
}

# The features of the node that the development chain and the tests run: the fast runtime
# (2 s blocks, short periods) and the end-to-end tests' switch that makes listed nodes corrupt
# their cfrags (inert unless written to the node's offchain storage; never in production
# builds). One feature set for both, so `dev.sh` and `test.sh` share one build.
export KMS_DEV_FEATURES="kms-node/fast-runtime,kms-node/test-tamper"
