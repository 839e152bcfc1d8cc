//! # KMS Rewards
//!
//! Minted rewards for serving stakers (`PROTOCOL.md`, "Rewards"), with NuCypher's two-phase
//! issuance. For a period `p`, a staker that served in it (heartbeat, no missed deadline)
//! earns
//!
//! - phase 1: `Imax · stake · (k1 + min(T, kmax)) / (total_stake · k2)`,
//! - phase 2, once `supply + Imax` would pass the phase-1 cap:
//!   `(MaxSupply − supply) · stake · (k1 + min(T, kmax)) / (total_stake · d · k2)`,
//!
//! where `stake` and `T` (the remaining lock, in periods) are the staker's at its heartbeat
//! in `p`, `total_stake` is the stake of every node serving in `p`, and `supply` counts what
//! is issued plus what earlier periods owe and have not paid yet. Because `k2 ≥ k1 + kmax`
//! (checked in `integrity_test`), a period never issues more than its base (`Imax`, or
//! `(MaxSupply − supply) / d`), and so the supply never passes `MaxSupply`.
//!
//! Nothing loops over stakers. The Staking pallet reports each node that starts serving a
//! period and each missed deadline ([`ServiceObserver`]); this pallet keeps the node's share
//! and the period's totals as they change. Two periods later, when no deadline of the period
//! can still be missed, `on_initialize` closes it (constant work): it fixes the period's base
//! from the supply and accrues what the period will pay. Stakers then `claim_rewards`
//! lazily, up to `MaxClaimPeriods` periods per call, minted through the fungible
//! `issue`/`resolve` path and, if they chose so, restaked onto their held bond. Shares older
//! than `ClaimHistory` periods are forfeited and pruned in `on_idle` within spare weight; what
//! they were owed leaves [`Accrued`], so it no longer counts towards the supply.
#![cfg_attr(not(feature = "std"), no_std)]
#![cfg_attr(not(test), deny(clippy::unwrap_used, clippy::indexing_slicing))]

extern crate alloc;

mod asset;
#[cfg(feature = "runtime-benchmarks")]
mod benchmarking;
#[cfg(test)]
mod mock;
#[cfg(test)]
mod tests;
pub mod types;
pub mod weights;

use frame_support::{pallet_prelude::*, traits::fungible};
use frame_system::pallet_prelude::*;
use kms_primitives::{
	rewards::PendingRewards,
	staking::{NodeStaking, Period, ServiceObserver},
};
use sp_runtime::{
	helpers_128bit::multiply_by_rational_with_rounding,
	traits::{Saturating, UniqueSaturatedInto, Zero},
	Rounding,
};

pub use pallet::*;
pub use types::*;
pub use weights::WeightInfo;

/// The balance type of the runtime's currency.
pub type BalanceOf<T> =
	<<T as Config>::Currency as fungible::Inspect<<T as frame_system::Config>::AccountId>>::Balance;

#[frame_support::pallet]
pub mod pallet {
	use super::*;

	#[pallet::pallet]
	pub struct Pallet<T>(_);

	#[pallet::config]
	pub trait Config: frame_system::Config {
		/// The currency rewards are minted in (the staking currency).
		type Currency: fungible::Inspect<Self::AccountId>
			+ fungible::Mutate<Self::AccountId>
			+ fungible::Balanced<Self::AccountId>;

		/// Periods, and restaking onto a staker's bond.
		type Staking: NodeStaking<Self::AccountId, BalanceOf<Self>>;

		/// `Imax`: the most a phase-1 period issues (when every serving staker's lock is at
		/// least `kmax`).
		#[pallet::constant]
		type MaxPeriodIssuance: Get<BalanceOf<Self>>;

		/// The supply at which phase 1 ends: a period whose `supply + Imax` would pass it
		/// issues by the phase-2 formula. At most `MaxSupply`.
		#[pallet::constant]
		type PhaseOneCap: Get<BalanceOf<Self>>;

		/// The total issuance rewards never take the supply past.
		#[pallet::constant]
		type MaxSupply: Get<BalanceOf<Self>>;

		/// `k1`: the lock multiplier's constant part, in periods (the multiplier of a staker
		/// without lock is `k1 / k2`).
		#[pallet::constant]
		type LockBase: Get<Period>;

