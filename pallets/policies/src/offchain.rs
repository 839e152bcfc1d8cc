//! The node's part of re-encryption (`PROTOCOL.md`, "Re-encryption", step 2), run by its
//! offchain worker on each imported block.
//!
//! A node's Umbral identity never touches the chain or the keystore: the node keeps 32-byte
//! seeds in its persistent offchain storage under [`UMBRAL_SEEDS_KEY`] (SCALE `Vec<[u8; 32]>`,
//! old ones kept while policies granted under them live), and each seed's Umbral secret is
//! derived as [`kms_primitives::staking::identity`] says. For every retained,
//! still-valid request whose policy names a node with one of those keys, the worker opens the
//! node's kfrag, checks it against the policy's keys (a kfrag that fails is logged and never
//! used), re-encrypts every capsule with an RNG seeded from the offchain random seed and
//! submits the cfrags in one free transaction signed by the node's operator key. A
//! local-storage entry per (request, node) keeps it from submitting twice; it resubmits only
//! if the answer has not landed `RESEND_AFTER` blocks later and the deadline has not passed.
//!
//! A checked kfrag is cached in local storage under (policy, version, node), so later requests
//! skip the decryption and the check; each run sweeps part of the cache and drops the kfrags of
//! policies revoked, rotated to another version, or past their end and last deadline.
//!
//! With the `test-tamper` feature (end-to-end tests only, never in production builds) the
//! nodes listed under [`TAMPER_KEY`] answer with cfrags of another capsule: well-formed, signed,
//! and wrong, for the adjudicator to catch.

use super::*;
use frame_system::offchain::SubmitTransaction;
use rand_chacha::{
	rand_core::{CryptoRng, RngCore, SeedableRng},
	ChaCha20Rng,
};
use sp_runtime::{
	offchain::storage::{MutateStorageError, StorageValueRef},
	RuntimeAppPublic,
};

pub use kms_primitives::policies::UMBRAL_SEEDS_KEY;
/// Log target of the re-encryption worker (operators follow it).
pub const WORKER_TARGET: &str = "kms";
/// The first request the worker has not finished with.
const CURSOR_KEY: &[u8] = b"kms-policies::next-request";
/// Prefix of the per-(request, node) submission records.
const SUBMITTED_PREFIX: &[u8] = b"kms-policies::submitted";
/// Requests looked at per block.
const REQUESTS_PER_RUN: u64 = 16;
/// Blocks after which an answer that has not landed is sent again.
const RESEND_AFTER: u32 = 3;
/// Prefix of the cached kfrags: `(prefix, policy, version, node)` → standard bytes.
pub(crate) const KFRAG_CACHE_PREFIX: &[u8] = b"kms-policies::kfrag";
/// The cached kfrags' keys, swept in turn.
pub(crate) const KFRAG_INDEX_KEY: &[u8] = b"kms-policies::kfrag-index";
/// Cache entries checked per block.
const CACHE_SWEEP_PER_RUN: usize = 32;
/// Nodes whose cfrags are corrupted (SCALE `Vec<AccountId>`), with `test-tamper` only.
#[cfg(feature = "test-tamper")]
pub const TAMPER_KEY: &[u8] = b"kms::test-tamper";

/// A cached kfrag: the policy, its version and the node.
pub(crate) type CacheEntry<T> = (PolicyId, PolicyVersion, <T as frame_system::Config>::AccountId);

/// Opens a kfrag envelope with the node's secret and checks the kfrag against the policy's
/// `[verifying, delegating, receiving]` keys. Returns the checked kfrag and its standard bytes.
/// The worker's cost per (policy, node) before the cache; benchmarked as `worker_open_kfrag`.
pub fn open_kfrag(
	secret: &umbral_pre::SecretKey,
	envelope: &EncryptedKFrag,
	[verifying, delegating, receiving]: [&UmbralPublicKey; 3],
) -> Result<(umbral_pre::VerifiedKeyFrag, Vec<u8>), &'static str> {
	let capsule = wire::decode_capsule(&envelope.capsule).map_err(|_| "kfrag envelope capsule")?;
	let plain = umbral_pre::decrypt_original(secret, &capsule, &envelope.ciphertext)
		.map_err(|_| "the kfrag does not open with this node's key")?;
	let kfrag = wire::decode_key_frag(&plain).map_err(|_| "the kfrag does not decode")?;
	let key = |key: &UmbralPublicKey| key.decompress().ok_or("a policy key is not a point");
	let verified = kfrag
		.verify(&key(verifying)?, Some(&key(delegating)?), Some(&key(receiving)?))
		.map_err(|_| "the kfrag fails verification against the policy's keys")?;
	Ok((verified, plain.into_vec()))
}

