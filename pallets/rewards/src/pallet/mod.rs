//! The pallet's declarations: configuration, storage, events, errors, hooks and the calls,
//! each of which checks its origin and hands over to the module of its concern (`issuance`, `claims`).

#[frame_support::pallet]
pub mod pallet {
	use crate::*;

	/// The version of this pallet's storage layout, for migrations.
	const STORAGE_VERSION: StorageVersion = StorageVersion::new(0);

	#[pallet::pallet]
	#[pallet::storage_version(STORAGE_VERSION)]
	pub struct Pallet<T>(_);

	#[pallet::config]
	pub trait Config: frame_system::Config {
		/// The currency rewards are minted in (the staking currency).
		type Currency: fungible::Inspect<Self::AccountId>
			+ fungible::Mutate<Self::AccountId>
			+ fungible::Balanced<Self::AccountId>;

		/// Periods, stakes, and restaking onto a staker's bond.
		type Staking: StakingPeriods<BlockNumberFor<Self>>
			+ StakeLedger<Self::AccountId, BalanceOf<Self>>
			+ MaybeStakingBenchmarks<Self::AccountId>;

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
	#[pallet::generate_deposit(pub(crate) fn deposit_event)]
	pub enum Event<T: Config> {
		/// Period `period` closed: `serving_stake` served in it and it owes `issuance` in
		/// rewards (its base was `base`).
		PeriodClosed {
			/// The period.
			period: Period,
			/// The stake that served in it.
			serving_stake: BalanceOf<T>,
			/// Its base issuance.
			base: BalanceOf<T>,
			/// What it owes in rewards.
			issuance: BalanceOf<T>,
		},
		/// `staker` was paid `amount` for periods `from` to `to` (exclusive); `restaked`
		/// says whether it went onto its bond.
		RewardsClaimed {
			/// The staker.
			staker: T::AccountId,
			/// The first period paid.
			from: Period,
			/// The first period not paid.
			to: Period,
			/// How much.
			amount: BalanceOf<T>,
			/// Whether it went onto the staker's bond.
			restaked: bool,
		},
		/// `staker` turned restaking of its rewards on or off.
		RestakeSet {
			/// The staker.
			staker: T::AccountId,
			/// On or off.
			enabled: bool,
		},
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
			Self::do_set_restake(staker, enabled)
		}
	}
}
