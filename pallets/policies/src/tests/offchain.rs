//! The re-encryption worker, with `TestOffchainExt`, `TestTransactionPoolExt` and an in-memory
//! keystore: what reaches the pool is decoded, checked with umbral-pre and dispatched.

use super::*;
use crate::offchain::UMBRAL_SEEDS_KEY;
use frame_support::traits::{Authorize, Hooks};
use kms_primitives::{
	policies::{Decision, DeclineReason},
	staking::{dev, operator::KEY_TYPE},
};
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

/// Takes the worker's transactions from the pool, checks them as the pool would and
/// dispatches them: the answers and the decisions.
fn land_all(
	pool: &Arc<parking_lot::RwLock<PoolState>>,
) -> (Vec<ResponseOf<Test>>, Vec<PolicyDecisionOf<Test>>) {
	let raw: Vec<_> = pool.write().transactions.drain(..).collect();
	let (mut responses, mut decisions) = (Vec::new(), Vec::new());
	for bytes in raw {
		let xt = Extrinsic::decode(&mut &bytes[..]).expect("a transaction");
		let RuntimeCall::KmsPolicies(call) = xt.function else { panic!("a Policies call") };
		call.authorize(TransactionSource::Local)
			.expect("authorize logic")
			.expect("the worker's transaction is valid for the pool");
		match call {
			crate::Call::submit_cfrags_authorized { response, signature } => {
				assert_ok!(KmsPolicies::submit_cfrags_authorized(
					frame_system::RawOrigin::Authorized.into(),
					response.clone(),
					signature
				));
				responses.push(response);
			},
			crate::Call::decide_on_policy { decision, signature } => {
				assert_ok!(KmsPolicies::decide_on_policy(
					frame_system::RawOrigin::Authorized.into(),
					decision.clone(),
					signature
				));
				decisions.push(decision);
			},
			other => panic!("not a worker's call: {other:?}"),
		}
	}
	(responses, decisions)
}

/// The answers the worker sent, landed (see [`land_all`]).
fn land(pool: &Arc<parking_lot::RwLock<PoolState>>) -> Vec<ResponseOf<Test>> {
	let (responses, decisions) = land_all(pool);
	assert!(decisions.is_empty(), "no decision expected: {decisions:?}");
	responses
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
		KmsPolicies::offchain_worker(1);
		let first = pending(&pool);
		assert_eq!(first.len(), 1, "sent once");
		// The answer did not land in the next block (a peer refused it as stale, say): that
		// block's run sends it again, the same cfrags signed as sent later, and it ranks
		// higher, so that it replaces the first in the pool and goes out anew.
		pool.write().transactions.clear();
		run_to_block(2);
		KmsPolicies::offchain_worker(2);
		let again = pending(&pool);
		assert_eq!(again.len(), 1, "sent again");
		let ((first, first_priority), (again, again_priority)) = (&first[0], &again[0]);
		assert_eq!((first.sent_at, again.sent_at), (1, 2));
		assert_eq!(again.cfrags, first.cfrags, "the cfrags checked the first time");
		assert!(again_priority > first_priority, "{again_priority} > {first_priority}");
		assert_eq!(land(&pool).len(), 1);
		// Landed: nothing more to do.
		KmsPolicies::offchain_worker(2);
		run_to_block(3);
		KmsPolicies::offchain_worker(3);
		assert!(pool.read().transactions.is_empty());
		// Counted once per request, not per attempt; the resend re-encrypted nothing.
		let counters = worker_counters();
		assert_eq!((counters.requests_seen, counters.answers_sent), (1, 1));
		assert_eq!(counters.kfrag_cache_hits + counters.kfrag_cache_misses, 1);
		assert_eq!(counters.skipped, [0; kms_primitives::metrics::SKIP_REASONS]);
		// The cfrags kept for a resend are dropped with the submission record after the
		// deadline.
		run_to_block(1 + WINDOW + 1);
		KmsPolicies::offchain_worker(1 + WINDOW + 1);
		let index = sp_io::offchain::local_storage_get(
			StorageKind::PERSISTENT,
			crate::offchain::SUBMITTED_INDEX_KEY,
		)
		.expect("the index");
		assert_eq!(Vec::<(Vec<u8>, u64)>::decode(&mut &index[..]).expect("decodes"), vec![]);
	});
}

