//! [`Ledger`]: a staker's ledger, loaded to be changed. It is the only code that writes
//! `Ledgers`, `TotalActive` or the staking hold ([`crate::asset`]), so the pallet's first
//! invariants hold by construction: what is held under `HoldReason::Staking` is the ledger's
//! `active + Σ unlocking`, and `TotalActive` is the sum of the active stakes. Each change moves
//! the ledger, the hold and the total together and is written at once; the stored record is
//! read through `Deref` and cannot be changed any other way.

use crate::{
	asset, BalanceOf, Config, CreditOf, Error, LedgerOf, Ledgers, TotalActive, UnlockChunk,
};
use core::ops::Deref;
use frame_support::{defensive, ensure, traits::Imbalance as _, BoundedVec};
use kms_primitives::staking::Period;
use sp_runtime::{
	traits::{Saturating, Zero},
	DispatchError, DispatchResult,
};

/// A staker's ledger, as stored, with the account it belongs to.
pub(crate) struct Ledger<T: Config> {
	staker: T::AccountId,
	record: LedgerOf<T>,
}

impl<T: Config> Deref for Ledger<T> {
	type Target = LedgerOf<T>;

	fn deref(&self) -> &LedgerOf<T> {
		&self.record
	}
}

impl<T: Config> Ledger<T> {
	/// `staker`'s ledger, if it has one.
	pub(crate) fn get(staker: &T::AccountId) -> Option<Self> {
		Ledgers::<T>::get(staker).map(|record| Ledger { staker: staker.clone(), record })
	}

	/// `staker`'s ledger, or [`Error::NotBonded`].
	pub(crate) fn require(staker: &T::AccountId) -> Result<Self, DispatchError> {
		Self::get(staker).ok_or_else(|| Error::<T>::NotBonded.into())
	}

	/// A new ledger for `staker`: `value` of its free balance goes on hold as the active stake,
	/// locked for `lock_periods`. The bounds on `value` and the lock are the caller's.
	pub(crate) fn bond(
		staker: &T::AccountId,
		value: BalanceOf<T>,
		lock_periods: Period,
	) -> Result<Self, DispatchError> {
		ensure!(!Ledgers::<T>::contains_key(staker), Error::<T>::AlreadyBonded);
		asset::hold::<T>(staker, value).map_err(|_| Error::<T>::InsufficientBalance)?;
		TotalActive::<T>::mutate(|total| total.saturating_accrue(value));
		let ledger = Ledger {
			staker: staker.clone(),
			record: LedgerOf::<T> {
				active: value,
				lock_periods,
				wind_down: false,
				unlocking: BoundedVec::new(),
				slashed: Zero::zero(),
			},
		};
		ledger.write();
		Ok(ledger)
	}

	/// Puts `value` more of the staker's free balance on hold, as active stake.
	pub(crate) fn bond_extra(&mut self, value: BalanceOf<T>) -> DispatchResult {
		asset::hold::<T>(&self.staker, value).map_err(|_| Error::<T>::InsufficientBalance)?;
		self.record.active.saturating_accrue(value);
		TotalActive::<T>::mutate(|total| total.saturating_accrue(value));
		self.write();
		Ok(())
	}

	/// Moves `value` of the active stake to an unbonding chunk withdrawable at
	/// `withdrawable_at` (merged with a chunk of the same period). It stays held.
	pub(crate) fn unbond(
		&mut self,
		value: BalanceOf<T>,
		withdrawable_at: Period,
	) -> DispatchResult {
		ensure!(value <= self.record.active, Error::<T>::UnbondTooMuch);
		let unlocking = &mut self.record.unlocking;
		if let Some(chunk) = unlocking.iter_mut().find(|c| c.withdrawable_at == withdrawable_at) {
			chunk.value.saturating_accrue(value);
		} else {
			unlocking
				.try_push(UnlockChunk { value, withdrawable_at })
				.map_err(|_| Error::<T>::TooManyUnlockingChunks)?;
		}
		self.record.active.saturating_reduce(value);
		TotalActive::<T>::mutate(|total| total.saturating_reduce(value));
		self.write();
		Ok(())
	}

	/// Releases every unbonding chunk withdrawable by period `now` to the staker's free
	/// balance, and returns how much. A ledger left empty is removed unless `keep` (its staker
	/// still has a node). [`Error::NothingToWithdraw`] if no chunk is ripe.
	pub(crate) fn withdraw(
		mut self,
		now: Period,
		keep: bool,
	) -> Result<BalanceOf<T>, DispatchError> {
		let mut value = BalanceOf::<T>::zero();
		self.record.unlocking.retain(|chunk| {
			let ripe = chunk.withdrawable_at <= now;
			if ripe {
				value.saturating_accrue(chunk.value);
			}
			!ripe
		});
		ensure!(!value.is_zero(), Error::<T>::NothingToWithdraw);
		asset::release::<T>(&self.staker, value)?;
		if self.is_empty() && !keep {
			Ledgers::<T>::remove(&self.staker);
		} else {
			self.write();
		}
		Ok(value)
	}

	/// Takes up to `amount` from the stake: the active stake first, then unbonding chunks,
	/// latest first. Returns the credit taken from the hold.
	pub(crate) fn slash(&mut self, amount: BalanceOf<T>) -> CreditOf<T> {
		let record = &mut self.record;
		let mut remaining = amount;
		let from_active = remaining.min(record.active);
		record.active.saturating_reduce(from_active);
		remaining.saturating_reduce(from_active);
		for chunk in record.unlocking.iter_mut().rev() {
			let take = remaining.min(chunk.value);
			chunk.value.saturating_reduce(take);
			remaining.saturating_reduce(take);
		}
		record.unlocking.retain(|chunk| !chunk.value.is_zero());
		let taken = amount.saturating_sub(remaining);
		let credit = asset::slash::<T>(&self.staker, taken);
		if credit.peek() != taken {
			// The hold held less than the ledger says: an invariant was already broken. The
			// ledger is reduced by what it meant to take (not by the credit), so they still
			// disagree; `try_state` reports it.
			defensive!("held stake differs from the ledger");
		}
		record.slashed.saturating_accrue(credit.peek());
		TotalActive::<T>::mutate(|total| total.saturating_reduce(from_active));
		self.write();
		credit
	}

	/// Sets the lock to `lock_periods` served periods. The bound is the caller's.
	pub(crate) fn set_lock_periods(&mut self, lock_periods: Period) {
		self.record.lock_periods = lock_periods;
		self.write();
	}

	/// Turns wind-down on or off.
	pub(crate) fn set_wind_down(&mut self, enabled: bool) {
		self.record.wind_down = enabled;
		self.write();
	}

	/// Removes `staker`'s ledger if nothing is left in it (no active stake, nothing
	/// unbonding): for a node leaving with its stake withdrawn.
	pub(crate) fn remove_if_empty(staker: &T::AccountId) {
		if Self::get(staker).is_some_and(|ledger| ledger.is_empty()) {
			Ledgers::<T>::remove(staker);
		}
	}

	fn is_empty(&self) -> bool {
		self.record.active.is_zero() && self.record.unlocking.is_empty()
	}

	fn write(&self) {
		Ledgers::<T>::insert(&self.staker, &self.record);
	}
}
