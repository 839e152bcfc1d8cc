//! The node's KMS metrics, on its Prometheus endpoint (`--prometheus-port`, default 9615), named
//! `substrate_kms_*` beside the node's own `substrate_*` metrics.
//!
//! The re-encryption worker runs in the runtime, where no Prometheus registry can be reached,
//! so the metrics come from two places, each the authority for what it says:
//!
//! - **What only the worker sees** (requests taken up, answers sent, skips and why, kfrag cache
//!   hits and misses, decisions and heartbeats sent) it counts in the node's persistent offchain
//!   storage ([`kms_primitives::metrics`]); the `substrate_kms_worker_*` counters read that
//!   record when Prometheus scrapes. They count from the creation of the node's database.
//! - **What landed on chain** (answers, heartbeats, missed deadlines and slashes of the local
//!   nodes, answer latency, stake and lock) a task of the node reads from the events and state of
//!   each new best block, decoded with the node's own runtime types. A node's claim that it
//!   answered is never taken for an answer on chain. Blocks imported while the node was behind
//!   are read in order when it catches up (up to [`CATCH_UP`] blocks at a time); blocks that no
//!   longer decode with this node's types (a runtime upgrade the node binary has not followed)
//!   are counted in `substrate_kms_undecodable_blocks_total` and logged once.
//!
//! Local nodes are those whose operator key (`kms!`) is in this node's keystore: the nodes whose
//! heartbeats and answers it signs. Their metrics carry the node's SS58 address as `node`.

use crate::chain_state::{local_nodes, read, read_events, Unread};
use codec::Decode;
use futures::StreamExt;
use kms_primitives::{
	metrics::{SkipReason, WorkerCounters, WORKER_COUNTERS_KEY},
	policies::RequestId,
	AccountId, Balance, BlockNumber,
};
use kms_runtime::{opaque::Block, Runtime, RuntimeEvent};
use sc_client_api::{BlockchainEvents, StorageProvider};
use sp_blockchain::HeaderBackend;
use sp_core::{
	crypto::Ss58Codec,
	offchain::{OffchainStorage, STORAGE_PREFIX},
};
use sp_keystore::KeystorePtr;
use sp_runtime::traits::Header as _;
use std::{
	collections::{BTreeMap, BTreeSet, HashMap},
	sync::Arc,
	time::Instant,
};
use substrate_prometheus_endpoint::{
	exponential_buckets, register, Counter, CounterVec, Gauge, GaugeVec, Histogram, HistogramOpts,
	MetricSource, Opts, PrometheusError, Registry, SourcedCounter, F64, U64,
};

/// Log target of the metrics task.
const LOG_TARGET: &str = "kms::metrics";
/// Blocks read at most when the node catches up (after a gap in the new best blocks).
pub const CATCH_UP: u32 = 256;
/// Requests remembered at most for their answer's latency (each until its deadline).
const MAX_PENDING: usize = 100_000;

/// Starts the metrics: registers them in `registry` and spawns the task that follows the chain.
pub fn start<C, S>(
	registry: &Registry,
	spawner: &sc_service::SpawnTaskHandle,
	client: Arc<C>,
	keystore: KeystorePtr,
	offchain: Option<S>,
) -> Result<(), PrometheusError>
where
	C: BlockchainEvents<Block>
		+ HeaderBackend<Block>
		+ StorageProvider<Block, sc_service::TFullBackend<Block>>
		+ Send
		+ Sync
		+ 'static,
	S: OffchainStorage + 'static,
{
	if let Some(storage) = offchain {
		register_worker_counters(registry, storage)?;
	}
	let metrics = ChainMetrics::register(registry)?;
	let mut watcher = Watcher::new(metrics);
	spawner.spawn("kms-metrics", Some("kms"), async move {
		let mut imports = client.import_notification_stream();
		while let Some(imported) = imports.next().await {
			if imported.is_new_best {
				watcher.follow(&*client, &keystore, imported.hash);
			}
		}
	});
	Ok(())
}

/// The worker's counters, read from offchain storage when Prometheus scrapes.
#[derive(Clone)]
struct WorkerSource<S> {
	storage: S,
	/// The values of one metric from the counters: label values and count.
	values: fn(&WorkerCounters, &mut dyn FnMut(&[&str], u64)),
}

