//! An answer every other author refused still lands in time, without its own node authoring.
//!
//! A node answers a request in the offchain run of the request's block. If the answer reaches
//! a peer before that peer has imported the block, the peer refuses it as stale and bans it:
//! it never takes that transaction again, and the answer's node never sends it to that peer
//! again. Here that happens on purpose, every time. Three validators of the `local` chain, each
//! hosting its KMS node, with a 2-of-3 policy over the three:
//!
//! 1. Alice's validator is cut off from the other two for her slot (it authors anyway:
//!    `--force-authoring`). It includes a request that only it has, and her KMS node answers.
//! 2. The test hands her answer to Bob's and Charlie's nodes. They have not seen her block yet,
//!    so they refuse the answer as outdated and ban it. Then she is connected again.
//! 3. Bob authors the next block without her answer. Her node sends it again in that block's
//!    run, signed as sent at that block: it ranks higher, replaces the first attempt in her pool
//!    and goes out as a new transaction. Charlie's block, the one after, has it.
//!
//! Without the resend the answer would wait for Alice's own next block; a node that does not
//! author would miss the deadline and be recorded as not serving.

#[path = "../fast_path/mod.rs"]
// Only the network's setup and the policy are used here.
#[allow(dead_code)]
mod fast_path;

use jsonrpsee::core::client::ClientT;
use kms_client::Client;
use kms_e2e_tests::{phase, rpc_params, Node};
use serde_json::Value;
use std::time::{Duration, Instant};
// Dependencies of the harness and the other tests, not of this one.
use codec as _;
use sp_crypto_hashing as _;
use sp_maybe_compressed_blob as _;
use subxt as _;
use subxt_signer as _;

/// The authors in the order of their slots.
const AUTHORS: [&str; 3] = ["Alice", "Bob", "Charlie"];

#[tokio::test(flavor = "multi_thread")]
async fn an_answer_every_other_author_refused_lands_two_blocks_after_its_request() {
	let dir = tempfile::tempdir().expect("a temporary directory");
	let spec = fast_path::three_validator_spec(dir.path());
	// Peers only as the test connects them: on the libp2p backend, removing a reserved peer
	// closes the connection (the litep2p backend keeps it open).
	let peers = ["--reserved-only", "--network-backend", "libp2p"];
	let common = [&fast_path::chain_args(&spec)[..], &peers[..]].concat();
	let mut nodes = Vec::new();
	for (who, extra) in
		[("--alice", &["--force-authoring"][..]), ("--bob", &[]), ("--charlie", &[])]
	{
		let mut node = Node::start(&[&common[..], &[who], extra].concat());
		node.wait_for_rpc().await;
		nodes.push(node);
	}
	let mut addresses = Vec::new();
	for node in &nodes {
		addresses.push(node.p2p_address().await);
	}
	for (index, _) in nodes.iter().enumerate() {
		connect(&nodes, &addresses, index, true).await;
	}
	let result = scenario(&nodes, &addresses).await;
	let logs: Vec<String> = nodes.iter().map(|node| node.log_tail(30)).collect();
	for node in nodes {
		node.stop(Duration::from_secs(30));
	}
	if let Err(e) = result {
		panic!("{e}\n--- Alice's node's log ---\n{}\n--- Bob's ---\n{}", logs[0], logs[1]);
	}
}

/// Connects node `index` to the other two (both ways), or cuts it off from them.
async fn connect(nodes: &[Node], addresses: &[String], index: usize, on: bool) {
	let peer_id = |address: &str| address.rsplit('/').next().expect("a /p2p/ address").to_string();
	for other in (0..nodes.len()).filter(|other| *other != index) {
		for (from, to) in [(index, other), (other, index)] {
			match on {
				true => {
					nodes[from]
						.call("system_addReservedPeer", rpc_params![addresses[to].clone()])
						.await
				},
				false => {
					nodes[from]
						.call("system_removeReservedPeer", rpc_params![peer_id(&addresses[to])])
						.await
				},
			};
		}
	}
}

/// Attempts at the race: one may miss its timing on a loaded machine (Alice's block reaching
/// Bob after his slot has started, so that he authors beside it), and is then made again.
const ATTEMPTS: usize = 3;

async fn scenario(nodes: &[Node], addresses: &[String]) -> Result<(), String> {
	let client = Client::connect(&nodes[0].ws_url()).await.map_err(|e| e.to_string())?;
	let accounts = fast_path::publish_endpoints(&client, nodes).await?;
	phase("a 2-of-3 policy over the three nodes, accepted by all");
	let grant = fast_path::grant(&client, &accounts, *b"answer-resent-01").await?;
	for attempt in 1..=ATTEMPTS {
		match race(&client, nodes, addresses, &grant).await? {
			Some((made, landed, by)) => {
				// Not in Bob's block: he had refused it, and not later.
				if landed != made + 2 || by != "Charlie" {
					return Err(format!(
						"the answer landed in block {landed}, {by}'s, not {}",
						made + 2
					));
				}
				return Ok(());
			},
			None => eprintln!("attempt {attempt} of {ATTEMPTS} missed its timing"),
		}
	}
	Err(format!("every one of {ATTEMPTS} attempts missed its timing"))
}

