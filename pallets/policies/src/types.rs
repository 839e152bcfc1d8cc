//! The records the Policies pallet keeps.

use codec::{Decode, DecodeWithMemTracking, Encode, MaxEncodedLen};
use frame_support::{
	BoundedVec, CloneNoBound, DebugNoBound, DefaultNoBound, EqNoBound, PartialEqNoBound,
};
use kms_primitives::{
	policies::{
		CapsuleBytes, CapsuleFragBytes, Condition, Decision, PolicyFees, PolicyId, PolicyKeys,
		PolicyNode, PolicyStatus, PolicyVersion, RequestId,
	},
	staking::{Period, UmbralPublicKey},
};
use scale_info::TypeInfo;
use sp_runtime::traits::Get;

/// A policy: who granted what to whom, through which nodes, until when, for which fee.
#[derive(
	Encode,
	Decode,
	DecodeWithMemTracking,
	MaxEncodedLen,
	TypeInfo,
	CloneNoBound,
	PartialEqNoBound,
	EqNoBound,
	DebugNoBound,
)]
#[scale_info(skip_type_params(MaxNodes, MaxLabel, MaxConditions))]
pub struct Policy<AccountId, Balance, BlockNumber, MaxNodes, MaxLabel, MaxConditions>
where
	AccountId: Clone + PartialEq + Eq + core::fmt::Debug,
	Balance: Clone + PartialEq + Eq + core::fmt::Debug,
	BlockNumber: Clone + PartialEq + Eq + core::fmt::Debug,
	MaxNodes: Get<u32>,
	MaxLabel: Get<u32>,
	MaxConditions: Get<u32>,
{
	/// Alice: who granted it, pays its fees and may revoke or rotate it.
	pub owner: AccountId,
	/// The label the delegating key was derived for (informational; the keys are what count).
	pub label: BoundedVec<u8, MaxLabel>,
	/// The owner's Umbral public key for the label: capsules are encrypted to it.
	pub delegating_key: UmbralPublicKey,
	/// The public key of the owner's signer: kfrags (and so cfrags) are signed with it.
	pub verifying_key: UmbralPublicKey,
	/// Bob's Umbral public key: the cfrags let it, and only it, decrypt.
	pub receiving_key: UmbralPublicKey,
	/// How many nodes' cfrags Bob needs (`M`).
	pub threshold: u32,
	/// The nodes of the current version (`N`), each with the key version of its kfrag and
	/// whether it accepted this version. A node that declined is no longer listed.
	pub nodes: BoundedVec<PolicyNode<AccountId, BlockNumber>, MaxNodes>,
	/// The block it was created in.
	pub start: BlockNumber,
	/// The first block in which it no longer accepts requests.
	pub end: BlockNumber,
	/// The fee per node per period.
	pub fee_rate: Balance,
	/// What was escrowed, paid and refunded.
	pub fees: PolicyFees<Balance>,
	/// Conditions on requesters, a flat prefix-order tree (empty: anyone).
	pub conditions: BoundedVec<Condition<AccountId, Balance, BlockNumber>, MaxConditions>,
	/// Active, revoked or expired.
	pub status: PolicyStatus<BlockNumber>,
	/// 0 at creation, one more at each rotation.
	pub version: PolicyVersion,
}

impl<AccountId, Balance, BlockNumber, MaxNodes, MaxLabel, MaxConditions>
	Policy<AccountId, Balance, BlockNumber, MaxNodes, MaxLabel, MaxConditions>
where
	AccountId: Clone + PartialEq + Eq + core::fmt::Debug,
	Balance: Clone + PartialEq + Eq + core::fmt::Debug,
	BlockNumber: Clone + PartialEq + Eq + core::fmt::Debug,
	MaxNodes: Get<u32>,
	MaxLabel: Get<u32>,
	MaxConditions: Get<u32>,
{
	/// The keys of the current version, by name.
	pub fn keys(&self) -> PolicyKeys {
		PolicyKeys {
			verifying: self.verifying_key,
			delegating: self.delegating_key,
			receiving: self.receiving_key,
		}
	}

	/// How many nodes accepted the current version.
	pub fn accepted(&self) -> u32 {
		self.nodes.iter().filter(|node| node.accepted.is_some()).count() as u32
	}

	/// `node`'s entry in the current version.
	pub fn node(&self, node: &AccountId) -> Option<&PolicyNode<AccountId, BlockNumber>> {
		self.nodes.iter().find(|entry| &entry.node == node)
	}
}

