//! Every movement of funds the Staking pallet makes, in one place: holding a stake, releasing
//! it, slashing it. All of it is on a fungible hold under [`HoldReason::Staking`].

use crate::{BalanceOf, Config, CreditOf, HoldReason};
use frame_support::traits::{
	fungible::{hold::Balanced as _, Inspect as _, MutateHold as _},
	tokens::Precision,
};
use sp_runtime::DispatchResult;

/// Puts `value` of `who`'s free balance on hold.
pub fn hold<T: Config>(who: &T::AccountId, value: BalanceOf<T>) -> DispatchResult {
	T::Currency::hold(&HoldReason::Staking.into(), who, value)
}

/// Releases `value` of `who`'s held stake to its free balance.
pub fn release<T: Config>(who: &T::AccountId, value: BalanceOf<T>) -> DispatchResult {
	T::Currency::release(&HoldReason::Staking.into(), who, value, Precision::Exact).map(|_| ())
}

/// Takes up to `value` from `who`'s held stake; the credit is the caller's to route.
pub fn slash<T: Config>(who: &T::AccountId, value: BalanceOf<T>) -> CreditOf<T> {
	T::Currency::slash(&HoldReason::Staking.into(), who, value).0
}

/// What `who` has on hold for staking.
#[cfg(any(feature = "std", feature = "try-runtime"))]
pub fn held<T: Config>(who: &T::AccountId) -> BalanceOf<T> {
	use frame_support::traits::fungible::InspectHold as _;
	T::Currency::balance_on_hold(&HoldReason::Staking.into(), who)
}

/// What `who` could put on hold now.
pub fn free<T: Config>(who: &T::AccountId) -> BalanceOf<T> {
	T::Currency::balance(who)
}
