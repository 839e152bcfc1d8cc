//! Re-encryption requests: access checks, admission (the per-block cap, the slot price, the
//! deposit and access payments), the nodes' answers and their authorization, deadlines,
//! pruning, and the slot price's adjustment to load.

use crate::*;

impl<T: Config> Pallet<T> {
	/// Whether `requester` may request under `id` now, and if not, why.
	pub fn check_access(id: PolicyId, requester: &T::AccountId) -> Result<(), AccessDenied> {
		let policy = Policies::<T>::get(id).ok_or(AccessDenied::UnknownPolicy)?;
		Self::check_policy_access(&policy, requester)
	}

	pub(crate) fn check_policy_access(
		policy: &PolicyOf<T>,
		requester: &T::AccountId,
	) -> Result<(), AccessDenied> {
		Self::check_policy_access_at(policy, requester, frame_system::Pallet::<T>::block_number())
	}

	/// [`Self::check_policy_access`] as it would be at block `now`.
	pub(crate) fn check_policy_access_at(
		policy: &PolicyOf<T>,
		requester: &T::AccountId,
		now: BlockNumberFor<T>,
	) -> Result<(), AccessDenied> {
		match policy.status {
			PolicyStatus::Revoked(_) => return Err(AccessDenied::Revoked),
			PolicyStatus::Expired => return Err(AccessDenied::Expired),
			PolicyStatus::Active if now >= policy.end => return Err(AccessDenied::Expired),
			PolicyStatus::Active => {},
		}
		if policy.accepted() < policy.threshold {
			return Err(AccessDenied::AwaitingAcceptance);
		}
		conditions::evaluate::<T>(&policy.conditions, requester, now)
	}

	pub(crate) fn do_request(
		requester: T::AccountId,
		id: PolicyId,
		capsules: BoundedVec<CapsuleBytes, T::MaxCapsules>,
		max_price: BalanceOf<T>,
	) -> Result<u32, DispatchError> {
		let policy = Policies::<T>::get(id).ok_or(Error::<T>::UnknownPolicy)?;
		Self::check_policy_access(&policy, &requester).map_err(Error::<T>::from)?;
		ensure!(!capsules.is_empty(), Error::<T>::NoCapsules);
		for capsule in &capsules {
			ensure!(capsule.len() == CAPSULE_LEN, Error::<T>::InvalidCapsuleLength);
		}
		let now = frame_system::Pallet::<T>::block_number();
		let deadline = now.saturating_add(T::ResponseWindow::get());
		let request = NextRequestId::<T>::get();
		Deadlines::<T>::try_mutate(deadline, |ids| ids.try_push(request))
			.map_err(|_| Error::<T>::TooManyRequests)?;
		let price = Self::request_price();
		ensure!(price <= max_price, Error::<T>::RequestPriceAboveMax);
		Self::count_request(now, &requester, id)?;
		let payments = conditions::payments::<T>(&policy.conditions)
			.fold(BalanceOf::<T>::zero(), |total, (_, amount)| total.saturating_add(amount));
		if !payments.is_zero() {
			asset::hold_access_payment::<T>(&requester, payments)
				.map_err(|_| Error::<T>::CannotPayForAccess)?;
			AccessPayments::<T>::insert(request, payments);
			Self::deposit_event(Event::AccessPaymentHeld {
				request,
				requester: requester.clone(),
				amount: payments,
			});
		}
		let deposit = Self::request_deposit(capsules.len() as u32, policy.nodes.len() as u32);
		if !deposit.is_zero() {
			asset::hold_request_deposit::<T>(&requester, deposit)
				.map_err(|_| Error::<T>::CannotPayRequestDeposit)?;
			RequestDeposits::<T>::insert(request, deposit);
		}
		if !price.is_zero() {
			asset::burn_request_price::<T>(&requester, price)
				.map_err(|_| Error::<T>::CannotPayRequestPrice)?;
		}
		// The expensive check last: a requester who cannot pay makes the chain decode nothing.
		for capsule in &capsules {
			wire::decode_capsule(capsule).map_err(|_| Error::<T>::MalformedCapsule)?;
		}
		NextRequestId::<T>::put(request.saturating_add(1));
		let count = capsules.len() as u32;
		Requests::<T>::insert(
			request,
			Request {
				policy: id,
				version: policy.version,
				receiving_key: policy.receiving_key,
				requester: requester.clone(),
				capsules,
				created: now,
				deadline,
				answered: BoundedVec::new(),
			},
		);
		Self::deposit_event(Event::ReencryptionRequested {
			request,
			policy: id,
			version: policy.version,
			requester,
			capsules: count,
			deadline,
			price,
		});
		Ok(policy.nodes.len() as u32)
	}

