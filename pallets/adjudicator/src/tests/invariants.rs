//! Every invariant `do_try_state` checks fires: each case breaks one on purpose, on a chain
//! where all of them hold, expects exactly that invariant's error, and rolls the break back.

use super::*;
use frame_support::storage::{with_transaction, TransactionOutcome};

/// The judgements of the healthy chain, by what they judged.
struct Judgements {
	/// n1's tampered cfrag: penalized, offence 0.
	penalized: [u8; 32],
	/// Another tampered cfrag of n1 in the same span: judged incorrect, not penalized again.
	same_span: [u8; 32],
	/// n2's honest cfrag: judged correct.
	honest: [u8; 32],
}

/// Makes the healthy chain's judgements in `world` and returns them.
fn judge(world: &World) -> Judgements {
	let capsule = world.capsule();
	let donor = world.cfrag(1, &capsule);
	// n1's cfrag with one field taken from n2's: well-formed, and wrong.
	let tampered = |field: usize| {
		let mut cfrag = world.cfrag(0, &capsule);
		let range = FIELDS[field].1.clone();
		cfrag[range.clone()].copy_from_slice(&donor[range]);
		cfrag
	};
	// Challenges `node`'s `cfrag` and returns the key of its judgement.
	let judged = |node: &str, cfrag: Vec<u8>| {
		let before: Vec<[u8; 32]> = Judged::<Test>::iter_keys().collect();
		assert_ok!(challenge("carol", stored_answer(node, &capsule, cfrag), node));
		Judged::<Test>::iter_keys()
			.find(|key| !before.contains(key))
			.expect("a new judgement")
	};
	let judgements = Judgements {
		penalized: judged("n1", tampered(0)),
		same_span: judged("n1", tampered(1)),
		honest: judged("n2", world.cfrag(1, &capsule)),
	};
	assert!(Judged::<Test>::get(judgements.penalized).is_some_and(|j| j.offence == Some(0)));
	assert!(Judged::<Test>::get(judgements.same_span)
		.is_some_and(|j| j.offence.is_none() && j.verdict.is_incorrect()));
	assert!(Judged::<Test>::get(judgements.honest).is_some_and(|j| j.verdict == Verdict::Correct));
	Adjudicator::do_try_state().expect("the healthy chain holds every invariant");
	judgements
}

/// Breaks an invariant with `break_it`, expects `do_try_state` to fail with `expected`, and
/// rolls the break back.
fn fires(expected: &'static str, break_it: impl FnOnce()) {
	with_transaction(|| {
		break_it();
		assert_eq!(
			Adjudicator::do_try_state(),
			Err(sp_runtime::TryRuntimeError::Other(expected)),
			"breaking it should fire {expected:?}"
		);
		TransactionOutcome::Rollback(Ok::<(), DispatchError>(()))
	})
	.expect("rolled back");
}

fn judgement(key: [u8; 32], change: impl FnOnce(&mut Judgement<AccountId, Balance, u64>)) {
	Judged::<Test>::mutate(key, |judgement| change(judgement.as_mut().expect("judged")));
}

#[test]
fn every_invariant_fires() {
	new_test_ext([STAKE, STAKE], |world| {
		let Judgements { penalized, same_span, honest } = judge(world);
		let span = world.span();
		fires("an offence for a correct cfrag", || judgement(honest, |j| j.offence = Some(1)));
		fires("penalty above the formula", || judgement(penalized, |j| j.penalty = BASE * 1_000));
		fires("a penalty without an offence", || judgement(honest, |j| j.penalty = 1));
		fires("an incorrect cfrag neither penalized nor in a penalized span", || {
			judgement(same_span, |j| j.span.version += 7)
		});
		fires("offences are not numbered 0, 1, …", || {
			judgement(penalized, |j| j.offence = Some(1))
		});
		fires("PriorPenalties differs from the judgements", || {
			PriorPenalties::<Test>::insert(account("n1"), 2)
		});
		fires("unrecorded span", || judgement(penalized, |j| j.span.version += 7));
		fires("a span penalized twice or never", || {
			PenalizedSpans::<Test>::insert(account("n2"), span, ())
		});
		fires("a node has penalties without judgements", || {
			PriorPenalties::<Test>::insert(account("n2"), 1)
		});
	});
}
