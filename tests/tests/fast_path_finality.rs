//! The fast path's finality rule, on three validators whose finality stalls: a node signs
//! answers under a policy version only once that version is final, since a fork could still
//! give a younger version other keys, under which a signed answer would be judged wrong and
//! slashed. Charlie's validator is paused (SIGSTOP), so that GRANDPA, needing all three votes,
//! finalizes nothing while Alice and Bob go on authoring. A policy accepted before the pause is
//! served meanwhile; one created during it is refused as not final after the node's bounded
//! wait (30 s), nothing relayed; once Charlie resumes and finality reaches the policy, the same
//! request bytes are served and logged on chain.

#[path = "../fast_path/mod.rs"]
// The benchmark's network and policy helpers; the measurements are not used here.
#[allow(dead_code)]
mod fast_path;

use kms_client::{Client, Error};
use kms_e2e_tests::Node;
use std::time::{Duration, Instant};
// Dependencies of the harness and the other tests, not of this one.
use codec as _;
use hex as _;
use jsonrpsee as _;
use sp_crypto_hashing as _;
use sp_maybe_compressed_blob as _;
use subxt as _;
use subxt_signer as _;

/// What the node says when a policy version is younger than finality for its whole wait.
const NOT_FINAL: &str = "not final";

/// Sends `signal` (`STOP`, `CONT`) to `node`'s process.
fn signal(node: &Node, signal: &str) {
	let pid = node.pid().unwrap_or_else(|| node.fail("the node is not running"));
	let sent = std::process::Command::new("kill")
		.args([&format!("-{signal}"), &pid.to_string()])
		.status()
		.is_ok_and(|status| status.success());
	assert!(sent, "kill -{signal} {pid}");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_policy_version_is_served_only_once_final() {
	let nodes = fast_path::start_network().await;
	let result = scenario(&nodes).await;
	// Charlie may still be paused if the scenario failed half way.
	signal(&nodes[2], "CONT");
	let fast_path_lines = |node: &Node| {
		let tail = node.log_tail(2000);
		let lines: Vec<&str> = tail
			.lines()
			.filter(|line| line.contains("not final yet") || line.contains("served "))
			.collect();
		lines.join("\n")
	};
	let logs = format!(
		"--- Alice's node's log ---\n{}\n{}\n--- Bob's node's log ---\n{}\n{}",
		fast_path_lines(&nodes[0]),
		nodes[0].log_tail(20),
		fast_path_lines(&nodes[1]),
		nodes[1].log_tail(20)
	);
	for node in nodes {
		node.stop(Duration::from_secs(30));
	}
	result.unwrap_or_else(|e| panic!("{e}\n{logs}"));
}

async fn scenario(nodes: &[Node]) -> Result<(), String> {
	let client = Client::connect(&nodes[0].ws_url()).await.map_err(|e| e.to_string())?;
	let accounts = fast_path::publish_endpoints(&client, nodes).await?;
	let early = fast_path::grant(&client, &accounts, *b"final-before-it!").await?;
	let accepted = client.best_block().await.map_err(|e| e.to_string())?;
	fast_path::wait_for_finality(nodes, accepted, Duration::from_secs(60)).await?;

	// Finality stalls: Charlie's vote is missing.
	signal(&nodes[2], "STOP");
	let paused_at = client.finalized_block().await.map_err(|e| e.to_string())?;
	let young = fast_path::grant(&client, &accounts[..2], *b"younger-than-it!").await?;
	let finalized = client.finalized_block().await.map_err(|e| e.to_string())?;
	let best = client.best_block().await.map_err(|e| e.to_string())?;
	if finalized >= best {
		return Err(format!("finality did not stall: block {finalized} of {best} is final"));
	}
	eprintln!("finality stalled at {finalized} (paused at {paused_at}), best {best}");
	let alive = &accounts[..2];
	let fast = client
		.fast_path(alive, Duration::from_secs(10))
		.await
		.map_err(|e| e.to_string())?;
	if fast.endpoints() != 2 {
		return Err(format!("Alice's and Bob's endpoints: {:?}", fast.failures));
	}

	// A policy final before the stall is served meanwhile, by both live nodes.
	let capsules = fast_path::capsules(&early, 1)?;
	let request = client
		.sign_direct_request(&early.readers[0], early.id, capsules)
		.await
		.map_err(|e| e.to_string())?;
	let answers = fast.reencrypt(&request, Duration::from_secs(20)).await;
	let cfrags: Vec<Vec<u8>> = answers
		.answers
		.iter()
		.filter_map(|answer| answer.cfrags.first().cloned())
		.collect();
	fast_path::verified(&early, &request.capsules[0], &cfrags).map_err(|e| {
		format!("the final policy while finality stalls: {e} ({:?})", answers.failures)
	})?;

	// The younger one is refused by each node after its wait, and nothing is relayed.
	let capsules = fast_path::capsules(&young, 1)?;
	let request = client
		.sign_direct_request(&young.readers[1], young.id, capsules)
		.await
		.map_err(|e| e.to_string())?;
	let asked = Instant::now();
	let answers = fast.reencrypt(&request, Duration::from_secs(60)).await;
	if !answers.answers.is_empty() {
		return Err(format!(
			"{} nodes answered a version younger than finality",
			answers.answers.len()
		));
	}
	let not_final = answers
		.failures
		.iter()
		.filter(|(_, error)| matches!(error, Error::FastPath(why) if why.contains(NOT_FINAL)))
		.count();
	if not_final != 2 {
		return Err(format!("refusals of the younger policy: {:?}", answers.failures));
	}
	if asked.elapsed() < Duration::from_secs(25) {
		return Err(format!("refused after {:?}, not after waiting for finality", asked.elapsed()));
	}
	let reader = young.readers[1].public_key().to_account_id();
	let next = client.next_nonce(&reader).await.map_err(|e| e.to_string())?;
	if next != request.nonce {
		return Err(format!("the refused request was relayed: the reader's next nonce is {next}"));
	}

	// Finality resumes: the same bytes are served, once the policy is final.
	signal(&nodes[2], "CONT");
	let before = client.best_block().await.map_err(|e| e.to_string())?;
	let deadline = Instant::now() + Duration::from_secs(120);
	let answers = loop {
		let answers = fast.reencrypt(&request, Duration::from_secs(60)).await;
		if answers.answers.len() == 2 || Instant::now() > deadline {
			break answers;
		}
		eprintln!("not served yet: {:?}", answers.failures);
	};
	let cfrags: Vec<Vec<u8>> = answers
		.answers
		.iter()
		.filter_map(|answer| answer.cfrags.first().cloned())
		.collect();
	fast_path::verified(&young, &request.capsules[0], &cfrags)
		.map_err(|e| format!("the younger policy once final: {e} ({:?})", answers.failures))?;
	// And logged on chain.
	let deadline = Instant::now() + Duration::from_secs(60);
	let mut number = before;
	while Instant::now() < deadline {
		if number > client.best_block().await.map_err(|e| e.to_string())? {
			tokio::time::sleep(Duration::from_millis(500)).await;
			continue;
		}
		let logged = client.direct_requests_in(number).await.map_err(|e| e.to_string())?;
		if logged.iter().any(|event| event.policy == young.id && event.requester == reader) {
			return Ok(());
		}
		number += 1;
	}
	Err(format!("the served request was not logged in blocks {before}..={number}"))
}
