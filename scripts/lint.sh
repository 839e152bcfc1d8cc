#!/usr/bin/env bash
# Formatting and feature hygiene: rustfmt (polkadot-sdk layout, stable options), taplo for
# TOML, zepter for the propagation of `std`, `runtime-benchmarks` and `try-runtime`.
# `--fix` rewrites instead of checking.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/lib.sh

fix=0
[ "${1:-}" = "--fix" ] && fix=1

if [ $fix = 1 ]; then cargo fmt --all; else cargo fmt --all -- --check; fi
# zepter first: its fixes are then formatted by taplo.
if [ $fix = 1 ]; then zepter run default; else zepter run check; fi
if [ $fix = 1 ]; then taplo fmt; else taplo fmt --check; fi
