//! Nodes: registration with proven keys, key rotation with a kept history, the fee floor, and
//! leaving (by the staker, or by anyone for a node whose stake fell below the minimum).

use crate::{
	ledger::Ledger, node_keys_payload, BalanceOf, Config, Endpoints, Error, Event, KeyOwners,
	NodeCount, NodeInfo, NodeKeysProofOf, Nodes, Operators, Pallet,
};
use frame_support::{ensure, traits::Get, BoundedVec};
use kms_primitives::staking::{
	Endpoint, PolicyRegistry as _, StakeLedger as _, UmbralPublicKey, MAX_ENDPOINT_LEN,
};
use sp_runtime::{traits::Verify as _, DispatchResult};

impl<T: Config> Pallet<T> {
	/// Registers `staker`'s node. Its keys must be proven (`proof`) unless they come from the
	/// chain spec or a benchmark's setup (`None`).
	pub(crate) fn do_register_node(
		staker: &T::AccountId,
		operator: T::AccountId,
		umbral_key: UmbralPublicKey,
		min_fee_rate: BalanceOf<T>,
		proof: Option<&NodeKeysProofOf<T>>,
	) -> DispatchResult {
		ensure!(!Nodes::<T>::contains_key(staker), Error::<T>::AlreadyRegistered);
		// A node slot (of `MaxNodes`) is for stake that can answer for the node.
		ensure!(Self::stake_of(staker) >= T::MinStake::get(), Error::<T>::BelowMinStake);
		ensure!(!Operators::<T>::contains_key(&operator), Error::<T>::OperatorInUse);
		Self::ensure_valid_key(&umbral_key)?;
		if let Some(proof) = proof {
			Self::ensure_keys_proven(staker, &operator, &umbral_key, proof)?;
		}
		let count = NodeCount::<T>::get();
		ensure!(count < T::MaxNodes::get(), Error::<T>::TooManyNodes);
		let keys = BoundedVec::try_from(alloc::vec![umbral_key])
			.map_err(|_| Error::<T>::KeyHistoryFull)?;
		Nodes::<T>::insert(
			staker,
			NodeInfo {
				operator: operator.clone(),
				keys,
				first_key_version: 0,
				min_fee_rate,
				last_heartbeat: None,
			},
		);
		Operators::<T>::insert(&operator, staker);
		KeyOwners::<T>::insert(umbral_key, staker);
		NodeCount::<T>::put(count.saturating_add(1));
		Self::deposit_event(Event::NodeRegistered {
			staker: staker.clone(),
			operator,
			key: umbral_key,
		});
		Ok(())
	}

	/// Replaces `node`'s Umbral key with `new_key`, proven by `proof`; the oldest kept key
	/// goes when the history is full, unless a policy still uses it.
	pub(crate) fn do_rotate_node_key(
		node: T::AccountId,
		new_key: UmbralPublicKey,
		proof: &NodeKeysProofOf<T>,
	) -> DispatchResult {
		Self::ensure_valid_key(&new_key)?;
		let mut info = Nodes::<T>::get(&node).ok_or(Error::<T>::NotRegistered)?;
		Self::ensure_keys_proven(&node, &info.operator, &new_key, proof)?;
		if info.keys.is_full() {
			let oldest_version = info.first_key_version;
			ensure!(!T::Policies::uses_key(&node, oldest_version), Error::<T>::KeyHistoryFull);
			if !info.keys.is_empty() {
				let oldest = info.keys.remove(0);
				KeyOwners::<T>::remove(oldest);
			}
			info.first_key_version = oldest_version.saturating_add(1);
		}
		info.keys.try_push(new_key).map_err(|_| Error::<T>::KeyHistoryFull)?;
		let version = info.current_key_version();
		KeyOwners::<T>::insert(new_key, &node);
		Nodes::<T>::insert(&node, info);
		Self::deposit_event(Event::NodeKeyRotated { node, key: new_key, version });
		Ok(())
	}

