//! Benchmarks of the Policies pallet (v2). Each bench sets up its worst case, said in its doc.
//! The umbral-pre objects are real ones, written by umbral-pre's Python bindings
//! ([`kms_fixtures`]): the runtime decodes and checks them as it would any.

use super::*;
use frame_benchmarking::v2::*;
use frame_support::traits::{
	fungible::{Inspect, Mutate},
	Authorize,
};
use frame_system::RawOrigin;
use kms_fixtures as fixtures;
use kms_primitives::staking::StakingBenchmarks as _;
use kms_primitives::staking::{dev, UMBRAL_PUBLIC_KEY_LEN};
use rand_chacha::{rand_core::SeedableRng, ChaCha20Rng};
use sp_runtime::{traits::Bounded, RuntimeAppPublic};

/// A policy id for index `i`.
fn policy_id(i: u32) -> PolicyId {
	let mut id = [0u8; 16];
	id[..4].copy_from_slice(&i.to_le_bytes());
	id
}

fn umbral_key(bytes: &[u8]) -> UmbralPublicKey {
	let mut key = [0u8; UMBRAL_PUBLIC_KEY_LEN];
	key.copy_from_slice(bytes);
	UmbralPublicKey(key)
}

/// An account with plenty of free balance.
fn funded<T: Config>(name: &'static str, index: u32) -> T::AccountId {
	let who: T::AccountId = account(name, index, 0);
	T::Currency::set_balance(&who, BalanceOf::<T>::max_value() / 4u32.into());
	who
}

/// `count` eligible nodes, from index `from`: registered, serving in the current period.
fn nodes<T: Config>(from: u32, count: u32) -> Vec<T::AccountId> {
	let period = T::Staking::current_period();
	(from..from.saturating_add(count))
		.map(|i| {
			let node: T::AccountId = account("node", i, 0);
			let operator: T::AccountId = account("operator", i, 0);
			let key = dev::umbral_public_key(&alloc::format!("//bench-node-{i}"));
			T::Staking::register_for_benchmark(&node, &operator, key);
			T::Staking::serve_for_benchmark(&node, period);
			node
		})
		.collect()
}

/// Grants of the fixture kfrag envelope to `nodes`.
fn grants<T: Config>(nodes: &[T::AccountId]) -> GrantsOf<T> {
	let kfrag = EncryptedKFrag {
		capsule: fixtures::KFRAG_CAPSULE.to_vec().try_into().expect("105 bytes"),
		ciphertext: fixtures::KFRAG_CIPHERTEXT.to_vec().try_into().expect("350 bytes"),
	};
	nodes
		.iter()
		.map(|node| NodeGrant { node: node.clone(), key_version: 0, kfrag: kfrag.clone() })
		.collect::<Vec<_>>()
		.try_into()
		.expect("at most MaxNodes")
}

/// A condition tree of `size` nodes: `All { count: size − 1 }` over payments (the most costly leaves to
/// evaluate and settle) to existing accounts, distinct for each `salt`, or empty.
fn conditions<T: Config>(size: u32, salt: u32) -> ConditionsOf<T> {
	let mut tree = Vec::new();
	if size > 0 {
		tree.push(Condition::All { count: size.saturating_sub(1).min(255) as u8 });
		for i in 1..size {
			// Existing (so that payments to them succeed), and no more: funding every payee
			// as `funded` does would overflow the issuance.
			let to: T::AccountId = account("payee", salt.saturating_mul(size).saturating_add(i), 0);
			T::Currency::set_balance(&to, T::Currency::minimum_balance());
			tree.push(Condition::PayPerAccess { to, amount: T::MinFeeRate::get() });
		}
	}
	if size == 1 {
		// `All { count: 0 }` is malformed; one leaf alone.
		tree = alloc::vec![Condition::NotBefore { block: Zero::zero() }];
	}
	tree.try_into().expect("at most MaxConditionNodes")
}

