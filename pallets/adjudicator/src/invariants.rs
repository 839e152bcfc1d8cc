//! The pallet's invariants ([`Pallet::do_try_state`]), checked after every test and by
//! try-runtime.

use crate::*;

impl<T: Config> Pallet<T> {
	/// The pallet's invariants, checked after every test and by try-runtime:
	/// - each node's penalized judgements are its offences `0, 1, …, PriorPenalties − 1`, each
	///   penalized at most `BasePenalty + PenaltyHistoryCoefficient × offence`, each in a span
	///   of its own, recorded in `PenalizedSpans`;
	/// - every other judgement carries no penalty, and an incorrect one without an offence lies
	///   in a span the node was penalized in;
	/// - `PenalizedSpans` holds exactly the spans of the penalized judgements.
	#[cfg(any(feature = "std", feature = "try-runtime"))]
	pub fn do_try_state() -> Result<(), sp_runtime::TryRuntimeError> {
		use alloc::{collections::btree_map::BTreeMap, vec::Vec};
		let mut offences: BTreeMap<T::AccountId, Vec<(u32, OffenceSpan)>> = BTreeMap::new();
		for judgement in Judged::<T>::iter_values() {
			match judgement.offence {
				Some(number) => {
					ensure!(judgement.verdict.is_incorrect(), "an offence for a correct cfrag");
					let uncapped = T::BasePenalty::get().saturating_add(
						T::PenaltyHistoryCoefficient::get().saturating_mul(number.into()),
					);
					ensure!(judgement.penalty <= uncapped, "penalty above the formula");
					offences.entry(judgement.node).or_default().push((number, judgement.span));
				},
				None => {
					ensure!(judgement.penalty.is_zero(), "a penalty without an offence");
					ensure!(
						!judgement.verdict.is_incorrect()
							|| PenalizedSpans::<T>::contains_key(&judgement.node, judgement.span),
						"an incorrect cfrag neither penalized nor in a penalized span"
					);
				},
			}
		}
		let mut spans = 0usize;
		for (node, mut numbered) in offences {
			numbered.sort_unstable();
			let numbers: Vec<u32> = numbered.iter().map(|(number, _)| *number).collect();
			let expected: Vec<u32> = (0..numbers.len() as u32).collect();
			ensure!(numbers == expected, "offences are not numbered 0, 1, …");
			ensure!(
				PriorPenalties::<T>::get(&node) == numbers.len() as u32,
				"PriorPenalties differs from the judgements"
			);
			for (_, span) in &numbered {
				ensure!(PenalizedSpans::<T>::contains_key(&node, span), "unrecorded span");
			}
			spans = spans.saturating_add(numbered.len());
		}
		ensure!(PenalizedSpans::<T>::iter().count() == spans, "a span penalized twice or never");
		ensure!(
			PriorPenalties::<T>::iter_values().map(u64::from).sum::<u64>() == spans as u64,
			"a node has penalties without judgements"
		);
		Ok(())
	}
}
