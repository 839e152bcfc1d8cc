//! The load benchmark of the re-encryption service, shared by the benchmark (`benches/load.rs`,
//! run by `scripts/bench-load.sh`: the whole ramp, a table and the JSON the plot is made from)
//! and its bounded run in CI (`tests/load.rs`).
//!
//! One development node (`--dev`, fast runtime: the chain's authority, hosting Alice's KMS
//! node). Setup: Alice lengthens her lock, funds [`READERS`] readers and grants [`POLICIES`]
//! 1-of-1 policies through her node. Then each step offers `rate` requests of `capsules`
//! capsules in each of `blocks` blocks (one per reader and block, the readers spread over the
//! policies so that no per-reader or per-policy share of a block is reached), and goes on
//! reading blocks until every deadline of the step has passed and been processed. Every
//! block's events and weight are read: what was admitted, answered and when, what was missed.

use kms_client::{runtime, umbral, AccountId, Client, Keypair, Policy, RequestId};
use std::{
	collections::BTreeMap,
	time::{Duration, Instant},
};
use subxt::config::DefaultExtrinsicParamsBuilder;
use subxt_signer::SecretUri;
use umbral_pre::{SecretKey, Signer};

/// Policies the readers' requests are spread over (a policy takes at most
/// `MaxRequestsPerPolicy`, 16, requests per block).
pub const POLICIES: usize = 4;
/// Readers, each making at most one request per block (an account makes at most
/// `MaxRequestsPerRequester`, 8): as many as the chain's `MaxRequestsPerBlock`
/// ([`MAX_PER_BLOCK`]).
pub const READERS: usize = MAX_PER_BLOCK as usize;
/// The chain's `MaxRequestsPerBlock`, the most a step may offer (checked against the chain).
pub const MAX_PER_BLOCK: u32 = 32;
/// What each reader is given to pay fees, request deposits and slot prices with.
const READER_FUNDS: u128 = 1_000 * UNIT;
/// The most a request may pay for its slot.
const MAX_PRICE: u128 = 10 * UNIT;
const UNIT: u128 = 1_000_000_000_000;
/// The longest wait for the next block before the run gives up.
const BLOCK_TIMEOUT: Duration = Duration::from_secs(30);

/// What to offer.
#[derive(Clone, Debug)]
pub struct Settings {
	/// Requests offered per block, one step each, in order.
	pub rates: Vec<u32>,
	/// Capsules per request.
	pub capsules: u32,
	/// Blocks each step offers load for.
	pub blocks: u32,
}

/// What one step measured.
#[derive(Clone, Debug, Default)]
pub struct Step {
	/// Requests offered per block.
	pub rate: u32,
	/// Capsules per request.
	pub capsules: u32,
	/// Blocks load was offered in.
	pub blocks: u32,
	/// Requests submitted and accepted by the pool.
	pub offered: u32,
	/// Requests the pool refused.
	pub pool_refused: u32,
	/// Requests the chain admitted (`ReencryptionRequested`).
	pub admitted: u32,
	/// Admitted requests fulfilled (`RequestFulfilled`).
	pub fulfilled: u32,
	/// Admitted requests whose deadline passed unfulfilled (`RequestFailed`).
	pub failed: u32,
	/// Missed deadlines recorded (`DeadlineMissed`).
	pub missed: u32,
	/// Blocks from each fulfilled request's block to its fulfilment's.
	pub latencies: Vec<u32>,
	/// Each block's normal-class weight, in percent of what the class may take.
	pub weight_percent: Vec<f64>,
	/// The node's CPU use over the step, in percent of one core.
	pub cpu_percent: f64,
	/// The node's resident memory at the end of the step, in MiB.
	pub rss_mib: f64,
}

impl Step {
	/// `(min, median, p95, max)` of the latencies, in blocks.
	pub fn latency(&self) -> Option<(u32, u32, u32, u32)> {
		let mut sorted = self.latencies.clone();
		sorted.sort_unstable();
		let at = |q: f64| sorted[((sorted.len() - 1) as f64 * q).round() as usize];
		(!sorted.is_empty()).then(|| (sorted[0], at(0.5), at(0.95), sorted[sorted.len() - 1]))
	}

	/// Offered requests that were not admitted: refused by the pool, or by the chain.
	pub fn refused(&self) -> u32 {
		(self.offered + self.pool_refused).saturating_sub(self.admitted)
	}

