//! The re-encryption worker, with `TestOffchainExt`, `TestTransactionPoolExt` and an in-memory
//! keystore: what reaches the pool is decoded, checked with umbral-pre and dispatched.

use super::*;
use crate::offchain::UMBRAL_SEEDS_KEY;
use frame_support::traits::{Authorize, Hooks};
use kms_primitives::staking::{dev, operator::KEY_TYPE};
use sp_core::offchain::{
	testing::{PoolState, TestOffchainExt, TestTransactionPoolExt},
	OffchainDbExt, OffchainWorkerExt, StorageKind, TransactionPoolExt,
};
use sp_keystore::{testing::MemoryKeystore, Keystore, KeystoreExt};
use sp_runtime::transaction_validity::TransactionSource;
use std::sync::Arc;

/// A test world whose offchain worker hosts `nodes` (their identity seeds and operator keys).
fn with_worker(nodes: &[&str], test: impl FnOnce(Arc<parking_lot::RwLock<PoolState>>)) {
	let (offchain, _) = TestOffchainExt::new();
	let (pool, pool_state) = TestTransactionPoolExt::new();
	let keystore = MemoryKeystore::new();
	for node in nodes {
		keystore
			.sr25519_generate_new(KEY_TYPE, Some(&format!("//{node}-op")))
			.expect("keystore takes the key");
	}
	let mut ext = ExtBuilder::build();
	ext.register_extension(OffchainWorkerExt::new(offchain.clone()));
	ext.register_extension(OffchainDbExt::new(offchain));
	ext.register_extension(TransactionPoolExt::new(pool));
	ext.register_extension(KeystoreExt::new(keystore));
	let seeds: Vec<[u8; 32]> = nodes.iter().map(|node| dev::umbral_seed(node)).collect();
	ext.execute_with(|| {
		sp_io::offchain::local_storage_set(
			StorageKind::PERSISTENT,
			UMBRAL_SEEDS_KEY,
			&seeds.encode(),
		);
		test(pool_state);
		KmsPolicies::do_try_state().expect("policies invariants hold");
	});
}

/// Takes the answers from the pool, checks them as the pool would and dispatches them.
fn land(pool: &Arc<parking_lot::RwLock<PoolState>>) -> Vec<ResponseOf<Test>> {
	let raw: Vec<_> = pool.write().transactions.drain(..).collect();
	raw.into_iter()
		.map(|bytes| {
			let xt = Extrinsic::decode(&mut &bytes[..]).expect("a transaction");
			let RuntimeCall::KmsPolicies(call) = xt.function else { panic!("a Policies call") };
			call.authorize(TransactionSource::Local)
				.expect("authorize logic")
				.expect("the answer is valid for the pool");
			let crate::Call::submit_cfrags_authorized { response, signature } = call else {
				panic!("an authorized answer")
			};
			assert_ok!(KmsPolicies::submit_cfrags_authorized(
				frame_system::RawOrigin::Authorized.into(),
				response.clone(),
				signature
			));
			response
		})
		.collect()
}

#[test]
fn the_worker_answers_for_its_nodes_and_bob_decrypts() {
	with_worker(&["n1", "n3"], |pool| {
		let grant = NewPolicy::default().create();
		let (id, encrypted) = request(&grant, P1, "bob", &[b"one", b"two"]);
		KmsPolicies::offchain_worker(1);
		let answers = land(&pool);
		let mut nodes: Vec<_> = answers.iter().map(|r| r.node.clone()).collect();
		nodes.sort();
		let mut expected = vec![account("n1"), account("n3")];
		expected.sort();
		assert_eq!(nodes, expected, "one answer per hosted node of the policy");
		assert!(events().contains(&Event::RequestFulfilled { request: id, policy: P1 }));
		assert_eq!(bob_decrypts(&grant, id, &encrypted), vec![b"one".to_vec(), b"two".to_vec()]);
	});
}

#[test]
fn the_worker_submits_once_and_resends_only_what_did_not_land() {
	with_worker(&["n1"], |pool| {
		let grant = NewPolicy::default().create();
		request(&grant, P1, "bob", &[b"x"]);
		KmsPolicies::offchain_worker(1);
		assert_eq!(pool.read().transactions.len(), 1);
		// The next blocks: already sent, not resent.
		KmsPolicies::offchain_worker(2);
		assert_eq!(pool.read().transactions.len(), 1);
		// The answer was lost; three blocks later it is sent again, still before the deadline.
		pool.write().transactions.clear();
		run_to_block(4);
		KmsPolicies::offchain_worker(4);
		assert_eq!(land(&pool).len(), 1);
		// Landed: nothing more to do.
		KmsPolicies::offchain_worker(4);
		assert!(pool.read().transactions.is_empty());
	});
}

