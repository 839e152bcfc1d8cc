//! The pallet's declarations: configuration, storage, events, errors, hooks and the calls,
//! each of which checks its origin and hands over to the module of its concern (`judgement`).

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
		/// A challenger's deposit, for the length of its challenge.
		#[codec(index = 0)]
		ChallengeDeposit,
	}

	#[pallet::config]
	pub trait Config: frame_system::Config {
		/// The staking currency: deposits are held in it, penalties paid in it.
		type Currency: fungible::Inspect<Self::AccountId>
			+ fungible::Mutate<Self::AccountId>
			+ fungible::Balanced<Self::AccountId>
			+ fungible::MutateHold<Self::AccountId, Reason = Self::RuntimeHoldReason>
			+ fungible::hold::Balanced<Self::AccountId>;

		/// The runtime's hold reasons, of which [`HoldReason`] is one.
		type RuntimeHoldReason: From<HoldReason>;

		/// The staking side: stakes and slashing, nodes' operators.
		type Staking: StakeLedger<Self::AccountId, BalanceOf<Self>, Credit = CreditOf<Self>>
			+ NodeDirectory<Self::AccountId, BalanceOf<Self>>
			+ MaybeStakingBenchmarks<Self::AccountId>;

		/// The policy side: stored cfrags and the policies' keys.
		type Records: ReencryptionRecords<Self::AccountId>;

		/// Where the rest of a penalty and forfeited deposits go (a treasury, or dropped:
		/// burnt).
		type OnPenalty: OnUnbalanced<CreditOf<Self>>;

		/// The signature of an operator over a [`SignedCfrag`].
		type OffchainSignature: Verify<Signer = Self::SigningPublicKey> + Parameter;

		/// The public key behind an operator account.
		type SigningPublicKey: IdentifyAccount<AccountId = Self::AccountId>;

		/// What a challenger holds while its challenge is judged; forfeited if the cfrag is
		/// correct. At least the existential deposit.
		#[pallet::constant]
		type ChallengeDeposit: Get<BalanceOf<Self>>;

		/// The penalty of a first offence (before the cap).
		#[pallet::constant]
		type BasePenalty: Get<BalanceOf<Self>>;

		/// What each earlier penalty of the node adds to the next.
		#[pallet::constant]
		type PenaltyHistoryCoefficient: Get<BalanceOf<Self>>;

		/// The cap: a penalty is at most `stake / PercentagePenaltyCoefficient`. At least 1.
		#[pallet::constant]
		type PercentagePenaltyCoefficient: Get<u32>;

		/// The challenger's share: `penalty / RewardCoefficient`. At least 1.
		#[pallet::constant]
		type RewardCoefficient: Get<u32>;

		/// Weights of this pallet's calls, from its benchmarks.
		type WeightInfo: WeightInfo;
	}

	/// How many times each node was penalized.
	///
	/// Blake2 hashing: the key is an account.
	#[pallet::storage]
	pub type PriorPenalties<T: Config> =
		StorageMap<_, Blake2_128Concat, T::AccountId, u32, ValueQuery>;

	/// The spans each node was penalized in: later incorrect cfrags in them add nothing. One
	/// entry per penalty, which the penalized node paid for.
	///
	/// Blake2 hashing: an account, then an owner-chosen policy id.
	#[pallet::storage]
	pub type PenalizedSpans<T: Config> =
		StorageDoubleMap<_, Blake2_128Concat, T::AccountId, Blake2_128Concat, OffenceSpan, ()>;

	/// Every judged evidence, by the blake2-256 hash of the SCALE encoding of the node, the span
	/// and the evidence: never judged twice.
	///
	/// Identity hashing: the key is already a cryptographic hash.
	#[pallet::storage]
	pub type Judged<T: Config> =
		StorageMap<_, Identity, [u8; 32], Judgement<T::AccountId, BalanceOf<T>, BlockNumberFor<T>>>;

	#[pallet::event]
	#[pallet::generate_deposit(pub(crate) fn deposit_event)]
	pub enum Event<T: Config> {
		/// `node`'s cfrag was incorrect, its first in `span`: `penalty` was slashed, `reward`
		/// of it paid to `challenger`.
		NodePenalized {
			/// The node whose cfrag it was.
			node: T::AccountId,
			/// Who challenged it.
			challenger: T::AccountId,
			/// The policy version the offence counts in.
			span: OffenceSpan,
			/// What was wrong with the cfrag.
			verdict: Verdict,
			/// What was slashed from the node.
			penalty: BalanceOf<T>,
			/// What of it went to the challenger.
			reward: BalanceOf<T>,
			/// The hash of the evidence judged (the key of its judgement).
			evidence: [u8; 32],
		},
		/// `node`'s cfrag was incorrect, in a `span` it was already penalized in: one offence,
		/// no further penalty; `challenger` got its deposit back.
		OffenceAlreadyPenalized {
			/// The node whose cfrag it was.
			node: T::AccountId,
			/// Who challenged it.
			challenger: T::AccountId,
			/// The policy version the offence counts in.
			span: OffenceSpan,
			/// What was wrong with the cfrag.
			verdict: Verdict,
			/// The hash of the evidence judged (the key of its judgement).
			evidence: [u8; 32],
		},
		/// `node`'s cfrag was correct: `challenger` forfeited its `deposit`.
		ChallengeFailed {
			/// The node whose cfrag it was.
			node: T::AccountId,
			/// Who challenged it.
			challenger: T::AccountId,
			/// The deposit the challenger forfeited.
			deposit: BalanceOf<T>,
			/// The hash of the evidence judged (the key of its judgement).
			evidence: [u8; 32],
		},
	}

	#[pallet::error]
	pub enum Error<T> {
		/// No retained answer of this node to this request has a cfrag at this index.
		UnknownCfrag,
		/// The policy is not active, its current version is not this one, or the node is not
		/// among its nodes that accepted it.
		UnknownPolicyVersion,
		/// The node is not registered: its signature cannot be checked.
		UnknownNode,
		/// The signature is not the node operator's over the evidence.
		BadSignature,
		/// The capsule of the evidence is not a valid capsule: there is nothing to judge.
		MalformedCapsule,
		/// A policy key is not a valid point (cannot happen for stored policies).
		MalformedKey,
		/// This evidence was judged already.
		AlreadyJudged,
		/// The challenger cannot hold the deposit.
		InsufficientDeposit,
	}

	#[pallet::hooks]
	impl<T: Config> Hooks<BlockNumberFor<T>> for Pallet<T> {
		fn integrity_test() {
			assert!(T::PercentagePenaltyCoefficient::get() >= 1, "the cap divides by it");
			assert!(T::RewardCoefficient::get() >= 1, "the reward divides by it");
			assert!(
				T::ChallengeDeposit::get()
					>= <T::Currency as fungible::Inspect<_>>::minimum_balance(),
				"a deposit must be holdable"
			);
			assert!(!T::BasePenalty::get().is_zero(), "a wrong answer must cost something");
		}

		#[cfg(feature = "try-runtime")]
		fn try_state(_n: BlockNumberFor<T>) -> Result<(), sp_runtime::TryRuntimeError> {
			Self::do_try_state()
		}
	}

	#[pallet::call(weight = <T as Config>::WeightInfo)]
	impl<T: Config> Pallet<T> {
		/// Challenge `node`'s stored cfrag for capsule `capsule_index` of `request`. Holds
		/// `ChallengeDeposit` from the caller while the runtime verifies the cfrag; slashes
		/// the node and rewards the caller if it is incorrect, forfeits the deposit if not.
		/// Signed by anyone. Emits `NodePenalized` or `ChallengeFailed`.
		#[pallet::call_index(0)]
		pub fn challenge_cfrag(
			origin: OriginFor<T>,
			request: RequestId,
			node: T::AccountId,
			capsule_index: u32,
		) -> DispatchResult {
			let challenger = ensure_signed(origin)?;
			Self::do_challenge_stored(challenger, request, node, capsule_index)
		}

		/// Challenge a cfrag `node` served off chain and signed with its operator key
		/// (`signature` over [`SignedCfrag::signing_payload`] with this chain's genesis hash),
		/// under the policy's current
		/// version. The signature is checked first, then the cfrag as for
		/// `challenge_cfrag`. Signed by anyone. Emits `NodePenalized` or `ChallengeFailed`.
		#[pallet::call_index(1)]
		pub fn challenge_signed_cfrag(
			origin: OriginFor<T>,
			evidence: SignedCfragOf<T>,
			signature: T::OffchainSignature,
		) -> DispatchResult {
			let challenger = ensure_signed(origin)?;
			Self::do_challenge_signed(challenger, evidence, signature)
		}
	}
}
