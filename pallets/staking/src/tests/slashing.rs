//! Slashing through `StakeLedger::slash`.

use super::*;
use frame_support::traits::Imbalance;

#[test]
fn slash_takes_from_active_then_unbonding_latest_first() {
	ExtBuilder::default().build_and_execute(|| {
		let alice = account("alice");
		let origin = || RuntimeOrigin::signed(account("alice"));
		assert_ok!(Staking::bond(origin(), 4 * MIN_STAKE, MIN_LOCK));
		end_lock(&alice);
		assert_ok!(Staking::unbond(origin(), MIN_STAKE));
		run_to_period(1);
		assert_ok!(Staking::unbond(origin(), MIN_STAKE));
		// active 2000, chunks [1000 @3, 1000 @4].
		let issuance = pallet_balances::TotalIssuance::<Test>::get();
		let credit = <Staking as StakeLedger<_, _>>::slash(&alice, 2 * MIN_STAKE + 300);
		assert_eq!(credit.peek(), 2 * MIN_STAKE + 300);
		drop(credit); // burnt
		assert_eq!(pallet_balances::TotalIssuance::<Test>::get(), issuance - 2 * MIN_STAKE - 300);
		let ledger = Ledgers::<Test>::get(&alice).unwrap();
		assert_eq!(ledger.active, 0);
		assert_eq!(
			ledger.unlocking.to_vec(),
			vec![
				UnlockChunk { value: MIN_STAKE, withdrawable_at: UNBONDING },
				UnlockChunk { value: MIN_STAKE - 300, withdrawable_at: UNBONDING + 1 },
			]
		);
		assert_eq!(ledger.slashed, 2 * MIN_STAKE + 300);
		assert_eq!(asset::held::<Test>(&alice), 2 * MIN_STAKE - 300);
		assert_eq!(TotalActive::<Test>::get(), 0);
		assert_eq!(
			staking_events().last(),
			Some(&Event::Slashed { staker: alice, amount: 2 * MIN_STAKE + 300 })
		);
	});
}

#[test]
fn slash_is_capped_by_what_is_held() {
	ExtBuilder::default()
		.with_node("alice", "alice-op", MIN_STAKE, MIN_LOCK)
		.build_and_execute(|| {
			let alice = account("alice");
			let credit = <Staking as StakeLedger<_, _>>::slash(&alice, 10 * MIN_STAKE);
			assert_eq!(credit.peek(), MIN_STAKE);
			assert_eq!(asset::held::<Test>(&alice), 0);
			// Nothing to take from a stranger.
			assert_eq!(<Staking as StakeLedger<_, _>>::slash(&account("eve"), 5).peek(), 0);
		});
}

#[test]
fn a_node_slashed_below_min_stake_is_no_longer_eligible() {
	ExtBuilder::default()
		.with_node("alice", "alice-op", MIN_STAKE + 100, 10)
		.build_and_execute(|| {
			let alice = account("alice");
			assert_ok!(send_heartbeat("alice", "alice-op"));
			assert!(<Staking as NodeService<_, _>>::is_eligible(&alice, 5));
			let _ = <Staking as StakeLedger<_, _>>::slash(&alice, 101);
			assert_eq!(<Staking as StakeLedger<_, _>>::stake_of(&alice), MIN_STAKE - 1);
			assert!(!<Staking as NodeService<_, _>>::is_eligible(&alice, 5));
			// The slashed ledger may still leave entirely.
			end_lock(&alice);
			assert_ok!(Staking::unbond(RuntimeOrigin::signed(alice), MIN_STAKE - 1));
		});
}
