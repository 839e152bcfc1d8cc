//! Rotation: new nodes, kfrags and receiving key at once; fees re-balanced; pending requests
//! of the old version cancelled; and what the staking pallet sees.

use super::*;
use kms_primitives::policies::RequestStatus;

fn rotate(grant: &Grant, threshold: u32, nodes: &[&str]) -> DispatchResult {
	KmsPolicies::rotate_policy(
		RuntimeOrigin::signed(account("alice")),
		P1,
		grant.keys()[2],
		threshold,
		grant.grants(threshold.max(1) as u8, nodes),
	)
}

#[test]
fn rotation_replaces_nodes_and_rebalances_fees() {
	ExtBuilder::build_and_execute(|| {
		// Periods 0..=4, n1 n2 n3.
		let old = NewPolicy { end: 50, ..Default::default() }.create();
		let (pending, _) = request(&old, P1, "bob", &[b"x"]);
		run_to_block(2);
		assert_eq!(escrow_of("alice"), 15 * RATE);
		// New receiving key (a new Bob), nodes n2 n3 n4: n1 leaves, n4 joins.
		let new = Grant {
			delegating: old.delegating.clone(),
			signer: old.signer.clone(),
			receiving: umbral_pre::SecretKey::random(),
		};
		let before = free("alice");
		assert_ok!(rotate(&new, 2, &["n2", "n3", "n4"]));
		// n1 keeps period 0 and gives back 1..=4; n4 is paid for 1..=4.
		assert_eq!(free("alice"), before + 4 * RATE - 4 * RATE);
		assert_eq!(
			events().last(),
			Some(&Event::PolicyRotated {
				id: P1,
				version: 1,
				escrowed: 4 * RATE,
				refunded: 4 * RATE,
			})
		);
		assert_eq!(
			FeeShares::<Test>::get(P1, account("n1")),
			Some(FeeShare { first: 0, last: 0, next: 0, accepted_from: Some(0) })
		);
		assert_eq!(
			FeeShares::<Test>::get(P1, account("n4")),
			Some(FeeShare { first: 1, last: 4, next: 1, accepted_from: None })
		);
		let policy = Policies::<Test>::get(P1).expect("kept");
		assert_eq!(policy.version, 1);
		assert_eq!(policy.receiving_key, new.keys()[2]);
		assert!(!KFrags::<Test>::contains_key(P1, account("n1")));
		assert_eq!(KeyUsage::<Test>::get(account("n1"), 0), 0);
		assert_eq!(KeyUsage::<Test>::get(account("n4"), 0), 1);
		// The old request is cancelled, with no penalty; the new version serves new requests.
		assert_eq!(KmsPolicies::request_status(pending), Some(RequestStatus::Cancelled));
		accept_all(P1);
		let (id, _) = request(&new, P1, "bob", &[b"y"]);
		// Each request keeps the receiving key of its version.
		let key_of = |request| Requests::<Test>::get(request).expect("retained").receiving_key;
		assert_eq!((key_of(pending), key_of(id)), (old.keys()[2], new.keys()[2]));
		let cfrags = reencrypt_as("n2", P1, id);
		assert_noop!(
			KmsPolicies::submit_cfrags(
				RuntimeOrigin::signed(account("n1-op")),
				id,
				request_hash(id),
				cfrags
			),
			Error::<Test>::NotAssigned
		);
		assert_ok!(answer("n4", P1, id));
		assert_ok!(answer("n2", P1, id));
		assert_ok!(answer("n3", P1, id));
		run_to_period(5, &[]);
		run_to_block(50 + WINDOW);
		for node in ["n1", "n2", "n3", "n4"] {
			assert_eq!(
				pallet_kms_staking::Service::<Test>::get(0, account(node)).missed_deadlines,
				0
			);
		}
		// Everyone is paid for what it was granted.
		assert_ok!(KmsPolicies::settle_policy(RuntimeOrigin::signed(account("carol")), P1, 10));
		let fees = Policies::<Test>::get(P1).expect("kept").fees;
		assert_eq!(fees, PolicyFees { escrowed: 19 * RATE, paid: 15 * RATE, refunded: 4 * RATE });
	});
}

#[test]
fn the_old_version_can_no_longer_be_answered() {
	ExtBuilder::build_and_execute(|| {
		let old = NewPolicy::default().create();
		let (pending, _) = request(&old, P1, "bob", &[b"x"]);
		let cfrags = reencrypt_as("n2", P1, pending);
		// Same nodes, new kfrags.
		assert_ok!(rotate(&Grant::new(), 2, &["n1", "n2", "n3"]));
		assert_noop!(
			KmsPolicies::submit_cfrags(
				RuntimeOrigin::signed(account("n2-op")),
				pending,
				request_hash(pending),
				cfrags
			),
			Error::<Test>::RequestCancelled
		);
		// Kept nodes' shares are untouched; nothing is escrowed or refunded.
		assert_eq!(
			events().last(),
			Some(&Event::PolicyRotated { id: P1, version: 1, escrowed: 0, refunded: 0 })
		);
		assert_eq!(escrow_of("alice"), 9 * RATE);
	});
}

