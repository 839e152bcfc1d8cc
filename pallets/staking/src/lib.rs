//! # KMS Staking
//!
//! The economic security of KMS Chain (`PROTOCOL.md`, "Periods and staking"). A staker bonds
//! tokens, which go on a fungible hold so that they can always be slashed, and locks them for
//! a number of *served* periods: the lock only shrinks while wind-down is on, by one for every
//! period the staker's node served (heartbeated and missed no deadline). A staker registers
//! one node: the operator account that signs for it and the node's Umbral public key, which
//! kfrags are encrypted to. Rotating the key keeps the previous ones resolvable by version
//! for the policies granted under them.
//!
//! The node's offchain worker sends one free heartbeat per period, signed by the operator key
//! and authorized by [`Pallet::authorize_heartbeat`] (`#[pallet::authorize]`). The other
//! protocol pallets see this pallet through [`NodeStaking`]: serving and eligibility, stakes,
//! keys, missed deadlines and slashing.
//!
//! Time is counted in periods of `PeriodLength` blocks; nothing here loops over all stakers in
//! a block hook. Service records older than `HistoryDepth` periods are pruned in bounded
//! batches when blocks have weight to spare.
#![cfg_attr(not(feature = "std"), no_std)]
// `expect` is left to clippy's defaults: FRAME's macros expand to it (on paths that cannot fail).
#![cfg_attr(not(test), deny(clippy::unwrap_used, clippy::indexing_slicing))]

extern crate alloc;

mod asset;
#[cfg(feature = "runtime-benchmarks")]
mod benchmarking;
#[cfg(test)]
mod mock;
#[cfg(feature = "std")]
pub mod testing;
#[cfg(test)]
mod tests;
pub mod types;
pub mod weights;

use alloc::vec::Vec;
use frame_support::{
	defensive,
	pallet_prelude::*,
	traits::{
		fungible::{self, Credit},
		Imbalance as _,
	},
};
use frame_system::{
	offchain::{AppCrypto, CreateAuthorizedTransaction, SigningTypes, SubmitTransaction},
	pallet_prelude::*,
};
use kms_primitives::staking::{
	KeyVersion, NodeKeys, NodeKeysProof, NodeStaking, Period, PolicyRegistry, ServiceObserver,
	UmbralPublicKey,
};
use sp_runtime::{
	offchain::storage::{MutateStorageError, StorageValueRef},
	traits::{
		IdentifyAccount, One, SaturatedConversion, Saturating, UniqueSaturatedInto, Verify, Zero,
	},
	transaction_validity::TransactionValidityWithRefund,
	MultiSignature, MultiSigner, RuntimeAppPublic,
};

pub use pallet::*;
pub use types::*;
pub use weights::WeightInfo;

/// Log target of this pallet.
pub const LOG_TARGET: &str = "runtime::kms-staking";

/// A balance of the staking currency.
pub type BalanceOf<T> =
	<<T as Config>::Currency as fungible::Inspect<<T as frame_system::Config>::AccountId>>::Balance;
/// What a slash takes out of a stake.
pub type CreditOf<T> = Credit<<T as frame_system::Config>::AccountId, <T as Config>::Currency>;
/// A staker's ledger, as stored.
pub type LedgerOf<T> = StakingLedger<BalanceOf<T>, <T as Config>::MaxUnlockingChunks>;
/// A node, as stored.
pub type NodeOf<T> =
	NodeInfo<<T as frame_system::Config>::AccountId, BalanceOf<T>, <T as Config>::MaxKeyHistory>;
/// The proof of a node's keys in this runtime's signature type.
pub type NodeKeysProofOf<T> = NodeKeysProof<<T as SigningTypes>::Signature>;
/// A heartbeat of this runtime.
pub type HeartbeatOf<T> =
	Heartbeat<<T as frame_system::Config>::AccountId, <T as SigningTypes>::Public>;

/// The operator key as `frame_system`'s offchain signing uses it: sr25519 keys of type `kms!`
/// ([`kms_primitives::staking::operator`]), seen by the runtime as `MultiSigner` and
/// `MultiSignature`.
pub struct OperatorAuthId;

impl AppCrypto<MultiSigner, MultiSignature> for OperatorAuthId {
	type RuntimeAppPublic = kms_primitives::staking::operator::Public;
	type GenericPublic = sp_core::sr25519::Public;
	type GenericSignature = sp_core::sr25519::Signature;
}

/// The chain's genesis hash, as `frame_system` keeps it (from block 1 on): what binds operator
/// signatures to this chain ([`kms_primitives::signing`]).
pub fn genesis_hash<T: frame_system::Config>() -> T::Hash {
	frame_system::Pallet::<T>::block_hash(BlockNumberFor::<T>::zero())
}

/// The bytes a node's operator key and Umbral key sign to register as `staker`'s node, or to
/// become its key, on this chain.
pub fn node_keys_payload<T: Config>(
	staker: &T::AccountId,
	operator: &T::AccountId,
	umbral_key: &UmbralPublicKey,
) -> Vec<u8> {
	NodeKeys { staker, operator, umbral_key: *umbral_key }.signing_payload(&genesis_hash::<T>())
}

/// The bytes an operator signs for `heartbeat` on this chain.
pub fn heartbeat_payload<T: Config>(heartbeat: &HeartbeatOf<T>) -> Vec<u8> {
	kms_primitives::signing::payload(
		kms_primitives::signing::HEARTBEAT,
		&genesis_hash::<T>(),
		heartbeat,
	)
}

#[frame_support::pallet]
pub mod pallet {
	use super::*;

	#[pallet::pallet]
	pub struct Pallet<T>(_);

	/// Why this pallet holds funds.
	#[pallet::composite_enum]
	pub enum HoldReason {
		/// Bonded stake (active or unbonding): slashable until withdrawn.
		#[codec(index = 0)]
		Staking,
	}

