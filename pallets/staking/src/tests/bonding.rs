//! bond, bond_extra, prolong, set_wind_down, unbond, withdraw_unbonded.

use super::*;

#[test]
fn bond_holds_the_stake_and_records_the_ledger() {
	ExtBuilder::default().build_and_execute(|| {
		let alice = account("alice");
		assert_ok!(Staking::bond(RuntimeOrigin::signed(alice.clone()), MIN_STAKE, MIN_LOCK));
		let ledger = Ledgers::<Test>::get(&alice).unwrap();
		assert_eq!(ledger.active, MIN_STAKE);
		assert_eq!(ledger.lock_periods, MIN_LOCK);
		assert!(!ledger.wind_down);
		assert_eq!(asset::held::<Test>(&alice), MIN_STAKE);
		assert_eq!(Balances::free_balance(&alice), FUNDS - MIN_STAKE);
		assert_eq!(TotalActive::<Test>::get(), MIN_STAKE);
		assert_eq!(
			new_staking_events(),
			[Event::Bonded { staker: alice, value: MIN_STAKE, lock_periods: MIN_LOCK }]
		);
		// Seen once: the next call has nothing new.
		assert!(new_staking_events().is_empty());
	});
}

#[test]
fn bond_checks_amount_lock_and_balance_at_their_boundaries() {
	ExtBuilder::default().build_and_execute(|| {
		let origin = || RuntimeOrigin::signed(account("alice"));
		assert_noop!(
			Staking::bond(origin(), MIN_STAKE - 1, MIN_LOCK),
			Error::<Test>::BelowMinStake
		);
		assert_noop!(Staking::bond(origin(), MIN_STAKE, MIN_LOCK - 1), Error::<Test>::LockTooShort);
		assert_noop!(Staking::bond(origin(), MIN_STAKE, MAX_LOCK + 1), Error::<Test>::LockTooLong);
		assert_noop!(
			Staking::bond(origin(), FUNDS + 1, MIN_LOCK),
			Error::<Test>::InsufficientBalance
		);
		// Holding everything would reap the account: the hold is refused.
		assert_noop!(Staking::bond(origin(), FUNDS, MIN_LOCK), Error::<Test>::InsufficientBalance);
		assert_ok!(Staking::bond(origin(), FUNDS - ED, MAX_LOCK));
		assert_noop!(Staking::bond(origin(), MIN_STAKE, MIN_LOCK), Error::<Test>::AlreadyBonded);
	});
}

#[test]
fn bond_extra_adds_under_the_same_lock() {
	ExtBuilder::default().build_and_execute(|| {
		let bob = account("bob");
		assert_noop!(
			Staking::bond_extra(RuntimeOrigin::signed(bob.clone()), 10),
			Error::<Test>::NotBonded
		);
		assert_ok!(Staking::bond(RuntimeOrigin::signed(bob.clone()), MIN_STAKE, 7));
		assert_noop!(
			Staking::bond_extra(RuntimeOrigin::signed(bob.clone()), 0),
			Error::<Test>::ZeroAmount
		);
		assert_noop!(
			Staking::bond_extra(RuntimeOrigin::signed(bob.clone()), FUNDS),
			Error::<Test>::InsufficientBalance
		);
		assert_ok!(Staking::bond_extra(RuntimeOrigin::signed(bob.clone()), 500));
		let ledger = Ledgers::<Test>::get(&bob).unwrap();
		assert_eq!((ledger.active, ledger.lock_periods), (MIN_STAKE + 500, 7));
		assert_eq!(TotalActive::<Test>::get(), MIN_STAKE + 500);
	});
}

#[test]
fn prolong_is_bounded_by_the_maximum_lock() {
	ExtBuilder::default().build_and_execute(|| {
		let alice = account("alice");
		let origin = || RuntimeOrigin::signed(account("alice"));
		assert_noop!(Staking::prolong(origin(), 1), Error::<Test>::NotBonded);
		assert_ok!(Staking::bond(origin(), MIN_STAKE, MIN_LOCK));
		assert_noop!(Staking::prolong(origin(), 0), Error::<Test>::ZeroAmount);
		assert_noop!(
			Staking::prolong(origin(), MAX_LOCK - MIN_LOCK + 1),
			Error::<Test>::LockTooLong
		);
		assert_noop!(Staking::prolong(origin(), Period::MAX), Error::<Test>::LockTooLong);
		assert_ok!(Staking::prolong(origin(), MAX_LOCK - MIN_LOCK));
		assert_eq!(Ledgers::<Test>::get(&alice).unwrap().lock_periods, MAX_LOCK);
		assert_eq!(
			staking_events().last(),
			Some(&Event::LockProlonged { staker: alice, lock_periods: MAX_LOCK })
		);
	});
}

