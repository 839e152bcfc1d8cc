//! Conditions on requesters: each kind, the compound ones, payments, and `check_access`
//! agreeing with `request_reencryption`.

use super::*;
use kms_primitives::policies::RequestStatus;
use Condition::*;

/// Creates P1 with `conditions`, then checks that `check_access` and a real request agree
/// for `requester`: both succeed, or both fail for `expected`.
fn verdict(conditions: Vec<Condition<AccountId, Balance, u64>>) -> Grant {
	NewPolicy { conditions, end: 100, ..Default::default() }.create()
}

fn agree(grant: &Grant, requester: &str, expected: Result<(), AccessDenied>) {
	assert_eq!(KmsPolicies::check_access(P1, &account(requester)), expected);
	let capsules = vec![capsule_bytes(&grant.encrypt(b"x").0)];
	let result = try_request(requester, P1, capsules);
	match expected {
		Ok(()) => {
			assert_ok!(result);
		},
		Err(reason) => assert_eq!(result, Err(Error::<Test>::from(reason).into())),
	}
}

#[test]
fn no_conditions_let_anyone_in() {
	ExtBuilder::build_and_execute(|| {
		let grant = verdict(vec![]);
		agree(&grant, "bob", Ok(()));
		agree(&grant, "carol", Ok(()));
		assert_eq!(
			KmsPolicies::check_access(P2, &account("bob")),
			Err(AccessDenied::UnknownPolicy)
		);
	});
}

#[test]
fn time_windows() {
	ExtBuilder::build_and_execute(|| {
		let grant = verdict(vec![All { count: 2 }, NotBefore { block: 5 }, NotAfter { block: 7 }]);
		agree(&grant, "bob", Err(AccessDenied::TooEarly));
		run_to_block(5);
		agree(&grant, "bob", Ok(()));
		run_to_block(7);
		agree(&grant, "bob", Ok(()));
		run_to_block(8);
		agree(&grant, "bob", Err(AccessDenied::TooLate));
	});
}

#[test]
fn requester_and_balance() {
	ExtBuilder::build_and_execute(|| {
		let grant = verdict(vec![
			Any { count: 2 },
			RequesterIs { account: account("bob") },
			MinBalance { amount: FUNDS },
		]);
		agree(&grant, "bob", Ok(()));
		// Carol has exactly FUNDS.
		agree(&grant, "carol", Ok(()));
		assert_ok!(Balances::transfer_allow_death(
			RuntimeOrigin::signed(account("carol")),
			account("bob"),
			1
		));
		agree(&grant, "carol", Err(AccessDenied::NoAlternativeHolds));
	});
	ExtBuilder::build_and_execute(|| {
		let grant = verdict(vec![RequesterIs { account: account("bob") }]);
		agree(&grant, "carol", Err(AccessDenied::WrongRequester));
	});
	ExtBuilder::build_and_execute(|| {
		let grant = verdict(vec![MinBalance { amount: FUNDS + 1 }]);
		agree(&grant, "bob", Err(AccessDenied::BalanceTooLow));
	});
}

#[test]
fn negation() {
	ExtBuilder::build_and_execute(|| {
		let grant = verdict(vec![Not, RequesterIs { account: account("carol") }]);
		agree(&grant, "bob", Ok(()));
		agree(&grant, "carol", Err(AccessDenied::NegationHolds));
	});
}

#[test]
fn the_first_failing_condition_of_all_is_reported() {
	ExtBuilder::build_and_execute(|| {
		let grant = verdict(vec![
			All { count: 3 },
			RequesterIs { account: account("bob") },
			Not,
			NotAfter { block: 50 },
			NotBefore { block: 80 },
		]);
		agree(&grant, "carol", Err(AccessDenied::WrongRequester));
		agree(&grant, "bob", Err(AccessDenied::NegationHolds));
	});
}

