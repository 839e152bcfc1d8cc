//! Creating policies: what is stored and escrowed, and every reason a policy is refused.

use super::*;

#[test]
fn creates_a_policy_and_escrows_its_fees() {
	ExtBuilder::build_and_execute(|| {
		let grant = NewPolicy::default().create_pending();
		// Block 1 to 30: periods 0, 1 and 2; three nodes at 100 a period.
		assert_eq!(escrow_of("alice"), 900);
		assert_eq!(free("alice"), FUNDS - 900);
		let policy = Policies::<Test>::get(P1).expect("stored");
		assert_eq!(policy.owner, account("alice"));
		assert_eq!(
			[policy.delegating_key, policy.verifying_key, policy.receiving_key],
			grant.keys()
		);
		assert_eq!(policy.threshold, 2);
		assert_eq!(
			policy.nodes.iter().map(|n| n.node.clone()).collect::<Vec<_>>(),
			vec![account("n1"), account("n2"), account("n3")]
		);
		assert_eq!((policy.start, policy.end, policy.version), (1, 30, 0));
		assert_eq!(policy.status, PolicyStatus::Active);
		assert_eq!(policy.fees, PolicyFees { escrowed: 900, paid: 0, refunded: 0 });
		for node in ["n1", "n2", "n3"] {
			assert!(KFrags::<Test>::contains_key(P1, account(node)));
			assert_eq!(
				FeeShares::<Test>::get(P1, account(node)),
				Some(FeeShare { first: 0, last: 2, next: 0, accepted_from: None })
			);
			assert_eq!(KeyUsage::<Test>::get(account(node), 0), 1);
		}
		assert!(!KFrags::<Test>::contains_key(P1, account("n4")));
		assert_eq!(KmsPolicies::policies_of(&account("alice"), None, 10), vec![P1]);
		assert_eq!(
			events().last(),
			Some(&Event::PolicyCreated {
				id: P1,
				owner: account("alice"),
				threshold: 2,
				nodes: 3,
				end: 30,
				escrowed: 900,
			})
		);
	});
}

#[test]
fn every_node_decrypts_and_verifies_its_kfrag() {
	ExtBuilder::build_and_execute(|| {
		let grant = NewPolicy::default().create();
		let (id, _) = request(&grant, P1, "bob", &[b"x"]);
		// `reencrypt_as` opens the envelope with the node's key and verifies the kfrag
		// against the policy's keys.
		for node in ["n1", "n2", "n3"] {
			assert_eq!(reencrypt_as(node, P1, id).len(), 1);
		}
	});
}

#[test]
fn policy_ids_are_never_reused() {
	ExtBuilder::build_and_execute(|| {
		NewPolicy::default().create();
		assert_noop!(NewPolicy::default().create_with(&Grant::new()), Error::<Test>::PolicyIdInUse);
		assert_ok!(KmsPolicies::revoke_policy(RuntimeOrigin::signed(account("alice")), P1));
		assert_noop!(NewPolicy::default().create_with(&Grant::new()), Error::<Test>::PolicyIdInUse);
		// Another owner cannot take it either.
		assert_noop!(
			NewPolicy { owner: "bob", ..Default::default() }.create_with(&Grant::new()),
			Error::<Test>::PolicyIdInUse
		);
		NewPolicy { id: P2, end: 5, ..Default::default() }.create();
		run_to_period(1, &[]);
		assert_ok!(KmsPolicies::settle_policy(RuntimeOrigin::signed(account("bob")), P2, 10));
		assert_noop!(
			NewPolicy { id: P2, end: 50, ..Default::default() }.create_with(&Grant::new()),
			Error::<Test>::PolicyIdInUse
		);
	});
}

#[test]
fn threshold_and_node_count_boundaries() {
	ExtBuilder::build_and_execute(|| {
		assert_noop!(
			NewPolicy { threshold: 0, ..Default::default() }.create_with(&Grant::new()),
			Error::<Test>::InvalidThreshold
		);
		assert_noop!(
			NewPolicy { threshold: 4, ..Default::default() }.create_with(&Grant::new()),
			Error::<Test>::InvalidThreshold
		);
		assert_noop!(
			NewPolicy { nodes: vec![], threshold: 1, ..Default::default() }
				.create_with(&Grant::new()),
			Error::<Test>::NoNodes
		);
		// M = N = MaxNodes.
		NewPolicy { threshold: MAX_NODES, nodes: NODES.to_vec(), ..Default::default() }.create();
		assert_eq!(Policies::<Test>::get(P1).expect("stored").nodes.len(), MAX_NODES as usize);
		// 1-of-1.
		NewPolicy { id: P2, threshold: 1, nodes: vec!["n4"], ..Default::default() }.create();
	});
}

