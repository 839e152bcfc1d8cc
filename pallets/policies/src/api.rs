//! What others read and call: the runtime API's queries, node sampling, and the traits the
//! staking and adjudicator pallets see this pallet through.

use crate::*;

impl<T: Config> Pallet<T> {
	/// The status of a retained request.
	pub fn request_status(id: RequestId) -> Option<RequestStatus<BlockNumberFor<T>>> {
		let request = Requests::<T>::get(id)?;
		let policy = Policies::<T>::get(request.policy)?;
		let answers = request.answered.len() as u32;
		let now = frame_system::Pallet::<T>::block_number();
		Some(if answers >= policy.threshold && policy.version == request.version {
			RequestStatus::Fulfilled { answers }
		} else if !Self::answerable(&policy, &request) {
			RequestStatus::Cancelled
		} else if now > request.deadline {
			RequestStatus::Failed { answers }
		} else {
			RequestStatus::Pending { answers, deadline: request.deadline }
		})
	}

	/// The cfrags of a retained request, by node, in order of the answers.
	pub fn cfrags(id: RequestId) -> Vec<(T::AccountId, Vec<Vec<u8>>)> {
		let Some(request) = Requests::<T>::get(id) else { return Vec::new() };
		request
			.answered
			.into_iter()
			.filter_map(|node| {
				let cfrags = Responses::<T>::get(id, &node)?;
				Some((node, cfrags.into_iter().map(|c| c.into_inner()).collect()))
			})
			.collect()
	}

	/// The ids of `owner`'s policies after `start_after`, at most `limit` (and 100).
	pub fn policies_of(
		owner: &T::AccountId,
		start_after: Option<PolicyId>,
		limit: u32,
	) -> Vec<PolicyId> {
		let limit = limit.min(100) as usize;
		match start_after {
			Some(after) => OwnerPolicies::<T>::iter_key_prefix_from(
				owner,
				OwnerPolicies::<T>::hashed_key_for(owner, after),
			)
			.take(limit)
			.collect(),
			None => OwnerPolicies::<T>::iter_key_prefix(owner).take(limit).collect(),
		}
	}

	/// Why `node` could not be granted a policy ending at `end` at `fee_rate` now (the node's
	/// checks of `check_grants`: eligibility through the policy's last period, fee rate);
	/// `None` if it could.
	pub fn grant_refusal(
		node: &T::AccountId,
		end: BlockNumberFor<T>,
		fee_rate: BalanceOf<T>,
	) -> Option<GrantRefusal> {
		let last_period = Self::period_of(end.saturating_sub(One::one()));
		if let Some(reason) = T::Staking::ineligibility(node, last_period) {
			return Some(GrantRefusal::Ineligible(reason));
		}
		let minimum = T::Staking::min_fee_rate(node).unwrap_or_default();
		(fee_rate < minimum).then_some(GrantRefusal::FeeRateBelowMinimum)
	}

	/// What `node` needs to answer direct requests under policy `id`: the current version's
	/// keys and its kfrag, if it accepted that version.
	pub fn direct_service(id: PolicyId, node: &T::AccountId) -> Option<DirectService> {
		let policy = Policies::<T>::get(id)?;
		let entry = policy.node(node)?;
		entry.accepted?;
		let pays_per_access = conditions::payments::<T>(&policy.conditions).next().is_some();
		Some(DirectService {
			version: policy.version,
			keys: policy.keys(),
			pays_per_access,
			key_version: entry.key_version,
			kfrag: KFrags::<T>::get(id, node)?,
		})
	}

	/// Up to `count` distinct nodes eligible for a policy ending at `end`, drawn in
	/// proportion to stake from `seed`.
	pub fn sample_nodes(count: u32, end: BlockNumberFor<T>, seed: [u8; 32]) -> Vec<T::AccountId> {
		let last = Self::period_of(end.saturating_sub(One::one()));
		let mut candidates: Vec<(T::AccountId, u128)> = T::Staking::eligible_nodes(last)
			.into_iter()
			.map(|(node, stake)| (node, stake.unique_saturated_into()))
			.filter(|(_, stake): &(_, u128)| *stake > 0)
			.collect();
		let mut chosen = Vec::new();
		let wanted = count.min(T::MaxNodes::get()) as usize;
		let mut round = 0u32;
		while chosen.len() < wanted && !candidates.is_empty() {
			let total = candidates.iter().fold(0u128, |sum, (_, stake)| sum.saturating_add(*stake));
			let draw = sp_io::hashing::blake2_256(&(seed, round).encode());
			let mut point = u128::from_le_bytes(
				draw.get(..16).and_then(|b| b.try_into().ok()).unwrap_or([0u8; 16]),
			) % total.max(1);
			let mut index = 0;
			for (i, (_, stake)) in candidates.iter().enumerate() {
				if point < *stake {
					index = i;
					break;
				}
				point = point.saturating_sub(*stake);
			}
			chosen.push(candidates.swap_remove(index).0);
			round = round.saturating_add(1);
		}
		chosen
	}
}