#[test]
fn pay_per_access_pays_the_recipient_on_each_fulfilled_request() {
	ExtBuilder::build_and_execute(|| {
		let grant = verdict(vec![
			All { count: 3 },
			PayPerAccess { to: account("alice"), amount: 7 },
			PayPerAccess { to: account("carol"), amount: 3 },
			NotBefore { block: 0 },
		]);
		let (alice, bob, carol) = (free("alice"), free("bob"), free("carol"));
		agree(&grant, "bob", Ok(()));
		agree(&grant, "bob", Ok(()));
		// Held on Bob's account until the answer that fulfils the request.
		assert_eq!((free("alice"), free("bob"), free("carol")), (alice, bob - 20, carol));
		assert_eq!(AccessPayments::<Test>::get(0), Some(10));
		for request in [0, 1] {
			assert_ok!(answer("n1", P1, request));
			assert_eq!(AccessPayments::<Test>::get(request), Some(10), "one answer of two");
			assert_ok!(answer("n2", P1, request));
		}
		assert_eq!((free("alice"), free("bob"), free("carol")), (alice + 14, bob - 20, carol + 6));
		assert_eq!(AccessPayments::<Test>::iter().count(), 0);
		// Nothing changes at the deadline.
		run_to_block(1 + WINDOW + 1);
		assert_eq!((free("alice"), free("bob"), free("carol")), (alice + 14, bob - 20, carol + 6));
		assert!(events().contains(&Event::AccessPaid {
			policy: P1,
			requester: account("bob"),
			to: account("alice"),
			amount: 7,
		}));
		// Bob keeps the existential deposit: he can pay while 10 + ED remain.
		let spendable = free("bob") - ED;
		assert_ok!(Balances::transfer_allow_death(
			RuntimeOrigin::signed(account("bob")),
			account("carol"),
			spendable - 10
		));
		agree(&grant, "bob", Ok(()));
		agree(&grant, "bob", Err(AccessDenied::CannotPay));
	});
}

/// Finding 8 of the request-economics issue: an owner cannot collect a paid request and then
/// cancel it (or let it fail): the requester gets its payment back.
#[test]
fn pay_per_access_is_refunded_when_the_request_fails_or_is_cancelled() {
	ExtBuilder::build_and_execute(|| {
		let grant = verdict(vec![PayPerAccess { to: account("carol"), amount: 7 }]);
		let (carol, bob) = (free("carol"), free("bob"));
		// Request 0 gets one answer of the two it needs: it fails at its deadline.
		agree(&grant, "bob", Ok(()));
		assert_ok!(answer("n1", P1, 0));
		run_to_block(1 + WINDOW + 1);
		assert_eq!((free("carol"), free("bob")), (carol, bob));
		assert!(events().contains(&Event::AccessRefunded {
			request: 0,
			requester: account("bob"),
			amount: 7
		}));
		// Request 1 is cancelled by a rotation (onto n1, the one node that served request 0),
		// after one answer.
		agree(&grant, "bob", Ok(()));
		assert_ok!(answer("n1", P1, 1));
		assert_eq!(free("bob"), bob - 7);
		assert_ok!(KmsPolicies::rotate_policy(
			RuntimeOrigin::signed(account("alice")),
			P1,
			grant.keys()[2],
			1,
			grant.grants(1, &["n1"]),
		));
		run_to_block(System::block_number() + WINDOW + 1);
		assert_eq!((free("carol"), free("bob")), (carol, bob));
		assert_eq!(AccessPayments::<Test>::iter().count(), 0);
	});
}

/// The owner cannot take back a payment for a request that was served: revoking (or rotating)
/// after the fulfilling answer, before the deadline, refunds nothing.
#[test]
fn a_served_request_stays_paid_when_the_policy_is_revoked_before_its_deadline() {
	ExtBuilder::build_and_execute(|| {
		let grant = verdict(vec![PayPerAccess { to: account("carol"), amount: 7 }]);
		let (carol, bob) = (free("carol"), free("bob"));
		agree(&grant, "bob", Ok(()));
		assert_ok!(answer("n1", P1, 0));
		assert_ok!(answer("n2", P1, 0));
		assert_ok!(KmsPolicies::revoke_policy(RuntimeOrigin::signed(account("alice")), P1));
		run_to_block(1 + WINDOW + 1);
		assert_eq!((free("carol"), free("bob")), (carol + 7, bob - 7));
		assert!(!events().iter().any(|e| matches!(e, Event::AccessRefunded { .. })));
		assert_eq!(KmsPolicies::request_status(0), Some(RequestStatus::Fulfilled { answers: 2 }));
	});
}