#[test]
fn the_worker_skips_cancelled_expired_and_foreign_requests() {
	with_worker(&["n4"], |pool| {
		// n4 is not a node of the policy.
		let grant = NewPolicy::default().create();
		request(&grant, P1, "bob", &[b"x"]);
		KmsPolicies::offchain_worker(1);
		assert!(pool.read().transactions.is_empty());
	});
	with_worker(&["n1"], |pool| {
		let grant = NewPolicy::default().create();
		request(&grant, P1, "bob", &[b"x"]);
		assert_ok!(KmsPolicies::revoke_policy(RuntimeOrigin::signed(account("alice")), P1));
		KmsPolicies::offchain_worker(1);
		assert!(pool.read().transactions.is_empty(), "cancelled by the revocation");
	});
	with_worker(&["n1"], |pool| {
		let grant = NewPolicy::default().create();
		request(&grant, P1, "bob", &[b"x"]);
		run_to_block(1 + WINDOW + 1);
		KmsPolicies::offchain_worker(1 + WINDOW + 1);
		assert!(pool.read().transactions.is_empty(), "past its deadline");
	});
}

#[test]
fn a_kfrag_that_fails_verification_is_never_used() {
	with_worker(&["n1"], |pool| {
		// n1's envelope holds a kfrag for another receiving key than the policy's.
		let grant = NewPolicy::default().create();
		let other = Grant {
			delegating: grant.delegating.clone(),
			signer: grant.signer.clone(),
			receiving: umbral_pre::SecretKey::random(),
		};
		let envelope = other.grants(2, &["n1", "n2", "n3"])[0].kfrag.clone();
		KFrags::<Test>::insert(P1, account("n1"), envelope);
		request(&grant, P1, "bob", &[b"x"]);
		KmsPolicies::offchain_worker(1);
		assert!(pool.read().transactions.is_empty());
	});
}

#[test]
fn the_worker_needs_the_operator_key() {
	with_worker(&["n1"], |pool| {
		let grant = NewPolicy::default().create();
		request(&grant, P1, "bob", &[b"x"]);
		// n2's identity is here, but only n1's operator key: n2 cannot answer.
		sp_io::offchain::local_storage_set(
			StorageKind::PERSISTENT,
			UMBRAL_SEEDS_KEY,
			&vec![dev::umbral_seed("n2")].encode(),
		);
		KmsPolicies::offchain_worker(1);
		assert!(pool.read().transactions.is_empty());
	});
}

/// Whether `cfrag` is a correct re-encryption of `capsule` under `grant`'s keys.
fn verifies(grant: &Grant, capsule: &umbral_pre::Capsule, cfrag: &[u8]) -> bool {
	use umbral_pre::DefaultDeserialize;
	let [delegating, verifying, receiving] = grant.keys().map(|key| key.decompress().unwrap());
	umbral_pre::CapsuleFrag::from_bytes(cfrag)
		.expect("a well-formed cfrag")
		.verify(capsule, &verifying, &delegating, &receiving)
		.is_ok()
}

/// The worker's cached kfrag of `node` for policy `P1` at `version`, if any.
fn cached_kfrag(node: &str, version: PolicyVersion) -> Option<Vec<u8>> {
	use crate::offchain::{CacheEntry, KFRAG_CACHE_PREFIX};
	let entry: CacheEntry<Test> = (P1, version, account(node));
	let stored = sp_io::offchain::local_storage_get(
		StorageKind::PERSISTENT,
		&(KFRAG_CACHE_PREFIX, &entry).encode(),
	)?;
	Some(Decode::decode(&mut &stored[..]).expect("SCALE bytes"))
}

fn cache_index() -> Vec<crate::offchain::CacheEntry<Test>> {
	sp_io::offchain::local_storage_get(StorageKind::PERSISTENT, crate::offchain::KFRAG_INDEX_KEY)
		.map(|bytes| Decode::decode(&mut &bytes[..]).expect("the index decodes"))
		.unwrap_or_default()
}

