#!/usr/bin/env bash
# Fuzzes kms-wire's decoders for SECONDS seconds (default 60): `wire/fuzz`'s target `decode`
# under libFuzzer (cargo-fuzz on the stable toolchain, without a sanitizer: the crate has no
# unsafe code), starting from the real objects in wire/fuzz/seeds. The corpus it grows is kept in
# $KMS_CACHE/fuzz-corpus; an input that fails is written to $KMS_CACHE/fuzz-artifacts and the
# script exits non-zero. scripts/test.sh runs it for a minute; run it longer by hand:
#   scripts/fuzz.sh 3600
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/lib.sh

seconds="${1:-60}"
case "$seconds" in
'' | *[!0-9]*) echo "usage: $0 [SECONDS]" >&2; exit 2 ;;
esac
command -v cargo-fuzz >/dev/null 2>&1 || bash scripts/setup-tools.sh
corpus="$KMS_CACHE/fuzz-corpus/decode"
artifacts="$KMS_CACHE/fuzz-artifacts/decode"
mkdir -p "$corpus" "$artifacts"
cd wire
step "fuzzing kms-wire's decoders for ${seconds}s (corpus $corpus)"
cargo fuzz run --sanitizer none --debug-assertions --target-dir "$KMS_CACHE/fuzz-target" decode \
	"$corpus" fuzz/seeds -- -max_total_time="$seconds" -max_len=512 -timeout=10 \
	-artifact_prefix="$artifacts/" -print_final_stats=1