	/// Counts a request of `requester` under `policy` in block `now`, within the per-requester
	/// and per-policy shares of the block.
	pub(crate) fn count_request(
		now: BlockNumberFor<T>,
		requester: &T::AccountId,
		policy: PolicyId,
	) -> DispatchResult {
		let mut load = RequestLoad::<T>::get()
			.filter(|load| load.block == now)
			.unwrap_or_else(|| BlockLoad { block: now, ..Default::default() });
		bump(&mut load.requesters, requester, T::MaxRequestsPerRequester::get())
			.map_err(|()| Error::<T>::TooManyRequestsFromRequester)?;
		bump(&mut load.policies, &policy, T::MaxRequestsPerPolicy::get())
			.map_err(|()| Error::<T>::TooManyRequestsForPolicy)?;
		RequestLoad::<T>::put(load);
		Ok(())
	}

	/// Why `node` may not answer `request` now, if it may not: the checks both answer paths
	/// share, cheapest first. Returns the request and its policy.
	pub(crate) fn check_answer(
		request_id: RequestId,
		node: &T::AccountId,
		cfrag_count: usize,
	) -> Result<(RequestOf<T>, PolicyOf<T>), Error<T>> {
		let request = Requests::<T>::get(request_id).ok_or(Error::<T>::UnknownRequest)?;
		let now = frame_system::Pallet::<T>::block_number();
		ensure!(now <= request.deadline, Error::<T>::DeadlinePassed);
		let policy = Policies::<T>::get(request.policy).ok_or(Error::<T>::UnknownPolicy)?;
		ensure!(Self::answerable(&policy, &request), Error::<T>::RequestCancelled);
		let entry = policy.node(node).ok_or(Error::<T>::NotAssigned)?;
		ensure!(entry.accepted.is_some(), Error::<T>::NotAccepted);
		ensure!(!request.answered.contains(node), Error::<T>::AlreadyAnswered);
		ensure!(cfrag_count == request.capsules.len(), Error::<T>::WrongCfragCount);
		Ok((request, policy))
	}

	/// The hash an answer to request `id` signs now ([`Request::answer_hash`] under its
	/// policy's keys), while the chain holds both.
	pub fn answer_hash(id: RequestId) -> Option<[u8; 32]> {
		let request = Requests::<T>::get(id)?;
		let policy = Policies::<T>::get(request.policy)?;
		Some(request.answer_hash(&policy.verifying_key, &policy.delegating_key))
	}

	/// Whether the request still belongs to its policy: same version, not revoked.
	pub(crate) fn answerable(policy: &PolicyOf<T>, request: &RequestOf<T>) -> bool {
		policy.version == request.version && !matches!(policy.status, PolicyStatus::Revoked(_))
	}

	/// The cfrags' lengths and encodings.
	pub(crate) fn check_cfrags(cfrags: &CfragsOf<T>) -> Result<(), Error<T>> {
		for cfrag in cfrags {
			ensure!(cfrag.len() == CFRAG_LEN, Error::<T>::InvalidCfragLength);
		}
		for cfrag in cfrags {
			wire::decode_capsule_frag(cfrag).map_err(|_| Error::<T>::MalformedCfrag)?;
		}
		Ok(())
	}

	pub(crate) fn do_submit_cfrags(
		request_id: RequestId,
		request_hash: [u8; 32],
		node: T::AccountId,
		cfrags: CfragsOf<T>,
	) -> DispatchResult {
		let (mut request, policy) = Self::check_answer(request_id, &node, cfrags.len())?;
		let answer_hash = request.answer_hash(&policy.verifying_key, &policy.delegating_key);
		ensure!(answer_hash == request_hash, Error::<T>::RequestMismatch);
		Self::check_cfrags(&cfrags)?;
		request
			.answered
			.try_push(node.clone())
			.map_err(|_| Error::<T>::AlreadyAnswered)?;
		Responses::<T>::insert(request_id, &node, cfrags);
		Self::deposit_event(Event::CfragsSubmitted { request: request_id, node });
		if request.answered.len() as u32 == policy.threshold {
			Self::deposit_event(Event::RequestFulfilled {
				request: request_id,
				policy: request.policy,
			});
			// Paid as soon as the requester is served: nothing the owner does before the
			// deadline (a revocation, a rotation) can take the payment back.
			Self::settle_access_payments(request_id, &request, &policy);
		}
		Requests::<T>::insert(request_id, request);
		Ok(())
	}

