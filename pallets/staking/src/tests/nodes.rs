//! register_node, rotate_node_key, set_min_fee_rate, set_endpoint, unregister_node, and what other pallets
//! read of nodes.

use super::*;
use kms_primitives::staking::UmbralSignature;

#[test]
fn register_node_records_operator_and_key() {
	ExtBuilder::default().build_and_execute(|| {
		let (alice, op) = (account("alice"), account("alice-op"));
		assert_ok!(Staking::bond(RuntimeOrigin::signed(alice.clone()), MIN_STAKE, MIN_LOCK));
		assert_eq!(
			new_staking_events(),
			[Event::Bonded { staker: alice.clone(), value: MIN_STAKE, lock_periods: MIN_LOCK }]
		);
		let key = identity_key("alice");
		assert_ok!(register("alice", "alice-op", "alice", 7));
		let info = Nodes::<Test>::get(&alice).unwrap();
		assert_eq!(
			(info.operator.clone(), info.min_fee_rate, info.current_key_version()),
			(op.clone(), 7, 0)
		);
		assert_eq!(Operators::<Test>::get(&op), Some(alice.clone()));
		assert_eq!(KeyOwners::<Test>::get(key), Some(alice.clone()));
		assert_eq!(NodeCount::<Test>::get(), 1);
		type S = Staking;
		assert_eq!(<S as NodeDirectory<_, _>>::node_key(&alice, 0), Some(key));
		assert_eq!(<S as NodeDirectory<_, _>>::operator_of(&alice), Some(op.clone()));
		assert_eq!(<S as NodeDirectory<_, _>>::node_of_operator(&op), Some(alice.clone()));
		assert_eq!(<S as NodeDirectory<_, _>>::min_fee_rate(&alice), Some(7));
		assert_eq!(
			new_staking_events(),
			[Event::NodeRegistered { staker: alice, operator: op, key }]
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
			let proof = || keys_proof::<Test>(&account("alice"), "alice-op", "alice");
			assert_noop!(register("alice", "alice-op", "alice", 0), Error::<Test>::NotBonded);
			assert_ok!(Staking::bond(origin(), MIN_STAKE, MIN_LOCK));
			// Not a compressed point: a valid key with the "compact" tag, all zeroes, an x with
			// no point (there is none with x = 0), and an x beyond the field.
			let mut bad = umbral_key();
			bad.0[0] = 0x05;
			assert_noop!(
				Staking::register_node(origin(), op.clone(), bad, 0, proof()),
				Error::<Test>::InvalidUmbralKey
			);
			let mut no_point = [0u8; 33];
			no_point[0] = 0x02;
			let mut beyond_field = [0xffu8; 33];
			beyond_field[0] = 0x03;
			for bytes in [[0u8; 33], no_point, beyond_field] {
				assert_noop!(
					Staking::register_node(
						origin(),
						op.clone(),
						UmbralPublicKey(bytes),
						0,
						proof()
					),
					Error::<Test>::InvalidUmbralKey
				);
			}
			// Bob's key and Bob's operator are taken.
			let bobs_key = Nodes::<Test>::get(account("bob")).unwrap().keys[0];
			assert_noop!(
				Staking::register_node(origin(), op.clone(), bobs_key, 0, proof()),
				Error::<Test>::KeyInUse
			);
			assert_noop!(register("alice", "bob-op", "alice", 0), Error::<Test>::OperatorInUse);
			assert_ok!(register("alice", "alice-op", "alice", 0));
			assert_noop!(register("alice", "eve", "eve", 0), Error::<Test>::AlreadyRegistered);
		});
}

/// Finding 6 of the sound-challenge issue: whoever registers (or rotates to) a node's keys
/// must hold them, and the keys must have chosen that staker on this chain. Front-running a
/// victim's registration with its keys, or with its very proof, gets the attacker nothing.
#[test]
fn registration_needs_both_keys_to_sign_for_the_staker() {
	ExtBuilder::default().build_and_execute(|| {
		for who in ["alice", "eve"] {
			assert_ok!(Staking::bond(RuntimeOrigin::signed(account(who)), MIN_STAKE, MIN_LOCK));
		}
		let (alice, eve) = (account("alice"), account("eve"));
		let alices_key = identity_key("alice");
		let register_as_eve = |proof| {
			Staking::register_node(
				RuntimeOrigin::signed(eve.clone()),
				account("alice-op"),
				alices_key,
				0,
				proof,
			)
		};
		// Alice's own proof, seen in the pool, names Alice: useless to Eve.
		let alices_proof = keys_proof::<Test>(&alice, "alice-op", "alice");
		assert_noop!(register_as_eve(alices_proof.clone()), Error::<Test>::OperatorNotProven);
		// Eve's operator signature over the right payload, with Alice's Umbral signature
		// (over Alice's payload): the Umbral key did not sign for Eve.
		let payload = node_keys_payload::<Test>(&eve, &account("eve-op"), &alices_key);
		let forged = NodeKeysProof { operator: sign("eve-op", &payload), ..alices_proof };
		assert_noop!(
			Staking::register_node(
				RuntimeOrigin::signed(eve.clone()),
				account("eve-op"),
				alices_key,
				0,
				forged.clone(),
			),
			Error::<Test>::UmbralKeyNotProven
		);
		// Signatures with no key behind them: zero, out-of-range and high-s scalars, junk.
		for bytes in [[0u8; 64], [0xff; 64], [0x7f; 64], [0x01; 64]] {
			let junk = NodeKeysProof { umbral: UmbralSignature(bytes), ..forged.clone() };
			assert_noop!(
				Staking::register_node(
					RuntimeOrigin::signed(eve.clone()),
					account("eve-op"),
					alices_key,
					0,
					junk,
				),
				Error::<Test>::UmbralKeyNotProven
			);
		}
		// A proof signed for another chain, or in another signing domain, is no proof here.
		let elsewhere = NodeKeys {
			staker: &eve,
			operator: &account("eve-op"),
			umbral_key: identity_key("eve"),
		};
		for payload in [
			elsewhere.signing_payload(&[9u8; 32]),
			kms_primitives::signing::payload(
				kms_primitives::signing::HEARTBEAT,
				&genesis_hash::<Test>(),
				&elsewhere,
			),
		] {
			let proof = NodeKeysProof {
				operator: sign("eve-op", &payload),
				umbral: keys_proof::<Test>(&eve, "eve-op", "eve").umbral,
			};
			assert_noop!(
				Staking::register_node(
					RuntimeOrigin::signed(eve.clone()),
					account("eve-op"),
					identity_key("eve"),
					0,
					proof,
				),
				Error::<Test>::OperatorNotProven
			);
		}
		// Alice registers her keys; Eve, registered with his own, cannot rotate to hers.
		assert_ok!(register("alice", "alice-op", "alice", 0));
		assert_ok!(register("eve", "eve-op", "eve", 0));
		let alices_next = keys_proof::<Test>(&alice, "alice-op", "alice-1");
		assert_noop!(
			Staking::rotate_node_key(
				RuntimeOrigin::signed(eve.clone()),
				identity_key("alice-1"),
				alices_next.clone(),
			),
			Error::<Test>::OperatorNotProven
		);
		let payload = node_keys_payload::<Test>(&eve, &account("eve-op"), &identity_key("alice-1"));
		assert_noop!(
			Staking::rotate_node_key(
				RuntimeOrigin::signed(eve.clone()),
				identity_key("alice-1"),
				NodeKeysProof { operator: sign("eve-op", &payload), ..alices_next.clone() },
			),
			Error::<Test>::UmbralKeyNotProven
		);
		assert_ok!(Staking::rotate_node_key(
			RuntimeOrigin::signed(alice.clone()),
			identity_key("alice-1"),
			alices_next,
		));
		assert_eq!(KeyOwners::<Test>::get(identity_key("alice-1")), Some(alice));
	});
}

/// A `MaxNodes` slot is for stake: no registration without `MinStake` active, unbonding
/// everything unregisters the node (not while a policy names it), and anyone may chill a node
/// that fell below `MinStake`.
#[test]
fn nodes_without_stake_do_not_keep_slots() {
	ExtBuilder::default()
		.with_node("alice", "alice-op", 2 * MIN_STAKE, MIN_LOCK)
		.with_node("bob", "bob-op", 2 * MIN_STAKE, MIN_LOCK)
		.build_and_execute(|| {
			let (alice, bob, eve) = (account("alice"), account("bob"), account("eve"));
			// Eve bonds, unbonds everything (her ledger stays, unlocking) and registers.
			assert_ok!(Staking::bond(RuntimeOrigin::signed(eve.clone()), MIN_STAKE, MIN_LOCK));
			end_lock(&eve);
			assert_ok!(Staking::unbond(RuntimeOrigin::signed(eve.clone()), MIN_STAKE));
			assert_noop!(register("eve", "eve-op", "eve", 0), Error::<Test>::BelowMinStake);

			// Alice unbonds everything: her node goes with it, freeing its slot.
			end_lock(&alice);
			BusyNodes::set(vec![alice.clone()]);
			assert_noop!(
				Staking::unbond(RuntimeOrigin::signed(alice.clone()), 2 * MIN_STAKE),
				Error::<Test>::NodeHasActivePolicies
			);
			BusyNodes::set(vec![]);
			// The events so far are the setup's: from here, exactly what the unbonding causes.
			let _ = new_staking_events();
			assert_ok!(Staking::unbond(RuntimeOrigin::signed(alice.clone()), 2 * MIN_STAKE));
			assert!(!Nodes::<Test>::contains_key(&alice));
			assert_eq!(NodeCount::<Test>::get(), 1);
			// The node goes first, then the stake starts unbonding.
			let withdrawable_at = Staking::current_period() + UNBONDING;
			assert_eq!(
				new_staking_events(),
				[
					Event::NodeUnregistered { node: alice.clone() },
					Event::Unbonded {
						staker: alice.clone(),
						value: 2 * MIN_STAKE,
						withdrawable_at
					},
				]
			);
			// Part of it, down to MinStake, keeps the node.
			end_lock(&bob);
			assert_ok!(Staking::unbond(RuntimeOrigin::signed(bob.clone()), MIN_STAKE));
			assert!(Nodes::<Test>::contains_key(&bob));

			// Nobody may chill a node at MinStake, nor a staker without a node.
			let chill = |node: &AccountId| {
				Staking::chill_other(RuntimeOrigin::signed(account("charlie")), node.clone())
			};
			assert_noop!(chill(&bob), Error::<Test>::StakeNotBelowMinimum);
			assert_noop!(chill(&alice), Error::<Test>::NotRegistered);
			// Slashed below it, Bob's node may be chilled by anyone, once no policy names it.
			drop(Staking::do_slash(&bob, 1));
			BusyNodes::set(vec![bob.clone()]);
			assert_noop!(chill(&bob), Error::<Test>::NodeHasActivePolicies);
			BusyNodes::set(vec![]);
			assert_ok!(chill(&bob));
			assert_eq!(NodeCount::<Test>::get(), 0);
			// Its stake stays bonded, and slashable, until its staker unbonds it.
			assert_eq!(Staking::stake_of(&bob), MIN_STAKE - 1);
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
		assert_noop!(register("eve", "eve-op", "eve", 0), Error::<Test>::TooManyNodes);
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
			let (key1, key2) = (identity_key("alice-1"), identity_key("alice-2"));
			assert_ok!(rotate_key::<Test>("alice", "alice-1"));
			assert_ok!(rotate_key::<Test>("alice", "alice-2"));
			type S = Staking;
			assert_eq!(<S as NodeDirectory<_, _>>::current_key_version(&alice), Some(2));
			for (version, key) in [(0, key0), (1, key1), (2, key2)] {
				assert_eq!(<S as NodeDirectory<_, _>>::node_key(&alice, version), Some(key));
			}
			assert_eq!(<S as NodeDirectory<_, _>>::node_key(&alice, 3), None);
			assert_eq!(
				new_staking_events(),
				[
					Event::NodeKeyRotated { node: alice.clone(), key: key1, version: 1 },
					Event::NodeKeyRotated { node: alice.clone(), key: key2, version: 2 },
				]
			);
			// A rotated-away key cannot be registered again while it is kept (the check comes
			// before the proof's).
			let proof = keys_proof::<Test>(&alice, "alice-op", "alice-1");
			assert_noop!(Staking::rotate_node_key(origin(), key1, proof), Error::<Test>::KeyInUse);
			// History is full (3 keys): the oldest goes, unless a policy still uses it.
			BusyKeys::set(vec![(alice.clone(), 0)]);
			assert_noop!(rotate_key::<Test>("alice", "alice-3"), Error::<Test>::KeyHistoryFull);
			BusyKeys::set(vec![]);
			let key3 = identity_key("alice-3");
			assert_ok!(rotate_key::<Test>("alice", "alice-3"));
			assert_eq!(<S as NodeDirectory<_, _>>::node_key(&alice, 0), None);
			assert_eq!(<S as NodeDirectory<_, _>>::node_key(&alice, 1), Some(key1));
			assert_eq!(<S as NodeDirectory<_, _>>::node_key(&alice, 3), Some(key3));
			assert_eq!(KeyOwners::<Test>::get(key0), None);
		});
}

#[test]
fn rotation_rejects_bad_keys_and_strangers() {
	ExtBuilder::default()
		.with_node("alice", "alice-op", MIN_STAKE, MIN_LOCK)
		.build_and_execute(|| {
			assert_noop!(rotate_key::<Test>("bob", "bob-1"), Error::<Test>::NotRegistered);
			assert_noop!(
				Staking::rotate_node_key(
					RuntimeOrigin::signed(account("alice")),
					UmbralPublicKey([0x03; 33]),
					keys_proof::<Test>(&account("alice"), "alice-op", "alice-1"),
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
				new_staking_events(),
				[Event::MinFeeRateSet { node: account("alice"), rate: 42 }]
			);
		});
}

fn endpoint(text: &str) -> BoundedVec<u8, ConstU32<MAX_ENDPOINT_LEN>> {
	text.as_bytes().to_vec().try_into().expect("short enough")
}

#[test]
fn a_node_publishes_replaces_and_withdraws_its_endpoint() {
	ExtBuilder::default()
		.with_node("alice", "alice-op", MIN_STAKE, MIN_LOCK)
		.build_and_execute(|| {
			let alice = account("alice");
			let origin = || RuntimeOrigin::signed(account("alice"));
			new_staking_events();
			for url in ["wss://alice.example.org:443/kms", "http://127.0.0.1:9944"] {
				assert_ok!(Staking::set_endpoint(origin(), Some(endpoint(url))));
				let published = Endpoint::parse(url.as_bytes()).unwrap();
				assert_eq!(Endpoints::<Test>::get(&alice), Some(published.clone()));
				assert_eq!(
					new_staking_events(),
					[Event::EndpointSet { node: alice.clone(), endpoint: Some(published) }]
				);
			}
			assert_ok!(Staking::set_endpoint(origin(), None));
			assert_eq!(Endpoints::<Test>::get(&alice), None);
			assert_eq!(
				new_staking_events(),
				[Event::EndpointSet { node: alice.clone(), endpoint: None }]
			);
			// Withdrawing twice is harmless.
			assert_ok!(Staking::set_endpoint(origin(), None));
		});
}

#[test]
fn genesis_publishes_the_endpoints_of_its_nodes() {
	ExtBuilder::default()
		.with_node("alice", "alice-op", MIN_STAKE, MIN_LOCK)
		.with_endpoint("alice", "ws://127.0.0.1:9944")
		.build_and_execute(|| {
			assert_eq!(
				Endpoints::<Test>::get(account("alice")).map(|e| e.as_str().to_string()),
				Some("ws://127.0.0.1:9944".to_string())
			);
		});
}

#[test]
fn only_a_registered_node_publishes_a_well_formed_endpoint() {
	ExtBuilder::default()
		.with_node("alice", "alice-op", MIN_STAKE, MIN_LOCK)
		.build_and_execute(|| {
			// A bonded staker without a node, the operator (not the staker), a stranger.
			assert_ok!(Staking::bond(RuntimeOrigin::signed(account("bob")), MIN_STAKE, MIN_LOCK));
			for who in ["bob", "alice-op", "eve"] {
				assert_noop!(
					Staking::set_endpoint(
						RuntimeOrigin::signed(account(who)),
						Some(endpoint("wss://x"))
					),
					Error::<Test>::NotRegistered
				);
			}
			let origin = || RuntimeOrigin::signed(account("alice"));
			for bad in
				["", "wss://", "ftp://host", "host:9944", "ws://a b", "ws://a\tb", "ws://\u{7f}"]
			{
				assert_noop!(
					Staking::set_endpoint(origin(), Some(endpoint(bad))),
					Error::<Test>::InvalidEndpoint
				);
			}
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
			assert_ok!(Staking::set_endpoint(origin(), Some(endpoint("wss://alice"))));
			assert_ok!(Staking::unregister_node(origin()));
			assert!(Nodes::<Test>::get(&alice).is_none());
			assert_eq!(Endpoints::<Test>::get(&alice), None);
			assert_eq!(Operators::<Test>::get(account("alice-op")), None);
			assert_eq!(KeyOwners::<Test>::get(key), None);
			assert_eq!(NodeCount::<Test>::get(), 0);
			// The stake stays bonded; the same operator and key may serve again.
			assert_eq!(Ledgers::<Test>::get(&alice).unwrap().active, MIN_STAKE);
			assert_eq!(key, identity_key("alice"));
			assert_ok!(register("alice", "alice-op", "alice", 0));
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
			assert!(!<S as NodeService<_, _>>::is_eligible(&alice, 5));
			assert_ok!(send_heartbeat("alice", "alice-op"));
			assert!(<S as NodeService<_, _>>::is_eligible(&alice, 10));
			// The lock covers period 0 + 10, not 11.
			assert_eq!(<S as NodeService<_, _>>::locked_until(&alice), Some(10));
			assert!(!<S as NodeService<_, _>>::is_eligible(&alice, 11));
			assert_eq!(
				<S as NodeService<_, _>>::eligible_nodes(10),
				vec![(alice.clone(), 2 * MIN_STAKE)]
			);
			// Early in the next period, before its heartbeat, the previous period counts.
			run_to_period(1);
			assert!(<S as NodeService<_, _>>::is_eligible(&alice, 10));
			// A missed deadline now makes it ineligible.
			<S as NodeService<_, _>>::record_missed_deadline(&alice, 1);
			assert!(!<S as NodeService<_, _>>::is_eligible(&alice, 10));
			assert!(<S as NodeService<_, _>>::eligible_nodes(10).is_empty());
			// Two periods without a heartbeat: not serving.
			run_to_period(3);
			assert!(!<S as NodeService<_, _>>::is_eligible(&alice, 10));
		});
}

#[test]
fn a_fully_unbonded_node_goes_and_its_ledger_with_the_last_withdrawal() {
	ExtBuilder::default()
		.with_node("alice", "alice-op", MIN_STAKE, MIN_LOCK)
		.build_and_execute(|| {
			let alice = account("alice");
			let origin = || RuntimeOrigin::signed(account("alice"));
			end_lock(&alice);
			assert_ok!(Staking::unbond(origin(), MIN_STAKE));
			// The node goes with its stake; the unbonding ledger stays, slashable.
			assert!(!Nodes::<Test>::contains_key(&alice));
			assert_eq!(<Staking as StakeLedger<_, _>>::held_stake(&alice), MIN_STAKE);
			run_to_period(UNBONDING);
			assert_ok!(Staking::withdraw_unbonded(origin()));
			assert!(Ledgers::<Test>::get(&alice).is_none());
		});
}