impl<S: OffchainStorage> MetricSource for WorkerSource<S> {
	type N = u64;

	fn collect(&self, mut set: impl FnMut(&[&str], u64)) {
		// Nothing counted yet (or a record of another layout): every count is zero.
		let counters = self
			.storage
			.get(STORAGE_PREFIX, WORKER_COUNTERS_KEY)
			.and_then(|bytes| WorkerCounters::decode(&mut &bytes[..]).ok())
			.unwrap_or_default();
		(self.values)(&counters, &mut set);
	}
}

/// Registers the `substrate_kms_worker_*` counters.
fn register_worker_counters<S: OffchainStorage + 'static>(
	registry: &Registry,
	storage: S,
) -> Result<(), PrometheusError> {
	type Values = fn(&WorkerCounters, &mut dyn FnMut(&[&str], u64));
	let metrics: [(&str, &str, &[&str], Values); 7] = [
		(
			"substrate_kms_worker_requests_seen_total",
			"Requests the re-encryption worker took up for a local node",
			&[],
			|c, set| set(&[], c.requests_seen),
		),
		(
			"substrate_kms_worker_answers_sent_total",
			"Requests whose first answer (cfrags checked and signed) the worker sent to the pool",
			&[],
			|c, set| set(&[], c.answers_sent),
		),
		(
			"substrate_kms_worker_requests_skipped_total",
			"Requests whose first attempt failed, by reason (resends are not counted)",
			&["reason"],
			|c, set| {
				for reason in SkipReason::ALL {
					set(&[reason.label()], c.skipped(reason));
				}
			},
		),
		(
			"substrate_kms_worker_kfrag_cache_hits_total",
			"Answers made with a kfrag from the worker's cache",
			&[],
			|c, set| set(&[], c.kfrag_cache_hits),
		),
		(
			"substrate_kms_worker_kfrag_cache_misses_total",
			"Answers for which the worker opened and checked the kfrag again",
			&[],
			|c, set| set(&[], c.kfrag_cache_misses),
		),
		(
			"substrate_kms_worker_decisions_sent_total",
			"Decisions on policies the worker sent, by decision",
			&["decision"],
			|c, set| {
				set(&["accept"], c.decisions_accepted);
				set(&["decline"], c.decisions_declined);
			},
		),
		(
			"substrate_kms_worker_heartbeats_sent_total",
			"Heartbeats the worker sent to the transaction pool",
			&[],
			|c, set| set(&[], c.heartbeats_sent),
		),
	];
	for (name, help, labels, values) in metrics {
		let opts =
			Opts::new(name, help).variable_labels(labels.iter().map(|l| l.to_string()).collect());
		let source = WorkerSource { storage: storage.clone(), values };
		register(SourcedCounter::new(&opts, source)?, registry)?;
	}
	Ok(())
}

/// The metrics read from the chain.
#[derive(Clone)]
struct ChainMetrics {
	answers_landed: CounterVec<U64>,
	heartbeats_landed: CounterVec<U64>,
	missed_deadlines: CounterVec<U64>,
	slashes: CounterVec<U64>,
	latency_blocks: Histogram,
	latency_seconds: Histogram,
	stake: GaugeVec<F64>,
	lock_periods: GaugeVec<U64>,
	winding_down: GaugeVec<U64>,
	period_missed: GaugeVec<U64>,
	period_heartbeat: GaugeVec<U64>,
	local_nodes: Gauge<U64>,
	undecodable: Counter<U64>,
}

