//! Every movement of funds the Adjudicator makes, in one place: holding a challenger's
//! deposit, returning or forfeiting it, and paying the challenger's share of a penalty.

use crate::{BalanceOf, Config, CreditOf, HoldReason};
use frame_support::traits::{
	fungible::{hold::Balanced as _, Balanced as _, MutateHold as _},
	tokens::Precision,
	Imbalance as _,
};
use sp_runtime::{traits::Zero, DispatchResult};

/// Holds `value` of `who`'s free balance as a challenge deposit.
pub fn hold<T: Config>(who: &T::AccountId, value: BalanceOf<T>) -> DispatchResult {
	T::Currency::hold(&HoldReason::ChallengeDeposit.into(), who, value)
}

/// Returns `who`'s deposit.
pub fn release<T: Config>(who: &T::AccountId, value: BalanceOf<T>) -> DispatchResult {
	T::Currency::release(&HoldReason::ChallengeDeposit.into(), who, value, Precision::Exact)
		.map(|_| ())
}

/// Takes `who`'s deposit; the credit is the caller's to route.
pub fn forfeit<T: Config>(who: &T::AccountId, value: BalanceOf<T>) -> CreditOf<T> {
	T::Currency::slash(&HoldReason::ChallengeDeposit.into(), who, value).0
}

/// Pays `credit` to `who`. Returns what was paid and, if it could not be (an amount below the
/// existential deposit to a new account), the credit back.
pub fn pay<T: Config>(who: &T::AccountId, credit: CreditOf<T>) -> (BalanceOf<T>, CreditOf<T>) {
	let amount = credit.peek();
	match T::Currency::resolve(who, credit) {
		Ok(()) => (amount, Default::default()),
		Err(credit) => (Zero::zero(), credit),
	}
}
