//! The whole protocol on running nodes, driven by the `kms-client` library over real JSON-RPC.
//!
//! Two processes: `alice` is the development chain's authority (`--dev`) and hosts Alice's
//! KMS node (provisioned from `//Alice`); `host` is a non-authority full node hosting two KMS
//! nodes at once, Bob's and Charlie's, whose Umbral identities come from
//! `kms-node umbral-key generate` and whose operator keys from `kms-node key insert`, as a
//! production operator would set them up. Bob and Charlie bond and register through the
//! client. Then:
//! - a 1-of-1 policy (Alice's node) and a 2-of-3 policy (all three) created with kfrags made by
//!   umbral-pre here, capsules re-encrypted by the nodes' offchain workers, every cfrag
//!   verified with `CapsuleFrag::verify`, the plaintext recovered byte for byte by the reader;
//! - the 2-of-3 policy revoked: the next request fails with `Policies::PolicyRevoked`;
//! - `host` stopped while its node owes an answer: the deadline passes, the miss is recorded
//!   against Bob's node, and the restarted host does not answer late;
//! - Alice's node switched to corrupt its cfrags (the `test-tamper` build): the reader's
//!   verification fails, the reader challenges, the adjudicator slashes Alice's node;
//! - Alice's node's Prometheus metrics show what it did and what landed (answers, latency,
//!   heartbeats, the slash, its stake), every metric the Grafana dashboard charts among them;
//! - Alice claims the rewards her node earned by serving since genesis.

use codec::Encode;
use kms_client::{
	runtime::runtime_types::kms_primitives::policies::RequestStatus, umbral, AccountId, Client,
	Keypair, Policy,
};
use kms_e2e_tests::{generate_identity, insert_operator_key, rpc_params, to_hex, Node};
use std::{
	path::Path,
	time::{Duration, Instant},
};
use subxt_signer::SecretUri;
use umbral_pre::{SecretKey, Signer};
// Dependencies of the harness library, not of this test.
use hex as _;
use jsonrpsee as _;
use serde_json as _;
use sp_crypto_hashing as _;
use sp_maybe_compressed_blob as _;
use subxt as _;

const UNIT: u128 = 1_000_000_000_000;

fn keypair(uri: &str) -> Keypair {
	let uri: SecretUri = uri.parse().expect("a valid secret URI");
	Keypair::from_uri(&uri).expect("a valid sr25519 secret URI")
}

fn account(pair: &Keypair) -> AccountId {
	pair.public_key().to_account_id()
}

/// The owner's side of a policy: keys, and a plaintext with its capsule.
struct Grant {
	delegating: SecretKey,
	signer: Signer,
	keys: umbral::PolicyKeys,
}

impl Grant {
	fn new(receiving: &SecretKey) -> Grant {
		let delegating = SecretKey::random();
		let signer = Signer::new(SecretKey::random());
		let keys = umbral::PolicyKeys {
			delegating: delegating.public_key(),
			verifying: signer.verifying_key(),
			receiving: receiving.public_key(),
		};
		Grant { delegating, signer, keys }
	}

	fn policy(
		&self,
		id: u8,
		threshold: u32,
		nodes: &[(AccountId, u32, [u8; 33])],
		end: u32,
	) -> Policy {
		let node_keys: Vec<_> = nodes
			.iter()
			.map(|(_, _, key)| umbral::public_key(key).expect("a node key"))
			.collect();
		let sealed = umbral::seal_kfrags(
			&self.delegating,
			&self.signer,
			&self.keys.receiving,
			threshold as usize,
			&node_keys,
		)
		.expect("kfrags");
		Policy {
			id: [id; 16],
			label: format!("e2e-{id}").into_bytes(),
			delegating_key: umbral::compressed(&self.keys.delegating),
			verifying_key: umbral::compressed(&self.keys.verifying),
			receiving_key: umbral::compressed(&self.keys.receiving),
			threshold,
			nodes: nodes
				.iter()
				.zip(sealed)
				.map(|((node, version, _), kfrag)| (*node, *version, kfrag))
				.collect(),
			end,
			fee_rate: UNIT / 1000,
			conditions: Vec::new(),
		}
	}
}

