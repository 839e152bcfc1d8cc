//! The node's part of re-encryption (`PROTOCOL.md`, "Re-encryption", step 2, and "Threat
//! model"), run by its offchain worker on each imported block.
//!
//! A node's Umbral identity never touches the chain or the keystore: the node keeps 32-byte
//! seeds in its persistent offchain storage under [`UMBRAL_SEEDS_KEY`] (SCALE `Vec<[u8; 32]>`,
//! old ones kept while policies granted under them live), and each seed's Umbral secret is
//! derived as [`kms_primitives::staking::identity`] says. Every run does three things for the
//! nodes whose keys it holds:
//!
//! 1. **Decides** on the policy versions the node is pending in ([`PendingDecisions`]): it opens
//!    the kfrag and checks it completely with [`check_kfrag`] (canonical encoding,
//!    `KeyFrag::verify` against the policy's keys, and a self-test re-encryption checked with
//!    `CapsuleFrag::verify`, the adjudicator's own check), then accepts or declines in one free
//!    transaction signed by the node's operator key, bound to the hash of what it checked.
//! 2. **Answers** every live request (deadline not passed, so an answer can still land), in
//!    deadline order, for each node that accepted the request's policy version: it re-encrypts
//!    every capsule, checks each cfrag with `CapsuleFrag::verify` before signing (a node never
//!    signs a cfrag it has not verified), and submits them in one free transaction signed over
//!    the request's content and its policy's keys ([`Request::answer_hash`]). The live
//!    requests are found through the chain's deadline queues, so one request never hides
//!    another.
//! 3. **Sweeps** its local records: kfrags of policies no longer served, and submission
//!    records past their deadline.
//!
//! Local state is keyed by content, never by ids alone: the kfrag cache by the hash of the
//! policy keys and envelope ([`grant_content_hash`]), submission records by the request's
//! content and policy keys ([`Request::answer_hash`]), the cfrags kept for a resend also by
//! the kfrag they were made with. After a reorg, an id that names different content on the
//! new fork is new work, never an old answer replayed. A record per (request, node) keeps the
//! worker from submitting twice; it sends the answer again only if it has not landed in the
//! next block ([`ANSWER_RESEND_AFTER`]) and the deadline has not passed, with the cfrags it
//! checked the first time (kept until the deadline) and a later `sent_at`. A later attempt
//! ranks higher in the pool and replaces the one before, so it goes out to peers as a new
//! transaction: a peer that refused the first because it had not yet imported the request's
//! block takes this one.
//! Decisions are sent again the same way, every [`DECISION_RESEND_AFTER`] blocks.
//!
//! With the `test-tamper` feature (end-to-end tests only, never in production builds) the
//! nodes listed under [`TAMPER_KEY`] answer with cfrags of another capsule: well-formed, signed,
//! and wrong, for the adjudicator to catch. They skip the check of their own cfrags, as a
//! malicious node would.

use super::*;
use frame_system::offchain::SubmitTransaction;
use kms_primitives::{
	metrics::{self, SkipReason},
	policies::PolicyKeys,
};
use rand_chacha::{
	rand_core::{CryptoRng, RngCore, SeedableRng},
	ChaCha20Rng,
};
use sp_runtime::{offchain::storage::StorageValueRef, RuntimeAppPublic};

pub use kms_primitives::policies::UMBRAL_SEEDS_KEY;
/// Log target of the re-encryption worker (operators follow it).
pub const WORKER_TARGET: &str = "kms";
/// Prefix of the per-(request content, node) submission records.
const SUBMITTED_PREFIX: &[u8] = b"kms-policies::submitted";
/// Prefix of the cfrags sent per (request content, node), kept to send again.
const SENT_CFRAGS_PREFIX: &[u8] = b"kms-policies::sent-cfrags";
/// The keys of the submission and decision records and of the cfrags kept, each with the
/// block after which it is dropped (the request's deadline; `DECISION_RESEND_AFTER` blocks
/// for a decision).
pub(crate) const SUBMITTED_INDEX_KEY: &[u8] = b"kms-policies::submitted-index";
/// Prefix of the per-(policy version, node) decision records.
const DECIDED_PREFIX: &[u8] = b"kms-policies::decided";
/// Prefix of each node's position in its pending decisions: the last policy id looked at.
const DECISION_CURSOR_PREFIX: &[u8] = b"kms-policies::decision-cursor";
/// Blocks after which an answer that has not landed is sent again: the next block's run, when
/// the answer should have been in that block. It costs a signature (the cfrags are kept).
pub const ANSWER_RESEND_AFTER: u32 = 1;
/// Blocks after which a decision that has not landed is checked and sent again.
pub const DECISION_RESEND_AFTER: u32 = 2;
/// Pending decisions taken up per block and node.
const DECISIONS_PER_RUN: usize = 8;
/// Pending decisions looked at per block and node (those sent in the last
/// `DECISION_RESEND_AFTER` blocks are passed over), so that a flood of policies naming a node
/// costs its worker a bounded amount of work per block.
const DECISIONS_SCANNED_PER_RUN: usize = 64;
/// Prefix of the cached kfrags: `(prefix, content hash)` → standard bytes.
pub(crate) const KFRAG_CACHE_PREFIX: &[u8] = b"kms-policies::kfrag";
/// The cached kfrags, swept in turn.
pub(crate) const KFRAG_INDEX_KEY: &[u8] = b"kms-policies::kfrag-index";
/// Cache entries checked per block.
const CACHE_SWEEP_PER_RUN: usize = 32;
/// Nodes whose cfrags are corrupted (SCALE `Vec<AccountId>`), with `test-tamper` only.
#[cfg(feature = "test-tamper")]
pub const TAMPER_KEY: &[u8] = b"kms::test-tamper";