impl<T: Config> From<AccessDenied> for Error<T> {
	fn from(denied: AccessDenied) -> Self {
		match denied {
			AccessDenied::UnknownPolicy => Error::UnknownPolicy,
			AccessDenied::Revoked => Error::PolicyRevoked,
			AccessDenied::Expired => Error::PolicyExpired,
			AccessDenied::TooEarly => Error::TooEarly,
			AccessDenied::TooLate => Error::TooLate,
			AccessDenied::WrongRequester => Error::WrongRequester,
			AccessDenied::BalanceTooLow => Error::BalanceTooLow,
			AccessDenied::CannotPay => Error::CannotPayForAccess,
			AccessDenied::NoAlternativeHolds => Error::NoAlternativeHolds,
			AccessDenied::NegationHolds => Error::NegationHolds,
			AccessDenied::AwaitingAcceptance => Error::AwaitingAcceptance,
		}
	}
}

impl<T: Config> PolicyRegistry<T::AccountId> for Pallet<T> {
	fn has_active_policies(node: &T::AccountId) -> bool {
		KeyUsage::<T>::iter_prefix_values(node).any(|count| count > 0)
	}

	fn uses_key(node: &T::AccountId, version: KeyVersion) -> bool {
		KeyUsage::<T>::get(node, version) > 0
	}
}

impl<T: Config> ReencryptionRecords<T::AccountId> for Pallet<T> {
	fn stored_cfrag(
		request: RequestId,
		node: &T::AccountId,
		capsule_index: u32,
	) -> Option<(CfragEvidence, OffenceSpan)> {
		let record = Requests::<T>::get(request)?;
		let policy = Policies::<T>::get(record.policy)?;
		let cfrag = Responses::<T>::get(request, node)?.get(capsule_index as usize)?.clone();
		let capsule = record.capsules.get(capsule_index as usize)?.clone();
		Some((
			CfragEvidence {
				capsule,
				cfrag,
				verifying_key: policy.verifying_key,
				delegating_key: policy.delegating_key,
				receiving_key: record.receiving_key,
			},
			OffenceSpan { policy: record.policy, version: record.version },
		))
	}

	fn policy_keys_for(
		policy: PolicyId,
		version: PolicyVersion,
		node: &T::AccountId,
	) -> Option<[UmbralPublicKey; 3]> {
		let policy = Policies::<T>::get(policy)?;
		// Only a node bound by the version (it accepted it) answers for it.
		let bound = policy.node(node).is_some_and(|entry| entry.accepted.is_some());
		(policy.version == version && bound && policy.status == PolicyStatus::Active).then_some([
			policy.verifying_key,
			policy.delegating_key,
			policy.receiving_key,
		])
	}

	#[cfg(feature = "runtime-benchmarks")]
	fn store_for_benchmark(node: &T::AccountId, evidence: CfragEvidence) -> (PolicyId, RequestId) {
		let now = frame_system::Pallet::<T>::block_number();
		let id: PolicyId = sp_io::hashing::blake2_128(&(b"benchmark", node).encode());
		let nodes =
			alloc::vec![PolicyNode { node: node.clone(), key_version: 0, accepted: Some(now) }];
		Policies::<T>::insert(
			id,
			Policy {
				owner: node.clone(),
				label: Default::default(),
				delegating_key: evidence.delegating_key,
				verifying_key: evidence.verifying_key,
				receiving_key: evidence.receiving_key,
				threshold: 1,
				nodes: nodes.try_into().unwrap_or_default(),
				start: now,
				end: now.saturating_add(T::ResponseWindow::get()),
				fee_rate: T::MinFeeRate::get(),
				fees: Default::default(),
				conditions: Default::default(),
				status: PolicyStatus::Active,
				version: 0,
			},
		);
		let request = NextRequestId::<T>::get();
		NextRequestId::<T>::put(request.saturating_add(1));
		Requests::<T>::insert(
			request,
			Request {
				policy: id,
				version: 0,
				receiving_key: evidence.receiving_key,
				requester: node.clone(),
				capsules: alloc::vec![evidence.capsule].try_into().unwrap_or_default(),
				created: now,
				deadline: now.saturating_add(T::ResponseWindow::get()),
				answered: alloc::vec![node.clone()].try_into().unwrap_or_default(),
			},
		);
		Responses::<T>::insert(
			request,
			node,
			CfragsOf::<T>::try_from(alloc::vec![evidence.cfrag]).unwrap_or_default(),
		);
		(id, request)
	}
}