impl ChainMetrics {
	fn register(registry: &Registry) -> Result<Self, PrometheusError> {
		let by_node = |name: &str, help: &str| -> Result<CounterVec<U64>, PrometheusError> {
			register(CounterVec::new(Opts::new(name, help), &["node"])?, registry)
		};
		let gauge = |name: &str, help: &str| -> Result<GaugeVec<U64>, PrometheusError> {
			register(GaugeVec::new(Opts::new(name, help), &["node"])?, registry)
		};
		Ok(ChainMetrics {
			answers_landed: by_node(
				"substrate_kms_answers_landed_total",
				"Answers of local nodes included in best blocks",
			)?,
			heartbeats_landed: by_node(
				"substrate_kms_heartbeats_landed_total",
				"Heartbeats of local nodes included in best blocks",
			)?,
			missed_deadlines: by_node(
				"substrate_kms_missed_deadlines_total",
				"Request deadlines local nodes let pass (DeadlineMissed in best blocks)",
			)?,
			slashes: by_node("substrate_kms_slashes_total", "Slashes of local nodes' stake")?,
			latency_blocks: register(
				Histogram::with_opts(
					HistogramOpts::new(
						"substrate_kms_answer_latency_blocks",
						"Blocks from a request's block to the block with a local node's answer",
					)
					.buckets(vec![1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 8.0, 10.0, 15.0, 20.0]),
				)?,
				registry,
			)?,
			latency_seconds: register(
				Histogram::with_opts(
					HistogramOpts::new(
						"substrate_kms_answer_latency_seconds",
						"Seconds from this node's import of a request to its import of a local \
						 node's answer",
					)
					.buckets(exponential_buckets(0.25, 2.0, 9)?),
				)?,
				registry,
			)?,
			stake: register(
				GaugeVec::new(
					Opts::new(
						"substrate_kms_node_active_stake",
						"Local nodes' active stake, in plancks",
					),
					&["node"],
				)?,
				registry,
			)?,
			lock_periods: gauge(
				"substrate_kms_node_lock_periods",
				"Local nodes' lock, in served periods",
			)?,
			winding_down: gauge(
				"substrate_kms_node_winding_down",
				"1 if a local node's lock winds down",
			)?,
			period_missed: gauge(
				"substrate_kms_node_period_missed_deadlines",
				"Deadlines a local node missed in the current period (from chain state)",
			)?,
			period_heartbeat: gauge(
				"substrate_kms_node_period_heartbeat",
				"1 once a local node's heartbeat for the current period is on chain",
			)?,
			local_nodes: register(
				Gauge::new(
					"substrate_kms_local_nodes",
					"Registered nodes whose operator key is in this node's keystore",
				)?,
				registry,
			)?,
			undecodable: register(
				Counter::new(
					"substrate_kms_undecodable_blocks_total",
					"Best blocks whose events or state this node's runtime types do not decode",
				)?,
				registry,
			)?,
		})
	}
}

/// What landed in one block that the metrics count.
#[derive(Debug, Default, PartialEq)]
struct Landed {
	requests: Vec<(RequestId, BlockNumber)>,
	answers: Vec<(RequestId, AccountId)>,
	heartbeats: Vec<AccountId>,
	missed: Vec<AccountId>,
	slashed: Vec<AccountId>,
}

impl Landed {
	/// Sorts the block's events.
	fn of(events: impl IntoIterator<Item = RuntimeEvent>) -> Landed {
		use pallet_kms_policies::Event as Policies;
		use pallet_kms_staking::Event as Staking;
		let mut landed = Landed::default();
		for event in events {
			match event {
				RuntimeEvent::Policies(Policies::ReencryptionRequested {
					request,
					deadline,
					..
				}) => landed.requests.push((request, deadline)),
				RuntimeEvent::Policies(Policies::CfragsSubmitted { request, node }) => {
					landed.answers.push((request, node))
				},
				RuntimeEvent::Staking(Staking::HeartbeatReceived { node, .. }) => {
					landed.heartbeats.push(node)
				},
				RuntimeEvent::Staking(Staking::DeadlineMissed { node, .. }) => {
					landed.missed.push(node)
				},
				RuntimeEvent::Staking(Staking::Slashed { staker, .. }) => {
					landed.slashed.push(staker)
				},
				_ => {},
			}
		}
		landed
	}
}

/// A local node's staking state at a block.
#[derive(Debug, Default, Clone, PartialEq)]
struct NodeState {
	stake: Balance,
	lock_periods: u32,
	winding_down: bool,
	period_missed: u32,
	period_heartbeat: bool,
}

/// A request waiting for local nodes' answers: its block, when this node imported it (for
/// blocks read as they came, not in a catch-up) and its deadline.
struct Pending {
	block: BlockNumber,
	seen: Option<Instant>,
	deadline: BlockNumber,
}

