//! The fast-path benchmark, shared by the benchmark (`benches/fast_path.rs`, run by
//! `scripts/bench-fast-path.sh`: the full measurement, its tables and the JSON the plot is made
//! from) and its bounded run in CI (`tests/fast_path.rs`).
//!
//! Three validators of the `local` chain on loopback, each hosting its genesis KMS node, their
//! endpoints published, a 2-of-3 policy over the three granted to readers that are endowed
//! development accounts. Then the latency of fast-path decrypts (from the call to the nodes to
//! 2 verified cfrags, every node asked at once), of on-chain decrypts (from submitting the
//! request to 2 verified cfrags read at the best block), and one node's fast-path throughput
//! at 1 and 8 capsules per request with its CPU.

#[path = "../load/mod.rs"]
// Its setup helpers (key pairs, process usage); the load run itself is not used here.
#[allow(dead_code)]
mod load;

use kms_client::{umbral, AccountId, Client, Keypair, Policy};
use kms_e2e_tests::{block_number, rpc_params, Node};
use std::time::{Duration, Instant};
use umbral_pre::{SecretKey, Signer};

/// What to measure.
pub struct Settings {
	/// Fast-path decrypts, one after another.
	pub requests: usize,
	/// On-chain decrypts, one after another.
	pub on_chain: usize,
	/// Seconds of each throughput measurement.
	pub seconds: u64,
	/// Requests in flight during the throughput measurement (at most [`READERS`]).
	pub concurrency: usize,
}

/// What was measured.
pub struct Measured {
	/// Fast-path latencies (ms), sorted.
	pub fast: Vec<f64>,
	/// On-chain latencies (ms), sorted.
	pub chain: Vec<f64>,
	/// Of each on-chain decrypt, the blocks after the request's block its answers were read at
	/// (1: the block after it), sorted.
	pub chain_blocks: Vec<u32>,
	/// Per capsule count (1, 8): one node's throughput.
	pub throughput: Vec<(usize, Throughput)>,
}

/// One node's fast-path throughput at one number of capsules per request.
pub struct Throughput {
	/// Requests served a second.
	pub requests: f64,
	/// Capsules re-encrypted a second.
	pub capsules: f64,
	/// The node process's CPU use, % of one core: everything it ran meanwhile, its share of
	/// the chain's work included (authoring or importing the blocks that log the requests,
	/// checking them in its transaction pool).
	pub cpu: f64,
	/// The CPU the requests' own work used on the node's threads (decoding, the runtime's
	/// checks, re-encryption, verification, signing), % of one core, as the node counts it in
	/// `substrate_kms_fast_path_cpu_seconds_total`.
	pub fast_path_cpu: f64,
	/// Capsules the node counted as re-encrypted (`substrate_kms_fast_path_capsules_total`).
	pub counted_capsules: f64,
	/// Capsules the client was served.
	pub served_capsules: usize,
	/// Requests refused or unanswered (the node may have served some after the client gave
	/// up on them).
	pub unanswered: usize,
}

/// Starts three validators of the `local` chain cut to its first three authorities (Alice's,
/// Bob's and Charlie's nodes, as `scripts/local-testnet.sh start -n 3` does: with Dave's slot
/// in the chain and nobody to author it, every fourth block would come a block time late), the
/// fast path's per-requester limits lifted (one reader makes many requests).
pub async fn start_network() -> Vec<Node> {
	let dir = tempfile::tempdir().expect("a temporary directory");
	let spec = three_validator_spec(dir.path());
	let limits = ["--fast-path-rate", "1000000", "--fast-path-burst", "1000000"];
	let common = chain_args(&spec);
	// Alice's node is the one measured: with its metrics.
	let mut alice = Node::start_with_metrics(&[&common[..], &["--alice"], &limits[..]].concat());
	alice.wait_for_rpc().await;
	let boot = alice.p2p_address().await;
	let mut nodes = vec![alice];
	for who in ["--bob", "--charlie"] {
		let mut node =
			Node::start(&[&common[..], &[who, "--bootnodes", &boot], &limits[..]].concat());
		node.wait_for_rpc().await;
		nodes.push(node);
	}
	nodes
}