	/// The step as JSON, for the plot.
	pub fn to_json(&self) -> serde_json::Value {
		serde_json::json!({
			"rate": self.rate,
			"capsules": self.capsules,
			"blocks": self.blocks,
			"offered": self.offered,
			"pool_refused": self.pool_refused,
			"admitted": self.admitted,
			"fulfilled": self.fulfilled,
			"failed": self.failed,
			"missed": self.missed,
			"latencies": self.latencies,
			"weight_percent": self.weight_percent,
			"cpu_percent": self.cpu_percent,
			"rss_mib": self.rss_mib,
		})
	}
}

/// The table's header and one line per step.
pub fn table(steps: &[Step]) -> String {
	let mut out = String::from(
		"req/blk  caps/blk  admitted/blk  refused  fulfilled/blk  latency min/med/p95/max  \
		 missed  failed  weight % med/max  node cpu %  rss MiB\n",
	);
	for step in steps {
		let per_block = |n: u32| f64::from(n) / f64::from(step.blocks.max(1));
		let latency = step
			.latency()
			.map_or("-".to_string(), |(a, b, c, d)| format!("{a}/{b}/{c}/{d}"));
		let mut weights = step.weight_percent.clone();
		weights.sort_by(f64::total_cmp);
		let weight = match weights.len() {
			0 => "-".to_string(),
			n => format!("{:.1}/{:.1}", weights[n / 2], weights[n - 1]),
		};
		out.push_str(&format!(
			"{:>7}  {:>8}  {:>12.1}  {:>7}  {:>13.1}  {:>23}  {:>6}  {:>6}  {:>16}  {:>10.0}  \
			 {:>7.0}\n",
			step.rate,
			step.rate * step.capsules,
			per_block(step.admitted),
			step.refused(),
			per_block(step.fulfilled),
			latency,
			step.missed,
			step.failed,
			weight,
			step.cpu_percent,
			step.rss_mib,
		));
	}
	out
}

/// A development account's key pair from its secret URI.
pub fn keypair(uri: &str) -> Keypair {
	let uri: SecretUri = uri.parse().expect("a valid secret URI");
	Keypair::from_uri(&uri).expect("a valid sr25519 secret URI")
}

fn account(pair: &Keypair) -> AccountId {
	pair.public_key().to_account_id()
}

fn text(error: impl std::fmt::Display) -> String {
	error.to_string()
}

/// What one block did.
#[derive(Default)]
struct BlockRecord {
	requested: Vec<RequestId>,
	fulfilled: Vec<RequestId>,
	failed: u32,
	missed: u32,
	normal_ref_time: u64,
}

async fn read_block(client: &Client, number: u32) -> Result<BlockRecord, String> {
	let at = client.api().at_block(number).await.map_err(text)?;
	let events = at.events().fetch().await.map_err(text)?;
	let mut record = BlockRecord::default();
	for event in events.find::<runtime::policies::events::ReencryptionRequested>() {
		record.requested.push(event.map_err(text)?.request);
	}
	for event in events.find::<runtime::policies::events::RequestFulfilled>() {
		record.fulfilled.push(event.map_err(text)?.request);
	}
	record.failed = events.find::<runtime::policies::events::RequestFailed>().count() as u32;
	record.missed = events.find::<runtime::staking::events::DeadlineMissed>().count() as u32;
	let weight = at
		.storage()
		.try_fetch(runtime::storage().system().block_weight(), ())
		.await
		.map_err(text)?
		.map(|value| value.decode().map_err(text))
		.transpose()?;
	record.normal_ref_time = weight.map_or(0, |weight| weight.normal.ref_time);
	Ok(record)
}

/// Signs and submits `call` with `nonce`, without waiting for it to land.
async fn submit<Call: subxt::transactions::Payload>(
	client: &Client,
	call: &Call,
	signer: &Keypair,
	nonce: u64,
) -> Result<(), String> {
	let params = DefaultExtrinsicParamsBuilder::new().nonce(nonce).build();
	let mut transactions = client.api().transactions().await.map_err(text)?;
	transactions.sign_and_submit(call, signer, params).await.map_err(text)?;
	Ok(())
}

