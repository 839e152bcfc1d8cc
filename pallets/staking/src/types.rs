//! The records the Staking pallet keeps.

use codec::{Decode, DecodeWithMemTracking, Encode, MaxEncodedLen};
use frame_support::{BoundedVec, CloneNoBound, DebugNoBound, EqNoBound, PartialEqNoBound};
use kms_primitives::staking::{KeyVersion, Period, UmbralPublicKey};
use scale_info::TypeInfo;
use sp_runtime::traits::Get;

/// Part of a stake on its way out: still held (and slashable) until `withdrawable_at`.
#[derive(
	Encode, Decode, DecodeWithMemTracking, MaxEncodedLen, TypeInfo, Clone, PartialEq, Eq, Debug,
)]
pub struct UnlockChunk<Balance> {
	/// How much.
	pub value: Balance,
	/// The first period in which `withdraw_unbonded` releases it.
	pub withdrawable_at: Period,
}

/// A staker's one ledger. Everything in it is on hold under `HoldReason::Staking`:
/// `active + Σ unlocking.value` is exactly what is held.
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
#[scale_info(skip_type_params(MaxChunks))]
pub struct StakingLedger<Balance, MaxChunks>
where
	Balance: Clone + PartialEq + Eq + core::fmt::Debug,
	MaxChunks: Get<u32>,
{
	/// The bonded stake: what counts for eligibility, rewards and the penalty cap.
	pub active: Balance,
	/// How many more served periods the active stake stays locked. It only shrinks while
	/// `wind_down` is on, by one for each period the node served; `unbond` needs it at zero.
	pub lock_periods: Period,
	/// Whether the lock shrinks as the node serves.
	pub wind_down: bool,
	/// Stake unbonded and waiting for its unbonding period to pass.
	pub unlocking: BoundedVec<UnlockChunk<Balance>, MaxChunks>,
	/// Everything ever slashed from this ledger.
	pub slashed: Balance,
}

impl<Balance, MaxChunks> StakingLedger<Balance, MaxChunks>
where
	Balance: Clone + PartialEq + Eq + core::fmt::Debug + sp_runtime::Saturating + Default + Copy,
	MaxChunks: Get<u32>,
{
	/// Everything the ledger holds: the active stake and every unbonding chunk. All of it is
	/// slashable, and penalties cap on it, so unbonding never dodges a penalty.
	pub fn held(&self) -> Balance {
		self.unlocking
			.iter()
			.fold(self.active, |sum, chunk| sum.saturating_add(chunk.value))
	}
}

/// A registered node: who operates it, its Umbral keys (current and the kept previous ones),
/// and its service.
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
#[scale_info(skip_type_params(MaxKeys))]
pub struct NodeInfo<AccountId, Balance, MaxKeys>
where
	AccountId: Clone + PartialEq + Eq + core::fmt::Debug,
	Balance: Clone + PartialEq + Eq + core::fmt::Debug,
	MaxKeys: Get<u32>,
{
	/// The account that signs heartbeats and responses for the node.
	pub operator: AccountId,
	/// Umbral keys, oldest first; the last is the current one. `keys[i]` has version
	/// `first_key_version + i`.
	pub keys: BoundedVec<UmbralPublicKey, MaxKeys>,
	/// The version of `keys[0]`.
	pub first_key_version: KeyVersion,
	/// The smallest fee rate (per period) the node accepts for a policy.
	pub min_fee_rate: Balance,
	/// The last period the node heartbeated in.
	pub last_heartbeat: Option<Period>,
}

impl<AccountId, Balance, MaxKeys> NodeInfo<AccountId, Balance, MaxKeys>
where
	AccountId: Clone + PartialEq + Eq + core::fmt::Debug,
	Balance: Clone + PartialEq + Eq + core::fmt::Debug,
	MaxKeys: Get<u32>,
{
	/// The version of the current key.
	pub fn current_key_version(&self) -> KeyVersion {
		let kept = self.keys.len().saturating_sub(1) as KeyVersion;
		self.first_key_version.saturating_add(kept)
	}

	/// The key of `version`, if it is still kept.
	pub fn key(&self, version: KeyVersion) -> Option<UmbralPublicKey> {
		let index = version.checked_sub(self.first_key_version)?;
		self.keys.get(index as usize).copied()
	}
}

/// A node's service in one period.
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
pub struct ServiceRecord {
	/// Whether the node heartbeated in the period.
	pub heartbeat: bool,
	/// How many request deadlines of the period it let pass.
	pub missed_deadlines: u32,
}

impl ServiceRecord {
	/// Serving: heartbeated and missed nothing.
	pub fn served(&self) -> bool {
		self.heartbeat && self.missed_deadlines == 0
	}
}

/// What an operator signs to say its node is up in `period`.
#[derive(
	Encode, Decode, DecodeWithMemTracking, MaxEncodedLen, TypeInfo, Clone, PartialEq, Eq, Debug,
)]
pub struct Heartbeat<AccountId, Public> {
	/// The node (its staker's account).
	pub node: AccountId,
	/// The period it is alive in: the current one when submitted.
	pub period: Period,
	/// The operator's public key; its account must be the node's operator.
	pub public: Public,
}
