//! Policies from grant to removal: creation (the grants checked, the escrow and the deposit
//! held), the nodes' signed decisions on each version, rotation, revocation and removal.

use crate::*;

/// How far below `ResponsePriority` decisions rank: more than any block number, so that a
/// decision sent at any block ranks below every answer.
pub(crate) const DECISION_PRIORITY_GAP: u64 = 1 << 32;

impl<T: Config> Pallet<T> {
	pub(crate) fn do_create_policy(
		owner: T::AccountId,
		id: PolicyId,
		label: BoundedVec<u8, T::MaxLabelLen>,
		keys: PolicyKeys,
		threshold: u32,
		grants: GrantsOf<T>,
		end: BlockNumberFor<T>,
		fee_rate: BalanceOf<T>,
		conditions: ConditionsOf<T>,
		signature: &UmbralSignature,
	) -> DispatchResult {
		let PolicyKeys {
			verifying: verifying_key,
			delegating: delegating_key,
			receiving: receiving_key,
		} = keys;
		ensure!(
			!Policies::<T>::contains_key(id) && !RetiredPolicies::<T>::contains_key(id),
			Error::<T>::PolicyIdInUse
		);
		let now = frame_system::Pallet::<T>::block_number();
		ensure!(end > now, Error::<T>::EndInPast);
		ensure!(
			fee_rate >= T::MinFeeRate::get() && fee_rate <= T::MaxFeeRate::get(),
			Error::<T>::FeeRateOutOfRange
		);
		conditions::validate::<T>(&conditions, T::MaxConditionDepth::get())?;
		Self::ensure_point(&delegating_key, Error::<T>::InvalidDelegatingKey)?;
		Self::ensure_point(&verifying_key, Error::<T>::InvalidVerifyingKey)?;
		Self::ensure_point(&receiving_key, Error::<T>::InvalidReceivingKey)?;
		let terms = GrantTerms {
			owner: &owner,
			id,
			keys,
			threshold,
			end,
			conditions: &conditions,
			grants: &grants,
		};
		ensure!(
			signature.verify(&verifying_key, &grant_payload::<T>(&terms)),
			Error::<T>::GrantNotSigned
		);
		let (first, last) = Self::covered_periods(now, end);
		let nodes = Self::check_grants(&grants, threshold, last, fee_rate)?;

		let count = grants.len() as u32;
		let escrowed = Self::fee(fee_rate, count)?
			.checked_mul(&(last.saturating_sub(first).saturating_add(1)).into())
			.ok_or(Error::<T>::FeeOverflow)?;
		asset::escrow::<T>(&owner, escrowed).map_err(|_| Error::<T>::InsufficientBalance)?;

		for grant in grants {
			KeyUsage::<T>::mutate(&grant.node, grant.key_version, |n| n.saturating_inc());
			FeeShares::<T>::insert(
				id,
				&grant.node,
				FeeShare { first, last, next: first, accepted_from: None },
			);
			KFrags::<T>::insert(id, &grant.node, grant.kfrag);
			PendingDecisions::<T>::insert(&grant.node, id, 0);
		}
		let policy = Policy {
			owner: owner.clone(),
			label,
			delegating_key,
			verifying_key,
			receiving_key,
			threshold,
			nodes,
			start: now,
			end,
			fee_rate,
			fees: PolicyFees { escrowed, ..Default::default() },
			conditions,
			status: PolicyStatus::Active,
			version: 0,
		};
		Self::set_policy_deposit(id, &policy)?;
		OwnerPolicies::<T>::insert(&owner, id, ());
		Policies::<T>::insert(id, policy);
		Self::deposit_event(Event::PolicyCreated {
			id,
			owner,
			threshold,
			nodes: count,
			end,
			escrowed,
		});
		Ok(())
	}