	#[pallet::config]
	pub trait Config:
		frame_system::Config
		+ SigningTypes<Signature: Verify<Signer = <Self as SigningTypes>::Public>>
		+ CreateAuthorizedTransaction<Call<Self>>
	{
		/// The staking currency. Stakes sit on its holds; slashes come out of them.
		type Currency: fungible::Inspect<Self::AccountId>
			+ fungible::Mutate<Self::AccountId>
			+ fungible::InspectHold<Self::AccountId>
			+ fungible::MutateHold<Self::AccountId, Reason = Self::RuntimeHoldReason>
			+ fungible::hold::Balanced<Self::AccountId>;

		/// The runtime's hold reasons, of which [`HoldReason`] is one.
		type RuntimeHoldReason: From<HoldReason>;

		/// The operator key (in the node's keystore) that signs heartbeats. Its public key,
		/// as an account, is the operator account.
		type OperatorCrypto: AppCrypto<Self::Public, Self::Signature>;

		/// What the policy side says about nodes and keys still in use.
		type Policies: PolicyRegistry<Self::AccountId>;

		/// Told of every node that starts serving a period and of every missed deadline (the
		/// rewards side's per-period serving stake).
		type ServiceObserver: ServiceObserver<Self::AccountId, BalanceOf<Self>>;

		/// Blocks in a period. Every period-based quantity (locks, unbonding, fees, rewards)
		/// is counted in these. Must be at least 1.
		#[pallet::constant]
		type PeriodLength: Get<BlockNumberFor<Self>>;

		/// The smallest active stake a ledger may have (except zero, when leaving) and a node
		/// needs to be eligible. Must be at least the currency's existential deposit.
		#[pallet::constant]
		type MinStake: Get<BalanceOf<Self>>;

		/// The shortest lock, in served periods, `bond` accepts. At least 1.
		#[pallet::constant]
		type MinLockPeriods: Get<Period>;

		/// The longest lock `bond` and `prolong` accept. At least `MinLockPeriods`.
		#[pallet::constant]
		type MaxLockPeriods: Get<Period>;

		/// Periods between `unbond` and the funds becoming withdrawable; they stay slashable
		/// meanwhile. At least 1.
		#[pallet::constant]
		type UnbondingPeriods: Get<Period>;

		/// How many unbonding chunks a ledger holds at once (chunks of the same period merge).
		#[pallet::constant]
		type MaxUnlockingChunks: Get<u32>;

		/// How many Umbral keys of a node are kept: the current one and the previous ones
		/// policies may still use. At least 2.
		#[pallet::constant]
		type MaxKeyHistory: Get<u32>;

		/// The most nodes registered at once: bounds `eligible_nodes` (and node sampling).
		#[pallet::constant]
		type MaxNodes: Get<u32>;

		/// Periods of service records kept. Anything that asks `is_serving` about a period
		/// (fee and reward claims) must do so within this many periods.
		#[pallet::constant]
		type HistoryDepth: Get<Period>;

		/// Priority of heartbeat transactions in the pool.
		#[pallet::constant]
		type HeartbeatPriority: Get<TransactionPriority>;

		/// Weights of this pallet's calls, from its benchmarks.
		type WeightInfo: WeightInfo;
	}

	/// Each staker's ledger.
	///
	/// Blake2 hashing: the key is an account anyone may choose.
	#[pallet::storage]
	pub type Ledgers<T: Config> = StorageMap<_, Blake2_128Concat, T::AccountId, LedgerOf<T>>;

	/// The sum of all ledgers' active stakes.
	#[pallet::storage]
	pub type TotalActive<T: Config> = StorageValue<_, BalanceOf<T>, ValueQuery>;

	/// Registered nodes, by their staker's account.
	///
	/// Blake2 hashing: the key is an account anyone may choose.
	#[pallet::storage]
	pub type Nodes<T: Config> = StorageMap<_, Blake2_128Concat, T::AccountId, NodeOf<T>>;

	/// How many nodes are registered (at most `MaxNodes`).
	#[pallet::storage]
	pub type NodeCount<T: Config> = StorageValue<_, u32, ValueQuery>;

	/// Operator account → the node it acts for. An operator serves one node.
	///
	/// Blake2 hashing: the key is an account anyone may choose.
	#[pallet::storage]
	pub type Operators<T: Config> = StorageMap<_, Blake2_128Concat, T::AccountId, T::AccountId>;

	/// Umbral key → the node it belongs (or belonged) to. Keys are unique across nodes and
	/// never reused while kept by a node.
	///
	/// Blake2 hashing: the key is chosen by the registrant.
	#[pallet::storage]
	pub type KeyOwners<T: Config> = StorageMap<_, Blake2_128Concat, UmbralPublicKey, T::AccountId>;

	/// Service of each node in each of the last `HistoryDepth` periods: heartbeat and missed
	/// deadlines. Absent means neither.
	///
	/// Twox64 for the period (not attacker-chosen, and it lets old periods be cleared by
	/// prefix), Blake2 for the node.
	#[pallet::storage]
	pub type Service<T: Config> = StorageDoubleMap<
		_,
		Twox64Concat,
		Period,
		Blake2_128Concat,
		T::AccountId,
		ServiceRecord,
		ValueQuery,
	>;

	/// The oldest period whose service records may still be stored; older ones are pruned.
	#[pallet::storage]
	pub type OldestServicePeriod<T: Config> = StorageValue<_, Period, ValueQuery>;

	#[pallet::genesis_config]
	#[derive(frame_support::DefaultNoBound)]
	pub struct GenesisConfig<T: Config> {
		/// Initial stakers with their nodes: `(staker, operator, umbral public key (33
		/// bytes), stake, lock periods)`. The stakers must be funded by the balances genesis.
		pub stakers: Vec<(T::AccountId, T::AccountId, Vec<u8>, BalanceOf<T>, Period)>,
	}

	#[pallet::genesis_build]
	impl<T: Config> BuildGenesisConfig for GenesisConfig<T> {
		fn build(&self) {
			for (staker, operator, key, value, lock) in &self.stakers {
				let key = UmbralPublicKey::try_from(&key[..])
					.unwrap_or_else(|_| panic!("genesis: Umbral key of {staker:?} has 33 bytes"));
				Pallet::<T>::do_bond(staker, *value, *lock)
					.unwrap_or_else(|e| panic!("genesis: bond of {staker:?} fails: {e:?}"));
				// The chain spec's nodes are trusted as the spec is: no proof of their keys.
				Pallet::<T>::do_register_node(staker, operator.clone(), key, Zero::zero(), None)
					.unwrap_or_else(|e| panic!("genesis: node of {staker:?} fails: {e:?}"));
			}
		}
	}

