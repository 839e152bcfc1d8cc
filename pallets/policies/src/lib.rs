//! # KMS Policies
//!
//! How data owners grant, pay for and revoke access, and how readers' requests and the nodes'
//! answers are recorded (`PROTOCOL.md`, "Policies" and "Re-encryption").
//!
//! A **policy** names Bob's receiving key, a threshold `M` and `N` staking nodes, each holding
//! a kfrag encrypted to its Umbral key ([`EncryptedKFrag`]). Its owner escrows
//! `rate × N × periods` at creation, on a hold of her own account. Each node has a
//! [`FeeShare`] of that escrow: one `rate` per period of the policy, paid to the node if it
//! was serving in the period (the staking pallet's verdict: heartbeated, no deadline missed)
//! and returned to the owner otherwise. Shares settle lazily, period by period, through
//! [`Pallet::claim_fees`] and [`Pallet::settle_policy`], which anyone may call; periods are
//! settled once they are over. Revocation and rotation cut the shares of the nodes that
//! leave and refund the rest at once.
//!
//! **Nodes consent to what binds them.** Every node named by a policy version starts
//! *pending*. Its offchain worker opens its kfrag, checks it completely (`KeyFrag::verify` and a
//! self-test: a test capsule re-encrypted with the kfrag must pass `CapsuleFrag::verify` with
//! the policy's keys, the check the adjudicator judges by) and sends a free decision signed by
//! its operator key ([`Pallet::decide_on_policy`]), bound to the hash of exactly what it checked
//! ([`kms_primitives::policies::grant_content_hash`]). An accepting node serves the version;
//! a declining one leaves the policy and its share is refunded. Deadlines count only against
//! nodes that had accepted by the request's block, fees accrue only from a node's first
//! acceptance, and the policy takes requests only once `threshold` nodes have accepted. So no
//! owner can bind a node to a kfrag it cannot serve correctly: an envelope that does not open,
//! a kfrag for other keys, or one whose signature for the reader fails is declined, never
//! slashed or missed.
//!
//! A **request** carries capsules in umbral-pre's standard serialization; it is accepted if
//! the policy is active, enough of its nodes accepted it, and its conditions hold for the
//! requester ([`conditions`]), and gets a deadline `ResponseWindow` blocks later. Each
//! accepting node of the policy's version answers once with one cfrag per capsule, signed by
//! its operator (a free authorized transaction over the request's content hash, or a signed
//! one). At the block after a deadline, the request's unanswered nodes that had accepted by the
//! request's block are recorded against their service in the staking pallet; this work is
//! bounded by `MaxRequestsPerBlock × MaxNodes` and paid for by the requests. Requests and their
//! cfrags are kept for `RetentionPeriod` blocks after their deadline, then pruned in bounded
//! batches when blocks have weight to spare.
//!
//! **Rotation rule.** A rotation (or revocation) cancels every pending request of the
//! previous version: its nodes may no longer answer it, and no deadline of it is held against
//! anyone. The requester asks again under the new version.
//!
//! **Fee periods.** A policy covers the periods from the one it is created in to the one of
//! its last block (`end − 1`). A node that leaves by rotation keeps the current period; a node
//! that joins starts with the next one. A revocation ends every share with the current period.
//! Shares must be settled within the staking pallet's `HistoryDepth` periods: older service
//! records are pruned, and a period whose record is gone counts as not served.
#![cfg_attr(not(feature = "std"), no_std)]
// `expect` is left to clippy's defaults: FRAME's macros expand to it (on paths that cannot fail).
#![cfg_attr(not(test), deny(clippy::unwrap_used, clippy::indexing_slicing))]

extern crate alloc;

mod asset;
#[cfg(feature = "runtime-benchmarks")]
mod benchmarking;
pub mod conditions;
#[cfg(test)]
mod mock;
pub mod offchain;
#[cfg(test)]
mod tests;
pub mod types;
pub mod weights;

use alloc::vec::Vec;
use frame_support::{dispatch::WithPostDispatchInfo, pallet_prelude::*, traits::fungible};
use frame_system::{
	offchain::{AppCrypto, CreateAuthorizedTransaction, SigningTypes},
	pallet_prelude::*,
};
use kms_primitives::{
	policies::{
		grant_content_hash, AccessDenied, CapsuleBytes, CapsuleFragBytes, CfragEvidence, Condition,
		Decision, DeclineReason, EncryptedKFrag, GrantTerms, NodeGrant, OffenceSpan, PolicyFees,
		PolicyId, PolicyKeys, PolicyNode, PolicyStatus, PolicyVersion, ReencryptionRecords,
		RequestId, RequestStatus, CAPSULE_LEN, CFRAG_LEN, ENCRYPTED_KFRAG_LEN,
	},
	signing,
	staking::{KeyVersion, NodeStaking, Period, PolicyRegistry, UmbralPublicKey, UmbralSignature},
	wire,
};
use sp_runtime::{
	traits::{CheckedMul, IdentifyAccount, One, Saturating, UniqueSaturatedInto, Zero},
	transaction_validity::TransactionValidityWithRefund,
};

pub use pallet::*;
pub use types::*;
pub use weights::WeightInfo;

/// Log target of this pallet.
pub const LOG_TARGET: &str = "runtime::kms-policies";

/// A balance of the fee currency.
pub type BalanceOf<T> =
	<<T as Config>::Currency as fungible::Inspect<<T as frame_system::Config>::AccountId>>::Balance;
/// A condition of this runtime.
pub type ConditionOf<T> =
	Condition<<T as frame_system::Config>::AccountId, BalanceOf<T>, BlockNumberFor<T>>;
/// A condition tree of this runtime.
pub type ConditionsOf<T> = BoundedVec<ConditionOf<T>, <T as Config>::MaxConditionNodes>;
/// A policy, as stored.
pub type PolicyOf<T> = Policy<
	<T as frame_system::Config>::AccountId,
	BalanceOf<T>,
	BlockNumberFor<T>,
	<T as Config>::MaxNodes,
	<T as Config>::MaxLabelLen,
	<T as Config>::MaxConditionNodes,
>;
/// The nodes of a policy as its owner grants them.
pub type GrantsOf<T> =
	BoundedVec<NodeGrant<<T as frame_system::Config>::AccountId>, <T as Config>::MaxNodes>;
/// A request, as stored.
pub type RequestOf<T> = Request<
	<T as frame_system::Config>::AccountId,
	BlockNumberFor<T>,
	<T as Config>::MaxCapsules,
	<T as Config>::MaxNodes,
>;
/// A node's cfrags for a request, one per capsule.
pub type CfragsOf<T> = BoundedVec<CapsuleFragBytes, <T as Config>::MaxCapsules>;
/// A response as an operator signs it.
pub type ResponseOf<T> = Response<
	<T as frame_system::Config>::AccountId,
	<T as SigningTypes>::Public,
	<T as Config>::MaxCapsules,
>;
/// A node's decision on a policy, as its operator signs it.
pub type PolicyDecisionOf<T> =
	PolicyDecision<<T as frame_system::Config>::AccountId, <T as SigningTypes>::Public>;
/// A policy's terms as its owner signs them.
pub type GrantTermsOf<'a, T> = GrantTerms<
	'a,
	<T as frame_system::Config>::AccountId,
	BlockNumberFor<T>,
	ConditionsOf<T>,
	GrantsOf<T>,
>;
/// A node of a policy, as stored.
pub type PolicyNodeOf<T> = PolicyNode<<T as frame_system::Config>::AccountId, BlockNumberFor<T>>;

/// The request counts of one block, as stored.
pub type BlockLoadOf<T> = BlockLoad<
	<T as frame_system::Config>::AccountId,
	BlockNumberFor<T>,
	<T as Config>::MaxRequestsPerBlock,
>;

/// Adds one to `key`'s count in `counts`, unless that makes it more than `cap` (or the list is
/// full).
fn bump<K: PartialEq + Clone, S: Get<u32>>(
	counts: &mut BoundedVec<(K, u32), S>,
	key: &K,
	cap: u32,
) -> Result<(), ()> {
	match counts.iter_mut().find(|(k, _)| k == key) {
		Some((_, count)) if *count < cap => {
			*count = count.saturating_add(1);
			Ok(())
		},
		Some(_) => Err(()),
		None if cap > 0 => counts.try_push((key.clone(), 1)).map_err(|_| ()),
		None => Err(()),
	}
}

/// The chain's genesis hash (from block 1 on): what binds operator signatures to this chain.
fn genesis_hash<T: frame_system::Config>() -> T::Hash {
	frame_system::Pallet::<T>::block_hash(BlockNumberFor::<T>::zero())
}

/// The bytes an operator signs for `response` on this chain ([`signing::RESPONSE`]).
pub fn response_payload<T: Config>(response: &ResponseOf<T>) -> Vec<u8> {
	signing::payload(signing::RESPONSE, &genesis_hash::<T>(), response)
}

/// The bytes a policy's owner signs with its signer to create it on this chain
/// ([`GrantTerms`], [`signing::GRANT`]).
pub fn grant_payload<T: Config>(terms: &GrantTermsOf<'_, T>) -> Vec<u8> {
	terms.signing_payload(&genesis_hash::<T>())
}

/// The bytes an operator signs for `decision` on this chain ([`signing::DECISION`]).
pub fn decision_payload<T: Config>(decision: &PolicyDecisionOf<T>) -> Vec<u8> {
	signing::payload(signing::DECISION, &genesis_hash::<T>(), decision)
}

