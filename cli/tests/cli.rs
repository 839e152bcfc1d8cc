//! The `kms` binary driven as its users drive it, against a running development chain.
//!
//! One `kms-node --dev` process is the chain's authority and hosts three KMS nodes besides the
//! genesis one: Charlie's, Dave's and Eve's, whose Umbral identities come from
//! `kms-node umbral-key generate` and whose operator keys from `kms-node key insert`. Everything
//! else goes through `kms`, each user with their own keyring file and passphrase:
//! - Alice (owner, `//Alice`) funds Bob; Bob's keyring is new and random;
//! - the three operators bond, register and wait for their nodes' heartbeats;
//! - Alice grants Bob 2-of-3 on those nodes with a `requester-is` condition, encrypts a 50 MB
//!   file and a stream from stdin, and a short secret; Bob decrypts all three byte for byte;
//! - a wrong passphrase, a truncated file and a tampered chunk each fail with their exit code
//!   and leave no output; someone else's receiving key and an unmet condition are refused
//!   before any transaction;
//! - the fast path: with no endpoint published, decrypts go on chain; the operators publish
//!   their node's endpoint and Bob's decrypt is served directly by the nodes' `kms_reencrypt`,
//!   byte for byte, and logged on chain (`DirectReencryptionRequested`); the RPC refuses a
//!   failed condition, a policy not yet in force, a malformed capsule and a forged signature
//!   with the chain's reasons, and a second request of a nonce already served (one that would
//!   replace the first in the pools); a pay-per-access policy is paid exactly once; a paid
//!   request the reader can no longer pay when it lands is served nothing, refused with the
//!   chain's reason and logged refused (`DirectReencryptionRefused`);
//! - Charlie's node corrupts its cfrags (the `test-tamper` build): Bob's fast-path decrypt still
//!   succeeds and challenges the signed cfrag, and Charlie is slashed; the same on chain
//!   (`--on-chain`) is judged as the same offence;
//! - Alice rotates a policy onto nodes the chain draws; operators set a minimum rate, wind down
//!   and rotate a node key, as `node status` then shows;
//! - Alice revokes; Bob's next decrypt fails with "revoked at block …" and exit code 3; `kms
//!   remove` is refused for Bob, for the active policy, and (with when to try again) while the
//!   revoked policy's fees and requests remain.

// Integration tests link every dependency of the package; this one uses few of them.
#![allow(unused_crate_dependencies)]

use kms_client::runtime::policies::events::{
	DirectReencryptionRefused, DirectReencryptionRequested,
};
use kms_client::stream;
use kms_e2e_tests::{generate_identity, insert_operator_key, rpc_params, to_hex, Node};
use serde_json::Value;
use std::{
	fs,
	io::Write,
	path::{Path, PathBuf},
	process::{Command, Output, Stdio},
	time::{Duration, Instant},
};
use subxt::ext::codec::Encode;

/// Exit codes of `kms` (see `kms --help`).
const REFUSED: i32 = 3;
const BAD_DATA: i32 = 4;
const KEYRING: i32 = 5;
const UNREACHABLE: i32 = 6;

/// The `kms` binary and where its users keep their keyrings.
struct Kms {
	url: String,
	dir: PathBuf,
}

impl Kms {
	fn command(&self, user: &str, args: &[&str]) -> Command {
		let mut command = Command::new(env!("CARGO_BIN_EXE_kms"));
		command
			.args(args)
			.env("KMS_URL", &self.url)
			.env("KMS_KEYRING", self.dir.join(format!("{user}.keyring")))
			.env("KMS_PASSPHRASE", format!("{user}'s passphrase"))
			.stdin(Stdio::null());
		command
	}

	/// Runs `kms` as `user`.
	fn run(&self, user: &str, args: &[&str]) -> Output {
		self.command(user, args).output().expect("kms runs")
	}

	/// Runs `kms` as `user` and returns its stdout; panics with its stderr if it fails.
	fn ok(&self, user: &str, args: &[&str]) -> String {
		let output = self.run(user, args);
		assert!(
			output.status.success(),
			"kms {} (as {user}) failed with {}: {}",
			args.join(" "),
			output.status,
			String::from_utf8_lossy(&output.stderr)
		);
		String::from_utf8(output.stdout).expect("UTF-8 output")
	}

	/// Runs `kms --json` as `user` and parses its output.
	fn json(&self, user: &str, args: &[&str]) -> Value {
		let mut all = vec!["--json"];
		all.extend_from_slice(args);
		let out = self.ok(user, &all);
		serde_json::from_str(&out).unwrap_or_else(|e| panic!("kms {args:?}: not JSON ({e}): {out}"))
	}