	#[pallet::event]
	#[pallet::generate_deposit(pub(super) fn deposit_event)]
	pub enum Event<T: Config> {
		/// `staker` bonded `value`, locked for `lock_periods` served periods.
		Bonded { staker: T::AccountId, value: BalanceOf<T>, lock_periods: Period },
		/// `staker` added `value` to its active stake.
		BondedExtra { staker: T::AccountId, value: BalanceOf<T> },
		/// `staker`'s lock is now `lock_periods` served periods.
		LockProlonged { staker: T::AccountId, lock_periods: Period },
		/// `staker` turned wind-down on or off.
		WindDownSet { staker: T::AccountId, enabled: bool },
		/// `staker` unbonded `value`, withdrawable from `withdrawable_at`.
		Unbonded { staker: T::AccountId, value: BalanceOf<T>, withdrawable_at: Period },
		/// `staker` withdrew `value` to its free balance.
		Withdrawn { staker: T::AccountId, value: BalanceOf<T> },
		/// `staker` registered a node operated by `operator`, with Umbral key `key` (version 0).
		NodeRegistered { staker: T::AccountId, operator: T::AccountId, key: UmbralPublicKey },
		/// `node` rotated to Umbral key `key`, of version `version`.
		NodeKeyRotated { node: T::AccountId, key: UmbralPublicKey, version: KeyVersion },
		/// `node` now accepts fee rates from `rate` per period.
		MinFeeRateSet { node: T::AccountId, rate: BalanceOf<T> },
		/// `node` left the network.
		NodeUnregistered { node: T::AccountId },
		/// `node` heartbeated in `period`; its lock is now `lock_periods`.
		HeartbeatReceived { node: T::AccountId, period: Period, lock_periods: Period },
		/// `node` let a request deadline in `period` pass.
		DeadlineMissed { node: T::AccountId, period: Period },
		/// `amount` was slashed from `staker`'s stake.
		Slashed { staker: T::AccountId, amount: BalanceOf<T> },
	}

	#[pallet::error]
	pub enum Error<T> {
		/// The account already has a ledger: use `bond_extra`.
		AlreadyBonded,
		/// The account has no ledger: `bond` first.
		NotBonded,
		/// The stake would be below `MinStake`.
		BelowMinStake,
		/// The lock is shorter than `MinLockPeriods`.
		LockTooShort,
		/// The lock would be longer than `MaxLockPeriods`.
		LockTooLong,
		/// The free balance does not cover the amount.
		InsufficientBalance,
		/// The stake is still locked: turn wind-down on and serve until the lock is zero.
		StillLocked,
		/// More than the active stake.
		UnbondTooMuch,
		/// Unbonding would leave an active stake below `MinStake`: unbond all of it or less.
		RemainderBelowMinStake,
		/// Too many unbonding chunks: withdraw the ripe ones, or wait.
		TooManyUnlockingChunks,
		/// Nothing is withdrawable yet.
		NothingToWithdraw,
		/// A zero amount.
		ZeroAmount,
		/// The staker already has a node.
		AlreadyRegistered,
		/// The staker has no node.
		NotRegistered,
		/// The operator already acts for a node.
		OperatorInUse,
		/// The bytes are not a compressed secp256k1 point (33 bytes that decompress).
		InvalidUmbralKey,
		/// The Umbral key is, or was, some node's key.
		KeyInUse,
		/// The node's active stake is at least `MinStake`: only its staker may unregister it.
		StakeNotBelowMinimum,
		/// The operator key did not sign these keys over to the caller (the proof's operator
		/// signature is not the operator's over `node_keys_payload`).
		OperatorNotProven,
		/// The Umbral key did not sign these keys over to the caller (the proof's Umbral
		/// signature is not the key's over `node_keys_payload`).
		UmbralKeyNotProven,
		/// The oldest kept key is still used by a policy: the key history is full.
		KeyHistoryFull,
		/// `MaxNodes` nodes are registered already.
		TooManyNodes,
		/// Active policies still name this node.
		NodeHasActivePolicies,
		/// The heartbeat is for another period than the current one.
		WrongPeriod,
		/// The node already heartbeated in this period.
		DuplicateHeartbeat,
		/// The heartbeat's signer is not the node's operator.
		NotOperator,
	}

	#[pallet::hooks]
	impl<T: Config> Hooks<BlockNumberFor<T>> for Pallet<T> {
		fn on_idle(_now: BlockNumberFor<T>, remaining: Weight) -> Weight {
			Self::prune_service(remaining)
		}

		fn offchain_worker(now: BlockNumberFor<T>) {
			Self::offchain_heartbeats(now);
		}

		fn integrity_test() {
			assert!(!T::PeriodLength::get().is_zero(), "PeriodLength must be at least 1");
			assert!(T::MinLockPeriods::get() >= 1, "MinLockPeriods must be at least 1");
			assert!(T::MaxLockPeriods::get() >= T::MinLockPeriods::get());
			assert!(T::UnbondingPeriods::get() >= 1, "UnbondingPeriods must be at least 1");
			assert!(T::MaxUnlockingChunks::get() >= 1);
			assert!(T::MaxKeyHistory::get() >= 2, "rotation must keep the previous key");
			assert!(T::MaxNodes::get() >= 1);
			assert!(T::HistoryDepth::get() >= 2, "service must be known for a past period");
			assert!(
				T::MinStake::get() >= <T::Currency as fungible::Inspect<_>>::minimum_balance(),
				"MinStake must be at least the existential deposit"
			);
		}

		#[cfg(feature = "try-runtime")]
		fn try_state(_n: BlockNumberFor<T>) -> Result<(), sp_runtime::TryRuntimeError> {
			Self::do_try_state()
		}
	}

	#[pallet::call(weight = <T as Config>::WeightInfo)]
	impl<T: Config> Pallet<T> {
		/// Bond `value` of the caller's free balance, locked for `lock_periods` served
		/// periods. Signed by the staker, who has no ledger yet. Emits `Bonded`.
		#[pallet::call_index(0)]
		pub fn bond(
			origin: OriginFor<T>,
			#[pallet::compact] value: BalanceOf<T>,
			lock_periods: Period,
		) -> DispatchResult {
			let staker = ensure_signed(origin)?;
			Self::do_bond(&staker, value, lock_periods)
		}

		/// Add `value` to the caller's active stake, under its current lock. Signed by a
		/// staker. Emits `BondedExtra`.
		#[pallet::call_index(1)]
		pub fn bond_extra(
			origin: OriginFor<T>,
			#[pallet::compact] value: BalanceOf<T>,
		) -> DispatchResult {
			let staker = ensure_signed(origin)?;
			Self::do_bond_extra(&staker, value)
		}