/// A cached kfrag: the policy, its version, the node, and the content hash it is kept under.
pub(crate) type CacheEntry<T> =
	(PolicyId, PolicyVersion, <T as frame_system::Config>::AccountId, [u8; 32]);

/// A kfrag that passed every check, ready to re-encrypt with.
pub type CheckedKFrag = umbral_pre::VerifiedKeyFrag;

/// Opens a kfrag envelope with the node's secret and checks the kfrag completely against the
/// policy's keys: its encoding (canonical only), `KeyFrag::verify` (which checks the signature
/// over the kfrag for the proxy), and a self-test — a test capsule re-encrypted with the kfrag
/// must pass `CapsuleFrag::verify`, which checks the kfrag's *other* signature, the one the
/// adjudicator judges cfrags by. A kfrag that fails any of these is declined, never used.
/// Returns the checked kfrag and its standard bytes; what the worker pays per (policy, node)
/// before its cache, benchmarked as `worker_open_kfrag`.
pub fn check_kfrag(
	rng: &mut (impl CryptoRng + RngCore),
	secret: &umbral_pre::SecretKey,
	envelope: &EncryptedKFrag,
	keys: &PolicyKeys,
) -> Result<(CheckedKFrag, Vec<u8>), DeclineReason> {
	let capsule =
		wire::decode_capsule(&envelope.capsule).map_err(|_| DeclineReason::EnvelopeUnopenable)?;
	let plain = umbral_pre::decrypt_original(secret, &capsule, &envelope.ciphertext)
		.map_err(|_| DeclineReason::EnvelopeUnopenable)?;
	let kfrag = wire::decode_key_frag(&plain).map_err(|_| DeclineReason::MalformedKFrag)?;
	let [verifying, delegating, receiving] = [&keys.verifying, &keys.delegating, &keys.receiving]
		.map(|key| key.decompress().ok_or(DeclineReason::InvalidKFrag));
	let (verifying, delegating, receiving) = (verifying?, delegating?, receiving?);
	let kfrag = kfrag
		.verify(&verifying, Some(&delegating), Some(&receiving))
		.map_err(|_| DeclineReason::InvalidKFrag)?;
	let (probe, _) = umbral_pre::encrypt_with_rng(rng, &delegating, b"kms self-test")
		.map_err(|_| DeclineReason::SelfTestFailed)?;
	umbral_pre::reencrypt_with_rng(rng, &probe, kfrag.clone())
		.unverify()
		.verify(&probe, &verifying, &delegating, &receiving)
		.map_err(|_| DeclineReason::SelfTestFailed)?;
	Ok((kfrag, plain.into_vec()))
}

/// Re-encrypts `capsule` with `kfrag` and checks the cfrag with `CapsuleFrag::verify` against
/// the keys it will be judged by: the cfrag in the standard serialization, or an error if it
/// does not verify (then the node must not sign it). The worker's cost per capsule;
/// benchmarked as `worker_reencrypt`.
pub fn reencrypt_checked(
	rng: &mut (impl CryptoRng + RngCore),
	capsule: &umbral_pre::Capsule,
	kfrag: &CheckedKFrag,
	keys: &PolicyKeys,
) -> Result<Vec<u8>, &'static str> {
	let cfrag = umbral_pre::reencrypt_with_rng(rng, capsule, kfrag.clone()).unverify();
	let key = |key: &UmbralPublicKey| key.decompress().ok_or("a policy key is not a point");
	cfrag
		.clone()
		.verify(capsule, &key(&keys.verifying)?, &key(&keys.delegating)?, &key(&keys.receiving)?)
		.map_err(|_| "a cfrag fails its own verification")?;
	wire::to_vec(&cfrag).map_err(|_| "a cfrag does not encode")
}

