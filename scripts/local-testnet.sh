#!/usr/bin/env bash
# A local multi-validator network on this machine: N validators (default 4) of the `local`
# chain on loopback, each a separate `kms-node` process with its own base path and generated
# node key, all bootstrapping from each other, each hosting its development KMS node (Alice,
# Bob, Charlie, Dave: staked and registered at genesis, their operator and Umbral keys from
# their well-known seeds). State is kept between runs unless `start --fresh`; `start` on a
# network whose validators partly run starts the others (with the network's size unless -n).
#
#   scripts/local-testnet.sh start [-n N] [--fresh] [--libp2p] [--no-build]
#   scripts/local-testnet.sh status [--json]
#   scripts/local-testnet.sh stop
#
# The nodes listen on 127.0.0.1 only: JSON-RPC (WebSocket and HTTP) on 9945…, libp2p on
# 30334…, Prometheus on 9616… (one port each, in order; move them with KMS_LOCALNET_RPC_PORT,
# KMS_LOCALNET_P2P_PORT and KMS_LOCALNET_PROMETHEUS_PORT). State lives in
# $KMS_CACHE/local-testnet (KMS_LOCALNET_DIR): the raw chain spec, and per validator its base
# path, node key, log (node.log) and pid.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/lib.sh

DIR="${KMS_LOCALNET_DIR:-$KMS_CACHE/local-testnet}"
RPC_PORT="${KMS_LOCALNET_RPC_PORT:-9945}"
P2P_PORT="${KMS_LOCALNET_P2P_PORT:-30334}"
PROMETHEUS_PORT="${KMS_LOCALNET_PROMETHEUS_PORT:-9616}"
NODE="$CARGO_TARGET_DIR/release/kms-node"
NAMES=(alice bob charlie dave)
# How long a start waits for every validator to serve RPC and see all its peers.
START_TIMEOUT=90

usage() {
	sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//' >&2
	exit "${1:-2}"
}
die() {
	printf '\033[1;31merror:\033[0m %s\n' "$*" >&2
	exit 1
}

# The validators of the network as last started (their names, one per line).
validators() {
	[ -f "$DIR/validators" ] && cat "$DIR/validators"
	return 0
}
index_of() { # name
	local i
	for i in "${!NAMES[@]}"; do
		if [ "${NAMES[$i]}" = "$1" ]; then echo "$i"; fi
	done
}
rpc() { # port method [params-json]
	curl -sf --max-time 5 -H 'content-type: application/json' \
		-d "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"$2\",\"params\":${3:-[]}}" "http://127.0.0.1:$1"
}
# "best finalized peers" of the node serving RPC on `port` ("null null null" if it does not answer).
chain_state() { # port
	python3 - "$1" <<'PY'
import json, sys, urllib.request
def call(method, params=()):
    request = urllib.request.Request(f"http://127.0.0.1:{sys.argv[1]}", headers={"content-type": "application/json"},
        data=json.dumps({"jsonrpc": "2.0", "id": 1, "method": method, "params": list(params)}).encode())
    return json.load(urllib.request.urlopen(request, timeout=5))["result"]
try:
    best = int(call("chain_getHeader")["number"], 16)
    finalized = int(call("chain_getHeader", [call("chain_getFinalizedHead")])["number"], 16)
    print(best, finalized, call("system_health")["peers"])
except Exception:
    print("null null null")
PY
}
running() { # name: its recorded pid is a live kms-node (not a pid reused after a reboot)
	local pid exe
	pid=$(cat "$DIR/$1/pid" 2>/dev/null) || return 1
	kill -0 "$pid" 2>/dev/null || return 1
	exe=$(readlink "/proc/$pid/exe" 2>/dev/null) || return 1
	# A node whose binary was rebuilt under it runs a "(deleted)" file of the same path.
	[ "${exe% (deleted)}" = "$(readlink -f "$NODE")" ]
}

