//! Fees: what nodes earn for the periods they serve, what returns to the owner, and when.

use super::*;

fn claim(node: &str, max_periods: u32) -> DispatchResult {
	KmsPolicies::claim_fees(RuntimeOrigin::signed(account("carol")), P1, account(node), max_periods)
}

#[test]
fn nodes_are_paid_for_served_periods_and_the_rest_is_refunded() {
	ExtBuilder::build_and_execute(|| {
		NewPolicy::default().create();
		// n2 does not heartbeat in period 1.
		run_to_period(1, &["n2"]);
		run_to_period(3, &[]);
		let (n1, n2) = (free("n1"), free("n2"));
		assert_ok!(claim("n1", 10));
		assert_ok!(claim("n2", 10));
		assert_eq!(free("n1"), n1 + 3 * RATE);
		assert_eq!(free("n2"), n2 + 2 * RATE);
		assert_eq!(
			events().last(),
			Some(&Event::FeesSettled {
				policy: P1,
				node: account("n2"),
				periods: 3,
				paid: 2 * RATE,
				refunded: RATE,
			})
		);
		assert_eq!(escrow_of("alice"), 3 * RATE, "n3's share is unsettled");
		assert_eq!(free("alice"), FUNDS - 9 * RATE + RATE);
		// Settled shares are gone; settling again has nothing to do.
		assert!(FeeShares::<Test>::get(P1, account("n1")).is_none());
		assert_noop!(claim("n1", 10), Error::<Test>::NothingToSettle);
		let fees = Policies::<Test>::get(P1).expect("stored").fees;
		assert_eq!(fees, PolicyFees { escrowed: 9 * RATE, paid: 5 * RATE, refunded: RATE });
	});
}

#[test]
fn only_periods_that_are_over_settle() {
	ExtBuilder::build_and_execute(|| {
		NewPolicy::default().create();
		assert_noop!(claim("n1", 10), Error::<Test>::NothingToSettle);
		run_to_period(1, &[]);
		assert_ok!(claim("n1", 10));
		assert_eq!(
			FeeShares::<Test>::get(P1, account("n1")),
			Some(FeeShare { first: 0, last: 2, next: 1, accepted_from: Some(0) })
		);
		assert_noop!(claim("n1", 10), Error::<Test>::NothingToSettle);
		// Not a node of the policy, unknown policy.
		assert_noop!(claim("n4", 10), Error::<Test>::NothingToSettle);
		assert_noop!(
			KmsPolicies::claim_fees(RuntimeOrigin::signed(account("n1")), P2, account("n1"), 1),
			Error::<Test>::UnknownPolicy
		);
	});
}

#[test]
fn claims_settle_in_bounded_steps() {
	ExtBuilder::build_and_execute(|| {
		NewPolicy::default().create();
		run_to_period(3, &[]);
		let before = free("n1");
		for next in 1..=3 {
			assert_ok!(claim("n1", 1));
			assert_eq!(free("n1"), before + next as Balance * RATE);
		}
		assert_noop!(claim("n1", 1), Error::<Test>::NothingToSettle);
		// `max_periods` is capped at `MaxClaimPeriods`.
		NewPolicy { id: P2, end: 300, ..Default::default() }.create();
		run_to_period(3 + MAX_CLAIM + 5, &[]);
		assert_ok!(KmsPolicies::claim_fees(
			RuntimeOrigin::signed(account("n1")),
			P2,
			account("n1"),
			1000
		));
		let share = FeeShares::<Test>::get(P2, account("n1")).expect("unsettled");
		assert_eq!(share.next, share.first + MAX_CLAIM);
	});
}

#[test]
fn a_missed_deadline_costs_the_period_fee() {
	ExtBuilder::build_and_execute(|| {
		let grant = NewPolicy::default().create();
		let (id, _) = request(&grant, P1, "bob", &[b"x"]);
		assert_ok!(answer("n1", P1, id));
		assert_ok!(answer("n2", P1, id));
		// n3 never answers: the deadline (block 4) passes in period 0.
		run_to_period(1, &[]);
		assert_eq!(pallet_kms_staking::Service::<Test>::get(0, account("n3")).missed_deadlines, 1);
		let (n2, n3) = (free("n2"), free("n3"));
		assert_ok!(claim("n2", 1));
		assert_ok!(claim("n3", 1));
		assert_eq!(free("n2"), n2 + RATE);
		assert_eq!(free("n3"), n3);
	});
}