/// The arguments of a validator of the chain `spec`: a temporary database, unsafe RPC methods
/// (the tests call them), and a throwaway network key (validators of a named chain need one).
pub fn chain_args(spec: &std::path::Path) -> [&str; 6] {
	[
		"--chain",
		spec.to_str().expect("a UTF-8 path"),
		"--tmp",
		"--rpc-methods",
		"unsafe",
		"--unsafe-force-node-key-generation",
	]
}

/// The raw chain spec of the `local` chain with its first three authorities and KMS nodes,
/// written into `dir`.
pub fn three_validator_spec(dir: &std::path::Path) -> std::path::PathBuf {
	let build_spec = |chain: &str| {
		let output = std::process::Command::new(kms_e2e_tests::node_binary())
			.args(["build-spec", "--chain", chain, "--disable-default-bootnode"])
			.args(if chain == "local" { &[][..] } else { &["--raw"][..] })
			.output()
			.expect("kms-node runs");
		assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
		output.stdout
	};
	let mut spec: serde_json::Value =
		serde_json::from_slice(&build_spec("local")).expect("a JSON chain spec");
	let patch = &mut spec["genesis"]["runtimeGenesis"]["patch"];
	for list in [&["aura", "authorities"], &["grandpa", "authorities"], &["staking", "stakers"]] {
		let entries = patch[list[0]][list[1]].as_array_mut().expect("a list in the preset");
		entries.truncate(3);
	}
	let plain = dir.join("spec-plain.json");
	std::fs::write(&plain, spec.to_string()).expect("the spec is written");
	let raw = dir.join("spec.json");
	std::fs::write(&raw, build_spec(plain.to_str().expect("a UTF-8 path")))
		.expect("the raw spec is written");
	raw
}

/// The policy and what the reader needs to ask under it.
pub struct Grant {
	pub id: [u8; 16],
	pub nodes: Vec<AccountId>,
	pub keys: umbral::PolicyKeys,
	/// Readers (the policy names no requester): one per request in flight, so that each
	/// reader's requests reach the node in their nonce order.
	pub readers: Vec<Keypair>,
}

/// The endowed development accounts that read: none of them signs anything else.
pub const READERS: [&str; 8] = [
	"//Eve",
	"//Ferdie",
	"//Alice//stash",
	"//Bob//stash",
	"//Charlie//stash",
	"//Dave//stash",
	"//Eve//stash",
	"//Ferdie//stash",
];

/// Quantile `q` of sorted `values`.
pub fn quantile(sorted: &[f64], q: f64) -> f64 {
	let index = ((sorted.len() as f64 - 1.0) * q).round() as usize;
	sorted.get(index).copied().unwrap_or(f64::NAN)
}

/// A policy `id` of Alice's over `nodes` (a threshold of 2), once every one of them accepted it
/// (at the best block).
pub async fn grant(client: &Client, nodes: &[AccountId], id: [u8; 16]) -> Result<Grant, String> {
	let alice = load::keypair("//Alice");
	let (delegating, signer) = (SecretKey::random(), Signer::new(SecretKey::random()));
	let receiving = SecretKey::random();
	let keys = umbral::PolicyKeys {
		delegating: delegating.public_key(),
		verifying: signer.verifying_key(),
		receiving: receiving.public_key(),
	};
	let end = client.best_block().await.map_err(|e| e.to_string())? + 3000;
	let (low, _) = client.fee_rate_range().await.map_err(|e| e.to_string())?;
	let mut node_keys = Vec::new();
	for node in nodes {
		let deadline = Instant::now() + Duration::from_secs(120);
		while let Some(why) =
			client.ineligibility(node, end, low).await.map_err(|e| e.to_string())?
		{
			if Instant::now() > deadline {
				return Err(format!("node {node} cannot serve: {why}"));
			}
			tokio::time::sleep(Duration::from_secs(1)).await;
		}
		let (version, key) = client
			.node_key(node)
			.await
			.map_err(|e| e.to_string())?
			.ok_or(format!("no key of {node}"))?;
		node_keys.push((version, umbral::public_key(&key).map_err(|e| e.to_string())?));
	}
	let public: Vec<_> = node_keys.iter().map(|(_, key)| *key).collect();
	let sealed = umbral::seal_kfrags(&delegating, &signer, &keys.receiving, 2, &public)
		.map_err(|e| e.to_string())?;
	let policy = Policy {
		id,
		label: b"bench".to_vec(),
		delegating_key: umbral::compressed(&keys.delegating),
		verifying_key: umbral::compressed(&keys.verifying),
		receiving_key: umbral::compressed(&keys.receiving),
		threshold: 2,
		nodes: nodes
			.iter()
			.zip(&node_keys)
			.zip(sealed)
			.map(|((node, (version, _)), kfrag)| (*node, *version, kfrag))
			.collect(),
		end,
		fee_rate: low,
		conditions: Vec::new(),
	};
	let created = client.create_policy(&alice, policy, &signer).await.map_err(|e| e.to_string())?;
	// Every node, not only the threshold: a node serves (and its part is final) only once its
	// own acceptance has landed.
	let deadline = Instant::now() + Duration::from_secs(120);
	loop {
		let acceptance = client
			.wait_for_acceptance(id, nodes, created.block, created.block + 60)
			.await
			.map_err(|e| e.to_string())?;
		if acceptance.accepted.len() == nodes.len() {
			break;
		}
		if Instant::now() > deadline {
			return Err(format!("{} of {} nodes accepted", acceptance.accepted.len(), nodes.len()));
		}
		tokio::time::sleep(Duration::from_secs(1)).await;
	}
	let readers = READERS.iter().map(|uri| load::keypair(uri)).collect();
	Ok(Grant { id, nodes: nodes.to_vec(), keys, readers })
}