		/// `kmax`: the lock, in periods, beyond which a longer lock earns no more.
		#[pallet::constant]
		type LockSaturation: Get<Period>;

		/// `k2`: the multiplier's divisor, in periods; at least `k1 + kmax`, so that the
		/// multiplier never exceeds 1.
		#[pallet::constant]
		type LockDivisor: Get<Period>;

		/// `d`: phase 2 issues `1/d` of what remains below `MaxSupply` per period at most
		/// (the remainder's half-life is about `d · ln 2` periods). At least 1.
		#[pallet::constant]
		type DecayPeriods: Get<Period>;

		/// Periods a share may wait to be claimed; older shares are forfeited and pruned. At
		/// least 2.
		#[pallet::constant]
		type ClaimHistory: Get<Period>;

		/// The most periods one `claim_rewards` goes through. At least 1.
		#[pallet::constant]
		type MaxClaimPeriods: Get<u32>;

		/// Weights of this pallet's calls and hooks, from its benchmarks.
		type WeightInfo: WeightInfo;
	}

	/// Each serving staker's share of each open or unclaimed period: its stake and lock
	/// multiplier at its heartbeat. Removed when claimed, when the node misses a deadline of
	/// an open period, or pruned after `ClaimHistory` periods. At most one per node and
	/// period, and nodes are bounded by the Staking pallet's `MaxNodes`.
	///
	/// Twox64 for the period (not attacker-chosen; old periods are cleared by prefix),
	/// Blake2 for the staker.
	#[pallet::storage]
	pub type Shares<T: Config> = StorageDoubleMap<
		_,
		Twox64Concat,
		Period,
		Blake2_128Concat,
		T::AccountId,
		Share<BalanceOf<T>>,
	>;

	/// Each retained period's serving totals and, once closed, its base issuance.
	///
	/// Twox64: the period is not attacker-chosen.
	#[pallet::storage]
	pub type Periods<T: Config> =
		StorageMap<_, Twox64Concat, Period, PeriodRewards<BalanceOf<T>>, ValueQuery>;

	/// The first period not yet closed.
	#[pallet::storage]
	pub type NextToClose<T: Config> = StorageValue<_, Period, ValueQuery>;

	/// The oldest period whose shares may still be stored.
	#[pallet::storage]
	pub type OldestPeriod<T: Config> = StorageValue<_, Period, ValueQuery>;

	/// What closed periods owe their stakers in total (paid or not), less what was forfeited
	/// (shares pruned unclaimed, or taken for a deadline missed after their period closed).
	#[pallet::storage]
	pub type Accrued<T: Config> = StorageValue<_, BalanceOf<T>, ValueQuery>;

	/// What has been minted to stakers so far (at most [`Accrued`]).
	#[pallet::storage]
	pub type Minted<T: Config> = StorageValue<_, BalanceOf<T>, ValueQuery>;

	/// Each staker's first period not yet claimed (absent: the oldest retained one): written
	/// only by a claim that paid a share, removed by the first claim after the staker has
	/// withdrawn everything, so at most one per account with stake (which pays for it) and
	/// per account that left with rewards unclaimed.
	///
	/// Blake2: the key is an account.
	#[pallet::storage]
	pub type NextClaim<T: Config> = StorageMap<_, Blake2_128Concat, T::AccountId, Period>;

	/// Stakers whose claimed rewards go onto their bond. Present means on. Set only by an
	/// account with stake; removed with its [`NextClaim`] once it has withdrawn everything.
	///
	/// Blake2: the key is an account.
	#[pallet::storage]
	pub type Restake<T: Config> = StorageMap<_, Blake2_128Concat, T::AccountId, ()>;

	#[pallet::event]
	#[pallet::generate_deposit(pub(super) fn deposit_event)]
	pub enum Event<T: Config> {
		/// Period `period` closed: `serving_stake` served in it and it owes `issuance` in
		/// rewards (its base was `base`).
		PeriodClosed {
			period: Period,
			serving_stake: BalanceOf<T>,
			base: BalanceOf<T>,
			issuance: BalanceOf<T>,
		},
		/// `staker` was paid `amount` for periods `from` to `to` (exclusive); `restaked`
		/// says whether it went onto its bond.
		RewardsClaimed {
			staker: T::AccountId,
			from: Period,
			to: Period,
			amount: BalanceOf<T>,
			restaked: bool,
		},
		/// `staker` turned restaking of its rewards on or off.
		RestakeSet { staker: T::AccountId, enabled: bool },
	}

