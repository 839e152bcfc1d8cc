#!/usr/bin/env bash
# Peak memory (maximum resident set size, from `/usr/bin/time -v`) and time of `kms encrypt`
# and `kms decrypt` for inputs of growing size. Both stream in chunks, so the peak should stay
# flat whatever the size. Needs no node: decryption takes the owner's path (`--label`), the
# same streaming code a reader's decryption runs once its cfrags are in.
#
#   scripts/kms-memory.sh            # 5, 50 and 500 MiB
#   SIZES="50" scripts/kms-memory.sh
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/lib.sh

bash scripts/setup.sh
if [ ! -x /usr/bin/time ]; then
	echo "/usr/bin/time not found (Debian package \`time\`)" >&2
	exit 1
fi
step "build kms (release), as scripts/dev.sh does"
build_dev
kms="$CARGO_TARGET_DIR/release/kms"

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
export KMS_KEYRING="$work/keyring.json" KMS_PASSPHRASE="memory benchmark"
"$kms" keys new --suri //Alice >/dev/null
# The label's public key: encrypting to it needs no keyring, so no Argon2id (64 MiB) either.
label_key=$("$kms" --json keys show --label memory | sed -E 's/.*"memory":\{"base64":"[^"]*","hex":"(0x[0-9a-f]+)".*/\1/')

measure() { # label, command…
	local label=$1
	shift
	/usr/bin/time -v -o "$work/time" "$@" >/dev/null
	local rss elapsed
	rss=$(awk -F': ' '/Maximum resident set size/ { print $2 }' "$work/time")
	elapsed=$(awk -F': ' '/Elapsed \(wall clock\)/ { print $2 }' "$work/time")
	printf '%-22s %10s KiB %12s\n' "$label" "$rss" "$elapsed"
}

step "peak memory (max RSS) and wall time; opening the keyring costs Argon2id's 64 MiB"
printf '%-22s %14s %12s\n' "operation" "max RSS" "wall"
for mib in ${SIZES:-5 50 500}; do
	head -c $((mib * 1024 * 1024)) /dev/urandom >"$work/plain"
	measure "encrypt ${mib} MiB" "$kms" -q encrypt --label memory "$work/plain" -o "$work/sealed"
	measure "  to a key, no keyring" "$kms" -q encrypt --to-key "$label_key" "$work/plain" -o "$work/sealed"
	measure "decrypt ${mib} MiB" "$kms" -q decrypt --label memory "$work/sealed" -o "$work/opened"
	if ! cmp -s "$work/plain" "$work/opened"; then
		echo "decrypting ${mib} MiB gave other bytes" >&2
		exit 1
	fi
done
