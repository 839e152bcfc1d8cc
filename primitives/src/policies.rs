//! Policies, re-encryption requests and their answers as the chain records them, and the
//! runtime API clients use to query them.
//!
//! See `PROTOCOL.md`, "Policies" and "Re-encryption". Capsules, kfrags and cfrags travel in
//! umbral-pre's standard serialization ([`crate::wire`]).

use crate::staking::{KeyVersion, UmbralPublicKey};
use codec::{Decode, DecodeWithMemTracking, Encode, MaxEncodedLen};
use scale_info::TypeInfo;
use sp_core::ConstU32;
use sp_runtime::BoundedVec;

pub use crate::wire::{CAPSULE_LEN, CFRAG_LEN, KFRAG_LEN};

/// Where a node keeps its Umbral identity seeds: a key of its persistent offchain storage,
/// holding SCALE `Vec<[u8; 32]>`. Each seed's secret is umbral-pre's
/// `SecretKeyFactory::from_secure_randomness(seed).make_key(b"node")`. Never on chain, never
/// returned by a safe RPC; the re-encryption worker reads it, the node writes it.
pub const UMBRAL_SEEDS_KEY: &[u8] = b"kms::umbral-seeds";

/// A policy's id: 16 bytes chosen by its owner (like NuCypher's HRAC), unique for ever.
pub type PolicyId = [u8; 16];

/// A re-encryption request's id: a counter.
pub type RequestId = u64;

/// The version of a policy: 0 at creation, one more at each rotation.
pub type PolicyVersion = u32;

/// Length of a kfrag encrypted to a node ([`EncryptedKFrag::ciphertext`]): umbral-pre's DEM
/// output for a [`KFRAG_LEN`]-byte plaintext, a 24-byte XChaCha20 nonce, the ciphertext and
/// a 16-byte Poly1305 tag.
pub const ENCRYPTED_KFRAG_LEN: usize = 24 + KFRAG_LEN + 16;

/// A capsule in umbral-pre's standard serialization ([`CAPSULE_LEN`] bytes once checked).
pub type CapsuleBytes = BoundedVec<u8, ConstU32<{ CAPSULE_LEN as u32 }>>;

/// A cfrag in umbral-pre's standard serialization ([`CFRAG_LEN`] bytes once checked).
pub type CapsuleFragBytes = BoundedVec<u8, ConstU32<{ CFRAG_LEN as u32 }>>;

/// A kfrag encrypted to its node's Umbral key: the envelope that sits on chain.
///
/// The owner serializes the kfrag (umbral-pre's standard serialization, [`KFRAG_LEN`] bytes)
/// and encrypts those bytes with umbral-pre's `encrypt` to the node's Umbral public key of
/// the version the policy records. `capsule` is the resulting capsule in its standard
/// serialization, `ciphertext` the resulting ciphertext. The node decrypts with
/// `decrypt_original(node_secret, capsule, ciphertext)` and deserializes the kfrag. Only the
/// lengths and the capsule are checked on chain; the node checks the kfrag
/// (`KeyFrag::verify` against the policy's keys) before using it.
#[derive(
	Encode, Decode, DecodeWithMemTracking, MaxEncodedLen, TypeInfo, Clone, PartialEq, Eq, Debug,
)]
pub struct EncryptedKFrag {
	/// The capsule of the encryption to the node's key.
	pub capsule: CapsuleBytes,
	/// The encrypted kfrag ([`ENCRYPTED_KFRAG_LEN`] bytes once checked).
	pub ciphertext: BoundedVec<u8, ConstU32<{ ENCRYPTED_KFRAG_LEN as u32 }>>,
}

/// One node of a policy as its owner grants it: the node (its staker's account), the version
/// of the node's Umbral key the kfrag is encrypted to, and the encrypted kfrag.
#[derive(
	Encode, Decode, DecodeWithMemTracking, MaxEncodedLen, TypeInfo, Clone, PartialEq, Eq, Debug,
)]
pub struct NodeGrant<AccountId> {
	/// The node.
	pub node: AccountId,
	/// The version of the node's Umbral key `kfrag` is encrypted to.
	pub key_version: KeyVersion,
	/// The node's kfrag, encrypted to that key.
	pub kfrag: EncryptedKFrag,
}

