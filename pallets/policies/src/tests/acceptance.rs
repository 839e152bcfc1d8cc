//! Nodes consent to what binds them: policies start pending, take requests once `threshold`
//! nodes accepted, bind only nodes that accepted before a request, pay only from acceptance;
//! decisions are bound to their content, version and chain. Each test is an attack an owner,
//! reader or other party could try on an honest node.

use super::*;
use frame_support::traits::Authorize;
use kms_primitives::policies::{Decision, DeclineReason, RequestStatus};
use sp_core::Pair;
use sp_runtime::{
	transaction_validity::{InvalidTransaction, TransactionSource, TransactionValidityError},
	MultiSigner,
};

fn accept(node: &str, policy: PolicyId) -> DispatchResult {
	send_decision(decision_of(node, policy, Decision::Accept))
}

fn decline(node: &str, policy: PolicyId, reason: DeclineReason) -> DispatchResult {
	send_decision(decision_of(node, policy, Decision::Decline(reason)))
}

fn missed(node: &str, period: Period) -> u32 {
	pallet_kms_staking::Service::<Test>::get(period, account(node)).missed_deadlines
}

/// What the pool says of `decision` signed over `payload` by `signer`.
fn authorize_signed(
	decision: PolicyDecisionOf<Test>,
	signer: &str,
	payload: &[u8],
) -> Result<(), TransactionValidityError> {
	crate::Call::<Test>::decide_on_policy { decision, signature: sign(signer, payload) }
		.authorize(TransactionSource::External)
		.expect("decisions have authorize logic")
		.map(|_| ())
}

#[test]
fn a_policy_takes_requests_once_the_threshold_of_nodes_accepted() {
	ExtBuilder::build_and_execute(|| {
		let grant = NewPolicy::default().create_pending();
		let ask = || try_request("bob", P1, vec![capsule_bytes(&grant.encrypt(b"x").0)]);
		assert_eq!(PendingDecisions::<Test>::get(account("n1"), P1), Some(0));
		assert_noop!(ask(), Error::<Test>::AwaitingAcceptance);
		assert_eq!(
			KmsPolicies::check_access(P1, &account("bob")),
			Err(AccessDenied::AwaitingAcceptance)
		);
		assert_ok!(accept("n1", P1));
		assert_eq!(
			events().last(),
			Some(&Event::PolicyAccepted { id: P1, version: 0, node: account("n1") })
		);
		assert_eq!(PendingDecisions::<Test>::get(account("n1"), P1), None);
		assert_noop!(ask(), Error::<Test>::AwaitingAcceptance);
		assert_ok!(accept("n3", P1));
		assert_eq!(events().last(), Some(&Event::PolicyReady { id: P1, version: 0 }));
		assert_ok!(ask());
		// A node decides once.
		assert_noop!(accept("n1", P1), Error::<Test>::NoPendingDecision);
	});
}

#[test]
fn pending_nodes_and_late_acceptors_miss_no_deadline() {
	ExtBuilder::build_and_execute(|| {
		let grant = NewPolicy { threshold: 1, ..Default::default() }.create_pending();
		assert_ok!(accept("n1", P1));
		let (id, _) = request(&grant, P1, "bob", &[b"x"]);
		// n2 accepts in a block after the request's; n3 never decides. Nobody answers.
		run_to_block(2);
		assert_ok!(accept("n2", P1));
		run_to_block(2 + WINDOW);
		assert_eq!(KmsPolicies::request_status(id), Some(RequestStatus::Failed { answers: 0 }));
		assert_eq!((missed("n1", 0), missed("n2", 0), missed("n3", 0)), (1, 0, 0));
	});
}

#[test]
fn only_accepting_nodes_answer() {
	ExtBuilder::build_and_execute(|| {
		let grant = NewPolicy { threshold: 1, ..Default::default() }.create_pending();
		assert_ok!(accept("n1", P1));
		let (id, _) = request(&grant, P1, "bob", &[b"x"]);
		assert_noop!(answer("n2", P1, id), Error::<Test>::NotAccepted);
		assert_ok!(answer("n1", P1, id));
	});
}