	/// Runs `kms` as `user`, expecting it to fail with `code` and say `says`.
	fn fails(&self, user: &str, args: &[&str], code: i32, says: &str) -> String {
		let output = self.run(user, args);
		let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
		assert_eq!(
			output.status.code(),
			Some(code),
			"kms {} (as {user}): expected exit {code}, stderr: {stderr}",
			args.join(" ")
		);
		assert!(stderr.contains(says), "kms {}: expected {says:?} in: {stderr}", args.join(" "));
		stderr
	}

	/// Runs `kms` as `user` with `input` on stdin; returns stdout.
	fn piped(&self, user: &str, args: &[&str], input: &[u8]) -> Vec<u8> {
		let mut child = self
			.command(user, args)
			.stdin(Stdio::piped())
			.stdout(Stdio::piped())
			.stderr(Stdio::piped())
			.spawn()
			.expect("kms runs");
		let mut stdin = child.stdin.take().expect("piped stdin");
		let input = input.to_vec();
		let writer = std::thread::spawn(move || stdin.write_all(&input));
		let output = child.wait_with_output().expect("kms finishes");
		writer.join().expect("the writer thread").expect("kms reads its stdin");
		assert!(
			output.status.success(),
			"kms {} failed: {}",
			args.join(" "),
			String::from_utf8_lossy(&output.stderr)
		);
		output.stdout
	}
}

/// Deterministic, incompressible test data.
fn data(len: usize, seed: u64) -> Vec<u8> {
	let mut state = seed | 1;
	let mut out = Vec::with_capacity(len + 8);
	while out.len() < len {
		state ^= state << 13;
		state ^= state >> 7;
		state ^= state << 17;
		out.extend_from_slice(&state.to_le_bytes());
	}
	out.truncate(len);
	out
}

fn path(p: &Path) -> &str {
	p.to_str().expect("a UTF-8 path")
}

fn address(uri: &str) -> String {
	let uri: subxt_signer::SecretUri = uri.parse().expect("a secret URI");
	kms_client::Keypair::from_uri(&uri)
		.expect("sr25519")
		.public_key()
		.to_account_id()
		.to_string()
}

