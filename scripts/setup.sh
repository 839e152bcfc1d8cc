#!/usr/bin/env bash
# Idempotent machine setup for building KMS Chain: system packages and a Rust toolchain that can
# compile the WebAssembly runtime. Quick when everything is already in place.
#
# Two routes to a `wasm32v1-none` standard library:
#   1. rustup (a normal online workstation): `rustup target add wasm32v1-none`.
#   2. Debian (offline machines whose rustup cannot download targets): Debian's `rustc-web`
#      toolchain, linked into rustup as `debian-web`, with `core`/`alloc`/`compiler_builtins` for
#      `wasm32v1-none` built once from Debian's `rust-web-src`. `WASM_BUILD_TOOLCHAIN=debian-web`
#      is then written to the user-level cargo config (`[env]`), so it reaches every build script
#      that builds a runtime (ours, and polkadot-sdk's test runtimes), with nothing for the user
#      to remember.
set -euo pipefail

log() { printf '\033[1;34m[setup]\033[0m %s\n' "$*" >&2; }
die() { printf '\033[1;31m[setup] error:\033[0m %s\n' "$*" >&2; exit 1; }

SUDO=""
if [ "$(id -u)" -ne 0 ]; then
	command -v sudo >/dev/null 2>&1 && SUDO="sudo" || true
fi

WASM_TARGET=wasm32v1-none
DEBIAN_TOOLCHAIN=debian-web
CARGO_CONFIG="${CARGO_HOME:-$HOME/.cargo}/config.toml"

apt_updated=0
apt_install() {
	local missing=()
	for pkg in "$@"; do
		dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" ||
			missing+=("$pkg")
	done
	[ "${#missing[@]}" -eq 0 ] && return 0
	command -v apt-get >/dev/null 2>&1 ||
		die "missing packages ${missing[*]} and no apt-get: install their equivalents by hand"
	if [ "$apt_updated" -eq 0 ]; then
		log "apt-get update"
		$SUDO apt-get update -qq
		apt_updated=1
	fi
	log "installing ${missing[*]}"
	DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${missing[@]}" >/dev/null
}

# Native build dependencies: clang for the rocksdb bindings, protoc for libp2p; `time`
# (/usr/bin/time) for scripts/kms-memory.sh.
if command -v dpkg-query >/dev/null 2>&1; then
	apt_install clang libclang-dev protobuf-compiler pkg-config libssl-dev make time curl
fi
command -v protoc >/dev/null 2>&1 || die "protoc not found: install protobuf-compiler"
command -v cargo >/dev/null 2>&1 || die "cargo not found: install Rust with rustup first"

DEFAULT_TOOLCHAIN=$(rustup show active-toolchain 2>/dev/null | cut -d' ' -f1)
DEFAULT_TOOLCHAIN=${DEFAULT_TOOLCHAIN:-stable}

sysroot_has_target() { # toolchain
	local sysroot
	sysroot=$(rustc "+$1" --print sysroot 2>/dev/null) || return 1
	[ -d "$sysroot/lib/rustlib/$WASM_TARGET/lib" ]
}

# Route 1: rustup can provide the target for the default toolchain. `KMS_WASM_ROUTE=debian` forces
# route 2 (to test it on a machine where route 1 works).
if [ "${KMS_WASM_ROUTE:-auto}" != debian ] && { sysroot_has_target "$DEFAULT_TOOLCHAIN" 2>/dev/null || {
	timeout 120 rustup target add "$WASM_TARGET" >/dev/null 2>&1 && sysroot_has_target "$DEFAULT_TOOLCHAIN"
}; }; then
	log "rustup toolchain has $WASM_TARGET: nothing more to do"
	# A machine that once took the Debian route and later gained the target keeps working either
	# way; leave its cargo config alone.
	exit 0
fi

# Route 2: Debian's rustc-web.
log "rustup cannot provide $WASM_TARGET here: using Debian's rustc-web toolchain"
apt_install rustc-web cargo-web rust-web-src lld
[ -d /usr/lib/rustlib/src/rust/library ] || die "rust-web-src did not install library sources"

if ! rustup toolchain list | grep -q "^$DEBIAN_TOOLCHAIN"; then
	log "linking /usr into rustup as toolchain '$DEBIAN_TOOLCHAIN'"
	rustup toolchain link "$DEBIAN_TOOLCHAIN" /usr
fi

sysroot=$(rustc "+$DEBIAN_TOOLCHAIN" --print sysroot)
target_libdir="$sysroot/lib/rustlib/$WASM_TARGET/lib"
if ! ls "$target_libdir"/libcore-*.rlib >/dev/null 2>&1; then
	log "building core, alloc and compiler_builtins for $WASM_TARGET from Debian's sources (once)"
	work=$(mktemp -d)
	trap 'rm -rf "$work"' EXIT
	mkdir -p "$work/src"
	cat >"$work/Cargo.toml" <<'TOML'
[package]
name = "sysroot-seed"
version = "0.0.0"
edition = "2021"

[lib]
path = "src/lib.rs"

[profile.release]
panic = "abort"
TOML
	printf '#![no_std]\nextern crate alloc;\npub fn seed() -> alloc::vec::Vec<u8> { alloc::vec::Vec::new() }\n' \
		>"$work/src/lib.rs"
	# Embedded bitcode: the runtime is linked with LTO, which reads it from these rlibs.
	(cd "$work" && RUSTC_BOOTSTRAP=1 RUSTFLAGS="-C embed-bitcode=yes" CARGO_TARGET_DIR="$work/target" \
		cargo "+$DEBIAN_TOOLCHAIN" build -q --release -Zbuild-std=core,alloc --target "$WASM_TARGET")
	deps="$work/target/$WASM_TARGET/release/deps"
	$SUDO mkdir -p "$target_libdir"
	for lib in core alloc compiler_builtins; do
		rlib=$(ls "$deps"/lib"$lib"-*.rlib 2>/dev/null | head -n1)
		[ -n "$rlib" ] || die "build-std did not produce lib$lib"
		$SUDO cp "$rlib" "$target_libdir/"
	done
fi

# Make the choice reach every build script that builds a runtime.
mkdir -p "$(dirname "$CARGO_CONFIG")"
touch "$CARGO_CONFIG"
if ! grep -q '^WASM_BUILD_TOOLCHAIN' "$CARGO_CONFIG"; then
	log "writing WASM_BUILD_TOOLCHAIN=$DEBIAN_TOOLCHAIN into $CARGO_CONFIG [env]"
	python3 - "$CARGO_CONFIG" "$DEBIAN_TOOLCHAIN" <<'PY'
import re, sys
path, toolchain = sys.argv[1], sys.argv[2]
text = open(path).read()
line = f'WASM_BUILD_TOOLCHAIN = "{toolchain}"\n'
if re.search(r'^\[env\]\s*$', text, re.M):
    text = re.sub(r'^\[env\]\s*$\n?', '[env]\n' + line, text, count=1, flags=re.M)
else:
    text = text + ('' if text.endswith('\n') or not text else '\n') + '[env]\n' + line
open(path, 'w').write(text)
PY
fi
log "wasm toolchain ready: $DEBIAN_TOOLCHAIN ($(rustc "+$DEBIAN_TOOLCHAIN" --version))"
