//! Requests and answers: real capsules re-encrypted by the nodes' real kfrags, deadlines,
//! cancellation, retention, and every malformed input.

use super::*;
use frame_support::traits::Authorize;
use kms_primitives::policies::RequestStatus;
use sp_core::Pair;
use sp_runtime::transaction_validity::{InvalidTransaction, TransactionSource};
use sp_runtime::MultiSigner;

#[test]
fn two_of_three_nodes_answer_and_bob_decrypts() {
	ExtBuilder::build_and_execute(|| {
		let grant = NewPolicy::default().create();
		// The creation's events are create.rs's to check: from here, each step's exactly.
		let _ = new_events();
		let (id, encrypted) = request(&grant, P1, "bob", &[b"first secret", b"second secret"]);
		assert_eq!(
			new_events(),
			[Event::ReencryptionRequested {
				request: id,
				policy: P1,
				version: 0,
				requester: account("bob"),
				capsules: 2,
				deadline: 1 + WINDOW,
				price: 0,
			}]
		);
		assert_eq!(
			KmsPolicies::request_status(id),
			Some(RequestStatus::Pending { answers: 0, deadline: 4 })
		);
		assert_ok!(answer("n1", P1, id));
		assert_eq!(new_events(), [Event::CfragsSubmitted { request: id, node: account("n1") }]);
		assert_ok!(answer("n3", P1, id));
		assert_eq!(
			new_events(),
			[
				Event::CfragsSubmitted { request: id, node: account("n3") },
				Event::RequestFulfilled { request: id, policy: P1 },
			]
		);
		assert_eq!(KmsPolicies::request_status(id), Some(RequestStatus::Fulfilled { answers: 2 }));
		assert_eq!(
			KmsPolicies::cfrags(id).into_iter().map(|(node, _)| node).collect::<Vec<_>>(),
			vec![account("n1"), account("n3")]
		);
		assert_eq!(
			bob_decrypts(&grant, id, &encrypted),
			vec![b"first secret".to_vec(), b"second secret".to_vec()]
		);
		// The third node may still answer before the deadline.
		assert_ok!(answer("n2", P1, id));
		// Nobody missed anything.
		run_to_period(1, &[]);
		for node in ["n1", "n2", "n3"] {
			assert_eq!(
				pallet_kms_staking::Service::<Test>::get(0, account(node)).missed_deadlines,
				0
			);
		}
	});
}

#[test]
fn one_of_one_through_the_authorized_path() {
	ExtBuilder::build_and_execute(|| {
		let grant = NewPolicy { threshold: 1, nodes: vec!["n2"], ..Default::default() }.create();
		let (id, encrypted) = request(&grant, P1, "bob", &[b"only secret"]);
		let response: ResponseOf<Test> = Response {
			request: id,
			request_hash: request_hash(id),
			node: account("n2"),
			cfrags: reencrypt_as("n2", P1, id),
			sent_at: 1,
			public: MultiSigner::from(pair("n2-op").public()),
		};
		let call = |signature| crate::Call::<Test>::submit_cfrags_authorized {
			response: response.clone(),
			signature,
		};
		// Signed by the wrong key, or for another node's operator.
		let forged = call(sign("n1-op", &response_payload::<Test>(&response)));
		assert_eq!(
			forged
				.authorize(TransactionSource::External)
				.expect("authorize logic")
				.map(|_| ()),
			Err(InvalidTransaction::BadProof.into())
		);
		let signature = sign("n2-op", &response_payload::<Test>(&response));
		let valid = call(signature.clone());
		let (validity, _) = valid
			.authorize(TransactionSource::External)
			.expect("authorize logic")
			.expect("valid response");
		assert_eq!(validity.longevity, WINDOW + 1);
		assert_eq!(validity.provides, vec![("KmsResponse", (id, account("n2"))).encode()]);
		assert_ok!(KmsPolicies::submit_cfrags_authorized(
			frame_system::RawOrigin::Authorized.into(),
			response.clone(),
			signature
		));
		assert_eq!(bob_decrypts(&grant, id, &encrypted), vec![b"only secret".to_vec()]);
		// A second copy is stale in the pool.
		assert_eq!(
			valid
				.authorize(TransactionSource::External)
				.expect("authorize logic")
				.map(|_| ()),
			Err(InvalidTransaction::Stale.into())
		);
	});
}

