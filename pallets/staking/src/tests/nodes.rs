//! register_node, rotate_node_key, set_min_fee_rate, unregister_node, and what other pallets
//! read of nodes.

use super::*;

#[test]
fn register_node_records_operator_and_key() {
	ExtBuilder::default().build_and_execute(|| {
		let (alice, op) = (account("alice"), account("alice-op"));
		assert_ok!(Staking::bond(RuntimeOrigin::signed(alice.clone()), MIN_STAKE, MIN_LOCK));
		let key = umbral_key();
		assert_ok!(Staking::register_node(
			RuntimeOrigin::signed(alice.clone()),
			op.clone(),
			key,
			7
		));
		let info = Nodes::<Test>::get(&alice).unwrap();
		assert_eq!(
			(info.operator.clone(), info.min_fee_rate, info.current_key_version()),
			(op.clone(), 7, 0)
		);
		assert_eq!(Operators::<Test>::get(&op), Some(alice.clone()));
		assert_eq!(KeyOwners::<Test>::get(key), Some(alice.clone()));
		assert_eq!(NodeCount::<Test>::get(), 1);
		type S = Staking;
		assert_eq!(<S as NodeStaking<_, _>>::node_key(&alice, 0), Some(key));
		assert_eq!(<S as NodeStaking<_, _>>::operator_of(&alice), Some(op.clone()));
		assert_eq!(<S as NodeStaking<_, _>>::node_of_operator(&op), Some(alice.clone()));
		assert_eq!(<S as NodeStaking<_, _>>::min_fee_rate(&alice), Some(7));
		assert_eq!(
			staking_events().last(),
			Some(&Event::NodeRegistered { staker: alice, operator: op, key })
		);
	});
}

#[test]
fn register_node_rejects_each_bad_input() {
	ExtBuilder::default()
		.with_node("bob", "bob-op", MIN_STAKE, MIN_LOCK)
		.build_and_execute(|| {
			let origin = || RuntimeOrigin::signed(account("alice"));
			let op = account("alice-op");
			assert_noop!(
				Staking::register_node(origin(), op.clone(), umbral_key(), 0),
				Error::<Test>::NotBonded
			);
			assert_ok!(Staking::bond(origin(), MIN_STAKE, MIN_LOCK));
			// Not a compressed point: a valid key with the "compact" tag, all zeroes, an x with
			// no point (there is none with x = 0), and an x beyond the field.
			let mut bad = umbral_key();
			bad.0[0] = 0x05;
			assert_noop!(
				Staking::register_node(origin(), op.clone(), bad, 0),
				Error::<Test>::InvalidUmbralKey
			);
			let mut no_point = [0u8; 33];
			no_point[0] = 0x02;
			let mut beyond_field = [0xffu8; 33];
			beyond_field[0] = 0x03;
			for bytes in [[0u8; 33], no_point, beyond_field] {
				assert_noop!(
					Staking::register_node(origin(), op.clone(), UmbralPublicKey(bytes), 0),
					Error::<Test>::InvalidUmbralKey
				);
			}
			// Bob's key and Bob's operator are taken.
			let bobs_key = Nodes::<Test>::get(account("bob")).unwrap().keys[0];
			assert_noop!(
				Staking::register_node(origin(), op.clone(), bobs_key, 0),
				Error::<Test>::KeyInUse
			);
			assert_noop!(
				Staking::register_node(origin(), account("bob-op"), umbral_key(), 0),
				Error::<Test>::OperatorInUse
			);
			assert_ok!(Staking::register_node(origin(), op.clone(), umbral_key(), 0));
			assert_noop!(
				Staking::register_node(origin(), account("eve"), umbral_key(), 0),
				Error::<Test>::AlreadyRegistered
			);
		});
}