/// The node at `base` holds Umbral seeds in its offchain database: the database's directory
/// must be as private as the seed file.
fn assert_private_database(base: &Path) {
	use std::os::unix::fs::PermissionsExt;
	// ParityDb by default, RocksDb with `--database rocksdb`.
	let db = ["paritydb/full", "db/full"]
		.map(|path| base.join("chains/kms_dev").join(path))
		.into_iter()
		.find(|path| path.exists())
		.expect("the node's database");
	let mode = std::fs::metadata(&db).expect("the database").permissions().mode();
	assert_eq!(mode & 0o777, 0o700, "{} is open to others", db.display());
}

/// Verifies every answer's cfrag of capsule `index` and decrypts with the first `threshold`.
fn open(
	grant: &Grant,
	receiving: &SecretKey,
	answers: &kms_client::Answers,
	index: usize,
	capsule: &[u8],
	ciphertext: &[u8],
	threshold: usize,
) -> Vec<u8> {
	let capsule = umbral::capsule(capsule).expect("a capsule");
	let verified: Vec<_> = answers
		.iter()
		.map(|(node, cfrags)| {
			umbral::verify_cfrag(&capsule, &cfrags[index], &grant.keys)
				.unwrap_or_else(|e| panic!("the cfrag of {node} does not verify: {e}"))
		})
		.take(threshold)
		.collect();
	umbral::open(receiving, &grant.keys.delegating, &capsule, verified, ciphertext)
		.expect("the reader decrypts")
}