/// The node process's CPU time so far, in seconds, and its resident memory, in MiB.
pub fn process_usage(pid: u32) -> (f64, f64) {
	let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
	// The fields after the command name (which may hold spaces), from the state on.
	let fields: Vec<&str> = stat
		.rsplit_once(')')
		.map(|(_, rest)| rest.split_whitespace().collect())
		.unwrap_or_default();
	let ticks: f64 = [11, 12]
		.iter()
		.filter_map(|index| fields.get(*index).and_then(|field| field.parse::<f64>().ok()))
		.sum();
	let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
	let rss_kib: f64 = status
		.lines()
		.find_map(|line| line.strip_prefix("VmRSS:"))
		.and_then(|value| value.trim().trim_end_matches("kB").trim().parse().ok())
		.unwrap_or(0.0);
	// Linux reports CPU time in clock ticks of 1/100 s (`USER_HZ`).
	(ticks / 100.0, rss_kib / 1024.0)
}

/// Follows the chain block by block from the first block not yet read.
struct Reader {
	next: u32,
	records: BTreeMap<u32, BlockRecord>,
}

impl Reader {
	/// Waits for the next block and reads every block up to it; returns the newest number.
	async fn advance(&mut self, client: &Client) -> Result<u32, String> {
		let deadline = Instant::now() + BLOCK_TIMEOUT;
		loop {
			let best = client.best_block().await.map_err(text)?;
			if best >= self.next {
				while self.next <= best {
					let record = read_block(client, self.next).await?;
					self.records.insert(self.next, record);
					self.next += 1;
				}
				return Ok(best);
			}
			if Instant::now() > deadline {
				return Err(format!("no block {} within {BLOCK_TIMEOUT:?}", self.next));
			}
			tokio::time::sleep(Duration::from_millis(100)).await;
		}
	}
}

