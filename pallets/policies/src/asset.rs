//! Every movement of funds the Policies pallet makes, in one place: escrowing a policy's fees
//! on its owner's account (a hold under [`HoldReason::Escrow`]), paying a node out of it,
//! refunding the owner; a request's pay-per-access payments, held on the requester's
//! account (under [`HoldReason::AccessPayment`]) until the request is settled; a request's
//! storage deposit (under [`HoldReason::RequestDeposit`]) until the request is pruned; and a
//! policy's storage deposit (under [`HoldReason::PolicyDeposit`]) until the policy is removed;
//! and the burning of a request slot's price.

use crate::{BalanceOf, Config, HoldReason};
use frame_support::traits::{
	fungible::{Inspect as _, MutateHold as _},
	tokens::{Fortitude, Precision, Preservation, Restriction},
};
use sp_runtime::DispatchResult;

/// Puts `value` of `owner`'s free balance in escrow.
pub fn escrow<T: Config>(owner: &T::AccountId, value: BalanceOf<T>) -> DispatchResult {
	T::Currency::hold(&HoldReason::Escrow.into(), owner, value)
}

/// Pays `value` of `owner`'s escrow to `node`'s free balance.
pub fn pay<T: Config>(
	owner: &T::AccountId,
	node: &T::AccountId,
	value: BalanceOf<T>,
) -> DispatchResult {
	T::Currency::transfer_on_hold(
		&HoldReason::Escrow.into(),
		owner,
		node,
		value,
		Precision::Exact,
		Restriction::Free,
		Fortitude::Polite,
	)
	.map(|_| ())
}

/// Returns `value` of `owner`'s escrow to its free balance.
pub fn refund<T: Config>(owner: &T::AccountId, value: BalanceOf<T>) -> DispatchResult {
	T::Currency::release(&HoldReason::Escrow.into(), owner, value, Precision::Exact).map(|_| ())
}

/// Holds `value` of `requester`'s free balance for a request's access payments.
pub fn hold_access_payment<T: Config>(
	requester: &T::AccountId,
	value: BalanceOf<T>,
) -> DispatchResult {
	T::Currency::hold(&HoldReason::AccessPayment.into(), requester, value)
}

/// Pays `value` of `requester`'s held access payments to `to`'s free balance.
pub fn pay_access<T: Config>(
	requester: &T::AccountId,
	to: &T::AccountId,
	value: BalanceOf<T>,
) -> DispatchResult {
	T::Currency::transfer_on_hold(
		&HoldReason::AccessPayment.into(),
		requester,
		to,
		value,
		Precision::Exact,
		Restriction::Free,
		Fortitude::Polite,
	)
	.map(|_| ())
}

/// Returns `value` of `requester`'s held access payments to its free balance.
pub fn refund_access<T: Config>(requester: &T::AccountId, value: BalanceOf<T>) -> DispatchResult {
	T::Currency::release(&HoldReason::AccessPayment.into(), requester, value, Precision::Exact)
		.map(|_| ())
}

/// Holds `value` of `requester`'s free balance as a request's storage deposit.
pub fn hold_request_deposit<T: Config>(
	requester: &T::AccountId,
	value: BalanceOf<T>,
) -> DispatchResult {
	T::Currency::hold(&HoldReason::RequestDeposit.into(), requester, value)
}

/// Returns a pruned request's storage deposit, `value`, to `requester`'s free balance.
pub fn release_request_deposit<T: Config>(
	requester: &T::AccountId,
	value: BalanceOf<T>,
) -> DispatchResult {
	T::Currency::release(&HoldReason::RequestDeposit.into(), requester, value, Precision::Exact)
		.map(|_| ())
}

/// Holds `value` more of `owner`'s free balance as a policy's storage deposit.
pub fn hold_policy_deposit<T: Config>(owner: &T::AccountId, value: BalanceOf<T>) -> DispatchResult {
	T::Currency::hold(&HoldReason::PolicyDeposit.into(), owner, value)
}

/// Returns `value` of a policy's storage deposit to `owner`'s free balance.
pub fn release_policy_deposit<T: Config>(
	owner: &T::AccountId,
	value: BalanceOf<T>,
) -> DispatchResult {
	T::Currency::release(&HoldReason::PolicyDeposit.into(), owner, value, Precision::Exact)
		.map(|_| ())
}

/// Burns `value` of a policy's storage deposit: what pays for its retired id's entry.
pub fn burn_policy_deposit<T: Config>(owner: &T::AccountId, value: BalanceOf<T>) -> DispatchResult {
	T::Currency::burn_held(
		&HoldReason::PolicyDeposit.into(),
		owner,
		value,
		Precision::Exact,
		Fortitude::Polite,
	)
	.map(|_| ())
}

/// Burns `value` of `requester`'s free balance: the price of a request's slot.
pub fn burn_request_price<T: Config>(
	requester: &T::AccountId,
	value: BalanceOf<T>,
) -> DispatchResult {
	use frame_support::traits::fungible::Mutate as _;
	T::Currency::burn_from(
		requester,
		value,
		Preservation::Preserve,
		Precision::Exact,
		Fortitude::Polite,
	)
	.map(|_| ())
}

/// What `who` can transfer away and stay alive.
pub fn spendable<T: Config>(who: &T::AccountId) -> BalanceOf<T> {
	T::Currency::reducible_balance(who, Preservation::Preserve, Fortitude::Polite)
}

/// `who`'s free balance.
pub fn free<T: Config>(who: &T::AccountId) -> BalanceOf<T> {
	T::Currency::balance(who)
}

/// What `owner` has in escrow, over all its policies.
#[cfg(any(feature = "std", feature = "try-runtime"))]
pub fn escrowed<T: Config>(owner: &T::AccountId) -> BalanceOf<T> {
	use frame_support::traits::fungible::InspectHold as _;
	T::Currency::balance_on_hold(&HoldReason::Escrow.into(), owner)
}

/// What `requester` has held for the access payments of its unsettled requests.
#[cfg(any(feature = "std", feature = "try-runtime"))]
pub fn access_payments_held<T: Config>(requester: &T::AccountId) -> BalanceOf<T> {
	use frame_support::traits::fungible::InspectHold as _;
	T::Currency::balance_on_hold(&HoldReason::AccessPayment.into(), requester)
}

/// What `owner` has held as the storage deposits of its policies.
#[cfg(any(feature = "std", feature = "try-runtime"))]
pub fn policy_deposits_held<T: Config>(owner: &T::AccountId) -> BalanceOf<T> {
	use frame_support::traits::fungible::InspectHold as _;
	T::Currency::balance_on_hold(&HoldReason::PolicyDeposit.into(), owner)
}

/// What `requester` has held as the storage deposits of its retained requests.
#[cfg(any(feature = "std", feature = "try-runtime"))]
pub fn request_deposits_held<T: Config>(requester: &T::AccountId) -> BalanceOf<T> {
	use frame_support::traits::fungible::InspectHold as _;
	T::Currency::balance_on_hold(&HoldReason::RequestDeposit.into(), requester)
}