#[frame_support::pallet]
pub mod pallet {
	use super::*;

	#[pallet::pallet]
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

		/// The staking side: periods, eligibility, keys, operators, service.
		type Staking: NodeStaking<Self::AccountId, BalanceOf<Self>>;

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

		/// Priority of authorized responses in the pool.
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
	#[pallet::generate_deposit(pub(super) fn deposit_event)]
	pub enum Event<T: Config> {
		/// `owner` created policy `id` with `nodes` nodes and threshold `threshold`, ending at
		/// block `end`, escrowing `escrowed`.
		PolicyCreated {
			id: PolicyId,
			owner: T::AccountId,
			threshold: u32,
			nodes: u32,
			end: BlockNumberFor<T>,
			escrowed: BalanceOf<T>,
		},
		/// The owner revoked policy `id`; `refunded` went back to it. Nodes drop its kfrags.
		PolicyRevoked { id: PolicyId, refunded: BalanceOf<T> },
		/// The owner rotated policy `id` to `version`, escrowing `escrowed` more and getting
		/// `refunded` back. Nodes drop the kfrags of the previous version.
		PolicyRotated {
			id: PolicyId,
			version: PolicyVersion,
			escrowed: BalanceOf<T>,
			refunded: BalanceOf<T>,
		},
		/// Policy `id` ended and its kfrags were dropped; its fees settle by claims.
		PolicyExpired { id: PolicyId },
		/// Policy `id` was removed from storage: its id stays taken, and `released` of its
		/// deposit went back to its owner.
		PolicyRemoved { id: PolicyId, released: BalanceOf<T> },
		/// `node` checked its kfrag of policy `id` at `version` and serves it.
		PolicyAccepted { id: PolicyId, version: PolicyVersion, node: T::AccountId },
		/// `node` declined policy `id` at `version` because of `reason` and left it; `refunded`
		/// of its share went back to the owner.
		PolicyDeclined {
			id: PolicyId,
			version: PolicyVersion,
			node: T::AccountId,
			reason: DeclineReason,
			refunded: BalanceOf<T>,
		},
		/// The threshold of nodes accepted policy `id` at `version`: it takes requests.
		PolicyReady { id: PolicyId, version: PolicyVersion },
		/// `requester` asked for re-encryption of `capsules` capsules under `policy` (at
		/// `version`), burning `price` for its slot; nodes answer until block `deadline`.
		ReencryptionRequested {
			request: RequestId,
			policy: PolicyId,
			version: PolicyVersion,
			requester: T::AccountId,
			capsules: u32,
			deadline: BlockNumberFor<T>,
			price: BalanceOf<T>,
		},
		/// `requester` paid `amount` to `to` for access to `policy`: its request was just
		/// fulfilled (paid from what the request held).
		AccessPaid {
			policy: PolicyId,
			requester: T::AccountId,
			to: T::AccountId,
			amount: BalanceOf<T>,
		},
		/// `request` held `amount` of `requester`'s balance for its access payments until it
		/// is settled.
		AccessPaymentHeld { request: RequestId, requester: T::AccountId, amount: BalanceOf<T> },
		/// `request` failed or was cancelled: the `amount` it held returned to `requester`.
		AccessRefunded { request: RequestId, requester: T::AccountId, amount: BalanceOf<T> },
		/// `node` answered `request` with its cfrags.
		CfragsSubmitted { request: RequestId, node: T::AccountId },
		/// `request` has the threshold of answers: the requester can decrypt.
		RequestFulfilled { request: RequestId, policy: PolicyId },
		/// `request`'s deadline passed with `answers` answers, fewer than the threshold.
		RequestFailed { request: RequestId, answers: u32 },
		/// `node`'s share of `policy` was settled for `periods` periods: `paid` to the node,
		/// `refunded` to the owner.
		FeesSettled {
			policy: PolicyId,
			node: T::AccountId,
			periods: u32,
			paid: BalanceOf<T>,
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

		/// Answer `request`, whose content hash is `request_hash` (so that the answer cannot
		/// land on a different request with the same id on another fork), with one cfrag per
		/// capsule, for the node the caller operates. Signed by the node's operator account.
		/// Emits `CfragsSubmitted` (and `RequestFulfilled` and `AccessPaid` when the threshold is
		/// reached).
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
	}
}

impl<T: Config> Pallet<T> {
	/// The period `block` falls in, as the staking pallet counts periods.
	pub fn period_of(block: BlockNumberFor<T>) -> Period {
		T::Staking::period_of(block.unique_saturated_into())
	}

	/// The periods a policy from `start` to `end` (exclusive) covers.
	fn covered_periods(start: BlockNumberFor<T>, end: BlockNumberFor<T>) -> (Period, Period) {
		(Self::period_of(start), Self::period_of(end.saturating_sub(One::one())))
	}

	/// `rate × count` with a specific error on overflow.
	fn fee(rate: BalanceOf<T>, count: u32) -> Result<BalanceOf<T>, Error<T>> {
		rate.checked_mul(&count.into()).ok_or(Error::<T>::FeeOverflow)
	}

	pub(crate) fn do_create_policy(
		owner: T::AccountId,
		id: PolicyId,
		label: BoundedVec<u8, T::MaxLabelLen>,
		keys: PolicyKeys,
		threshold: u32,
		grants: GrantsOf<T>,
		end: BlockNumberFor<T>,
		fee_rate: BalanceOf<T>,
		conditions: ConditionsOf<T>,
		signature: &UmbralSignature,
	) -> DispatchResult {
		let PolicyKeys {
			verifying: verifying_key,
			delegating: delegating_key,
			receiving: receiving_key,
		} = keys;
		ensure!(
			!Policies::<T>::contains_key(id) && !RetiredPolicies::<T>::contains_key(id),
			Error::<T>::PolicyIdInUse
		);
		let now = frame_system::Pallet::<T>::block_number();
		ensure!(end > now, Error::<T>::EndInPast);
		ensure!(
			fee_rate >= T::MinFeeRate::get() && fee_rate <= T::MaxFeeRate::get(),
			Error::<T>::FeeRateOutOfRange
		);
		conditions::validate::<T>(&conditions, T::MaxConditionDepth::get())?;
		Self::ensure_point(&delegating_key, Error::<T>::InvalidDelegatingKey)?;
		Self::ensure_point(&verifying_key, Error::<T>::InvalidVerifyingKey)?;
		Self::ensure_point(&receiving_key, Error::<T>::InvalidReceivingKey)?;
		let terms = GrantTerms {
			owner: &owner,
			id,
			keys,
			threshold,
			end,
			conditions: &conditions,
			grants: &grants,
		};
		ensure!(
			signature.verify(&verifying_key, &grant_payload::<T>(&terms)),
			Error::<T>::GrantNotSigned
		);
		let (first, last) = Self::covered_periods(now, end);
		let nodes = Self::check_grants(&grants, threshold, last, fee_rate)?;

		let count = grants.len() as u32;
		let escrowed = Self::fee(fee_rate, count)?
			.checked_mul(&(last.saturating_sub(first).saturating_add(1)).into())
			.ok_or(Error::<T>::FeeOverflow)?;
		asset::escrow::<T>(&owner, escrowed).map_err(|_| Error::<T>::InsufficientBalance)?;

		for grant in grants {
			KeyUsage::<T>::mutate(&grant.node, grant.key_version, |n| n.saturating_inc());
			FeeShares::<T>::insert(
				id,
				&grant.node,
				FeeShare { first, last, next: first, accepted_from: None },
			);
			KFrags::<T>::insert(id, &grant.node, grant.kfrag);
			PendingDecisions::<T>::insert(&grant.node, id, 0);
		}
		let policy = Policy {
			owner: owner.clone(),
			label,
			delegating_key,
			verifying_key,
			receiving_key,
			threshold,
			nodes,
			start: now,
			end,
			fee_rate,
			fees: PolicyFees { escrowed, ..Default::default() },
			conditions,
			status: PolicyStatus::Active,
			version: 0,
		};
		Self::set_policy_deposit(id, &policy)?;
		OwnerPolicies::<T>::insert(&owner, id, ());
		Policies::<T>::insert(id, policy);
		Self::deposit_event(Event::PolicyCreated {
			id,
			owner,
			threshold,
			nodes: count,
			end,
			escrowed,
		});
		Ok(())
	}

	/// Checks the nodes an owner grants (threshold, distinct, eligible through `last_period`,
	/// fee rate, key version, kfrag envelope) and returns them as the policy stores them.
	fn check_grants(
		grants: &GrantsOf<T>,
		threshold: u32,
		last_period: Period,
		fee_rate: BalanceOf<T>,
	) -> Result<BoundedVec<PolicyNodeOf<T>, T::MaxNodes>, DispatchError> {
		ensure!(!grants.is_empty(), Error::<T>::NoNodes);
		ensure!(threshold >= 1 && threshold as usize <= grants.len(), Error::<T>::InvalidThreshold);
		let mut nodes = BoundedVec::<PolicyNodeOf<T>, T::MaxNodes>::new();
		for grant in grants {
			ensure!(nodes.iter().all(|n| n.node != grant.node), Error::<T>::DuplicateNode);
			ensure!(T::Staking::is_eligible(&grant.node, last_period), Error::<T>::NodeNotEligible);
			let minimum = T::Staking::min_fee_rate(&grant.node).unwrap_or_default();
			ensure!(fee_rate >= minimum, Error::<T>::FeeRateBelowNodeMinimum);
			// The node's current key only: a grant to a key it is rotating away from would pin
			// that key (and a seed the node may no longer hold).
			ensure!(
				T::Staking::current_key_version(&grant.node) == Some(grant.key_version),
				Error::<T>::UnknownNodeKey
			);
			Self::check_kfrag(&grant.kfrag)?;
			nodes
				.try_push(PolicyNode {
					node: grant.node.clone(),
					key_version: grant.key_version,
					accepted: None,
				})
				.map_err(|_| Error::<T>::DuplicateNode)?;
		}
		Ok(nodes)
	}

