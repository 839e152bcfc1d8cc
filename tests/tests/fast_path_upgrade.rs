//! The fast path under a runtime the node was not built with. A node decodes a request's
//! capsules natively, with the pallet's own code, only while the chain runs the runtime version
//! it was built with; under another (after a runtime upgrade, which may change what a
//! well-formed capsule is, and before the node is upgraded too) it asks the runtime
//! (`DirectAccessApi::check_direct_request`). Here a development chain runs the node's runtime
//! code announcing the next spec version, and the node must serve, refuse with the chain's
//! reason, never serve a capsule the chain refuses, and say once that it checks through the
//! runtime. (The chain starts with that runtime rather than upgrading to it: the test build's
//! runtime, benchmarks and try-runtime included, is 5 MB compressed, more than the block
//! author puts in a block.)

#[path = "../dev_policy/mod.rs"]
mod dev_policy;

use codec::{Compact, Decode};
use dev_policy::{failed, Granted};
use kms_client::{
	dev,
	fast_path::{FastAnswers, FastPath},
	umbral, Client, PolicyId,
};
use kms_e2e_tests::{hex_bytes, node_command, rpc_params, to_hex, Node};
use std::{
	path::{Path, PathBuf},
	time::Duration,
};
// Dependencies of the harness library and the other tests, not of this one.
use hex as _;
use jsonrpsee as _;
use sp_crypto_hashing as _;
use subxt as _;
use subxt_signer as _;
use umbral_pre as _;

const ID: [u8; 16] = *b"another-runtime!";
/// `:code`, the storage key of the runtime's WebAssembly blob.
const CODE_KEY: &str = "0x3a636f6465";
/// What the node says once it checks requests through the runtime.
const THROUGH_THE_RUNTIME: &str = "checks requests through the runtime";

#[tokio::test(flavor = "multi_thread")]
async fn a_node_serves_and_refuses_alike_under_a_runtime_it_was_not_built_with() {
	let dir = tempfile::tempdir().expect("a temporary directory");
	let (spec, built_with) = next_version_spec(dir.path());
	let spec = spec.to_str().expect("a UTF-8 path");
	let mut node = Node::start(&[
		"--chain",
		spec,
		"--alice",
		"--force-authoring",
		"--tmp",
		"--unsafe-force-node-key-generation",
	]);
	node.wait_for_rpc().await;
	assert_eq!(spec_version(&node).await, u64::from(built_with) + 1, "the chain runs the next");
	let client = Client::connect(&node.ws_url())
		.await
		.unwrap_or_else(|e| node.fail(format!("connecting: {e}")));
	let Granted { keys, node: kms_node } = dev_policy::grant(&node, &client, ID, vec![]).await;
	let fast = client
		.fast_path(&[kms_node], Duration::from_secs(10))
		.await
		.unwrap_or_else(failed(&node, "connecting to the endpoint"));

	serves(&node, &client, &fast, &keys).await;
	// Refused with the chain's reasons, by the runtime: a capsule whose self-signature fails
	// (its last byte flipped), and a request under a policy the chain does not know.
	let (mut capsule, _) = umbral::encrypt(&keys.delegating, b"secret").expect("a capsule");
	*capsule.last_mut().expect("capsule bytes") ^= 1;
	let malformed = refusal(&node, &client, &fast, ID, capsule).await;
	assert!(malformed.contains("Policies::MalformedCapsule"), "the chain's reason: {malformed}");
	let (capsule, _) = umbral::encrypt(&keys.delegating, b"secret").expect("a capsule");
	let unknown = refusal(&node, &client, &fast, *b"no-such-policy!!", capsule).await;
	assert!(unknown.contains("Policies::UnknownPolicy"), "the chain's reason: {unknown}");
	serves(&node, &client, &fast, &keys).await;
	let log = node.log_tail(5000);
	assert_eq!(
		log.matches(THROUGH_THE_RUNTIME).count(),
		1,
		"the node says once that it checks through the runtime"
	);
	node.stop(Duration::from_secs(30));
}