#[tokio::test(flavor = "multi_thread")]
async fn nodes_reencrypt_for_readers_miss_deadlines_and_get_slashed() {
	let mut alice = Node::start_with_metrics(&["--dev", "--tmp", "--rpc-methods", "unsafe"]);
	alice.wait_for_rpc().await;
	let client = Client::connect(&alice.ws_url()).await.expect("the client connects");
	metadata_is_current(&alice).await;

	kms_e2e_tests::phase("a second node process, Bob's and Charlie's nodes bonded and registered");
	// The host's two identities and operator keys, set up before it starts.
	let host_dir = tempfile::tempdir().expect("a temporary directory");
	let host_base = host_dir.path();
	let (bob_key, charlie_key) = (generate_identity(host_base), generate_identity(host_base));
	insert_operator_key(host_base, "//Bob//kms");
	insert_operator_key(host_base, "//Charlie//kms");
	let host_args = [
		"--chain".to_string(),
		"dev".into(),
		"--base-path".into(),
		host_base.to_str().expect("a UTF-8 path").into(),
		"--offchain-worker".into(),
		"always".into(),
		"--bootnodes".into(),
		alice.p2p_address().await,
	];
	let host_args: Vec<&str> = host_args.iter().map(String::as_str).collect();
	let mut host = Node::start(&host_args);
	host.wait_for_rpc().await;
	assert_private_database(host_base);

	for (uri, key) in [("//Bob", bob_key), ("//Charlie", charlie_key)] {
		let (staker, operator) = (keypair(uri), account(&keypair(&format!("{uri}//kms"))));
		client.bond(&staker, 20_000 * UNIT, 10).await.expect("bond");
		let proof = kms_client::prove_node_keys(
			&host.ws_url(),
			&account(&staker),
			Some(&operator),
			Some(key),
		)
		.await
		.expect("the host proves the node's keys");
		assert_eq!((proof.operator, proof.umbral_key), (operator, key));
		client.register_node(&staker, &proof, UNIT / 1000).await.expect("register");
	}
	kms_e2e_tests::phase("the nodes heartbeat");
	// Alice lengthens her lock, as an operator does to take policies ending later.
	client.prolong(&keypair("//Alice"), 10).await.expect("prolong");
	let [alice_node, bob_node, charlie_node] =
		["//Alice", "//Bob", "//Charlie"].map(|uri| account(&keypair(uri)));
	for node in [&bob_node, &charlie_node] {
		let deadline = Instant::now() + Duration::from_secs(120);
		loop {
			let period = client.current_period().await.expect("period");
			if client.service(node, period).await.expect("service").0 {
				break;
			}
			if Instant::now() > deadline {
				host.fail(format!("no heartbeat from {node} within 120 s"));
			}
			tokio::time::sleep(Duration::from_millis(500)).await;
		}
	}
	let node_key = |node: AccountId| {
		let client = client.clone();
		async move {
			let (version, key) = client.node_key(&node).await.expect("query").expect("registered");
			(node, version, key)
		}
	};
	let alice_entry = node_key(alice_node).await;
	let bob_entry = node_key(bob_node).await;
	let charlie_entry = node_key(charlie_node).await;
	assert_eq!((bob_entry.2, charlie_entry.2), (bob_key, charlie_key));

	let (owner, reader) = (keypair("//Dave"), keypair("//Ferdie"));
	let receiving = SecretKey::random();
	let grant = Grant::new(&receiving);
	let end = client.finalized_block().await.expect("finalized block") + 150;

	kms_e2e_tests::phase("1-of-1 on Alice's node");
	// 1-of-1 on Alice's node.
	let solo = grant.policy(1, 1, &[alice_entry], end);
	let created = client.create_policy(&owner, solo, &grant.signer).await.expect("1-of-1 policy");
	accepted(&client, &alice, 1, &[alice_node], created.block).await;
	let plaintext = b"the 1-of-1 secret: nodes never see it".to_vec();
	let (capsule, ciphertext) = umbral::encrypt(&grant.keys.delegating, &plaintext).unwrap();
	let (request, included) = client
		.request_reencryption(&reader, [1; 16], vec![capsule.clone()])
		.await
		.unwrap();
	let started = Instant::now();
	let (answers, answered_at) = client
		.wait_for_cfrags(request, 1, included.block + 20)
		.await
		.unwrap_or_else(|e| {
			alice.fail(format!("1-of-1: {e}"));
		});
	eprintln!(
		"latency 1-of-1: request in block {}, cfrags on chain in block {} ({} blocks, {:.1} s)",
		included.block,
		answered_at,
		answered_at - included.block,
		started.elapsed().as_secs_f64()
	);
	assert_eq!(answers[0].0, alice_node);
	assert_eq!(open(&grant, &receiving, &answers, 0, &capsule, &ciphertext, 1), plaintext);

	kms_e2e_tests::phase("2-of-3 on three nodes");
	// 2-of-3 on Alice's, Bob's and Charlie's nodes, two capsules in one request.
	let trio = [alice_entry, bob_entry, charlie_entry];
	let created = client
		.create_policy(&owner, grant.policy(2, 2, &trio, end), &grant.signer)
		.await
		.expect("2-of-3 policy");
	accepted(&client, &host, 2, &[alice_node, bob_node, charlie_node], created.block).await;
	let messages = [vec![7u8; 4096], b"a second message under the same policy".to_vec()];
	let sealed: Vec<_> = messages
		.iter()
		.map(|m| umbral::encrypt(&grant.keys.delegating, m).unwrap())
		.collect();
	let capsules: Vec<_> = sealed.iter().map(|(capsule, _)| capsule.clone()).collect();
	let (request, included) =
		client.request_reencryption(&reader, [2; 16], capsules).await.unwrap();
	let started = Instant::now();
	let (answers, answered_at) = client
		.wait_for_cfrags(request, 2, included.block + 20)
		.await
		.unwrap_or_else(|e| host.fail(format!("2-of-3: {e}")));
	eprintln!(
		"latency 2-of-3: request in block {}, 2 answers on chain in block {} ({} blocks, {:.1} s)",
		included.block,
		answered_at,
		answered_at - included.block,
		started.elapsed().as_secs_f64()
	);
	for (index, ((capsule, ciphertext), message)) in sealed.iter().zip(&messages).enumerate() {
		assert_eq!(&open(&grant, &receiving, &answers, index, capsule, ciphertext, 2), message);
	}
	kms_e2e_tests::phase("all three answer");
	// All three answer; any two open it.
	let (answers, _) = client
		.wait_for_cfrags(request, 3, included.block + 20)
		.await
		.expect("all three answer");
	let mut nodes: Vec<_> = answers.iter().map(|(node, _)| *node).collect();
	nodes.sort();
	let mut expected = vec![alice_node, bob_node, charlie_node];
	expected.sort();
	assert_eq!(nodes, expected);
	let last_two: kms_client::Answers = answers[1..].to_vec();
	let (capsule, ciphertext) = &sealed[0];
	assert_eq!(&open(&grant, &receiving, &last_two, 0, capsule, ciphertext, 2), &messages[0]);

	kms_e2e_tests::phase("revocation");
	// Revoked: the next request fails with the specific error and creates nothing.
	client.revoke_policy(&owner, [2; 16]).await.expect("revoke");
	let refused = client
		.request_reencryption(&reader, [2; 16], vec![sealed[0].0.clone()])
		.await
		.err()
		.expect("a request under a revoked policy fails");
	assert!(refused.is("Policies", "PolicyRevoked"), "unexpected error: {refused}");
	assert_eq!(client.request_status(request + 1).await.unwrap(), None);

	kms_e2e_tests::phase("a missed deadline");
	// The host stops while Bob's node owes an answer: the miss is recorded against it, and
	// the host, back after the deadline, does not answer late.
	let created = client
		.create_policy(&owner, grant.policy(3, 1, &[bob_entry], end), &grant.signer)
		.await
		.expect("policy on Bob's node");
	accepted(&client, &host, 3, &[bob_node], created.block).await;
	host.stop(Duration::from_secs(30));
	let (capsule, _) = umbral::encrypt(&grant.keys.delegating, b"never answered").unwrap();
	let (request, included) =
		client.request_reencryption(&reader, [3; 16], vec![capsule]).await.unwrap();
	let deadline = included.block + client.response_window().await.unwrap();
	client.wait_for_block(deadline + 2).await.expect("blocks go on");
	assert_eq!(
		client.request_status(request).await.unwrap(),
		Some(RequestStatus::Failed { answers: 0 })
	);
	let period = deadline / client.period_length().await.unwrap();
	let (_, missed) = client.service(&bob_node, period).await.unwrap();
	let (_, missed_next) = client.service(&bob_node, period + 1).await.unwrap();
	assert_eq!(missed + missed_next, 1, "one missed deadline recorded against Bob's node");
	let mut host = Node::start(&host_args);
	host.wait_for_rpc().await;
	assert_private_database(host_base);
	let back = client.finalized_block().await.unwrap();
	client.wait_for_block(back + 6).await.expect("blocks go on");
	assert!(client.cfrags(request).await.unwrap().is_empty(), "no late answer");
	assert_eq!(
		client.request_status(request).await.unwrap(),
		Some(RequestStatus::Failed { answers: 0 })
	);

	kms_e2e_tests::phase("a corrupting node is slashed");
	// Alice's node corrupts its cfrags: the reader catches it and the adjudicator slashes.
	let tamper_key = to_hex(b"kms::test-tamper");
	let listed = to_hex(&vec![alice_node].encode());
	alice
		.call("offchain_localStorageSet", rpc_params!["PERSISTENT", tamper_key, listed])
		.await;
	let (capsule, _) = umbral::encrypt(&grant.keys.delegating, b"tampered").unwrap();
	let (request, _) = client
		.request_reencryption(&reader, [1; 16], vec![capsule.clone()])
		.await
		.unwrap();
	let until = client.best_block().await.unwrap() + 20;
	let (answers, _) = client
		.wait_for_cfrags(request, 1, until)
		.await
		.unwrap_or_else(|e| alice.fail(format!("tampered: {e}")));
	let capsule = umbral::capsule(&capsule).unwrap();
	let wrong = umbral::verify_cfrag(&capsule, &answers[0].1[0], &grant.keys);
	assert!(wrong.is_err(), "the tampered cfrag must not verify");
	let stake = client.stake(&alice_node).await.unwrap();
	let verdict = client
		.challenge_cfrag(&reader, request, &alice_node, 0)
		.await
		.expect("challenge");
	let penalized = verdict
		.events
		.find_first::<kms_client::runtime::adjudicator::events::NodePenalized>()
		.expect("NodePenalized")
		.expect("decodes");
	assert_eq!(penalized.node, alice_node);
	assert_eq!(penalized.penalty, 100 * UNIT, "the base penalty of a first offence");
	client.wait_for_block(verdict.block).await.expect("finality goes on");
	assert_eq!(client.stake(&alice_node).await.unwrap(), stake - 100 * UNIT);

	kms_e2e_tests::phase("metrics");
	metrics_show_what_happened(&client, &alice, &alice_node).await;

	kms_e2e_tests::phase("rewards");
	// Alice's node has served since genesis: the periods closed so far (period 0 closes when
	// period 2 begins) pay her rewards.
	let period_length = client.period_length().await.unwrap();
	client.wait_for_block(2 * period_length + 1).await.expect("blocks go on");
	let (pending, from, to) = client.pending_rewards(&alice_node).await.expect("query");
	assert!(pending > 0 && from < to, "a serving node earns rewards");
	let (reward, _) = client.claim_rewards(&keypair("//Alice"), 84).await.expect("claim");
	assert!(reward >= pending, "the claim pays at least what was pending (more may have closed)");
	eprintln!("rewards: Alice claimed {} KMS", reward / UNIT);
	drop(host);
}

