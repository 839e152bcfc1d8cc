#!/usr/bin/env bash
# The load benchmark of the re-encryption service (tests/benches/load.rs) on a development
# node: builds the node as scripts/dev.sh does, ramps the requests offered per block, prints
# the table, and writes the measurements as JSON and the latency plot as PNG (matplotlib, in
# a Python environment of its own under $KMS_CACHE/tools).
#
#   scripts/bench-load.sh                           # 1,2,4,8,16,32 requests per block, 8 capsules, 20 blocks each
#   scripts/bench-load.sh --rates 8,32 --blocks 5   # any of the benchmark's options (see --help)
#   KMS_LOAD_OUT=/tmp/load scripts/bench-load.sh    # where the JSON and the PNG go (default docs/load)
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/lib.sh

out="${KMS_LOAD_OUT:-docs/load}"
mkdir -p "$(dirname "$out")"
# Absolute: `cargo bench` runs the benchmark in its package's directory.
out="$(cd "$(dirname "$out")" && pwd)/$(basename "$out")"

step "setup"
bash scripts/setup.sh
python="$(plot_python)"

step "build kms-node (release, fast-runtime, test-tamper)"
timed build_dev

step "run the load benchmark"
timed cargo bench --locked --workspace --features "$KMS_DEV_FEATURES" --bench load -- \
	--json "$out.json" "$@"

step "plot"
"$python" scripts/plot-load.py "$out.json" "$out.png"
