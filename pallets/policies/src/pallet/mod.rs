//! The pallet's declarations: configuration, storage, events, errors, hooks and the calls,
//! each of which checks its origin and hands over to the module of its concern (`grants`,
//! `requests`, `fees`).

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
		/// Fees of the owner's policies not yet paid out or refunded.
		#[codec(index = 0)]
		Escrow,
		/// A requester's pay-per-access payments for requests not yet settled: paid when the
		/// request is fulfilled, refunded when it fails or is cancelled.
		#[codec(index = 1)]
		AccessPayment,
		/// A requester's deposit for the storage its retained request may take (its capsules
		/// and every node's cfrags), released when the request is pruned.
		#[codec(index = 2)]
		RequestDeposit,
		/// An owner's deposit for the storage its policy takes (its record and, while it is
		/// live, every node's kfrag envelope and fee share), released by `remove_policy`.
		#[codec(index = 3)]
		PolicyDeposit,
	}

	#[pallet::config]
	pub trait Config:
		frame_system::Config + SigningTypes + CreateAuthorizedTransaction<Call<Self>>
	{
		/// The fee currency. Escrows sit on its holds.
		type Currency: fungible::Inspect<Self::AccountId>
			+ fungible::Mutate<Self::AccountId>
			+ fungible::InspectHold<Self::AccountId>
			+ fungible::MutateHold<Self::AccountId, Reason = Self::RuntimeHoldReason>;

		/// The runtime's hold reasons, of which [`HoldReason`] is one.
		type RuntimeHoldReason: From<HoldReason>;

		/// The staking side: periods, nodes' keys and operators, service and eligibility.
		type Staking: StakingPeriods<BlockNumberFor<Self>>
			+ NodeDirectory<Self::AccountId, BalanceOf<Self>>
			+ NodeService<Self::AccountId, BalanceOf<Self>>
			+ MaybeStakingBenchmarks<Self::AccountId>;

		/// The operator key that signs responses (the staking pallet's operator key).
		type OperatorCrypto: AppCrypto<Self::Public, Self::Signature>;

		/// The most nodes of a policy (`N`). Also bounds a request's answers.
		#[pallet::constant]
		type MaxNodes: Get<u32>;

		/// The longest label, in bytes.
		#[pallet::constant]
		type MaxLabelLen: Get<u32>;

		/// The most nodes of a condition tree.
		#[pallet::constant]
		type MaxConditionNodes: Get<u32>;

		/// The deepest condition tree (a single leaf has depth 1).
		#[pallet::constant]
		type MaxConditionDepth: Get<u32>;

		/// The most capsules of a request.
		#[pallet::constant]
		type MaxCapsules: Get<u32>;

		/// The most requests per block: bounds the deadline work of the block after their
		/// deadline (`MaxRequestsPerBlock × MaxNodes` missed-deadline records), and a node's
		/// work per block: `integrity_test` checks that its worker re-encrypts a block's worth
		/// of the largest requests in at most half a block's compute.
		#[pallet::constant]
		type MaxRequestsPerBlock: Get<u32>;

		/// The most requests one account may make in a block, and the most one policy may take
		/// in a block: nobody takes every request slot of a block from other readers and
		/// policies (at most `MaxRequestsPerBlock`).
		#[pallet::constant]
		type MaxRequestsPerRequester: Get<u32>;

		/// The most requests one policy may take in a block (see `MaxRequestsPerRequester`).
		#[pallet::constant]
		type MaxRequestsPerPolicy: Get<u32>;

		/// The smallest fee rate (per node per period) a policy may have.
		#[pallet::constant]
		type MinFeeRate: Get<BalanceOf<Self>>;

		/// The largest fee rate a policy may have. At least `MinFeeRate`.
		#[pallet::constant]
		type MaxFeeRate: Get<BalanceOf<Self>>;

		/// Blocks nodes have to answer a request: the deadline is `now + ResponseWindow`.
		/// At least 1; shorter than a period, so that a missed deadline falls in the period
		/// after the request at the latest.
		#[pallet::constant]
		type ResponseWindow: Get<BlockNumberFor<Self>>;

		/// Blocks a request and its cfrags are kept after its deadline. At least 1.
		#[pallet::constant]
		type RetentionPeriod: Get<BlockNumberFor<Self>>;

		/// The most periods one `claim_fees` settles, and one `settle_policy` per node.
		#[pallet::constant]
		type MaxClaimPeriods: Get<u32>;

		/// Priority of authorized responses in the pool, at their first attempt (each later
		/// one ranks a step higher); decisions rank below it, `2³²` lower and up. At least
		/// `2³²`, so that decisions have room below answers.
		#[pallet::constant]
		type ResponsePriority: Get<TransactionPriority>;

		/// Held per byte a request or policy may keep in storage, until the request is pruned
		/// ([`Pallet::request_deposit`]) or the policy removed ([`Pallet::policy_deposit`]).
		#[pallet::constant]
		type DepositPerByte: Get<BalanceOf<Self>>;

		/// The floor of the price a request burns for its slot in a block
		/// ([`RequestPrice`]). The price rises by up to an eighth after each block with more
		/// requests than half of `MaxRequestsPerBlock`, and falls as fast after emptier ones.
		#[pallet::constant]
		type MinRequestPrice: Get<BalanceOf<Self>>;

		/// Weights of this pallet's calls, from its benchmarks.
		type WeightInfo: WeightInfo;
	}

	/// Every policy not removed, by id: ended policies stay, without their kfrags, until
	/// their owner removes them (`remove_policy`). Paid for by the owner's deposit in
	/// [`PolicyDeposits`].
	///
	/// Blake2 hashing: the owner chooses the id.
	#[pallet::storage]
	pub type Policies<T: Config> = StorageMap<_, Blake2_128Concat, PolicyId, PolicyOf<T>>;

	/// The storage deposit each policy holds on its owner's account
	/// ([`Pallet::policy_deposit`]): follows the policy's size through rotations, released
	/// when it is removed.
	///
	/// Blake2 hashing: the owner chooses the id.
	#[pallet::storage]
	pub type PolicyDeposits<T: Config> =
		StorageMap<_, Blake2_128Concat, PolicyId, BalanceOf<T>, OptionQuery>;

	/// The ids of removed policies: ids are never reused (judged offences are counted by
	/// policy id and version). Paid for by the part of the policy's deposit `remove_policy`
	/// burns ([`Pallet::RETIRED_BYTES`] bytes' worth).
	///
	/// Blake2 hashing: the owner chose the id.
	#[pallet::storage]
	pub type RetiredPolicies<T: Config> =
		StorageMap<_, Blake2_128Concat, PolicyId, (), OptionQuery>;

	/// The encrypted kfrag of each node of each active policy (current version). Bounded in
	/// time (dropped when the policy closes) and paid for by the policy's deposit.
	///
	/// Blake2 hashing: owner-chosen id, then an account.
	#[pallet::storage]
	pub type KFrags<T: Config> = StorageDoubleMap<
		_,
		Blake2_128Concat,
		PolicyId,
		Blake2_128Concat,
		T::AccountId,
		EncryptedKFrag,
	>;

	/// Each node's unsettled fee share of each policy. Removed once settled; paid for by the
	/// policy's deposit.
	///
	/// Blake2 hashing: owner-chosen id, then an account.
	#[pallet::storage]
	pub type FeeShares<T: Config> =
		StorageDoubleMap<_, Blake2_128Concat, PolicyId, Blake2_128Concat, T::AccountId, FeeShare>;

	/// The policies of each owner (for paging through them). Removed with the policy; paid for
	/// by its deposit.
	///
	/// Blake2 hashing: an account, then an owner-chosen id.
	#[pallet::storage]
	pub type OwnerPolicies<T: Config> =
		StorageDoubleMap<_, Blake2_128Concat, T::AccountId, Blake2_128Concat, PolicyId, ()>;

	/// How many active policies use each node's key of each version: what the staking pallet
	/// asks before a node leaves or drops a key. An entry exists while a count is not zero, so
	/// at most one per node key the policies' deposits pay for.
	///
	/// Blake2 for the account; Twox64 for the version (small, not chosen freely).
	#[pallet::storage]
	pub type KeyUsage<T: Config> = StorageDoubleMap<
		_,
		Blake2_128Concat,
		T::AccountId,
		Twox64Concat,
		KeyVersion,
		u32,
		ValueQuery,
	>;

	/// The policy versions each node has yet to decide on (accept or decline): its worker's
	/// list of work. An entry exists exactly while the node is pending in the current version
	/// of an active policy; it goes with the decision, a rotation or the policy's end (paid
	/// for by the policy's deposit meanwhile).
	///
	/// Blake2 hashing: an account, then an owner-chosen id.
	#[pallet::storage]
	pub type PendingDecisions<T: Config> = StorageDoubleMap<
		_,
		Blake2_128Concat,
		T::AccountId,
		Blake2_128Concat,
		PolicyId,
		PolicyVersion,
	>;

	/// Retained requests, by id. Bounded in time (pruned `RetentionPeriod` blocks after their
	/// deadline) and paid for by their deposits in [`RequestDeposits`].
	///
	/// Twox64 hashing: ids are a counter.
	#[pallet::storage]
	pub type Requests<T: Config> = StorageMap<_, Twox64Concat, RequestId, RequestOf<T>>;

	/// The id of the next request.
	#[pallet::storage]
	pub type NextRequestId<T: Config> = StorageValue<_, RequestId, ValueQuery>;

	/// The oldest request id not pruned yet.
	#[pallet::storage]
	pub type OldestRequest<T: Config> = StorageValue<_, RequestId, ValueQuery>;

	/// Each node's cfrags for each retained request: pruned with it and paid for by its
	/// deposit.
	///
	/// Twox64 for the request (a counter; lets a request's answers be cleared by prefix),
	/// Blake2 for the node.
	#[pallet::storage]
	pub type Responses<T: Config> =
		StorageDoubleMap<_, Twox64Concat, RequestId, Blake2_128Concat, T::AccountId, CfragsOf<T>>;

	/// The requests whose deadline is each block, processed (and removed) at the block after
	/// it: at most `ResponseWindow + 1` entries of `MaxRequestsPerBlock` ids.
	///
	/// Twox64 hashing: block numbers are not chosen by users.
	#[pallet::storage]
	pub type Deadlines<T: Config> = StorageMap<
		_,
		Twox64Concat,
		BlockNumberFor<T>,
		BoundedVec<RequestId, T::MaxRequestsPerBlock>,
		ValueQuery,
	>;

	/// What each paid request holds on its requester's account for its `PayPerAccess`
	/// payments, until the answer that fulfils it pays them, or the block after its deadline
	/// refunds them. Bounded in time: at most `MaxRequestsPerBlock × (ResponseWindow + 1)`
	/// entries.
	///
	/// Twox64 hashing: request ids are a counter.
	#[pallet::storage]
	pub type AccessPayments<T: Config> =
		StorageMap<_, Twox64Concat, RequestId, BalanceOf<T>, OptionQuery>;

	/// Each retained request's storage deposit, held on its requester's account until the
	/// request is pruned: bounded in time like the requests.
	///
	/// Twox64 hashing: request ids are a counter.
	#[pallet::storage]
	pub type RequestDeposits<T: Config> =
		StorageMap<_, Twox64Concat, RequestId, BalanceOf<T>, OptionQuery>;

	/// How many requests each requester and each policy made in the block `BlockLoad.block`:
	/// one value, replaced by the first request of a later block (so at most
	/// `MaxRequestsPerBlock` entries of each, and nothing to prune).
	#[pallet::storage]
	pub type RequestLoad<T: Config> = StorageValue<_, BlockLoadOf<T>, OptionQuery>;

	/// What a request made in this block burns for its slot, above `MinRequestPrice`
	/// (absent: the floor). Set at the start of each block from the number of requests in the
	/// block before, against a target of half of `MaxRequestsPerBlock`, as EIP-1559 sets its
	/// base fee: holding most request slots block after block gets exponentially dearer, and
	/// the price falls back as soon as the load does. Read it with [`Pallet::request_price`].
	#[pallet::storage]
	pub type RequestPrice<T: Config> = StorageValue<_, BalanceOf<T>, OptionQuery>;

	#[pallet::event]
	#[pallet::generate_deposit(pub(crate) fn deposit_event)]
	pub enum Event<T: Config> {
		/// `owner` created policy `id` with `nodes` nodes and threshold `threshold`, ending at
		/// block `end`, escrowing `escrowed`.
		PolicyCreated {
			/// The policy.
			id: PolicyId,
			/// Its owner.
			owner: T::AccountId,
			/// How many cfrags open a capsule.
			threshold: u32,
			/// How many nodes it names.
			nodes: u32,
			/// Its end: the first block after it.
			end: BlockNumberFor<T>,
			/// What the owner put in escrow.
			escrowed: BalanceOf<T>,
		},
		/// The owner revoked policy `id`; `refunded` went back to it. Nodes drop its kfrags.
		PolicyRevoked {
			/// The policy.
			id: PolicyId,
			/// What went back to the owner.
			refunded: BalanceOf<T>,
		},
		/// The owner rotated policy `id` to `version`, escrowing `escrowed` more and getting
		/// `refunded` back. Nodes drop the kfrags of the previous version.
		PolicyRotated {
			/// The policy.
			id: PolicyId,
			/// The new version.
			version: PolicyVersion,
			/// What the owner added to the escrow.
			escrowed: BalanceOf<T>,
			/// What went back to the owner.
			refunded: BalanceOf<T>,
		},
		/// Policy `id` ended and its kfrags were dropped; its fees settle by claims.
		PolicyExpired {
			/// The policy.
			id: PolicyId,
		},
		/// Policy `id` was removed from storage: its id stays taken, and `released` of its
		/// deposit went back to its owner.
		PolicyRemoved {
			/// The policy.
			id: PolicyId,
			/// What of the deposit went back to the owner.
			released: BalanceOf<T>,
		},
		/// `node` checked its kfrag of policy `id` at `version` and serves it.
		PolicyAccepted {
			/// The policy.
			id: PolicyId,
			/// The policy's version.
			version: PolicyVersion,
			/// The node (its staker's account).
			node: T::AccountId,
		},
		/// `node` declined policy `id` at `version` because of `reason` and left it; `refunded`
		/// of its share went back to the owner.
		PolicyDeclined {
			/// The policy.
			id: PolicyId,
			/// The policy's version.
			version: PolicyVersion,
			/// The node (its staker's account).
			node: T::AccountId,
			/// Why.
			reason: DeclineReason,
			/// What went back to the owner.
			refunded: BalanceOf<T>,
		},
		/// The threshold of nodes accepted policy `id` at `version`: it takes requests.
		PolicyReady {
			/// The policy.
			id: PolicyId,
			/// The policy's version.
			version: PolicyVersion,
		},
		/// `requester` asked for re-encryption of `capsules` capsules under `policy` (at
		/// `version`), burning `price` for its slot; nodes answer until block `deadline`.
		ReencryptionRequested {
			/// The request.
			request: RequestId,
			/// The policy.
			policy: PolicyId,
			/// The policy's version it is under.
			version: PolicyVersion,
			/// Who asked.
			requester: T::AccountId,
			/// How many capsules it carries.
			capsules: u32,
			/// The last block in which nodes may answer.
			deadline: BlockNumberFor<T>,
			/// What its slot cost (burned).
			price: BalanceOf<T>,
		},
		/// `requester` paid `amount` to `to` for access to `policy`: its request was just
		/// fulfilled (paid from what the request held).
		AccessPaid {
			/// The policy.
			policy: PolicyId,
			/// Who asked.
			requester: T::AccountId,
			/// Who was paid.
			to: T::AccountId,
			/// How much.
			amount: BalanceOf<T>,
		},
		/// `request` held `amount` of `requester`'s balance for its access payments until it
		/// is settled.
		AccessPaymentHeld {
			/// The request.
			request: RequestId,
			/// Who asked.
			requester: T::AccountId,
			/// What is held.
			amount: BalanceOf<T>,
		},
		/// `request` failed or was cancelled: the `amount` it held returned to `requester`.
		AccessRefunded {
			/// The request.
			request: RequestId,
			/// Who asked.
			requester: T::AccountId,
			/// What went back.
			amount: BalanceOf<T>,
		},
		/// `requester` asked the nodes of `policy` (at `version`) to re-encrypt `capsules`
		/// capsules off chain, over their fast path, and was granted access: the access log's
		/// entry for what the nodes answer directly. `paid` went to the policy's
		/// `PayPerAccess` payees (each payment is announced by `AccessPaid`).
		DirectReencryptionRequested {
			/// The policy.
			policy: PolicyId,
			/// The policy's version it is under.
			version: PolicyVersion,
			/// Who asked.
			requester: T::AccountId,
			/// How many capsules it carries.
			capsules: u32,
			/// What it paid for access.
			paid: BalanceOf<T>,
		},
		/// `requester`'s direct request under `policy` landed after access was denied, for
		/// `reason` (a node answers only requests granted at its best block, so this logs a
		/// request that a node may have answered just before the state changed).
		DirectReencryptionRefused {
			/// The policy.
			policy: PolicyId,
			/// Who asked.
			requester: T::AccountId,
			/// Why access was denied.
			reason: AccessDenied,
		},
		/// `node` answered `request` with its cfrags.
		CfragsSubmitted {
			/// The request.
			request: RequestId,
			/// The node (its staker's account).
			node: T::AccountId,
		},
		/// `request` has the threshold of answers: the requester can decrypt.
		RequestFulfilled {
			/// The request.
			request: RequestId,
			/// The policy.
			policy: PolicyId,
		},
		/// `request`'s deadline passed with `answers` answers, fewer than the threshold.
		RequestFailed {
			/// The request.
			request: RequestId,
			/// How many nodes answered.
			answers: u32,
		},
		/// `node`'s share of `policy` was settled for `periods` periods: `paid` to the node,
		/// `refunded` to the owner.
		FeesSettled {
			/// The policy.
			policy: PolicyId,
			/// The node (its staker's account).
			node: T::AccountId,
			/// How many periods were settled.
			periods: u32,
			/// What went to the node.
			paid: BalanceOf<T>,
			/// What went back to the owner.
			refunded: BalanceOf<T>,
		},
	}

	#[pallet::error]
	pub enum Error<T> {
		/// A policy with this id exists or existed: ids are never reused.
		PolicyIdInUse,
		/// The owner cannot pay the policy's storage deposit (`policy_deposit`).
		CannotPayPolicyDeposit,
		/// Only a revoked or expired policy can be removed (`settle_policy` closes an ended
		/// one).
		PolicyNotClosed,
		/// The policy has fee shares to settle first (`settle_policy`).
		PolicyUnsettled,
		/// Requests under the policy are still retained: it can be removed once they are pruned,
		/// `RetentionPeriod` blocks after their deadlines.
		RequestsRetained,
		/// No policy has this id.
		UnknownPolicy,
		/// Only the policy's owner may do this.
		NotOwner,
		/// The policy was revoked: it accepts no more requests.
		PolicyRevoked,
		/// The policy has ended.
		PolicyExpired,
		/// The policy is still active, or its last requests are still being answered: it can be
		/// settled `ResponseWindow` blocks after its end, or once revoked.
		PolicyStillActive,
		/// The end block is not in the future.
		EndInPast,
		/// The fee rate is outside `[MinFeeRate, MaxFeeRate]`.
		FeeRateOutOfRange,
		/// The fee rate is below a chosen node's own minimum.
		FeeRateBelowNodeMinimum,
		/// The threshold must be at least 1 and at most the number of nodes.
		InvalidThreshold,
		/// A policy needs at least one node.
		NoNodes,
		/// The same node is listed twice.
		DuplicateNode,
		/// A node is not eligible: not registered, not serving, stake below the minimum, or its
		/// lock does not cover the policy's end.
		NodeNotEligible,
		/// The key version is not the node's current Umbral key: seal the kfrag to its current key.
		UnknownNodeKey,
		/// The delegating key is not a compressed secp256k1 point.
		InvalidDelegatingKey,
		/// The verifying key is not a compressed secp256k1 point.
		InvalidVerifyingKey,
		/// The policy's terms are not signed by its verifying key (the signer that made the
		/// kfrags): only that signer's holder grants them, for the calling account.
		GrantNotSigned,
		/// The receiving key is not a compressed secp256k1 point.
		InvalidReceivingKey,
		/// An encrypted kfrag's capsule is not `CAPSULE_LEN` bytes.
		InvalidKFragCapsuleLength,
		/// An encrypted kfrag's capsule is not a valid umbral-pre capsule.
		MalformedKFragCapsule,
		/// An encrypted kfrag's ciphertext is not `ENCRYPTED_KFRAG_LEN` bytes.
		InvalidKFragLength,
		/// The condition tree is not exactly one well-formed tree (or `All`/`Any` of zero).
		MalformedConditions,
		/// The condition tree is deeper than `MaxConditionDepth`.
		ConditionsTooDeep,
		/// A `PayPerAccess` condition under `Any` or `Not`: a payment must be certain.
		ConditionalPayment,
		/// The fees overflow the balance type.
		FeeOverflow,
		/// The owner's free balance does not cover the fees.
		InsufficientBalance,
		/// A node that left this policy by rotation has unsettled periods that do not adjoin
		/// its new share: settle them (`claim_fees`) first.
		ShareUnsettled,
		/// A `NotBefore` condition: too early.
		TooEarly,
		/// A `NotAfter` condition: too late.
		TooLate,
		/// A `RequesterIs` condition: another requester.
		WrongRequester,
		/// A `MinBalance` condition: the requester's balance is too low.
		BalanceTooLow,
		/// A `PayPerAccess` condition: the requester cannot pay.
		CannotPayForAccess,
		/// The requester cannot put up the request's storage deposit.
		CannotPayRequestDeposit,
		/// The requester cannot pay the request slot's price (`RequestPrice`).
		CannotPayRequestPrice,
		/// The request slot's price (`RequestPrice`) is above the request's `max_price`: blocks
		/// are full and the price is rising.
		RequestPriceAboveMax,
		/// An `Any` condition: none of its alternatives holds.
		NoAlternativeHolds,
		/// A `Not` condition: its subtree holds.
		NegationHolds,
		/// A request needs at least one capsule.
		NoCapsules,
		/// A capsule is not `CAPSULE_LEN` bytes.
		InvalidCapsuleLength,
		/// A capsule is not a valid umbral-pre capsule.
		MalformedCapsule,
		/// More capsules than `MaxCapsules` in one request.
		TooManyCapsules,
		/// This block's requests are at `MaxRequestsPerBlock`: request in the next block.
		TooManyRequests,
		/// The caller made `MaxRequestsPerRequester` requests in this block already: request in
		/// the next block.
		TooManyRequestsFromRequester,
		/// The policy took `MaxRequestsPerPolicy` requests in this block already: request in
		/// the next block.
		TooManyRequestsForPolicy,
		/// No retained request has this id.
		UnknownRequest,
		/// The request's deadline has passed.
		DeadlinePassed,
		/// The request was cancelled by a revocation or rotation of its policy.
		RequestCancelled,
		/// The node is not one of the nodes of the request's policy version.
		NotAssigned,
		/// The node already answered this request.
		AlreadyAnswered,
		/// The caller is not a node's operator.
		NotOperator,
		/// Not one cfrag per capsule of the request.
		WrongCfragCount,
		/// A cfrag is not `CFRAG_LEN` bytes.
		InvalidCfragLength,
		/// A cfrag is not a valid umbral-pre cfrag encoding.
		MalformedCfrag,
		/// Nothing to settle yet: the node's next period is not over, or the share is settled.
		NothingToSettle,
		/// Fewer nodes than the threshold have accepted the policy's current version: wait for
		/// their acceptances (`PolicyReady`), or rotate to other nodes if some declined.
		AwaitingAcceptance,
		/// The node has no decision pending on this policy version (it decided already, or the
		/// version is not current, or the node is not one of its nodes).
		NoPendingDecision,
		/// The decision is about other content than the policy version holds for the node (a
		/// decision made on another fork).
		ContentMismatch,
		/// The response answers other content than the request with this id holds (an answer
		/// made on another fork).
		RequestMismatch,
		/// The node has not accepted the policy version of the request: it may not answer it.
		NotAccepted,
	}

	#[pallet::hooks]
	impl<T: Config> Hooks<BlockNumberFor<T>> for Pallet<T> {
		fn on_initialize(now: BlockNumberFor<T>) -> Weight {
			let previous = now.saturating_sub(One::one());
			Self::update_request_price(previous).saturating_add(Self::process_deadlines(previous))
		}

		fn on_idle(now: BlockNumberFor<T>, remaining: Weight) -> Weight {
			Self::prune_requests(now, remaining)
		}

		fn offchain_worker(now: BlockNumberFor<T>) {
			Self::offchain_answers(now);
		}

		fn integrity_test() {
			assert!(T::MaxNodes::get() >= 1, "a policy needs a node");
			assert!(T::MaxCapsules::get() >= 1, "a request needs a capsule");
			assert!(T::MaxRequestsPerBlock::get() >= 1, "requests must be possible");
			assert!(T::MaxRequestsPerRequester::get() >= 1, "requests must be possible");
			assert!(T::MaxRequestsPerPolicy::get() >= 1, "requests must be possible");
			assert!(T::MaxConditionDepth::get() >= 1);
			assert!(T::MaxClaimPeriods::get() >= 1);
			assert!(T::MinFeeRate::get() <= T::MaxFeeRate::get(), "MinFeeRate ≤ MaxFeeRate");
			assert!(!T::ResponseWindow::get().is_zero(), "ResponseWindow must be at least 1");
			assert!(!T::RetentionPeriod::get().is_zero(), "RetentionPeriod must be at least 1");
			assert!(
				T::ResponsePriority::get() >= crate::grants::DECISION_PRIORITY_GAP,
				"ResponsePriority must leave room for decisions below it"
			);
			let window: u64 = T::ResponseWindow::get().unique_saturated_into();
			assert!(
				T::ResponsePriority::get().checked_add(window).is_some(),
				"ResponsePriority must leave room for an answer's later attempts above it"
			);
			// An eighth of a smaller price rounds to nothing: it would never rise.
			let floor = T::MinRequestPrice::get();
			assert!(floor.is_zero() || floor >= 8u32.into(), "MinRequestPrice is 0 or at least 8");
			// The worker keeps up with what the chain admits: re-encrypting (and checking) a
			// block's worth of the largest requests takes a node at most half of a block's
			// compute, by the worker's own benchmark, so a node answers each block's requests
			// before the next block's arrive.
			let block = T::BlockWeights::get().max_block.ref_time();
			let work = T::WeightInfo::worker_reencrypt(T::MaxCapsules::get())
				.saturating_mul(T::MaxRequestsPerBlock::get().into())
				.ref_time();
			assert!(
				work <= block / 2,
				"MaxRequestsPerBlock requests of MaxCapsules capsules need {work} of a node's \
				 worker per block; at most half a block's compute ({}) is allowed",
				block / 2
			);
		}

		#[cfg(feature = "try-runtime")]
		fn try_state(_n: BlockNumberFor<T>) -> Result<(), sp_runtime::TryRuntimeError> {
			Self::do_try_state()
		}
	}

	#[pallet::call(weight = <T as Config>::WeightInfo)]
	impl<T: Config> Pallet<T> {
		/// Create policy `id`: `threshold` of the `nodes` (each with its kfrag encrypted to
		/// its Umbral key of the given version) re-encrypt for `receiving_key` until block
		/// `end`, for `fee_rate` per node per period, to requesters meeting `conditions`.
		/// Escrows `fee_rate × N × periods` of the caller's balance. The nodes start pending:
		/// the policy takes requests once `threshold` of them accepted (`PolicyReady`). Its
		/// weight includes the nodes' free decisions. `signature` is the owner's signer's
		/// (`verifying_key`'s) signature over [`grant_payload`]: only whoever made the kfrags
		/// grants them. Signed by the owner. Emits `PolicyCreated`.
		#[pallet::call_index(0)]
		#[pallet::weight(Pallet::<T>::create_weight(nodes.len() as u32, conditions.len() as u32))]
		pub fn create_policy(
			origin: OriginFor<T>,
			id: PolicyId,
			label: BoundedVec<u8, T::MaxLabelLen>,
			delegating_key: UmbralPublicKey,
			verifying_key: UmbralPublicKey,
			receiving_key: UmbralPublicKey,
			threshold: u32,
			nodes: GrantsOf<T>,
			end: BlockNumberFor<T>,
			fee_rate: BalanceOf<T>,
			conditions: ConditionsOf<T>,
			signature: UmbralSignature,
		) -> DispatchResult {
			let owner = ensure_signed(origin)?;
			Self::do_create_policy(
				owner,
				id,
				label,
				PolicyKeys {
					verifying: verifying_key,
					delegating: delegating_key,
					receiving: receiving_key,
				},
				threshold,
				nodes,
				end,
				fee_rate,
				conditions,
				&signature,
			)
		}

		/// Revoke policy `id` at once: no more requests, pending ones are cancelled, nodes drop
		/// their kfrags; fee shares end with the current period and the rest is refunded.
		/// Signed by the owner. Emits `PolicyRevoked`.
		#[pallet::call_index(1)]
		#[pallet::weight(T::WeightInfo::revoke_policy(T::MaxNodes::get()))]
		pub fn revoke_policy(origin: OriginFor<T>, id: PolicyId) -> DispatchResultWithPostInfo {
			let owner = ensure_signed(origin)?;
			let nodes = Self::do_revoke_policy(&owner, id)?;
			Ok(Some(T::WeightInfo::revoke_policy(nodes)).into())
		}

		/// Replace the nodes, kfrags, threshold and receiving key of policy `id` at once,
		/// bumping its version. Nodes that leave keep their share through the current period;
		/// nodes that join are paid from the next one, escrowed now. Every node of the new
		/// version starts pending, as at creation. Pending requests of the previous version are
		/// cancelled. Signed by the owner. Emits `PolicyRotated`.
		#[pallet::call_index(2)]
		#[pallet::weight(T::WeightInfo::rotate_policy(nodes.len() as u32).saturating_add(
			Pallet::<T>::decisions_weight(nodes.len() as u32)
		))]
		pub fn rotate_policy(
			origin: OriginFor<T>,
			id: PolicyId,
			receiving_key: UmbralPublicKey,
			threshold: u32,
			nodes: GrantsOf<T>,
		) -> DispatchResult {
			let owner = ensure_signed(origin)?;
			Self::do_rotate_policy(&owner, id, receiving_key, threshold, nodes)
		}

		/// Ask the nodes of `policy` to re-encrypt `capsules` for the policy's receiving key.
		/// Signed by anyone meeting the policy's conditions. Its `PayPerAccess` payments are held
		/// on the caller's account, paid by the answer that fulfils the request, and refunded in
		/// the block after its deadline if it failed or was cancelled first. Charged for the
		/// answers it causes too ([`Pallet::request_weight`]): for `MaxNodes` nodes up front,
		/// refunded down to the policy's nodes; a refused request is charged its own weight
		/// only. It burns the slot's price ([`RequestPrice`]), refused if that is above
		/// `max_price`. Emits `ReencryptionRequested` (and `AccessPaymentHeld`).
		#[pallet::call_index(3)]
		#[pallet::weight(Pallet::<T>::request_weight(capsules.len() as u32, T::MaxNodes::get()))]
		pub fn request_reencryption(
			origin: OriginFor<T>,
			policy: PolicyId,
			capsules: BoundedVec<CapsuleBytes, T::MaxCapsules>,
			max_price: BalanceOf<T>,
		) -> DispatchResultWithPostInfo {
			let requester = ensure_signed(origin)?;
			let count = capsules.len() as u32;
			// Refused (a full block included), it caused no answers and no deadline.
			let refused = T::WeightInfo::request_reencryption(count, T::MaxConditionNodes::get());
			let nodes = Self::do_request(requester, policy, capsules, max_price)
				.map_err(|error| error.with_weight(refused))?;
			Ok(Some(Self::request_weight(count, nodes)).into())
		}

		/// Answer `request`, whose [`Request::answer_hash`] under the policy's keys is
		/// `request_hash` (so that the answer cannot land on a different request with the same
		/// id, or under other keys, on another fork), with one cfrag per capsule, for the node
		/// the caller operates. Signed by the node's operator account. Emits `CfragsSubmitted`
		/// (and `RequestFulfilled` and `AccessPaid` when the threshold is reached).
		#[pallet::call_index(4)]
		#[pallet::weight(T::WeightInfo::submit_cfrags(cfrags.len() as u32))]
		pub fn submit_cfrags(
			origin: OriginFor<T>,
			request: RequestId,
			request_hash: [u8; 32],
			cfrags: CfragsOf<T>,
		) -> DispatchResult {
			let operator = ensure_signed(origin)?;
			let node = T::Staking::node_of_operator(&operator).ok_or(Error::<T>::NotOperator)?;
			Self::do_submit_cfrags(request, request_hash, node, cfrags)
		}

		/// The same answer, free: sent by the node's offchain worker and authorized by the
		/// operator key's signature over `response` (see [`Pallet::authorize_response`]).
		/// Emits `CfragsSubmitted` (and `RequestFulfilled` and `AccessPaid` when the threshold is
		/// reached).
		#[pallet::call_index(5)]
		#[pallet::weight(T::WeightInfo::submit_cfrags(response.cfrags.len() as u32))]
		#[pallet::authorize(Pallet::<T>::authorize_response)]
		#[pallet::weight_of_authorize(T::WeightInfo::authorize_response(response.cfrags.len() as u32))]
		pub fn submit_cfrags_authorized(
			origin: OriginFor<T>,
			response: ResponseOf<T>,
			// Checked in `authorize_response`.
			_signature: T::Signature,
		) -> DispatchResult {
			ensure_authorized(origin)?;
			Self::do_submit_cfrags(
				response.request,
				response.request_hash,
				response.node,
				response.cfrags,
			)
		}

		/// Settle up to `max_periods` (at most `MaxClaimPeriods`) past periods of `node`'s fee
		/// share of `policy`: paid to the node where it served, refunded to the owner where
		/// not. Signed by anyone. Emits `FeesSettled`.
		#[pallet::call_index(6)]
		#[pallet::weight(T::WeightInfo::claim_fees((*max_periods).min(T::MaxClaimPeriods::get())))]
		pub fn claim_fees(
			origin: OriginFor<T>,
			policy: PolicyId,
			node: T::AccountId,
			max_periods: u32,
		) -> DispatchResult {
			ensure_signed(origin)?;
			Self::do_claim_fees(policy, &node, max_periods.min(T::MaxClaimPeriods::get()))
		}

		/// A node's decision on the current version of a policy it is pending in: accept (it
		/// checked its kfrag completely and serves the policy) or decline (its kfrag failed a
		/// check: it leaves the policy, and its share goes back to the owner). Free: sent by the
		/// node's offchain worker and authorized by the operator key's signature over
		/// `decision` (see [`Pallet::authorize_decision`]). Emits `PolicyAccepted` (and
		/// `PolicyReady` when the threshold is reached) or `PolicyDeclined`.
		#[pallet::call_index(8)]
		#[pallet::weight(T::WeightInfo::decide_on_policy())]
		#[pallet::authorize(Pallet::<T>::authorize_decision)]
		#[pallet::weight_of_authorize(T::WeightInfo::authorize_decision())]
		pub fn decide_on_policy(
			origin: OriginFor<T>,
			decision: PolicyDecisionOf<T>,
			// Checked in `authorize_decision`.
			_signature: T::Signature,
		) -> DispatchResult {
			ensure_authorized(origin)?;
			Self::do_decide(decision)
		}

		/// Close policy `id` once it has ended and its last requests' deadlines have passed
		/// (dropping its kfrags and releasing its nodes), and settle up to `max_periods` (at
		/// most `MaxClaimPeriods`) periods of each of up to `2 × MaxNodes` shares. Signed by
		/// anyone; call again until it fails with `NothingToSettle`. Emits `PolicyExpired` when
		/// it closes the policy, and `FeesSettled`.
		#[pallet::call_index(7)]
		#[pallet::weight(T::WeightInfo::settle_policy(
			T::MaxNodes::get().saturating_mul(2),
			(*max_periods).min(T::MaxClaimPeriods::get()),
		))]
		pub fn settle_policy(
			origin: OriginFor<T>,
			id: PolicyId,
			max_periods: u32,
		) -> DispatchResult {
			ensure_signed(origin)?;
			Self::do_settle_policy(id, max_periods.min(T::MaxClaimPeriods::get()))
		}

		/// Remove policy `id` from storage once it is closed (revoked, or expired by
		/// `settle_policy`), every fee share is settled and its requests are pruned
		/// (`RetentionPeriod` blocks after their deadlines). Its id stays taken; its deposit
		/// goes back to the owner, less the part that pays for keeping the id taken. Signed by
		/// the owner. Emits `PolicyRemoved`.
		#[pallet::call_index(9)]
		#[pallet::weight(T::WeightInfo::remove_policy())]
		pub fn remove_policy(origin: OriginFor<T>, id: PolicyId) -> DispatchResult {
			let owner = ensure_signed(origin)?;
			Self::do_remove_policy(&owner, id).map(|_| ())
		}

		/// Log a direct request for re-encryption of `capsules` under `policy`: the request of
		/// the fast path, which the policy's nodes answer off chain over their `kms_reencrypt`
		/// JSON-RPC (a reader hands them this signed transaction; each relays it to the chain
		/// before it answers). Access is checked as for `request_reencryption` and the
		/// `PayPerAccess` conditions are paid at once; the request causes no deadline and no
		/// answers on chain, and stores nothing. Fails only on malformed capsules: access denied
		/// by the time it lands is logged, not failed. Signed by the requester. Emits
		/// `DirectReencryptionRequested` (and `AccessPaid`), or `DirectReencryptionRefused`.
		#[pallet::call_index(10)]
		#[pallet::weight(T::WeightInfo::request_direct_reencryption(
			capsules.len() as u32,
			T::MaxConditionNodes::get(),
		))]
		pub fn request_direct_reencryption(
			origin: OriginFor<T>,
			policy: PolicyId,
			capsules: BoundedVec<CapsuleBytes, T::MaxCapsules>,
		) -> DispatchResult {
			let requester = ensure_signed(origin)?;
			Self::do_direct_request(requester, policy, &capsules)
		}
	}
}