/// The development chain's raw chain spec with its runtime announcing the next spec version,
/// written into `dir`, and the spec version the node was built with.
fn next_version_spec(dir: &Path) -> (PathBuf, u32) {
	let mut spec: serde_json::Value =
		serde_json::from_str(&node_command(&["build-spec", "--chain", "dev", "--raw"]))
			.expect("a JSON chain spec");
	let code = &mut spec["genesis"]["raw"]["top"][CODE_KEY];
	let blob = hex_bytes(code);
	let wasm = sp_maybe_compressed_blob::decompress(&blob, 64 << 20).expect(":code decompresses");
	let (next, built_with) = next_spec_version(&wasm);
	let next = sp_maybe_compressed_blob::compress_weakly(&next, 64 << 20).expect("it compresses");
	*code = serde_json::Value::String(to_hex(&next));
	let path = dir.join("next-version.json");
	std::fs::write(&path, spec.to_string()).expect("the spec is written");
	(path, built_with)
}

/// The spec version of the runtime in force at the node's best block, as the node reads it.
async fn spec_version(node: &Node) -> u64 {
	let version = node.call("state_getRuntimeVersion", rpc_params![]).await;
	version["specVersion"].as_u64().unwrap_or_else(|| node.fail("no spec version"))
}

/// Asks for a fresh capsule of Bob's and checks that the cfrag served verifies.
async fn serves(node: &Node, client: &Client, fast: &FastPath, keys: &umbral::PolicyKeys) {
	let (capsule, _) = umbral::encrypt(&keys.delegating, b"secret").expect("a capsule");
	let answers = ask(node, client, fast, ID, capsule.clone()).await;
	dev_policy::assert_served(&answers, &capsule, keys);
}

/// The node's one refusal of Bob's request of `capsule` under `policy`.
async fn refusal(
	node: &Node,
	client: &Client,
	fast: &FastPath,
	policy: PolicyId,
	capsule: Vec<u8>,
) -> String {
	let answers = ask(node, client, fast, policy, capsule).await;
	assert!(answers.answers.is_empty(), "nothing is served");
	let [(_, refusal)] = &answers.failures[..] else {
		panic!("one refusal: {:?}", answers.failures)
	};
	refusal.to_string()
}

/// Bob's request of `capsule` under `policy`, asked of the node.
async fn ask(
	node: &Node,
	client: &Client,
	fast: &FastPath,
	policy: PolicyId,
	capsule: Vec<u8>,
) -> FastAnswers {
	let request = client
		.sign_direct_request(&dev::bob(), policy, vec![capsule])
		.await
		.unwrap_or_else(failed(node, "signing a request"));
	let answers = fast.reencrypt(&request, Duration::from_secs(30)).await;
	// The next request has the next nonce: wait until this one's is used (if it was relayed).
	dev_policy::best_block_after(node, client).await;
	answers
}

/// `wasm` with the spec version its `runtime_version` custom section announces (where the node
/// reads a runtime's version from) one higher, and the version it announced.
fn next_spec_version(wasm: &[u8]) -> (Vec<u8>, u32) {
	let mut patched = wasm.to_vec();
	let mut at = 8; // the magic number and the format version
	while at < wasm.len() {
		let id = wasm[at];
		let (size, read) = leb128(&wasm[at + 1..]);
		let (content, end) = (at + 1 + read, at + 1 + read + size);
		if id == 0 {
			let (name_len, read) = leb128(&wasm[content..]);
			let name = &wasm[content + read..content + read + name_len];
			if name == b"runtime_version" {
				// `RuntimeVersion`, SCALE: spec_name, impl_name, authoring_version, spec_version…
				let mut payload = &wasm[content + read + name_len..end];
				for _ in 0..2 {
					let len = Compact::<u32>::decode(&mut payload).expect("a name's length").0;
					payload = &payload[len as usize..];
				}
				let at = end - payload.len() + 4;
				let version = u32::from_le_bytes(wasm[at..at + 4].try_into().expect("4 bytes"));
				patched[at..at + 4].copy_from_slice(&(version + 1).to_le_bytes());
				return (patched, version);
			}
		}
		at = end;
	}
	panic!("the runtime has no runtime_version section")
}

/// An unsigned LEB128 number and how many bytes it took.
fn leb128(bytes: &[u8]) -> (usize, usize) {
	let (mut value, mut shift) = (0usize, 0);
	for (index, byte) in bytes.iter().enumerate() {
		value |= usize::from(byte & 0x7f) << shift;
		if byte & 0x80 == 0 {
			return (value, index + 1);
		}
		shift += 7;
	}
	panic!("a LEB128 number runs past the module")
}
