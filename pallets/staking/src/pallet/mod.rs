//! The pallet's declarations: configuration, storage, events, errors, hooks and the calls,
//! each of which checks its origin and hands over to the module of its concern (`bonding`,
//! `nodes`, `service`).

#[frame_support::pallet]
pub mod pallet {
	use crate::*;

	/// The version of this pallet's storage layout, for migrations.
	const STORAGE_VERSION: StorageVersion = StorageVersion::new(0);

	#[pallet::pallet]
	#[pallet::storage_version(STORAGE_VERSION)]
	pub struct Pallet<T>(_);

	/// Why this pallet holds funds.
	#[pallet::composite_enum]
	pub enum HoldReason {
		/// Bonded stake (active or unbonding): slashable until withdrawn.
		#[codec(index = 0)]
		Staking,
	}

	/// Defaults for test runtimes: `#[derive_impl(config_preludes::TestDefaultConfig)]` on a
	/// mock's `impl Config` fills in everything but the currency and the policy registry, and
	/// the mock overrides what its tests depend on.
	pub mod config_preludes {
		use super::*;
		use frame_support::derive_impl;

		/// Small bounds and short periods (10 blocks of a `u64`-numbered test chain).
		pub struct TestDefaultConfig;

		#[derive_impl(frame_system::config_preludes::TestDefaultConfig, no_aggregated_types)]
		impl frame_system::DefaultConfig for TestDefaultConfig {}

		#[frame_support::register_default_impl(TestDefaultConfig)]
		impl DefaultConfig for TestDefaultConfig {
			#[inject_runtime_type]
			type RuntimeHoldReason = ();
			type ServiceObserver = ();
			type PeriodLength = frame_support::traits::ConstU64<10>;
			type MinStake = frame_support::traits::ConstU128<1_000>;
			type MinLockPeriods = frame_support::traits::ConstU32<2>;
			type MaxLockPeriods = frame_support::traits::ConstU32<100>;
			type UnbondingPeriods = frame_support::traits::ConstU32<2>;
			type MaxUnlockingChunks = frame_support::traits::ConstU32<3>;
			type MaxKeyHistory = frame_support::traits::ConstU32<3>;
			type MaxNodes = frame_support::traits::ConstU32<16>;
			type HistoryDepth = frame_support::traits::ConstU32<6>;
			type HeartbeatPriority = frame_support::traits::ConstU64<{ 1 << 20 }>;
			type WeightInfo = ();
		}
	}

