//! Issuance: each period's base (phase one's fixed `Imax`, then a share of what is left of the
//! supply), each staker's reward from its serving stake and lock multiplier, periods closed
//! in order, and old periods pruned.

use crate::*;

impl<T: Config> Pallet<T> {
	/// The lock multiplier's numerator: `k1 + min(T, kmax)`.
	pub fn multiplier(lock_periods: Period) -> Period {
		T::LockBase::get().saturating_add(lock_periods.min(T::LockSaturation::get()))
	}

	/// The supply rewards count with: what is issued plus what closed periods owe unpaid.
	pub fn supply() -> BalanceOf<T> {
		let owed = Accrued::<T>::get().saturating_sub(Minted::<T>::get());
		<T::Currency as fungible::Inspect<_>>::total_issuance().saturating_add(owed)
	}

	/// The base of a period closing at `supply`: `Imax` in phase 1, `(MaxSupply − supply)
	/// / d` in phase 2.
	pub fn base(supply: BalanceOf<T>) -> BalanceOf<T> {
		let max = T::MaxPeriodIssuance::get();
		// `PhaseOneCap ≤ MaxSupply` (`integrity_test`); the `min` keeps phase 1 under the
		// supply cap even if it were not.
		if supply.saturating_add(max) <= T::PhaseOneCap::get().min(T::MaxSupply::get()) {
			max
		} else {
			// `d ≥ 1` (`integrity_test`); never a division by zero regardless.
			T::MaxSupply::get().saturating_sub(supply) / T::DecayPeriods::get().max(1).into()
		}
	}

	/// `base · weight / (stake · k2)`, rounded down (zero when nothing served).
	pub(crate) fn portion(base: BalanceOf<T>, weight: u128, stake: BalanceOf<T>) -> BalanceOf<T> {
		let denominator = UniqueSaturatedInto::<u128>::unique_saturated_into(stake)
			.saturating_mul(T::LockDivisor::get().into());
		if denominator == 0 {
			return Zero::zero();
		}
		let base: u128 = base.unique_saturated_into();
		multiply_by_rational_with_rounding(base, weight, denominator, Rounding::Down)
			.unwrap_or_default()
			.unique_saturated_into()
	}

	/// What `share` earns in a closed period.
	pub fn reward_of(
		share: &Share<BalanceOf<T>>,
		period: &PeriodRewards<BalanceOf<T>>,
	) -> BalanceOf<T> {
		match period.base {
			Some(base) => Self::portion(base, share.weight(), period.serving_stake),
			None => Zero::zero(),
		}
	}

	/// Closes `period`: fixes its base from the supply and accrues what it owes.
	pub(crate) fn close_period(period: Period) {
		let base = Self::base(Self::supply());
		let mut totals = Periods::<T>::get(period);
		let issuance = Self::portion(base, totals.weighted_stake, totals.serving_stake);
		totals.base = Some(base);
		Periods::<T>::insert(period, &totals);
		Accrued::<T>::mutate(|accrued| accrued.saturating_accrue(issuance));
		NextToClose::<T>::put(period.saturating_add(1));
		Self::deposit_event(Event::PeriodClosed {
			period,
			serving_stake: totals.serving_stake,
			base,
			issuance,
		});
	}

	/// Forfeits and removes shares older than `ClaimHistory` periods, within `budget`.
	pub(crate) fn prune(budget: Weight) -> Weight {
		let db = T::DbWeight::get();
		let mut used = db.reads(2);
		// Each share: the iterator's seek and the value read, then its removal.
		let per_item = db.reads_writes(2, 1);
		// Per period: its totals read, `Accrued` updated, the period and `OldestPeriod` written.
		let per_period = db.reads_writes(2, 3);
		if !budget.all_gte(used.saturating_add(per_item).saturating_add(per_period)) {
			return Weight::zero();
		}
		let horizon = T::Staking::current_period().saturating_sub(T::ClaimHistory::get());
		// Only closed periods are pruned: their accrual is final.
		let horizon = horizon.min(NextToClose::<T>::get());
		let mut oldest = OldestPeriod::<T>::get();
		while oldest < horizon {
			let Some(left) = budget.checked_sub(&used.saturating_add(per_period)) else {
				break;
			};
			let limit = left.checked_div_per_component(&per_item).unwrap_or(0).min(64) as u32;
			if limit == 0 {
				break;
			}
			// What the pruned shares were owed is no longer owed: it leaves `Accrued`, so the
			// supply that issuance counts with does not keep it.
			let totals = Periods::<T>::get(oldest);
			let (mut forfeited, mut removed) = (BalanceOf::<T>::zero(), 0u32);
			for (_, share) in Shares::<T>::drain_prefix(oldest).take(limit as usize) {
				forfeited.saturating_accrue(Self::reward_of(&share, &totals));
				removed.saturating_inc();
			}
			Self::forfeit(forfeited);
			used.saturating_accrue(per_item.saturating_mul(removed.into()));
			used.saturating_accrue(per_period);
			if removed == limit {
				break;
			}
			Periods::<T>::remove(oldest);
			oldest = oldest.saturating_add(1);
			OldestPeriod::<T>::put(oldest);
		}
		used
	}
}
