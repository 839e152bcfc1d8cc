#!/usr/bin/env bash
# Formatting and feature hygiene: rustfmt (polkadot-sdk style, nightly rustfmt for its unstable
# options), taplo for TOML, zepter for the propagation of `std`, `runtime-benchmarks` and
# `try-runtime`. `--fix` rewrites instead of checking.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/lib.sh

fix=0
[ "${1:-}" = "--fix" ] && fix=1

if cargo +nightly fmt --version >/dev/null 2>&1; then
	if [ $fix = 1 ]; then cargo +nightly fmt --all; else cargo +nightly fmt --all -- --check; fi
else
	echo "warning: no nightly rustfmt on this machine: Rust formatting not checked" >&2
fi
# zepter first: its fixes are then formatted by taplo.
if [ $fix = 1 ]; then zepter run default; else zepter run check; fi
if [ $fix = 1 ]; then taplo fmt; else taplo fmt --check; fi