#[tokio::test(flavor = "multi_thread")]
async fn owners_readers_and_operators_use_kms_end_to_end() {
	kms_e2e_tests::phase("set up the node's identities");
	// Three KMS node identities hosted by the dev node, set up before it starts.
	let base = tempfile::tempdir().expect("a temporary directory");
	let operators = ["charlie", "dave", "eve"];
	let mut node_keys = Vec::new();
	for name in operators {
		node_keys.push(hex::encode(generate_identity(base.path())));
		insert_operator_key(base.path(), &format!("//{}//kms", capitalized(name)));
	}
	// Eve's next key, for a rotation: the node must hold a key to prove it.
	let eves_next_key = hex::encode(generate_identity(base.path()));
	let mut node =
		Node::start(&["--dev", "--base-path", path(base.path()), "--rpc-methods", "unsafe"]);
	node.wait_for_rpc().await;
	let work = tempfile::tempdir().expect("a temporary directory");
	let kms = Kms { url: node.ws_url(), dir: work.path().to_path_buf() };
	let file = |name: &str| work.path().join(name);

	kms_e2e_tests::phase("keyrings");
	// Keyrings: dev accounts for Alice and the operators, a fresh random one for Bob.
	for (user, uri) in [
		("alice", "//Alice"),
		("charlie", "//Charlie"),
		("dave", "//Dave"),
		("eve", "//Eve"),
		("ferdie", "//Ferdie"),
	] {
		let created = kms.json(user, &["keys", "new", "--suri", uri]);
		assert_eq!(created["account"], address(uri));
	}
	let bob = kms.json("bob", &["keys", "new"]);
	let bob_account = bob["account"].as_str().expect("an address").to_string();
	let bob_key = bob["receiving_key"]["hex"].as_str().expect("a key").to_string();
	kms.fails("bob", &["keys", "new"], KEYRING, "already exists");
	let mode = {
		use std::os::unix::fs::PermissionsExt;
		fs::metadata(file("bob.keyring")).unwrap().permissions().mode() & 0o777
	};
	assert_eq!(mode, 0o600, "keyrings are private");
	let shown = kms.json("bob", &["keys", "show"]);
	assert_eq!(shown["receiving_key"]["hex"], bob_key.as_str(), "show reads back what new made");
	kms_e2e_tests::phase("an unfunded account");
	// A new account cannot pay fees until it is funded, and is told so.
	let alice_account = address("//Alice");
	kms.fails("bob", &["transfer", "--to", &alice_account, "1"], REFUSED, "kms transfer --to");
	kms.ok("alice", &["transfer", "--to", &bob_account, "1000"]);

	kms_e2e_tests::phase("operators bond and register");
	// Operators bond, register their nodes and wait for them to heartbeat.
	let mut nodes = Vec::new();
	for (name, key) in operators.iter().zip(&node_keys) {
		let account = address(&format!("//{}", capitalized(name)));
		let operator = address(&format!("//{}//kms", capitalized(name)));
		kms.ok(name, &["stake", "bond", "20000", "--lock", "20"]);
		kms.ok(
			name,
			&["node", "register", "--key", key, "--operator", &operator, "--min-rate", "0.001"],
		);
		nodes.push(account);
	}
	kms.ok("eve", &["stake", "bond-extra", "500"]);
	kms.ok("eve", &["stake", "prolong", "1"]);
	kms.fails("eve", &["stake", "unbond", "10"], REFUSED, "StillLocked");
	for (name, account) in operators.iter().zip(&nodes) {
		let deadline = Instant::now() + Duration::from_secs(120);
		loop {
			let status = kms.json(name, &["node", "status"]);
			assert_eq!(status["account"], account.as_str());
			if status["service"]["heartbeat"] == true {
				assert_eq!(status["stake"]["lock_periods"], if *name == "eve" { 21 } else { 20 });
				break;
			}
			if Instant::now() > deadline {
				node.fail(format!("no heartbeat from {name}'s node within 120 s"));
			}
			tokio::time::sleep(Duration::from_secs(1)).await;
		}
	}
	let eve = kms.json("eve", &["node", "status"]);
	assert_eq!(eve["stake"]["active"], (20_500u128 * 1_000_000_000_000).to_string());

	kms_e2e_tests::phase("a 2-of-3 grant");
	// Alice grants Bob 2-of-3 on the three nodes, for Bob's account only.
	let condition = format!("requester-is({bob_account})");
	let node_list = nodes.join(",");
	// Alice's grant to Bob, 2-of-3 on the three nodes; `--yes` and the condition come after.
	let grant_args = |label: &str| -> Vec<String> {
		[
			"grant",
			"--label",
			label,
			"--to",
			&bob_key,
			"--threshold",
			"2",
			"--shares",
			"3",
			"--nodes",
			&node_list,
			"--expires",
			"5m",
			"--rate",
			"0.001",
		]
		.into_iter()
		.map(String::from)
		.collect()
	};
	let grant = |label: &str, condition: &str| {
		let mut all = grant_args(label);
		all.extend(["--condition".to_string(), condition.to_string(), "--yes".to_string()]);
		kms.json("alice", &args(&all))
	};
	let granted = grant("docs", &condition);
	let policy = granted["policy"].as_str().expect("a policy id").to_string();
	assert_ne!(granted["escrowed"], "0");
	// `grant` returned once the nodes had checked their kfrags and two of them accepted.
	let accepted = granted["acceptance"]["accepted"].as_array().map_or(0, Vec::len);
	assert!(accepted >= 2, "the threshold of nodes accepted: {}", granted["acceptance"]);
	let shown = kms.json("bob", &["policy", "show", &policy]);
	assert_eq!(shown["threshold"], 2);
	assert_eq!(shown["conditions"], condition.as_str());
	assert_eq!(shown["receiving_key"], format!("0x{}", bob_key.trim_start_matches("0x")).as_str());
	assert_eq!(shown["status"], "active");
	// Without a terminal, a grant needs --yes.
	kms.fails("alice", &args(&grant_args("docs")), 2, "pass --yes");

	kms_e2e_tests::phase("files and streams");
	// A 50 MB file and a stream from stdin, encrypted by Alice, decrypted by Bob.
	let big = data(50 * 1024 * 1024, 1);
	fs::write(file("big.bin"), &big).unwrap();
	kms.ok(
		"alice",
		&["encrypt", "--label", "docs", path(&file("big.bin")), "-o", path(&file("big.kms"))],
	);
	let (big_kms, big_out) = (file("big.kms"), file("big.out"));
	let first = ["--json", "decrypt", "--policy", &policy, path(&big_kms), "-o", path(&big_out)];
	let output = kms.run("bob", &first);
	if !output.status.success() {
		node.fail(format!("Bob's first decrypt: {}", String::from_utf8_lossy(&output.stderr)));
	}
	let decrypted: Value = serde_json::from_slice(&output.stdout).expect("JSON");
	assert_eq!(decrypted["bytes"], big.len());
	assert_eq!(decrypted["answered_by"].as_array().map(Vec::len), Some(2));
	assert!(fs::read(file("big.out")).unwrap() == big, "the 50 MB file comes back byte for byte");
	fs::remove_file(file("big.out")).unwrap();

	let streamed = data(3 * 1024 * 1024 + 12_345, 2);
	let sealed = kms.piped("alice", &["encrypt", "--label", "docs", "-", "-o", "-"], &streamed);
	let opened = kms.piped("bob", &["decrypt", "--policy", &policy, "-", "-o", "-"], &sealed);
	assert!(opened == streamed, "the stream comes back byte for byte");

	assert_eq!(decrypted["path"], "chain", "no endpoint is published yet: {decrypted}");

	kms_e2e_tests::phase("the fast path");
	// The operators publish their endpoint (all three nodes are hosted by the dev node).
	let endpoint = node.ws_url();
	kms.fails("charlie", &["node", "endpoint", "ftp://nowhere"], 2, "not an endpoint");
	for name in operators {
		kms.ok(name, &["node", "endpoint", &endpoint]);
	}
	assert_eq!(kms.json("dave", &["node", "status"])["node"]["endpoint"], endpoint.as_str());
	let quick = data(100_000, 4);
	fs::write(file("quick.bin"), &quick).unwrap();
	kms.ok(
		"alice",
		&["encrypt", "--label", "docs", path(&file("quick.bin")), "-o", path(&file("quick.kms"))],
	);
	let client = kms_client::Client::connect(&endpoint).await.expect("a client");
	let bob_id: kms_client::AccountId = bob_account.parse().expect("an address");
	let since = client.best_block().await.expect("the best block");
	let fast = kms.json(
		"bob",
		&["decrypt", "--policy", &policy, path(&file("quick.kms")), "-o", path(&file("quick.out"))],
	);
	assert_eq!(fast["path"], "fast", "served by the nodes directly: {fast}");
	assert!(fs::read(file("quick.out")).unwrap() == quick, "byte for byte over the fast path");
	assert_eq!(fast["answered_by"].as_array().map(Vec::len), Some(2));
	let logged =
		events_in(&client, since, 10, |e: &DirectReencryptionRequested| e.requester == bob_id)
			.await;
	assert_eq!(logged.len(), 1, "the access is on chain: {logged:?}");
	assert_eq!(logged[0].capsules, 1);
	// The RPC refuses what the chain would, with the chain's reason: Ferdie is not the
	// requester this policy names, and the second policy is not in force yet.
	let later = grant("later", "not-before(#1000000)")["policy"].as_str().unwrap().to_string();
	let ferdie = kms_client::dev::ferdie();
	for (policy_id, reason) in [(&policy, "WrongRequester"), (&later, "TooEarly")] {
		let failures = fast_failures(&client, &ferdie, policy_id, |_| {}, |_| {}).await;
		assert!(failures.contains(&format!("Policies::{reason}")), "{reason}: {failures}");
	}
	// A capsule whose self-signature fails (the node decodes capsules natively, with the
	// chain's code): refused as the chain would, before the policy is looked at.
	let failures = fast_failures(
		&client,
		&ferdie,
		&policy,
		|capsule| *capsule.last_mut().unwrap() ^= 1,
		|_| {},
	)
	.await;
	assert!(failures.contains("Policies::MalformedCapsule"), "a bad capsule: {failures}");
	// A pay-per-access policy: Ferdie, allowed, but with a forged signature: the pool refuses.
	let ferdie_account = address("//Ferdie");
	let paid = grant("paid", &format!("pay-per-access({ferdie_account}, 1)"));
	let paid = paid["policy"].as_str().expect("a policy id").to_string();
	let failures = fast_failures(
		&client,
		&ferdie,
		&paid,
		|_| {},
		|bytes| {
			// The signature: after the length, the version, the address (tag and 32 bytes) and
			// the signature's tag.
			let at =
				<subxt::ext::codec::Compact<u32> as subxt::ext::codec::CompactLen<u32>>::compact_len(
					&(bytes.len() as u32),
				) + 1 + 33 + 1 + 7;
			bytes[at] ^= 1;
		},
	)
	.await;
	assert!(failures.contains("BadProof"), "a forged signature: {failures}");
	// Bob pays for his access exactly once, when the request lands, and only then is served.
	kms.ok(
		"alice",
		&["encrypt", "--label", "paid", path(&file("quick.bin")), "-o", path(&file("paid.kms"))],
	);
	let ferdie_id: kms_client::AccountId = ferdie_account.parse().expect("an address");
	let before = client.free_balance(&ferdie_id).await.expect("a balance");
	let since = client.best_block().await.expect("the best block");
	let bought = kms.json(
		"bob",
		&["decrypt", "--policy", &paid, path(&file("paid.kms")), "-o", path(&file("paid.out"))],
	);
	assert_eq!(bought["path"], "fast", "{bought}");
	assert!(bought["request"]["included_in"].is_string(), "served once paid: {bought}");
	assert!(fs::read(file("paid.out")).unwrap() == quick);
	let logged =
		events_in(&client, since, 6, |e: &DirectReencryptionRequested| e.requester == bob_id).await;
	assert_eq!(logged.len(), 1, "one access logged: {logged:?}");
	assert_eq!(logged[0].paid, kms_client::units::UNIT);
	let after = client.free_balance(&ferdie_id).await.expect("a balance");
	assert_eq!(after - before, kms_client::units::UNIT, "paid exactly once");
	// A paid request that the chain refuses when it lands: the reader can pay when the nodes
	// check, and spends the money in a transfer ordered before the request (its nonce is
	// lower). The nodes wait for the request's block, find it logged as refused, serve
	// nothing and give the chain's reason; the payee is paid nothing.
	let (spender, spender_id) = funded(&client, "//Spender").await;
	let since = client.best_block().await.expect("the best block");
	let spend = kms_client::runtime::tx()
		.balances()
		.transfer_keep_alive(ferdie_id.into(), 2 * kms_client::units::UNIT);
	let best = client.best_block().await.expect("the best block");
	let at = client.api().at_block(best).await.expect("the best block's state");
	let params = subxt::config::DefaultExtrinsicParamsBuilder::new().nonce(0).build();
	let signed = at.transactions().create_signed(&spend, &spender, params).await.expect("signed");
	signed.submit().await.expect("the transfer is in the pool");
	let failures = fast_failures(&client, &spender, &paid, |_| {}, |_| {}).await;
	assert!(
		failures.contains("refused the request in block")
			&& failures.contains("Policies::CannotPayForAccess"),
		"refused once landed, with the chain's reason: {failures}"
	);
	let refused =
		events_in(&client, since, 4, |e: &DirectReencryptionRefused| e.requester == spender_id)
			.await;
	assert_eq!(refused.len(), 1, "the refused access is logged: {refused:?}");
	assert_eq!(
		client.free_balance(&ferdie_id).await.expect("a balance") - after,
		2 * kms_client::units::UNIT,
		"the payee got the transfer and no payment"
	);

	// A reader served once is not served again under the same nonce: a second request of that
	// nonce, with a higher tip, would replace the first in the pools, so that the access it was
	// served never landed in the log. It is refused before it reaches the pool (or, if the
	// first landed meanwhile, it is stale), and the first request lands.
	let (usurper, usurper_id) = funded(&client, "//Usurper").await;
	let theirs = grant("usurper's", &format!("requester-is({usurper_id})"));
	let theirs = kms_client::PolicyId::try_from(
		hex::decode(theirs["policy"].as_str().expect("a policy id").trim_start_matches("0x"))
			.expect("hex")
			.as_slice(),
	)
	.expect("16 bytes");
	let record = client.policy(theirs).await.expect("the policy").expect("on chain");
	let delegating = kms_client::umbral::public_key(&record.delegating_key.0).expect("a key");
	let fresh = || kms_client::umbral::encrypt(&delegating, b"once").expect("a capsule").0;
	let their_nodes: Vec<_> = record.nodes.0.iter().map(|entry| entry.node).collect();
	let since = client.best_block().await.expect("the best block");
	let first = client
		.sign_direct_request(&usurper, theirs, vec![fresh()])
		.await
		.expect("signed");
	let served = client
		.fast_reencrypt(&first, &their_nodes, Duration::from_secs(10))
		.await
		.expect("asked");
	assert!(served.answers.len() >= 2, "the first request is served: {:?}", served.failures);
	let capsule = fresh();
	let replacing = {
		use kms_client::runtime::runtime_types::bounded_collections::bounded_vec::BoundedVec;
		let call = kms_client::runtime::tx()
			.policies()
			.request_direct_reencryption(theirs, BoundedVec(vec![BoundedVec(capsule.clone())]));
		let best = client.best_block().await.expect("the best block");
		let at = client.api().at_block(best).await.expect("the best block's state");
		let params = subxt::config::DefaultExtrinsicParamsBuilder::new()
			.nonce(first.nonce)
			.tip(kms_client::units::UNIT / 10)
			.build();
		at.transactions().create_signed(&call, &usurper, params).await.expect("signed")
	};
	let second = kms_client::fast_path::DirectRequest {
		bytes: replacing.encoded().to_vec(),
		hash: replacing.hash(),
		nonce: first.nonce,
		policy: theirs,
		capsules: vec![capsule],
	};
	let again = client
		.fast_reencrypt(&second, &their_nodes, Duration::from_secs(10))
		.await
		.expect("asked");
	let failures = again.failures.iter().map(|(_, e)| e.to_string()).collect::<Vec<_>>().join("; ");
	assert!(again.answers.is_empty(), "a second request of a served nonce is served: {failures}");
	assert!(
		failures.contains("one request per nonce") || failures.contains("Stale"),
		"refused as a second request of its nonce: {failures}"
	);
	let logged =
		events_in(&client, since, 4, |e: &DirectReencryptionRequested| e.requester == usurper_id)
			.await;
	assert_eq!(logged.len(), 1, "one access logged: {logged:?}");
	let mut landed = false;
	for number in since + 1..=since + 4 {
		let at = client.api().at_block(number).await.expect("the block");
		let body = at.extrinsics().fetch().await.expect("its extrinsics");
		landed |= body.iter().filter_map(Result::ok).any(|xt| xt.hash() == first.hash);
	}
	assert!(landed, "the served request is the one logged, not replaced");

	kms_e2e_tests::phase("a short secret");
	// A short secret.
	let put = kms.json("alice", &["secret", "put", "--label", "docs", "the vault code is 0451"]);
	let secret = put["secret"].as_str().expect("the secret's text");
	assert_eq!(
		kms.ok("bob", &["secret", "get", "--policy", &policy, secret]),
		"the vault code is 0451"
	);
	assert_eq!(
		kms.ok("alice", &["secret", "get", "--label", "docs", secret]),
		"the vault code is 0451"
	);

	kms_e2e_tests::phase("failures");
	// Failures, each clean: an exit code, a message, no output file.
	let small = data(200_000, 3);
	fs::write(file("small.bin"), &small).unwrap();
	kms.ok(
		"alice",
		&["encrypt", "--label", "docs", path(&file("small.bin")), "-o", path(&file("small.kms"))],
	);
	let sealed = fs::read(file("small.kms")).unwrap();
	let decrypt_to = |input: &str| {
		vec!["decrypt", "--policy", policy.as_str(), input, "-o"]
			.into_iter()
			.map(String::from)
			.chain([path(&file("small.out")).to_string()])
			.collect::<Vec<_>>()
	};
	let wrong = kms
		.command("bob", &args(&decrypt_to(path(&file("small.kms")))))
		.env("KMS_PASSPHRASE", "not Bob's passphrase")
		.output()
		.unwrap();
	assert_eq!(wrong.status.code(), Some(KEYRING));
	assert!(String::from_utf8_lossy(&wrong.stderr).contains("wrong passphrase"));

	// Cut at a chunk boundary: the header and two of the four sealed 64 KiB chunks.
	let (header, chunk) =
		(stream::HEADER_LEN, stream::DEFAULT_CHUNK_SIZE as usize + stream::TAG_LEN);
	fs::write(file("cut.kms"), &sealed[..header + 2 * chunk]).unwrap();
	kms.fails("bob", &args(&decrypt_to(path(&file("cut.kms")))), BAD_DATA, "truncated");
	let mut tampered = sealed.clone();
	tampered[header + chunk + 1000] ^= 1;
	fs::write(file("tampered.kms"), &tampered).unwrap();
	kms.fails(
		"bob",
		&args(&decrypt_to(path(&file("tampered.kms")))),
		BAD_DATA,
		"chunk 1 failed authentication",
	);
	assert!(!file("small.out").exists(), "a failed decryption leaves no output");
	kms.fails(
		"bob",
		&args(&decrypt_to(path(&file("small.bin")))),
		BAD_DATA,
		"not a KMS Chain encrypted file",
	);
	kms_e2e_tests::phase("refusals before any request");
	// Ferdie holds another receiving key; an unmet condition is refused before any request.
	kms.fails("ferdie", &args(&decrypt_to(path(&file("small.kms")))), REFUSED, "not to yours");
	kms.fails(
		"bob",
		&["decrypt", "--policy", &later, path(&file("small.kms")), "-o", path(&file("small.out"))],
		REFUSED,
		"does not serve requests yet",
	);

	kms_e2e_tests::phase("a corrupting node is challenged");
	// Charlie's node corrupts its cfrags: Bob still decrypts, and challenges it.
	let charlie_node = &nodes[0];
	let tamper = to_hex(b"kms::test-tamper");
	let charlie_id: kms_client::AccountId = charlie_node.parse().expect("an address");
	node.call(
		"offchain_localStorageSet",
		rpc_params!["PERSISTENT", &tamper, to_hex(&vec![charlie_id].encode())],
	)
	.await;
	let decrypted = kms.json("bob", &args(&decrypt_to(path(&file("small.kms")))));
	assert!(fs::read(file("small.out")).unwrap() == small);
	assert_eq!(decrypted["path"], "fast", "{decrypted}");
	let challenges = decrypted["challenges"].as_array().expect("challenges");
	assert_eq!(challenges.len(), 1, "Charlie's signed cfrag is caught: {decrypted}");
	assert_eq!(challenges[0]["node"], charlie_node.as_str());
	assert_eq!(challenges[0]["penalized"], true, "slashed through challengeSignedCfrag");
	fs::remove_file(file("small.out")).unwrap();
	// The same defect on chain is judged as the same offence: no second penalty.
	let mut on_chain = decrypt_to(path(&file("small.kms")));
	on_chain.push("--on-chain".into());
	let decrypted = kms.json("bob", &args(&on_chain));
	assert_eq!(decrypted["path"], "chain", "{decrypted}");
	assert!(fs::read(file("small.out")).unwrap() == small);
	let challenges = decrypted["challenges"].as_array().expect("challenges");
	assert_eq!(challenges.len(), 1, "Charlie's cfrag on chain is caught: {decrypted}");
	assert_eq!(challenges[0]["penalized"], false, "one defect, one penalty");
	node.call(
		"offchain_localStorageSet",
		rpc_params!["PERSISTENT", &tamper, to_hex(&Vec::<[u8; 32]>::new().encode())],
	)
	.await;
	let charlie = kms.json("charlie", &["node", "status"]);
	assert_ne!(charlie["stake"]["slashed"], "0", "the adjudicator slashed Charlie: {charlie}");

	kms_e2e_tests::phase("rotation and operators' settings");
	// Alice rotates the second policy to 1-of-2 on nodes the chain draws; operators retune.
	let rotated = kms.json(
		"alice",
		&["rotate", &later, "--threshold", "1", "--nodes", "auto", "--shares", "2", "--yes"],
	);
	assert_eq!(rotated["version"], 1);
	let shown = kms.json("bob", &["policy", "show", &later]);
	assert_eq!((shown["version"].clone(), shown["threshold"].clone()), (1.into(), 1.into()));
	assert_eq!(shown["nodes"].as_array().map(Vec::len), Some(2));
	kms.ok("dave", &["node", "set-min-rate", "0.002"]);
	kms.ok("eve", &["stake", "wind-down"]);
	// A key the node does not hold cannot be proven, so cannot be rotated to.
	let stranger = kms.json("eve", &["keys", "show", "--label", "a spare key"]);
	let stranger = stranger["delegating_keys"]["a spare key"]["hex"].as_str().unwrap().to_string();
	kms.fails(
		"eve",
		&["node", "rotate-key", "--key", &stranger],
		UNREACHABLE,
		"no Umbral identity",
	);
	let new_key = format!("0x{eves_next_key}");
	kms.ok("eve", &["node", "rotate-key", "--key", &new_key]);
	let dave = kms.json("dave", &["node", "status"]);
	assert_eq!(dave["node"]["min_fee_rate"], "2000000000");
	let eve = kms.json("eve", &["node", "status"]);
	assert_eq!(
		(eve["node"]["key"].as_str(), eve["node"]["key_version"].as_u64()),
		(Some(new_key.as_str()), Some(1))
	);
	assert_eq!(eve["stake"]["wind_down"], true);

	kms_e2e_tests::phase("removal");
	// Removal: only the owner's, only once closed; then refused, with when to try again, while
	// fees of the current period or the policy's requests remain (the pallet's tests follow it
	// to the end).
	kms.fails("bob", &["remove", &policy], REFUSED, "not to you");
	kms.fails("alice", &["remove", &policy], REFUSED, &format!("policy {policy} is active"));
	let revoked = kms.json("alice", &["revoke", &policy]);
	let stderr = kms.fails("alice", &["remove", &policy], REFUSED, &format!("policy {policy}"));
	assert!(stderr.contains(&format!("run `kms remove {policy}` again")), "{stderr}");
	let block = revoked["block"].as_u64().expect("a block");
	let revoked_args = ["decrypt", "--policy", &policy, path(&big_kms), "-o", path(&big_out)];
	let says = format!("policy {policy} was revoked at block {block}");
	kms.fails("bob", &revoked_args, REFUSED, &says);
	kms_e2e_tests::phase("--json");
	// Scripts get the same with --json, as a document on stdout.
	let output = kms.run("bob", &[&["--json"][..], &revoked_args].concat());
	let error: Value = serde_json::from_slice(&output.stdout).expect("a JSON error");
	assert_eq!(error["error"]["exit_code"], REFUSED);
	assert_eq!(error["error"]["message"], says.as_str());
	assert!(!file("big.out").exists());
	let listed = kms.json("alice", &["policies"]);
	let entry = listed
		.as_array()
		.and_then(|all| all.iter().find(|p| p["id"] == policy.as_str()))
		.expect("the policy is listed");
	assert_eq!(entry["status"], format!("revoked at block {block}").as_str());
	let status = kms.json("alice", &["status"]);
	// "docs", "later", "paid" and "usurper's".
	assert_eq!(status["policies"].as_array().map(Vec::len), Some(4));
	assert!(status["chain"]["best"].as_u64() >= status["chain"]["finalized"].as_u64());
	kms_e2e_tests::phase("rewards");
	// Alice's genesis node has served since block 1: its closed periods pay out.
	let claimed = kms.json("alice", &["stake", "claim"]);
	assert_ne!(claimed["claimed"], "0", "a claim of served periods pays: {claimed}");
	node.stop(Duration::from_secs(30));
}

