//! Conditions on requesters (`PROTOCOL.md`, "Policies"): a tree stored flat in prefix order,
//! checked for shape when a policy is created and evaluated for every request.
//!
//! `All { count }` and `Any { count }` take the next `count` subtrees, `Not` the next one. A `PayPerAccess`
//! leaf may not sit under `Any` or `Not`: every payment of a tree that holds is then certain
//! to be due, and the request makes all of them.

use crate::{asset, BalanceOf, ConditionOf, Config, Error};
use frame_system::pallet_prelude::BlockNumberFor;
use kms_primitives::policies::{AccessDenied, Condition};
use sp_runtime::{traits::Zero, Saturating};

/// Checks that `conditions` is exactly one tree (or empty), no deeper than `max_depth`, with
/// compound nodes of at least one child and payments only where they are certain.
pub fn validate<T: Config>(conditions: &[ConditionOf<T>], max_depth: u32) -> Result<(), Error<T>> {
	if conditions.is_empty() {
		return Ok(());
	}
	let end = subtree_end::<T>(conditions, 0, 1, max_depth, false)?;
	if end == conditions.len() {
		Ok(())
	} else {
		Err(Error::<T>::MalformedConditions)
	}
}

/// The index after the subtree at `index`, checking its shape on the way.
fn subtree_end<T: Config>(
	conditions: &[ConditionOf<T>],
	index: usize,
	depth: u32,
	max_depth: u32,
	conditional: bool,
) -> Result<usize, Error<T>> {
	if depth > max_depth {
		return Err(Error::<T>::ConditionsTooDeep);
	}
	let node = conditions.get(index).ok_or(Error::<T>::MalformedConditions)?;
	let (children, conditional) = match node {
		Condition::All { count: n } => (*n, conditional),
		Condition::Any { count: n } => (*n, true),
		Condition::Not => (1, true),
		Condition::PayPerAccess { .. } if conditional => {
			return Err(Error::<T>::ConditionalPayment)
		},
		_ => return Ok(index.saturating_add(1)),
	};
	if children == 0 {
		return Err(Error::<T>::MalformedConditions);
	}
	let mut next = index.saturating_add(1);
	for _ in 0..children {
		next = subtree_end::<T>(conditions, next, depth.saturating_add(1), max_depth, conditional)?;
	}
	Ok(next)
}

/// Evaluates a validated tree for `requester` at block `now`: `Ok` when it holds (including
/// that the requester can make every payment), else the first reason it does not.
pub fn evaluate<T: Config>(
	conditions: &[ConditionOf<T>],
	requester: &T::AccountId,
	now: BlockNumberFor<T>,
) -> Result<(), AccessDenied> {
	if conditions.is_empty() {
		return Ok(());
	}
	let (_, verdict) = eval::<T>(conditions, 0, requester, now);
	verdict?;
	let due = payments::<T>(conditions)
		.fold(BalanceOf::<T>::zero(), |total, (_, amount)| total.saturating_add(amount));
	if !due.is_zero() && asset::spendable::<T>(requester) < due {
		return Err(AccessDenied::CannotPay);
	}
	Ok(())
}

/// Every payment of the tree: `(to, amount)`.
pub fn payments<T: Config>(
	conditions: &[ConditionOf<T>],
) -> impl Iterator<Item = (&T::AccountId, BalanceOf<T>)> {
	conditions.iter().filter_map(|condition| match condition {
		Condition::PayPerAccess { to, amount } => Some((to, *amount)),
		_ => None,
	})
}

/// The verdict of the subtree at `index` and the index after it. Every child is evaluated
/// (no short cut), so that the walk always knows where a subtree ends; trees are small and
/// bounded.
fn eval<T: Config>(
	conditions: &[ConditionOf<T>],
	index: usize,
	requester: &T::AccountId,
	now: BlockNumberFor<T>,
) -> (usize, Result<(), AccessDenied>) {
	let next = index.saturating_add(1);
	let Some(node) = conditions.get(index) else {
		// Validated trees never run out; treat it as a failed alternative.
		return (next, Err(AccessDenied::NoAlternativeHolds));
	};
	let holds = |ok: bool, reason: AccessDenied| if ok { Ok(()) } else { Err(reason) };
	match node {
		Condition::NotBefore { block } => (next, holds(now >= *block, AccessDenied::TooEarly)),
		Condition::NotAfter { block } => (next, holds(now <= *block, AccessDenied::TooLate)),
		Condition::RequesterIs { account: who } => {
			(next, holds(who == requester, AccessDenied::WrongRequester))
		},
		Condition::MinBalance { amount } => {
			(next, holds(asset::free::<T>(requester) >= *amount, AccessDenied::BalanceTooLow))
		},
		// Affordability of all payments together is checked once the tree holds.
		Condition::PayPerAccess { .. } => (next, Ok(())),
		Condition::All { count: n } => {
			let mut cursor = next;
			let mut verdict = Ok(());
			for _ in 0..*n {
				let (after, child) = eval::<T>(conditions, cursor, requester, now);
				cursor = after;
				if verdict.is_ok() {
					verdict = child;
				}
			}
			(cursor, verdict)
		},
		Condition::Any { count: n } => {
			let mut cursor = next;
			let mut any = false;
			for _ in 0..*n {
				let (after, child) = eval::<T>(conditions, cursor, requester, now);
				cursor = after;
				any |= child.is_ok();
			}
			(cursor, holds(any, AccessDenied::NoAlternativeHolds))
		},
		Condition::Not => {
			let (after, child) = eval::<T>(conditions, next, requester, now);
			(after, holds(child.is_err(), AccessDenied::NegationHolds))
		},
	}
}
