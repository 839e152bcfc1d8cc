//! The development chain comes up from the real binary: blocks are authored and finalized, the
//! runtime on chain is a WebAssembly blob, the node answers polkadot.js-style RPC and stops
//! cleanly; and the client library's example shares a secret through the chain's KMS node.

use kms_e2e_tests::{
	blake2_128_concat, block_number, hex_bytes, node_binary, rpc_params, storage_prefix, to_hex,
	twox_64_concat, Node, ALICE,
};
use std::{process::Command, time::Duration};
// Dependencies of the harness library and of the other tests, not of this test.
use codec as _;
use hex as _;
use kms_client as _;
use subxt as _;
use subxt_signer as _;
use tempfile as _;
use umbral_pre as _;

/// `:code`, the storage key of the runtime's WebAssembly blob.
const CODE_KEY: &str = "0x3a636f6465";

#[tokio::test(flavor = "multi_thread")]
async fn dev_node_authors_and_finalizes_blocks_with_a_wasm_runtime() {
	let mut node = Node::start(&["--dev", "--tmp"]);
	node.wait_for_rpc().await;

	let best = node
		.wait_until("3 imported blocks", Duration::from_secs(120), |rpc| async move {
			use jsonrpsee::core::client::ClientT;
			let header: serde_json::Value =
				rpc.request("chain_getHeader", rpc_params![]).await.ok()?;
			(block_number(&header) >= 3).then_some(block_number(&header))
		})
		.await;
	let finalized = node
		.wait_until("a finalized block", Duration::from_secs(120), |rpc| async move {
			use jsonrpsee::core::client::ClientT;
			let hash: serde_json::Value =
				rpc.request("chain_getFinalizedHead", rpc_params![]).await.ok()?;
			let header: serde_json::Value =
				rpc.request("chain_getHeader", rpc_params![hash]).await.ok()?;
			(block_number(&header) >= 1).then_some(block_number(&header))
		})
		.await;
	assert!(best >= 3 && finalized >= 1);

	// The runtime on chain is WebAssembly, stored compressed or not.
	let code = hex_bytes(&node.call("state_getStorage", rpc_params![CODE_KEY]).await);
	let wasm = sp_maybe_compressed_blob::decompress(&code, 64 << 20)
		.unwrap_or_else(|e| node.fail(format!(":code does not decompress: {e}")));
	assert_eq!(&wasm[..4], b"\0asm", ":code holds a WebAssembly module");

	// What polkadot.js reads on connecting.
	let version = node.call("state_getRuntimeVersion", rpc_params![]).await;
	assert_eq!(version["specName"], "kms-chain");
	let properties = node.call("system_properties", rpc_params![]).await;
	assert_eq!(properties["tokenSymbol"], "KMS");
	assert_eq!(properties["tokenDecimals"], 12);
	let metadata = hex_bytes(&node.call("state_getMetadata", rpc_params![]).await);
	assert_eq!(&metadata[..4], b"meta", "metadata carries its magic number");
	assert_eq!(node.call("system_chain", rpc_params![]).await, "KMS Chain Development");

	// Alice's node is staked at genesis and its offchain worker heartbeats for period 0:
	// `Staking::Service(0, Alice)` becomes `{ heartbeat: true, missed_deadlines: 0 }`.
	let mut service_key = storage_prefix("Staking", "Service");
	service_key.extend(twox_64_concat(&0u32.to_le_bytes()));
	service_key.extend(blake2_128_concat(&ALICE));
	let service_key = to_hex(&service_key);
	let record = node
		.wait_until("Alice's heartbeat on chain", Duration::from_secs(60), |rpc| {
			let key = service_key.clone();
			async move {
				use jsonrpsee::core::client::ClientT;
				let value: serde_json::Value =
					rpc.request("state_getStorage", rpc_params![key]).await.ok()?;
				(!value.is_null()).then(|| hex_bytes(&value))
			}
		})
		.await;
	assert_eq!(record, vec![1, 0, 0, 0, 0], "served: heartbeat, no missed deadline");

	// The Policies runtime API answers clients: Alice's serving node is the one node to
	// sample for a policy ending at block 30, and an unknown policy is denied as such.
	let mut args = 1u32.to_le_bytes().to_vec();
	args.extend(30u32.to_le_bytes());
	args.extend([0u8; 32]);
	let sampled = node
		.call("state_call", rpc_params!["PoliciesApi_sample_nodes", to_hex(&args)])
		.await;
	assert_eq!(hex_bytes(&sampled), [&[4u8][..], &ALICE[..]].concat(), "Vec<AccountId> of Alice");
	let mut args = [9u8; 16].to_vec();
	args.extend(ALICE);
	let verdict = node
		.call("state_call", rpc_params!["PoliciesApi_check_access", to_hex(&args)])
		.await;
	assert_eq!(hex_bytes(&verdict), vec![1, 0], "Err(AccessDenied::UnknownPolicy)");

	// Alice's node holds its Umbral identity seed where the re-encryption worker reads it
	// (offchain storage; `offchain_localStorageGet` is an unsafe RPC, open on a dev node).
	let seeds = node
		.call("offchain_localStorageGet", rpc_params!["PERSISTENT", to_hex(b"kms::umbral-seeds")])
		.await;
	// The development derivation, `blake2_256("kms-dev-umbral" ++ "//Alice")`.
	let alice_seed = sp_crypto_hashing::blake2_256(b"kms-dev-umbral//Alice");
	assert_eq!(hex_bytes(&seeds), [&[4u8][..], &alice_seed[..]].concat(), "SCALE vec![seed]");

	let status = node.stop(Duration::from_secs(30));
	assert!(status.success(), "kms-node exits cleanly on SIGTERM, got {status}");
}

