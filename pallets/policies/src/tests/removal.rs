//! A policy's storage: the deposit that pays for it, and its removal once nothing needs it.

use super::*;
use frame_support::traits::fungible::InspectHold;

/// What `who` holds as policy deposits.
fn deposits_of(who: &str) -> Balance {
	Balances::balance_on_hold(&HoldReason::PolicyDeposit.into(), &account(who))
}

/// The deposit `policy` calls for now.
fn deposit_for(id: PolicyId) -> Balance {
	KmsPolicies::policy_deposit(&Policies::<Test>::get(id).expect("a policy"))
}

fn remove(who: &str, id: PolicyId) -> DispatchResult {
	KmsPolicies::remove_policy(RuntimeOrigin::signed(account(who)), id)
}

fn settle(id: PolicyId) {
	assert_ok!(KmsPolicies::settle_policy(RuntimeOrigin::signed(account("carol")), id, 10));
}

/// Finding 6 of the request-economics issue: a policy's storage is paid for by a deposit that
/// follows its size and comes back when it is removed.
#[test]
fn a_policy_holds_a_deposit_that_follows_its_nodes() {
	ExtBuilder::build_and_execute(|| {
		DepositPerByte::set(3);
		let grant = NewPolicy::default().create();
		let three = deposit_for(P1);
		assert!(three > 3 * 1_000, "the record and three kfrag envelopes: {three}");
		assert_eq!((deposits_of("alice"), PolicyDeposits::<Test>::get(P1)), (three, Some(three)));
		// Fewer nodes: part of it comes back; more: more is held.
		let rotate = |nodes: &[&str]| {
			KmsPolicies::rotate_policy(
				RuntimeOrigin::signed(account("alice")),
				P1,
				grant.keys()[2],
				1,
				grant.grants(1, nodes),
			)
		};
		assert_ok!(rotate(&["n1"]));
		let one = deposit_for(P1);
		assert!(one < three);
		assert_eq!(deposits_of("alice"), one);
		assert_ok!(rotate(&["n1", "n2", "n3", "n4"]));
		assert!(deposit_for(P1) > three);
		assert_eq!(deposits_of("alice"), deposit_for(P1));
		// The label and conditions count: a longer tree costs more.
		let conditions = vec![Condition::NotBefore { block: 0 }];
		NewPolicy { id: P2, conditions, ..Default::default() }.create();
		assert!(deposit_for(P2) > three);
	});
}

#[test]
fn an_owner_who_cannot_pay_the_deposit_creates_and_grows_nothing() {
	ExtBuilder::build_and_execute(|| {
		DepositPerByte::set(FUNDS / 2_000);
		let grant = Grant::new();
		assert_noop!(
			NewPolicy::default().create_with(&grant),
			Error::<Test>::CannotPayPolicyDeposit
		);
		DepositPerByte::set(10);
		let grant = NewPolicy { nodes: vec!["n1"], threshold: 1, ..Default::default() }.create();
		// Enough left for the joining nodes' fees, not for three more kfrags' storage.
		assert_ok!(Balances::transfer_allow_death(
			RuntimeOrigin::signed(account("alice")),
			account("carol"),
			free("alice") - 10_000,
		));
		assert!(KmsPolicies::policy_deposit(&Policies::<Test>::get(P1).expect("P1")) > 10_000);
		assert_noop!(
			KmsPolicies::rotate_policy(
				RuntimeOrigin::signed(account("alice")),
				P1,
				grant.keys()[2],
				1,
				grant.grants(1, &["n1", "n2", "n3", "n4"]),
			),
			Error::<Test>::CannotPayPolicyDeposit
		);
	});
}

/// Removal: only the owner, only once the policy is closed, settled and its requests pruned
/// (a younger request of another policy does not hold it back); the deposit comes back but for
/// the retired id's part, and the id is never used again.
#[test]
fn a_closed_settled_policy_is_removed_once_its_requests_are_pruned() {
	ExtBuilder::build_and_execute(|| {
		DepositPerByte::set(3);
		let alice = free("alice");
		let grant = NewPolicy::default().create();
		let deposit = deposit_for(P1);
		request(&grant, P1, "bob", &[b"x"]);
		assert_noop!(remove("alice", P1), Error::<Test>::PolicyNotClosed);
		assert_ok!(KmsPolicies::revoke_policy(RuntimeOrigin::signed(account("alice")), P1));
		assert_noop!(remove("bob", P1), Error::<Test>::NotOwner);
		// The nodes' shares of the current period are unsettled.
		assert_noop!(remove("alice", P1), Error::<Test>::PolicyUnsettled);
		run_to_period(1, &[]);
		settle(P1);
		// Its request (answered by nobody, cancelled) is retained.
		assert_noop!(remove("alice", P1), Error::<Test>::RequestsRetained);
		let other = NewPolicy { id: P2, owner: "carol", ..Default::default() }.create();
		let (younger, _) = request(&other, P2, "bob", &[b"y"]);
		run_to_block(1 + WINDOW + RETENTION + 2);
		assert_eq!(OldestRequest::<Test>::get(), younger);
		assert_ok!(remove("alice", P1));
		let retired = 3 * KmsPolicies::RETIRED_BYTES as Balance;
		assert!(events().contains(&Event::PolicyRemoved { id: P1, released: deposit - retired }));
		assert_eq!(deposits_of("alice"), 0);
		assert_eq!(
			free("alice"),
			alice - 3 * RATE - retired,
			"the served period paid, every other fee refunded, the deposit released"
		);
		assert!(!Policies::<Test>::contains_key(P1));
		assert!(!PolicyDeposits::<Test>::contains_key(P1));
		assert!(OwnerPolicies::<Test>::iter_prefix(account("alice")).next().is_none());
		assert_noop!(remove("alice", P1), Error::<Test>::UnknownPolicy);
		// The id stays taken.
		assert_noop!(NewPolicy::default().create_with(&Grant::new()), Error::<Test>::PolicyIdInUse);
	});
}

/// An ended policy is closed by `settle_policy`, then removed like a revoked one.
#[test]
fn an_expired_policy_is_removed_after_settlement_and_retention() {
	ExtBuilder::build_and_execute(|| {
		let grant = NewPolicy::default().create();
		run_to_period(2, &[]);
		request(&grant, P1, "bob", &[b"x"]);
		let created = System::block_number();
		run_to_block(30 + WINDOW);
		// One period of each share settled.
		assert_ok!(KmsPolicies::settle_policy(RuntimeOrigin::signed(account("carol")), P1, 1));
		assert_eq!(Policies::<Test>::get(P1).map(|p| p.status), Some(PolicyStatus::Expired));
		assert_noop!(remove("alice", P1), Error::<Test>::PolicyUnsettled);
		settle(P1);
		assert_noop!(remove("alice", P1), Error::<Test>::RequestsRetained);
		run_to_block(created + WINDOW + RETENTION + 2);
		assert_ok!(remove("alice", P1));
		assert!(RetiredPolicies::<Test>::contains_key(P1));
	});
}
