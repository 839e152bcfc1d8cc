//! The Rewards pallet's stored types.

use codec::{Decode, DecodeWithMemTracking, Encode, MaxEncodedLen};
use kms_primitives::staking::Period;
use scale_info::TypeInfo;
use sp_runtime::traits::UniqueSaturatedInto;

/// A staker's share of a period: its stake and lock multiplier (`k1 + min(T, kmax)`) when
/// it began serving the period.
#[derive(
	Encode, Decode, DecodeWithMemTracking, MaxEncodedLen, TypeInfo, Clone, PartialEq, Eq, Debug,
)]
pub struct Share<Balance> {
	/// The active stake at the heartbeat.
	pub stake: Balance,
	/// `k1 + min(T, kmax)`, `T` the remaining lock at the heartbeat.
	pub multiplier: Period,
}

impl<Balance: UniqueSaturatedInto<u128> + Copy> Share<Balance> {
	/// `stake · multiplier`: the share's weight in its period.
	pub fn weight(&self) -> u128 {
		let stake: u128 = self.stake.unique_saturated_into();
		stake.saturating_mul(self.multiplier.into())
	}
}

/// A period's serving totals and, once it is closed, its base issuance.
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
pub struct PeriodRewards<Balance> {
	/// The stake of every node serving in the period.
	pub serving_stake: Balance,
	/// The sum of the serving shares' weights (`stake · multiplier`).
	pub weighted_stake: u128,
	/// `Imax` or `(MaxSupply − supply) / d`, fixed when the period closes.
	pub base: Option<Balance>,
}
