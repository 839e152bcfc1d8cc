#!/usr/bin/env bash
# Runs the FRAME benchmarks of our pallets against the production runtime and writes their
# `weights.rs`. Builds `kms-node` with `benchmark-cli` first (the binary then replaces the
# development one in the shared target directory until the next `scripts/dev.sh`, which only
# relinks it).
#
#   scripts/benchmark.sh                 # every pallet of ours, 50 steps, 20 repeats
#   scripts/benchmark.sh staking         # one pallet
#   STEPS=2 REPEAT=1 scripts/benchmark.sh   # a quick run to check the benchmarks work
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/lib.sh

STEPS="${STEPS:-50}"
REPEAT="${REPEAT:-20}"
if [ "$#" -gt 0 ]; then
	pallets=("$@")
else
	pallets=(staking policies adjudicator rewards)
fi
for pallet in "${pallets[@]}"; do
	if [ ! -f "pallets/$pallet/src/benchmarking.rs" ]; then
		echo "no pallet '$pallet' with benchmarks (pallets/*/src/benchmarking.rs)" >&2
		exit 2
	fi
done

step "setup"
bash scripts/setup.sh
step "build kms-node with benchmark-cli (production runtime)"
# frame-benchmarking-cli's own test runtime serves only `benchmark storage`, which this script
# does not run; its wasm builder cannot find it from a target directory outside the workspace.
export SKIP_FRAME_STORAGE_ACCESS_TEST_RUNTIME_WASM_BUILD=1
timed cargo build --locked --release -p kms-node --features benchmark-cli
node="$CARGO_TARGET_DIR/release/kms-node"
# The blob of this feature set (runtime/build.rs names one per feature set).
runtime="$CARGO_TARGET_DIR/release/wbuild/kms-runtime"
runtime+="/kms_runtime_runtime_benchmarks.compact.compressed.wasm"

for pallet in "${pallets[@]}"; do
	step "benchmark pallet_kms_$pallet (steps $STEPS, repeat $REPEAT)"
	timed "$node" benchmark pallet \
		--runtime "$runtime" \
		--genesis-builder runtime \
		--genesis-builder-preset development \
		--pallet "pallet_kms_$pallet" \
		--extrinsic '*' \
		--steps "$STEPS" \
		--repeat "$REPEAT" \
		--wasm-execution compiled \
		--heap-pages 4096 \
		--template scripts/frame-weight-template.hbs \
		--output "pallets/$pallet/src/weights.rs"
done
