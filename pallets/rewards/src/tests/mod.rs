//! Rewards against hand-computed figures, with the real Staking pallet reporting service.
//!
//! The mock's parameters: `Imax` 6 000, phase-1 cap = initial supply (4 000 000) + 12 000,
//! `MaxSupply` = cap + 60 000, `d` 10, `k1` 2, `kmax` 4, `k2` 6. Alice stakes 3 000 locked
//! for 10 periods (multiplier 2 + 4 = 6), Bob 1 000 for 2 (multiplier 2 + 2 = 4): together
//! a serving stake of 4 000 and a weight of 3 000·6 + 1 000·4 = 22 000 per period.

mod invariants;

use crate::{mock::*, Error, Event, *};
use frame_support::{assert_noop, assert_ok, traits::fungible::Inspect};
use kms_primitives::staking::NodeService;

fn world() -> ExtBuilder {
	ExtBuilder::default()
		.with_staker("alice", 3_000, 10)
		.with_staker("bob", 1_000, 2)
}

fn claim(name: &str, periods: u32) -> DispatchResult {
	Rewards::claim_rewards(RuntimeOrigin::signed(account(name)), periods)
}

fn free(name: &str) -> Balance {
	Balances::balance(&account(name))
}

fn last_claim() -> (Period, Period, Balance, bool) {
	events()
		.into_iter()
		.rev()
		.find_map(|event| match event {
			Event::RewardsClaimed { from, to, amount, restaked, .. } => {
				Some((from, to, amount, restaked))
			},
			_ => None,
		})
		.expect("a claim")
}

#[test]
fn phase_one_pays_by_stake_and_lock() {
	world().build_and_execute(|| {
		heartbeat("alice");
		heartbeat("bob");
		// Period 0 closes when period 2 begins.
		run_to_period(1, &["alice", "bob"]);
		assert_eq!(NextToClose::<Test>::get(), 0);
		assert_noop!(claim("alice", 1), Error::<Test>::NothingToClaim);
		let _ = new_events();
		run_to_period(2, &[]);
		// Exactly one period closes: period 0.
		assert_eq!(
			new_events(),
			[Event::PeriodClosed {
				period: 0,
				serving_stake: 4_000,
				base: IMAX,
				// 6 000 · 22 000 / (4 000 · 6)
				issuance: 5_500,
			}]
		);
		// Alice: 6 000 · 3 000 · 6 / (4 000 · 6) = 4 500. Bob: 6 000 · 1 000 · 4 / 24 000.
		let (alice, bob) = (free("alice"), free("bob"));
		let pending = Rewards::pending_rewards(&account("alice"));
		assert_eq!(pending, PendingRewards { amount: 4_500, from: 0, to: 1 });
		assert_ok!(claim("alice", 1));
		assert_ok!(claim("bob", 1));
		assert_eq!(Rewards::pending_rewards(&account("alice")).amount, 0);
		assert_eq!(free("alice") - alice, 4_500);
		assert_eq!(free("bob") - bob, 1_000);
		assert_eq!(Balances::total_issuance(), INITIAL_SUPPLY + 5_500);
		assert_eq!((Accrued::<Test>::get(), Minted::<Test>::get()), (5_500, 5_500));
	});
}

#[test]
fn the_switch_to_phase_two_and_phase_two_figures() {
	world().build_and_execute(|| {
		heartbeat("alice");
		heartbeat("bob");
		run_to_period(4, &["alice", "bob"]);
		// Periods 0 and 1 in phase 1 (5 500 owed each, unclaimed but counted in the supply).
		// Period 2: 4 011 000 + 6 000 passes the cap, so its base is
		// (4 072 000 − 4 011 000) / 10 = 6 100, and it owes 6 100 · 22 000 / 24 000 = 5 591.
		let closed: Vec<_> = events()
			.into_iter()
			.filter_map(|e| match e {
				Event::PeriodClosed { period, base, issuance, .. } => {
					Some((period, base, issuance))
				},
				_ => None,
			})
			.collect();
		assert_eq!(closed, vec![(0, 6_000, 5_500), (1, 6_000, 5_500), (2, 6_100, 5_591)]);
		// Alice in period 2: 6 100 · 18 000 / 24 000 = 4 575; with periods 0 and 1, 13 575.
		let alice = free("alice");
		assert_ok!(claim("alice", 3));
		assert_eq!(free("alice") - alice, 4_500 + 4_500 + 4_575);
		// Bob in period 2: 6 100 · 4 000 / 24 000 = 1 016 (rounded down).
		let bob = free("bob");
		assert_ok!(claim("bob", 3));
		assert_eq!(free("bob") - bob, 1_000 + 1_000 + 1_016);
	});
}