#[test]
fn nodes_must_be_distinct_eligible_and_accept_the_rate() {
	ExtBuilder::build_and_execute(|| {
		assert_noop!(
			NewPolicy { nodes: vec!["n1", "n2", "n1"], ..Default::default() }
				.create_with(&Grant::new()),
			Error::<Test>::DuplicateNode
		);
		// Not a node at all.
		assert_noop!(
			NewPolicy { nodes: vec!["n1", "bob"], ..Default::default() }.create_with(&Grant::new()),
			Error::<Test>::NodeNotEligible
		);
		// Locks of 50 periods cover period 50 and no further: end at block 510 is period 50
		// (its last block is 509), 511 reaches period 51.
		NewPolicy { end: 510, ..Default::default() }.create();
		assert_noop!(
			NewPolicy { id: P2, end: 511, ..Default::default() }.create_with(&Grant::new()),
			Error::<Test>::NodeNotEligible
		);
		// A node that missed a deadline in this period is not serving.
		pallet_kms_staking::Service::<Test>::mutate(0, account("n3"), |r| r.missed_deadlines = 1);
		assert_noop!(
			NewPolicy { id: P2, ..Default::default() }.create_with(&Grant::new()),
			Error::<Test>::NodeNotEligible
		);
		assert_ok!(Staking::set_min_fee_rate(RuntimeOrigin::signed(account("n1")), RATE + 1));
		assert_noop!(
			NewPolicy { id: P2, nodes: vec!["n1", "n2"], ..Default::default() }
				.create_with(&Grant::new()),
			Error::<Test>::FeeRateBelowNodeMinimum
		);
		NewPolicy { id: P2, nodes: vec!["n1", "n2"], rate: RATE + 1, ..Default::default() }
			.create();
	});
}

#[test]
fn fee_rate_end_and_balance_are_checked() {
	ExtBuilder::build_and_execute(|| {
		for rate in [MIN_RATE - 1, MAX_RATE + 1] {
			assert_noop!(
				NewPolicy { rate, ..Default::default() }.create_with(&Grant::new()),
				Error::<Test>::FeeRateOutOfRange
			);
		}
		assert_noop!(
			NewPolicy { end: 1, ..Default::default() }.create_with(&Grant::new()),
			Error::<Test>::EndInPast
		);
		assert_noop!(
			NewPolicy { owner: "dave", ..Default::default() }.create_with(&Grant::new()),
			Error::<Test>::InsufficientBalance
		);
		// Both rate bounds are allowed.
		NewPolicy { rate: MIN_RATE, ..Default::default() }.create();
		NewPolicy { id: P2, rate: MAX_RATE, ..Default::default() }.create();
	});
}

#[test]
fn a_policy_ending_one_period_after_now_pays_for_the_periods_it_touches() {
	ExtBuilder::build_and_execute(|| {
		// Block 1 to 11 (exclusive): blocks 1..=9 of period 0 and block 10 of period 1.
		NewPolicy { end: 11, ..Default::default() }.create();
		assert_eq!(escrow_of("alice"), 2 * 3 * RATE);
		// Block 1 to 10: period 0 only; the shortest policy, end = now + 1, too.
		NewPolicy { id: P2, end: 10, ..Default::default() }.create();
		NewPolicy { id: [3; 16], end: 2, ..Default::default() }.create();
		assert_eq!(escrow_of("alice"), 2 * 3 * RATE + 3 * RATE + 3 * RATE);
	});
}

#[test]
fn keys_must_be_curve_points() {
	ExtBuilder::build_and_execute(|| {
		let grant = Grant::new();
		let [delegating, verifying, receiving] = grant.keys();
		let mut not_a_point = delegating;
		not_a_point.0[1..].fill(0xff);
		let mut wrong_tag = delegating;
		wrong_tag.0[0] = 0x04;
		let nodes = grant.grants(2, &["n1", "n2", "n3"]);
		let signature = grant.sign("alice", P1, 2, 30, &Default::default(), &nodes);
		let create = |keys: [UmbralPublicKey; 3]| {
			KmsPolicies::create_policy(
				RuntimeOrigin::signed(account("alice")),
				P1,
				Default::default(),
				keys[0],
				keys[1],
				keys[2],
				2,
				nodes.clone(),
				30,
				RATE,
				Default::default(),
				signature,
			)
		};
		for bad in [not_a_point, wrong_tag] {
			assert_noop!(create([bad, verifying, receiving]), Error::<Test>::InvalidDelegatingKey);
			assert_noop!(create([delegating, bad, receiving]), Error::<Test>::InvalidVerifyingKey);
			assert_noop!(create([delegating, verifying, bad]), Error::<Test>::InvalidReceivingKey);
		}
		assert_ok!(create([delegating, verifying, receiving]));
	});
}