/// A node's fee share in a policy: the periods `first..=last` it is paid for if it serves in
/// them, settled in order up to (excluding) `next`. `rate × (last + 1 − next)` of the
/// policy's escrow belongs to this share; nothing when `next > last`. Periods before
/// `accepted_from` (all of them while it is `None`) are refunded to the owner whatever the
/// node's service: a node earns only once it has accepted the policy.
#[derive(
	Encode,
	Decode,
	DecodeWithMemTracking,
	MaxEncodedLen,
	TypeInfo,
	Clone,
	Copy,
	PartialEq,
	Eq,
	Debug,
)]
pub struct FeeShare {
	/// The first period of the share.
	pub first: Period,
	/// The last period of the share.
	pub last: Period,
	/// The first period not settled yet.
	pub next: Period,
	/// The period of the node's first acceptance of the policy (any version); `None` while
	/// it has never accepted.
	pub accepted_from: Option<Period>,
}

impl FeeShare {
	/// Periods not settled yet.
	pub fn unsettled(&self) -> u32 {
		self.last.saturating_add(1).saturating_sub(self.next)
	}
}

/// A re-encryption request.
#[derive(
	Encode,
	Decode,
	DecodeWithMemTracking,
	MaxEncodedLen,
	TypeInfo,
	CloneNoBound,
	PartialEqNoBound,
	EqNoBound,
	DebugNoBound,
)]
#[scale_info(skip_type_params(MaxCapsules, MaxNodes))]
pub struct Request<AccountId, BlockNumber, MaxCapsules, MaxNodes>
where
	AccountId: Clone + PartialEq + Eq + core::fmt::Debug,
	BlockNumber: Clone + PartialEq + Eq + core::fmt::Debug,
	MaxCapsules: Get<u32>,
	MaxNodes: Get<u32>,
{
	/// The policy it is made under.
	pub policy: PolicyId,
	/// The policy's version then: only that version's nodes answer it.
	pub version: PolicyVersion,
	/// The policy's receiving key then: what the cfrags re-encrypt for, and what they are
	/// verified against (a later rotation may change the policy's).
	pub receiving_key: UmbralPublicKey,
	/// Who asked (Bob, or whoever met the conditions).
	pub requester: AccountId,
	/// The capsules to re-encrypt, in umbral-pre's standard serialization.
	pub capsules: BoundedVec<CapsuleBytes, MaxCapsules>,
	/// The block it was made in.
	pub created: BlockNumber,
	/// The last block in which nodes may answer.
	pub deadline: BlockNumber,
	/// The nodes that answered, in order of their answers.
	pub answered: BoundedVec<AccountId, MaxNodes>,
}

impl<AccountId, BlockNumber, MaxCapsules, MaxNodes>
	Request<AccountId, BlockNumber, MaxCapsules, MaxNodes>
where
	AccountId: Clone + PartialEq + Eq + core::fmt::Debug + Encode,
	BlockNumber: Clone + PartialEq + Eq + core::fmt::Debug + Encode,
	MaxCapsules: Get<u32>,
	MaxNodes: Get<u32>,
{
	/// The blake2-256 hash of what the request asks (everything but its answers): what a
	/// response signs, so that a signed answer applies to this request only, on any fork.
	pub fn content_hash(&self) -> [u8; 32] {
		sp_io::hashing::blake2_256(
			&(
				self.policy,
				self.version,
				&self.receiving_key,
				&self.requester,
				&self.capsules,
				&self.created,
				&self.deadline,
			)
				.encode(),
		)
	}

	/// What an answer to the request signs ([`Response::request_hash`]): its
	/// [`Self::content_hash`] with the policy's verifying and delegating keys it is answered
	/// under, the keys its cfrags are judged by. An owner who gives the same policy id, version
	/// and request other keys on another fork (with a colluding block author) cannot make an
	/// answer made there apply here, where its cfrags would be judged wrong.
	pub fn answer_hash(
		&self,
		verifying_key: &UmbralPublicKey,
		delegating_key: &UmbralPublicKey,
	) -> [u8; 32] {
		sp_io::hashing::blake2_256(&(self.content_hash(), verifying_key, delegating_key).encode())
	}
}