/// One race: the request's block, the block the answer landed in and its author; `None` when
/// the blocks did not come as the race needs (Alice's block, then Bob's on it).
async fn race(
	client: &Client,
	nodes: &[Node],
	addresses: &[String],
	grant: &fast_path::Grant,
) -> Result<Option<(u32, u32, &'static str)>, String> {
	let block_time = client.block_time_ms().await.map_err(|e| e.to_string())?;
	phase("Alice cut off for her slot, with a request only she has");
	// Charlie's block is Alice's best: her slot is next. Early in his slot, so that there is
	// time to cut her off and submit before hers starts.
	let deadline = Instant::now() + Duration::from_secs(60);
	loop {
		let best = client.best_block().await.map_err(|e| e.to_string())?;
		let slot_start = slot_start(client, best).await?;
		let since = now_ms()?.saturating_sub(slot_start);
		if author(slot_start / block_time) == "Charlie" && since < block_time / 3 {
			break;
		}
		if Instant::now() > deadline {
			return Err("no block of Charlie's came early enough in 60 s".into());
		}
		tokio::time::sleep(Duration::from_millis(20)).await;
	}
	connect(nodes, addresses, 0, false).await;
	let capsule = fast_path::capsules(grant, 1)?.remove(0);
	let requested = client.request_reencryption(&grant.readers[1], grant.id, vec![capsule]).await;
	let (request, included) = requested.map_err(|e| format!("the request: {e}"))?;
	let made = included.block;
	let slot = slot_start(client, made).await? / block_time;
	if author(slot) != "Alice" {
		return Err(format!("request {request} landed in block {made} of {}'s", author(slot)));
	}

	phase("Bob's and Charlie's nodes refuse her answer before they have her block");
	let block = nodes[0].call("chain_getBlock", rpc_params![included.hash]).await;
	let in_block = block["block"]["extrinsics"].as_array().cloned().unwrap_or_default();
	let sent = format!("answer to request {request} for {}", hex::encode(grant.nodes[0].0));
	let answer = wait_for_answer(&nodes[0], &sent, &in_block, Duration::from_secs(5)).await?;
	for (name, node) in [("Bob", &nodes[1]), ("Charlie", &nodes[2])] {
		let refusals = submit_all(node, &answer).await;
		if !refusals.iter().any(|why| why.contains("outdated")) {
			return Err(format!(
				"{name}'s node did not refuse the answer as outdated: {refusals:?}"
			));
		}
	}
	connect(nodes, addresses, 0, true).await;

	phase("the answer lands in Charlie's block, two after the request");
	let deadline = Instant::now() + Duration::from_secs(30);
	let landed = loop {
		let best = client.best_block().await.map_err(|e| e.to_string())?;
		if best > made {
			// The race needs Bob's block on Alice's.
			let at_made = nodes[0].call("chain_getBlockHash", rpc_params![made]).await;
			let next = slot_start(client, made + 1).await? / block_time;
			if at_made.as_str() != Some(&format!("{:?}", included.hash)) || author(next) != "Bob" {
				return Ok(None);
			}
		}
		// And Charlie's on Bob's (his slot not missed).
		if best > made + 1 && author(slot_start(client, made + 2).await? / block_time) != "Charlie"
		{
			return Ok(None);
		}
		let mut found = None;
		for number in made + 1..=best {
			let at = client.api().at_block(number).await.map_err(|e| e.to_string())?;
			let answers = at
				.runtime_apis()
				.call(kms_client::runtime::runtime_apis().policies_api().cfrags(request))
				.await
				.map_err(|e| e.to_string())?;
			if answers.iter().any(|(node, _)| *node == grant.nodes[0]) {
				found = Some(number);
				break;
			}
		}
		if let Some(number) = found {
			break number;
		}
		if Instant::now() > deadline {
			return Err(format!("Alice's node's answer had not landed by block {best}"));
		}
		tokio::time::sleep(Duration::from_millis(200)).await;
	};
	let by = author(slot_start(client, landed).await? / block_time);
	eprintln!("request in block {made} (Alice's); her node's answer in block {landed} ({by}'s)");
	Ok(Some((made, landed, by)))
}

/// Who authors `slot`.
fn author(slot: u64) -> &'static str {
	AUTHORS[(slot % AUTHORS.len() as u64) as usize]
}

/// The start of block `number`'s slot (its timestamp), in ms since the Unix epoch.
async fn slot_start(client: &Client, number: u32) -> Result<u64, String> {
	let at = client.api().at_block(number).await.map_err(|e| e.to_string())?;
	at.storage()
		.try_fetch(kms_client::runtime::storage().timestamp().now(), ())
		.await
		.map_err(|e| e.to_string())?
		.ok_or(format!("no timestamp in block {number}"))?
		.decode()
		.map_err(|e| e.to_string())
}

fn now_ms() -> Result<u64, String> {
	Ok(std::time::SystemTime::now()
		.duration_since(std::time::UNIX_EPOCH)
		.map_err(|e| e.to_string())?
		.as_millis() as u64)
}

/// The transactions in `node`'s pool but those `included` in a block, once its log says
/// `sent`.
async fn wait_for_answer(
	node: &Node,
	sent: &str,
	included: &[Value],
	timeout: Duration,
) -> Result<Vec<Value>, String> {
	let deadline = Instant::now() + timeout;
	while !node.log_tail(200).contains(sent) {
		if Instant::now() > deadline {
			return Err(format!("Alice's node's log did not say \"{sent}\" within {timeout:?}"));
		}
		tokio::time::sleep(Duration::from_millis(10)).await;
	}
	let pending = node.call("author_pendingExtrinsics", rpc_params![]).await;
	Ok(pending
		.as_array()
		.into_iter()
		.flatten()
		.filter(|transaction| !included.contains(transaction))
		.cloned()
		.collect())
}

/// Submits each transaction to `node`; what it said of those it refused.
async fn submit_all(node: &Node, transactions: &[Value]) -> Vec<String> {
	let mut refusals = Vec::new();
	for transaction in transactions {
		let submitted = node
			.rpc()
			.request::<Value, _>("author_submitExtrinsic", rpc_params![transaction.clone()])
			.await;
		if let Err(e) = submitted {
			refusals.push(e.to_string());
		}
	}
	refusals
}