/// The answers in the pool, each with the priority the pool gives it (not landed).
fn pending(
	pool: &Arc<parking_lot::RwLock<PoolState>>,
) -> Vec<(ResponseOf<Test>, sp_runtime::transaction_validity::TransactionPriority)> {
	pool.read()
		.transactions
		.iter()
		.map(|bytes| {
			let xt = Extrinsic::decode(&mut &bytes[..]).expect("a transaction");
			let RuntimeCall::KmsPolicies(call) = xt.function else { panic!("a Policies call") };
			let (validity, _) = call
				.authorize(TransactionSource::External)
				.expect("authorize logic")
				.expect("valid for the pool");
			let crate::Call::submit_cfrags_authorized { response, .. } = call else {
				panic!("an answer")
			};
			(response, validity.priority)
		})
		.collect()
}

#[test]
fn an_answer_whose_first_attempt_failed_is_made_in_full_the_next_block() {
	with_worker(&["n1"], |pool| {
		let grant = NewPolicy::default().create();
		let (id, _) = request(&grant, P1, "bob", &[b"x"]);
		// The node's kfrag cannot be read at the first attempt: nothing is sent, nothing kept.
		let envelope = KFrags::<Test>::take(P1, account("n1")).expect("kfrag");
		KmsPolicies::offchain_worker(1);
		assert!(pool.read().transactions.is_empty());
		KFrags::<Test>::insert(P1, account("n1"), envelope);
		// The next block's run re-encrypts (there are no cfrags to reuse) and answers.
		run_to_block(2);
		KmsPolicies::offchain_worker(2);
		let answers = land(&pool);
		assert_eq!(answers.len(), 1);
		assert_eq!(answers[0].sent_at, 2);
		let capsule = kms_primitives::wire::decode_capsule(
			&Requests::<Test>::get(id).expect("retained").capsules[0],
		)
		.expect("a capsule");
		assert!(verifies(&grant, &capsule, &answers[0].cfrags[0]));
		// Counted by what became of the first attempt.
		let counters = worker_counters();
		assert_eq!((counters.requests_seen, counters.answers_sent), (1, 0));
		assert_eq!(counters.skipped(kms_primitives::metrics::SkipReason::NoKFrag), 1);
	});
}