	/// Checks a response before it enters the pool or a block: the request (by id, and by
	/// content and policy keys: [`Request::answer_hash`]), the node, the block it claims to be
	/// sent at, the operator and the signature, and only then, because decoding them is the
	/// expensive part an unsigned sender could otherwise make the pool do, the cfrags. Valid
	/// responses are free, provide the tag `(request, node)` and live until the deadline.
	///
	/// Their priority is `ResponsePriority` plus the blocks from the request to `sent_at`
	/// (at most `ResponseWindow`): the pool keeps one transaction per tag and replaces it only
	/// with a higher priority, so each later attempt replaces the one before in the node's own
	/// pool and goes out to its peers as a new transaction. That is what gets an answer through
	/// when a peer refused the first attempt, as stale, because it reached the peer before the
	/// request's block did: the peer bans what it refused and never takes that transaction
	/// again.
	pub fn authorize_response(
		_source: TransactionSource,
		response: &ResponseOf<T>,
		signature: &T::Signature,
	) -> TransactionValidityWithRefund {
		let (request, policy) = Self::check_answer(
			response.request,
			&response.node,
			response.cfrags.len(),
		)
		.map_err(|error| match error {
			Error::<T>::AlreadyAnswered | Error::<T>::DeadlinePassed => InvalidTransaction::Stale,
			Error::<T>::UnknownRequest | Error::<T>::RequestCancelled => InvalidTransaction::Stale,
			_ => InvalidTransaction::Call,
		})?;
		if request.answer_hash(&policy.verifying_key, &policy.delegating_key)
			!= response.request_hash
		{
			return Err(InvalidTransaction::Stale.into());
		}
		let now = frame_system::Pallet::<T>::block_number();
		if response.sent_at > now {
			return Err(InvalidTransaction::Future.into());
		}
		Self::check_operator(&response.node, &response.public)?;
		if !<T::OperatorCrypto as AppCrypto<_, _>>::verify(
			&response_payload::<T>(response),
			response.public.clone(),
			signature.clone(),
		) {
			return Err(InvalidTransaction::BadProof.into());
		}
		Self::check_cfrags(&response.cfrags).map_err(|_| InvalidTransaction::Call)?;
		let longevity: u64 = request
			.deadline
			.saturating_sub(now)
			.saturating_add(One::one())
			.unique_saturated_into();
		let attempt: u64 = response.sent_at.saturating_sub(request.created).unique_saturated_into();
		ValidTransaction::with_tag_prefix("KmsResponse")
			.priority(T::ResponsePriority::get().saturating_add(attempt))
			.and_provides((response.request, &response.node))
			.longevity(longevity)
			.propagate(true)
			.build()
			.map(|validity| (validity, Weight::zero()))
	}

	/// The signer of an authorized transaction must be `node`'s operator.
	pub(crate) fn check_operator(
		node: &T::AccountId,
		public: &T::Public,
	) -> Result<(), InvalidTransaction> {
		let operator = T::Staking::operator_of(node).ok_or(InvalidTransaction::BadSigner)?;
		if operator != public.clone().into_account() {
			return Err(InvalidTransaction::BadSigner);
		}
		Ok(())
	}

	/// What `request_reencryption` of `capsules` charges under a policy of `nodes` nodes: its
	/// own benchmarked weight, its share of the deadline processing (the worst case of one
	/// request: every other node of the policy recorded as missing, every payment made) and
	/// the `nodes` answers it causes (free transactions the requester pays for: their checks
	/// in the pool and their dispatch), so that one paid request never buys block space it
	/// did not pay for.
	pub fn request_weight(capsules: u32, nodes: u32) -> Weight {
		let answer = T::WeightInfo::authorize_response(capsules)
			.saturating_add(T::WeightInfo::submit_cfrags(capsules));
		T::WeightInfo::request_reencryption(capsules, T::MaxConditionNodes::get())
			.saturating_add(
				T::WeightInfo::process_deadlines(1)
					.saturating_sub(T::WeightInfo::process_deadlines(0)),
			)
			.saturating_add(answer.saturating_mul(nodes.into()))
	}

	/// Records the unanswered nodes of the requests whose deadline was `block` against their
	/// service in the period of the deadline, and announces the requests that failed.
	pub(crate) fn process_deadlines(block: BlockNumberFor<T>) -> Weight {
		let ids = Deadlines::<T>::take(block);
		let count = ids.len() as u32;
		if count == 0 {
			return T::WeightInfo::process_deadlines(0);
		}
		let period = Self::period_of(block);
		for id in ids {
			let Some(request) = Requests::<T>::get(id) else { continue };
			let Some(policy) = Policies::<T>::get(request.policy) else { continue };
			Self::settle_access_payments(id, &request, &policy);
			if !Self::answerable(&policy, &request) {
				continue;
			}
			// Only nodes that had accepted when the request was made were bound to answer it.
			for PolicyNode { node, accepted, .. } in &policy.nodes {
				let bound = accepted.is_some_and(|at| at <= request.created);
				if bound && !request.answered.contains(node) {
					T::Staking::record_missed_deadline(node, period);
				}
			}
			let answers = request.answered.len() as u32;
			if answers < policy.threshold {
				Self::deposit_event(Event::RequestFailed { request: id, answers });
			}
		}
		T::WeightInfo::process_deadlines(count)
	}