/// Alice's node's metrics after the scenario: the worker's counts, what landed on chain for
/// her node (its answers with their latency, heartbeats, the slash) and its stake as the chain
/// has it; and every metric the operators' Grafana dashboard charts is served.
async fn metrics_show_what_happened(client: &Client, alice: &Node, node: &AccountId) {
	let address = node.to_string();
	let labels = [("node", address.as_str())];
	// The stake gauge follows the best block: the chain's value shows within a few blocks.
	let stake = client.stake(node).await.expect("stake");
	let deadline = Instant::now() + Duration::from_secs(30);
	let metrics = loop {
		let metrics = alice.scrape();
		if metrics.value("substrate_kms_node_active_stake", &labels) == Some(stake as f64) {
			break metrics;
		}
		if Instant::now() > deadline {
			alice.fail(format!("the stake gauge never showed {stake}:\n{}", metrics.0));
		}
		tokio::time::sleep(Duration::from_millis(500)).await;
	};
	let value = |name: &str, labels: &[(&str, &str)]| {
		metrics
			.value(name, labels)
			.unwrap_or_else(|| alice.fail(format!("no {name} {labels:?}")))
	};
	// Alice's node answered the 1-of-1 request, the 2-of-3 request and the tampered one.
	assert!(value("substrate_kms_worker_requests_seen_total", &[]) >= 3.0);
	assert!(value("substrate_kms_worker_answers_sent_total", &[]) >= 3.0);
	assert!(value("substrate_kms_answers_landed_total", &labels) >= 3.0);
	let lookups = value("substrate_kms_worker_kfrag_cache_hits_total", &[])
		+ value("substrate_kms_worker_kfrag_cache_misses_total", &[]);
	assert!(lookups >= 3.0, "every answer looks its kfrag up");
	assert!(value("substrate_kms_worker_decisions_sent_total", &[("decision", "accept")]) >= 2.0);
	assert_eq!(
		value("substrate_kms_worker_requests_skipped_total", &[("reason", "no_kfrag")]),
		0.0
	);
	assert!(value("substrate_kms_answer_latency_blocks_count", &[]) >= 3.0);
	assert!(value("substrate_kms_answer_latency_seconds_count", &[]) >= 3.0);
	assert!(value("substrate_kms_worker_heartbeats_sent_total", &[]) >= 1.0);
	assert!(value("substrate_kms_heartbeats_landed_total", &labels) >= 1.0);
	assert_eq!(value("substrate_kms_slashes_total", &labels), 1.0);
	assert_eq!(value("substrate_kms_local_nodes", &[]), 1.0);
	let ledger = client.ledger(node).await.expect("ledger").expect("bonded");
	assert_eq!(value("substrate_kms_node_lock_periods", &labels), f64::from(ledger.lock_periods));
	assert_eq!(value("substrate_kms_undecodable_blocks_total", &[]), 0.0);
	// Bob's and Charlie's nodes are not this node's.
	let bob = account(&keypair("//Bob")).to_string();
	assert_eq!(metrics.value("substrate_kms_answers_landed_total", &[("node", &bob)]), None);

	let dashboard = kms_e2e_tests::workspace_root().join("docs/grafana-kms-dashboard.json");
	let dashboard = std::fs::read_to_string(&dashboard).expect("the dashboard is readable");
	let mut charted: Vec<&str> = dashboard
		.match_indices("substrate_kms_")
		.map(|(at, _)| {
			let rest = &dashboard[at..];
			let end = rest.find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'));
			&rest[..end.unwrap_or(rest.len())]
		})
		.collect();
	charted.sort();
	charted.dedup();
	assert!(charted.len() >= 15, "the dashboard charts the KMS metrics: {charted:?}");
	for name in charted {
		assert!(metrics.has(name), "the dashboard charts {name}, which the node does not serve");
	}
}

