//! Every invariant `do_try_state` checks fires: each case breaks one on purpose, on a chain
//! where all of them hold, and expects exactly that invariant's error.

use super::*;
use frame_support::traits::fungible::MutateHold as _;

/// A chain with two nodes (Alice's, unbonding part of her stake) and a service record.
fn healthy() -> sp_io::TestExternalities {
	let mut ext = ExtBuilder::default()
		.with_node("alice", "alice-op", 3 * MIN_STAKE, 2)
		.with_node("bob", "bob-op", 2 * MIN_STAKE, 2)
		.build();
	ext.execute_with(|| {
		end_lock(&account("alice"));
		assert_ok!(Staking::unbond(RuntimeOrigin::signed(account("alice")), MIN_STAKE));
		assert_ok!(send_heartbeat("alice", "alice-op"));
		Staking::do_try_state().expect("the healthy chain holds every invariant");
	});
	ext
}

/// Breaks `break_it` on a healthy chain and expects `do_try_state` to fail with `expected`.
fn fires(expected: &'static str, break_it: impl FnOnce()) {
	healthy().execute_with(|| {
		break_it();
		assert_eq!(
			Staking::do_try_state(),
			Err(sp_runtime::TryRuntimeError::Other(expected)),
			"breaking it should fire {expected:?}"
		);
	});
}

fn alice_ledger(change: impl FnOnce(&mut LedgerOf<Test>)) {
	Ledgers::<Test>::mutate(account("alice"), |ledger| change(ledger.as_mut().expect("bonded")));
}

#[test]
fn held_stake_must_match_the_ledger() {
	fires("held stake differs from the ledger", || {
		assert_ok!(Balances::hold(&HoldReason::Staking.into(), &account("alice"), 1));
	});
	fires("held stake differs from the ledger", || {
		let _ = Balances::release(
			&HoldReason::Staking.into(),
			&account("alice"),
			1,
			frame_support::traits::tokens::Precision::Exact,
		);
	});
}

#[test]
fn total_active_must_be_the_sum_of_active_stakes() {
	fires("TotalActive differs from the ledgers", || TotalActive::<Test>::mutate(|t| *t += 1));
}

#[test]
fn active_stake_must_reach_the_minimum_unless_slashed() {
	fires("active stake below MinStake", || {
		// Moved to unbonding, so that the hold still matches.
		alice_ledger(|ledger| {
			ledger.active -= MIN_STAKE * 2 - 1;
			ledger.unlocking[0].value += MIN_STAKE * 2 - 1;
		});
		TotalActive::<Test>::mutate(|t| *t -= MIN_STAKE * 2 - 1);
	});
}

#[test]
fn locks_must_stay_within_the_maximum() {
	fires("lock beyond MaxLockPeriods", || {
		alice_ledger(|ledger| ledger.lock_periods = MAX_LOCK + 1)
	});
}

#[test]
fn unbonding_chunks_must_be_in_bounds() {
	fires("unbonding chunk out of bounds", || {
		alice_ledger(|ledger| ledger.unlocking[0].withdrawable_at += 1)
	});
}

#[test]
fn every_node_must_have_a_ledger() {
	fires("node without a ledger", || {
		Ledgers::<Test>::remove(account("bob"));
		let _ = Balances::release_all(
			&HoldReason::Staking.into(),
			&account("bob"),
			frame_support::traits::tokens::Precision::Exact,
		);
		TotalActive::<Test>::mutate(|t| *t -= 2 * MIN_STAKE);
	});
}

#[test]
fn operators_must_map_back_to_their_node() {
	fires("operator map", || Operators::<Test>::insert(account("bob-op"), account("alice")));
}

#[test]
fn every_node_must_have_a_key() {
	fires("node without a key", || {
		Nodes::<Test>::mutate(account("bob"), |node| {
			node.as_mut().expect("registered").keys.clear()
		})
	});
}

#[test]
fn keys_must_map_back_to_their_node() {
	fires("key owner map", || KeyOwners::<Test>::remove(identity_key("bob")));
}

#[test]
fn the_node_count_must_count_the_nodes() {
	fires("NodeCount differs from the nodes", || NodeCount::<Test>::put(3));
}

#[test]
fn no_operator_may_outlive_its_node() {
	fires("stale operator", || Operators::<Test>::insert(account("eve"), account("eve")));
}

#[test]
fn service_records_must_not_predate_pruning() {
	fires("unpruned service record", || OldestServicePeriod::<Test>::put(1));
}

#[test]
fn nodes_must_not_outnumber_the_maximum() {
	fires("more than MaxNodes nodes", || {
		// Registration refuses more: write consistent nodes past the maximum directly.
		let extra = ["charlie", "dave", "eve"];
		assert!(2 + extra.len() as u32 > MAX_NODES);
		for name in extra {
			let who = account(name);
			crate::ledger::Ledger::<Test>::bond(&who, MIN_STAKE, 2).expect("funded");
			let key = identity_key(name);
			let node = NodeInfo {
				operator: who.clone(),
				keys: vec![key].try_into().expect("one key"),
				first_key_version: 0,
				min_fee_rate: 0,
				last_heartbeat: None,
			};
			Nodes::<Test>::insert(&who, node);
			Operators::<Test>::insert(&who, &who);
			KeyOwners::<Test>::insert(key, &who);
		}
		NodeCount::<Test>::put(2 + extra.len() as u32);
	});
}

#[test]
fn endpoints_must_be_registered_nodes_valid_ones() {
	fires("endpoint of no node", || {
		Endpoints::<Test>::insert(account("charlie"), Endpoint::parse(b"wss://c").unwrap());
	});
	fires("invalid endpoint", || {
		Endpoints::<Test>::insert(
			account("alice"),
			Endpoint(b"ftp://a".to_vec().try_into().unwrap()),
		);
	});
}