#[test]
fn a_declining_node_leaves_with_its_whole_share_refunded() {
	ExtBuilder::build_and_execute(|| {
		// Periods 0..=2 for n1, n2, n3: 9 × RATE escrowed.
		NewPolicy::default().create_pending();
		assert_eq!(escrow_of("alice"), 9 * RATE);
		let before = free("alice");
		assert_ok!(decline("n3", P1, DeclineReason::SelfTestFailed));
		assert_eq!(
			events().last(),
			Some(&Event::PolicyDeclined {
				id: P1,
				version: 0,
				node: account("n3"),
				reason: DeclineReason::SelfTestFailed,
				refunded: 3 * RATE,
			})
		);
		assert_eq!((escrow_of("alice"), free("alice")), (6 * RATE, before + 3 * RATE));
		let policy = Policies::<Test>::get(P1).expect("kept");
		assert!(policy.node(&account("n3")).is_none());
		assert!(!KFrags::<Test>::contains_key(P1, account("n3")));
		assert_eq!(FeeShares::<Test>::get(P1, account("n3")), None);
		assert_eq!(KeyUsage::<Test>::get(account("n3"), 0), 0);
		assert_eq!(PendingDecisions::<Test>::get(account("n3"), P1), None);
		// Free of the policy, n3 may leave the network.
		assert_ok!(Staking::unregister_node(RuntimeOrigin::signed(account("n3"))));
		// The two others still reach the threshold of two.
		accept_all(P1);
		assert_eq!(events().last(), Some(&Event::PolicyReady { id: P1, version: 0 }));
	});
}

#[test]
fn fees_accrue_from_a_nodes_acceptance_only() {
	ExtBuilder::build_and_execute(|| {
		// Periods 0..=4; n1 and n2 accept at once, n3 only in period 2.
		NewPolicy { end: 50, ..Default::default() }.create_pending();
		assert_ok!(accept("n1", P1));
		assert_ok!(accept("n2", P1));
		run_to_period(2, &[]);
		assert_ok!(accept("n3", P1));
		assert_eq!(
			FeeShares::<Test>::get(P1, account("n3")).and_then(|s| s.accepted_from),
			Some(2)
		);
		run_to_period(5, &[]);
		run_to_block(50 + WINDOW);
		let before = free("n3");
		assert_ok!(KmsPolicies::claim_fees(
			RuntimeOrigin::signed(account("carol")),
			P1,
			account("n3"),
			10
		));
		assert_eq!(
			events().last(),
			Some(&Event::FeesSettled {
				policy: P1,
				node: account("n3"),
				periods: 5,
				paid: 3 * RATE,
				refunded: 2 * RATE,
			})
		);
		assert_eq!(free("n3"), before + 3 * RATE);
	});
}

#[test]
fn a_node_that_never_decides_costs_the_owner_nothing() {
	ExtBuilder::build_and_execute(|| {
		NewPolicy { end: 30, ..Default::default() }.create_pending();
		accept_all(P1);
		// A fresh policy whose node never decides: its whole share comes back at settlement.
		NewPolicy { id: P2, threshold: 1, nodes: vec!["n4"], end: 30, ..Default::default() }
			.create_pending();
		run_to_period(3, &[]);
		run_to_block(30 + WINDOW);
		let before = free("alice");
		assert_ok!(KmsPolicies::settle_policy(RuntimeOrigin::signed(account("carol")), P2, 10));
		assert_eq!(free("alice"), before + 3 * RATE);
		assert_eq!(PendingDecisions::<Test>::iter().count(), 0, "closed with the policy");
	});
}

