//! The pallet's invariants ([`Pallet::do_try_state`]), checked after every test and by
//! try-runtime.

use crate::*;

impl<T: Config> Pallet<T> {
	/// The pallet's invariants, checked after every test and by try-runtime:
	/// - escrow: each policy's `escrowed − paid − refunded` equals `fee_rate ×` its shares'
	///   unsettled periods, and each owner's hold equals the sum over its policies;
	/// - every share belongs to an existing policy and lies within its covered periods;
	/// - kfrags exist exactly for the nodes of active policies, and `KeyUsage` counts them;
	/// - `PendingDecisions` lists exactly the pending nodes of active policies, at the current
	///   version; a node that accepted has a fee share accruing from its acceptance (while it
	///   has a share at all);
	/// - `OwnerPolicies` indexes exactly the policies, under their owners;
	/// - each requester's held request deposits are the sum of its retained requests'
	///   deposits; pay-per-access holds likewise for the unsettled requests;
	/// - every retained request refers to an existing policy, lies in
	///   `OldestRequest..NextRequestId`, has its deadline within `ResponseWindow` of its
	///   creation, has at most `MaxNodes` answers, each with a
	///   stored response of one cfrag per capsule; every response belongs to a request;
	/// - no deadline queue is left behind the current block.
	#[cfg(any(feature = "std", feature = "try-runtime"))]
	pub fn do_try_state() -> Result<(), sp_runtime::TryRuntimeError> {
		use alloc::collections::btree_map::BTreeMap;
		let mut held: BTreeMap<T::AccountId, BalanceOf<T>> = BTreeMap::new();
		let mut usage: BTreeMap<(T::AccountId, KeyVersion), u32> = BTreeMap::new();
		let mut pending = 0u32;
		for (id, policy) in Policies::<T>::iter() {
			ensure!(OwnerPolicies::<T>::contains_key(&policy.owner, id), "unindexed policy");
			let (first, last) = Self::covered_periods(policy.start, policy.end);
			let mut unsettled = 0u32;
			for share in FeeShares::<T>::iter_prefix_values(id) {
				ensure!(share.first >= first && share.last <= last, "share outside the policy");
				ensure!(share.next <= share.last, "settled share kept");
				unsettled.saturating_accrue(share.unsettled());
			}
			let remaining = policy
				.fees
				.escrowed
				.saturating_sub(policy.fees.paid)
				.saturating_sub(policy.fees.refunded);
			ensure!(
				remaining == policy.fee_rate.saturating_mul(unsettled.into()),
				"escrow differs from the unsettled shares"
			);
			held.entry(policy.owner.clone()).or_default().saturating_accrue(remaining);
			let active = policy.status == PolicyStatus::Active;
			for PolicyNode { node, key_version, accepted } in &policy.nodes {
				ensure!(KFrags::<T>::contains_key(id, node) == active, "kfrag of a closed policy");
				if active {
					usage.entry((node.clone(), *key_version)).or_default().saturating_inc();
					pending.saturating_accrue(u32::from(accepted.is_none()));
					ensure!(
						PendingDecisions::<T>::get(node, id)
							== accepted.is_none().then_some(policy.version),
						"PendingDecisions differs from the policy's pending nodes"
					);
				}
				if accepted.is_some() {
					ensure!(
						FeeShares::<T>::get(id, node).is_none_or(|s| s.accepted_from.is_some()),
						"an accepting node's share does not accrue"
					);
				}
			}
			ensure!(
				KFrags::<T>::iter_key_prefix(id).count()
					== if active { policy.nodes.len() } else { 0 },
				"kfrag of a node not in the policy"
			);
		}
		for (owner, escrow) in &held {
			ensure!(
				asset::escrowed::<T>(owner) == *escrow,
				"held escrow differs from the policies"
			);
		}
		let mut policy_deposits: BTreeMap<T::AccountId, BalanceOf<T>> = BTreeMap::new();
		// (What each policy holds is not compared with `policy_deposit`: an upgrade may change
		// `DepositPerByte`, and deposits keep what they were.)
		for (id, policy) in Policies::<T>::iter() {
			let deposit = PolicyDeposits::<T>::get(id).unwrap_or_default();
			policy_deposits.entry(policy.owner).or_default().saturating_accrue(deposit);
		}
		for (id, amount) in PolicyDeposits::<T>::iter() {
			ensure!(Policies::<T>::contains_key(id), "deposit of no policy");
			ensure!(!amount.is_zero(), "a zero policy deposit stored");
		}
		for (owner, amount) in &policy_deposits {
			ensure!(
				asset::policy_deposits_held::<T>(owner) == *amount,
				"held policy deposits differ from the policies"
			);
		}
		for id in RetiredPolicies::<T>::iter_keys() {
			ensure!(!Policies::<T>::contains_key(id), "a retired id in use");
		}
		for (owner, id, ()) in OwnerPolicies::<T>::iter() {
			ensure!(Policies::<T>::get(id).is_some_and(|p| p.owner == owner), "stale owner index");
		}
		for (id, _) in FeeShares::<T>::iter_keys() {
			ensure!(Policies::<T>::contains_key(id), "share of an unknown policy");
		}
		ensure!(
			PendingDecisions::<T>::iter().count() as u32 == pending,
			"a pending decision of no pending node"
		);
		let stored: BTreeMap<_, _> =
			KeyUsage::<T>::iter().map(|(node, version, n)| ((node, version), n)).collect();
		ensure!(stored == usage, "KeyUsage differs from the active policies");

		let mut access_held: BTreeMap<T::AccountId, BalanceOf<T>> = BTreeMap::new();
		for (id, amount) in AccessPayments::<T>::iter() {
			let request = Requests::<T>::get(id).ok_or("access payment of no request")?;
			ensure!(
				frame_system::Pallet::<T>::block_number()
					<= request.deadline.saturating_add(One::one()),
				"access payment kept past its settlement"
			);
			access_held.entry(request.requester).or_default().saturating_accrue(amount);
		}
		for (requester, amount) in &access_held {
			ensure!(
				asset::access_payments_held::<T>(requester) == *amount,
				"held access payments differ from the unsettled requests"
			);
		}

		let mut deposits: BTreeMap<T::AccountId, BalanceOf<T>> = BTreeMap::new();
		for (id, amount) in RequestDeposits::<T>::iter() {
			let request = Requests::<T>::get(id).ok_or("deposit of no request")?;
			ensure!(!amount.is_zero(), "a zero request deposit stored");
			deposits.entry(request.requester).or_default().saturating_accrue(amount);
		}
		for (requester, amount) in &deposits {
			ensure!(
				asset::request_deposits_held::<T>(requester) == *amount,
				"held request deposits differ from the retained requests"
			);
		}

		let (oldest, next) = (OldestRequest::<T>::get(), NextRequestId::<T>::get());
		for (id, request) in Requests::<T>::iter() {
			ensure!(id >= oldest && id < next, "request outside the retained range");
			ensure!(
				request.deadline <= request.created.saturating_add(T::ResponseWindow::get()),
				"deadline beyond the response window"
			);
			ensure!(Policies::<T>::contains_key(request.policy), "request of an unknown policy");
			ensure!(request.answered.len() <= T::MaxNodes::get() as usize, "too many answers");
			for node in &request.answered {
				let cfrags = Responses::<T>::get(id, node).ok_or("answer without cfrags")?;
				ensure!(cfrags.len() == request.capsules.len(), "not one cfrag per capsule");
			}
		}
		for (id, node) in Responses::<T>::iter_keys() {
			let request = Requests::<T>::get(id).ok_or("response to an unknown request")?;
			ensure!(request.answered.contains(&node), "response not counted");
		}
		let now = frame_system::Pallet::<T>::block_number();
		ensure!(Deadlines::<T>::iter_keys().all(|block| block >= now), "unprocessed deadline");
		ensure!(
			RequestPrice::<T>::get().is_none_or(|price| price > T::MinRequestPrice::get()),
			"a request price at or below the floor stored"
		);
		Ok(())
	}
}
