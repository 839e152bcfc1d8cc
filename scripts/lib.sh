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
# (2 s blocks, short periods), the end-to-end tests' switch that makes listed nodes corrupt
# their cfrags (inert unless written to the node's offchain storage; never in production
# builds), and the runtime's `try-runtime` and `runtime-benchmarks` code, so that the tests of
# both run from this build too. One feature set for everything, so that `dev.sh`, `test.sh` and
# the benchmark scripts share one build: every other feature set compiles FRAME, and the
# hundreds of crates whose features it changes, a second time (a quarter of an hour on two
# cores, natively and again for the WebAssembly runtime). `KMS_DEV_FEATURES_BUT_TIMING` is the
# same set with production timing, which `test.sh`'s docs and clippy check.
export KMS_DEV_FEATURES_BUT_TIMING="kms-node/test-tamper,kms-node/try-runtime,kms-node/runtime-benchmarks"
export KMS_DEV_FEATURES="kms-node/fast-runtime,$KMS_DEV_FEATURES_BUT_TIMING"

# Builds everything the development chain and the tests run: the node, the `kms` command line
# and every library, with one feature set. Selecting the whole workspace unifies dependency
# features exactly as `cargo test --workspace` does, so the tests reuse this build instead of
# compiling the node's dependencies a second time (and `dev.sh`, `test.sh` and the benchmarks
# never rebuild each other's binaries).
build_dev() {
	cargo build --locked --release --workspace --lib --bins --examples --features "$KMS_DEV_FEATURES"
}

# Named, timed stages with a summary table at the end (`stage_summary`, from an EXIT trap, so a
# failed stage is reported too).
KMS_STAGES=()
KMS_STAGE=""
KMS_STAGE_START=0
KMS_RUN_START=$SECONDS
# A Python environment with matplotlib under $KMS_TOOLS/plot, for the benchmarks' plots;
# prints its interpreter.
plot_python() {
	local env="$KMS_TOOLS/plot"
	if ! "$env/bin/python" -c 'import matplotlib' 2>/dev/null; then
		step "installing matplotlib (Python, for the plot)"
		rm -rf "$env"
		python3 -m venv "$env" >&2
		"$env/bin/pip" install --quiet --disable-pip-version-check "matplotlib==3.10.3" >&2
	fi
	echo "$env/bin/python"
}

stage() { # name, command…
	KMS_STAGE=$1
	shift
	step "$KMS_STAGE"
	KMS_STAGE_START=$SECONDS
	"$@"
	KMS_STAGES+=("$((SECONDS - KMS_STAGE_START))|ok|$KMS_STAGE")
	KMS_STAGE=""
}
stage_summary() { # [exit status, by default the last command's]
	local status=${1:-$?} row seconds result name
	[ -n "$KMS_STAGE" ] && KMS_STAGES+=("$((SECONDS - KMS_STAGE_START))|FAILED|$KMS_STAGE")
	printf '\n\033[1m%8s  %-6s  %s\033[0m\n' seconds result stage >&2
	for row in "${KMS_STAGES[@]}"; do
		IFS='|' read -r seconds result name <<<"$row"
		printf '%8s  %-6s  %s\n' "$seconds" "$result" "$name" >&2
	done
	printf '%8s  %-6s  %s\n' "$((SECONDS - KMS_RUN_START))" "$([ "$status" = 0 ] && echo ok || echo FAILED)" "total" >&2
	return "$status"
}
