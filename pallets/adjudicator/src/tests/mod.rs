//! Tests of the Adjudicator with real umbral-pre cfrags: honest, tampered in each field, made
//! from the wrong kfrag or for the wrong capsule, signed off chain, malformed.

mod invariants;

use crate::{mock::*, *};
use frame_support::{assert_noop, assert_ok};
use kms_primitives::{
	policies::SignedCfrag,
	staking::{NodeService, StakeLedger},
};
use sp_runtime::MultiSignature;

/// The fields of a cfrag's standard serialization: `(name, byte range)`, header included. A
/// cfrag is `[E1, V1, kfrag_id, precursor, [E2, V2, commitment, pok, signature,
/// kfrag_signature]]`.
const FIELDS: [(&str, core::ops::Range<usize>); 10] = [
	("e1", 1..36),
	("v1", 36..71),
	("kfrag_id", 71..105),
	("precursor", 105..140),
	("e2", 141..176),
	("v2", 176..211),
	("commitment", 211..246),
	("pok", 246..281),
	("signature", 281..315),
	("kfrag_signature", 315..381),
];

fn held_stake(node: &str) -> Balance {
	Staking::held_stake(&account(node))
}

/// The genesis hash operator signatures are bound to.
fn genesis() -> sp_core::H256 {
	System::block_hash(0)
}

fn challenge(challenger: &str, request: RequestId, node: &str) -> DispatchResult {
	Adjudicator::challenge_cfrag(
		RuntimeOrigin::signed(account(challenger)),
		request,
		account(node),
		0,
	)
}

#[test]
fn the_field_layout_is_what_umbral_writes() {
	new_test_ext([STAKE, STAKE], |world| {
		let cfrag = world.cfrag(0, &world.capsule());
		assert_eq!(cfrag.len(), 381);
		assert_eq!((cfrag[0], cfrag[140]), (0x95, 0x96), "two arrays: cfrag and proof");
		for (name, range) in FIELDS {
			let header = &cfrag[range.start..range.start + 2];
			assert_eq!(header[0], 0xc4, "{name} is a bin8");
			assert_eq!(header[1] as usize, range.len() - 2, "{name} fills its range");
		}
	});
}

#[test]
fn an_honest_cfrag_survives_and_the_deposit_is_forfeited() {
	new_test_ext([STAKE, STAKE], |world| {
		let capsule = world.capsule();
		let request = stored_answer("n1", &capsule, world.cfrag(0, &capsule));
		let carol = Balances::free_balance(account("carol"));
		let _ = new_events();
		assert_ok!(challenge("carol", request, "n1"));
		assert_eq!(Balances::free_balance(account("carol")), carol - DEPOSIT);
		assert_eq!(Balances::free_balance(account("treasury")), DEPOSIT);
		assert_eq!(held_stake("n1"), STAKE);
		// One judgement, one event: the challenge failed and its deposit is gone.
		assert!(matches!(new_events()[..], [Event::ChallengeFailed { deposit: DEPOSIT, .. }]));
		assert_noop!(challenge("bob", request, "n1"), Error::<Test>::AlreadyJudged);
	});
}

#[test]
fn a_cfrag_tampered_in_any_field_is_penalized_by_the_formula() {
	new_test_ext([STAKE, STAKE], |world| {
		let capsule = world.capsule();
		// The donors: n2's honest cfrag of the same capsule, and one from another batch of
		// kfrags of the same policy keys (kfrags of one batch share their precursor).
		let donor = world.cfrag(1, &capsule);
		let other_batch = umbral_pre::generate_kfrags(
			&world.delegating,
			&world.receiving.public_key(),
			&world.signer,
			2,
			2,
			true,
			true,
		)
		.to_vec()
		.remove(0);
		let other_donor = umbral_pre::DefaultSerialize::to_bytes(
			&umbral_pre::reencrypt(&capsule, other_batch).unverify(),
		)
		.expect("ok")
		.to_vec();
		for (prior, (name, range)) in FIELDS.into_iter().enumerate() {
			// One offence per span: each tampered field is charged under a version of its own.
			if prior > 0 {
				world.next_span();
			}
			let mut cfrag = world.cfrag(0, &capsule);
			let donor =
				if cfrag[range.clone()] == donor[range.clone()] { &other_donor } else { &donor };
			assert_ne!(cfrag[range.clone()], donor[range.clone()], "{name} changes");
			cfrag[range.clone()].copy_from_slice(&donor[range]);
			let request = stored_answer("n1", &capsule, cfrag);
			let (stake, carol, treasury) = (
				held_stake("n1"),
				Balances::free_balance(account("carol")),
				Balances::free_balance(account("treasury")),
			);
			assert_ok!(challenge("carol", request, "n1"));
			let penalty = BASE + HISTORY * prior as Balance;
			assert_eq!(held_stake("n1"), stake - penalty, "{name}");
			assert_eq!(Balances::free_balance(account("carol")), carol + penalty / 2, "{name}");
			assert_eq!(
				Balances::free_balance(account("treasury")),
				treasury + penalty - penalty / 2,
				"{name}"
			);
			let Some(Event::NodePenalized { verdict, penalty: slashed, .. }) = events().pop()
			else {
				panic!("{name}: no penalty event")
			};
			assert_eq!(slashed, penalty);
			let expected =
				if ["kfrag_id", "precursor", "commitment", "kfrag_signature"].contains(&name) {
					Verdict::IncorrectKeyFragSignature
				} else {
					Verdict::IncorrectReencryption
				};
			assert_eq!(verdict, expected, "{name}");
		}
		assert_eq!(PriorPenalties::<Test>::get(account("n1")), FIELDS.len() as u32);
	});
}

