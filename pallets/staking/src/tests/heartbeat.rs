//! Heartbeats: authorization, dedupe, records, pruning, and the offchain worker that sends
//! them.

use super::*;
use frame_support::traits::{Authorize, Hooks};
use sp_core::offchain::{testing, OffchainDbExt, OffchainWorkerExt, TransactionPoolExt};
use sp_keystore::{testing::MemoryKeystore, Keystore, KeystoreExt};
use sp_runtime::transaction_validity::{InvalidTransaction, TransactionValidityError};

fn authorize(
	heartbeat: HeartbeatOf<Test>,
	signature: MultiSignature,
) -> TransactionValidityWithRefund {
	crate::Call::<Test>::heartbeat { heartbeat, signature }
		.authorize(TransactionSource::External)
		.expect("heartbeat has authorize logic")
}

#[test]
fn a_valid_heartbeat_is_free_tagged_and_lives_until_the_period_ends() {
	ExtBuilder::default()
		.with_node("alice", "alice-op", MIN_STAKE, MIN_LOCK)
		.build_and_execute(|| {
			System::set_block_number(3 * PERIOD + 4);
			let (heartbeat, signature) = heartbeat_of("alice", "alice-op");
			let (validity, refund) = authorize(heartbeat.clone(), signature).unwrap();
			assert_eq!(refund, Weight::zero());
			assert_eq!(validity.longevity, PERIOD - 4);
			assert_eq!(
				validity.provides,
				vec![("KmsHeartbeat", (&account("alice"), 3u32)).encode()]
			);
			assert!(validity.propagate);
			assert_ok!(send_heartbeat("alice", "alice-op"));
			assert!(Service::<Test>::get(3, account("alice")).heartbeat);
			assert_eq!(Nodes::<Test>::get(account("alice")).unwrap().last_heartbeat, Some(3));
			assert_eq!(
				staking_events().last(),
				Some(&Event::HeartbeatReceived {
					node: account("alice"),
					period: 3,
					lock_periods: MIN_LOCK
				})
			);
		});
}

#[test]
fn a_heartbeat_signature_for_another_chain_or_purpose_is_refused() {
	ExtBuilder::default()
		.with_node("alice", "alice-op", MIN_STAKE, MIN_LOCK)
		.build_and_execute(|| {
			run_to_period(2);
			let bad_proof = Err(TransactionValidityError::Invalid(InvalidTransaction::BadProof));
			let (heartbeat, signature) = heartbeat_of("alice", "alice-op");
			// The same heartbeat signed for a chain with another genesis hash: a testnet that
			// shares the operator key. Its signature does not carry over.
			let testnet = kms_primitives::signing::payload(
				kms_primitives::signing::HEARTBEAT,
				&sp_core::H256::repeat_byte(0x42),
				&heartbeat,
			);
			assert_eq!(authorize(heartbeat.clone(), sign("alice-op", &testnet)), bad_proof);
			// The bare record (the old payload), and the record under another domain.
			assert_eq!(
				authorize(heartbeat.clone(), sign("alice-op", &heartbeat.encode())),
				bad_proof
			);
			let response_domain = kms_primitives::signing::payload(
				kms_primitives::signing::RESPONSE,
				&genesis_hash::<Test>(),
				&heartbeat,
			);
			assert_eq!(authorize(heartbeat.clone(), sign("alice-op", &response_domain)), bad_proof);
			// What the operator signs for this chain passes.
			assert!(authorize(heartbeat, signature).is_ok());
		});
}

