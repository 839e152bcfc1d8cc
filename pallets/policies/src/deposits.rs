//! Storage deposits: the bytes a policy and a request may keep in state, and the deposits
//! held for them.

use crate::*;

impl<T: Config> Pallet<T> {
	/// The storage deposit of a request of `capsules` capsules under a policy of `nodes`
	/// nodes: `DepositPerByte` for each byte it may keep, each entry with its key: the request
	/// (its capsules, and its other fields at their largest), its deposit's entry, and for
	/// each node its place among the answers and its cfrags, one per capsule.
	pub fn request_deposit(capsules: u32, nodes: u32) -> BalanceOf<T> {
		// A storage prefix, and a request id hashed with `Twox64Concat`.
		let key = 32 + 8 + RequestId::max_encoded_len();
		let account = T::AccountId::max_encoded_len();
		let fixed = RequestOf::<T>::max_encoded_len()
			.saturating_sub(BoundedVec::<CapsuleBytes, T::MaxCapsules>::max_encoded_len())
			.saturating_sub(BoundedVec::<T::AccountId, T::MaxNodes>::max_encoded_len())
			.saturating_add(2 * codec::Compact::<u32>::max_encoded_len())
			.saturating_add(key * 2 + BalanceOf::<T>::max_encoded_len());
		let per_node = account + key + 16 + account + codec::Compact::<u32>::max_encoded_len();
		let cfrags = CapsuleFragBytes::max_encoded_len() as u32;
		let bytes =
			(fixed as u32)
				.saturating_add(capsules.saturating_mul(CapsuleBytes::max_encoded_len() as u32))
				.saturating_add(nodes.saturating_mul(
					(per_node as u32).saturating_add(capsules.saturating_mul(cfrags)),
				));
		T::DepositPerByte::get().saturating_mul(bytes.into())
	}

	/// The bytes of a retired policy's id in [`RetiredPolicies`]: the entry's key (the
	/// storage prefix, the id's hash and the id).
	pub const RETIRED_BYTES: u32 = 32 + 16 + 16;

	/// The bytes each node adds to a policy while it is live: its entry in the policy, its
	/// kfrag envelope, fee share, pending decision and key use, each entry with its key
	/// (storage prefix, hashed ids and accounts).
	pub(crate) fn bytes_per_node() -> u32 {
		let entry = |key: usize, value: usize| (32 + key + value) as u32;
		let account = 16 + T::AccountId::max_encoded_len();
		let id = 16 + PolicyId::max_encoded_len();
		PolicyNodeOf::<T>::max_encoded_len() as u32
			+ entry(id + account, EncryptedKFrag::max_encoded_len())
			+ entry(id + account, FeeShare::max_encoded_len())
			+ entry(account + id, PolicyVersion::max_encoded_len())
			+ entry(account + 8 + KeyVersion::max_encoded_len(), u32::max_encoded_len())
	}

	/// The storage deposit of `policy`: `DepositPerByte` for each byte it may keep: its record
	/// at its largest but for its label and conditions as they are (they never change), its
	/// deposit's and its owner index's entries, what each node adds while it is live
	/// (`bytes_per_node`), and its id's retirement ([`Self::RETIRED_BYTES`]). It
	/// changes with the number of nodes only, at rotations (a declining node leaves it as it
	/// is).
	pub fn policy_deposit(policy: &PolicyOf<T>) -> BalanceOf<T> {
		let id = 16 + PolicyId::max_encoded_len();
		let fixed = PolicyOf::<T>::max_encoded_len()
			.saturating_sub(BoundedVec::<u8, T::MaxLabelLen>::max_encoded_len())
			.saturating_sub(ConditionsOf::<T>::max_encoded_len())
			.saturating_sub(BoundedVec::<PolicyNodeOf<T>, T::MaxNodes>::max_encoded_len());
		let record = 32
			+ id + fixed
			+ policy.label.encoded_size()
			+ policy.conditions.encoded_size()
			+ codec::Compact::<u32>::max_encoded_len();
		let deposit = 32 + id + BalanceOf::<T>::max_encoded_len();
		let owner_index = 32 + 16 + T::AccountId::max_encoded_len() + id;
		let bytes = ((record + deposit + owner_index) as u32)
			.saturating_add(Self::bytes_per_node().saturating_mul(policy.nodes.len() as u32))
			.saturating_add(Self::RETIRED_BYTES);
		T::DepositPerByte::get().saturating_mul(bytes.into())
	}

	/// Holds (or releases) what it takes for policy `id`'s deposit to be
	/// [`Self::policy_deposit`] of `policy` on its owner's account.
	pub(crate) fn set_policy_deposit(id: PolicyId, policy: &PolicyOf<T>) -> DispatchResult {
		let new = Self::policy_deposit(policy);
		let old = PolicyDeposits::<T>::get(id).unwrap_or_default();
		if new > old {
			asset::hold_policy_deposit::<T>(&policy.owner, new.saturating_sub(old))
				.map_err(|_| Error::<T>::CannotPayPolicyDeposit)?;
		} else if old > new {
			asset::release_policy_deposit::<T>(&policy.owner, old.saturating_sub(new))?;
		}
		if new.is_zero() {
			PolicyDeposits::<T>::remove(id);
		} else {
			PolicyDeposits::<T>::insert(id, new);
		}
		Ok(())
	}
}