#[test]
fn cfrags_of_another_delegator_or_capsule_are_incorrect() {
	new_test_ext([STAKE, STAKE], |world| {
		let capsule = world.capsule();
		// Another capsule's honest cfrag.
		let request = stored_answer("n1", &capsule, world.cfrag(0, &world.capsule()));
		assert_ok!(challenge("carol", request, "n1"));
		assert!(matches!(
			events().last(),
			Some(Event::NodePenalized { verdict: Verdict::IncorrectReencryption, .. })
		));
		// A cfrag from a kfrag of another delegator (same Bob, another Alice and signer).
		let other = umbral_pre::SecretKey::random();
		let kfrag = umbral_pre::generate_kfrags(
			&other,
			&world.receiving.public_key(),
			&umbral_pre::Signer::new(umbral_pre::SecretKey::random()),
			1,
			1,
			true,
			true,
		)
		.to_vec()
		.remove(0);
		let foreign = umbral_pre::reencrypt(&capsule, kfrag).unverify();
		let request = stored_answer(
			"n2",
			&capsule,
			umbral_pre::DefaultSerialize::to_bytes(&foreign).expect("ok").to_vec(),
		);
		assert_ok!(challenge("carol", request, "n2"));
		assert!(matches!(
			events().last(),
			Some(Event::NodePenalized {
				verdict: Verdict::IncorrectKeyFragSignature,
				penalty: BASE,
				..
			})
		));
	});
}

#[test]
fn the_penalty_is_capped_at_a_share_of_the_stake_and_ends_eligibility() {
	// n2 holds just above the minimum (eligible for each new span until its third penalty):
	// its cap, about 1 250, is below the base penalty after enough offences; n1's history does
	// not touch n2's.
	new_test_ext([STAKE, MIN_STAKE + 300], |world| {
		assert!(Staking::is_eligible(&account("n2"), 1));
		let capsule = world.capsule();
		let mut penalties = Vec::new();
		for offence in 0..3 {
			if offence > 0 {
				world.next_span();
			}
			let request = stored_answer("n2", &capsule, world.cfrag(1, &world.capsule()));
			let before = held_stake("n2");
			assert_ok!(challenge("carol", request, "n2"));
			penalties.push(before - held_stake("n2"));
		}
		assert_eq!(penalties, vec![BASE, BASE + HISTORY, BASE + 2 * HISTORY]);
		assert_eq!(Adjudicator::penalty(&account("n2"), 200), held_stake("n2") / 8, "capped");
		assert!(held_stake("n2") < MIN_STAKE);
		assert!(!Staking::is_eligible(&account("n2"), 1), "below MinStake: no new policies");
		assert_eq!(PriorPenalties::<Test>::get(account("n1")), 0);
	});
}

#[test]
fn stored_cfrags_must_exist() {
	new_test_ext([STAKE, STAKE], |world| {
		let capsule = world.capsule();
		let request = stored_answer("n1", &capsule, world.cfrag(0, &capsule));
		assert_noop!(challenge("carol", request + 1, "n1"), Error::<Test>::UnknownCfrag);
		assert_noop!(challenge("carol", request, "n2"), Error::<Test>::UnknownCfrag);
		assert_noop!(
			Adjudicator::challenge_cfrag(
				RuntimeOrigin::signed(account("carol")),
				request,
				account("n1"),
				1
			),
			Error::<Test>::UnknownCfrag
		);
		// A challenger who cannot hold the deposit.
		assert_noop!(challenge("dave", request, "n1"), Error::<Test>::InsufficientDeposit);
	});
}

