//! Every invariant `do_try_state` checks fires: each case breaks one on purpose, on a chain
//! where all of them hold, and expects exactly that invariant's error.

use super::*;
use frame_support::traits::{fungible::MutateHold as _, tokens::Precision};
use kms_primitives::policies::Condition::PayPerAccess;

/// An id no policy has.
const UNKNOWN: PolicyId = [9; 16];
/// An id no request has.
const NO_REQUEST: RequestId = 999;

/// A chain where every invariant holds and each has something to check: P1 active, accepted
/// by its three nodes, charging 5 per access to Alice, with Bob's request answered by `n1`
/// alone (so its payment and deposit are still held); P2 pending at its three nodes. Returns
/// the request's id.
fn healthy() -> (sp_io::TestExternalities, RequestId) {
	let mut ext = ExtBuilder::build();
	let request = ext.execute_with(|| {
		// Deposits are held only when storage costs something.
		DepositPerByte::set(2);
		let pay = vec![PayPerAccess { to: account("alice"), amount: 5 }];
		let grant = NewPolicy { conditions: pay, ..Default::default() }.create();
		let (request, _) = request(&grant, P1, "bob", &[b"a secret"]);
		assert_ok!(answer("n1", P1, request));
		NewPolicy { id: P2, ..Default::default() }.create_pending();
		KmsPolicies::do_try_state().expect("the healthy chain holds every invariant");
		assert!(AccessPayments::<Test>::contains_key(request));
		assert!(RequestDeposits::<Test>::contains_key(request));
		request
	});
	(ext, request)
}

/// Breaks an invariant with `break_it` (given the request's id) on a healthy chain and
/// expects `do_try_state` to fail with `expected`.
fn fires(expected: &'static str, break_it: impl FnOnce(RequestId)) {
	let (mut ext, request) = healthy();
	ext.execute_with(|| {
		break_it(request);
		assert_eq!(
			KmsPolicies::do_try_state(),
			Err(sp_runtime::TryRuntimeError::Other(expected)),
			"breaking it should fire {expected:?}"
		);
	});
}

fn p1(change: impl FnOnce(&mut PolicyOf<Test>)) {
	Policies::<Test>::mutate(P1, |policy| change(policy.as_mut().expect("P1 exists")));
}

fn n1_share(change: impl FnOnce(&mut FeeShare)) {
	FeeShares::<Test>::mutate(P1, account("n1"), |share| change(share.as_mut().expect("a share")));
}

fn hold(reason: HoldReason, who: &str, amount: Balance) {
	assert_ok!(Balances::hold(&reason.into(), &account(who), amount));
}

#[test]
fn policies_are_indexed_under_their_owners() {
	fires("unindexed policy", |_| OwnerPolicies::<Test>::remove(account("alice"), P1));
	fires("stale owner index", |_| OwnerPolicies::<Test>::insert(account("bob"), P1, ()));
}

#[test]
fn fee_shares_lie_within_their_policy_and_match_its_escrow() {
	fires("share outside the policy", |_| n1_share(|share| share.last += 1_000));
	fires("settled share kept", |_| n1_share(|share| share.next = share.last + 1));
	fires("escrow differs from the unsettled shares", |_| p1(|policy| policy.fees.paid += 1));
	fires("an accepting node's share does not accrue", |_| {
		n1_share(|share| share.accepted_from = None)
	});
	fires("share of an unknown policy", |_| {
		let share = FeeShares::<Test>::get(P1, account("n1")).expect("a share");
		FeeShares::<Test>::insert(UNKNOWN, account("n1"), share);
	});
	fires("held escrow differs from the policies", |_| hold(HoldReason::Escrow, "alice", 1));
}

#[test]
fn kfrags_exist_exactly_for_the_nodes_of_active_policies() {
	fires("kfrag of a closed policy", |_| KFrags::<Test>::remove(P1, account("n1")));
	// The other way: a closed policy keeps no kfrag.
	fires("kfrag of a closed policy", |_| {
		let kfrag = KFrags::<Test>::get(P1, account("n1")).expect("a kfrag");
		assert_ok!(KmsPolicies::revoke_policy(RuntimeOrigin::signed(account("alice")), P1));
		KFrags::<Test>::insert(P1, account("n1"), kfrag);
	});
	fires("kfrag of a node not in the policy", |_| {
		let kfrag = KFrags::<Test>::get(P1, account("n1")).expect("a kfrag");
		KFrags::<Test>::insert(P1, account("carol"), kfrag);
	});
	fires("KeyUsage differs from the active policies", |_| {
		KeyUsage::<Test>::mutate(account("n1"), 0, |uses| *uses += 1)
	});
}