fn args(v: &[String]) -> Vec<&str> {
	v.iter().map(String::as_str).collect()
}

fn capitalized(name: &str) -> String {
	let mut chars = name.chars();
	chars
		.next()
		.map(|c| c.to_uppercase().chain(chars).collect())
		.unwrap_or_default()
}

/// The events `E` that `wanted` picks in the `count` blocks after `since`, waiting for those
/// blocks to be made (a minute at most).
async fn events_in<E: subxt::events::DecodeAsEvent>(
	client: &kms_client::Client,
	since: u32,
	count: u32,
	wanted: impl Fn(&E) -> bool,
) -> Vec<E> {
	let deadline = Instant::now() + Duration::from_secs(60);
	while client.best_block().await.expect("the best block") < since + count {
		assert!(Instant::now() < deadline, "no block {} within a minute", since + count);
		tokio::time::sleep(Duration::from_millis(500)).await;
	}
	let mut found = Vec::new();
	for number in since + 1..=since + count {
		let at = client.api().at_block(number).await.expect("the block");
		let events = at.events().fetch().await.expect("its events");
		for event in events.find::<E>() {
			let event = event.expect("an event");
			if wanted(&event) {
				found.push(event);
			}
		}
	}
	found
}

/// The account of `uri`, given 3 KMS by Alice.
async fn funded(
	client: &kms_client::Client,
	uri: &str,
) -> (kms_client::Keypair, kms_client::AccountId) {
	let keypair = kms_client::Keypair::from_uri(&uri.parse().expect("a URI")).expect("a key");
	let id = keypair.public_key().to_account_id();
	let gift = 3 * kms_client::units::UNIT;
	let funded = client.transfer(&kms_client::dev::alice(), &id, gift).await;
	funded.unwrap_or_else(|e| panic!("{uri} is not funded: {e}"));
	(keypair, id)
}