/// One node of a policy as stored: the node, the version of its key, and whether it accepted
/// the policy's current version.
///
/// A node is bound by a policy only once it has accepted it: it opened its kfrag, checked it
/// completely (`KeyFrag::verify` and a self-test re-encryption checked with
/// `CapsuleFrag::verify` against the policy's keys) and said so on chain with its operator key.
/// Until then no deadline counts against it and it earns no fee.
#[derive(
	Encode, Decode, DecodeWithMemTracking, MaxEncodedLen, TypeInfo, Clone, PartialEq, Eq, Debug,
)]
pub struct PolicyNode<AccountId, BlockNumber> {
	/// The node (its staker's account).
	pub node: AccountId,
	/// The version of the node's Umbral key its kfrag is encrypted to.
	pub key_version: KeyVersion,
	/// The block in which the node accepted this version of the policy; `None` while pending.
	pub accepted: Option<BlockNumber>,
}

/// Why a node declined a policy: what its check of its kfrag found. Reported on chain so that
/// the owner can see what went wrong with its grant.
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
pub enum DeclineReason {
	/// The envelope does not open with the node's key of the recorded version.
	EnvelopeUnopenable,
	/// The envelope opens, but not to a kfrag in umbral-pre's canonical serialization.
	MalformedKFrag,
	/// `KeyFrag::verify` fails against the policy's verifying, delegating and receiving keys.
	InvalidKFrag,
	/// The kfrag verifies, but a test re-encryption with it fails `CapsuleFrag::verify` with
	/// the policy's keys: every cfrag it made would be judged incorrect.
	SelfTestFailed,
}

/// A node's answer to a policy it was named in.
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
pub enum Decision {
	/// The kfrag passed every check: the node serves the policy.
	Accept,
	/// The kfrag failed a check: the node does not serve the policy.
	Decline(DeclineReason),
}

/// What a node checked before deciding on a policy: the blake2-256 hash of the SCALE encoding
/// of `(verifying key, delegating key, receiving key, its envelope)`. An acceptance carries
/// it, so that it binds the node to exactly what it checked, on whichever fork it lands.
pub fn grant_content_hash(keys: &PolicyKeys, envelope: &EncryptedKFrag) -> [u8; 32] {
	<sp_runtime::traits::BlakeTwo256 as sp_runtime::traits::Hash>::hash(&(keys, envelope).encode())
		.0
}

/// What a policy's owner signs, with the signer whose key is the policy's verifying key (the
/// one that signed its kfrags), to create it: who creates it, its id, keys, threshold, end,
/// conditions and every node's grant (kfrag envelopes included). `create_policy` carries the
/// signature over [`GrantTerms::signing_payload`]. Without it, anyone who saw a policy's
/// envelopes (they stay in the chain's history) could create a copy of it with other
/// conditions or a later end, and its nodes would serve the copy: the kfrags are genuine.
#[derive(Encode, Clone, PartialEq, Eq, Debug)]
pub struct GrantTerms<'a, AccountId, BlockNumber, Conditions, Grants> {
	/// The account creating the policy.
	pub owner: &'a AccountId,
	/// The policy's id.
	pub id: PolicyId,
	/// Its keys.
	pub keys: PolicyKeys,
	/// Its threshold.
	pub threshold: u32,
	/// Its last block.
	pub end: BlockNumber,
	/// Its conditions, as the call carries them.
	pub conditions: &'a Conditions,
	/// Its grants, as the call carries them.
	pub grants: &'a Grants,
}

impl<AccountId: Encode, BlockNumber: Encode, Conditions: Encode, Grants: Encode>
	GrantTerms<'_, AccountId, BlockNumber, Conditions, Grants>
{
	/// The bytes the owner's signer signs on the chain whose genesis hash is `genesis`
	/// (domain [`crate::signing::GRANT`]).
	pub fn signing_payload(&self, genesis: &impl Encode) -> alloc::vec::Vec<u8> {
		crate::signing::payload(crate::signing::GRANT, genesis, self)
	}
}

/// The three Umbral keys of a policy version, by name.
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
pub struct PolicyKeys {
	/// The public key of the owner's signer: kfrags are signed with it.
	pub verifying: UmbralPublicKey,
	/// The owner's key for the label: capsules are encrypted to it.
	pub delegating: UmbralPublicKey,
	/// The reader's key: cfrags re-encrypt for it.
	pub receiving: UmbralPublicKey,
}

