//! Reward queries shared by the runtime and its clients (`PROTOCOL.md`, "Rewards").

use crate::staking::Period;
use codec::{Decode, Encode};
use scale_info::TypeInfo;

/// What a staker can claim now.
#[derive(Encode, Decode, TypeInfo, Clone, PartialEq, Eq, Debug, Default)]
pub struct PendingRewards<Balance> {
	/// The total of its closed, unclaimed, retained periods (several `claim_rewards` calls if
	/// they are more than one call's `MaxClaimPeriods`).
	pub amount: Balance,
	/// Its first unclaimed period still retained.
	pub from: Period,
	/// The first period not closed yet (claims reach up to, not including, it).
	pub to: Period,
}

sp_api::decl_runtime_apis! {
	/// Queries of the Rewards pallet for clients.
	pub trait RewardsApi<AccountId, Balance>
	where
		AccountId: codec::Codec,
		Balance: codec::Codec,
	{
		/// What `staker` would be paid by claiming every closed period now.
		fn pending_rewards(staker: AccountId) -> PendingRewards<Balance>;
	}
}