/// What the fast path says when `signer` asks under `policy` for a fresh capsule, the capsule
/// changed by `corrupt` and the signed transaction by `forge` first: every failure, as one text.
async fn fast_failures(
	client: &kms_client::Client,
	signer: &kms_client::Keypair,
	policy: &str,
	corrupt: impl FnOnce(&mut Vec<u8>),
	forge: impl FnOnce(&mut Vec<u8>),
) -> String {
	let id = kms_client::PolicyId::try_from(
		hex::decode(policy.trim_start_matches("0x")).expect("hex").as_slice(),
	)
	.expect("16 bytes");
	let record = client.policy(id).await.expect("the policy").expect("on chain");
	let delegating = kms_client::umbral::public_key(&record.delegating_key.0).expect("a key");
	let (mut capsule, _) = kms_client::umbral::encrypt(&delegating, b"probe").expect("a capsule");
	corrupt(&mut capsule);
	let mut request = client
		.sign_direct_request(signer, id, vec![capsule])
		.await
		.expect("a signed request");
	forge(&mut request.bytes);
	let nodes: Vec<_> = record.nodes.0.iter().map(|entry| entry.node).collect();
	let fast = client
		.fast_reencrypt(&request, &nodes, Duration::from_secs(10))
		.await
		.expect("the nodes were asked");
	assert!(fast.answers.is_empty(), "nothing is served");
	fast.failures
		.iter()
		.map(|(url, error)| format!("{url}: {error}"))
		.collect::<Vec<_>>()
		.join("; ")
}