#[test]
fn a_later_attempt_outranks_the_one_before_and_none_claims_a_block_to_come() {
	ExtBuilder::build_and_execute(|| {
		let grant = NewPolicy::default().create();
		let (id, _) = request(&grant, P1, "bob", &[b"x"]);
		let cfrags = reencrypt_as("n1", P1, id);
		let response = |sent_at| -> ResponseOf<Test> {
			Response {
				request: id,
				request_hash: request_hash(id),
				node: account("n1"),
				cfrags: cfrags.clone(),
				sent_at,
				public: MultiSigner::from(pair("n1-op").public()),
			}
		};
		let check = |response: ResponseOf<Test>, signed: &ResponseOf<Test>| {
			crate::Call::<Test>::submit_cfrags_authorized {
				response,
				signature: sign("n1-op", &response_payload::<Test>(signed)),
			}
			.authorize(TransactionSource::External)
			.expect("authorize logic")
			.map(|(validity, _)| validity.priority)
		};
		let base =
			<<Test as crate::Config>::ResponsePriority as frame_support::traits::Get<u64>>::get();
		assert_eq!(check(response(1), &response(1)), Ok(base));
		// A block to come: not yet.
		assert_eq!(check(response(2), &response(2)), Err(InvalidTransaction::Future.into()));
		run_to_block(1 + WINDOW);
		// Each block later ranks a step higher, the deadline's block highest: a resend
		// replaces the attempt before it in the pool.
		assert_eq!(check(response(2), &response(2)), Ok(base + 1));
		assert_eq!(check(response(1 + WINDOW), &response(1 + WINDOW)), Ok(base + WINDOW));
		// Nobody but the operator can raise an answer's rank: the block is signed.
		assert_eq!(
			check(response(1 + WINDOW), &response(1)),
			Err(InvalidTransaction::BadProof.into())
		);
		// An attempt claiming a block before the request ranks as the first one.
		assert_eq!(check(response(0), &response(0)), Ok(base));
	});
}

#[test]
fn responses_signed_by_another_operator_are_refused() {
	ExtBuilder::build_and_execute(|| {
		let grant = NewPolicy::default().create();
		let (id, _) = request(&grant, P1, "bob", &[b"x"]);
		// n4's operator claims to answer for n1.
		let response: ResponseOf<Test> = Response {
			request: id,
			request_hash: request_hash(id),
			node: account("n1"),
			cfrags: reencrypt_as("n1", P1, id),
			sent_at: 1,
			public: MultiSigner::from(pair("n4-op").public()),
		};
		let call = crate::Call::<Test>::submit_cfrags_authorized {
			response: response.clone(),
			signature: sign("n4-op", &response_payload::<Test>(&response)),
		};
		assert_eq!(
			call.authorize(TransactionSource::External)
				.expect("authorize logic")
				.map(|_| ()),
			Err(InvalidTransaction::BadSigner.into())
		);
	});
}

#[test]
fn who_may_answer() {
	ExtBuilder::build_and_execute(|| {
		let grant = NewPolicy::default().create();
		let (id, _) = request(&grant, P1, "bob", &[b"x"]);
		let cfrags = reencrypt_as("n1", P1, id);
		assert_noop!(
			KmsPolicies::submit_cfrags(
				RuntimeOrigin::signed(account("bob")),
				id,
				request_hash(id),
				cfrags.clone()
			),
			Error::<Test>::NotOperator
		);
		assert_noop!(
			KmsPolicies::submit_cfrags(
				RuntimeOrigin::signed(account("n4-op")),
				id,
				request_hash(id),
				cfrags.clone()
			),
			Error::<Test>::NotAssigned
		);
		assert_noop!(
			KmsPolicies::submit_cfrags(
				RuntimeOrigin::signed(account("n1-op")),
				id + 1,
				request_hash(id + 1),
				cfrags.clone()
			),
			Error::<Test>::UnknownRequest
		);
		assert_ok!(answer("n1", P1, id));
		assert_noop!(answer("n1", P1, id), Error::<Test>::AlreadyAnswered);
	});
}

