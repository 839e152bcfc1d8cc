#!/usr/bin/env bash
# Idempotent setup of the TypeScript SDK's tests (sdk/): Node.js 20.19 or later with npm (from
# the distribution's packages when the machine has none), Debian's Chromium for the web demo's
# browser test, and the SDK's npm packages exactly as package-lock.json records them. Quick when
# everything is in place.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/lib.sh

SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO=sudo
apt_updated=0
apt_install() {
	local missing=() pkg
	for pkg in "$@"; do
		dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
	done
	[ "${#missing[@]}" -eq 0 ] && return 0
	command -v apt-get >/dev/null 2>&1 || { echo "install ${missing[*]} by hand (no apt-get)" >&2; exit 1; }
	if [ "$apt_updated" -eq 0 ]; then
		$SUDO apt-get update -qq
		apt_updated=1
	fi
	step "installing ${missing[*]}"
	DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${missing[@]}" >/dev/null
}

if ! command -v node >/dev/null 2>&1 || ! command -v npm >/dev/null 2>&1; then
	apt_install nodejs npm
fi
# Vite 8 (the demo's bundler) and the Web Crypto global the SDK uses need Node.js 20.19.
if ! node -e 'const [a, b] = process.versions.node.split(".").map(Number); process.exit(a > 20 || (a === 20 && b >= 19) ? 0 : 1)'; then
	echo "Node.js $(node --version) is too old: the SDK needs 20.19 or later" >&2
	exit 1
fi
command -v chromium >/dev/null 2>&1 || apt_install chromium

# `npm ci` when package-lock.json changed since the last install (or node_modules is missing).
stamp=sdk/node_modules/.kms-lock-sha256
wanted=$(sha256sum sdk/package-lock.json | cut -d' ' -f1)
if [ "$(cat "$stamp" 2>/dev/null)" != "$wanted" ]; then
	step "installing the SDK's npm packages (npm ci)"
	(cd sdk && npm ci --no-fund --no-audit --loglevel=error)
	echo "$wanted" >"$stamp"
fi
