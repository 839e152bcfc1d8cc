//! Claims: what a staker is owed, paid (minted, or restaked) for its closed periods, oldest
//! first; what it can no longer claim is forfeited. Also the staking side's reports of service
//! ([`ServiceObserver`]).

use crate::*;

impl<T: Config> Pallet<T> {
	/// Turns restaking of `staker`'s rewards on (it must have stake) or off.
	pub(crate) fn do_set_restake(staker: T::AccountId, enabled: bool) -> DispatchResult {
		if enabled {
			ensure!(!T::Staking::held_stake(&staker).is_zero(), Error::<T>::NotStaker);
			Restake::<T>::insert(&staker, ());
		} else {
			Restake::<T>::remove(&staker);
		}
		Self::deposit_event(Event::RestakeSet { staker, enabled });
		Ok(())
	}

	/// What `staker` would be paid by claiming every closed, retained period now (the
	/// `RewardsApi` query; `claim_rewards` pays the same, `MaxClaimPeriods` at a time).
	pub fn pending_rewards(staker: &T::AccountId) -> PendingRewards<BalanceOf<T>> {
		let oldest = OldestPeriod::<T>::get();
		let from = NextClaim::<T>::get(staker).unwrap_or(oldest).max(oldest);
		let to = NextToClose::<T>::get();
		let amount = (from..to)
			.filter_map(|period| {
				let share = Shares::<T>::get(period, staker)?;
				Some(Self::reward_of(&share, &Periods::<T>::get(period)))
			})
			.fold(BalanceOf::<T>::zero(), |total, reward| total.saturating_add(reward));
		PendingRewards { amount, from, to }
	}

	pub(crate) fn do_claim(staker: &T::AccountId, up_to_periods: u32) -> DispatchResult {
		ensure!(
			(1..=T::MaxClaimPeriods::get()).contains(&up_to_periods),
			Error::<T>::InvalidPeriodCount
		);
		let oldest = OldestPeriod::<T>::get();
		let cursor = NextClaim::<T>::get(staker);
		let from = cursor.unwrap_or(oldest).max(oldest);
		let to = NextToClose::<T>::get().min(from.saturating_add(up_to_periods));
		ensure!(from < to, Error::<T>::NothingToClaim);
		let (mut reward, mut found) = (BalanceOf::<T>::zero(), false);
		for period in from..to {
			if let Some(share) = Shares::<T>::take(period, staker) {
				reward.saturating_accrue(Self::reward_of(&share, &Periods::<T>::get(period)));
				found = true;
			}
		}
		// A cursor is written only for an account that has been paid a share: one that never
		// served writes nothing. A staker that has claimed before moves its cursor past a
		// window without shares.
		ensure!(found || cursor.is_some(), Error::<T>::NothingToClaim);
		// A staker that has left keeps no record: were it to claim again, what it claimed is
		// gone from `Shares`, so the cursor's default (the oldest retained period) pays nothing
		// twice.
		let gone = T::Staking::held_stake(staker).is_zero();
		if gone {
			NextClaim::<T>::remove(staker);
		} else {
			NextClaim::<T>::insert(staker, to);
		}
		// Rounding and slashing burns only ever leave room; this only guards the cap.
		let room = T::MaxSupply::get()
			.saturating_sub(<T::Currency as fungible::Inspect<_>>::total_issuance());
		let amount = reward.min(room);
		let mut restaked = false;
		if !amount.is_zero() {
			asset::mint::<T>(staker, amount).map_err(|_| Error::<T>::CannotPay)?;
			Minted::<T>::mutate(|minted| minted.saturating_accrue(amount));
			restaked = Restake::<T>::contains_key(staker)
				&& T::Staking::bond_extra(staker, amount).is_ok();
		}
		if gone {
			Restake::<T>::remove(staker);
		}
		Self::deposit_event(Event::RewardsClaimed {
			staker: staker.clone(),
			from,
			to,
			amount,
			restaked,
		});
		Ok(())
	}

	/// Takes `amount`, owed to a share that is forfeited, out of what closed periods owe.
	pub(crate) fn forfeit(amount: BalanceOf<T>) {
		if !amount.is_zero() {
			Accrued::<T>::mutate(|accrued| accrued.saturating_reduce(amount));
		}
	}
}

impl<T: Config> ServiceObserver<T::AccountId, BalanceOf<T>> for Pallet<T> {
	fn served(node: &T::AccountId, period: Period, stake: BalanceOf<T>, lock_periods: Period) {
		if period < NextToClose::<T>::get() || Shares::<T>::contains_key(period, node) {
			return;
		}
		let share = Share { stake, multiplier: Self::multiplier(lock_periods) };
		Periods::<T>::mutate(period, |totals| {
			totals.serving_stake.saturating_accrue(stake);
			totals.weighted_stake.saturating_accrue(share.weight());
		});
		Shares::<T>::insert(period, node, share);
	}

	fn missed(node: &T::AccountId, period: Period) {
		let Some(share) = Shares::<T>::take(period, node) else { return };
		if period >= NextToClose::<T>::get() {
			Periods::<T>::mutate(period, |totals| {
				totals.serving_stake.saturating_reduce(share.stake);
				totals.weighted_stake.saturating_reduce(share.weight());
			});
		} else {
			// A closed period's base is final: the share is forfeited (no longer owed) and
			// the rest keep theirs.
			Self::forfeit(Self::reward_of(&share, &Periods::<T>::get(period)));
		}
	}
}