	#[pallet::config(with_default)]
	pub trait Config:
		frame_system::Config
		+ SigningTypes<Signature: Verify<Signer = <Self as SigningTypes>::Public>>
		+ CreateAuthorizedTransaction<Call<Self>>
	{
		/// The staking currency. Stakes sit on its holds; slashes come out of them.
		#[pallet::no_default]
		type Currency: fungible::Inspect<Self::AccountId>
			+ fungible::Mutate<Self::AccountId>
			+ fungible::InspectHold<Self::AccountId>
			+ fungible::MutateHold<Self::AccountId, Reason = Self::RuntimeHoldReason>
			+ fungible::hold::Balanced<Self::AccountId>;

		/// The runtime's hold reasons, of which [`HoldReason`] is one.
		#[pallet::no_default_bounds]
		type RuntimeHoldReason: From<HoldReason>;

		/// The operator key (in the node's keystore) that signs heartbeats. Its public key,
		/// as an account, is the operator account.
		#[pallet::no_default]
		type OperatorCrypto: AppCrypto<Self::Public, Self::Signature>;

		/// What the policy side says about nodes and keys still in use.
		#[pallet::no_default]
		type Policies: PolicyRegistry<Self::AccountId>;

		/// Told of every node that starts serving a period and of every missed deadline (the
		/// rewards side's per-period serving stake).
		#[pallet::no_default_bounds]
		type ServiceObserver: ServiceObserver<Self::AccountId, BalanceOf<Self>>;

		/// Blocks in a period. Every period-based quantity (locks, unbonding, fees, rewards)
		/// is counted in these. Must be at least 1.
		#[pallet::constant]
		#[pallet::no_default_bounds]
		type PeriodLength: Get<BlockNumberFor<Self>>;

		/// The smallest active stake a ledger may have (except zero, when leaving) and a node
		/// needs to be eligible. Must be at least the currency's existential deposit.
		#[pallet::constant]
		#[pallet::no_default_bounds]
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

	/// The fast-path endpoint each node publishes (`set_endpoint`), where its `kms_reencrypt`
	/// JSON-RPC answers. At most one per registered node, removed when the node unregisters.
	///
	/// Blake2 hashing: the key is an account anyone may choose.
	#[pallet::storage]
	pub type Endpoints<T: Config> = StorageMap<_, Blake2_128Concat, T::AccountId, Endpoint>;

	#[pallet::genesis_config]
	#[derive(frame_support::DefaultNoBound)]
	pub struct GenesisConfig<T: Config> {
		/// Initial stakers with their nodes: `(staker, operator, umbral public key (33
		/// bytes), stake, lock periods)`. The stakers must be funded by the balances genesis.
		pub stakers: Vec<(T::AccountId, T::AccountId, Vec<u8>, BalanceOf<T>, Period)>,
		/// Fast-path endpoints of genesis nodes: `(staker, URL)`, as `set_endpoint` takes them.
		pub endpoints: Vec<(T::AccountId, Vec<u8>)>,
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
			for (node, url) in &self.endpoints {
				let url = BoundedVec::try_from(url.clone())
					.unwrap_or_else(|_| panic!("genesis: endpoint of {node:?} is too long"));
				Pallet::<T>::do_set_endpoint(node.clone(), Some(url))
					.unwrap_or_else(|e| panic!("genesis: endpoint of {node:?} fails: {e:?}"));
			}
		}
	}

	#[pallet::event]
	#[pallet::generate_deposit(pub(crate) fn deposit_event)]
	pub enum Event<T: Config> {
		/// `staker` bonded `value`, locked for `lock_periods` served periods.
		Bonded {
			/// The staker (its account identifies its node).
			staker: T::AccountId,
			/// The amount.
			value: BalanceOf<T>,
			/// The lock, in served periods, now.
			lock_periods: Period,
		},
		/// `staker` added `value` to its active stake.
		BondedExtra {
			/// The staker (its account identifies its node).
			staker: T::AccountId,
			/// The amount.
			value: BalanceOf<T>,
		},
		/// `staker`'s lock is now `lock_periods` served periods.
		LockProlonged {
			/// The staker (its account identifies its node).
			staker: T::AccountId,
			/// The lock, in served periods, now.
			lock_periods: Period,
		},
		/// `staker` turned wind-down on or off.
		WindDownSet {
			/// The staker (its account identifies its node).
			staker: T::AccountId,
			/// On or off.
			enabled: bool,
		},
		/// `staker` unbonded `value`, withdrawable from `withdrawable_at`.
		Unbonded {
			/// The staker (its account identifies its node).
			staker: T::AccountId,
			/// The amount.
			value: BalanceOf<T>,
			/// The first period in which it can be withdrawn.
			withdrawable_at: Period,
		},
		/// `staker` withdrew `value` to its free balance.
		Withdrawn {
			/// The staker (its account identifies its node).
			staker: T::AccountId,
			/// The amount.
			value: BalanceOf<T>,
		},
		/// `staker` registered a node operated by `operator`, with Umbral key `key` (version 0).
		NodeRegistered {
			/// The staker (its account identifies its node).
			staker: T::AccountId,
			/// The operator account that signs for the node.
			operator: T::AccountId,
			/// The node's Umbral public key (version 0).
			key: UmbralPublicKey,
		},
		/// `node` rotated to Umbral key `key`, of version `version`.
		NodeKeyRotated {
			/// The node (its staker's account).
			node: T::AccountId,
			/// The new Umbral public key.
			key: UmbralPublicKey,
			/// Its version.
			version: KeyVersion,
		},
		/// `node` now accepts fee rates from `rate` per period.
		MinFeeRateSet {
			/// The node (its staker's account).
			node: T::AccountId,
			/// The smallest fee per period it accepts.
			rate: BalanceOf<T>,
		},
		/// `node` published `endpoint` for its fast path, or withdrew it (`None`).
		EndpointSet {
			/// The node (its staker's account).
			node: T::AccountId,
			/// Where its `kms_reencrypt` JSON-RPC answers, if anywhere.
			endpoint: Option<Endpoint>,
		},
		/// `node` left the network.
		NodeUnregistered {
			/// The node (its staker's account).
			node: T::AccountId,
		},
		/// `node` heartbeated in `period`; its lock is now `lock_periods`.
		HeartbeatReceived {
			/// The node (its staker's account).
			node: T::AccountId,
			/// The period it heartbeated in.
			period: Period,
			/// The lock, in served periods, now.
			lock_periods: Period,
		},
		/// `node` let a request deadline in `period` pass.
		DeadlineMissed {
			/// The node (its staker's account).
			node: T::AccountId,
			/// The period of the deadline.
			period: Period,
		},
		/// `amount` was slashed from `staker`'s stake.
		Slashed {
			/// The staker (its account identifies its node).
			staker: T::AccountId,
			/// What was taken from the stake.
			amount: BalanceOf<T>,
		},
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
		/// The endpoint is not a `ws://`, `wss://`, `http://` or `https://` URL in printable ASCII
		/// without spaces, of at most 128 bytes.
		InvalidEndpoint,
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
			Self::do_prolong(staker, extra_periods)
		}

