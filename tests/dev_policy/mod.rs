//! A 1-of-1 policy of Alice's served by her development node's fast path: the setup of the
//! tests that need one node and one policy (`tests/fast_path_limits.rs`,
//! `tests/fast_path_upgrade.rs`).

use kms_client::{
	conditions::Condition, dev, fast_path::FastAnswers, umbral, AccountId, Client, Policy, PolicyId,
};
use kms_e2e_tests::Node;
use std::time::{Duration, Instant};
use umbral_pre::{SecretKey, Signer};

/// A policy granted by [`grant`], accepted by Alice's node and final.
pub struct Granted {
	/// Its keys: readers encrypt to `delegating` and verify cfrags with all three.
	pub keys: umbral::PolicyKeys,
	/// Alice's KMS node, the policy's one node.
	pub node: AccountId,
}

/// Publishes `node`'s endpoint as Alice's node's, grants policy `id` with `conditions` to it
/// alone (threshold 1), and returns once the node accepted it and the acceptance is final (a
/// node serves a policy version only then).
pub async fn grant(
	node: &Node,
	client: &Client,
	id: PolicyId,
	conditions: Vec<Condition>,
) -> Granted {
	let alice = dev::alice();
	let kms_node: AccountId = alice.public_key().to_account_id();
	client
		.set_endpoint(&alice, Some(&node.ws_url()))
		.await
		.unwrap_or_else(failed(node, "publishing the endpoint"));
	let (low, _) = client.fee_rate_range().await.unwrap_or_else(failed(node, "fee rates"));
	let end = client.best_block().await.unwrap_or_else(failed(node, "best block")) + 1000;
	let eligible_by = Instant::now() + Duration::from_secs(120);
	while let Some(why) = client
		.ineligibility(&kms_node, end, low)
		.await
		.unwrap_or_else(failed(node, "grants"))
	{
		assert!(Instant::now() < eligible_by, "Alice's node cannot serve: {why}");
		tokio::time::sleep(Duration::from_secs(1)).await;
	}
	let (version, key) = client
		.node_key(&kms_node)
		.await
		.unwrap_or_else(failed(node, "the node's key"))
		.expect("Alice's node has a key");
	let node_key = umbral::public_key(&key).expect("a node key is a point");
	let (delegating, signer) = (SecretKey::random(), Signer::new(SecretKey::random()));
	let keys = umbral::PolicyKeys {
		delegating: delegating.public_key(),
		verifying: signer.verifying_key(),
		receiving: SecretKey::random().public_key(),
	};
	let mut sealed = umbral::seal_kfrags(&delegating, &signer, &keys.receiving, 1, &[node_key])
		.expect("a kfrag");
	let policy = Policy {
		id,
		label: b"one node".to_vec(),
		delegating_key: umbral::compressed(&keys.delegating),
		verifying_key: umbral::compressed(&keys.verifying),
		receiving_key: umbral::compressed(&keys.receiving),
		threshold: 1,
		nodes: vec![(kms_node, version, sealed.remove(0))],
		end,
		fee_rate: low,
		conditions,
	};
	let created = client
		.create_policy(&alice, policy, &signer)
		.await
		.unwrap_or_else(failed(node, "creating the policy"));
	client
		.wait_for_acceptance(id, &[kms_node], created.block, created.block + 30)
		.await
		.unwrap_or_else(failed(node, "the node's acceptance"));
	let accepted = client.best_block().await.unwrap_or_else(failed(node, "best block"));
	tokio::time::timeout(Duration::from_secs(60), client.wait_for_block(accepted))
		.await
		.expect("the acceptance is finalized within a minute")
		.unwrap_or_else(failed(node, "finality"));
	Granted { keys, node: kms_node }
}

/// Checks that `answers` has no failure and a cfrag of `capsule` that verifies.
pub fn assert_served(answers: &FastAnswers, capsule: &[u8], keys: &umbral::PolicyKeys) {
	assert!(answers.failures.is_empty(), "served: {:?}", answers.failures);
	let capsule = umbral::capsule(capsule).expect("our capsule");
	let cfrag = answers
		.answers
		.first()
		.and_then(|answer| answer.cfrags.first())
		.expect("a cfrag");
	umbral::verify_cfrag(&capsule, cfrag, keys).expect("the served cfrag verifies");
}

/// What fails the test with `what` and the node's log.
pub fn failed<'a, T>(node: &'a Node, what: &'a str) -> impl Fn(kms_client::Error) -> T + 'a {
	move |error| node.fail(format!("{what}: {error}"))
}

/// Returns once a block after the current best block is the best (within 20 s).
pub async fn best_block_after(node: &Node, client: &Client) {
	let best = || async { client.best_block().await.unwrap_or_else(failed(node, "best block")) };
	let (next, by) = (best().await + 1, Instant::now() + Duration::from_secs(20));
	while best().await < next {
		assert!(Instant::now() < by, "no block within 20 s");
		tokio::time::sleep(Duration::from_millis(20)).await;
	}
}
