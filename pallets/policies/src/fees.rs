//! Fees: the owner's escrow, one share per node of one rate per period, settled period by
//! period against the staking pallet's verdict on the node's service; cut and refunded when
//! nodes leave.

use crate::*;

impl<T: Config> Pallet<T> {
	/// The period `block` falls in, as the staking pallet counts periods.
	pub fn period_of(block: BlockNumberFor<T>) -> Period {
		T::Staking::period_of(block)
	}

	/// The periods a policy from `start` to `end` (exclusive) covers.
	pub(crate) fn covered_periods(
		start: BlockNumberFor<T>,
		end: BlockNumberFor<T>,
	) -> (Period, Period) {
		(Self::period_of(start), Self::period_of(end.saturating_sub(One::one())))
	}

	/// `rate × count` with a specific error on overflow.
	pub(crate) fn fee(rate: BalanceOf<T>, count: u32) -> Result<BalanceOf<T>, Error<T>> {
		rate.checked_mul(&count.into()).ok_or(Error::<T>::FeeOverflow)
	}

	/// Ends every share of `id` with `period` (refunding what lies beyond), drops the kfrags
	/// and releases the keys. Returns what was refunded.
	pub(crate) fn close(id: PolicyId, policy: &mut PolicyOf<T>, period: Period) -> BalanceOf<T> {
		let mut refunded = BalanceOf::<T>::zero();
		for PolicyNode { node, key_version, .. } in &policy.nodes.clone() {
			Self::release_key_use(node, *key_version);
			KFrags::<T>::remove(id, node);
			PendingDecisions::<T>::remove(node, id);
			refunded.saturating_accrue(Self::cut_share(id, policy, node, period));
		}
		refunded
	}

	/// Ends `node`'s share of `id` with `period`, refunding the periods after it to the
	/// owner. Returns the refund.
	pub(crate) fn cut_share(
		id: PolicyId,
		policy: &mut PolicyOf<T>,
		node: &T::AccountId,
		period: Period,
	) -> BalanceOf<T> {
		let Some(mut share) = FeeShares::<T>::get(id, node) else { return Zero::zero() };
		if share.last <= period {
			return Zero::zero();
		}
		// Periods `max(next, period + 1) ..= last` are no longer granted.
		let cut_from = share.next.max(period.saturating_add(1));
		let periods = share.last.saturating_add(1).saturating_sub(cut_from);
		share.last = period;
		let refund = policy.fee_rate.saturating_mul(periods.into());
		Self::refund_owner(policy, refund);
		if share.next > share.last {
			FeeShares::<T>::remove(id, node);
		} else {
			FeeShares::<T>::insert(id, node, share);
		}
		refund
	}

	/// Returns `value` of the policy's escrow to its owner.
	pub(crate) fn refund_owner(policy: &mut PolicyOf<T>, value: BalanceOf<T>) {
		if value.is_zero() {
			return;
		}
		if asset::refund::<T>(&policy.owner, value).is_err() {
			frame_support::defensive!("escrow smaller than the policy's unsettled fees");
			return;
		}
		policy.fees.refunded.saturating_accrue(value);
	}

	/// Refunds every unsettled period of a share that never earned anything and removes it.
	pub(crate) fn refund_share(
		id: PolicyId,
		policy: &mut PolicyOf<T>,
		node: &T::AccountId,
		share: FeeShare,
	) -> BalanceOf<T> {
		let refund = policy.fee_rate.saturating_mul(share.unsettled().into());
		Self::refund_owner(policy, refund);
		FeeShares::<T>::remove(id, node);
		refund
	}

	/// Settles up to `limit` periods of `node`'s share of `id`, in order, that are over.
	/// Returns how many were settled.
	pub(crate) fn settle_share(
		id: PolicyId,
		policy: &PolicyOf<T>,
		node: &T::AccountId,
		limit: u32,
	) -> Result<u32, DispatchError> {
		let Some(mut share) = FeeShares::<T>::get(id, node) else { return Ok(0) };
		let current = T::Staking::current_period();
		let mut policy_fees = policy.fees.clone();
		let (mut paid, mut refunded, mut periods) =
			(BalanceOf::<T>::zero(), BalanceOf::<T>::zero(), 0u32);
		while periods < limit && share.next <= share.last && share.next < current {
			let accepted = share.accepted_from.is_some_and(|from| from <= share.next);
			if accepted && T::Staking::is_serving(node, share.next) {
				paid.saturating_accrue(policy.fee_rate);
			} else {
				refunded.saturating_accrue(policy.fee_rate);
			}
			share.next = share.next.saturating_add(1);
			periods.saturating_inc();
		}
		if periods == 0 {
			return Ok(0);
		}
		if !paid.is_zero() {
			asset::pay::<T>(&policy.owner, node, paid)?;
			policy_fees.paid.saturating_accrue(paid);
		}
		if !refunded.is_zero() {
			asset::refund::<T>(&policy.owner, refunded)?;
			policy_fees.refunded.saturating_accrue(refunded);
		}
		if share.next > share.last {
			FeeShares::<T>::remove(id, node);
		} else {
			FeeShares::<T>::insert(id, node, share);
		}
		Policies::<T>::mutate(id, |stored| {
			if let Some(stored) = stored {
				stored.fees = policy_fees;
			}
		});
		Self::deposit_event(Event::FeesSettled {
			policy: id,
			node: node.clone(),
			periods,
			paid,
			refunded,
		});
		Ok(periods)
	}

	pub(crate) fn do_claim_fees(id: PolicyId, node: &T::AccountId, limit: u32) -> DispatchResult {
		let policy = Policies::<T>::get(id).ok_or(Error::<T>::UnknownPolicy)?;
		let settled = Self::settle_share(id, &policy, node, limit)?;
		ensure!(settled > 0, Error::<T>::NothingToSettle);
		Ok(())
	}

	pub(crate) fn do_settle_policy(id: PolicyId, limit: u32) -> DispatchResult {
		let mut policy = Policies::<T>::get(id).ok_or(Error::<T>::UnknownPolicy)?;
		let now = frame_system::Pallet::<T>::block_number();
		let mut closed = false;
		match policy.status {
			// Requests made before the end are answered until their deadline: the kfrags
			// stay until then.
			PolicyStatus::Active if now < policy.end.saturating_add(T::ResponseWindow::get()) => {
				return Err(Error::<T>::PolicyStillActive.into())
			},
			PolicyStatus::Active => {
				// Ended: every share already ends with the policy's last period.
				let (_, last) = Self::covered_periods(policy.start, policy.end);
				Self::close(id, &mut policy, last);
				policy.status = PolicyStatus::Expired;
				Policies::<T>::insert(id, &policy);
				Self::deposit_event(Event::PolicyExpired { id });
				closed = true;
			},
			PolicyStatus::Revoked(_) | PolicyStatus::Expired => {},
		}
		let mut settled = 0u32;
		let nodes: Vec<T::AccountId> = FeeShares::<T>::iter_key_prefix(id)
			.take(T::MaxNodes::get() as usize * 2)
			.collect();
		for node in nodes {
			let policy = Policies::<T>::get(id).ok_or(Error::<T>::UnknownPolicy)?;
			settled.saturating_accrue(Self::settle_share(id, &policy, &node, limit)?);
		}
		ensure!(closed || settled > 0, Error::<T>::NothingToSettle);
		Ok(())
	}
}