	/// An encrypted kfrag: the envelope's lengths and its capsule (decoded and self-checked,
	/// so that the node can always open it with its key).
	fn check_kfrag(kfrag: &EncryptedKFrag) -> Result<(), Error<T>> {
		ensure!(kfrag.capsule.len() == CAPSULE_LEN, Error::<T>::InvalidKFragCapsuleLength);
		ensure!(kfrag.ciphertext.len() == ENCRYPTED_KFRAG_LEN, Error::<T>::InvalidKFragLength);
		wire::decode_capsule(&kfrag.capsule).map_err(|_| Error::<T>::MalformedKFragCapsule)?;
		Ok(())
	}

	/// An Umbral public key must decompress to a curve point.
	fn ensure_point(key: &UmbralPublicKey, error: Error<T>) -> Result<(), Error<T>> {
		key.decompress().map(|_| ()).ok_or(error)
	}

	/// One active policy less uses `node`'s key of `version` (its kfrag is gone).
	fn release_key_use(node: &T::AccountId, version: KeyVersion) {
		KeyUsage::<T>::mutate_exists(node, version, |n| {
			*n = n.map(|n| n.saturating_sub(1)).filter(|n| *n > 0);
		});
	}

	/// Ends every share of `id` with `period` (refunding what lies beyond), drops the kfrags
	/// and releases the keys. Returns what was refunded.
	fn close(id: PolicyId, policy: &mut PolicyOf<T>, period: Period) -> BalanceOf<T> {
		let mut refunded = BalanceOf::<T>::zero();
		for PolicyNode { node, key_version, .. } in &policy.nodes.clone() {
			Self::release_key_use(node, *key_version);
			KFrags::<T>::remove(id, node);
			PendingDecisions::<T>::remove(node, id);
			refunded.saturating_accrue(Self::cut_share(id, policy, node, period));
		}
		refunded
	}

	/// Ends `node`'s share of `id` with `period`, refunding the periods after it to the
	/// owner. Returns the refund.
	fn cut_share(
		id: PolicyId,
		policy: &mut PolicyOf<T>,
		node: &T::AccountId,
		period: Period,
	) -> BalanceOf<T> {
		let Some(mut share) = FeeShares::<T>::get(id, node) else { return Zero::zero() };
		if share.last <= period {
			return Zero::zero();
		}
		// Periods `max(next, period + 1) ..= last` are no longer granted.
		let cut_from = share.next.max(period.saturating_add(1));
		let periods = share.last.saturating_add(1).saturating_sub(cut_from);
		share.last = period;
		let refund = policy.fee_rate.saturating_mul(periods.into());
		Self::refund_owner(policy, refund);
		if share.next > share.last {
			FeeShares::<T>::remove(id, node);
		} else {
			FeeShares::<T>::insert(id, node, share);
		}
		refund
	}

	/// Returns `value` of the policy's escrow to its owner.
	fn refund_owner(policy: &mut PolicyOf<T>, value: BalanceOf<T>) {
		if value.is_zero() {
			return;
		}
		if asset::refund::<T>(&policy.owner, value).is_err() {
			frame_support::defensive!("escrow smaller than the policy's unsettled fees");
			return;
		}
		policy.fees.refunded.saturating_accrue(value);
	}

	pub(crate) fn do_revoke_policy(
		owner: &T::AccountId,
		id: PolicyId,
	) -> Result<u32, DispatchError> {
		let mut policy = Policies::<T>::get(id).ok_or(Error::<T>::UnknownPolicy)?;
		ensure!(&policy.owner == owner, Error::<T>::NotOwner);
		Self::ensure_live(&policy)?;
		let now = frame_system::Pallet::<T>::block_number();
		let refunded = Self::close(id, &mut policy, Self::period_of(now));
		policy.status = PolicyStatus::Revoked(now);
		let nodes = policy.nodes.len() as u32;
		Policies::<T>::insert(id, policy);
		Self::deposit_event(Event::PolicyRevoked { id, refunded });
		Ok(nodes)
	}

	/// Active and not past its end.
	fn ensure_live(policy: &PolicyOf<T>) -> DispatchResult {
		match policy.status {
			PolicyStatus::Revoked(_) => Err(Error::<T>::PolicyRevoked.into()),
			PolicyStatus::Expired => Err(Error::<T>::PolicyExpired.into()),
			PolicyStatus::Active => {
				let now = frame_system::Pallet::<T>::block_number();
				ensure!(now < policy.end, Error::<T>::PolicyExpired);
				Ok(())
			},
		}
	}

	pub(crate) fn do_rotate_policy(
		owner: &T::AccountId,
		id: PolicyId,
		receiving_key: UmbralPublicKey,
		threshold: u32,
		grants: GrantsOf<T>,
	) -> DispatchResult {
		let mut policy = Policies::<T>::get(id).ok_or(Error::<T>::UnknownPolicy)?;
		ensure!(&policy.owner == owner, Error::<T>::NotOwner);
		Self::ensure_live(&policy)?;
		Self::ensure_point(&receiving_key, Error::<T>::InvalidReceivingKey)?;
		let now = frame_system::Pallet::<T>::block_number();
		let current = Self::period_of(now);
		let (_, last) = Self::covered_periods(policy.start, policy.end);
		let nodes = Self::check_grants(&grants, threshold, last, policy.fee_rate)?;

		// Joining nodes are paid from the next period through the last: escrow that first,
		// so that a failure leaves everything as it was.
		let mut escrowed = BalanceOf::<T>::zero();
		let mut joined = Vec::new();
		for grant in &grants {
			if policy.nodes.iter().any(|n| n.node == grant.node) {
				continue;
			}
			let (share, added) = match FeeShares::<T>::get(id, &grant.node) {
				// It left in this period, so its share runs through it: the share extends.
				Some(old) if old.last >= current => {
					(FeeShare { last, ..old }, last.saturating_sub(old.last))
				},
				// Stored shares always have unsettled periods; they would leave a gap.
				Some(_) => return Err(Error::<T>::ShareUnsettled.into()),
				None => {
					let first = current.saturating_add(1);
					(
						FeeShare { first, last, next: first, accepted_from: None },
						last.saturating_sub(current),
					)
				},
			};
			escrowed.saturating_accrue(Self::fee(policy.fee_rate, added)?);
			joined.push((grant.node.clone(), share));
		}
		if !escrowed.is_zero() {
			asset::escrow::<T>(owner, escrowed).map_err(|_| Error::<T>::InsufficientBalance)?;
			policy.fees.escrowed.saturating_accrue(escrowed);
		}
		for (node, share) in joined {
			if share.next <= share.last {
				FeeShares::<T>::insert(id, &node, share);
			}
		}

		// Leaving nodes keep the current period; every old kfrag and key use goes.
		let mut refunded = BalanceOf::<T>::zero();
		let old_nodes = core::mem::take(&mut policy.nodes);
		for PolicyNode { node, key_version, .. } in &old_nodes {
			Self::release_key_use(node, *key_version);
			KFrags::<T>::remove(id, node);
			PendingDecisions::<T>::remove(node, id);
			if !nodes.iter().any(|n| &n.node == node) {
				refunded.saturating_accrue(Self::cut_share(id, &mut policy, node, current));
			}
		}
		let version = policy.version.saturating_add(1);
		for grant in grants {
			KeyUsage::<T>::mutate(&grant.node, grant.key_version, |n| n.saturating_inc());
			KFrags::<T>::insert(id, &grant.node, grant.kfrag);
			PendingDecisions::<T>::insert(&grant.node, id, version);
		}
		policy.nodes = nodes;
		policy.threshold = threshold;
		policy.receiving_key = receiving_key;
		policy.version = version;
		Self::set_policy_deposit(id, &policy)?;
		Policies::<T>::insert(id, policy);
		Self::deposit_event(Event::PolicyRotated { id, version, escrowed, refunded });
		Ok(())
	}

	/// Whether `requester` may request under `id` now, and if not, why.
	pub fn check_access(id: PolicyId, requester: &T::AccountId) -> Result<(), AccessDenied> {
		let policy = Policies::<T>::get(id).ok_or(AccessDenied::UnknownPolicy)?;
		Self::check_policy_access(&policy, requester)
	}

	fn check_policy_access(
		policy: &PolicyOf<T>,
		requester: &T::AccountId,
	) -> Result<(), AccessDenied> {
		let now = frame_system::Pallet::<T>::block_number();
		match policy.status {
			PolicyStatus::Revoked(_) => return Err(AccessDenied::Revoked),
			PolicyStatus::Expired => return Err(AccessDenied::Expired),
			PolicyStatus::Active if now >= policy.end => return Err(AccessDenied::Expired),
			PolicyStatus::Active => {},
		}
		if policy.accepted() < policy.threshold {
			return Err(AccessDenied::AwaitingAcceptance);
		}
		conditions::evaluate::<T>(&policy.conditions, requester, now)
	}