#[test]
fn decisions_are_bound_to_content_version_operator_and_chain() {
	ExtBuilder::build_and_execute(|| {
		NewPolicy::default().create_pending();
		let stale = Err(TransactionValidityError::Invalid(InvalidTransaction::Stale));
		// Another content: what the node checked on another fork.
		let mut other = decision_of("n1", P1, Decision::Accept);
		other.content[0] ^= 1;
		assert_eq!(
			authorize_signed(other.clone(), "n1-op", &decision_payload::<Test>(&other)),
			Err(TransactionValidityError::Invalid(InvalidTransaction::Call))
		);
		assert_noop!(send_decision(other), Error::<Test>::ContentMismatch);
		// Signed by another operator, or by the right one for another chain or purpose.
		let decision = decision_of("n1", P1, Decision::Accept);
		let payload = decision_payload::<Test>(&decision);
		let mut foreign = decision.clone();
		foreign.public = MultiSigner::from(pair("n2-op").public());
		assert_eq!(
			authorize_signed(foreign.clone(), "n2-op", &decision_payload::<Test>(&foreign)),
			Err(TransactionValidityError::Invalid(InvalidTransaction::BadSigner))
		);
		let testnet = kms_primitives::signing::payload(
			kms_primitives::signing::DECISION,
			&sp_core::H256::repeat_byte(7),
			&decision,
		);
		let bad_proof = Err(TransactionValidityError::Invalid(InvalidTransaction::BadProof));
		assert_eq!(authorize_signed(decision.clone(), "n1-op", &testnet), bad_proof);
		assert_eq!(authorize_signed(decision.clone(), "n1-op", &decision.encode()), bad_proof);
		assert_eq!(authorize_signed(decision.clone(), "n1-op", &payload), Ok(()));
		// After a rotation, a decision on the old version is stale.
		assert_ok!(KmsPolicies::rotate_policy(
			RuntimeOrigin::signed(account("alice")),
			P1,
			Grant::new().keys()[2],
			2,
			Grant::new().grants(2, &["n1", "n2", "n3"]),
		));
		assert_eq!(authorize_signed(decision, "n1-op", &payload), stale);
		assert_eq!(PendingDecisions::<Test>::get(account("n1"), P1), Some(1));
	});
}

#[test]
fn a_later_decision_outranks_the_one_before_and_every_decision_ranks_below_answers() {
	ExtBuilder::build_and_execute(|| {
		NewPolicy::default().create_pending();
		let priority = |decision: PolicyDecisionOf<Test>, signed: &PolicyDecisionOf<Test>| {
			crate::Call::<Test>::decide_on_policy {
				decision,
				signature: sign("n1-op", &decision_payload::<Test>(signed)),
			}
			.authorize(TransactionSource::External)
			.expect("decisions have authorize logic")
			.map(|(validity, _)| validity.priority)
		};
		let at =
			|block| PolicyDecision { sent_at: block, ..decision_of("n1", P1, Decision::Accept) };
		let answers =
			<<Test as crate::Config>::ResponsePriority as frame_support::traits::Get<u64>>::get();
		let first = priority(at(1), &at(1)).expect("valid");
		assert!(first < answers, "{first} < {answers}");
		assert_eq!(
			priority(at(2), &at(2)),
			Err(TransactionValidityError::Invalid(InvalidTransaction::Future)),
			"a block to come"
		);
		run_to_block(5);
		assert_eq!(priority(at(5), &at(5)), Ok(first + 4), "a resend replaces the one before");
		assert_eq!(
			priority(at(5), &at(1)),
			Err(TransactionValidityError::Invalid(InvalidTransaction::BadProof)),
			"only the operator dates its decision"
		);
		// A decision sent at the last block a chain can have (of a policy lasting that long)
		// still ranks below every answer.
		let end = Policies::<Test>::get(P1).expect("policy").end;
		Policies::<Test>::mutate(P1, |policy| policy.as_mut().expect("policy").end = u64::MAX);
		System::set_block_number(u64::MAX - 1);
		let last = priority(at(u64::MAX - 1), &at(u64::MAX - 1)).expect("valid");
		assert!(last < answers, "{last} < {answers}");
		System::set_block_number(5);
		Policies::<Test>::mutate(P1, |policy| policy.as_mut().expect("policy").end = end);
	});
}

#[test]
fn rotation_makes_every_node_decide_again_and_continuing_nodes_keep_their_share() {
	ExtBuilder::build_and_execute(|| {
		let grant = NewPolicy { end: 50, ..Default::default() }.create();
		run_to_period(1, &[]);
		assert_ok!(KmsPolicies::rotate_policy(
			RuntimeOrigin::signed(account("alice")),
			P1,
			grant.keys()[2],
			2,
			grant.grants(2, &["n1", "n2", "n4"]),
		));
		let policy = Policies::<Test>::get(P1).expect("kept");
		assert_eq!(policy.accepted(), 0);
		assert_noop!(
			try_request("bob", P1, vec![capsule_bytes(&grant.encrypt(b"x").0)]),
			Error::<Test>::AwaitingAcceptance
		);
		// n2 served version 0: declining version 1 it keeps the current period, like a node
		// leaving by rotation; n4 never served: all of its share goes back.
		assert_ok!(decline("n2", P1, DeclineReason::InvalidKFrag));
		assert_eq!(FeeShares::<Test>::get(P1, account("n2")).map(|s| s.last), Some(1));
		assert_ok!(decline("n4", P1, DeclineReason::EnvelopeUnopenable));
		assert_eq!(FeeShares::<Test>::get(P1, account("n4")), None);
		assert_ok!(accept("n1", P1));
		assert_eq!(Policies::<Test>::get(P1).expect("kept").nodes.len(), 1);
		// One node left for a threshold of two: the owner has to rotate again.
		assert_eq!(
			KmsPolicies::check_access(P1, &account("bob")),
			Err(AccessDenied::AwaitingAcceptance)
		);
	});
}