/// One node of a condition tree. A tree is stored flat, in prefix order: `All { count }` and
/// `Any { count }` apply to the `count` subtrees that follow, `Not` to the one that follows; the other
/// variants are leaves. An empty tree always holds.
#[derive(
	Encode, Decode, DecodeWithMemTracking, MaxEncodedLen, TypeInfo, Clone, PartialEq, Eq, Debug,
)]
pub enum Condition<AccountId, Balance, BlockNumber> {
	/// Holds from `block` on.
	NotBefore {
		/// The first block at which it holds.
		block: BlockNumber,
	},
	/// Holds through `block`.
	NotAfter {
		/// The last block at which it holds.
		block: BlockNumber,
	},
	/// Holds when the requester is `account`.
	RequesterIs {
		/// The one requester it admits.
		account: AccountId,
	},
	/// Holds when the requester's free balance is at least `amount`.
	MinBalance {
		/// The smallest free balance it admits.
		amount: Balance,
	},
	/// Holds when the requester can pay `amount` to `to`; the payment is made by the request.
	/// Only allowed where it is certain to be evaluated: not under `Any` or `Not`.
	PayPerAccess {
		/// Who is paid (usually the owner).
		to: AccountId,
		/// How much, per request.
		amount: Balance,
	},
	/// Holds when all of the next `count` subtrees hold.
	All {
		/// How many subtrees follow (at least one).
		count: u8,
	},
	/// Holds when any of the next `count` subtrees holds.
	Any {
		/// How many subtrees follow (at least one).
		count: u8,
	},
	/// Holds when the next subtree does not.
	Not,
}

/// Why a requester may not use a policy now: the verdict of `check_access`, and the error
/// `request_reencryption` fails with.
#[derive(
	Encode, Decode, DecodeWithMemTracking, MaxEncodedLen, TypeInfo, Clone, PartialEq, Eq, Debug,
)]
pub enum AccessDenied {
	/// No policy has this id.
	UnknownPolicy,
	/// The owner revoked the policy.
	Revoked,
	/// The policy's end has passed.
	Expired,
	/// A `NotBefore` condition: too early.
	TooEarly,
	/// A `NotAfter` condition: too late.
	TooLate,
	/// A `RequesterIs` condition: another requester.
	WrongRequester,
	/// A `MinBalance` condition: the requester's balance is too low.
	BalanceTooLow,
	/// A `PayPerAccess` condition: the requester cannot pay.
	CannotPay,
	/// An `Any` condition: none of its alternatives holds.
	NoAlternativeHolds,
	/// A `Not` condition: its subtree holds.
	NegationHolds,
	/// Fewer nodes than the threshold have accepted the policy's current version yet: wait for
	/// their acceptances (or rotate to other nodes, if some declined).
	AwaitingAcceptance,
}

/// The status of a policy.
#[derive(
	Encode, Decode, DecodeWithMemTracking, MaxEncodedLen, TypeInfo, Clone, PartialEq, Eq, Debug,
)]
pub enum PolicyStatus<BlockNumber> {
	/// Requests are accepted until the end.
	Active,
	/// Revoked by the owner at block `0`.
	Revoked(BlockNumber),
	/// Ended and settled: every fee is paid out or refunded.
	Expired,
}

/// Fees of a policy, all in the currency's smallest unit: `escrowed − paid − refunded` is
/// what is still held from the owner for it.
#[derive(
	Encode,
	Decode,
	DecodeWithMemTracking,
	MaxEncodedLen,
	TypeInfo,
	Clone,
	PartialEq,
	Eq,
	Debug,
	Default,
)]
pub struct PolicyFees<Balance> {
	/// Put in escrow by the owner (at creation and rotations).
	pub escrowed: Balance,
	/// Paid to nodes for periods they served.
	pub paid: Balance,
	/// Returned to the owner for periods not served or no longer granted.
	pub refunded: Balance,
}

/// The state of a re-encryption request, as the runtime API reports it.
#[derive(
	Encode, Decode, DecodeWithMemTracking, MaxEncodedLen, TypeInfo, Clone, PartialEq, Eq, Debug,
)]
pub enum RequestStatus<BlockNumber> {
	/// Waiting for answers until `deadline`; `answers` so far, fewer than the threshold.
	Pending {
		/// Nodes that answered.
		answers: u32,
		/// The last block in which nodes may answer.
		deadline: BlockNumber,
	},
	/// At least the threshold of nodes answered; the cfrags are on chain.
	Fulfilled {
		/// Nodes that answered.
		answers: u32,
	},
	/// The deadline passed with fewer answers than the threshold.
	Failed {
		/// Nodes that answered.
		answers: u32,
	},
	/// The policy was revoked or rotated before the request was fulfilled; nodes no longer
	/// answer it (request again under the new version).
	Cancelled,
}