#[test]
fn malformed_cfrags_are_refused() {
	ExtBuilder::build_and_execute(|| {
		let grant = NewPolicy::default().create();
		let (id, _) = request(&grant, P1, "bob", &[b"x", b"y"]);
		let good = reencrypt_as("n1", P1, id);
		let submit = |cfrags: CfragsOf<Test>| {
			KmsPolicies::submit_cfrags(
				RuntimeOrigin::signed(account("n1-op")),
				id,
				request_hash(id),
				cfrags,
			)
		};
		let mut one = good.clone();
		one.pop();
		assert_noop!(submit(one), Error::<Test>::WrongCfragCount);
		let mut short = good.clone();
		short[1].pop();
		assert_noop!(submit(short), Error::<Test>::InvalidCfragLength);
		let mut zeroes = good.clone();
		zeroes[0] = vec![0u8; CFRAG_LEN].try_into().expect("381 bytes");
		assert_noop!(submit(zeroes), Error::<Test>::MalformedCfrag);
		// A point of the cfrag that is not on the curve (E1's x coordinate).
		let mut off_curve = good.clone();
		off_curve[0][3..35].fill(0xff);
		assert_noop!(submit(off_curve), Error::<Test>::MalformedCfrag);
		assert_ok!(submit(good));
	});
}

#[test]
fn malformed_capsules_are_refused() {
	ExtBuilder::build_and_execute(|| {
		let grant = NewPolicy::default().create();
		let good = capsule_bytes(&grant.encrypt(b"x").0);
		let ask = |capsules: Vec<CapsuleBytes>| try_request("bob", P1, capsules);
		assert_noop!(ask(vec![]), Error::<Test>::NoCapsules);
		let mut short = good.clone();
		short.pop();
		assert_noop!(ask(vec![good.clone(), short]), Error::<Test>::InvalidCapsuleLength);
		// A flipped bit of the signature fails the capsule's self-check.
		let mut tampered = good.clone();
		tampered[CAPSULE_LEN - 1] ^= 1;
		assert_noop!(ask(vec![tampered]), Error::<Test>::MalformedCapsule);
		assert_noop!(
			ask(vec![vec![0u8; CAPSULE_LEN].try_into().expect("105")]),
			Error::<Test>::MalformedCapsule
		);
		assert_noop!(try_request("bob", P2, vec![good.clone()]), Error::<Test>::UnknownPolicy);
		assert_ok!(ask(vec![good.clone(), good.clone(), good]));
	});
}

/// Finding 3 of the request-economics issue: one account, or one policy, cannot take every
/// request slot of a block and keep other readers out.
#[test]
fn one_requester_or_policy_cannot_take_a_whole_block() {
	ExtBuilder::build_and_execute(|| {
		MaxRequestsPerRequester::set(2);
		MaxRequestsPerPolicy::set(3);
		let grant = NewPolicy::default().create();
		let other = NewPolicy { id: P2, ..Default::default() }.create();
		let ask = |grant: &Grant, policy, who: &str| {
			let capsules = vec![capsule_bytes(&grant.encrypt(b"x").0)];
			try_request(who, policy, capsules)
		};
		assert_ok!(ask(&grant, P1, "bob"));
		assert_ok!(ask(&grant, P1, "bob"));
		assert_noop!(ask(&grant, P1, "bob"), Error::<Test>::TooManyRequestsFromRequester);
		// Bob's share is his own: Carol still gets in, until the policy's share is taken.
		assert_ok!(ask(&grant, P1, "carol"));
		assert_noop!(ask(&grant, P1, "carol"), Error::<Test>::TooManyRequestsForPolicy);
		// Another policy's reader is served in the same block.
		assert_ok!(ask(&other, P2, "carol"));
		assert_eq!(Deadlines::<Test>::get(1 + WINDOW).len(), 4);
		// The shares are per block.
		run_to_block(2);
		assert_ok!(ask(&grant, P1, "bob"));
		assert_eq!(
			RequestLoad::<Test>::get().map(|load| (load.block, load.requesters.len())),
			Some((2, 1))
		);
	});
}

#[test]
fn requests_per_block_are_bounded() {
	ExtBuilder::build_and_execute(|| {
		let grant = NewPolicy::default().create();
		for _ in 0..MAX_REQUESTS {
			request(&grant, P1, "bob", &[b"x"]);
		}
		let capsules = vec![capsule_bytes(&grant.encrypt(b"x").0)];
		assert_noop!(try_request("bob", P1, capsules.clone()), Error::<Test>::TooManyRequests);
		run_to_block(2);
		assert_ok!(try_request("bob", P1, capsules));
	});
}

