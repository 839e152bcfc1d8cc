//! Benchmarks of the Staking pallet (v2). Each bench sets up its worst case, said in its doc.

use super::*;
use crate::Pallet as Staking;
use frame_benchmarking::v2::*;
use frame_support::traits::{
	fungible::{Inspect, Mutate},
	Authorize,
};
use frame_system::RawOrigin;
use sp_runtime::traits::Bounded;

/// A staker funded with plenty.
fn funded<T: Config>(name: &'static str, index: u32) -> T::AccountId {
	let who: T::AccountId = account(name, index, 0);
	let amount = T::MinStake::get().saturating_mul(1_000u32.into());
	T::Currency::set_balance(&who, amount.saturating_add(T::Currency::minimum_balance()));
	who
}

/// A valid Umbral key for index `i`, derived from a fixed seed as development nodes derive
/// theirs (no randomness in the runtime).
fn umbral_key_for(i: u32) -> UmbralPublicKey {
	kms_primitives::staking::dev::umbral_public_key(&alloc::format!("//bench-{i}"))
}

/// A bonded staker with lock `lock`.
fn bonded<T: Config>(index: u32, lock: Period) -> T::AccountId {
	let staker = funded::<T>("staker", index);
	// Enough to unbond `MinStake` into every chunk and keep `MinStake` active.
	let value =
		T::MinStake::get().saturating_mul(T::MaxUnlockingChunks::get().saturating_add(2).into());
	Staking::<T>::do_bond(&staker, value, lock).expect("bond works");
	staker
}

/// A bonded staker with a node whose key history is full.
fn node_with_full_history<T: Config>(index: u32) -> T::AccountId {
	let staker = bonded::<T>(index, T::MinLockPeriods::get());
	let operator = funded::<T>("operator", index);
	Staking::<T>::do_register_node(&staker, operator, umbral_key_for(index * 100), Zero::zero())
		.expect("register works");
	for v in 1..T::MaxKeyHistory::get() {
		Staking::<T>::rotate_node_key(
			RawOrigin::Signed(staker.clone()).into(),
			umbral_key_for(index * 100 + v),
		)
		.expect("rotate works");
	}
	staker
}

/// An unlocked ledger with `MaxUnlockingChunks - 1` chunks.
fn unlocked_with_chunks<T: Config>(index: u32) -> T::AccountId {
	let staker = bonded::<T>(index, T::MinLockPeriods::get());
	Ledgers::<T>::mutate(&staker, |ledger| {
		if let Some(ledger) = ledger.as_mut() {
			ledger.lock_periods = 0;
		}
	});
	for period in 0..T::MaxUnlockingChunks::get().saturating_sub(1) {
		frame_system::Pallet::<T>::set_block_number(
			T::PeriodLength::get().saturating_mul(period.into()),
		);
		Staking::<T>::unbond(RawOrigin::Signed(staker.clone()).into(), T::MinStake::get())
			.expect("unbond works");
	}
	staker
}

#[benchmarks(where <T as frame_system::Config>::RuntimeCall: From<Call<T>>)]
mod benchmarks {
	use super::*;

	/// Worst case: a new ledger and a new hold.
	#[benchmark]
	fn bond() {
		let staker = funded::<T>("staker", 0);
		let value = T::MinStake::get();
		#[extrinsic_call]
		_(RawOrigin::Signed(staker.clone()), value, T::MaxLockPeriods::get());
		assert!(Ledgers::<T>::contains_key(&staker));
	}

	/// Worst case: a ledger with full unbonding chunks (the largest ledger to decode).
	#[benchmark]
	fn bond_extra() {
		let staker = unlocked_with_chunks::<T>(0);
		#[extrinsic_call]
		_(RawOrigin::Signed(staker), T::MinStake::get());
	}

	/// Worst case: the largest ledger.
	#[benchmark]
	fn prolong() {
		let staker = unlocked_with_chunks::<T>(0);
		#[extrinsic_call]
		_(RawOrigin::Signed(staker), T::MaxLockPeriods::get());
	}

	/// Worst case: the largest ledger.
	#[benchmark]
	fn set_wind_down() {
		let staker = unlocked_with_chunks::<T>(0);
		#[extrinsic_call]
		_(RawOrigin::Signed(staker), true);
	}

	/// Worst case: a ledger one chunk from full, a new chunk pushed after scanning them all.
	#[benchmark]
	fn unbond() {
		let staker = unlocked_with_chunks::<T>(0);
		frame_system::Pallet::<T>::set_block_number(
			T::PeriodLength::get().saturating_mul(T::MaxUnlockingChunks::get().into()),
		);
		#[extrinsic_call]
		_(RawOrigin::Signed(staker.clone()), T::MinStake::get());
		let chunks = Ledgers::<T>::get(&staker).map(|l| l.unlocking.len() as u32);
		assert_eq!(chunks, Some(T::MaxUnlockingChunks::get()));
	}