/// What the adjudicator needs to judge a cfrag: the capsule it answers, the cfrag, and the
/// policy keys it must verify against (the receiving key of the request's version).
#[derive(
	Encode, Decode, DecodeWithMemTracking, MaxEncodedLen, TypeInfo, Clone, PartialEq, Eq, Debug,
)]
pub struct CfragEvidence {
	/// The capsule, standard serialization.
	pub capsule: CapsuleBytes,
	/// The cfrag, standard serialization.
	pub cfrag: CapsuleFragBytes,
	/// The policy's verifying key (the owner's signer).
	pub verifying_key: UmbralPublicKey,
	/// The policy's delegating key.
	pub delegating_key: UmbralPublicKey,
	/// The receiving key the cfrag was made for.
	pub receiving_key: UmbralPublicKey,
}

/// A cfrag a node served off chain (the fast path of `PROTOCOL.md`, "Re-encryption", step 5),
/// as its operator signs it. The node and the client both sign and check
/// [`SignedCfrag::signing_payload`], so that a client can take a bad answer to the
/// adjudicator.
#[derive(
	Encode, Decode, DecodeWithMemTracking, MaxEncodedLen, TypeInfo, Clone, PartialEq, Eq, Debug,
)]
pub struct SignedCfrag<AccountId> {
	/// The policy the node answered under.
	pub policy: PolicyId,
	/// The policy's version then (only the current version can be judged).
	pub version: PolicyVersion,
	/// The node that answered (its staker's account).
	pub node: AccountId,
	/// The capsule it was asked to re-encrypt.
	pub capsule: CapsuleBytes,
	/// Its answer.
	pub cfrag: CapsuleFragBytes,
}

impl<AccountId: Encode> SignedCfrag<AccountId> {
	/// The bytes the node's operator key signs: [`crate::signing::payload`] with the domain
	/// [`crate::signing::SIGNED_CFRAG`] and the chain's genesis hash.
	pub fn signing_payload(&self, genesis: &impl Encode) -> alloc::vec::Vec<u8> {
		crate::signing::payload(crate::signing::SIGNED_CFRAG, genesis, self)
	}
}

/// What one incorrect cfrag is charged under: the policy version whose kfrag made it. All of a
/// node's incorrect cfrags under one span are one offence (one defect, one kfrag), whatever
/// number of capsules and requests the evidence was drawn from.
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
	PartialOrd,
	Ord,
	Debug,
)]
pub struct OffenceSpan {
	/// The policy.
	pub policy: PolicyId,
	/// Its version the cfrag was made under.
	pub version: PolicyVersion,
}

/// What the Policies pallet offers the adjudicator: the stored answers and the policies' keys.
pub trait ReencryptionRecords<AccountId> {
	/// The evidence for `node`'s cfrag of capsule `capsule_index` of `request`, while retained,
	/// and the span it is charged under (the request's policy version).
	fn stored_cfrag(
		request: RequestId,
		node: &AccountId,
		capsule_index: u32,
	) -> Option<(CfragEvidence, OffenceSpan)>;
	/// The keys of `policy` at `version` (verifying, delegating, receiving), if the policy is
	/// active, that is its current version, and `node` is one of its nodes that accepted it.
	fn policy_keys_for(
		policy: PolicyId,
		version: PolicyVersion,
		node: &AccountId,
	) -> Option<[UmbralPublicKey; 3]>;

	/// Benchmarks only: stores `evidence` as `node`'s answer to a new request of a new policy
	/// (version 0, `node` its only node) and returns the policy and the request.
	#[cfg(feature = "runtime-benchmarks")]
	fn store_for_benchmark(node: &AccountId, evidence: CfragEvidence) -> (PolicyId, RequestId);
}

/// Why a node may not be granted a new policy now (`create_policy` and `rotate_policy` refuse
/// it with `NodeNotEligible` or `FeeRateBelowNodeMinimum`).
#[derive(Encode, Decode, DecodeWithMemTracking, TypeInfo, Clone, PartialEq, Eq, Debug)]
pub enum GrantRefusal {
	/// The node is not eligible.
	Ineligible(crate::staking::Ineligibility),
	/// The offered fee rate is below the node's own minimum.
	FeeRateBelowMinimum,
}