		/// Lengthen the caller's lock by `extra_periods` served periods, up to
		/// `MaxLockPeriods`. Signed by a staker. Emits `LockProlonged`.
		#[pallet::call_index(2)]
		pub fn prolong(origin: OriginFor<T>, extra_periods: Period) -> DispatchResult {
			let staker = ensure_signed(origin)?;
			ensure!(!extra_periods.is_zero(), Error::<T>::ZeroAmount);
			let mut ledger = Ledgers::<T>::get(&staker).ok_or(Error::<T>::NotBonded)?;
			let lock_periods =
				ledger.lock_periods.checked_add(extra_periods).ok_or(Error::<T>::LockTooLong)?;
			ensure!(lock_periods <= T::MaxLockPeriods::get(), Error::<T>::LockTooLong);
			ledger.lock_periods = lock_periods;
			Ledgers::<T>::insert(&staker, ledger);
			Self::deposit_event(Event::LockProlonged { staker, lock_periods });
			Ok(())
		}

		/// Turn wind-down on (the lock shrinks by one per served period) or off (it stays).
		/// Signed by a staker. Emits `WindDownSet`.
		#[pallet::call_index(3)]
		pub fn set_wind_down(origin: OriginFor<T>, enabled: bool) -> DispatchResult {
			let staker = ensure_signed(origin)?;
			Ledgers::<T>::try_mutate(&staker, |ledger| -> DispatchResult {
				let ledger = ledger.as_mut().ok_or(Error::<T>::NotBonded)?;
				ledger.wind_down = enabled;
				Ok(())
			})?;
			Self::deposit_event(Event::WindDownSet { staker, enabled });
			Ok(())
		}

		/// Start unbonding `value` of the active stake, once the lock has reached zero. What
		/// remains active is zero or at least `MinStake`. The value stays held (and
		/// slashable) for `UnbondingPeriods`. Signed by a staker. Emits `Unbonded`.
		#[pallet::call_index(4)]
		pub fn unbond(
			origin: OriginFor<T>,
			#[pallet::compact] value: BalanceOf<T>,
		) -> DispatchResult {
			let staker = ensure_signed(origin)?;
			ensure!(!value.is_zero(), Error::<T>::ZeroAmount);
			let mut ledger = Ledgers::<T>::get(&staker).ok_or(Error::<T>::NotBonded)?;
			ensure!(ledger.lock_periods.is_zero(), Error::<T>::StillLocked);
			ensure!(value <= ledger.active, Error::<T>::UnbondTooMuch);
			let remainder = ledger.active.saturating_sub(value);
			ensure!(
				remainder.is_zero() || remainder >= T::MinStake::get(),
				Error::<T>::RemainderBelowMinStake
			);
			// Unbonding everything leaves the node without stake: it goes (and may not while
			// an active policy names it).
			if remainder.is_zero() && Nodes::<T>::contains_key(&staker) {
				Self::do_unregister_node(&staker)?;
			}
			let withdrawable_at = Self::current_period().saturating_add(T::UnbondingPeriods::get());
			if let Some(chunk) =
				ledger.unlocking.iter_mut().find(|c| c.withdrawable_at == withdrawable_at)
			{
				chunk.value.saturating_accrue(value);
			} else {
				ledger
					.unlocking
					.try_push(UnlockChunk { value, withdrawable_at })
					.map_err(|_| Error::<T>::TooManyUnlockingChunks)?;
			}
			ledger.active = remainder;
			TotalActive::<T>::mutate(|total| total.saturating_reduce(value));
			Ledgers::<T>::insert(&staker, ledger);
			Self::deposit_event(Event::Unbonded { staker, value, withdrawable_at });
			Ok(())
		}

		/// Release every unbonding chunk whose period has come. A ledger left empty, of a
		/// staker without a node, is removed. Signed by a staker. Emits `Withdrawn`.
		#[pallet::call_index(5)]
		pub fn withdraw_unbonded(origin: OriginFor<T>) -> DispatchResult {
			let staker = ensure_signed(origin)?;
			let mut ledger = Ledgers::<T>::get(&staker).ok_or(Error::<T>::NotBonded)?;
			let now = Self::current_period();
			let mut value = BalanceOf::<T>::zero();
			ledger.unlocking.retain(|chunk| {
				let ripe = chunk.withdrawable_at <= now;
				if ripe {
					value.saturating_accrue(chunk.value);
				}
				!ripe
			});
			ensure!(!value.is_zero(), Error::<T>::NothingToWithdraw);
			asset::release::<T>(&staker, value)?;
			if ledger.active.is_zero()
				&& ledger.unlocking.is_empty()
				&& !Nodes::<T>::contains_key(&staker)
			{
				Ledgers::<T>::remove(&staker);
			} else {
				Ledgers::<T>::insert(&staker, ledger);
			}
			Self::deposit_event(Event::Withdrawn { staker, value });
			Ok(())
		}

		/// Register the caller's node: `operator` signs for it, `umbral_key` (33 bytes, a
		/// compressed secp256k1 point) is what kfrags are encrypted to, `min_fee_rate` the
		/// smallest fee per period it accepts. `proof` is both keys' signatures over
		/// [`node_keys_payload`] (the caller, the operator, the key, this chain's genesis hash):
		/// nobody registers keys their holder did not sign over to them. The node's RPC
		/// `kms_proveNodeKeys` makes it. Signed by a bonded staker. Emits `NodeRegistered`.
		#[pallet::call_index(6)]
		pub fn register_node(
			origin: OriginFor<T>,
			operator: T::AccountId,
			umbral_key: UmbralPublicKey,
			min_fee_rate: BalanceOf<T>,
			proof: NodeKeysProofOf<T>,
		) -> DispatchResult {
			let staker = ensure_signed(origin)?;
			ensure!(Ledgers::<T>::contains_key(&staker), Error::<T>::NotBonded);
			Self::do_register_node(&staker, operator, umbral_key, min_fee_rate, Some(&proof))
		}