/// Fresh capsules of the policy's delegating key.
pub fn capsules(grant: &Grant, count: usize) -> Result<Vec<Vec<u8>>, String> {
	(0..count)
		.map(|_| umbral::encrypt(&grant.keys.delegating, b"bench").map(|(c, _)| c))
		.collect::<Result<_, _>>()
		.map_err(|e| e.to_string())
}

/// Verifies `threshold` cfrags of the first capsule from `answers`; whether enough did.
pub fn verified(grant: &Grant, capsule: &[u8], cfrags: &[Vec<u8>]) -> Result<(), String> {
	let capsule = umbral::capsule(capsule).map_err(|e| e.to_string())?;
	let good = cfrags
		.iter()
		.filter(|cfrag| umbral::verify_cfrag(&capsule, cfrag, &grant.keys).is_ok())
		.count();
	if good >= 2 {
		Ok(())
	} else {
		Err(format!("{good} of 2 cfrags verified"))
	}
}

/// Latency of fast-path decrypts, one after another, in milliseconds.
async fn fast_latency(client: &Client, grant: &Grant, count: usize) -> Result<Vec<f64>, String> {
	let fast = client
		.fast_path(&grant.nodes, Duration::from_secs(10))
		.await
		.map_err(|e| e.to_string())?;
	if fast.endpoints() == 0 {
		return Err(format!("no endpoint reachable: {:?}", fast.failures));
	}
	let batches = (0..count).map(|_| capsules(grant, 1)).collect::<Result<Vec<_>, _>>()?;
	let requests = client
		.sign_direct_requests(&grant.readers[0], grant.id, batches)
		.await
		.map_err(|e| e.to_string())?;
	let mut latencies = Vec::with_capacity(count);
	for (index, request) in requests.iter().enumerate() {
		let started = Instant::now();
		let answers = fast.reencrypt(request, Duration::from_secs(10)).await;
		let cfrags: Vec<Vec<u8>> =
			answers.answers.iter().filter_map(|a| a.cfrags.first().cloned()).collect();
		verified(grant, &request.capsules[0], &cfrags)
			.map_err(|e| format!("request {index}: {e} ({:?})", answers.failures))?;
		latencies.push(started.elapsed().as_secs_f64() * 1000.0);
		if (index + 1) % 100 == 0 {
			eprintln!("  {} fast-path decrypts", index + 1);
		}
	}
	Ok(latencies)
}

