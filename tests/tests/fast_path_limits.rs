//! The fast path's bound on requests waiting at once (`--fast-path-max-waiting`), on a
//! development node allowed one: a pay-per-access request waits for a best block that logs it
//! (so that the payment is real), and while it waits, requests arriving meanwhile are refused as
//! busy before the node relays them, so none of them is logged, paid or served; once the first
//! is served, the place is free again.

use kms_client::{
	dev, runtime::runtime_types::kms_primitives::policies::Condition, umbral, AccountId, Client,
	Policy,
};
use kms_e2e_tests::Node;
use std::time::{Duration, Instant};
use umbral_pre::{SecretKey, Signer};
// Dependencies of the harness library and the other tests, not of this one.
use codec as _;
use hex as _;
use jsonrpsee as _;
use serde_json as _;
use sp_crypto_hashing as _;
use sp_maybe_compressed_blob as _;
use subxt as _;
use subxt_signer as _;
use tempfile as _;

const UNIT: u128 = 1_000_000_000_000;
/// What each access costs the reader, paid to Ferdie.
const PRICE: u128 = UNIT;
const ID: [u8; 16] = *b"waiting-places!!";
/// What the node says when every waiting place is taken.
const BUSY: &str = "waiting on as many requests as it can";

#[tokio::test(flavor = "multi_thread")]
async fn requests_beyond_the_waiting_places_are_refused_before_they_are_relayed() {
	let mut node = Node::start(&["--dev", "--tmp", "--fast-path-max-waiting", "1"]);
	node.wait_for_rpc().await;
	let client = Client::connect(&node.ws_url())
		.await
		.unwrap_or_else(|e| node.fail(format!("connecting: {e}")));

	// A 1-of-1 pay-per-access policy of Alice's with her development node.
	let alice = dev::alice();
	let kms_node: AccountId = alice.public_key().to_account_id();
	client
		.set_endpoint(&alice, Some(&node.ws_url()))
		.await
		.unwrap_or_else(failed(&node, "publishing the endpoint"));
	let (low, _) = client.fee_rate_range().await.unwrap_or_else(failed(&node, "fee rates"));
	let end = client.best_block().await.unwrap_or_else(failed(&node, "best block")) + 1000;
	let eligible_by = Instant::now() + Duration::from_secs(120);
	while let Some(why) = client
		.ineligibility(&kms_node, end, low)
		.await
		.unwrap_or_else(failed(&node, "grants"))
	{
		assert!(Instant::now() < eligible_by, "Alice's node cannot serve: {why}");
		tokio::time::sleep(Duration::from_secs(1)).await;
	}
	let (version, key) = client
		.node_key(&kms_node)
		.await
		.unwrap_or_else(failed(&node, "the node's key"))
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
	let payee = dev::ferdie().public_key().to_account_id();
	let policy = Policy {
		id: ID,
		label: b"limits".to_vec(),
		delegating_key: umbral::compressed(&keys.delegating),
		verifying_key: umbral::compressed(&keys.verifying),
		receiving_key: umbral::compressed(&keys.receiving),
		threshold: 1,
		nodes: vec![(kms_node, version, sealed.remove(0))],
		end,
		fee_rate: low,
		conditions: vec![Condition::PayPerAccess { to: payee, amount: PRICE }],
	};
	let created = client
		.create_policy(&alice, policy, &signer)
		.await
		.unwrap_or_else(failed(&node, "creating the policy"));
	client
		.wait_for_acceptance(ID, &[kms_node], created.block, created.block + 30)
		.await
		.unwrap_or_else(failed(&node, "the node's acceptance"));
	// The node serves a policy version once it is final.
	let accepted = client.best_block().await.unwrap_or_else(failed(&node, "best block"));
	tokio::time::timeout(Duration::from_secs(60), client.wait_for_block(accepted))
		.await
		.expect("the acceptance is finalized within a minute")
		.unwrap_or_else(failed(&node, "finality"));

	// Three readers, one request each, handed to the node at once right after a block: the
	// first to take the waiting place holds it for about a block time, until a block logs it.
	let fast = client
		.fast_path(&[kms_node], Duration::from_secs(10))
		.await
		.unwrap_or_else(failed(&node, "connecting to the endpoint"));
	let readers = [dev::bob(), dev::charlie(), dev::dave()];
	let mut requests = Vec::new();
	for reader in &readers {
		let (capsule, _) = umbral::encrypt(&keys.delegating, b"secret").expect("a capsule");
		let request = client
			.sign_direct_request(reader, ID, vec![capsule])
			.await
			.unwrap_or_else(failed(&node, "signing a request"));
		requests.push(request);
	}
	let paid_before = client.free_balance(&payee).await.unwrap_or_else(failed(&node, "balance"));
	best_block_after(&node, &client).await;
	let timeout = Duration::from_secs(30);
	let (first, second, third) = tokio::join!(
		fast.reencrypt(&requests[0], timeout),
		fast.reencrypt(&requests[1], timeout),
		fast.reencrypt(&requests[2], timeout),
	);

	let (mut served, mut busy) = (0u128, Vec::new());
	for ((answers, request), reader) in [first, second, third].iter().zip(&requests).zip(&readers) {
		let failures: Vec<String> = answers.failures.iter().map(|(_, e)| e.to_string()).collect();
		match (&answers.answers[..], &failures[..]) {
			([answer], []) => {
				let capsule = umbral::capsule(&request.capsules[0]).expect("our capsule");
				let [cfrag] = &answer.cfrags[..] else { panic!("one cfrag per capsule") };
				umbral::verify_cfrag(&capsule, cfrag, &keys).expect("the served cfrag verifies");
				served += 1;
			},
			([], [refusal]) if refusal.contains(BUSY) => busy.push((reader, request)),
			_ => panic!("neither served nor refused as busy: {failures:?}"),
		}
	}
	assert!(served > 0, "the request holding the waiting place is served");
	assert!(!busy.is_empty(), "requests arriving while it waits are refused");

	// The refused requests never reached the pool: their readers' nonces are still free a
	// block later, and the payee was paid for the served accesses alone.
	best_block_after(&node, &client).await;
	for (reader, request) in &busy {
		let account = reader.public_key().to_account_id();
		let nonce = client.next_nonce(&account).await.unwrap_or_else(failed(&node, "nonce"));
		assert_eq!(nonce, request.nonce, "a refused request was not relayed");
	}
	let paid = client.free_balance(&payee).await.unwrap_or_else(failed(&node, "balance"));
	assert_eq!(paid - paid_before, PRICE * served, "one payment per access served");

	// The place is free again: a refused reader asks again and is served.
	let (reader, _) = busy[0];
	let (capsule, _) = umbral::encrypt(&keys.delegating, b"again").expect("a capsule");
	let again = client
		.sign_direct_request(reader, ID, vec![capsule.clone()])
		.await
		.unwrap_or_else(failed(&node, "signing a request"));
	let answers = fast.reencrypt(&again, timeout).await;
	assert!(answers.failures.is_empty(), "served once the place is free: {:?}", answers.failures);
	let capsule = umbral::capsule(&capsule).expect("our capsule");
	let cfrag = answers
		.answers
		.first()
		.and_then(|answer| answer.cfrags.first())
		.expect("a cfrag");
	umbral::verify_cfrag(&capsule, cfrag, &keys).expect("the cfrag verifies");
	node.stop(Duration::from_secs(30));
}

/// What fails the test with `what` and the node's log.
fn failed<'a, T>(node: &'a Node, what: &'a str) -> impl Fn(kms_client::Error) -> T + 'a {
	move |error| node.fail(format!("{what}: {error}"))
}

/// Returns once a block after the current best block is the best (within 20 s).
async fn best_block_after(node: &Node, client: &Client) {
	let best = || async { client.best_block().await.unwrap_or_else(failed(node, "best block")) };
	let (next, by) = (best().await + 1, Instant::now() + Duration::from_secs(20));
	while best().await < next {
		assert!(Instant::now() < by, "no block within 20 s");
		tokio::time::sleep(Duration::from_millis(20)).await;
	}
}
