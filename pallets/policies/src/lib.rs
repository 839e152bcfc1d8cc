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
//! its operator (a free authorized transaction over the request's content and the policy's
//! keys, or a signed one). At the block after a deadline, the request's unanswered nodes that
//! had accepted by the request's block are recorded against their service in the staking
//! pallet; this work is bounded by `MaxRequestsPerBlock × MaxNodes` and paid for by the
//! requests. Requests and their cfrags are kept for `RetentionPeriod` blocks after their
//! deadline, then pruned in bounded batches when blocks have weight to spare.
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
//!
//! ## Code map
//!
//! [`pallet`] declares the configuration, storage, events, errors, hooks and calls; each call
//! checks its origin and hands over to the module of its concern: `grants` (policies from
//! creation to removal, and the nodes' decisions), `requests` (access, admission, answers,
//! deadlines, the slot price), `direct` (the fast path's direct requests: the access log of what nodes answer off chain), `fees` (shares and their settlement), `deposits` (storage
//! deposits), [`conditions`] (access conditions). `api` answers the runtime API and implements
//! what the other pallets see; [`offchain`] is the node's worker; `invariants` checks the state
//! (`try_state`). Every movement of funds goes through `asset`.
#![cfg_attr(not(feature = "std"), no_std)]
// `expect` is left to clippy's defaults: FRAME's macros expand to it (on paths that cannot fail).
#![cfg_attr(not(test), deny(clippy::unwrap_used, clippy::indexing_slicing))]

extern crate alloc;

mod api;
mod asset;
#[cfg(feature = "runtime-benchmarks")]
mod benchmarking;
pub mod conditions;
mod deposits;
mod direct;
mod fees;
mod grants;
#[cfg(any(feature = "std", feature = "try-runtime"))]
mod invariants;
#[cfg(test)]
mod mock;
pub mod offchain;
pub mod pallet;
mod requests;
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
		Decision, DeclineReason, DirectService, EncryptedKFrag, GrantRefusal, GrantTerms,
		NodeGrant, OffenceSpan, PolicyFees, PolicyId, PolicyKeys, PolicyNode, PolicyStatus,
		PolicyVersion, ReencryptionRecords, RequestId, RequestStatus, CAPSULE_LEN, CFRAG_LEN,
		ENCRYPTED_KFRAG_LEN,
	},
	signing,
	staking::{
		KeyVersion, MaybeStakingBenchmarks, NodeDirectory, NodeService, Period, PolicyRegistry,
		StakingPeriods, UmbralPublicKey, UmbralSignature,
	},
	wire,
};
use sp_runtime::{
	traits::{CheckedMul, IdentifyAccount, One, Saturating, UniqueSaturatedInto, Zero},
	transaction_validity::TransactionValidityWithRefund,
};

pub use pallet::pallet::*;
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
	BlockNumberFor<T>,
	<T as SigningTypes>::Public,
	<T as Config>::MaxCapsules,
>;
/// A node's decision on a policy, as its operator signs it.
pub type PolicyDecisionOf<T> = PolicyDecision<
	<T as frame_system::Config>::AccountId,
	BlockNumberFor<T>,
	<T as SigningTypes>::Public,
>;
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