/// Whoever saw a policy's envelopes (they stay in the chain's history), a revoked reader
/// first, cannot grant them again: a copy under another account, id or end, with other
/// conditions, is refused whatever signature it carries. Only the signer that made the kfrags
/// signs a policy's terms.
#[test]
fn a_policy_cannot_be_cloned_from_its_envelopes() {
	ExtBuilder::build_and_execute(|| {
		let grant = Grant::new();
		let [delegating, verifying, receiving] = grant.keys();
		let nodes = grant.grants(2, &["n1", "n2", "n3"]);
		let create = |owner: &str, id, end, conditions: Vec<_>, signature| {
			KmsPolicies::create_policy(
				RuntimeOrigin::signed(account(owner)),
				id,
				Default::default(),
				delegating,
				verifying,
				receiving,
				2,
				nodes.clone(),
				end,
				RATE,
				conditions.try_into().expect("few conditions"),
				signature,
			)
		};
		let alices = grant.sign("alice", P1, 2, 30, &Default::default(), &nodes);
		assert_ok!(create("alice", P1, 30, vec![], alices));
		// Bob replays the envelopes, the keys and Alice's signature under his account.
		assert_noop!(create("bob", P2, 30, vec![], alices), Error::<Test>::GrantNotSigned);
		// Her signature is for those terms only: not another id, a later end, or conditions
		// dropped or added.
		assert_noop!(create("alice", P2, 30, vec![], alices), Error::<Test>::GrantNotSigned);
		KmsPolicies::revoke_policy(RuntimeOrigin::signed(account("alice")), P1).unwrap();
		let later = grant.sign("alice", P2, 2, 30, &Default::default(), &nodes);
		assert_noop!(create("alice", P2, 40, vec![], later), Error::<Test>::GrantNotSigned);
		let bob_only = vec![Condition::RequesterIs { account: account("bob") }];
		assert_noop!(create("alice", P2, 30, bob_only, later), Error::<Test>::GrantNotSigned);
		// Bob's own signer is not the policy's verifying key.
		let bobs = Grant::new().sign("bob", P2, 2, 30, &Default::default(), &nodes);
		assert_noop!(create("bob", P2, 30, vec![], bobs), Error::<Test>::GrantNotSigned);
		// Bytes that are no signature at all: refused, no panic.
		for bytes in [[0u8; 64], [0xff; 64]] {
			let junk = UmbralSignature(bytes);
			assert_noop!(create("bob", P2, 30, vec![], junk), Error::<Test>::GrantNotSigned);
		}
		// Alice's signature over the new terms does it.
		assert_ok!(create("alice", P2, 30, vec![], later));
	});
}

#[test]
fn encrypted_kfrags_are_checked() {
	ExtBuilder::build_and_execute(|| {
		let grant = Grant::new();
		let [delegating, verifying, receiving] = grant.keys();
		let good = grant.grants(1, &["n1"]);
		let create = |change: &dyn Fn(&mut NodeGrant<AccountId>)| {
			let mut nodes = good.clone();
			change(&mut nodes[0]);
			let signature = grant.sign("alice", P1, 1, 30, &Default::default(), &nodes);
			KmsPolicies::create_policy(
				RuntimeOrigin::signed(account("alice")),
				P1,
				Default::default(),
				delegating,
				verifying,
				receiving,
				1,
				nodes,
				30,
				RATE,
				Default::default(),
				signature,
			)
		};
		assert_noop!(
			create(&|g| {
				g.kfrag.capsule.pop();
			}),
			Error::<Test>::InvalidKFragCapsuleLength
		);
		assert_noop!(
			create(&|g| {
				g.kfrag.ciphertext.pop();
			}),
			Error::<Test>::InvalidKFragLength
		);
		assert_noop!(create(&|g| g.kfrag.capsule[50] ^= 1), Error::<Test>::MalformedKFragCapsule);
		assert_noop!(create(&|g| g.key_version = 1), Error::<Test>::UnknownNodeKey);
		// A capsule whose points cancel (V = −E) would crash the node opening it.
		assert_noop!(
			create(&|g| {
				let e = g.kfrag.capsule[3..36].to_vec();
				g.kfrag.capsule[38..71].copy_from_slice(&e);
				g.kfrag.capsule[38] ^= 1;
			}),
			Error::<Test>::MalformedKFragCapsule
		);
		assert_ok!(create(&|_| {}));
	});
}

#[test]
fn grants_go_to_the_current_node_key_only() {
	ExtBuilder::build_and_execute(|| {
		// n1 rotates its key: version 0 stays kept for the policies granted under it, but a
		// new grant to it would pin a key the node is leaving.
		assert_ok!(pallet_kms_staking::testing::rotate_key::<Test>("n1", "n1-v1"));
		assert_noop!(
			NewPolicy { nodes: vec!["n1"], threshold: 1, ..Default::default() }
				.create_with(&Grant::new()),
			Error::<Test>::UnknownNodeKey
		);
	});
}