/// Follows the new best blocks and keeps the chain's metrics.
struct Watcher {
	metrics: ChainMetrics,
	/// The blocks read, the newest [`CATCH_UP`] of them: where the next new best block's
	/// branch joins what was read.
	read: BTreeMap<BlockNumber, kms_runtime::Hash>,
	pending: HashMap<RequestId, Pending>,
	/// The local nodes with metrics, by address.
	shown: BTreeSet<String>,
	/// Whether an undecodable block was logged.
	warned: bool,
}

impl Watcher {
	fn new(metrics: ChainMetrics) -> Watcher {
		Watcher {
			metrics,
			read: BTreeMap::new(),
			pending: HashMap::new(),
			shown: BTreeSet::new(),
			warned: false,
		}
	}

	/// Reads the blocks of the new best block `best`'s branch that were not read yet, back to
	/// where it joins the blocks read (a gap while the node was syncing, or the blocks a reorg
	/// enacted; at most [`CATCH_UP`] of them), in order. The blocks a reorg retracted stay
	/// counted: counters do not go back.
	fn follow<C>(&mut self, client: &C, keystore: &KeystorePtr, best: kms_runtime::Hash)
	where
		C: HeaderBackend<Block> + StorageProvider<Block, sc_service::TFullBackend<Block>>,
	{
		let header = |hash| {
			let header = client.header(hash).ok()??;
			Some((*header.number(), *header.parent_hash()))
		};
		for (hash, number) in self.unread(best, header) {
			// Only the block just imported is timed: the others came in a batch.
			let now = (hash == best).then(Instant::now);
			let read = local_nodes(client, keystore, hash)
				.and_then(|nodes| Ok((nodes, read_events(client, hash)?)));
			match read {
				Ok((nodes, events)) => self.landed(number, now, &Landed::of(events), &nodes),
				// Pruned while the node caught up: nothing to read, nothing wrong.
				Err(Unread::StateGone) => {
					log::debug!(target: LOG_TARGET, "block {number}: state pruned, not read")
				},
				Err(Unread::Undecodable) => self.undecodable(number),
			}
			self.read.insert(number, hash);
		}
		while self.read.len() > CATCH_UP as usize {
			// Only the newest are remembered.
			self.read.pop_first();
		}
		if let Ok(nodes) = local_nodes(client, keystore, best) {
			let states: Vec<_> = nodes
				.iter()
				.map(|node| (node.clone(), node_state(client, best, node)))
				.collect();
			self.show_states(&states);
		}
	}

	/// The blocks of `best`'s branch not read yet, oldest first (see [`Self::follow`]);
	/// `header` gives a block's number and parent.
	fn unread(
		&self,
		best: kms_runtime::Hash,
		header: impl Fn(kms_runtime::Hash) -> Option<(BlockNumber, kms_runtime::Hash)>,
	) -> Vec<(kms_runtime::Hash, BlockNumber)> {
		let oldest_read = self.read.keys().next().copied();
		let mut blocks = Vec::new();
		let mut hash = best;
		while let Some((number, parent)) = header(hash) {
			if self.read.get(&number) == Some(&hash) || blocks.len() >= CATCH_UP as usize {
				break;
			}
			blocks.push((hash, number));
			// Nothing read yet (this block is the first), the genesis, or beyond what is
			// remembered: no further back.
			if oldest_read.is_none_or(|oldest| number <= oldest) || number == 0 {
				break;
			}
			hash = parent;
		}
		blocks.reverse();
		blocks
	}

