//! Attacks on an honest node, on a running development chain, through the `kms-client`
//! library: an attacker account (Eve) names the dev chain's KMS node (Alice's, running the
//! shipped worker) in policies it cannot serve correctly, and the node must come out with its
//! stake and its service record untouched.
//!
//! - Finding 1: a kfrag made for another delegating key with both "signed" flags off passes
//!   `KeyFrag::verify` against the policy's keys, while every cfrag made with it fails the
//!   adjudicator's `CapsuleFrag::verify`: the node's self-test catches it and it declines.
//! - Finding 2: an envelope the node cannot open (random ciphertext): it declines, so no
//!   request can be made, no deadline missed.

use kms_client::{umbral, AccountId, Client, Keypair, Policy};
use kms_e2e_tests::Node;
use std::time::Duration;
use subxt_signer::SecretUri;
use umbral_pre::{DefaultSerialize, SecretKey, Signer};
// Dependencies of the harness library, not of this test.
use codec as _;
use hex as _;
use jsonrpsee as _;
use serde_json as _;
use sp_crypto_hashing as _;
use sp_maybe_compressed_blob as _;
use subxt as _;
use tempfile as _;

const UNIT: u128 = 1_000_000_000_000;

fn keypair(uri: &str) -> Keypair {
	let uri: SecretUri = uri.parse().expect("a valid secret URI");
	Keypair::from_uri(&uri).expect("a valid sr25519 secret URI")
}

/// Eve's policy `id` naming `node` (whose Umbral key is `node_key`), threshold 1, with the
/// envelope `(capsule, ciphertext)` as its kfrag and the keys of `delegating`, `signer` and
/// `receiving`.
fn policy(
	id: u8,
	node: (AccountId, u32),
	envelope: umbral::SealedKFrag,
	delegating: &SecretKey,
	signer: &Signer,
	receiving: &SecretKey,
	end: u32,
) -> Policy {
	Policy {
		id: [id; 16],
		label: b"bait".to_vec(),
		delegating_key: umbral::compressed(&delegating.public_key()),
		verifying_key: umbral::compressed(&signer.verifying_key()),
		receiving_key: umbral::compressed(&receiving.public_key()),
		threshold: 1,
		nodes: vec![(node.0, node.1, envelope)],
		end,
		fee_rate: UNIT / 1000,
		conditions: Vec::new(),
	}
}

/// `bytes` encrypted to `node_key` as an envelope.
fn seal(node_key: &[u8; 33], bytes: &[u8]) -> umbral::SealedKFrag {
	let key = umbral::public_key(node_key).expect("a node key");
	let (capsule, ciphertext) = umbral_pre::encrypt(&key, bytes).expect("encrypts");
	umbral::SealedKFrag {
		capsule: capsule.to_bytes().expect("serializes").into_vec(),
		ciphertext: ciphertext.into_vec(),
	}
}

#[tokio::test(flavor = "multi_thread")]
async fn an_owner_cannot_get_an_honest_node_slashed_or_missed() {
	let mut alice = Node::start(&["--dev", "--tmp"]);
	alice.wait_for_rpc().await;
	let client = Client::connect(&alice.ws_url()).await.expect("the client connects");
	let node = keypair("//Alice").public_key().to_account_id();
	let (version, node_key) = client.node_key(&node).await.unwrap().expect("Alice's node");
	let (eve, reader) = (keypair("//Eve"), keypair("//Ferdie"));
	let (delegating, signer, receiving) =
		(SecretKey::random(), Signer::new(SecretKey::random()), SecretKey::random());
	// Within Alice's genesis lock, so that her node is eligible.
	let end = client.finalized_block().await.unwrap() + 40;
	// Alice winds her lock down: it shrinks by one for every period her node serves.
	let wind_down = client.set_wind_down(&keypair("//Alice"), true).await.unwrap();
	client.finalize(&wind_down).await.unwrap();
	let stake = client.stake(&node).await.unwrap();
	let lock = client.ledger(&node).await.unwrap().expect("bonded").lock_periods;
	assert!(lock > 0, "a lock to wind down");
	let start_period = client.current_period().await.unwrap();

	// Finding 1: a kfrag of another delegating key, flags off, signed by the policy's signer.
	let kfrag = umbral_pre::generate_kfrags(
		&SecretKey::random(),
		&receiving.public_key(),
		&signer,
		1,
		1,
		false,
		false,
	)[0]
	.clone()
	.unverify();
	let flags_off = seal(&node_key, &kfrag.to_bytes().expect("serializes"));
	// Finding 2: an envelope of the right sizes that does not open.
	let mut unopenable = seal(&node_key, &[0u8; 310]);
	for (i, byte) in unopenable.ciphertext.iter_mut().enumerate() {
		*byte = (i as u8).wrapping_mul(31);
	}
	for (id, envelope, reason) in
		[(1u8, flags_off, "SelfTestFailed"), (2, unopenable, "EnvelopeUnopenable")]
	{
		let created = client
			.create_policy(
				&eve,
				policy(id, (node, version), envelope, &delegating, &signer, &receiving, end),
				&signer,
			)
			.await
			.expect("Eve can create the policy");
		let refused = client
			.wait_for_acceptance([id; 16], &[node], created.block, created.block + 20)
			.await
			.expect_err("the node declines");
		let message = refused.to_string();
		assert!(message.contains(reason), "policy {id}: {message}");
		let (capsule, _) = umbral::encrypt(&delegating.public_key(), b"bait").unwrap();
		let request = client.request_reencryption(&reader, [id; 16], vec![capsule]).await;
		let error = request.err().expect("no request on a declined policy");
		assert!(error.is("Policies", "AwaitingAcceptance"), "policy {id}: {error}");
	}

	// Two periods on: the node served throughout, with nothing missed, and lost nothing.
	let period_length = client.period_length().await.unwrap();
	let later = (start_period + 2) * period_length + period_length / 2;
	tokio::time::timeout(Duration::from_secs(300), client.wait_for_block(later))
		.await
		.expect("within five minutes")
		.expect("blocks go on");
	for period in start_period..=start_period + 2 {
		let (heartbeat, missed) = client.service(&node, period).await.unwrap();
		assert!(heartbeat, "period {period}: heartbeat");
		assert_eq!(missed, 0, "period {period}: no missed deadline");
	}
	assert_eq!(client.stake(&node).await.unwrap(), stake, "no stake lost");
	let ledger = client.ledger(&node).await.unwrap().expect("bonded");
	assert!(ledger.lock_periods < lock, "the lock wound down: {} of {lock}", ledger.lock_periods);
	assert_eq!(ledger.slashed, 0);
	drop(alice);
}