#[test]
fn a_missed_deadline_costs_the_period_and_the_others_share_it() {
	world().build_and_execute(|| {
		heartbeat("alice");
		heartbeat("bob");
		run_to_period(1, &["alice", "bob"]);
		<Staking as NodeService<_, _>>::record_missed_deadline(&account("bob"), 1);
		run_to_period(3, &[]);
		// Period 1: Alice alone serves, 6 000 · 18 000 / (3 000 · 6) = 6 000.
		let (alice, bob) = (free("alice"), free("bob"));
		assert_ok!(claim("alice", 2));
		assert_ok!(claim("bob", 2));
		assert_eq!(free("alice") - alice, 4_500 + 6_000);
		assert_eq!(free("bob") - bob, 1_000, "period 0 only");
		assert_eq!(last_claim(), (0, 2, 1_000, false));
	});
}

#[test]
fn a_node_that_missed_before_its_heartbeat_earns_nothing_that_period() {
	world().build_and_execute(|| {
		<Staking as NodeService<_, _>>::record_missed_deadline(&account("bob"), 0);
		heartbeat("alice");
		heartbeat("bob");
		assert_eq!(Periods::<Test>::get(0).serving_stake, 3_000);
		assert!(Shares::<Test>::get(0, account("bob")).is_none());
	});
}

#[test]
fn claims_go_in_steps_and_restake_goes_onto_the_bond() {
	world().build_and_execute(|| {
		heartbeat("alice");
		heartbeat("bob");
		run_to_period(5, &["alice", "bob"]);
		assert_eq!(NextToClose::<Test>::get(), 4);
		assert_ok!(Rewards::set_restake(RuntimeOrigin::signed(account("alice")), true));
		// Four closed periods; period 3's base is (4 072 000 − 4 016 591) / 10 = 5 540, Alice's
		// part 5 540 · 18 000 / 24 000 = 4 155.
		let pending = Rewards::pending_rewards(&account("alice"));
		assert_eq!(
			pending,
			PendingRewards { amount: 4_500 + 4_500 + 4_575 + 4_155, from: 0, to: 4 }
		);
		let stake = Staking::stake_of(&account("alice"));
		let alice = free("alice");
		assert_ok!(claim("alice", 1));
		assert_eq!(last_claim(), (0, 1, 4_500, true));
		assert_eq!(Staking::stake_of(&account("alice")), stake + 4_500);
		assert_eq!(free("alice"), alice, "restaked, not free");
		assert_ok!(Rewards::set_restake(RuntimeOrigin::signed(account("alice")), false));
		assert_ok!(claim("alice", 2));
		assert_eq!(last_claim(), (1, 3, 4_500 + 4_575, false));
		assert_eq!(free("alice"), alice + 9_075);
		// Only period 3 is left closed; then nothing until period 4 closes.
		assert_ok!(claim("alice", MAX_CLAIM));
		assert_eq!(last_claim().1, 4);
		assert_noop!(claim("alice", 1), Error::<Test>::NothingToClaim);
		assert_noop!(claim("alice", 0), Error::<Test>::InvalidPeriodCount);
		assert_noop!(claim("alice", MAX_CLAIM + 1), Error::<Test>::InvalidPeriodCount);
	});
}

#[test]
fn a_longer_lock_earns_more_up_to_kmax() {
	assert_eq!(Rewards::multiplier(0), K1);
	assert_eq!(Rewards::multiplier(3), K1 + 3);
	assert_eq!(Rewards::multiplier(KMAX), K1 + KMAX);
	assert_eq!(Rewards::multiplier(1_000), K1 + KMAX);
	assert_eq!(Rewards::multiplier(Period::MAX), K1 + KMAX);
}

#[test]
fn the_supply_cap_is_never_passed() {
	world().build_and_execute(|| {
		// Phase 2 from the start (the cap below phase 1's), 50 below the cap: each period owes at most a tenth of what
		// remains, and minting stops at the cap.
		MaxSupply::set(INITIAL_SUPPLY + 50);
		heartbeat("alice");
		heartbeat("bob");
		run_to_period(10, &["alice", "bob"]);
		for name in ["alice", "bob"] {
			assert_ok!(claim(name, MAX_CLAIM));
			assert_ok!(claim(name, MAX_CLAIM));
		}
		assert!(Balances::total_issuance() <= MaxSupply::get());
		assert!(Accrued::<Test>::get() <= 50);
		// Someone else's minting leaves less room than owed: the claim pays what remains.
		run_to_period(13, &["alice"]);
		let room = MaxSupply::get() - Balances::total_issuance();
		let owed: Balance = (10..NextToClose::<Test>::get())
			.filter_map(|p| {
				Shares::<Test>::get(p, account("alice"))
					.map(|share| Rewards::reward_of(&share, &Periods::<Test>::get(p)))
			})
			.sum();
		assert!(owed > 0, "Alice is owed something");
		assert_ok!(<Balances as frame_support::traits::fungible::Mutate<_>>::mint_into(
			&account("dave"),
			room - 1
		));
		assert_ok!(claim("alice", MAX_CLAIM));
		assert_eq!(last_claim().2, 1);
		assert_eq!(Balances::total_issuance(), MaxSupply::get());
	});
}