/// A policy `id` of `owner` with `n` nodes (from node index `from`), ending `periods` periods
/// after the current one, with `condition_nodes` conditions, every node of which accepted it.
fn policy<T: Config>(
	id: PolicyId,
	owner: &T::AccountId,
	from: u32,
	n: u32,
	periods: u32,
	condition_nodes: u32,
) -> Vec<T::AccountId> {
	let nodes = pending_policy::<T>(id, owner, from, n, periods, condition_nodes);
	accept_all::<T>(id);
	nodes
}

/// The keys of the fixtures' policy (the kfrags of `grants` are made under them).
fn fixture_keys() -> PolicyKeys {
	PolicyKeys {
		verifying: umbral_key(&fixtures::VERIFYING_KEY),
		delegating: umbral_key(&fixtures::DELEGATING_KEY),
		receiving: umbral_key(&fixtures::RECEIVING_KEY),
	}
}

/// The fixtures' signer's signature over `terms`, as the owner's client makes it.
fn sign_terms<T: Config>(terms: &GrantTermsOf<'_, T>) -> UmbralSignature {
	let signer = fixtures::signer();
	UmbralSignature::of(
		&signer.sign_with_rng(&mut ChaCha20Rng::from_seed([3; 32]), &grant_payload::<T>(terms)),
	)
}

/// Creates `id` as `owner`, as the call does (the terms signed by the fixtures' signer).
#[allow(clippy::too_many_arguments)]
fn create<T: Config>(
	owner: &T::AccountId,
	id: PolicyId,
	label: BoundedVec<u8, T::MaxLabelLen>,
	threshold: u32,
	grants: GrantsOf<T>,
	end: BlockNumberFor<T>,
	conditions: ConditionsOf<T>,
) -> DispatchResult {
	let keys = fixture_keys();
	let signature = sign_terms::<T>(&GrantTerms {
		owner,
		id,
		keys,
		threshold,
		end,
		conditions: &conditions,
		grants: &grants,
	});
	Pallet::<T>::do_create_policy(
		owner.clone(),
		id,
		label,
		keys,
		threshold,
		grants,
		end,
		T::MinFeeRate::get(),
		conditions,
		&signature,
	)
}

/// The same policy, its nodes still pending.
fn pending_policy<T: Config>(
	id: PolicyId,
	owner: &T::AccountId,
	from: u32,
	n: u32,
	periods: u32,
	condition_nodes: u32,
) -> Vec<T::AccountId> {
	let nodes = nodes::<T>(from, n);
	let now = frame_system::Pallet::<T>::block_number();
	let length = period_length::<T>();
	let end = now.saturating_add(length.saturating_mul(periods.into()));
	create::<T>(
		owner,
		id,
		b"bench".to_vec().try_into().expect("short label"),
		n,
		grants::<T>(&nodes),
		end,
		conditions::<T>(condition_nodes, 0),
	)
	.expect("policy is valid");
	nodes
}

/// Every pending node of `id` accepts its current version (as their workers would, minus the
/// signatures, which `authorize_decision` measures).
fn accept_all<T: Config>(id: PolicyId) {
	let policy = Policies::<T>::get(id).expect("policy");
	for entry in policy.nodes.iter().filter(|entry| entry.accepted.is_none()) {
		Pallet::<T>::do_decide(decision::<T>(id, &entry.node, Decision::Accept, None))
			.expect("accepts");
	}
}

/// `node`'s decision on the current version of `id`, bound to what the chain holds, with
/// `public` as the signer (any key, when the signature is not checked).
fn decision<T: Config>(
	id: PolicyId,
	node: &T::AccountId,
	decision: Decision,
	public: Option<T::Public>,
) -> PolicyDecisionOf<T> {
	let policy = Policies::<T>::get(id).expect("policy");
	let envelope = KFrags::<T>::get(id, node).expect("kfrag");
	let public = public.unwrap_or_else(operator_key::<T>);
	PolicyDecision {
		policy: id,
		version: policy.version,
		node: node.clone(),
		content: grant_content_hash(&policy.keys(), &envelope),
		decision,
		sent_at: frame_system::Pallet::<T>::block_number(),
		public,
	}
}

