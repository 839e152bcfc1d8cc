//! Every movement of funds the Rewards pallet makes: minting rewards.

use crate::{BalanceOf, Config};
use frame_support::traits::fungible::Balanced;
use sp_runtime::DispatchResult;

/// Issues `amount` and credits it to `who` (the total issuance grows by `amount`). If the
/// credit cannot be placed, it is dropped and the issuance is restored.
pub fn mint<T: Config>(who: &T::AccountId, amount: BalanceOf<T>) -> DispatchResult {
	let credit = T::Currency::issue(amount);
	T::Currency::resolve(who, credit)
		.map_err(|_| sp_runtime::DispatchError::Other("the reward cannot be credited"))
}
