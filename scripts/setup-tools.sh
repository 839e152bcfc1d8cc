#!/usr/bin/env bash
# Idempotent install of the project's test tools into $KMS_CACHE/tools: cargo-nextest (if the
# machine has none), cargo-fuzz (scripts/fuzz.sh), zepter (feature propagation), taplo (TOML
# formatting), and a Python environment with umbral-pre's Python bindings and `cryptography`
# (the interoperability test, scripts/umbral-fixtures.py). Quick when they are in place.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/lib.sh

ZEPTER_VERSION=1.88.2
TAPLO_VERSION=0.7.0
NEXTEST_VERSION=0.9.143
FUZZ_VERSION=0.13.2
# umbral-pre's Python bindings at the version of the Rust crate the chain uses.
PY_REQUIREMENTS=("umbral-pre==0.11.0" "cryptography==50.0.2")

mkdir -p "$KMS_TOOLS/bin"
# The test runner of scripts/test.sh; machines usually have it already.
if ! cargo nextest --version >/dev/null 2>&1; then
	step "installing cargo-nextest $NEXTEST_VERSION"
	cargo install --quiet --locked --root "$KMS_TOOLS" --version "$NEXTEST_VERSION" cargo-nextest
fi
# The wire decoder's fuzzer (scripts/fuzz.sh).
if ! cargo fuzz --version 2>/dev/null | grep -q "$FUZZ_VERSION"; then
	step "installing cargo-fuzz $FUZZ_VERSION"
	cargo install --quiet --locked --root "$KMS_TOOLS" --version "$FUZZ_VERSION" cargo-fuzz
fi
if ! zepter --version 2>/dev/null | grep -q "$ZEPTER_VERSION"; then
	step "installing zepter $ZEPTER_VERSION"
	cargo install --quiet --locked --root "$KMS_TOOLS" --version "$ZEPTER_VERSION" zepter
fi
taplo_pkg="$KMS_TOOLS/taplo/node_modules/@taplo/cli/package.json"
if ! grep -q "\"version\": \"$TAPLO_VERSION\"" "$taplo_pkg" 2>/dev/null; then
	step "installing taplo $TAPLO_VERSION"
	command -v npm >/dev/null 2>&1 || { echo "npm is needed for taplo" >&2; exit 1; }
	npm install --silent --no-fund --no-audit --prefix "$KMS_TOOLS/taplo" "@taplo/cli@$TAPLO_VERSION"
	ln -sf "$KMS_TOOLS/taplo/node_modules/.bin/taplo" "$KMS_TOOLS/bin/taplo"
fi
venv="$KMS_TOOLS/python"
if ! "$venv/bin/python" - "${PY_REQUIREMENTS[@]}" 2>/dev/null <<'PY'; then
import sys
from importlib.metadata import version
sys.exit(any(version(name) != wanted for name, wanted in (r.split("==") for r in sys.argv[1:])))
PY
	step "installing ${PY_REQUIREMENTS[*]} (Python)"
	command -v python3 >/dev/null 2>&1 || { echo "python3 is needed for the interop test" >&2; exit 1; }
	if ! python3 -c 'import ensurepip, venv' 2>/dev/null; then
		sudo=""
		[ "$(id -u)" -eq 0 ] || sudo=sudo
		$sudo apt-get update -qq
		DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq python3-venv >/dev/null
	fi
	rm -rf "$venv"
	python3 -m venv "$venv"
	"$venv/bin/pip" install --quiet --disable-pip-version-check "${PY_REQUIREMENTS[@]}"
fi
