//! Benchmarks of the Rewards pallet (v2). Each bench sets up its worst case, said in its doc.

use super::*;
use frame_benchmarking::v2::*;
use frame_system::RawOrigin;
use kms_primitives::staking::dev;
use kms_primitives::staking::StakingBenchmarks as _;

/// A bonded staker with a node (ten times the minimum stake, longest lock).
fn staker<T: Config>() -> T::AccountId {
	let staker: T::AccountId = account("staker", 0, 0);
	let operator: T::AccountId = account("operator", 0, 0);
	T::Staking::register_for_benchmark(
		&staker,
		&operator,
		dev::umbral_public_key("//bench-reward"),
	);
	staker
}

#[benchmarks]
mod benchmarks {
	use super::*;

	/// Worst case: every one of the `p` periods is closed and holds a share of the staker,
	/// and the reward is restaked onto its bond.
	#[benchmark]
	fn claim_rewards(p: Linear<1, { T::MaxClaimPeriods::get() }>) {
		let staker = staker::<T>();
		let stake = T::Staking::stake_of(&staker);
		for period in 0..p {
			let share = Share { stake, multiplier: Pallet::<T>::multiplier(Period::MAX) };
			let totals = PeriodRewards {
				serving_stake: stake,
				weighted_stake: share.weight(),
				base: Some(T::MaxPeriodIssuance::get()),
			};
			Periods::<T>::insert(period, totals);
			Shares::<T>::insert(period, &staker, share);
		}
		NextToClose::<T>::put(p);
		Accrued::<T>::put(T::MaxPeriodIssuance::get().saturating_mul(p.into()));
		Restake::<T>::insert(&staker, ());

		#[extrinsic_call]
		_(RawOrigin::Signed(staker.clone()), p);

		assert_eq!(NextClaim::<T>::get(&staker), Some(p));
		assert!(!Minted::<T>::get().is_zero());
	}

	#[benchmark]
	fn set_restake() {
		let staker = staker::<T>();

		#[extrinsic_call]
		_(RawOrigin::Signed(staker.clone()), true);

		assert!(Restake::<T>::contains_key(&staker));
	}

	/// Closing a period with serving stake (the issuance computed and accrued).
	#[benchmark]
	fn close_period() {
		let staker = staker::<T>();
		let stake = T::Staking::stake_of(&staker);
		let share = Share { stake, multiplier: Pallet::<T>::multiplier(0) };
		Periods::<T>::insert(
			0,
			PeriodRewards { serving_stake: stake, weighted_stake: share.weight(), base: None },
		);

		#[block]
		{
			Pallet::<T>::close_period(0);
		}

		assert_eq!(NextToClose::<T>::get(), 1);
		assert!(Periods::<T>::get(0).base.is_some());
	}

	impl_benchmark_test_suite!(
		Pallet,
		crate::mock::ExtBuilder::default().build(),
		crate::mock::Test
	);
}