/// What the worker counted for the node's metrics (`kms_primitives::metrics`).
fn worker_counters() -> kms_primitives::metrics::WorkerCounters {
	sp_io::offchain::local_storage_get(
		StorageKind::PERSISTENT,
		kms_primitives::metrics::WORKER_COUNTERS_KEY,
	)
	.map(|bytes| Decode::decode(&mut &bytes[..]).expect("the counters decode"))
	.unwrap_or_default()
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
	with_worker(&["n1"], |pool| {
		let grant = NewPolicy::default().create();
		request(&grant, P1, "bob", &[b"x"]);
		// At the deadline block itself an answer could only land after the deadline.
		run_to_block(1 + WINDOW);
		KmsPolicies::offchain_worker(1 + WINDOW);
		assert!(pool.read().transactions.is_empty(), "could not land in time");
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
	let [delegating, verifying, receiving] = grant.keys().map(|key| key.decompress().unwrap());
	kms_primitives::wire::decode_capsule_frag(cfrag)
		.expect("a canonical cfrag")
		.verify(capsule, &verifying, &delegating, &receiving)
		.is_ok()
}

/// The content hash of `node`'s kfrag of `P1` as the chain holds it now.
fn content_of(node: &str) -> [u8; 32] {
	let policy = Policies::<Test>::get(P1).expect("policy");
	let envelope = KFrags::<Test>::get(P1, account(node)).expect("kfrag");
	kms_primitives::policies::grant_content_hash(&policy.keys(), &envelope)
}

/// The worker's cached kfrag for `content`, if any.
fn cached_kfrag(content: [u8; 32]) -> Option<Vec<u8>> {
	let stored = sp_io::offchain::local_storage_get(
		StorageKind::PERSISTENT,
		&(crate::offchain::KFRAG_CACHE_PREFIX, content).encode(),
	)?;
	Some(Decode::decode(&mut &stored[..]).expect("SCALE bytes"))
}

fn cache_index() -> Vec<crate::offchain::CacheEntry<Test>> {
	sp_io::offchain::local_storage_get(StorageKind::PERSISTENT, crate::offchain::KFRAG_INDEX_KEY)
		.map(|bytes| Decode::decode(&mut &bytes[..]).expect("the index decodes"))
		.unwrap_or_default()
}

/// Bytes 71..105 of a cfrag: the id of the kfrag that made it.
fn kfrag_id(cfrag: &[u8]) -> Vec<u8> {
	cfrag[71..105].to_vec()
}

#[test]
fn checked_kfrags_are_cached_by_content_and_used_for_later_requests() {
	with_worker(&["n1"], |pool| {
		let (grant, version) = answer_one_request(&pool);
		let content = content_of("n1");
		let cached = cached_kfrag(content).expect("the checked kfrag is cached");
		assert_eq!(cached.len(), kms_primitives::wire::KFRAG_LEN);
		assert_eq!(cache_index(), vec![(P1, version, account("n1"), content)]);
		// Put n2's kfrag (same policy, same keys: also correct) under n1's content: the next
		// answer is made from the cache, as the kfrag id inside its cfrag shows.
		let (id, encrypted) = request(&grant, P1, "bob", &[b"second"]);
		let n2_cfrag = reencrypt_as("n2", P1, id)[0].clone().into_inner();
		let n2_kfrag = {
			let stored = KFrags::<Test>::get(P1, account("n2")).expect("n2's kfrag");
			let capsule = kms_primitives::wire::decode_capsule(&stored.capsule).expect("capsule");
			umbral_pre::decrypt_original(&node_secret("n2"), &capsule, &stored.ciphertext)
				.expect("opens")
				.to_vec()
		};
		sp_io::offchain::local_storage_set(
			StorageKind::PERSISTENT,
			&(crate::offchain::KFRAG_CACHE_PREFIX, content).encode(),
			&n2_kfrag.encode(),
		);
		KmsPolicies::offchain_worker(1);
		let answers = land(&pool);
		assert_eq!(answers.len(), 1);
		assert!(verifies(&grant, &encrypted[0].0, &answers[0].cfrags[0]), "a correct cfrag");
		assert_eq!(kfrag_id(&answers[0].cfrags[0]), kfrag_id(&n2_cfrag), "from the cache");
	});
}

#[test]
fn after_a_reorg_the_kfrag_of_the_other_fork_is_never_used() {
	with_worker(&["n1"], |pool| {
		// n1 checked, cached and served its kfrag of P1 v0.
		let (_, _) = answer_one_request(&pool);
		let old_content = content_of("n1");
		assert!(cached_kfrag(old_content).is_some());
		// The new fork has another P1 v0 (same owner-chosen id): other keys, other kfrags,
		// and n1 accepted it there too. The cached kfrag would make cfrags that fail there.
		let other = Grant::new();
		let grants = other.grants(2, &["n1", "n2", "n3"]);
		Policies::<Test>::mutate(P1, |policy| {
			let policy = policy.as_mut().expect("policy");
			[policy.delegating_key, policy.verifying_key, policy.receiving_key] = other.keys();
		});
		for grant in grants {
			KFrags::<Test>::insert(P1, &grant.node, grant.kfrag);
		}
		assert_ne!(content_of("n1"), old_content);
		let (_, encrypted) = request(&other, P1, "bob", &[b"on the other fork"]);
		KmsPolicies::offchain_worker(1);
		let answers = land(&pool);
		assert_eq!(answers.len(), 1, "answered, from its kfrag on this fork");
		assert!(verifies(&other, &encrypted[0].0, &answers[0].cfrags[0]), "a correct cfrag");
		assert!(cached_kfrag(content_of("n1")).is_some(), "the new content is cached apart");
	});
}

#[test]
fn the_worker_accepts_what_checks_out_and_then_answers() {
	with_worker(&["n1", "n3"], |pool| {
		let grant = NewPolicy::default().create_pending();
		KmsPolicies::offchain_worker(1);
		let (responses, decisions) = land_all(&pool);
		assert!(responses.is_empty());
		let mut deciders: Vec<_> = decisions.iter().map(|d| d.node.clone()).collect();
		deciders.sort();
		let mut hosted = vec![account("n1"), account("n3")];
		hosted.sort();
		assert_eq!(deciders, hosted);
		assert!(decisions.iter().all(|d| d.decision == Decision::Accept));
		assert!(events().contains(&Event::PolicyReady { id: P1, version: 0 }));
		// Decided once: the next run sends nothing.
		KmsPolicies::offchain_worker(1);
		assert!(pool.read().transactions.is_empty());
		let (id, encrypted) = request(&grant, P1, "bob", &[b"after acceptance"]);
		KmsPolicies::offchain_worker(1);
		assert_eq!(land(&pool).len(), 2);
		assert_eq!(bob_decrypts(&grant, id, &encrypted), vec![b"after acceptance".to_vec()]);
	});
}

#[test]
fn the_worker_decides_a_bounded_number_of_policies_per_block() {
	with_worker(&["n1"], |pool| {
		// Twelve policies name n1 at once (a flood costs the owner their fees and decisions).
		for i in 0..12u8 {
			NewPolicy { id: [i + 10; 16], threshold: 1, nodes: vec!["n1"], ..Default::default() }
				.create_pending();
		}
		KmsPolicies::offchain_worker(1);
		let (_, first) = land_all(&pool);
		assert_eq!(first.len(), 8, "DECISIONS_PER_RUN in the first block");
		run_to_block(2);
		KmsPolicies::offchain_worker(2);
		let (_, second) = land_all(&pool);
		assert_eq!(second.len(), 4, "the rest in the next");
		assert!(first.iter().chain(&second).all(|d| d.decision == Decision::Accept));
		assert_eq!(PendingDecisions::<Test>::iter_prefix(account("n1")).count(), 0);
	});
}

/// Creates `P1` with `n1` only (threshold 1) and `envelope` as its kfrag, lets the worker
/// hosting n1 decide, and returns the decision it landed.
fn decide_on(
	pool: &Arc<parking_lot::RwLock<PoolState>>,
	envelope: EncryptedKFrag,
	grant: &Grant,
) -> PolicyDecisionOf<Test> {
	let [delegating, verifying, receiving] = grant.keys();
	let nodes = vec![NodeGrant { node: account("n1"), key_version: 0, kfrag: envelope }]
		.try_into()
		.expect("one");
	let signature = grant.sign("alice", P1, 1, 30, &Default::default(), &nodes);
	assert_ok!(KmsPolicies::create_policy(
		RuntimeOrigin::signed(account("alice")),
		P1,
		Default::default(),
		delegating,
		verifying,
		receiving,
		1,
		nodes,
		30,
		RATE,
		Default::default(),
		signature,
	));
	KmsPolicies::offchain_worker(1);
	let (responses, mut decisions) = land_all(pool);
	assert!(responses.is_empty());
	assert_eq!(decisions.len(), 1, "one decision");
	decisions.remove(0)
}

/// Nothing happens to `node` over the next periods: no answer is asked of it, no deadline
/// counts against it, it keeps serving (so its lock winds down and it earns its rewards).
fn assert_unharmed(pool: &Arc<parking_lot::RwLock<PoolState>>, node: &str) {
	for block in 2..=(2 * PERIOD + 1) {
		run_to_block(block);
		if block % PERIOD == 0 {
			serve_all();
		}
		KmsPolicies::offchain_worker(block);
		assert!(pool.read().transactions.is_empty(), "block {block}: nothing to send");
	}
	for period in 0..=2 {
		let record = pallet_kms_staking::Service::<Test>::get(period, account(node));
		assert_eq!(record.missed_deadlines, 0, "period {period}");
		assert!(Staking::is_serving(&account(node), period), "period {period}");
	}
}

#[test]
fn a_kfrag_whose_receiver_signature_fails_is_declined_not_slashed() {
	// Finding 1: a kfrag made for another delegating key with both "signed" flags off passes
	// `KeyFrag::verify` with the policy's keys, and every cfrag made with it fails the
	// adjudicator's `CapsuleFrag::verify`. The self-test catches it.
	with_worker(&["n1"], |pool| {
		let grant = Grant::new();
		let kfrag = umbral_pre::generate_kfrags(
			&umbral_pre::SecretKey::random(),
			&grant.receiving.public_key(),
			&grant.signer,
			1,
			1,
			false,
			false,
		)[0]
		.clone()
		.unverify();
		let [delegating, verifying, receiving] = grant.keys().map(|key| key.decompress().unwrap());
		let passes = kfrag.clone().verify(&verifying, Some(&delegating), Some(&receiving));
		let verified = passes.expect("KeyFrag::verify alone lets it through");
		let capsule = grant.encrypt(b"bait").0;
		assert!(matches!(
			umbral_pre::reencrypt(&capsule, verified).unverify().verify(
				&capsule,
				&verifying,
				&delegating,
				&receiving
			),
			Err((umbral_pre::CapsuleFragVerificationError::IncorrectKeyFragSignature, _))
		));
		let envelope = encrypt_kfrag(&node_secret("n1").public_key(), &kfrag);
		let decision = decide_on(&pool, envelope, &grant);
		assert_eq!(decision.decision, Decision::Decline(DeclineReason::SelfTestFailed));
		assert!(Policies::<Test>::get(P1).expect("kept").nodes.is_empty());
		assert_noop!(
			try_request("bob", P1, vec![capsule_bytes(&capsule)]),
			Error::<Test>::AwaitingAcceptance
		);
		assert_eq!(escrow_of("alice"), 0, "every fee refunded");
		assert_unharmed(&pool, "n1");
	});
}

#[test]
fn an_envelope_the_node_cannot_open_is_declined_and_never_missed() {
	// Finding 2: a policy naming the victim with random ciphertext. Before, every request
	// made the victim "miss a deadline" and lose its period's fees and rewards everywhere.
	with_worker(&["n1"], |pool| {
		let grant = Grant::new();
		let mut envelope = grant.grants(1, &["n1"])[0].kfrag.clone();
		for (i, byte) in envelope.ciphertext.iter_mut().enumerate() {
			*byte = (i as u8).wrapping_mul(31);
		}
		let decision = decide_on(&pool, envelope, &grant);
		assert_eq!(decision.decision, Decision::Decline(DeclineReason::EnvelopeUnopenable));
		assert_eq!(escrow_of("alice"), 0, "the owner gets no free service either");
		assert_unharmed(&pool, "n1");
	});
}

#[test]
fn a_non_canonical_kfrag_is_declined_without_a_panic() {
	// The kfrag's first two points re-encoded, the identity and an uncompressed point: the
	// standard length all the same, and umbral-pre alone may panic on it.
	with_worker(&["n1"], |pool| {
		let grant = Grant::new();
		let kfrag = umbral_pre::generate_kfrags(
			&grant.delegating,
			&grant.receiving.public_key(),
			&grant.signer,
			1,
			1,
			true,
			true,
		)[0]
		.clone()
		.unverify();
		let hostile = kms_fixtures::hostile::identity_and_uncompressed(
			&umbral_pre::DefaultSerialize::to_bytes(&kfrag).expect("serializes"),
		);
		let (capsule, ciphertext) =
			umbral_pre::encrypt(&node_secret("n1").public_key(), &hostile).expect("seals");
		let envelope = EncryptedKFrag {
			capsule: capsule_bytes(&capsule),
			ciphertext: ciphertext.to_vec().try_into().expect("350 bytes"),
		};
		let decision = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
			decide_on(&pool, envelope, &grant)
		}))
		.expect("the worker does not panic");
		assert_eq!(decision.decision, Decision::Decline(DeclineReason::MalformedKFrag));
	});
}