#[test]
fn unbond_needs_the_lock_to_have_ended() {
	ExtBuilder::default().build_and_execute(|| {
		let origin = || RuntimeOrigin::signed(account("alice"));
		assert_noop!(Staking::unbond(origin(), 1), Error::<Test>::NotBonded);
		bond_and_register("alice", "alice-op", 3 * MIN_STAKE, MIN_LOCK);
		assert_noop!(Staking::unbond(origin(), MIN_STAKE), Error::<Test>::StillLocked);
		// Time alone does not unlock: the lock counts served periods.
		run_to_period(40);
		assert_noop!(Staking::unbond(origin(), MIN_STAKE), Error::<Test>::StillLocked);
		// Wind-down on, serve MIN_LOCK periods: each is settled by the next heartbeat.
		assert_ok!(Staking::set_wind_down(origin(), true));
		serve_through("alice", "alice-op", 40 + MIN_LOCK - 1);
		assert_eq!(Ledgers::<Test>::get(account("alice")).unwrap().lock_periods, 1);
		assert_noop!(Staking::unbond(origin(), MIN_STAKE), Error::<Test>::StillLocked);
		run_to_period(40 + MIN_LOCK);
		assert_ok!(send_heartbeat("alice", "alice-op"));
		assert_eq!(Ledgers::<Test>::get(account("alice")).unwrap().lock_periods, 0);
		assert_ok!(Staking::unbond(origin(), MIN_STAKE));
	});
}

#[test]
fn unbond_keeps_the_remainder_at_min_stake_or_zero() {
	ExtBuilder::default().build_and_execute(|| {
		let alice = account("alice");
		let origin = || RuntimeOrigin::signed(account("alice"));
		assert_ok!(Staking::bond(origin(), 2 * MIN_STAKE, MIN_LOCK));
		end_lock(&alice);
		assert_noop!(Staking::unbond(origin(), 0), Error::<Test>::ZeroAmount);
		assert_noop!(Staking::unbond(origin(), 2 * MIN_STAKE + 1), Error::<Test>::UnbondTooMuch);
		assert_noop!(
			Staking::unbond(origin(), MIN_STAKE + 1),
			Error::<Test>::RemainderBelowMinStake
		);
		// Exactly MinStake may remain.
		assert_ok!(Staking::unbond(origin(), MIN_STAKE));
		let ledger = Ledgers::<Test>::get(&alice).unwrap();
		assert_eq!(ledger.active, MIN_STAKE);
		assert_eq!(
			ledger.unlocking.to_vec(),
			vec![UnlockChunk { value: MIN_STAKE, withdrawable_at: UNBONDING }]
		);
		// Unbonding funds stay held.
		assert_eq!(asset::held::<Test>(&alice), 2 * MIN_STAKE);
		assert_eq!(TotalActive::<Test>::get(), MIN_STAKE);
		// Or all of it.
		assert_ok!(Staking::unbond(origin(), MIN_STAKE));
		let ledger = Ledgers::<Test>::get(&alice).unwrap();
		assert_eq!(ledger.active, 0);
		// Same period: the chunks merge.
		assert_eq!(ledger.unlocking.len(), 1);
		assert_eq!(ledger.unlocking[0].value, 2 * MIN_STAKE);
	});
}

#[test]
fn unbonding_chunks_are_bounded() {
	ExtBuilder::default().build_and_execute(|| {
		let alice = account("alice");
		let origin = || RuntimeOrigin::signed(account("alice"));
		assert_ok!(Staking::bond(origin(), 10 * MIN_STAKE, MIN_LOCK));
		end_lock(&alice);
		for period in 0..MAX_CHUNKS {
			run_to_period(period);
			assert_ok!(Staking::unbond(origin(), MIN_STAKE));
		}
		run_to_period(MAX_CHUNKS);
		assert_noop!(Staking::unbond(origin(), MIN_STAKE), Error::<Test>::TooManyUnlockingChunks);
	});
}