#[test]
fn answers_are_accepted_through_the_deadline_block_and_misses_recorded_after() {
	ExtBuilder::build_and_execute(|| {
		let grant = NewPolicy::default().create();
		let (id, _) = request(&grant, P1, "bob", &[b"x"]);
		run_to_block(1 + WINDOW);
		assert_ok!(answer("n1", P1, id));
		let late = reencrypt_as("n2", P1, id);
		run_to_block(2 + WINDOW);
		assert_noop!(
			KmsPolicies::submit_cfrags(
				RuntimeOrigin::signed(account("n2-op")),
				id,
				request_hash(id),
				late
			),
			Error::<Test>::DeadlinePassed
		);
		assert_eq!(KmsPolicies::request_status(id), Some(RequestStatus::Failed { answers: 1 }));
		assert!(events().contains(&Event::RequestFailed { request: id, answers: 1 }));
		let missed = |node: &str| {
			pallet_kms_staking::Service::<Test>::get(0, account(node)).missed_deadlines
		};
		assert_eq!((missed("n1"), missed("n2"), missed("n3"), missed("n4")), (0, 1, 1, 0));
		// Not serving any more in period 0: not eligible for new policies now.
		assert_noop!(
			NewPolicy { id: P2, nodes: vec!["n2"], threshold: 1, ..Default::default() }
				.create_with(&Grant::new()),
			Error::<Test>::NodeNotEligible
		);
	});
}

#[test]
fn revocation_cancels_pending_requests_without_penalty() {
	ExtBuilder::build_and_execute(|| {
		let grant = NewPolicy::default().create();
		let (id, _) = request(&grant, P1, "bob", &[b"x"]);
		let cfrags = reencrypt_as("n1", P1, id);
		assert_ok!(KmsPolicies::revoke_policy(RuntimeOrigin::signed(account("alice")), P1));
		assert_eq!(KmsPolicies::request_status(id), Some(RequestStatus::Cancelled));
		assert_noop!(
			KmsPolicies::submit_cfrags(
				RuntimeOrigin::signed(account("n1-op")),
				id,
				request_hash(id),
				cfrags
			),
			Error::<Test>::RequestCancelled
		);
		assert_noop!(
			try_request("bob", P1, vec![capsule_bytes(&grant.encrypt(b"y").0)]),
			Error::<Test>::PolicyRevoked
		);
		assert_eq!(KmsPolicies::check_access(P1, &account("bob")), Err(AccessDenied::Revoked));
		run_to_period(1, &[]);
		for node in ["n1", "n2", "n3"] {
			assert_eq!(
				pallet_kms_staking::Service::<Test>::get(0, account(node)).missed_deadlines,
				0
			);
		}
	});
}

#[test]
fn requests_after_the_end_are_refused_but_pending_ones_are_answered() {
	ExtBuilder::build_and_execute(|| {
		let grant = NewPolicy { end: 5, ..Default::default() }.create();
		run_to_block(4);
		let (id, _) = request(&grant, P1, "bob", &[b"x"]);
		run_to_block(5);
		assert_eq!(KmsPolicies::check_access(P1, &account("bob")), Err(AccessDenied::Expired));
		assert_noop!(
			try_request("bob", P1, vec![capsule_bytes(&grant.encrypt(b"y").0)]),
			Error::<Test>::PolicyExpired
		);
		assert_ok!(answer("n1", P1, id));
		assert_ok!(answer("n2", P1, id));
		assert_eq!(KmsPolicies::request_status(id), Some(RequestStatus::Fulfilled { answers: 2 }));
	});
}

#[test]
fn requests_are_pruned_after_retention() {
	ExtBuilder::build_and_execute(|| {
		let grant = NewPolicy { end: 100, ..Default::default() }.create();
		let (first, _) = request(&grant, P1, "bob", &[b"x"]);
		assert_ok!(answer("n1", P1, first));
		run_to_block(3);
		let (second, _) = request(&grant, P1, "bob", &[b"y"]);
		// The first is kept through block deadline + retention.
		run_to_block(1 + WINDOW + RETENTION + 1);
		assert!(Requests::<Test>::contains_key(first));
		run_to_block(1 + WINDOW + RETENTION + 2);
		assert!(!Requests::<Test>::contains_key(first));
		assert!(!Responses::<Test>::contains_key(first, account("n1")));
		assert_eq!(KmsPolicies::request_status(first), None);
		assert!(KmsPolicies::cfrags(first).is_empty());
		assert!(Requests::<Test>::contains_key(second));
		assert_eq!(OldestRequest::<Test>::get(), second);
		run_to_block(3 + WINDOW + RETENTION + 2);
		assert_eq!(OldestRequest::<Test>::get(), second + 1);
		assert_eq!(Requests::<Test>::iter().count(), 0);
	});
}

