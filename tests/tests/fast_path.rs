//! The fast-path benchmark's bounded run (`benches/fast_path.rs` measures in full): three
//! validators each hosting a KMS node, a 2-of-3 policy; fast-path and on-chain decrypts verify,
//! and one node serves requests of 1 and 8 capsules (nine in ten at least, under the load of a
//! whole test run).

#[path = "../fast_path/mod.rs"]
// The tables and the JSON are the benchmark's.
#[allow(dead_code)]
mod fast_path;

use std::time::Duration;
// Dependencies of the harness and the other tests, not of this one.
use codec as _;
use hex as _;
use jsonrpsee as _;
use sp_crypto_hashing as _;
use sp_maybe_compressed_blob as _;
use subxt as _;
use subxt_signer as _;

#[tokio::test(flavor = "multi_thread")]
async fn the_fast_path_serves_a_2_of_3_policy_from_three_nodes() {
	let nodes = fast_path::start_network().await;
	let settings = fast_path::Settings { requests: 30, on_chain: 1, seconds: 2, concurrency: 2 };
	let result = fast_path::run(&nodes, &settings).await;
	let logs = nodes[0].log_tail(40);
	for node in nodes {
		node.stop(Duration::from_secs(30));
	}
	let measured = result.unwrap_or_else(|e| panic!("{e}\n--- Alice's node's log ---\n{logs}"));
	eprint!("{}", measured.table(settings.concurrency));
	// Every decrypt verified (`run` fails otherwise). How quick they are is the benchmark's to
	// measure: under the load of a whole test run, timings say little.
	assert_eq!(measured.fast.len(), 30);
	assert_eq!(measured.chain.len(), 1);
	// Under the load of a whole test run, a node may refuse a few as busy; it serves the rest.
	let mut served = 0.0;
	for (capsules, throughput) in &measured.throughput {
		assert!(throughput.requests > 0.0, "one node served requests of {capsules} capsules");
		served += throughput.requests * settings.seconds as f64;
		// The node's metrics count what it served (and what it served after the client gave
		// up on it), and the CPU that took.
		let served = throughput.served_capsules as f64;
		let most = served + (throughput.unanswered * capsules) as f64;
		assert!(
			(served..=most).contains(&throughput.counted_capsules),
			"the node counted {} capsules at {capsules} per request, served {served}",
			throughput.counted_capsules
		);
		assert!(throughput.fast_path_cpu > 0.0, "the node counted the requests' CPU time");
	}
	assert!(
		(measured.unanswered() as f64) < served / 10.0,
		"{} of about {served:.0} throughput requests were not served",
		measured.unanswered()
	);
}