#[test]
fn revocation_refunds_what_is_not_yet_granted() {
	ExtBuilder::build_and_execute(|| {
		NewPolicy { end: 50, ..Default::default() }.create();
		run_to_period(1, &[]);
		assert_noop!(
			KmsPolicies::revoke_policy(RuntimeOrigin::signed(account("bob")), P1),
			Error::<Test>::NotOwner
		);
		let before = free("alice");
		assert_ok!(KmsPolicies::revoke_policy(RuntimeOrigin::signed(account("alice")), P1));
		// Periods 2, 3 and 4 of three nodes come back at once; 0 and 1 stay for claims.
		assert_eq!(free("alice"), before + 9 * RATE);
		assert_eq!(events().last(), Some(&Event::PolicyRevoked { id: P1, refunded: 9 * RATE }));
		assert_eq!(escrow_of("alice"), 6 * RATE);
		for node in ["n1", "n2", "n3"] {
			assert!(!KFrags::<Test>::contains_key(P1, account(node)));
			assert_eq!(KeyUsage::<Test>::get(account(node), 0), 0);
		}
		assert_eq!(Policies::<Test>::get(P1).expect("kept").status, PolicyStatus::Revoked(10));
		assert_noop!(
			KmsPolicies::revoke_policy(RuntimeOrigin::signed(account("alice")), P1),
			Error::<Test>::PolicyRevoked
		);
		// Anyone settles what is over: period 0 now, period 1 once it ends.
		assert_ok!(KmsPolicies::settle_policy(RuntimeOrigin::signed(account("carol")), P1, 10));
		assert_eq!(escrow_of("alice"), 3 * RATE);
		assert_noop!(
			KmsPolicies::settle_policy(RuntimeOrigin::signed(account("carol")), P1, 10),
			Error::<Test>::NothingToSettle
		);
		run_to_period(2, &["n3"]);
		assert_ok!(KmsPolicies::settle_policy(RuntimeOrigin::signed(account("carol")), P1, 10));
		assert_eq!(escrow_of("alice"), 0);
		assert_eq!(FeeShares::<Test>::iter_prefix(P1).count(), 0);
		let fees = Policies::<Test>::get(P1).expect("kept").fees;
		assert_eq!(fees, PolicyFees { escrowed: 15 * RATE, paid: 6 * RATE, refunded: 9 * RATE });
	});
}

#[test]
fn anyone_settles_an_ended_policy() {
	ExtBuilder::build_and_execute(|| {
		NewPolicy::default().create();
		assert_noop!(
			KmsPolicies::settle_policy(RuntimeOrigin::signed(account("carol")), P1, 10),
			Error::<Test>::PolicyStillActive
		);
		// Block 30 is the first the policy does not cover; requests made before it may be
		// answered until block 32.
		run_to_period(3, &["n1"]);
		assert_noop!(
			KmsPolicies::settle_policy(RuntimeOrigin::signed(account("carol")), P1, 10),
			Error::<Test>::PolicyStillActive
		);
		run_to_block(30 + WINDOW);
		assert_ok!(KmsPolicies::settle_policy(RuntimeOrigin::signed(account("carol")), P1, 1));
		let policy = Policies::<Test>::get(P1).expect("kept");
		assert_eq!(policy.status, PolicyStatus::Expired);
		assert!(events().contains(&Event::PolicyExpired { id: P1 }));
		assert_eq!(KFrags::<Test>::iter_prefix(P1).count(), 0);
		assert_eq!(KeyUsage::<Test>::iter().count(), 0);
		// One period per node per call.
		assert_eq!(policy.fees.paid, 3 * RATE);
		assert_ok!(KmsPolicies::settle_policy(RuntimeOrigin::signed(account("carol")), P1, 10));
		assert_noop!(
			KmsPolicies::settle_policy(RuntimeOrigin::signed(account("carol")), P1, 10),
			Error::<Test>::NothingToSettle
		);
		// n1 served period 0 only; n2 and n3 served all three.
		let fees = Policies::<Test>::get(P1).expect("kept").fees;
		assert_eq!(fees, PolicyFees { escrowed: 9 * RATE, paid: 7 * RATE, refunded: 2 * RATE });
		assert_eq!(escrow_of("alice"), 0);
		// Now the nodes may leave.
		assert_ok!(Staking::unregister_node(RuntimeOrigin::signed(account("n1"))));
	});
}

#[test]
fn periods_beyond_the_service_history_count_as_unserved() {
	ExtBuilder::build_and_execute(|| {
		NewPolicy::default().create();
		run_to_period(3 + HISTORY + 1, &[]);
		// The staking pallet pruned the records of periods 0..=2.
		pallet_kms_staking::Pallet::<Test>::on_idle(System::block_number(), Weight::MAX);
		let before = free("alice");
		assert_ok!(claim("n1", 10));
		assert_eq!(free("alice"), before + 3 * RATE);
	});
}