	/// Checks the nodes an owner grants (threshold, distinct, eligible through `last_period`,
	/// fee rate, key version, kfrag envelope) and returns them as the policy stores them.
	pub(crate) fn check_grants(
		grants: &GrantsOf<T>,
		threshold: u32,
		last_period: Period,
		fee_rate: BalanceOf<T>,
	) -> Result<BoundedVec<PolicyNodeOf<T>, T::MaxNodes>, DispatchError> {
		ensure!(!grants.is_empty(), Error::<T>::NoNodes);
		ensure!(threshold >= 1 && threshold as usize <= grants.len(), Error::<T>::InvalidThreshold);
		let mut nodes = BoundedVec::<PolicyNodeOf<T>, T::MaxNodes>::new();
		for grant in grants {
			ensure!(nodes.iter().all(|n| n.node != grant.node), Error::<T>::DuplicateNode);
			ensure!(T::Staking::is_eligible(&grant.node, last_period), Error::<T>::NodeNotEligible);
			let minimum = T::Staking::min_fee_rate(&grant.node).unwrap_or_default();
			ensure!(fee_rate >= minimum, Error::<T>::FeeRateBelowNodeMinimum);
			// The node's current key only: a grant to a key it is rotating away from would pin
			// that key (and a seed the node may no longer hold).
			ensure!(
				T::Staking::current_key_version(&grant.node) == Some(grant.key_version),
				Error::<T>::UnknownNodeKey
			);
			Self::check_kfrag(&grant.kfrag)?;
			nodes
				.try_push(PolicyNode {
					node: grant.node.clone(),
					key_version: grant.key_version,
					accepted: None,
				})
				.map_err(|_| Error::<T>::DuplicateNode)?;
		}
		Ok(nodes)
	}

	/// An encrypted kfrag: the envelope's lengths and its capsule (decoded and self-checked,
	/// so that the node can always open it with its key).
	pub(crate) fn check_kfrag(kfrag: &EncryptedKFrag) -> Result<(), Error<T>> {
		ensure!(kfrag.capsule.len() == CAPSULE_LEN, Error::<T>::InvalidKFragCapsuleLength);
		ensure!(kfrag.ciphertext.len() == ENCRYPTED_KFRAG_LEN, Error::<T>::InvalidKFragLength);
		wire::decode_capsule(&kfrag.capsule).map_err(|_| Error::<T>::MalformedKFragCapsule)?;
		Ok(())
	}

	/// An Umbral public key must decompress to a curve point.
	pub(crate) fn ensure_point(key: &UmbralPublicKey, error: Error<T>) -> Result<(), Error<T>> {
		key.decompress().map(|_| ()).ok_or(error)
	}

	/// One active policy less uses `node`'s key of `version` (its kfrag is gone).
	pub(crate) fn release_key_use(node: &T::AccountId, version: KeyVersion) {
		KeyUsage::<T>::mutate_exists(node, version, |n| {
			*n = n.map(|n| n.saturating_sub(1)).filter(|n| *n > 0);
		});
	}

	pub(crate) fn do_revoke_policy(
		owner: &T::AccountId,
		id: PolicyId,
	) -> Result<u32, DispatchError> {
		let mut policy = Policies::<T>::get(id).ok_or(Error::<T>::UnknownPolicy)?;
		ensure!(&policy.owner == owner, Error::<T>::NotOwner);
		Self::ensure_live(&policy)?;
		let now = frame_system::Pallet::<T>::block_number();
		let refunded = Self::close(id, &mut policy, Self::period_of(now));
		policy.status = PolicyStatus::Revoked(now);
		let nodes = policy.nodes.len() as u32;
		Policies::<T>::insert(id, policy);
		Self::deposit_event(Event::PolicyRevoked { id, refunded });
		Ok(nodes)
	}