#[test]
fn heartbeats_are_rejected_when_stale_foreign_forged_or_repeated() {
	ExtBuilder::default()
		.with_node("alice", "alice-op", MIN_STAKE, MIN_LOCK)
		.with_node("bob", "bob-op", MIN_STAKE, MIN_LOCK)
		.build_and_execute(|| {
			let invalid = |e| Err(TransactionValidityError::Invalid(e));
			run_to_period(2);
			// Another period.
			let (mut heartbeat, _) = heartbeat_of("alice", "alice-op");
			heartbeat.period = 1;
			let signature = sign("alice-op", &heartbeat_payload::<Test>(&heartbeat));
			assert_eq!(
				authorize(heartbeat.clone(), signature.clone()),
				invalid(InvalidTransaction::Stale)
			);
			assert_noop!(
				Staking::heartbeat(
					frame_system::RawOrigin::Authorized.into(),
					heartbeat,
					signature
				),
				Error::<Test>::WrongPeriod
			);
			// Signed by Bob's operator for Alice's node.
			let (heartbeat, signature) = heartbeat_of("alice", "bob-op");
			assert_eq!(
				authorize(heartbeat.clone(), signature.clone()),
				invalid(InvalidTransaction::BadSigner)
			);
			assert_noop!(
				Staking::heartbeat(
					frame_system::RawOrigin::Authorized.into(),
					heartbeat,
					signature
				),
				Error::<Test>::NotOperator
			);
			// An unknown node.
			let (heartbeat, signature) = heartbeat_of("eve", "eve");
			assert_eq!(authorize(heartbeat, signature), invalid(InvalidTransaction::BadSigner));
			// A signature by someone else over the right heartbeat.
			let (heartbeat, _) = heartbeat_of("alice", "alice-op");
			let forged = sign("eve", &heartbeat_payload::<Test>(&heartbeat));
			assert_eq!(authorize(heartbeat, forged), invalid(InvalidTransaction::BadProof));
			// Not through a plain signed origin.
			let (heartbeat, signature) = heartbeat_of("alice", "alice-op");
			assert_noop!(
				Staking::heartbeat(
					RuntimeOrigin::signed(account("alice-op")),
					heartbeat,
					signature
				),
				DispatchError::BadOrigin
			);
			// Once per period.
			assert_ok!(send_heartbeat("alice", "alice-op"));
			let (heartbeat, signature) = heartbeat_of("alice", "alice-op");
			assert_eq!(
				authorize(heartbeat.clone(), signature.clone()),
				invalid(InvalidTransaction::Stale)
			);
			assert_noop!(
				Staking::heartbeat(
					frame_system::RawOrigin::Authorized.into(),
					heartbeat,
					signature
				),
				Error::<Test>::DuplicateHeartbeat
			);
			// Bob is unaffected.
			assert_ok!(send_heartbeat("bob", "bob-op"));
		});
}

#[test]
fn serving_is_heartbeat_without_missed_deadlines() {
	ExtBuilder::default()
		.with_node("alice", "alice-op", MIN_STAKE, MIN_LOCK)
		.build_and_execute(|| {
			let alice = account("alice");
			type S = Staking;
			assert!(!<S as NodeService<_, _>>::is_serving(&alice, 0));
			assert_ok!(send_heartbeat("alice", "alice-op"));
			assert!(<S as NodeService<_, _>>::is_serving(&alice, 0));
			<S as NodeService<_, _>>::record_missed_deadline(&alice, 0);
			assert!(!<S as NodeService<_, _>>::is_serving(&alice, 0));
			assert_eq!(Service::<Test>::get(0, &alice).missed_deadlines, 1);
			assert_eq!(
				staking_events().last(),
				Some(&Event::DeadlineMissed { node: alice, period: 0 })
			);
		});
}

#[test]
fn old_service_records_are_pruned_in_bounded_batches() {
	ExtBuilder::default()
		.with_node("alice", "alice-op", MIN_STAKE, MIN_LOCK)
		.build_and_execute(|| {
			serve_through("alice", "alice-op", HISTORY + 2);
			// Periods 0..=2 are beyond the history.
			let weight = Staking::on_idle(System::block_number(), Weight::MAX);
			assert!(weight.any_gt(Weight::zero()));
			assert_eq!(OldestServicePeriod::<Test>::get(), 2);
			assert!(!Service::<Test>::contains_key(1, account("alice")));
			assert!(Service::<Test>::contains_key(2, account("alice")));
			// No budget, no work.
			run_to_period(HISTORY + 5);
			assert_eq!(Staking::on_idle(System::block_number(), Weight::zero()), Weight::zero());
			assert_eq!(OldestServicePeriod::<Test>::get(), 2);
			// A missed deadline of a pruned period is not recorded.
			<Staking as NodeService<_, _>>::record_missed_deadline(&account("alice"), 1);
			assert!(!Service::<Test>::contains_key(1, account("alice")));
		});
}