/// A fresh operator key in the keystore.
fn operator_key<T: Config>() -> T::Public {
	let key = <T::OperatorCrypto as AppCrypto<_, _>>::RuntimeAppPublic::generate_pair(None);
	let generic: <T::OperatorCrypto as AppCrypto<_, _>>::GenericPublic = key.into();
	generic.into()
}

/// Blocks per period.
fn period_length<T: Config>() -> BlockNumberFor<T> {
	period_start::<T>(1)
}

fn period_start<T: Config>(period: Period) -> BlockNumberFor<T> {
	T::Staking::period_start(period)
}

fn capsules<T: Config>(count: u32) -> BoundedVec<CapsuleBytes, T::MaxCapsules> {
	let capsule: CapsuleBytes = fixtures::CAPSULE.to_vec().try_into().expect("105 bytes");
	alloc::vec![capsule; count as usize].try_into().expect("at most MaxCapsules")
}

fn cfrags<T: Config>(count: u32) -> CfragsOf<T> {
	let cfrag: CapsuleFragBytes = fixtures::CFRAG.to_vec().try_into().expect("381 bytes");
	alloc::vec![cfrag; count as usize].try_into().expect("at most MaxCapsules")
}

/// A request of `c` capsules under a policy of `MaxNodes` nodes (all needed) and the most
/// payments, answered by all but the last node; returns the request and that node.
fn pending_request<T: Config>(c: u32) -> (RequestId, T::AccountId) {
	let owner = funded::<T>("owner", 0);
	let max = T::MaxNodes::get();
	let nodes = policy::<T>(policy_id(0), &owner, 0, max, 2, T::MaxConditionNodes::get());
	let requester = funded::<T>("requester", 0);
	Pallet::<T>::do_request(requester, policy_id(0), capsules::<T>(c), BalanceOf::<T>::max_value())
		.expect("request works");
	let request = NextRequestId::<T>::get().saturating_sub(1);
	let (last, others) = nodes.split_last().expect("MaxNodes ≥ 1");
	let hash = Pallet::<T>::answer_hash(request).expect("made");
	for node in others {
		Pallet::<T>::do_submit_cfrags(request, hash, node.clone(), cfrags::<T>(c))
			.expect("answer works");
	}
	(request, last.clone())
}

/// Policy 0 of `MaxNodes` pending nodes (threshold 1), the last of which has its operator key
/// in the keystore: what the pool checks signatures against. Returns the owner, that node and
/// its operator key.
fn signing_node_policy<T: Config>(
) -> Result<(T::AccountId, T::AccountId, T::Public), BenchmarkError> {
	let owner = funded::<T>("owner", 0);
	let public = operator_key::<T>();
	let node: T::AccountId = account("signing-node", 0, 0);
	T::Staking::register_for_benchmark(
		&node,
		&public.clone().into_account(),
		dev::umbral_public_key("//bench-signing-node"),
	);
	T::Staking::serve_for_benchmark(&node, T::Staking::current_period());
	let mut all = nodes::<T>(0, T::MaxNodes::get().saturating_sub(1));
	all.push(node.clone());
	let now = frame_system::Pallet::<T>::block_number();
	create::<T>(
		&owner,
		policy_id(0),
		Default::default(),
		1,
		grants::<T>(&all),
		now.saturating_add(period_length::<T>()),
		Default::default(),
	)
	.map_err(|_| "policy")?;
	Ok((owner, node, public))
}

#[benchmarks(where <T as frame_system::Config>::RuntimeCall: From<Call<T>>)]
mod benchmarks {
	use super::*;

	/// `n` nodes, each eligibility- and envelope-checked; a condition tree of `c` nodes.
	#[benchmark]
	fn create_policy(
		n: Linear<1, { T::MaxNodes::get() }>,
		c: Linear<0, { T::MaxConditionNodes::get() }>,
	) {
		let owner = funded::<T>("owner", 0);
		let nodes = nodes::<T>(0, n);
		let end = frame_system::Pallet::<T>::block_number()
			.saturating_add(period_length::<T>().saturating_mul(10u32.into()));
		let conditions = conditions::<T>(c, 0);
		let grants = grants::<T>(&nodes);
		let keys = fixture_keys();
		let signature = sign_terms::<T>(&GrantTerms {
			owner: &owner,
			id: policy_id(0),
			keys,
			threshold: n,
			end,
			conditions: &conditions,
			grants: &grants,
		});
		#[extrinsic_call]
		_(
			RawOrigin::Signed(owner.clone()),
			policy_id(0),
			b"bench".to_vec().try_into().expect("short label"),
			keys.delegating,
			keys.verifying,
			keys.receiving,
			n,
			grants,
			end,
			T::MinFeeRate::get(),
			conditions,
			signature,
		);
		assert!(Policies::<T>::contains_key(policy_id(0)));
	}