# The local chain spec, cut to the first `n` of its four authorities and development KMS nodes;
# then raw, so that every node reads the same genesis.
make_spec() { # n
	local plain="$DIR/spec-plain.json"
	"$NODE" build-spec --chain local --disable-default-bootnode >"$plain" 2>/dev/null
	python3 - "$plain" "$1" <<'PY'
import json, sys
path, n = sys.argv[1], int(sys.argv[2])
spec = json.load(open(path))
patch = spec["genesis"]["runtimeGenesis"]["patch"]
patch["aura"]["authorities"] = patch["aura"]["authorities"][:n]
patch["grandpa"]["authorities"] = patch["grandpa"]["authorities"][:n]
patch["staking"]["stakers"] = patch["staking"]["stakers"][:n]
json.dump(spec, open(path, "w"), indent=1)
PY
	"$NODE" build-spec --chain "$plain" --raw >"$DIR/spec.json" 2>/dev/null
}

start() {
	local n="" fresh=0 backend=() build=1
	while [ $# -gt 0 ]; do
		case "$1" in
		-n)
			[ $# -ge 2 ] || die "-n needs a number of validators (1 to 4)"
			n="$2"
			shift 2
			;;
		--fresh) fresh=1; shift ;;
		--libp2p) backend=(--network-backend libp2p); shift ;;
		--no-build) build=0; shift ;;
		-h | --help) usage 0 ;;
		*) die "unknown option $1 (see --help)" ;;
		esac
	done
	# By default the network as it was made (four validators for a new one).
	[ -n "$n" ] || n=$(validators | wc -l)
	[ "$n" != 0 ] || n=4
	[[ "$n" =~ ^[1-4]$ ]] || die "-n takes 1 to 4 validators (the local chain's development authorities)"
	# A network already made, some of its validators running: `start` starts the others.
	local up=0
	for name in $(validators); do
		running "$name" && up=$((up + 1))
	done
	if [ "$up" -gt 0 ] && { [ "$fresh" = 1 ] || [ "$(validators | wc -l)" != "$n" ]; }; then
		die "the network is running with $(validators | wc -l) validator(s); \`$0 stop\` first"
	fi
	if [ "$build" = 1 ]; then
		step "build kms-node (release, fast-runtime) into $CARGO_TARGET_DIR/release"
		timed build_dev
	fi
	[ -x "$NODE" ] || die "$NODE is not built (run without --no-build)"
	local version
	version=$("$NODE" --version)
	if [ -f "$DIR/spec.json" ] && [ "$fresh" = 0 ] && [ "$(cat "$DIR/node-version" 2>/dev/null)" != "$version" ]; then
		die "the network in $DIR was made by another kms-node ($(cat "$DIR/node-version" 2>/dev/null || echo unknown)); its genesis runtime is not this one's: \`$0 start --fresh\` begins anew"
	fi
	if [ "$fresh" = 1 ] || [ "$(validators | wc -l)" != "$n" ] || [ ! -f "$DIR/spec.json" ]; then
		if [ -d "$DIR" ] && [ -n "$(ls -A "$DIR")" ]; then
			# Only a directory this script made is removed.
			[ -f "$DIR/validators" ] || die "$DIR is not a local network's directory: not removing it"
			step "removing the previous network's state ($DIR)"
			rm -rf "$DIR"
		fi
		mkdir -p "$DIR"
		step "chain spec: the local chain with $n validator(s), raw, in $DIR/spec.json"
		make_spec "$n"
		printf '%s\n' "${NAMES[@]:0:n}" >"$DIR/validators"
		echo "$version" >"$DIR/node-version"
	fi

	# The validators outlive this script in a session of their own; KMS_LOCALNET_ATTACH=1 keeps
	# them in the caller's process group instead (tests: a test runner that kills a test kills
	# its validators too).
	local detach=setsid
	[ "${KMS_LOCALNET_ATTACH:-0}" = 1 ] && detach=""
	# Node keys, once: a validator keeps its peer id between runs.
	local name i peers=()
	for name in $(validators); do
		i=$(index_of "$name")
		mkdir -p "$DIR/$name"
		[ -f "$DIR/$name/node-key" ] ||
			"$NODE" key generate-node-key --file "$DIR/$name/node-key" 2>/dev/null
		peers+=("/ip4/127.0.0.1/tcp/$((P2P_PORT + i))/p2p/$("$NODE" key inspect-node-key --file "$DIR/$name/node-key")")
	done
	for name in $(validators); do
		i=$(index_of "$name")
		if running "$name"; then
			step "$name is running (RPC 127.0.0.1:$((RPC_PORT + i)))"
			continue
		fi
		step "starting $name: RPC 127.0.0.1:$((RPC_PORT + i)), log $DIR/$name/node.log"
		$detach "$NODE" --chain "$DIR/spec.json" "--$name" --base-path "$DIR/$name" \
			--node-key-file "$DIR/$name/node-key" --listen-addr "/ip4/127.0.0.1/tcp/$((P2P_PORT + i))" \
			--bootnodes "${peers[@]}" --rpc-port "$((RPC_PORT + i))" \
			--prometheus-port "$((PROMETHEUS_PORT + i))" --no-mdns --no-telemetry "${backend[@]}" \
			>>"$DIR/$name/node.log" 2>&1 </dev/null &
		echo $! >"$DIR/$name/pid"
	done

	# Bounded wait: every validator serves RPC and is connected to every other.
	local deadline=$((SECONDS + START_TIMEOUT)) want=$(($(validators | wc -l) - 1)) ready
	while :; do
		ready=0
		for name in $(validators); do
			running "$name" || die "$name exited; see $DIR/$name/node.log"
			i=$(index_of "$name")
			rpc "$((RPC_PORT + i))" system_health 2>/dev/null |
				python3 -c "import json,sys; sys.exit(json.load(sys.stdin)['result']['peers'] < $want)" 2>/dev/null &&
				ready=$((ready + 1))
		done
		[ "$ready" = "$(validators | wc -l)" ] && break
		[ $SECONDS -lt "$deadline" ] || die "not every validator saw its $want peers within ${START_TIMEOUT}s: \`$0 status\`, and the logs in $DIR"
		sleep 1
	done
	status
}