/// On-chain decrypts, one after another: each one's latency in milliseconds, and in blocks
/// after the request's block the answers were read at. Each request is submitted at a point of
/// the block time counted from the start of the best block's slot (its timestamp): the middle
/// of each tenth in turn, so that the mean is that of a reader asking at any moment, and the
/// time the answers' block takes to reach the client and be read counts. A first decrypt,
/// not counted, warms the client and the nodes up.
async fn chain_latency(
	client: &Client,
	grant: &Grant,
	count: usize,
) -> Result<(Vec<f64>, Vec<u32>), String> {
	let block_time = client.block_time_ms().await.map_err(|e| e.to_string())?.max(1);
	let window = client.response_window().await.map_err(|e| e.to_string())?;
	chain_decrypt(client, grant, window).await?;
	let (mut latencies, mut blocks) = (Vec::with_capacity(count), Vec::with_capacity(count));
	for index in 0..count {
		let phase = block_time * (2 * (index as u64 * 7 % 10) + 1) / 20;
		wait_for_phase(client, phase, block_time).await?;
		let started = Instant::now();
		let after = chain_decrypt(client, grant, window).await?;
		latencies.push(started.elapsed().as_secs_f64() * 1000.0);
		blocks.push(after);
		eprintln!("  {} on-chain decrypts", index + 1);
	}
	Ok((latencies, blocks))
}

/// One on-chain decrypt of a fresh capsule, to 2 verified cfrags at the best block, waiting
/// at most the response `window` after the request's block: returns how many blocks after the
/// request's its answers were read at.
async fn chain_decrypt(client: &Client, grant: &Grant, window: u32) -> Result<u32, String> {
	let capsule = capsules(grant, 1)?.remove(0);
	let (request, included) = client
		.request_reencryption(&grant.readers[1], grant.id, vec![capsule.clone()])
		.await
		.map_err(|e| e.to_string())?;
	let (answers, read_at) = client
		.wait_for_cfrags(request, 2, included.block + window)
		.await
		.map_err(|e| e.to_string())?;
	let cfrags: Vec<Vec<u8>> = answers
		.into_iter()
		.filter_map(|(_, cfrags)| cfrags.into_iter().next())
		.collect();
	verified(grant, &capsule, &cfrags)?;
	Ok(read_at.saturating_sub(included.block))
}

/// Sleeps until `phase` ms after the start of a block's slot: of the best block's, or of a
/// later one's if that moment has passed.
async fn wait_for_phase(client: &Client, phase: u64, block_time: u64) -> Result<(), String> {
	let best = client.best_block().await.map_err(|e| e.to_string())?;
	let at = client.api().at_block(best).await.map_err(|e| e.to_string())?;
	let slot_start = at
		.storage()
		.try_fetch(kms_client::runtime::storage().timestamp().now(), ())
		.await
		.map_err(|e| e.to_string())?
		.ok_or("no timestamp in the best block")?
		.decode()
		.map_err(|e| e.to_string())?;
	let now = std::time::SystemTime::now()
		.duration_since(std::time::UNIX_EPOCH)
		.map_err(|e| e.to_string())?
		.as_millis() as u64;
	let first = slot_start + phase;
	// The first such moment after now: `first`, or whole block times after it.
	let target =
		if first > now { first } else { first + ((now - first) / block_time + 1) * block_time };
	tokio::time::sleep(Duration::from_millis(target - now)).await;
	Ok(())
}

