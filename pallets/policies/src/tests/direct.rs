//! Direct requests (the fast path's access log): logged, paid at once, never a deadline or an
//! answer on chain; refused access logged rather than failed; the checks a node asks of the
//! runtime agreeing with the call; and what a node reads to serve.

use super::*;
use kms_primitives::policies::{DirectService, GrantRefusal};
use kms_primitives::staking::Ineligibility;
use Condition::*;

/// Fresh capsules of the policy's delegating key.
fn capsules(grant: &Grant, count: usize) -> Vec<CapsuleBytes> {
	(0..count).map(|_| capsule_bytes(&grant.encrypt(b"direct").0)).collect()
}

/// `requester` sends a direct request of `capsules` under `policy`.
fn direct(requester: &str, policy: PolicyId, capsules: Vec<CapsuleBytes>) -> DispatchResult {
	KmsPolicies::request_direct_reencryption(
		RuntimeOrigin::signed(account(requester)),
		policy,
		capsules.try_into().expect("at most MaxCapsules capsules"),
	)
}

/// What a node's check says about the same request. Asked in either of the two ways a node can
/// ask it, the same: in one call, or with the capsules decoded natively first and the rest
/// asked of the runtime.
fn check(
	requester: &str,
	policy: PolicyId,
	capsules: &[CapsuleBytes],
) -> Result<u32, DispatchError> {
	let checked = KmsPolicies::check_direct_request(&account(requester), policy, capsules);
	let natively = KmsPolicies::check_direct_capsules(capsules)
		.map_err(DispatchError::from)
		.and_then(|_| KmsPolicies::check_direct_access(&account(requester), policy, capsules));
	assert_eq!(natively, checked, "decoding natively first changes nothing");
	checked
}

/// Submits `capsules` as a direct request of `requester` and asserts that the chain logs it, and
/// only it, as refused for `reason`.
fn logged_as_refused(
	requester: &str,
	policy: PolicyId,
	capsules: Vec<CapsuleBytes>,
	reason: AccessDenied,
) {
	let _ = new_events();
	assert_ok!(direct(requester, policy, capsules));
	assert_eq!(
		new_events(),
		[Event::DirectReencryptionRefused { policy, requester: account(requester), reason }]
	);
}

#[test]
fn a_direct_request_is_logged_and_binds_no_node_to_anything() {
	ExtBuilder::build_and_execute(|| {
		let grant = NewPolicy::default().create();
		let _ = new_events();
		let asked = capsules(&grant, 2);
		assert_eq!(check("bob", P1, &asked), Ok(0));
		assert_ok!(direct("bob", P1, asked));
		assert_eq!(
			new_events(),
			[Event::DirectReencryptionRequested {
				policy: P1,
				version: 0,
				requester: account("bob"),
				capsules: 2,
				paid: 0,
			}]
		);
		// No request id, no deadline, nothing stored, nothing held.
		assert_eq!(NextRequestId::<Test>::get(), 0);
		assert_eq!(Deadlines::<Test>::iter().count(), 0);
		assert_eq!(Requests::<Test>::iter().count(), 0);
		assert_eq!(RequestLoad::<Test>::get(), None);
		// Past every window, no node is recorded as missing anything.
		run_to_period(1, &[]);
		for node in ["n1", "n2", "n3"] {
			assert_eq!(
				pallet_kms_staking::Service::<Test>::get(0, account(node)).missed_deadlines,
				0
			);
		}
		assert!(!events().iter().any(|e| matches!(e, Event::RequestFailed { .. })));
	});
}