/// `node` signs `cfrag` for `capsule` off chain, as the fast path serves it.
fn signed(
	node: &str,
	capsule: &umbral_pre::Capsule,
	cfrag: Vec<u8>,
) -> (SignedCfragOf<Test>, MultiSignature) {
	use umbral_pre::DefaultSerialize;
	let version = pallet_kms_policies::Policies::<Test>::get(POLICY).expect("policy").version;
	let evidence = SignedCfrag {
		policy: POLICY,
		version,
		node: account(node),
		capsule: capsule.to_bytes().expect("ok").to_vec().try_into().expect("105"),
		cfrag: cfrag.try_into().expect("381"),
	};
	let signature = sign(&format!("{node}-op"), &evidence.signing_payload(&genesis()));
	(evidence, signature)
}

fn challenge_signed(evidence: SignedCfragOf<Test>, signature: MultiSignature) -> DispatchResult {
	Adjudicator::challenge_signed_cfrag(
		RuntimeOrigin::signed(account("carol")),
		evidence,
		signature,
	)
}

#[test]
fn signed_off_chain_cfrags_are_judged_after_their_signature() {
	new_test_ext([STAKE, STAKE], |world| {
		let capsule = world.capsule();
		// Honest: the challenge fails.
		let (evidence, signature) = signed("n1", &capsule, world.cfrag(0, &capsule));
		assert_ok!(challenge_signed(evidence.clone(), signature.clone()));
		assert!(matches!(events().last(), Some(Event::ChallengeFailed { .. })));
		assert_noop!(challenge_signed(evidence, signature), Error::<Test>::AlreadyJudged);
		// Wrong: penalized.
		let (evidence, signature) = signed("n1", &capsule, world.cfrag(0, &world.capsule()));
		assert_ok!(challenge_signed(evidence, signature));
		assert_eq!(held_stake("n1"), STAKE - BASE);
		// Bytes that are not a cfrag at all, signed by the node under another version:
		// penalized too, as its second offence.
		world.next_span();
		let (evidence, signature) = signed("n1", &capsule, vec![0u8; 381]);
		assert_ok!(challenge_signed(evidence, signature));
		assert!(matches!(
			events().last(),
			Some(Event::NodePenalized { verdict: Verdict::Undecodable, penalty: 110, .. })
		));
	});
}

#[test]
fn signed_evidence_is_checked_before_anything_is_judged() {
	new_test_ext([STAKE, STAKE], |world| {
		let capsule = world.capsule();
		let wrong = world.cfrag(0, &world.capsule());
		// Signed by someone else, or for another node.
		let (evidence, _) = signed("n1", &capsule, wrong.clone());
		let forged = sign("n2-op", &evidence.signing_payload(&genesis()));
		assert_noop!(challenge_signed(evidence.clone(), forged), Error::<Test>::BadSignature);
		let (mut tampered, signature) = signed("n1", &capsule, wrong.clone());
		tampered.cfrag[300] ^= 1;
		assert_noop!(challenge_signed(tampered, signature), Error::<Test>::BadSignature);
		// Another version, another policy, a node outside the policy.
		let (mut other, _) = signed("n1", &capsule, wrong.clone());
		other.version = 1;
		let signature = sign("n1-op", &other.signing_payload(&genesis()));
		assert_noop!(challenge_signed(other, signature), Error::<Test>::UnknownPolicyVersion);
		let (mut other, _) = signed("n1", &capsule, wrong.clone());
		other.node = account("carol");
		let signature = sign("n1-op", &other.signing_payload(&genesis()));
		assert_noop!(challenge_signed(other, signature), Error::<Test>::UnknownPolicyVersion);
		// A capsule that is not one: the challenger's mistake, nothing judged.
		let (mut bad_capsule, _) = signed("n1", &capsule, wrong);
		bad_capsule.capsule[104] ^= 1;
		let signature = sign("n1-op", &bad_capsule.signing_payload(&genesis()));
		assert_noop!(challenge_signed(bad_capsule, signature), Error::<Test>::MalformedCapsule);
		assert_eq!(held_stake("n1"), STAKE);
	});
}