	pub(crate) fn do_request(
		requester: T::AccountId,
		id: PolicyId,
		capsules: BoundedVec<CapsuleBytes, T::MaxCapsules>,
		max_price: BalanceOf<T>,
	) -> Result<u32, DispatchError> {
		let policy = Policies::<T>::get(id).ok_or(Error::<T>::UnknownPolicy)?;
		Self::check_policy_access(&policy, &requester).map_err(Error::<T>::from)?;
		ensure!(!capsules.is_empty(), Error::<T>::NoCapsules);
		for capsule in &capsules {
			ensure!(capsule.len() == CAPSULE_LEN, Error::<T>::InvalidCapsuleLength);
		}
		let now = frame_system::Pallet::<T>::block_number();
		let deadline = now.saturating_add(T::ResponseWindow::get());
		let request = NextRequestId::<T>::get();
		Deadlines::<T>::try_mutate(deadline, |ids| ids.try_push(request))
			.map_err(|_| Error::<T>::TooManyRequests)?;
		let price = Self::request_price();
		ensure!(price <= max_price, Error::<T>::RequestPriceAboveMax);
		Self::count_request(now, &requester, id)?;
		let payments = conditions::payments::<T>(&policy.conditions)
			.fold(BalanceOf::<T>::zero(), |total, (_, amount)| total.saturating_add(amount));
		if !payments.is_zero() {
			asset::hold_access_payment::<T>(&requester, payments)
				.map_err(|_| Error::<T>::CannotPayForAccess)?;
			AccessPayments::<T>::insert(request, payments);
			Self::deposit_event(Event::AccessPaymentHeld {
				request,
				requester: requester.clone(),
				amount: payments,
			});
		}
		let deposit = Self::request_deposit(capsules.len() as u32, policy.nodes.len() as u32);
		if !deposit.is_zero() {
			asset::hold_request_deposit::<T>(&requester, deposit)
				.map_err(|_| Error::<T>::CannotPayRequestDeposit)?;
			RequestDeposits::<T>::insert(request, deposit);
		}
		if !price.is_zero() {
			asset::burn_request_price::<T>(&requester, price)
				.map_err(|_| Error::<T>::CannotPayRequestPrice)?;
		}
		// The expensive check last: a requester who cannot pay makes the chain decode nothing.
		for capsule in &capsules {
			wire::decode_capsule(capsule).map_err(|_| Error::<T>::MalformedCapsule)?;
		}
		NextRequestId::<T>::put(request.saturating_add(1));
		let count = capsules.len() as u32;
		Requests::<T>::insert(
			request,
			Request {
				policy: id,
				version: policy.version,
				receiving_key: policy.receiving_key,
				requester: requester.clone(),
				capsules,
				created: now,
				deadline,
				answered: BoundedVec::new(),
			},
		);
		Self::deposit_event(Event::ReencryptionRequested {
			request,
			policy: id,
			version: policy.version,
			requester,
			capsules: count,
			deadline,
			price,
		});
		Ok(policy.nodes.len() as u32)
	}

	/// Counts a request of `requester` under `policy` in block `now`, within the per-requester
	/// and per-policy shares of the block.
	fn count_request(
		now: BlockNumberFor<T>,
		requester: &T::AccountId,
		policy: PolicyId,
	) -> DispatchResult {
		let mut load = RequestLoad::<T>::get()
			.filter(|load| load.block == now)
			.unwrap_or_else(|| BlockLoad { block: now, ..Default::default() });
		bump(&mut load.requesters, requester, T::MaxRequestsPerRequester::get())
			.map_err(|()| Error::<T>::TooManyRequestsFromRequester)?;
		bump(&mut load.policies, &policy, T::MaxRequestsPerPolicy::get())
			.map_err(|()| Error::<T>::TooManyRequestsForPolicy)?;
		RequestLoad::<T>::put(load);
		Ok(())
	}

	/// Why `node` may not answer `request` now, if it may not: the checks both answer paths
	/// share, cheapest first. Returns the request and its policy.
	fn check_answer(
		request_id: RequestId,
		node: &T::AccountId,
		cfrag_count: usize,
	) -> Result<(RequestOf<T>, PolicyOf<T>), Error<T>> {
		let request = Requests::<T>::get(request_id).ok_or(Error::<T>::UnknownRequest)?;
		let now = frame_system::Pallet::<T>::block_number();
		ensure!(now <= request.deadline, Error::<T>::DeadlinePassed);
		let policy = Policies::<T>::get(request.policy).ok_or(Error::<T>::UnknownPolicy)?;
		ensure!(Self::answerable(&policy, &request), Error::<T>::RequestCancelled);
		let entry = policy.node(node).ok_or(Error::<T>::NotAssigned)?;
		ensure!(entry.accepted.is_some(), Error::<T>::NotAccepted);
		ensure!(!request.answered.contains(node), Error::<T>::AlreadyAnswered);
		ensure!(cfrag_count == request.capsules.len(), Error::<T>::WrongCfragCount);
		Ok((request, policy))
	}

	/// Whether the request still belongs to its policy: same version, not revoked.
	fn answerable(policy: &PolicyOf<T>, request: &RequestOf<T>) -> bool {
		policy.version == request.version && !matches!(policy.status, PolicyStatus::Revoked(_))
	}

	/// The cfrags' lengths and encodings.
	fn check_cfrags(cfrags: &CfragsOf<T>) -> Result<(), Error<T>> {
		for cfrag in cfrags {
			ensure!(cfrag.len() == CFRAG_LEN, Error::<T>::InvalidCfragLength);
		}
		for cfrag in cfrags {
			wire::decode_capsule_frag(cfrag).map_err(|_| Error::<T>::MalformedCfrag)?;
		}
		Ok(())
	}

	pub(crate) fn do_submit_cfrags(
		request_id: RequestId,
		request_hash: [u8; 32],
		node: T::AccountId,
		cfrags: CfragsOf<T>,
	) -> DispatchResult {
		let (mut request, policy) = Self::check_answer(request_id, &node, cfrags.len())?;
		ensure!(request.content_hash() == request_hash, Error::<T>::RequestMismatch);
		Self::check_cfrags(&cfrags)?;
		request
			.answered
			.try_push(node.clone())
			.map_err(|_| Error::<T>::AlreadyAnswered)?;
		Responses::<T>::insert(request_id, &node, cfrags);
		Self::deposit_event(Event::CfragsSubmitted { request: request_id, node });
		if request.answered.len() as u32 == policy.threshold {
			Self::deposit_event(Event::RequestFulfilled {
				request: request_id,
				policy: request.policy,
			});
			// Paid as soon as the requester is served: nothing the owner does before the
			// deadline (a revocation, a rotation) can take the payment back.
			Self::settle_access_payments(request_id, &request, &policy);
		}
		Requests::<T>::insert(request_id, request);
		Ok(())
	}

	/// Checks a response before it enters the pool or a block: the request (by id and content
	/// hash), the node, the operator and the signature, and only then, because decoding them
	/// is the expensive part an unsigned sender could otherwise make the pool do, the cfrags.
	/// Valid responses are free, provide the tag `(request, node)` and live until the deadline.
	pub fn authorize_response(
		_source: TransactionSource,
		response: &ResponseOf<T>,
		signature: &T::Signature,
	) -> TransactionValidityWithRefund {
		let (request, _) = Self::check_answer(
			response.request,
			&response.node,
			response.cfrags.len(),
		)
		.map_err(|error| match error {
			Error::<T>::AlreadyAnswered | Error::<T>::DeadlinePassed => InvalidTransaction::Stale,
			Error::<T>::UnknownRequest | Error::<T>::RequestCancelled => InvalidTransaction::Stale,
			_ => InvalidTransaction::Call,
		})?;
		if request.content_hash() != response.request_hash {
			return Err(InvalidTransaction::Stale.into());
		}
		Self::check_operator(&response.node, &response.public)?;
		if !<T::OperatorCrypto as AppCrypto<_, _>>::verify(
			&response_payload::<T>(response),
			response.public.clone(),
			signature.clone(),
		) {
			return Err(InvalidTransaction::BadProof.into());
		}
		Self::check_cfrags(&response.cfrags).map_err(|_| InvalidTransaction::Call)?;
		let now = frame_system::Pallet::<T>::block_number();
		let longevity: u64 = request
			.deadline
			.saturating_sub(now)
			.saturating_add(One::one())
			.unique_saturated_into();
		ValidTransaction::with_tag_prefix("KmsResponse")
			.priority(T::ResponsePriority::get())
			.and_provides((response.request, &response.node))
			.longevity(longevity)
			.propagate(true)
			.build()
			.map(|validity| (validity, Weight::zero()))
	}

	/// The signer of an authorized transaction must be `node`'s operator.
	fn check_operator(node: &T::AccountId, public: &T::Public) -> Result<(), InvalidTransaction> {
		let operator = T::Staking::operator_of(node).ok_or(InvalidTransaction::BadSigner)?;
		if operator != public.clone().into_account() {
			return Err(InvalidTransaction::BadSigner);
		}
		Ok(())
	}