	/// Worst case: every chunk ripe and released, the ledger removed.
	#[benchmark]
	fn withdraw_unbonded() {
		let staker = bonded::<T>(0, T::MinLockPeriods::get());
		Ledgers::<T>::mutate(&staker, |ledger| {
			if let Some(ledger) = ledger.as_mut() {
				ledger.lock_periods = 0;
			}
		});
		let chunks = T::MaxUnlockingChunks::get();
		let active = Ledgers::<T>::get(&staker).map(|l| l.active).unwrap_or_default();
		for period in 0..chunks {
			frame_system::Pallet::<T>::set_block_number(
				T::PeriodLength::get().saturating_mul(period.into()),
			);
			let value = if period + 1 == chunks {
				Ledgers::<T>::get(&staker).map(|l| l.active).unwrap_or_default()
			} else {
				T::MinStake::get()
			};
			Staking::<T>::unbond(RawOrigin::Signed(staker.clone()).into(), value)
				.expect("unbond works");
		}
		frame_system::Pallet::<T>::set_block_number(
			T::PeriodLength::get()
				.saturating_mul((chunks.saturating_add(T::UnbondingPeriods::get())).into()),
		);
		#[extrinsic_call]
		_(RawOrigin::Signed(staker.clone()));
		assert!(!Ledgers::<T>::contains_key(&staker));
		assert!(!active.is_zero());
	}

	/// Worst case: key decompression and four storage writes.
	#[benchmark]
	fn register_node() {
		let staker = bonded::<T>(0, T::MinLockPeriods::get());
		let operator = funded::<T>("operator", 0);
		#[extrinsic_call]
		_(RawOrigin::Signed(staker.clone()), operator, umbral_key_for(7), Zero::zero());
		assert!(Nodes::<T>::contains_key(&staker));
	}

	/// Worst case: a full key history, so the oldest key is dropped (after asking the policy
	/// side) before the new one is pushed.
	#[benchmark]
	fn rotate_node_key() {
		let staker = node_with_full_history::<T>(1);
		#[extrinsic_call]
		_(RawOrigin::Signed(staker.clone()), umbral_key_for(999));
	}

	/// Worst case: the largest node record.
	#[benchmark]
	fn set_min_fee_rate() {
		let staker = node_with_full_history::<T>(1);
		#[extrinsic_call]
		_(RawOrigin::Signed(staker), BalanceOf::<T>::max_value());
	}

	/// Worst case: a full key history to forget.
	#[benchmark]
	fn unregister_node() {
		let staker = node_with_full_history::<T>(1);
		#[extrinsic_call]
		_(RawOrigin::Signed(staker.clone()));
		assert!(!Nodes::<T>::contains_key(&staker));
	}

	/// Worst case: a winding-down ledger whose previous served period is settled.
	#[benchmark]
	fn heartbeat() {
		let (beat, signature) = signed_heartbeat::<T>();
		let node = beat.node.clone();
		let previous = Staking::<T>::current_period().saturating_sub(1);
		Service::<T>::insert(
			previous,
			&node,
			ServiceRecord { heartbeat: true, missed_deadlines: 0 },
		);
		Nodes::<T>::mutate(&node, |info| {
			if let Some(info) = info.as_mut() {
				info.last_heartbeat = Some(previous);
			}
		});
		#[extrinsic_call]
		_(RawOrigin::Authorized, beat, signature);
		assert!(Service::<T>::get(Staking::<T>::current_period(), &node).heartbeat);
	}

	/// Worst case: every check passes, the signature is verified.
	#[benchmark]
	fn authorize_heartbeat() -> Result<(), BenchmarkError> {
		let (beat, signature) = signed_heartbeat::<T>();
		let call: <T as frame_system::Config>::RuntimeCall =
			Call::<T>::heartbeat { heartbeat: beat, signature }.into();
		#[block]
		{
			call.authorize(TransactionSource::External)
				.ok_or("no authorize logic")?
				.map_err(|_| "authorize failed")?;
		}
		Ok(())
	}

	/// A node whose operator key is in the benchmark keystore, with a signed heartbeat for the
	/// current period.
	fn signed_heartbeat<T: Config>() -> (HeartbeatOf<T>, T::Signature) {
		let staker = bonded::<T>(0, T::MaxLockPeriods::get());
		Ledgers::<T>::mutate(&staker, |ledger| {
			if let Some(ledger) = ledger.as_mut() {
				ledger.wind_down = true;
			}
		});
		let key = <T::OperatorCrypto as AppCrypto<_, _>>::RuntimeAppPublic::generate_pair(None);
		let generic: <T::OperatorCrypto as AppCrypto<_, _>>::GenericPublic = key.into();
		let public: T::Public = generic.into();
		let operator = public.clone().into_account();
		Staking::<T>::do_register_node(&staker, operator, umbral_key_for(3), Zero::zero())
			.expect("register works");
		frame_system::Pallet::<T>::set_block_number(
			T::PeriodLength::get().saturating_mul(5u32.into()),
		);
		let beat = Heartbeat {
			node: staker,
			period: Staking::<T>::current_period(),
			public: public.clone(),
		};
		let signature = <T::OperatorCrypto as AppCrypto<_, _>>::sign(
			&crate::heartbeat_payload::<T>(&beat),
			public,
		)
		.expect("the key is local");
		(beat, signature)
	}

	impl_benchmark_test_suite!(
		Staking,
		crate::mock::ExtBuilder::default().build(),
		crate::mock::Test
	);
}