	/// Active and not past its end.
	pub(crate) fn ensure_live(policy: &PolicyOf<T>) -> DispatchResult {
		match policy.status {
			PolicyStatus::Revoked(_) => Err(Error::<T>::PolicyRevoked.into()),
			PolicyStatus::Expired => Err(Error::<T>::PolicyExpired.into()),
			PolicyStatus::Active => {
				let now = frame_system::Pallet::<T>::block_number();
				ensure!(now < policy.end, Error::<T>::PolicyExpired);
				Ok(())
			},
		}
	}

	pub(crate) fn do_rotate_policy(
		owner: &T::AccountId,
		id: PolicyId,
		receiving_key: UmbralPublicKey,
		threshold: u32,
		grants: GrantsOf<T>,
	) -> DispatchResult {
		let mut policy = Policies::<T>::get(id).ok_or(Error::<T>::UnknownPolicy)?;
		ensure!(&policy.owner == owner, Error::<T>::NotOwner);
		Self::ensure_live(&policy)?;
		Self::ensure_point(&receiving_key, Error::<T>::InvalidReceivingKey)?;
		let now = frame_system::Pallet::<T>::block_number();
		let current = Self::period_of(now);
		let (_, last) = Self::covered_periods(policy.start, policy.end);
		let nodes = Self::check_grants(&grants, threshold, last, policy.fee_rate)?;

		// Joining nodes are paid from the next period through the last: escrow that first,
		// so that a failure leaves everything as it was.
		let mut escrowed = BalanceOf::<T>::zero();
		let mut joined = Vec::new();
		for grant in &grants {
			if policy.nodes.iter().any(|n| n.node == grant.node) {
				continue;
			}
			let (share, added) = match FeeShares::<T>::get(id, &grant.node) {
				// It left in this period, so its share runs through it: the share extends.
				Some(old) if old.last >= current => {
					(FeeShare { last, ..old }, last.saturating_sub(old.last))
				},
				// Stored shares always have unsettled periods; they would leave a gap.
				Some(_) => return Err(Error::<T>::ShareUnsettled.into()),
				None => {
					let first = current.saturating_add(1);
					(
						FeeShare { first, last, next: first, accepted_from: None },
						last.saturating_sub(current),
					)
				},
			};
			escrowed.saturating_accrue(Self::fee(policy.fee_rate, added)?);
			joined.push((grant.node.clone(), share));
		}
		if !escrowed.is_zero() {
			asset::escrow::<T>(owner, escrowed).map_err(|_| Error::<T>::InsufficientBalance)?;
			policy.fees.escrowed.saturating_accrue(escrowed);
		}
		for (node, share) in joined {
			if share.next <= share.last {
				FeeShares::<T>::insert(id, &node, share);
			}
		}

		// Leaving nodes keep the current period; every old kfrag and key use goes.
		let mut refunded = BalanceOf::<T>::zero();
		let old_nodes = core::mem::take(&mut policy.nodes);
		for PolicyNode { node, key_version, .. } in &old_nodes {
			Self::release_key_use(node, *key_version);
			KFrags::<T>::remove(id, node);
			PendingDecisions::<T>::remove(node, id);
			if !nodes.iter().any(|n| &n.node == node) {
				refunded.saturating_accrue(Self::cut_share(id, &mut policy, node, current));
			}
		}
		let version = policy.version.saturating_add(1);
		for grant in grants {
			KeyUsage::<T>::mutate(&grant.node, grant.key_version, |n| n.saturating_inc());
			KFrags::<T>::insert(id, &grant.node, grant.kfrag);
			PendingDecisions::<T>::insert(&grant.node, id, version);
		}
		policy.nodes = nodes;
		policy.threshold = threshold;
		policy.receiving_key = receiving_key;
		policy.version = version;
		Self::set_policy_deposit(id, &policy)?;
		Policies::<T>::insert(id, policy);
		Self::deposit_event(Event::PolicyRotated { id, version, escrowed, refunded });
		Ok(())
	}