/// This node's Umbral identities: each public key with its secret.
type Identities = Vec<(UmbralPublicKey, umbral_pre::SecretKey)>;

impl<T: Config> Pallet<T> {
	/// The worker's run at block `now`.
	pub(crate) fn offchain_answers(now: BlockNumberFor<T>) {
		let Ok(Some(seeds)) = StorageValueRef::persistent(UMBRAL_SEEDS_KEY).get::<Vec<[u8; 32]>>()
		else {
			return;
		};
		let identities: Identities = seeds
			.iter()
			.filter_map(kms_primitives::staking::identity::secret)
			.map(|secret| (UmbralPublicKey::of(&secret.public_key()), secret))
			.collect();
		let mut rng = ChaCha20Rng::from_seed(sp_io::offchain::random_seed());
		// Answers first: their deadlines are near, decisions can wait a block. Answers
		// submitted now land in block `now + 1` at the earliest: requests whose deadline is
		// `now` are past helping.
		let window = T::ResponseWindow::get();
		let mut block = now.saturating_add(One::one());
		while block <= now.saturating_add(window) {
			for id in Deadlines::<T>::get(block) {
				Self::answer_request(id, now, &identities, &mut rng);
			}
			block = block.saturating_add(One::one());
		}
		Self::offchain_decisions(now, &identities, &mut rng);
		Self::sweep_submitted(now);
		Self::sweep_kfrag_cache(now);
	}