	/// A policy of `n` nodes, every share cut and refunded.
	#[benchmark]
	fn revoke_policy(n: Linear<1, { T::MaxNodes::get() }>) {
		let owner = funded::<T>("owner", 0);
		policy::<T>(policy_id(0), &owner, 0, n, 10, 0);
		#[extrinsic_call]
		_(RawOrigin::Signed(owner), policy_id(0));
		assert!(matches!(
			Policies::<T>::get(policy_id(0)).map(|p| p.status),
			Some(PolicyStatus::Revoked(_))
		));
	}

	/// A policy of `MaxNodes` nodes rotated to `n` new nodes: every old node leaves (share cut,
	/// refund), every new one joins (eligibility, envelope, escrow).
	#[benchmark]
	fn rotate_policy(n: Linear<1, { T::MaxNodes::get() }>) {
		let owner = funded::<T>("owner", 0);
		let max = T::MaxNodes::get();
		policy::<T>(policy_id(0), &owner, 0, max, 10, 0);
		let new = nodes::<T>(max, n);
		#[extrinsic_call]
		_(
			RawOrigin::Signed(owner),
			policy_id(0),
			umbral_key(&fixtures::RECEIVING_KEY),
			n,
			grants::<T>(&new),
		);
		assert_eq!(Policies::<T>::get(policy_id(0)).map(|p| p.version), Some(1));
	}

	/// `c` capsules decoded and self-checked; a condition tree of `k` nodes, all payments.
	#[benchmark]
	fn request_reencryption(
		c: Linear<1, { T::MaxCapsules::get() }>,
		k: Linear<0, { T::MaxConditionNodes::get() }>,
	) {
		let owner = funded::<T>("owner", 0);
		policy::<T>(policy_id(0), &owner, 0, 1, 2, k);
		let requester = funded::<T>("requester", 0);
		#[extrinsic_call]
		_(
			RawOrigin::Signed(requester),
			policy_id(0),
			capsules::<T>(c),
			BalanceOf::<T>::max_value(),
		);
		assert_eq!(NextRequestId::<T>::get(), 1);
	}

	/// `c` capsules decoded; a condition tree of `k` nodes evaluated, all of its payments held
	/// and made at once.
	#[benchmark]
	fn request_direct_reencryption(
		c: Linear<1, { T::MaxCapsules::get() }>,
		k: Linear<0, { T::MaxConditionNodes::get() }>,
	) {
		let owner = funded::<T>("owner", 0);
		policy::<T>(policy_id(0), &owner, 0, 1, 2, k);
		let requester = funded::<T>("requester", 0);
		let paid = Policies::<T>::get(policy_id(0))
			.map(|policy| {
				conditions::payments::<T>(&policy.conditions)
					.fold(BalanceOf::<T>::zero(), |total, (_, amount)| total.saturating_add(amount))
			})
			.unwrap_or_default();
		#[extrinsic_call]
		_(RawOrigin::Signed(requester.clone()), policy_id(0), capsules::<T>(c));
		frame_system::Pallet::<T>::assert_last_event(
			Event::<T>::DirectReencryptionRequested {
				policy: policy_id(0),
				version: 0,
				requester,
				capsules: c,
				paid,
			}
			.into(),
		);
	}