#[test]
fn a_node_that_left_may_rejoin_in_the_same_period_only_once_settled_otherwise() {
	ExtBuilder::build_and_execute(|| {
		NewPolicy { end: 50, ..Default::default() }.create();
		assert_ok!(rotate(&Grant::new(), 2, &["n2", "n3"]));
		// Same period: n1's share (period 0) simply extends again.
		assert_ok!(rotate(&Grant::new(), 2, &["n1", "n2", "n3"]));
		assert_eq!(
			FeeShares::<Test>::get(P1, account("n1")),
			Some(FeeShare { first: 0, last: 4, next: 0, accepted_from: Some(0) })
		);
		assert_eq!(escrow_of("alice"), 15 * RATE);
		// Leaves in period 1, comes back in period 2 with period 1 unsettled: refused.
		run_to_period(1, &[]);
		assert_ok!(rotate(&Grant::new(), 2, &["n2", "n3"]));
		run_to_period(2, &[]);
		assert_noop!(rotate(&Grant::new(), 2, &["n1", "n2", "n3"]), Error::<Test>::ShareUnsettled);
		assert_ok!(KmsPolicies::claim_fees(
			RuntimeOrigin::signed(account("n1")),
			P1,
			account("n1"),
			10
		));
		assert_ok!(rotate(&Grant::new(), 2, &["n1", "n2", "n3"]));
		assert_eq!(
			FeeShares::<Test>::get(P1, account("n1")),
			Some(FeeShare { first: 3, last: 4, next: 3, accepted_from: None })
		);
	});
}

#[test]
fn only_the_owner_rotates_a_live_policy() {
	ExtBuilder::build_and_execute(|| {
		NewPolicy { end: 15, ..Default::default() }.create();
		let grant = Grant::new();
		assert_noop!(
			KmsPolicies::rotate_policy(
				RuntimeOrigin::signed(account("bob")),
				P1,
				grant.keys()[2],
				1,
				grant.grants(1, &["n1"])
			),
			Error::<Test>::NotOwner
		);
		assert_noop!(rotate(&grant, 0, &["n1"]), Error::<Test>::InvalidThreshold);
		// A joining node's periods must be escrowed: an owner who spent her balance cannot.
		let spendable = free("alice") - ED;
		assert_ok!(Balances::transfer_allow_death(
			RuntimeOrigin::signed(account("alice")),
			account("bob"),
			spendable
		));
		assert_noop!(rotate(&grant, 1, &["n4"]), Error::<Test>::InsufficientBalance);
		assert_ok!(Balances::transfer_allow_death(
			RuntimeOrigin::signed(account("bob")),
			account("alice"),
			spendable
		));
		assert_noop!(rotate(&grant, 1, &["n1", "n1"]), Error::<Test>::DuplicateNode);
		let mut bad = grant.keys()[2];
		bad.0[0] = 7;
		assert_noop!(
			KmsPolicies::rotate_policy(
				RuntimeOrigin::signed(account("alice")),
				P1,
				bad,
				1,
				grant.grants(1, &["n1"])
			),
			Error::<Test>::InvalidReceivingKey
		);
		// In the last period a joining node has nothing to be paid for.
		run_to_period(1, &[]);
		assert_ok!(rotate(&grant, 1, &["n4"]));
		assert!(FeeShares::<Test>::get(P1, account("n4")).is_none());
		run_to_block(15);
		assert_noop!(rotate(&grant, 1, &["n1"]), Error::<Test>::PolicyExpired);
		assert_noop!(
			KmsPolicies::rotate_policy(
				RuntimeOrigin::signed(account("alice")),
				P2,
				grant.keys()[2],
				1,
				grant.grants(1, &["n1"])
			),
			Error::<Test>::UnknownPolicy
		);
	});
}

#[test]
fn nodes_and_keys_in_use_are_held_by_the_staking_pallet() {
	ExtBuilder::build_and_execute(|| {
		NewPolicy::default().create();
		assert_noop!(
			Staking::unregister_node(RuntimeOrigin::signed(account("n1"))),
			pallet_kms_staking::Error::<Test>::NodeHasActivePolicies
		);
		assert_ok!(Staking::unregister_node(RuntimeOrigin::signed(account("n4"))));
		// Key history holds 3 keys: version 0 may be dropped only once no policy uses it.
		let rotate_n1 = |to| pallet_kms_staking::testing::rotate_key::<Test>("n1", to);
		assert_ok!(rotate_n1("n1-v1"));
		assert_ok!(rotate_n1("n1-v2"));
		assert_noop!(rotate_n1("n1-v3"), pallet_kms_staking::Error::<Test>::KeyHistoryFull);
		assert_ok!(rotate(&Grant::new(), 1, &["n2"]));
		assert_ok!(rotate_n1("n1-v3"));
		assert_ok!(Staking::unregister_node(RuntimeOrigin::signed(account("n1"))));
	});
}
