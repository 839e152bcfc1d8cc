//! What stakers do with their stake (bond, add to it, lock it longer, wind down, unbond,
//! withdraw) and slashing. Every change of a stake goes through [`Ledger`].

use crate::{
	asset, ledger::Ledger, BalanceOf, Config, CreditOf, Error, Event, Ledgers, Nodes, Pallet,
};
use frame_support::{
	ensure,
	traits::{Get, Imbalance as _},
};
use kms_primitives::staking::Period;
use sp_runtime::{
	traits::{Saturating, Zero},
	DispatchResult,
};

impl<T: Config> Pallet<T> {
	/// Bonds `value` of `staker`'s free balance for `lock_periods`.
	pub(crate) fn do_bond(
		staker: &T::AccountId,
		value: BalanceOf<T>,
		lock_periods: Period,
	) -> DispatchResult {
		ensure!(!Ledgers::<T>::contains_key(staker), Error::<T>::AlreadyBonded);
		ensure!(value >= T::MinStake::get(), Error::<T>::BelowMinStake);
		ensure!(lock_periods >= T::MinLockPeriods::get(), Error::<T>::LockTooShort);
		ensure!(lock_periods <= T::MaxLockPeriods::get(), Error::<T>::LockTooLong);
		ensure!(asset::free::<T>(staker) >= value, Error::<T>::InsufficientBalance);
		Ledger::<T>::bond(staker, value, lock_periods)?;
		Self::deposit_event(Event::Bonded { staker: staker.clone(), value, lock_periods });
		Ok(())
	}

	/// Adds `value` of `staker`'s free balance to its active stake.
	pub(crate) fn do_bond_extra(staker: &T::AccountId, value: BalanceOf<T>) -> DispatchResult {
		ensure!(!value.is_zero(), Error::<T>::ZeroAmount);
		let mut ledger = Ledger::<T>::require(staker)?;
		ensure!(asset::free::<T>(staker) >= value, Error::<T>::InsufficientBalance);
		ensure!(
			ledger.active.saturating_add(value) >= T::MinStake::get(),
			Error::<T>::BelowMinStake
		);
		ledger.bond_extra(value)?;
		Self::deposit_event(Event::BondedExtra { staker: staker.clone(), value });
		Ok(())
	}

	/// Lengthens `staker`'s lock by `extra_periods`, up to `MaxLockPeriods`.
	pub(crate) fn do_prolong(staker: T::AccountId, extra_periods: Period) -> DispatchResult {
		ensure!(!extra_periods.is_zero(), Error::<T>::ZeroAmount);
		let mut ledger = Ledger::<T>::require(&staker)?;
		let lock_periods =
			ledger.lock_periods.checked_add(extra_periods).ok_or(Error::<T>::LockTooLong)?;
		ensure!(lock_periods <= T::MaxLockPeriods::get(), Error::<T>::LockTooLong);
		ledger.set_lock_periods(lock_periods);
		Self::deposit_event(Event::LockProlonged { staker, lock_periods });
		Ok(())
	}

	/// Turns `staker`'s wind-down on or off.
	pub(crate) fn do_set_wind_down(staker: T::AccountId, enabled: bool) -> DispatchResult {
		Ledger::<T>::require(&staker)?.set_wind_down(enabled);
		Self::deposit_event(Event::WindDownSet { staker, enabled });
		Ok(())
	}

	/// Starts unbonding `value` of `staker`'s active stake, once its lock is zero; what stays
	/// active is zero or at least `MinStake`. Unbonding everything unregisters the node.
	pub(crate) fn do_unbond(staker: T::AccountId, value: BalanceOf<T>) -> DispatchResult {
		ensure!(!value.is_zero(), Error::<T>::ZeroAmount);
		let mut ledger = Ledger::<T>::require(&staker)?;
		ensure!(ledger.lock_periods.is_zero(), Error::<T>::StillLocked);
		ensure!(value <= ledger.active, Error::<T>::UnbondTooMuch);
		let remainder = ledger.active.saturating_sub(value);
		ensure!(
			remainder.is_zero() || remainder >= T::MinStake::get(),
			Error::<T>::RemainderBelowMinStake
		);
		// Unbonding everything leaves the node without stake: it goes (and may not while an
		// active policy names it).
		if remainder.is_zero() && Nodes::<T>::contains_key(&staker) {
			Self::do_unregister_node(&staker)?;
		}
		let withdrawable_at = Self::current_period().saturating_add(T::UnbondingPeriods::get());
		ledger.unbond(value, withdrawable_at)?;
		Self::deposit_event(Event::Unbonded { staker, value, withdrawable_at });
		Ok(())
	}

	/// Releases `staker`'s ripe unbonding chunks. An empty ledger of a staker without a node
	/// goes.
	pub(crate) fn do_withdraw_unbonded(staker: T::AccountId) -> DispatchResult {
		let ledger = Ledger::<T>::require(&staker)?;
		let value = ledger.withdraw(Self::current_period(), Nodes::<T>::contains_key(&staker))?;
		Self::deposit_event(Event::Withdrawn { staker, value });
		Ok(())
	}

	/// Slashes up to `amount` from `staker`: the active stake first, then unbonding chunks,
	/// latest first. Returns the credit taken.
	pub(crate) fn do_slash(staker: &T::AccountId, amount: BalanceOf<T>) -> CreditOf<T> {
		let Some(mut ledger) = Ledger::<T>::get(staker) else {
			return Default::default();
		};
		let credit = ledger.slash(amount);
		Self::deposit_event(Event::Slashed { staker: staker.clone(), amount: credit.peek() });
		credit
	}
}