#[test]
fn an_answer_signed_for_a_request_on_another_fork_does_not_apply() {
	ExtBuilder::build_and_execute(|| {
		let grant = NewPolicy::default().create();
		let (id, _) = request(&grant, P1, "bob", &[b"x"]);
		let cfrags = reencrypt_as("n1", P1, id);
		let policy = Policies::<Test>::get(P1).expect("policy");
		let request = Requests::<Test>::get(id).expect("retained");
		// On the other fork request `id` asked for other capsules: the node signed that.
		let mut other_capsules = request.clone();
		other_capsules.capsules =
			vec![capsule_bytes(&grant.encrypt(b"y").0)].try_into().expect("one");
		let other_capsules =
			other_capsules.answer_hash(&policy.verifying_key, &policy.delegating_key);
		// Or the same request, but the owner gave the policy (same id, same version) other
		// keys there: cfrags made with that fork's kfrag would be judged wrong here.
		let other = Grant::new().keys();
		let other_keys = request.answer_hash(&other[1], &other[0]);
		assert_ne!(other[1], policy.verifying_key);
		let other_delegating = request.answer_hash(&policy.verifying_key, &other[0]);
		assert_ne!(other[0], policy.delegating_key);
		for other_fork in [other_capsules, other_keys, other_delegating] {
			let response: ResponseOf<Test> = Response {
				request: id,
				request_hash: other_fork,
				node: account("n1"),
				cfrags: cfrags.clone(),
				sent_at: 1,
				public: MultiSigner::from(pair("n1-op").public()),
			};
			let signature = sign("n1-op", &response_payload::<Test>(&response));
			assert_eq!(
				crate::Call::<Test>::submit_cfrags_authorized {
					response: response.clone(),
					signature: signature.clone()
				}
				.authorize(TransactionSource::External)
				.expect("authorize logic")
				.map(|_| ()),
				Err(InvalidTransaction::Stale.into())
			);
			assert_noop!(
				KmsPolicies::submit_cfrags_authorized(
					frame_system::RawOrigin::Authorized.into(),
					response,
					signature
				),
				Error::<Test>::RequestMismatch
			);
			// The signed path is bound the same way.
			assert_noop!(
				KmsPolicies::submit_cfrags(
					RuntimeOrigin::signed(account("n1-op")),
					id,
					other_fork,
					cfrags.clone()
				),
				Error::<Test>::RequestMismatch
			);
		}
	});
}

#[test]
fn non_canonical_capsules_and_cfrags_are_refused_without_a_panic() {
	ExtBuilder::build_and_execute(|| {
		let grant = NewPolicy::default().create();
		// A capsule `[E, V, s]` with E the identity and V uncompressed: the standard length,
		// and a panic inside umbral-pre's own decoding.
		let hostile = kms_fixtures::hostile::identity_and_uncompressed(&capsule_bytes(
			&grant.encrypt(b"x").0,
		));
		let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
			try_request("bob", P1, vec![hostile.clone().try_into().expect("105")])
		}));
		assert_eq!(
			outcome.expect("no panic"),
			Err(Error::<Test>::MalformedCapsule.into()),
			"refused with a specific error"
		);
		// The same trick in a cfrag: refused before it is stored, so it can never become
		// evidence that cannot be judged.
		let (id, _) = request(&grant, P1, "bob", &[b"x"]);
		let mut cfrags = reencrypt_as("n1", P1, id);
		let hostile = kms_fixtures::hostile::identity_and_uncompressed(&cfrags[0]);
		cfrags[0] = hostile.try_into().expect("381");
		assert_noop!(
			KmsPolicies::submit_cfrags(
				RuntimeOrigin::signed(account("n1-op")),
				id,
				request_hash(id),
				cfrags
			),
			Error::<Test>::MalformedCfrag
		);
	});
}