	/// Why `decision` cannot be applied now, if it cannot: the node must be pending in the
	/// policy's current version and the content must be what it holds for the node.
	fn check_decision(decision: &PolicyDecisionOf<T>) -> Result<PolicyOf<T>, Error<T>> {
		let policy = Policies::<T>::get(decision.policy).ok_or(Error::<T>::UnknownPolicy)?;
		Self::ensure_live(&policy).map_err(|_| Error::<T>::NoPendingDecision)?;
		ensure!(
			PendingDecisions::<T>::get(&decision.node, decision.policy) == Some(decision.version)
				&& policy.version == decision.version,
			Error::<T>::NoPendingDecision
		);
		let envelope = KFrags::<T>::get(decision.policy, &decision.node)
			.ok_or(Error::<T>::NoPendingDecision)?;
		ensure!(
			grant_content_hash(&policy.keys(), &envelope) == decision.content,
			Error::<T>::ContentMismatch
		);
		Ok(policy)
	}

	/// Checks a decision before it enters the pool or a block: pending, same content, the
	/// operator and, last, the signature. Valid decisions are free, provide the tag
	/// `(policy, version, node)` and live until the policy's end.
	pub fn authorize_decision(
		_source: TransactionSource,
		decision: &PolicyDecisionOf<T>,
		signature: &T::Signature,
	) -> TransactionValidityWithRefund {
		let policy = Self::check_decision(decision).map_err(|error| match error {
			Error::<T>::ContentMismatch => InvalidTransaction::Call,
			_ => InvalidTransaction::Stale,
		})?;
		Self::check_operator(&decision.node, &decision.public)?;
		if !<T::OperatorCrypto as AppCrypto<_, _>>::verify(
			&decision_payload::<T>(decision),
			decision.public.clone(),
			signature.clone(),
		) {
			return Err(InvalidTransaction::BadProof.into());
		}
		let now = frame_system::Pallet::<T>::block_number();
		let longevity: u64 = policy.end.saturating_sub(now).max(One::one()).unique_saturated_into();
		ValidTransaction::with_tag_prefix("KmsDecision")
			.priority(T::ResponsePriority::get())
			.and_provides((decision.policy, decision.version, &decision.node))
			.longevity(longevity)
			.propagate(true)
			.build()
			.map(|validity| (validity, Weight::zero()))
	}

	/// Applies a node's decision: an accepting node serves the version from now on (its fee
	/// share accrues from the current period if it never accepted before); a declining node
	/// leaves the policy, and the part of its share it has not earned goes back to the owner.
	pub(crate) fn do_decide(decision: PolicyDecisionOf<T>) -> DispatchResult {
		let mut policy = Self::check_decision(&decision)?;
		let PolicyDecision { policy: id, version, node, decision, .. } = decision;
		let now = frame_system::Pallet::<T>::block_number();
		let current = Self::period_of(now);
		PendingDecisions::<T>::remove(&node, id);
		match decision {
			Decision::Accept => {
				for entry in policy.nodes.iter_mut().filter(|entry| entry.node == node) {
					entry.accepted = Some(now);
				}
				FeeShares::<T>::mutate(id, &node, |share| {
					if let Some(share) = share {
						share.accepted_from.get_or_insert(current);
					}
				});
				let ready = policy.accepted() == policy.threshold;
				Policies::<T>::insert(id, &policy);
				Self::deposit_event(Event::PolicyAccepted { id, version, node });
				if ready {
					Self::deposit_event(Event::PolicyReady { id, version });
				}
			},
			Decision::Decline(reason) => {
				let Some(index) = policy.nodes.iter().position(|entry| entry.node == node) else {
					return Err(Error::<T>::NoPendingDecision.into());
				};
				let entry = policy.nodes.remove(index);
				Self::release_key_use(&node, entry.key_version);
				KFrags::<T>::remove(id, &node);
				// A node that never accepted earned nothing: all of its share goes back. One
				// that served an earlier version keeps the current period, as a node that
				// leaves by rotation does.
				let refunded = match FeeShares::<T>::get(id, &node) {
					Some(share) if share.accepted_from.is_none() => {
						Self::refund_share(id, &mut policy, &node, share)
					},
					Some(_) => Self::cut_share(id, &mut policy, &node, current),
					None => Zero::zero(),
				};
				Policies::<T>::insert(id, &policy);
				Self::deposit_event(Event::PolicyDeclined { id, version, node, reason, refunded });
			},
		}
		Ok(())
	}

	/// Refunds every unsettled period of a share that never earned anything and removes it.
	fn refund_share(
		id: PolicyId,
		policy: &mut PolicyOf<T>,
		node: &T::AccountId,
		share: FeeShare,
	) -> BalanceOf<T> {
		let refund = policy.fee_rate.saturating_mul(share.unsettled().into());
		Self::refund_owner(policy, refund);
		FeeShares::<T>::remove(id, node);
		refund
	}

	/// What `create_policy` charges: its own benchmarked weight and the `nodes` decisions it
	/// causes (free transactions the owner pays for).
	pub fn create_weight(nodes: u32, conditions: u32) -> Weight {
		T::WeightInfo::create_policy(nodes, conditions)
			.saturating_add(Self::decisions_weight(nodes))
	}

	/// What `request_reencryption` of `capsules` charges under a policy of `nodes` nodes: its
	/// own benchmarked weight, its share of the deadline processing (the worst case of one
	/// request: every other node of the policy recorded as missing, every payment made) and
	/// the `nodes` answers it causes (free transactions the requester pays for: their checks
	/// in the pool and their dispatch), so that one paid request never buys block space it
	/// did not pay for.
	pub fn request_weight(capsules: u32, nodes: u32) -> Weight {
		let answer = T::WeightInfo::authorize_response(capsules)
			.saturating_add(T::WeightInfo::submit_cfrags(capsules));
		T::WeightInfo::request_reencryption(capsules, T::MaxConditionNodes::get())
			.saturating_add(
				T::WeightInfo::process_deadlines(1)
					.saturating_sub(T::WeightInfo::process_deadlines(0)),
			)
			.saturating_add(answer.saturating_mul(nodes.into()))
	}

	/// The storage deposit of a request of `capsules` capsules under a policy of `nodes`
	/// nodes: `DepositPerByte` for each byte it may keep, each entry with its key: the request
	/// (its capsules, and its other fields at their largest), its deposit's entry, and for
	/// each node its place among the answers and its cfrags, one per capsule.
	pub fn request_deposit(capsules: u32, nodes: u32) -> BalanceOf<T> {
		// A storage prefix, and a request id hashed with `Twox64Concat`.
		let key = 32 + 8 + RequestId::max_encoded_len();
		let account = T::AccountId::max_encoded_len();
		let fixed = RequestOf::<T>::max_encoded_len()
			.saturating_sub(BoundedVec::<CapsuleBytes, T::MaxCapsules>::max_encoded_len())
			.saturating_sub(BoundedVec::<T::AccountId, T::MaxNodes>::max_encoded_len())
			.saturating_add(2 * codec::Compact::<u32>::max_encoded_len())
			.saturating_add(key * 2 + BalanceOf::<T>::max_encoded_len());
		let per_node = account + key + 16 + account + codec::Compact::<u32>::max_encoded_len();
		let cfrags = CapsuleFragBytes::max_encoded_len() as u32;
		let bytes =
			(fixed as u32)
				.saturating_add(capsules.saturating_mul(CapsuleBytes::max_encoded_len() as u32))
				.saturating_add(nodes.saturating_mul(
					(per_node as u32).saturating_add(capsules.saturating_mul(cfrags)),
				));
		T::DepositPerByte::get().saturating_mul(bytes.into())
	}

	/// The bytes of a retired policy's id in [`RetiredPolicies`]: the entry's key (the
	/// storage prefix, the id's hash and the id).
	pub const RETIRED_BYTES: u32 = 32 + 16 + 16;

	/// The bytes each node adds to a policy while it is live: its entry in the policy, its
	/// kfrag envelope, fee share, pending decision and key use, each entry with its key
	/// (storage prefix, hashed ids and accounts).
	fn bytes_per_node() -> u32 {
		let entry = |key: usize, value: usize| (32 + key + value) as u32;
		let account = 16 + T::AccountId::max_encoded_len();
		let id = 16 + PolicyId::max_encoded_len();
		PolicyNodeOf::<T>::max_encoded_len() as u32
			+ entry(id + account, EncryptedKFrag::max_encoded_len())
			+ entry(id + account, FeeShare::max_encoded_len())
			+ entry(account + id, PolicyVersion::max_encoded_len())
			+ entry(account + 8 + KeyVersion::max_encoded_len(), u32::max_encoded_len())
	}

	/// The storage deposit of `policy`: `DepositPerByte` for each byte it may keep: its record
	/// at its largest but for its label and conditions as they are (they never change), its
	/// deposit's and its owner index's entries, what each node adds while it is live
	/// (`bytes_per_node`), and its id's retirement ([`Self::RETIRED_BYTES`]). It
	/// changes with the number of nodes only, at rotations (a declining node leaves it as it
	/// is).
	pub fn policy_deposit(policy: &PolicyOf<T>) -> BalanceOf<T> {
		let id = 16 + PolicyId::max_encoded_len();
		let fixed = PolicyOf::<T>::max_encoded_len()
			.saturating_sub(BoundedVec::<u8, T::MaxLabelLen>::max_encoded_len())
			.saturating_sub(ConditionsOf::<T>::max_encoded_len())
			.saturating_sub(BoundedVec::<PolicyNodeOf<T>, T::MaxNodes>::max_encoded_len());
		let record = 32
			+ id + fixed
			+ policy.label.encoded_size()
			+ policy.conditions.encoded_size()
			+ codec::Compact::<u32>::max_encoded_len();
		let deposit = 32 + id + BalanceOf::<T>::max_encoded_len();
		let owner_index = 32 + 16 + T::AccountId::max_encoded_len() + id;
		let bytes = ((record + deposit + owner_index) as u32)
			.saturating_add(Self::bytes_per_node().saturating_mul(policy.nodes.len() as u32))
			.saturating_add(Self::RETIRED_BYTES);
		T::DepositPerByte::get().saturating_mul(bytes.into())
	}