#[test]
fn malformed_capsules_fail_the_call_and_the_check_alike() {
	ExtBuilder::build_and_execute(|| {
		let grant = NewPolicy::default().create();
		let good = capsules(&grant, 1).remove(0);
		let mut short = good.clone();
		short.pop();
		let mut tampered = good.clone();
		tampered[CAPSULE_LEN - 1] ^= 1;
		let zeroes: CapsuleBytes = vec![0u8; CAPSULE_LEN].try_into().expect("105");
		for (asked, error) in [
			(vec![], Error::<Test>::NoCapsules),
			(vec![good.clone(), short], Error::<Test>::InvalidCapsuleLength),
			(vec![tampered], Error::<Test>::MalformedCapsule),
			(vec![good.clone(), zeroes], Error::<Test>::MalformedCapsule),
		] {
			let error = DispatchError::from(error);
			assert_eq!(check("bob", P1, &asked), Err(error));
			assert_noop!(direct("bob", P1, asked), error);
		}
		// The runtime's check without decoding leaves decoding to the node, and only that.
		let mut tampered = good.clone();
		tampered[CAPSULE_LEN - 1] ^= 1;
		assert_eq!(KmsPolicies::check_direct_access(&account("bob"), P1, &[tampered]), Ok(0));
		// A node's check also bounds the count, which the call's type bounds.
		let too_many = vec![good; MAX_CAPSULES as usize + 1];
		assert_eq!(check("bob", P1, &too_many), Err(Error::<Test>::TooManyCapsules.into()));
	});
}

/// A node answers only what its check grants at its best block, but the state may change before
/// the request lands: the request is then logged as refused, never dropped, so every request a
/// node may have answered is in the log.
#[test]
fn access_denied_by_the_time_it_lands_is_logged_with_its_reason() {
	ExtBuilder::build_and_execute(|| {
		let grant = NewPolicy {
			conditions: vec![RequesterIs { account: account("bob") }],
			..Default::default()
		}
		.create();
		let asked = capsules(&grant, 1);
		let refused = |requester: &str, policy: PolicyId, reason: AccessDenied| {
			assert_eq!(
				check(requester, policy, &asked),
				Err(Error::<Test>::from(reason.clone()).into())
			);
			logged_as_refused(requester, policy, asked.clone(), reason);
		};
		refused("carol", P1, AccessDenied::WrongRequester);
		refused("bob", P2, AccessDenied::UnknownPolicy);
		assert_ok!(KmsPolicies::revoke_policy(RuntimeOrigin::signed(account("alice")), P1));
		refused("bob", P1, AccessDenied::Revoked);
		// A policy whose nodes have not accepted yet takes no request either.
		let pending = NewPolicy { id: P2, ..Default::default() }.create_pending();
		let asked = capsules(&pending, 1);
		assert_eq!(check("bob", P2, &asked), Err(Error::<Test>::AwaitingAcceptance.into()));
	});
}

/// A node checks at its best block what the request meets in the next one: a policy whose
/// window closes at the best block is refused by the check as the call would refuse it.
#[test]
fn the_check_judges_access_as_of_the_block_the_request_lands_in() {
	ExtBuilder::build_and_execute(|| {
		let now = System::block_number();
		let grant =
			NewPolicy { conditions: vec![NotAfter { block: now }], ..Default::default() }.create();
		let asked = capsules(&grant, 1);
		assert_eq!(check("bob", P1, &asked), Err(Error::<Test>::TooLate.into()));
		run_to_block(now + 1);
		logged_as_refused("bob", P1, asked, AccessDenied::TooLate);
	});
}

#[test]
fn pay_per_access_is_paid_once_when_the_request_lands() {
	ExtBuilder::build_and_execute(|| {
		let grant = NewPolicy {
			conditions: vec![
				All { count: 2 },
				PayPerAccess { to: account("alice"), amount: 7 },
				PayPerAccess { to: account("carol"), amount: 3 },
			],
			..Default::default()
		}
		.create();
		let (alice, bob, carol) = (free("alice"), free("bob"), free("carol"));
		let _ = new_events();
		assert_ok!(direct("bob", P1, capsules(&grant, 3)));
		assert_eq!(
			new_events(),
			[
				Event::AccessPaid {
					policy: P1,
					requester: account("bob"),
					to: account("alice"),
					amount: 7
				},
				Event::AccessPaid {
					policy: P1,
					requester: account("bob"),
					to: account("carol"),
					amount: 3
				},
				Event::DirectReencryptionRequested {
					policy: P1,
					version: 0,
					requester: account("bob"),
					capsules: 3,
					paid: 10,
				},
			]
		);
		assert_eq!((free("alice"), free("bob"), free("carol")), (alice + 7, bob - 10, carol + 3));
		// Nothing stays held, and nothing more is paid later.
		assert_eq!(AccessPayments::<Test>::iter().count(), 0);
		run_to_period(1, &[]);
		assert_eq!((free("alice"), free("bob"), free("carol")), (alice + 7, bob - 10, carol + 3));
		// Bob spends down to less than the payments and the existential deposit: refused, and
		// nobody is paid anything.
		let spendable = free("bob") - ED;
		assert_ok!(Balances::transfer_allow_death(
			RuntimeOrigin::signed(account("bob")),
			account("dave"),
			spendable - 9
		));
		let asked = capsules(&grant, 1);
		assert_eq!(check("bob", P1, &asked), Err(Error::<Test>::CannotPayForAccess.into()));
		let (alice, bob, carol) = (free("alice"), free("bob"), free("carol"));
		logged_as_refused("bob", P1, asked, AccessDenied::CannotPay);
		assert_eq!((free("alice"), free("bob"), free("carol")), (alice, bob, carol));
	});
}