/// `node`'s throughput at `per_request` capsules.
async fn throughput(
	client: &Client,
	grant: &Grant,
	node: &Node,
	per_request: usize,
	seconds: u64,
	concurrency: usize,
) -> Result<Throughput, String> {
	let pid = node.pid().ok_or("the node stopped")?;
	let counted = |name: &str| node.scrape().value(name, &[]).unwrap_or(0.0);
	let (fast_path_cpu, capsules_counted) =
		("substrate_kms_fast_path_cpu_seconds_total", "substrate_kms_fast_path_capsules_total");
	let fast = client
		.fast_path(&grant.nodes[..1], Duration::from_secs(10))
		.await
		.map_err(|e| e.to_string())?;
	// Enough requests for the node to stay busy, signed ahead: each worker its reader's, in
	// nonce order.
	let per_worker = (seconds as usize * 1200 / per_request / concurrency).max(4);
	let mut queues = Vec::new();
	for reader in grant.readers.iter().cycle().take(concurrency) {
		let batches = (0..per_worker)
			.map(|_| capsules(grant, per_request))
			.collect::<Result<Vec<_>, _>>()?;
		let signed = client
			.sign_direct_requests(reader, grant.id, batches)
			.await
			.map_err(|e| e.to_string())?;
		queues.push(signed);
	}
	use std::sync::{
		atomic::{AtomicUsize, Ordering::Relaxed},
		Arc,
	};
	let fast = Arc::new(fast);
	let (done, failed) = (Arc::new(AtomicUsize::new(0)), Arc::new(AtomicUsize::new(0)));
	let (cpu_before, _) = load::process_usage(pid);
	let (fast_path_before, counted_before) = (counted(fast_path_cpu), counted(capsules_counted));
	let started = Instant::now();
	let until = started + Duration::from_secs(seconds);
	let mut workers = tokio::task::JoinSet::new();
	for queue in queues {
		let fast = fast.clone();
		let (done, failed) = (done.clone(), failed.clone());
		workers.spawn(async move {
			for request in &queue {
				if Instant::now() > until {
					break;
				}
				let answers = fast.reencrypt_at(request, Duration::from_secs(10), Some(0)).await;
				if answers.answers.is_empty() {
					if failed.fetch_add(1, Relaxed) == 0 {
						eprintln!("  a request was not served: {:?}", answers.failures);
					}
				} else {
					done.fetch_add(1, Relaxed);
				}
			}
		});
	}
	workers.join_all().await;
	let elapsed = started.elapsed().as_secs_f64();
	let (cpu_after, _) = load::process_usage(pid);
	let (fast_path_after, counted_after) = (counted(fast_path_cpu), counted(capsules_counted));
	let done = done.load(Relaxed);
	let failed = failed.load(Relaxed);
	if failed > 0 {
		eprintln!("  {failed} requests were refused or unanswered");
	}
	Ok(Throughput {
		requests: done as f64 / elapsed,
		capsules: (done * per_request) as f64 / elapsed,
		cpu: (cpu_after - cpu_before) / elapsed * 100.0,
		fast_path_cpu: (fast_path_after - fast_path_before) / elapsed * 100.0,
		counted_capsules: counted_after - counted_before,
		served_capsules: done * per_request,
		unanswered: failed,
	})
}

/// Publishes each of `nodes`' endpoint (Alice's, Bob's and Charlie's, [`start_network`]) for
/// its KMS node; returns the KMS nodes.
pub async fn publish_endpoints(client: &Client, nodes: &[Node]) -> Result<Vec<AccountId>, String> {
	let uris = ["//Alice", "//Bob", "//Charlie"];
	for (uri, node) in uris.iter().zip(nodes) {
		client
			.set_endpoint(&load::keypair(uri), Some(&node.ws_url()))
			.await
			.map_err(|e| format!("{uri}'s endpoint: {e}"))?;
	}
	Ok(uris.iter().map(|uri| load::keypair(uri).public_key().to_account_id()).collect())
}

/// Waits (at most `timeout`) until every one of `nodes` has finalized block `number`: a node
/// judges finality (and so whether it may serve a policy version) by its own view.
pub async fn wait_for_finality(
	nodes: &[Node],
	number: u32,
	timeout: Duration,
) -> Result<(), String> {
	let deadline = Instant::now() + timeout;
	for node in nodes {
		loop {
			let hash = node.call("chain_getFinalizedHead", rpc_params![]).await;
			let header = node.call("chain_getHeader", rpc_params![hash]).await;
			if block_number(&header) >= u64::from(number) {
				break;
			}
			if Instant::now() > deadline {
				return Err(format!("block {number} was not finalized within {timeout:?}"));
			}
			tokio::time::sleep(Duration::from_millis(200)).await;
		}
	}
	Ok(())
}

/// Measures everything of `settings` on the network `nodes` ([`start_network`]).
pub async fn run(nodes: &[Node], settings: &Settings) -> Result<Measured, String> {
	let client = Client::connect(&nodes[0].ws_url()).await.map_err(|e| e.to_string())?;
	let accounts = publish_endpoints(&client, nodes).await?;
	eprintln!("granting a 2-of-3 policy (once the nodes serve)");
	let grant = grant(&client, &accounts, *b"fast-path-bench!").await?;
	// A node serves a policy version only once it is final (a fork could give it other keys):
	// the latencies are of a policy in service, not of the wait for finality.
	let accepted = client.best_block().await.map_err(|e| e.to_string())?;
	wait_for_finality(nodes, accepted, Duration::from_secs(60)).await?;

	eprintln!("latency: {} fast-path decrypts", settings.requests);
	let mut fast = fast_latency(&client, &grant, settings.requests).await?;
	eprintln!("latency: {} on-chain decrypts", settings.on_chain);
	let (mut chain, mut chain_blocks) = chain_latency(&client, &grant, settings.on_chain).await?;
	let mut throughputs = Vec::new();
	for per_request in [1, 8] {
		eprintln!("throughput: {per_request} capsules per request, {} s", settings.seconds);
		let measured = throughput(
			&client,
			&grant,
			&nodes[0],
			per_request,
			settings.seconds,
			settings.concurrency,
		)
		.await?;
		throughputs.push((per_request, measured));
	}

	fast.sort_by(f64::total_cmp);
	chain.sort_by(f64::total_cmp);
	chain_blocks.sort();
	Ok(Measured { fast, chain, chain_blocks, throughput: throughputs })
}