	/// Why `decision` cannot be applied now, if it cannot: the node must be pending in the
	/// policy's current version and the content must be what it holds for the node.
	pub(crate) fn check_decision(decision: &PolicyDecisionOf<T>) -> Result<PolicyOf<T>, Error<T>> {
		let policy = Policies::<T>::get(decision.policy).ok_or(Error::<T>::UnknownPolicy)?;
		Self::ensure_live(&policy).map_err(|_| Error::<T>::NoPendingDecision)?;
		ensure!(
			PendingDecisions::<T>::get(&decision.node, decision.policy) == Some(decision.version)
				&& policy.version == decision.version,
			Error::<T>::NoPendingDecision
		);
		let envelope = KFrags::<T>::get(decision.policy, &decision.node)
			.ok_or(Error::<T>::NoPendingDecision)?;
		ensure!(
			grant_content_hash(&policy.keys(), &envelope) == decision.content,
			Error::<T>::ContentMismatch
		);
		Ok(policy)
	}

	/// Checks a decision before it enters the pool or a block: pending, same content, not
	/// claiming a block to come, the operator and, last, the signature. Valid decisions are
	/// free, provide the tag `(policy, version, node)` and live until the policy's end.
	///
	/// Their priority grows with `sent_at`, for the reason [`Self::authorize_response`] gives,
	/// and stays below every answer's: `ResponsePriority − 2³²` plus the block number (block
	/// numbers are at most `u32`). Answers have deadlines; a decision can wait a block.
	pub fn authorize_decision(
		_source: TransactionSource,
		decision: &PolicyDecisionOf<T>,
		signature: &T::Signature,
	) -> TransactionValidityWithRefund {
		let policy = Self::check_decision(decision).map_err(|error| match error {
			Error::<T>::ContentMismatch => InvalidTransaction::Call,
			_ => InvalidTransaction::Stale,
		})?;
		let now = frame_system::Pallet::<T>::block_number();
		if decision.sent_at > now {
			return Err(InvalidTransaction::Future.into());
		}
		Self::check_operator(&decision.node, &decision.public)?;
		if !<T::OperatorCrypto as AppCrypto<_, _>>::verify(
			&decision_payload::<T>(decision),
			decision.public.clone(),
			signature.clone(),
		) {
			return Err(InvalidTransaction::BadProof.into());
		}
		let longevity: u64 = policy.end.saturating_sub(now).max(One::one()).unique_saturated_into();
		let sent_at: u64 = decision.sent_at.unique_saturated_into();
		let priority = T::ResponsePriority::get()
			.saturating_sub(DECISION_PRIORITY_GAP)
			.saturating_add(sent_at.min(DECISION_PRIORITY_GAP - 1));
		ValidTransaction::with_tag_prefix("KmsDecision")
			.priority(priority)
			.and_provides((decision.policy, decision.version, &decision.node))
			.longevity(longevity)
			.propagate(true)
			.build()
			.map(|validity| (validity, Weight::zero()))
	}

	/// Applies a node's decision: an accepting node serves the version from now on (its fee
	/// share accrues from the current period if it never accepted before); a declining node
	/// leaves the policy, and the part of its share it has not earned goes back to the owner.
	pub(crate) fn do_decide(decision: PolicyDecisionOf<T>) -> DispatchResult {
		let mut policy = Self::check_decision(&decision)?;
		let PolicyDecision { policy: id, version, node, decision, .. } = decision;
		let now = frame_system::Pallet::<T>::block_number();
		let current = Self::period_of(now);
		PendingDecisions::<T>::remove(&node, id);
		match decision {
			Decision::Accept => {
				for entry in policy.nodes.iter_mut().filter(|entry| entry.node == node) {
					entry.accepted = Some(now);
				}
				FeeShares::<T>::mutate(id, &node, |share| {
					if let Some(share) = share {
						share.accepted_from.get_or_insert(current);
					}
				});
				let ready = policy.accepted() == policy.threshold;
				Policies::<T>::insert(id, &policy);
				Self::deposit_event(Event::PolicyAccepted { id, version, node });
				if ready {
					Self::deposit_event(Event::PolicyReady { id, version });
				}
			},
			Decision::Decline(reason) => {
				let Some(index) = policy.nodes.iter().position(|entry| entry.node == node) else {
					return Err(Error::<T>::NoPendingDecision.into());
				};
				let entry = policy.nodes.remove(index);
				Self::release_key_use(&node, entry.key_version);
				KFrags::<T>::remove(id, &node);
				// A node that never accepted earned nothing: all of its share goes back. One
				// that served an earlier version keeps the current period, as a node that
				// leaves by rotation does.
				let refunded = match FeeShares::<T>::get(id, &node) {
					Some(share) if share.accepted_from.is_none() => {
						Self::refund_share(id, &mut policy, &node, share)
					},
					Some(_) => Self::cut_share(id, &mut policy, &node, current),
					None => Zero::zero(),
				};
				Policies::<T>::insert(id, &policy);
				Self::deposit_event(Event::PolicyDeclined { id, version, node, reason, refunded });
			},
		}
		Ok(())
	}