	/// The last of `MaxNodes` nodes answers `c` capsules: the policy's node list and the
	/// answers so far are scanned, `c` cfrags decoded, and the request fulfilled: every access
	/// payment of the largest condition tree made.
	#[benchmark]
	fn submit_cfrags(c: Linear<1, { T::MaxCapsules::get() }>) {
		let (request, node) = pending_request::<T>(c);
		let operator = T::Staking::operator_of(&node).expect("registered");
		let hash = Pallet::<T>::answer_hash(request).expect("made");
		#[extrinsic_call]
		_(RawOrigin::Signed(operator), request, hash, cfrags::<T>(c));
		assert!(Responses::<T>::contains_key(request, &node));
		assert!(!AccessPayments::<T>::contains_key(request), "paid on fulfilment");
	}

	/// The checks of an authorized response of `c` cfrags, signature included.
	#[benchmark]
	fn authorize_response(c: Linear<1, { T::MaxCapsules::get() }>) -> Result<(), BenchmarkError> {
		let (owner, node, public) = signing_node_policy::<T>()?;
		accept_all::<T>(policy_id(0));
		Pallet::<T>::do_request(owner, policy_id(0), capsules::<T>(c), BalanceOf::<T>::max_value())
			.map_err(|_| "request")?;
		let request_hash = Pallet::<T>::answer_hash(0).ok_or("request")?;
		let response: ResponseOf<T> = Response {
			request: 0,
			request_hash,
			node,
			cfrags: cfrags::<T>(c),
			sent_at: frame_system::Pallet::<T>::block_number(),
			public,
		};
		let signature = <T::OperatorCrypto as AppCrypto<_, _>>::sign(
			&response_payload::<T>(&response),
			response.public.clone(),
		)
		.ok_or("signs")?;
		let call: <T as frame_system::Config>::RuntimeCall =
			Call::<T>::submit_cfrags_authorized { response, signature }.into();
		#[block]
		{
			call.authorize(TransactionSource::External)
				.ok_or("no authorize logic")?
				.map_err(|_| "authorize failed")?;
		}
		Ok(())
	}

	/// A share of `p` served periods paid out in one claim.
	#[benchmark]
	fn claim_fees(p: Linear<1, { T::MaxClaimPeriods::get() }>) {
		frame_system::Pallet::<T>::set_block_number(period_start::<T>(1));
		let owner = funded::<T>("owner", 0);
		let nodes = policy::<T>(policy_id(0), &owner, 0, 1, p, 0);
		let node = nodes.first().expect("one node").clone();
		let start = T::Staking::current_period();
		for period in start..start.saturating_add(p) {
			T::Staking::serve_for_benchmark(&node, period);
		}
		let later = period_start::<T>(start.saturating_add(p));
		frame_system::Pallet::<T>::set_block_number(later);
		#[extrinsic_call]
		_(RawOrigin::Signed(owner), policy_id(0), node.clone(), p);
		assert!(FeeShares::<T>::get(policy_id(0), &node).is_none());
	}

	/// An ended policy of `n` nodes closed, and `p` served periods of each share settled.
	#[benchmark]
	fn settle_policy(
		n: Linear<1, { T::MaxNodes::get() }>,
		p: Linear<1, { T::MaxClaimPeriods::get() }>,
	) {
		frame_system::Pallet::<T>::set_block_number(period_start::<T>(1));
		let owner = funded::<T>("owner", 0);
		let nodes = policy::<T>(policy_id(0), &owner, 0, n, p, 0);
		let start = T::Staking::current_period();
		for node in &nodes {
			for period in start..start.saturating_add(p) {
				T::Staking::serve_for_benchmark(node, period);
			}
		}
		// After the end and its last requests' deadlines.
		let later =
			period_start::<T>(start.saturating_add(p)).saturating_add(T::ResponseWindow::get());
		frame_system::Pallet::<T>::set_block_number(later);
		#[extrinsic_call]
		_(RawOrigin::Signed(owner), policy_id(0), p);
		assert_eq!(FeeShares::<T>::iter_prefix(policy_id(0)).count(), 0);
	}