	/// Counts what landed in block `number` (imported at `now`, if it was read as it came)
	/// for the local `nodes`.
	fn landed(
		&mut self,
		number: BlockNumber,
		now: Option<Instant>,
		landed: &Landed,
		nodes: &[AccountId],
	) {
		let local = |node: &AccountId| nodes.contains(node);
		for (request, deadline) in &landed.requests {
			if self.pending.len() < MAX_PENDING {
				let pending = Pending { block: number, seen: now, deadline: *deadline };
				self.pending.insert(*request, pending);
			}
		}
		for (request, node) in landed.answers.iter().filter(|(_, node)| local(node)) {
			self.metrics.answers_landed.with_label_values(&[&address(node)]).inc();
			if let Some(pending) = self.pending.get(request) {
				self.metrics
					.latency_blocks
					.observe(f64::from(number.saturating_sub(pending.block)));
				if let (Some(seen), Some(now)) = (pending.seen, now) {
					self.metrics.latency_seconds.observe(now.duration_since(seen).as_secs_f64());
				}
			}
		}
		for (counter, accounts) in [
			(&self.metrics.heartbeats_landed, &landed.heartbeats),
			(&self.metrics.missed_deadlines, &landed.missed),
			(&self.metrics.slashes, &landed.slashed),
		] {
			for node in accounts.iter().filter(|node| local(node)) {
				counter.with_label_values(&[&address(node)]).inc();
			}
		}
		self.pending.retain(|_, pending| pending.deadline >= number);
	}

	/// Shows the local nodes' staking state (and their counters, from zero), and drops the
	/// metrics of nodes no longer local.
	fn show_states(&mut self, states: &[(AccountId, Option<NodeState>)]) {
		let metrics = &self.metrics;
		let counters = [
			&metrics.answers_landed,
			&metrics.heartbeats_landed,
			&metrics.missed_deadlines,
			&metrics.slashes,
		];
		let mut shown = BTreeSet::new();
		for (node, state) in states {
			let Some(state) = state else { continue };
			let label = address(node);
			for counter in counters {
				// A counter that has not counted yet is served as zero, not left out.
				let _ = counter.with_label_values(&[&label]);
			}
			metrics.stake.with_label_values(&[&label]).set(state.stake as f64);
			metrics.lock_periods.with_label_values(&[&label]).set(state.lock_periods.into());
			metrics.winding_down.with_label_values(&[&label]).set(state.winding_down.into());
			metrics
				.period_missed
				.with_label_values(&[&label])
				.set(state.period_missed.into());
			metrics
				.period_heartbeat
				.with_label_values(&[&label])
				.set(state.period_heartbeat.into());
			shown.insert(label);
		}
		for gone in self.shown.difference(&shown) {
			for gauge in [
				&metrics.lock_periods,
				&metrics.winding_down,
				&metrics.period_missed,
				&metrics.period_heartbeat,
			] {
				let _ = gauge.remove_label_values(&[gone]);
			}
			for counter in counters {
				let _ = counter.remove_label_values(&[gone]);
			}
			let _ = metrics.stake.remove_label_values(&[gone]);
		}
		metrics.local_nodes.set(shown.len() as u64);
		self.shown = shown;
	}

	/// Counts a block whose events do not decode, and says so once.
	fn undecodable(&mut self, number: BlockNumber) {
		self.metrics.undecodable.inc();
		if !self.warned {
			self.warned = true;
			log::warn!(
				target: LOG_TARGET,
				"the events of block {number} do not decode with this node's runtime types: the \
				 chain's runtime was upgraded and this binary was not; KMS metrics of landed \
				 answers, heartbeats and deadlines stop until the node is upgraded"
			);
		}
	}
}

/// A node's address, as its metrics show it: SS58 with the chain's prefix.
fn address(node: &AccountId) -> String {
	let prefix = <Runtime as frame_system::Config>::SS58Prefix::get();
	node.to_ss58check_with_version(prefix.into())
}

/// `node`'s staking state at block `hash`, if it decodes.
fn node_state<C>(client: &C, hash: kms_runtime::Hash, node: &AccountId) -> Option<NodeState>
where
	C: HeaderBackend<Block> + StorageProvider<Block, sc_service::TFullBackend<Block>>,
{
	let ledger_key = pallet_kms_staking::Ledgers::<Runtime>::hashed_key_for(node);
	let ledger = read::<pallet_kms_staking::LedgerOf<Runtime>, _>(client, hash, ledger_key).ok()?;
	let number = client.number(hash).ok()??;
	// The period length this binary was built with: the chain's while the binary matches its
	// runtime (a `fast-runtime` node for a `fast-runtime` chain, as `kms-node --version` and the
	// chain spec tell).
	let length = <Runtime as pallet_kms_staking::Config>::PeriodLength::get().max(1);
	let period = number / length;
	let service_key = pallet_kms_staking::Service::<Runtime>::hashed_key_for(period, node);
	let service = read::<pallet_kms_staking::ServiceRecord, _>(client, hash, service_key)
		.ok()?
		.unwrap_or_default();
	Some(match ledger {
		Some(ledger) => NodeState {
			stake: ledger.active,
			lock_periods: ledger.lock_periods,
			winding_down: ledger.wind_down,
			period_missed: service.missed_deadlines,
			period_heartbeat: service.heartbeat,
		},
		None => NodeState {
			period_missed: service.missed_deadlines,
			period_heartbeat: service.heartbeat,
			..NodeState::default()
		},
	})
}

