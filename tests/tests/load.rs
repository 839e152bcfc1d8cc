//! The load benchmark's bounded run (`benches/load.rs` runs the whole ramp): the chain's
//! admitted maximum of requests per block, from many readers over several policies, is
//! admitted, and the node answers every request before its deadline, missing none.

#[path = "../load/mod.rs"]
// The table and the JSON are the benchmark's.
#[allow(dead_code)]
mod load;

use kms_e2e_tests::Node;
use std::time::Duration;
// Dependencies of the harness and the other tests, not of this one.
use codec as _;
use hex as _;
use jsonrpsee as _;
use serde_json as _;
use sp_crypto_hashing as _;
use sp_maybe_compressed_blob as _;
use tempfile as _;

#[tokio::test(flavor = "multi_thread")]
async fn the_node_answers_every_request_at_the_admitted_maximum() {
	let mut node = Node::start(&["--dev", "--tmp"]);
	node.wait_for_rpc().await;
	let pid = node.pid().expect("the node runs");
	// Two capsules each keep the run short.
	let max = load::MAX_PER_BLOCK;
	let settings = load::Settings { rates: vec![max], capsules: 2, blocks: 3 };
	let steps = load::run(&node.ws_url(), pid, &settings, |line| eprintln!("{line}"))
		.await
		.unwrap_or_else(|error| node.fail(error));
	eprintln!("{}", load::table(&steps));
	let step = &steps[0];
	assert_eq!(step.offered, max * 3, "the pool took every request");
	// A block that also gets the previous block's stragglers (submissions that missed it)
	// refuses what passes the maximum: the per-block cap, not the node. Most must get in, or the run
	// did not load the chain to its maximum.
	assert!(
		step.admitted * 4 >= step.offered * 3,
		"admitted {} of {}",
		step.admitted,
		step.offered
	);
	assert_eq!(step.fulfilled, step.admitted, "every admitted request was answered in time");
	assert_eq!((step.missed, step.failed), (0, 0), "no deadline was missed");
	let window = 10;
	assert!(
		step.latencies.iter().all(|&blocks| (1..=window).contains(&blocks)),
		"answers land after their request and by its deadline: {:?}",
		step.latencies
	);
	node.stop(Duration::from_secs(30));
}