impl Measured {
	/// Throughput requests refused or unanswered, at every capsule count.
	pub fn unanswered(&self) -> usize {
		self.throughput.iter().map(|(_, measured)| measured.unanswered).sum()
	}

	/// The tables the benchmark prints.
	pub fn table(&self, concurrency: usize) -> String {
		let row = |name: &str, sorted: &[f64]| {
			format!(
				"{name:<10} {:>6} {:>9.1} {:>9.1} {:>9.1} {:>9.1}\n",
				sorted.len(),
				quantile(sorted, 0.5),
				quantile(sorted, 0.95),
				quantile(sorted, 0.99),
				sorted.last().copied().unwrap_or(f64::NAN)
			)
		};
		let mut text = String::from("latency, call to 2 verified cfrags (ms)\n");
		text += &format!(
			"{:<10} {:>6} {:>9} {:>9} {:>9} {:>9}\n",
			"path", "count", "p50", "p95", "p99", "max"
		);
		text += &row("fast", &self.fast);
		text += &row("on chain", &self.chain);
		let mut after = std::collections::BTreeMap::new();
		for blocks in &self.chain_blocks {
			*after.entry(blocks).or_insert(0) += 1;
		}
		text += "on chain, blocks from the request's to the answers' (1: the next): ";
		text += &after
			.iter()
			.map(|(blocks, count)| format!("{blocks}: {count}×"))
			.collect::<Vec<_>>()
			.join(", ");
		text += "\n";
		text += &format!(
			"on chain / fast: {:.0}x at p50, {:.0}x at p95\n\n",
			quantile(&self.chain, 0.5) / quantile(&self.fast, 0.5),
			quantile(&self.chain, 0.95) / quantile(&self.fast, 0.95)
		);
		text += &format!("one node's fast path ({concurrency} requests in flight)\n");
		text += "CPU % of one core: the whole node process, and the requests' own work in it\n";
		text += &format!(
			"{:>8} {:>11} {:>11} {:>8} {:>15} {:>11} {:>16}\n",
			"capsules",
			"requests/s",
			"capsules/s",
			"node %",
			"capsules/core",
			"requests %",
			"capsules/core",
		);
		if self.unanswered() > 0 {
			text += &format!("({} throughput requests refused or unanswered)\n", self.unanswered());
		}
		for (per_request, measured) in &self.throughput {
			let per_core = |cpu: f64| measured.capsules / (cpu / 100.0).max(0.01);
			text += &format!(
				"{per_request:>8} {:>11.0} {:>11.0} {:>8.0} {:>15.0} {:>11.0} {:>16.0}\n",
				measured.requests,
				measured.capsules,
				measured.cpu,
				per_core(measured.cpu),
				measured.fast_path_cpu,
				per_core(measured.fast_path_cpu),
			);
		}
		text
	}

	/// The measurements as JSON (for the plot).
	pub fn to_json(&self) -> serde_json::Value {
		serde_json::json!({
			"fast_ms": self.fast,
			"chain_ms": self.chain,
			"chain_blocks": self.chain_blocks,
			"throughput": self.throughput.iter().map(|(per_request, measured)| {
				serde_json::json!({
					"capsules_per_request": per_request,
					"requests_per_s": measured.requests,
					"capsules_per_s": measured.capsules,
					"cpu_percent": measured.cpu,
					"fast_path_cpu_percent": measured.fast_path_cpu,
					"capsules_served": measured.served_capsules,
					"capsules_counted_by_the_node": measured.counted_capsules,
					"unanswered": measured.unanswered,
				})
			}).collect::<Vec<_>>(),
		})
	}
}