#[cfg(test)]
mod tests {
	use super::*;
	use std::time::Duration;

	fn account(byte: u8) -> AccountId {
		AccountId::new([byte; 32])
	}

	/// The value of `name` with the label values `labels` in what Prometheus would scrape.
	fn scraped(registry: &Registry, name: &str, labels: &[(&str, &str)]) -> Option<f64> {
		let family = registry.gather().into_iter().find(|family| family.get_name() == name)?;
		let metric = family.get_metric().iter().find(|metric| {
			labels.iter().all(|(label, value)| {
				metric
					.get_label()
					.iter()
					.any(|pair| pair.get_name() == *label && pair.get_value() == *value)
			})
		})?;
		use substrate_prometheus_endpoint::prometheus::proto::MetricType;
		Some(match family.get_field_type() {
			MetricType::COUNTER => metric.get_counter().get_value(),
			MetricType::GAUGE => metric.get_gauge().get_value(),
			_ => metric.get_histogram().get_sample_sum(),
		})
	}

	/// A block hash of the fork `fork` at height `number`.
	fn hash(fork: u8, number: BlockNumber) -> kms_runtime::Hash {
		let mut bytes = [fork; 32];
		bytes[..4].copy_from_slice(&number.to_le_bytes());
		kms_runtime::Hash::from(bytes)
	}