	/// Holds (or releases) what it takes for policy `id`'s deposit to be
	/// [`Self::policy_deposit`] of `policy` on its owner's account.
	fn set_policy_deposit(id: PolicyId, policy: &PolicyOf<T>) -> DispatchResult {
		let new = Self::policy_deposit(policy);
		let old = PolicyDeposits::<T>::get(id).unwrap_or_default();
		if new > old {
			asset::hold_policy_deposit::<T>(&policy.owner, new.saturating_sub(old))
				.map_err(|_| Error::<T>::CannotPayPolicyDeposit)?;
		} else if old > new {
			asset::release_policy_deposit::<T>(&policy.owner, old.saturating_sub(new))?;
		}
		if new.is_zero() {
			PolicyDeposits::<T>::remove(id);
		} else {
			PolicyDeposits::<T>::insert(id, new);
		}
		Ok(())
	}

	/// Removes closed, settled policy `id` whose requests are all pruned: its record goes, its
	/// id is retired, and its deposit goes back to its owner but for the retirement's part
	/// (burned: the id's entry stays for good). Returns what was released.
	pub(crate) fn do_remove_policy(
		owner: &T::AccountId,
		id: PolicyId,
	) -> Result<BalanceOf<T>, DispatchError> {
		let policy = Policies::<T>::get(id).ok_or(Error::<T>::UnknownPolicy)?;
		ensure!(&policy.owner == owner, Error::<T>::NotOwner);
		// Requests made under it were made before this block.
		let closed_at = match policy.status {
			PolicyStatus::Active => return Err(Error::<T>::PolicyNotClosed.into()),
			PolicyStatus::Revoked(at) => at,
			PolicyStatus::Expired => policy.end,
		};
		ensure!(FeeShares::<T>::iter_key_prefix(id).next().is_none(), Error::<T>::PolicyUnsettled);
		let fees = &policy.fees;
		ensure!(
			fees.escrowed == fees.paid.saturating_add(fees.refunded),
			Error::<T>::PolicyUnsettled
		);
		// Requests are pruned in order of their ids, which follow their blocks: once the oldest
		// retained request is younger than the policy's close, none of its requests remain.
		let oldest = OldestRequest::<T>::get();
		if oldest < NextRequestId::<T>::get() {
			let retained = Requests::<T>::get(oldest).is_none_or(|r| r.created <= closed_at);
			ensure!(!retained, Error::<T>::RequestsRetained);
		}
		let deposit = PolicyDeposits::<T>::take(id).unwrap_or_default();
		let retirement =
			T::DepositPerByte::get().saturating_mul(Self::RETIRED_BYTES.into()).min(deposit);
		asset::burn_policy_deposit::<T>(owner, retirement)?;
		let released = deposit.saturating_sub(retirement);
		asset::release_policy_deposit::<T>(owner, released)?;
		Policies::<T>::remove(id);
		OwnerPolicies::<T>::remove(owner, id);
		RetiredPolicies::<T>::insert(id, ());
		Self::deposit_event(Event::PolicyRemoved { id, released });
		Ok(released)
	}

	/// The weight of `nodes` free decisions: their checks in the pool and their dispatch.
	pub fn decisions_weight(nodes: u32) -> Weight {
		T::WeightInfo::authorize_decision()
			.saturating_add(T::WeightInfo::decide_on_policy())
			.saturating_mul(nodes.into())
	}

	/// Settles up to `limit` periods of `node`'s share of `id`, in order, that are over.
	/// Returns how many were settled.
	fn settle_share(
		id: PolicyId,
		policy: &PolicyOf<T>,
		node: &T::AccountId,
		limit: u32,
	) -> Result<u32, DispatchError> {
		let Some(mut share) = FeeShares::<T>::get(id, node) else { return Ok(0) };
		let current = T::Staking::current_period();
		let mut policy_fees = policy.fees.clone();
		let (mut paid, mut refunded, mut periods) =
			(BalanceOf::<T>::zero(), BalanceOf::<T>::zero(), 0u32);
		while periods < limit && share.next <= share.last && share.next < current {
			let accepted = share.accepted_from.is_some_and(|from| from <= share.next);
			if accepted && T::Staking::is_serving(node, share.next) {
				paid.saturating_accrue(policy.fee_rate);
			} else {
				refunded.saturating_accrue(policy.fee_rate);
			}
			share.next = share.next.saturating_add(1);
			periods.saturating_inc();
		}
		if periods == 0 {
			return Ok(0);
		}
		if !paid.is_zero() {
			asset::pay::<T>(&policy.owner, node, paid)?;
			policy_fees.paid.saturating_accrue(paid);
		}
		if !refunded.is_zero() {
			asset::refund::<T>(&policy.owner, refunded)?;
			policy_fees.refunded.saturating_accrue(refunded);
		}
		if share.next > share.last {
			FeeShares::<T>::remove(id, node);
		} else {
			FeeShares::<T>::insert(id, node, share);
		}
		Policies::<T>::mutate(id, |stored| {
			if let Some(stored) = stored {
				stored.fees = policy_fees;
			}
		});
		Self::deposit_event(Event::FeesSettled {
			policy: id,
			node: node.clone(),
			periods,
			paid,
			refunded,
		});
		Ok(periods)
	}

	pub(crate) fn do_claim_fees(id: PolicyId, node: &T::AccountId, limit: u32) -> DispatchResult {
		let policy = Policies::<T>::get(id).ok_or(Error::<T>::UnknownPolicy)?;
		let settled = Self::settle_share(id, &policy, node, limit)?;
		ensure!(settled > 0, Error::<T>::NothingToSettle);
		Ok(())
	}

	pub(crate) fn do_settle_policy(id: PolicyId, limit: u32) -> DispatchResult {
		let mut policy = Policies::<T>::get(id).ok_or(Error::<T>::UnknownPolicy)?;
		let now = frame_system::Pallet::<T>::block_number();
		let mut closed = false;
		match policy.status {
			// Requests made before the end are answered until their deadline: the kfrags
			// stay until then.
			PolicyStatus::Active if now < policy.end.saturating_add(T::ResponseWindow::get()) => {
				return Err(Error::<T>::PolicyStillActive.into())
			},
			PolicyStatus::Active => {
				// Ended: every share already ends with the policy's last period.
				let (_, last) = Self::covered_periods(policy.start, policy.end);
				Self::close(id, &mut policy, last);
				policy.status = PolicyStatus::Expired;
				Policies::<T>::insert(id, &policy);
				Self::deposit_event(Event::PolicyExpired { id });
				closed = true;
			},
			PolicyStatus::Revoked(_) | PolicyStatus::Expired => {},
		}
		let mut settled = 0u32;
		let nodes: Vec<T::AccountId> = FeeShares::<T>::iter_key_prefix(id)
			.take(T::MaxNodes::get() as usize * 2)
			.collect();
		for node in nodes {
			let policy = Policies::<T>::get(id).ok_or(Error::<T>::UnknownPolicy)?;
			settled.saturating_accrue(Self::settle_share(id, &policy, &node, limit)?);
		}
		ensure!(closed || settled > 0, Error::<T>::NothingToSettle);
		Ok(())
	}

	/// Records the unanswered nodes of the requests whose deadline was `block` against their
	/// service in the period of the deadline, and announces the requests that failed.
	pub(crate) fn process_deadlines(block: BlockNumberFor<T>) -> Weight {
		let ids = Deadlines::<T>::take(block);
		let count = ids.len() as u32;
		if count == 0 {
			return T::WeightInfo::process_deadlines(0);
		}
		let period = Self::period_of(block);
		for id in ids {
			let Some(request) = Requests::<T>::get(id) else { continue };
			let Some(policy) = Policies::<T>::get(request.policy) else { continue };
			Self::settle_access_payments(id, &request, &policy);
			if !Self::answerable(&policy, &request) {
				continue;
			}
			// Only nodes that had accepted when the request was made were bound to answer it.
			for PolicyNode { node, accepted, .. } in &policy.nodes {
				let bound = accepted.is_some_and(|at| at <= request.created);
				if bound && !request.answered.contains(node) {
					T::Staking::record_missed_deadline(node, period);
				}
			}
			let answers = request.answered.len() as u32;
			if answers < policy.threshold {
				Self::deposit_event(Event::RequestFailed { request: id, answers });
			}
		}
		T::WeightInfo::process_deadlines(count)
	}