/// Re-encrypts `capsule` with `kfrag`: the cfrag in the standard serialization. The worker's
/// cost per capsule; benchmarked as `worker_reencrypt`.
pub fn reencrypt_capsule(
	rng: &mut (impl CryptoRng + RngCore),
	capsule: &umbral_pre::Capsule,
	kfrag: &umbral_pre::VerifiedKeyFrag,
) -> Result<Vec<u8>, &'static str> {
	let cfrag = umbral_pre::reencrypt_with_rng(rng, capsule, kfrag.clone()).unverify();
	wire::to_vec(&cfrag).map_err(|_| "a cfrag does not encode")
}

impl<T: Config> Pallet<T> {
	/// Answers the requests assigned to this node's identities.
	pub(crate) fn offchain_answers(now: BlockNumberFor<T>) {
		let Ok(Some(seeds)) = StorageValueRef::persistent(UMBRAL_SEEDS_KEY).get::<Vec<[u8; 32]>>()
		else {
			return;
		};
		let secrets: Vec<(UmbralPublicKey, umbral_pre::SecretKey)> = seeds
			.iter()
			.filter_map(kms_primitives::staking::identity::secret)
			.map(|secret| (UmbralPublicKey::of(&secret.public_key()), secret))
			.collect();
		let cursor_ref = StorageValueRef::persistent(CURSOR_KEY);
		let start = cursor_ref.get::<RequestId>().ok().flatten().unwrap_or_default();
		let start = start.max(OldestRequest::<T>::get());
		let end = NextRequestId::<T>::get().min(start.saturating_add(REQUESTS_PER_RUN));
		let mut cursor = start;
		for id in start..end {
			let finished = Self::answer_request(id, now, &secrets);
			if finished && cursor == id {
				cursor = id.saturating_add(1);
			}
		}
		cursor_ref.set(&cursor);
		Self::sweep_kfrag_cache(now);
	}

	/// Answers `id` for every local identity assigned to it. Returns whether nothing is left
	/// to do for it here (answered, cancelled, past its deadline, or not ours).
	fn answer_request(
		id: RequestId,
		now: BlockNumberFor<T>,
		secrets: &[(UmbralPublicKey, umbral_pre::SecretKey)],
	) -> bool {
		let Some(request) = Requests::<T>::get(id) else { return true };
		if now > request.deadline {
			return true;
		}
		let Some(policy) = Policies::<T>::get(request.policy) else { return true };
		if !Self::answerable(&policy, &request) {
			log::debug!(target: WORKER_TARGET, "request {id} skipped: cancelled by its policy");
			return true;
		}
		let mut finished = true;
		for PolicyNode { node, key_version } in &policy.nodes {
			let Some(key) = T::Staking::node_key(node, *key_version) else { continue };
			let Some((_, secret)) = secrets.iter().find(|(held, _)| *held == key) else {
				continue;
			};
			if request.answered.contains(node) {
				continue;
			}
			finished = false;
			let record = (SUBMITTED_PREFIX, id, node).encode();
			let claimed = StorageValueRef::persistent(&record).mutate(
				|sent: Result<Option<BlockNumberFor<T>>, _>| match sent {
					Ok(Some(at)) if now < at.saturating_add(RESEND_AFTER.into()) => Err(()),
					_ => Ok(now),
				},
			);
			match claimed {
				Ok(_) => {},
				Err(MutateStorageError::ValueFunctionFailed(()))
				| Err(MutateStorageError::ConcurrentModification(_)) => continue,
			}
			log::info!(target: WORKER_TARGET, "request {id} seen: answering for node {node:?}");
			match Self::reencrypt(&policy, &request, node, secret) {
				Ok(cfrags) => Self::submit(id, node, cfrags),
				Err(reason) => {
					log::warn!(target: WORKER_TARGET, "request {id} skipped for {node:?}: {reason}")
				},
			}
		}
		finished
	}