	#[pallet::error]
	pub enum Error<T> {
		/// `up_to_periods` is zero or more than `MaxClaimPeriods`.
		InvalidPeriodCount,
		/// The caller has no share in the closed periods it asked for, and has never claimed
		/// (periods close two periods after they end; a first claim asking for
		/// `MaxClaimPeriods` looks at every retained period when `MaxClaimPeriods ≥
		/// ClaimHistory`, as in the runtime).
		NothingToClaim,
		/// The reward could not be credited to the staker's account.
		CannotPay,
		/// Only an account with stake may have its rewards restaked.
		NotStaker,
	}

	#[pallet::hooks]
	impl<T: Config> Hooks<BlockNumberFor<T>> for Pallet<T> {
		fn on_initialize(_now: BlockNumberFor<T>) -> Weight {
			let next = NextToClose::<T>::get();
			// A period's deadlines are recorded up to the first block of the next period:
			// it is final once the period after it has begun too.
			if next.saturating_add(2) <= T::Staking::current_period() {
				Self::close_period(next);
				T::WeightInfo::close_period().saturating_add(T::DbWeight::get().reads(1))
			} else {
				T::DbWeight::get().reads(1)
			}
		}

		fn on_idle(_now: BlockNumberFor<T>, remaining: Weight) -> Weight {
			Self::prune(remaining)
		}

		fn integrity_test() {
			let (k1, kmax, k2) =
				(T::LockBase::get(), T::LockSaturation::get(), T::LockDivisor::get());
			assert!(k2 >= k1.saturating_add(kmax), "k2 must be at least k1 + kmax");
			assert!(k2 >= 1, "k2 must be at least 1");
			assert!(T::DecayPeriods::get() >= 1, "d must be at least 1");
			assert!(T::PhaseOneCap::get() <= T::MaxSupply::get());
			assert!(T::ClaimHistory::get() >= 2, "shares must outlive their period's closing");
			assert!(T::MaxClaimPeriods::get() >= 1);
		}

		#[cfg(feature = "try-runtime")]
		fn try_state(_n: BlockNumberFor<T>) -> Result<(), sp_runtime::TryRuntimeError> {
			Self::do_try_state()
		}
	}

	#[pallet::call(weight = <T as Config>::WeightInfo)]
	impl<T: Config> Pallet<T> {
		/// Pay the caller's rewards for up to `up_to_periods` of its closed, unclaimed
		/// periods, oldest first (minted; restaked if the caller chose so). Signed by a
		/// staker. Emits `RewardsClaimed`.
		#[pallet::call_index(0)]
		#[pallet::weight(T::WeightInfo::claim_rewards(*up_to_periods))]
		pub fn claim_rewards(origin: OriginFor<T>, up_to_periods: u32) -> DispatchResult {
			let staker = ensure_signed(origin)?;
			Self::do_claim(&staker, up_to_periods)
		}

		/// Turn restaking of the caller's rewards on (they go onto its bond) or off. Signed
		/// by a staker (by anyone, to turn it off). Emits `RestakeSet`.
		#[pallet::call_index(1)]
		pub fn set_restake(origin: OriginFor<T>, enabled: bool) -> DispatchResult {
			let staker = ensure_signed(origin)?;
			if enabled {
				ensure!(!T::Staking::held_stake(&staker).is_zero(), Error::<T>::NotStaker);
				Restake::<T>::insert(&staker, ());
			} else {
				Restake::<T>::remove(&staker);
			}
			Self::deposit_event(Event::RestakeSet { staker, enabled });
			Ok(())
		}
	}
}

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
	fn portion(base: BalanceOf<T>, weight: u128, stake: BalanceOf<T>) -> BalanceOf<T> {
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

	/// Forfeits and removes shares older than `ClaimHistory` periods, within `budget`.
	fn prune(budget: Weight) -> Weight {
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

	/// Takes `amount`, owed to a share that is forfeited, out of what closed periods owe.
	fn forfeit(amount: BalanceOf<T>) {
		if !amount.is_zero() {
			Accrued::<T>::mutate(|accrued| accrued.saturating_reduce(amount));
		}
	}

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