	/// Settles what request `id` held for its access payments: paid to the policy's payees by
	/// the answer that fulfils it, else (failed, or cancelled by a revocation or rotation
	/// first) refunded in the block after its deadline. A payment that cannot be made (a payee
	/// that cannot receive it) is refunded too: nothing stays held.
	fn settle_access_payments(id: RequestId, request: &RequestOf<T>, policy: &PolicyOf<T>) {
		let Some(mut held) = AccessPayments::<T>::take(id) else { return };
		let requester = &request.requester;
		let fulfilled =
			Self::answerable(policy, request) && request.answered.len() as u32 >= policy.threshold;
		if fulfilled {
			for (to, amount) in conditions::payments::<T>(&policy.conditions) {
				let amount = amount.min(held);
				if asset::pay_access::<T>(requester, to, amount).is_ok() {
					held.saturating_reduce(amount);
					Self::deposit_event(Event::AccessPaid {
						policy: request.policy,
						requester: requester.clone(),
						to: to.clone(),
						amount,
					});
				}
			}
		}
		if !held.is_zero() {
			if asset::refund_access::<T>(requester, held).is_err() {
				frame_support::defensive!("an access payment was not held");
			}
			Self::deposit_event(Event::AccessRefunded {
				request: id,
				requester: requester.clone(),
				amount: held,
			});
		}
	}

	/// Removes requests (and their cfrags) whose retention has passed, oldest first, within
	/// `budget`.
	pub(crate) fn prune_requests(now: BlockNumberFor<T>, budget: Weight) -> Weight {
		let per_request = T::WeightInfo::prune_request(T::MaxNodes::get());
		let mut used = T::DbWeight::get().reads_writes(2, 1);
		if !budget.all_gte(used.saturating_add(per_request)) {
			return Weight::zero();
		}
		let mut oldest = OldestRequest::<T>::get();
		let next = NextRequestId::<T>::get();
		while oldest < next && budget.all_gte(used.saturating_add(per_request)) {
			match Requests::<T>::get(oldest) {
				Some(request)
					if request.deadline.saturating_add(T::RetentionPeriod::get()) >= now =>
				{
					break
				},
				Some(request) => {
					Requests::<T>::remove(oldest);
					let _ = Responses::<T>::clear_prefix(oldest, T::MaxNodes::get(), None);
					if let Some(deposit) = RequestDeposits::<T>::take(oldest) {
						// Held when the request was made: releasing it cannot fail.
						if asset::release_request_deposit::<T>(&request.requester, deposit).is_err()
						{
							frame_support::defensive!("a request deposit was not held");
						}
					}
				},
				None => {},
			}
			used.saturating_accrue(per_request);
			oldest = oldest.saturating_add(1);
		}
		OldestRequest::<T>::put(oldest);
		used
	}

	/// What a request made now burns for its slot.
	pub fn request_price() -> BalanceOf<T> {
		RequestPrice::<T>::get().unwrap_or_default().max(T::MinRequestPrice::get())
	}

	/// Moves the request price after block `block` (the one before this): up by an eighth
	/// times how far its requests were above the target (half of `MaxRequestsPerBlock`),
	/// down likewise below it, never under `MinRequestPrice`.
	pub(crate) fn update_request_price(block: BlockNumberFor<T>) -> Weight {
		// Every request of `block` is due at the same block.
		let made = Deadlines::<T>::decode_len(block.saturating_add(T::ResponseWindow::get()))
			.unwrap_or(0) as u32;
		let target = (T::MaxRequestsPerBlock::get() / 2).max(1);
		let price = Self::request_price();
		let step = sp_runtime::Perbill::from_rational(made.abs_diff(target).min(target), target)
			* (price / 8u32.into());
		let next =
			if made > target { price.saturating_add(step) } else { price.saturating_sub(step) };
		if next <= T::MinRequestPrice::get() {
			RequestPrice::<T>::kill();
		} else {
			RequestPrice::<T>::put(next);
		}
		T::DbWeight::get().reads_writes(2, 1)
	}

	/// The status of a retained request.
	pub fn request_status(id: RequestId) -> Option<RequestStatus<BlockNumberFor<T>>> {
		let request = Requests::<T>::get(id)?;
		let policy = Policies::<T>::get(request.policy)?;
		let answers = request.answered.len() as u32;
		let now = frame_system::Pallet::<T>::block_number();
		Some(if answers >= policy.threshold && policy.version == request.version {
			RequestStatus::Fulfilled { answers }
		} else if !Self::answerable(&policy, &request) {
			RequestStatus::Cancelled
		} else if now > request.deadline {
			RequestStatus::Failed { answers }
		} else {
			RequestStatus::Pending { answers, deadline: request.deadline }
		})
	}

	/// The cfrags of a retained request, by node, in order of the answers.
	pub fn cfrags(id: RequestId) -> Vec<(T::AccountId, Vec<Vec<u8>>)> {
		let Some(request) = Requests::<T>::get(id) else { return Vec::new() };
		request
			.answered
			.into_iter()
			.filter_map(|node| {
				let cfrags = Responses::<T>::get(id, &node)?;
				Some((node, cfrags.into_iter().map(|c| c.into_inner()).collect()))
			})
			.collect()
	}

	/// The ids of `owner`'s policies after `start_after`, at most `limit` (and 100).
	pub fn policies_of(
		owner: &T::AccountId,
		start_after: Option<PolicyId>,
		limit: u32,
	) -> Vec<PolicyId> {
		let limit = limit.min(100) as usize;
		match start_after {
			Some(after) => OwnerPolicies::<T>::iter_key_prefix_from(
				owner,
				OwnerPolicies::<T>::hashed_key_for(owner, after),
			)
			.take(limit)
			.collect(),
			None => OwnerPolicies::<T>::iter_key_prefix(owner).take(limit).collect(),
		}
	}

	/// Up to `count` distinct nodes eligible for a policy ending at `end`, drawn in
	/// proportion to stake from `seed`.
	pub fn sample_nodes(count: u32, end: BlockNumberFor<T>, seed: [u8; 32]) -> Vec<T::AccountId> {
		let last = Self::period_of(end.saturating_sub(One::one()));
		let mut candidates: Vec<(T::AccountId, u128)> = T::Staking::eligible_nodes(last)
			.into_iter()
			.map(|(node, stake)| (node, stake.unique_saturated_into()))
			.filter(|(_, stake): &(_, u128)| *stake > 0)
			.collect();
		let mut chosen = Vec::new();
		let wanted = count.min(T::MaxNodes::get()) as usize;
		let mut round = 0u32;
		while chosen.len() < wanted && !candidates.is_empty() {
			let total = candidates.iter().fold(0u128, |sum, (_, stake)| sum.saturating_add(*stake));
			let draw = sp_io::hashing::blake2_256(&(seed, round).encode());
			let mut point = u128::from_le_bytes(
				draw.get(..16).and_then(|b| b.try_into().ok()).unwrap_or([0u8; 16]),
			) % total.max(1);
			let mut index = 0;
			for (i, (_, stake)) in candidates.iter().enumerate() {
				if point < *stake {
					index = i;
					break;
				}
				point = point.saturating_sub(*stake);
			}
			chosen.push(candidates.swap_remove(index).0);
			round = round.saturating_add(1);
		}
		chosen
	}

