//! # KMS Adjudicator
//!
//! What makes a node's signature on a wrong answer expensive (`PROTOCOL.md`, "Challenges").
//! Anyone may challenge a cfrag, holding a `ChallengeDeposit`: either one stored on chain by
//! the Policies pallet ([`Pallet::challenge_cfrag`]), or one the node served off chain and
//! signed with its operator key ([`Pallet::challenge_signed_cfrag`], the fast path). The
//! runtime re-runs umbral-pre's `CapsuleFrag::verify` with the policy's keys, in WebAssembly.
//!
//! - An incorrect cfrag (bad re-encryption proof, bad kfrag signature, or bytes that are not a
//!   cfrag at all) costs its node
//!   `min(BasePenalty + PenaltyHistoryCoefficient × prior_penalties, held /
//!   PercentagePenaltyCoefficient)`, slashed from its stake, where `held` is everything the
//!   node has at stake, active and unbonding: unbonding never dodges a penalty. The challenger
//!   gets `penalty / RewardCoefficient` and its deposit back; the rest goes to `OnPenalty`.
//! - A correct cfrag costs the challenger its deposit (to `OnPenalty`): challenges are not free
//!   to spam.
//!
//! **Offences combine by span.** Every incorrect cfrag is charged under the policy version
//! whose kfrag made it ([`OffenceSpan`]). The first incorrect cfrag of a node in a span is an
//! offence and is penalized; later ones in the same span are judged and recorded, the
//! challenger gets its deposit back, but they add no penalty and no offence: one defect is one
//! offence, whatever number of capsules and requests the evidence is drawn from (polkadot-sdk's
//! slashing spans keep the same proportion). A node that signs wrong answers under many policy
//! versions commits many offences, each escalating the next.
//!
//! Either way the evidence's hash is recorded: the same evidence is never judged twice.
//! Judgement never traps: untrusted bytes are decoded only in their canonical form
//! ([`kms_primitives::wire`]), and whatever else the node signed is `Undecodable`, its fault.
//!
//! ## Code map
//!
//! [`pallet`] declares the configuration, storage, events, errors, hooks and calls; `judgement`
//! judges challenged cfrags and applies penalties; `invariants` checks the state
//! (`try_state`); every movement of funds goes through `asset`.
#![cfg_attr(not(feature = "std"), no_std)]
// `expect` is left to clippy's defaults: FRAME's macros expand to it (on paths that cannot fail).
#![cfg_attr(not(test), deny(clippy::unwrap_used, clippy::indexing_slicing))]

extern crate alloc;

mod asset;
#[cfg(feature = "runtime-benchmarks")]
mod benchmarking;
#[cfg(any(feature = "std", feature = "try-runtime"))]
mod invariants;
mod judgement;
#[cfg(test)]
mod mock;
pub mod pallet;
#[cfg(test)]
mod tests;
pub mod weights;

use codec::{Decode, DecodeWithMemTracking, Encode, MaxEncodedLen};
use frame_support::{
	pallet_prelude::*,
	traits::{
		fungible::{self, Credit},
		Imbalance, OnUnbalanced,
	},
};
use frame_system::pallet_prelude::*;
use kms_primitives::{
	policies::{CfragEvidence, OffenceSpan, ReencryptionRecords, RequestId, SignedCfrag},
	staking::{MaybeStakingBenchmarks, NodeDirectory, StakeLedger, UmbralPublicKey},
	wire,
};
use scale_info::TypeInfo;
use sp_runtime::traits::{IdentifyAccount, Saturating, Verify, Zero};

pub use pallet::pallet::*;
pub use weights::WeightInfo;

/// A balance of the staking currency.
pub type BalanceOf<T> =
	<<T as Config>::Currency as fungible::Inspect<<T as frame_system::Config>::AccountId>>::Balance;
/// Funds taken out of a stake or a deposit, for the runtime to route.
pub type CreditOf<T> = Credit<<T as frame_system::Config>::AccountId, <T as Config>::Currency>;
/// A signed off-chain answer of this runtime.
pub type SignedCfragOf<T> = SignedCfrag<<T as frame_system::Config>::AccountId>;

/// What a judged cfrag was.
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
pub enum Verdict {
	/// It verifies: the node answered honestly.
	Correct,
	/// Its re-encryption proof fails.
	IncorrectReencryption,
	/// The kfrag signature it carries does not verify with the policy's keys.
	IncorrectKeyFragSignature,
	/// The node signed bytes that are not a cfrag.
	Undecodable,
}

impl Verdict {
	/// Whether the node is penalized.
	pub fn is_incorrect(&self) -> bool {
		!matches!(self, Self::Correct)
	}
}

/// A judgement, kept under the evidence's hash.
#[derive(
	Encode, Decode, DecodeWithMemTracking, MaxEncodedLen, TypeInfo, Clone, PartialEq, Eq, Debug,
)]
pub struct Judgement<AccountId, Balance, BlockNumber> {
	/// The node whose cfrag it was.
	pub node: AccountId,
	/// The span the cfrag is charged under.
	pub span: OffenceSpan,
	/// The verdict.
	pub verdict: Verdict,
	/// `Some(n)`: the cfrag was the node's offence number `n` (0 for the first) and was
	/// penalized; `None`: it was correct, or incorrect in a span already penalized.
	pub offence: Option<u32>,
	/// What was slashed from the node (zero unless `offence` is `Some`).
	pub penalty: Balance,
	/// When.
	pub at: BlockNumber,
}