		/// Replace the node's Umbral key with `new_key`, proven as at registration: `proof`
		/// is the node's operator key's and `new_key`'s signatures over
		/// [`node_keys_payload`]. Previous keys stay resolvable by version (up to
		/// `MaxKeyHistory`, dropping the oldest only if no active policy uses it). Signed by
		/// the node's staker. Emits `NodeKeyRotated`.
		#[pallet::call_index(7)]
		pub fn rotate_node_key(
			origin: OriginFor<T>,
			new_key: UmbralPublicKey,
			proof: NodeKeysProofOf<T>,
		) -> DispatchResult {
			let node = ensure_signed(origin)?;
			Self::ensure_valid_key(&new_key)?;
			let mut info = Nodes::<T>::get(&node).ok_or(Error::<T>::NotRegistered)?;
			Self::ensure_keys_proven(&node, &info.operator, &new_key, &proof)?;
			if info.keys.is_full() {
				let oldest_version = info.first_key_version;
				ensure!(!T::Policies::uses_key(&node, oldest_version), Error::<T>::KeyHistoryFull);
				if !info.keys.is_empty() {
					let oldest = info.keys.remove(0);
					KeyOwners::<T>::remove(oldest);
				}
				info.first_key_version = oldest_version.saturating_add(1);
			}
			info.keys.try_push(new_key).map_err(|_| Error::<T>::KeyHistoryFull)?;
			let version = info.current_key_version();
			KeyOwners::<T>::insert(new_key, &node);
			Nodes::<T>::insert(&node, info);
			Self::deposit_event(Event::NodeKeyRotated { node, key: new_key, version });
			Ok(())
		}

		/// Set the smallest fee rate per period the caller's node accepts for new policies.
		/// Signed by the node's staker. Emits `MinFeeRateSet`.
		#[pallet::call_index(8)]
		pub fn set_min_fee_rate(origin: OriginFor<T>, rate: BalanceOf<T>) -> DispatchResult {
			let node = ensure_signed(origin)?;
			Nodes::<T>::try_mutate(&node, |info| -> DispatchResult {
				info.as_mut().ok_or(Error::<T>::NotRegistered)?.min_fee_rate = rate;
				Ok(())
			})?;
			Self::deposit_event(Event::MinFeeRateSet { node, rate });
			Ok(())
		}

		/// Unregister the caller's node, once no active policy names it. Its keys are
		/// forgotten; its stake stays bonded (an empty ledger is removed). Signed by the node's
		/// staker. Emits `NodeUnregistered`.
		#[pallet::call_index(9)]
		pub fn unregister_node(origin: OriginFor<T>) -> DispatchResult {
			let node = ensure_signed(origin)?;
			Self::do_unregister_node(&node)
		}

		/// The node's heartbeat for the current period, sent by its offchain worker. Free and
		/// unsigned: it is authorized by the operator's signature over `heartbeat` (see
		/// [`Pallet::authorize_heartbeat`]), once per node and period. Settles the node's
		/// previous heartbeat period for wind-down. Emits `HeartbeatReceived`.
		#[pallet::call_index(10)]
		#[pallet::authorize(Pallet::<T>::authorize_heartbeat)]
		pub fn heartbeat(
			origin: OriginFor<T>,
			heartbeat: HeartbeatOf<T>,
			// Checked in `authorize_heartbeat`.
			_signature: T::Signature,
		) -> DispatchResult {
			ensure_authorized(origin)?;
			Self::do_heartbeat(&heartbeat)
		}

		/// Unregister `node`, whose active stake fell below `MinStake` (slashed, or the minimum
		/// rose), so that it frees its `MaxNodes` slot; not while an active policy names it.
		/// Signed by anyone. Emits `NodeUnregistered`.
		#[pallet::call_index(11)]
		pub fn chill_other(origin: OriginFor<T>, node: T::AccountId) -> DispatchResult {
			ensure_signed(origin)?;
			ensure!(Nodes::<T>::contains_key(&node), Error::<T>::NotRegistered);
			ensure!(Self::stake_of(&node) < T::MinStake::get(), Error::<T>::StakeNotBelowMinimum);
			Self::do_unregister_node(&node)
		}
	}
}

impl<T: Config> Pallet<T> {
	/// The current period: `block_number / PeriodLength`.
	pub fn current_period() -> Period {
		Self::period_of(frame_system::Pallet::<T>::block_number())
	}