/// Waits until the nodes of policy `[id; 16]` have checked their kfrags and enough of them
/// accepted it; every honestly made kfrag is accepted.
async fn accepted(client: &Client, node: &Node, id: u8, granted: &[AccountId], since: u32) {
	let acceptance = client
		.wait_for_acceptance([id; 16], granted, since, since + 20)
		.await
		.unwrap_or_else(|e| node.fail(format!("policy {id}: {e}")));
	assert!(acceptance.declined.is_empty(), "policy {id}: {:?}", acceptance.declined);
}

/// The checked-in metadata the client is generated from is the node's, or the test fails
/// (`KMS_UPDATE_METADATA=1` rewrites it).
async fn metadata_is_current(node: &Node) {
	let result = node.call("state_call", rpc_params!["Metadata_metadata_at_version", "0x10000000"]);
	let bytes = kms_e2e_tests::hex_bytes(&result.await);
	let served: Option<Vec<u8>> =
		codec::Decode::decode(&mut &bytes[..]).expect("an Option<OpaqueMetadata>");
	let served = served.expect("the runtime serves metadata V16");
	let path = kms_e2e_tests::workspace_root().join("client/artifacts/kms-metadata.scale");
	if std::env::var_os("KMS_UPDATE_METADATA").is_some() {
		std::fs::write(&path, &served).expect("the metadata file is writable");
		return;
	}
	let checked_in = std::fs::read(&path).expect("the checked-in metadata");
	assert!(
		checked_in == served,
		"{} is stale: the runtime's metadata changed. Regenerate it with \
		 `KMS_UPDATE_METADATA=1 cargo test --release -p kms-e2e-tests --test reencryption` and \
		 rebuild the client.",
		path.display()
	);
}
