//! Every invariant `do_try_state` checks fires: each case breaks one on purpose, on a chain
//! where all of them hold, and expects exactly that invariant's error.

use super::*;

/// Alice and Bob served periods 0 to 2: period 0 is closed (its rewards accrued, none minted
/// yet), periods 1 and 2 are open with both their shares.
fn healthy() -> sp_io::TestExternalities {
	let mut ext = world().build();
	ext.execute_with(|| {
		heartbeat("alice");
		heartbeat("bob");
		run_to_period(2, &["alice", "bob"]);
		assert_eq!(NextToClose::<Test>::get(), 1);
		assert!(Periods::<Test>::get(0).base.is_some() && Accrued::<Test>::get() > 0);
		assert!(Shares::<Test>::contains_key(2, account("alice")));
		Rewards::do_try_state().expect("the healthy chain holds every invariant");
	});
	ext
}

/// Breaks `break_it` on a healthy chain and expects `do_try_state` to fail with `expected`.
fn fires(expected: &'static str, break_it: impl FnOnce()) {
	healthy().execute_with(|| {
		break_it();
		assert_eq!(
			Rewards::do_try_state(),
			Err(sp_runtime::TryRuntimeError::Other(expected)),
			"breaking it should fire {expected:?}"
		);
	});
}

#[test]
fn what_is_minted_stays_within_what_accrued_and_the_supply() {
	fires("minted more than accrued", || Minted::<Test>::put(Accrued::<Test>::get() + 1));
	fires("shares owed more than accrued", || Accrued::<Test>::put(Minted::<Test>::get()));
	let max_supply = MaxSupply::get();
	fires("issuance past MaxSupply", || MaxSupply::set(INITIAL_SUPPLY - 1));
	MaxSupply::set(max_supply);
}

#[test]
fn periods_close_in_order_and_are_pruned_from_the_oldest() {
	fires("pruned an open period", || OldestPeriod::<Test>::put(2));
	fires("a pruned period is left", || OldestPeriod::<Test>::put(1));
	fires("closing out of order", || Periods::<Test>::mutate(1, |p| p.base = Some(1)));
	fires("a pruned share is left", || {
		Periods::<Test>::remove(0);
		OldestPeriod::<Test>::put(1);
	});
}

#[test]
fn open_totals_are_the_sums_of_their_shares() {
	fires("open totals differ from their shares", || {
		Periods::<Test>::mutate(2, |p| p.serving_stake += 1)
	});
}