#[test]
fn a_node_reads_its_part_of_the_current_version_only_once_it_accepted() {
	ExtBuilder::build_and_execute(|| {
		NewPolicy {
			conditions: vec![PayPerAccess { to: account("carol"), amount: 1 }],
			..Default::default()
		}
		.create_pending();
		assert_eq!(KmsPolicies::direct_service(P1, &account("n1")), None, "pending");
		accept_all(P1);
		let policy = Policies::<Test>::get(P1).expect("created");
		let entry = policy.node(&account("n1")).expect("named").clone();
		assert_eq!(
			KmsPolicies::direct_service(P1, &account("n1")),
			Some(DirectService {
				version: 0,
				keys: policy.keys(),
				pays_per_access: true,
				key_version: entry.key_version,
				kfrag: KFrags::<Test>::get(P1, account("n1")).expect("sealed"),
			})
		);
		assert_eq!(KmsPolicies::direct_service(P1, &account("n4")), None, "not a node of it");
		assert_eq!(KmsPolicies::direct_service(P2, &account("n1")), None, "no such policy");
		// Without payments, and after a revocation (its kfrags dropped), nothing to serve.
		NewPolicy { id: P2, ..Default::default() }.create();
		let service = KmsPolicies::direct_service(P2, &account("n2")).expect("accepted");
		assert!(!service.pays_per_access);
		assert_ok!(KmsPolicies::revoke_policy(RuntimeOrigin::signed(account("alice")), P2));
		assert_eq!(KmsPolicies::direct_service(P2, &account("n2")), None);
	});
}

#[test]
fn the_chain_says_why_a_node_cannot_be_granted_a_policy() {
	ExtBuilder::build_and_execute(|| {
		let end = 30;
		assert_eq!(KmsPolicies::grant_refusal(&account("n1"), end, RATE), None);
		assert_eq!(
			KmsPolicies::grant_refusal(&account("bob"), end, RATE),
			Some(GrantRefusal::Ineligible(Ineligibility::NotRegistered))
		);
		// Past the nodes' locks.
		let locked = KmsPolicies::grant_refusal(&account("n1"), 100_000, RATE);
		assert!(
			matches!(locked, Some(GrantRefusal::Ineligible(Ineligibility::LockTooShort { .. }))),
			"{locked:?}"
		);
		assert_ok!(pallet_kms_staking::Pallet::<Test>::set_min_fee_rate(
			RuntimeOrigin::signed(account("n1")),
			RATE + 1
		));
		assert_eq!(
			KmsPolicies::grant_refusal(&account("n1"), end, RATE),
			Some(GrantRefusal::FeeRateBelowMinimum)
		);
		assert_eq!(KmsPolicies::grant_refusal(&account("n1"), end, RATE + 1), None);
		// A node that stops heartbeating is not serving two periods later.
		run_to_period(2, &["n2"]);
		assert_eq!(
			KmsPolicies::grant_refusal(&account("n2"), end, RATE),
			Some(GrantRefusal::Ineligible(Ineligibility::NotServing))
		);
	});
}