		/// Turn wind-down on (the lock shrinks by one per served period) or off (it stays).
		/// Signed by a staker. Emits `WindDownSet`.
		#[pallet::call_index(3)]
		pub fn set_wind_down(origin: OriginFor<T>, enabled: bool) -> DispatchResult {
			let staker = ensure_signed(origin)?;
			Self::do_set_wind_down(staker, enabled)
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
			Self::do_unbond(staker, value)
		}

		/// Release every unbonding chunk whose period has come. A ledger left empty, of a
		/// staker without a node, is removed. Signed by a staker. Emits `Withdrawn`.
		#[pallet::call_index(5)]
		pub fn withdraw_unbonded(origin: OriginFor<T>) -> DispatchResult {
			let staker = ensure_signed(origin)?;
			Self::do_withdraw_unbonded(staker)
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
			Self::do_rotate_node_key(node, new_key, &proof)
		}

		/// Set the smallest fee rate per period the caller's node accepts for new policies.
		/// Signed by the node's staker. Emits `MinFeeRateSet`.
		#[pallet::call_index(8)]
		pub fn set_min_fee_rate(origin: OriginFor<T>, rate: BalanceOf<T>) -> DispatchResult {
			let node = ensure_signed(origin)?;
			Self::do_set_min_fee_rate(node, rate)
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
			Self::do_chill_other(&node)
		}

		/// Publish where the caller's node answers fast-path requests (its public JSON-RPC,
		/// which serves `kms_reencrypt`), or withdraw it with `None`. Clients find the nodes of
		/// a policy here. `endpoint` is a `ws://`, `wss://`, `http://` or `https://` URL in
		/// printable ASCII, at most 128 bytes. Signed by the node's staker. Emits `EndpointSet`.
		#[pallet::call_index(12)]
		pub fn set_endpoint(
			origin: OriginFor<T>,
			endpoint: Option<BoundedVec<u8, ConstU32<MAX_ENDPOINT_LEN>>>,
		) -> DispatchResult {
			let node = ensure_signed(origin)?;
			Self::do_set_endpoint(node, endpoint)
		}
	}
}