	/// The period `block` falls in.
	pub fn period_of(block: BlockNumberFor<T>) -> Period {
		let length = T::PeriodLength::get().max(One::one());
		(block / length).unique_saturated_into()
	}

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
		asset::hold::<T>(staker, value).map_err(|_| Error::<T>::InsufficientBalance)?;
		Ledgers::<T>::insert(
			staker,
			StakingLedger {
				active: value,
				lock_periods,
				wind_down: false,
				unlocking: BoundedVec::new(),
				slashed: Zero::zero(),
			},
		);
		TotalActive::<T>::mutate(|total| total.saturating_accrue(value));
		Self::deposit_event(Event::Bonded { staker: staker.clone(), value, lock_periods });
		Ok(())
	}

	/// Unregisters `node`, once no active policy names it: its keys and operator are
	/// forgotten, its `MaxNodes` slot freed; a fully withdrawn ledger, kept only for the node,
	/// goes too.
	fn do_unregister_node(node: &T::AccountId) -> DispatchResult {
		let info = Nodes::<T>::get(node).ok_or(Error::<T>::NotRegistered)?;
		ensure!(!T::Policies::has_active_policies(node), Error::<T>::NodeHasActivePolicies);
		for key in &info.keys {
			KeyOwners::<T>::remove(key);
		}
		Operators::<T>::remove(&info.operator);
		Nodes::<T>::remove(node);
		NodeCount::<T>::mutate(|count| *count = count.saturating_sub(1));
		if Ledgers::<T>::get(node)
			.is_some_and(|ledger| ledger.active.is_zero() && ledger.unlocking.is_empty())
		{
			Ledgers::<T>::remove(node);
		}
		Self::deposit_event(Event::NodeUnregistered { node: node.clone() });
		Ok(())
	}

	/// Registers `staker`'s node. Its keys must be proven (`proof`) unless they come from the
	/// chain spec or a benchmark's setup (`None`).
	pub(crate) fn do_register_node(
		staker: &T::AccountId,
		operator: T::AccountId,
		umbral_key: UmbralPublicKey,
		min_fee_rate: BalanceOf<T>,
		proof: Option<&NodeKeysProofOf<T>>,
	) -> DispatchResult {
		ensure!(!Nodes::<T>::contains_key(staker), Error::<T>::AlreadyRegistered);
		// A node slot (of `MaxNodes`) is for stake that can answer for the node.
		ensure!(Self::stake_of(staker) >= T::MinStake::get(), Error::<T>::BelowMinStake);
		ensure!(!Operators::<T>::contains_key(&operator), Error::<T>::OperatorInUse);
		Self::ensure_valid_key(&umbral_key)?;
		if let Some(proof) = proof {
			Self::ensure_keys_proven(staker, &operator, &umbral_key, proof)?;
		}
		let count = NodeCount::<T>::get();
		ensure!(count < T::MaxNodes::get(), Error::<T>::TooManyNodes);
		let keys = BoundedVec::try_from(alloc::vec![umbral_key])
			.map_err(|_| Error::<T>::KeyHistoryFull)?;
		Nodes::<T>::insert(
			staker,
			NodeInfo {
				operator: operator.clone(),
				keys,
				first_key_version: 0,
				min_fee_rate,
				last_heartbeat: None,
			},
		);
		Operators::<T>::insert(&operator, staker);
		KeyOwners::<T>::insert(umbral_key, staker);
		NodeCount::<T>::put(count.saturating_add(1));
		Self::deposit_event(Event::NodeRegistered {
			staker: staker.clone(),
			operator,
			key: umbral_key,
		});
		Ok(())
	}

	/// A key must decompress to a curve point ([`UmbralPublicKey::decompress`]) and belong to
	/// no node, now or in kept history.
	fn ensure_valid_key(key: &UmbralPublicKey) -> DispatchResult {
		ensure!(key.decompress().is_some(), Error::<T>::InvalidUmbralKey);
		ensure!(!KeyOwners::<T>::contains_key(key), Error::<T>::KeyInUse);
		Ok(())
	}

	/// Both of a node's keys signed them over to `staker`: the operator key (checked first, it
	/// is the cheaper check) and the Umbral key, each over [`node_keys_payload`].
	fn ensure_keys_proven(
		staker: &T::AccountId,
		operator: &T::AccountId,
		umbral_key: &UmbralPublicKey,
		proof: &NodeKeysProofOf<T>,
	) -> DispatchResult {
		let payload = node_keys_payload::<T>(staker, operator, umbral_key);
		ensure!(proof.operator.verify(&payload[..], operator), Error::<T>::OperatorNotProven);
		ensure!(proof.umbral.verify(umbral_key, &payload), Error::<T>::UmbralKeyNotProven);
		Ok(())
	}

	/// Checks a heartbeat before it enters the pool or a block: the node, the period, the
	/// operator and, last because it is the expensive part, the signature. Valid heartbeats
	/// are free, provide the tag `(node, period)` and live until the period ends.
	pub fn authorize_heartbeat(
		_source: TransactionSource,
		heartbeat: &HeartbeatOf<T>,
		signature: &T::Signature,
	) -> TransactionValidityWithRefund {
		let period = Self::current_period();
		if heartbeat.period != period {
			return Err(InvalidTransaction::Stale.into());
		}
		let info = Nodes::<T>::get(&heartbeat.node).ok_or(InvalidTransaction::BadSigner)?;
		if info.operator != heartbeat.public.clone().into_account() {
			return Err(InvalidTransaction::BadSigner.into());
		}
		if Service::<T>::get(period, &heartbeat.node).heartbeat {
			return Err(InvalidTransaction::Stale.into());
		}
		let payload = heartbeat_payload::<T>(heartbeat);
		if !<T::OperatorCrypto as AppCrypto<_, _>>::verify(
			&payload,
			heartbeat.public.clone(),
			signature.clone(),
		) {
			return Err(InvalidTransaction::BadProof.into());
		}
		let next_period_start = BlockNumberFor::<T>::from(period.saturating_add(1))
			.saturating_mul(T::PeriodLength::get());
		let longevity: u64 = next_period_start
			.saturating_sub(frame_system::Pallet::<T>::block_number())
			.unique_saturated_into();
		ValidTransaction::with_tag_prefix("KmsHeartbeat")
			.priority(T::HeartbeatPriority::get())
			.and_provides((&heartbeat.node, period))
			.longevity(longevity.max(1))
			.propagate(true)
			.build()
			.map(|validity| (validity, Weight::zero()))
	}

	/// Records a heartbeat and settles the node's previous heartbeat period for wind-down.
	pub(crate) fn do_bond_extra(staker: &T::AccountId, value: BalanceOf<T>) -> DispatchResult {
		ensure!(!value.is_zero(), Error::<T>::ZeroAmount);
		let mut ledger = Ledgers::<T>::get(staker).ok_or(Error::<T>::NotBonded)?;
		ensure!(asset::free::<T>(staker) >= value, Error::<T>::InsufficientBalance);
		ensure!(
			ledger.active.saturating_add(value) >= T::MinStake::get(),
			Error::<T>::BelowMinStake
		);
		asset::hold::<T>(staker, value).map_err(|_| Error::<T>::InsufficientBalance)?;
		ledger.active.saturating_accrue(value);
		TotalActive::<T>::mutate(|total| total.saturating_accrue(value));
		Ledgers::<T>::insert(staker, ledger);
		Self::deposit_event(Event::BondedExtra { staker: staker.clone(), value });
		Ok(())
	}

	pub(crate) fn do_heartbeat(heartbeat: &HeartbeatOf<T>) -> DispatchResult {
		let period = Self::current_period();
		ensure!(heartbeat.period == period, Error::<T>::WrongPeriod);
		let node = &heartbeat.node;
		let mut info = Nodes::<T>::get(node).ok_or(Error::<T>::NotRegistered)?;
		ensure!(info.operator == heartbeat.public.clone().into_account(), Error::<T>::NotOperator);
		let mut record = Service::<T>::get(period, node);
		ensure!(!record.heartbeat, Error::<T>::DuplicateHeartbeat);
		record.heartbeat = true;
		Service::<T>::insert(period, node, record.clone());

		// The previous heartbeat period is over: if the node served in it, a winding-down
		// lock shrinks by one. (A deadline of that period recorded after this point still
		// costs the node its fees and rewards for it, not the lock.)
		let previous = info.last_heartbeat.replace(period);
		let (mut lock_periods, mut stake) = (0, Zero::zero());
		if let Some(mut ledger) = Ledgers::<T>::get(node) {
			if let Some(previous) = previous.filter(|p| *p < period) {
				if ledger.wind_down && Service::<T>::get(previous, node).served() {
					ledger.lock_periods = ledger.lock_periods.saturating_sub(1);
				}
			}
			(lock_periods, stake) = (ledger.lock_periods, ledger.active);
			Ledgers::<T>::insert(node, ledger);
		}
		Nodes::<T>::insert(node, info);
		if record.served() {
			T::ServiceObserver::served(node, period, stake, lock_periods);
		}
		Self::deposit_event(Event::HeartbeatReceived { node: node.clone(), period, lock_periods });
		Ok(())
	}

	/// Slashes up to `amount` from `staker`: the active stake first, then unbonding chunks,
	/// latest first. Returns the credit taken.
	pub(crate) fn do_slash(staker: &T::AccountId, amount: BalanceOf<T>) -> CreditOf<T> {
		let Some(mut ledger) = Ledgers::<T>::get(staker) else {
			return Default::default();
		};
		let mut remaining = amount;
		let from_active = remaining.min(ledger.active);
		ledger.active.saturating_reduce(from_active);
		remaining.saturating_reduce(from_active);
		for chunk in ledger.unlocking.iter_mut().rev() {
			let take = remaining.min(chunk.value);
			chunk.value.saturating_reduce(take);
			remaining.saturating_reduce(take);
		}
		ledger.unlocking.retain(|chunk| !chunk.value.is_zero());
		let taken = amount.saturating_sub(remaining);
		let credit = asset::slash::<T>(staker, taken);
		let slashed = credit.peek();
		if slashed != taken {
			// The hold and the ledger disagreed; the ledger follows the hold.
			defensive!("held stake differs from the ledger");
		}
		ledger.slashed.saturating_accrue(slashed);
		TotalActive::<T>::mutate(|total| total.saturating_reduce(from_active));
		Ledgers::<T>::insert(staker, ledger);
		Self::deposit_event(Event::Slashed { staker: staker.clone(), amount: slashed });
		credit
	}

	/// Whether `node` counts as serving now: in the current period, or, before its heartbeat
	/// for this period has landed, in the previous one.
	fn serving_now(node: &T::AccountId) -> bool {
		let period = Self::current_period();
		let current = Service::<T>::get(period, node);
		if current.heartbeat {
			return current.served();
		}
		current.missed_deadlines == 0
			&& period
				.checked_sub(1)
				.is_some_and(|previous| Service::<T>::get(previous, node).served())
	}

	/// Removes service records older than `HistoryDepth` periods, within `budget`.
	fn prune_service(budget: Weight) -> Weight {
		let mut used = T::DbWeight::get().reads(1);
		let per_item = T::DbWeight::get().reads_writes(1, 1);
		// Not even one record and the cursor's update fit: leave it to a later block.
		if !budget
			.all_gte(used.saturating_add(per_item).saturating_add(T::DbWeight::get().writes(1)))
		{
			return Weight::zero();
		}
		let horizon = Self::current_period().saturating_sub(T::HistoryDepth::get());
		let mut oldest = OldestServicePeriod::<T>::get();
		while oldest < horizon {
			let Some(left) = budget.checked_sub(&used) else { break };
			let limit = left.checked_div_per_component(&per_item).unwrap_or(0).min(64) as u32;
			if limit == 0 {
				break;
			}
			let result = Service::<T>::clear_prefix(oldest, limit, None);
			used.saturating_accrue(per_item.saturating_mul(result.backend.into()));
			if result.maybe_cursor.is_some() {
				break;
			}
			oldest = oldest.saturating_add(1);
			OldestServicePeriod::<T>::put(oldest);
			used.saturating_accrue(T::DbWeight::get().writes(1));
		}
		used
	}

	/// The offchain worker's part: a heartbeat for every node whose operator key is in this
	/// node's keystore and that has not heartbeated in the current period yet. A local-storage
	/// entry per node remembers the last period sent, so that each period's heartbeat is sent
	/// once; it is sent again only if it has not landed after a quarter of the period.
	fn offchain_heartbeats(now: BlockNumberFor<T>) {
		let period = Self::current_period();
		let resend_after = (T::PeriodLength::get() / 4u32.into()).max(One::one());
		for key in <T::OperatorCrypto as AppCrypto<_, _>>::RuntimeAppPublic::all() {
			let generic: <T::OperatorCrypto as AppCrypto<_, _>>::GenericPublic = key.into();
			let public: T::Public = generic.into();
			let operator = public.clone().into_account();
			let Some(node) = Operators::<T>::get(&operator) else { continue };
			if Service::<T>::get(period, &node).heartbeat {
				continue;
			}
			let storage_key = (b"kms-staking/heartbeat", &node).encode();
			let sent = StorageValueRef::persistent(&storage_key).mutate(
				|last: Result<Option<(Period, BlockNumberFor<T>)>, _>| match last {
					Ok(Some((p, at))) if p == period && now < at.saturating_add(resend_after) => {
						Err(())
					},
					_ => Ok((period, now)),
				},
			);
			match sent {
				Ok(_) => {},
				Err(MutateStorageError::ValueFunctionFailed(())) => continue,
				Err(MutateStorageError::ConcurrentModification(_)) => continue,
			}
			let heartbeat = Heartbeat { node: node.clone(), period, public: public.clone() };
			let payload = heartbeat_payload::<T>(&heartbeat);
			let Some(signature) = <T::OperatorCrypto as AppCrypto<_, _>>::sign(&payload, public)
			else {
				log::warn!(target: LOG_TARGET, "cannot sign the heartbeat of {node:?}");
				continue;
			};
			let call = Call::heartbeat { heartbeat, signature };
			let xt = T::create_authorized_transaction(call.into());
			match SubmitTransaction::<T, Call<T>>::submit_transaction(xt) {
				Ok(()) => {
					log::info!(target: LOG_TARGET, "heartbeat of {node:?} for period {period} sent")
				},
				Err(()) => {
					log::warn!(target: LOG_TARGET, "heartbeat of {node:?} rejected by the pool")
				},
			}
		}
	}

	/// The pallet's invariants, checked after every test and by try-runtime:
	/// - the balance held under `HoldReason::Staking` equals each ledger's `active + unlocking`;
	/// - `TotalActive` is the sum of the ledgers' active stakes;
	/// - a ledger's active stake is zero or at least `MinStake`, unless it was slashed;
	/// - locks are within `MaxLockPeriods`, unbonding chunks within `UnbondingPeriods`;
	/// - every node has a ledger, its operator maps back to it, its keys map back to it, and
	///   `NodeCount` counts the nodes (at most `MaxNodes`);
	/// - no service record is older than `OldestServicePeriod`.
	#[cfg(any(feature = "std", feature = "try-runtime"))]
	pub fn do_try_state() -> Result<(), sp_runtime::TryRuntimeError> {
		let mut total = BalanceOf::<T>::zero();
		let horizon = Self::current_period().saturating_add(T::UnbondingPeriods::get());
		for (staker, ledger) in Ledgers::<T>::iter() {
			let unlocking = ledger
				.unlocking
				.iter()
				.fold(BalanceOf::<T>::zero(), |sum, chunk| sum.saturating_add(chunk.value));
			ensure!(
				asset::held::<T>(&staker) == ledger.active.saturating_add(unlocking),
				"held stake differs from the ledger"
			);
			ensure!(
				ledger.active.is_zero()
					|| ledger.active >= T::MinStake::get()
					|| !ledger.slashed.is_zero(),
				"active stake below MinStake"
			);
			ensure!(ledger.lock_periods <= T::MaxLockPeriods::get(), "lock beyond MaxLockPeriods");
			ensure!(
				ledger
					.unlocking
					.iter()
					.all(|c| c.withdrawable_at <= horizon && !c.value.is_zero()),
				"unbonding chunk out of bounds"
			);
			total.saturating_accrue(ledger.active);
		}
		ensure!(TotalActive::<T>::get() == total, "TotalActive differs from the ledgers");
		let mut nodes = 0u32;
		for (node, info) in Nodes::<T>::iter() {
			nodes.saturating_inc();
			ensure!(Ledgers::<T>::contains_key(&node), "node without a ledger");
			ensure!(Operators::<T>::get(&info.operator) == Some(node.clone()), "operator map");
			ensure!(!info.keys.is_empty(), "node without a key");
			for key in &info.keys {
				ensure!(KeyOwners::<T>::get(key) == Some(node.clone()), "key owner map");
			}
		}
		ensure!(NodeCount::<T>::get() == nodes, "NodeCount differs from the nodes");
		ensure!(nodes <= T::MaxNodes::get(), "more than MaxNodes nodes");
		ensure!(Operators::<T>::iter().count() as u32 == nodes, "stale operator");
		let oldest = OldestServicePeriod::<T>::get();
		ensure!(Service::<T>::iter_keys().all(|(p, _)| p >= oldest), "unpruned service record");
		Ok(())
	}
}