#[test]
fn node_count_is_bounded() {
	let mut builder = ExtBuilder::default();
	for (staker, operator) in
		[("alice", "alice-op"), ("bob", "bob-op"), ("charlie", "charlie"), ("dave", "dave")]
	{
		builder = builder.with_node(staker, operator, MIN_STAKE, MIN_LOCK);
	}
	builder.build_and_execute(|| {
		assert_eq!(NodeCount::<Test>::get(), MAX_NODES);
		assert_ok!(Staking::bond(RuntimeOrigin::signed(account("eve")), MIN_STAKE, MIN_LOCK));
		assert_noop!(
			Staking::register_node(
				RuntimeOrigin::signed(account("eve")),
				account("eve"),
				umbral_key(),
				0
			),
			Error::<Test>::TooManyNodes
		);
	});
}

#[test]
fn rotation_keeps_old_keys_resolvable_by_version() {
	ExtBuilder::default()
		.with_node("alice", "alice-op", MIN_STAKE, MIN_LOCK)
		.build_and_execute(|| {
			let alice = account("alice");
			let origin = || RuntimeOrigin::signed(account("alice"));
			let key0 = Nodes::<Test>::get(&alice).unwrap().keys[0];
			let (key1, key2) = (umbral_key(), umbral_key());
			assert_ok!(Staking::rotate_node_key(origin(), key1));
			assert_ok!(Staking::rotate_node_key(origin(), key2));
			type S = Staking;
			assert_eq!(<S as NodeStaking<_, _>>::current_key_version(&alice), Some(2));
			for (version, key) in [(0, key0), (1, key1), (2, key2)] {
				assert_eq!(<S as NodeStaking<_, _>>::node_key(&alice, version), Some(key));
			}
			assert_eq!(<S as NodeStaking<_, _>>::node_key(&alice, 3), None);
			assert_eq!(
				staking_events().last(),
				Some(&Event::NodeKeyRotated { node: alice.clone(), key: key2, version: 2 })
			);
			// A rotated-away key cannot be registered again while it is kept.
			assert_noop!(Staking::rotate_node_key(origin(), key0), Error::<Test>::KeyInUse);
			// History is full (3 keys): the oldest goes, unless a policy still uses it.
			BusyKeys::set(vec![(alice.clone(), 0)]);
			assert_noop!(
				Staking::rotate_node_key(origin(), umbral_key()),
				Error::<Test>::KeyHistoryFull
			);
			BusyKeys::set(vec![]);
			let key3 = umbral_key();
			assert_ok!(Staking::rotate_node_key(origin(), key3));
			assert_eq!(<S as NodeStaking<_, _>>::node_key(&alice, 0), None);
			assert_eq!(<S as NodeStaking<_, _>>::node_key(&alice, 1), Some(key1));
			assert_eq!(<S as NodeStaking<_, _>>::node_key(&alice, 3), Some(key3));
			assert_eq!(KeyOwners::<Test>::get(key0), None);
		});
}

#[test]
fn rotation_rejects_bad_keys_and_strangers() {
	ExtBuilder::default()
		.with_node("alice", "alice-op", MIN_STAKE, MIN_LOCK)
		.build_and_execute(|| {
			assert_noop!(
				Staking::rotate_node_key(RuntimeOrigin::signed(account("bob")), umbral_key()),
				Error::<Test>::NotRegistered
			);
			assert_noop!(
				Staking::rotate_node_key(
					RuntimeOrigin::signed(account("alice")),
					UmbralPublicKey([0x03; 33])
				),
				Error::<Test>::InvalidUmbralKey
			);
		});
}

#[test]
fn min_fee_rate_is_the_nodes_to_set() {
	ExtBuilder::default()
		.with_node("alice", "alice-op", MIN_STAKE, MIN_LOCK)
		.build_and_execute(|| {
			assert_noop!(
				Staking::set_min_fee_rate(RuntimeOrigin::signed(account("bob")), 1),
				Error::<Test>::NotRegistered
			);
			assert_ok!(Staking::set_min_fee_rate(RuntimeOrigin::signed(account("alice")), 42));
			assert_eq!(Nodes::<Test>::get(account("alice")).unwrap().min_fee_rate, 42);
			assert_eq!(
				staking_events().last(),
				Some(&Event::MinFeeRateSet { node: account("alice"), rate: 42 })
			);
		});
}

