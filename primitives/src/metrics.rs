//! What the offchain workers count for the node's Prometheus metrics.
//!
//! The re-encryption and heartbeat workers run inside the runtime (WebAssembly), which has no
//! way to reach the node's Prometheus registry. They count what only they see (requests taken
//! up, answers sent, requests skipped and why, kfrag cache hits and misses, decisions and
//! heartbeats sent) in the node's persistent offchain storage under [`WORKER_COUNTERS_KEY`], a
//! SCALE [`WorkerCounters`]; the node reads that record when Prometheus scrapes it. Everything the
//! chain records (answers and heartbeats landed, missed deadlines, stake) the node reads from the
//! blocks it imports instead, so that a metric of what landed is never the worker's own claim.
//!
//! The counters are kept for the life of the node's database and only grow: a node restart does
//! not reset them (Prometheus's `rate` does not mind either way).

use codec::{Decode, Encode};

/// The key of the worker's counters in persistent offchain storage (SCALE [`WorkerCounters`]).
pub const WORKER_COUNTERS_KEY: &[u8] = b"kms::worker-counters/v1";

/// How many [`SkipReason`]s there are.
pub const SKIP_REASONS: usize = 7;

/// Why the worker took up a request for one of its nodes and did not answer it.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum SkipReason {
	/// The node's kfrag of the policy is not on chain.
	NoKFrag,
	/// The node's kfrag does not open with its key or fails its checks.
	KFragUnusable,
	/// A capsule of the request does not decode (canonically).
	CapsuleUndecodable,
	/// A cfrag failed the node's own check: the node does not sign it.
	CfragUnverified,
	/// The node's operator key is not in this node's keystore.
	NoOperatorKey,
	/// The keystore did not sign the answer.
	SigningFailed,
	/// The transaction pool refused the answer.
	PoolRefused,
}

impl SkipReason {
	/// Every reason, in the order of [`WorkerCounters::skipped`].
	pub const ALL: [SkipReason; SKIP_REASONS] = [
		SkipReason::NoKFrag,
		SkipReason::KFragUnusable,
		SkipReason::CapsuleUndecodable,
		SkipReason::CfragUnverified,
		SkipReason::NoOperatorKey,
		SkipReason::SigningFailed,
		SkipReason::PoolRefused,
	];

	/// The reason's Prometheus label value.
	pub fn label(self) -> &'static str {
		match self {
			SkipReason::NoKFrag => "no_kfrag",
			SkipReason::KFragUnusable => "kfrag_unusable",
			SkipReason::CapsuleUndecodable => "capsule_undecodable",
			SkipReason::CfragUnverified => "cfrag_unverified",
			SkipReason::NoOperatorKey => "no_operator_key",
			SkipReason::SigningFailed => "signing_failed",
			SkipReason::PoolRefused => "pool_refused",
		}
	}

	/// The reason's place in [`WorkerCounters::skipped`].
	fn index(self) -> usize {
		self as usize
	}
}

/// The worker's counters (see the [module](self) docs).
#[derive(Clone, Default, PartialEq, Eq, Debug, Encode, Decode)]
pub struct WorkerCounters {
	/// Requests taken up for a local node (once per request and node, resends not counted).
	pub requests_seen: u64,
	/// Requests whose first answer (the node's cfrags, checked and signed) the transaction pool
	/// accepted. Resends of an answer that has not landed are not counted.
	pub answers_sent: u64,
	/// Requests whose first attempt failed, by [`SkipReason`] in the order of
	/// [`SkipReason::ALL`]. (A resend may still land an answer refused by the pool at first:
	/// the node's `substrate_kms_answers_landed_total` counts what landed.)
	pub skipped: [u64; SKIP_REASONS],
	/// Answers made with a kfrag from the node's cache.
	pub kfrag_cache_hits: u64,
	/// Answers for which the kfrag had to be opened and checked again.
	pub kfrag_cache_misses: u64,
	/// Policy versions accepted (decisions sent).
	pub decisions_accepted: u64,
	/// Policy versions declined (decisions sent).
	pub decisions_declined: u64,
	/// Heartbeats signed and accepted by the transaction pool.
	pub heartbeats_sent: u64,
}

impl WorkerCounters {
	/// How many requests were skipped for `reason`.
	pub fn skipped(&self, reason: SkipReason) -> u64 {
		self.skipped.get(reason.index()).copied().unwrap_or_default()
	}

	/// Counts one request skipped for `reason`.
	pub fn skip(&mut self, reason: SkipReason) {
		if let Some(count) = self.skipped.get_mut(reason.index()) {
			*count = count.saturating_add(1);
		}
	}
}

/// Adds to the worker's counters in persistent offchain storage: for offchain workers only (it
/// panics outside offchain context, as every offchain storage access does). Another worker
/// changing the record at the same moment makes it try again, a few times; a count lost after
/// that is not worth more of the worker's time.
pub fn count(update: impl Fn(&mut WorkerCounters)) {
	use sp_runtime::offchain::storage::{MutateStorageError, StorageValueRef};
	for _ in 0..4 {
		let counted = StorageValueRef::persistent(WORKER_COUNTERS_KEY).mutate(
			|counters: Result<Option<WorkerCounters>, _>| -> Result<_, ()> {
				// A record that does not decode (never written by this version) starts anew.
				let mut counters = counters.ok().flatten().unwrap_or_default();
				update(&mut counters);
				Ok(counters)
			},
		);
		if !matches!(counted, Err(MutateStorageError::ConcurrentModification(_))) {
			return;
		}
	}
}

#[cfg(test)]
mod tests {
	use super::*;

	#[test]
	fn every_reason_has_its_own_counter_and_label() {
		let mut counters = WorkerCounters::default();
		for (n, reason) in SkipReason::ALL.into_iter().enumerate() {
			for _ in 0..=n {
				counters.skip(reason);
			}
		}
		for (n, reason) in SkipReason::ALL.into_iter().enumerate() {
			assert_eq!(counters.skipped(reason), n as u64 + 1, "{reason:?}");
		}
		let mut labels: Vec<_> = SkipReason::ALL.iter().map(|reason| reason.label()).collect();
		labels.sort();
		labels.dedup();
		assert_eq!(labels.len(), SkipReason::ALL.len());
		assert_eq!(counters.skipped.len(), SkipReason::ALL.len());
	}

	#[test]
	fn counters_are_counted_in_offchain_storage() {
		use sp_core::offchain::{testing::TestOffchainExt, OffchainDbExt};
		let (offchain, _) = TestOffchainExt::new();
		let mut ext = sp_io::TestExternalities::default();
		ext.register_extension(OffchainDbExt::new(offchain));
		ext.execute_with(|| {
			count(|c| c.requests_seen += 1);
			count(|c| c.skip(SkipReason::PoolRefused));
			count(|c| c.requests_seen += 1);
			let stored = sp_io::offchain::local_storage_get(
				sp_core::offchain::StorageKind::PERSISTENT,
				WORKER_COUNTERS_KEY,
			)
			.expect("the counters are stored");
			let counters = WorkerCounters::decode(&mut &stored[..]).expect("they decode");
			assert_eq!(counters.requests_seen, 2);
			assert_eq!(counters.skipped(SkipReason::PoolRefused), 1);
			assert_eq!(counters.answers_sent, 0);
		});
	}
}