#[test]
fn pruning_stays_within_its_budget() {
	ExtBuilder::build_and_execute(|| {
		let grant = NewPolicy { end: 100, ..Default::default() }.create();
		request(&grant, P1, "bob", &[b"x"]);
		request(&grant, P1, "bob", &[b"y"]);
		System::set_block_number(1 + WINDOW + RETENTION + 1);
		let one = <Test as Config>::WeightInfo::prune_request(MAX_NODES)
			.saturating_add(<Test as frame_system::Config>::DbWeight::get().reads_writes(2, 1));
		assert_eq!(KmsPolicies::on_idle(System::block_number(), one), one);
		assert_eq!(OldestRequest::<Test>::get(), 1);
		assert_eq!(KmsPolicies::on_idle(System::block_number(), Weight::zero()), Weight::zero());
		assert_eq!(OldestRequest::<Test>::get(), 1);
		KmsPolicies::on_idle(System::block_number(), Weight::MAX);
		assert_eq!(OldestRequest::<Test>::get(), 2);
		// Keep `try_state`'s deadline check honest for the skipped blocks.
		Deadlines::<Test>::remove(1 + WINDOW);
	});
}

/// Finding 2 of the request-economics issue: a request pays for the free answers it causes
/// and for its deadline's processing; charged for `MaxNodes` nodes, refunded to the policy's.
#[test]
fn a_request_pays_for_the_answers_it_causes() {
	use crate::weights::WeightInfo;
	use frame_support::dispatch::GetDispatchInfo;
	type Weights = ();
	ExtBuilder::build_and_execute(|| {
		let grant = NewPolicy::default().create();
		let nodes = Policies::<Test>::get(P1).expect("created").nodes.len() as u32;
		let capsules: BoundedVec<CapsuleBytes, _> =
			vec![capsule_bytes(&grant.encrypt(b"x").0); 2].try_into().expect("two");
		let call = crate::Call::<Test>::request_reencryption {
			policy: P1,
			capsules: capsules.clone(),
			max_price: 0,
		};
		let charged = call.get_dispatch_info().call_weight;
		let bob = RuntimeOrigin::signed(account("bob"));
		let info = KmsPolicies::request_reencryption(bob, P1, capsules, 0).expect("requested");
		let actual = info.actual_weight.expect("refunded to the policy's nodes");
		assert_eq!(actual, KmsPolicies::request_weight(2, nodes));
		assert_eq!(charged, KmsPolicies::request_weight(2, MAX_NODES));
		assert!(nodes < MAX_NODES && charged.all_gt(actual));
		// At least the request itself, each answer's check in the pool and dispatch, and the
		// request's share of the deadline's processing.
		let answers = <Weights as WeightInfo>::authorize_response(2)
			.saturating_add(<Weights as WeightInfo>::submit_cfrags(2))
			.saturating_mul(nodes.into());
		let deadline = <Weights as WeightInfo>::process_deadlines(1)
			.saturating_sub(<Weights as WeightInfo>::process_deadlines(0));
		let own = <Weights as WeightInfo>::request_reencryption(2, 0);
		assert!(actual.all_gte(own.saturating_add(answers).saturating_add(deadline)));
	});
}