/// A node's answer to a request, as its operator signs it for the free, authorized path.
#[derive(
	Encode,
	Decode,
	DecodeWithMemTracking,
	MaxEncodedLen,
	TypeInfo,
	CloneNoBound,
	PartialEqNoBound,
	EqNoBound,
	DebugNoBound,
)]
#[scale_info(skip_type_params(MaxCapsules))]
pub struct Response<AccountId, BlockNumber, Public, MaxCapsules>
where
	AccountId: Clone + PartialEq + Eq + core::fmt::Debug,
	BlockNumber: Clone + PartialEq + Eq + core::fmt::Debug,
	Public: Clone + PartialEq + Eq + core::fmt::Debug,
	MaxCapsules: Get<u32>,
{
	/// The request answered.
	pub request: RequestId,
	/// The request's [`Request::answer_hash`] under the policy's keys: the answer is valid for
	/// that request, under those keys, only.
	pub request_hash: [u8; 32],
	/// The node answering (its staker's account).
	pub node: AccountId,
	/// One cfrag per capsule of the request, in its order.
	pub cfrags: BoundedVec<CapsuleFragBytes, MaxCapsules>,
	/// The block whose offchain run sent this answer. A later attempt ranks higher in the
	/// pool, so that it replaces an earlier one a peer refused (see
	/// [`crate::Pallet::authorize_response`]); an answer cannot claim a block to come.
	pub sent_at: BlockNumber,
	/// The operator's public key; its account must be the node's operator.
	pub public: Public,
}

/// A node's decision on a policy version it was named in, as its operator signs it for the
/// free, authorized path.
#[derive(
	Encode,
	Decode,
	DecodeWithMemTracking,
	MaxEncodedLen,
	TypeInfo,
	CloneNoBound,
	PartialEqNoBound,
	EqNoBound,
	DebugNoBound,
)]
pub struct PolicyDecision<AccountId, BlockNumber, Public>
where
	AccountId: Clone + PartialEq + Eq + core::fmt::Debug,
	BlockNumber: Clone + PartialEq + Eq + core::fmt::Debug,
	Public: Clone + PartialEq + Eq + core::fmt::Debug,
{
	/// The policy.
	pub policy: PolicyId,
	/// The version decided on: only the current version can be.
	pub version: PolicyVersion,
	/// The deciding node (its staker's account).
	pub node: AccountId,
	/// What the node checked ([`kms_primitives::policies::grant_content_hash`] of the
	/// version's keys and the node's envelope): the decision is valid for that content only.
	pub content: [u8; 32],
	/// Accept, or decline and why.
	pub decision: Decision,
	/// The block whose offchain run sent this decision: as [`Response::sent_at`].
	pub sent_at: BlockNumber,
	/// The operator's public key; its account must be the node's operator.
	pub public: Public,
}

/// How many requests each requester and each policy made in one block.
#[derive(
	Encode,
	Decode,
	DecodeWithMemTracking,
	MaxEncodedLen,
	TypeInfo,
	CloneNoBound,
	PartialEqNoBound,
	EqNoBound,
	DebugNoBound,
	DefaultNoBound,
)]
#[scale_info(skip_type_params(Max))]
pub struct BlockLoad<AccountId, BlockNumber, Max>
where
	AccountId: Clone + PartialEq + Eq + core::fmt::Debug,
	BlockNumber: Clone + PartialEq + Eq + core::fmt::Debug + Default,
	Max: Get<u32>,
{
	/// The block counted.
	pub block: BlockNumber,
	/// Requests per requester.
	pub requesters: BoundedVec<(AccountId, u32), Max>,
	/// Requests per policy.
	pub policies: BoundedVec<(PolicyId, u32), Max>,
}