#[test]
fn a_kfrag_for_other_keys_is_declined() {
	with_worker(&["n1"], |pool| {
		let grant = Grant::new();
		let other = Grant::new();
		let envelope = other.grants(1, &["n1"])[0].kfrag.clone();
		let decision = decide_on(&pool, envelope, &grant);
		assert_eq!(decision.decision, Decision::Decline(DeclineReason::InvalidKFrag));
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
		answer_one_request(&pool);
		let content = content_of("n1");
		assert!(cached_kfrag(content).is_some());
		assert_ok!(KmsPolicies::revoke_policy(RuntimeOrigin::signed(account("alice")), P1));
		KmsPolicies::offchain_worker(1);
		assert_eq!(cache_index(), vec![]);
		assert_eq!(cached_kfrag(content), None);
	});
	// Rotated to another version.
	with_worker(&["n1"], |pool| {
		let (grant, version) = answer_one_request(&pool);
		let old = content_of("n1");
		// The owner's keys, a new reader.
		let new = Grant { receiving: umbral_pre::SecretKey::random(), ..grant };
		let [_, _, receiving] = new.keys();
		assert_ok!(KmsPolicies::rotate_policy(
			RuntimeOrigin::signed(account("alice")),
			P1,
			receiving,
			2,
			new.grants(2, &["n1", "n2", "n3"]),
		));
		assert!(cached_kfrag(old).is_some());
		KmsPolicies::offchain_worker(1);
		assert_eq!(cached_kfrag(old), None);
		// n1 checked and accepted the new version: only its new kfrag is cached now.
		let (_, decisions) = land_all(&pool);
		assert_eq!(decisions.len(), 1);
		assert_eq!(cache_index(), vec![(P1, version + 1, account("n1"), content_of("n1"))]);
	});
	// Past its end and its last request's deadline; kept until then.
	with_worker(&["n1"], |pool| {
		answer_one_request(&pool);
		let content = content_of("n1");
		let policy = Policies::<Test>::get(P1).expect("created");
		let last_deadline = policy.end + WINDOW;
		run_to_block(last_deadline);
		KmsPolicies::offchain_worker(last_deadline);
		assert!(cached_kfrag(content).is_some(), "requests may still be answered");
		run_to_block(last_deadline + 1);
		KmsPolicies::offchain_worker(last_deadline + 1);
		assert_eq!(cached_kfrag(content), None);
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

/// The runtime's admitted maximum of requests per block.
const FULL_BLOCK: u32 = 32;

/// Runs `blocks` blocks at the runtime's admitted maximum of requests, one capsule each, from
/// the current block: `policy_of(block, i)` names the policy of the block's `i`-th request. The
/// worker runs at the end of each block and its answers land in the next. Returns every request
/// with its policy and whether it was fulfilled in the block after it.
fn full_blocks(
	pool: &Arc<parking_lot::RwLock<PoolState>>,
	grants: &[(PolicyId, &Grant)],
	blocks: u64,
	policy_of: impl Fn(u64, u32) -> PolicyId,
) -> Vec<(RequestId, PolicyId, bool)> {
	MaxRequestsPerBlock::set(FULL_BLOCK);
	MaxRequestsPerRequester::set(FULL_BLOCK);
	MaxRequestsPerPolicy::set(FULL_BLOCK);
	let mut made = Vec::new();
	let first = System::block_number();
	for block in first..first + blocks {
		let mut this_block = Vec::new();
		for i in 0..FULL_BLOCK {
			let policy = policy_of(block, i);
			let grant = grants.iter().find(|(id, _)| *id == policy).expect("a known policy").1;
			this_block.push((request(grant, policy, "bob", &[b"load"]).0, policy));
		}
		// The block is full.
		let (_, grant) = grants[0];
		let one_more = vec![capsule_bytes(&grant.encrypt(b"one more").0)];
		assert_noop!(try_request("bob", grants[0].0, one_more), Error::<Test>::TooManyRequests);
		KmsPolicies::offchain_worker(block);
		run_to_block(block + 1);
		land(pool);
		made.extend(this_block.into_iter().map(|(id, policy)| (id, policy, fulfilled(id))));
	}
	// Past every deadline, so that misses would be recorded.
	run_to_block(first + blocks + WINDOW + 1);
	made
}

/// Whether `request` was fulfilled.
fn fulfilled(request: RequestId) -> bool {
	let policy = Requests::<Test>::get(request).expect("retained").policy;
	events().contains(&Event::RequestFulfilled { request, policy })
}

fn missed(node: &str) -> u32 {
	(0..=Staking::current_period())
		.map(|period| {
			pallet_kms_staking::Service::<Test>::get(period, account(node)).missed_deadlines
		})
		.sum()
}

/// Finding 1 of the request-economics issue: at the admitted maximum of requests per block for
/// longer than a response window, every request is answered in the block after it, the one
/// request to another node of the worker among them too, and no deadline is missed.
#[test]
fn the_worker_keeps_up_at_the_admitted_maximum() {
	with_worker(&["n1", "n4"], |pool| {
		let busy = NewPolicy { nodes: vec!["n1"], threshold: 1, ..Default::default() }.create();
		let other =
			NewPolicy { id: P2, nodes: vec!["n4"], threshold: 1, ..Default::default() }.create();
		let middle = 1 + (WINDOW + 5) / 2;
		let made = full_blocks(&pool, &[(P1, &busy), (P2, &other)], WINDOW + 5, |block, i| {
			if block == middle && i == FULL_BLOCK / 2 {
				P2
			} else {
				P1
			}
		});
		assert_eq!(made.len() as u64, FULL_BLOCK as u64 * (WINDOW + 5));
		assert_eq!(made.iter().filter(|(_, policy, _)| *policy == P2).count(), 1);
		for (request, _, next_block) in &made {
			assert!(next_block, "request {request} answered in the block after it");
		}
		assert!(!events().iter().any(|e| matches!(e, Event::RequestFailed { .. })));
		assert_eq!((missed("n1"), missed("n4")), (0, 0));
	});
}

/// The head-of-line case: a request this worker cannot answer (its node is elsewhere), then a
/// block's worth of fillers, then a good request: nothing waits behind the unanswerable one.
#[test]
fn an_unanswerable_request_holds_up_nothing() {
	with_worker(&["n1"], |pool| {
		let busy = NewPolicy { nodes: vec!["n1"], threshold: 1, ..Default::default() }.create();
		let elsewhere =
			NewPolicy { id: P2, nodes: vec!["n2"], threshold: 1, ..Default::default() }.create();
		let made = full_blocks(&pool, &[(P1, &busy), (P2, &elsewhere)], 2, |block, i| {
			if block == 1 && i == 0 {
				P2
			} else {
				P1
			}
		});
		for (request, policy, next_block) in &made {
			assert_eq!(*next_block, *policy == P1, "request {request}");
			assert_eq!(fulfilled(*request), *policy == P1, "request {request}");
		}
		assert_eq!((missed("n1"), missed("n2")), (0, 1));
	});
}