impl<T: Config> NodeStaking<T::AccountId, BalanceOf<T>> for Pallet<T> {
	type Credit = CreditOf<T>;

	fn current_period() -> Period {
		Pallet::<T>::current_period()
	}

	fn period_of(block: u64) -> Period {
		Pallet::<T>::period_of(block.saturated_into())
	}

	fn period_start(period: Period) -> u64 {
		BlockNumberFor::<T>::from(period)
			.saturating_mul(T::PeriodLength::get())
			.unique_saturated_into()
	}

	fn is_serving(node: &T::AccountId, period: Period) -> bool {
		Service::<T>::get(period, node).served()
	}

	fn record_missed_deadline(node: &T::AccountId, period: Period) {
		if period < OldestServicePeriod::<T>::get() {
			return;
		}
		Service::<T>::mutate(period, node, |record| {
			record.missed_deadlines.saturating_inc();
		});
		T::ServiceObserver::missed(node, period);
		Self::deposit_event(Event::DeadlineMissed { node: node.clone(), period });
	}

	fn stake_of(node: &T::AccountId) -> BalanceOf<T> {
		Ledgers::<T>::get(node).map(|ledger| ledger.active).unwrap_or_default()
	}

	fn held_stake(node: &T::AccountId) -> BalanceOf<T> {
		Ledgers::<T>::get(node).map(|ledger| ledger.held()).unwrap_or_default()
	}