	/// The secret of `node`'s key of `version`, if this worker holds it.
	fn secret_of<'a>(
		identities: &'a Identities,
		node: &T::AccountId,
		version: KeyVersion,
	) -> Option<&'a umbral_pre::SecretKey> {
		let key = T::Staking::node_key(node, version)?;
		identities.iter().find(|(held, _)| *held == key).map(|(_, secret)| secret)
	}

	/// Decides on up to `DECISIONS_PER_RUN` pending policy versions of each node this worker
	/// holds a key of, looking at no more than `DECISIONS_SCANNED_PER_RUN` entries per node and
	/// block, from where the previous run stopped (wrapping around): no set of entries, however
	/// ordered, keeps the others from their turn.
	fn offchain_decisions(now: BlockNumberFor<T>, identities: &Identities, rng: &mut ChaCha20Rng) {
		let mut nodes: Vec<T::AccountId> =
			identities.iter().filter_map(|(key, _)| T::Staking::node_of_key(key)).collect();
		nodes.sort();
		nodes.dedup();
		for node in nodes {
			let cursor_key = (DECISION_CURSOR_PREFIX, &node).encode();
			let mut cursor_ref = StorageValueRef::persistent(&cursor_key);
			let after = cursor_ref.get::<PolicyId>().ok().flatten();
			let from = |after: Option<PolicyId>| -> Vec<(PolicyId, PolicyVersion)> {
				match after {
					Some(id) => PendingDecisions::<T>::iter_prefix_from(
						&node,
						PendingDecisions::<T>::hashed_key_for(&node, id),
					)
					.take(DECISIONS_SCANNED_PER_RUN)
					.collect(),
					None => PendingDecisions::<T>::iter_prefix(&node)
						.take(DECISIONS_SCANNED_PER_RUN)
						.collect(),
				}
			};
			let mut scan = from(after);
			if scan.len() < DECISIONS_SCANNED_PER_RUN && after.is_some() {
				// The end of the list: on from its start.
				let rest = DECISIONS_SCANNED_PER_RUN.saturating_sub(scan.len());
				scan.extend(from(None).into_iter().take(rest));
			}
			let (mut decided, mut last) = (0, None);
			for (id, version) in scan {
				if decided >= DECISIONS_PER_RUN {
					break;
				}
				last = Some(id);
				// A decision is checked and sent at most every `DECISION_RESEND_AFTER` blocks;
				// what it says is bound on chain to the content it was made for.
				let record = (DECIDED_PREFIX, id, version, &node).encode();
				if Self::claim_first(&record, now, DECISION_RESEND_AFTER).is_some() {
					let until = now.saturating_add(DECISION_RESEND_AFTER.into());
					Self::index_submitted(record, until);
					Self::decide(id, version, &node, now, identities, rng);
					decided += 1;
				}
			}
			match last {
				Some(id) => cursor_ref.set(&id),
				None => cursor_ref.clear(),
			}
		}
	}

	/// Checks `node`'s kfrag of policy `id` at `version` and submits its decision, sent at
	/// block `now`.
	fn decide(
		id: PolicyId,
		version: PolicyVersion,
		node: &T::AccountId,
		now: BlockNumberFor<T>,
		identities: &Identities,
		rng: &mut ChaCha20Rng,
	) {
		let Some(policy) = Policies::<T>::get(id) else { return };
		let Some(entry) = policy.node(node) else { return };
		let Some(envelope) = KFrags::<T>::get(id, node) else { return };
		let Some(secret) = Self::secret_of(identities, node, entry.key_version) else {
			log::warn!(
				target: WORKER_TARGET,
				"policy {} v{version}: no Umbral seed here for key v{} of {node:?}",
				hex(&id),
				entry.key_version,
			);
			return;
		};
		let keys = policy.keys();
		let content = grant_content_hash(&keys, &envelope);
		let decision = match check_kfrag(rng, secret, &envelope, &keys) {
			Ok((_, bytes)) => {
				Self::cache_kfrag((id, version, node.clone(), content), &bytes);
				log::info!(target: WORKER_TARGET, "policy {} v{version}: accepting for {node:?}", hex(&id));
				Decision::Accept
			},
			Err(reason) => {
				log::warn!(
					target: WORKER_TARGET,
					"policy {} v{version}: declining for {node:?}: {reason:?}",
					hex(&id),
				);
				Decision::Decline(reason)
			},
		};
		let Some(public) = Self::operator_key(node) else { return };
		let accepted = decision == Decision::Accept;
		let decision = PolicyDecision {
			policy: id,
			version,
			node: node.clone(),
			content,
			decision,
			sent_at: now,
			public,
		};
		let payload = decision_payload::<T>(&decision);
		let Some(signature) =
			<T::OperatorCrypto as AppCrypto<_, _>>::sign(&payload, decision.public.clone())
		else {
			log::warn!(target: WORKER_TARGET, "policy {}: cannot sign for {node:?}", hex(&id));
			return;
		};
		let sent = Self::submit(Call::decide_on_policy { decision, signature }, || {
			alloc::format!("decision on policy {} v{version} for {node:?}", hex(&id))
		});
		if sent {
			metrics::count(|counters| match accepted {
				true => counters.decisions_accepted.saturating_inc(),
				false => counters.decisions_declined.saturating_inc(),
			});
		}
	}

	/// Records that work under `record` is sent at `now`, unless it was sent less than
	/// `resend_after` blocks ago. Returns whether the caller should send it: `Some(true)` for
	/// the first time, `Some(false)` again, `None` not now.
	fn claim_first(record: &[u8], now: BlockNumberFor<T>, resend_after: u32) -> Option<bool> {
		let mut first = false;
		StorageValueRef::persistent(record)
			.mutate(|sent: Result<Option<BlockNumberFor<T>>, _>| match sent {
				Ok(Some(at)) if now < at.saturating_add(resend_after.into()) => Err(()),
				Ok(Some(_)) => Ok(now),
				_ => {
					first = true;
					Ok(now)
				},
			})
			.ok()
			.map(|_| first)
	}

	/// Answers request `id` for every local node that accepted its policy version and has not
	/// answered.
	fn answer_request(
		id: RequestId,
		now: BlockNumberFor<T>,
		identities: &Identities,
		rng: &mut ChaCha20Rng,
	) {
		let Some(request) = Requests::<T>::get(id) else { return };
		let Some(policy) = Policies::<T>::get(request.policy) else { return };
		if !Self::answerable(&policy, &request) {
			log::debug!(target: WORKER_TARGET, "request {id} skipped: cancelled by its policy");
			return;
		}
		let request_hash = request.answer_hash(&policy.verifying_key, &policy.delegating_key);
		for PolicyNode { node, key_version, accepted } in &policy.nodes {
			if accepted.is_none() || request.answered.contains(node) {
				continue;
			}
			let Some(secret) = Self::secret_of(identities, node, *key_version) else { continue };
			let record = (SUBMITTED_PREFIX, request_hash, node).encode();
			let Some(first) = Self::claim_first(&record, now, ANSWER_RESEND_AFTER) else {
				continue;
			};
			if first {
				metrics::count(|counters| counters.requests_seen.saturating_inc());
			}
			Self::index_submitted(record, request.deadline);
			// Answers go out in the run of the request's own block, unless the node fell behind:
			// say so. One sent again is a network's ordinary mishap (a peer that had not yet
			// imported the request's block refused it), unless it happens to most answers.
			let late = now.saturating_sub(request.created);
			match (first, late.is_zero()) {
				(true, true) => log::info!(
					target: WORKER_TARGET,
					"request {id} seen: answering for node {node:?}"
				),
				(true, false) => log::warn!(
					target: WORKER_TARGET,
					"request {id} answered {late:?} blocks after it was made, for node {node:?}: \
					 this node is behind"
				),
				(false, _) => log::info!(
					target: WORKER_TARGET,
					"request {id}: the answer for node {node:?} has not landed {late:?} blocks \
					 after the request; sending it again"
				),
			}
			// By the kfrag too: cfrags made with another kfrag (another fork's, for the same
			// keys) would verify, but not combine with the other nodes' for the reader.
			let kfrag = KFrags::<T>::get(request.policy, node)
				.map(|envelope| grant_content_hash(&policy.keys(), &envelope));
			let kept = (SENT_CFRAGS_PREFIX, request_hash, node, kfrag).encode();
			let sent = match first {
				true => None,
				false => StorageValueRef::persistent(&kept).get::<CfragsOf<T>>().ok().flatten(),
			};
			let cfrags = match sent {
				// Checked when they were first sent, for exactly this request's content, these
				// keys and this kfrag; kept in the node's own storage.
				Some(cfrags) => Ok(cfrags),
				None => Self::reencrypt(&policy, &request, node, secret, rng).inspect(|cfrags| {
					StorageValueRef::persistent(&kept).set(cfrags);
					Self::index_submitted(kept, request.deadline);
				}),
			};
			let answered =
				cfrags.and_then(|cfrags| Self::respond(id, request_hash, node, now, cfrags));
			// The counters count requests, by what became of the first attempt: a resend
			// (every `ANSWER_RESEND_AFTER` blocks until the answer lands) counts nothing
			// again.
			match answered {
				Ok(()) if first => metrics::count(|c| c.answers_sent.saturating_inc()),
				Ok(()) => {},
				Err((reason, why)) => {
					log::warn!(
						target: WORKER_TARGET,
						"request {id} skipped for {node:?}: {why} ({})",
						reason.label(),
					);
					if first {
						metrics::count(|counters| counters.skip(reason));
					}
				},
			}
		}
	}

	/// Re-encrypts the request's capsules with `node`'s kfrag of the policy, checking each
	/// cfrag before it may be signed.
	fn reencrypt(
		policy: &PolicyOf<T>,
		request: &RequestOf<T>,
		node: &T::AccountId,
		secret: &umbral_pre::SecretKey,
		rng: &mut ChaCha20Rng,
	) -> Result<CfragsOf<T>, Skipped> {
		let keys = PolicyKeys { receiving: request.receiving_key, ..policy.keys() };
		let kfrag = Self::kfrag(request.policy, policy, node, secret, rng)?;
		#[cfg(feature = "test-tamper")]
		let tampering = Self::tampers(node);
		let unverified = |why| (SkipReason::CfragUnverified, why);
		let mut cfrags = CfragsOf::<T>::new();
		for bytes in &request.capsules {
			let capsule = wire::decode_capsule(bytes)
				.map_err(|_| (SkipReason::CapsuleUndecodable, "a capsule does not decode"))?;
			#[cfg(feature = "test-tamper")]
			if tampering {
				let cfrag = Self::tampered_cfrag(policy, &kfrag, rng).map_err(unverified)?;
				cfrags
					.try_push(cfrag.try_into().map_err(|_| unverified("cfrag length"))?)
					.map_err(|_| unverified("count"))?;
				continue;
			}
			let cfrag = reencrypt_checked(rng, &capsule, &kfrag, &keys).map_err(unverified)?;
			cfrags
				.try_push(cfrag.try_into().map_err(|_| unverified("a cfrag has the wrong length"))?)
				.map_err(|_| unverified("more cfrags than capsules"))?;
		}
		Ok(cfrags)
	}

	/// `node`'s checked kfrag of the policy's current version: from the cache (keyed by the
	/// content it was checked for), or opened and checked again.
	fn kfrag(
		id: PolicyId,
		policy: &PolicyOf<T>,
		node: &T::AccountId,
		secret: &umbral_pre::SecretKey,
		rng: &mut ChaCha20Rng,
	) -> Result<CheckedKFrag, Skipped> {
		let envelope =
			KFrags::<T>::get(id, node).ok_or((SkipReason::NoKFrag, "no kfrag on chain"))?;
		let content = grant_content_hash(&policy.keys(), &envelope);
		let cached = StorageValueRef::persistent(&(KFRAG_CACHE_PREFIX, content).encode())
			.get::<Vec<u8>>()
			.ok()
			.flatten()
			.and_then(|bytes| wire::decode_key_frag(&bytes).ok());
		if let Some(kfrag) = cached {
			metrics::count(|counters| counters.kfrag_cache_hits.saturating_inc());
			// Checked completely for exactly this content before it was cached; the cache
			// is the node's own storage.
			return Ok(kfrag.skip_verification());
		}
		metrics::count(|counters| counters.kfrag_cache_misses.saturating_inc());
		let (kfrag, bytes) =
			check_kfrag(rng, secret, &envelope, &policy.keys()).map_err(|reason| {
				let why = match reason {
					DeclineReason::EnvelopeUnopenable => "the kfrag does not open with this key",
					DeclineReason::MalformedKFrag => "the kfrag is not canonical",
					DeclineReason::InvalidKFrag => "the kfrag fails verification",
					DeclineReason::SelfTestFailed => "the kfrag fails its self-test",
				};
				(SkipReason::KFragUnusable, why)
			})?;
		Self::cache_kfrag((id, policy.version, node.clone(), content), &bytes);
		Ok(kfrag)
	}

	/// Keeps a checked kfrag under its content hash, indexed for the sweep.
	fn cache_kfrag(entry: CacheEntry<T>, bytes: &[u8]) {
		let key = (KFRAG_CACHE_PREFIX, entry.3).encode();
		let mut cached = StorageValueRef::persistent(&key);
		cached.set(&bytes.to_vec());
		let indexed = StorageValueRef::persistent(KFRAG_INDEX_KEY).mutate(
			|index: Result<Option<Vec<CacheEntry<T>>>, _>| -> Result<_, ()> {
				let mut index = index.ok().flatten().unwrap_or_default();
				if !index.contains(&entry) {
					index.push(entry.clone());
				}
				Ok(index)
			},
		);
		if indexed.is_err() {
			// Unindexed, the entry would never be swept: better not cached at all.
			cached.clear();
		}
	}

	/// Drops the cached kfrags of policies that no longer need them, checking up to
	/// `CACHE_SWEEP_PER_RUN` entries per block in turn: revoked, rotated to another version,
	/// past their end and last deadline, or holding other content for the node now.
	fn sweep_kfrag_cache(now: BlockNumberFor<T>) {
		let index_ref = StorageValueRef::persistent(KFRAG_INDEX_KEY);
		let Ok(Some(index)) = index_ref.get::<Vec<CacheEntry<T>>>() else { return };
		let checked = index.len().min(CACHE_SWEEP_PER_RUN);
		let stale: Vec<CacheEntry<T>> = index
			.iter()
			.take(checked)
			.filter(|(id, version, node, content)| {
				Policies::<T>::get(id).is_none_or(|policy| {
					policy.version != *version
						|| matches!(policy.status, PolicyStatus::Revoked(_))
						|| now > policy.end.saturating_add(T::ResponseWindow::get())
						|| KFrags::<T>::get(id, node).is_none_or(|envelope| {
							grant_content_hash(&policy.keys(), &envelope) != *content
						})
				})
			})
			.cloned()
			.collect();
		let swept = index_ref.mutate(|index: Result<Option<Vec<CacheEntry<T>>>, _>| {
			let mut index = index.ok().flatten().unwrap_or_default();
			index.retain(|entry| !stale.contains(entry));
			// The live entries just checked go to the back: the next run checks others.
			let live = checked.saturating_sub(stale.len()).min(index.len());
			index.rotate_left(live);
			Ok::<_, ()>(index)
		});
		if swept.is_ok() {
			for entry in &stale {
				StorageValueRef::persistent(&(KFRAG_CACHE_PREFIX, entry.3).encode()).clear();
				log::debug!(
					target: WORKER_TARGET,
					"kfrag of policy {} v{} dropped",
					hex(&entry.0),
					entry.1
				);
			}
		}
	}

	/// Remembers a local record's key until block `until` (a request's deadline, the end of a
	/// decision's resend delay), after which `sweep_submitted` drops it.
	fn index_submitted(record: Vec<u8>, until: BlockNumberFor<T>) {
		let _ = StorageValueRef::persistent(SUBMITTED_INDEX_KEY).mutate(
			|index: Result<Option<Vec<(Vec<u8>, BlockNumberFor<T>)>>, _>| -> Result<_, ()> {
				let mut index = index.ok().flatten().unwrap_or_default();
				if !index.iter().any(|(key, _)| *key == record) {
					index.push((record, until));
				}
				Ok(index)
			},
		);
	}

	/// Drops the records whose time has passed.
	fn sweep_submitted(now: BlockNumberFor<T>) {
		let index_ref = StorageValueRef::persistent(SUBMITTED_INDEX_KEY);
		let mut expired = Vec::new();
		let swept = index_ref.mutate(
			|index: Result<Option<Vec<(Vec<u8>, BlockNumberFor<T>)>>, _>| -> Result<_, ()> {
				let mut index = index.ok().flatten().unwrap_or_default();
				index.retain(|(key, deadline)| {
					let live = *deadline >= now;
					if !live {
						expired.push(key.clone());
					}
					live
				});
				Ok(index)
			},
		);
		if swept.is_ok() {
			for key in expired {
				StorageValueRef::persistent(&key).clear();
			}
		}
	}

	/// With `test-tamper`: whether `node` is listed under [`TAMPER_KEY`].
	#[cfg(feature = "test-tamper")]
	fn tampers(node: &T::AccountId) -> bool {
		StorageValueRef::persistent(TAMPER_KEY)
			.get::<Vec<T::AccountId>>()
			.ok()
			.flatten()
			.is_some_and(|listed| listed.contains(node))
	}

	/// With `test-tamper`: a cfrag of a fresh capsule for the policy's delegating key,
	/// well-formed but the answer to another capsule. Never checked: the node is malicious.
	#[cfg(feature = "test-tamper")]
	fn tampered_cfrag(
		policy: &PolicyOf<T>,
		kfrag: &CheckedKFrag,
		rng: &mut ChaCha20Rng,
	) -> Result<Vec<u8>, &'static str> {
		let delegating = policy.delegating_key.decompress().ok_or("delegating key")?;
		let (capsule, _) =
			umbral_pre::encrypt_with_rng(rng, &delegating, b"").map_err(|_| "encryption")?;
		log::warn!(target: WORKER_TARGET, "test-tamper: corrupting a cfrag");
		let cfrag = umbral_pre::reencrypt_with_rng(rng, &capsule, kfrag.clone()).unverify();
		wire::to_vec(&cfrag).map_err(|_| "a cfrag does not encode")
	}

	/// `node`'s operator key, if this node's keystore holds it.
	fn operator_key(node: &T::AccountId) -> Option<T::Public> {
		let operator = T::Staking::operator_of(node)?;
		let keys = <T::OperatorCrypto as AppCrypto<_, _>>::RuntimeAppPublic::all();
		let found = keys.into_iter().find_map(|key| {
			let generic: <T::OperatorCrypto as AppCrypto<_, _>>::GenericPublic = key.into();
			let public: T::Public = generic.into();
			(public.clone().into_account() == operator).then_some(public)
		});
		if found.is_none() {
			log::warn!(target: WORKER_TARGET, "no operator key of {node:?} in this keystore");
		}
		found
	}

	/// Signs the answer, sent at block `now`, with `node`'s operator key (from the keystore)
	/// and submits it.
	fn respond(
		id: RequestId,
		request_hash: [u8; 32],
		node: &T::AccountId,
		now: BlockNumberFor<T>,
		cfrags: CfragsOf<T>,
	) -> Result<(), Skipped> {
		let public = Self::operator_key(node)
			.ok_or((SkipReason::NoOperatorKey, "no operator key in this keystore"))?;
		let response = Response {
			request: id,
			request_hash,
			node: node.clone(),
			cfrags,
			sent_at: now,
			public,
		};
		let payload = response_payload::<T>(&response);
		let signature =
			<T::OperatorCrypto as AppCrypto<_, _>>::sign(&payload, response.public.clone())
				.ok_or((SkipReason::SigningFailed, "the keystore did not sign"))?;
		let sent = Self::submit(Call::submit_cfrags_authorized { response, signature }, || {
			alloc::format!("answer to request {id} for {node:?}")
		});
		sent.then_some(())
			.ok_or((SkipReason::PoolRefused, "the pool refused the answer"))
	}

	/// Submits `call` as an authorized transaction, logging what happened to `what`. Returns
	/// whether the pool took it.
	fn submit(call: Call<T>, what: impl Fn() -> alloc::string::String) -> bool {
		let xt = T::create_authorized_transaction(call.into());
		match SubmitTransaction::<T, Call<T>>::submit_transaction(xt) {
			Ok(()) => {
				log::info!(target: WORKER_TARGET, "{} sent", what());
				true
			},
			Err(()) => {
				log::warn!(target: WORKER_TARGET, "{}: refused by the pool", what());
				false
			},
		}
	}
}