/// An externalities with an offchain DB, a transaction pool and a keystore holding `operator`'s
/// key, as a node's offchain worker has.
fn offchain_ext(
	builder: ExtBuilder,
	operator: &str,
) -> (sp_io::TestExternalities, std::sync::Arc<parking_lot::RwLock<testing::PoolState>>) {
	let (offchain, _) = testing::TestOffchainExt::new();
	let (pool, pool_state) = testing::TestTransactionPoolExt::new();
	let keystore = MemoryKeystore::new();
	keystore
		.sr25519_generate_new(
			kms_primitives::staking::operator::KEY_TYPE,
			Some(&format!("//{operator}")),
		)
		.unwrap();
	let mut ext = builder.build();
	ext.register_extension(OffchainDbExt::new(offchain.clone()));
	ext.register_extension(OffchainWorkerExt::new(offchain));
	ext.register_extension(TransactionPoolExt::new(pool));
	// Replaces the builder's empty keystore.
	ext.register_extension(KeystoreExt::new(keystore));
	(ext, pool_state)
}

#[test]
fn the_offchain_worker_sends_one_signed_heartbeat_per_period() {
	let builder = ExtBuilder::default()
		.with_node("alice", "alice-op", MIN_STAKE, MIN_LOCK)
		.with_node("bob", "bob-op", MIN_STAKE, MIN_LOCK);
	let (mut ext, pool) = offchain_ext(builder, "alice-op");
	ext.execute_with(|| {
		run_to_period(1);
		Staking::offchain_worker(System::block_number());
		// Exactly one transaction: Alice's (only her operator key is local).
		let txs = std::mem::take(&mut pool.write().transactions);
		assert_eq!(txs.len(), 1);
		let xt = Extrinsic::decode(&mut &txs[0][..]).unwrap();
		let RuntimeCall::Staking(crate::Call::heartbeat { heartbeat, signature }) = xt.function
		else {
			panic!("not a heartbeat: {:?}", xt.function)
		};
		assert_eq!((heartbeat.node.clone(), heartbeat.period), (account("alice"), 1));
		assert!(authorize(heartbeat.clone(), signature.clone()).is_ok());
		// The next block of the same period: the lock holds, nothing is sent again.
		System::set_block_number(System::block_number() + 1);
		Staking::offchain_worker(System::block_number());
		assert!(pool.read().transactions.is_empty());
		// Once it is on chain, nothing is sent even after the resend delay.
		assert_ok!(Staking::heartbeat(
			frame_system::RawOrigin::Authorized.into(),
			heartbeat,
			signature
		));
		System::set_block_number(System::block_number() + PERIOD / 2);
		Staking::offchain_worker(System::block_number());
		assert!(pool.read().transactions.is_empty());
		// A new period, a new heartbeat.
		run_to_period(2);
		Staking::offchain_worker(System::block_number());
		assert_eq!(pool.read().transactions.len(), 1);
		Staking::do_try_state().unwrap();
	});
}

#[test]
fn the_offchain_worker_resends_a_heartbeat_that_did_not_land() {
	let builder = ExtBuilder::default().with_node("alice", "alice-op", MIN_STAKE, MIN_LOCK);
	let (mut ext, pool) = offchain_ext(builder, "alice-op");
	ext.execute_with(|| {
		run_to_period(1);
		Staking::offchain_worker(System::block_number());
		assert_eq!(std::mem::take(&mut pool.write().transactions).len(), 1);
		System::set_block_number(System::block_number() + PERIOD / 4 - 1);
		Staking::offchain_worker(System::block_number());
		assert!(pool.read().transactions.is_empty());
		System::set_block_number(System::block_number() + 1);
		Staking::offchain_worker(System::block_number());
		assert_eq!(pool.read().transactions.len(), 1);
	});
}