/// What a node needs to answer a direct request (the fast path) under a policy: the policy's
/// current version and keys, whether it has `PayPerAccess` conditions, and the node's own part
/// of that version, which it accepted.
#[derive(Encode, Decode, DecodeWithMemTracking, TypeInfo, Clone, PartialEq, Eq, Debug)]
pub struct DirectService {
	/// The policy's current version.
	pub version: PolicyVersion,
	/// Its keys.
	pub keys: PolicyKeys,
	/// Whether access is paid (then a node answers only once the request is in a block).
	pub pays_per_access: bool,
	/// The version of the node's Umbral key the kfrag is encrypted to.
	pub key_version: KeyVersion,
	/// The node's kfrag, encrypted to that key.
	pub kfrag: EncryptedKFrag,
}

sp_api::decl_runtime_apis! {
	/// What a node's fast path (`kms_reencrypt`) asks the chain before it answers a direct
	/// request: the checks `request_direct_reencryption` makes, and its own part of the policy.
	pub trait DirectAccessApi<AccountId>
	where
		AccountId: codec::Codec,
	{
		/// Whether a direct request of `requester` under `policy` for `capsules` would be logged
		/// as granted: the policy's current version if so, else the error the chain gives (a
		/// `Policies` module error: `MalformedCapsule`, `PolicyRevoked`, `TooEarly`, …).
		fn check_direct_request(
			requester: AccountId,
			policy: PolicyId,
			capsules: alloc::vec::Vec<CapsuleBytes>,
		) -> Result<PolicyVersion, sp_runtime::DispatchError>;

		/// What `node` needs to answer direct requests under `policy`, if it accepted the
		/// policy's current version and its kfrag is on chain.
		fn direct_service(policy: PolicyId, node: AccountId) -> Option<DirectService>;

		/// `check_direct_request` but for decoding the capsules (their number and lengths are
		/// checked), for a node that decodes them natively first with the same code
		/// (`kms-wire`; `pallet_kms_policies::Pallet::check_direct_capsules`). Since version 2.
		#[api_version(2)]
		fn check_direct_access(
			requester: AccountId,
			policy: PolicyId,
			capsules: alloc::vec::Vec<CapsuleBytes>,
		) -> Result<PolicyVersion, sp_runtime::DispatchError>;
	}

	/// Whether a node can be granted a policy, asked of the chain rather than recomputed by
	/// clients.
	pub trait GrantsApi<AccountId, Balance, BlockNumber>
	where
		AccountId: codec::Codec,
		Balance: codec::Codec,
		BlockNumber: codec::Codec,
	{
		/// Why `node` could not be granted a policy ending at block `end` (its first block
		/// after) at `fee_rate` per period if it were created in the next block; `None` if it
		/// could.
		fn grant_refusal(node: AccountId, end: BlockNumber, fee_rate: Balance) -> Option<GrantRefusal>;
	}

	/// Queries of the Policies pallet for clients.
	pub trait PoliciesApi<AccountId, Balance, BlockNumber>
	where
		AccountId: codec::Codec,
		Balance: codec::Codec,
		BlockNumber: codec::Codec,
	{
		/// Up to `count` distinct nodes eligible for a policy ending at block `end`, drawn
		/// with probability proportional to stake from `seed` (the same seed gives the same
		/// nodes on the same state). Fewer if fewer are eligible.
		fn sample_nodes(count: u32, end: BlockNumber, seed: [u8; 32]) -> alloc::vec::Vec<AccountId>;

		/// Whether `requester` may request re-encryption under `policy` now; the reason if
		/// not. `request_reencryption` fails with the same reason.
		fn check_access(policy: PolicyId, requester: AccountId) -> Result<(), AccessDenied>;

		/// The state of a request, while it is retained.
		fn request_status(request: RequestId) -> Option<RequestStatus<BlockNumber>>;

		/// The answers to a request: each node with its cfrags (standard serialization, one
		/// per capsule, in the request's order).
		fn cfrags(request: RequestId) -> alloc::vec::Vec<(AccountId, alloc::vec::Vec<alloc::vec::Vec<u8>>)>;

		/// Ids of `owner`'s policies, at most `limit` (capped by the runtime), after
		/// `start_after` in storage order (pass the last id of the previous page).
		fn policies_of(owner: AccountId, start_after: Option<PolicyId>, limit: u32) -> alloc::vec::Vec<PolicyId>;
	}
}
