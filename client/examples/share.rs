//! Alice shares a secret with Bob through a KMS node, with the library alone: her keys for
//! the secret, a 1-of-1 policy on the development chain's KMS node (Alice's own), a kfrag
//! sealed to it, Bob's request over the fast path (on chain if the node does not answer), the
//! node's cfrag verified, the secret opened. Against the
//! development chain of `scripts/dev.sh`:
//!
//! ```sh
//! cargo run --release -p kms-client --example share -- ws://127.0.0.1:9944
//! ```
//!
//! `tests/tests/dev_chain.rs` runs it (the README's library example is this file).

// An example links every dependency of the package; it uses a few.
#![allow(unused_crate_dependencies)]

use kms_client::{dev, umbral, Client, Error, Policy};
use std::time::Duration;
use umbral_pre::{SecretKey, Signer};

#[tokio::main]
async fn main() -> Result<(), Error> {
	let url = std::env::args().nth(1).unwrap_or_else(|| kms_client::DEFAULT_URL.into());
	let client = Client::connect(&url).await?;
	let (alice, bob) = (dev::alice(), dev::bob());

	// Alice's keys for this secret (a delegating key and a signer for its kfrags), and the key
	// Bob receives with (a real reader gives Alice its public half).
	let (delegating, signer, receiving) =
		(SecretKey::random(), Signer::new(SecretKey::random()), SecretKey::random());
	let keys = umbral::PolicyKeys {
		delegating: delegating.public_key(),
		verifying: signer.verifying_key(),
		receiving: receiving.public_key(),
	};

	// The node: the development chain's (Alice's), with its current Umbral key and rate.
	let node = alice.public_key().to_account_id();
	let missing = || Error::Protocol("the chain has no KMS node of Alice's".into());
	let (version, node_key) = client.node_key(&node).await?.ok_or_else(missing)?;
	let node_rate = client.node(&node).await?.ok_or_else(missing)?.min_fee_rate;
	let fee_rate = client.fee_rate_range().await?.0.max(node_rate);
	let end = client.best_block().await? + 600;
	// A node serves once its heartbeat for the period is on chain: on a chain just started,
	// a block or two after the first. Wait for that (a minute at most), saying why.
	for attempt in 0.. {
		match client.ineligibility(&node, end, fee_rate).await? {
			None => break,
			Some(why) if attempt < 30 => {
				eprintln!("waiting for the node: {why}");
				tokio::time::sleep(std::time::Duration::from_secs(2)).await;
			},
			Some(why) => return Err(Error::Protocol(format!("the node cannot serve: {why}"))),
		}
	}

	// Alice: one kfrag, sealed to the node, in a policy for Bob ending 600 blocks from now.
	let sealed = umbral::seal_kfrags(
		&delegating,
		&signer,
		&keys.receiving,
		1,
		&[umbral::public_key(&node_key)?],
	)?;
	let mut id = [0u8; 16];
	getrandom::getrandom(&mut id).map_err(|e| Error::Protocol(format!("no randomness: {e}")))?;
	let policy = Policy {
		id,
		label: b"example".to_vec(),
		delegating_key: umbral::compressed(&keys.delegating),
		verifying_key: umbral::compressed(&keys.verifying),
		receiving_key: umbral::compressed(&keys.receiving),
		threshold: 1,
		nodes: sealed.into_iter().map(|kfrag| (node, version, kfrag)).collect(),
		end,
		fee_rate,
		conditions: Vec::new(),
	};
	let created = client.create_policy(&alice, policy, &signer).await?;
	// The node checks its kfrag and accepts; then the policy takes requests.
	client
		.wait_for_acceptance(id, &[node], created.block, created.block + 20)
		.await?;

	// Alice encrypts; the capsule and ciphertext go to Bob by any channel.
	let (capsule, ciphertext) = umbral::encrypt(&keys.delegating, b"a secret shared through KMS")?;

	// Bob asks the node directly (the fast path: the node relays his signed request to the
	// chain, which logs the access, and answers at once); on chain if it does not answer in
	// time. Either way every cfrag is verified before use.
	let request = client.sign_direct_request(&bob, id, vec![capsule.clone()]).await?;
	// A node answers under a policy version once it is final (a fork could otherwise still give
	// it other keys): for a policy made a moment ago, a block or two of waiting.
	let fast = client.fast_reencrypt(&request, &[node], Duration::from_secs(20)).await?;
	let answers: Vec<Vec<u8>> = match fast.answers.first() {
		Some(answer) => {
			println!("served by the fast path");
			answer.cfrags.clone()
		},
		None => {
			println!("served on chain ({:?})", fast.failures);
			let (request, included) =
				client.request_reencryption(&bob, id, vec![capsule.clone()]).await?;
			let deadline = included.block + client.response_window().await?;
			let (answers, _) = client.wait_for_cfrags(request, 1, deadline).await?;
			answers.into_iter().flat_map(|(_, cfrags)| cfrags.into_iter().take(1)).collect()
		},
	};
	let capsule = umbral::capsule(&capsule)?;
	let cfrags = answers
		.iter()
		.map(|cfrag| umbral::verify_cfrag(&capsule, cfrag, &keys))
		.collect::<Result<Vec<_>, _>>()?;
	let secret = umbral::open(&receiving, &keys.delegating, &capsule, cfrags, &ciphertext)?;
	println!("Bob read: {}", String::from_utf8_lossy(&secret));
	Ok(())
}
