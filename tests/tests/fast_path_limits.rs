//! The fast path's bound on requests waiting at once (`--fast-path-max-waiting`), on a
//! development node allowed one: a pay-per-access request waits for a best block that logs it
//! (so that the payment is real), and while it waits, requests arriving meanwhile are refused as
//! busy before the node relays them, so none of them is logged, paid or served; once the first
//! is served, the place is free again.

#[path = "../dev_policy/mod.rs"]
mod dev_policy;

use dev_policy::{best_block_after, failed, Granted};
use kms_client::{
	dev, runtime::runtime_types::kms_primitives::policies::Condition, umbral, Client,
};
use kms_e2e_tests::Node;
use std::time::Duration;
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
	let payee = dev::ferdie().public_key().to_account_id();
	let conditions = vec![Condition::PayPerAccess { to: payee, amount: PRICE }];
	let Granted { keys, node: kms_node } = dev_policy::grant(&node, &client, ID, conditions).await;

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
	dev_policy::assert_served(&answers, &capsule, &keys);
	node.stop(Duration::from_secs(30));
}