#[test]
fn old_shares_are_forfeited_and_pruned() {
	world().build_and_execute(|| {
		heartbeat("alice");
		heartbeat("bob");
		// Only period 0 is served: 5 500 owed once it closes, unclaimed.
		run_to_period(2, &[]);
		assert_eq!((Accrued::<Test>::get(), Minted::<Test>::get()), (5_500, 0));
		assert_eq!(Rewards::supply(), INITIAL_SUPPLY + 5_500);
		run_to_period(CLAIM_HISTORY + 2, &[]);
		Rewards::on_idle(System::block_number(), frame_support::weights::Weight::MAX);
		assert_eq!(OldestPeriod::<Test>::get(), 2);
		assert!(Shares::<Test>::iter_prefix(0).next().is_none());
		assert!(!Periods::<Test>::contains_key(0));
		// What the forfeited shares were owed is owed no more: the supply that issuance
		// counts with drops back.
		assert_eq!(Accrued::<Test>::get(), 0);
		assert_eq!(Rewards::supply(), INITIAL_SUPPLY);
		// Alice's claim starts at the oldest retained period: period 0 is gone, and with it
		// all she had.
		assert_noop!(claim("alice", MAX_CLAIM), Error::<Test>::NothingToClaim);
	});
}

#[test]
fn restake_pays_free_balance_once_the_staker_has_left() {
	ExtBuilder::default().with_staker("alice", 3_000, 2).build_and_execute(|| {
		let alice = RuntimeOrigin::signed(account("alice"));
		// Only a staker may turn restaking on (nobody else adds a record for free).
		assert_noop!(
			Rewards::set_restake(RuntimeOrigin::signed(account("carol")), true),
			Error::<Test>::NotStaker
		);
		assert_ok!(Rewards::set_restake(alice.clone(), true));
		// Winding down: the lock (2) shrinks by one per served period, so the multiplier
		// falls 4, 3, 2 over periods 0, 1, 2.
		assert_ok!(Staking::set_wind_down(alice.clone(), true));
		heartbeat("alice");
		run_to_period(2, &["alice"]);
		// Unbonding everything unregisters the node too.
		assert_ok!(Staking::unbond(alice.clone(), 3_000));
		assert!(!pallet_kms_staking::Nodes::<Test>::contains_key(account("alice")));
		run_to_period(4, &[]);
		assert_ok!(Staking::withdraw_unbonded(alice.clone()));
		assert!(pallet_kms_staking::Ledgers::<Test>::get(account("alice")).is_none());
		assert_noop!(Rewards::set_restake(alice, true), Error::<Test>::NotStaker);
		let before = free("alice");
		assert_ok!(claim("alice", MAX_CLAIM));
		// Alone in each period: 6 000 · 4/6, 6 000 · 3/6, then phase 2 (4 007 000 + 6 000
		// passes the cap) with base (4 072 000 − 4 007 000) / 10 = 6 500, · 2/6.
		assert_eq!(last_claim(), (0, 3, 4_000 + 3_000 + 2_166, false));
		assert_eq!(free("alice"), before + 9_166, "no bond to restake onto: paid free");
		// Gone: Alice keeps no record, and nothing is paid twice.
		assert!(!NextClaim::<Test>::contains_key(account("alice")));
		assert!(!Restake::<Test>::contains_key(account("alice")));
		assert_noop!(claim("alice", MAX_CLAIM), Error::<Test>::NothingToClaim);
	});
}

#[test]
fn an_account_that_never_served_has_nothing_to_claim_and_writes_nothing() {
	world().build_and_execute(|| {
		heartbeat("alice");
		heartbeat("bob");
		run_to_period(2, &["alice", "bob"]);
		assert_eq!(NextToClose::<Test>::get(), 1);
		assert_noop!(claim("carol", MAX_CLAIM), Error::<Test>::NothingToClaim);
		// A staker with shares claims them; then it too has nothing left.
		assert_ok!(claim("alice", MAX_CLAIM));
		assert_noop!(claim("alice", MAX_CLAIM), Error::<Test>::NothingToClaim);
		// However few periods Carol asks for, while more closed ones lie beyond them.
		run_to_period(MAX_CLAIM + 4, &[]);
		assert_noop!(claim("carol", 1), Error::<Test>::NothingToClaim);
		assert_eq!(NextClaim::<Test>::get(account("carol")), None);
	});
}

#[test]
fn a_share_taken_after_its_period_closed_is_no_longer_owed() {
	world().build_and_execute(|| {
		heartbeat("alice");
		heartbeat("bob");
		run_to_period(2, &[]);
		assert_eq!(Accrued::<Test>::get(), 5_500);
		// A deadline of period 0 recorded late (period 0 closed): Bob's 1 000 is forfeited.
		<Staking as NodeService<_, _>>::record_missed_deadline(&account("bob"), 0);
		assert_eq!(Accrued::<Test>::get(), 4_500);
		assert_noop!(claim("bob", 1), Error::<Test>::NothingToClaim);
		assert_ok!(claim("alice", 1));
		assert_eq!((Accrued::<Test>::get(), Minted::<Test>::get()), (4_500, 4_500));
	});
}
