//! Direct requests: the access log of the fast path (`PROTOCOL.md`, "Re-encryption", step 5).
//!
//! A reader who wants cfrags in milliseconds signs a `request_direct_reencryption` transaction
//! and hands it to the policy's nodes over their public JSON-RPC (`kms_reencrypt`). A node
//! checks it at its best block as the call will: its capsules natively with
//! [`Pallet::check_direct_capsules`], the rest with [`Pallet::check_direct_access`] (the runtime
//! API `DirectAccessApi`; [`Pallet::check_direct_request`] is both in one, for runtimes before
//! the API's version 2). It relays it to the chain through its transaction pool, and only then
//! re-encrypts and answers with cfrags its operator signs (`SignedCfrag`, challengeable with
//! `challenge_signed_cfrag`). For a policy with `PayPerAccess` conditions it first waits for the
//! transaction to be in a best block, so the payment is real.
//!
//! On chain, the request is an entry in the access log, not work for the nodes: it causes no
//! deadline and no on-chain answers (so no node is ever recorded missing for it), and stores
//! nothing. It pays its `PayPerAccess` conditions at once. Once its capsules are well formed
//! (what no later block can change, and what every node checks), it always succeeds: access
//! denied by the time it lands (a revocation, a condition no longer met, a payment that no
//! longer goes through) is logged as [`Event::DirectReencryptionRefused`] rather than failing
//! the transaction, so that every request a node may have answered stays in the log.

use crate::*;

impl<T: Config> Pallet<T> {
	/// Whether a direct request of `requester` under `id` for `capsules` would be logged as
	/// granted in the next block, where it lands at the earliest: its capsules well formed, and
	/// access granted (policy active and accepted, conditions met, payments affordable). What a
	/// node checks at its best block before it answers one.
	pub fn check_direct_request(
		requester: &T::AccountId,
		id: PolicyId,
		capsules: &[CapsuleBytes],
	) -> Result<PolicyVersion, DispatchError> {
		Self::check_direct_capsules(capsules)?;
		Self::check_direct_grant(requester, id)
	}

	/// [`Self::check_direct_request`] but for decoding the capsules: for a caller that decodes
	/// them itself with [`Self::check_direct_capsules`] (a node, natively: decoding checks each
	/// capsule's self-signature, which costs a node's fast path more in WebAssembly than
	/// everything else the chain checks). Their number and lengths are checked.
	pub fn check_direct_access(
		requester: &T::AccountId,
		id: PolicyId,
		capsules: &[CapsuleBytes],
	) -> Result<PolicyVersion, DispatchError> {
		Self::check_direct_shape(capsules)?;
		Self::check_direct_grant(requester, id)
	}

	/// What the next block decides about a direct request: whether `requester` has access
	/// under `id` (policy active and accepted, conditions met, payments affordable).
	fn check_direct_grant(
		requester: &T::AccountId,
		id: PolicyId,
	) -> Result<PolicyVersion, DispatchError> {
		let policy = Policies::<T>::get(id).ok_or(Error::<T>::UnknownPolicy)?;
		let next = frame_system::Pallet::<T>::block_number().saturating_add(One::one());
		Self::check_policy_access_at(&policy, requester, next).map_err(Error::<T>::from)?;
		Ok(policy.version)
	}

	/// What no later block can change about a direct request: at least one capsule, each of
	/// the standard length and canonical. The expensive check (decoding) last. Returns the
	/// capsules decoded. Reads no storage: a node runs it natively.
	pub fn check_direct_capsules(
		capsules: &[CapsuleBytes],
	) -> Result<Vec<umbral_pre::Capsule>, Error<T>> {
		Self::check_direct_shape(capsules)?;
		capsules
			.iter()
			.map(|capsule| wire::decode_capsule(capsule).map_err(|_| Error::<T>::MalformedCapsule))
			.collect()
	}

	/// At least one capsule and at most `MaxCapsules`, each of the standard length.
	fn check_direct_shape(capsules: &[CapsuleBytes]) -> Result<(), Error<T>> {
		ensure!(!capsules.is_empty(), Error::<T>::NoCapsules);
		ensure!(capsules.len() as u32 <= T::MaxCapsules::get(), Error::<T>::TooManyCapsules);
		for capsule in capsules {
			ensure!(capsule.len() == CAPSULE_LEN, Error::<T>::InvalidCapsuleLength);
		}
		Ok(())
	}

	/// Logs a direct request: granted (its payments made) or refused, with the reason.
	pub(crate) fn do_direct_request(
		requester: T::AccountId,
		id: PolicyId,
		capsules: &[CapsuleBytes],
	) -> DispatchResult {
		Self::check_direct_capsules(capsules)?;
		let granted =
			Policies::<T>::get(id).ok_or(AccessDenied::UnknownPolicy).and_then(|policy| {
				Self::check_policy_access(&policy, &requester)?;
				let paid = Self::pay_direct_access(&requester, id, &policy)?;
				Ok((policy.version, paid))
			});
		Self::deposit_event(match granted {
			Ok((version, paid)) => Event::DirectReencryptionRequested {
				policy: id,
				version,
				requester,
				capsules: capsules.len() as u32,
				paid,
			},
			Err(reason) => Event::DirectReencryptionRefused { policy: id, requester, reason },
		});
		Ok(())
	}

	/// Makes every `PayPerAccess` payment of `policy` at once, all or nothing: their total is
	/// held first (refused if the requester cannot pay it), then paid out; what a payee cannot
	/// receive goes back. Returns what was paid.
	fn pay_direct_access(
		requester: &T::AccountId,
		id: PolicyId,
		policy: &PolicyOf<T>,
	) -> Result<BalanceOf<T>, AccessDenied> {
		let due = conditions::payments::<T>(&policy.conditions)
			.fold(BalanceOf::<T>::zero(), |total, (_, amount)| total.saturating_add(amount));
		if due.is_zero() {
			return Ok(due);
		}
		asset::hold_access_payment::<T>(requester, due).map_err(|_| AccessDenied::CannotPay)?;
		let unpaid = Self::pay_held_access(requester, id, policy, due);
		if !unpaid.is_zero() && asset::refund_access::<T>(requester, unpaid).is_err() {
			frame_support::defensive!("a direct access payment was not held");
		}
		Ok(due.saturating_sub(unpaid))
	}
}