#[test]
fn pending_decisions_are_exactly_the_pending_nodes() {
	fires("PendingDecisions differs from the policy's pending nodes", |_| {
		PendingDecisions::<Test>::remove(account("n1"), P2)
	});
	fires("a pending decision of no pending node", |_| {
		PendingDecisions::<Test>::insert(account("n1"), UNKNOWN, 0)
	});
}

#[test]
fn policy_deposits_belong_to_policies_and_match_the_holds() {
	fires("deposit of no policy", |_| PolicyDeposits::<Test>::insert(UNKNOWN, 1));
	fires("a zero policy deposit stored", |_| PolicyDeposits::<Test>::insert(P1, 0));
	fires("held policy deposits differ from the policies", |_| {
		PolicyDeposits::<Test>::mutate(P1, |deposit| *deposit = deposit.map(|d| d + 1))
	});
	fires("a retired id in use", |_| RetiredPolicies::<Test>::insert(P1, ()));
}

#[test]
fn access_payments_are_held_until_their_request_settles() {
	fires("access payment of no request", |_| AccessPayments::<Test>::insert(NO_REQUEST, 1));
	fires("access payment kept past its settlement", |request| {
		let deadline = Requests::<Test>::get(request).expect("retained").deadline;
		System::set_block_number(deadline + 2);
	});
	fires("held access payments differ from the unsettled requests", |_| {
		hold(HoldReason::AccessPayment, "bob", 1)
	});
}

#[test]
fn request_deposits_belong_to_retained_requests_and_match_the_holds() {
	fires("deposit of no request", |_| RequestDeposits::<Test>::insert(NO_REQUEST, 1));
	fires("a zero request deposit stored", |request| RequestDeposits::<Test>::insert(request, 0));
	fires("held request deposits differ from the retained requests", |_| {
		let _ = Balances::release(
			&HoldReason::RequestDeposit.into(),
			&account("bob"),
			1,
			Precision::Exact,
		);
	});
}

#[test]
fn retained_requests_are_well_formed() {
	fires("request outside the retained range", |request| OldestRequest::<Test>::put(request + 1));
	fires("deadline beyond the response window", |request| {
		Requests::<Test>::mutate(request, |r| r.as_mut().expect("retained").deadline += 100)
	});
	fires("request of an unknown policy", |request| {
		Requests::<Test>::mutate(request, |r| r.as_mut().expect("retained").policy = UNKNOWN)
	});
}

#[test]
fn answers_and_responses_match() {
	fires("answer without cfrags", |request| Responses::<Test>::remove(request, account("n1")));
	fires("not one cfrag per capsule", |request| {
		Responses::<Test>::mutate(request, account("n1"), |cfrags| {
			let cfrags = cfrags.as_mut().expect("n1 answered");
			let copy = cfrags[0].clone();
			cfrags.try_push(copy).expect("room for a second cfrag");
		})
	});
	fires("response to an unknown request", |request| {
		let cfrags = Responses::<Test>::get(request, account("n1")).expect("n1 answered");
		Responses::<Test>::insert(NO_REQUEST, account("n1"), cfrags);
	});
	fires("response not counted", |request| {
		let cfrags = Responses::<Test>::get(request, account("n1")).expect("n1 answered");
		Responses::<Test>::insert(request, account("n2"), cfrags);
	});
}

#[test]
fn deadlines_are_processed_and_the_price_is_above_its_floor() {
	fires("unprocessed deadline", |request| {
		Deadlines::<Test>::insert(0, BoundedVec::truncate_from(vec![request]))
	});
	fires("a request price at or below the floor stored", |_| {
		RequestPrice::<Test>::put(MinRequestPrice::get())
	});
}