#[test]
fn condition_trees_are_checked_at_creation() {
	use Condition::*;
	ExtBuilder::build_and_execute(|| {
		let pay = PayPerAccess { to: account("alice"), amount: 5 };
		let cases: Vec<(Vec<Condition<AccountId, Balance, u64>>, Error<Test>)> = vec![
			(vec![All { count: 0 }], Error::<Test>::MalformedConditions),
			(vec![All { count: 2 }, NotBefore { block: 1 }], Error::<Test>::MalformedConditions),
			(
				vec![NotBefore { block: 1 }, NotAfter { block: 5 }],
				Error::<Test>::MalformedConditions,
			),
			(vec![Not], Error::<Test>::MalformedConditions),
			(vec![Not, Not, Not, NotBefore { block: 1 }], Error::<Test>::ConditionsTooDeep),
			(
				vec![Any { count: 2 }, pay.clone(), NotBefore { block: 1 }],
				Error::<Test>::ConditionalPayment,
			),
			(vec![Not, pay.clone()], Error::<Test>::ConditionalPayment),
			(
				vec![Any { count: 1 }, All { count: 1 }, pay.clone()],
				Error::<Test>::ConditionalPayment,
			),
		];
		for (conditions, error) in cases {
			assert_noop!(
				NewPolicy { conditions: conditions.clone(), ..Default::default() }
					.create_with(&Grant::new()),
				error
			);
		}
		// At the depth limit, and a payment under `All`.
		NewPolicy { conditions: vec![Not, Not, NotBefore { block: 1 }], ..Default::default() }
			.create();
		NewPolicy {
			id: P2,
			conditions: vec![All { count: 2 }, pay, NotAfter { block: 100 }],
			..Default::default()
		}
		.create();
	});
}

#[test]
fn nodes_are_sampled_by_stake_among_the_eligible() {
	ExtBuilder::build_and_execute(|| {
		let seed = |i: u32| sp_io::hashing::blake2_256(&i.to_le_bytes());
		let sample = KmsPolicies::sample_nodes(3, 30, seed(0));
		assert_eq!(sample.len(), 3);
		let mut distinct = sample.clone();
		distinct.sort();
		distinct.dedup();
		assert_eq!(distinct.len(), 3, "no node twice");
		assert_eq!(KmsPolicies::sample_nodes(3, 30, seed(0)), sample, "same seed, same nodes");
		// Capped at the eligible nodes and at MaxNodes.
		assert_eq!(KmsPolicies::sample_nodes(100, 30, seed(1)).len(), NODES.len());
		// n4 did not serve in period 0 (a missed deadline): never drawn.
		pallet_kms_staking::Service::<Test>::mutate(0, account("n4"), |r| r.missed_deadlines = 1);
		for i in 0..20 {
			assert!(!KmsPolicies::sample_nodes(3, 30, seed(i)).contains(&account("n4")));
		}
		// Nobody's lock covers period 60.
		assert!(KmsPolicies::sample_nodes(3, 600, seed(2)).is_empty());
		// Drawn in proportion to stake: n3 (3 000) comes first about three times as often as
		// n1 (1 000) among n1, n2, n3 (6 000 in all).
		let firsts = |node: &str| {
			(0..600)
				.filter(|i| KmsPolicies::sample_nodes(1, 30, seed(*i))[0] == account(node))
				.count()
		};
		let (n1, n3) = (firsts("n1"), firsts("n3"));
		assert!((60..140).contains(&n1), "n1 first {n1} times of 600, expected about 100");
		assert!((240..360).contains(&n3), "n3 first {n3} times of 600, expected about 300");
	});
}

#[test]
fn an_owners_policies_are_paged() {
	ExtBuilder::build_and_execute(|| {
		let ids: Vec<PolicyId> = (1..=5u8).map(|i| [i; 16]).collect();
		for id in &ids {
			NewPolicy { id: *id, threshold: 1, nodes: vec!["n1"], ..Default::default() }.create();
		}
		NewPolicy {
			id: [9; 16],
			owner: "bob",
			threshold: 1,
			nodes: vec!["n2"],
			..Default::default()
		}
		.create();
		let first = KmsPolicies::policies_of(&account("alice"), None, 2);
		assert_eq!(first.len(), 2);
		let second = KmsPolicies::policies_of(&account("alice"), first.last().copied(), 2);
		let third = KmsPolicies::policies_of(&account("alice"), second.last().copied(), 2);
		assert_eq!((second.len(), third.len()), (2, 1));
		let mut all = [first, second, third].concat();
		all.sort();
		assert_eq!(all, ids, "every policy once, none of Bob's");
		assert_eq!(KmsPolicies::policies_of(&account("bob"), None, 10), vec![[9; 16]]);
	});
}