/// Why a request taken up was not answered: the counted reason and what the log says.
type Skipped = (SkipReason, &'static str);

/// A policy id in hex, for logs.
fn hex(id: &PolicyId) -> alloc::string::String {
	id.iter().map(|byte| alloc::format!("{byte:02x}")).collect()
}

/// What the worker's benchmarks work on: a node's secret, a kfrag envelope sealed to it, the
/// policy's keys and `capsules` capsules of the delegating key (standard bytes), all drawn
/// from `seed`.
#[cfg(feature = "runtime-benchmarks")]
pub struct WorkerMaterial {
	/// The node's Umbral secret.
	pub secret: umbral_pre::SecretKey,
	/// Its kfrag of the policy, sealed to it.
	pub envelope: EncryptedKFrag,
	/// The policy's keys.
	pub keys: PolicyKeys,
	/// Capsules to re-encrypt.
	pub capsules: Vec<Vec<u8>>,
}

#[cfg(feature = "runtime-benchmarks")]
impl WorkerMaterial {
	/// Material for `capsules` capsules (see [`WorkerMaterial`]).
	pub fn new(seed: [u8; 32], capsules: u32) -> Result<Self, &'static str> {
		use umbral_pre::{SecretKey, Signer};
		let mut rng = ChaCha20Rng::from_seed(seed);
		let secret = kms_primitives::staking::identity::secret(&seed).ok_or("no node secret")?;
		let delegating = SecretKey::random_with_rng(&mut rng);
		let signer = Signer::new(SecretKey::random_with_rng(&mut rng));
		let receiving = SecretKey::random_with_rng(&mut rng).public_key();
		let kfrags = umbral_pre::generate_kfrags_with_rng(
			&mut rng,
			&delegating,
			&receiving,
			&signer,
			1,
			1,
			true,
			true,
		);
		let kfrag = kfrags.first().ok_or("no kfrag")?.clone().unverify();
		let kfrag = wire::to_vec(&kfrag).map_err(|_| "kfrag encoding")?;
		let (capsule, ciphertext) =
			umbral_pre::encrypt_with_rng(&mut rng, &secret.public_key(), &kfrag)
				.map_err(|_| "sealing")?;
		let envelope = EncryptedKFrag {
			capsule: wire::to_vec(&capsule)
				.map_err(|_| "capsule encoding")?
				.try_into()
				.map_err(|_| "capsule length")?,
			ciphertext: ciphertext.into_vec().try_into().map_err(|_| "ciphertext length")?,
		};
		let delegating_key = delegating.public_key();
		let capsules = (0..capsules)
			.map(|_| {
				let (capsule, _) = umbral_pre::encrypt_with_rng(&mut rng, &delegating_key, b"")
					.map_err(|_| "encryption")?;
				wire::to_vec(&capsule).map_err(|_| "capsule encoding")
			})
			.collect::<Result<_, _>>()?;
		let keys = PolicyKeys {
			verifying: UmbralPublicKey::of(&signer.verifying_key()),
			delegating: UmbralPublicKey::of(&delegating_key),
			receiving: UmbralPublicKey::of(&receiving),
		};
		Ok(Self { secret, envelope, keys, capsules })
	}

	/// [`check_kfrag`] on this material.
	pub fn open(&self, rng: &mut ChaCha20Rng) -> Result<CheckedKFrag, &'static str> {
		check_kfrag(rng, &self.secret, &self.envelope, &self.keys)
			.map(|(kfrag, _)| kfrag)
			.map_err(|_| "the kfrag fails its checks")
	}

	/// The worker's work per request once the kfrag is open: decode each capsule and
	/// [`reencrypt_checked`] it.
	pub fn reencrypt(
		&self,
		kfrag: &CheckedKFrag,
		rng: &mut ChaCha20Rng,
	) -> Result<Vec<Vec<u8>>, &'static str> {
		self.capsules
			.iter()
			.map(|bytes| {
				let capsule = wire::decode_capsule(bytes).map_err(|_| "capsule decoding")?;
				reencrypt_checked(rng, &capsule, kfrag, &self.keys)
			})
			.collect()
	}
}