	/// The pallet's invariants, checked after every test and by try-runtime:
	/// - escrow: each policy's `escrowed − paid − refunded` equals `fee_rate ×` its shares'
	///   unsettled periods, and each owner's hold equals the sum over its policies;
	/// - every share belongs to an existing policy and lies within its covered periods;
	/// - kfrags exist exactly for the nodes of active policies, and `KeyUsage` counts them;
	/// - `PendingDecisions` lists exactly the pending nodes of active policies, at the current
	///   version; a node that accepted has a fee share accruing from its acceptance (while it
	///   has a share at all);
	/// - `OwnerPolicies` indexes exactly the policies, under their owners;
	/// - each requester's held request deposits are the sum of its retained requests'
	///   deposits; pay-per-access holds likewise for the unsettled requests;
	/// - every retained request refers to an existing policy, lies in
	///   `OldestRequest..NextRequestId`, has its deadline within `ResponseWindow` of its
	///   creation, has at most `MaxNodes` answers, each with a
	///   stored response of one cfrag per capsule; every response belongs to a request;
	/// - no deadline queue is left behind the current block.
	#[cfg(any(feature = "std", feature = "try-runtime"))]
	pub fn do_try_state() -> Result<(), sp_runtime::TryRuntimeError> {
		use alloc::collections::btree_map::BTreeMap;
		let mut held: BTreeMap<T::AccountId, BalanceOf<T>> = BTreeMap::new();
		let mut usage: BTreeMap<(T::AccountId, KeyVersion), u32> = BTreeMap::new();
		let mut pending = 0u32;
		for (id, policy) in Policies::<T>::iter() {
			ensure!(OwnerPolicies::<T>::contains_key(&policy.owner, id), "unindexed policy");
			let (first, last) = Self::covered_periods(policy.start, policy.end);
			let mut unsettled = 0u32;
			for share in FeeShares::<T>::iter_prefix_values(id) {
				ensure!(share.first >= first && share.last <= last, "share outside the policy");
				ensure!(share.next <= share.last, "settled share kept");
				unsettled.saturating_accrue(share.unsettled());
			}
			let remaining = policy
				.fees
				.escrowed
				.saturating_sub(policy.fees.paid)
				.saturating_sub(policy.fees.refunded);
			ensure!(
				remaining == policy.fee_rate.saturating_mul(unsettled.into()),
				"escrow differs from the unsettled shares"
			);
			held.entry(policy.owner.clone()).or_default().saturating_accrue(remaining);
			let active = policy.status == PolicyStatus::Active;
			for PolicyNode { node, key_version, accepted } in &policy.nodes {
				ensure!(KFrags::<T>::contains_key(id, node) == active, "kfrag of a closed policy");
				if active {
					usage.entry((node.clone(), *key_version)).or_default().saturating_inc();
					pending.saturating_accrue(u32::from(accepted.is_none()));
					ensure!(
						PendingDecisions::<T>::get(node, id)
							== accepted.is_none().then_some(policy.version),
						"PendingDecisions differs from the policy's pending nodes"
					);
				}
				if accepted.is_some() {
					ensure!(
						FeeShares::<T>::get(id, node).is_none_or(|s| s.accepted_from.is_some()),
						"an accepting node's share does not accrue"
					);
				}
			}
			ensure!(
				KFrags::<T>::iter_key_prefix(id).count()
					== if active { policy.nodes.len() } else { 0 },
				"kfrag of a node not in the policy"
			);
		}
		for (owner, escrow) in &held {
			ensure!(
				asset::escrowed::<T>(owner) == *escrow,
				"held escrow differs from the policies"
			);
		}
		let mut policy_deposits: BTreeMap<T::AccountId, BalanceOf<T>> = BTreeMap::new();
		// (What each policy holds is not compared with `policy_deposit`: an upgrade may change
		// `DepositPerByte`, and deposits keep what they were.)
		for (id, policy) in Policies::<T>::iter() {
			let deposit = PolicyDeposits::<T>::get(id).unwrap_or_default();
			policy_deposits.entry(policy.owner).or_default().saturating_accrue(deposit);
		}
		for (id, amount) in PolicyDeposits::<T>::iter() {
			ensure!(Policies::<T>::contains_key(id), "deposit of no policy");
			ensure!(!amount.is_zero(), "a zero deposit stored");
		}
		for (owner, amount) in &policy_deposits {
			ensure!(
				asset::policy_deposits_held::<T>(owner) == *amount,
				"held policy deposits differ from the policies"
			);
		}
		for id in RetiredPolicies::<T>::iter_keys() {
			ensure!(!Policies::<T>::contains_key(id), "a retired id in use");
		}
		for (owner, id, ()) in OwnerPolicies::<T>::iter() {
			ensure!(Policies::<T>::get(id).is_some_and(|p| p.owner == owner), "stale owner index");
		}
		for (id, _) in FeeShares::<T>::iter_keys() {
			ensure!(Policies::<T>::contains_key(id), "share of an unknown policy");
		}
		ensure!(
			PendingDecisions::<T>::iter().count() as u32 == pending,
			"a pending decision of no pending node"
		);
		let stored: BTreeMap<_, _> =
			KeyUsage::<T>::iter().map(|(node, version, n)| ((node, version), n)).collect();
		ensure!(stored == usage, "KeyUsage differs from the active policies");

		let mut access_held: BTreeMap<T::AccountId, BalanceOf<T>> = BTreeMap::new();
		for (id, amount) in AccessPayments::<T>::iter() {
			let request = Requests::<T>::get(id).ok_or("access payment of no request")?;
			ensure!(
				frame_system::Pallet::<T>::block_number()
					<= request.deadline.saturating_add(One::one()),
				"access payment kept past its settlement"
			);
			access_held.entry(request.requester).or_default().saturating_accrue(amount);
		}
		for (requester, amount) in &access_held {
			ensure!(
				asset::access_payments_held::<T>(requester) == *amount,
				"held access payments differ from the unsettled requests"
			);
		}

		let mut deposits: BTreeMap<T::AccountId, BalanceOf<T>> = BTreeMap::new();
		for (id, amount) in RequestDeposits::<T>::iter() {
			let request = Requests::<T>::get(id).ok_or("deposit of no request")?;
			ensure!(!amount.is_zero(), "a zero deposit stored");
			deposits.entry(request.requester).or_default().saturating_accrue(amount);
		}
		for (requester, amount) in &deposits {
			ensure!(
				asset::request_deposits_held::<T>(requester) == *amount,
				"held request deposits differ from the retained requests"
			);
		}

		let (oldest, next) = (OldestRequest::<T>::get(), NextRequestId::<T>::get());
		for (id, request) in Requests::<T>::iter() {
			ensure!(id >= oldest && id < next, "request outside the retained range");
			ensure!(
				request.deadline <= request.created.saturating_add(T::ResponseWindow::get()),
				"deadline beyond the response window"
			);
			ensure!(Policies::<T>::contains_key(request.policy), "request of an unknown policy");
			ensure!(request.answered.len() <= T::MaxNodes::get() as usize, "too many answers");
			for node in &request.answered {
				let cfrags = Responses::<T>::get(id, node).ok_or("answer without cfrags")?;
				ensure!(cfrags.len() == request.capsules.len(), "not one cfrag per capsule");
			}
		}
		for (id, node) in Responses::<T>::iter_keys() {
			let request = Requests::<T>::get(id).ok_or("response to an unknown request")?;
			ensure!(request.answered.contains(&node), "response not counted");
		}
		let now = frame_system::Pallet::<T>::block_number();
		ensure!(Deadlines::<T>::iter_keys().all(|block| block >= now), "unprocessed deadline");
		ensure!(
			RequestPrice::<T>::get().is_none_or(|price| price > T::MinRequestPrice::get()),
			"a request price at or below the floor stored"
		);
		Ok(())
	}
}

impl<T: Config> From<AccessDenied> for Error<T> {
	fn from(denied: AccessDenied) -> Self {
		match denied {
			AccessDenied::UnknownPolicy => Error::UnknownPolicy,
			AccessDenied::Revoked => Error::PolicyRevoked,
			AccessDenied::Expired => Error::PolicyExpired,
			AccessDenied::TooEarly => Error::TooEarly,
			AccessDenied::TooLate => Error::TooLate,
			AccessDenied::WrongRequester => Error::WrongRequester,
			AccessDenied::BalanceTooLow => Error::BalanceTooLow,
			AccessDenied::CannotPay => Error::CannotPayForAccess,
			AccessDenied::NoAlternativeHolds => Error::NoAlternativeHolds,
			AccessDenied::NegationHolds => Error::NegationHolds,
			AccessDenied::AwaitingAcceptance => Error::AwaitingAcceptance,
		}
	}
}

impl<T: Config> PolicyRegistry<T::AccountId> for Pallet<T> {
	fn has_active_policies(node: &T::AccountId) -> bool {
		KeyUsage::<T>::iter_prefix_values(node).any(|count| count > 0)
	}

	fn uses_key(node: &T::AccountId, version: KeyVersion) -> bool {
		KeyUsage::<T>::get(node, version) > 0
	}
}

impl<T: Config> ReencryptionRecords<T::AccountId> for Pallet<T> {
	fn stored_cfrag(
		request: RequestId,
		node: &T::AccountId,
		capsule_index: u32,
	) -> Option<(CfragEvidence, OffenceSpan)> {
		let record = Requests::<T>::get(request)?;
		let policy = Policies::<T>::get(record.policy)?;
		let cfrag = Responses::<T>::get(request, node)?.get(capsule_index as usize)?.clone();
		let capsule = record.capsules.get(capsule_index as usize)?.clone();
		Some((
			CfragEvidence {
				capsule,
				cfrag,
				verifying_key: policy.verifying_key,
				delegating_key: policy.delegating_key,
				receiving_key: record.receiving_key,
			},
			OffenceSpan { policy: record.policy, version: record.version },
		))
	}

	fn policy_keys_for(
		policy: PolicyId,
		version: PolicyVersion,
		node: &T::AccountId,
	) -> Option<[UmbralPublicKey; 3]> {
		let policy = Policies::<T>::get(policy)?;
		// Only a node bound by the version (it accepted it) answers for it.
		let bound = policy.node(node).is_some_and(|entry| entry.accepted.is_some());
		(policy.version == version && bound && policy.status == PolicyStatus::Active).then_some([
			policy.verifying_key,
			policy.delegating_key,
			policy.receiving_key,
		])
	}

	#[cfg(feature = "runtime-benchmarks")]
	fn store_for_benchmark(node: &T::AccountId, evidence: CfragEvidence) -> (PolicyId, RequestId) {
		let now = frame_system::Pallet::<T>::block_number();
		let id: PolicyId = sp_io::hashing::blake2_128(&(b"benchmark", node).encode());
		let nodes =
			alloc::vec![PolicyNode { node: node.clone(), key_version: 0, accepted: Some(now) }];
		Policies::<T>::insert(
			id,
			Policy {
				owner: node.clone(),
				label: Default::default(),
				delegating_key: evidence.delegating_key,
				verifying_key: evidence.verifying_key,
				receiving_key: evidence.receiving_key,
				threshold: 1,
				nodes: nodes.try_into().unwrap_or_default(),
				start: now,
				end: now.saturating_add(T::ResponseWindow::get()),
				fee_rate: T::MinFeeRate::get(),
				fees: Default::default(),
				conditions: Default::default(),
				status: PolicyStatus::Active,
				version: 0,
			},
		);
		let request = NextRequestId::<T>::get();
		NextRequestId::<T>::put(request.saturating_add(1));
		Requests::<T>::insert(
			request,
			Request {
				policy: id,
				version: 0,
				receiving_key: evidence.receiving_key,
				requester: node.clone(),
				capsules: alloc::vec![evidence.capsule].try_into().unwrap_or_default(),
				created: now,
				deadline: now.saturating_add(T::ResponseWindow::get()),
				answered: alloc::vec![node.clone()].try_into().unwrap_or_default(),
			},
		);
		Responses::<T>::insert(
			request,
			node,
			CfragsOf::<T>::try_from(alloc::vec![evidence.cfrag]).unwrap_or_default(),
		);
		(id, request)
	}
}
