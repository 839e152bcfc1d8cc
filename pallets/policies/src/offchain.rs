//! The node's part of re-encryption (`PROTOCOL.md`, "Re-encryption", step 2), run by its
//! offchain worker on each imported block.
//!
//! A node's Umbral identity never touches the chain or the keystore: the node keeps 32-byte
//! seeds in its persistent offchain storage under [`UMBRAL_SEEDS_KEY`] (SCALE `Vec<[u8; 32]>`,
//! old ones kept while policies granted under them live), and each seed's Umbral secret is
//! umbral-pre's `SecretKeyFactory::from_secure_randomness(seed).make_key(b"node")` (the
//! derivation of [`kms_primitives::staking::dev::umbral_secret`]). For every retained,
//! still-valid request whose policy names a node with one of those keys, the worker opens the
//! node's kfrag, checks it against the policy's keys (a kfrag that fails is logged and never
//! used), re-encrypts every capsule with an RNG seeded from the offchain random seed and
//! submits the cfrags in one free transaction signed by the node's operator key. A
//! local-storage entry per (request, node) keeps it from submitting twice; it resubmits only
//! if the answer has not landed `RESEND_AFTER` blocks later and the deadline has not passed.

use super::*;
use frame_system::offchain::SubmitTransaction;
use rand_chacha::{rand_core::SeedableRng, ChaCha20Rng};
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

/// The Umbral secret of an identity seed.
pub fn umbral_secret(seed: &[u8; 32]) -> Option<umbral_pre::SecretKey> {
	umbral_pre::SecretKeyFactory::from_secure_randomness(seed)
		.ok()
		.map(|factory| factory.make_key(b"node"))
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
			.filter_map(umbral_secret)
			.filter_map(|secret| {
				let public = secret.public_key().to_compressed_bytes();
				UmbralPublicKey::try_from(&public[..]).ok().map(|key| (key, secret))
			})
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

	/// Opens `node`'s kfrag of the policy, checks it and re-encrypts the request's capsules.
	fn reencrypt(
		policy: &PolicyOf<T>,
		request: &RequestOf<T>,
		node: &T::AccountId,
		secret: &umbral_pre::SecretKey,
	) -> Result<CfragsOf<T>, &'static str> {
		let envelope = KFrags::<T>::get(request.policy, node).ok_or("no kfrag on chain")?;
		let capsule =
			wire::decode_capsule(&envelope.capsule).map_err(|_| "kfrag envelope capsule")?;
		let plain = umbral_pre::decrypt_original(secret, &capsule, &envelope.ciphertext)
			.map_err(|_| "the kfrag does not open with this node's key")?;
		let kfrag = wire::decode_key_frag(&plain).map_err(|_| "the kfrag does not decode")?;
		let key = |key: &UmbralPublicKey| key.decompress().ok_or("a policy key is not a point");
		let verified = kfrag
			.verify(
				&key(&policy.verifying_key)?,
				Some(&key(&policy.delegating_key)?),
				Some(&key(&request.receiving_key)?),
			)
			.map_err(|_| "the kfrag fails verification against the policy's keys")?;
		let mut rng = ChaCha20Rng::from_seed(sp_io::offchain::random_seed());
		let mut cfrags = CfragsOf::<T>::new();
		for bytes in &request.capsules {
			let capsule = wire::decode_capsule(bytes).map_err(|_| "a capsule does not decode")?;
			let cfrag =
				umbral_pre::reencrypt_with_rng(&mut rng, &capsule, verified.clone()).unverify();
			let encoded = wire::to_vec(&cfrag).map_err(|_| "a cfrag does not encode")?;
			cfrags
				.try_push(encoded.try_into().map_err(|_| "a cfrag has the wrong length")?)
				.map_err(|_| "more cfrags than capsules")?;
		}
		Ok(cfrags)
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