	/// A revoked and settled policy of `MaxNodes` nodes and the largest condition tree removed;
	/// a younger request is retained, read to show that the policy's requests are pruned.
	#[benchmark]
	fn remove_policy() {
		frame_system::Pallet::<T>::set_block_number(period_start::<T>(1));
		let owner = funded::<T>("owner", 0);
		let max = T::MaxNodes::get();
		policy::<T>(policy_id(0), &owner, 0, max, 2, T::MaxConditionNodes::get());
		Pallet::<T>::do_revoke_policy(&owner, policy_id(0)).expect("revokes");
		let next = T::Staking::current_period().saturating_add(1);
		frame_system::Pallet::<T>::set_block_number(period_start::<T>(next));
		Pallet::<T>::do_settle_policy(policy_id(0), T::MaxClaimPeriods::get()).expect("settles");
		policy::<T>(policy_id(1), &owner, max, 1, 2, 0);
		Pallet::<T>::do_request(
			owner.clone(),
			policy_id(1),
			capsules::<T>(1),
			BalanceOf::<T>::max_value(),
		)
		.expect("request");
		#[extrinsic_call]
		_(RawOrigin::Signed(owner), policy_id(0));
		assert!(!Policies::<T>::contains_key(policy_id(0)));
		assert!(RetiredPolicies::<T>::contains_key(policy_id(0)));
	}

	/// The re-encryption worker checking a kfrag (off chain, no call pays it; measured for
	/// operators): decrypt the envelope with the node's secret, decode, `KeyFrag::verify`,
	/// and the self-test (a re-encryption checked with `CapsuleFrag::verify`).
	#[benchmark]
	fn worker_open_kfrag() -> Result<(), BenchmarkError> {
		let material = offchain::WorkerMaterial::new([7; 32], 0).map_err(BenchmarkError::Stop)?;
		let mut rng = ChaCha20Rng::from_seed([8; 32]);
		#[block]
		{
			material.open(&mut rng).map_err(BenchmarkError::Stop)?;
		}
		Ok(())
	}

	/// The re-encryption worker answering `c` capsules with a checked kfrag (off chain, no call
	/// pays it; measured for operators): decode each capsule, re-encrypt it and check the
	/// cfrag with `CapsuleFrag::verify` before it may be signed.
	#[benchmark]
	fn worker_reencrypt(c: Linear<1, { T::MaxCapsules::get() }>) -> Result<(), BenchmarkError> {
		let material = offchain::WorkerMaterial::new([7; 32], c).map_err(BenchmarkError::Stop)?;
		let mut rng = ChaCha20Rng::from_seed([8; 32]);
		let kfrag = material.open(&mut rng).map_err(BenchmarkError::Stop)?;
		#[block]
		{
			let cfrags = material.reencrypt(&kfrag, &mut rng).map_err(BenchmarkError::Stop)?;
			assert_eq!(cfrags.len() as u32, c);
		}
		Ok(())
	}

	/// `r` requests expiring in one block, each of its own requester under its own 2-of-
	/// `MaxNodes` policy of distinct nodes with the most access payments, all of which accepted
	/// before the request: none answered, so each fails, `MaxNodes` missed deadlines are
	/// recorded and its held payments refunded. (A fulfilled request was paid by its last
	/// answer, and records fewer misses.)
	#[benchmark]
	fn process_deadlines(r: Linear<0, { T::MaxRequestsPerBlock::get() }>) {
		let owner = funded::<T>("owner", 0);
		let n = T::MaxNodes::get();
		let end = frame_system::Pallet::<T>::block_number()
			.saturating_add(period_length::<T>().saturating_mul(2u32.into()));
		for i in 0..r {
			let nodes = nodes::<T>(i * n, n);
			let conditions = conditions::<T>(T::MaxConditionNodes::get(), i);
			create::<T>(
				&owner,
				policy_id(i),
				Default::default(),
				n.min(2),
				grants::<T>(&nodes),
				end,
				conditions,
			)
			.expect("policy is valid");
			accept_all::<T>(policy_id(i));
			// Enough for the payments, the deposit and the slot: `funded` for every requester
			// would overflow the issuance.
			let requester: T::AccountId = account("requester", i, 0);
			let payments = T::MinFeeRate::get().saturating_mul(T::MaxConditionNodes::get().into());
			T::Currency::set_balance(
				&requester,
				payments
					.saturating_mul(2u32.into())
					.saturating_add(Pallet::<T>::request_deposit(1, n))
					.saturating_add(Pallet::<T>::request_price())
					.saturating_add(T::Currency::minimum_balance()),
			);
			Pallet::<T>::do_request(
				requester,
				policy_id(i),
				capsules::<T>(1),
				BalanceOf::<T>::max_value(),
			)
			.expect("request works");
		}
		let deadline =
			frame_system::Pallet::<T>::block_number().saturating_add(T::ResponseWindow::get());
		#[block]
		{
			Pallet::<T>::process_deadlines(deadline);
		}
		assert!(Deadlines::<T>::get(deadline).is_empty());
		assert_eq!(AccessPayments::<T>::iter().count(), 0);
	}