#[test]
fn unregister_waits_for_policies_and_frees_operator_and_keys() {
	ExtBuilder::default()
		.with_node("alice", "alice-op", MIN_STAKE, MIN_LOCK)
		.build_and_execute(|| {
			let alice = account("alice");
			let origin = || RuntimeOrigin::signed(account("alice"));
			let key = Nodes::<Test>::get(&alice).unwrap().keys[0];
			assert_noop!(
				Staking::unregister_node(RuntimeOrigin::signed(account("bob"))),
				Error::<Test>::NotRegistered
			);
			BusyNodes::set(vec![alice.clone()]);
			assert_noop!(Staking::unregister_node(origin()), Error::<Test>::NodeHasActivePolicies);
			BusyNodes::set(vec![]);
			assert_ok!(Staking::unregister_node(origin()));
			assert!(Nodes::<Test>::get(&alice).is_none());
			assert_eq!(Operators::<Test>::get(account("alice-op")), None);
			assert_eq!(KeyOwners::<Test>::get(key), None);
			assert_eq!(NodeCount::<Test>::get(), 0);
			// The stake stays bonded; the same operator and key may serve again.
			assert_eq!(Ledgers::<Test>::get(&alice).unwrap().active, MIN_STAKE);
			assert_ok!(Staking::register_node(origin(), account("alice-op"), key, 0));
		});
}

#[test]
fn eligibility_needs_service_stake_and_a_covering_lock() {
	ExtBuilder::default()
		.with_node("alice", "alice-op", 2 * MIN_STAKE, 10)
		.build_and_execute(|| {
			let alice = account("alice");
			type S = Staking;
			// Not serving yet.
			assert!(!<S as NodeStaking<_, _>>::is_eligible(&alice, 5));
			assert_ok!(send_heartbeat("alice", "alice-op"));
			assert!(<S as NodeStaking<_, _>>::is_eligible(&alice, 10));
			// The lock covers period 0 + 10, not 11.
			assert_eq!(<S as NodeStaking<_, _>>::locked_until(&alice), Some(10));
			assert!(!<S as NodeStaking<_, _>>::is_eligible(&alice, 11));
			assert_eq!(
				<S as NodeStaking<_, _>>::eligible_nodes(10),
				vec![(alice.clone(), 2 * MIN_STAKE)]
			);
			// Early in the next period, before its heartbeat, the previous period counts.
			run_to_period(1);
			assert!(<S as NodeStaking<_, _>>::is_eligible(&alice, 10));
			// A missed deadline now makes it ineligible.
			<S as NodeStaking<_, _>>::record_missed_deadline(&alice, 1);
			assert!(!<S as NodeStaking<_, _>>::is_eligible(&alice, 10));
			assert!(<S as NodeStaking<_, _>>::eligible_nodes(10).is_empty());
			// Two periods without a heartbeat: not serving.
			run_to_period(3);
			assert!(!<S as NodeStaking<_, _>>::is_eligible(&alice, 10));
		});
}

#[test]
fn an_empty_ledger_kept_for_its_node_goes_with_the_node() {
	ExtBuilder::default()
		.with_node("alice", "alice-op", MIN_STAKE, MIN_LOCK)
		.build_and_execute(|| {
			let alice = account("alice");
			let origin = || RuntimeOrigin::signed(account("alice"));
			end_lock(&alice);
			assert_ok!(Staking::unbond(origin(), MIN_STAKE));
			run_to_period(UNBONDING);
			assert_ok!(Staking::withdraw_unbonded(origin()));
			// Kept: the node still needs it.
			assert_eq!(Ledgers::<Test>::get(&alice).unwrap().active, 0);
			assert!(!<Staking as NodeStaking<_, _>>::is_eligible(&alice, 0));
			assert_ok!(Staking::unregister_node(origin()));
			assert!(Ledgers::<Test>::get(&alice).is_none());
		});
}
