#!/usr/bin/env bash
# The fast-path benchmark (tests/benches/fast_path.rs): three validators of the local chain on
# loopback, each hosting its KMS node, a 2-of-3 policy; latency of fast-path and on-chain
# decrypts (p50/p95/p99), and one node's throughput at 1 and 8 capsules per request with its
# CPU. Builds the node as scripts/dev.sh does, prints the tables, and writes the measurements
# as JSON and the latency plot as PNG (matplotlib, in a Python environment of its own under
# $KMS_CACHE/tools).
#
#   scripts/bench-fast-path.sh                              # 1,000 fast, 20 on chain, 10 s throughput
#   scripts/bench-fast-path.sh --requests 200 --on-chain 5  # any of the benchmark's options (--help)
#   KMS_FAST_PATH_OUT=/tmp/fast scripts/bench-fast-path.sh  # where the JSON and the PNG go (default docs/fast-path)
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/lib.sh

out="${KMS_FAST_PATH_OUT:-docs/fast-path}"
mkdir -p "$(dirname "$out")"
# Absolute: `cargo bench` runs the benchmark in its package's directory.
out="$(cd "$(dirname "$out")" && pwd)/$(basename "$out")"

step "setup"
bash scripts/setup.sh
python="$(plot_python)"

step "build kms-node (release, fast-runtime, test-tamper)"
timed build_dev

step "run the fast-path benchmark"
timed cargo bench --locked --workspace --features "$KMS_DEV_FEATURES" --bench fast_path -- \
	--json "$out.json" "$@"

step "plot"
"$python" scripts/plot-fast-path.py "$out.json" "$out.png"