	/// Settles what request `id` held for its access payments: paid to the policy's payees by
	/// the answer that fulfils it, else (failed, or cancelled by a revocation or rotation
	/// first) refunded in the block after its deadline. A payment that cannot be made (a payee
	/// that cannot receive it) is refunded too: nothing stays held.
	pub(crate) fn settle_access_payments(
		id: RequestId,
		request: &RequestOf<T>,
		policy: &PolicyOf<T>,
	) {
		let Some(mut held) = AccessPayments::<T>::take(id) else { return };
		let requester = &request.requester;
		let fulfilled =
			Self::answerable(policy, request) && request.answered.len() as u32 >= policy.threshold;
		if fulfilled {
			held = Self::pay_held_access(requester, request.policy, policy, held);
		}
		if !held.is_zero() {
			if asset::refund_access::<T>(requester, held).is_err() {
				frame_support::defensive!("an access payment was not held");
			}
			Self::deposit_event(Event::AccessRefunded {
				request: id,
				requester: requester.clone(),
				amount: held,
			});
		}
	}

	/// Pays each `PayPerAccess` condition of `policy` (`id`) out of `held`, the requester's
	/// access payments on hold, and announces each payment; returns what is left held (a payee
	/// that cannot receive its payment is skipped).
	pub(crate) fn pay_held_access(
		requester: &T::AccountId,
		id: PolicyId,
		policy: &PolicyOf<T>,
		mut held: BalanceOf<T>,
	) -> BalanceOf<T> {
		for (to, amount) in conditions::payments::<T>(&policy.conditions) {
			let amount = amount.min(held);
			if asset::pay_access::<T>(requester, to, amount).is_ok() {
				held.saturating_reduce(amount);
				Self::deposit_event(Event::AccessPaid {
					policy: id,
					requester: requester.clone(),
					to: to.clone(),
					amount,
				});
			}
		}
		held
	}

	/// Removes requests (and their cfrags) whose retention has passed, oldest first, within
	/// `budget`.
	pub(crate) fn prune_requests(now: BlockNumberFor<T>, budget: Weight) -> Weight {
		let per_request = T::WeightInfo::prune_request(T::MaxNodes::get());
		let mut used = T::DbWeight::get().reads_writes(2, 1);
		if !budget.all_gte(used.saturating_add(per_request)) {
			return Weight::zero();
		}
		let mut oldest = OldestRequest::<T>::get();
		let next = NextRequestId::<T>::get();
		while oldest < next && budget.all_gte(used.saturating_add(per_request)) {
			match Requests::<T>::get(oldest) {
				Some(request)
					if request.deadline.saturating_add(T::RetentionPeriod::get()) >= now =>
				{
					break
				},
				Some(request) => {
					Requests::<T>::remove(oldest);
					let _ = Responses::<T>::clear_prefix(oldest, T::MaxNodes::get(), None);
					if let Some(deposit) = RequestDeposits::<T>::take(oldest) {
						// Held when the request was made: releasing it cannot fail.
						if asset::release_request_deposit::<T>(&request.requester, deposit).is_err()
						{
							frame_support::defensive!("a request deposit was not held");
						}
					}
				},
				None => {},
			}
			used.saturating_accrue(per_request);
			oldest = oldest.saturating_add(1);
		}
		OldestRequest::<T>::put(oldest);
		used
	}

	/// What a request made now burns for its slot.
	pub fn request_price() -> BalanceOf<T> {
		RequestPrice::<T>::get().unwrap_or_default().max(T::MinRequestPrice::get())
	}

	/// Moves the request price after block `block` (the one before this): up by an eighth
	/// times how far its requests were above the target (half of `MaxRequestsPerBlock`),
	/// down likewise below it, never under `MinRequestPrice`.
	pub(crate) fn update_request_price(block: BlockNumberFor<T>) -> Weight {
		// Every request of `block` is due at the same block.
		let made = Deadlines::<T>::decode_len(block.saturating_add(T::ResponseWindow::get()))
			.unwrap_or(0) as u32;
		let target = (T::MaxRequestsPerBlock::get() / 2).max(1);
		let price = Self::request_price();
		let step = sp_runtime::Perbill::from_rational(made.abs_diff(target).min(target), target)
			* (price / 8u32.into());
		let next =
			if made > target { price.saturating_add(step) } else { price.saturating_sub(step) };
		if next <= T::MinRequestPrice::get() {
			RequestPrice::<T>::kill();
		} else {
			RequestPrice::<T>::put(next);
		}
		T::DbWeight::get().reads_writes(2, 1)
	}
}