	/// Sets the smallest fee rate per period `node` accepts for new policies.
	pub(crate) fn do_set_min_fee_rate(node: T::AccountId, rate: BalanceOf<T>) -> DispatchResult {
		Nodes::<T>::try_mutate(&node, |info| -> DispatchResult {
			info.as_mut().ok_or(Error::<T>::NotRegistered)?.min_fee_rate = rate;
			Ok(())
		})?;
		Self::deposit_event(Event::MinFeeRateSet { node, rate });
		Ok(())
	}

	/// Publishes `node`'s fast-path endpoint, or withdraws it (`None`).
	pub(crate) fn do_set_endpoint(
		node: T::AccountId,
		endpoint: Option<BoundedVec<u8, sp_core::ConstU32<MAX_ENDPOINT_LEN>>>,
	) -> DispatchResult {
		ensure!(Nodes::<T>::contains_key(&node), Error::<T>::NotRegistered);
		let endpoint = endpoint
			.map(|bytes| Endpoint::parse(&bytes).ok_or(Error::<T>::InvalidEndpoint))
			.transpose()?;
		match &endpoint {
			Some(endpoint) => Endpoints::<T>::insert(&node, endpoint),
			None => Endpoints::<T>::remove(&node),
		}
		Self::deposit_event(Event::EndpointSet { node, endpoint });
		Ok(())
	}

	/// Unregisters `node` for anyone, once its active stake is below `MinStake`.
	pub(crate) fn do_chill_other(node: &T::AccountId) -> DispatchResult {
		ensure!(Nodes::<T>::contains_key(node), Error::<T>::NotRegistered);
		ensure!(Self::stake_of(node) < T::MinStake::get(), Error::<T>::StakeNotBelowMinimum);
		Self::do_unregister_node(node)
	}

	/// Unregisters `node`, once no active policy names it: its keys and operator are
	/// forgotten, its `MaxNodes` slot freed; a fully withdrawn ledger, kept only for the node,
	/// goes too.
	pub(crate) fn do_unregister_node(node: &T::AccountId) -> DispatchResult {
		let info = Nodes::<T>::get(node).ok_or(Error::<T>::NotRegistered)?;
		ensure!(!T::Policies::has_active_policies(node), Error::<T>::NodeHasActivePolicies);
		for key in &info.keys {
			KeyOwners::<T>::remove(key);
		}
		Operators::<T>::remove(&info.operator);
		Endpoints::<T>::remove(node);
		Nodes::<T>::remove(node);
		NodeCount::<T>::mutate(|count| *count = count.saturating_sub(1));
		Ledger::<T>::remove_if_empty(node);
		Self::deposit_event(Event::NodeUnregistered { node: node.clone() });
		Ok(())
	}

	/// A key must decompress to a curve point ([`UmbralPublicKey::decompress`]) and belong to
	/// no node, now or in kept history.
	fn ensure_valid_key(key: &UmbralPublicKey) -> DispatchResult {
		ensure!(key.decompress().is_some(), Error::<T>::InvalidUmbralKey);
		ensure!(!KeyOwners::<T>::contains_key(key), Error::<T>::KeyInUse);
		Ok(())
	}

	/// Both of a node's keys signed them over to `staker`: the operator key (checked first, it
	/// is the cheaper check) and the Umbral key, each over [`node_keys_payload`].
	fn ensure_keys_proven(
		staker: &T::AccountId,
		operator: &T::AccountId,
		umbral_key: &UmbralPublicKey,
		proof: &NodeKeysProofOf<T>,
	) -> DispatchResult {
		let payload = node_keys_payload::<T>(staker, operator, umbral_key);
		ensure!(proof.operator.verify(&payload[..], operator), Error::<T>::OperatorNotProven);
		ensure!(proof.umbral.verify(umbral_key, &payload), Error::<T>::UmbralKeyNotProven);
		Ok(())
	}
}