#[test]
fn checked_kfrags_are_cached_and_used_for_later_requests() {
	with_worker(&["n1"], |pool| {
		let (grant, version) = answer_one_request(&pool);
		let cached = cached_kfrag("n1", version).expect("the checked kfrag is cached");
		assert_eq!(cached.len(), kms_primitives::wire::KFRAG_LEN);
		assert_eq!(cache_index(), vec![(P1, version, account("n1"))]);
		// The envelope on chain no longer opens: only the cache can answer the next request.
		let mut envelope = KFrags::<Test>::get(P1, account("n1")).expect("n1's kfrag");
		envelope.ciphertext[0] ^= 1;
		KFrags::<Test>::insert(P1, account("n1"), envelope);
		let (_, encrypted) = request(&grant, P1, "bob", &[b"second"]);
		KmsPolicies::offchain_worker(1);
		let answers = land(&pool);
		assert_eq!(answers.len(), 1);
		assert!(verifies(&grant, &encrypted[0].0, &answers[0].cfrags[0]), "a correct cfrag");
	});
}

/// Creates the default policy `P1` and has the worker answer one request of it (caching n1's
/// kfrag). Returns the grant and the policy's version.
fn answer_one_request(pool: &Arc<parking_lot::RwLock<PoolState>>) -> (Grant, PolicyVersion) {
	let grant = NewPolicy::default().create();
	let version = Policies::<Test>::get(P1).expect("created").version;
	request(&grant, P1, "bob", &[b"x"]);
	KmsPolicies::offchain_worker(1);
	land(pool);
	(grant, version)
}

#[test]
fn cached_kfrags_are_dropped_on_revocation_rotation_and_expiry() {
	// Revoked.
	with_worker(&["n1"], |pool| {
		let (_, version) = answer_one_request(&pool);
		assert!(cached_kfrag("n1", version).is_some());
		assert_ok!(KmsPolicies::revoke_policy(RuntimeOrigin::signed(account("alice")), P1));
		KmsPolicies::offchain_worker(1);
		assert_eq!(cache_index(), vec![]);
		assert_eq!(cached_kfrag("n1", version), None);
	});
	// Rotated to another version.
	with_worker(&["n1"], |pool| {
		let (_, version) = answer_one_request(&pool);
		let new = Grant::new();
		let [_, _, receiving] = new.keys();
		assert_ok!(KmsPolicies::rotate_policy(
			RuntimeOrigin::signed(account("alice")),
			P1,
			receiving,
			2,
			new.grants(2, &["n1", "n2", "n3"]),
		));
		assert!(cached_kfrag("n1", version).is_some());
		KmsPolicies::offchain_worker(1);
		assert_eq!(cached_kfrag("n1", version), None);
		assert_eq!(cache_index(), vec![]);
	});
	// Past its end and its last request's deadline; kept until then.
	with_worker(&["n1"], |pool| {
		answer_one_request(&pool);
		let policy = Policies::<Test>::get(P1).expect("created");
		let last_deadline = policy.end + WINDOW;
		run_to_block(last_deadline);
		KmsPolicies::offchain_worker(last_deadline);
		assert!(cached_kfrag("n1", policy.version).is_some(), "requests may still be answered");
		run_to_block(last_deadline + 1);
		KmsPolicies::offchain_worker(last_deadline + 1);
		assert_eq!(cached_kfrag("n1", policy.version), None);
		assert_eq!(cache_index(), vec![]);
	});
}

#[cfg(feature = "test-tamper")]
#[test]
fn listed_nodes_answer_with_wrong_cfrags_under_test_tamper() {
	with_worker(&["n1", "n2"], |pool| {
		let grant = NewPolicy::default().create();
		sp_io::offchain::local_storage_set(
			StorageKind::PERSISTENT,
			crate::offchain::TAMPER_KEY,
			&vec![account("n1")].encode(),
		);
		let (id, encrypted) = request(&grant, P1, "bob", &[b"x"]);
		KmsPolicies::offchain_worker(1);
		let answers = land(&pool);
		assert_eq!(answers.len(), 2, "both answer; the chain takes well-formed cfrags");
		for response in answers {
			let correct = verifies(&grant, &encrypted[0].0, &response.cfrags[0]);
			assert_eq!(correct, response.node != account("n1"), "only n1 tampers");
		}
		assert_eq!(Requests::<Test>::get(id).expect("retained").answered.len(), 2);
	});
}