#[test]
fn offences_in_one_span_count_once() {
	new_test_ext([STAKE, STAKE], |world| {
		let capsule = world.capsule();
		// Three wrong cfrags, two capsules of one request and another request, one kfrag.
		let first = stored_answer("n1", &capsule, world.cfrag(0, &world.capsule()));
		assert_ok!(challenge("carol", first, "n1"));
		assert_eq!(held_stake("n1"), STAKE - BASE);
		let carol = Balances::free_balance(account("carol"));
		for _ in 0..2 {
			let again = stored_answer("n1", &capsule, world.cfrag(0, &world.capsule()));
			assert_ok!(challenge("carol", again, "n1"));
			assert!(matches!(
				events().last(),
				Some(Event::OffenceAlreadyPenalized {
					verdict: Verdict::IncorrectReencryption,
					..
				})
			));
		}
		assert_eq!(held_stake("n1"), STAKE - BASE, "one defect, one penalty");
		assert_eq!(Balances::free_balance(account("carol")), carol, "deposits returned");
		assert_eq!(PriorPenalties::<Test>::get(account("n1")), 1);
		assert!(PenalizedSpans::<Test>::contains_key(account("n1"), world.span()));
		// Under the next version it is a new offence, escalated.
		world.next_span();
		let later = stored_answer("n1", &capsule, world.cfrag(0, &world.capsule()));
		assert_ok!(challenge("carol", later, "n1"));
		assert_eq!(held_stake("n1"), STAKE - BASE - (BASE + HISTORY));
	});
}

#[test]
fn unbonding_does_not_dodge_a_penalty() {
	new_test_ext([STAKE, STAKE], |world| {
		let capsule = world.capsule();
		let request = stored_answer("n1", &capsule, world.cfrag(0, &world.capsule()));
		// Before the challenge lands, n1's lock has run out and it unbonds what it can: not
		// everything while a live policy names it, everything else.
		pallet_kms_staking::Ledgers::<Test>::mutate(account("n1"), |ledger| {
			ledger.as_mut().expect("bonded").lock_periods = 0;
		});
		let unbond = |value| Staking::unbond(RuntimeOrigin::signed(account("n1")), value);
		assert_noop!(unbond(STAKE), pallet_kms_staking::Error::<Test>::NodeHasActivePolicies);
		assert_ok!(unbond(STAKE - MIN_STAKE));
		assert_eq!(Staking::stake_of(&account("n1")), MIN_STAKE);
		assert_eq!(held_stake("n1"), STAKE, "still held while unbonding");
		assert_ok!(challenge("carol", request, "n1"));
		assert_eq!(held_stake("n1"), STAKE - BASE, "slashed");
		assert!(matches!(events().last(), Some(Event::NodePenalized { penalty: BASE, .. })));
	});
}

#[test]
fn a_signature_for_another_chain_is_not_evidence() {
	new_test_ext([STAKE, STAKE], |world| {
		let capsule = world.capsule();
		let (evidence, _) = signed("n1", &capsule, world.cfrag(0, &world.capsule()));
		let testnet = sign("n1-op", &evidence.signing_payload(&sp_core::H256::repeat_byte(9)));
		assert_noop!(challenge_signed(evidence.clone(), testnet), Error::<Test>::BadSignature);
		let bare = sign("n1-op", &evidence.encode());
		assert_noop!(challenge_signed(evidence, bare), Error::<Test>::BadSignature);
	});
}

#[test]
fn a_signed_non_canonical_cfrag_is_judged_without_a_panic() {
	new_test_ext([STAKE, STAKE], |world| {
		// The node signs a cfrag whose E1 is the identity and V1 uncompressed (the standard
		// length): umbral-pre alone would panic judging it, so it would escape judgement.
		let capsule = world.capsule();
		let hostile = kms_fixtures::hostile::identity_and_uncompressed(&world.cfrag(0, &capsule));
		let (evidence, signature) = signed("n1", &capsule, hostile);
		let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
			challenge_signed(evidence, signature)
		}));
		assert_ok!(outcome.expect("judgement never traps"));
		assert!(matches!(
			events().last(),
			Some(Event::NodePenalized { verdict: Verdict::Undecodable, penalty: BASE, .. })
		));
	});
}

#[test]
fn a_sybil_cannot_take_the_blame_for_another_nodes_cfrag() {
	new_test_ext([STAKE, STAKE], |world| {
		// n1 stores a wrong cfrag; n2 (the same owner's throwaway node) signs the same bytes
		// and is challenged first, hoping to close the case on n1's evidence.
		let capsule = world.capsule();
		let wrong = world.cfrag(0, &world.capsule());
		let request = stored_answer("n1", &capsule, wrong.clone());
		let (evidence, signature) = signed("n2", &capsule, wrong);
		assert_ok!(challenge_signed(evidence, signature));
		assert_eq!(held_stake("n2"), STAKE - BASE);
		// n1's own cfrag is still judged, and n1 penalized.
		assert_ok!(challenge("carol", request, "n1"));
		assert_eq!(held_stake("n1"), STAKE - BASE);
	});
}