	/// A chain of forks: `(fork, from)` branches off fork 0 below height `from`.
	fn header(
		forks: &[(u8, BlockNumber)],
	) -> impl Fn(kms_runtime::Hash) -> Option<(BlockNumber, kms_runtime::Hash)> + '_ {
		move |block: kms_runtime::Hash| {
			let bytes = block.as_bytes();
			let number = BlockNumber::from_le_bytes(bytes[..4].try_into().ok()?);
			let fork = bytes[4];
			let from = forks.iter().find(|(f, _)| *f == fork).map_or(0, |(_, from)| *from);
			let parent = number.checked_sub(1)?;
			Some((number, hash(if parent < from { 0 } else { fork }, parent)))
		}
	}

	#[test]
	fn every_block_of_the_best_branch_is_read_once_in_order() {
		let registry = Registry::new();
		let mut watcher = Watcher::new(ChainMetrics::register(&registry).unwrap());
		let forks = [(0, 0), (1, 8)];
		let chain = header(&forks);
		let read = |watcher: &mut Watcher, best| {
			let blocks = watcher.unread(best, &chain);
			for (hash, number) in &blocks {
				watcher.read.insert(*number, *hash);
			}
			blocks
				.into_iter()
				.map(|(hash, number)| (hash.as_bytes()[4], number))
				.collect::<Vec<_>>()
		};
		// The first block seen is read alone: the node does not read the chain's history.
		assert_eq!(read(&mut watcher, hash(0, 5)), [(0, 5)]);
		assert_eq!(read(&mut watcher, hash(0, 6)), [(0, 6)]);
		// A gap (the node was syncing): every block of it, in order.
		assert_eq!(read(&mut watcher, hash(0, 9)), [(0, 7), (0, 8), (0, 9)]);
		// A reorg to fork 1, which branched off below height 8: its blocks from 8 on.
		assert_eq!(read(&mut watcher, hash(1, 10)), [(1, 8), (1, 9), (1, 10)]);
		// Back to a block already read: nothing.
		assert_eq!(read(&mut watcher, hash(1, 10)), []);
		// A gap longer than remembered: the newest `CATCH_UP` blocks.
		let far = read(&mut watcher, hash(1, 10 + CATCH_UP + 50));
		assert_eq!(far.len(), CATCH_UP as usize);
		assert_eq!(far.last(), Some(&(1, 10 + CATCH_UP + 50)));
	}

	#[test]
	fn events_are_sorted_by_what_they_count() {
		use pallet_kms_policies::Event as Policies;
		use pallet_kms_staking::Event as Staking;
		let (alice, bob) = (account(1), account(2));
		let events = [
			RuntimeEvent::Policies(Policies::ReencryptionRequested {
				request: 7,
				policy: [1; 16],
				version: 0,
				requester: bob.clone(),
				capsules: 1,
				deadline: 30,
				price: 5,
			}),
			RuntimeEvent::Policies(Policies::CfragsSubmitted { request: 7, node: alice.clone() }),
			RuntimeEvent::Staking(Staking::HeartbeatReceived {
				node: bob.clone(),
				period: 2,
				lock_periods: 9,
			}),
			RuntimeEvent::Staking(Staking::DeadlineMissed { node: alice.clone(), period: 2 }),
			RuntimeEvent::Staking(Staking::Slashed { staker: bob.clone(), amount: 100 }),
			RuntimeEvent::Policies(Policies::RequestFulfilled { request: 7, policy: [1; 16] }),
		];
		assert_eq!(
			Landed::of(events),
			Landed {
				requests: vec![(7, 30)],
				answers: vec![(7, alice.clone())],
				heartbeats: vec![bob.clone()],
				missed: vec![alice],
				slashed: vec![bob],
			}
		);
	}

	#[test]
	fn only_local_nodes_are_counted_and_answers_are_timed() {
		let registry = Registry::new();
		let mut watcher = Watcher::new(ChainMetrics::register(&registry).unwrap());
		let (local, other) = (account(1), account(2));
		let nodes = [local.clone()];
		let start = Instant::now();
		let request = Landed { requests: vec![(7, 14), (8, 14)], ..Landed::default() };
		watcher.landed(10, Some(start), &request, &nodes);
		let answers = Landed {
			answers: vec![(7, local.clone()), (7, other.clone()), (8, other.clone())],
			heartbeats: vec![local.clone(), other.clone()],
			missed: vec![other.clone()],
			slashed: vec![local.clone()],
			..Landed::default()
		};
		watcher.landed(12, Some(start + Duration::from_millis(1500)), &answers, &nodes);
		// Past the deadline: the requests are forgotten.
		watcher.landed(15, None, &Landed::default(), &nodes);
		assert!(watcher.pending.is_empty());

		let (local, other) = (address(&local), address(&other));
		let count = |name: &str, node: &str| scraped(&registry, name, &[("node", node)]);
		assert_eq!(count("substrate_kms_answers_landed_total", &local), Some(1.0));
		assert_eq!(count("substrate_kms_answers_landed_total", &other), None);
		assert_eq!(count("substrate_kms_heartbeats_landed_total", &local), Some(1.0));
		assert_eq!(count("substrate_kms_heartbeats_landed_total", &other), None);
		assert_eq!(count("substrate_kms_missed_deadlines_total", &other), None);
		assert_eq!(count("substrate_kms_slashes_total", &local), Some(1.0));
		// One answer timed: two blocks, a second and a half.
		assert_eq!(watcher.metrics.latency_blocks.get_sample_count(), 1);
		assert_eq!(watcher.metrics.latency_blocks.get_sample_sum(), 2.0);
		assert_eq!(watcher.metrics.latency_seconds.get_sample_count(), 1);
		assert_eq!(watcher.metrics.latency_seconds.get_sample_sum(), 1.5);
	}

	#[test]
	fn answers_read_in_a_catch_up_count_blocks_not_seconds() {
		let registry = Registry::new();
		let mut watcher = Watcher::new(ChainMetrics::register(&registry).unwrap());
		let node = account(1);
		let request = Landed { requests: vec![(7, 14)], ..Landed::default() };
		watcher.landed(10, None, &request, std::slice::from_ref(&node));
		let answer = Landed { answers: vec![(7, node.clone())], ..Landed::default() };
		watcher.landed(11, Some(Instant::now()), &answer, &[node]);
		assert_eq!(watcher.metrics.latency_blocks.get_sample_count(), 1);
		assert_eq!(watcher.metrics.latency_seconds.get_sample_count(), 0);
	}

	#[test]
	fn a_node_no_longer_local_loses_its_gauges() {
		let registry = Registry::new();
		let mut watcher = Watcher::new(ChainMetrics::register(&registry).unwrap());
		let (first, second) = (account(1), account(2));
		let state = NodeState {
			stake: 20_000,
			lock_periods: 31,
			winding_down: true,
			period_missed: 2,
			period_heartbeat: true,
		};
		watcher.show_states(&[(first.clone(), Some(state.clone())), (second.clone(), Some(state))]);
		let (first, second) = (address(&first), address(&second));
		let gauge = |name: &str, node: &str| scraped(&registry, name, &[("node", node)]);
		assert_eq!(gauge("substrate_kms_node_active_stake", &second), Some(20_000.0));
		assert_eq!(gauge("substrate_kms_node_lock_periods", &second), Some(31.0));
		assert_eq!(gauge("substrate_kms_node_winding_down", &second), Some(1.0));
		assert_eq!(gauge("substrate_kms_node_period_missed_deadlines", &second), Some(2.0));
		assert_eq!(gauge("substrate_kms_node_period_heartbeat", &second), Some(1.0));
		assert_eq!(
			gauge("substrate_kms_missed_deadlines_total", &second),
			Some(0.0),
			"served from zero"
		);
		assert_eq!(scraped(&registry, "substrate_kms_local_nodes", &[]), Some(2.0));

		watcher.show_states(&[(account(1), Some(NodeState::default()))]);
		assert_eq!(gauge("substrate_kms_node_active_stake", &first), Some(0.0));
		assert_eq!(gauge("substrate_kms_node_active_stake", &second), None);
		assert_eq!(gauge("substrate_kms_node_lock_periods", &second), None);
		assert_eq!(gauge("substrate_kms_missed_deadlines_total", &second), None);
		assert_eq!(scraped(&registry, "substrate_kms_local_nodes", &[]), Some(1.0));
	}

	#[test]
	fn worker_counters_are_read_from_offchain_storage() {
		use codec::Encode;
		let mut storage = sp_core::offchain::storage::InMemOffchainStorage::default();
		// Nothing counted yet: zeros.
		let empty = Registry::new();
		register_worker_counters(&empty, storage.clone()).unwrap();
		assert_eq!(scraped(&empty, "substrate_kms_worker_requests_seen_total", &[]), Some(0.0));

		let mut counters =
			WorkerCounters { requests_seen: 5, answers_sent: 4, ..Default::default() };
		counters.skip(SkipReason::PoolRefused);
		counters.kfrag_cache_hits = 3;
		counters.decisions_declined = 2;
		counters.heartbeats_sent = 6;
		storage.set(STORAGE_PREFIX, WORKER_COUNTERS_KEY, &counters.encode());
		let registry = Registry::new();
		register_worker_counters(&registry, storage).unwrap();
		let value = |name: &str, labels: &[(&str, &str)]| scraped(&registry, name, labels);
		assert_eq!(value("substrate_kms_worker_requests_seen_total", &[]), Some(5.0));
		assert_eq!(value("substrate_kms_worker_answers_sent_total", &[]), Some(4.0));
		assert_eq!(
			value("substrate_kms_worker_requests_skipped_total", &[("reason", "pool_refused")]),
			Some(1.0)
		);
		assert_eq!(
			value("substrate_kms_worker_requests_skipped_total", &[("reason", "no_kfrag")]),
			Some(0.0)
		);
		assert_eq!(value("substrate_kms_worker_kfrag_cache_hits_total", &[]), Some(3.0));
		assert_eq!(value("substrate_kms_worker_kfrag_cache_misses_total", &[]), Some(0.0));
		assert_eq!(
			value("substrate_kms_worker_decisions_sent_total", &[("decision", "decline")]),
			Some(2.0)
		);
		assert_eq!(value("substrate_kms_worker_heartbeats_sent_total", &[]), Some(6.0));
	}
}