	/// One request past its retention, answered by `n` nodes with `MaxCapsules` cfrags each;
	/// its storage deposit is released.
	#[benchmark]
	fn prune_request(n: Linear<1, { T::MaxNodes::get() }>) {
		let owner = funded::<T>("owner", 0);
		let nodes = policy::<T>(policy_id(0), &owner, 0, n, 2, 0);
		let capsule_count = T::MaxCapsules::get();
		Pallet::<T>::do_request(
			owner,
			policy_id(0),
			capsules::<T>(capsule_count),
			BalanceOf::<T>::max_value(),
		)
		.expect("request works");
		let hash = Pallet::<T>::answer_hash(0).expect("made");
		for node in &nodes {
			Pallet::<T>::do_submit_cfrags(0, hash, node.clone(), cfrags::<T>(capsule_count))
				.expect("answer works");
		}
		let now = frame_system::Pallet::<T>::block_number()
			.saturating_add(T::ResponseWindow::get())
			.saturating_add(T::RetentionPeriod::get())
			.saturating_add(One::one());
		let budget = T::WeightInfo::prune_request(T::MaxNodes::get())
			.saturating_add(T::DbWeight::get().reads_writes(2, 1));
		#[block]
		{
			Pallet::<T>::prune_requests(now, budget);
		}
		assert!(!Requests::<T>::contains_key(0));
	}

	/// The last of `MaxNodes` pending nodes declines: found in the node list and removed, its
	/// key use released, its kfrag dropped, its whole share refunded to the owner (a decline
	/// writes more than an acceptance, which only marks the node and its share).
	#[benchmark]
	fn decide_on_policy() {
		let owner = funded::<T>("owner", 0);
		let nodes = pending_policy::<T>(policy_id(0), &owner, 0, T::MaxNodes::get(), 10, 0);
		let last = nodes.last().expect("MaxNodes ≥ 1");
		let decision = decision::<T>(
			policy_id(0),
			last,
			Decision::Decline(DeclineReason::SelfTestFailed),
			None,
		);
		let signature = <T::OperatorCrypto as AppCrypto<_, _>>::sign(
			&decision_payload::<T>(&decision),
			decision.public.clone(),
		)
		.expect("signs");
		#[extrinsic_call]
		_(RawOrigin::Authorized, decision, signature);
		assert!(!KFrags::<T>::contains_key(policy_id(0), last));
	}

	/// The checks of a decision in the pool: the policy and its `MaxNodes` nodes, the content
	/// hash of the envelope, the operator and its signature.
	#[benchmark]
	fn authorize_decision() -> Result<(), BenchmarkError> {
		let (_, node, public) = signing_node_policy::<T>()?;
		let decision = decision::<T>(policy_id(0), &node, Decision::Accept, Some(public));
		let signature = <T::OperatorCrypto as AppCrypto<_, _>>::sign(
			&decision_payload::<T>(&decision),
			decision.public.clone(),
		)
		.ok_or("signs")?;
		let call: <T as frame_system::Config>::RuntimeCall =
			Call::<T>::decide_on_policy { decision, signature }.into();
		#[block]
		{
			call.authorize(TransactionSource::External)
				.ok_or("no authorize logic")?
				.map_err(|_| "authorize failed")?;
		}
		Ok(())
	}

	impl_benchmark_test_suite!(Pallet, crate::mock::ExtBuilder::build(), crate::mock::Test);
}
