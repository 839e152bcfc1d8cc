//! The pallet's invariants ([`Pallet::do_try_state`]), checked after every test and by
//! try-runtime.

use crate::*;

impl<T: Config> Pallet<T> {
	/// The pallet's invariants:
	/// - `Minted ≤ Accrued`, and the total issuance is at most `MaxSupply`;
	/// - closed periods (`< NextToClose`) have a base, open ones none;
	/// - each open period's totals are the sums of its shares;
	/// - what the retained closed periods' shares are owed is at most `Accrued − Minted`;
	/// - no share or period older than `OldestPeriod`, which is at most `NextToClose`.
	#[cfg(any(feature = "std", feature = "try-runtime"))]
	pub fn do_try_state() -> Result<(), sp_runtime::TryRuntimeError> {
		use fungible::Inspect;
		let (accrued, minted) = (Accrued::<T>::get(), Minted::<T>::get());
		ensure!(minted <= accrued, "minted more than accrued");
		ensure!(T::Currency::total_issuance() <= T::MaxSupply::get(), "issuance past MaxSupply");
		let (oldest, next) = (OldestPeriod::<T>::get(), NextToClose::<T>::get());
		ensure!(oldest <= next, "pruned an open period");
		let mut owed = BalanceOf::<T>::zero();
		for (period, totals) in Periods::<T>::iter() {
			ensure!(period >= oldest, "a pruned period is left");
			ensure!(totals.base.is_some() == (period < next), "closing out of order");
			let (mut stake, mut weighted) = (BalanceOf::<T>::zero(), 0u128);
			for (_, share) in Shares::<T>::iter_prefix(period) {
				stake.saturating_accrue(share.stake);
				weighted.saturating_accrue(share.weight());
				owed.saturating_accrue(Self::reward_of(&share, &totals));
			}
			if totals.base.is_none() {
				ensure!(
					(stake, weighted) == (totals.serving_stake, totals.weighted_stake),
					"open totals differ from their shares"
				);
			}
		}
		for (period, _, _) in Shares::<T>::iter() {
			ensure!(period >= oldest, "a pruned share is left");
		}
		ensure!(owed <= accrued.saturating_sub(minted), "shares owed more than accrued");
		Ok(())
	}
}