#[test]
fn withdraw_releases_ripe_chunks_at_the_exact_period() {
	ExtBuilder::default().build_and_execute(|| {
		let alice = account("alice");
		let origin = || RuntimeOrigin::signed(account("alice"));
		assert_noop!(Staking::withdraw_unbonded(origin()), Error::<Test>::NotBonded);
		assert_ok!(Staking::bond(origin(), 3 * MIN_STAKE, MIN_LOCK));
		end_lock(&alice);
		assert_ok!(Staking::unbond(origin(), MIN_STAKE));
		run_to_period(1);
		assert_ok!(Staking::unbond(origin(), MIN_STAKE));
		// The last block of the period before the first chunk ripens.
		System::set_block_number(UNBONDING as u64 * PERIOD - 1);
		assert_noop!(Staking::withdraw_unbonded(origin()), Error::<Test>::NothingToWithdraw);
		System::set_block_number(UNBONDING as u64 * PERIOD);
		assert_ok!(Staking::withdraw_unbonded(origin()));
		assert_eq!(Balances::free_balance(&alice), FUNDS - 2 * MIN_STAKE);
		assert_eq!(asset::held::<Test>(&alice), 2 * MIN_STAKE);
		assert_eq!(
			staking_events().last(),
			Some(&Event::Withdrawn { staker: alice.clone(), value: MIN_STAKE })
		);
		run_to_period(UNBONDING + 1);
		assert_ok!(Staking::withdraw_unbonded(origin()));
		assert_eq!(Ledgers::<Test>::get(&alice).unwrap().active, MIN_STAKE);
	});
}

#[test]
fn withdrawing_everything_removes_the_ledger_of_a_staker_without_a_node() {
	ExtBuilder::default().build_and_execute(|| {
		let alice = account("alice");
		let origin = || RuntimeOrigin::signed(account("alice"));
		assert_ok!(Staking::bond(origin(), MIN_STAKE, MIN_LOCK));
		end_lock(&alice);
		assert_ok!(Staking::unbond(origin(), MIN_STAKE));
		run_to_period(UNBONDING);
		assert_ok!(Staking::withdraw_unbonded(origin()));
		assert!(Ledgers::<Test>::get(&alice).is_none());
		assert_eq!(Balances::free_balance(&alice), FUNDS);
		// And the account may bond again.
		assert_ok!(Staking::bond(origin(), MIN_STAKE, MIN_LOCK));
	});
}

#[test]
fn wind_down_shrinks_the_lock_once_per_served_period_only() {
	ExtBuilder::default()
		.with_node("alice", "alice-op", MIN_STAKE, 10)
		.build_and_execute(|| {
			let alice = account("alice");
			let lock = || Ledgers::<Test>::get(account("alice")).unwrap().lock_periods;
			// Without wind-down, serving does not shrink the lock.
			serve_through("alice", "alice-op", 3);
			assert_eq!(lock(), 10);
			assert_ok!(Staking::set_wind_down(RuntimeOrigin::signed(alice.clone()), true));
			assert_eq!(
				staking_events().last(),
				Some(&Event::WindDownSet { staker: alice.clone(), enabled: true })
			);
			// Period 3 was served (heartbeat, no miss): settled by period 4's heartbeat.
			run_to_period(4);
			serve_through("alice", "alice-op", 6);
			assert_eq!(lock(), 7);
			// Period 6: heartbeat but a missed deadline: not served, no shrink.
			<Staking as NodeService<_, _>>::record_missed_deadline(&alice, 6);
			run_to_period(7);
			assert_ok!(send_heartbeat("alice", "alice-op"));
			assert_eq!(lock(), 7);
			// Periods 8 and 9 without heartbeats: nothing to settle; 10 settles period 7.
			run_to_period(10);
			assert_ok!(send_heartbeat("alice", "alice-op"));
			assert_eq!(lock(), 6);
			// Wind-down off again: the lock stays.
			assert_ok!(Staking::set_wind_down(RuntimeOrigin::signed(alice), false));
			run_to_period(11);
			assert_ok!(send_heartbeat("alice", "alice-op"));
			assert_eq!(lock(), 6);
		});
}

#[test]
fn set_wind_down_needs_a_ledger() {
	ExtBuilder::default().build_and_execute(|| {
		assert_noop!(
			Staking::set_wind_down(RuntimeOrigin::signed(account("eve")), true),
			Error::<Test>::NotBonded
		);
	});
}