/// Finding 6 of the request-economics issue: a request's storage is paid for by a deposit,
/// held while the request and its cfrags are kept and returned when they are pruned.
#[test]
fn a_request_holds_a_storage_deposit_until_it_is_pruned() {
	use frame_support::traits::fungible::InspectHold;
	ExtBuilder::build_and_execute(|| {
		DepositPerByte::set(2);
		let grant = NewPolicy::default().create();
		let deposit_held =
			|| Balances::balance_on_hold(&HoldReason::RequestDeposit.into(), &account("bob"));
		let bob = free("bob");
		let (request, _) = request(&grant, P1, "bob", &[b"x", b"y"]);
		let deposit = KmsPolicies::request_deposit(2, 3);
		assert_eq!(
			(deposit_held(), RequestDeposits::<Test>::get(request)),
			(deposit, Some(deposit))
		);
		assert_eq!(free("bob"), bob - deposit);
		assert_ok!(answer("n1", P1, request));
		assert_ok!(answer("n2", P1, request));
		assert_ok!(answer("n3", P1, request));
		// It pays for every byte the request and its answers keep, keys included.
		let stored = |key: Vec<u8>| {
			(key.len() + sp_io::storage::get(&key).expect("stored").len()) as Balance
		};
		let mut bytes = stored(Requests::<Test>::hashed_key_for(request))
			+ stored(RequestDeposits::<Test>::hashed_key_for(request));
		for node in ["n1", "n2", "n3"] {
			bytes += stored(Responses::<Test>::hashed_key_for(request, account(node)));
		}
		assert!(2 * bytes <= deposit, "{bytes} bytes stored for a deposit of {deposit}");
		assert!(
			2 * (bytes + 3 * 2 * CFRAG_LEN as Balance) > deposit,
			"and not much more: {bytes} bytes stored for a deposit of {deposit}"
		);
		// Kept through the deadline and the retention, returned when pruned.
		run_to_block(1 + WINDOW + RETENTION + 1);
		assert_eq!(deposit_held(), deposit);
		run_to_block(1 + WINDOW + RETENTION + 2);
		assert!(!Requests::<Test>::contains_key(request));
		assert_eq!((deposit_held(), RequestDeposits::<Test>::get(request)), (0, None));
		assert_eq!(free("bob"), bob);
		// A requester who cannot put up the deposit is refused, and nothing is kept.
		DepositPerByte::set(Balance::MAX / 1_000_000);
		let capsules = vec![capsule_bytes(&grant.encrypt(b"x").0)];
		assert_noop!(try_request("bob", P1, capsules), Error::<Test>::CannotPayRequestDeposit);
	});
}

/// Review of the request-economics issue (cheap slot holding): a request burns its slot's
/// price, which rises after every block with more requests than half the block's slots, so
/// holding most slots block after block gets exponentially dearer, and falls back once the
/// load does. Half-full blocks keep the floor.
#[test]
fn the_request_price_follows_the_load() {
	ExtBuilder::build_and_execute(|| {
		MinRequestPrice::set(800);
		let grant = NewPolicy::default().create();
		let fill = |count: u32| {
			for _ in 0..count {
				let before = (free("bob"), Balances::total_issuance());
				let price = KmsPolicies::request_price();
				let (id, _) = request(&grant, P1, "bob", &[b"x"]);
				assert!(events().iter().any(|e| matches!(
					e,
					Event::ReencryptionRequested { request, price: paid, .. }
						if *request == id && *paid == price
				)));
				assert_eq!(
					(free("bob"), Balances::total_issuance()),
					(before.0 - price, before.1 - price)
				);
			}
			run_to_block(System::block_number() + 1);
			KmsPolicies::request_price()
		};
		// Half of the 4 slots: the floor stays.
		assert_eq!(fill(MAX_REQUESTS / 2), 800);
		// Full blocks: an eighth more each.
		assert_eq!(fill(MAX_REQUESTS), 900);
		assert_eq!(fill(MAX_REQUESTS), 1_012);
		assert_eq!(fill(MAX_REQUESTS), 1_138);
		// Three quarters full: a sixteenth more.
		assert_eq!(fill(3), 1_138 + 1_138 / 8 / 2);
		// A reader who will not pay the current price is refused, and pays nothing for it.
		let capsules = vec![capsule_bytes(&grant.encrypt(b"x").0)];
		let bob = free("bob");
		assert_noop!(
			try_request_within("bob", P1, capsules.clone(), 1_208),
			Error::<Test>::RequestPriceAboveMax
		);
		assert_eq!(free("bob"), bob);
		assert_ok!(try_request_within("bob", P1, capsules, 1_209));
		run_to_block(System::block_number() + 1);
		// Empty blocks bring it back down, to the floor and no lower.
		let mut price = KmsPolicies::request_price();
		for _ in 0..5 {
			let next = fill(0);
			assert!(next < price || next == 800);
			price = next;
		}
		assert_eq!(price, 800);
		assert!(!RequestPrice::<Test>::exists());
	});
}

#[test]
fn a_reader_who_cannot_pay_the_slot_price_is_refused() {
	ExtBuilder::build_and_execute(|| {
		let grant = NewPolicy::default().create();
		MinRequestPrice::set(FUNDS);
		let capsules = vec![capsule_bytes(&grant.encrypt(b"x").0)];
		assert_noop!(try_request("bob", P1, capsules), Error::<Test>::CannotPayRequestPrice);
	});
}