	/// Re-encrypts the request's capsules with `node`'s kfrag of the policy.
	fn reencrypt(
		policy: &PolicyOf<T>,
		request: &RequestOf<T>,
		node: &T::AccountId,
		secret: &umbral_pre::SecretKey,
	) -> Result<CfragsOf<T>, &'static str> {
		let kfrag = Self::kfrag(policy, request, node, secret)?;
		let mut rng = ChaCha20Rng::from_seed(sp_io::offchain::random_seed());
		let mut cfrags = CfragsOf::<T>::new();
		for bytes in &request.capsules {
			let capsule = wire::decode_capsule(bytes).map_err(|_| "a capsule does not decode")?;
			#[cfg(feature = "test-tamper")]
			let capsule = Self::tampered_capsule(node, policy, &mut rng).unwrap_or(capsule);
			let cfrag = reencrypt_capsule(&mut rng, &capsule, &kfrag)?;
			cfrags
				.try_push(cfrag.try_into().map_err(|_| "a cfrag has the wrong length")?)
				.map_err(|_| "more cfrags than capsules")?;
		}
		Ok(cfrags)
	}

	/// `node`'s kfrag of the policy: from the cache, or opened from its envelope with the
	/// node's secret, checked against the policy's keys and cached.
	fn kfrag(
		policy: &PolicyOf<T>,
		request: &RequestOf<T>,
		node: &T::AccountId,
		secret: &umbral_pre::SecretKey,
	) -> Result<umbral_pre::VerifiedKeyFrag, &'static str> {
		let entry: CacheEntry<T> = (request.policy, policy.version, node.clone());
		let cache_key = (KFRAG_CACHE_PREFIX, &entry).encode();
		let mut cached = StorageValueRef::persistent(&cache_key);
		if let Ok(Some(bytes)) = cached.get::<Vec<u8>>() {
			if let Ok(kfrag) = wire::decode_key_frag(&bytes) {
				// Checked before it was cached; the cache is the node's own storage.
				return Ok(kfrag.skip_verification());
			}
		}
		let envelope = KFrags::<T>::get(request.policy, node).ok_or("no kfrag on chain")?;
		let (verified, plain) = open_kfrag(
			secret,
			&envelope,
			[&policy.verifying_key, &policy.delegating_key, &request.receiving_key],
		)?;
		cached.set(&plain);
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
		Ok(verified)
	}

	/// Drops the cached kfrags of policies that no longer need them, checking up to
	/// `CACHE_SWEEP_PER_RUN` entries per block in turn.
	fn sweep_kfrag_cache(now: BlockNumberFor<T>) {
		let index_ref = StorageValueRef::persistent(KFRAG_INDEX_KEY);
		let Ok(Some(index)) = index_ref.get::<Vec<CacheEntry<T>>>() else { return };
		let checked = index.len().min(CACHE_SWEEP_PER_RUN);
		let stale: Vec<CacheEntry<T>> = index
			.iter()
			.take(checked)
			.filter(|(id, version, _)| {
				Policies::<T>::get(id).is_none_or(|policy| {
					policy.version != *version
						|| matches!(policy.status, PolicyStatus::Revoked(_))
						|| now > policy.end.saturating_add(T::ResponseWindow::get())
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
				StorageValueRef::persistent(&(KFRAG_CACHE_PREFIX, entry).encode()).clear();
				log::debug!(target: WORKER_TARGET, "kfrag of policy {:?} v{} dropped", entry.0, entry.1);
			}
		}
	}

	/// With `test-tamper`, for a node listed under [`TAMPER_KEY`]: a fresh capsule for the
	/// policy's delegating key, whose cfrag is well-formed but answers the wrong capsule.
	#[cfg(feature = "test-tamper")]
	fn tampered_capsule(
		node: &T::AccountId,
		policy: &PolicyOf<T>,
		rng: &mut ChaCha20Rng,
	) -> Option<umbral_pre::Capsule> {
		let listed = StorageValueRef::persistent(TAMPER_KEY).get::<Vec<T::AccountId>>().ok()??;
		if !listed.contains(node) {
			return None;
		}
		let delegating = policy.delegating_key.decompress()?;
		let (capsule, _) = umbral_pre::encrypt_with_rng(rng, &delegating, b"").ok()?;
		log::warn!(target: WORKER_TARGET, "test-tamper: corrupting the cfrags of {node:?}");
		Some(capsule)
	}

	/// Signs the answer with `node`'s operator key (from the keystore) and submits it.
	fn submit(id: RequestId, node: &T::AccountId, cfrags: CfragsOf<T>) {
		let Some(operator) = T::Staking::operator_of(node) else { return };
		let keys = <T::OperatorCrypto as AppCrypto<_, _>>::RuntimeAppPublic::all();
		let Some(public) = keys.into_iter().find_map(|key| {
			let generic: <T::OperatorCrypto as AppCrypto<_, _>>::GenericPublic = key.into();
			let public: T::Public = generic.into();
			(public.clone().into_account() == operator).then_some(public)
		}) else {
			log::warn!(target: WORKER_TARGET, "request {id}: no operator key of {node:?} here");
			return;
		};
		let response = Response { request: id, node: node.clone(), cfrags, public };
		let Some(signature) = SignedPayload::<T>::sign::<T::OperatorCrypto>(&response) else {
			log::warn!(target: WORKER_TARGET, "request {id}: cannot sign for {node:?}");
			return;
		};
		let call = Call::submit_cfrags_authorized { response, signature };
		let xt = T::create_authorized_transaction(call.into());
		match SubmitTransaction::<T, Call<T>>::submit_transaction(xt) {
			Ok(()) => log::info!(target: WORKER_TARGET, "request {id} answered for {node:?}"),
			Err(()) => {
				log::warn!(target: WORKER_TARGET, "request {id}: the pool refused the answer")
			},
		}
	}
}

/// What the worker's benchmarks work on: a node's secret, a kfrag envelope sealed to it, the
/// policy's `[verifying, delegating, receiving]` keys and `capsules` capsules of the
/// delegating key (standard bytes), all drawn from `seed`.
#[cfg(feature = "runtime-benchmarks")]
pub struct WorkerMaterial {
	/// The node's Umbral secret.
	pub secret: umbral_pre::SecretKey,
	/// Its kfrag of the policy, sealed to it.
	pub envelope: EncryptedKFrag,
	/// The policy's verifying, delegating and receiving keys.
	pub keys: [UmbralPublicKey; 3],
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
		let keys = [
			UmbralPublicKey::of(&signer.verifying_key()),
			UmbralPublicKey::of(&delegating_key),
			UmbralPublicKey::of(&receiving),
		];
		Ok(Self { secret, envelope, keys, capsules })
	}

	/// [`open_kfrag`] on this material.
	pub fn open(&self) -> Result<umbral_pre::VerifiedKeyFrag, &'static str> {
		let [verifying, delegating, receiving] = &self.keys;
		open_kfrag(&self.secret, &self.envelope, [verifying, delegating, receiving])
			.map(|(kfrag, _)| kfrag)
	}

	/// The worker's work per request once the kfrag is open: decode each capsule and
	/// [`reencrypt_capsule`] it.
	pub fn reencrypt(
		&self,
		kfrag: &umbral_pre::VerifiedKeyFrag,
		rng: &mut ChaCha20Rng,
	) -> Result<Vec<Vec<u8>>, &'static str> {
		self.capsules
			.iter()
			.map(|bytes| {
				let capsule = wire::decode_capsule(bytes).map_err(|_| "capsule decoding")?;
				reencrypt_capsule(rng, &capsule, kfrag)
			})
			.collect()
	}
}