#[test]
fn local_chain_spec_is_raw_with_four_authorities_and_the_runtime() {
	let output = Command::new(node_binary())
		.args(["build-spec", "--chain", "local", "--raw", "--disable-default-bootnode"])
		.output()
		.expect("kms-node runs");
	assert!(
		output.status.success(),
		"build-spec failed: {}",
		String::from_utf8_lossy(&output.stderr)
	);
	let spec: serde_json::Value =
		serde_json::from_slice(&output.stdout).expect("build-spec prints JSON");
	assert_eq!(spec["id"], "kms_local");
	assert_eq!(spec["chainType"], "Local");
	let top = &spec["genesis"]["raw"]["top"];
	let code = hex_bytes(&top[CODE_KEY]);
	let wasm = sp_maybe_compressed_blob::decompress(&code, 64 << 20).expect("code decompresses");
	assert_eq!(&wasm[..4], b"\0asm");
	// Aura's authorities: `twox128("Aura") ++ twox128("Authorities")`, a SCALE vector of four
	// 32-byte keys (compact length 4 = 0x10).
	let authorities =
		hex_bytes(&top["0x57f8dc2f5ab09467896f47300f0424385e0621c4869aa60c02be9adcc98a0d1d"]);
	assert_eq!(authorities.len(), 1 + 4 * 32);
	assert_eq!(authorities[0], 0x10);
}

/// The development node is built without `frame-benchmarking-cli`: `benchmark` says how to get
/// it, and fails.
#[test]
fn benchmarks_need_a_benchmarking_build() {
	let output = Command::new(node_binary())
		.args(["benchmark", "pallet", "--pallet", "pallet_kms_policies"])
		.output()
		.expect("kms-node runs");
	assert!(!output.status.success());
	let stderr = String::from_utf8_lossy(&output.stderr);
	assert!(stderr.contains("--features benchmark-cli"), "{stderr}");
}

/// The library's example (`client/examples/share.rs`, the README's), built with the node, run
/// as a user runs it against a development node: Bob reads Alice's secret.
#[tokio::test(flavor = "multi_thread")]
async fn the_library_example_shares_a_secret_on_a_dev_node() {
	let mut node = Node::start(&["--dev", "--tmp"]);
	node.wait_for_rpc().await;
	// The genesis publishes the node's default address; this one listens elsewhere.
	let client = kms_client::Client::connect(&node.ws_url()).await.expect("a client");
	client
		.set_endpoint(&kms_client::dev::alice(), Some(&node.ws_url()))
		.await
		.unwrap_or_else(|e| node.fail(format!("publishing the endpoint: {e}")));
	let example = node_binary().parent().expect("<target>/release").join("examples/share");
	let output = Command::new("timeout")
		.arg("180")
		.arg(&example)
		.arg(node.ws_url())
		.output()
		.unwrap_or_else(|e| node.fail(format!("{} does not run: {e}", example.display())));
	let stdout = String::from_utf8_lossy(&output.stdout);
	if !output.status.success() {
		node.fail(format!(
			"the example failed ({}):\n{stdout}{}",
			output.status,
			String::from_utf8_lossy(&output.stderr)
		));
	}
	assert_eq!(stdout.trim(), "served by the fast path\nBob read: a secret shared through KMS");
}