	fn locked_until(node: &T::AccountId) -> Option<Period> {
		Ledgers::<T>::get(node)
			.map(|ledger| Self::current_period().saturating_add(ledger.lock_periods))
	}

	fn node_key(node: &T::AccountId, version: KeyVersion) -> Option<UmbralPublicKey> {
		Nodes::<T>::get(node)?.key(version)
	}

	fn current_key_version(node: &T::AccountId) -> Option<KeyVersion> {
		Nodes::<T>::get(node).map(|info| info.current_key_version())
	}

	fn operator_of(node: &T::AccountId) -> Option<T::AccountId> {
		Nodes::<T>::get(node).map(|info| info.operator)
	}

	fn node_of_operator(operator: &T::AccountId) -> Option<T::AccountId> {
		Operators::<T>::get(operator)
	}

	fn node_of_key(key: &UmbralPublicKey) -> Option<T::AccountId> {
		KeyOwners::<T>::get(key)
	}

	fn min_fee_rate(node: &T::AccountId) -> Option<BalanceOf<T>> {
		Nodes::<T>::get(node).map(|info| info.min_fee_rate)
	}

	fn is_eligible(node: &T::AccountId, end_period: Period) -> bool {
		Nodes::<T>::contains_key(node)
			&& Self::stake_of(node) >= T::MinStake::get()
			&& Self::locked_until(node).is_some_and(|until| until >= end_period)
			&& Self::serving_now(node)
	}

	fn eligible_nodes(end_period: Period) -> Vec<(T::AccountId, BalanceOf<T>)> {
		Nodes::<T>::iter_keys()
			.take(T::MaxNodes::get() as usize)
			.filter(|node| Self::is_eligible(node, end_period))
			.map(|node| {
				let stake = Self::stake_of(&node);
				(node, stake)
			})
			.collect()
	}

	fn slash(node: &T::AccountId, amount: BalanceOf<T>) -> CreditOf<T> {
		Self::do_slash(node, amount)
	}

	fn bond_extra(staker: &T::AccountId, amount: BalanceOf<T>) -> DispatchResult {
		Self::do_bond_extra(staker, amount)
	}

	#[cfg(feature = "runtime-benchmarks")]
	fn register_for_benchmark(node: &T::AccountId, operator: &T::AccountId, key: UmbralPublicKey) {
		use frame_support::traits::fungible::{Inspect as _, Mutate as _};
		let stake = T::MinStake::get().saturating_mul(10u32.into());
		T::Currency::set_balance(
			node,
			stake.saturating_mul(2u32.into()).saturating_add(T::Currency::minimum_balance()),
		);
		if let Err(error) = Self::do_bond(node, stake, T::MaxLockPeriods::get())
			.and_then(|()| Self::do_register_node(node, operator.clone(), key, Zero::zero(), None))
		{
			defensive!("benchmark node registration fails", error);
		}
	}

	#[cfg(feature = "runtime-benchmarks")]
	fn serve_for_benchmark(node: &T::AccountId, period: Period) {
		Service::<T>::insert(period, node, ServiceRecord { heartbeat: true, missed_deadlines: 0 });
		if let Some(ledger) = Ledgers::<T>::get(node) {
			T::ServiceObserver::served(node, period, ledger.active, ledger.lock_periods);
		}
	}
}