/// Runs every step of `settings` against the development node at `url` (process `pid`);
/// `progress` hears what is going on.
pub async fn run(
	url: &str,
	pid: u32,
	settings: &Settings,
	progress: impl Fn(&str),
) -> Result<Vec<Step>, String> {
	let client = Client::connect(url).await.map_err(text)?;
	let alice = keypair("//Alice");
	let alice_node = account(&alice);
	let (version, node_key) = client
		.node_key(&alice_node)
		.await
		.map_err(text)?
		.ok_or("Alice's node is not registered: is this a --dev chain?")?;
	let window = client.response_window().await.map_err(text)?;
	let period = client.period_length().await.map_err(text)?;
	let admitted = client.max_requests_per_block().await.map_err(text)?;
	if admitted != MAX_PER_BLOCK {
		return Err(format!(
			"the chain admits {admitted} requests per block; this benchmark is made for \
			 {MAX_PER_BLOCK} (MAX_PER_BLOCK)"
		));
	}
	if let Some(rate) = settings.rates.iter().find(|rate| **rate > MAX_PER_BLOCK) {
		return Err(format!("rate {rate}: the chain admits at most {MAX_PER_BLOCK} a block"));
	}

	// Long enough for every step, its deadlines and the setup.
	let blocks_needed: u32 =
		settings.rates.len() as u32 * (settings.blocks + window + 4) + 40 + window;
	let start = client.best_block().await.map_err(text)?;
	let end = start + blocks_needed;
	progress(&format!("setup: Alice's lock lengthened past block {end}, {READERS} readers funded"));
	client.prolong(&alice, blocks_needed / period + 4).await.map_err(text)?;
	let readers: Vec<Keypair> =
		(0..READERS).map(|i| keypair(&format!("//kms-load-reader-{i}"))).collect();
	// Submitted one after the other without waiting; they land in the next blocks.
	let mut nonce = client.next_nonce(&alice_node).await.map_err(text)?;
	for reader in &readers {
		let call = runtime::tx()
			.balances()
			.transfer_keep_alive(account(reader).into(), READER_FUNDS);
		submit(&client, &call, &alice, nonce).await?;
		nonce += 1;
	}

	progress(&format!("setup: {POLICIES} 1-of-1 policies through Alice's node"));
	let mut capsules = Vec::new();
	let mut ids = Vec::new();
	for index in 0..POLICIES {
		let delegating = SecretKey::random();
		let signer = Signer::new(SecretKey::random());
		let receiving = SecretKey::random().public_key();
		let node = umbral::public_key(&node_key).map_err(text)?;
		let sealed =
			umbral::seal_kfrags(&delegating, &signer, &receiving, 1, &[node]).map_err(text)?;
		let mut policy_id = [0u8; 16];
		policy_id[..2].copy_from_slice(&[b'L', index as u8]);
		policy_id[2..6].copy_from_slice(&start.to_be_bytes());
		let policy = Policy {
			id: policy_id,
			label: format!("load-{index}").into_bytes(),
			delegating_key: umbral::compressed(&delegating.public_key()),
			verifying_key: umbral::compressed(&signer.verifying_key()),
			receiving_key: umbral::compressed(&receiving),
			threshold: 1,
			nodes: sealed.into_iter().map(|kfrag| (alice_node, version, kfrag)).collect(),
			end,
			fee_rate: UNIT / 1000,
			conditions: Vec::new(),
		};
		let created = client.create_policy(&alice, policy, &signer).await.map_err(text)?;
		client
			.wait_for_acceptance(policy_id, &[alice_node], created.block, created.block + 20)
			.await
			.map_err(text)?;
		let (capsule, _) = umbral::encrypt(&delegating.public_key(), b"load").map_err(text)?;
		capsules.push(capsule);
		ids.push(policy_id);
	}
	for reader in &readers {
		if client.free_balance(&account(reader)).await.map_err(text)? < READER_FUNDS {
			return Err(format!("reader {} was not funded", account(reader)));
		}
	}

	// The weight the normal class may take in a block.
	let limits = client
		.api()
		.at_current_block()
		.await
		.map_err(text)?
		.constants()
		.entry(runtime::constants().system().block_weights())
		.map_err(text)?;
	let max_normal = limits
		.per_class
		.normal
		.max_total
		.map_or(limits.max_block.ref_time, |w| w.ref_time) as f64;

	let mut reader =
		Reader { next: client.best_block().await.map_err(text)? + 1, records: BTreeMap::new() };
	let mut nonces = vec![0u64; READERS];
	let mut steps = Vec::new();
	for &rate in &settings.rates {
		let rate = rate.min(READERS as u32);
		progress(&format!(
			"step: {rate} requests of {} capsules per block for {} blocks",
			settings.capsules, settings.blocks
		));
		let (cpu_before, _) = process_usage(pid);
		let started = Instant::now();
		let first = reader.advance(&client).await? + 1;
		let (mut offered, mut pool_refused) = (0, 0);
		let mut last = first;
		for _ in 0..settings.blocks {
			for slot in 0..rate as usize {
				let policy = slot % POLICIES;
				let call = runtime::tx().policies().request_reencryption(
					ids[policy],
					runtime::runtime_types::bounded_collections::bounded_vec::BoundedVec(
						(0..settings.capsules)
							.map(|_| {
								runtime::runtime_types::bounded_collections::bounded_vec::BoundedVec(
									capsules[policy].clone(),
								)
							})
							.collect(),
					),
					// The slot price rises while blocks are over half full; the readers pay
					// what it takes (they are funded for far more than a run costs).
					MAX_PRICE,
				);
				match submit(&client, &call, &readers[slot], nonces[slot]).await {
					Ok(()) => {
						nonces[slot] += 1;
						offered += 1;
					},
					Err(_) => pool_refused += 1,
				}
			}
			last = reader.advance(&client).await?;
		}
		// Every request of the step has its deadline processed in the block after it (a
		// request the pool kept back for a block or two included).
		while reader.advance(&client).await? <= last + window + 3 {}
		let (cpu_after, rss_mib) = process_usage(pid);
		let elapsed = started.elapsed().as_secs_f64().max(0.001);

		let mut step = Step {
			rate,
			capsules: settings.capsules,
			blocks: settings.blocks,
			offered,
			pool_refused,
			cpu_percent: (cpu_after - cpu_before) / elapsed * 100.0,
			rss_mib,
			..Default::default()
		};
		let mut requested_at = BTreeMap::new();
		for (&number, record) in reader.records.range(first..) {
			for id in &record.requested {
				requested_at.insert(*id, number);
			}
			step.admitted += record.requested.len() as u32;
			step.failed += record.failed;
			step.missed += record.missed;
			for id in &record.fulfilled {
				if let Some(at) = requested_at.get(id) {
					step.fulfilled += 1;
					step.latencies.push(number - at);
				}
			}
			if number <= last {
				step.weight_percent.push(record.normal_ref_time as f64 / max_normal * 100.0);
			}
		}
		progress(table(std::slice::from_ref(&step)).lines().nth(1).unwrap_or_default());
		steps.push(step);
	}
	Ok(steps)
}