status() {
	local json=0
	[ "${1:-}" = "--json" ] && json=1
	[ -n "$(validators)" ] || die "no local network in $DIR: \`$0 start\` makes one"
	local name i rows=()
	for name in $(validators); do
		i=$(index_of "$name")
		local port=$((RPC_PORT + i)) state=stopped best=null finalized=null peers=null pid=null
		if running "$name"; then
			state=running
			pid=$(cat "$DIR/$name/pid")
			read -r best finalized peers < <(chain_state "$port")
		fi
		rows+=("$name $state $pid ws://127.0.0.1:$port http://127.0.0.1:$((PROMETHEUS_PORT + i))/metrics $best $finalized $peers")
	done
	if [ "$json" = 1 ]; then
		printf '%s\n' "${rows[@]}" | python3 -c '
import json, sys
keys = ["name", "state", "pid", "rpc", "metrics", "best", "finalized", "peers"]
def value(v):
    return None if v == "null" else int(v) if v.isdigit() else v
print(json.dumps({"dir": sys.argv[1], "spec": sys.argv[1] + "/spec.json",
    "validators": [dict(zip(keys, map(value, line.split()))) for line in sys.stdin]}))' "$DIR"
	else
		printf '%-8s %-8s %-24s %-38s %6s %9s %5s\n' validator state rpc metrics best finalized peers
		local row
		for row in "${rows[@]}"; do
			set -- $row
			printf '%-8s %-8s %-24s %-38s %6s %9s %5s\n' "$1" "$2" "$4" "$5" "$6" "$7" "$8"
		done
		echo "chain spec: $DIR/spec.json; logs: $DIR/<validator>/node.log"
	fi
}

stop() {
	local name pid stopped=0
	for name in $(validators); do
		running "$name" || continue
		pid=$(cat "$DIR/$name/pid")
		kill -TERM "$pid" 2>/dev/null && stopped=$((stopped + 1))
	done
	# Bounded: a node that has not stopped within 20 s is killed.
	local deadline=$((SECONDS + 20))
	for name in $(validators); do
		while running "$name"; do
			if [ $SECONDS -ge "$deadline" ]; then
				kill -KILL "$(cat "$DIR/$name/pid")" 2>/dev/null || true
				break
			fi
			sleep 0.2
		done
		rm -f "$DIR/$name/pid"
	done
	echo "stopped $stopped validator(s); state kept in $DIR (\`start --fresh\` discards it)"
}

case "${1:-}" in
start) shift; start "$@" ;;
status) shift; status "$@" ;;
stop) shift; stop ;;
-h | --help | help) usage 0 ;;
*) usage ;;
esac