	/// What `create_policy` charges: its own benchmarked weight and the `nodes` decisions it
	/// causes (free transactions the owner pays for).
	pub fn create_weight(nodes: u32, conditions: u32) -> Weight {
		T::WeightInfo::create_policy(nodes, conditions)
			.saturating_add(Self::decisions_weight(nodes))
	}

	/// Removes closed, settled policy `id` whose requests are all pruned: its record goes, its
	/// id is retired, and its deposit goes back to its owner but for the retirement's part
	/// (burned: the id's entry stays for good). Returns what was released.
	pub(crate) fn do_remove_policy(
		owner: &T::AccountId,
		id: PolicyId,
	) -> Result<BalanceOf<T>, DispatchError> {
		let policy = Policies::<T>::get(id).ok_or(Error::<T>::UnknownPolicy)?;
		ensure!(&policy.owner == owner, Error::<T>::NotOwner);
		// Requests made under it were made before this block.
		let closed_at = match policy.status {
			PolicyStatus::Active => return Err(Error::<T>::PolicyNotClosed.into()),
			PolicyStatus::Revoked(at) => at,
			PolicyStatus::Expired => policy.end,
		};
		ensure!(FeeShares::<T>::iter_key_prefix(id).next().is_none(), Error::<T>::PolicyUnsettled);
		let fees = &policy.fees;
		ensure!(
			fees.escrowed == fees.paid.saturating_add(fees.refunded),
			Error::<T>::PolicyUnsettled
		);
		// Requests are pruned in order of their ids, which follow their blocks: once the oldest
		// retained request is younger than the policy's close, none of its requests remain.
		let oldest = OldestRequest::<T>::get();
		if oldest < NextRequestId::<T>::get() {
			let retained = Requests::<T>::get(oldest).is_none_or(|r| r.created <= closed_at);
			ensure!(!retained, Error::<T>::RequestsRetained);
		}
		let deposit = PolicyDeposits::<T>::take(id).unwrap_or_default();
		let retirement =
			T::DepositPerByte::get().saturating_mul(Self::RETIRED_BYTES.into()).min(deposit);
		asset::burn_policy_deposit::<T>(owner, retirement)?;
		let released = deposit.saturating_sub(retirement);
		asset::release_policy_deposit::<T>(owner, released)?;
		Policies::<T>::remove(id);
		OwnerPolicies::<T>::remove(owner, id);
		RetiredPolicies::<T>::insert(id, ());
		Self::deposit_event(Event::PolicyRemoved { id, released });
		Ok(released)
	}

	/// The weight of `nodes` free decisions: their checks in the pool and their dispatch.
	pub fn decisions_weight(nodes: u32) -> Weight {
		T::WeightInfo::authorize_decision()
			.saturating_add(T::WeightInfo::decide_on_policy())
			.saturating_mul(nodes.into())
	}
}
